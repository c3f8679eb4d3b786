import { Component } from "@odoo/owl";
import { registry } from "@web/core/registry";
import { standardFieldProps } from "@web/views/fields/standard_field_props";

/**
 * A call's recording (an ir.attachment) played in the browser. The browser fetches the file
 * from /web/content in ranges as it plays: it never passes whole through one request, and the
 * attachment's access follows the call's (an agent reads only the calls they handled).
 */
export class RecordingPlayer extends Component {
    static template = "outbound_campaign.RecordingPlayer";
    static props = { ...standardFieldProps };

    get attachmentId() {
        const value = this.props.record.data[this.props.name];
        return value && value[0];
    }

    get src() {
        return `/web/content/${this.attachmentId}`;
    }
}

export const recordingPlayer = {
    component: RecordingPlayer,
    supportedTypes: ["many2one"],
};

registry.category("fields").add("outbound_recording_player", recordingPlayer);
