import { Component, onWillStart, onWillUnmount, useState } from "@odoo/owl";
import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";
import { useService } from "@web/core/utils/hooks";
import { formatPercentage } from "@web/views/fields/formatters";
import { standardActionServiceProps } from "@web/webclient/actions/action_service";

const DASHBOARD_NOTIFICATION = "outbound_campaign/dashboard";
// Notifications arrive in bursts (every call that ends sends one): gather those of this span
// into one read, well within the 2 s the page promises.
const COALESCE_MS = 300;
// Changes that come with time alone (a calling window opening, a dialer going silent) send no
// notification: read the cards again this often anyway.
const REFRESH_MS = 30000;

/**
 * Dashboard → Active Outbound Campaigns: one card per running or paused campaign, with the
 * figures of outbound.campaign.get_dashboard_cards(), read again when the bus says a campaign
 * changed (on the Manager group's channel) and every REFRESH_MS.
 */
export class OutboundDashboard extends Component {
    static template = "outbound_campaign.Dashboard";
    static props = { ...standardActionServiceProps };

    setup() {
        this.orm = useService("orm");
        this.actionService = useService("action");
        this.busService = useService("bus_service");
        this.state = useState({ cards: [], loaded: false });
        this.loading = null;
        this.reloadAgain = false;
        this.reloadTimer = null;
        this.onDashboardNotification = () => this.scheduleReload();
        onWillStart(() => this.load());
        this.busService.subscribe(DASHBOARD_NOTIFICATION, this.onDashboardNotification);
        this.busService.start();
        this.refreshInterval = setInterval(() => this.scheduleReload(), REFRESH_MS);
        onWillUnmount(() => {
            this.busService.unsubscribe(DASHBOARD_NOTIFICATION, this.onDashboardNotification);
            clearInterval(this.refreshInterval);
            clearTimeout(this.reloadTimer);
        });
    }

    scheduleReload() {
        if (!this.reloadTimer) {
            this.reloadTimer = setTimeout(() => {
                this.reloadTimer = null;
                this.load();
            }, COALESCE_MS);
        }
    }

    /** Read the cards; a read asked for while one runs follows it, so no change is missed. */
    async load() {
        if (this.loading) {
            this.reloadAgain = true;
            return this.loading;
        }
        this.loading = this.orm.call("outbound.campaign", "get_dashboard_cards", []);
        try {
            this.state.cards = await this.loading;
            this.state.loaded = true;
        } finally {
            this.loading = null;
        }
        if (this.reloadAgain) {
            this.reloadAgain = false;
            await this.load();
        }
    }

    openCampaign(card) {
        this.actionService.doAction({
            type: "ir.actions.act_window",
            res_model: "outbound.campaign",
            res_id: card.id,
            views: [[false, "form"]],
        });
    }

    /** The campaign's calls in progress, to listen, whisper or barge in (managers). */
    listenIn(card) {
        this.actionService.doAction("outbound_campaign.outbound_call_action_in_progress", {
            additionalContext: { search_default_campaign_id: card.id },
        });
    }

    percent(value) {
        return value === null ? "—" : formatPercentage(value / 100, { digits: [16, 1] });
    }

    agentsOnCallDetail(card) {
        return _t("%(ringing)s ringing, %(talking)s talking, %(wrapUp)s in wrap-up", {
            ringing: card.agents_ringing,
            talking: card.agents_talking,
            wrapUp: card.agents_wrap_up,
        });
    }
}

registry.category("actions").add("outbound_campaign.dashboard", OutboundDashboard);
