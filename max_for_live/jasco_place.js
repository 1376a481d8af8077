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
    findTrack = util.findTrack,
    isArray = util.isArray,
    samePath = util.samePath;
var CHOICES = require("./jasco_settings").CHOICES;

var MIN_CREATE_AUDIO_CLIP = [12, 0, 5];   // ClipSlot/Track.create_audio_clip arrived in Live 12.0.5
var MIN_UNDO_STEP = [11, 0, 0];           // Song.begin_undo_step / end_undo_step (see placeTake)
var SAMPLE_EPS = 0.002;                   // seconds: a warp marker this close to the file's end is at its end

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

// The timing a clip must have: the file lasts `seconds` at `bpm` (what /jasco/done says), so it
// is clipBeats long; it loops over loopBeats (the bars asked for, or the whole clip).
function clipTiming(seconds, bpm, press) {
    var known = isNumber(seconds) && isNumber(bpm) && seconds > 0 && bpm > 0;
    var clipBeats = known ? round6(seconds * bpm / 60) : press.bars * press.bar;
    var loopBeats = press.bars > 0 ? round6(press.bars * press.bar) : clipBeats;
    return {seconds: known ? seconds : clipBeats * 60 / bpm, bpm: bpm, clipBeats: clipBeats, loopBeats: loopBeats,
            loopSeconds: round6(loopBeats * 60 / (known ? bpm : 120))};
}

// Clip.warp_markers (LOM Clip, https://docs.cycling74.com/apiref/lom/clip, Live 11+): a dict
// {"warp_markers": [{"sample_time": s, "beat_time": b}, ...]} (Max hands it over as JSON
// text); Live lists a "shadow" marker after the last real one, which is left out here.
// null when Live offers none (Live 10, or the property is refused).
function warpMarkers(live, clipPath) {
    var raw = live.get(clipPath, "warp_markers"), parsed = raw, out = [], i, m;
    if (isArray(raw)) {
        parsed = raw.length === 1 ? raw[0] : (raw.length ? raw.join(" ") : null);
    }
    if (typeof parsed === "string") {
        try {
            parsed = JSON.parse(parsed);
        } catch (e) {
            return null;
        }
    }
    if (!parsed || !isArray(parsed.warp_markers)) {
        return null;
    }
    for (i = 0; i < parsed.warp_markers.length; i++) {
        m = parsed.warp_markers[i];
        if (m && isNumber(m.sample_time) && isNumber(m.beat_time)) {
            out.push({sample_time: m.sample_time, beat_time: m.beat_time});
        }
    }
    return out.length > 1 ? out.slice(0, out.length - 1) : out;
}

// Pin the clip's tempo: one straight segment from (0 s, beat 0) to (seconds, clipBeats), so
// Live plays the file at the tempo it was rendered at, whatever its auto-warp guessed (Live's
// manual, "Audio Clips, Tempo, and Warping": auto-warp assumes loops of 1, 2, 4 or 8 bars and
// may be wrong by half or double). Markers between are removed (the render has no tempo
// drift). Clip.move_warp_marker / add_warp_marker / delete_warp_marker: Live 11.0.5+.
// Returns "" or what Live did instead.
function pinWarpMarkers(live, clipPath, timing) {
    var markers = warpMarkers(live, clipPath), i, end = null, tries;
    if (markers === null) {
        return "Live shows no warp markers (tempo left to its auto-warp)";
    }
    for (tries = 0; tries < 2; tries++) {
        end = null;
        for (i = 0; i < markers.length; i++) {
            if (Math.abs(markers[i].sample_time - timing.seconds) <= SAMPLE_EPS) {
                end = markers[i];
            }
        }
        for (i = markers.length - 1; i >= 0; i--) {
            if (markers[i].sample_time > SAMPLE_EPS && markers[i].sample_time < timing.seconds - SAMPLE_EPS) {
                live.call(clipPath, "delete_warp_marker", [markers[i].beat_time]);
            }
        }
        if (end === null) {
            live.call(clipPath, "add_warp_marker", [{beat_time: timing.clipBeats, sample_time: timing.seconds}]);
        } else if (Math.abs(end.beat_time - timing.clipBeats) > EPS) {
            live.call(clipPath, "move_warp_marker", [end.beat_time, round6(timing.clipBeats - end.beat_time)]);
        }
        markers = warpMarkers(live, clipPath) || [];
        end = null;
        for (i = 0; i < markers.length; i++) {
            if (Math.abs(markers[i].sample_time - timing.seconds) <= SAMPLE_EPS) {
                end = markers[i];
            }
        }
        if (end !== null && Math.abs(end.beat_time - timing.clipBeats) <= EPS) {
            return "";
        }
    }
    return "Live kept its own warp markers (the file's end at beat " +
        (end === null ? "?" : round6(end.beat_time)) + ", not " + timing.clipBeats + ")";
}

// Make Live play the clip in time: warped with its tempo pinned (it follows the song tempo),
// looping over the bars asked for, from its start, named. What Live really did is read back
// later (checkClip): Live applies some of these changes after the script's turn.
function configureClip(live, clipPath, timing, name) {
    live.set(clipPath, "warping", 1);
    var pinned = getNumber(live, clipPath, "warping") === 1 ? pinWarpMarkers(live, clipPath, timing) : "later";
    live.set(clipPath, "looping", 1);
    live.set(clipPath, "loop_start", 0);
    live.set(clipPath, "loop_end", timing.loopBeats);
    live.set(clipPath, "start_marker", 0);
    live.set(clipPath, "name", name);
    return {clipPath: clipPath, timing: timing, pinned: pinned === "", looks: 0};
}

// Read back what Live did with a clip's timing (called from the device's timer, after Live's
// turn): warping, the tempo pin, looping, loop start and end, start marker. Returns
// {done, problems}. A clip that Live keeps unwarped plays at the file's own speed, and its
// loop positions are seconds, not beats (LOM Clip: loop_start/loop_end "in absolute clip
// beat time if clip is MIDI or warped", else seconds): the loop is then set in seconds.
function checkClip(live, check) {
    var p = check.clipPath, t = check.timing, problems = [], warped, v;
    check.looks += 1;
    if (live.id(p) === 0) {
        return {done: true, problems: []};           // the user deleted it meanwhile: nothing to say
    }
    warped = getNumber(live, p, "warping") === 1;
    if (!warped && check.looks < 2) {
        live.set(p, "warping", 1);                   // once more, then look again on the next turn
        return {done: false, problems: []};
    }
    if (warped) {
        if (!check.pinned) {
            v = pinWarpMarkers(live, p, t);
            check.pinned = v === "";
            if (v) {
                problems.push(v);
            }
        }
        expect(live, p, "loop_end", t.loopBeats, problems, "loop end", " beats");
    } else {
        live.set(p, "loop_end", t.loopSeconds);
        problems.push("Live kept the clip unwarped: it plays at its own tempo (" + (Math.round(t.bpm * 100) / 100) +
            " bpm), looped over " + t.loopSeconds + " s");
        expect(live, p, "loop_end", t.loopSeconds, problems, "loop end", " s");
    }
    if (getNumber(live, p, "looping") !== 1) {
        problems.push("Live refused looping");
    }
    expect(live, p, "loop_start", 0, problems, "loop start", "");
    expect(live, p, "start_marker", 0, problems, "start marker", "");
    return {done: true, problems: problems};
}

function expect(live, path, prop, wanted, problems, label, unit) {
    var got = getNumber(live, path, prop);
    if (Math.abs(got - wanted) > 1e-3) {
        problems.push(label + " " + round6(got) + unit + " (asked " + round6(wanted) + unit + ")");
    }
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
    return {track: track, undo: versionAtLeast(version, MIN_UNDO_STEP)};
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
    var timing = clipTiming(seconds, bpm, press);
    var name = takeName(take.prompt, take.index + 1, seed);
    var old = press.replace && press.replace[take.index] ? press.replace[take.index] : null;
    var result, elsewhere = "";
    if (old !== null && ((old.trackId !== track.id && old.track !== track.name) || old.kind !== target)) {
        elsewhere = " (the last take is on another track or in the other view: not replaced)";
        old = null;
    }
    // One undo step for everything a take does to the set (create, replace, warp, loop, name):
    // Song.begin_undo_step / end_undo_step, functions of Live's Song (Live's Python API, used by
    // Ableton's own control surface scripts); from Max they are called like any LOM function. A
    // press with several takes still adds one step per take: takes arrive one by one, and an
    // undo step must not stay open while Live runs on between them.
    var undo = checked.undo;
    if (undo) {
        live.call("live_set", "begin_undo_step", []);
    }
    try {
        if (target === "session") {
            result = placeInSession(live, track, trackPath, take, path, timing, name, old);
        } else {
            result = placeInArrangement(live, track, trackPath, take, path, timing, name, old);
        }
    } finally {
        if (undo) {
            live.call("live_set", "end_undo_step", []);
        }
    }
    if (result.placed && elsewhere) {
        result.where += elsewhere;
    }
    return result;
}

function placeInSession(live, track, trackPath, take, path, timing, name, old) {
    var press = take.press, slot = -1, note = "", slotPath;
    if (old !== null && old.kind === "session" && old.slot < live.count(trackPath, "clip_slots")) {
        slotPath = trackPath + " clip_slots " + old.slot;
        if (getNumber(live, slotPath, "has_clip") === 1 &&
                samePath(getString(live, slotPath + " clip", "file_path"), old.path)) {
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
    if (getNumber(live, slotPath, "has_clip") !== 1 || !samePath(getString(live, slotPath + " clip", "file_path"), path)) {
        return {placed: false, where: "", reason: "Live did not create the clip in '" + track.name +
            "' slot " + (slot + 1)};
    }
    var check = configureClip(live, "id " + live.id(slotPath + " clip"), timing, name);
    press.cursor = slot + 1;
    return {placed: true, where: "'" + track.name + "' slot " + (slot + 1) + note, reason: "", check: check,
            placement: {kind: "session", trackId: track.id, track: track.name, slot: slot, path: path}};
}

function placeInArrangement(live, track, trackPath, take, path, timing, name, old) {
    var press = take.press, bar = press.bar, clips = arrangementClips(live, trackPath), note = "";
    var length = timing.clipBeats;
    var start = -1, i, mine = null;
    if (old !== null && old.kind === "arrangement") {
        for (i = 0; i < clips.length; i++) {
            if (samePath(clips[i].path, old.path) && Math.abs(clips[i].start - old.start) < EPS) {
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
        if (before.indexOf(after[i].id) < 0 && samePath(after[i].path, path) && Math.abs(after[i].start - start) < EPS) {
            clip = after[i];
        }
    }
    if (clip === null) {
        return {placed: false, where: "", reason: "Live did not create the clip in the arrangement"};
    }
    var check = configureClip(live, "id " + clip.id, timing, name);
    press.cursor = ceilToBar(start + length, bar);
    return {placed: true, where: "'" + track.name + "' arrangement bar " + (round6(start / bar) + 1) + note,
            reason: "", check: check, placement: {kind: "arrangement", trackId: track.id, track: track.name, start: start,
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
    placeTake: placeTake,
    clipTiming: clipTiming,
    warpMarkers: warpMarkers,
    checkClip: checkClip
};
