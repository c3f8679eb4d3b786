from odoo import http
from odoo.http import content_disposition, request
from odoo.tools import file_open


class OutboundContactImportController(http.Controller):
    @http.route("/outbound_campaign/contact_import/example", type="http", auth="user", methods=["GET"])
    def contact_import_example(self):
        """The example file of the import wizard's "Download an example" link."""
        with file_open("outbound_campaign/data/outbound_contact_example.csv", "rb") as example:
            content = example.read()
        return request.make_response(
            content,
            headers=[
                ("Content-Type", "text/csv; charset=utf-8"),
                ("Content-Disposition", content_disposition("outbound_contact_example.csv")),
            ],
        )
