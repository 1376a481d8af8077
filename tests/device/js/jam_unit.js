// The jam's device side (max_for_live/jasco_jam.js) against the mock Live with Live's documented
// launch quantisation (mock_live_jam.js).   node jam_unit.js -> {"name": "ok" | "failure", ...}
"use strict";

const assert = require("assert");
const path = require("path");
const jamLib = require(path.resolve(__dirname, "..", "..", "..", "max_for_live", "jasco_jam.js"));
const { makeLiveAdapter } = require(path.resolve(__dirname, "..", "..", "..", "max_for_live", "jasco_util.js"));
const { MockLiveJam } = require("./mock_live_jam");
const { Scheduler, PatchInstance } = require("./maxpatch");
const osc = require("./osc");
const fs = require("fs");
const M4L = path.resolve(__dirname, "..", "..", "..", "max_for_live");

function set(extra = {}) {
  const mock = new MockLiveJam({ version: [12, 1, 0], is_playing: true, default_file_seconds: 8,
    tracks: [{ name: "Keys", type: "midi", slots: [null, null] }, { name: "Jam", type: "audio", slots: [null, null] }],
    ...extra });
  return { mock, live: makeLiveAdapter(mock.liveAPIClass()) };
}

const tests = {
  takes_start_on_their_phrase_boundaries() {
    const { mock, live } = set({ current_song_time: 3.5 });
    const jam = jamLib.makeJam(1, 4);                       // 4-bar phrases in 4/4: boundaries every 16 beats
    const r1 = jamLib.onTake(live, jam, "/clips/jam-1.wav", 16);
    assert.deepStrictEqual([r1.placed, r1.slot, r1.fired], [true, 0, true]);
    mock.advance(12.4);                                     // 15.9: not yet
    assert.strictEqual(mock.starts.length, 0);
    mock.advance(0.1);                                      // 16: Live starts it on the boundary
    assert.deepStrictEqual(mock.starts.map((s) => [s.slot, s.beat, s.file_path, s.looping]),
      [[0, 16, "/clips/jam-1.wav", 1]]);
    mock.advance(4);                                        // take 2 comes a bar into phrase 1
    const r2 = jamLib.onTake(live, jam, "/clips/jam-2.wav", 32);
    assert.deepStrictEqual([r2.placed, r2.slot, r2.fired], [true, 1, true]);
    mock.advance(11.9);
    assert.strictEqual(mock.song.tracks[1].props.playing_slot_index, 0);  // take 1 loops meanwhile
    mock.advance(0.1);
    assert.deepStrictEqual(mock.starts.map((s) => [s.slot, s.beat]), [[0, 16], [1, 32]]);
    assert.strictEqual(mock.song.tracks[1].props.playing_slot_index, 1);
    const clip = mock.song.tracks[1].clip_slots[1].clip;
    assert.deepStrictEqual([clip.props.looping, clip.props.launch_quantization], [1, 3]);  // 3 = 4 Bars
    assert.deepStrictEqual(mock.console, []);
  },

  the_sets_global_quantisation_is_left_alone() {
    const { mock, live } = set({ current_song_time: 1, clip_trigger_quantization: 7 });  // the user's 1/4
    const jam = jamLib.makeJam(1, 2);
    jamLib.onTake(live, jam, "/clips/a.wav", 8);
    mock.advance(1.5);                                      // 2.5: a 1/4 launch would have started at 2
    assert.strictEqual(mock.starts.length, 0);
    mock.advance(5.5);
    assert.deepStrictEqual(mock.starts.map((s) => s.beat), [8]);
    assert.strictEqual(mock.song.props.clip_trigger_quantization, 7);
    assert.ok(!mock.log.some((e) => e.op === "set" && e.type === "Song"));
  },

  a_late_take_waits_for_the_next_boundary() {
    const { mock, live } = set({ current_song_time: 17 });  // its boundary (16) has passed: the jam loops on
    const jam = jamLib.makeJam(1, 4);
    jamLib.onTake(live, jam, "/clips/late.wav", 16);
    mock.advance(14.9);
    assert.strictEqual(mock.starts.length, 0);
    mock.advance(0.1);
    assert.deepStrictEqual(mock.starts.map((s) => s.beat), [32]);
  },

  a_phrase_live_cannot_quantise_to_is_fired_in_its_last_bar() {
    const { mock, live } = set({ current_song_time: 2 });
    const jam = jamLib.makeJam(1, 3);                       // 3 bars: no such launch quantisation
    const r = jamLib.onTake(live, jam, "/clips/three.wav", 12);
    assert.deepStrictEqual([r.placed, r.fired], [true, false]);
    mock.advance(5);                                        // 7: still two bars ahead
    jamLib.tick(live, jam);
    assert.strictEqual(jam.pending.length, 1);
    mock.advance(1.5);                                      // 8.5: the bar before the boundary
    jamLib.tick(live, jam);
    assert.strictEqual(jam.pending.length, 0);
    mock.advance(3.4);
    assert.strictEqual(mock.starts.length, 0);
    mock.advance(0.1);
    assert.deepStrictEqual(mock.starts.map((s) => s.beat), [12]);
    assert.strictEqual(mock.song.tracks[1].clip_slots[0].clip.props.launch_quantization, 5);  // 1 Bar
  },

  a_full_track_gets_a_new_scene_and_full_slots_are_never_touched() {
    const { mock, live } = set({ current_song_time: 0,
      tracks: [{ name: "Jam", type: "audio", slots: [{ name: "mine", file_path: "/keep.wav" }] }] });
    const jam = jamLib.makeJam(0, 1);
    const r = jamLib.onTake(live, jam, "/clips/b.wav", 4);   // a phrase early: fired in the next one
    assert.deepStrictEqual([r.placed, r.slot, r.fired], [true, 1, false]);
    assert.strictEqual(mock.song.tracks[0].clip_slots[0].clip.props.file_path, "/keep.wav");
    mock.advance(0.5);
    jamLib.tick(live, jam);
    assert.strictEqual(mock.starts.length, 0);
    mock.advance(3.5);
    assert.deepStrictEqual(mock.starts.map((s) => [s.slot, s.beat]), [[1, 4]]);
  },

  a_jam_take_packet_through_the_device_is_placed_and_fired_on_its_boundary() {
    // the generated device (jasco.maxpat + the jasco.js bundle) with the mock Live: the bridge's
    // /jasco/jam/take packet, decoded as [udpreceive] does, goes through [deferlow] into the [js]
    const { mock } = set({ current_song_time: 5 });
    const patcher = JSON.parse(fs.readFileSync(path.join(M4L, "jasco.maxpat"), "utf8")).patcher;
    const scheduler = new Scheduler();
    const inst = new PatchInstance(patcher, { LiveAPI: mock.liveAPIClass(), scheduler, network: { send() {},
      listen() { return null; }, close() {} }, stored: {}, bundle: path.join(M4L, "jasco.js"), post() {} });
    const device = inst.js().jascoDevice;
    device.refreshTracks();                                 // the target track: "Jam", the set's one audio track
    const recv = [...inst.objects.values()].find((o) => (o.box.text || "").startsWith("udpreceive"));
    const deliver = (args) => {
      const packet = osc.decode(osc.encode("/jasco/jam/take", args));
      scheduler.atHigh(() => inst.out(recv.box.id, 0, [packet.address, ...packet.args.map((a) => a.value)]));
      while (scheduler.queue.length) scheduler.queue.shift()();
    };
    deliver([{ type: "s", value: "/clips/20261203-170000_jam-p1_s7.wav" }, { type: "i", value: 1 },
      { type: "f", value: 16 }, { type: "i", value: 4 }, { type: "f", value: 120 }]);
    assert.match(device.status(), /Jam take 1 in 'Jam' slot 1, starts at beat 16/);
    mock.advance(10.9);                                     // 15.9: the song plays on, nothing launched yet
    assert.strictEqual(mock.starts.length, 0);
    mock.advance(0.1);                                      // 16: Live launches it on its boundary
    deliver([{ type: "s", value: "/clips/20261203-170000_jam-p2_s7.wav" }, { type: "i", value: 2 },
      { type: "f", value: 32 }, { type: "i", value: 4 }, { type: "f", value: 120 }]);
    assert.strictEqual(mock.starts.length, 1);              // a take that came on a boundary waits (a fire now would
    for (let i = 0; i < 32; i++) {                          // start it now): the device's ticker fires it within
      mock.advance(0.5);                                    // the phrase before its boundary
      device.tick();
    }
    assert.deepStrictEqual(mock.starts.map((s) => [s.track, s.slot, s.beat, s.file_path, s.looping]),
      [["Jam", 0, 16, "/clips/20261203-170000_jam-p1_s7.wav", 1], ["Jam", 1, 32, "/clips/20261203-170000_jam-p2_s7.wav", 1]]);
    assert.strictEqual(mock.song.tracks[0].clip_slots[0].clip, null);  // the MIDI track is never touched
  },

  live_before_12_0_5_is_told_not_crashed() {
    const { mock, live } = set({ version: [12, 0, 4] });
    const r = jamLib.onTake(live, jamLib.makeJam(1, 4), "/clips/c.wav", 16);
    assert.strictEqual(r.placed, false);
    assert.match(r.reason, /12\.0\.4 cannot create a clip from a file/);
    assert.strictEqual(mock.starts.length + mock.triggered.length, 0);
  },
};

const results = {};
for (const [name, fn] of Object.entries(tests)) {
  try { fn(); results[name] = "ok"; } catch (e) { results[name] = String(e && e.stack || e); }
}
process.stdout.write(JSON.stringify(results));
