/** @odoo-module **/
// A manager builds a campaign from the seed's own example file, runs it and watches it on the live
// dashboard. The PBX simulator and a dialer host run behind the browser (tests/test_tours.py).
import { registry } from "@web/core/registry";
import { rpc } from "@web/core/network/rpc";

// The seed's example, verbatim: five header columns, seven fields a row (unquoted commas in the
// address), spaces after the separators, and its mojibake.
const SEED_EXAMPLE = [
    "firstname, lastname, enterprise, phone, address",
    "Big, Ben, The Tower, 0101010101, Westminster, London SW1A 0AA, UK",
    "Jean, Pierre, The Startup, 0102020202, Avenue Des Champs-ElysÃ©es, Paris 08, FR",
    "",
].join("\n");

const CAMPAIGN = "Tour seed campaign";
const CARD = `.o_outbound_dashboard_card:has(.o_outbound_dashboard_name:contains("${CAMPAIGN}"))`;

function dropFile(input, name, text) {
    const transfer = new DataTransfer();
    transfer.items.add(new File([text], name, { type: "text/csv" }));
    input.files = transfer.files;
    input.dispatchEvent(new Event("change", { bubbles: true }));
}

async function call(model, method, args, kwargs = {}) {
    return rpc(`/web/dataset/call_kw/${model}/${method}`, { model, method, args, kwargs });
}

registry.category("web_tour.tours").add("outbound_campaign_manager_tour", {
    url: "/odoo/action-outbound_campaign.outbound_campaign_action",
    steps: () => [
        { trigger: ".o_list_button_add", run: "click" },
        { trigger: ".o_field_widget[name=name] input", run: `edit ${CAMPAIGN}` },
        { trigger: ".o_field_widget[name=country_id] input", run: "edit France" },
        { trigger: ".o-autocomplete--dropdown-item a:contains(France)", run: "click" },
        { trigger: ".o_field_widget[name=caller_id_number] input", run: "edit +33100000000" },
        { trigger: ".o_field_widget[name=dialer_server_id] input", run: "edit Tour PBX" },
        { trigger: ".o-autocomplete--dropdown-item a:contains(Tour PBX)", run: "click" },
        { trigger: ".o_field_widget[name=wrap_up_time] input", run: "edit 1" },
        // Contacts to be called → Import from csv: upload, map, import, report.
        { trigger: ".o_notebook .nav-link:contains(Contacts to be called)", run: "click" },
        { trigger: "button:contains(Import from csv)", run: "click" },
        {
            trigger: ".modal .o_outbound_import_upload",
            run() {
                dropFile(this.anchor.querySelector("input[type=file]"), "contacts.csv", SEED_EXAMPLE);
            },
        },
        { trigger: ".modal .o_outbound_import_upload:contains(contacts.csv)" },
        { trigger: ".modal-footer button[name=action_parse]", run: "click" },
        // The mapping step: every column pre-mapped by its name.
        { trigger: ".modal .o_field_widget[name=mapping_ids] .o_data_row:contains(phone):contains(0101010101)" },
        { trigger: ".modal-footer button[name=action_import]", run: "click" },
        { trigger: ".modal .o_field_widget[name=imported_count]:contains(2)" },
        { trigger: ".modal .o_field_widget[name=invalid_count]:contains(0)" },
        { trigger: ".modal-footer button:contains(Close)", run: "click" },
        {
            trigger: ".o_field_widget[name=contact_ids] .o_data_row:contains(The Tower):contains(0101010101)",
        },
        { trigger: ".o_field_widget[name=contact_ids] .o_data_row:contains(The Startup)" },
        // Agents → Add.
        { trigger: ".o_notebook .nav-link:contains(Agents)", run: "click" },
        { trigger: ".o_field_widget[name=agent_ids] .o_field_x2many_list_row_add a", run: "click" },
        { trigger: ".modal .o_data_row:contains(Tour Agent) .o_list_record_selector input", run: "click" },
        { trigger: ".modal-footer .o_select_button", run: "click" },
        { trigger: ".o_field_widget[name=agent_ids] .o_data_row:contains(Tour Agent)" },
        { trigger: ".o_form_button_save", run: "click" },
        { trigger: ".o_form_saved" },
        { trigger: "button[name=action_run_now]", run: "click" },
        { trigger: ".o_statusbar_status button.o_arrow_button_current:contains(Running)" },
        // The dashboard: the campaign waits for an agent, then moves by itself.
        { trigger: ".o_main_navbar .o-dropdown:contains(Dashboard)", run: "click" },
        { trigger: ".o-dropdown-item:contains(Active Outbound Campaigns)", run: "click" },
        { trigger: `${CARD} .o_outbound_dashboard_total:contains(2)` },
        { trigger: `${CARD} .o_outbound_dashboard_done:contains(0)` },
        { trigger: `${CARD} .o_outbound_dashboard_status[data-status=no_agent_ready]` },
        {
            content: "the agent goes ready (as from their console)",
            trigger: CARD,
            async run() {
                const [agentId] = await call("outbound.agent", "search", [[["name", "=", "Tour Agent"]]]);
                await call("outbound.agent", "write", [[agentId], { state: "ready" }]);
            },
        },
        { trigger: `${CARD} .o_outbound_dashboard_done:contains(2)`, timeout: 60000 },
        { trigger: `${CARD} .o_outbound_dashboard_left:contains(0)` },
        { trigger: CARD, run: "click" },
        { trigger: `.o_form_view .o_breadcrumb:contains(${CAMPAIGN})` },
    ],
});
