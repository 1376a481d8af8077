"""Reading standard MIDI files (via mido): notes in beats and seconds, tempo map, meter, sustain.

``read_midi(path)`` returns a :class:`MidiClip`: every note (with its channel and track),
the tempo map (so ``beats_to_seconds`` honours tempo changes), the time signatures and
the sustain pedal (CC64 >= 64 = down) per channel. A file that is not MIDI raises
:class:`BadMidi` naming the file. Recognising the chords of a file is
:mod:`midi.file_chords`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from core.errors import BadMidi, BadValue, NotFound, TooLarge
from midi.limits import MAX_END_BEAT, check_length, check_note_work
from midi.notes import MAX_NOTES, Note
from midi.recognize import apply_sustain

logger = logging.getLogger(__name__)

MAX_FILE_BYTES = 32 << 20
DRUM_CHANNEL = 9            # channel 10 in 1-based numbering
DEFAULT_TEMPO = 500_000     # microseconds per beat (120 bpm)


@dataclass(frozen=True)
class FileNote(Note):
    """A note read from a file: a :class:`Note` (beats) plus where it came from."""

    channel: int = 0
    track: int = 0


@dataclass(frozen=True)
class MidiClip:
    path: str
    ticks_per_beat: int
    notes: tuple[FileNote, ...]
    tempo_changes: tuple[tuple[float, int], ...]            # (beat, microseconds per beat), first at 0
    time_signatures: tuple[tuple[float, int, int], ...]     # (beat, numerator, denominator), first at 0
    sustain: tuple[tuple[int, float, float], ...]           # (channel, down beat, up beat)
    length_beats: float
    _tempo_beats: np.ndarray = field(init=False, repr=False, compare=False)
    _tempo_seconds: np.ndarray = field(init=False, repr=False, compare=False)
    _tempo_spb: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        beats = np.array([b for b, _ in self.tempo_changes], np.float64)
        spb = np.array([t / 1e6 for _, t in self.tempo_changes], np.float64)
        secs = np.concatenate(([0.0], np.cumsum(np.diff(beats) * spb[:-1])))
        object.__setattr__(self, "_tempo_beats", beats)
        object.__setattr__(self, "_tempo_seconds", secs)
        object.__setattr__(self, "_tempo_spb", spb)

    # --- time -----------------------------------------------------------------------
    def beats_to_seconds(self, beats: Any) -> np.ndarray:
        """Seconds of each beat position through the tempo map."""
        b = np.asarray(beats, np.float64)
        i = np.clip(np.searchsorted(self._tempo_beats, b, side="right") - 1, 0, len(self._tempo_beats) - 1)
        return self._tempo_seconds[i] + (b - self._tempo_beats[i]) * self._tempo_spb[i]

    @property
    def bpm(self) -> float:
        """The first tempo in beats per minute."""
        return 60e6 / self.tempo_changes[0][1]

    @property
    def time_signature(self) -> tuple[int, int]:
        return self.time_signatures[0][1], self.time_signatures[0][2]

    @property
    def beats_per_bar(self) -> float:
        num, den = self.time_signature
        return num * 4.0 / den

    @property
    def meter(self) -> tuple[tuple[float, float, float], ...]:
        """``(start_beat, beats_per_bar, pulse)`` for every time signature (what recognition
        reads): the pulse is a dotted note in compound meters (6/8, 9/8, 12/8), else the
        signature's note value (a quarter in 4/4, a half in 2/2)."""
        out = []
        for beat, num, den in self.time_signatures:
            unit = 4.0 / den
            compound = den >= 8 and num % 3 == 0 and num >= 6
            out.append((beat, num * unit, 3 * unit if compound else unit))
        return tuple(out)

    @property
    def length_seconds(self) -> float:
        return float(self.beats_to_seconds(self.length_beats))

    def note_seconds(self) -> tuple[np.ndarray, np.ndarray]:
        """(start, end) of every note in seconds."""
        start = np.array([n.start for n in self.notes], np.float64)
        end = np.array([n.start + n.duration for n in self.notes], np.float64)
        return self.beats_to_seconds(start), self.beats_to_seconds(end)

    # --- selection ------------------------------------------------------------------
    def select(
        self, *, channel: int | None = None, track: int | None = None, include_drums: bool = False
    ) -> tuple[FileNote, ...]:
        return tuple(
            n for n in self.notes
            if (channel is None or n.channel == channel)
            and (track is None or n.track == track)
            and (include_drums or channel == DRUM_CHANNEL or n.channel != DRUM_CHANNEL)
        )

    def sustained(self, notes: Sequence[FileNote] | None = None) -> tuple[Note, ...]:
        """Notes with the sustain pedal applied per channel."""
        chosen = self.notes if notes is None else tuple(notes)
        out: list[Note] = []
        for ch in sorted({n.channel for n in chosen}):
            group = [n for n in chosen if n.channel == ch]
            pedal = [(d, u) for c, d, u in self.sustain if c == ch]
            out.extend(apply_sustain(group, pedal))
        return tuple(out)


def channel_index(channel: int | None) -> int | None:
    """A channel as musicians number it (1-16, from ``--channel``) -> mido's 0-15; None stays None."""
    if channel is None:
        return None
    if isinstance(channel, bool) or not isinstance(channel, int) or not 1 <= channel <= 16:
        raise BadValue(f"--channel must be 1..16, got {channel!r}")
    return channel - 1


def _open(path: Path) -> Any:
    import mido

    if not path.exists():
        raise NotFound(f"MIDI file {path} does not exist")
    if not path.is_file():
        raise BadMidi(f"{path} is not a file")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise TooLarge(f"MIDI file {path} is {size} bytes (limit {MAX_FILE_BYTES})")
    try:
        return mido.MidiFile(str(path), clip=True)
    except Exception as exc:  # mido raises OSError, EOFError, ValueError, KeyError...: all mean "not MIDI"
        raise BadMidi(f"{path} is not a readable MIDI file ({type(exc).__name__}: {exc})") from exc


def read_midi(path: str | Path) -> MidiClip:
    """Read a standard MIDI file (type 0, 1 or 2)."""
    p = Path(path)
    mid = _open(p)
    tpb = int(mid.ticks_per_beat or 480)
    if tpb <= 0:
        raise BadMidi(f"{p}: ticks per beat must be positive, got {tpb}")
    tempos: list[tuple[int, int]] = []
    sigs: list[tuple[int, int, int]] = []
    raw_notes: list[tuple[int, int, int, int, int, int]] = []  # start, end, pitch, vel, channel, track
    pedal: list[tuple[int, int, int]] = []
    last_tick = 0
    end_tick = MAX_END_BEAT * tpb
    try:
        for ti, track in enumerate(mid.tracks):
            tick = 0
            held: dict[tuple[int, int], list[tuple[int, int]]] = {}
            down: dict[int, int] = {}
            for msg in track:
                tick += int(msg.time)
                if tick > end_tick:  # the file's length in beats is bounded as it is read
                    check_length(tick / tpb, str(p))
                kind = msg.type
                if kind == "set_tempo":
                    tempos.append((tick, int(msg.tempo)))
                elif kind == "time_signature":
                    sigs.append((tick, int(msg.numerator), int(msg.denominator)))
                elif kind == "note_on" and msg.velocity > 0:
                    held.setdefault((msg.channel, msg.note), []).append((tick, int(msg.velocity)))
                elif kind == "note_off" or (kind == "note_on" and msg.velocity == 0):
                    stack = held.get((msg.channel, msg.note))
                    if stack:
                        on, vel = stack.pop(0)
                        raw_notes.append((on, tick, msg.note, vel, msg.channel, ti))
                elif kind == "control_change" and msg.control == 64:
                    if msg.value >= 64 and msg.channel not in down:
                        down[msg.channel] = tick
                    elif msg.value < 64 and msg.channel in down:
                        pedal.append((msg.channel, down.pop(msg.channel), tick))
                if len(raw_notes) > MAX_NOTES:
                    raise TooLarge(f"{p} has more than {MAX_NOTES} notes")
            for (ch, pitch), stack in held.items():  # never released: end with the track
                for on, vel in stack:
                    raw_notes.append((on, tick, pitch, vel, ch, ti))
            for ch, d in down.items():
                pedal.append((ch, d, tick))
            last_tick = max(last_tick, tick)
    except TooLarge:
        raise
    except Exception as exc:
        raise BadMidi(f"{p}: cannot read its events ({type(exc).__name__}: {exc})") from exc
    tempos.sort()
    if not tempos or tempos[0][0] > 0:
        tempos.insert(0, (0, DEFAULT_TEMPO))
    # one tempo per tick (the last one written wins)
    dedup: dict[int, int] = {}
    for tk, tempo in tempos:
        if tempo <= 0:
            raise BadMidi(f"{p}: tempo {tempo} is not positive")
        dedup[tk] = tempo
    sigs.sort()
    if not sigs or sigs[0][0] > 0:
        sigs.insert(0, (0, 4, 4))
    notes = tuple(
        FileNote(pitch, on / tpb, max(off - on, 1) / tpb, vel, False, channel=ch, track=ti)
        for on, off, pitch, vel, ch, ti in sorted(raw_notes)
    )
    check_note_work(notes, str(p))  # 100,000 notes never released: each lasts to the end of its track
    return MidiClip(
        path=str(p),
        ticks_per_beat=tpb,
        notes=notes,
        tempo_changes=tuple((tk / tpb, tempo) for tk, tempo in sorted(dedup.items())),
        time_signatures=tuple((tk / tpb, num, den) for tk, num, den in sigs),
        sustain=tuple((ch, d / tpb, u / tpb) for ch, d, u in sorted(pedal)),
        length_beats=last_tick / tpb,
    )
