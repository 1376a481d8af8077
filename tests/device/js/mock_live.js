// A mock of Max's LiveAPI over a small Live Object Model (LOM), for the device tests.
//
// Modelled on the documented LOM (Live 11/12): Song (tempo, signature_numerator,
// signature_denominator, current_song_time, tracks, view, create_scene), Song.View
// (detail_clip, selected_track), Track (name, has_audio_input, has_midi_input,
// is_foldable, is_frozen, playing_slot_index, clip_slots, arrangement_clips,
// create_audio_clip(path, position) from 12.0.5), ClipSlot (has_clip, clip,
// create_audio_clip(path) from 12.0.5), Clip (name, is_midi_clip, is_audio_clip,
// loop_start, loop_end, start_time, file_path, get_notes_extended -> JSON string
// from Live 11), Application (get_major/minor/bugfix_version), this_device
// (canonical_parent). Return values follow Max's LiveAPI: arrays of atoms,
// ["id", n] for objects, ["id", a, "id", b] for lists, "0" as the id of nothing.
// Calling a function the object (or the Live version) lacks throws, so misuse
// shows up in tests instead of passing silently.
"use strict";

// Properties that hold other LOM objects (lists or single references).
const CHILDREN = new Set(["tracks", "clip_slots", "arrangement_clips", "clip", "detail_clip", "canonical_parent"]);

function versionAtLeast(v, min) {
  for (let i = 0; i < 3; i++) if (v[i] !== min[i]) return v[i] > min[i];
  return true;
}

class MockLive {
  // spec: {version:[12,1,0], tempo, numerator, denominator, current_song_time,
  //        tracks:[{name, type:"midi"|"audio"|"group", frozen, slots:[clip|null], arrangement:[clip],
  //                 playing_slot_index}], selected_clip:[track, slot]|null, device_track}
  // clip: {name, midi:bool, loop_start, loop_end, notes:[{pitch,start_time,duration,velocity,mute}],
  //        file_path, start_time}
  constructor(spec) {
    this.spec = spec;
    this.version = spec.version || [12, 1, 0];
    this.objects = new Map();
    this.nextId = 1;
    this.log = [];        // every mutating call: {op, target, ...}
    this.song = this._obj("Song", {
      tempo: spec.tempo ?? 120,
      signature_numerator: spec.numerator ?? 4,
      signature_denominator: spec.denominator ?? 4,
      current_song_time: spec.current_song_time ?? 0,
    });
    this.song.tracks = [];
    this.app = this._obj("Application", {});
    this.songView = this._obj("Song.View", {});
    const sceneCount = Math.max(0, ...(spec.tracks || []).map((t) => (t.slots || []).length));
    for (const t of spec.tracks || []) {
      const track = this._obj("Track", {
        name: t.name,
        has_audio_input: t.type === "audio" ? 1 : 0,
        has_midi_input: t.type === "midi" ? 1 : 0,
        is_foldable: t.type === "group" ? 1 : 0,
        is_frozen: t.frozen ? 1 : 0,
        playing_slot_index: t.playing_slot_index ?? -1,
      });
      track.kind = t.type;
      track.clip_slots = [];
      track.arrangement_clips = [];
      for (let s = 0; s < sceneCount; s++) {
        const c = (t.slots || [])[s];
        const slot = this._slot(track);
        if (c) this._attachClip(slot, c);
      }
      for (const c of t.arrangement || []) track.arrangement_clips.push(this._clip(c, track));
      this.song.tracks.push(track);
    }
    this.songView.detail_clip = null;
    if (spec.selected_clip) {
      const [ti, si] = spec.selected_clip;
      this.songView.detail_clip = this.song.tracks[ti].clip_slots[si].clip;
    }
    this.device = this._obj("Device", { name: "JASCO" });
    this.device.canonical_parent = this.song.tracks[spec.device_track ?? 0] || null;
    if (spec.in_rack) {     // Track -> Rack (Device) -> Chain -> this device
      const rack = this._obj("RackDevice", { name: "MIDI Effect Rack" });
      rack.canonical_parent = this.device.canonical_parent;
      const chain = this._obj("Chain", { name: "Chain 1" });
      chain.canonical_parent = rack;
      this.device.canonical_parent = chain;
    }
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

  _clip(c, parent) {
    const clip = this._obj("Clip", {
      name: c.name ?? "",
      is_midi_clip: c.midi ? 1 : 0,
      is_audio_clip: c.midi ? 0 : 1,
      loop_start: c.loop_start ?? 0,
      loop_end: c.loop_end ?? 4,
      start_time: c.start_time ?? 0,
      looping: 1,
      file_path: c.midi ? undefined : (c.file_path ?? ""),
    });
    clip.notes = (c.notes || []).map((n, i) => ({ note_id: i + 1, velocity: 100, mute: 0,
      probability: 1, velocity_deviation: 0, release_velocity: 64, ...n }));
    clip.parent = parent;
    return clip;
  }

  _attachClip(slot, c) {
    slot.clip = this._clip(c, slot);
    slot.props.has_clip = 1;
    return slot.clip;
  }

  // --- path resolution ("live_set tracks 0 clip_slots 1 clip", "id 7") ---
  resolve(path) {
    const tok = String(path).replace(/"/g, "").trim().split(/\s+/);
    let o = null, i = 0;
    if (tok[0] === "id") { o = this.objects.get(Number(tok[1])) || null; i = 2; }
    else if (tok[0] === "live_set") { o = this.song; i = 1; }
    else if (tok[0] === "live_app") { o = this.app; i = 1; }
    else if (tok[0] === "this_device") { o = this.device; i = 1; }
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
    const child = CHILDREN.has(prop) ? o[prop] : undefined;
    if (Array.isArray(child)) return child.flatMap((c) => ["id", c.id]);
    if (CHILDREN.has(prop)) return ["id", child ? child.id : 0];
    if (!(prop in o.props) || o.props[prop] === undefined) throw new Error(`${o.type} has no property ${prop}`);
    return [o.props[prop]];
  }

  set(o, prop, value) {
    if (!(prop in o.props)) throw new Error(`${o.type} has no settable property ${prop}`);
    o.props[prop] = Array.isArray(value) ? value[0] : value;
    this.log.push({ op: "set", type: o.type, id: o.id, prop, value: o.props[prop] });
  }

  call(o, fn, args) {
    const v = this.version;
    if (o.type === "Application") {
      if (fn === "get_major_version") return v[0];
      if (fn === "get_minor_version") return v[1];
      if (fn === "get_bugfix_version") return v[2];
    }
    if (o.type === "Clip" && fn === "get_notes_extended" && v[0] >= 11) {
      if (!o.props.is_midi_clip) throw new Error("get_notes_extended on an audio clip");
      const [fromPitch, pitchSpan, fromTime, timeSpan] = args.map(Number);
      if (args.length !== 4 || args.some((a) => typeof a !== "number")) {
        throw new Error(`get_notes_extended needs 4 numbers, got ${JSON.stringify(args)}`);
      }
      const notes = o.notes.filter((n) => n.pitch >= fromPitch && n.pitch < fromPitch + pitchSpan &&
        n.start_time >= fromTime && n.start_time < fromTime + timeSpan);
      this.log.push({ op: "call", type: o.type, id: o.id, fn, args });
      return JSON.stringify({ notes });
    }
    if (o.type === "ClipSlot" && fn === "create_audio_clip" && versionAtLeast(v, [12, 0, 5])) {
      if (args.length !== 1 || typeof args[0] !== "string") throw new Error("create_audio_clip(path)");
      if (o.clip) throw new Error("clip slot is not empty");
      if (o.track.kind !== "audio") throw new Error("not an audio track");
      const base = args[0].split(/[\\/]/).pop().replace(/\.[^.]*$/, "");
      this._attachClip(o, { name: base, midi: false, file_path: args[0] });
      this.log.push({ op: "call", type: o.type, id: o.id, fn, args,
        track: o.track.props.name, slot: o.track.clip_slots.indexOf(o) });
      return undefined;
    }
    if (o.type === "Track" && fn === "create_audio_clip" && versionAtLeast(v, [12, 0, 5])) {
      if (args.length !== 2 || typeof args[0] !== "string" || typeof args[1] !== "number") {
        throw new Error("create_audio_clip(path, position)");
      }
      if (o.kind !== "audio") throw new Error("not an audio track");
      const base = args[0].split(/[\\/]/).pop().replace(/\.[^.]*$/, "");
      o.arrangement_clips.push(this._clip({ name: base, midi: false, file_path: args[0], start_time: args[1] }, o));
      this.log.push({ op: "call", type: o.type, id: o.id, fn, args, track: o.props.name });
      return undefined;
    }
    if (o.type === "Song" && fn === "create_scene") {
      for (const t of this.song.tracks) this._slot(t);
      this.log.push({ op: "call", type: o.type, id: o.id, fn, args });
      return undefined;
    }
    throw new Error(`${o.type}.${fn} does not exist in Live ${v.join(".")}`);
  }

  // Max's LiveAPI class bound to this set.
  liveAPIClass() {
    const live = this;
    return class LiveAPI {
      constructor(a, b) {
        this._callback = typeof a === "function" ? a : null;
        this._path = typeof a === "function" ? b : a;
        this._obj = live.resolve(this._path);
        this._property = "";
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
      get(prop) { return this._obj ? live.get(this._obj, prop) : []; }
      set(prop, value) { if (this._obj) live.set(this._obj, prop, value); }
      call(fn, ...args) {
        if (!this._obj) throw new Error(`call ${fn} on a missing object (${this._path})`);
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
    const clip = (c) => c && { name: c.props.name, file_path: c.props.file_path,
      start_time: c.props.start_time, midi: !!c.props.is_midi_clip };
    return {
      tracks: this.song.tracks.map((t) => ({
        name: t.props.name,
        slots: t.clip_slots.map((s) => clip(s.clip)),
        arrangement: t.arrangement_clips.map(clip),
      })),
      log: this.log.filter((e) => !(e.op === "call" && e.fn === "get_notes_extended")),
    };
  }
}

module.exports = { MockLive };
