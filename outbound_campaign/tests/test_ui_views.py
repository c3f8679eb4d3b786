from odoo.tests import HttpCase, tagged

# Waits for the web client to render the action's view; on a form, opens every notebook tab and
# checks the expected ones are there. Any JavaScript error fails the test.
CHECK_VIEW = """
const wait = (selector, timeout = 30000) => new Promise((resolve, reject) => {
    const started = Date.now();
    (function poll() {
        const found = document.querySelector(selector);
        if (found) { return resolve(found); }
        if (Date.now() - started > timeout) { return reject(new Error("not rendered: " + selector)); }
        setTimeout(poll, 100);
    })();
});
(async () => {
    await wait("%(selector)s");
    const tabs = [...document.querySelectorAll(".o_notebook .nav-link")];
    for (const tab of tabs) {
        tab.click();
        await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const names = tabs.map((tab) => tab.textContent.trim());
    for (const expected of %(tabs)s) {
        if (!names.includes(expected)) { throw new Error("missing tab " + expected + " in " + names); }
    }
    console.log("test successful");
})().catch((error) => console.error(error.message));
"""


@tagged("post_install", "-at_install")
class TestViewsInBrowser(HttpCase):
    """Every screen of the seed renders in the real web client, without a JavaScript error."""

    def check(self, path, selector, tabs=()):
        code = CHECK_VIEW % {"selector": selector, "tabs": list(tabs)}
        self.browser_js(path, code, login="admin", timeout=90)

    def test_screens(self):
        # One test: the web client's asset bundles, built by the first page inside the test's
        # transaction, are then reused by the others.
        campaign = self.env["outbound.campaign"].search([], limit=1)
        self.assertTrue(campaign, "the demo data holds campaigns")
        contact = campaign.contact_ids[0]
        self.env["outbound.call"].create(
            [
                {
                    "campaign_id": campaign.id,
                    "contact_id": contact.id,
                    "state": "ended",
                    "outcome": outcome,
                    "talk_duration": talk,
                }
                for outcome, talk in (("answered", 95), ("busy", 0), ("no_answer", 0))
            ]
        )
        action = "/odoo/action-outbound_campaign.outbound_campaign_action"
        self.check(action, ".o_list_view .o_data_row")
        self.check(f"{action}?view_type=kanban", ".o_kanban_view .o_kanban_record")
        self.check(
            f"{action}/{campaign.id}",
            ".o_form_view .o_notebook",
            ["General", "Contacts to be called", "Agents"],
        )
        self.check(
            "/odoo/action-outbound_campaign.outbound_campaign_dashboard_client_action",
            ".o_outbound_dashboard .o_outbound_dashboard_card[data-campaign-id]",
        )
        self.check("/odoo/action-outbound_campaign.outbound_contact_action", ".o_list_view .o_data_row")
        calls = "/odoo/action-outbound_campaign.outbound_call_action"
        self.check(calls, ".o_list_view")
        self.check(f"{calls}?view_type=graph", ".o_graph_view canvas")
        self.check(f"{calls}?view_type=pivot", ".o_pivot_view table")
