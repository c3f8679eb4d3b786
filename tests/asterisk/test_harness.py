"""The harness itself: everything both dialplans run is loaded, AstDB and the remote console
read back, a restart comes back, and stopping leaves nothing behind."""

from __future__ import annotations

import re

import pytest
from conftest import requires_asterisk, start_pbx

from realpbx import AGENTS_CONTEXT, CUSTOMERS_CONTEXT, Agent, AsteriskError, Customer, RealAsterisk
from realpbx.server import SHIPPED_DIALPLAN

pytestmark = requires_asterisk

_APPLICATION = re.compile(r"^\s*(?:exten\s*=>\s*[^,]+,|same\s*=>\s*)[^,]+,(\w+)\(", re.MULTILINE)
_NESTED_APPLICATION = re.compile(r"\?(\w+)\(")
_FUNCTION = re.compile(r"\$\{([A-Z_]+)\(")


@pytest.fixture(scope="module")
def pbx():
    asterisk = start_pbx(
        customers={"+442079460001": Customer.answer(talk=1), "+442079460002": Customer.busy()},
        agents={"agent1": Agent.answer()},
    )
    yield asterisk
    asterisk.stop()


def test_every_application_and_function_of_the_dialplans_is_loaded(pbx):
    text = SHIPPED_DIALPLAN.read_text() + (pbx.run_dir / "etc" / "extensions.conf").read_text()
    applications = set(_APPLICATION.findall(text)) | set(_NESTED_APPLICATION.findall(text))
    functions = set(_FUNCTION.findall(text))
    assert {"Dial", "Playback", "MusicOnHold", "Bridge", "UserEvent", "DBdeltree", "ExecIf"} <= applications
    loaded_applications = {
        a.lower() for a in re.findall(r"^\s*(\w+):", pbx.cli("core show applications"), re.M)
    }
    loaded_functions = set(re.findall(r"^(\w+)\s", pbx.cli("core show functions"), re.M))
    assert {a for a in applications if a.lower() not in loaded_applications} == set()
    assert functions - loaded_functions == set()


def test_dialplan_loaded_as_shipped_with_the_test_contexts(pbx):
    assert f'#include "{SHIPPED_DIALPLAN}"' in (pbx.run_dir / "etc" / "extensions.conf").read_text()
    for context in (
        "oc-agent-first",
        "oc-client-dial",
        "oc-client-first",
        "oc-agent-bridge",
        "oc-hangup-handler",
    ):
        assert f"[ Context '{context}' created by 'pbx_config' ]" in pbx.cli(f"dialplan show {context}")
    customers = pbx.cli(f"dialplan show {CUSTOMERS_CONTEXT}")
    assert "'+442079460001' =>" in customers and "Hangup(17)" in customers
    assert "'agent1' =>" in pbx.cli(f"dialplan show {AGENTS_CONTEXT}")
    assert re.search(r"WARNING|ERROR", pbx.log()) is None, pbx.log()


def test_ami_user_as_the_readme_documents_it(pbx):
    manager = (pbx.run_dir / "etc" / "manager.conf").read_text()
    assert f"[{pbx.username}]" in manager and pbx.username == "odoo-dialer"
    assert "read = call,user,reporting\nwrite = originate,call,reporting\n" in manager
    assert "bindaddr = 127.0.0.1" in manager and pbx.ami_port != 5038 and pbx.sip_port != 5060


def test_astdb_reads_back(pbx):
    pbx.cli("database put oc 20250106/harness dialstatus=ANSWER;cause=16")
    assert pbx.astdb("oc")["20250106/harness"] == "dialstatus=ANSWER;cause=16"
    assert "harness" not in str(pbx.astdb("other"))


def test_restart_comes_back_with_astdb(pbx):
    pbx.cli("database put oc 20250106/restart kept")
    pbx.restart()
    assert pbx.astdb("oc")["20250106/restart"] == "kept"
    assert "System uptime" in pbx.cli("core show uptime")


def test_stop_removes_everything_and_a_dead_asterisk_raises():
    asterisk = start_pbx()
    run_dir = asterisk.run_dir
    asterisk._process.kill()
    asterisk._process.wait(5)
    with pytest.raises(AsteriskError, match="exited"):
        asterisk.cli("core show version")
    asterisk.stop()
    assert not run_dir.exists()


def test_no_executable_is_refused():
    with pytest.raises(AsteriskError):
        RealAsterisk("")
