// Unit checks of jasco_core.js's pure functions under Node.
//   node unit.js   -> prints {"name": "ok" | "failure message", ...}
"use strict";

const assert = require("assert");
const path = require("path");
const core = require(path.resolve(__dirname, "..", "..", "..", "max_for_live", "jasco_core.js"));
const osc = require("./osc");
const { MockLive } = require("./mock_live");

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

const tests = {
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
      params: [], drums: "/".repeat(9000), tag: "t" };
    assert.throws(() => core.buildGenerateMessages(req), (e) => e instanceof core.DeviceError &&
      /\/jasco\/drums would be \d+ bytes; packets must stay under 8192/.test(e.message));
  },

  non_audio_target_falls_back() {
    const { live } = set(baseSpec());
    const tracks = core.listTracks(live);
    assert.deepStrictEqual(tracks.map((t) => [t.name, t.audio]), [["Keys", false], ["Audio", true], ["Bus", false]]);
    for (const t of [tracks[0], tracks[2]]) {
      const r = core.placeClip(live, { target: 0, trackId: t.id, prompt: "p", position: 0 }, "/tmp/x.wav");
      assert.strictEqual(r.placed, false);
      assert.strictEqual(r.reason, `track '${t.name}' is not an audio track`);
      const a = core.placeClip(live, { target: 1, trackId: t.id, prompt: "p", position: 4 }, "/tmp/x.wav");
      assert.strictEqual(a.placed, false);
    }
    const ok = core.placeClip(live, { target: 0, trackId: tracks[1].id, prompt: "p", position: 0 }, "/tmp/x.wav");
    assert.strictEqual(ok.placed, true);
    assert.strictEqual(ok.where, "'Audio' slot 1");
  },

  deleted_target_track_falls_back() {
    const { live } = set(baseSpec());
    const r = core.placeClip(live, { target: 0, trackId: 999, prompt: "p", position: 0 }, "/tmp/x.wav");
    assert.deepStrictEqual([r.placed, r.reason], [false, "no target audio track (add one and pick it)"]);
  },

  live_refusing_the_file_is_reported() {
    // Live (or the mock) throws inside create_audio_clip: the device says so instead of crashing.
    const spec = baseSpec();
    const { mock, live } = set(spec);
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
    assert.ok(live);
  },

  live_that_prints_instead_of_creating_is_reported() {
    // Live prints an error and returns nothing when it refuses a file: nothing is placed, and a
    // clip of the user's at the same arrangement position is neither taken for ours nor renamed
    const spec = baseSpec();
    spec.tracks[1].arrangement = [{ name: "mine", midi: false, file_path: "/tmp/mine.wav", start_time: 4 }];
    const { mock } = set(spec);
    const api = mock.liveAPIClass();
    const silent = core.makeLiveAdapter(class extends api {
      call(fn, ...args) { return fn === "create_audio_clip" ? undefined : super.call(fn, ...args); }
    });
    const audio = core.listTracks(silent)[1];
    const s = core.placeClip(silent, { target: 0, trackId: audio.id, prompt: "p", position: 0 }, "/tmp/x.wav");
    assert.deepStrictEqual([s.placed, s.reason], [false, "Live did not create the clip in 'Audio' slot 1"]);
    const a = core.placeClip(silent, { target: 1, trackId: audio.id, prompt: "p", position: 4 }, "/tmp/x.wav");
    assert.deepStrictEqual([a.placed, a.reason], [false, "Live did not create the clip in the arrangement"]);
    assert.deepStrictEqual(mock.snapshot().tracks[1].arrangement.map((c) => c.name), ["mine"]);
    // when Live does create it (returning no id), ours is found and named, the user's is untouched
    const live = core.makeLiveAdapter(api);
    const ok = core.placeClip(live, { target: 1, trackId: audio.id, prompt: "new take", position: 4 }, "/tmp/x.wav");
    assert.deepStrictEqual([ok.placed, ok.where], [true, "'Audio' arrangement at beat 4"]);
    assert.deepStrictEqual(mock.snapshot().tracks[1].arrangement.map((c) => [c.name, c.file_path, c.start_time]),
      [["mine", "/tmp/mine.wav", 4], ["new take", "/tmp/x.wav", 4]]);
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

  replies_for_unknown_jobs_do_not_crash() {
    const { live } = set(baseSpec());
    const ui = [];
    const d = core.createDevice({ live, send: () => {}, ui: (...a) => ui.push(a) });
    assert.deepStrictEqual(d.handleReply("/jasco/progress", ["nobody", 0.3]), { ok: true });
    const r = d.handleReply("/jasco/done", ["nobody", "/tmp/a.wav", 1, 120]);
    assert.strictEqual(r.placed, false);
    assert.strictEqual(d.status(), "Done: /tmp/a.wav");
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
