"""The OSC server: one UDP socket, one named thread, per-client sessions.

``BridgeServer`` receives datagrams on the thread ``jasco-osc``, decodes them
(``bridge.osc``), validates each message against the address table
(``bridge.protocol``) and updates the sending client's ``Session``.
``/jasco/generate`` freezes the session into a ``RenderRequest`` and submits it
to the ``RenderWorker``; the worker reports back through a ``ClientListener``
that sends to that client. This thread never touches the model, and every
datagram is handled inside its own try/except: a bad message gets
``/jasco/error "" <code> <message>``, never silence and never a crash.
Nothing slow runs on that thread: a drum file's header is checked there, and
reading and hashing the whole file happens on ``jasco-drums`` (``DrumChecker``).

Clients: replies to a sender ``(host, port)`` go to ``(host, reply_port)``
where ``reply_port`` is what its ``/jasco/hello`` registered, else the
server's ``--reply-port`` (0: back to the sender's own port). Sessions are
keyed by that reply address, so two devices with their own reply ports never
share state.

Security: the server binds loopback unless told otherwise; a non-loopback
bind needs an allow-list (``check_bind``); packets from other addresses are
answered ``forbidden`` (rate-limited, to the sender's own port) and dropped.
The server never takes an output path from a message.
"""

from __future__ import annotations

import ipaddress
import logging
import queue
import socket
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

from bridge import protocol
from core import __version__
from core.errors import (
    BadConfig,
    BadValue,
    Forbidden,
    JascoError,
    QueueFull,
    TooLarge,
    UnknownJob,
)
from bridge.audio import probe_audio, read_audio
from bridge.osc import MAX_PACKET_IN, decode_packet, encode_message
from bridge.jobs import JobListener
from bridge.session import Session, map_chords, normalise_path

log = logging.getLogger(__name__)

Address = tuple[str, int]
MAX_SESSIONS = 64  # x MAX_NOTES notes each bounds the memory a client can make us hold
MAX_REGISTRATIONS = 1024
MAX_ERRORS_PER_PACKET = 16  # error replies to one datagram (a bundle); the rest are counted in one more
FORBIDDEN_REPLY_INTERVAL = 1.0  # seconds between forbidden answers to one host
MIDI_SESSION: Address = ("midi", 0)
MAX_DRUM_CHECKS = 16  # drum files waiting for their full check; more answer queue_full
DRUMS_THREAD = "jasco-drums"


# --- addresses and the allow-list ---------------------------------------------------
def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def parse_allow(entries: Iterable[str]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    nets = []
    for entry in entries:
        try:
            nets.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            raise BadConfig(f"--allow {entry!r} is not an IP address or network (e.g. 192.168.1.20 or 10.0.0.0/24)") from None
    return tuple(nets)


def check_bind(host: str, allow: Sequence[str]) -> None:
    """Refuse a non-loopback bind without an allow-list (OSC has no authentication)."""
    if not is_loopback(host) and not allow:
        raise BadConfig(
            f"refusing to listen on {host}: OSC has no authentication, so any machine that can reach "
            "this port could use the server. Keep the default --host 127.0.0.1, or name the clients "
            "that may connect with --allow IP [IP ...] (addresses or networks such as 192.168.1.0/24)"
        )


class AllowList:
    """Loopback is always allowed; other clients only when listed."""

    def __init__(self, entries: Iterable[str] = ()) -> None:
        self.networks = parse_allow(entries)

    def __contains__(self, host: str) -> bool:
        try:
            ip = ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            return False
        if ip.is_loopback:
            return True
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
            if ip.is_loopback:
                return True
        return any(ip.version == net.version and ip in net for net in self.networks)


# --- replies to one client ------------------------------------------------------------
class ClientListener(JobListener):
    """Sends a job's events to one reply address (called from the worker thread)."""

    def __init__(
        self,
        server: "BridgeServer",
        reply_to: Address | Callable[[], Address | None],
        label: str,
    ) -> None:
        self._server = server
        self._reply_to = reply_to
        self.label = label

    def _addr(self) -> Address | None:
        return self._reply_to() if callable(self._reply_to) else self._reply_to

    def _send(self, address: str, *values: Any) -> None:
        addr = self._addr()
        if addr is not None:
            self._server.send(addr, address, *values)

    def queued(self, job_id: str, position: int) -> None:
        log.info("job %s queued at %d for %s", job_id, position, self.label)
        self._send("/jasco/queued", job_id, position)

    def started(self, job_id: str) -> None:
        log.info("job %s started", job_id)
        self._send("/jasco/started", job_id)

    def progress(self, job_id: str, fraction: float) -> None:
        self._send("/jasco/progress", job_id, min(1.0, max(0.0, float(fraction))))

    def done(self, job_id: str, path: str, seconds: float, bpm: float, seed: int) -> None:
        self._send("/jasco/done", job_id, path, seconds, bpm, seed)
        self._server.clip_finished(job_id, path)

    def note(self, job_id: str, text: str) -> None:
        log.info("job %s: %s", job_id, text)
        self._send("/jasco/note", job_id, text)

    def error(self, job_id: str, code: str, message: str) -> None:
        log.debug("telling %s job %s failed [%s]", self.label, job_id, code)  # the worker logs the failure
        self._send("/jasco/error", job_id, code, message)

    def cancelled(self, job_id: str) -> None:
        log.info("job %s cancelled", job_id)
        self._send("/jasco/cancelled", job_id)


@dataclass(frozen=True)
class DrumCheck:
    """One ``/jasco/drums`` whose header passed; its contents are read and hashed off the OSC thread."""

    client: Address  # the session's key, which is also where its replies go
    path: str
    token: int
    epoch: int


class DrumChecker:
    """The thread ``jasco-drums``: reads and hashes chosen drum files, one at a time.

    Reading and hashing a long loop takes a good part of a second; on the OSC
    thread that would hold up every ping. The OSC thread checks the header at
    once (``probe_audio``: missing, unsupported, corrupt, empty, too long all
    answered immediately) and queues the rest here; this thread decodes the
    whole file (``read_audio``: damaged data, NaN samples), stores its sha256 in
    the session and answers ``/jasco/drums/loaded``, or ``/jasco/error`` and
    returns the session to its last good drum loop.
    """

    def __init__(self, server: "BridgeServer", max_pending: int = MAX_DRUM_CHECKS) -> None:
        self._server = server
        self._queue: queue.Queue[DrumCheck | None] = queue.Queue(maxsize=max_pending)
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=DRUMS_THREAD, daemon=True)
        self._thread.start()

    def stop(self, timeout: float) -> None:
        thread, self._thread = self._thread, None
        if thread is None:
            return
        while True:  # make room for the sentinel: checks still waiting are dropped
            try:
                self._queue.put_nowait(None)
                break
            except queue.Full:
                self._drop_one()
        thread.join(timeout)

    def _drop_one(self) -> None:
        try:
            self._queue.get_nowait()
        except queue.Empty:
            return

    def submit(self, check: DrumCheck) -> None:
        try:
            self._queue.put_nowait(check)
        except queue.Full:
            raise QueueFull(f"{MAX_DRUM_CHECKS} drum files are already being checked; send /jasco/drums "
                            "again in a moment") from None

    def _run(self) -> None:
        while True:
            check = self._queue.get()
            if check is None:
                return
            try:
                self._check(check)
            except Exception:  # noqa: BLE001 - one bad check never stops the thread
                log.exception("checking drum file %s failed", check.path)

    def _check(self, check: DrumCheck) -> None:
        try:
            audio = read_audio(check.path)
        except Exception as err:  # noqa: BLE001 - a decoder surprise is still a coded answer
            failure = err if isinstance(err, JascoError) else JascoError(
                f"internal error reading {check.path!r}: {type(err).__name__}: {err}")
            if not isinstance(err, JascoError):
                log.exception("reading drum file %s failed", check.path)
            self._server.drums_checked(check, None)  # back to the last good loop first, then say why
            self._server.send_error(check.client, failure)
            return
        self._server.drums_checked(check, audio.sha256)
        self._server.send(check.client, "/jasco/drums/loaded", audio.path, audio.seconds, audio.sample_rate)


@dataclass(frozen=True)
class ServerStats:
    packets: int
    errors: int
    forbidden: int
    sessions: int


class BridgeServer:
    """The OSC front end of one ``RenderWorker``.

    ``worker`` needs ``submit``, ``cancel``, ``status`` and
    ``reported_interrupted`` (``bridge.worker.RenderWorker``). ``vocab`` is a
    ``midi.vocab.ChordVocabulary``, a callable returning one (resolved when
    first needed; it raises ``VocabularyError`` when there is none), or None
    (then chords answer ``vocab_unavailable``). ``on_clip`` is called with each finished clip's path
    (audition). Call ``start()``, then ``stop()``.
    """

    def __init__(
        self,
        worker: Any,
        *,
        host: str = "127.0.0.1",
        port: int = 9000,
        reply_port: int = 9001,
        vocab: Any = None,
        allow: Sequence[str] = (),
        model: str = "tiny",
        on_clip: Callable[[str], None] | None = None,
    ) -> None:
        check_bind(host, allow)
        if not 0 <= reply_port <= 65535:
            raise BadConfig(f"--reply-port must be 0..65535, got {reply_port}")
        self.worker = worker
        self.host = host
        self.port = port
        self.reply_port = reply_port
        self.vocab = vocab
        self.model = model
        self.allow = AllowList(allow)
        self.on_clip = on_clip
        self._sessions: OrderedDict[Address, Session] = OrderedDict()
        self._registrations: OrderedDict[Address, int] = OrderedDict()
        self._last_client: Address | None = None
        self._forbidden_at: dict[str, float] = {}
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None
        self._drums = DrumChecker(self)
        self._packets = 0
        self._errors = 0
        self._forbidden = 0
        self._handlers: dict[str, Callable[[protocol.Message, Address, Address], None]] = {
            "/jasco/ping": self._on_ping,
            "/jasco/hello": self._on_hello,
            "/jasco/status": self._on_status,
            "/jasco/prompt": self._on_prompt,
            "/jasco/tempo": self._on_tempo,
            "/jasco/chords": self._on_chords,
            "/jasco/chords/clear": self._on_chords_clear,
            "/jasco/notes/clear": self._on_notes_clear,
            "/jasco/notes/add": self._on_notes_add,
            "/jasco/notes/loop": self._on_notes_loop,
            "/jasco/melody/clear": self._on_melody_clear,
            "/jasco/melody/add": self._on_melody_add,
            "/jasco/drums": self._on_drums,
            "/jasco/drums/clear": self._on_drums_clear,
            "/jasco/set": self._on_set,
            "/jasco/reset": self._on_reset,
            "/jasco/generate": self._on_generate,
            "/jasco/cancel": self._on_cancel,
        }
        missing = {s.address for s in protocol.MESSAGES} ^ set(self._handlers)
        if missing:  # the table and the handlers must agree (a programming error)
            raise RuntimeError(f"protocol table and handlers disagree on {sorted(missing)}")

    # --- lifecycle --------------------------------------------------------------------
    def start(self) -> None:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            sock.bind((self.host, self.port))
        except OSError as err:
            sock.close()
            raise BadConfig(
                f"cannot listen on {self.host}:{self.port}: {err.strerror or err} "
                "(is another jasco-bridge running? choose another --port)"
            ) from err
        sock.settimeout(0.2)
        self._sock = sock
        self.port = sock.getsockname()[1]
        self._stop.clear()
        self._drums.start()
        self._thread = threading.Thread(target=self._run, name="jasco-osc", daemon=True)
        self._thread.start()
        log.info("listening for OSC on %s:%d (replies to port %s)", self.host, self.port, self.reply_port or "of sender")

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self._drums.stop(timeout)
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    @property
    def address(self) -> Address:
        return (self.host, self.port)

    def stats(self) -> ServerStats:
        with self._lock:
            return ServerStats(self._packets, self._errors, self._forbidden, len(self._sessions))

    def _run(self) -> None:
        assert self._sock is not None
        sock = self._sock
        while not self._stop.is_set():
            try:
                data, src = sock.recvfrom(65536)
            except socket.timeout:
                continue
            except OSError as err:
                if self._stop.is_set():
                    break
                log.warning("receive failed: %s", err)
                continue
            self.handle_datagram(data, (src[0], src[1]))

    # --- sending --------------------------------------------------------------------------
    def send(self, addr: Address, address: str, *values: Any) -> None:
        """Send a declared reply (typed by the protocol table, < 8 KB) to ``addr``."""
        sock = self._sock
        if sock is None:
            return
        name, typed = protocol.reply(address, *values)
        packet = encode_message(name, typed)
        try:
            sock.sendto(packet, addr)
        except OSError as err:
            log.debug("could not send %s to %s:%d: %s", address, addr[0], addr[1], err)

    def send_error(self, addr: Address, err: JascoError, job: str = "") -> None:
        with self._lock:
            self._errors += 1
        self.send(addr, "/jasco/error", job, err.code, err.message)

    # --- clients and sessions ---------------------------------------------------------------
    def reply_address(self, src: Address) -> Address:
        with self._lock:
            port = self._registrations.get(src)
        if port is None:
            port = self.reply_port or src[1]
        return (src[0], port)

    def session(self, key: Address) -> Session:
        with self._lock:
            s = self._sessions.get(key)
            if s is None:
                s = Session(key)
                self._sessions[key] = s
                while len(self._sessions) > MAX_SESSIONS:
                    old, _ = self._sessions.popitem(last=False)
                    log.info("forgetting the oldest client session %s:%s", *old)
            else:
                self._sessions.move_to_end(key)
            s.last_seen = time.monotonic()
            return s

    def chord_vocab(self) -> Any:
        vocab = self.vocab
        return vocab() if callable(vocab) else vocab

    @property
    def last_client(self) -> Address | None:
        with self._lock:
            return self._last_client

    def clip_finished(self, job_id: str, path: str) -> None:
        if self.on_clip is not None:
            try:
                self.on_clip(path)
            except Exception:  # audition must never disturb the server
                log.exception("clip callback failed for %s", path)

    # --- receiving -------------------------------------------------------------------------------
    def handle_datagram(self, data: bytes, src: Address) -> None:
        """Handle one datagram from ``src``; never raises."""
        with self._lock:
            self._packets += 1
        if src[0] not in self.allow:
            self._refuse(src)
            return
        reply_to = self.reply_address(src)
        try:
            if len(data) > MAX_PACKET_IN:
                raise TooLarge(f"packet of {len(data)} bytes; the limit is {MAX_PACKET_IN}")
            messages = decode_packet(data)
        except JascoError as err:
            log.debug("bad packet from %s:%d: %s", src[0], src[1], err)
            self.send_error(reply_to, err)
            return
        except Exception as err:  # the decoder is strict, but never let a packet kill the thread
            log.exception("decoding a packet from %s:%d failed", *src)
            self.send_error(reply_to, JascoError(f"could not decode the packet: {err}"))
            return
        # A bundle of many bad messages must not turn one datagram into a flood of replies
        # (OSC is UDP: the source address can be forged). Each message is still handled.
        errors = 0
        for msg in messages:
            err = self.handle_message(msg.address, msg.args, src, reply=errors < MAX_ERRORS_PER_PACKET)
            errors += err is not None
        if errors > MAX_ERRORS_PER_PACKET:
            self.send_error(reply_to, TooLarge(
                f"{errors - MAX_ERRORS_PER_PACKET} more errors in this packet were not answered "
                f"(at most {MAX_ERRORS_PER_PACKET} error replies per packet)"))

    def handle_message(self, address: str, args: Sequence[Any], src: Address, *, reply: bool = True) -> JascoError | None:
        """Handle one message; a bad one is answered with ``/jasco/error`` (when ``reply``) and returned."""
        reply_to = self.reply_address(src)
        try:
            message = protocol.parse(address, args)
            with self._lock:  # sessions change under the lock (live MIDI reads them from its thread)
                self._handlers[message.address](message, src, reply_to)
            return None
        except JascoError as err:
            log.debug("%s from %s:%d: [%s] %s", address[:100], src[0], src[1], err.code, err)
            failure = err
        except Exception as err:
            log.exception("handling %s from %s:%d failed", address[:100], *src)
            failure = JascoError(f"internal error handling {address[:100]}: {type(err).__name__}: {err}")
        if reply:
            self.send_error(reply_to, failure)
        return failure

    def _refuse(self, src: Address) -> None:
        now = time.monotonic()
        with self._lock:
            self._forbidden += 1
            last = self._forbidden_at.get(src[0], -1e9)
            answer = now - last >= FORBIDDEN_REPLY_INTERVAL
            if answer:
                if len(self._forbidden_at) > 4096:
                    self._forbidden_at.clear()
                self._forbidden_at[src[0]] = now
        if answer:
            log.warning("refused a packet from %s:%d: not on the --allow list", *src)
            self.send_error(src, Forbidden(f"{src[0]} is not on this server's --allow list"))

    # --- handlers: (message, source, reply address) ----------------------------------------------
    def _on_ping(self, msg: protocol.Message, src: Address, reply_to: Address) -> None:
        self.send(reply_to, "/jasco/pong", *(g[0] for g in msg.groups))

    def _on_hello(self, msg: protocol.Message, src: Address, reply_to: Address) -> None:
        port = int(msg["reply_port"])
        with self._lock:
            self._registrations[src] = port
            self._registrations.move_to_end(src)
            while len(self._registrations) > MAX_REGISTRATIONS:
                self._registrations.popitem(last=False)
            self._last_client = (src[0], port)
        log.info("client %s:%d registered, replies to port %d", src[0], src[1], port)
        self.session((src[0], port))
        self.send((src[0], port), "/jasco/hello", __version__, self.model)

    def _on_status(self, msg: protocol.Message, src: Address, reply_to: Address) -> None:
        st = self.worker.status()
        self.send(reply_to, "/jasco/status", st.state, st.queued, st.model, st.device)
        error = getattr(st, "error", "")
        if st.state == "error" and error:
            code = getattr(st, "error_code", None) or "model_unavailable"
            self.send(reply_to, "/jasco/error", "", code, error)

    def _on_prompt(self, msg: protocol.Message, src: Address, reply_to: Address) -> None:
        self.session(reply_to).prompt = msg["text"]

    def _on_tempo(self, msg: protocol.Message, src: Address, reply_to: Address) -> None:
        self.session(reply_to).set_tempo(msg["bpm"], msg.get("numerator"), msg.get("denominator"))

    def _on_chords(self, msg: protocol.Message, src: Address, reply_to: Address) -> None:
        chords = map_chords(msg.groups, self.chord_vocab())
        self.session(reply_to).chords = chords
        values: list[Any] = []
        for c in chords:
            values.extend((c.given, c.label, c.start_beat, int(c.exact)))
        self.send(reply_to, "/jasco/chords/mapped", *values)

    def _on_chords_clear(self, msg: protocol.Message, src: Address, reply_to: Address) -> None:
        self.session(reply_to).chords = ()

    def _on_notes_clear(self, msg: protocol.Message, src: Address, reply_to: Address) -> None:
        self.session(reply_to).clear_notes()

    def _on_notes_add(self, msg: protocol.Message, src: Address, reply_to: Address) -> None:
        s = self.session(reply_to)
        s.add_notes(s.notes, msg.groups, "notes")

    def _on_notes_loop(self, msg: protocol.Message, src: Address, reply_to: Address) -> None:
        start, end = float(msg["start_beat"]), float(msg["end_beat"])
        if end == 0:
            self.session(reply_to).loop = None
            return
        if end <= start:
            raise BadValue(f"/jasco/notes/loop: end_beat ({end:g}) must be after start_beat ({start:g})")
        self.session(reply_to).loop = (start, end)

    def _on_melody_clear(self, msg: protocol.Message, src: Address, reply_to: Address) -> None:
        self.session(reply_to).melody = []

    def _on_melody_add(self, msg: protocol.Message, src: Address, reply_to: Address) -> None:
        s = self.session(reply_to)
        s.add_notes(s.melody, msg.groups, "melody")

    def _on_drums(self, msg: protocol.Message, src: Address, reply_to: Address) -> None:
        # Only the header here (fast at any size); DrumChecker reads and hashes the file and answers.
        info = probe_audio(normalise_path(msg["path"]))
        s = self.session(reply_to)
        previous = (s.drums_path, s.drums_sha256, s.drums_token)
        token, epoch = s.choose_drums(info.path)
        try:
            self._drums.submit(DrumCheck(reply_to, info.path, token, epoch))
        except QueueFull:
            s.drums_path, s.drums_sha256, s.drums_token = previous
            raise

    def drums_checked(self, check: DrumCheck, sha256: str | None) -> None:
        """Record the end of a drum file's full check (called from the checker thread)."""
        with self._lock:
            s = self._sessions.get(check.client)
            if s is not None:
                s.drums_checked(check.token, check.epoch, check.path, sha256)

    def _on_drums_clear(self, msg: protocol.Message, src: Address, reply_to: Address) -> None:
        self.session(reply_to).clear_drums()

    def _on_set(self, msg: protocol.Message, src: Address, reply_to: Address) -> None:
        name = msg["name"]
        value = protocol.convert_setting(name, msg["value"])
        self.session(reply_to).set_setting(name, value)

    def _on_reset(self, msg: protocol.Message, src: Address, reply_to: Address) -> None:
        self.session(reply_to).reset()

    def _on_generate(self, msg: protocol.Message, src: Address, reply_to: Address) -> None:
        self.generate(reply_to, reply_to, tag=msg.get("tag", ""))

    def _on_cancel(self, msg: protocol.Message, src: Address, reply_to: Address) -> None:
        job = msg["job"]
        if not self.worker.cancel(job):
            raise UnknownJob(f"job {job!r} is not queued or running")

    # --- generation (also used by live MIDI and --demo) ---------------------------------------------
    def generate(
        self,
        session_key: Address,
        reply_to: Address | Callable[[], Address | None],
        *,
        tag: str = "",
        base: Address | None = None,
        adjust: Callable[[Session], None] | None = None,
    ) -> str:
        """Freeze a session into a request and submit it; returns the job id.

        ``base``: take everything but the chords from that session (live MIDI
        uses the last OSC client's prompt, tempo and settings with the chords
        played on the controller); ``adjust`` then changes the session (live
        parameter CCs, the MIDI clock's tempo) before it is frozen.
        """
        with self._lock:
            s = self.session(session_key)
            if base is not None and base != session_key:
                b = self._sessions.get(base) or Session(base)
                s.prompt, s.bpm, s.time_signature = b.prompt, b.bpm, b.time_signature
                s.drums_path, s.drums_sha256, s.params, s.model = b.drums_path, b.drums_sha256, b.params, b.model
                s.melody = list(b.melody)
            if adjust is not None:
                adjust(s)
            needs_vocab = not s.chords and any(n.audible for n in s.notes)
            vocab = self.chord_vocab() if needs_vocab else None
            request, notes = s.build(vocab=vocab, default_model=self.model, tag=tag, client=s.client)
        st = self.worker.status()
        if st.state == "error" and getattr(st, "error", ""):
            log.warning("generate while the model is unavailable: %s", st.error)
        label = s.client if session_key != MIDI_SESSION else "live MIDI"
        listener = ClientListener(self, reply_to, label)
        job_id = self.worker.submit(request, listener)
        for note in notes:  # e.g. a shorter progression repeats to fill the loop
            listener.note(str(job_id), note)
        log.info("job %s submitted for %s: %r, %d chords, %g bpm", job_id, label, request.prompt[:60], len(request.chords), request.bpm)
        return str(job_id)

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
