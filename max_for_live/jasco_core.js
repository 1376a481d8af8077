// jasco_core.js: the JASCO Max for Live device, free of Max: createDevice() holds what
// one device knows (settings, takes, jobs, its reply port) and answers the UI, the
// bridge's replies and the timer.
//
// ES5 only (Max 8's classic [js] object): no let/const, no arrow functions, no template
// strings, no classes. Max loads it as part of jasco.js, the one bundle make_patcher.py
// writes from these sources; Node loads it with require() in the tests. Its limits and
// defaults come from two tables in the same shape: jasco_params.js (generated from
// core/params.py: the render parameters the bridge knows) and jasco_device_params.js (the
// device's own settings: takes, lock seed, target, ...).
//
// Everything that touches Live goes through a "live adapter" (jasco_util.js): get/set/
// call/count/id on Live Object Model paths, with the return conventions of Max's LiveAPI.
// Live prints its errors to the Max console instead of throwing, so every change the
// device makes is checked by reading the set back. Everything that leaves the device goes
// through two callbacks: send(message) for OSC to the bridge, and ui(name, args...) for
// the patcher's display objects. An OSC message here is {address: "/jasco/...", args:
// [{type: "i"|"f"|"s", value: ...}]}; only i, f and s are ever produced (Max's
// [udpreceive] and many OSC clients turn doubles into 0).

var VERSION = "0.2.0";

var util = require("./jasco_util");
var DeviceError = util.DeviceError,
    fail = util.fail,
    I = util.I,
    S = util.S,
    msg = util.msg,
    cleanString = util.cleanString,
    isArray = util.isArray,
    isNumber = util.isNumber,
    getNumber = util.getNumber,
    getString = util.getString,
    getId = util.getId,
    getIds = util.getIds,
    listTracks = util.listTracks,
    findTrack = util.findTrack,
    round6 = util.round6;
var settingsTable = require("./jasco_settings");
var MAX_PROMPT_CHARS = settingsTable.MAX_PROMPT_CHARS,
    CHOICES = settingsTable.CHOICES,
    SETTINGS = settingsTable.SETTINGS,
    RENDER_SETTINGS = settingsTable.RENDER_SETTINGS,
    MAX_RANDOM_SEED = settingsTable.MAX_RANDOM_SEED;
var protocol = require("./jasco_protocol");
var ADDR = protocol.ADDR,
    REPLIES = protocol.REPLIES,
    MAX_PACKET_BYTES = protocol.MAX_PACKET_BYTES,
    NOTES_PER_PACKET = protocol.NOTES_PER_PACKET,
    MAX_NUMERATOR = protocol.MAX_NUMERATOR,
    GENERATE_REFUSED = protocol.GENERATE_REFUSED,
    buildGenerateMessages = protocol.buildGenerateMessages;
var notes = require("./jasco_notes");
var readClipNotes = notes.readClipNotes;
var place = require("./jasco_place");
var barBeats = place.barBeats,
    arrangementStart = place.arrangementStart,
    clipName = place.clipName,
    placeTake = place.placeTake,
    checkClip = place.checkClip,
    warpMarkers = place.warpMarkers;
var jamLib = require("./jasco_jam");

var QUEUE_TIMEOUT_MS = 4000;       // no /jasco/queued after this: the bridge is not running
var CONNECT_TIMEOUT_MS = 3000;     // no answer to the first hello after this: say how to start the bridge
var HELLO_RETRY_MS = 5000;         // ... and greet it again this often until it answers
var HEARTBEAT_MS = 1500;           // a job of this device runs: ask the bridge's status this often
var SILENT_MS = 5000;              // nothing heard for this long while a job runs: "not answering"
var CHECK_DELAY_MS = 300;          // read back a placed clip's timing after Live's turn
var SEC_EPS = 0.005;               // seconds: a drum region this close to the whole file is the whole file
var PROBE_TIMEOUT_MS = 900;        // no probe back on the reply port after this: the port is taken
var PROBE_TICKS = 3;               // ... and after this many ticks of the timer
var PROBE_PORTS = 32;              // how many ports above the Reply port setting are tried
var TAKES_SHOWN = 16;              // takes listed in the takes menu

// opts: {live: adapter, send: function(msg), ui: function(name, ...args),
//        now: function() -> ms, random: function() -> [0,1), maxBytes, notesPerPacket}
function createDevice(opts) {
    var live = opts.live;
    var send = opts.send;
    var uiOut = opts.ui;
    var now = opts.now || function () { return new Date().getTime(); };
    var random = opts.random || Math.random;
    var maxBytes = opts.maxBytes || MAX_PACKET_BYTES;
    var notesPerPacket = opts.notesPerPacket || NOTES_PER_PACKET;

    var settings = {}, key;
    for (key in SETTINGS) {
        if (SETTINGS.hasOwnProperty(key)) {
            settings[key] = SETTINGS[key][1];
        }
    }
    var audioTracks = [];     // target menu: track ids
    var drumTracks = [];      // drums menu: 0 = none, then track ids
    var trackNames = {target: "", drums: ""};   // the chosen tracks, by name (saved with the set)
    var pending = [];         // takes sent, waiting for /jasco/queued
    var jobs = {};            // job id -> take
    var counter = 0;          // takes sent (tags m4l-1, m4l-2, ...)
    var presses = 0;
    var lastPress = null;     // the last press: its takes' placements ("replace last take")
    var history = [];         // finished takes, newest first: {take, seed, where, path, placement}
    var lastStatus = "";
    var lastReplyAt = -1;     // when the bridge last said anything
    var lastState = "";       // the state blob last written or restored
    var initialized = false;
    var waitingGenerate = false;   // Generate pressed before the reply port was known
    var port = {number: 0, confirmed: false, token: "", sentAt: 0, ticks: 0, tries: 0, first: 0, greeted: 0};
    // this device's mark in its tags: two devices replying to one port each know their own jobs
    var nonce = Math.floor(random() * 1679616).toString(36);
    var link = {connected: false, helloAt: -1, told: false, polledAt: -1, silent: false};
    var checks = [];          // placed clips whose timing is read back after Live's turn
    var jam = null;           // `jasco-bridge jam`: its takes go to the target track (jasco_jam.js)

    function ui() {
        uiOut.apply(null, arguments);
    }

    function status(text) {
        lastStatus = text;
        ui("status", "set", text);
    }

    function progress(fraction) {
        ui("progress", "set", Math.max(0, Math.min(100, Math.round(fraction * 100))));
    }

    function sendAll(messages) {
        var i;
        for (i = 0; i < messages.length; i++) {
            send(messages[i]);
        }
    }

    // --- what is saved with the set: the state blob ([pattr] of type blob) ---------
    // One symbol: JSON, URI-encoded so that no space, comma, semicolon, quote or
    // backslash of a prompt meets Max's message parsing when the set is saved and read.
    function saveState() {
        var placements = lastPress === null ? [] : lastPress.placements;
        var state = encodeURIComponent(JSON.stringify({
            v: 1, prompt: settings.prompt, target_track: trackNames.target, drums_track: trackNames.drums,
            history: history.slice(0, TAKES_SHOWN), last: placements
        }));
        if (state !== lastState) {
            lastState = state;
            ui("state", state);
        }
    }

    function restoreState(values) {
        var text = values.join(""), state = null;
        if (text === lastState || text === "") {
            return true;      // the echo of what was just saved, or nothing saved yet
        }
        try {
            state = JSON.parse(decodeURIComponent(text));
        } catch (e) {
            state = null;     // reported below, with a state of the wrong shape
        }
        if (state === null || typeof state !== "object" || isArray(state)) {
            status("Device: the saved device state is unreadable; starting fresh");
            return false;
        }
        lastState = text;
        if (typeof state.prompt === "string" && state.prompt.length <= MAX_PROMPT_CHARS) {
            settings.prompt = cleanString(state.prompt);
            ui("prompt", "set", settings.prompt);
        }
        trackNames.target = typeof state.target_track === "string" ? state.target_track : "";
        trackNames.drums = typeof state.drums_track === "string" ? state.drums_track : "";
        history = isArray(state.history) ? state.history.filter(function (h) {
            return h !== null && typeof h === "object" && isNumber(h.take) && isNumber(h.seed) &&
                typeof h.where === "string" && typeof h.path === "string";
        }).slice(0, TAKES_SHOWN) : [];
        var placements = isArray(state.last) ? state.last.map(function (pl) {
            var ok = pl !== null && typeof pl === "object" && typeof pl.path === "string" &&
                typeof pl.track === "string" && ((pl.kind === "session" && isNumber(pl.slot)) ||
                                                  (pl.kind === "arrangement" && isNumber(pl.start)));
            return ok ? pl : null;
        }) : [];
        lastPress = placements.length ? {placements: placements} : null;
        showTakes();
        if (initialized) {
            refreshTracks();
        }
        return true;
    }

    // --- the reply port: the first port from the Reply setting up that this device owns
    function claimPort(number) {
        port.number = number;
        port.confirmed = false;
        port.token = "jasco-" + Math.floor(random() * 1e9) + "-" + number;
        port.sentAt = now();
        port.ticks = 0;
        ui("udpreceive", "port", number);
        ui("probe", "port", number);
        ui("probe", ADDR.probe, port.token);
    }

    function startPortSearch() {
        port.tries = 0;
        port.first = settings.reply_port;
        claimPort(settings.reply_port);
    }

    function probeAnswered(token) {
        if (token !== port.token || port.confirmed) {
            return;      // another device's probe, sent to a port this device holds: it moves on
        }
        port.confirmed = true;
        if (port.number !== port.first) {
            status("Reply port " + port.first + " is taken (another JASCO device, or Max's editing copy): " +
                "listening on " + port.number);
        }
        if (port.greeted !== port.number) {
            hello();     // the bridge learns the port this device really listens on
        }
        if (waitingGenerate) {
            waitingGenerate = false;
            generate();
        }
    }

    function probeTimedOut() {
        port.tries += 1;
        var next = port.number + 1;
        if (port.tries >= PROBE_PORTS || next > SETTINGS.reply_port[3]) {
            status("Device: no free reply port in " + port.first + "\u2013" + port.number +
                " (is [udpreceive] blocked?); set Reply to another port");
            port.confirmed = true;    // stop searching; keep the last port
            waitingGenerate = false;
            return;
        }
        status("Reply port " + port.number + " is taken (another JASCO device, or Max's editing copy): trying " + next);
        claimPort(next);
    }

    // --- settings from the UI ---------------------------------------------------
    function setting(name, values) {
        if (name === "state") {
            return restoreState(values);
        }
        var spec = SETTINGS[name];
        if (!spec) {
            status("Device: unknown setting '" + name + "'");
            return false;
        }
        var v;
        if (spec[0] === "s") {
            var parts = [], i;
            for (i = 0; i < values.length; i++) {
                parts.push(String(values[i]));
            }
            if (name === "prompt" && parts.length && parts[0] === "text") {
                parts.shift();   // [textedit] may prefix its output with "text"
            }
            v = cleanString(parts.join(" "));
            if (v.length > spec[3]) {
                status("Device: " + name + " is " + v.length + " characters; at most " + spec[3]);
                return false;
            }
            if (v.length < spec[2]) {
                status("Device: " + name + " is empty");
                return false;
            }
        } else {
            v = Number(values[0]);
            if (values.length !== 1 || !isNumber(v)) {
                status("Device: " + name + " needs one number, got '" + values.join(" ") + "'");
                return false;
            }
            if (spec[0] !== "f") {
                v = Math.round(v);
            }
            if (v < spec[2] || v > spec[3]) {
                status("Device: " + name + " must be between " + spec[2] + " and " + spec[3] + ", got " + v);
                return false;
            }
        }
        var changed = settings[name] !== v;
        settings[name] = v;
        if (name === "port") {
            ui("udpsend", "port", v);
        } else if (name === "bridge_host") {
            ui("udpsend", "host", v);
        } else if (name === "reply_port") {
            if (initialized && changed) {
                startPortSearch();
            }
        } else if (name === "prompt") {
            saveState();
        } else if (name === "target_track") {
            trackNames.target = nameOfTrack(audioTracks[v]);
            saveState();
        } else if (name === "drums_track") {
            trackNames.drums = v === 0 ? "" : nameOfTrack(drumTracks[v]);
            saveState();
        }
        return true;
    }

    function nameOfTrack(trackId) {
        var t = trackId ? findTrack(live, trackId) : null;
        return t === null ? "" : t.name;
    }

    function hello() {
        port.greeted = port.number || settings.reply_port;
        if (link.helloAt < 0 || !link.connected) {
            link.helloAt = now();
        }
        send(msg(ADDR.hello, [I(port.greeted)]));
    }

    // Fill the track menus; keep the chosen tracks selected (by name, as saved with the set).
    function refreshTracks() {
        var tracks = listTracks(live), i, byName = {target: -1, drums: -1};
        var oldTarget = audioTracks[settings.target_track];
        var oldDrums = drumTracks[settings.drums_track];
        audioTracks = [];
        drumTracks = [0];
        ui("target_tracks", "clear");
        ui("drums_tracks", "clear");
        ui("drums_tracks", "append", "none");
        for (i = 0; i < tracks.length; i++) {
            if (tracks[i].audio) {
                if (byName.target < 0 && trackNames.target && tracks[i].name === trackNames.target) {
                    byName.target = audioTracks.length;
                }
                if (byName.drums < 0 && trackNames.drums && tracks[i].name === trackNames.drums) {
                    byName.drums = drumTracks.length;
                }
                audioTracks.push(tracks[i].id);
                ui("target_tracks", "append", tracks[i].name);
                drumTracks.push(tracks[i].id);
                ui("drums_tracks", "append", tracks[i].name);
            }
        }
        var t = byName.target >= 0 ? byName.target : (oldTarget === undefined ? -1 : audioTracks.indexOf(oldTarget));
        settings.target_track = t < 0 ? 0 : t;
        var d = byName.drums >= 0 ? byName.drums : (oldDrums === undefined ? -1 : drumTracks.indexOf(oldDrums));
        settings.drums_track = d < 0 ? 0 : d;
        if (audioTracks.length) {
            ui("target_tracks", "set", settings.target_track);
        }
        ui("drums_tracks", "set", settings.drums_track);
        return tracks;
    }

    function init() {
        initialized = true;
        ui("udpsend", "host", settings.bridge_host);
        ui("udpsend", "port", settings.port);
        startPortSearch();
        refreshTracks();
        progress(0);
        // the hello goes out once the probe shows the reply port is this device's
        status("Connecting to jasco-bridge on " + settings.bridge_host + ":" + settings.port + "\u2026");
    }

    // The chords clip path, or null for none.
    function chordsClipPath() {
        var source = CHOICES.chords[settings.chords];
        if (source === "none") {
            return null;
        }
        if (source === "selected clip") {
            var id = getId(live, "live_set view", "detail_clip");
            if (!id) {
                fail("no clip is selected: select a MIDI clip for the chords, or set Chords to 'none'");
            }
            return "id " + id;
        }
        // this device's track (through racks: Device -> Chain -> Device -> ... -> Track)
        var trackId = getId(live, "this_device", "canonical_parent"), hops;
        for (hops = 0; trackId && live.type("id " + trackId) !== "Track" && hops < 16; hops++) {
            trackId = getId(live, "id " + trackId, "canonical_parent");
        }
        if (trackId && live.type("id " + trackId) !== "Track") {
            trackId = 0;
        }
        var slot = trackId ? getNumber(live, "id " + trackId, "playing_slot_index") : -1;
        if (trackId && slot < 0 && getNumber(live, "live_set", "is_playing") === 1) {
            // Arrangement playback: the track's playing_slot_index is -1 (no Session clip plays),
            // so the clip is the one of the track's arrangement_clips under the playhead
            var under = arrangementClipAt(trackId, getNumber(live, "live_set", "current_song_time"));
            if (under) {
                return "id " + under;
            }
        }
        if (!trackId || slot < 0) {
            fail("no clip is playing on this track: start one, or set Chords to 'none'");
        }
        var slotPath = "id " + getIds(live, "id " + trackId, "clip_slots")[slot];
        var clipId = getId(live, slotPath, "clip");
        if (!clipId) {
            fail("no clip is playing on this track");
        }
        return "id " + clipId;
    }

    function drumsPath() {
        if (settings.drums_track === 0) {
            return null;
        }
        var trackId = drumTracks[settings.drums_track];
        var track = trackId ? findTrack(live, trackId) : null;
        if (track === null) {
            fail("the drums track is gone: pick another, or 'none'");
        }
        var scene = settings.drums_scene - 1, clipPath, where;
        if (scene < 0) {
            var at = insertPosition();
            var id = arrangementClipAt(track.id, at);
            if (!id) {
                fail("no Arrangement clip on drums track '" + track.name + "' at beat " + round6(at) +
                    " (the insert marker, or the playhead while playing)");
            }
            clipPath = "id " + id;
            where = "'" + track.name + "' arrangement";
        } else {
            var base = "live_set tracks " + track.index + " clip_slots " + scene;
            if (scene >= live.count("live_set tracks " + track.index, "clip_slots") ||
                    getNumber(live, base, "has_clip") !== 1) {
                fail("no clip in drums track '" + track.name + "' scene " + settings.drums_scene);
            }
            clipPath = "id " + live.id(base + " clip");
            where = "'" + track.name + "' scene " + settings.drums_scene;
        }
        if (getNumber(live, clipPath, "is_audio_clip") !== 1) {
            fail("the drums clip in " + where + " is not an audio clip");
        }
        var path = getString(live, clipPath, "file_path");
        if (!path) {
            fail("the drums clip in " + where + " has no file (is it recorded but unsaved?)");
        }
        return {path: path, region: drumRegion(clipPath)};
    }

    // The part of the drum clip's file that plays, in seconds of the file, or null for all of
    // it: its loop brace when it loops, else its start and end markers. These are beats for a
    // warped clip and seconds for an unwarped one (LOM Clip: loop_start/loop_end "in absolute
    // clip beat time if clip is MIDI or warped"); beats become seconds through the warp markers.
    function drumRegion(clipPath) {
        var looping = getNumber(live, clipPath, "looping") === 1;
        var a = getNumber(live, clipPath, looping ? "loop_start" : "start_marker");
        var b = getNumber(live, clipPath, looping ? "loop_end" : "end_marker");
        if (getNumber(live, clipPath, "warping") === 1) {
            var markers = warpMarkers(live, clipPath);
            if (markers === null || markers.length < 2) {
                return null;       // no map from beats to the file: the whole file, as before
            }
            a = beatSeconds(markers, a);
            b = beatSeconds(markers, b);
        }
        var rate = getNumber(live, clipPath, "sample_rate"), frames = getNumber(live, clipPath, "sample_length");
        var fileSeconds = rate > 0 && frames > 0 ? frames / rate : 0;
        a = Math.max(0, a);
        if (fileSeconds > 0) {
            b = Math.min(b, fileSeconds);
        }
        if (!(b > a)) {
            fail("the drums clip plays nothing (its region is " + round6(a) + " to " + round6(b) + " s)");
        }
        if (a <= SEC_EPS && fileSeconds > 0 && b >= fileSeconds - SEC_EPS) {
            return null;           // the whole file
        }
        return [round6(a), round6(b)];
    }

    // Beats -> seconds of the file through the warp markers (straight between them, the first
    // or last segment's tempo beyond them).
    function beatSeconds(markers, beat) {
        var i = 1;
        while (i < markers.length - 1 && markers[i].beat_time < beat) {
            i += 1;
        }
        var m0 = markers[i - 1], m1 = markers[i];
        var span = m1.beat_time - m0.beat_time;
        return span > 0 ? m0.sample_time + (beat - m0.beat_time) * (m1.sample_time - m0.sample_time) / span
            : m0.sample_time;
    }

    // Where the arrangement is: the insert marker when stopped (Song.start_time, "the start time
    // of playback" in the LOM Song reference, https://docs.cycling74.com/apiref/lom/song; it stays
    // where the user clicked when playback stops), the playhead (current_song_time) while playing.
    function insertPosition() {
        return getNumber(live, "live_set", "is_playing") === 1 ? getNumber(live, "live_set", "current_song_time")
            : getNumber(live, "live_set", "start_time");
    }

    // The id of the track's arrangement clip that covers beat `at`, or 0.
    function arrangementClipAt(trackId, at) {
        var ids = getIds(live, "id " + trackId, "arrangement_clips"), i, s, e;
        for (i = 0; i < ids.length; i++) {
            s = getNumber(live, "id " + ids[i], "start_time");
            e = getNumber(live, "id " + ids[i], "end_time");
            if (s <= at + 1e-6 && at < e - 1e-6) {
                return ids[i];
            }
        }
        return 0;
    }

    // The seeds of a press: from the seed box when locked (counting up), else
    // from a fresh random base; either way, locking the base renders them again.
    function pressSeeds(n) {
        var locked = settings.lock_seed === 1 && settings.seed >= 0;
        var base = locked ? settings.seed : Math.floor(random() * (MAX_RANDOM_SEED + 1));
        var seeds = [], k;
        for (k = 0; k < n; k++) {
            seeds.push((base + k) % (SETTINGS.seed[3] + 1));   // every one exact in a 32-bit float
        }
        if (!locked) {
            settings.seed = base;
            ui("seed", "set", base);
        }
        return seeds;
    }

    // Gather everything from Live and the UI; returns {request, takes}.
    function gather() {
        if (!settings.prompt) {
            fail("type a prompt first");
        }
        var bpm = getNumber(live, "live_set", "tempo");
        var num = getNumber(live, "live_set", "signature_numerator");
        var den = getNumber(live, "live_set", "signature_denominator");
        if (!(bpm > 0) || !(num > 0) || !(den > 0)) {
            fail("could not read the song's tempo and time signature");
        }
        if (num > MAX_NUMERATOR) {
            // Live allows up to 99 beats a bar; the bridge would refuse the whole /jasco/tempo
            fail("the song's time signature " + num + "/" + den + " has more than " + MAX_NUMERATOR +
                " beats a bar, which jasco-bridge does not accept");
        }
        var clipPath = chordsClipPath();
        var clip = clipPath === null ? null : readClipNotes(live, clipPath);
        var drums = drumsPath();
        var bar = barBeats(num, den);
        var bars = settings.bars;
        if (bars === 0 && clip !== null) {
            // auto: as many bars as the chords clip's loop (quarter-note beats)
            bars = Math.max(1, Math.ceil(clip.length / bar - 1e-6));
        }
        var params = [], i, name;
        for (i = 0; i < RENDER_SETTINGS.length; i++) {
            name = RENDER_SETTINGS[i];
            if (SETTINGS[name][0] === "c") {
                params.push([name, "s", CHOICES[name][settings[name]]]);
            } else {
                params.push([name, SETTINGS[name][0], settings[name]]);
            }
        }
        params.push(["bars", "i", bars]);     // 0: the bridge keeps the full window
        params.push(["loop", "i", settings.loop]);
        if (settings.model > 0) {
            params.push(["model", "s", CHOICES.model[settings.model]]);
        }
        var target = settings.target, playing = getNumber(live, "live_set", "is_playing") === 1;
        presses += 1;
        var press = {
            number: presses, target: target, trackId: audioTracks[settings.target_track] || 0,
            bar: bar, bars: bars, placements: [],
            position: CHOICES.target[target] === "arrangement" ? arrangementStart(insertPosition(), playing, bar) : 0,
            replace: settings.replace_last === 1 && lastPress !== null ? lastPress.placements : null
        };
        press.cursor = press.position;
        var seeds = pressSeeds(settings.takes), takes = [];
        press.takes = seeds.length;
        for (i = 0; i < seeds.length; i++) {
            counter += 1;
            takes.push({
                tag: "m4l-" + counter + "." + nonce, seed: seeds[i], index: i, press: press, prompt: settings.prompt,
                sentAt: now(), job: "", cancel: false, warnings: [], notes: [], finished: false,
                noteCount: clip === null ? 0 : clip.notes.length
            });
        }
        return {
            request: {
                replyPort: port.number || settings.reply_port, bpm: bpm, numerator: num, denominator: den,
                notes: clip === null ? null : clip.notes, loopLength: clip === null ? 0 : clip.length,
                prompt: settings.prompt, params: params, drums: drums, takes: takes
            },
            takes: takes
        };
    }

    function generate() {
        var g, messages;
        if (initialized && !port.confirmed) {
            // replies must not go to a port another device holds: render once the port is known
            waitingGenerate = true;
            status("Finding a free reply port\u2026 (Generate follows)");
            return [];
        }
        try {
            g = gather();
            messages = buildGenerateMessages(g.request, maxBytes, notesPerPacket);
            sendAll(messages);
        } catch (e) {
            if (e instanceof DeviceError) {
                status("Device: " + e.message);
                return null;
            }
            throw e;
        }
        var t = g.takes;
        pending = pending.concat(t);
        lastPress = t[0].press;
        progress(0);
        status("Sent '" + clipName(t[0].prompt) + "' (" + t[0].noteCount + " notes" + (g.request.drums ? ", drums" : "") +
            (t.length > 1 ? ", " + t.length + " takes, seeds " + t[0].seed + "\u2013" + t[t.length - 1].seed :
                ", seed " + t[0].seed) + ")\u2026");
        return messages;
    }

    function cancel() {
        var id, n = 0, i;
        for (id in jobs) {
            if (jobs.hasOwnProperty(id) && !jobs[id].finished) {
                send(msg(ADDR.cancel, [S(id)]));
                n += 1;
            }
        }
        for (i = 0; i < pending.length; i++) {
            pending[i].cancel = true;   // cancelled as soon as the bridge names the job
            n += 1;
        }
        status(n ? "Cancelling\u2026" : "Nothing to cancel");
        return n;
    }

    // A job id from a reply -> its take, or null for a job that is not this device's. A job
    // becomes the device's only through its /jasco/queued, which names the tag of the generate
    // it answers: another device that replies to the same port (Live can give two devices one
    // port) sees the same replies and takes only its own. A bridge before 0.2 sends no tag: its
    // n-th new job is then the n-th pending generate (replies arrive in order).
    function contextFor(job, tag) {
        if (jobs.hasOwnProperty(job)) {
            return jobs[job];
        }
        if (tag === undefined) {
            return null;                 // a reply about a job this device never queued
        }
        var ctx = null, i;
        for (i = 0; i < pending.length; i++) {
            if (tag === null ? i === 0 : pending[i].tag === tag) {
                ctx = pending.splice(i, 1)[0];
                break;
            }
        }
        if (ctx === null) {
            return null;
        }
        ctx.job = job;
        jobs[job] = ctx;
        if (ctx.cancel) {
            send(msg(ADDR.cancel, [S(job)]));
        }
        return ctx;
    }

    // A job of this device is queued or rendering.
    function running() {
        var id;
        for (id in jobs) {
            if (jobs.hasOwnProperty(id) && !jobs[id].finished) {
                return true;
            }
        }
        return false;
    }

    // The bridge said something: it is connected, and no longer silent.
    function heard() {
        var wasSilent = link.silent;
        link.connected = true;
        link.silent = false;
        link.polledAt = -1;
        if (wasSilent) {
            status("jasco-bridge answers again" + (running() ? ": waiting for the render\u2026" : ""));
        }
    }

    // The heartbeat and the connection check (from tick): while a job runs, ask the bridge's
    // status every HEARTBEAT_MS; after SILENT_MS without any answer say it is not answering
    // (any answer later takes that back). Before the first answer, say how to start the bridge
    // after CONNECT_TIMEOUT_MS, and greet it again every HELLO_RETRY_MS.
    function heartbeat(t) {
        if (!link.connected) {
            if (link.helloAt >= 0 && !link.told && t - link.helloAt > CONNECT_TIMEOUT_MS && !pending.length) {
                link.told = true;
                status("No answer from jasco-bridge on " + settings.bridge_host + ":" + settings.port +
                    ": start it with 'jasco-bridge serve' (or set Port to the port it listens on); " +
                    "the device keeps trying");
            }
            if (link.helloAt >= 0 && t - link.helloAt > HELLO_RETRY_MS && port.confirmed) {
                link.helloAt = t;
                send(msg(ADDR.hello, [I(port.greeted || port.number || settings.reply_port)]));
            }
            return false;
        }
        if (!running()) {
            return false;
        }
        if (link.polledAt < 0 || t - link.polledAt >= HEARTBEAT_MS) {
            if (link.polledAt < 0) {
                link.polledAt = t;
            }
            if (t - lastReplyAt >= HEARTBEAT_MS) {
                send(msg(ADDR.status));
                link.polledAt = t;
            }
        }
        if (!link.silent && t - lastReplyAt > SILENT_MS) {
            link.silent = true;
            status("jasco-bridge is not answering (nothing for " + Math.round((t - lastReplyAt) / 1000) +
                " s while rendering): is it still running? Restart it with 'jasco-bridge serve', then press Generate");
            progress(0);
            return true;
        }
        return false;
    }

    // Placed clips whose timing is due to be read back (Live applies some changes after the
    // script's turn): say so on the status line when Live disagreed.
    function checkPlaced(t) {
        var i, c, r, keep = [];
        for (i = 0; i < checks.length; i++) {
            c = checks[i];
            if (c.due > t) {
                keep.push(c);
                continue;
            }
            try {
                r = checkClip(live, c);
            } catch (e) {
                r = {done: true, problems: ["could not read the clip back: " + (e.message || e)]};
            }
            if (!r.done) {
                c.due = t + CHECK_DELAY_MS;
                keep.push(c);
            } else if (r.problems.length) {
                status("Timing of " + c.label + ": " + r.problems.join("; "));
            }
        }
        checks = keep;
    }

    function finish(ctx) {
        if (ctx !== null) {
            ctx.finished = true;
        }
    }

    function checkArgs(address, args) {
        var types = REPLIES[address], i, t, v;
        if (!types) {
            return "unknown reply " + address;
        }
        if (args.length < types.length) {
            return address + " needs " + types.length + " arguments, got " + args.length;
        }
        for (i = 0; i < types.length; i++) {
            t = types[i];
            v = args[i];
            if (t === "n" && !isNumber(Number(v))) {
                return address + " argument " + (i + 1) + " is not a number: " + v;
            }
        }
        return "";
    }

    // /jasco/jam/take: a jam take for the boundary at `boundaryBeat`, into the next free slot of the
    // target track; Live launches it on that boundary (jasco_jam.js).
    function jamTake(path, phrase, boundaryBeat, bars) {
        var trackId = audioTracks[settings.target_track];
        var track = trackId ? findTrack(live, trackId) : null;
        if (track === null) {
            status("Jam take " + phrase + ": no audio track to put it on; drag in " + path);
            return {ok: true, placed: false, reason: "no target track"};
        }
        if (jam === null || jam.trackIndex !== track.index || jam.bars !== bars) {
            jam = jamLib.makeJam(track.index, bars);
        }
        var r = jamLib.onTake(live, jam, path, boundaryBeat);
        status(r.placed ? "Jam take " + phrase + " in '" + track.name + "' slot " + (r.slot + 1) + ", starts at beat " +
            round6(boundaryBeat) : "Jam take " + phrase + ": " + r.reason + ": drag in " + path);
        r.ok = true;
        return r;
    }

    function takeLabel(ctx) {
        var n = ctx.press.takes || 1;
        return n > 1 ? "take " + (ctx.index + 1) + "/" + n + " " : "";
    }

    function handleReply(address, args) {
        args = args || [];
        if (address === "/jasco/error" && args.length === 2) {
            // the job of an error about a message is "": a Max patch between
            // [udpreceive] and [js] (or an older Max) may drop that empty symbol
            args = [""].concat(args);
        }
        var problem = checkArgs(address, args);
        if (problem) {
            status("Bridge: " + problem);
            return {ok: false, problem: problem};
        }
        var job = args.length ? String(args[0]) : "", ctx, i;
        if (address === "/jasco/probe") {
            probeAnswered(job);
            return {ok: true};
        }
        lastReplyAt = now();
        heard();
        switch (address) {
        case "/jasco/hello":
            if (!pending.length && !running()) {   // (the hello of a Generate must not hide its progress)
                status("Connected to jasco-bridge " + args[0] + " (model " + args[1] + ")" +
                    (port.confirmed ? ", replies on port " + port.number : ""));
            }
            break;
        case "/jasco/pong":
        case "/jasco/chords/mapped":
            break;
        case "/jasco/drums/loaded":
            status("Drums loaded (" + (Math.round(Number(args[1]) * 10) / 10) + " s)");
            break;
        case "/jasco/status":
            if (!running()) {        // (the heartbeat's answers must not hide a render's progress)
                status("Bridge " + args[0] + ", " + Number(args[1]) + " queued, model " + args[2] + " on " + args[3]);
            }
            break;
        case "/jasco/note":
            ctx = contextFor(job);
            if (ctx !== null) {
                ctx.notes.push(String(args[1]));
                status("Note " + takeLabel(ctx) + "from jasco-bridge: " + args[1]);
            }
            break;
        case "/jasco/queued":
            ctx = contextFor(job, args.length > 2 ? String(args[2]) : null);
            if (ctx === null) {
                break;               // another device's job (it shares this reply port)
            }
            progress(0);
            status("Queued" + (Number(args[1]) > 0 ? " (" + Number(args[1]) + " ahead)" : "") + "\u2026" +
                (ctx !== null && ctx.warnings.length ? " (but: " + ctx.warnings.join("; ") + ")" : ""));
            break;
        case "/jasco/started":
            ctx = contextFor(job);
            if (ctx === null) {
                break;
            }
            progress(0);
            status("Rendering " + (ctx !== null ? takeLabel(ctx) : "") + "\u2026");
            break;
        case "/jasco/progress":
            ctx = contextFor(job);
            if (ctx === null) {
                break;
            }
            progress(Number(args[1]));
            status("Rendering " + (ctx !== null ? takeLabel(ctx) : "") + Math.round(Number(args[1]) * 100) + "%");
            break;
        case "/jasco/done":
            ctx = contextFor(job);
            if (ctx === null) {
                return {ok: true, placed: false, reason: "not this device's job"};
            }
            finish(ctx);
            return done(ctx, String(args[1]), Number(args[2]), Number(args[3]),
                args.length > 4 && isNumber(Number(args[4])) ? Number(args[4]) : null);
        case "/jasco/error":
            if (job === "" && pending.length) {
                if (GENERATE_REFUSED.indexOf(String(args[1])) >= 0) {
                    pending.shift();   // that generate was refused: no job will come
                } else {
                    // about one of the request's messages (a drum file, a setting): the
                    // render may go on without it, so the final status repeats it
                    for (i = 0; i < pending.length; i++) {
                        if (pending[i].press === pending[pending.length - 1].press) {
                            pending[i].warnings.push("[" + args[1] + "] " + args[2]);
                        }
                    }
                }
            }
            ctx = job === "" ? null : contextFor(job);
            if (job !== "" && ctx === null) {
                break;               // about another device's job
            }
            finish(ctx);
            progress(0);
            status("Error [" + args[1] + "]: " + args[2]);
            break;
        case "/jasco/jam/take":
            return jamTake(String(args[0]), Number(args[1]), Number(args[2]), Number(args[3]));
        case "/jasco/cancelled":
            ctx = contextFor(job);
            if (ctx === null) {
                break;
            }
            finish(ctx);
            progress(0);
            status("Cancelled");
            break;
        }
        return {ok: true};
    }

    function showTakes() {
        var i, h;
        ui("take_list", "clear");
        for (i = 0; i < history.length; i++) {
            h = history[i];
            ui("take_list", "append", "#" + h.take + " seed " + h.seed + (h.where ? " \u2192 " + h.where : ""));
        }
        if (history.length) {
            settings.take_choice = 0;
            ui("take_list", "set", 0);
        }
    }

    // "Lock this take's seed": the chosen take's seed into the seed box, locked.
    function recall() {
        var h = history[settings.take_choice];
        if (!h) {
            status("Device: no take to recall yet");
            return false;
        }
        settings.seed = h.seed;
        settings.lock_seed = 1;
        ui("seed", "set", h.seed);
        ui("lock_seed", "set", 1);
        status("Seed " + h.seed + " locked (take #" + h.take + "): Generate renders it again" +
            (settings.takes > 1 ? ", and " + (h.seed + 1) + "\u2026 for the other takes" : ""));
        return true;
    }

    function done(ctx, path, seconds, bpm, seedUsed) {
        progress(1);
        ui("path", "set", path);
        if (ctx === null) {
            status("Done: " + path);
            return {ok: true, placed: false, reason: "unknown job"};
        }
        var seed = seedUsed === null ? ctx.seed : seedUsed, result;
        try {
            result = placeTake(live, ctx, path, seconds, bpm, seed);
        } catch (e) {
            result = {placed: false, where: "", reason: "Live refused: " + (e.message || e)};
        }
        // seconds and bpm describe the clip: its length and the tempo it was cut to
        var took = isNumber(seconds) ? " (" + (Math.round(seconds * 100) / 100) + " s" +
            (isNumber(bpm) ? " at " + (Math.round(bpm * 100) / 100) + " bpm" : "") + ")" : "";
        var but = (ctx.warnings.length ? " (but: " + ctx.warnings.join("; ") + ")" : "") +
            (ctx.notes.length ? " (note: " + ctx.notes.join("; ") + ")" : "");
        var label = "'" + clipName(ctx.prompt) + "' " + takeLabel(ctx) + "seed " + seed;
        if (result.placed) {
            status("Done" + took + ": " + label + " in " + result.where + but);
            ctx.press.placements[ctx.index] = result.placement;
            if (result.check) {
                result.check.due = now() + CHECK_DELAY_MS;
                result.check.label = label;
                checks.push(result.check);
            }
        } else if (CHOICES.target[ctx.press.target] === "folder") {
            status("Done" + took + ": " + label + " saved " + path + but);
        } else {
            status("Done" + took + ": " + label + "; " + result.reason + ": drag in " + path + but);
        }
        var number = 1 + (history.length ? history[0].take : 0);
        history.unshift({take: number, seed: seed, where: result.placed ? result.where.replace(/ \(.*$/, "") : "",
                         path: path});
        history = history.slice(0, TAKES_SHOWN);
        showTakes();
        saveState();
        result.ok = true;
        result.path = path;
        result.seed = seed;
        return result;
    }

    // Called about twice a second: a generate that got no /jasco/queued in
    // time means the bridge is not listening (or, if it answered something
    // else, refused the request: its error is already on the status line);
    // a probe that did not come back means another device holds the reply port.
    function tick() {
        var t = now();
        checkPlaced(t);
        if (jam !== null && jam.pending.length) {
            jamLib.tick(live, jam);   // a take waiting for the bar before its boundary
        }
        if (initialized && heartbeat(t)) {
            return true;
        }
        if (initialized && !port.confirmed) {
            // a stalled main thread can hold the probe's answer in the queue behind this tick:
            // the port counts as taken only after a few ticks as well as the time
            port.ticks += 1;
            if (port.ticks >= PROBE_TICKS && now() - port.sentAt > PROBE_TIMEOUT_MS) {
                probeTimedOut();
            }
        }
        if (pending.length && now() - pending[0].sentAt > QUEUE_TIMEOUT_MS) {
            var ctx = pending[0], press = ctx.press;
            while (pending.length && pending[0].press === press) {
                pending.shift();
            }
            if (lastReplyAt >= ctx.sentAt) {
                if (lastStatus.indexOf("Error [") !== 0) {
                    status("jasco-bridge did not queue '" + clipName(ctx.prompt) + "' (see its log)");
                }
            } else {
                status("No answer from jasco-bridge on " + settings.bridge_host + ":" + settings.port +
                    ": is 'jasco-bridge serve' running (and replying to port " + (port.number || settings.reply_port) +
                    ")?");
            }
            return true;
        }
        return false;
    }

    return {
        init: init,
        setting: setting,
        refreshTracks: refreshTracks,
        generate: generate,
        cancel: cancel,
        recall: recall,
        handleReply: handleReply,
        tick: tick,
        hello: hello,
        settings: function () { return settings; },
        status: function () { return lastStatus; },
        jobs: function () { return jobs; },
        pending: function () { return pending.length; },
        replyPort: function () { return port.confirmed ? port.number : 0; },
        pendingTags: function () { return pending.map(function (p) { return p.tag; }); },
        checksLeft: function () { return checks.length; }
    };
}

// The device and, for the tests, everything of the modules it is built from, in one object.
module.exports = (function () {
    var out = {VERSION: VERSION, createDevice: createDevice};
    var modules = [util, settingsTable, protocol, notes, place], i, k;
    for (i = 0; i < modules.length; i++) {
        for (k in modules[i]) {
            if (modules[i].hasOwnProperty(k)) {
                out[k] = modules[i][k];
            }
        }
    }
    return out;
})();
