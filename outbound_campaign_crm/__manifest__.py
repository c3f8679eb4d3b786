{
    "name": "Outbound Campaigns: CRM pipeline",
    "summary": "Dispositions that create opportunities, schedule activities and mark leads lost; "
    "each campaign a UTM source with the pipeline it produced",
    "version": "18.0.1.0.0",
    "category": "Sales/CRM",
    "website": "https://github.com/outbound-campaign/outbound_campaign",
    "author": "outbound_campaign developers",
    "license": "LGPL-3",
    "depends": ["outbound_campaign", "crm"],
    "data": [
        "security/ir.model.access.csv",
        "security/outbound_campaign_crm_security.xml",
        "data/crm_lost_reason_data.xml",
        "data/outbound_disposition_data.xml",
        "views/outbound_disposition_views.xml",
        "views/outbound_campaign_views.xml",
        "views/outbound_contact_views.xml",
        "views/crm_lead_views.xml",
        "views/res_partner_views.xml",
    ],
    "assets": {
        "web.assets_backend": [
            "outbound_campaign_crm/static/src/**/*",
        ],
        "web.assets_tests": [
            "outbound_campaign_crm/static/tests/tours/**/*",
        ],
    },
    "auto_install": True,
    "post_init_hook": "post_init_hook",
}
