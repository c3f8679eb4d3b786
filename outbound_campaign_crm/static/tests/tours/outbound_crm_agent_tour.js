/** @odoo-module **/
// An agent sees the contact's lead in the pop, records "Interested" after the call, then finds the
// opportunity the lead became in their pipeline and opens it.
import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("outbound_campaign_crm_agent_tour", {
    url: "/odoo/action-outbound_campaign.outbound_agent_console_action",
    steps: () => [
        { trigger: ".o_outbound_screen_pop:contains(Big Ben)" },
        // The contact's lead, shown in the pop.
        { trigger: ".o_outbound_screen_pop .o_outbound_lead a:contains(Big Ben renewal)" },
        { trigger: ".o_outbound_note", run: "edit Wants the gold plan" },
        { trigger: ".o_outbound_disposition:contains(Interested):not(:contains(Not))", run: "click" },
        { trigger: ".o_outbound_console:not(:has(.o_outbound_screen_pop))" },
        // To the CRM through the apps menu (no page reload while the console's requests may run).
        { trigger: ".o_navbar_apps_menu button", run: "click" },
        { trigger: ".o_app[data-menu-xmlid='crm.crm_menu_root']", run: "click" },
        { trigger: ".o_kanban_record:contains(Big Ben)", run: "click" },
        { trigger: ".o_form_view .o_field_widget[name=user_id] input:value(Tour CRM Agent)" },
        { trigger: ".o_form_view .o_field_widget[name=description]:contains(Wants the gold plan)" },
    ],
});
