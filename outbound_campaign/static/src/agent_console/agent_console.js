import { Component, markup, onWillStart, onWillUnmount, useState } from "@odoo/owl";
import { DateTimeInput } from "@web/core/datetime/datetime_input";
import { _t } from "@web/core/l10n/translation";
import { deserializeDateTime, formatDateTime, serializeDateTime } from "@web/core/l10n/dates";
import { registry } from "@web/core/registry";
import { useService } from "@web/core/utils/hooks";
import { BrowserPhone } from "../browser_phone/browser_phone";

const { DateTime } = luxon;

const AGENT_NOTIFICATION = "outbound_campaign/agent";

/**
 * The agent's console: Ready / Pause, the contact's pop while ringing or on a call, the
 * disposition after the call with the wrap-up countdown, and the preview card.
 * Everything shown comes from outbound.agent.get_console_data(), read again on each
 * "outbound_campaign/agent" bus notification (sent on the agent's own partner channel).
 */
export class AgentConsole extends Component {
    static template = "outbound_campaign.AgentConsole";
    static components = { DateTimeInput, BrowserPhone };
    static props = ["*"];

    setup() {
        this.orm = useService("orm");
        this.notification = useService("notification");
        this.busService = useService("bus_service");
        this.phone = useService("outbound_browser_phone");
        this.state = useState({
            data: null,
            pauseReasonId: "",
            note: "",
            callbackAt: null,
            secondsLeft: 0,
            busy: false,
        });
        this.onAgentNotification = () => this.load();
        onWillStart(() => this.load());
        this.busService.subscribe(AGENT_NOTIFICATION, this.onAgentNotification);
        this.busService.start();
        this.countdown = setInterval(() => this.tick(), 1000);
        onWillUnmount(() => {
            this.busService.unsubscribe(AGENT_NOTIFICATION, this.onAgentNotification);
            clearInterval(this.countdown);
        });
    }

    async load() {
        const data = await this.orm.call("outbound.agent", "get_console_data", []);
        if (this.state.data?.call?.id !== data.call?.id) {
            this.state.note = "";
            this.state.callbackAt = null;
        }
        this.state.data = data;
        this.state.secondsLeft = data.wrap_up_seconds_left || 0;
        // Browser phone: a console opened (or reloaded) by a ready agent registers again.
        if (data.browser_phone && ["ready", "wrap_up"].includes(data.state) && this.phone.state.status === "off") {
            this.phone.register();
        }
    }

    tick() {
        if (this.state.secondsLeft > 0) {
            this.state.secondsLeft -= 1;
            if (this.state.secondsLeft === 0) {
                // The dialer makes the agent ready when the wrap-up ends: show it.
                this.load();
            }
        }
    }

    /** Run one of the agent's actions on their own record, then show the result. */
    async act(method, args = []) {
        if (this.state.busy) {
            return;
        }
        this.state.busy = true;
        try {
            await this.orm.call("outbound.agent", method, [[this.state.data.agent_id], ...args]);
        } finally {
            this.state.busy = false;
        }
        await this.load();
    }

    get data() {
        return this.state.data;
    }

    get onCall() {
        return ["ringing", "on_call"].includes(this.data.state);
    }

    get canDispose() {
        const call = this.data.call;
        return call && call.ended && !call.disposition_id;
    }

    get countdownLabel() {
        const minutes = Math.floor(this.state.secondsLeft / 60);
        const seconds = String(this.state.secondsLeft % 60).padStart(2, "0");
        return `${minutes}:${seconds}`;
    }

    formatDate(value) {
        return value ? formatDateTime(deserializeDateTime(value)) : "";
    }

    noteBody(note) {
        // Chatter bodies are sanitised HTML from the server.
        return markup(note.body);
    }

    html(value) {
        // Sanitised HTML from the server: chatter bodies, the call script (its values escaped there).
        return markup(value);
    }

    async onReady() {
        // Browser phone: registered before the agent is offered calls.
        if (this.data.browser_phone && !(await this.phone.register())) {
            await this.load();
            return;
        }
        this.act("action_ready");
    }

    onPause() {
        if (!this.state.pauseReasonId) {
            this.notification.add(_t("Choose why you pause."), { type: "warning" });
            return;
        }
        this.act("action_pause", [parseInt(this.state.pauseReasonId)]).then(() => {
            if (this.data.browser_phone) {
                this.phone.unregister();
            }
        });
    }

    onDisposition(disposition) {
        if (disposition.action === "callback" && !this.state.callbackAt) {
            this.notification.add(_t("Call back: choose when."), { type: "warning" });
            return;
        }
        const callbackAt =
            disposition.action === "callback" ? serializeDateTime(this.state.callbackAt) : false;
        this.act("record_disposition", [
            this.data.call.id,
            disposition.id,
            this.state.note,
            callbackAt,
        ]);
    }

    onCallbackAt(value) {
        this.state.callbackAt = value;
    }

    get now() {
        return DateTime.now();
    }
}

registry.category("actions").add("outbound_campaign.agent_console", AgentConsole);
