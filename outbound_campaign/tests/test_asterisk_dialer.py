"""Issue 9, part 1: the real dialer process (``odoo-bin outbound_dialer``) against a real Asterisk.

Each class starts one Asterisk 22 (``realpbx``): the shipped dialplan loaded as shipped, the
README's least-privilege AMI user, customers who answer, are busy, ring out… per number, reached
through ``Local/{number}@octest-customers/n`` (a context name with ``-``: every call of this
suite dials it, issue 9 b), agents that ring and answer. Each test commits a dialer server with
its agents and campaigns (:class:`~.asterisk_world.AsteriskWorld`), runs the dialer process on
it and compares what the dialer stored with what Asterisk did: the outcome of each number's
behaviour, and the times our dialplan recorded in AstDB. Skipped, with the finder's one line,
where no Asterisk is found.
"""

import signal
import tempfile
import unittest
from datetime import timedelta

from realpbx import Agent, Customer, RealAsterisk, find_asterisk

from .asterisk_world import AsteriskWorld, utc
from .dialer_processes import start_dialer, stop, wait_for
from .shared_agents import ANSWERING, CONTACTS, SharedAgents, shared_agents_campaigns

FOUND = find_asterisk()

#: Seconds between a time the dialer stored (from the AMI events it received) and the same time
#: as our dialplan recorded it (whole seconds of ``${EPOCH}``).
TIME_TOLERANCE = 2

#: Client first: the hold message played on answer (about 2 s) while an agent is rung; the
#: abandon message played to a customer no agent reached.
CLIENT_FIRST = {"hold_message": "pls-hold-while-try", "abandon_message": "tt-weasels"}


@unittest.skipIf(FOUND.path is None, FOUND.reason)
class AsteriskCase(unittest.TestCase):
    """One Asterisk for the class, with the ``customers`` and ``agents`` of the class."""

    customers = {}
    agents = {}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.pbx = RealAsterisk(FOUND.path, customers=cls.customers, agents=cls.agents)
        cls.pbx.start()
        cls.addClassCleanup(cls.pbx.stop)

    def world(self, prefix, dial_template=None):
        world = AsteriskWorld(self.pbx, prefix, dial_template)
        self.addCleanup(world.destroy)
        return world

    def dialer(self, world):
        """The dialer process for ``world``'s server, stopped at the end of the test."""
        log = self.enterContext(tempfile.TemporaryFile())
        process = start_dialer(world, stderr=log)
        process.log = log
        self.addCleanup(stop, process)
        return process

    def wait(self, condition, what, world, process, timeout=90):
        """Until ``condition()``; on a timeout, fail with what the dialer and Asterisk logged."""
        try:
            wait_for(condition, timeout, what)
        except AssertionError as exc:
            process.log.seek(0)
            dialer_log = process.log.read().decode(errors="replace")[-3000:]
            self.fail(
                f"{exc}\ncalls in flight: {world.in_flight()}\n--- dialer log\n{dialer_log}"
                f"\n--- Asterisk log\n{self.pbx.log()[-3000:]}"
            )

    def assert_times_from_asterisk(self, world, calls):
        """The answer, connection and end of each call, and its talk time, as Asterisk recorded
        them in AstDB (the main record of the call; the dial record of a client-first call, which
        alone exists when the customer did not answer)."""
        records = world.records()
        for call in calls:
            dial = records.get(f"{call.uuid}-dial")
            record = records.get(call.uuid) or dial
            if dial is not None and dial.answered_at is not None:
                self.assertLessEqual(
                    abs((call.answer_at - dial.answered_at).total_seconds()), TIME_TOLERANCE, call
                )
            for stored, recorded in (
                (call.end_at, record.ended_at),
                (call.answer_at, record.answered_at),
                (call.connect_at, record.connected_at),
            ):
                if recorded is None:
                    self.assertIsNone(stored, call)
                else:
                    self.assertLessEqual(abs((stored - recorded).total_seconds()), TIME_TOLERANCE, call)
            if record.connected_at is not None:
                talk = (record.ended_at - record.connected_at).total_seconds()
                self.assertLessEqual(abs(call.talk - talk), TIME_TOLERANCE, call)


# The numbers of the call flows, and what each does.
ANSWERS = "+442079461001"
ANSWERS_LATE = "+442079461002"
BUSY = "+442079461003"
RINGS_OUT = "+442079461004"
CONGESTED = "+442079461005"
UNALLOCATED = "+442079461006"
HANGS_UP_WAITING = "+442079461007"
#: Customers who answer and talk 5 s (in client first: with an agent once one answers), for the
#: tests that are not about outcomes.
QUICK = [f"+4420794611{n:02d}" for n in range(12)]
#: How long the late customer lets the phone ring.
LATE_RING = 4


class TestCallFlows(AsteriskCase):
    customers = {
        ANSWERS: Customer.answer(talk=5),
        ANSWERS_LATE: Customer.answer_late(ring=LATE_RING, talk=5),
        BUSY: Customer.busy(),
        RINGS_OUT: Customer.ring_out(),
        CONGESTED: Customer.congestion(),
        UNALLOCATED: Customer.unallocated(),
        # in client first: hangs up while the agent's phone rings
        HANGS_UP_WAITING: Customer.hangs_up_waiting(after=1),
        **{number: Customer.answer(talk=5) for number in QUICK},
    }
    # Agents 4 to 6 (client first, outcomes) ring longer than a customer waits who hangs up.
    agents = {f"agent{n}": Agent.answer(ring=3 if n in (4, 5, 6) else 0) for n in range(1, 9)}

    def test_each_outcome_is_what_asterisk_did_in_both_flows(self):
        agent_first_expected = {
            ANSWERS: "answered",
            ANSWERS_LATE: "answered",
            BUSY: "busy",
            RINGS_OUT: "no_answer",
            CONGESTED: "congestion",
            UNALLOCATED: "invalid_number",
            HANGS_UP_WAITING: "answered",  # the agent was on the line when they answered
        }
        client_first_expected = {**agent_first_expected, HANGS_UP_WAITING: "abandoned"}
        world = self.world("Flows")
        agent_first = world.add_campaign(
            "agent_first",
            list(agent_first_expected),
            world.add_agents([self.pbx.agent_channel(f"agent{n}") for n in (1, 2, 3)]),
        )
        client_first = world.add_campaign(
            "client_first",
            list(client_first_expected),
            world.add_agents([self.pbx.agent_channel(f"agent{n}") for n in (4, 5, 6)]),
            max_wait=10,
            **CLIENT_FIRST,
        )
        process = self.dialer(world)
        self.wait(world.settled, "every contact to be called", world, process)

        for campaign, expected in (
            (agent_first, agent_first_expected),
            (client_first, client_first_expected),
        ):
            self.assertEqual(
                world.outcomes(campaign), {phone: [outcome] for phone, outcome in expected.items()}
            )
            contacts = world.contacts(campaign)
            self.assertEqual({c.state for c in contacts.values()}, {"done", "failed"})
            self.assertEqual({c.attempts for c in contacts.values()}, {1})
        calls = world.calls()
        # The status Dial() gave, in both flows.
        statuses = {
            (call.phone, call.dial_status) for call in calls if call.phone in (BUSY, CONGESTED, RINGS_OUT)
        }
        self.assertEqual(statuses, {(BUSY, "BUSY"), (CONGESTED, "CONGESTION"), (RINGS_OUT, "NOANSWER")})
        self.assert_times_from_asterisk(world, calls)
        late = [call for call in calls if call.phone == ANSWERS_LATE]
        self.assertEqual(len(late), 2)
        for call in late:
            # Asterisk let it ring that long before answering (not a measure of this machine).
            self.assertGreaterEqual(call.ring, LATE_RING - 1, call)
        records = world.records()
        for call in calls:
            if call.campaign_id == client_first and call.outcome == "answered":
                record = records[call.uuid]
                waited = (record.connected_at - record.answered_at).total_seconds()
                self.assertLessEqual(abs(call.wait - waited), TIME_TOLERANCE, call)
        self.assertEqual({state for state, _device, _missed in world.agents().values()}, {"ready"})

    def test_defect_b_the_customer_trunk_context_with_a_dash_is_dialled_exactly_real_asterisk(self):
        """``Local/{number}@octest-customers/n``: a context with ``-``, reached as written (the
        dialplan once dropped the ``-`` and dialled ``octestcustomers``, which does not exist)."""
        context = self.pbx.dial_template.partition("@")[2].partition("/")[0]
        self.assertIn("-", context)
        world = self.world("Dash")
        agent_first = world.add_campaign(
            "agent_first", [QUICK[0]], world.add_agents([self.pbx.agent_channel("agent7")])
        )
        client_first = world.add_campaign(
            "client_first", [QUICK[1]], world.add_agents([self.pbx.agent_channel("agent8")]), **CLIENT_FIRST
        )
        process = self.dialer(world)
        self.wait(world.settled, "both calls to end", world, process)
        self.assertEqual(world.outcomes(agent_first), {QUICK[0]: ["answered"]})
        self.assertEqual(world.outcomes(client_first), {QUICK[1]: ["answered"]})
        records = world.records()
        for call in world.calls():
            self.assertEqual(records[call.uuid].dial_status, "ANSWER")

    def test_an_agent_asterisk_reports_unavailable_is_never_offered_a_call(self):
        """A PJSIP endpoint nobody registered: Asterisk lists it ``UNAVAILABLE``; its agent, in
        both campaigns, is never rung, while the others take every call."""
        world = self.world("Unregistered")
        (unregistered,) = world.add_agents([self.pbx.unregistered_endpoint])
        agent_first_agents = world.add_agents([self.pbx.agent_channel("agent1")])
        client_first_agents = world.add_agents([self.pbx.agent_channel("agent2")])
        agent_first = world.add_campaign("agent_first", QUICK[2:5], [unregistered, *agent_first_agents])
        client_first = world.add_campaign(
            "client_first", QUICK[5:8], [unregistered, *client_first_agents], max_wait=10, **CLIENT_FIRST
        )
        process = self.dialer(world)
        self.wait(world.settled, "every contact to be called", world, process)
        self.assertEqual(world.outcomes(agent_first), {phone: ["answered"] for phone in QUICK[2:5]})
        self.assertEqual(world.outcomes(client_first), {phone: ["answered"] for phone in QUICK[5:8]})
        self.assertEqual(
            {call.agent_id for call in world.calls()}, {*agent_first_agents, *client_first_agents}
        )
        self.assertEqual(world.agents()[unregistered], ("ready", "UNAVAILABLE", 0))

    def test_defect_c_a_trunk_asterisk_cannot_place_calls_on_charges_no_attempt_real_asterisk(self):
        """``PJSIP/{number}@no-such-endpoint``: Asterisk cannot create the customer's channel
        (``CHANUNAVAIL``). In both flows every call is ``trunk_refused``, no attempt is charged,
        the contact is due again no sooner than five minutes later, and the campaign's card says
        the trunk refuses calls."""
        world = self.world("Refused", dial_template="PJSIP/{number}@no-such-endpoint")
        agent_first = world.add_campaign(
            "agent_first", QUICK[:5], world.add_agents([self.pbx.agent_channel("agent3")])
        )
        client_first = world.add_campaign(
            "client_first", QUICK[5:10], world.add_agents([self.pbx.agent_channel("agent4")]), **CLIENT_FIRST
        )
        process = self.dialer(world)
        self.wait(world.settled, "every contact to be tried", world, process)
        for campaign, phones in ((agent_first, QUICK[:5]), (client_first, QUICK[5:10])):
            self.assertEqual(world.outcomes(campaign), {phone: ["trunk_refused"] for phone in phones})
            for contact in world.contacts(campaign).values():
                self.assertEqual((contact.state, contact.attempts), ("pending", 0), contact)
            calls = world.calls(campaign)
            # chan_pjsip's cause for an endpoint it does not have; agent first also has the
            # Dial() status (client first: no channel was made, so no DialEnd tells it).
            self.assertEqual({call.cause for call in calls}, {"3"}, calls)
            if campaign == agent_first:
                self.assertEqual({call.dial_status for call in calls}, {"CHANUNAVAIL"}, calls)
            for call in calls:
                self.assertGreaterEqual(
                    world.contacts(campaign)[call.phone].next_attempt_at, call.end_at + timedelta(minutes=5)
                )
        self.assertEqual({state[::2] for state in world.agents().values()}, {("ready", 0)})
        with world.env() as env:
            campaigns = env["outbound.campaign"].browse([agent_first, client_first])
            cards = campaigns._dashboard_cards(utc(env.cr.now()))
        for card in cards:
            self.assertTrue(card["dialing_status_text"].startswith("Trunk refuses calls"), card)


#: Customers who stay on the line until Asterisk hangs them up (a restart, a hangup request).
STAYS = [f"+4420794612{n:02d}" for n in range(6)]
#: Customers who talk long enough for the dialer to be killed while they talk.
TALKS = [f"+4420794613{n:02d}" for n in range(6)]


class TestRecovery(AsteriskCase):
    """The dialer killed, Asterisk restarted: no outcome lost, none stored twice."""

    customers = {
        **{number: Customer.answer() for number in STAYS},
        **{number: Customer.answer(talk=8) for number in TALKS},
    }
    agents = {f"agent{n}": Agent.answer() for n in range(1, 5)}

    def two_campaigns(self, world, agent_first_phones, client_first_phones):
        """An agent-first and a client-first campaign of two agents each."""
        agent_first = world.add_campaign(
            "agent_first",
            agent_first_phones,
            world.add_agents([self.pbx.agent_channel("agent1"), self.pbx.agent_channel("agent2")]),
        )
        client_first = world.add_campaign(
            "client_first",
            client_first_phones,
            world.add_agents([self.pbx.agent_channel("agent3"), self.pbx.agent_channel("agent4")]),
            max_wait=10,
            **CLIENT_FIRST,
        )
        return agent_first, client_first

    def connected(self, world, phones):
        """Whether the dialer stored the calls of ``phones`` as connected (customer and agent)."""
        connected = {call.phone for call in world.calls() if call.state == "connected"}
        return connected >= set(phones)

    def assert_every_call_answered_once(self, world, campaigns):
        for campaign, phones in campaigns.items():
            self.assertEqual(
                world.outcomes(campaign), {phone: ["answered"] for phone in phones}, world.calls(campaign)
            )
            self.assertEqual({c.state for c in world.contacts(campaign).values()}, {"done"})
        self.assertEqual({state for state, _device, _missed in world.agents().values()}, {"ready"})
        self.assert_times_from_asterisk(world, world.calls())

    def hang_up(self, numbers):
        """Hang the customers of ``numbers`` up, as if they put the phone down."""
        for line in self.pbx.cli("core show channels concise").splitlines():
            channel = line.partition("!")[0]
            if channel.endswith(";2") and any(channel.startswith(f"Local/{number}@") for number in numbers):
                self.pbx.cli(f"channel request hangup {channel}")

    def test_sigkill_with_calls_up_then_a_new_dialer(self):
        """Killed with four calls up: two end while no dialer runs (their outcomes come from
        AstDB), two are still up when the next dialer starts (it follows their events); the next
        dialer also calls the contacts the first did not reach."""
        world = self.world("Killed")
        agent_first_phones, client_first_phones = (
            [STAYS[0], TALKS[0], TALKS[1]],
            [STAYS[1], TALKS[2], TALKS[3]],
        )
        agent_first, client_first = self.two_campaigns(world, agent_first_phones, client_first_phones)
        first = self.dialer(world)
        self.wait(
            lambda: self.connected(world, [STAYS[0], TALKS[0], STAYS[1], TALKS[2]]),
            "four calls to be connected",
            world,
            first,
        )
        stop(first, signal.SIGKILL)
        talking = {call.uuid for call in world.in_flight() if call.phone in (TALKS[0], TALKS[2])}
        self.assertEqual(len(talking), 2, "the kill must happen while they talk")
        self.wait(lambda: talking <= set(world.records()), "the talks to end in Asterisk", world, first)

        second = self.dialer(world)
        self.wait(
            lambda: f":{second.pid}/" in world.connected_holder(), "the next dialer to connect", world, second
        )
        self.hang_up([STAYS[0], STAYS[1]])
        self.wait(world.settled, "every contact to be called", world, second)
        self.assert_every_call_answered_once(
            world, {agent_first: agent_first_phones, client_first: client_first_phones}
        )

    def test_asterisk_restarted_under_the_dialer(self):
        """``core restart now`` with a call up for each agent: the calls Asterisk cut are
        settled from what it recorded, the dialer reconnects and dials the contacts added since."""
        world = self.world("Restart")
        agent_first, client_first = self.two_campaigns(world, [STAYS[2], STAYS[3]], [STAYS[4], STAYS[5]])
        process = self.dialer(world)
        cut = [STAYS[2], STAYS[3], STAYS[4], STAYS[5]]
        self.wait(lambda: self.connected(world, cut), "four calls to be connected", world, process)
        self.pbx.restart()
        self.wait(lambda: world.connected_holder(), "the dialer to reconnect", world, process)
        world.add_contacts(agent_first, [TALKS[4]])
        world.add_contacts(client_first, [TALKS[5]])
        self.wait(world.settled, "every contact to be called", world, process)
        self.assertIsNone(process.poll(), "the dialer process is still running")
        self.assert_every_call_answered_once(
            world, {agent_first: [STAYS[2], STAYS[3], TALKS[4]], client_first: [STAYS[4], STAYS[5], TALKS[5]]}
        )


def shared_agents_phones(first):
    """Nine numbers from ``+44207946<first>``: the first five answer, two are busy, two ring out."""
    numbers = [f"+44207946{first + n:04d}" for n in range(CONTACTS)]
    return numbers


AGENT_FIRST_SHARED = shared_agents_phones(1400)
CLIENT_FIRST_SHARED = shared_agents_phones(1500)


def shared_agents_customer(index):
    if index < ANSWERING:
        return Customer.answer(talk=6)
    return Customer.busy() if index < ANSWERING + 2 else Customer.ring_out()


class TestSharedAgents(AsteriskCase):
    customers = {
        number: shared_agents_customer(index)
        for numbers in (AGENT_FIRST_SHARED, CLIENT_FIRST_SHARED)
        for index, number in enumerate(numbers)
    }
    agents = {f"agent{n}": Agent.answer(ring=1) for n in range(1, 4)}

    def test_defect_a_shared_agents_keep_the_abandon_cap_real_asterisk(self):
        """Three agents shared by an agent-first and a client-first campaign (nine contacts
        each, five answering): every client-first customer who answers gets an agent."""
        world = self.world("Shared")
        with world.env() as env:
            run = shared_agents_campaigns(
                env,
                env["outbound.dialer.server"].browse(world.server_id),
                None,  # the world's server already has the Asterisk's connection
                [self.pbx.agent_channel(f"agent{n}") for n in range(1, 4)],
                AGENT_FIRST_SHARED,
                CLIENT_FIRST_SHARED,
                max_wait=4,
                dial_timeout=15,
                enforce_legal_hours=False,
                sat=True,
                sun=True,
                **CLIENT_FIRST,
            )
            world.track(run.agents.user_id.ids, run.agents.ids)
            ids = (run.agents.ids, run.agent_first.id, run.client_first.id)

        def shared(env):
            agents, agent_first, client_first = ids
            return SharedAgents(
                env["outbound.agent"].browse(agents),
                env["outbound.campaign"].browse(agent_first),
                env["outbound.campaign"].browse(client_first),
            )

        def settled():
            with world.env() as env:
                return shared(env).settled()

        process = self.dialer(world)
        self.wait(settled, "every contact to be called", world, process, timeout=120)
        with world.env() as env:
            shared(env).check(self)
