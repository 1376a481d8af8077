"""OSC 1.0 wire format: a strict decoder and an i/f/s-only encoder.

The decoder keeps each argument's type tag (``int`` from ``i`` and ``h`` look
alike in Python, but the protocol table wants to know), never logs, and turns
every malformed datagram into ``BadPacket`` with a message that says what is
wrong. Bundles are flattened (time tags are ignored: everything runs at once)
down to ``MAX_BUNDLE_DEPTH``.

The encoder writes only ``i``, ``f`` and ``s`` (Max's ``udpreceive`` turns
doubles into 0) and guarantees every datagram stays under ``MAX_PACKET_OUT``
bytes: long strings are cut at a UTF-8 boundary (marked with ``…``), and if
that is not enough, trailing arguments are dropped.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from typing import Any, Sequence

from core.errors import BadPacket

MAX_PACKET_IN = 32 * 1024  # bytes; larger datagrams are refused with too_large
MAX_PACKET_OUT = 8192  # every datagram the server sends is strictly smaller
MAX_BUNDLE_DEPTH = 8
MAX_ARGS = 8192
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
FLOAT32_MAX = 3.4028234663852886e38
ELLIPSIS = "…"

_BUNDLE = b"#bundle\x00"
# Fixed-size argument types: tag -> (struct format, bytes).
_FIXED: dict[str, tuple[str, int]] = {
    "i": (">i", 4),
    "f": (">f", 4),
    "h": (">q", 8),
    "d": (">d", 8),
    "t": (">Q", 8),  # time tag
    "c": (">I", 4),  # ASCII character
    "m": (">I", 4),  # MIDI message
    "r": (">I", 4),  # RGBA colour
}
# Types with no data: tag -> value.
_EMPTY: dict[str, Any] = {"T": True, "F": False, "N": None, "I": math.inf}


@dataclass(frozen=True)
class OscArg:
    """One decoded argument: its OSC type tag and its Python value."""

    tag: str
    value: Any


@dataclass(frozen=True)
class OscMessage:
    address: str
    args: tuple[OscArg, ...]

    @property
    def tags(self) -> str:
        return "".join(a.tag for a in self.args)

    @property
    def values(self) -> tuple[Any, ...]:
        return tuple(a.value for a in self.args)


# --- decoding --------------------------------------------------------------------
def _read_string(data: bytes, pos: int, what: str) -> tuple[str, int]:
    end = data.find(b"\x00", pos)
    if end < 0:
        raise BadPacket(f"{what} is not NUL-terminated")
    raw = data[pos:end]
    nxt = (end + 4) & ~3
    if nxt > len(data):
        raise BadPacket(f"{what} padding runs past the end of the packet")
    try:
        return raw.decode("utf-8"), nxt
    except UnicodeDecodeError:
        raise BadPacket(f"{what} is not valid UTF-8") from None


def _need(data: bytes, pos: int, n: int, what: str) -> None:
    if pos + n > len(data):
        raise BadPacket(f"packet ends inside {what}")


def decode_message(data: bytes) -> OscMessage:
    if not data.startswith(b"/"):
        raise BadPacket("not an OSC message (the address must start with '/')")
    address, pos = _read_string(data, 0, "address")
    if pos >= len(data):
        return OscMessage(address, ())  # OSC 1.0 allows a missing type tag string
    if data[pos : pos + 1] != b",":
        raise BadPacket(f"{address}: type tag string must start with ','")
    tags, pos = _read_string(data, pos, "type tags")
    tags = tags[1:]
    if len(tags) > MAX_ARGS:
        raise BadPacket(f"{address}: {len(tags)} arguments is too many")
    args: list[OscArg] = []
    for i, tag in enumerate(tags):
        what = f"argument {i + 1} ({tag!r})"
        fixed = _FIXED.get(tag)
        if fixed is not None:
            fmt, size = fixed
            _need(data, pos, size, what)
            args.append(OscArg(tag, struct.unpack_from(fmt, data, pos)[0]))
            pos += size
        elif tag in "sS":
            s, pos = _read_string(data, pos, what)
            args.append(OscArg("s", s))
        elif tag == "b":
            _need(data, pos, 4, what)
            (size,) = struct.unpack_from(">i", data, pos)
            pos += 4
            if size < 0:
                raise BadPacket(f"{what}: negative blob size")
            _need(data, pos, size, what)
            args.append(OscArg("b", bytes(data[pos : pos + size])))
            pos += (size + 3) & ~3
        elif tag in _EMPTY:
            args.append(OscArg(tag, _EMPTY[tag]))
        else:
            raise BadPacket(f"{address}: unsupported OSC type tag {tag!r}")
    if pos > len(data):
        raise BadPacket(f"{address}: packet is truncated")
    if pos < len(data):  # bytes no type tag accounts for: not what the sender meant to say
        raise BadPacket(f"{address}: {len(data) - pos} bytes after the last argument")
    return OscMessage(address, tuple(args))


def decode_packet(data: bytes, _depth: int = 0) -> list[OscMessage]:
    """All messages in a datagram (bundles flattened, in order)."""
    if not data:
        raise BadPacket("empty packet")
    if len(data) % 4:
        raise BadPacket(f"packet size {len(data)} is not a multiple of 4")
    if not data.startswith(_BUNDLE):
        return [decode_message(data)]
    if _depth >= MAX_BUNDLE_DEPTH:
        raise BadPacket(f"bundles nested deeper than {MAX_BUNDLE_DEPTH}")
    if len(data) < 16:
        raise BadPacket("bundle is shorter than its header")
    out: list[OscMessage] = []
    pos = 16
    while pos < len(data):
        _need(data, pos, 4, "a bundle element size")
        (size,) = struct.unpack_from(">i", data, pos)
        pos += 4
        if size <= 0 or size % 4 or pos + size > len(data):
            raise BadPacket(f"bundle element size {size} is invalid")
        out.extend(decode_packet(data[pos : pos + size], _depth + 1))
        pos += size
    return out


# --- encoding --------------------------------------------------------------------
def _pad(b: bytes) -> bytes:
    return b + b"\x00" * (4 - len(b) % 4)


def _osc_str(s: str) -> bytes:
    return _pad(s.replace("\x00", "").encode("utf-8"))


def to_wire(value: Any) -> tuple[str, Any]:
    """The i/f/s form of a Python value (for echoing arbitrary arguments)."""
    if isinstance(value, bool):
        return "i", int(value)
    if isinstance(value, int):
        if INT32_MIN <= value <= INT32_MAX:
            return "i", value
        return "f", float(value)
    if isinstance(value, float):
        return "f", value
    if value is None:
        return "s", ""
    return "s", str(value)


def _encode(address: str, args: Sequence[tuple[str, Any]]) -> bytes:
    tags = "," + "".join(t for t, _ in args)
    body = [_osc_str(address), _osc_str(tags)]
    for tag, value in args:
        if tag == "i":
            body.append(struct.pack(">i", int(value)))
        elif tag == "f":
            f = float(value)
            if math.isfinite(f) and abs(f) > FLOAT32_MAX:
                f = math.copysign(math.inf, f)  # what a float32 holds for it
            body.append(struct.pack(">f", f))
        elif tag == "s":
            body.append(_osc_str(str(value)))
        else:
            raise ValueError(f"only i, f and s go out, got {tag!r}")
    return b"".join(body)


def _shorten(s: str, max_bytes: int) -> str:
    raw = s.encode("utf-8")
    if len(raw) <= max_bytes:
        return s
    keep = max(0, max_bytes - len(ELLIPSIS.encode("utf-8")))
    return raw[:keep].decode("utf-8", errors="ignore") + ELLIPSIS


def encode_message(address: str, args: Sequence[tuple[str, Any]], limit: int = MAX_PACKET_OUT) -> bytes:
    """Encode with i/f/s only; the result is always shorter than ``limit`` bytes.

    Numbers are range-checked (ints outside int32 raise ``ValueError``: the
    caller chose the tag). Strings are cut, longest first, then trailing
    arguments are dropped until the datagram fits.
    """
    items = [(t, v) for t, v in args]
    for tag, value in items:
        if tag == "i" and not INT32_MIN <= int(value) <= INT32_MAX:
            raise ValueError(f"{value} does not fit an OSC int32")
    packet = _encode(address, items)
    while len(packet) >= limit:
        over = len(packet) - limit + 4
        strings = [(len(str(v).encode("utf-8")), k) for k, (t, v) in enumerate(items) if t == "s"]
        longest = max(strings, default=(0, -1))
        if longest[0] > 64:
            n, k = longest
            items[k] = ("s", _shorten(str(items[k][1]), max(64, n - over - 8)))
        elif items:
            del items[-max(1, over // 8) :]  # an i/f/short-s argument takes 5..8 bytes
        else:
            raise ValueError(f"address {address[:40]!r} alone does not fit in {limit} bytes")
        packet = _encode(address, items)
    return packet
