// jasco_core.js: the logic of the JASCO Max for Live device, free of Max.
//
// ES5 only (Max 8's classic [js] object): no let/const, no arrow functions,
// no template strings, no classes. Loaded by Max with require("jasco_core")
// from jasco_device.js, and by Node in the tests with require(); the exports
// at the bottom are guarded so both work.
//
// Everything that touches Live goes through a "live adapter" (see
// makeLiveAdapter): get/set/call/count/id on Live Object Model paths, with
// the return conventions of Max's LiveAPI (arrays of atoms, "id N" pairs,
// JSON strings for get_notes_extended). Everything that leaves the device
// goes through two callbacks: send(message) for OSC to the bridge, and
// ui(name, args...) for the patcher's display objects.
//
// An OSC message here is {address: "/jasco/...", args: [{type: "i"|"f"|"s",
// value: ...}]}; only i, f and s are ever produced (Max's [udpreceive] and
// many OSC clients turn doubles into 0).

var VERSION = "0.1.0";

// --- protocol constants (issue 7's address space, the device's side) ------
var ADDR = {
    hello: "/jasco/hello",
    reset: "/jasco/reset",
    tempo: "/jasco/tempo",
    notesClear: "/jasco/notes/clear",
    notesAdd: "/jasco/notes/add",
    notesLoop: "/jasco/notes/loop",
    prompt: "/jasco/prompt",
    set: "/jasco/set",
    drums: "/jasco/drums",
    drumsClear: "/jasco/drums/clear",
    generate: "/jasco/generate",
    cancel: "/jasco/cancel"
};

// Replies the device understands: address -> argument types it needs.
// "*" accepts int, float or string (Max may hand a numeric-looking symbol
// over as a number).
var REPLIES = {
    "/jasco/hello": ["*", "*"],
    "/jasco/queued": ["*", "n"],
    "/jasco/started": ["*"],
    "/jasco/progress": ["*", "n"],
    "/jasco/done": ["*", "*", "n", "n"],
    "/jasco/error": ["*", "*", "*"],
    "/jasco/cancelled": ["*"],
    "/jasco/status": ["*", "n", "*", "*"],
    "/jasco/drums/loaded": ["*", "n", "n"],
    "/jasco/chords/mapped": [],
    "/jasco/pong": []
};

var MAX_PACKET_BYTES = 8192;       // every packet must be strictly smaller
var NOTES_PER_PACKET = 60;         // 240 atoms: stays under Max's 256-atom message habit
var MAX_PROMPT_CHARS = 1000;       // the bridge's limit: a longer prompt is refused here, with a message
var MAX_NOTES = 20000;             // more notes than this is not a chord clip
var MAX_NUMERATOR = 32;            // the bridge's limit for /jasco/tempo's numerator
var QUEUE_TIMEOUT_MS = 4000;       // no /jasco/queued after this: the bridge is not running
// Codes with job "" that refuse a /jasco/generate itself (no job will follow).
var GENERATE_REFUSED = ["queue_full", "vocab_unavailable", "model_unavailable", "model_load_failed",
                        "environment", "forbidden"];
var MIN_CREATE_AUDIO_CLIP = [12, 0, 5];

// UI choices: the patcher's live.menu items, in this order (tests compare).
var CHOICES = {
    target: ["session", "arrangement", "folder"],
    chords: ["selected clip", "playing clip", "none"],
    solver: ["dopri5", "euler", "midpoint"],
    model: ["server default", "tiny", "facebook/jasco-chords-drums-400M",
            "facebook/jasco-chords-drums-1B", "facebook/jasco-chords-drums-melody-400M",
            "facebook/jasco-chords-drums-melody-1B"]
};

// Device settings: name -> [kind, default, min, max]. Table-driven
// validation for every UI message (kind: i int, f float, s string, c choice).
var SETTINGS = {
    prompt: ["s", "", 0, MAX_PROMPT_CHARS],
    model: ["c", 0, 0, CHOICES.model.length - 1],
    solver: ["c", 0, 0, CHOICES.solver.length - 1],
    steps: ["i", 16, 1, 1000],
    cfg_all: ["f", 5.0, 0.0, 50.0],
    cfg_txt: ["f", 0.0, 0.0, 50.0],
    seed: ["i", 0, 0, 2147483647],
    random_seed: ["i", 1, 0, 1],
    bars: ["i", 0, 0, 256],
    target: ["c", 0, 0, CHOICES.target.length - 1],
    target_track: ["i", 0, 0, 100000],
    chords: ["c", 0, 0, CHOICES.chords.length - 1],
    drums_track: ["i", 0, 0, 100000],
    drums_scene: ["i", 1, 1, 100000],
    bridge_host: ["s", "127.0.0.1", 1, 255],
    bridge_port: ["i", 9000, 1, 65535],
    reply_port: ["i", 9001, 1, 65535]
};

// --- small helpers ----------------------------------------------------------
function utf8Length(str) {
    var n = 0, i, c;
    for (i = 0; i < str.length; i++) {
        c = str.charCodeAt(i);
        if (c < 0x80) {
            n += 1;
        } else if (c < 0x800) {
            n += 2;
        } else if (c >= 0xd800 && c <= 0xdbff && i + 1 < str.length) {
            n += 4;   // surrogate pair: one 4-byte code point
            i += 1;
        } else {
            n += 3;
        }
    }
    return n;
}

function pad4(n) {
    return n + (4 - (n % 4)) % 4;
}

function oscStringSize(str) {
    return pad4(utf8Length(str) + 1);
}

// Exact encoded size in bytes of an OSC message (address, type tags, args).
function oscSize(msg) {
    var size = oscStringSize(msg.address);
    var tags = ",", i, a;
    for (i = 0; i < msg.args.length; i++) {
        tags += msg.args[i].type;
    }
    size += oscStringSize(tags);
    for (i = 0; i < msg.args.length; i++) {
        a = msg.args[i];
        if (a.type === "s") {
            size += oscStringSize(a.value);
        } else {
            size += 4;
        }
    }
    return size;
}

function I(v) { return {type: "i", value: v}; }
function F(v) { return {type: "f", value: v}; }
function S(v) { return {type: "s", value: v}; }

function msg(address, args) {
    return {address: address, args: args || []};
}

function cleanString(v) {
    // OSC strings end at NUL; Max symbols never contain one, other callers might.
    return String(v).replace(/\u0000/g, "");
}

function round6(x) {
    return Math.round(x * 1e6) / 1e6;
}

// Arrays may come from another JS realm (Max's LiveAPI, a test sandbox).
function isArray(v) {
    return Object.prototype.toString.call(v) === "[object Array]";
}

function isNumber(v) {
    return typeof v === "number" && isFinite(v);
}

function DeviceError(message) {
    this.name = "DeviceError";
    this.message = message;
}
DeviceError.prototype = new Error();
DeviceError.prototype.constructor = DeviceError;

function fail(message) {
    throw new DeviceError(message);
}

function versionAtLeast(v, min) {
    var i;
    for (i = 0; i < 3; i++) {
        if (v[i] !== min[i]) {
            return v[i] > min[i];
        }
    }
    return true;
}

// --- Live adapter -------------------------------------------------------------
// Wrap a LiveAPI constructor (Max's, or the tests' mock of it) into the small
// path-based interface the core uses. Paths are LOM paths ("live_set tracks 0")
// or "id N".
function makeLiveAdapter(LiveAPICtor) {
    function api(path) {
        return new LiveAPICtor(path);
    }
    return {
        id: function (path) {
            var a = api(path);
            var n = parseInt(a.id, 10);
            return isNaN(n) ? 0 : n;
        },
        get: function (path, prop) {
            var v = api(path).get(prop);
            if (v === undefined || v === null) {
                return [];
            }
            return (isArray(v)) ? v : [v];
        },
        set: function (path, prop, value) {
            api(path).set(prop, value);
        },
        call: function (path, fn, args) {
            var a = api(path);
            return a.call.apply(a, [fn].concat(args || []));
        },
        count: function (path, prop) {
            return api(path).getcount(prop);
        },
        type: function (path) {
            return String(api(path).type);
        }
    };
}

// Read helpers over the adapter's Max-style arrays.
function getNumber(live, path, prop) {
    var v = live.get(path, prop);
    var n = Number(v[0]);
    return isNaN(n) ? 0 : n;
}

function getString(live, path, prop) {
    var v = live.get(path, prop);
    return v.join(" ");
}

// ["id", 3] -> 3 (0 when there is no object).
function getId(live, path, prop) {
    var v = live.get(path, prop);
    if (v.length >= 2 && v[0] === "id") {
        return Number(v[1]) || 0;
    }
    return 0;
}

// ["id", 3, "id", 4] -> [3, 4]
function getIds(live, path, prop) {
    var v = live.get(path, prop), out = [], i;
    for (i = 0; i + 1 < v.length; i += 2) {
        if (v[i] === "id") {
            out.push(Number(v[i + 1]));
        }
    }
    return out;
}

// A call's result as one atom (Max may hand back [12] or 12).
function firstAtom(v) {
    return isArray(v) ? v[0] : v;
}

function liveVersion(live) {
    try {
        return [
            Number(firstAtom(live.call("live_app", "get_major_version", []))) || 0,
            Number(firstAtom(live.call("live_app", "get_minor_version", []))) || 0,
            Number(firstAtom(live.call("live_app", "get_bugfix_version", []))) || 0
        ];
    } catch (e) {
        return [0, 0, 0];
    }
}

function versionString(v) {
    return v[0] + "." + v[1] + "." + v[2];
}

// Tracks of the set: [{id, index, name, audio, frozen}], audio = an audio
// track that can hold audio clips (not a group, not MIDI).
function listTracks(live) {
    var n = live.count("live_set", "tracks"), out = [], i, path;
    for (i = 0; i < n; i++) {
        path = "live_set tracks " + i;
        out.push({
            id: live.id(path),
            index: i,
            name: getString(live, path, "name"),
            audio: getNumber(live, path, "has_audio_input") === 1 &&
                getNumber(live, path, "is_foldable") === 0,
            frozen: getNumber(live, path, "is_frozen") === 1
        });
    }
    return out;
}

// --- reading a MIDI clip -------------------------------------------------------
// Notes of a MIDI clip within its loop (or, unlooped, between its start and
// end markers: Live reports those as loop_start/loop_end), muted notes
// skipped, start times relative to the loop start, durations cut at the loop
// end. Returns {notes: [{pitch, start, duration, velocity}], length: beats}.
function readClipNotes(live, clipPath) {
    if (live.id(clipPath) === 0) {
        fail("no clip at " + clipPath);
    }
    var version = liveVersion(live);
    if (version[0] > 0 && version[0] < 11) {
        fail("reading a chords clip needs Live 11 or later (this is Live " + versionString(version) +
            "): set Chords to 'none'");
    }
    if (getNumber(live, clipPath, "is_midi_clip") !== 1) {
        fail("the chords clip '" + getString(live, clipPath, "name") + "' is not a MIDI clip");
    }
    var loopStart = getNumber(live, clipPath, "loop_start");
    var loopEnd = getNumber(live, clipPath, "loop_end");
    var length = loopEnd - loopStart;
    if (!(length > 0)) {
        fail("the chords clip has an empty loop (" + loopStart + " to " + loopEnd + ")");
    }
    var raw = live.call(clipPath, "get_notes_extended", [0, 128, loopStart, length]);
    var parsed = raw;
    if (isArray(raw) && raw.length === 1) {
        parsed = raw[0];
    }
    if (typeof parsed === "string") {
        try {
            parsed = JSON.parse(parsed);
        } catch (e) {
            fail("Live returned unreadable notes from the chords clip (needs Live 11 or later)");
        }
    }
    if (!parsed || !(isArray(parsed.notes))) {
        fail("Live returned no notes list from the chords clip (needs Live 11 or later)");
    }
    var notes = [], i, n, start, dur;
    for (i = 0; i < parsed.notes.length; i++) {
        n = parsed.notes[i];
        if (n.mute) {
            continue;
        }
        if (!isNumber(n.pitch) || !isNumber(n.start_time) || !isNumber(n.duration)) {
            fail("a note in the chords clip has no pitch/start/duration");
        }
        if (n.start_time < loopStart || n.start_time >= loopEnd) {
            continue;
        }
        start = n.start_time - loopStart;
        dur = Math.min(n.duration, length - start);
        if (!(dur > 0)) {
            continue;
        }
        notes.push({
            pitch: Math.max(0, Math.min(127, Math.round(n.pitch))),
            start: round6(start),
            duration: round6(dur),
            velocity: Math.max(1, Math.min(127, Math.round(isNumber(n.velocity) ? n.velocity : 100)))
        });
    }
    if (notes.length > MAX_NOTES) {
        fail("the chords clip has " + notes.length + " notes; at most " + MAX_NOTES + " are sent");
    }
    notes.sort(function (a, b) {
        return (a.start - b.start) || (a.pitch - b.pitch);
    });
    return {notes: notes, length: round6(length)};
}

// --- building the messages ------------------------------------------------------
// Split notes into /jasco/notes/add messages, each packet strictly smaller than
// maxBytes and holding at most notesPerPacket notes.
function chunkNotes(notes, maxBytes, notesPerPacket) {
    maxBytes = maxBytes || MAX_PACKET_BYTES;
    notesPerPacket = notesPerPacket || NOTES_PER_PACKET;
    var out = [], current = null, i, n, group;
    for (i = 0; i < notes.length; i++) {
        n = notes[i];
        group = [I(n.pitch), F(n.start), F(n.duration), I(n.velocity)];
        if (current !== null) {
            var trial = msg(ADDR.notesAdd, current.args.concat(group));
            if (current.args.length / 4 >= notesPerPacket || oscSize(trial) >= maxBytes) {
                out.push(current);
                current = null;
            } else {
                current = trial;
            }
        }
        if (current === null) {
            current = msg(ADDR.notesAdd, group);
            if (oscSize(current) >= maxBytes) {
                fail("packet limit " + maxBytes + " bytes is too small for one note");
            }
        }
    }
    if (current !== null) {
        out.push(current);
    }
    return out;
}

// A generation request (plain data, gathered from Live and the UI) -> the
// ordered OSC messages. request: {replyPort, bpm, numerator, denominator,
// notes|null, loopLength (beats, with notes), prompt, params: [[name, type,
// value]...], drums|null, tag}.
function buildGenerateMessages(request, maxBytes, notesPerPacket) {
    var out = [], i, p;
    out.push(msg(ADDR.hello, [I(request.replyPort)]));
    // Start from a clean session: a setting the device no longer sends (a model
    // picked earlier, then "server default"; anything another OSC tool set on
    // this reply port) must not stick. Hello's registration survives a reset.
    out.push(msg(ADDR.reset));
    out.push(msg(ADDR.tempo, [F(request.bpm), I(request.numerator), I(request.denominator)]));
    out.push(msg(ADDR.notesClear));
    if (request.notes && request.notes.length) {
        out = out.concat(chunkNotes(request.notes, maxBytes, notesPerPacket));
        out.push(msg(ADDR.notesLoop, [F(0), F(request.loopLength)]));
    }
    out.push(msg(ADDR.prompt, [S(request.prompt)]));
    for (i = 0; i < request.params.length; i++) {
        p = request.params[i];
        out.push(msg(ADDR.set, [S(p[0]), {type: p[1], value: p[2]}]));
    }
    if (request.drums) {
        out.push(msg(ADDR.drums, [S(request.drums)]));
    } else {
        out.push(msg(ADDR.drumsClear));
    }
    out.push(msg(ADDR.generate, request.tag ? [S(request.tag)] : []));
    for (i = 0; i < out.length; i++) {
        if (oscSize(out[i]) >= (maxBytes || MAX_PACKET_BYTES)) {
            fail(out[i].address + " would be " + oscSize(out[i]) + " bytes; packets must stay under " +
                (maxBytes || MAX_PACKET_BYTES));
        }
    }
    return out;
}

// --- placing the clip -------------------------------------------------------------
// Decide where a finished file goes, and put it there. Returns
// {placed: bool, where: text, reason: text}.
function findTrack(live, trackId) {
    var tracks = listTracks(live), i;
    for (i = 0; i < tracks.length; i++) {
        if (tracks[i].id === trackId) {
            return tracks[i];
        }
    }
    return null;
}

// First empty clip slot of a track; a new scene at the end when all are full.
function nextEmptySlot(live, trackIndex) {
    var trackPath = "live_set tracks " + trackIndex;
    var n = live.count(trackPath, "clip_slots"), i;
    for (i = 0; i < n; i++) {
        if (getNumber(live, trackPath + " clip_slots " + i, "has_clip") === 0) {
            return i;
        }
    }
    live.call("live_set", "create_scene", [-1]);
    return live.count(trackPath, "clip_slots") - 1;
}

function clipName(prompt) {
    var name = prompt.replace(/\s+/g, " ").replace(/^\s+|\s+$/g, "");
    if (name.length > 60) {
        name = name.substring(0, 59) + "\u2026";
    }
    return name || "JASCO";
}

function placeClip(live, job, path) {
    var target = CHOICES.target[job.target];
    if (target === "folder") {
        return {placed: false, where: "", reason: "target is folder only"};
    }
    var version = liveVersion(live);
    if (!versionAtLeast(version, MIN_CREATE_AUDIO_CLIP)) {
        return {placed: false, where: "", reason: "Live " + versionString(version) +
            " cannot create audio clips from Max (needs 12.0.5+)"};
    }
    var track = findTrack(live, job.trackId);
    if (track === null) {
        return {placed: false, where: "", reason: "no target audio track (add one and pick it)"};
    }
    if (!track.audio) {
        return {placed: false, where: "", reason: "track '" + track.name + "' is not an audio track"};
    }
    if (track.frozen) {
        return {placed: false, where: "", reason: "track '" + track.name + "' is frozen"};
    }
    var trackPath = "live_set tracks " + track.index;
    var name = clipName(job.prompt);
    if (target === "session") {
        var slot = nextEmptySlot(live, track.index);
        var slotPath = trackPath + " clip_slots " + slot;
        live.call(slotPath, "create_audio_clip", [path]);
        if (getNumber(live, slotPath, "has_clip") !== 1) {
            return {placed: false, where: "", reason: "Live did not create the clip in '" + track.name +
                "' slot " + (slot + 1)};
        }
        live.set(slotPath + " clip", "name", name);
        return {placed: true, where: "'" + track.name + "' slot " + (slot + 1), reason: ""};
    }
    // arrangement: at the position captured when Generate was pressed. Live
    // prints (does not throw) when it refuses and may return nothing, so the
    // new clip is the one at that position that was not on the track before
    // (never a clip of the user's that happens to start there).
    var before = getIds(live, trackPath, "arrangement_clips");
    var result = live.call(trackPath, "create_audio_clip", [path, job.position]);
    var clipId = 0;
    if (isArray(result) && result.length >= 2 && result[0] === "id") {
        clipId = Number(result[1]) || 0;
    }
    var ids = clipId ? [] : getIds(live, trackPath, "arrangement_clips"), i;
    for (i = 0; i < ids.length && !clipId; i++) {
        if (before.indexOf(ids[i]) < 0 &&
                Math.abs(getNumber(live, "id " + ids[i], "start_time") - job.position) < 1e-6) {
            clipId = ids[i];
        }
    }
    if (!clipId) {
        return {placed: false, where: "", reason: "Live did not create the clip in the arrangement"};
    }
    live.set("id " + clipId, "name", name);
    return {placed: true, where: "'" + track.name + "' arrangement at beat " + round6(job.position), reason: ""};
}

// --- the device -----------------------------------------------------------------
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
    var pending = [];         // generate requests sent, waiting for /jasco/queued
    var jobs = {};            // job id -> request context
    var counter = 0;
    var lastStatus = "";
    var lastReplyAt = -1;     // when the bridge last said anything

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

    // UI -> settings, validated by the SETTINGS table.
    function setting(name, values) {
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
        settings[name] = v;
        if (name === "bridge_port") {
            ui("udpsend", "port", v);
        } else if (name === "bridge_host") {
            ui("udpsend", "host", v);
        } else if (name === "reply_port") {
            ui("udpreceive", "port", v);
            hello();
        }
        return true;
    }

    function hello() {
        send(msg(ADDR.hello, [I(settings.reply_port)]));
    }

    // Fill the track menus; keep the chosen tracks selected by id.
    function refreshTracks() {
        var tracks = listTracks(live), i;
        var oldTarget = audioTracks[settings.target_track];
        var oldDrums = drumTracks[settings.drums_track];
        audioTracks = [];
        drumTracks = [0];
        ui("target_tracks", "clear");
        ui("drums_tracks", "clear");
        ui("drums_tracks", "append", "none");
        for (i = 0; i < tracks.length; i++) {
            if (tracks[i].audio) {
                audioTracks.push(tracks[i].id);
                ui("target_tracks", "append", tracks[i].name);
                drumTracks.push(tracks[i].id);
                ui("drums_tracks", "append", tracks[i].name);
            }
        }
        var t = oldTarget === undefined ? -1 : audioTracks.indexOf(oldTarget);
        settings.target_track = t < 0 ? 0 : t;
        var d = oldDrums === undefined ? -1 : drumTracks.indexOf(oldDrums);
        settings.drums_track = d < 0 ? 0 : d;
        if (audioTracks.length) {
            ui("target_tracks", "set", settings.target_track);
        }
        ui("drums_tracks", "set", settings.drums_track);
        return tracks;
    }

    function init() {
        ui("udpsend", "host", settings.bridge_host);
        ui("udpsend", "port", settings.bridge_port);
        ui("udpreceive", "port", settings.reply_port);
        refreshTracks();
        progress(0);
        status("Connecting to jasco-bridge on " + settings.bridge_host + ":" + settings.bridge_port + "\u2026");
        hello();
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
        var scene = settings.drums_scene - 1;
        var base = "live_set tracks " + track.index + " clip_slots " + scene;
        if (scene >= live.count("live_set tracks " + track.index, "clip_slots") ||
                getNumber(live, base, "has_clip") !== 1) {
            fail("no clip in drums track '" + track.name + "' scene " + settings.drums_scene);
        }
        if (getNumber(live, base + " clip", "is_audio_clip") !== 1) {
            fail("the drums clip in '" + track.name + "' scene " + settings.drums_scene + " is not an audio clip");
        }
        var path = getString(live, base + " clip", "file_path");
        if (!path) {
            fail("the drums clip in '" + track.name + "' has no file (is it recorded but unsaved?)");
        }
        return path;
    }

    // Gather everything from Live and the UI; returns {request, context}.
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
        var seed = settings.seed;
        if (settings.random_seed) {
            seed = Math.floor(random() * 1000000);
            settings.seed = seed;
            ui("seed", "set", seed);
        }
        var bars = settings.bars;
        if (bars === 0 && clip !== null) {
            // auto: as many bars as the chords clip's loop (quarter-note beats)
            bars = Math.max(1, Math.ceil(clip.length / (num * 4 / den) - 1e-6));
        }
        var params = [
            ["seed", "i", seed],
            ["solver", "s", CHOICES.solver[settings.solver]],
            ["steps", "i", settings.steps],
            ["cfg_all", "f", settings.cfg_all],
            ["cfg_txt", "f", settings.cfg_txt]
        ];
        params.push(["bars", "i", bars]);     // 0: the bridge keeps the full window
        if (settings.model > 0) {
            params.push(["model", "s", CHOICES.model[settings.model]]);
        }
        counter += 1;
        var tag = "m4l-" + counter;
        var target = settings.target;
        var trackId = audioTracks[settings.target_track] || 0;
        var position = CHOICES.target[target] === "arrangement" ?
            getNumber(live, "live_set", "current_song_time") : 0;
        return {
            request: {
                replyPort: settings.reply_port, bpm: bpm, numerator: num, denominator: den,
                notes: clip === null ? null : clip.notes, loopLength: clip === null ? 0 : clip.length,
                prompt: settings.prompt,
                params: params, drums: drums, tag: tag
            },
            context: {
                tag: tag, prompt: settings.prompt, seed: seed, target: target, trackId: trackId,
                position: position, sentAt: now(), job: "", cancel: false, warnings: [],
                notes: clip === null ? 0 : clip.notes.length, bars: bars
            }
        };
    }

    function generate() {
        var g;
        try {
            g = gather();
            var messages = buildGenerateMessages(g.request, maxBytes, notesPerPacket);
            sendAll(messages);
        } catch (e) {
            if (e instanceof DeviceError) {
                status("Device: " + e.message);
                return null;
            }
            throw e;
        }
        pending.push(g.context);
        progress(0);
        status("Sent '" + clipName(g.context.prompt) + "' (" + g.context.notes + " notes" +
            (g.request.drums ? ", drums" : "") + ", seed " + g.context.seed + ")\u2026");
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

    // A job id from a reply -> its context (adopting the oldest pending request
    // when the bridge names a job the device has not seen yet).
    function contextFor(job) {
        if (jobs.hasOwnProperty(job)) {
            return jobs[job];
        }
        var ctx = pending.length ? pending.shift() : null;
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
        var job = args.length ? String(args[0]) : "", ctx;
        lastReplyAt = now();
        switch (address) {
        case "/jasco/hello":
            if (!pending.length) {   // (the hello of a Generate must not hide its progress)
                status("Connected to jasco-bridge " + args[0] + " (model " + args[1] + ")");
            }
            break;
        case "/jasco/pong":
        case "/jasco/chords/mapped":
            break;
        case "/jasco/drums/loaded":
            status("Drums loaded (" + (Math.round(Number(args[1]) * 10) / 10) + " s)");
            break;
        case "/jasco/status":
            status("Bridge " + args[0] + ", " + Number(args[1]) + " queued, model " + args[2] + " on " + args[3]);
            break;
        case "/jasco/queued":
            ctx = contextFor(job);
            progress(0);
            status("Queued" + (Number(args[1]) > 0 ? " (" + Number(args[1]) + " ahead)" : "") + "\u2026" +
                (ctx !== null && ctx.warnings.length ? " (but: " + ctx.warnings.join("; ") + ")" : ""));
            break;
        case "/jasco/started":
            ctx = contextFor(job);
            progress(0);
            status("Rendering\u2026");
            break;
        case "/jasco/progress":
            ctx = contextFor(job);
            progress(Number(args[1]));
            status("Rendering " + Math.round(Number(args[1]) * 100) + "%");
            break;
        case "/jasco/done":
            ctx = contextFor(job);
            finish(ctx);
            return done(ctx, String(args[1]), Number(args[2]), Number(args[3]));
        case "/jasco/error":
            if (job === "" && pending.length) {
                if (GENERATE_REFUSED.indexOf(String(args[1])) >= 0) {
                    pending.shift();   // that generate was refused: no job will come
                } else {
                    // about one of the request's messages (a drum file, a setting): the
                    // render may go on without it, so the final status repeats it
                    pending[pending.length - 1].warnings.push("[" + args[1] + "] " + args[2]);
                }
            }
            ctx = job === "" ? null : contextFor(job);
            finish(ctx);
            progress(0);
            status("Error [" + args[1] + "]: " + args[2]);
            break;
        case "/jasco/cancelled":
            ctx = contextFor(job);
            finish(ctx);
            progress(0);
            status("Cancelled");
            break;
        }
        return {ok: true};
    }

    function done(ctx, path, seconds, bpm) {
        progress(1);
        ui("path", "set", path);
        if (ctx === null) {
            status("Done: " + path);
            return {ok: true, placed: false, reason: "unknown job"};
        }
        var result;
        try {
            result = placeClip(live, ctx, path);
        } catch (e) {
            result = {placed: false, where: "", reason: "Live refused: " + (e.message || e)};
        }
        // seconds and bpm describe the clip: its length and the tempo it was cut to
        var took = isNumber(seconds) ? " (" + (Math.round(seconds * 100) / 100) + " s" +
            (isNumber(bpm) ? " at " + (Math.round(bpm * 100) / 100) + " bpm" : "") + ")" : "";
        var but = ctx.warnings.length ? " (but: " + ctx.warnings.join("; ") + ")" : "";
        if (result.placed) {
            status("Done" + took + ": '" + clipName(ctx.prompt) + "' in " + result.where + but);
        } else if (CHOICES.target[ctx.target] === "folder") {
            status("Done" + took + ": saved " + path + but);
        } else {
            status("Done" + took + "; " + result.reason + ": drag in " + path + but);
        }
        result.ok = true;
        result.path = path;
        return result;
    }

    // Called about twice a second: a generate that got no /jasco/queued in
    // time means the bridge is not listening (or, if it answered something
    // else, refused the request: its error is already on the status line).
    function tick() {
        if (pending.length && now() - pending[0].sentAt > QUEUE_TIMEOUT_MS) {
            var ctx = pending.shift();
            if (lastReplyAt >= ctx.sentAt) {
                if (lastStatus.indexOf("Error [") !== 0) {
                    status("jasco-bridge did not queue '" + clipName(ctx.prompt) + "' (see its log)");
                }
            } else {
                status("No answer from jasco-bridge on " + settings.bridge_host + ":" + settings.bridge_port +
                    ": is 'jasco-bridge serve' running (and replying to port " + settings.reply_port + ")?");
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
        handleReply: handleReply,
        tick: tick,
        hello: hello,
        settings: function () { return settings; },
        status: function () { return lastStatus; },
        jobs: function () { return jobs; },
        pending: function () { return pending.length; }
    };
}

var api = {
    VERSION: VERSION,
    ADDR: ADDR,
    REPLIES: REPLIES,
    CHOICES: CHOICES,
    SETTINGS: SETTINGS,
    MAX_PACKET_BYTES: MAX_PACKET_BYTES,
    NOTES_PER_PACKET: NOTES_PER_PACKET,
    MIN_CREATE_AUDIO_CLIP: MIN_CREATE_AUDIO_CLIP,
    DeviceError: DeviceError,
    utf8Length: utf8Length,
    oscSize: oscSize,
    makeLiveAdapter: makeLiveAdapter,
    liveVersion: liveVersion,
    versionAtLeast: versionAtLeast,
    listTracks: listTracks,
    readClipNotes: readClipNotes,
    chunkNotes: chunkNotes,
    buildGenerateMessages: buildGenerateMessages,
    nextEmptySlot: nextEmptySlot,
    placeClip: placeClip,
    clipName: clipName,
    createDevice: createDevice
};

// Max's require() gives the file an `exports` object; Node gives `exports`
// and `module.exports` (the same object). Anything else: a global.
if (typeof exports !== "undefined") {
    (function () {
        var k;
        for (k in api) {
            if (api.hasOwnProperty(k)) {
                exports[k] = api[k];
            }
        }
    })();
}
