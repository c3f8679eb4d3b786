"""The note a call a customer answered leaves on the partner's chatter: written by the dialer host
with the result (``host/store.py``), completed by the ORM when the agent records the disposition
(``models/call_chatter.py``). One text for both."""

from markupsafe import Markup

#: The note's ``message_id`` is this followed by the call's uuid: the host finds its notes again
#: in the statement that writes them.
MESSAGE_ID_PREFIX = "outbound-call-"


def duration(seconds):
    """``m:ss`` (``h:mm:ss`` past an hour)."""
    minutes, seconds = divmod(int(seconds or 0), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


def body(env, campaign, talk_seconds, agent, disposition=None, note=None):
    """The note's HTML: every value escaped (names and the agent's note are text, never markup)."""
    outcomes = dict(env["outbound.call"]._fields["outcome"]._description_selection(env))
    lines = [
        (env._("Outcome"), outcomes["answered"]),
        (env._("Duration"), duration(talk_seconds)),
        (env._("Agent"), agent or "-"),
    ]
    if disposition:
        lines.append((env._("Disposition"), disposition))
    if note:
        lines.append((env._("Note"), note))
    return Markup("<p><b>%s</b></p><ul>%s</ul>") % (
        env._("Outbound call: %s", campaign),
        Markup().join(Markup("<li>%s: %s</li>") % line for line in lines),
    )
