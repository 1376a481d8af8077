// jasco_place.js: where a finished take goes in the Live set, without ever
// touching what is already there.
//
// ES5 only (Max 8's classic [js] object): no let/const, no arrow functions, no template
// strings, no classes. Part of jasco.js, the bundle make_patcher.py writes; Node loads it
// with require() in the tests.

var util = require("./jasco_util");
var EPS = util.EPS,
    round6 = util.round6,
    isNumber = util.isNumber,
    versionAtLeast = util.versionAtLeast,
    versionString = util.versionString,
    getNumber = util.getNumber,
    getString = util.getString,
    getIds = util.getIds,
    liveVersion = util.liveVersion,
    findTrack = util.findTrack;
var CHOICES = require("./jasco_settings").CHOICES;

var MIN_CREATE_AUDIO_CLIP = [12, 0, 5];   // ClipSlot/Track.create_audio_clip arrived in Live 12.0.5

// Where a finished take goes, without ever touching what is already in the
// set: session view into an empty clip slot (a new scene at the end when the
// track is full), arrangement view at a bar line where the clip's whole span
// is free (Live's create_audio_clip replaces whatever it overlaps). Each take
// of a press goes after the one before; "replace last take" puts a take where
// the same take of the last press went, if that clip is still the device's.
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
    var result, elsewhere = "";
    if (old !== null && ((old.trackId !== track.id && old.track !== track.name) || old.kind !== target)) {
        elsewhere = " (the last take is on another track or in the other view: not replaced)";
        old = null;
    }
    if (target === "session") {
        result = placeInSession(live, track, trackPath, take, path, loopLength, name, old);
    } else {
        result = placeInArrangement(live, track, trackPath, take, path, length, loopLength, name, old);
    }
    if (result.placed && elsewhere) {
        result.where += elsewhere;
    }
    return result;
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
        if (start !== wanted && take.index === 0 && !note) {
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

module.exports = {
    MIN_CREATE_AUDIO_CLIP: MIN_CREATE_AUDIO_CLIP,
    barBeats: barBeats,
    arrangementStart: arrangementStart,
    nextEmptySlot: nextEmptySlot,
    firstFreeStart: firstFreeStart,
    clipName: clipName,
    takeName: takeName,
    placeTake: placeTake
};
