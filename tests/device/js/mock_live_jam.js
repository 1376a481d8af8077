// The mock Live (mock_live.js) with Session-view launching, for the jam's device side.
//
// Added, from the documented Live Object Model (https://docs.cycling74.com/apiref/lom/song,
// .../clipslot, .../clip):
// - Song.clip_trigger_quantization (0 None, 1 8 Bars, 2 4 Bars, 3 2 Bars, 4 1 Bar, 5 1/2, 6 1/2T, 7 1/4,
//   8 1/4T, 9 1/8, 10 1/8T, 11 1/16, 12 1/16T, 13 1/32; Live's default 1 Bar);
// - Clip.launch_quantization (0 Global = the Song's, 1 None, 2 8 Bars, 3 4 Bars, 4 2 Bars, 5 1 Bar,
//   6 1/2, 7 1/2T, 8 1/4, 9 1/4T, 10 1/8, 11 1/8T, 12 1/16, 13 1/16T, 14 1/32), Clip.looping;
// - ClipSlot.fire(): the clip is triggered and starts at the next launch-quantisation boundary of the
//   song time (counted from the song's start; at once with None); a track plays one Session clip,
//   so a clip that starts stops the one playing in its track (Track.playing_slot_index).
// `advance(beats)` moves the song time on and starts the triggered clips whose boundary has come;
// `starts` lists every start: {track, slot, beat, firedAt}.
"use strict";

const { MockLive } = require("./mock_live");

// Beats of a quantisation step, by the Song's clip_trigger_quantization value (bar = beats per bar).
function songQuantBeats(value, bar) {
  const table = [0, 8 * bar, 4 * bar, 2 * bar, bar, 2, 4 / 3, 1, 2 / 3, 0.5, 1 / 3, 0.25, 1 / 6, 0.125];
  return table[value];
}

class MockLiveJam extends MockLive {
  constructor(spec) {
    super(spec);
    this.song.props.clip_trigger_quantization = spec.clip_trigger_quantization ?? 4;
    this.triggered = [];   // {slot, at}
    this.starts = [];
  }

  _clip(c, parent, arrangement) {
    const clip = super._clip(c, parent, arrangement);
    clip.props.launch_quantization = c.launch_quantization ?? 0;
    return clip;
  }

  barBeats() {
    return this.song.props.signature_numerator * 4 / this.song.props.signature_denominator;
  }

  // Beats between launch boundaries for this clip (0: none).
  quantBeats(clip) {
    const q = clip.props.launch_quantization;
    const bar = this.barBeats();
    if (q === 0) return songQuantBeats(this.song.props.clip_trigger_quantization, bar);
    return songQuantBeats(q - 1, bar);
  }

  call(o, fn, args) {
    if (o.type === "ClipSlot" && fn === "fire") {
      if (!o.clip) return this._refuse(o, fn, "an empty slot's fire() stops the track (not used here)");
      const now = this.song.props.current_song_time;
      const step = this.quantBeats(o.clip);
      const at = step > 0 ? Math.ceil(now / step - 1e-9) * step : now;
      this.triggered = this.triggered.filter((t) => t.slot.track !== o.track);  // the last trigger of a track wins
      this.triggered.push({ slot: o, at, firedAt: now });
      this.log.push({ op: "call", type: o.type, id: o.id, fn, args, track: o.track.props.name,
        slot: o.track.clip_slots.indexOf(o) });
      this._startDue();
      return undefined;
    }
    return super.call(o, fn, args);
  }

  _startDue() {
    const now = this.song.props.current_song_time;
    const due = this.triggered.filter((t) => t.at <= now + 1e-9).sort((a, b) => a.at - b.at);
    for (const t of due) {
      const track = t.slot.track;
      track.props.playing_slot_index = track.clip_slots.indexOf(t.slot);
      this.starts.push({ track: track.props.name, slot: track.props.playing_slot_index, beat: t.at,
        firedAt: t.firedAt, file_path: t.slot.clip.props.file_path, looping: t.slot.clip.props.looping });
    }
    this.triggered = this.triggered.filter((t) => !due.includes(t));
  }

  advance(beats) {
    this.song.props.current_song_time += beats;
    this._startDue();
  }
}

module.exports = { MockLiveJam, songQuantBeats };
