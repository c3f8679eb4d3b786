"""The configuration files of one throwaway Asterisk run directory.

``modules.conf`` loads a list rather than everything (``autoload``): what the shipped dialplan
and the test dialplan run, AMI, music on hold, and the PJSIP stack for one endpoint that nobody
registers. ``manager.conf`` holds the AMI user exactly as README.md ("Connect a real Asterisk")
documents it, on 127.0.0.1 and a free port.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

SOUNDS = Path("/usr/share/asterisk/sounds")
MOH = Path("/usr/share/asterisk/moh")

#: The modules loaded, and why.
MODULES = (
    # dialplan: extensions.conf, and the applications and functions both dialplans use
    "pbx_config.so",
    "app_dial.so",  # Dial
    "app_exec.so",  # ExecIf
    "app_playback.so",  # Playback (hold and abandon messages)
    "app_stack.so",  # Gosub/Return: hangup handlers
    "app_userevent.so",  # UserEvent OcWaiting, OcConnected, OcAbandoned, OcCallEnd
    "app_db.so",  # DBdeltree (the AstDB sweep)
    "app_amd.so",  # AMD (oc-amd)
    "app_waitforsilence.so",  # WaitForSilence (oc-leave-message: the end of the greeting)
    "app_mixmonitor.so",  # MixMonitor (oc-record)
    "app_record.so",  # Record: the test customers record what they heard
    "res_convert.so",  # CLI "file convert": the tests compare what was heard with the sound played
    "app_chanspy.so",  # ChanSpy: supervisors listen, whisper, barge ([oc-supervise])
    "func_db.so",  # DB()
    "func_global.so",  # SHARED(), GLOBAL()
    "func_strings.so",  # FILTER, REGEX, STRFTIME
    "func_channel.so",  # CHANNEL(hangup_handler_push)
    "func_logic.so",  # IF
    "func_cut.so",
    "func_callerid.so",  # CALLERID(num)
    "func_hangupcause.so",
    "res_musiconhold.so",  # MusicOnHold
    "bridge_simple.so",  # two-party bridges (Dial, Bridge)
    "bridge_native_rtp.so",
    "bridge_holding.so",
    "bridge_builtin_features.so",
    "res_timing_timerfd.so",  # timing source: music on hold and playback pacing
    "format_gsm.so",
    "format_wav.so",
    "codec_gsm.so",
    "codec_ulaw.so",
    "codec_alaw.so",
    "codec_a_mu.so",
    # AMI: DeviceStateList
    "res_manager_devicestate.so",
    # PJSIP: one endpoint that never registers (Asterisk reports it UNAVAILABLE)
    "res_sorcery_config.so",
    "res_sorcery_memory.so",
    "res_sorcery_astdb.so",
    "res_pjproject.so",
    "res_pjsip.so",
    "res_pjsip_session.so",
    "res_pjsip_pubsub.so",  # chan_pjsip requires it
    "res_pjsip_sdp_rtp.so",
    "res_rtp_asterisk.so",
    "chan_pjsip.so",
)


@dataclass(frozen=True)
class Ports:
    ami: int
    sip: int
    rtp_start: int


def asterisk_conf(run: Path, modules: Path) -> str:
    return f"""[directories]
astetcdir => {run}/etc
astmoddir => {modules}
astvarlibdir => {run}/lib
astdatadir => {run}/lib
astdbdir => {run}/db
astkeydir => {run}/keys
astspooldir => {run}/spool
astrundir => {run}/run
astlogdir => {run}/log

[options]
; no dumps, no remote console groups: a test tool
dumpcore = no
documentation_language = en_US
"""


def modules_conf() -> str:
    loads = "\n".join(f"load => {name}" for name in MODULES)
    return f"[modules]\nautoload = no\n{loads}\n"


def manager_conf(port: int, username: str, secret: str) -> str:
    # The user of README.md "Connect a real Asterisk", bound to this host.
    return f"""[general]
enabled = yes
port = {port}
bindaddr = 127.0.0.1

[{username}]
secret = {secret}
deny = 0.0.0.0/0.0.0.0
permit = 127.0.0.1/255.255.255.255
read = call,user,reporting
write = originate,call,reporting
"""


def pjsip_conf(port: int, endpoint: str) -> str:
    return f"""[transport-udp]
type = transport
protocol = udp
bind = 127.0.0.1:{port}

[{endpoint}]
type = aor
max_contacts = 1

[{endpoint}]
type = endpoint
transport = transport-udp
context = default
disallow = all
allow = ulaw
aors = {endpoint}
"""


def rtp_conf(start: int) -> str:
    return f"[general]\nrtpstart = {start}\nrtpend = {start + 98}\n"


def musiconhold_conf() -> str:
    return f"[default]\nmode = files\ndirectory = {MOH}\n"


#: Files whose absence Asterisk logs as an error at start: present and minimal, so that the log
#: shows what matters (a missing application, a dialplan error).
QUIET_DEFAULTS = {
    "cdr.conf": "[general]\nenable = no\n",
    "cel.conf": "[general]\nenable = no\n",
    "features.conf": "[general]\n",
    "ccss.conf": "[general]\n",
    "acl.conf": "; no named ACLs\n",
    "udptl.conf": "[general]\n",
    # app_amd declines to load without it; its settings come from the dialplan's AMD() arguments
    "amd.conf": "[general]\n",
    "pjproject.conf": "; pjproject defaults\n",
    # Busy() and Congestion() play the zone's tones
    "indications.conf": (
        "[general]\ncountry = uk\n\n[uk]\ndescription = United Kingdom\nringcadence = 400,200,400,2000\n"
        "dial = 350+440\nbusy = 400/375,0/375\nring = 400+450/400,0/200,400+450/400,0/2000\n"
        "congestion = 400/400,0/350,400/225,0/525\n"
    ),
}


def logger_conf() -> str:
    return "[general]\n[logfiles]\nmessages.log => notice,warning,error\n"


def write_run_dir(
    run: Path, modules: Path, ports: Ports, username: str, secret: str, endpoint: str, extensions: str
) -> Path:
    """Write every file; returns the path of ``asterisk.conf`` (what ``-C`` takes)."""
    etc = run / "etc"
    for name in ("etc", "lib", "db", "keys", "spool", "run", "log"):
        (run / name).mkdir(parents=True, exist_ok=True)
    documentation = modules.parent / "documentation"
    if documentation.is_dir():
        (run / "lib" / "documentation").symlink_to(documentation)
    (run / "lib" / "sounds").symlink_to(SOUNDS)
    (run / "lib" / "moh").symlink_to(MOH)
    files = {
        "asterisk.conf": asterisk_conf(run, modules),
        "modules.conf": modules_conf(),
        "manager.conf": manager_conf(ports.ami, username, secret),
        "pjsip.conf": pjsip_conf(ports.sip, endpoint),
        "rtp.conf": rtp_conf(ports.rtp_start),
        "musiconhold.conf": musiconhold_conf(),
        "logger.conf": logger_conf(),
        "extensions.conf": extensions,
        **QUIET_DEFAULTS,
    }
    for name, text in files.items():
        (etc / name).write_text(text)
    return etc / "asterisk.conf"
