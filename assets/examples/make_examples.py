"""Write the example MIDI files the README's examples use (run from anywhere; mido only).

    python assets/examples/make_examples.py [--out DIR]

- ``song.mid``: four bars of block chords at 120 bpm in 4/4, one chord a bar:
  C, Am7, Fmaj7, G7 (``jasco-bridge chords assets/examples/song.mid``).
- ``lead.mid``: a melody over the same four bars, one note at a time
  (``jasco-bridge melody assets/examples/lead.mid --out melody.npy``).

The files are written by this script only; a test regenerates them and fails when
the committed files differ.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import mido

TICKS_PER_BEAT = 480
BPM = 120
HERE = Path(__file__).resolve().parent

# (MIDI pitches of the chord, length in beats)
SONG = (
    ((48, 60, 64, 67), 4),        # C   : C3 C4 E4 G4
    ((45, 57, 60, 64, 67), 4),    # Am7 : A2 A3 C4 E4 G4
    ((41, 57, 60, 64), 4),        # Fmaj7: F2 A3 C4 E4
    ((43, 59, 62, 65), 4),        # G7  : G2 B3 D4 F4
)
# (MIDI pitch, start beat, length in beats): C major line over the chords above
LEAD = (
    (72, 0.0, 1.0), (76, 1.0, 1.0), (79, 2.0, 1.5), (77, 3.5, 0.5),
    (76, 4.0, 1.0), (72, 5.0, 1.0), (69, 6.0, 2.0),
    (69, 8.0, 1.0), (72, 9.0, 0.5), (74, 9.5, 0.5), (76, 10.0, 2.0),
    (74, 12.0, 1.0), (71, 13.0, 1.0), (67, 14.0, 2.0),
)


def _track(name: str, notes: list[tuple[int, float, float]], velocity: int) -> mido.MidiFile:
    """A type-0 file: tempo, 4/4, track name, the notes (all on channel 1)."""
    events: list[tuple[int, int, mido.Message]] = []
    for pitch, start, length in notes:
        on, off = round(start * TICKS_PER_BEAT), round((start + length) * TICKS_PER_BEAT)
        events.append((on, 1, mido.Message("note_on", note=pitch, velocity=velocity)))
        events.append((off, 0, mido.Message("note_off", note=pitch, velocity=0)))
    events.sort(key=lambda e: (e[0], e[1], e[2].note))
    track = mido.MidiTrack([
        mido.MetaMessage("track_name", name=name, time=0),
        mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(BPM), time=0),
        mido.MetaMessage("time_signature", numerator=4, denominator=4, time=0),
    ])
    now = 0
    for tick, _, msg in events:
        track.append(msg.copy(time=tick - now))
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=0))
    out = mido.MidiFile(type=0, ticks_per_beat=TICKS_PER_BEAT)
    out.tracks.append(track)
    return out


def song() -> mido.MidiFile:
    notes, beat = [], 0.0
    for pitches, length in SONG:
        notes += [(p, beat, float(length)) for p in pitches]
        beat += length
    return _track("chords", notes, velocity=90)


def lead() -> mido.MidiFile:
    return _track("lead", list(LEAD), velocity=100)


def write(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, make in (("song.mid", song), ("lead.mid", lead)):
        path = out / name
        make().save(str(path))
        paths.append(path)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=HERE, help=f"folder to write to (default {HERE})")
    for path in write(parser.parse_args().out):
        print(path)


if __name__ == "__main__":
    main()
