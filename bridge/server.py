"""The OSC server: the transport, the dispatcher, the client registry and the handlers, put together.

``BridgeServer`` composes:

* ``bridge.transport.OscTransport``: the UDP socket and the thread ``jasco-osc``
  (receive, encode, send; never to our own address; the reply budget);
* the dispatcher (this module): per datagram, the allow-list, decoding
  (``bridge.osc``), validation against the address table (``bridge.protocol``)
  and one handler per message, each inside its own try/except: a bad message gets
  ``/jasco/error "" <code> <message>``, never silence and never a crash;
* ``bridge.clients.ClientRegistry``: registrations, sessions and job owners, with
  the eviction rules (an active client is never pushed out by others);
* ``bridge.handlers.Handlers``: the 18 handlers;
* the threads that keep slow work off ``jasco-osc``: ``jasco-drums``
  (``bridge.drum_check``) and ``jasco-prepare`` (``bridge.prepare``).

Replies to a sender ``(host, port)`` go to ``(host, reply_port)`` where
``reply_port`` is what its ``/jasco/hello`` registered, else the server's
``--reply-port`` (0: back to the sender's own port). Sessions are keyed by that
reply address. A ``/jasco/generate`` travels handler -> preparer (``bridge.prepare``: request,
worker) and never back through this module; the worker reports the job's events through a
``ClientListener`` (``bridge.replies``) to the client that submitted it; only that client may
cancel it.

Security: the server binds loopback unless told otherwise; a non-loopback bind
needs an allow-list (``bridge.access``); packets from other addresses are
answered ``forbidden`` (rate-limited) and dropped. The server never takes an
output path from a message, and picks models by ``bridge.model_policy``.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from bridge import protocol
from bridge.access import AllowList, check_bind
from bridge.audio import AudioData
from bridge.clients import MIDI_SESSION, ClientRegistry
from bridge.drum_check import DrumCheck, DrumChecker
from bridge.handlers import Context, Handlers
from bridge.model_policy import ModelPolicy
from bridge.osc import MAX_PACKET_IN, decode_packet
from bridge.prepare import RequestPreparer
from bridge.replies import ClientListener, client_text
from bridge.session import Session
from bridge.transport import MAX_REPLIES_PER_PACKET, OscTransport, Replies
from core.defaults import DEFAULT_HOST, DEFAULT_PORT, DEFAULT_REPLY_PORT
from core.errors import BadConfig, Forbidden, JascoError, TooLarge

log = logging.getLogger(__name__)

Address = tuple[str, int]
MAX_ERRORS_PER_PACKET = MAX_REPLIES_PER_PACKET  # every reply counts now, errors included
FORBIDDEN_REPLY_INTERVAL = 1.0  # seconds between forbidden answers to one host
MAX_FORBIDDEN_HOSTS = 4096
@dataclass(frozen=True)
class ServerStats:
    packets: int
    errors: int
    forbidden: int
    sessions: int
    registrations: int = 0
    replies_out: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    self_addressed: int = 0
    over_budget: int = 0


class BridgeServer:
    """The OSC front end of one ``RenderWorker``.

    ``worker`` needs ``submit``, ``cancel``, ``status`` and
    ``reported_interrupted`` (``bridge.worker.RenderWorker``). ``vocab`` is a
    ``midi.vocab.ChordVocabulary``, a callable returning one (resolved when
    first needed; it raises ``VocabularyError`` when there is none), or None
    (then chords answer ``vocab_unavailable``). ``on_clip`` is called with each
    finished clip's path (audition). ``allow_model_download``: clients may pick
    hub models that are not cached yet. Call ``start()``, then ``stop()``.
    """

    def __init__(
        self,
        worker: Any,
        *,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        reply_port: int = DEFAULT_REPLY_PORT,
        vocab: Any = None,
        allow: Sequence[str] = (),
        model: str = "tiny",
        on_clip: Callable[[str], None] | None = None,
        allow_model_download: bool = False,
    ) -> None:
        check_bind(host, allow)
        if not 0 <= reply_port <= 65535:
            raise BadConfig(f"--reply-port must be 0..65535, got {reply_port}")
        self.worker = worker
        self.host = host
        self.reply_port = reply_port
        self.vocab = vocab
        self.model = model
        self.models = ModelPolicy(model, allow_download=allow_model_download)
        self.allow = AllowList(allow)
        self.on_clip = on_clip
        self.transport = OscTransport(host, port, self.handle_datagram)
        self.registry = ClientRegistry(default_reply_port=reply_port)
        self._lock = self.registry.lock
        self.drums = DrumChecker(self._drums_checked)
        # A generate goes from its handler to the preparer and on to the worker (bridge.prepare).
        self.preparer = RequestPreparer(
            worker, functools.partial(ClientListener, self.transport, self.registry, self.clip_finished),
            vocab=self.chord_vocab, model=model, send_error=self.send_error)
        self.handlers = Handlers(self)
        self._forbidden_at: dict[str, float] = {}
        self._counts_lock = threading.Lock()
        self._packets = 0
        self._errors = 0
        self._forbidden = 0

    # --- lifecycle --------------------------------------------------------------------
    def start(self) -> None:
        self.transport.open()
        self.drums.start()
        self.preparer.start()
        self.transport.start()
        log.info("listening for OSC on %s:%d (replies to port %s)", self.host, self.port, self.reply_port or "of sender")

    def stop(self, timeout: float = 5.0) -> None:
        self.transport.stop(timeout)
        self.preparer.stop(timeout)
        self.drums.stop(timeout)

    @property
    def port(self) -> int:
        return self.transport.port

    @property
    def address(self) -> Address:
        return (self.host, self.port)

    def stats(self) -> ServerStats:
        registrations, sessions = self.registry.counts()
        t = self.transport.stats
        with self._counts_lock:
            return ServerStats(self._packets, self._errors, self._forbidden, sessions, registrations,
                               t.replies_out, t.bytes_in, t.bytes_out, t.self_addressed, t.over_budget)

    # --- sending (job events and background answers: bounded by the queues, not charged) ------------
    def send(self, addr: Address, address: str, *values: Any) -> None:
        self.transport.send(addr, address, *values)

    def send_error(self, addr: Address, err: JascoError, job: str = "") -> None:
        with self._counts_lock:
            self._errors += 1
        self.transport.send(addr, "/jasco/error", job, err.code, client_text(err.message))

    client_text = staticmethod(client_text)

    # --- clients and sessions ---------------------------------------------------------------
    def reply_address(self, src: Address) -> Address:
        return self.registry.reply_address(src)

    def session(self, key: Address) -> Session:
        return self.registry.session(key)

    @property
    def last_client(self) -> Address | None:
        return self.registry.last_client

    def chord_vocab(self) -> Any:
        vocab = self.vocab
        return vocab() if callable(vocab) else vocab

    def concerns(self, client: Address, status: Any) -> bool:
        """Whether the worker's model error concerns this client (its model, or the server's)."""
        failed = getattr(status, "error_model", "") or ""
        if not failed:
            return True
        s = self.registry.existing_session(client)
        return failed == ((s.model if s is not None else None) or self.model)

    def clip_finished(self, job_id: str, path: str) -> None:
        if self.on_clip is not None:
            try:
                self.on_clip(path)
            except Exception:  # audition must never disturb the server
                log.exception("clip callback failed for %s", path)

    # --- receiving -------------------------------------------------------------------------------
    def handle_datagram(self, data: bytes, src: Address) -> None:
        """Handle one datagram from ``src``; never raises."""
        with self._counts_lock:
            self._packets += 1
        if self.transport.is_own(src):
            log.debug("dropped a packet from this server's own address")
            return
        if src[0] not in self.allow:
            self._refuse(src)
            return
        reply_to = self.registry.reply_address(src)
        self.registry.heard_from(src, reply_to)
        replies = self.transport.replies(reply_to)
        try:
            try:
                if len(data) > MAX_PACKET_IN:
                    raise TooLarge(f"packet of {len(data)} bytes; the limit is {MAX_PACKET_IN}")
                messages = decode_packet(data)
            except JascoError as err:
                log.debug("bad packet from %s:%d: %s", src[0], src[1], err)
                self._reply_error(replies, err)
                return
            except Exception as err:  # the decoder is strict, but never let a packet kill the thread
                log.exception("decoding a packet from %s:%d failed", *src)
                self._reply_error(replies, JascoError(f"could not decode the packet: {err}"))
                return
            for msg in messages:  # each is handled; what a bundle may send back is bounded (Replies)
                self.handle_message(msg.address, msg.args, src, replies)
        finally:
            replies.close()

    def handle_message(self, address: str, args: Sequence[Any], src: Address,
                       replies: Replies | None = None) -> JascoError | None:
        """Handle one message; a bad one is answered with ``/jasco/error`` and returned."""
        reply_to = self.registry.reply_address(src)
        replies = replies or self.transport.replies(reply_to)
        try:
            message = protocol.parse(address, args)
            with self._lock:  # sessions change under the lock (live MIDI reads them from its thread)
                self.handlers.table[message.address](message, Context(src, reply_to, replies))
            return None
        except JascoError as err:
            log.debug("%r from %s:%d: [%s] %s", address[:100], src[0], src[1], err.code, err)
            failure = err
        except Exception as err:
            log.exception("handling %r from %s:%d failed", address[:100], *src)
            failure = JascoError(f"internal error handling {address[:100]!r}: {type(err).__name__}: {err}")
        self._reply_error(replies, failure)
        return failure

    def _reply_error(self, replies: Replies, err: JascoError) -> None:
        with self._counts_lock:
            self._errors += 1
        replies.error(err)

    def _refuse(self, src: Address) -> None:
        now = time.monotonic()
        with self._counts_lock:
            self._forbidden += 1
            last = self._forbidden_at.get(src[0], -1e9)
            answer = now - last >= FORBIDDEN_REPLY_INTERVAL
            if answer:
                if len(self._forbidden_at) > MAX_FORBIDDEN_HOSTS:
                    self._forbidden_at.clear()
                self._forbidden_at[src[0]] = now
        if answer and self.transport.budget.take(src[0]):
            log.warning("refused a packet from %s:%d: not on the --allow list", *src)
            self.send_error(src, Forbidden(f"{src[0]} is not on this server's --allow list"))

    # --- background answers ------------------------------------------------------------------------
    def _drums_checked(self, check: DrumCheck, audio: AudioData | None, failure: JascoError | None) -> None:
        """The end of a drum file's check (called from the checker thread)."""
        with self._lock:
            s = self.registry.existing_session(check.client)
            if s is not None:
                s.drums_checked(check.token, check.epoch, check.path, audio.sha256 if audio is not None else None)
        if audio is None:  # back to the last good loop first, then say why
            self.send_error(check.client, failure or JascoError("the drum file could not be read"))
            return
        seconds = audio.seconds if check.region is None else min(audio.seconds, check.region[1]) - check.region[0]
        self.send(check.client, "/jasco/drums/loaded", audio.path, seconds, audio.sample_rate)

    # --- generation for live MIDI and --demo (their own thread, not the OSC thread) -------------------
    def generate(
        self,
        session_key: Address,
        reply_to: Address | Callable[[], Address | None],
        *,
        tag: str = "",
        base: Address | None = None,
        adjust: Callable[[Session], None] | None = None,
    ) -> str:
        """Freeze a session into a request and submit it now; returns the job id.

        ``base``: take everything but the chords from that session (live MIDI
        uses the last OSC client's prompt, tempo and settings with the chords
        played on the controller); ``adjust`` then changes the session (live
        parameter CCs, the MIDI clock's tempo) before it is frozen.
        """
        with self._lock:
            s = self.registry.session(session_key)
            if base is not None and base != session_key:
                b = self.registry.existing_session(base) or Session(base)
                s.prompt, s.bpm, s.time_signature = b.prompt, b.bpm, b.time_signature
                s.drums_path, s.drums_sha256, s.params, s.model = b.drums_path, b.drums_sha256, b.params, b.model
                s.melody = list(b.melody)
            if adjust is not None:
                adjust(s)
            snapshot = s.freeze()
        label = snapshot.client if session_key != MIDI_SESSION else "live MIDI"
        return self.preparer.submit_now(snapshot, session_key, reply_to, tag, label)

    def report_interrupted(self) -> int:
        """Tell owners about jobs the worker found interrupted (restart after a crash)."""
        count = 0
        for job in self.worker.reported_interrupted():
            count += 1
            message = (
                f"the server stopped while this job was {job.state}"
                + (f" (tag {job.tag!r})" if job.tag else "")
                + "; send /jasco/generate again"
            )
            addr = _parse_client(job.client)
            if addr is None:
                log.warning("job %s was interrupted (%s); its client %r is unknown", job.job_id, job.state, job.client)
                continue
            log.warning("job %s was interrupted; telling %s:%d", job.job_id, *addr)
            self.send(addr, "/jasco/error", job.job_id, "interrupted", message)
        return count


def _parse_client(client: str) -> Address | None:
    host, sep, port = client.rpartition(":")
    if not sep or not host or host == "midi":
        return None
    try:
        p = int(port)
    except ValueError:
        return None
    if not 0 < p < 65536:
        return None
    return (host.strip("[]"), p)
