/** @odoo-module **/
// Issue 11: a manager enables answering-machine detection and recording on a campaign; once a
// call was recorded (the dialer host attached its file), the manager plays it from the call's
// form. Two tours, run by tests/test_tours_recordings.py around the recording.
import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("outbound_campaign_enable_machines_recordings_tour", {
    steps: () => [
        { trigger: ".o_notebook .nav-link:contains(Machines and recordings)", run: "click" },
        { trigger: ".o_field_widget[name=amd_enabled] input", run: "click" },
        // the detection's settings show once it is on
        { trigger: ".o_field_widget[name=amd_greeting] input" },
        { trigger: ".o_field_widget[name=record_calls] input", run: "click" },
        { trigger: ".o_field_widget[name=recording_retention_days] input", run: "edit 30" },
        { trigger: ".o_form_button_save", run: "click" },
        { trigger: ".o_form_saved" },
    ],
});

registry.category("web_tour.tours").add("outbound_campaign_play_recording_tour", {
    steps: () => [
        { trigger: ".o_field_widget[name=recording_state]:contains(Attached)" },
        {
            trigger: "audio.o_outbound_recording_player",
            async run() {
                const audio = this.anchor;
                if (audio.readyState < 1) {
                    await new Promise((resolve, reject) => {
                        audio.addEventListener("loadedmetadata", resolve, { once: true });
                        audio.addEventListener("error", () => reject(new Error(`audio error ${audio.error?.code}`)), {
                            once: true,
                        });
                        audio.load();
                    });
                }
                if (!(audio.duration > 0)) {
                    throw new Error(`the recording did not load: duration ${audio.duration}`);
                }
                audio.classList.add("o_outbound_recording_loaded");
            },
        },
        { trigger: "audio.o_outbound_recording_loaded" },
    ],
});
