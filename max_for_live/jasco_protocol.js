// jasco_protocol.js: the device's side of the bridge's OSC address space: the
// addresses, the replies it understands, and the messages of a Generate.
//
// ES5 only (Max 8's classic [js] object): no let/const, no arrow functions, no template
// strings, no classes. Part of jasco.js, the bundle make_patcher.py writes; Node loads it
// with require() in the tests.

var util = require("./jasco_util");
var fail = util.fail,
    oscSize = util.oscSize,
    I = util.I,
    F = util.F,
    S = util.S,
    msg = util.msg;

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
    status: "/jasco/status",       // the heartbeat while a job runs, and the connection check
    probe: "/jasco/probe"          // the device's own: sent to its reply port to see that it owns it
};

// Replies the device understands: address -> argument types it needs (more
// are allowed: /jasco/done may carry the seed used as a fifth argument).
// "*" accepts int, float or string (Max may hand a numeric-looking symbol
// over as a number).
var REPLIES = {
    "/jasco/hello": ["*", "*"],
    "/jasco/queued": ["*", "n"],         // + the generate's tag (bridge 0.2+): whose job it is
    "/jasco/note": ["*", "*"],
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
var MAX_NUMERATOR = 32;            // the bridge's limit for /jasco/tempo's numerator
// Codes with job "" that refuse a /jasco/generate itself (no job will follow).
var GENERATE_REFUSED = ["queue_full", "vocab_unavailable", "model_unavailable", "model_load_failed",
                        "environment", "forbidden"];

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
    var drums = typeof request.drums === "string" ? {path: request.drums, region: null} : request.drums;
    if (drums && drums.region) {
        // only the region that plays (an Arrangement clip's markers), in seconds of the file
        out.push(msg(ADDR.drums, [S(drums.path), F(drums.region[0]), F(drums.region[1])]));
    } else if (drums) {
        out.push(msg(ADDR.drums, [S(drums.path)]));
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

module.exports = {
    ADDR: ADDR,
    REPLIES: REPLIES,
    MAX_PACKET_BYTES: MAX_PACKET_BYTES,
    NOTES_PER_PACKET: NOTES_PER_PACKET,
    MAX_NUMERATOR: MAX_NUMERATOR,
    GENERATE_REFUSED: GENERATE_REFUSED,
    chunkNotes: chunkNotes,
    buildGenerateMessages: buildGenerateMessages
};
