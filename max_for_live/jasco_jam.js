// jasco_jam.js: a jam take into the Live set, launched by Live on the phrase boundary.
//
// ES5 only (Max 8's classic [js] object): no let/const, no arrow functions, no template
// strings, no classes. Node loads it with require() in the tests (tests/device/test_device_jam.py).
//
// Live keeps time, not the device: each take goes into the next free clip slot of the jam
// track (ClipSlot.create_audio_clip, Live 12.0.5+) and is fired at once with ClipSlot.fire();
// Live starts a fired clip at the next launch-quantisation boundary of the song time. So the
// clip's own launch quantisation (Clip.launch_quantization) is set to the phrase length when
// Live has that value (1, 2, 4 or 8 bars, phrases counted from the song's start), and the take
// loops (Clip.looping) until the next one replaces it: the new clip in the same track stops the
// one playing at the moment it starts. A take is fired once Live's next launch boundary is its own
// (kept until then, `tick`); a phrase length Live cannot quantise to (3 bars, ...) is launched with a
// 1-bar quantisation, fired during the bar before its boundary.
//
// Live Object Model (Cycling '74, Live 12):
//   https://docs.cycling74.com/apiref/lom/clipslot : fire() (launch quantised), create_audio_clip(path),
//     has_clip
//   https://docs.cycling74.com/apiref/lom/song : clip_trigger_quantization (0 None, 1 8 Bars, 2 4 Bars,
//     3 2 Bars, 4 1 Bar, 5 1/2, 6 1/2T, 7 1/4, 8 1/4T, 9 1/8, 10 1/8T, 11 1/16, 12 1/16T, 13 1/32),
//     current_song_time (beats), signature_numerator/denominator
//   https://docs.cycling74.com/apiref/lom/clip : launch_quantization (0 Global, 1 None, 2 8 Bars,
//     3 4 Bars, 4 2 Bars, 5 1 Bar, 6 1/2, ...), looping

var util = require("./jasco_util");
var place = require("./jasco_place");
var getNumber = util.getNumber,
    versionAtLeast = util.versionAtLeast,
    versionString = util.versionString,
    liveVersion = util.liveVersion;

// Clip.launch_quantization values for whole bars (the Song's clip_trigger_quantization is one less).
var CLIP_QUANT_BARS = {8: 2, 4: 3, 2: 4, 1: 5};
var CLIP_QUANT_GLOBAL = 0;
var CLIP_QUANT_ONE_BAR = 5;
var EPS = 1e-6;

// The launch quantisation for a phrase of `bars` bars: {value, bars, exact}.
function launchQuantization(bars) {
    if (CLIP_QUANT_BARS.hasOwnProperty(bars)) {
        return {value: CLIP_QUANT_BARS[bars], bars: bars, exact: true};
    }
    return {value: CLIP_QUANT_ONE_BAR, bars: 1, exact: false};
}

// A jam: the track its takes go to, the phrase length, and takes waiting to be fired.
function makeJam(trackIndex, bars) {
    return {trackIndex: trackIndex, bars: bars, pending: [], placed: []};
}

function barBeatsOf(live) {
    return place.barBeats(getNumber(live, "live_set", "signature_numerator") || 4,
                          getNumber(live, "live_set", "signature_denominator") || 4);
}

function fire(live, jam, take) {
    live.call(take.slotPath, "fire", []);
    jam.placed.push({slot: take.slot, path: take.path, boundaryBeat: take.boundaryBeat,
                     firedAt: getNumber(live, "live_set", "current_song_time")});
}

// A take from the bridge (its WAV path and the beat of the boundary it is for): into the next
// free slot of the jam track, looping, launch-quantised to the phrase, and fired as soon as Live's
// next launch boundary is the take's own (at once, when it comes during the phrase before it).
// Returns {placed, slot, reason, fired}.
function onTake(live, jam, path, boundaryBeat) {
    var version = liveVersion(live);
    if (!versionAtLeast(version, place.MIN_CREATE_AUDIO_CLIP)) {
        return {placed: false, slot: -1, fired: false, reason: "Live " + versionString(version) +
                " cannot create a clip from a file (needs 12.0.5)"};
    }
    var slot = place.nextEmptySlot(live, jam.trackIndex, 0);
    if (slot < 0) {
        return {placed: false, slot: -1, fired: false, reason: "no free clip slot on the jam track"};
    }
    var slotPath = "live_set tracks " + jam.trackIndex + " clip_slots " + slot;
    live.call(slotPath, "create_audio_clip", [path]);
    if (getNumber(live, slotPath, "has_clip") !== 1) {
        return {placed: false, slot: slot, fired: false, reason: "Live did not create the clip (see the Max console)"};
    }
    var q = launchQuantization(jam.bars);
    live.set(slotPath + " clip", "looping", 1);
    live.set(slotPath + " clip", "launch_quantization", q.value);
    var take = {slot: slot, path: path, boundaryBeat: boundaryBeat, slotPath: slotPath, stepBars: q.bars};
    jam.pending.push(take);
    tick(live, jam);
    return {placed: true, slot: slot, fired: jam.pending.indexOf(take) < 0, reason: ""};
}

// Called on each take and on the device's ticker: fires the pending takes whose boundary is Live's
// next launch boundary (song time within one quantisation step before it). A take whose boundary
// has passed waits for the next phrase boundary (the jam keeps looping the take before it).
function tick(live, jam) {
    var keep = [], i, t, bar = barBeatsOf(live), phrase = jam.bars * bar;
    var now = getNumber(live, "live_set", "current_song_time");
    for (i = 0; i < jam.pending.length; i++) {
        t = jam.pending[i];
        while (t.boundaryBeat < now - EPS) {
            t.boundaryBeat += phrase;
        }
        if (now > t.boundaryBeat - t.stepBars * bar + EPS) {
            fire(live, jam, t);
        } else {
            keep.push(t);
        }
    }
    jam.pending = keep;
}

module.exports = {
    CLIP_QUANT_GLOBAL: CLIP_QUANT_GLOBAL,
    launchQuantization: launchQuantization,
    makeJam: makeJam,
    onTake: onTake,
    tick: tick
};
