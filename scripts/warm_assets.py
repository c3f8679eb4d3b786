"""Build the web client's asset bundles once, committed, before the browser tests.

A bundle first built inside a test transaction is rolled back with it while its file stays
shared on disk; the next test that rebuilds it can then miss that file. Built beforehand, the
bundles are simply reused by every test. Run with ``odoo shell``.
"""

for bundle_name in ("web.assets_web", "web.assets_web_print", "web.assets_tests", "web.assets_frontend"):
    bundle = env["ir.qweb"]._get_asset_bundle(bundle_name, js=True, css=True)  # noqa: F821  (odoo shell)
    bundle.js()
    bundle.css()
env.cr.commit()  # noqa: F821
