"""The OSC address space, declared once.

``MESSAGES`` lists every address a client may send, with its arguments
(name, type, range, optional trailing group, repeating group), the replies it
can cause and a description; ``REPLIES`` lists every message the server sends;
``SETTINGS`` lists the names ``/jasco/set`` accepts; ``ERROR_HELP`` describes
every stable error code. ``parse`` validates an incoming message against the
table into a frozen ``Message``; ``reply`` checks an outgoing one against it.
``docs/osc.md`` is generated from these tables (``jasco-bridge osc-docs``).

Argument types (on the way in, ints and floats are interchangeable):

- ``i`` integer: an OSC int, int64, or a float with no fractional part
- ``f`` number: any OSC int or float, must be finite
- ``s`` string: an OSC string (or symbol)
- ``*`` any of the above (``T``/``F`` read as 1/0)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Mapping, Sequence

from core import errors
from core.errors import BadAddress, BadArguments, BadValue, TooLarge
from bridge.jobs import WORKER_STATES
from bridge.osc import OscArg, to_wire
from core import params as P
from core.requests import MAX_CHORDS, MAX_PROMPT_CHARS, MAX_SESSION_NOTES
from midi.limits import MAX_BEAT  # beats; 64 bars of 32/4 at most is 2048, so this is generous

PREFIX = "/jasco"
MAX_PATH_CHARS = 4096
JAM_TAKE_LEAD_S = 0.5  # /jasco/jam/take comes at least this long before its boundary (the device places it)
MAX_TAG_CHARS = 200
MAX_JOB_CHARS = 64
MAX_PING_ARGS = 64
MAX_PROMPT_WORDS = 256  # /jasco/prompt arguments after the first (each joined with a space)
MAX_DRUM_SECONDS = 3600.0  # a drum region's bounds, in seconds of its file
NOTES_PER_PACKET = 1024
TYPE_NAMES = {"i": "an int", "f": "a number (int or float)", "s": "a string", "*": "an int, float or string"}


@dataclass(frozen=True)
class Arg:
    """One argument: name, type (``i``, ``f``, ``s``, ``*``), range and help."""

    name: str
    type: str
    help: str = ""
    lo: float | None = None
    hi: float | None = None
    choices: tuple[Any, ...] = ()
    max_len: int | None = None
    exclusive_lo: bool = False

    def __post_init__(self) -> None:
        if self.type not in TYPE_NAMES:
            raise ValueError(f"unknown argument type {self.type!r}")

    @classmethod
    def from_param(cls, name: str, help: str = "") -> "Arg":
        """An argument whose type, range and help come from the parameter table."""
        p = P.param(name)
        kind = {int: "i", float: "f", str: "s", bool: "i"}[p.kind]
        return cls(p.name, kind, help or p.help, lo=p.lo, hi=p.hi, choices=p.choices)

    @property
    def signature(self) -> str:
        return f"<{self.name}:{self.type}>"

    @property
    def constraint(self) -> str:
        if self.choices:
            return "one of " + ", ".join(str(c) for c in self.choices)
        if self.lo is not None and self.hi is not None:
            op = "<" if self.exclusive_lo else "≤"
            return f"{self.lo:g} {op} {self.name} ≤ {self.hi:g}"
        if self.lo is not None:
            return f"≥ {self.lo:g}"
        if self.max_len is not None:
            return f"at most {self.max_len} characters"
        return ""

    def convert(self, address: str, position: int, arg: OscArg) -> Any:
        where = f"{address}: argument {position} <{self.name}>"
        value = arg.value
        if arg.tag in ("T", "F") and self.type in ("i", "*"):
            value = int(value)
        elif self.type in ("i", "f", "*") and arg.tag in ("i", "h", "f", "d"):
            if isinstance(value, float) and not math.isfinite(value):
                raise BadValue(f"{where} must be a finite number, got {value}")
            if self.type == "i":
                if isinstance(value, float):
                    if not value.is_integer():
                        raise BadValue(f"{where} must be a whole number, got {value:g}")
                    value = int(value)
            elif self.type == "f":
                value = float(value)
        elif arg.tag == "s" and self.type in ("s", "*"):
            if self.max_len is not None and len(value) > self.max_len:
                raise TooLarge(f"{where} is {len(value)} characters; the limit is {self.max_len}")
        else:
            raise BadArguments(f"{where} must be {TYPE_NAMES[self.type]}, got OSC type '{arg.tag}'")
        if self.choices and value not in self.choices:
            raise BadValue(f"{where} must be one of {', '.join(map(str, self.choices))}, got {value!r}")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            low_bad = self.lo is not None and (value <= self.lo if self.exclusive_lo else value < self.lo)
            if low_bad or (self.hi is not None and value > self.hi):
                raise BadValue(f"{where} must satisfy {self.constraint}, got {value:g}")
        return value


@dataclass(frozen=True)
class Spec:
    """One address: fixed arguments, an optional all-or-nothing trailing group,
    and a repeating group (``min_repeat``..``max_repeat`` times) after them."""

    address: str
    help: str
    args: tuple[Arg, ...] = ()
    optional: tuple[Arg, ...] = ()
    repeat: tuple[Arg, ...] = ()
    min_repeat: int = 0
    max_repeat: int | None = None
    replies: tuple[str, ...] = ()

    @property
    def signature(self) -> str:
        parts = [a.signature for a in self.args]
        if self.optional:
            parts.append("[" + " ".join(a.signature for a in self.optional) + "]")
        if self.repeat:
            group = " ".join(a.signature for a in self.repeat)
            parts.append(f"{group} …" if self.min_repeat else f"[{group} …]")
        return " ".join([self.address, *parts])

    def arities(self) -> str:
        n = len(self.args)
        if self.repeat:
            k = len(self.repeat)
            first = n + k * self.min_repeat
            return f"{first}, {first + k}, {first + 2 * k}, … arguments"
        if self.optional:
            return f"{n} or {n + len(self.optional)} arguments"
        return f"{n} argument{'s' if n != 1 else ''}"


@dataclass(frozen=True)
class Message:
    """A validated incoming message: named values plus the repeated groups."""

    address: str
    values: Mapping[str, Any]
    groups: tuple[tuple[Any, ...], ...] = ()

    def __getitem__(self, name: str) -> Any:
        return self.values[name]

    def get(self, name: str, default: Any = None) -> Any:
        return self.values.get(name, default)


# --- the address space ------------------------------------------------------------
_NOTE = (
    Arg("pitch", "i", "MIDI note number", lo=0, hi=127),
    Arg("start_beat", "f", "start in beats (quarter notes) from the clip start", lo=0, hi=MAX_BEAT),
    Arg("duration_beat", "f", "length in beats", lo=0, hi=MAX_BEAT, exclusive_lo=True),
    Arg("velocity", "f", "0 = a silent note (ignored, like a muted one)", lo=0, hi=127),
)

MESSAGES: tuple[Spec, ...] = (
    Spec(
        "/jasco/ping",
        "Liveness check, answered at once even while a render runs. Echoes up to "
        f"{MAX_PING_ARGS} arguments.",
        repeat=(Arg("value", "*"),),
        max_repeat=MAX_PING_ARGS,
        replies=("/jasco/pong",),
    ),
    Spec(
        "/jasco/hello",
        "Register: replies to messages from this sender's address and port go to its host at "
        "`reply_port` (without it they go to the server's `--reply-port`). State is kept per "
        "(host, reply port), so two devices on one machine must use different reply ports. The "
        "server's own port is refused. A registered client that was heard from in the last 5 minutes "
        "(or has a job queued) is never forgotten for another; when the tables are full of such clients "
        "a newcomer gets `too_many_clients`.",
        args=(Arg("reply_port", "i", "UDP port the client listens on", lo=1, hi=65535),),
        replies=("/jasco/hello",),
    ),
    Spec(
        "/jasco/status",
        "Ask for the worker's state (in jam mode also the jam's: `/jasco/jam`).",
        replies=("/jasco/status", "/jasco/jam"),
    ),
    Spec(
        "/jasco/prompt",
        "Text description of the music. Several arguments are joined with single spaces (Max and Pure "
        "Data send `/jasco/prompt warm rhodes` as two strings, and a word like `808` as a number); "
        f"at most {MAX_PROMPT_CHARS} characters in all.",
        args=(Arg("text", "*", max_len=MAX_PROMPT_CHARS),),
        repeat=(Arg("more", "*", max_len=MAX_PROMPT_CHARS),),
        max_repeat=MAX_PROMPT_WORDS,
    ),
    Spec(
        "/jasco/tempo",
        "Session tempo (quarter notes per minute) and time signature (default 4/4). Beats in "
        "chords and notes are quarter notes at this tempo.",
        args=(Arg.from_param("bpm"),),
        optional=(Arg.from_param("numerator"), Arg.from_param("denominator")),
    ),
    Spec(
        "/jasco/chords",
        "The chord progression as typed symbols in any spelling (`C`, `Am7`, `F#m7b5`, "
        "`Bbmaj7/D`, `N` for no chord), each with its start beat; each is mapped to the "
        "model's vocabulary at once (unknown strings get `bad_chord`). Replaces the previous "
        "progression; no arguments clears it. Explicit chords take precedence over chords "
        "recognised from `/jasco/notes/add`.",
        repeat=(
            Arg("label", "s", "chord symbol", max_len=64),
            Arg("start_beat", "f", lo=0, hi=MAX_BEAT),
        ),
        max_repeat=MAX_CHORDS,
        replies=("/jasco/chords/mapped",),
    ),
    Spec("/jasco/chords/clear", "Forget the typed progression (notes are used again)."),
    Spec("/jasco/notes/clear", "Forget the notes of the chord clip."),
    Spec(
        "/jasco/notes/add",
        "Append notes of a chord clip (send many per packet, in chunks). At generate time the "
        f"chords are recognised from them. At most {MAX_SESSION_NOTES} notes per session.",
        repeat=_NOTE,
        min_repeat=1,
        max_repeat=NOTES_PER_PACKET,
    ),
    Spec(
        "/jasco/notes/loop",
        "The clip's loop region in beats (chords are recognised inside it); end 0 = whole clip.",
        args=(Arg("start_beat", "f", lo=0, hi=MAX_BEAT), Arg("end_beat", "f", lo=0, hi=MAX_BEAT)),
    ),
    Spec("/jasco/melody/clear", "Forget the melody line."),
    Spec(
        "/jasco/melody/add",
        "Append notes of a melody line (the highest sounding note wins; only models with "
        "melody conditioning use it).",
        repeat=_NOTE,
        min_repeat=1,
        max_repeat=NOTES_PER_PACKET,
    ),
    Spec(
        "/jasco/drums",
        "A drum loop: an audio file the server's host can read (absolute path; `~` and Max's "
        "`Volume:/path` form are understood; a relative path is refused). A name without an audio "
        "extension is refused at once, without looking at the file system. The file is opened, "
        "checked and read in the background (only a regular file, opened once) and answered with "
        "`/jasco/drums/loaded`, or with `/jasco/error` (missing, unsupported, corrupt, too long, damaged "
        "or NaN samples), after which the previous good loop stays in use. With `start_s end_s` only that "
        "region of the file is the loop (an Arrangement clip's start and end markers); `end_s` not after "
        "`start_s`, or a region beyond the file's end, is refused with `bad_value`.",
        args=(Arg("path", "s", max_len=MAX_PATH_CHARS),),
        optional=(
            Arg("start_s", "f", "where the drum region starts in the file, in seconds", lo=0, hi=MAX_DRUM_SECONDS),
            Arg("end_s", "f", "where it ends (after start_s; beyond the file's end is refused)", lo=0,
                hi=MAX_DRUM_SECONDS),
        ),
        replies=("/jasco/drums/loaded",),
    ),
    Spec("/jasco/drums/clear", "No drum condition."),
    Spec(
        "/jasco/set",
        "Set one render parameter for this client (see *Settings* below). `model` accepts the "
        "server's model, `tiny`, a folder with the checkpoint files, or a hub id already downloaded on "
        "the server's machine (any hub id only when the server runs with `--allow-model-download`); "
        "others get `model_unavailable` and change nothing. A float given for a whole-number setting must "
        "be whole and at most 2^24 = 16777216 (a 32-bit float, what Max and Pure Data send, cannot hold every "
        "larger whole number): otherwise `bad_value`; send larger numbers as ints.",
        args=(Arg("name", "s", max_len=64), Arg("value", "*", max_len=512)),
    ),
    Spec("/jasco/reset", "Forget this client's whole state (prompt, tempo, chords, notes, drums, settings)."),
    Spec(
        "/jasco/generate",
        "Render a clip from this client's state. The reply sequence is queued, started, "
        "progress (throttled) and done, or error; a full queue answers `queue_full`.",
        optional=(Arg("tag", "s", "a label for this take, stored in the clip's sidecar", max_len=MAX_TAG_CHARS),),
        replies=("/jasco/queued", "/jasco/note", "/jasco/started", "/jasco/progress", "/jasco/done", "/jasco/error"),
    ),
    Spec(
        "/jasco/cancel",
        "Cancel a queued or running job of this client (a running one stops between function "
        "evaluations); another client's job is answered `unknown_job`.",
        args=(Arg("job", "s", max_len=MAX_JOB_CHARS),),
        replies=("/jasco/cancelled",),
    ),
)

REPLIES: tuple[Spec, ...] = (
    Spec("/jasco/pong", "Answer to `/jasco/ping`, same arguments.", repeat=(Arg("value", "*"),)),
    Spec(
        "/jasco/hello",
        "Answer to `/jasco/hello`.",
        args=(Arg("version", "s"), Arg("model", "s")),
    ),
    Spec(
        "/jasco/status",
        "`state` is " + ", ".join(f"`{st}`" for st in WORKER_STATES) + " (after `error` a `/jasco/error` "
        "says why, e.g. `model_unavailable` with what to do).",
        args=(Arg("state", "s"), Arg("queued", "i"), Arg("model", "s"), Arg("device", "s"),
              Arg("precision", "s", "the engine's precision (`serve --dtype`), `+compile` when compiled; "
                  "empty until the model has loaded")),
    ),
    Spec(
        "/jasco/jam",
        "Jam mode (`jasco-bridge jam`), after `/jasco/status` and to the last client at every boundary and take: "
        "the phrase playing (its index on the grid), the take playing in it, the beat of the next boundary, the "
        "progression heard in the last phrase (chord labels, space separated), the render's progress (0..1), "
        "`keeps_up` (1 yes, 0 no, -1 not measured yet), render time / phrase length, and the verdict in words "
        "(with advice when it does not keep up).",
        args=(Arg("phrase", "i"), Arg("take", "i"), Arg("next_boundary_beat", "f"), Arg("progression", "s"),
              Arg("render_progress", "f"), Arg("keeps_up", "i"), Arg("render_ratio", "f"), Arg("verdict", "s")),
    ),
    Spec(
        "/jasco/jam/take",
        "Jam mode, to the last client when a take is ready: its WAV in the clip folder (with its sidecar; the "
        "jam keeps its newest `--keep-takes`), its number (as `take` in `/jasco/jam`), the beat of the phrase "
        f"boundary it starts on (at least {JAM_TAKE_LEAD_S:g} s ahead, so the device can place and fire it before), the "
        "phrase's bars and the tempo. The device puts it in the next free slot of its target track and Live "
        "launches it on that boundary.",
        args=(Arg("path", "s"), Arg("phrase", "i"), Arg("boundary_beat", "f"), Arg("bars", "i"), Arg("bpm", "f")),
    ),
    Spec(
        "/jasco/chords/mapped",
        "How each typed chord was mapped (`exact` 0 means the nearest vocabulary chord was used).",
        repeat=(Arg("given", "s"), Arg("label", "s"), Arg("start_beat", "f"), Arg("exact", "i")),
    ),
    Spec(
        "/jasco/drums/loaded",
        "The drum file was read in full and is used from now on (its sha256 goes into each clip's sidecar).",
        args=(Arg("path", "s"), Arg("seconds", "f"), Arg("sample_rate", "i")),
    ),
    Spec("/jasco/queued", "The job is queued with `position` jobs ahead of it (0 = it starts now); `tag` is the "
         "`/jasco/generate` tag it answers, so clients that share a reply port (two devices in Live) each know "
         "their own jobs.", args=(Arg("job", "s"), Arg("position", "i"), Arg("tag", "s"))),
    Spec("/jasco/note", "Something to know about how the job renders the session, e.g. that a shorter chord "
         "progression repeats to fill the loop (sent after `/jasco/queued`).", args=(Arg("job", "s"), Arg("text", "s"))),
    Spec("/jasco/started", "The job is rendering.", args=(Arg("job", "s"),)),
    Spec("/jasco/progress", "Throttled progress, 0..1.", args=(Arg("job", "s"), Arg("fraction", "f"))),
    Spec(
        "/jasco/done",
        "The clip is complete at `path` (written atomically, with a JSON sidecar beside it): its real "
        "length in seconds, the tempo, and the seed it was rendered with (recall it with `/jasco/set seed`).",
        args=(Arg("job", "s"), Arg("path", "s"), Arg("seconds", "f"), Arg("bpm", "f"), Arg("seed", "i")),
    ),
    Spec("/jasco/cancelled", "The job was cancelled.", args=(Arg("job", "s"),)),
    Spec(
        "/jasco/error",
        "Something failed: `job` is empty for a bad message, `code` is stable (see below).",
        args=(Arg("job", "s"), Arg("code", "s"), Arg("message", "s")),
    ),
)

_IN = {s.address: s for s in MESSAGES}
_OUT = {s.address: s for s in REPLIES}

# --- /jasco/set -------------------------------------------------------------------
# The settings are the parameter table's render parameters plus the model (core.params).
SETTINGS: tuple[P.Param, ...] = P.RENDER + (P.param("model"),)
SETTINGS_BY_NAME: Mapping[str, P.Param] = MappingProxyType({s.name: s for s in SETTINGS})


def convert_setting(name: str, value: Any) -> Any:
    """Turn an OSC value into the typed value of setting ``name`` (``BadValue`` names it).

    A float given for a whole-number setting must be integral and at most 2^24 in magnitude: a
    32-bit float (what Max, Pure Data and Live parameters hold) cannot tell 16777217 from 16777216,
    so a larger one may already be another number than the sender meant (a seed that renders
    another clip). Such values must be sent as OSC ints."""
    setting = SETTINGS_BY_NAME.get(name)
    if setting is None:
        raise BadValue(f"unknown setting {name!r}; known: {', '.join(SETTINGS_BY_NAME)}")
    if setting.kind is int and isinstance(value, float) and math.isfinite(value):
        if not value.is_integer():
            raise BadValue(f"{name} must be a whole number, got {value:g}")
        if abs(value) > P.FLOAT32_EXACT_INT:
            raise BadValue(f"{name} {value:.0f} was sent as a float; above {P.FLOAT32_EXACT_INT} a 32-bit float "
                           f"cannot hold every whole number, so it may not be the number meant: send it as an int "
                           f"(random seeds are 0..{P.MAX_RANDOM_SEED}, exact as floats)")
    return setting.parse(value)


def join_words(values: Sequence[Any]) -> str:
    """The words of a message sent as several arguments, joined with single spaces (numbers as written)."""
    words = []
    for v in values:
        if isinstance(v, float):
            words.append(str(int(v)) if v.is_integer() else f"{v:g}")
        else:
            words.append(str(v))
    return " ".join(words)


# --- error codes --------------------------------------------------------------------
# Codes the server answers with job "" to a /jasco/generate that starts no job: a client waiting for
# that generate's job stops waiting (the device's jasco_wire.js carries this list, generated).
GENERATE_REFUSED: tuple[str, ...] = tuple(cls.code for cls in (
    errors.QueueFull, errors.VocabularyError, errors.ModelUnavailable, errors.ModelLoadError,
    errors.EnvironmentProblem, errors.Forbidden))


def error_codes() -> dict[str, str]:
    """Every stable code with its description (both declared on the class, in ``core.errors``)."""
    return {code: cls.description for code, cls in errors.all_codes().items()}


ERROR_HELP: Mapping[str, str] = MappingProxyType(error_codes())


# --- validation ------------------------------------------------------------------------
def spec_for(address: str) -> Spec:
    spec = _IN.get(address)
    if spec is None:
        hint = "" if address.startswith(PREFIX + "/") else f" (addresses start with {PREFIX}/)"
        raise BadAddress(f"unknown address {address[:200]!r}{hint}")
    return spec


def parse(address: str, args: Sequence[OscArg]) -> Message:
    """Validate one incoming message against ``MESSAGES`` into a frozen ``Message``."""
    spec = spec_for(address)
    n_fixed = len(spec.args)
    if len(args) < n_fixed:
        raise BadArguments(f"{spec.address} expects {spec.signature}; got {len(args)} argument(s)")
    values: dict[str, Any] = {}
    for k, (arg_spec, arg) in enumerate(zip(spec.args, args), start=1):
        values[arg_spec.name] = arg_spec.convert(address, k, arg)
    rest = list(args[n_fixed:])
    groups: list[tuple[Any, ...]] = []
    if spec.optional and rest:
        if len(rest) != len(spec.optional):
            raise BadArguments(f"{spec.address} expects {spec.signature} ({spec.arities()}); got {len(args)}")
        for k, (arg_spec, arg) in enumerate(zip(spec.optional, rest), start=n_fixed + 1):
            values[arg_spec.name] = arg_spec.convert(address, k, arg)
        rest = []
    if spec.repeat:
        k = len(spec.repeat)
        if len(rest) % k:
            raise BadArguments(
                f"{spec.address} expects {spec.signature}: arguments come in groups of {k}; got {len(rest)}"
            )
        count = len(rest) // k
        if count < spec.min_repeat:
            raise BadArguments(f"{spec.address} expects {spec.signature}; got {len(args)} argument(s)")
        if spec.max_repeat is not None and count > spec.max_repeat:
            raise TooLarge(f"{spec.address}: {count} groups in one message; the limit is {spec.max_repeat}")
        for g in range(count):
            chunk = rest[g * k : (g + 1) * k]
            groups.append(
                tuple(
                    a.convert(address, n_fixed + g * k + j + 1, arg)
                    for j, (a, arg) in enumerate(zip(spec.repeat, chunk))
                )
            )
        rest = []
    if rest:
        raise BadArguments(f"{spec.address} expects {spec.signature} ({spec.arities()}); got {len(args)}")
    return Message(spec.address, MappingProxyType(values), tuple(groups))


def reply(address: str, *values: Any) -> tuple[str, list[tuple[str, Any]]]:
    """Type an outgoing message from ``REPLIES`` (a programming error raises ``ValueError``)."""
    spec = _OUT.get(address)
    if spec is None:
        raise ValueError(f"{address} is not a declared reply")
    typed: list[tuple[str, Any]] = []
    if spec.repeat:
        k = len(spec.repeat)
        n = len(spec.args)
        if len(values) < n or (len(values) - n) % k:
            raise ValueError(f"{address}: wrong number of values {len(values)}")
        kinds = [a.type for a in spec.args] + [spec.repeat[j % k].type for j in range(len(values) - n)]
    else:
        if len(values) != len(spec.args):
            raise ValueError(f"{address}: expected {len(spec.args)} values, got {len(values)}")
        kinds = [a.type for a in spec.args]

    for kind, value in zip(kinds, values):
        if kind == "i":
            typed.append(("i", int(value)))
        elif kind == "f":
            typed.append(("f", float(value)))
        elif kind == "s":
            typed.append(("s", "" if value is None else str(value)))
        else:
            typed.append(to_wire(value))
    return address, typed
