"""Per-client session state, and turning it into a frozen ``RenderRequest``.

A session is what one client (one Max for Live device, one controller app)
has said so far: prompt, tempo, typed chords, the notes of a chord clip,
a melody line, a drum file and render settings. Only the OSC thread (and the
live-MIDI thread, under the server's lock) mutates sessions; the worker only
ever sees the frozen request built from one.

Nothing proportional to a session's notes runs on the OSC thread: ``freeze``
takes a ``SessionSnapshot`` in constant time (note lists are only ever appended
to, and replaced on clear, so a list and its length name its contents), and the
snapshot is turned into a request on another thread (``bridge.prepare``).
Derived data is cached per session (``DerivedCache``) under keys that hold only
what it depends on: recognised chords do not depend on the tempo (their beats
are kept; seconds are computed per request), melody frames do.

Chord precedence: typed chords (``/jasco/chords``) win over chords recognised
from notes (``/jasco/notes/add``); with neither, the clip has no chord condition.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence, TypeVar

from bridge.chord_events import TypedChord, fill_loop, typed_events
from core.errors import BadNotes, BadValue, NotFound, TooLarge, VocabularyError
from core.grid import FRAME_RATE
from core.requests import MAX_SESSION_NOTES, ChordEvent, RenderParams, RenderRequest, condition_frames
from midi.limits import check_note_work
from midi.melody import frames_from_notes
from midi.notes import Note

MELODY_FRAME_RATE = FRAME_RATE
_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")
# Max's path syntax is "Drive:/path/to/file" ("Macintosh HD:/Users/..." on macOS, "C:/Users/..." on
# Windows), plus "~:/..." for the home folder (https://docs.cycling74.com/reference/conformpath).
_MAX_VOLUME = re.compile(r"^([^/\\:]+):(/.*)$")
_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:(?:[\\/]|$)")  # C:\..., C:/..., C:
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
T = TypeVar("T")
_drum_tokens = itertools.count(1)  # unique across sessions and resets, so a stale check never matches


class DerivedCache:
    """Per-session results that are slow to compute, each under the key of what it depends on.

    A key names a note list by ``id`` and length; the list itself is kept with the entry, so
    its id cannot be reused by another list while the entry lives.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[tuple[Any, ...], object, Any]] = {}

    def get(self, what: str, key: tuple[Any, ...], keep: object, compute: Callable[[], T]) -> T:
        with self._lock:
            entry = self._entries.get(what)
            if entry is not None and entry[0] == key:
                return entry[2]  # type: ignore[no-any-return]
        value = compute()
        with self._lock:
            self._entries[what] = (key, keep, value)
        return value


@dataclass
class Session:
    """Everything one client has set (mutable; guarded by the server)."""

    key: tuple[str, int]
    prompt: str = ""
    bpm: float = 120.0
    time_signature: tuple[int, int] = (4, 4)
    chords: tuple[TypedChord, ...] = ()
    # Note lists are only appended to (``add_notes``) and replaced (clear, reset): a list and a
    # length name its contents, which is what ``freeze`` takes instead of a copy.
    notes: list[Note] = field(default_factory=list)
    loop: tuple[float, float] | None = None
    melody: list[Note] = field(default_factory=list)
    drums_path: str | None = None
    drums_sha256: str | None = None  # None while the file is still being checked (or if never hashed)
    # A drum file is checked on the checker thread (bridge.drum_check). ``drums_token`` names the
    # choice being checked; a failed check returns the session to ``drums_good``, the last fully
    # checked loop since a clear or reset.
    drums_token: int = 0
    drums_epoch: int = 0
    drums_good: tuple[str, str] | None = None
    drums_region: tuple[float, float] | None = None  # of the chosen file, in seconds; None = all of it
    drums_good_region: tuple[float, float] | None = None
    params: RenderParams = field(default_factory=RenderParams)
    model: str | None = None  # None: the server's model
    last_seen: float = field(default_factory=time.monotonic)
    cache: DerivedCache = field(default_factory=DerivedCache, repr=False, compare=False)

    @property
    def client(self) -> str:
        return f"{self.key[0]}:{self.key[1]}"

    def reset(self) -> None:
        fresh = Session(self.key)
        for f in dataclasses.fields(self):
            setattr(self, f.name, getattr(fresh, f.name))
        self.drums_epoch = next(_drum_tokens)  # checks still running belong to the old state

    # --- drums (see bridge.drum_check: the file is read and hashed on the checker thread) ----
    def choose_drums(self, path: str, region: tuple[float, float] | None = None) -> tuple[int, int]:
        """Use ``path`` (``region`` of it) from now on (its contents are still being checked); returns
        (token, epoch)."""
        self.drums_path, self.drums_sha256, self.drums_region = path, None, region
        self.drums_token = next(_drum_tokens)
        return self.drums_token, self.drums_epoch

    def drums_checked(self, token: int, epoch: int, path: str, sha256: str | None) -> None:
        """The check of choice ``token`` ended: ``sha256`` of the good file, or None when it is bad."""
        current = token == self.drums_token
        if sha256 is not None:
            if epoch == self.drums_epoch:
                self.drums_good = (path, sha256)
                self.drums_good_region = self.drums_region if current else self.drums_good_region
            if current:
                self.drums_sha256 = sha256
        elif current:
            self.drums_path, self.drums_sha256 = self.drums_good or (None, None)
            self.drums_region = self.drums_good_region if self.drums_good else None
            self.drums_token = next(_drum_tokens)

    def clear_drums(self) -> None:
        self.drums_path = self.drums_sha256 = self.drums_good = None
        self.drums_region = self.drums_good_region = None
        self.drums_token = next(_drum_tokens)
        self.drums_epoch = next(_drum_tokens)

    # --- setters (values already validated by the protocol table) ----------------
    def set_tempo(self, bpm: float, numerator: int | None = None, denominator: int | None = None) -> None:
        self.bpm = float(bpm)
        if numerator is not None and denominator is not None:
            self.time_signature = (int(numerator), int(denominator))

    def add_notes(self, target: list[Note], groups: Sequence[tuple[Any, ...]], what: str) -> None:
        if len(target) + len(groups) > MAX_SESSION_NOTES:
            raise TooLarge(
                f"{what}: {len(target) + len(groups)} notes in this session; the limit is {MAX_SESSION_NOTES} "
                f"(send /jasco/{what}/clear first)"
            )
        added = [Note(int(p), float(s), float(d), float(v)) for p, s, d, v in groups]
        check_note_work([*target, *added], f"/jasco/{what}/add")  # the same bound as a MIDI file's
        target.extend(added)

    def clear_notes(self) -> None:
        self.notes = []
        self.loop = None

    def set_setting(self, name: str, value: Any) -> None:
        if name == "model":
            self.model = validate_model(value)
            return
        try:
            self.params = dataclasses.replace(self.params, **{name: value})
        except TypeError as err:  # a field name the protocol table let through by mistake
            raise BadValue(f"unknown setting {name!r}") from err

    # --- request -----------------------------------------------------------------
    def freeze(self) -> "SessionSnapshot":
        """What a generate needs, in constant time (no copy of the notes; see the class comment)."""
        return SessionSnapshot(
            key=self.key, prompt=self.prompt, bpm=self.bpm, time_signature=self.time_signature,
            chords=self.chords, notes=self.notes, notes_len=len(self.notes), loop=self.loop,
            melody=self.melody, melody_len=len(self.melody), drums_path=self.drums_path,
            drums_sha256=self.drums_sha256, params=self.params, model=self.model, cache=self.cache,
            drums_region=self.drums_region)

    def melody_frames(self) -> tuple[int, ...] | None:
        return self.freeze().melody_frames()

    def build_request(self, *, vocab: Any, default_model: str, tag: str = "", client: str = "") -> RenderRequest:
        return self.freeze().build_request(vocab=vocab, default_model=default_model, tag=tag, client=client)

    def build(self, *, vocab: Any, default_model: str, tag: str = "",
              client: str = "") -> tuple[RenderRequest, tuple[str, ...]]:
        return self.freeze().build(vocab=vocab, default_model=default_model, tag=tag, client=client)


@dataclass(frozen=True)
class SessionSnapshot:
    """A session frozen at a ``/jasco/generate``; turned into a ``RenderRequest`` off the OSC thread."""

    key: tuple[str, int]
    prompt: str
    bpm: float
    time_signature: tuple[int, int]
    chords: tuple[TypedChord, ...]
    notes: list[Note]  # the session's list, of which the first ``notes_len`` are this snapshot's
    notes_len: int
    loop: tuple[float, float] | None
    melody: list[Note]
    melody_len: int
    drums_path: str | None
    drums_sha256: str | None
    params: RenderParams
    model: str | None
    cache: DerivedCache = field(repr=False, compare=False)
    drums_region: tuple[float, float] | None = None

    @property
    def client(self) -> str:
        return f"{self.key[0]}:{self.key[1]}"

    @property
    def audible_notes(self) -> bool:
        return any(n.audible for n in self.notes[: self.notes_len])

    def chord_events(self, vocab: Any) -> tuple[ChordEvent, ...]:
        chords = self.chords
        if not chords:
            key = (id(self.notes), self.notes_len, self.loop, self.time_signature, id(vocab))
            chords = self.cache.get("chords", key, self.notes, lambda: self._recognise(vocab))  # tempo-free
        return typed_events(chords, self.bpm)

    def _recognise(self, vocab: Any) -> tuple[TypedChord, ...]:
        notes = [n for n in self.notes[: self.notes_len] if n.audible]
        if not notes:
            return ()
        if vocab is None:
            raise VocabularyError("no chord vocabulary: start the server with --vocab PATH to use chord clips")
        from midi.recognize import recognize

        num, den = self.time_signature
        kwargs: dict[str, Any] = {"beats_per_bar": num * 4.0 / den}
        if self.loop is not None:
            kwargs.update(loop_start=self.loop[0], loop_end=self.loop[1])
        # The beats of a progression do not depend on the tempo (seconds are beats x 60 / bpm,
        # relative to the loop start), so any bpm gives the same result here.
        progression = recognize(notes, bpm=120.0, vocab=vocab, **kwargs)
        mappings = list(getattr(progression, "mappings", ()) or ())
        out = []
        for k, (label, start_beat) in enumerate(progression.beats):
            m = mappings[k] if k < len(mappings) else None
            out.append(TypedChord(
                given=str(getattr(m, "input", label)) if m is not None else str(label),
                label=str(label),
                start_beat=float(start_beat),
                exact=bool(getattr(m, "exact", True)) if m is not None else True,
                reason=str(getattr(m, "reason", "recognised from notes")) if m is not None else "recognised from notes",
            ))
        return tuple(out)

    @property
    def beats_per_bar(self) -> float:
        num, den = self.time_signature
        return num * 4.0 / den  # quarter-note beats

    def melody_frames(self) -> tuple[int, ...] | None:
        """The melody as MIDI note numbers per 50 Hz frame (0 = silence), highest note wins
        (``midi.melody.frames_from_notes``: the same frames as a MIDI file or the CLI give), over
        the model's window, or over the whole clip when it loops or is longer than the window."""
        key = (id(self.melody), self.melody_len, self.bpm, self.params.bars, self.params.loop, self.time_signature)
        return self.cache.get("melody", key, self.melody, self._melody_frames)

    def _melody_frames(self) -> tuple[int, ...] | None:
        notes = [n for n in self.melody[: self.melody_len] if n.audible]
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
            drums_region=self.drums_region,
            melody_frames=self.melody_frames(),
            params=self.params,
            model=self.model or default_model,
            tag=tag,
            client=client or self.client,
        )
        return request, notes

    def build_request(self, *, vocab: Any, default_model: str, tag: str = "", client: str = "") -> RenderRequest:
        return self.build(vocab=vocab, default_model=default_model, tag=tag, client=client)[0]


def native_path_text(text: str, *, windows: bool = os.name == "nt",
                     exists: Callable[[str], bool] = os.path.exists) -> str:
    """A path as Max (or a person) sent it, spelled for this system; string work only.

    Windows drive paths (``C:\\x``, ``C:/x``) and UNC paths are kept as given (Windows
    reads both slashes; elsewhere they name nothing and fail as not found, by name).
    ``~:/x`` is ``~/x``. A macOS volume path ``Volume:/x`` is ``/x`` on the boot volume or
    ``/Volumes/Volume/x`` on another one (whichever exists; ``/x`` when neither does); on
    Windows it cannot be opened at all: ``NotFound`` says so, as for Windows device paths
    (``\\\\.\\pipe\\x``: a named pipe would block the reader like a FIFO).
    """
    text = text.strip()
    if windows and text.replace("/", "\\").startswith(("\\\\.\\", "\\\\?\\GLOBALROOT")):
        # the device namespace: named pipes (\\.\pipe\x), disks, consoles; never a drum file
        raise NotFound(f"{text!r} is a Windows device path, not a file")
    if _WINDOWS_DRIVE.match(text) or text.startswith(("\\\\", "//")):
        return text
    m = _MAX_VOLUME.match(text)
    if m is None:
        return text
    volume, rest = m.group(1), m.group(2)
    if volume == "~":
        return "~" + rest
    if windows:
        raise NotFound(f"{text!r} is a macOS path (volume {volume!r}); this bridge runs on Windows: "
                       "send a path on this computer, like C:/Users/you/drums.wav")
    if exists(text):
        return text
    return next((c for c in (rest, f"/Volumes/{volume}{rest}") if exists(c)), rest)


def normalise_path(text: str) -> str:
    """``~`` expanded, Max's path forms made native (see native_path_text); only absolute paths
    (no file access). A relative path would resolve against the server's working folder, which is
    nothing a client knows about: it is refused (``BadValue``)."""
    text = native_path_text(text)
    if _WINDOWS_DRIVE.match(text) or text.startswith(("\\\\", "//")):
        return text  # absolute on Windows; elsewhere it names nothing and is not found, by name
    try:
        path = Path(text).expanduser()
    except RuntimeError as exc:  # "~nosuchuser/..." cannot be expanded
        raise NotFound(f"{text!r}: {exc}") from None
    if not path.is_absolute():
        raise BadValue(f"drum path {text!r} is relative; send an absolute path (or one starting with ~)")
    return str(path)


def looks_like_hub_id(text: str) -> bool:
    return bool(_HUB_ID.match(text))


def validate_model(value: str) -> str:
    """``tiny``, a hub id (``owner/name``) or an existing local folder (no control characters)."""
    text = value.strip()
    if not text:
        raise BadValue("model must not be empty")
    if _CONTROL.search(text):
        raise BadValue("model must not contain control characters (newlines, tabs, escapes)")
    if text == "tiny" or _HUB_ID.match(text) or _is_folder(text):
        return text
    raise BadValue(f"model must be 'tiny', a hub id like facebook/jasco-chords-drums-400M or a folder; got {text!r}")


def _is_folder(text: str) -> bool:
    """True for an existing folder; a name that cannot be a path (unknown ~user, too long) is not one."""
    try:
        return Path(text).expanduser().is_dir()
    except (RuntimeError, OSError, ValueError):
        return False
