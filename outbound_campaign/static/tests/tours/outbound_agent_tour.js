/** @odoo-module **/
// An agent opens their console, goes Ready, gets the contact's screen-pop when the dialer calls
// them, and records a disposition. The PBX simulator and a dialer host run behind the browser.
import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("outbound_campaign_agent_tour", {
    url: "/odoo/action-outbound_campaign.outbound_agent_console_action",
    steps: () => [
        { trigger: ".o_outbound_console_state[data-state=paused]" },
        // Ready: the dialer rings the agent at once, so the state may already be past "ready".
        { trigger: ".o_outbound_ready:enabled", run: "click" },
        // The dialer calls the agent, then the contact: the contact pops.
        { trigger: ".o_outbound_screen_pop:contains(Big Ben):contains(The Tower)", timeout: 30000 },
        { trigger: ".o_outbound_screen_pop .o_outbound_extra_data:contains(Gold)" },
        // The call ends: wrap-up, a disposition with a note.
        { trigger: ".o_outbound_console_state[data-state=wrap_up]", timeout: 30000 },
        { trigger: ".o_outbound_note", run: "edit Wants the gold plan" },
        { trigger: ".o_outbound_disposition[data-action=none]:contains(Interested):not(:contains(Not))", run: "click" },
        { trigger: ".o_outbound_console_state[data-state=ready]" },
        { trigger: ".o_outbound_console:not(:has(.o_outbound_screen_pop))" },
    ],
});
