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

var WIRE = require("./jasco_wire");   // generated from bridge/protocol.py

// The address of a message the bridge accepts: one the bridge's table does not have is an
// error when the script loads (a renamed address cannot go unnoticed).
function bridgeAddress(address) {
    if (!WIRE.messages.hasOwnProperty(address)) {
        throw new Error("jasco_wire.js: the bridge has no message " + address);
    }
    return address;
}

var ADDR = {
    hello: bridgeAddress("/jasco/hello"),
    reset: bridgeAddress("/jasco/reset"),
    tempo: bridgeAddress("/jasco/tempo"),
    notesClear: bridgeAddress("/jasco/notes/clear"),
    notesAdd: bridgeAddress("/jasco/notes/add"),
    notesLoop: bridgeAddress("/jasco/notes/loop"),
    prompt: bridgeAddress("/jasco/prompt"),
    set: bridgeAddress("/jasco/set"),
    drums: bridgeAddress("/jasco/drums"),
    drumsClear: bridgeAddress("/jasco/drums/clear"),
    generate: bridgeAddress("/jasco/generate"),
    cancel: bridgeAddress("/jasco/cancel"),
    status: bridgeAddress("/jasco/status"),   // the heartbeat while a job runs, and the connection check
    probe: "/jasco/probe"          // the device's own: sent to its reply port to see that it owns it
};

// Trailing reply arguments the device does without (an older bridge sends /jasco/done without
// the seed, /jasco/queued without the generate's tag and /jasco/status without the precision: the
// clip is then named without the seed, the device's n-th new job is its n-th generate, and the
// status line names no precision).
var MAY_LACK = {"/jasco/done": 1, "/jasco/queued": 1, "/jasco/status": 1};

// Replies the device understands: address -> argument types it needs, from the bridge's reply
// table (a string is "*": Max may hand a numeric-looking symbol over as a number; a number is
// "n"; a repeated group needs nothing). More arguments are allowed.
var REPLIES = (function () {
    var out = {}, address, args, i, need;
    for (address in WIRE.replies) {
        if (WIRE.replies.hasOwnProperty(address)) {
            args = WIRE.replies[address].args;
            need = [];
            for (i = 0; i < args.length - (MAY_LACK[address] || 0); i++) {
                need.push(args[i] === "i" || args[i] === "f" ? "n" : "*");
            }
            out[address] = need;
        }
    }
    out["/jasco/probe"] = ["*"];
    return out;
})();

var MAX_PACKET_BYTES = WIRE.max_packet_out;   // every packet strictly smaller, as the bridge's own
var NOTES_PER_PACKET = Math.min(60, WIRE.max_notes_per_packet);   // 240 atoms: under Max's 256-atom habit
var MAX_NUMERATOR = WIRE.max_numerator;       // the bridge's limit for /jasco/tempo's numerator
// Codes with job "" that refuse a /jasco/generate itself (no job will follow).
var GENERATE_REFUSED = WIRE.generate_refused;

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
