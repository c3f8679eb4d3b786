/** @odoo-module **/
// A manager builds a campaign from a CRM filter (leads in stage New without an activity), written in
// the domain editor's code view (debug mode), and runs it: Run now enrols the matching leads.
import { registry } from "@web/core/registry";

const DOMAIN = `[("stage_id.name", "=", "New"), ("activity_ids", "=", False)]`;

registry.category("web_tour.tours").add("outbound_campaign_crm_manager_tour", {
    url: "/odoo/action-outbound_campaign.outbound_campaign_action?debug=1",
    steps: () => [
        { trigger: ".o_list_button_add", run: "click" },
        { trigger: ".o_field_widget[name=name] input", run: "edit Tour new leads" },
        { trigger: ".o_field_widget[name=caller_id_number] input", run: "edit +442079460999" },
        { trigger: ".o_field_widget[name=dialer_server_id] input", run: "edit Tour CRM PBX" },
        { trigger: ".o-autocomplete--dropdown-item a:contains(Tour CRM PBX)", run: "click" },
        { trigger: ".o_notebook .nav-link:contains(List from a filter)", run: "click" },
        { trigger: ".o_field_widget[name=list_model] select", run: `select "crm.lead"` },
        { trigger: ".o_field_widget[name=list_domain] .fa-caret-right", run: "click" },
        {
            trigger: ".o_field_widget[name=list_domain] .o_domain_selector_debug_container textarea",
            run: `edit ${DOMAIN}`,
        },
        { trigger: ".o_notebook .nav-link:contains(Agents)", run: "click" },
        { trigger: ".o_field_widget[name=agent_ids] .o_field_x2many_list_row_add a", run: "click" },
        { trigger: ".modal .o_data_row:contains(Tour CRM Agent) .o_list_record_selector input", run: "click" },
        { trigger: ".modal-footer .o_select_button", run: "click" },
        { trigger: ".o_field_widget[name=agent_ids] .o_data_row:contains(Tour CRM Agent)" },
        { trigger: ".o_form_button_save", run: "click" },
        { trigger: ".o_form_saved" },
        { trigger: "button[name=action_run_now]", run: "click" },
        { trigger: ".o_statusbar_status button.o_arrow_button_current:contains(Running)" },
        { trigger: ".o_notebook .nav-link:contains(Contacts to be called)", run: "click" },
        { trigger: ".o_field_widget[name=contact_ids] .o_data_row:contains(Tour Ada)" },
        { trigger: ".o_field_widget[name=contact_ids]:not(:contains(Tour Bob)):not(:contains(Tour Chloe))" },
    ],
});
