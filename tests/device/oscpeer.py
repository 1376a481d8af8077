"""Real UDP peers for the device tests: an OSC listener and a fake bridge.

Packets are decoded with python-osc (an implementation independent of the
device's JavaScript) plus a type-tag reader, so tests can assert exact types.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pythonosc.osc_message import OscMessage
from pythonosc.osc_message_builder import OscMessageBuilder

@dataclass(frozen=True)
class Packet:
    """One received OSC message: address, type tags and values, size in bytes."""

    address: str
    tags: str
    values: tuple[Any, ...]
    size: int

    @property
    def typed(self) -> list[tuple[str, Any]]:
        return list(zip(self.tags, self.values))


def type_tags(dgram: bytes) -> str:
    """The type-tag string of an OSC message (without the leading comma)."""
    end = dgram.index(b"\x00")
    start = (end + 4) & ~3
    tags_end = dgram.index(b"\x00", start)
    tags = dgram[start:tags_end].decode("ascii")
    if not tags.startswith(","):
        raise ValueError(f"no type tags in {dgram[:32]!r}")
    return tags[1:]


def decode(dgram: bytes) -> Packet:
    msg = OscMessage(dgram)
    return Packet(msg.address, type_tags(dgram), tuple(msg.params), len(dgram))


def build(address: str, *typed: tuple[str, Any]) -> bytes:
    builder = OscMessageBuilder(address)
    for tag, value in typed:
        builder.add_arg(value, tag)
    return builder.build().dgram


class Listener:
    """A UDP socket on 127.0.0.1 that collects OSC packets in a thread."""

    def __init__(self, on_packet: Callable[[Packet, tuple[str, int]], None] | None = None) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port: int = self.sock.getsockname()[1]
        self.packets: list[Packet] = []
        self.errors: list[str] = []
        self._on_packet = on_packet
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="device-test-listener", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data, addr = self.sock.recvfrom(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                packet = decode(data)
            except Exception as err:  # a malformed packet is a test failure, recorded
                self.errors.append(f"undecodable packet {data[:40]!r}: {err}")
                continue
            self.packets.append(packet)
            if self._on_packet is not None:
                try:
                    self._on_packet(packet, addr)
                except Exception as err:  # recorded and asserted on by the tests
                    self.errors.append(f"handler failed on {packet.address}: {err!r}")

    def send(self, dgram: bytes, port: int) -> None:
        self.sock.sendto(dgram, ("127.0.0.1", port))

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()


Script = Callable[[str, dict[str, Any]], list[bytes]]


def with_tag(dgram: bytes, tag: str) -> bytes:
    """A script's ``/jasco/queued job position`` as the bridge sends it: with the generate's tag."""
    packet = decode(dgram)
    if packet.address != "/jasco/queued" or len(packet.values) != 2:
        return dgram
    return build("/jasco/queued", ("s", packet.values[0]), ("i", int(packet.values[1])), ("s", tag))


@dataclass
class FakeBridge:
    """Answers like jasco-bridge: /jasco/hello registers the reply port; each
    /jasco/generate gets the replies ``script(job, state)`` returns."""

    script: Script
    # extra replies to any message with this address (e.g. an error for /jasco/drums)
    answers: dict[str, list[bytes]] = field(default_factory=dict)
    listener: Listener = field(init=False)
    reply_port: int | None = None
    state: dict[str, Any] = field(default_factory=dict)
    jobs: int = 0
    # /jasco/status: None = never answered (a bridge that died); n = the first n polls go
    # unanswered (a bridge that stalls, then comes back) and the later ones are answered
    answer_status_after: int | None = None
    status_polls: int = 0

    def __post_init__(self) -> None:
        self.listener = Listener(self._handle)

    @property
    def port(self) -> int:
        return self.listener.port

    def _handle(self, packet: Packet, addr: tuple[str, int]) -> None:
        if packet.address in self.answers and self.reply_port is not None:
            for dgram in self.answers[packet.address]:
                self.listener.send(dgram, self.reply_port)
        if packet.address == "/jasco/hello":
            self.reply_port = int(packet.values[0])
            self.listener.send(build("/jasco/hello", ("s", "0.1.0"), ("s", "tiny")), self.reply_port)
        elif packet.address == "/jasco/prompt":
            self.state["prompt"] = packet.values[0]
        elif packet.address == "/jasco/set":
            self.state[packet.values[0]] = packet.values[1]
        elif packet.address == "/jasco/status":
            self.status_polls += 1
            if self.answer_status_after is not None and self.status_polls > self.answer_status_after \
                    and self.reply_port is not None:
                self.listener.send(build("/jasco/status", ("s", "busy"), ("i", 0), ("s", "tiny"), ("s", "cpu")),
                                   self.reply_port)
        elif packet.address == "/jasco/cancel":
            assert self.reply_port is not None
            self.listener.send(build("/jasco/cancelled", ("s", packet.values[0])), self.reply_port)
        elif packet.address == "/jasco/generate":
            assert self.reply_port is not None, "generate before hello"
            self.jobs += 1
            tag = str(packet.values[0]) if packet.values else ""
            for dgram in self.script(f"job-{self.jobs}", self.state):
                self.listener.send(with_tag(dgram, tag), self.reply_port)

    def close(self) -> None:
        self.listener.close()
