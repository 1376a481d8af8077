// A mock of Max's LiveAPI over a small Live Object Model (LOM), for the device tests.
//
// Modelled on the documented LOM (Live 11/12, https://docs.cycling74.com/apiref/lom/ :
// song, track, clipslot, clip): Song (tempo, signature_numerator, signature_denominator,
// current_song_time, is_playing, tracks, view, create_scene), Song.View (detail_clip),
// Track (name, has_audio_input, has_midi_input, is_foldable, is_frozen, playing_slot_index,
// clip_slots, arrangement_clips, create_audio_clip(path, start) from 12.0.5, delete_clip),
// ClipSlot (has_clip, clip, create_audio_clip(path) from 12.0.5, delete_clip), Clip (name,
// is_midi_clip, is_audio_clip, loop_start, loop_end, looping, warping, start_time, end_time,
// file_path, get_notes_extended -> JSON string from Live 11), Application
// (get_major/minor/bugfix_version), this_device (canonical_parent).
//
// What real Live does and a naive mock would not, so that the device's defects show:
// - Live prints its errors to the Max console and goes on: a call Live refuses (a full clip
//   slot, a MIDI track, a missing function or property) is recorded in `console` and returns
//   nothing; it never throws into the script.
// - get_notes_extended(from_pitch, pitch_span, from_time, time_span) selects notes by START
//   time only: a note that starts before from_time is not returned, however long it sounds.
// - Track.create_audio_clip(path, start) replaces whatever it overlaps in the arrangement
//   (clips inside the new span are removed, clips reaching into it are cut).
// - Live parameters are clamped by type (liveParameterValue): Live's native integer
//   parameter holds 0..255 only (Max for Live parameter reference,
//   https://docs.cycling74.com/max5/refpages/m4l-ref/parameters.html).
// - Song.start_time is the insert marker, where playback starts (LOM Song, "start_time"); it is
//   not where playback stopped: current_song_time is the playhead (LOM Song, "current_song_time").
// - A new audio clip is auto-warped (Live Reference Manual, "Audio Clips, Tempo, and Warping" >
//   "Syncing Straight Loops": Live assumes a loop of 1, 2, 4 or 8 bars and sets a warp marker at
//   the sample's start and end; "Sometimes Live's guess of the original tempo is wrong by half or
//   double"): here the guess is the power-of-two number of 4/4 bars whose tempo falls in
//   [90, 180) bpm, so a 3-bar or 10 s clip is mis-warped until the device pins its markers.
//   Clip.warp_markers lists them plus Live's shadow marker 1/32 beat after the last
//   (LOM Clip: warp_markers, add_warp_marker, move_warp_marker, delete_warp_marker, sample_length,
//   sample_rate; Live 11.0.5 release notes list the marker functions).
// - Setting `warping` takes effect after the script's turn (Live analyses the sample first):
//   a read in the same turn still shows the old value; settle() is Live's next turn (the
//   harness runs it between scheduler turns). spec.warp_refused: Live keeps new clips unwarped.
// - An unwarped audio clip's loop_start/loop_end/start_marker/end_marker are seconds (LOM Clip:
//   "in absolute clip beat time if clip is MIDI or warped"); a loop end after the sample's end is
//   refused (printed), as Live does not let the loop brace leave the sample.
// - Song.begin_undo_step / end_undo_step (Live 11+) group changes into one undo step;
//   undoSteps counts the steps a user would undo.
// - Two devices may share a reply port (Ableton/m4l-connection-kit issue 9): the harness gives
//   each device its own LiveAPI class and the network delivers one port's packets to whoever
//   holds it.
// Return values follow Max's LiveAPI: arrays of atoms, ["id", n] for objects,
// ["id", a, "id", b] for lists, "0" as the id of nothing. LiveAPI.goto(path) moves an object
// to another path (Max's LiveAPI reference); `created` counts LiveAPI objects made.
"use strict";

const fs = require("fs");

// Properties that hold other LOM objects (lists or single references).
const CHILDREN = new Set(["tracks", "clip_slots", "arrangement_clips", "clip", "detail_clip", "canonical_parent"]);
const MAX_ARRANGEMENT_BEAT = 1576800;
const SHADOW_BEATS = 1 / 32;
const MIN_WARP_API = [11, 0, 5];
const FILE_RATE = 48000;

// Live's auto-warp guess for a file of `seconds`: power-of-two 4/4 bars at a tempo in [90, 180).
function autoWarpBeats(seconds) {
  for (let bars = 1; bars <= 1024; bars *= 2) {
    const bpm = bars * 4 * 60 / seconds;
    if (bpm >= 90 && bpm < 180) return bars * 4;
  }
  return seconds * 2;       // 120 bpm
}

function versionAtLeast(v, min) {
  for (let i = 0; i < 3; i++) if (v[i] !== min[i]) return v[i] > min[i];
  return true;
}

// Seconds of audio in a WAV file (its header), or null.
function wavSeconds(path) {
  let buf;
  try { buf = fs.readFileSync(path); } catch (e) { return null; }
  if (buf.length < 12 || buf.toString("ascii", 0, 4) !== "RIFF" || buf.toString("ascii", 8, 12) !== "WAVE") return null;
  let off = 12, byteRate = 0;
  while (off + 8 <= buf.length) {
    const id = buf.toString("ascii", off, off + 4), size = buf.readUInt32LE(off + 4);
    if (id === "fmt ") byteRate = buf.readUInt32LE(off + 16);
    if (id === "data" && byteRate) return size / byteRate;
    off += 8 + size + (size % 2);
  }
  return null;
}

// The value a Live parameter takes when set to v (valueof = the box's saved parameter attributes).
// Type 0 Float: clamped to [mmin, mmax]; 1 Int: whole, and Live's native integer range 0..255 on
// top of [mmin, mmax]; 2 Enum: an index into parameter_enum; 3 Blob: anything, stored as given.
function liveParameterValue(valueof, v) {
  const type = valueof.parameter_type ?? 0;
  if (type === 3) return v;
  let x = Number(Array.isArray(v) ? v[0] : v);
  if (!Number.isFinite(x)) x = 0;
  const lo = valueof.parameter_mmin ?? 0;
  const hi = type === 2 ? (valueof.parameter_enum || []).length - 1 : (valueof.parameter_mmax ?? 1);
  if (type === 1) return Math.max(Math.max(lo, 0), Math.min(Math.min(hi, 255), Math.round(x)));
  if (type === 2) return Math.max(0, Math.min(hi, Math.round(x)));
  x = Math.max(lo, Math.min(hi, x));
  return valueof.parameter_unitstyle === 0 ? Math.round(x) : x;    // unit style Int shows whole numbers
}

class MockLive {
  // spec: {version:[12,1,0], tempo, numerator, denominator, current_song_time, is_playing,
  //        tracks:[{name, type:"midi"|"audio"|"group", frozen, slots:[clip|null], arrangement:[clip],
  //                 playing_slot_index}], selected_clip:[track, slot]|null, device_track, devices,
  //        file_seconds: {path: seconds}, default_file_seconds}
  // clip: {name, midi:bool, loop_start, loop_end, notes:[{pitch,start_time,duration,velocity,mute}],
  //        file_path, start_time, end_time}
  constructor(spec) {
    this.spec = spec;
    this.version = spec.version || [12, 1, 0];
    this.objects = new Map();
    this.nextId = 1;
    this.log = [];        // every mutating call: {op, target, ...}
    this.console = [];    // what Live printed to the Max console
    this.song = this._obj("Song", {
      tempo: spec.tempo ?? 120,
      signature_numerator: spec.numerator ?? 4,
      signature_denominator: spec.denominator ?? 4,
      current_song_time: spec.current_song_time ?? 0,
      start_time: spec.start_time ?? 0,
      is_playing: spec.is_playing ? 1 : 0,
    });
    this.created = 0;       // LiveAPI objects made (the device's cost in a large set)
    this.deferred = [];     // changes Live applies after the script's turn
    this.undoSteps = 0;
    this.undoDepth = 0;
    this.undoCounted = false;
    this.song.tracks = [];
    this.app = this._obj("Application", {});
    this.songView = this._obj("Song.View", {});
    const sceneCount = Math.max(0, ...(spec.tracks || []).map((t) => (t.slots || []).length));
    for (const t of spec.tracks || []) {
      const props = {
        has_audio_input: t.type === "audio" ? 1 : 0,
        has_midi_input: t.type === "midi" ? 1 : 0,
        is_foldable: t.type === "group" ? 1 : 0,
        is_frozen: t.frozen ? 1 : 0,
        playing_slot_index: t.playing_slot_index ?? -1,
      };
      if (t.name !== undefined) props.name = t.name;
      const track = this._obj("Track", props);
      track.kind = t.type;
      track.clip_slots = [];
      track.arrangement_clips = [];
      for (let s = 0; s < sceneCount; s++) {
        const c = (t.slots || [])[s];
        const slot = this._slot(track);
        if (c) this._attachClip(slot, c);
      }
      for (const c of t.arrangement || []) track.arrangement_clips.push(this._clip(c, track, true));
      this.song.tracks.push(track);
    }
    this.songView.detail_clip = null;
    if (spec.selected_clip) {
      const [ti, si] = spec.selected_clip;
      this.songView.detail_clip = this.song.tracks[ti].clip_slots[si].clip;
    }
    this.devices = [];
    for (let d = 0; d < (spec.devices || 1); d++) {
      const device = this._obj("Device", { name: "JASCO" });
      device.canonical_parent = this.song.tracks[spec.device_track ?? 0] || null;
      if (spec.in_rack) {     // Track -> Rack (Device) -> Chain -> this device
        const rack = this._obj("RackDevice", { name: "MIDI Effect Rack" });
        rack.canonical_parent = device.canonical_parent;
        const chain = this._obj("Chain", { name: "Chain 1" });
        chain.canonical_parent = rack;
        device.canonical_parent = chain;
      }
      this.devices.push(device);
    }
  }

  print(text) {
    this.console.push(text);
  }

  _obj(type, props) {
    const o = { id: this.nextId++, type, props: { ...props } };
    this.objects.set(o.id, o);
    return o;
  }

  _slot(track) {
    const slot = this._obj("ClipSlot", { has_clip: 0 });
    slot.track = track;
    slot.clip = null;
    track.clip_slots.push(slot);
    return slot;
  }

  _clip(c, parent, arrangement) {
    const start = c.start_time ?? 0;
    const props = {
      name: c.name ?? "",
      is_midi_clip: c.midi ? 1 : 0,
      is_audio_clip: c.midi ? 0 : 1,
      loop_start: c.loop_start ?? 0,
      loop_end: c.loop_end ?? 4,
      start_time: start,
      end_time: c.end_time ?? (arrangement ? start + (c.loop_end ?? 4) - (c.loop_start ?? 0) : (c.loop_end ?? 4)),
      looping: c.looping ?? 1,
    };
    if (!c.midi) {
      props.file_path = c.file_path ?? "";
      props.warping = c.warping ?? 0;
      const seconds = this._fileSeconds(props.file_path);
      props.sample_rate = FILE_RATE;
      props.sample_length = Math.round(seconds * FILE_RATE);
    }
    props.start_marker = c.start_marker ?? props.loop_start;
    props.end_marker = c.end_marker ?? props.loop_end;
    const clip = this._obj("Clip", props);
    clip.markers = c.markers ? c.markers.map((m) => ({ ...m })) : null;
    clip.arrangement = !!arrangement;
    clip.notes = (c.notes || []).map((n, i) => ({ note_id: i + 1, velocity: 100, mute: 0,
      probability: 1, velocity_deviation: 0, release_velocity: 64, ...n }));
    clip.parent = parent;
    return clip;
  }

  _attachClip(slot, c) {
    slot.clip = this._clip(c, slot, false);
    slot.props.has_clip = 1;
    return slot.clip;
  }

  _fileSeconds(path) {
    return wavSeconds(path) ?? (this.spec.file_seconds || {})[path] ?? this.spec.default_file_seconds ?? 8.0;
  }

  // A new clip of `path` as Live makes it: auto-warped (see the header), or unwarped when
  // spec.warp_refused. Returns {props, markers, beats}: beats = its length in the arrangement.
  _newAudioClip(path) {
    const seconds = this._fileSeconds(path);
    if (this.spec.warp_refused) return { warping: 0, markers: null, beats: seconds * this.song.props.tempo / 60, loop_end: seconds };
    const beats = autoWarpBeats(seconds);
    return { warping: 1, markers: [{ sample_time: 0, beat_time: 0 }, { sample_time: seconds, beat_time: beats }], beats, loop_end: beats };
  }

  // Live's next turn: deferred changes take effect.
  settle() {
    const due = this.deferred;
    this.deferred = [];
    for (const f of due) f();
  }

  _mutated() {
    if (this.undoDepth > 0) {
      if (!this.undoCounted) { this.undoSteps += 1; this.undoCounted = true; }
    } else {
      this.undoSteps += 1;
    }
  }

  // --- path resolution ("live_set tracks 0 clip_slots 1 clip", "id 7") ---
  resolve(path, device) {
    const tok = String(path).replace(/"/g, "").trim().split(/\s+/);
    let o = null, i = 0;
    if (tok[0] === "id") { o = this.objects.get(Number(tok[1])) || null; i = 2; }
    else if (tok[0] === "live_set") { o = this.song; i = 1; }
    else if (tok[0] === "live_app") { o = this.app; i = 1; }
    else if (tok[0] === "this_device") { o = device; i = 1; }
    else return null;
    while (o && i < tok.length) {
      const name = tok[i];
      if (name === "view" && o === this.song) { o = this.songView; i += 1; continue; }
      if (!CHILDREN.has(name)) return null;
      const child = o[name];
      if (Array.isArray(child)) { o = child[Number(tok[i + 1])] || null; i += 2; }
      else if (child !== undefined) { o = child; i += 1; }
      else return null;
    }
    return o;
  }

  get(o, prop) {
    if (o.type === "Clip" && prop === "warp_markers" && !o.props.is_midi_clip && versionAtLeast(this.version, [11, 0, 0])) {
      const real = o.props.warping && o.markers ? o.markers : [];
      const list = real.length ? real.concat([{ sample_time: real[real.length - 1].sample_time +
        SHADOW_BEATS * this._secondsPerBeat(o), beat_time: real[real.length - 1].beat_time + SHADOW_BEATS }]) : [];
      return [JSON.stringify({ warp_markers: list })];
    }
    const child = CHILDREN.has(prop) ? o[prop] : undefined;
    if (Array.isArray(child)) return child.flatMap((c) => ["id", c.id]);
    if (CHILDREN.has(prop)) return ["id", child ? child.id : 0];
    if (!(prop in o.props) || o.props[prop] === undefined) {
      this.print(`get: ${o.type} has no property '${prop}'`);
      return [];
    }
    return [o.props[prop]];
  }

  _secondsPerBeat(clip) {
    const m = clip.markers;
    if (m && m.length >= 2) {
      const a = m[m.length - 2], b = m[m.length - 1];
      return (b.sample_time - a.sample_time) / (b.beat_time - a.beat_time);
    }
    return 60 / this.song.props.tempo;
  }

  set(o, prop, value) {
    if (!(prop in o.props)) {
      this.print(`set: ${o.type} has no settable property '${prop}'`);
      return;
    }
    const v = Array.isArray(value) ? value[0] : value;
    if (o.type === "Clip" && prop === "warping") {
      // applied after the script's turn (see the header); refused when Live keeps clips unwarped
      this.deferred.push(() => {
        if (this.spec.warp_refused && v) { this.print("Clip.warping: Live keeps this clip unwarped"); return; }
        if (v && !o.markers) {
          const seconds = o.props.sample_length / o.props.sample_rate, beats = autoWarpBeats(seconds);
          o.markers = [{ sample_time: 0, beat_time: 0 }, { sample_time: seconds, beat_time: beats }];
        }
        o.props.warping = v ? 1 : 0;
      });
      this._mutated();
      this.log.push({ op: "set", type: o.type, id: o.id, prop, value: v });
      return;
    }
    if (o.type === "Clip" && o.props.is_audio_clip && !o.props.warping &&
        ["loop_end", "end_marker"].includes(prop) && v > o.props.sample_length / o.props.sample_rate + 1e-6) {
      this.print(`set ${prop}: ${v} is after the end of the sample (an unwarped clip's positions are seconds)`);
      return;
    }
    o.props[prop] = v;
    this._mutated();
    this.log.push({ op: "set", type: o.type, id: o.id, prop, value: o.props[prop] });
  }

  _refuse(o, fn, why) {
    this.print(`${o.type}.${fn}: ${why}`);
    return undefined;
  }

  call(o, fn, args) {
    const v = this.version;
    if (o.type === "Application") {
      if (fn === "get_major_version") return v[0];
      if (fn === "get_minor_version") return v[1];
      if (fn === "get_bugfix_version") return v[2];
    }
    if (o.type === "Song" && (fn === "begin_undo_step" || fn === "end_undo_step") && v[0] >= 11) {
      if (fn === "begin_undo_step") { if (this.undoDepth++ === 0) this.undoCounted = false; }
      else if (this.undoDepth > 0) this.undoDepth -= 1;
      this.log.push({ op: "undo", fn });
      return undefined;
    }
    if (o.type === "Clip" && ["add_warp_marker", "move_warp_marker", "delete_warp_marker"].includes(fn) &&
        versionAtLeast(v, MIN_WARP_API)) {
      if (!o.props.is_audio_clip || !o.props.warping || !o.markers) return this._refuse(o, fn, "not a warped audio clip");
      const m = o.markers;
      if (fn === "add_warp_marker") {
        let d = args[0];
        if (typeof d === "string") { try { d = JSON.parse(d); } catch (e) { d = null; } }
        if (!d || typeof d.beat_time !== "number") return this._refuse(o, fn, "needs a dict with beat_time");
        const st = typeof d.sample_time === "number" ? d.sample_time : null;
        if (st === null || m.some((x) => Math.abs(x.beat_time - d.beat_time) < 1e-9)) return this._refuse(o, fn, "cannot add here");
        m.push({ beat_time: d.beat_time, sample_time: st });
        m.sort((a, b) => a.beat_time - b.beat_time);
      } else {
        const i = m.findIndex((x) => Math.abs(x.beat_time - args[0]) < 1e-6);
        if (i < 0) return this._refuse(o, fn, `no warp marker at beat ${args[0]}`);
        if (fn === "delete_warp_marker") {
          if (m.length <= 2) return this._refuse(o, fn, "a warped clip keeps two markers");
          m.splice(i, 1);
        } else {
          const to = m[i].beat_time + args[1];
          if ((i > 0 && to <= m[i - 1].beat_time) || (i + 1 < m.length && to >= m[i + 1].beat_time)) {
            return this._refuse(o, fn, "a warp marker cannot pass its neighbours");
          }
          m[i].beat_time = to;
        }
      }
      if (o.arrangement) {      // the clip's length in the arrangement follows its last marker
        o.props.end_time = o.props.start_time + m[m.length - 1].beat_time - m[0].beat_time;
      }
      this._mutated();
      this.log.push({ op: "call", type: o.type, id: o.id, fn, args });
      return undefined;
    }
    if (o.type === "Clip" && fn === "get_notes_extended" && v[0] >= 11) {
      if (!o.props.is_midi_clip) return this._refuse(o, fn, "not a MIDI clip");
      if (args.length !== 4 || args.some((a) => typeof a !== "number")) {
        return this._refuse(o, fn, `needs 4 numbers, got ${JSON.stringify(args)}`);
      }
      const [fromPitch, pitchSpan, fromTime, timeSpan] = args;
      const notes = o.notes.filter((n) => n.pitch >= fromPitch && n.pitch < fromPitch + pitchSpan &&
        n.start_time >= fromTime && n.start_time < fromTime + timeSpan);
      this.log.push({ op: "call", type: o.type, id: o.id, fn, args });
      return JSON.stringify({ notes });
    }
    if (o.type === "ClipSlot" && fn === "create_audio_clip" && versionAtLeast(v, [12, 0, 5])) {
      if (args.length !== 1 || typeof args[0] !== "string") return this._refuse(o, fn, "needs (path)");
      if (o.clip) return this._refuse(o, fn, "the clip slot is not empty");
      if (o.track.kind !== "audio") return this._refuse(o, fn, "not an audio track");
      if (o.track.props.is_frozen) return this._refuse(o, fn, "the track is frozen");
      const base = args[0].split(/[\\/]/).pop().replace(/\.[^.]*$/, "");
      const made = this._newAudioClip(args[0]);
      this._attachClip(o, { name: base, midi: false, file_path: this._filePathOf(args[0]), loop_end: made.loop_end,
        looping: 0, warping: made.warping, markers: made.markers });
      this._mutated();
      this.log.push({ op: "call", type: o.type, id: o.id, fn, args,
        track: o.track.props.name, slot: o.track.clip_slots.indexOf(o) });
      return undefined;
    }
    if (o.type === "ClipSlot" && fn === "delete_clip") {
      if (!o.clip) return this._refuse(o, fn, "the clip slot is empty");
      this.objects.delete(o.clip.id);
      o.clip = null;
      o.props.has_clip = 0;
      this.log.push({ op: "call", type: o.type, id: o.id, fn, args, track: o.track.props.name,
        slot: o.track.clip_slots.indexOf(o) });
      return undefined;
    }
    if (o.type === "Track" && fn === "create_audio_clip" && versionAtLeast(v, [12, 0, 5])) {
      if (args.length !== 2 || typeof args[0] !== "string" || typeof args[1] !== "number") {
        return this._refuse(o, fn, "needs (path, start_time)");
      }
      if (o.kind !== "audio") return this._refuse(o, fn, "not an audio track");
      if (o.props.is_frozen) return this._refuse(o, fn, "the track is frozen");
      const start = args[1];
      if (!(start >= 0 && start <= MAX_ARRANGEMENT_BEAT)) return this._refuse(o, fn, "start_time out of range");
      const made = this._newAudioClip(args[0]);
      const end = start + made.beats;
      // Live replaces what the new clip overlaps
      const kept = [];
      for (const c of o.arrangement_clips) {
        const s = c.props.start_time, e = c.props.end_time;
        if (e <= start || s >= end) { kept.push(c); continue; }
        this.log.push({ op: "replaced", type: "Clip", id: c.id, name: c.props.name, track: o.props.name });
        if (s < start) { c.props.end_time = start; kept.push(c); }
        else if (e > end) { c.props.start_time = end; kept.push(c); }
        else this.objects.delete(c.id);
      }
      const base = args[0].split(/[\\/]/).pop().replace(/\.[^.]*$/, "");
      const clip = this._clip({ name: base, midi: false, file_path: this._filePathOf(args[0]), start_time: start,
        end_time: end, loop_end: made.loop_end, looping: 0, warping: made.warping, markers: made.markers }, o, true);
      this._mutated();
      kept.push(clip);
      kept.sort((a, b) => a.props.start_time - b.props.start_time);
      o.arrangement_clips = kept;
      this.log.push({ op: "call", type: o.type, id: o.id, fn, args, track: o.props.name });
      return undefined;
    }
    if (o.type === "Track" && fn === "delete_clip") {
      const id = Number(args[0] === "id" ? args[1] : args[0]);
      const i = o.arrangement_clips.findIndex((c) => c.id === id);
      if (i < 0) return this._refuse(o, fn, `no clip ${id} on this track`);
      this.objects.delete(id);
      o.arrangement_clips.splice(i, 1);
      this.log.push({ op: "call", type: o.type, id: o.id, fn, args, track: o.props.name });
      return undefined;
    }
    if (o.type === "Song" && fn === "create_scene") {
      for (const t of this.song.tracks) this._slot(t);
      this.log.push({ op: "call", type: o.type, id: o.id, fn, args });
      return undefined;
    }
    return this._refuse(o, fn, `no such function in Live ${v.join(".")}`);
  }

  // Live reports a clip's file by where it really is (spec.real_paths: Live resolves the path it
  // was given, so a symlink or another spelling of the folder comes back as the real path).
  _filePathOf(path) {
    if (!this.spec.real_paths) return path;
    try { return fs.realpathSync(path); } catch (e) { return path; }
  }

  // Max's LiveAPI class bound to this set, as seen from device number `device`.
  liveAPIClass(device = 0) {
    const live = this;
    const self = this.devices[device];
    return class LiveAPI {
      constructor(a, b) {
        live.created += 1;
        this._callback = typeof a === "function" ? a : null;
        this._path = typeof a === "function" ? b : a;
        this._obj = live.resolve(this._path, self);
        this._property = "";
      }
      goto(path) {
        this._path = path;
        this._obj = live.resolve(path, self);
      }
      get id() { return this._obj ? String(this._obj.id) : "0"; }
      get type() { return this._obj ? this._obj.type : undefined; }
      get path() { return `"${this._path}"`; }
      get property() { return this._property; }
      set property(p) {
        this._property = p;
        // "" stops observing (as in Max); a property name reports its value at once
        if (this._callback && this._obj && p) this._callback([p].concat(live.get(this._obj, p)));
      }
      get(prop) {
        if (!this._obj) { live.print(`get ${prop}: no valid object (${this._path})`); return []; }
        return live.get(this._obj, prop);
      }
      set(prop, value) {
        if (!this._obj) { live.print(`set ${prop}: no valid object (${this._path})`); return; }
        live.set(this._obj, prop, value);
      }
      call(fn, ...args) {
        if (!this._obj) { live.print(`call ${fn}: no valid object (${this._path})`); return undefined; }
        return live.call(this._obj, fn, args);
      }
      getcount(prop) {
        if (!this._obj) return 0;
        const c = this._obj[prop];
        return Array.isArray(c) ? c.length : 0;
      }
    };
  }

  // What the set looks like now (for the tests' assertions).
  snapshot() {
    const clip = (c) => c && { id: c.id, name: c.props.name, file_path: c.props.file_path,
      start_time: c.props.start_time, end_time: c.props.end_time, midi: !!c.props.is_midi_clip,
      looping: c.props.looping, warping: c.props.warping, loop_start: c.props.loop_start, loop_end: c.props.loop_end,
      start_marker: c.props.start_marker, markers: c.markers };
    return {
      tracks: this.song.tracks.map((t) => ({
        name: t.props.name,
        slots: t.clip_slots.map((s) => clip(s.clip)),
        arrangement: t.arrangement_clips.map(clip),
      })),
      log: this.log.filter((e) => !(e.op === "call" && e.fn === "get_notes_extended")),
      console: this.console,
      undo_steps: this.undoSteps,
      created: this.created,
    };
  }
}

module.exports = { MockLive, liveParameterValue, wavSeconds, autoWarpBeats };
