"""The 18 OSC handlers: what each ``/jasco/...`` message does to its client's state.

Each handler takes the parsed ``protocol.Message`` and a ``Context`` (where the
message came from, where its replies go, and the reply budget of its packet) and
runs on the OSC thread under the registry's lock. Nothing here reads a file a
client names or does work proportional to a client's data: drum files go to the
checker thread (``bridge.drum_check``), a generate freezes the session in constant
time and hands it to the preparer (``bridge.prepare``), whose thread turns it into a
request and submits it to the worker.
The transport (``bridge.transport``) and the dispatcher (``bridge.server``) know
nothing of what the messages mean.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Protocol

from bridge import protocol
from bridge.audio import supported_extensions
from bridge.chord_events import map_each_chord
from bridge.clients import ClientRegistry
from bridge.drum_check import DrumCheck, DrumChecker
from bridge.model_policy import ModelPolicy
from bridge.prepare import PendingGenerate, RequestPreparer
from bridge.session import Session, normalise_path
from bridge.transport import OscTransport, Replies
from core import __version__
from core.errors import BadValue, QueueFull, TooLarge, UnknownJob, UnsupportedFormat
from core.requests import MAX_PROMPT_CHARS

log = logging.getLogger(__name__)

Address = tuple[str, int]
# Extensions libsndfile reads under another name than its format list gives.
_EXTRA_AUDIO_EXTENSIONS = (".aif", ".oga", ".opus")


@dataclass(frozen=True)
class Context:
    """One message's origin: its source, where its replies go, and its packet's reply budget."""

    src: Address
    reply_to: Address
    replies: Replies

    def send(self, address: str, *values: Any) -> None:
        self.replies.send(address, *values)


Handler = Callable[[protocol.Message, Context], None]


class Server(Protocol):
    """What the handlers use of the server (``bridge.server.BridgeServer``)."""

    worker: Any
    model: str
    registry: ClientRegistry
    transport: OscTransport
    drums: DrumChecker
    models: ModelPolicy
    preparer: RequestPreparer  # where a generate goes (bridge.prepare), never back through the server

    def chord_vocab(self) -> Any: ...
    def concerns(self, client: Address, status: Any) -> bool: ...
    def client_text(self, message: str) -> str: ...


def check_audio_name(path: str) -> None:
    """Refuse a name that cannot be an audio file before looking at the file system at all,
    so ``/jasco/drums`` cannot be used to learn whether other files exist (or how big they are)."""
    ext = Path(path).suffix.lower()
    if ext not in supported_extensions() and ext not in _EXTRA_AUDIO_EXTENSIONS:
        shown = ", ".join(e for e in (".wav", ".flac", ".ogg", ".aiff", ".mp3") if e in supported_extensions())
        raise UnsupportedFormat(f"{Path(path).name!r} is not an audio file name; drum files end in {shown}")


class Handlers:
    """The handler of every address of the protocol table, over one server."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.table: dict[str, Handler] = {
            "/jasco/ping": self.ping,
            "/jasco/hello": self.hello,
            "/jasco/status": self.status,
            "/jasco/prompt": self.prompt,
            "/jasco/tempo": self.tempo,
            "/jasco/chords": self.chords,
            "/jasco/chords/clear": self.chords_clear,
            "/jasco/notes/clear": self.notes_clear,
            "/jasco/notes/add": self.notes_add,
            "/jasco/notes/loop": self.notes_loop,
            "/jasco/melody/clear": self.melody_clear,
            "/jasco/melody/add": self.melody_add,
            "/jasco/drums": self.drums,
            "/jasco/drums/clear": self.drums_clear,
            "/jasco/set": self.set,
            "/jasco/reset": self.reset,
            "/jasco/generate": self.generate,
            "/jasco/cancel": self.cancel,
        }
        missing = {s.address for s in protocol.MESSAGES} ^ set(self.table)
        if missing:  # the table and the handlers must agree (a programming error)
            raise RuntimeError(f"protocol table and handlers disagree on {sorted(missing)}")

    def _session(self, ctx: Context) -> Session:
        return self.server.registry.session(ctx.reply_to)

    # --- the handlers -----------------------------------------------------------------------------
    def ping(self, msg: protocol.Message, ctx: Context) -> None:
        ctx.send("/jasco/pong", *(g[0] for g in msg.groups))

    def hello(self, msg: protocol.Message, ctx: Context) -> None:
        port = int(msg["reply_port"])
        if self.server.transport.is_own((ctx.src[0], port)):
            raise BadValue(f"reply_port {port} is this server's own port; name the port your client listens on")
        reply_to = self.server.registry.register(ctx.src, port)
        log.info("client %s:%d registered, replies to port %d", ctx.src[0], ctx.src[1], port)
        ctx.replies.send("/jasco/hello", __version__, self.server.model, to=reply_to)

    def status(self, msg: protocol.Message, ctx: Context) -> None:
        st = self.server.worker.status()
        ctx.send("/jasco/status", st.state, st.queued, st.model, st.device, st.precision)
        jam = getattr(self.server, "jam", None)  # jam mode (bridge.jam.steering): the jam's state too
        if jam is not None:
            ctx.send("/jasco/jam", *jam.osc_status())
        error = getattr(st, "error", "")
        if st.state == "error" and error and self.server.concerns(ctx.reply_to, st):
            code = getattr(st, "error_code", None) or "model_unavailable"
            ctx.send("/jasco/error", "", code, self.server.client_text(error))

    def prompt(self, msg: protocol.Message, ctx: Context) -> None:
        text = protocol.join_words([msg["text"], *(g[0] for g in msg.groups)])
        if len(text) > MAX_PROMPT_CHARS:
            raise TooLarge(f"/jasco/prompt: the prompt is {len(text)} characters; the limit is {MAX_PROMPT_CHARS}")
        self._session(ctx).prompt = text

    def tempo(self, msg: protocol.Message, ctx: Context) -> None:
        self._session(ctx).set_tempo(msg["bpm"], msg.get("numerator"), msg.get("denominator"))

    def chords(self, msg: protocol.Message, ctx: Context) -> None:
        """Map each symbol; one that is not a chord is answered with its own ``bad_chord`` error and
        the others are used (all bad: the message fails and the previous progression stays)."""
        chords, bad = map_each_chord(msg.groups, self.server.chord_vocab())  # bounded by the packet's size
        if bad and not chords:
            raise bad[0][2]
        self._session(ctx).chords = chords
        for text, beat, err in bad:
            ctx.send("/jasco/error", "", err.code,
                     f"chord at beat {beat:g} left out: {err} (the other chords are used)")
        values: list[Any] = []
        for c in chords:
            values.extend((c.given, c.label, c.start_beat, int(c.exact)))
        ctx.send("/jasco/chords/mapped", *values)

    def chords_clear(self, msg: protocol.Message, ctx: Context) -> None:
        self._session(ctx).chords = ()

    def notes_clear(self, msg: protocol.Message, ctx: Context) -> None:
        self._session(ctx).clear_notes()

    def notes_add(self, msg: protocol.Message, ctx: Context) -> None:
        s = self._session(ctx)
        s.add_notes(s.notes, msg.groups, "notes")

    def notes_loop(self, msg: protocol.Message, ctx: Context) -> None:
        start, end = float(msg["start_beat"]), float(msg["end_beat"])
        if end == 0:
            self._session(ctx).loop = None
            return
        if end <= start:
            raise BadValue(f"/jasco/notes/loop: end_beat ({end:g}) must be after start_beat ({start:g})")
        self._session(ctx).loop = (start, end)

    def melody_clear(self, msg: protocol.Message, ctx: Context) -> None:
        self._session(ctx).melody = []

    def melody_add(self, msg: protocol.Message, ctx: Context) -> None:
        s = self._session(ctx)
        s.add_notes(s.melody, msg.groups, "melody")

    def drums(self, msg: protocol.Message, ctx: Context) -> None:
        # No file access here: the name is checked, the file is opened and read on the checker thread.
        path = normalise_path(msg["path"])
        check_audio_name(path)
        region = None
        if msg.get("start_s") is not None:
            start, end = float(msg["start_s"]), float(msg["end_s"])
            if end <= start:
                raise BadValue(f"/jasco/drums: end_s ({end:g}) must be after start_s ({start:g})")
            region = (start, end)
        s = self._session(ctx)
        previous = (s.drums_path, s.drums_sha256, s.drums_token, s.drums_region)
        token, epoch = s.choose_drums(path, region)
        try:
            self.server.drums.submit(DrumCheck(ctx.reply_to, path, token, epoch, region))
        except QueueFull:
            s.drums_path, s.drums_sha256, s.drums_token, s.drums_region = previous
            raise

    def drums_clear(self, msg: protocol.Message, ctx: Context) -> None:
        self._session(ctx).clear_drums()

    def set(self, msg: protocol.Message, ctx: Context) -> None:
        name = msg["name"]
        value = protocol.convert_setting(name, msg["value"])
        if name == "model":
            model = self.server.models.check(value)  # before the session changes: refused models change nothing
            self._session(ctx).model = model
            return
        self._session(ctx).set_setting(name, value)

    def reset(self, msg: protocol.Message, ctx: Context) -> None:
        self._session(ctx).reset()

    def generate(self, msg: protocol.Message, ctx: Context) -> None:
        self.server.preparer.submit(PendingGenerate(self._session(ctx).freeze(), ctx.reply_to, msg.get("tag", "")))

    def cancel(self, msg: protocol.Message, ctx: Context) -> None:
        job = msg["job"]
        # Another client's job is answered exactly like a job that does not exist.
        if self.server.registry.owner(job) != ctx.reply_to or not self.server.worker.cancel(job):
            raise UnknownJob(f"job {job!r} is not queued or running for this client")
