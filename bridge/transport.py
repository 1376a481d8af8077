"""The OSC transport: one UDP socket, the receive loop, and what may be sent back.

``OscTransport`` owns the socket and the thread ``jasco-osc``: it receives
datagrams and hands each one, with its source, to a callback (the dispatcher,
``bridge.server``); it encodes and sends replies. It knows nothing of the
protocol's meaning (python-osc's split: transport apart from dispatch).

Two rules keep one packet from turning into many:

* nothing is ever sent to the server's own address, and nothing that comes from
  it is handled (``/jasco/hello <our port>`` or one packet spoofed from our own
  address would otherwise make the server answer itself forever);
* ``Replies``: every reply a datagram causes, of any type, counts against a
  per-packet budget (``MAX_REPLIES_PER_PACKET``, then one notice) and a
  per-second budget per destination host (``ReplyBudget``: a token bucket), so
  a bundle or a flood of small requests is never amplified into more bytes than
  it carried. Job events (queued, progress, done, ...) are bounded by the render
  queue instead and are not charged.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

from bridge import protocol
from bridge.access import is_loopback
from bridge.osc import encode_message
from core.errors import BadConfig, JascoError, TooLarge

log = logging.getLogger(__name__)

Address = tuple[str, int]
THREAD_NAME = "jasco-osc"
MAX_REPLIES_PER_PACKET = 16  # replies to one datagram (a bundle); then one notice says how many were left out
REPLIES_PER_SECOND = 2000.0  # sustained replies to one destination host (request replies, not job events)
REPLY_BURST = 4000.0
MAX_BUDGET_HOSTS = 4096  # destination hosts remembered by the budget (oldest forgotten first)
RECEIVE_BUFFER = 1 << 20


class ReplyBudget:
    """A token bucket per destination host: ``rate`` replies a second, at most ``burst`` at once."""

    def __init__(self, rate: float = REPLIES_PER_SECOND, burst: float = REPLY_BURST,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = float(rate)
        self.burst = float(burst)
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # host -> (tokens, when)
        self._lock = threading.Lock()

    def take(self, host: str) -> bool:
        now = self._clock()
        with self._lock:
            tokens, when = self._buckets.pop(host, (self.burst, now))
            tokens = min(self.burst, tokens + (now - when) * self.rate)
            ok = tokens >= 1.0
            if ok:
                tokens -= 1.0
            self._buckets[host] = (tokens, now)  # re-inserted last: the dict is in order of use
            if len(self._buckets) > MAX_BUDGET_HOSTS:
                del self._buckets[next(iter(self._buckets))]
            return ok


@dataclass
class TransportStats:
    packets_in: int = 0
    bytes_in: int = 0
    replies_out: int = 0
    bytes_out: int = 0
    self_addressed: int = 0  # replies not sent and packets dropped because they were the server's own
    over_budget: int = 0  # replies not sent: the per-packet or per-second budget was spent


class OscTransport:
    """A UDP socket and its receive thread; ``on_datagram(data, source)`` is called for each packet."""

    def __init__(self, host: str, port: int, on_datagram: Callable[[bytes, Address], None], *,
                 budget: ReplyBudget | None = None) -> None:
        self.host = host
        self.port = port
        self._on_datagram = on_datagram
        self.budget = budget or ReplyBudget()
        self.stats = TransportStats()
        self._stats_lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._own_hosts: frozenset[str] = frozenset()

    # --- lifecycle ------------------------------------------------------------------------------
    def open(self) -> None:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
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
        self._own_hosts = _own_hosts(self.host)

    def start(self) -> None:
        if self._sock is None:
            self.open()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=THREAD_NAME, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    @property
    def is_open(self) -> bool:
        return self._sock is not None

    def _run(self) -> None:
        sock = self._sock
        if sock is None:
            return
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
            source = (src[0], src[1])
            with self._stats_lock:
                self.stats.packets_in += 1
                self.stats.bytes_in += len(data)
            if self.is_own(source):
                self.count("self_addressed")
                log.debug("dropped a packet that claims to come from this server (%s:%d)", *source)
                continue
            self._on_datagram(data, source)

    # --- addresses ------------------------------------------------------------------------------
    def is_own(self, addr: Address) -> bool:
        """Whether ``addr`` is this server's own socket (sending there would make it answer itself)."""
        if addr[1] != self.port:
            return False
        host = addr[0].split("%", 1)[0]
        if host.startswith("::ffff:"):
            host = host[7:]
        return is_loopback(host) or host in self._own_hosts

    # --- sending ----------------------------------------------------------------------------------
    def send(self, addr: Address, address: str, *values: Any) -> bool:
        """Send a declared reply (typed by the protocol table, < 8 KB); False when not sent."""
        sock = self._sock
        if sock is None:
            return False
        if self.is_own(addr):
            self.count("self_addressed")
            log.debug("not sending %s to this server's own address %s:%d", address, *addr)
            return False
        name, typed = protocol.reply(address, *values)
        packet = encode_message(name, typed)
        try:
            sock.sendto(packet, addr)
        except OSError as err:
            log.debug("could not send %s to %s:%d: %s", address, addr[0], addr[1], err)
            return False
        with self._stats_lock:
            self.stats.replies_out += 1
            self.stats.bytes_out += len(packet)
        return True

    def count(self, what: str) -> None:
        """Add one to the ``TransportStats`` field ``what``."""
        with self._stats_lock:
            setattr(self.stats, what, getattr(self.stats, what) + 1)

    def replies(self, reply_to: Address) -> "Replies":
        """The reply budget of one received datagram, answering to ``reply_to``."""
        return Replies(self, reply_to)


class Replies:
    """What one datagram may cause to be sent: ``MAX_REPLIES_PER_PACKET``, within the host's budget."""

    def __init__(self, transport: OscTransport, reply_to: Address) -> None:
        self.transport = transport
        self.reply_to = reply_to
        self.sent = 0
        self.left_out = 0

    def send(self, address: str, *values: Any, to: Address | None = None) -> bool:
        if self.sent >= MAX_REPLIES_PER_PACKET or not self.transport.budget.take((to or self.reply_to)[0]):
            self.left_out += 1
            self.transport.count("over_budget")
            return False
        self.sent += 1
        return self.transport.send(to or self.reply_to, address, *values)

    def error(self, err: JascoError, job: str = "") -> bool:
        return self.send("/jasco/error", job, err.code, err.message)

    def close(self) -> None:
        """Say once how many replies this datagram did not get (within the per-second budget)."""
        if self.left_out and self.sent >= MAX_REPLIES_PER_PACKET and self.transport.budget.take(self.reply_to[0]):
            notice = TooLarge(f"{self.left_out} more replies to this packet were not sent "
                              f"(at most {MAX_REPLIES_PER_PACKET} replies per packet)")
            self.transport.send(self.reply_to, "/jasco/error", "", notice.code, notice.message)


def _own_hosts(host: str) -> frozenset[str]:
    """The addresses a socket bound to ``host`` receives on (every local one for a wildcard bind)."""
    hosts = {host}
    if host in ("0.0.0.0", "::", ""):
        try:
            for info in socket.getaddrinfo(socket.gethostname(), None):
                hosts.add(str(info[4][0]).split("%", 1)[0])
        except OSError as err:
            log.debug("cannot list this host's addresses: %s", err)
    return frozenset(hosts)
