// jasco_notes.js: reading the chords clip: the notes of a MIDI clip's loop, as
// beats from its start.
//
// ES5 only (Max 8's classic [js] object): no let/const, no arrow functions, no template
// strings, no classes. Part of jasco.js, the bundle make_patcher.py writes; Node loads it
// with require() in the tests.

var util = require("./jasco_util");
var fail = util.fail,
    round6 = util.round6,
    isArray = util.isArray,
    isNumber = util.isNumber,
    versionString = util.versionString,
    getNumber = util.getNumber,
    getString = util.getString,
    liveVersion = util.liveVersion;

var MAX_NOTES = 20000;             // more notes than this is not a chord clip
var EARLY_BEATS = 0.0625;          // a note struck this much before the loop start belongs to it

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

module.exports = {
    EARLY_BEATS: EARLY_BEATS,
    MAX_NOTES: MAX_NOTES,
    readClipNotes: readClipNotes
};
