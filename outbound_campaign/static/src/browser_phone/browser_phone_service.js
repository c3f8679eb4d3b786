/* global JsSIP */
import { reactive } from "@odoo/owl";
import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";

/**
 * The agent's phone in the browser: a JsSIP user agent registered to Asterisk over WebSocket while
 * the agent is Ready, answering the dialer's calls by itself (DTLS-SRTP, audio only).
 *
 * Chrome throttles the timers of a background tab: nothing here waits on setTimeout/setInterval.
 * Registration and answering run on JsSIP's WebSocket events; Asterisk's qualify keeps the socket
 * alive (pjsip_wizard_outbound_campaign.conf), and the short tone is scheduled by Web Audio's clock.
 */
export const browserPhoneService = {
    dependencies: ["orm"],
    start(env, { orm }) {
        const state = reactive({
            status: "off", // off | connecting | registered | unavailable
            problem: "",
            inCall: false,
            muted: false,
            held: false,
            volume: 1,
            microphones: [],
            microphoneId: "",
        });
        let ua = null;
        let session = null;
        let config = null;
        let stopping = false;
        const audio = new Audio();
        audio.autoplay = true;

        function tone() {
            // A short beep: the agent hears that a call is connected. Web Audio's clock is not
            // throttled like a timer in a background tab.
            const context = new AudioContext();
            const oscillator = context.createOscillator();
            oscillator.frequency.value = 880;
            oscillator.connect(context.destination);
            oscillator.start();
            oscillator.stop(context.currentTime + 0.15);
            oscillator.onended = () => context.close();
        }

        async function unavailable(problem) {
            state.status = "unavailable";
            state.problem = problem;
            const current = ua;
            ua = null;
            current?.stop();
            // The dialer must offer no call to an agent whose phone cannot take it.
            await orm.call("outbound.agent", "action_phone_unavailable", [problem]);
        }

        async function listMicrophones() {
            const devices = await navigator.mediaDevices.enumerateDevices();
            state.microphones = devices
                .filter((device) => device.kind === "audioinput")
                .map((device) => ({ id: device.deviceId, label: device.label || device.deviceId }));
        }

        function audioConstraints() {
            return state.microphoneId ? { deviceId: { exact: state.microphoneId } } : true;
        }

        function onSession({ session: incoming, originator }) {
            if (originator !== "remote") {
                return;
            }
            if (session) {
                incoming.terminate({ status_code: 486 });
                return;
            }
            session = incoming;
            session.on("peerconnection", ({ peerconnection }) => {
                peerconnection.addEventListener("track", (event) => {
                    audio.srcObject = event.streams[0];
                    audio.volume = state.volume;
                });
            });
            session.on("confirmed", () => {
                state.inCall = true;
                tone();
            });
            const ended = () => {
                session = null;
                Object.assign(state, { inCall: false, muted: false, held: false });
            };
            session.on("ended", ended);
            session.on("failed", ended);
            // Every call to this phone is the dialer's ([oc-phones] refuses the rest): answer it.
            session.answer({ mediaConstraints: { audio: audioConstraints(), video: false } });
        }

        const phone = {
            state,
            /** Register (the agent presses Ready); resolves once Asterisk accepted the registration. */
            async register() {
                if (state.status === "registered" && ua) {
                    return true;
                }
                config = config || (await orm.call("outbound.agent", "get_browser_phone", []));
                if (!config) {
                    return false;
                }
                state.problem = "";
                try {
                    const stream = await navigator.mediaDevices.getUserMedia({ audio: audioConstraints() });
                    stream.getTracks().forEach((track) => track.stop());
                } catch {
                    await unavailable(_t("The microphone is refused: allow it for this site, then press Ready."));
                    return false;
                }
                await listMicrophones();
                state.status = "connecting";
                stopping = false;
                ua = new JsSIP.UA({
                    sockets: [new JsSIP.WebSocketInterface(config.websocket_url)],
                    uri: `sip:${config.login}@${config.domain}`,
                    password: config.secret,
                    session_timers: false,
                    register: true,
                    register_expires: 600,
                });
                ua.on("newRTCSession", onSession);
                const registered = new Promise((resolve) => {
                    ua.on("registered", () => {
                        state.status = "registered";
                        resolve(true);
                    });
                    ua.on("registrationFailed", ({ cause }) => {
                        unavailable(_t("The phone server refused the registration (%s).", cause));
                        resolve(false);
                    });
                    ua.on("disconnected", () => {
                        if (!stopping && ua) {
                            unavailable(_t("The connection to the phone server is lost."));
                            resolve(false);
                        }
                    });
                });
                ua.start();
                return registered;
            },
            /** Unregister (Pause, logout, the page closed). */
            unregister() {
                stopping = true;
                const current = ua;
                ua = null;
                if (current) {
                    current.unregister({ all: false });
                    current.stop();
                }
                Object.assign(state, { status: "off", problem: "" });
            },
            hangup() {
                session?.terminate();
            },
            toggleMute() {
                if (!session) {
                    return;
                }
                state.muted ? session.unmute({ audio: true }) : session.mute({ audio: true });
                state.muted = !state.muted;
            },
            toggleHold() {
                if (!session) {
                    return;
                }
                state.held ? session.unhold() : session.hold();
                state.held = !state.held;
            },
            setVolume(volume) {
                state.volume = volume;
                audio.volume = volume;
            },
            async setMicrophone(deviceId) {
                state.microphoneId = deviceId;
                const sender = session?.connection?.getSenders().find((s) => s.track?.kind === "audio");
                if (sender) {
                    const stream = await navigator.mediaDevices.getUserMedia({ audio: audioConstraints() });
                    await sender.replaceTrack(stream.getAudioTracks()[0]);
                }
            },
        };
        // Logout or the tab closed: unregister, so that Asterisk stops ringing this phone at once.
        window.addEventListener("pagehide", () => phone.unregister());
        return phone;
    },
};

registry.category("services").add("outbound_browser_phone", browserPhoneService);
