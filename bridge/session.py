"""Per-client session state, and turning it into a frozen ``RenderRequest``.

A session is what one client (one Max for Live device, one controller app)
has said so far: prompt, tempo, typed chords, the notes of a chord clip,
a melody line, a drum file and render settings. Only the OSC thread (and the
live-MIDI thread, under the server's lock) mutates sessions; the worker only
ever sees the frozen request built from one.

Chord precedence: typed chords (``/jasco/chords``) win over chords recognised
from notes (``/jasco/notes/add``); with neither, the clip has no chord condition.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from core.errors import BadNotes, BadValue, NotFound, TooLarge, VocabularyError
from core.requests import FRAME_RATE, MAX_CHORDS, MAX_NOTES, ChordEvent, RenderParams, RenderRequest, condition_frames
from midi.melody import frames_from_notes
from midi.notes import Note

MELODY_FRAME_RATE = FRAME_RATE
_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")
_MAX_VOLUME = re.compile(r"^[^/:]+:(/.*)$")  # Max's "Macintosh HD:/Users/..." form
_drum_tokens = itertools.count(1)  # unique across sessions and resets, so a stale check never matches


@dataclass(frozen=True)
class TypedChord:
    """A typed chord as mapped when it arrived (seconds are computed at generate time)."""

    given: str
    label: str
    start_beat: float
    exact: bool
    reason: str


@dataclass
class Session:
    """Everything one client has set (mutable; guarded by the server)."""

    key: tuple[str, int]
    prompt: str = ""
    bpm: float = 120.0
    time_signature: tuple[int, int] = (4, 4)
    chords: tuple[TypedChord, ...] = ()
    notes: list[Note] = field(default_factory=list)
    loop: tuple[float, float] | None = None
    melody: list[Note] = field(default_factory=list)
    drums_path: str | None = None
    drums_sha256: str | None = None  # None while the file is still being checked (or if never hashed)
    # A drum file is checked in two steps (bridge.server): its header on the OSC thread, then a full
    # read and hash on the checker thread. ``drums_token`` names the choice being checked; a failed
    # check returns the session to ``drums_good``, the last fully checked loop since a clear or reset.
    drums_token: int = 0
    drums_epoch: int = 0
    drums_good: tuple[str, str] | None = None
    params: RenderParams = field(default_factory=RenderParams)
    model: str | None = None  # None: the server's model
    last_seen: float = field(default_factory=time.monotonic)
    # Chords recognised from the notes, kept until notes, loop, tempo, metre or vocabulary change:
    # recognising a 20,000-note session takes ~0.2 s, which must not be paid on every generate.
    notes_revision: int = 0
    _recognised: tuple[tuple[Any, ...], tuple[ChordEvent, ...]] | None = field(default=None, repr=False)

    @property
    def client(self) -> str:
        return f"{self.key[0]}:{self.key[1]}"

    def reset(self) -> None:
        fresh = Session(self.key)
        for f in dataclasses.fields(self):
            setattr(self, f.name, getattr(fresh, f.name))
        self.drums_epoch = next(_drum_tokens)  # checks still running belong to the old state

    # --- drums (see bridge.server: header checked at once, contents on the checker thread) ----
    def choose_drums(self, path: str) -> tuple[int, int]:
        """Use ``path`` from now on (its contents are still being checked); returns (token, epoch)."""
        self.drums_path, self.drums_sha256 = path, None
        self.drums_token = next(_drum_tokens)
        return self.drums_token, self.drums_epoch

    def drums_checked(self, token: int, epoch: int, path: str, sha256: str | None) -> None:
        """The check of choice ``token`` ended: ``sha256`` of the good file, or None when it is bad."""
        current = token == self.drums_token
        if sha256 is not None:
            if epoch == self.drums_epoch:
                self.drums_good = (path, sha256)
            if current:
                self.drums_sha256 = sha256
        elif current:
            self.drums_path, self.drums_sha256 = self.drums_good or (None, None)
            self.drums_token = next(_drum_tokens)

    def clear_drums(self) -> None:
        self.drums_path = self.drums_sha256 = self.drums_good = None
        self.drums_token = next(_drum_tokens)
        self.drums_epoch = next(_drum_tokens)

    # --- setters (values already validated by the protocol table) ----------------
    def set_tempo(self, bpm: float, numerator: int | None = None, denominator: int | None = None) -> None:
        self.bpm = float(bpm)
        if numerator is not None and denominator is not None:
            self.time_signature = (int(numerator), int(denominator))

    def add_notes(self, target: list[Note], groups: Sequence[tuple[Any, ...]], what: str) -> None:
        if len(target) + len(groups) > MAX_NOTES:
            raise TooLarge(
                f"{what}: {len(target) + len(groups)} notes in this session; the limit is {MAX_NOTES} "
                f"(send /jasco/{what}/clear first)"
            )
        target.extend(Note(int(p), float(s), float(d), float(v)) for p, s, d, v in groups)
        if target is self.notes:
            self.notes_revision += 1

    def clear_notes(self) -> None:
        self.notes = []
        self.loop = None
        self.notes_revision += 1

    def set_setting(self, name: str, value: Any) -> None:
        if name == "model":
            self.model = validate_model(value)
            return
        try:
            self.params = dataclasses.replace(self.params, **{name: value})
        except TypeError as err:  # a field name the protocol table let through by mistake
            raise BadValue(f"unknown setting {name!r}") from err

    # --- request -----------------------------------------------------------------
    def chord_events(self, vocab: Any) -> tuple[ChordEvent, ...]:
        spb = 60.0 / self.bpm
        if self.chords:
            return tuple(
                ChordEvent(c.given, c.label, c.start_beat, c.start_beat * spb, c.exact, c.reason)
                for c in self.chords
            )
        key = (self.notes_revision, self.loop, self.bpm, self.time_signature, id(vocab))
        if self._recognised is not None and self._recognised[0] == key:
            return self._recognised[1]
        events = self._recognise(vocab)
        self._recognised = (key, events)
        return events

    def _recognise(self, vocab: Any) -> tuple[ChordEvent, ...]:
        notes = [n for n in self.notes if n.audible]
        if not notes:
            return ()
        if vocab is None:
            raise VocabularyError("no chord vocabulary: start the server with --vocab PATH to use chord clips")
        from midi.recognize import recognize

        num, den = self.time_signature
        kwargs: dict[str, Any] = {"beats_per_bar": num * 4.0 / den}
        if self.loop is not None:
            kwargs.update(loop_start=self.loop[0], loop_end=self.loop[1])
        progression = recognize(notes, bpm=self.bpm, vocab=vocab, **kwargs)
        events = []
        mappings = list(getattr(progression, "mappings", ()) or ())
        for k, ((label, start_beat), (_, start_s)) in enumerate(zip(progression.beats, progression.seconds)):
            m = mappings[k] if k < len(mappings) else None
            events.append(
                ChordEvent(
                    given=str(getattr(m, "input", label)) if m is not None else str(label),
                    label=str(label),
                    start_beat=float(start_beat),
                    start_seconds=float(start_s),
                    exact=bool(getattr(m, "exact", True)) if m is not None else True,
                    reason=str(getattr(m, "reason", "recognised from notes")) if m is not None else "recognised from notes",
                )
            )
        return tuple(events)

    @property
    def beats_per_bar(self) -> float:
        num, den = self.time_signature
        return num * 4.0 / den  # quarter-note beats

    def melody_frames(self) -> tuple[int, ...] | None:
        """The melody as MIDI note numbers per 50 Hz frame (0 = silence), highest note wins
        (``midi.melody.frames_from_notes``: the same frames as a MIDI file or the CLI give), over
        the model's window, or over the whole clip when it loops or is longer than the window."""
        notes = [n for n in self.melody if n.audible]
        if not notes:
            return None
        count = condition_frames(self.params, self.beats_per_bar * 60.0 / self.bpm)
        frames = frames_from_notes(notes, bpm=self.bpm, frames=count, frame_rate=MELODY_FRAME_RATE)
        if not frames.any():
            raise BadNotes(f"the melody has no notes inside the clip's first {count / MELODY_FRAME_RATE:g} s "
                           "at this tempo")
        return tuple(int(v) for v in frames)

    def build(self, *, vocab: Any, default_model: str, tag: str = "",
              client: str = "") -> tuple[RenderRequest, tuple[str, ...]]:
        """The frozen request, and notes for the client about how the chords fill the clip."""
        chords = self.chord_events(vocab)
        notes: tuple[str, ...] = ()
        if chords and self.params.bars and self.params.loop:
            period = None
            if not self.chords and self.loop is not None:  # chords recognised inside the clip's loop region
                period = self.loop[1] - self.loop[0]
            chords, notes = fill_loop(chords, bars=self.params.bars, beats_per_bar=self.beats_per_bar,
                                      seconds_per_beat=60.0 / self.bpm, period=period)
        elif chords and self.params.bars:  # a one-shot phrase: say when chords fall after its end
            late = sum(1 for c in chords if c.start_beat >= self.params.bars * self.beats_per_bar - 1e-9)
            if late:
                notes = (f"{late} chord(s) start after the {self.params.bars}-bar clip ends and are not heard",)
        request = RenderRequest(
            prompt=self.prompt,
            bpm=self.bpm,
            time_signature=self.time_signature,
            chords=chords,
            drums_path=self.drums_path,
            drums_sha256=self.drums_sha256,
            melody_frames=self.melody_frames(),
            params=self.params,
            model=self.model or default_model,
            tag=tag,
            client=client or self.client,
        )
        return request, notes

    def build_request(self, *, vocab: Any, default_model: str, tag: str = "", client: str = "") -> RenderRequest:
        return self.build(vocab=vocab, default_model=default_model, tag=tag, client=client)[0]


def fill_loop(chords: Sequence[ChordEvent], *, bars: int, beats_per_bar: float, seconds_per_beat: float,
              period: float | None = None) -> tuple[tuple[ChordEvent, ...], tuple[str, ...]]:
    """Repeat a progression shorter than a loop of ``bars`` bars until the loop is full.

    The progression lasts ``period`` beats (the chord clip's loop region, when the chords were
    recognised inside one), else the fewest whole bars that hold every chord start and divide the
    loop (so a 2- or 4-bar progression repeats evenly in 8 bars; a progression that fits no
    divisor lasts the whole loop and the last chord holds). A progression with chords starting at or
    after the loop's end is longer than the loop: it is not repeated, and those chords are not heard.
    Both cases are said in the returned notes."""
    clip_beats = bars * beats_per_bar
    eps = 1e-9
    inside = [c for c in chords if c.start_beat < clip_beats - eps]
    notes: list[str] = []
    if len(inside) < len(chords):  # a progression longer than the loop: nothing to repeat
        notes.append(f"{len(chords) - len(inside)} chord(s) start after the {bars}-bar loop ends and are not heard")
        return tuple(chords), tuple(notes)
    if period is None or period <= eps:
        last_bar = int(max(c.start_beat for c in inside) // beats_per_bar + eps)  # 0-based bar of the last start
        length = next(p for p in range(last_bar + 1, bars + 1) if bars % p == 0)
        period = length * beats_per_bar
    if period >= clip_beats - eps:
        return tuple(chords), tuple(notes)
    out = list(inside)
    k = 1
    while k * period < clip_beats - eps:
        for c in inside:
            beat = c.start_beat + k * period
            if beat < clip_beats - eps:
                out.append(dataclasses.replace(c, start_beat=beat, start_seconds=beat * seconds_per_beat))
        k += 1
    if len(out) > MAX_CHORDS:
        raise TooLarge(f"repeating the progression over {bars} bars gives {len(out)} chords; the limit is "
                       f"{MAX_CHORDS}")
    notes.append(f"the {period / beats_per_bar:g}-bar progression plays {k} times to fill the {bars}-bar loop")
    return tuple(out), tuple(notes)


def map_chords(groups: Sequence[tuple[str, float]], vocab: Any) -> tuple[TypedChord, ...]:
    """Map typed symbols to the vocabulary (``BadChord`` names the first bad one), in the order given
    (the ``chord_order`` parameter says how the engine reads them)."""
    if vocab is None:
        raise VocabularyError("no chord vocabulary: start the server with --vocab PATH to use chords")
    from midi.symbols import map_symbol

    out = []
    for text, beat in groups:
        m = map_symbol(text, vocab)
        out.append(TypedChord(text, m.label, float(beat), bool(m.exact), str(m.reason)))
    return tuple(out)


def normalise_path(text: str) -> str:
    """``~`` expanded, Max's ``Volume:/path`` form stripped, made absolute."""
    text = text.strip()
    m = _MAX_VOLUME.match(text)
    if m and not os.path.exists(text):
        text = m.group(1)
    try:
        return str(Path(text).expanduser().absolute())
    except RuntimeError as exc:  # "~nosuchuser/..." cannot be expanded
        raise NotFound(f"{text!r}: {exc}") from None


def looks_like_hub_id(text: str) -> bool:
    return bool(_HUB_ID.match(text))


def validate_model(value: str) -> str:
    """``tiny``, a hub id (``owner/name``) or an existing local folder."""
    text = value.strip()
    if not text:
        raise BadValue("model must not be empty")
    if text == "tiny" or _HUB_ID.match(text) or _is_folder(text):
        return text
    raise BadValue(f"model must be 'tiny', a hub id like facebook/jasco-chords-drums-400M or a folder; got {text!r}")


def _is_folder(text: str) -> bool:
    """True for an existing folder; a name that cannot be a path (unknown ~user, too long) is not one."""
    try:
        return Path(text).expanduser().is_dir()
    except (RuntimeError, OSError, ValueError):
        return False
