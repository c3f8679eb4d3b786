"""Browser phones (``dialer/browser_phones.py``): the login rule, the channel, the wizard entries, the
supervisors' ChanSpy prefix; and the shipped Asterisk files agree with them."""

from pathlib import Path

import pytest

from outbound_campaign.dialer import browser_phones, rules

ASTERISK = Path(__file__).resolve().parents[2] / "outbound_campaign/data/asterisk"


@pytest.mark.parametrize("login", ["1001", "agent.smith", "a", "x" * 40, "Agent_7-b"])
def test_sip_logins_that_fit(login):
    assert browser_phones.check_sip_login(login) == login
    assert browser_phones.browser_channel(login) == f"PJSIP/{login}"


@pytest.mark.parametrize("login", ["", "-1001", ".x", "a/b", "a@b", "a b", "a;b", "[x]", "x" * 41, "a\nb"])
def test_sip_logins_refused(login):
    with pytest.raises(rules.RuleError) as error:
        browser_phones.browser_channel(login)
    assert error.value.fault == "sip_login"


def test_the_spy_prefix_matches_that_phone_only():
    prefix = browser_phones.spy_prefix("PJSIP/1001")
    assert "PJSIP/1001-0000002a".startswith(prefix)
    assert not "PJSIP/10012-0000002a".startswith(prefix)
    with pytest.raises(rules.RuleError):
        browser_phones.spy_prefix("PJSIP/1001,q")


def test_wizard_entries_inherit_the_shipped_template():
    text = browser_phones.wizard_entries([("1001", "s3cret"), ("1002", "other")])
    assert text == (
        "[1001](oc-webrtc-agent)\ninbound_auth/username = 1001\ninbound_auth/password = s3cret\n\n"
        "[1002](oc-webrtc-agent)\ninbound_auth/username = 1002\ninbound_auth/password = other\n"
    )
    template = (ASTERISK / "pjsip_wizard_outbound_campaign.conf").read_text()
    assert f"[{browser_phones.WIZARD_TEMPLATE}](!)" in template


@pytest.mark.parametrize("secret", ["", "a\nb", "x;y", " lead", "[z]"])
def test_wizard_entries_refuse_a_secret_the_file_would_misread(secret):
    with pytest.raises(rules.RuleError):
        browser_phones.wizard_entries([("1001", secret)])


def test_the_dialplan_has_one_extension_per_supervision_mode():
    dialplan = (ASTERISK / "extensions_outbound_campaign.conf").read_text()
    context = dialplan.split("[oc-supervise]", 1)[1].split("\n[", 1)[0]
    modes = {
        line.split("=>", 1)[1].split(",", 1)[0].strip()
        for line in context.splitlines()
        if line.startswith("exten")
    }
    assert modes == set(browser_phones.SUPERVISION_MODES)


def test_the_supervision_originate_rings_the_supervisor_into_oc_supervise():
    headers = browser_phones.supervision_originate("PJSIP/boss", "PJSIP/1001", "whisper", "oc-sup-7")
    assert headers == {
        "ActionID": "oc-sup-7",
        "Channel": "PJSIP/boss",
        "Context": "oc-supervise",
        "Exten": "whisper",
        "Priority": "1",
        "Timeout": "20000",
        "CallerID": '"whisper" <whisper>',
        "Variable": {"OC_SPY": "PJSIP/1001-"},
    }
    with pytest.raises(rules.RuleError):
        browser_phones.supervision_originate("PJSIP/boss", "PJSIP/1001", "record", "oc-sup-7")
    with pytest.raises(rules.RuleError):
        browser_phones.supervision_originate("PJSIP/boss,x", "PJSIP/1001", "listen", "oc-sup-7")
