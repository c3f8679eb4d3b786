"""Issue 11 through the real dialer process and a real Asterisk: answering machines detected and
stored as such, a person put through; a recorded call's file attached to the right call, as long
as its talk."""

import io
import wave

from realpbx import Agent, Customer

from .asterisk_world import utc
from .test_asterisk_dialer import CLIENT_FIRST, AsteriskCase

TALKS = "+442079461201"
MACHINE = "+442079461202"
PERSON = "+442079461203"
MACHINE_FOR_THE_AGENT = "+442079461204"


class TestAnsweringMachinesAndRecordings(AsteriskCase):
    customers = {
        TALKS: Customer.talks("vm-intro"),
        MACHINE: Customer.machine(),
        PERSON: Customer.person(talk=2),
        MACHINE_FOR_THE_AGENT: Customer.machine(),
    }
    agents = {"agent": Agent.answer()}

    def test_a_recorded_call_is_attached_to_its_call(self):
        world = self.world("Recordings")
        with world.env() as env:
            env["outbound.dialer.server"].browse(world.server_id).recordings_directory = str(
                self.pbx.run_dir / "spool" / "monitor"
            )
        (agent,) = world.add_agents([self.pbx.agent_channel("agent")])
        campaign = world.add_campaign(
            "client_first", [TALKS], [agent], record_calls=True, max_wait=10, **CLIENT_FIRST
        )
        process = self.dialer(world)

        def attached():
            return world.query(
                """SELECT k.id, k.uuid, k.talk_duration, k.connect_at, k.end_at, a.res_model, a.res_id, a.id
                     FROM outbound_call k JOIN ir_attachment a ON a.id = k.recording_id
                    WHERE k.campaign_id = %s AND k.recording_state = 'attached'""",
                campaign,
            )

        self.wait(attached, "the recording attached", world, process)
        ((call_id, uuid, talk, connect_at, end_at, res_model, res_id, attachment_id),) = attached()
        self.assertEqual((res_model, res_id), ("outbound.call", call_id))
        with world.env() as env:
            attachment = env["ir.attachment"].browse(attachment_id)
            self.assertEqual(attachment.name, f"{uuid}.wav")
            with wave.open(io.BytesIO(attachment.raw)) as recording:
                seconds = recording.getnframes() / recording.getframerate()
        self.assertGreater(talk, 0)
        talk_seconds = (utc(end_at) - utc(connect_at)).total_seconds()
        self.assertLessEqual(abs(seconds - talk_seconds), 1.0, (seconds, talk_seconds))
        files = [path.name for path in (self.pbx.run_dir / "spool" / "monitor").iterdir()]
        self.assertEqual(files.count(f"{uuid}.wav"), 1)

    def test_a_machine_is_stored_as_such_and_a_person_reaches_the_agent(self):
        world = self.world("Machines")
        (agent,) = world.add_agents([self.pbx.agent_channel("agent")])
        campaign = world.add_campaign(
            "client_first", [MACHINE, PERSON], [agent], amd_enabled=True, max_wait=10, **CLIENT_FIRST
        )
        process = self.dialer(world)
        self.wait(world.settled, "both calls ended", world, process)
        outcomes = world.outcomes(campaign)
        self.assertEqual(outcomes, {MACHINE: ["machine"], PERSON: ["answered"]})
        detection = dict(
            world.query("SELECT phone_e164, amd_status FROM outbound_call WHERE campaign_id = %s", campaign)
        )
        self.assertEqual(detection, {MACHINE: "MACHINE", PERSON: "HUMAN"})
        machine_call = next(call for call in world.calls(campaign) if call.phone == MACHINE)
        self.assertIsNone(machine_call.agent_id, "a machine never reaches an agent")

    def test_the_agents_leave_message_reaches_asterisk_and_frees_the_agent(self):
        world = self.world("LeaveMessage")
        (agent,) = world.add_agents([self.pbx.agent_channel("agent")])
        campaign = world.add_campaign(
            "agent_first", [MACHINE_FOR_THE_AGENT], [agent], machine_message="tt-weasels", wrap_up_time=30
        )
        process = self.dialer(world)
        self.wait(
            lambda: [c for c in world.calls(campaign) if c.state == "connected"], "connected", world, process
        )
        with world.env() as env:
            agent_record = env["outbound.agent"].browse(agent)
            agent_record.with_user(agent_record.user_id).action_leave_message()
        self.wait(world.settled, "the call ended", world, process)
        self.assertEqual(world.outcomes(campaign), {MACHINE_FOR_THE_AGENT: ["machine_message_left"]})
        self.assertEqual(world.agents()[agent][0], "ready", "free at once: no wrap-up")
