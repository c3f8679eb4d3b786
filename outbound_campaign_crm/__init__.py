from . import models


def post_init_hook(env):
    """The campaigns that existed before the addon get their UTM source too."""
    campaigns = env["outbound.campaign"].with_context(active_test=False).search([("source_id", "=", False)])
    campaigns._create_sources()
