// Unit checks of jasco_core.js's pure functions under Node.
//   node unit.js   -> prints {"name": "ok" | "failure message", ...}
"use strict";

const assert = require("assert");
const path = require("path");
const core = require(path.resolve(__dirname, "..", "..", "..", "max_for_live", "jasco_core.js"));
const osc = require("./osc");
const { MockLive, liveParameterValue } = require("./mock_live");
const { Scheduler, Network, PatchInstance } = require("./maxpatch");
const fs = require("fs");

function set(spec) {
  const mock = new MockLive(spec);
  return { mock, live: core.makeLiveAdapter(mock.liveAPIClass()) };
}

const baseSpec = () => ({
  version: [12, 1, 0],
  tracks: [
    { name: "Keys", type: "midi", slots: [null, null] },
    { name: "Audio", type: "audio", slots: [null, null] },
    { name: "Bus", type: "group", slots: [null, null] },
  ],
});

// The bridge's /jasco/queued for the device's oldest pending take: it names the take's tag.
function queue(d, job) {
  d.handleReply("/jasco/queued", [job, 0, d.pendingTags()[0]]);
}

function take(target, trackId, position = 0) {
  return { press: { target, trackId, bar: 4, bars: 2, position, cursor: position, replace: null }, index: 0, prompt: "p" };
}

const tests = {
  // a press placing its takes: press as gather() makes it
  osc_size_matches_the_encoder() {
    const strings = ["", "a", "abc", "abcd", "zoë", "Música 🎹 loops", "x".repeat(1001)];
    for (const s of strings) {
      for (const m of [
        { address: "/jasco/prompt", args: [{ type: "s", value: s }] },
        { address: "/jasco/set", args: [{ type: "s", value: s }, { type: "f", value: 1.5 }, { type: "i", value: 3 }] },
        { address: "/jasco/notes/clear", args: [] },
      ]) {
        assert.strictEqual(core.oscSize(m), osc.encode(m.address, m.args).length, JSON.stringify(s));
      }
      assert.strictEqual(core.utf8Length(s), Buffer.byteLength(s, "utf8"));
    }
  },

  chunks_respect_both_limits() {
    const notes = [];
    for (let i = 0; i < 1000; i++) notes.push({ pitch: i % 128, start: i / 8, duration: 0.125, velocity: 1 + (i % 127) });
    for (const [maxBytes, per] of [[8192, 60], [8192, 1000], [512, 1000], [100, 3]]) {
      const chunks = core.chunkNotes(notes, maxBytes, per);
      let total = 0;
      for (const c of chunks) {
        assert.ok(core.oscSize(c) < maxBytes);
        assert.ok(c.args.length / 4 <= per);
        total += c.args.length / 4;
      }
      assert.strictEqual(total, notes.length);
      const flat = chunks.flatMap((c) => c.args.map((a) => a.value));
      assert.deepStrictEqual(flat, notes.flatMap((n) => [n.pitch, n.start, n.duration, n.velocity]));
    }
    assert.throws(() => core.chunkNotes(notes, 40, 10), /too small for one note/);
    assert.deepStrictEqual(core.chunkNotes([], 8192, 60), []);
  },

  oversized_message_is_refused() {
    const req = { replyPort: 1, bpm: 120, numerator: 4, denominator: 4, notes: null, prompt: "p",
      params: [], drums: "/".repeat(9000), takes: [{ seed: 1, tag: "t" }] };
    assert.throws(() => core.buildGenerateMessages(req), (e) => e instanceof core.DeviceError &&
      /\/jasco\/drums would be \d+ bytes; packets must stay under 8192/.test(e.message));
  },

  non_audio_target_falls_back() {
    const { live } = set(baseSpec());
    const tracks = core.listTracks(live);
    assert.deepStrictEqual(tracks.map((t) => [t.name, t.audio]), [["Keys", false], ["Audio", true], ["Bus", false]]);
    for (const t of [tracks[0], tracks[2]]) {
      for (const target of [0, 1]) {
        const r = core.placeTake(live, take(target, t.id), "/tmp/x.wav", 4, 120, 7);
        assert.deepStrictEqual([r.placed, r.reason], [false, `track '${t.name}' is not an audio track`]);
      }
    }
    const ok = core.placeTake(live, take(0, tracks[1].id), "/tmp/x.wav", 4, 120, 7);
    assert.strictEqual(ok.placed, true);
    assert.strictEqual(ok.where, "'Audio' slot 1");
  },

  deleted_target_track_falls_back() {
    const { live } = set(baseSpec());
    const r = core.placeTake(live, take(0, 999), "/tmp/x.wav", 4, 120, 7);
    assert.deepStrictEqual([r.placed, r.reason], [false, "no target audio track (add one and pick it)"]);
  },

  live_refusing_the_file_is_reported() {
    // a script error inside create_audio_clip: the device says so instead of crashing.
    const spec = baseSpec();
    const { mock } = set(spec);
    const api = mock.liveAPIClass();
    const throwing = core.makeLiveAdapter(class extends api {
      call(fn, ...args) { if (fn === "create_audio_clip") throw new Error("file not found"); return super.call(fn, ...args); }
    });
    const sent = [], ui = [];
    const d = core.createDevice({ live: throwing, send: (m) => sent.push(m), ui: (...a) => ui.push(a) });
    d.refreshTracks();
    d.setting("prompt", ["p"]);
    d.setting("chords", [2]);
    assert.ok(d.generate());
    d.handleReply("/jasco/queued", ["j1", 0]);
    const r = d.handleReply("/jasco/done", ["j1", "/tmp/gone.wav", 1.0, 120.0]);
    assert.strictEqual(r.placed, false);
    assert.match(d.status(), /; Live refused: file not found: drag in \/tmp\/gone.wav$/);
  },

  live_that_prints_instead_of_creating_is_reported() {
    // Live prints an error and returns nothing when it refuses a file: nothing is placed, and a
    // clip of the user's is neither taken for ours nor renamed
    const spec = baseSpec();
    spec.tracks[1].arrangement = [{ name: "mine", midi: false, file_path: "/tmp/mine.wav", start_time: 4, end_time: 8 }];
    const { mock } = set(spec);
    const api = mock.liveAPIClass();
    const silent = core.makeLiveAdapter(class extends api {
      call(fn, ...args) { return fn === "create_audio_clip" ? undefined : super.call(fn, ...args); }
    });
    const audio = core.listTracks(silent)[1];
    const s = core.placeTake(silent, take(0, audio.id), "/tmp/x.wav", 2, 120, 7);
    assert.deepStrictEqual([s.placed, s.reason], [false, "Live did not create the clip in 'Audio' slot 1"]);
    const a = core.placeTake(silent, take(1, audio.id, 8), "/tmp/x.wav", 2, 120, 7);
    assert.deepStrictEqual([a.placed, a.reason], [false, "Live did not create the clip in the arrangement"]);
    assert.deepStrictEqual(mock.snapshot().tracks[1].arrangement.map((c) => c.name), ["mine"]);
  },

  arrangement_never_overwrites_a_clip() {
    // the user's clip fills bars 9-10 (beats 32..40); the press asks for bar 9: Live's
    // create_audio_clip would replace the user's audio, so the takes go to bars 11 and 13
    const spec = baseSpec();
    spec.tempo = 120;
    spec.default_file_seconds = 4;       // two 4/4 bars at 120 bpm
    spec.tracks[1].arrangement = [{ name: "mine", midi: false, file_path: "/tmp/mine.wav", start_time: 32, end_time: 40 }];
    const { mock, live } = set(spec);
    const audio = core.listTracks(live)[1];
    const press = { target: 1, trackId: audio.id, bar: 4, bars: 2, position: core.arrangementStart(33.37, false, 4),
      replace: null };
    press.cursor = press.position;
    assert.strictEqual(press.position, 32);
    const r1 = core.placeTake(live, { press, index: 0, prompt: "p" }, "/tmp/t1.wav", 4, 120, 11);
    const r2 = core.placeTake(live, { press, index: 1, prompt: "p" }, "/tmp/t2.wav", 4, 120, 12);
    assert.deepStrictEqual([r1.where, r2.where], ["'Audio' arrangement bar 11 (bar 9 was taken)", "'Audio' arrangement bar 13"]);
    const clips = mock.snapshot().tracks[1].arrangement;
    assert.deepStrictEqual(clips.map((c) => [c.name, c.start_time, c.end_time]),
      [["mine", 32, 40], ["p \u00b7 take 1 \u00b7 seed 11", 40, 48], ["p \u00b7 take 2 \u00b7 seed 12", 48, 56]]);
    assert.ok(!mock.log.some((e) => e.op === "replaced"));
    assert.deepStrictEqual(mock.console, []);
    // what the mock does, as Live does, when asked to overlap: the user's clip is cut
    mock.call(mock.song.tracks[1], "create_audio_clip", ["/tmp/over.wav", 30]);
    assert.deepStrictEqual(mock.snapshot().tracks[1].arrangement.map((c) => [c.name, c.start_time, c.end_time]).slice(0, 2),
      [["over", 30, 38], ["mine", 38, 40]]);
  },

  session_takes_go_to_consecutive_free_slots() {
    const spec = baseSpec();
    spec.tracks[1].slots = [{ name: "a", midi: false, file_path: "/tmp/a.wav" }, null,
      { name: "b", midi: false, file_path: "/tmp/b.wav" }, null];
    const { mock, live } = set(spec);
    const audio = core.listTracks(live)[1];
    const press = { target: 0, trackId: audio.id, bar: 4, bars: 2, position: 0, cursor: 0, replace: null };
    const wheres = [1, 2, 3].map((k) => core.placeTake(live, { press, index: k - 1, prompt: "p" }, `/tmp/t${k}.wav`, 4, 120, k).where);
    assert.deepStrictEqual(wheres, ["'Audio' slot 2", "'Audio' slot 4", "'Audio' slot 5"]);
    const slots = mock.snapshot().tracks[1].slots;
    assert.deepStrictEqual(slots.map((c) => c && c.file_path), ["/tmp/a.wav", "/tmp/t1.wav", "/tmp/b.wav", "/tmp/t2.wav", "/tmp/t3.wav"]);
    assert.deepStrictEqual([slots[1].looping, slots[1].warping, slots[1].loop_end], [1, 1, 8]);
    // a full slot is never asked for: Live would print "the clip slot is not empty"
    assert.deepStrictEqual(mock.console, []);
  },

  replace_last_take_reuses_its_slot_only_if_still_ours() {
    const spec = baseSpec();
    spec.tracks[1].slots = [null, null, null];
    const { mock, live } = set(spec);
    const sent = [];
    const d = core.createDevice({ live, send: (m) => sent.push(m), ui: () => {}, random: () => 0.5 });
    d.refreshTracks();
    d.setting("prompt", ["p"]);
    d.setting("chords", [2]);
    d.setting("takes", [2]);
    d.generate();
    queue(d, "j1");
    d.handleReply("/jasco/done", ["j1", "/tmp/1a.wav", 2, 120]);
    queue(d, "j2");
    d.handleReply("/jasco/done", ["j2", "/tmp/1b.wav", 2, 120]);
    d.setting("replace_last", [1]);
    d.generate();
    queue(d, "j3");
    d.handleReply("/jasco/done", ["j3", "/tmp/2a.wav", 2, 120, 777]);
    assert.match(d.status(), /seed 777 in 'Audio' slot 1 \(replacing the last take\)$/);
    // the user put their own clip where take 2 was: it is not replaced
    const slot = mock.song.tracks[1].clip_slots[1];
    mock.call(slot, "delete_clip", []);
    mock.call(slot, "create_audio_clip", ["/tmp/users.wav"]);
    queue(d, "j4");
    d.handleReply("/jasco/done", ["j4", "/tmp/2b.wav", 2, 120]);
    assert.match(d.status(), /in 'Audio' slot 3 \(the last take's clip was changed or moved: not replaced\)$/);
    assert.deepStrictEqual(mock.snapshot().tracks[1].slots.map((c) => c && c.file_path),
      ["/tmp/2a.wav", "/tmp/users.wav", "/tmp/2b.wav"]);
    assert.strictEqual(mock.snapshot().tracks[1].slots[0].name, "p \u00b7 take 1 \u00b7 seed 777");
  },

  replace_last_take_in_the_arrangement() {
    const spec = baseSpec();
    spec.tempo = 120;
    // stopped: the insert marker (Song.start_time) is at bar 9, the playhead stopped at bar 13
    spec.start_time = 32;
    spec.current_song_time = 50;
    spec.file_seconds = { "/tmp/long.wav": 8 };                    // four bars
    spec.default_file_seconds = 4;                                 // two bars at 120 bpm
    spec.tracks[1].arrangement = [{ name: "mine", midi: false, file_path: "/tmp/mine.wav", start_time: 40, end_time: 48 }];
    const { mock, live } = set(spec);
    const d = core.createDevice({ live, send: () => {}, ui: () => {}, random: () => 0.5 });
    d.refreshTracks();
    for (const [k, v] of [["prompt", "p"], ["chords", 2], ["target", 1], ["bars", 2]]) d.setting(k, [v]);
    d.generate();
    queue(d, "j1");
    d.handleReply("/jasco/done", ["j1", "/tmp/one.wav", 4, 120]);
    d.setting("replace_last", [1]);
    d.generate();
    queue(d, "j2");
    d.handleReply("/jasco/done", ["j2", "/tmp/two.wav", 4, 120]);
    assert.match(d.status(), /in 'Audio' arrangement bar 9 \(replacing the last take\)$/);
    const names = () => mock.snapshot().tracks[1].arrangement.map((c) => [c.file_path, c.start_time, c.end_time]);
    assert.deepStrictEqual(names(), [["/tmp/two.wav", 32, 40], ["/tmp/mine.wav", 40, 48]]);
    // a longer take would cut into the user's clip after it: it goes to the next free place instead
    d.generate();
    queue(d, "j3");
    d.handleReply("/jasco/done", ["j3", "/tmp/long.wav", 8, 120]);
    assert.match(d.status(), /in 'Audio' arrangement bar 13 \(the last take's clip was changed, moved or is too short: not replaced\)$/);
    assert.deepStrictEqual(names(), [["/tmp/two.wav", 32, 40], ["/tmp/mine.wav", 40, 48], ["/tmp/long.wav", 48, 64]]);
    assert.ok(!mock.log.some((e) => e.op === "replaced"));
    assert.deepStrictEqual(mock.console, []);
  },

  takes_get_fresh_seeds_unless_locked() {
    const { live } = set(baseSpec());
    const sent = [];
    let r = 0.25;
    const d = core.createDevice({ live, send: (m) => sent.push(m), ui: () => {}, random: () => { r += 0.125; return r; } });
    d.refreshTracks();
    d.setting("prompt", ["p"]);
    d.setting("chords", [2]);
    d.setting("takes", [3]);
    const seeds = () => sent.splice(0).filter((m) => m.address === "/jasco/set" && m.args[0].value === "seed")
      .map((m) => m.args[1].value);
    d.generate();
    const first = seeds();
    d.generate();
    const second = seeds();
    // drawn from 0..2^24-1: exact in a 32-bit float (Max and Live parameters hold those)
    // (the first random number made the device's tag mark)
    assert.deepStrictEqual(first, [8388608, 8388609, 8388610]);
    assert.deepStrictEqual(second, [10485760, 10485761, 10485762]);
    assert.strictEqual(d.settings().seed, 10485760);            // shown in the seed box
    assert.ok(first.concat(second).every((v) => Math.fround(v) === v));
    d.setting("lock_seed", [1]);
    d.generate();
    assert.deepStrictEqual(seeds(), [10485760, 10485761, 10485762]);  // locked: the same takes again
    // recall a take's seed from the takes menu
    queue(d, "j1");
    d.handleReply("/jasco/done", ["j1", "/tmp/a.wav", 2, 120]);
    queue(d, "j2");
    d.handleReply("/jasco/done", ["j2", "/tmp/b.wav", 2, 120, 375001]);
    d.setting("lock_seed", [0]);
    d.setting("take_choice", [0]);                               // newest first
    assert.ok(d.recall());
    assert.deepStrictEqual([d.settings().seed, d.settings().lock_seed], [375001, 1]);
    d.setting("takes", [1]);
    d.generate();
    assert.deepStrictEqual(seeds(), [375001]);
  },

  a_chord_struck_early_is_read() {
    // loop 4..12; the chord struck at 3.99 (0.01 beat early) and a bass note held from beat 2
    const spec = baseSpec();
    spec.tracks[0].slots[0] = { name: "c", midi: true, loop_start: 4, loop_end: 12, notes: [
      { pitch: 60, start_time: 3.99, duration: 2, velocity: 100 },
      { pitch: 64, start_time: 3.99, duration: 2, velocity: 100 },
      { pitch: 67, start_time: 3.99, duration: 2, velocity: 100 },
      { pitch: 36, start_time: 2.0, duration: 6, velocity: 90 },
      { pitch: 40, start_time: 2.0, duration: 2.03, velocity: 90 },      // released just after: not held
      { pitch: 50, start_time: 1.0, duration: 1.0, velocity: 90 },       // over before the loop
    ] };
    const { mock, live } = set(spec);
    // Live (and the mock) select notes by start time: asking from the loop start misses the chord
    const naive = JSON.parse(mock.call(mock.song.tracks[0].clip_slots[0].clip, "get_notes_extended", [0, 128, 4, 8]));
    assert.deepStrictEqual(naive.notes, []);
    const clip = core.readClipNotes(live, "live_set tracks 0 clip_slots 0 clip");
    assert.deepStrictEqual(clip.notes, [
      { pitch: 36, start: 0, duration: 4, velocity: 90 },
      { pitch: 60, start: 0, duration: 1.99, velocity: 100 },
      { pitch: 64, start: 0, duration: 1.99, velocity: 100 },
      { pitch: 67, start: 0, duration: 1.99, velocity: 100 },
    ]);
  },

  saved_state_round_trips_and_a_bad_one_is_refused() {
    const { live } = set(baseSpec());
    const saved = [];
    const a = core.createDevice({ live, send: () => {}, ui: (...m) => { if (m[0] === "state") saved.push(m[1]); } });
    a.refreshTracks();
    a.setting("prompt", ["text", 'lofi; "quoted", back\\slash, 92 bpm']);
    a.setting("target_track", [0]);
    const blob = saved[saved.length - 1];
    assert.match(blob, /^[A-Za-z0-9%_.!~*'()-]+$/);
    const shown = [];
    const b = core.createDevice({ live, send: () => {}, ui: (...m) => shown.push(m) });
    assert.strictEqual(b.setting("state", [blob]), true);
    assert.strictEqual(b.settings().prompt, 'lofi; "quoted", back\\slash, 92 bpm');
    assert.deepStrictEqual(shown.find((m) => m[0] === "prompt"), ["prompt", "set", 'lofi; "quoted", back\\slash, 92 bpm']);
    for (const bad of ["%E0%A4%A", encodeURIComponent("[1, 2]"), encodeURIComponent("null")]) {
      assert.strictEqual(b.setting("state", [bad]), false);
      assert.strictEqual(b.status(), "Device: the saved device state is unreadable; starting fresh");
    }
    // entries of the wrong shape are dropped, the rest is used
    const odd = encodeURIComponent(JSON.stringify({ prompt: "p", history: [1, { take: 1, seed: 5, where: "", path: "/a" }],
      last: [{ kind: "session", slot: "x", path: "/a", track: "Audio" }] }));
    assert.strictEqual(b.setting("state", [odd]), true);
    b.setting("take_choice", [0]);
    assert.ok(b.recall());
    assert.strictEqual(b.settings().seed, 5);
  },

  live_parameters_are_clamped_by_type() {
    // Max for Live parameter reference: Live's native integer parameter holds 0..255
    const asInt = { parameter_type: 1, parameter_mmin: 1, parameter_mmax: 65535 };
    const asFloatInt = { parameter_type: 0, parameter_mmin: 1, parameter_mmax: 65535, parameter_unitstyle: 0 };
    assert.strictEqual(liveParameterValue(asInt, 9001), 255);
    assert.strictEqual(liveParameterValue(asFloatInt, 9001), 9001);
    assert.strictEqual(liveParameterValue(asFloatInt, 9001.4), 9001);
    assert.strictEqual(liveParameterValue({ parameter_type: 2, parameter_enum: ["a", "b"] }, 5), 1);
    assert.strictEqual(liveParameterValue({ parameter_type: 0, parameter_mmin: -20, parameter_mmax: 20,
      parameter_unitstyle: 1 }, 4.5), 4.5);
  },

  replies_keep_their_order_only_through_deferlow() {
    // a burst of replies arriving on the scheduler thread in one go, through the generated
    // patcher, and through the same patcher with [deferlow] bypassed
    const patcher = JSON.parse(fs.readFileSync(path.resolve(__dirname, "..", "..", "..", "max_for_live", "jasco.maxpat"), "utf8")).patcher;
    const orders = [];
    for (const bypass of [false, true]) {
      const p = JSON.parse(JSON.stringify(patcher));
      if (bypass) {
        const id = (t) => p.boxes.find((b) => (b.box.text || "").startsWith(t)).box.id;
        const [recv, defer, js] = [id("udpreceive"), id("deferlow"), id("js ")];
        p.lines = p.lines.filter((l) => l.patchline.destination[0] !== defer);
        p.lines.push({ patchline: { source: [recv, 0], destination: [js, 1] } });
      }
      const { mock } = set(baseSpec());
      const scheduler = new Scheduler();
      const inst = new PatchInstance(p, { LiveAPI: mock.liveAPIClass(), scheduler, network: { send() {}, listen() { return null; },
        close() {} }, stored: {}, bundle: path.resolve(__dirname, "..", "..", "..", "max_for_live", "jasco.js"), post() {} });
      const seen = [];
      const js = inst.js();
      const handle = js.jascoDevice.handleReply;
      js.jascoDevice.handleReply = (address, args) => { seen.push(address); return handle(address, args); };
      const recv = [...inst.objects.values()].find((o) => (o.box.text || "").startsWith("udpreceive"));
      const burst = ["/jasco/queued", "/jasco/started", "/jasco/progress", "/jasco/done"];
      scheduler.atHigh(() => { for (const a of burst) inst.out(recv.box.id, 0, [a, "j1", 0.5]); });
      while (scheduler.queue.length) scheduler.queue.shift()();
      orders.push(seen);
    }
    assert.deepStrictEqual(orders[0], ["/jasco/queued", "/jasco/started", "/jasco/progress", "/jasco/done"]);
    assert.deepStrictEqual(orders[1], ["/jasco/done", "/jasco/progress", "/jasco/started", "/jasco/queued"]);
  },

  version_compare() {
    assert.ok(core.versionAtLeast([12, 0, 5], [12, 0, 5]));
    assert.ok(core.versionAtLeast([12, 1, 0], [12, 0, 5]));
    assert.ok(!core.versionAtLeast([12, 0, 4], [12, 0, 5]));
    assert.ok(!core.versionAtLeast([11, 3, 25], [12, 0, 5]));
  },

  notes_as_object_or_json_string() {
    const spec = baseSpec();
    spec.tracks[0].slots[0] = { name: "c", midi: true, loop_start: 1, loop_end: 3,
      notes: [{ pitch: 60, start_time: 1.5, duration: 4, velocity: 127.6 }] };
    const { mock } = set(spec);
    const api = mock.liveAPIClass();
    const asObject = core.makeLiveAdapter(class extends api {
      call(fn, ...args) { const r = super.call(fn, ...args); return fn === "get_notes_extended" ? JSON.parse(r) : r; }
    });
    for (const live of [core.makeLiveAdapter(api), asObject]) {
      const clip = core.readClipNotes(live, "live_set tracks 0 clip_slots 0 clip");
      assert.deepStrictEqual(clip, { notes: [{ pitch: 60, start: 0.5, duration: 1.5, velocity: 127 }], length: 2 });
    }
  },

  live_10_has_no_notes_api() {
    const spec = baseSpec();
    spec.version = [10, 1, 30];
    spec.tracks[0].slots[0] = { name: "c", midi: true, loop_start: 0, loop_end: 4, notes: [] };
    spec.selected_clip = [0, 0];
    const { mock, live } = set(spec);
    assert.throws(() => core.readClipNotes(live, "live_set tracks 0 clip_slots 0 clip"), (e) =>
      e instanceof core.DeviceError &&
      e.message === "reading a chords clip needs Live 11 or later (this is Live 10.1.30): set Chords to 'none'");
    assert.deepStrictEqual(mock.log, []);     // get_notes_extended was not even tried
    // through the device: the refusal is on the status line and nothing of the request goes out
    const sent = [];
    const d = core.createDevice({ live, send: (m) => sent.push(m.address), ui: () => {} });
    d.setting("prompt", ["p"]);
    assert.strictEqual(d.generate(), null);
    assert.strictEqual(d.status(),
      "Device: reading a chords clip needs Live 11 or later (this is Live 10.1.30): set Chords to 'none'");
    assert.deepStrictEqual(sent, []);
  },

  error_without_its_empty_job_is_still_an_error() {
    // Max may drop the empty symbol that is the job of an error about a message
    const { live } = set(baseSpec());
    const d = core.createDevice({ live, send: () => {}, ui: () => {} });
    assert.deepStrictEqual(d.handleReply("/jasco/error", ["bad_value", "steps must be >= 1"]), { ok: true });
    assert.strictEqual(d.status(), "Error [bad_value]: steps must be >= 1");
    assert.strictEqual(d.handleReply("/jasco/error", ["j1"]).ok, false);
    assert.strictEqual(d.status(), "Bridge: /jasco/error needs 3 arguments, got 1");
  },

  every_generate_starts_from_a_clean_session() {
    // a model picked once must not stick when the menu goes back to "server default"
    const { live } = set(baseSpec());
    const sent = [];
    const d = core.createDevice({ live, send: (m) => sent.push(m), ui: () => {} });
    d.refreshTracks();
    d.setting("prompt", ["p"]);
    d.setting("chords", [2]);
    d.setting("model", [1]);
    assert.ok(d.generate());
    const first = sent.splice(0);
    d.setting("model", [0]);
    assert.ok(d.generate());
    const models = (ms) => ms.filter((m) => m.address === "/jasco/set" && m.args[0].value === "model")
      .map((m) => m.args[1].value);
    assert.deepStrictEqual(models(first), ["tiny"]);
    assert.deepStrictEqual(models(sent), []);
    for (const ms of [first, sent]) {
      assert.deepStrictEqual(ms.slice(0, 2).map((m) => [m.address, m.args.length]),
        [["/jasco/hello", 1], ["/jasco/reset", 0]]);
    }
  },

  clip_names() {
    assert.strictEqual(core.clipName("  warm\n lofi   piano "), "warm lofi piano");
    assert.strictEqual(core.clipName(""), "JASCO");
    assert.strictEqual(core.clipName("x".repeat(100)).length, 60);
  },

  // Live Reference Manual, "Audio Clips, Tempo, and Warping" > "Syncing Straight Loops": auto-warp
  // assumes 1, 2, 4 or 8 bars and may guess half or double the tempo (the mock guesses a
  // power-of-two number of bars at 90..180 bpm). LOM Clip (https://docs.cycling74.com/apiref/lom/clip):
  // warp_markers, move_warp_marker, add_warp_marker (Live 11.0.5+); loop_end in beats when warped.
  three_bar_and_ten_second_clips_get_explicit_timing() {
    for (const target of [0, 1]) {
      const spec = baseSpec();
      spec.tempo = 120;
      spec.file_seconds = { "/tmp/three.wav": 6, "/tmp/ten.wav": 10 };
      const { mock, live } = set(spec);
      const audio = core.listTracks(live)[1];
      // Live's own guess is wrong for both: 6 s -> 4 bars (160 bpm), 10 s -> 4 bars (96 bpm)
      assert.deepStrictEqual([6, 10].map(require("./mock_live").autoWarpBeats), [16, 16]);
      const three = { press: { target, trackId: audio.id, bar: 4, bars: 3, position: 0, cursor: 0, replace: null }, index: 0, prompt: "p" };
      const ten = { press: { target, trackId: audio.id, bar: 4, bars: 0, position: 64, cursor: 64, replace: null }, index: 0, prompt: "q" };
      const r3 = core.placeTake(live, three, "/tmp/three.wav", 6, 120, 1);
      const r10 = core.placeTake(live, ten, "/tmp/ten.wav", 10, 120, 2);
      assert.ok(r3.placed && r10.placed, JSON.stringify([r3, r10]));
      mock.settle();                                   // Live's next turn
      for (const [r, seconds, beats] of [[r3, 6, 12], [r10, 10, 20]]) {
        const clip = mock.objects.get(Number(r.check.clipPath.split(" ")[1]));
        const end = clip.markers.find((m) => Math.abs(m.sample_time - seconds) < 1e-6);
        assert.ok(end && Math.abs(end.beat_time - beats) < 1e-6, JSON.stringify(clip.markers));
        assert.deepStrictEqual([clip.props.warping, clip.props.looping, clip.props.loop_start, clip.props.loop_end,
          clip.props.start_marker], [1, 1, 0, beats, 0]);
        if (target === 1) assert.strictEqual(clip.props.end_time - clip.props.start_time, beats);
        assert.deepStrictEqual(core.checkClip(live, r.check), { done: true, problems: [] });
      }
      assert.deepStrictEqual(mock.console, []);
    }
  },

  live_keeping_a_clip_unwarped_is_said_and_its_loop_is_in_seconds() {
    // LOM Clip: loop_start/loop_end are "in absolute clip beat time if clip is MIDI or warped",
    // so for an unwarped clip they are seconds; Live refuses a loop end after the sample's end.
    const spec = baseSpec();
    spec.tempo = 120;
    spec.warp_refused = true;
    spec.file_seconds = { "/tmp/three.wav": 6 };
    const { mock, live } = set(spec);
    let t = 0;
    const ui = [];
    const d = core.createDevice({ live, send: () => {}, ui: (...a) => ui.push(a), now: () => t, random: () => 0.25 });
    d.refreshTracks();
    for (const [k, v] of [["prompt", "p"], ["chords", 2], ["bars", 3]]) d.setting(k, [v]);
    d.generate();
    d.handleReply("/jasco/queued", ["j1", 0, d.pendingTags()[0]]);
    d.handleReply("/jasco/done", ["j1", "/tmp/three.wav", 6, 120]);
    assert.match(d.status(), /^Done/);
    for (let k = 0; k < 4; k++) { mock.settle(); t += 400; d.tick(); }
    assert.match(d.status(), /^Timing of 'p' seed \d+: Live kept the clip unwarped: it plays at its own tempo \(120 bpm\), looped over 6 s/);
    const clip = mock.song.tracks[1].clip_slots[0].clip;
    assert.deepStrictEqual([clip.props.warping, clip.props.loop_end], [0, 6]);
    assert.strictEqual(d.checksLeft(), 0);
  },

  two_devices_on_one_reply_port_place_only_their_own() {
    // Two devices can share one reply port in Live (Ableton/m4l-connection-kit issue 9): both
    // see every reply. Each queued names the generate's tag, so each device takes only its jobs.
    const spec = baseSpec();
    spec.tracks.push({ name: "Other", type: "audio", slots: [null, null] });
    spec.devices = 2;
    const mock = new MockLive(spec);
    const make = (k, r) => core.createDevice({ live: core.makeLiveAdapter(mock.liveAPIClass(k)), send: () => {},
      ui: () => {}, random: () => r });
    const a = make(0, 0.11), b = make(1, 0.77);
    for (const [d, track] of [[a, 0], [b, 1]]) {
      d.refreshTracks();
      for (const [k, v] of [["prompt", "p"], ["chords", 2], ["target_track", track]]) d.setting(k, [v]);
      d.generate();
    }
    const replies = [
      ["/jasco/queued", ["jb", 0, b.pendingTags()[0]]], ["/jasco/queued", ["ja", 1, a.pendingTags()[0]]],
      ["/jasco/started", ["jb"]], ["/jasco/done", ["jb", "/tmp/b.wav", 2, 120]],
      ["/jasco/started", ["ja"]], ["/jasco/done", ["ja", "/tmp/a.wav", 2, 120]],
    ];
    for (const [address, args] of replies) for (const d of [a, b]) d.handleReply(address, args);
    const snap = mock.snapshot();
    assert.deepStrictEqual(snap.tracks[1].slots.map((c) => c && c.file_path), ["/tmp/a.wav", null]);
    assert.deepStrictEqual(snap.tracks[3].slots.map((c) => c && c.file_path), ["/tmp/b.wav", null]);
    assert.deepStrictEqual([Object.keys(a.jobs()), Object.keys(b.jobs())], [["ja"], ["jb"]]);
    assert.match(a.status(), /in 'Audio' slot 1$/);
    assert.match(b.status(), /in 'Other' slot 1$/);
  },

  a_clip_is_recognised_by_its_file_whatever_the_spelling() {
    // the bridge sends absolute paths with symlinks resolved; Live may report its own spelling
    const fs = require("fs"), os = require("os");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "jasco-paths-"));
    fs.mkdirSync(path.join(dir, "real"));
    fs.symlinkSync(path.join(dir, "real"), path.join(dir, "link"));
    const file = path.join(dir, "link", "x.wav");
    fs.writeFileSync(path.join(dir, "real", "x.wav"), "");
    assert.ok(core.samePath("Macintosh HD:/Users/me/Music//jasco/./a.wav", "/users/me/music/jasco/a.wav"));
    assert.ok(core.samePath("C:\\Users\\me\\a.wav", "c:/Users/me/x/../a.wav"));
    assert.ok(!core.samePath("/a/b.wav", "/a/c.wav") && !core.samePath("", ""));
    const spec = baseSpec();
    spec.real_paths = true;                 // Live reports where the file really is
    const { mock, live } = set(spec);
    const audio = core.listTracks(live)[1];
    const r = core.placeTake(live, take(0, audio.id), fs.realpathSync(path.join(dir, "real", "x.wav")), 4, 120, 7);
    assert.ok(r.placed, r.reason);
    const viaLink = core.placeTake(live, take(0, audio.id), file, 4, 120, 8);
    // a symlinked spelling the device cannot resolve itself: Live's real path differs, so the
    // bridge resolves it before it says /jasco/done (bridge/worker.py), and the device says so here
    assert.ok(!viaLink.placed && /Live did not create the clip/.test(viaLink.reason));
    fs.rmSync(dir, { recursive: true });
    assert.deepStrictEqual(mock.console, []);
  },

  one_undo_step_per_take() {
    const spec = baseSpec();
    spec.tempo = 120;
    spec.file_seconds = { "/tmp/three.wav": 6 };
    const { mock, live } = set(spec);
    const audio = core.listTracks(live)[1];
    const three = { press: { target: 0, trackId: audio.id, bar: 4, bars: 3, position: 0, cursor: 0, replace: null }, index: 0, prompt: "p" };
    const before = mock.undoSteps;
    core.placeTake(live, three, "/tmp/three.wav", 6, 120, 1);
    assert.strictEqual(mock.undoSteps - before, 1);
    assert.deepStrictEqual(mock.log.filter((e) => e.op === "undo").map((e) => e.fn), ["begin_undo_step", "end_undo_step"]);
    // without the step, the same placement is several steps (create, warp, loop, name, ...)
    const { mock: bare, live: bareLive } = set(spec);
    const plain = core.makeLiveAdapter(class extends bare.liveAPIClass() {
      call(fn, ...args) { return fn.endsWith("_undo_step") ? undefined : super.call(fn, ...args); }
    });
    const three2 = { press: { ...three.press, cursor: 0 }, index: 0, prompt: "p" };
    core.placeTake(plain, three2, "/tmp/three.wav", 6, 120, 1);
    assert.ok(bare.undoSteps > 3, `${bare.undoSteps}`);
    assert.ok(bareLive);
  },

  drums_from_an_arrangement_clip_send_the_region_that_plays() {
    // drums scene 0: the Arrangement clip on the drums track at the insert marker (Song.start_time);
    // a warped clip's loop (beats) becomes seconds of its file through its warp markers
    const spec = baseSpec();
    spec.tempo = 120;
    spec.start_time = 18;
    spec.file_seconds = { "/tmp/break.wav": 8 };
    spec.tracks[1].arrangement = [{ name: "break", midi: false, file_path: "/tmp/break.wav", start_time: 16, end_time: 24,
      warping: 1, looping: 1, loop_start: 2, loop_end: 6,
      markers: [{ sample_time: 0, beat_time: 0 }, { sample_time: 8, beat_time: 16 }] }];
    const { live } = set(spec);
    const sent = [];
    const d = core.createDevice({ live, send: (m) => sent.push(m), ui: () => {}, random: () => 0.5 });
    d.refreshTracks();
    for (const [k, v] of [["prompt", "p"], ["chords", 2], ["drums_track", 1], ["drums_scene", 0]]) d.setting(k, [v]);
    assert.ok(d.generate(), d.status());
    const drums = sent.find((m) => m.address === "/jasco/drums");
    assert.deepStrictEqual(drums.args.map((a) => [a.type, a.value]), [["s", "/tmp/break.wav"], ["f", 1], ["f", 3]]);
    // nothing at the insert marker: said, nothing sent
    const empty = set({ ...spec, start_time: 40 });
    const e = core.createDevice({ live: empty.live, send: () => {}, ui: () => {}, random: () => 0.5 });
    e.refreshTracks();
    for (const [k, v] of [["prompt", "p"], ["chords", 2], ["drums_track", 1], ["drums_scene", 0]]) e.setting(k, [v]);
    assert.strictEqual(e.generate(), null);
    assert.match(e.status(), /no Arrangement clip on drums track 'Audio' at beat 40/);
  },

  chords_from_the_arrangement_clip_playing_on_the_track() {
    // Arrangement playback: Track.playing_slot_index is -1; the clip under the playhead is read
    const spec = baseSpec();
    spec.is_playing = 1;
    spec.current_song_time = 5;
    spec.tracks[0].arrangement = [{ name: "chords", midi: true, start_time: 4, end_time: 8, loop_start: 0, loop_end: 4,
      notes: [{ pitch: 60, start_time: 0, duration: 4, velocity: 90 }] }];
    const { live } = set(spec);
    const sent = [];
    const d = core.createDevice({ live, send: (m) => sent.push(m), ui: () => {}, random: () => 0.5 });
    d.refreshTracks();
    for (const [k, v] of [["prompt", "p"], ["chords", 1]]) d.setting(k, [v]);
    assert.ok(d.generate(), d.status());
    const add = sent.find((m) => m.address === "/jasco/notes/add");
    assert.deepStrictEqual(add.args.map((a) => a.value), [60, 0, 4, 90]);
  },

  the_track_list_costs_two_live_objects_however_long() {
    const spec = baseSpec();
    for (let i = 0; i < 200; i++) spec.tracks.push({ name: `t${i}`, type: i % 2 ? "audio" : "midi", slots: [null, null] });
    const { mock, live } = set(spec);
    core.listTracks(live);                 // the adapter's reusable object exists from here on
    const before = mock.created;
    const tracks = core.listTracks(live);
    assert.strictEqual(tracks.length, 203);
    assert.ok(mock.created - before <= 2, `${mock.created - before} LiveAPI objects`);
    assert.deepStrictEqual(core.findTrack(live, tracks[150].id), tracks[150]);
  },

  replies_for_unknown_jobs_do_not_crash() {
    const { live } = set(baseSpec());
    const ui = [];
    const d = core.createDevice({ live, send: () => {}, ui: (...a) => ui.push(a) });
    assert.deepStrictEqual(d.handleReply("/jasco/progress", ["nobody", 0.3]), { ok: true });
    const r = d.handleReply("/jasco/done", ["nobody", "/tmp/a.wav", 1, 120]);
    assert.deepStrictEqual([r.placed, r.reason], [false, "not this device's job"]);
    assert.strictEqual(d.status(), "");                          // another device's job: not shown
    assert.strictEqual(d.handleReply("/jasco/status", ["idle", 0, "tiny", "cpu"]).ok, true);
    assert.strictEqual(d.status(), "Bridge idle, 0 queued, model tiny on cpu");
  },
};

const results = {};
for (const [name, fn] of Object.entries(tests)) {
  try {
    fn();
    results[name] = "ok";
  } catch (e) {
    results[name] = e.stack || String(e);
  }
}
process.stdout.write(JSON.stringify(results) + "\n");
