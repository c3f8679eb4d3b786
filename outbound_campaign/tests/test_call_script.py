"""The call script and the partner in the agent's screen-pop."""

from odoo.tests import tagged

from .agent_console_common import AgentConsoleCase


@tagged("post_install", "-at_install")
class TestCallScriptAndPartnerPop(AgentConsoleCase):
    def pop(self):
        data = self.env["outbound.agent"].with_user(self.user_agent).get_console_data()
        return data["call"]["contact"]

    def test_the_script_shows_the_contacts_values_as_text(self):
        self.campaign.call_script = "<p>Hello {{ firstname }} of {{ enterprise }}, your plan: {{ Plan }}.</p>"
        self.contact.write(
            {
                "firstname": "<script>alert('x')</script>",
                "enterprise": "{{ firstname }}",
                "extra_data": {"Plan": "${7*7} <b>Gold</b>"},
            }
        )
        script = str(self.pop()["script"])
        self.assertIn("Hello &lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; of {{ firstname }}", script)
        self.assertIn("your plan: ${7*7} &lt;b&gt;Gold&lt;/b&gt;.", script)
        self.assertNotIn("<script>", script)
        self.assertNotIn("<b>", script)

    def test_no_script_no_section(self):
        self.assertFalse(self.pop()["script"])

    def test_the_partner_pops_with_company_tags_messages_and_activities(self):
        self.assertFalse(self.pop()["partner"])
        company = self.env["res.partner"].create({"name": "Acme Ltd", "is_company": True})
        tag = self.env["res.partner.category"].create({"name": "VIP"})
        partner = self.env["res.partner"].create(
            {"name": "Ben Partner", "parent_id": company.id, "category_id": [(4, tag.id)]}
        )
        partner.message_post(body="Prefers mornings", message_type="comment")
        partner.activity_schedule("mail.mail_activity_data_call", summary="Send the quote")
        self.contact.partner_id = partner
        pop = self.pop()["partner"]
        self.assertEqual(
            (pop["id"], pop["name"], pop["company"], pop["tags"], pop["url"]),
            (partner.id, "Ben Partner", "Acme Ltd", ["VIP"], f"/odoo/res.partner/{partner.id}"),
        )
        self.assertIn("Prefers mornings", pop["messages"][0]["body"])
        self.assertEqual(pop["activities"][0]["summary"], "Send the quote")
