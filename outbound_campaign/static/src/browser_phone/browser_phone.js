import { Component, useState } from "@odoo/owl";
import { useService } from "@web/core/utils/hooks";

/** The browser phone's state and controls, in the agent console (agents with a phone in the browser). */
export class BrowserPhone extends Component {
    static template = "outbound_campaign.BrowserPhone";
    static props = {};

    setup() {
        this.phone = useService("outbound_browser_phone");
        this.state = useState(this.phone.state);
    }

    onVolume(event) {
        this.phone.setVolume(parseFloat(event.target.value));
    }

    onMicrophone(event) {
        this.phone.setMicrophone(event.target.value);
    }
}
