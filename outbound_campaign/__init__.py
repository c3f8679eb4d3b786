from . import cli
from . import models
from . import wizards
from . import controllers


def uninstall_hook(env):
    env["outbound.campaign.counter"]._drop_triggers()
