// jasco_core.js: the logic of the JASCO Max for Live device, free of Max.
//
// ES5 only (Max 8's classic [js] object): no let/const, no arrow functions,
// no template strings, no classes. Max loads it as part of jasco.js, the one
// bundle make_patcher.py writes from these sources; Node loads it with
// require() in the tests. Its limits and defaults come from two tables in the
// same shape: jasco_params.js (generated from core/params.py: the render
// parameters the bridge knows) and jasco_device_params.js (the device's own
// settings: takes, lock seed, target, ...).
//
// Everything that touches Live goes through a "live adapter" (see
// makeLiveAdapter): get/set/call/count/id on Live Object Model paths, with
// the return conventions of Max's LiveAPI (arrays of atoms, "id N" pairs,
// JSON strings for get_notes_extended). Live prints its errors to the Max
// console instead of throwing, so every change the device makes is checked
// by reading the set back. Everything that leaves the device goes through two
// callbacks: send(message) for OSC to the bridge, and ui(name, args...) for
// the patcher's display objects.
//
// An OSC message here is {address: "/jasco/...", args: [{type: "i"|"f"|"s",
// value: ...}]}; only i, f and s are ever produced (Max's [udpreceive] and
// many OSC clients turn doubles into 0).

var VERSION = "0.2.0";

var JASCO_PARAMS = require("./jasco_params");
var JASCO_DEVICE_PARAMS = require("./jasco_device_params");

// --- protocol constants (the bridge's address space, the device's side) ----
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
    cancel: "/jasco/cancel",
    probe: "/jasco/probe"          // the device's own: sent to its reply port to see that it owns it
};

// Replies the device understands: address -> argument types it needs (more
// are allowed: /jasco/done may carry the seed used as a fifth argument).
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
    "/jasco/pong": [],
    "/jasco/probe": ["*"]
};

var MAX_PACKET_BYTES = 8192;       // every packet must be strictly smaller
var NOTES_PER_PACKET = 60;         // 240 atoms: stays under Max's 256-atom message habit
var MAX_PROMPT_CHARS = 1000;       // the bridge's limit: a longer prompt is refused here, with a message
var MAX_NOTES = 20000;             // more notes than this is not a chord clip
var MAX_NUMERATOR = 32;            // the bridge's limit for /jasco/tempo's numerator
var QUEUE_TIMEOUT_MS = 4000;       // no /jasco/queued after this: the bridge is not running
var EARLY_BEATS = 0.0625;          // a note struck this much before the loop start belongs to it
var RANDOM_SEEDS = 1000000;        // drawn seeds are 0..999999: short to read, exact in any float
var PROBE_TIMEOUT_MS = 900;        // no probe back on the reply port after this: the port is taken
var PROBE_PORTS = 32;              // how many ports above the Reply port setting are tried
var TAKES_SHOWN = 16;              // takes listed in the takes menu
var MIN_CREATE_AUDIO_CLIP = [12, 0, 5];
var EPS = 1e-6;
// Codes with job "" that refuse a /jasco/generate itself (no job will follow).
var GENERATE_REFUSED = ["queue_full", "vocab_unavailable", "model_unavailable", "model_load_failed",
                        "environment", "forbidden"];

// The table entry of a setting: the render parameters first, then the device's own.
function paramSpec(name) {
    if (JASCO_PARAMS.hasOwnProperty(name)) {
        return JASCO_PARAMS[name];
    }
    if (JASCO_DEVICE_PARAMS.hasOwnProperty(name)) {
        return JASCO_DEVICE_PARAMS[name];
    }
    throw new Error("no parameter '" + name + "' in jasco_params.js or jasco_device_params.js");
}

// UI setting -> table entry, where the names differ.
var TABLE_NAME = {model: "model_menu"};

// UI choices: the patcher's live.menu items, in this order (tests compare).
var CHOICES = {
    target: paramSpec("target").choices,
    chords: paramSpec("chords").choices,
    solver: paramSpec("solver").choices,
    model: paramSpec("model_menu").choices
};

// Device settings: name -> [kind, default, min, max] (kind: i int, f float,
// s string, c choice index). Built from the tables; the rest are UI state
// that is not a Live parameter (saved in the device's state blob instead).
var SETTINGS = (function () {
    var out = {
        prompt: ["s", "", 0, MAX_PROMPT_CHARS],
        target_track: ["i", 0, 0, 100000],
        drums_track: ["i", 0, 0, 100000],
        take_choice: ["i", 0, 0, 100000],
        bridge_host: ["s", "127.0.0.1", 1, 255]
    };
    var names = ["model", "solver", "steps", "cfg_all", "cfg_txt", "seed", "lock_seed", "takes", "replace_last",
                 "bars", "loop", "target", "chords", "drums_scene", "port", "reply_port"];
    var i, spec;
    for (i = 0; i < names.length; i++) {
        spec = paramSpec(TABLE_NAME[names[i]] || names[i]);
        if (spec.choices) {
            out[names[i]] = ["c", spec.choices.indexOf(spec["default"]), 0, spec.choices.length - 1];
        } else if (spec.type === "float") {
            out[names[i]] = ["f", spec["default"], spec.lo, spec.hi];
        } else {
            out[names[i]] = ["i", spec["default"], spec.lo, spec.hi];
        }
    }
    return out;
})();

// Settings sent with /jasco/set, in this order (bars and seed are added per take).
var RENDER_SETTINGS = ["solver", "steps", "cfg_all", "cfg_txt"];

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
// end. A note struck up to EARLY_BEATS before the loop start, or still
// sounding there, counts from the loop start. Live's get_notes_extended
// selects notes by start time only, so the notes are asked for from the clip
// start (or the loop start, if that is earlier) and sorted out here.
// Returns {notes: [{pitch, start, duration, velocity}], length: beats}.
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
    var from = Math.min(0, loopStart);
    var raw = live.call(clipPath, "get_notes_extended", [0, 128, from, loopEnd - from]);
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
    var notes = [], i, n, s, e, start, dur;
    for (i = 0; i < parsed.notes.length; i++) {
        n = parsed.notes[i];
        if (n.mute) {
            continue;
        }
        if (!isNumber(n.pitch) || !isNumber(n.start_time) || !isNumber(n.duration)) {
            fail("a note in the chords clip has no pitch/start/duration");
        }
        s = n.start_time;
        e = n.start_time + n.duration;
        if (s >= loopEnd) {
            continue;
        }
        if (s >= loopStart) {
            start = s - loopStart;                  // inside the loop
        } else if (s >= loopStart - EARLY_BEATS || e > loopStart + EARLY_BEATS) {
            start = 0;                              // struck a little early, or held into the loop
        } else {
            continue;                               // over before the loop starts
        }
        dur = Math.min(e, loopEnd) - loopStart - start;
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
// value]...], drums|null, takes: [{seed, tag}]}. The bridge freezes the
// session at each /jasco/generate, so each take is its seed and a generate.
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
    for (i = 0; i < request.takes.length; i++) {
        out.push(msg(ADDR.set, [S("seed"), I(request.takes[i].seed)]));
        out.push(msg(ADDR.generate, [S(request.takes[i].tag)]));
    }
    for (i = 0; i < out.length; i++) {
        if (oscSize(out[i]) >= (maxBytes || MAX_PACKET_BYTES)) {
            fail(out[i].address + " would be " + oscSize(out[i]) + " bytes; packets must stay under " +
                (maxBytes || MAX_PACKET_BYTES));
        }
    }
    return out;
}

// --- placing the clip -------------------------------------------------------------
// Where a finished take goes, without ever touching what is already in the
// set: session view into an empty clip slot (a new scene at the end when the
// track is full), arrangement view at a bar line where the clip's whole span
// is free (Live's create_audio_clip replaces whatever it overlaps). Each take
// of a press goes after the one before; "replace last take" puts a take where
// the same take of the last press went, if that clip is still the device's.
function findTrack(live, trackId) {
    var tracks = listTracks(live), i;
    for (i = 0; i < tracks.length; i++) {
        if (tracks[i].id === trackId) {
            return tracks[i];
        }
    }
    return null;
}

function barBeats(numerator, denominator) {
    return numerator * 4 / denominator;
}

// The arrangement position for a press: the next bar line after the playhead
// while playing, the bar line at or before the insert marker when stopped.
function arrangementStart(songTime, playing, bar) {
    var k = Math.floor(songTime / bar + EPS);
    if (playing) {
        k += 1;
    }
    return round6(Math.max(0, k) * bar);
}

function ceilToBar(beats, bar) {
    return round6(Math.ceil(beats / bar - EPS) * bar);
}

// First empty clip slot at index >= from; a new scene at the end when there is none.
function nextEmptySlot(live, trackIndex, from) {
    var trackPath = "live_set tracks " + trackIndex;
    var n = live.count(trackPath, "clip_slots"), i;
    for (i = from || 0; i < n; i++) {
        if (getNumber(live, trackPath + " clip_slots " + i, "has_clip") === 0) {
            return i;
        }
    }
    live.call("live_set", "create_scene", [-1]);
    if (live.count(trackPath, "clip_slots") <= n) {
        return -1;
    }
    return n;
}

// The arrangement clips of a track: [{id, start, end, path}].
function arrangementClips(live, trackPath) {
    var ids = getIds(live, trackPath, "arrangement_clips"), out = [], i, p;
    for (i = 0; i < ids.length; i++) {
        p = "id " + ids[i];
        out.push({
            id: ids[i],
            start: getNumber(live, p, "start_time"),
            end: getNumber(live, p, "end_time"),
            path: getNumber(live, p, "is_audio_clip") === 1 ? getString(live, p, "file_path") : ""
        });
    }
    return out;
}

function overlapping(clips, start, end, except) {
    var out = [], i;
    for (i = 0; i < clips.length; i++) {
        if (clips[i].id !== except && clips[i].start < end - EPS && start < clips[i].end - EPS) {
            out.push(clips[i]);
        }
    }
    return out;
}

// The first bar line at or after `from` where [start, start + length) is free.
function firstFreeStart(clips, from, length, bar) {
    var start = from, hits, i, last;
    for (i = 0; i <= clips.length; i++) {
        hits = overlapping(clips, start, start + length, -1);
        if (!hits.length) {
            return start;
        }
        last = Math.max.apply(null, hits.map(function (c) { return c.end; }));
        start = ceilToBar(last, bar);
    }
    return start;
}

function clipName(prompt) {
    var name = prompt.replace(/\s+/g, " ").replace(/^\s+|\s+$/g, "");
    if (name.length > 60) {
        name = name.substring(0, 59) + "\u2026";
    }
    return name || "JASCO";
}

// The clip's name: prompt, take number and seed.
function takeName(prompt, take, seed) {
    var name = clipName(prompt);
    if (name.length > 40) {
        name = name.substring(0, 39) + "\u2026";
    }
    return name + " \u00b7 take " + take + " \u00b7 seed " + seed;
}

// Make Live play the clip in time: warped (it follows the song tempo), looping
// over the bars asked for, named.
function configureClip(live, clipPath, loopLength, name) {
    live.set(clipPath, "warping", 1);
    live.set(clipPath, "looping", 1);
    live.set(clipPath, "loop_start", 0);
    live.set(clipPath, "loop_end", loopLength);
    live.set(clipPath, "name", name);
}

function checkTarget(live, press) {
    var version = liveVersion(live);
    if (!versionAtLeast(version, MIN_CREATE_AUDIO_CLIP)) {
        return {reason: "Live " + versionString(version) + " cannot create audio clips from Max (needs 12.0.5+)"};
    }
    var track = findTrack(live, press.trackId);
    if (track === null) {
        return {reason: "no target audio track (add one and pick it)"};
    }
    if (!track.audio) {
        return {reason: "track '" + track.name + "' is not an audio track"};
    }
    if (track.frozen) {
        return {reason: "track '" + track.name + "' is frozen"};
    }
    return {track: track};
}

// take: {press, index, prompt}; press: {target, trackId, position, bar, bars,
// cursor, replace: [placement]|null}. Returns {placed, where, reason,
// placement: {kind, trackId, slot | start, path}}.
function placeTake(live, take, path, seconds, bpm, seed) {
    var press = take.press;
    var target = CHOICES.target[press.target];
    if (target === "folder") {
        return {placed: false, where: "", reason: "target is folder only"};
    }
    var checked = checkTarget(live, press);
    if (!checked.track) {
        return {placed: false, where: "", reason: checked.reason};
    }
    var track = checked.track;
    var trackPath = "live_set tracks " + track.index;
    var length = isNumber(seconds) && isNumber(bpm) && seconds > 0 && bpm > 0 ?
        round6(seconds * bpm / 60) : press.bars * press.bar;
    var loopLength = press.bars > 0 ? round6(press.bars * press.bar) : length;
    var name = takeName(take.prompt, take.index + 1, seed);
    var old = press.replace && press.replace[take.index] ? press.replace[take.index] : null;
    if (old !== null && old.trackId !== track.id && old.track !== track.name) {
        old = null;
    }
    if (target === "session") {
        return placeInSession(live, track, trackPath, take, path, loopLength, name, old);
    }
    return placeInArrangement(live, track, trackPath, take, path, length, loopLength, name, old);
}

function placeInSession(live, track, trackPath, take, path, loopLength, name, old) {
    var press = take.press, slot = -1, note = "", slotPath;
    if (old !== null && old.kind === "session" && old.slot < live.count(trackPath, "clip_slots")) {
        slotPath = trackPath + " clip_slots " + old.slot;
        if (getNumber(live, slotPath, "has_clip") === 1 &&
                getString(live, slotPath + " clip", "file_path") === old.path) {
            live.call(slotPath, "delete_clip", []);
            if (getNumber(live, slotPath, "has_clip") === 0) {
                slot = old.slot;
                note = " (replacing the last take)";
            }
        }
        if (slot < 0) {
            note = " (the last take's clip was changed or moved: not replaced)";
        }
    }
    if (slot < 0) {
        slot = nextEmptySlot(live, track.index, press.cursor);
    }
    if (slot < 0) {
        return {placed: false, where: "", reason: "Live did not add a scene for the clip"};
    }
    slotPath = trackPath + " clip_slots " + slot;
    live.call(slotPath, "create_audio_clip", [path]);
    if (getNumber(live, slotPath, "has_clip") !== 1 || getString(live, slotPath + " clip", "file_path") !== path) {
        return {placed: false, where: "", reason: "Live did not create the clip in '" + track.name +
            "' slot " + (slot + 1)};
    }
    configureClip(live, slotPath + " clip", loopLength, name);
    press.cursor = slot + 1;
    return {placed: true, where: "'" + track.name + "' slot " + (slot + 1) + note, reason: "",
            placement: {kind: "session", trackId: track.id, track: track.name, slot: slot, path: path}};
}

function placeInArrangement(live, track, trackPath, take, path, length, loopLength, name, old) {
    var press = take.press, bar = press.bar, clips = arrangementClips(live, trackPath), note = "";
    var start = -1, i, mine = null;
    if (old !== null && old.kind === "arrangement") {
        for (i = 0; i < clips.length; i++) {
            if (clips[i].path === old.path && Math.abs(clips[i].start - old.start) < EPS) {
                mine = clips[i];
            }
        }
        if (mine !== null && !overlapping(clips, mine.start, mine.start + length, mine.id).length) {
            live.call(trackPath, "delete_clip", ["id", mine.id]);
            start = mine.start;
            note = " (replacing the last take)";
            clips = arrangementClips(live, trackPath);
        } else {
            note = " (the last take's clip was changed, moved or is too short: not replaced)";
        }
    }
    if (start < 0) {
        var wanted = press.cursor;
        start = firstFreeStart(clips, wanted, length, bar);
        if (start !== wanted && take.index === 0) {
            note = " (bar " + (round6(wanted / bar) + 1) + " was taken)";
        }
    }
    var before = clips.map(function (c) { return c.id; });
    live.call(trackPath, "create_audio_clip", [path, start]);
    var after = arrangementClips(live, trackPath), clip = null;
    for (i = 0; i < after.length; i++) {
        if (before.indexOf(after[i].id) < 0 && after[i].path === path && Math.abs(after[i].start - start) < EPS) {
            clip = after[i];
        }
    }
    if (clip === null) {
        return {placed: false, where: "", reason: "Live did not create the clip in the arrangement"};
    }
    configureClip(live, "id " + clip.id, loopLength, name);
    press.cursor = ceilToBar(start + length, bar);
    return {placed: true, where: "'" + track.name + "' arrangement bar " + (round6(start / bar) + 1) + note,
            reason: "", placement: {kind: "arrangement", trackId: track.id, track: track.name, start: start,
                                                   path: path}};
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
    var port = {number: 0, confirmed: false, token: "", sentAt: 0, tries: 0, first: 0, greeted: 0};

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

    // The seeds of a press: from the seed box when locked (counting up), else
    // from a fresh random base; either way, locking the base renders them again.
    function pressSeeds(n) {
        var locked = settings.lock_seed === 1 && settings.seed >= 0;
        var base = locked ? settings.seed : Math.floor(random() * RANDOM_SEEDS);
        var seeds = [], k;
        for (k = 0; k < n; k++) {
            seeds.push((base + k) % (SETTINGS.seed[3] + 1));
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
            position: CHOICES.target[target] === "arrangement" ?
                arrangementStart(getNumber(live, "live_set", "current_song_time"), playing, bar) : 0,
            replace: settings.replace_last === 1 && lastPress !== null ? lastPress.placements : null
        };
        press.cursor = press.position;
        var seeds = pressSeeds(settings.takes), takes = [];
        press.takes = seeds.length;
        for (i = 0; i < seeds.length; i++) {
            counter += 1;
            takes.push({
                tag: "m4l-" + counter, seed: seeds[i], index: i, press: press, prompt: settings.prompt,
                sentAt: now(), job: "", cancel: false, warnings: [], finished: false,
                notes: clip === null ? 0 : clip.notes.length
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
        status("Sent '" + clipName(t[0].prompt) + "' (" + t[0].notes + " notes" + (g.request.drums ? ", drums" : "") +
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

    // A job id from a reply -> its take (adopting the oldest pending take when
    // the bridge names a job the device has not seen yet: replies arrive in
    // order, so the n-th new job is the n-th generate).
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
        switch (address) {
        case "/jasco/hello":
            if (!pending.length) {   // (the hello of a Generate must not hide its progress)
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
            status("Rendering " + (ctx !== null ? takeLabel(ctx) : "") + "\u2026");
            break;
        case "/jasco/progress":
            ctx = contextFor(job);
            progress(Number(args[1]));
            status("Rendering " + (ctx !== null ? takeLabel(ctx) : "") + Math.round(Number(args[1]) * 100) + "%");
            break;
        case "/jasco/done":
            ctx = contextFor(job);
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
        var but = ctx.warnings.length ? " (but: " + ctx.warnings.join("; ") + ")" : "";
        var label = "'" + clipName(ctx.prompt) + "' " + takeLabel(ctx) + "seed " + seed;
        if (result.placed) {
            status("Done" + took + ": " + label + " in " + result.where + but);
            ctx.press.placements[ctx.index] = result.placement;
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
        if (initialized && !port.confirmed && now() - port.sentAt > PROBE_TIMEOUT_MS) {
            probeTimedOut();
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
        replyPort: function () { return port.confirmed ? port.number : 0; }
    };
}

var api = {
    VERSION: VERSION,
    ADDR: ADDR,
    REPLIES: REPLIES,
    CHOICES: CHOICES,
    SETTINGS: SETTINGS,
    JASCO_PARAMS: JASCO_PARAMS,
    JASCO_DEVICE_PARAMS: JASCO_DEVICE_PARAMS,
    MAX_PACKET_BYTES: MAX_PACKET_BYTES,
    NOTES_PER_PACKET: NOTES_PER_PACKET,
    MIN_CREATE_AUDIO_CLIP: MIN_CREATE_AUDIO_CLIP,
    EARLY_BEATS: EARLY_BEATS,
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
    arrangementStart: arrangementStart,
    firstFreeStart: firstFreeStart,
    placeTake: placeTake,
    clipName: clipName,
    takeName: takeName,
    createDevice: createDevice
};

// Node's require() and the bundle's loader give `exports` (and `module`).
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
