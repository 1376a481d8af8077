"""Shared rig for the reliability tests and ``bench/reliability.py``.

* ``Server``: ``jasco-bridge serve`` as a child process (optionally under a
  command prefix such as ``unshare`` or with a ``preexec_fn`` that sets
  rlimits), its output collected, its engine child found through ``/proc``;
  ``kill()`` always reaps it (and the engine) so no process outlives a test.
* ``Peer``: an OSC client on its own UDP socket with a receiver thread, so
  nothing the server sends is missed while the client is busy sending;
  replies are decoded with python-osc (independent of ``bridge.osc``) and
  their size and type tags are kept so tests can check the wire contract.
* ``raw_message``: an OSC encoder that writes any type tag (``d``, ``h``,
  ``b``, ``T``/``F``/``N``/``I``, NaN and inf floats) so fuzzers can send what
  python-osc's builder refuses to.
* ``Mutator``: generates valid and deliberately invalid messages for every
  address in ``bridge.protocol.MESSAGES``, driven by any ``Chooser`` (a
  ``random.Random`` for the bench, hypothesis' ``data.draw`` in the tests).
* ``visible_files`` / ``tree``: what a DAW would see in the clip folder.
"""

from __future__ import annotations

import math
import os
import random
import socket
import struct
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Protocol, Sequence

from pythonosc.osc_message import OscMessage

from bridge import protocol
from core.fileio import TEMP_PREFIX
from osc_helpers import ServeProcess, pid_exists, type_tags  # noqa: F401 (pid_exists: re-exported for test_crash)

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
BRIDGE_TESTS = REPO / "tests" / "bridge"  # jasco_fake_engine.py lives there
FAKE = "jasco_fake_engine:make"
KNOWN_CODES = frozenset(protocol.error_codes())
OUT_TAGS = frozenset("ifs")


def cli_path() -> str:
    exe = Path(sys.executable).with_name("jasco-bridge")
    return str(exe) if exe.exists() else "jasco-bridge"


# --- raw OSC ------------------------------------------------------------------------------------
def _pad(b: bytes) -> bytes:
    return b + b"\x00" * (4 - len(b) % 4)


def raw_message(address: str | bytes, args: Sequence[tuple[str, Any]] = (), *, tags: bool = True) -> bytes:
    """Encode an OSC message with any type tags (``("f", nan)``, ``("b", b"..")``, ``("T", None)``)."""
    addr = address if isinstance(address, bytes) else address.encode("utf-8", "surrogatepass")
    out = [_pad(addr)]
    if tags:
        out.append(_pad(("," + "".join(t for t, _ in args)).encode("ascii")))
    for tag, value in args:
        if tag == "i":
            out.append(struct.pack(">i", value))
        elif tag == "h":
            out.append(struct.pack(">q", value))
        elif tag == "f":
            out.append(struct.pack(">f", value))
        elif tag == "d":
            out.append(struct.pack(">d", value))
        elif tag in ("s", "S"):
            out.append(_pad(value.encode("utf-8", "surrogatepass") if isinstance(value, str) else value))
        elif tag == "b":
            out.append(struct.pack(">i", len(value)) + value + b"\x00" * (-len(value) % 4))
        elif tag in ("c", "m", "r"):
            out.append(struct.pack(">I", value))
        elif tag == "t":
            out.append(struct.pack(">Q", value))
        elif tag in ("T", "F", "N", "I"):
            pass
        else:
            raise ValueError(f"unknown tag {tag!r}")
    return b"".join(out)


def raw_bundle(*elements: bytes) -> bytes:
    out = b"#bundle\x00" + struct.pack(">Q", 1)
    for e in elements:
        out += struct.pack(">i", len(e)) + e
    return out


# --- a client -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Reply:
    address: str
    tags: str
    args: tuple[Any, ...]
    size: int
    at: float


class Peer:
    """An OSC client with a receiver thread; every reply is kept in arrival order."""

    def __init__(self, server: tuple[str, int], *, hello: bool = True, bind: str = "127.0.0.1",
                 timeout: float = 10.0) -> None:
        self.server = server
        self.timeout = timeout
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.sock.bind((bind, 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.replies: list[Reply] = []
        self.undecodable: list[bytes] = []
        self._cond = threading.Condition()
        self._closed = False
        self._consumed: set[int] = set()
        self._thread = threading.Thread(target=self._receive, name=f"peer-{self.port}", daemon=True)
        self._thread.start()
        if hello:
            self.hello()

    def hello(self) -> Reply:
        mark = self.mark()
        self.send_raw(raw_message("/jasco/hello", [("i", self.port)]))
        return self.expect("/jasco/hello", since=mark)

    def _receive(self) -> None:
        while not self._closed:
            try:
                data, _ = self.sock.recvfrom(65536)
            except (socket.timeout, TimeoutError):
                continue
            except OSError:
                return
            try:
                msg = OscMessage(data)
                reply = Reply(msg.address, type_tags(data), tuple(msg.params), len(data), time.monotonic())
            except Exception:  # noqa: BLE001 - recorded so the test can fail on it
                with self._cond:
                    self.undecodable.append(data)
                    self._cond.notify_all()
                continue
            with self._cond:
                self.replies.append(reply)
                self._cond.notify_all()

    def close(self) -> None:
        self._closed = True
        self._thread.join(2.0)
        self.sock.close()

    def __enter__(self) -> "Peer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # sending
    def send(self, address: str, *args: Any) -> None:
        """Send with inferred tags: int -> i, float -> f, str -> s, bytes -> b, or explicit (tag, value)."""
        typed = []
        for a in args:
            if isinstance(a, tuple):
                typed.append(a)
            elif isinstance(a, bool):
                typed.append(("T" if a else "F", None))
            elif isinstance(a, int):
                typed.append(("i", a))
            elif isinstance(a, float):
                typed.append(("f", a))
            elif isinstance(a, bytes):
                typed.append(("b", a))
            else:
                typed.append(("s", str(a)))
        self.send_raw(raw_message(address, typed))

    def send_raw(self, data: bytes) -> None:
        self.sock.sendto(data, self.server)

    # receiving
    def mark(self) -> int:
        with self._cond:
            return len(self.replies)

    def expect(self, address: str, *, where: Callable[[Reply], bool] | None = None, since: int = 0,
               timeout: float | None = None) -> Reply:
        """The first not yet consumed reply at ``address`` (index ≥ ``since``) matching ``where``."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        with self._cond:
            while True:
                for k in range(since, len(self.replies)):
                    r = self.replies[k]
                    if k not in self._consumed and r.address == address and (where is None or where(r)):
                        self._consumed.add(k)
                        return r
                left = deadline - time.monotonic()
                if left <= 0:
                    recent = [(r.address, r.args[:4]) for r in self.replies[since:][-20:]]
                    raise AssertionError(f"no {address} within the timeout; recent replies: {recent}")
                self._cond.wait(min(left, 0.2))

    def expect_error(self, code: str | None = None, *, job: str = "", since: int = 0,
                     timeout: float | None = None) -> Reply:
        r = self.expect("/jasco/error", where=lambda r: r.args[0] == job, since=since, timeout=timeout)
        assert r.tags == "sss", r
        if code is not None:
            assert r.args[1] == code, r
        return r

    def ping(self, token: str | None = None, timeout: float | None = None) -> list[Reply]:
        """Round-trip a ping; returns the replies that arrived before its pong (in order)."""
        token = token or f"sync-{time.monotonic_ns()}"
        start = self.mark()
        self.send_raw(raw_message("/jasco/ping", [("s", token)]))
        pong = self.expect("/jasco/pong", where=lambda r: r.args == (token,), since=start, timeout=timeout)
        with self._cond:
            k = self.replies.index(pong, start)
            return list(self.replies[start:k])

    def wait_count(self, count: int, where: Callable[[Reply], bool], *, since: int = 0,
                   timeout: float | None = None) -> list[Reply]:
        """The replies (index ≥ ``since``) matching ``where`` once there are ``count`` of them (bounded wait)."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        with self._cond:
            while True:
                found = [r for r in self.replies[since:] if where(r)]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{len(found)} of {count} replies within the timeout: "
                                         f"{[(r.address, r.args[:3]) for r in found]}")
                self._cond.wait(min(left, 0.2))

    def between(self, start: int, end: int | None = None) -> list[Reply]:
        with self._cond:
            return list(self.replies[start:end])

    def of_job(self, job: str) -> list[Reply]:
        with self._cond:
            return [r for r in self.replies if r.args[:1] == (job,) and r.address != "/jasco/pong"]

    def wait_final(self, job: str, timeout: float | None = None) -> Reply:
        finals = ("/jasco/done", "/jasco/cancelled", "/jasco/error")
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        with self._cond:
            while True:
                for r in self.replies:
                    if r.address in finals and r.args[:1] == (job,):
                        return r
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no final reply for {job}: {[(r.address, r.args) for r in self.of_job(job)]}")
                self._cond.wait(min(left, 0.2))

    def status(self, timeout: float | None = None) -> tuple[Any, ...]:
        start = self.mark()
        self.send("/jasco/status")
        return self.expect("/jasco/status", since=start, timeout=timeout).args

    def wait_state(self, states: Iterable[str], timeout: float = 60.0) -> tuple[Any, ...]:
        want = set(states)
        deadline = time.monotonic() + timeout
        while True:
            st = self.status()
            if st[0] in want:
                return st
            if time.monotonic() > deadline:
                raise AssertionError(f"worker state {st[0]!r}, wanted one of {sorted(want)}")
            time.sleep(0.1)

    def generate(self, tag: str = "", timeout: float | None = None) -> Reply:
        """Send ``/jasco/generate``; returns its synchronous answer (queued, or an error with job "")."""
        start = self.mark()
        self.send("/jasco/generate", *([tag] if tag else []))
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        with self._cond:
            while True:
                for k in range(start, len(self.replies)):
                    r = self.replies[k]
                    if k in self._consumed:
                        continue
                    if r.address == "/jasco/queued" or (r.address == "/jasco/error" and r.args[0] == ""):
                        self._consumed.add(k)
                        return r
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("no answer to /jasco/generate")
                self._cond.wait(min(left, 0.2))


# --- the server process ------------------------------------------------------------------------------
class Server(ServeProcess):
    """``jasco-bridge serve`` of this venv in a child process (``tests/bridge/osc_helpers.ServeProcess``)."""

    def __init__(self, *args: str, **kwargs: Any) -> None:
        super().__init__(cli_path(), *args, **kwargs)


def fake_args(clips: Path, *extra: str, model: str = "fake?delay=0") -> list[str]:
    """``serve`` arguments for the numpy fake engine (tests/bridge/jasco_fake_engine.py)."""
    return ["--model", model, "--engine-factory", FAKE, "--clip-dir", str(clips), "--reply-port", "0", *extra]


# --- what is in a folder ------------------------------------------------------------------------------------
def visible_files(folder: Path) -> list[str]:
    """Names a DAW would see (no dot-files: the journal and temp files are hidden)."""
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))


def temp_files(folder: Path) -> list[str]:
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(TEMP_PREFIX))


def tree(root: Path) -> set[str]:
    """Every path under ``root`` (relative), following no symlinks."""
    out: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            out.add(os.path.relpath(os.path.join(dirpath, name), root))
    return out


# --- message generation ---------------------------------------------------------------------------------------
class Chooser(Protocol):
    def integer(self, lo: int, hi: int) -> int: ...
    def real(self, lo: float, hi: float) -> float: ...
    def choice(self, items: Sequence[Any]) -> Any: ...
    def text(self, min_len: int, max_len: int) -> str: ...


class RandomChooser:
    ALPHABET = "abcXYZ019 _-./~:#%&*?[]{}\\\"'" + "éüßøœ♯♭…日本語🎹" + "\t\n"

    def __init__(self, seed: int = 0) -> None:
        self.rng = random.Random(seed)

    def integer(self, lo: int, hi: int) -> int:
        return self.rng.randint(lo, hi)

    def real(self, lo: float, hi: float) -> float:
        return self.rng.uniform(lo, hi)

    def choice(self, items: Sequence[Any]) -> Any:
        return items[self.rng.randrange(len(items))]

    def text(self, min_len: int, max_len: int) -> str:
        n = self.rng.randint(min_len, max_len)
        if n > 64:  # long strings: mostly one repeated character (cheap), sometimes varied
            return (self.choice(self.ALPHABET[:12]) * n)[:n]
        return "".join(self.rng.choice(self.ALPHABET) for _ in range(n))


INT32 = (-(2**31), 2**31 - 1)
# Tags each argument type accepts on the way in (bridge.protocol.Arg.convert's contract).
ACCEPTED = {"i": set("ihfdTF"), "f": set("ihfd"), "s": {"s"}, "*": set("ihfdsTF")}
ALL_TAGS = "ihfdsbTFNIcmt"


@dataclass
class Generated:
    """One fuzz message: its bytes, what was done to it, and whether it must be refused."""

    packet: bytes
    address: str
    kind: str  # "valid", or the mutation ("type", "range", "length", "nonfinite", "arity", ...)
    must_fail: bool
    codes: frozenset[str] = field(default_factory=frozenset)  # expected codes when must_fail


def _valid_value(c: Chooser, arg: protocol.Arg) -> tuple[str, Any]:
    if arg.choices:
        v = c.choice(arg.choices)
        return ("i", v) if isinstance(v, int) else ("s", str(v))
    if arg.type == "s" or (arg.type == "*" and c.integer(0, 2) == 0):
        hi = arg.max_len if arg.max_len is not None else 300
        return ("s", c.text(0, c.choice([0, 8, 64, hi])))
    lo = arg.lo if arg.lo is not None else -1e6
    hi = arg.hi if arg.hi is not None else 1e6
    if arg.type == "i":
        value = c.choice([int(math.ceil(lo + (1 if arg.exclusive_lo else 0))), int(hi),
                          c.integer(int(math.ceil(lo)) + (1 if arg.exclusive_lo else 0), int(hi))])
        tag = c.choice(["i", "i", "h", "f", "d"])
        return (tag, float(value)) if tag in "fd" else (tag, value)
    # f (or * as a number): an in-range float32-exact value
    x = c.choice([lo, hi, c.real(lo, hi)]) if lo < hi else lo
    if arg.exclusive_lo and x <= lo:
        x = hi
    x = struct.unpack(">f", struct.pack(">f", x))[0]
    if x > hi or x < lo or (arg.exclusive_lo and x <= lo):
        x = hi
    tag = c.choice(["f", "f", "d", "i"])
    if tag == "i":
        xi = int(math.floor(x))
        xi = max(xi, int(math.ceil(lo)) + (1 if arg.exclusive_lo and float(math.ceil(lo)) == lo else 0))
        return ("i", min(xi, int(hi)))
    return (tag, x)


def _wrong_type(c: Chooser, arg: protocol.Arg) -> tuple[str, Any]:
    tag = c.choice([t for t in ALL_TAGS if t not in ACCEPTED[arg.type]])
    samples = {"i": 7, "h": 2**40, "f": 1.5, "d": 2.5, "s": "wrong", "b": b"\x00\xffblob" * c.integer(0, 50),
               "T": None, "F": None, "N": None, "I": None, "c": 65, "m": 0x90407F00, "t": 1}
    return (tag, samples[tag])


def _nonfinite(c: Chooser) -> tuple[str, Any]:
    return (c.choice(["f", "d"]), c.choice([math.nan, math.inf, -math.inf]))


def _out_of_range(c: Chooser, arg: protocol.Arg) -> tuple[str, Any] | None:
    if arg.type not in ("i", "f"):
        return None
    if arg.choices:
        bad = [v for v in (0, 3, 5, 64, -4) if v not in arg.choices]
        return ("i", c.choice(bad))
    options: list[tuple[str, Any]] = []
    if arg.lo is not None:
        below = arg.lo if arg.exclusive_lo else arg.lo - 1
        options += [("i", int(math.floor(below))), ("h", -(2**50)), ("f", -3.0e38), ("i", INT32[0])]
        if arg.type == "f":
            options.append(("f", float(below) - 0.5))
    if arg.hi is not None:
        options += [("i", int(arg.hi) + 1), ("h", 2**53), ("d", 1e300), ("i", INT32[1])]
    options = [o for o in options if _really_out(arg, o[1])]
    return c.choice(options) if options else None


def _really_out(arg: protocol.Arg, v: float) -> bool:
    lo, hi = arg.lo, arg.hi
    if lo is not None and (v <= lo if arg.exclusive_lo else v < lo):
        return True
    return hi is not None and v > hi


SETTING_VALUES: dict[str, tuple[str, ...]] = {
    "solver": ("euler", "midpoint", "dopri5", "rk4", ""),
    "format": ("wav", "flac", "ogg", "mp3", "../wav"),
    "normalize": ("loudness", "peak", "none", "loud"),
    "drums_fill": ("repeat", "pad", "loop"),
    # only values the server must refuse: a valid one would make the engine switch models
    "model": ("../../etc", "/nonexistent/model", "", "a b", "http://evil/x"),
}


def _setting_example(c: Chooser) -> list[tuple[str, Any]]:
    s = c.choice(protocol.SETTINGS)
    value: tuple[str, Any]
    if s.name in SETTING_VALUES:
        value = ("s", c.choice(SETTING_VALUES[s.name]))
    elif s.kind is bool:
        value = c.choice([("i", 0), ("i", 1), ("s", "on"), ("s", "maybe"), ("i", 2), ("T", None)])
    elif s.kind is int:
        value = c.choice([("i", c.integer(-5, 200_000)), ("f", 3.5), ("s", "12"), ("s", "x"), ("h", 2**40),
                          ("i", c.integer(0, 8))])
    else:
        value = c.choice([("f", c.real(-30.0, 30.0)), ("i", 2), ("s", "1e-3"), ("s", "nan"), ("s", "-inf"),
                          ("d", 1e300)])
    return [("s", s.name), value]


def _example(c: Chooser, spec: protocol.Spec) -> list[tuple[str, Any]]:
    if spec.address == "/jasco/set":
        return _setting_example(c)
    args = [_valid_value(c, a) for a in spec.args]
    if spec.optional and c.integer(0, 1):
        args += [_valid_value(c, a) for a in spec.optional]
    if spec.repeat:
        hi = spec.max_repeat if spec.max_repeat is not None else 8
        n = c.integer(spec.min_repeat, min(hi, c.choice([1, 4, 16])))
        if spec.address == "/jasco/chords":
            n = min(n, 4)  # each chord is mapped: keep it quick
        for _ in range(n):
            args += [_valid_value(c, a) for a in spec.repeat]
    return args


MUTATIONS = ("type", "range", "length", "nonfinite", "arity")


def generate_message(c: Chooser, spec: protocol.Spec | None = None, mutation: str | None = None) -> Generated:
    """A message for ``spec`` (any address when None): valid, or broken by ``mutation``."""
    spec = spec or c.choice(protocol.MESSAGES)
    mutation = mutation or c.choice(("valid",) + MUTATIONS)
    args = _example(c, spec)
    # positions of args and their specs
    arg_specs: list[protocol.Arg] = list(spec.args)
    rest = len(args) - len(spec.args)
    if spec.optional and rest and not spec.repeat:
        arg_specs += list(spec.optional)
    elif spec.repeat and rest:
        arg_specs += [spec.repeat[j % len(spec.repeat)] for j in range(rest)]
    if spec.address == "/jasco/set":  # keep valid settings meaningful for the server's state
        arg_specs = list(spec.args)

    def done(kind: str, new_args: list[tuple[str, Any]], must_fail: bool, codes: Iterable[str] = ()) -> Generated:
        return Generated(raw_message(spec.address, new_args), spec.address, kind, must_fail, frozenset(codes))

    if mutation == "valid":
        return done("valid", args, False)
    if mutation == "arity":
        options = []
        if spec.args:
            options.append("drop")
        if not spec.repeat:
            options.append("extra")
        if spec.repeat and len(spec.repeat) > 1:
            options.append("partial")
        if spec.repeat and spec.max_repeat is not None:
            options.append("overflow")
        if spec.repeat and spec.min_repeat > 0:
            options.append("none")
        how = c.choice(options) if options else "extra"
        if how == "drop":
            k = c.integer(0, len(spec.args) - 1)
            return done("arity", args[: len(spec.args)][:k], True, {"bad_args"})
        if how == "extra":
            extra = [("i", 1)] * c.integer(1, 3)
            if spec.optional:
                base = args[: len(spec.args)] + [_valid_value(c, a) for a in spec.optional]
                return done("arity", base + extra, True, {"bad_args"})
            return done("arity", args + extra, True, {"bad_args"})
        if how == "partial":
            return done("arity", args + [_valid_value(c, spec.repeat[0])], True, {"bad_args"})
        if how == "none":
            return done("arity", args[: len(spec.args)], True, {"bad_args"})
        # overflow: one group too many (ping: 65 args; notes: 1025 notes)
        assert spec.max_repeat is not None
        group = [_valid_value(c, a) for a in spec.repeat]
        return done("arity", args[: len(spec.args)] + group * (spec.max_repeat + 1), True, {"too_large"})
    if not arg_specs:  # nothing to break but the arity
        return generate_message(c, spec, "arity")
    k = c.integer(0, len(arg_specs) - 1)
    target = arg_specs[k]
    if mutation == "type":
        args[k] = _wrong_type(c, target)
        return done("type", args, True, {"bad_args"})
    if mutation == "nonfinite" and target.type != "s":
        args[k] = _nonfinite(c)
        return done("nonfinite", args, True, {"bad_value"})
    if mutation == "range":
        bad = _out_of_range(c, target)
        if bad is not None:
            args[k] = bad
            return done("range", args, True, {"bad_value"})
    if mutation == "length" and target.max_len is not None and (target.type == "s" or target.type == "*"):
        n = target.max_len + c.integer(1, 2000)
        args[k] = ("s", c.text(n, n))
        return done("length", args, True, {"too_large"})
    # the mutation does not apply to this argument: fall back to a wrong type
    args[k] = _wrong_type(c, target)
    return done("type", args, True, {"bad_args"})


def garbage_packet(c: Chooser) -> tuple[bytes, str]:
    """Raw UDP garbage or a truncated/damaged OSC packet; returns (packet, kind)."""
    kind = c.choice(["random", "random", "truncated", "bad-tags", "oversize", "empty", "bundle", "address-only",
                     "bad-utf8", "negative-blob"])
    if kind == "random":
        n = c.integer(1, 600)
        data = bytes(c.integer(0, 255) for _ in range(n))
        return data, kind
    if kind == "truncated":
        full = generate_message(c, mutation="valid").packet
        cut = c.integer(1, max(1, len(full) - 1))
        return full[:cut], kind
    if kind == "bad-tags":
        return raw_message("/jasco/ping", tags=False) + b"xyz\x00" + b"\x00" * 4 * c.integer(0, 3), kind
    if kind == "oversize":
        return raw_message("/jasco/prompt", [("s", "x" * c.integer(33_000, 60_000))]), kind
    if kind == "empty":
        return b"", kind
    if kind == "bundle":
        inner = [generate_message(c).packet for _ in range(c.integer(0, 3))]
        data = raw_bundle(*inner)
        if c.integer(0, 1):
            data = data[: max(8, len(data) - c.integer(1, 12))]  # a damaged bundle
        return data, kind
    if kind == "address-only":
        return _pad(("/" + c.text(0, 40)).encode("utf-8", "surrogatepass")), kind
    if kind == "bad-utf8":
        return b"/jasco/prompt\x00\x00\x00,s\x00\x00\xff\xfe\x80\x00", kind
    return raw_message("/jasco/drums", [("s", "x")])[:-4] + b"\xff\xff\xff\xf0", kind


class FolderWatch:
    """Polls a clip folder while a test runs and records every visible clip that was not complete.

    The contract: a visible audio file always has its sidecar beside it and is
    complete (libsndfile reads exactly the sidecar's ``samples`` frames).
    """

    AUDIO = (".wav", ".flac", ".ogg")

    def __init__(self, folder: Path, interval: float = 0.005) -> None:
        self.folder = folder
        self.interval = interval
        self.problems: list[str] = []
        self.checked: set[str] = set()
        self.scans = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="folder-watch", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import json

        import soundfile as sf

        while not self._stop.is_set():
            self.scans += 1
            try:
                names = [n for n in os.listdir(self.folder) if not n.startswith(".")]
            except OSError:
                names = []
            for name in names:
                if name in self.checked or not name.endswith(self.AUDIO):
                    continue
                path = self.folder / name
                side = path.with_suffix(".json")
                try:
                    sidecar = json.loads(side.read_text())
                except FileNotFoundError:
                    if path.exists():
                        self.problems.append(f"{name} visible without its sidecar")
                    continue
                except (OSError, ValueError) as err:
                    self.problems.append(f"{side.name} unreadable while {name} is visible: {err}")
                    continue
                try:
                    frames = sf.info(str(path)).frames
                except FileNotFoundError:
                    continue  # removed (a cancelled job's late result): fine
                except Exception as err:  # noqa: BLE001 - any failure to read is the finding
                    if path.exists():
                        self.problems.append(f"{name} unreadable: {err}")
                    continue
                if frames != sidecar.get("samples"):
                    self.problems.append(f"{name}: {frames} frames, sidecar says {sidecar.get('samples')}")
                self.checked.add(name)
            self._stop.wait(self.interval)

    def stop(self) -> list[str]:
        self._stop.set()
        self._thread.join(5)
        return self.problems


# --- load: many clients, many jobs, cancellations ------------------------------------------------------------
FINALS = ("/jasco/done", "/jasco/cancelled", "/jasco/error")


@dataclass
class LoadReport:
    clients: int
    generates_sent: int = 0
    accepted: list[str] = field(default_factory=list)
    owner: dict[str, "Peer"] = field(default_factory=dict)
    queue_full: int = 0
    cancel_targets: set[str] = field(default_factory=set)
    cancel_unknown: int = 0
    finals: dict[str, list[Reply]] = field(default_factory=dict)
    max_queued_seen: int = 0
    status_polls: int = 0
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    def count(self, address: str) -> int:
        return sum(1 for fs in self.finals.values() for r in fs if r.address == address)


def run_load(server: tuple[str, int], *, clients: int, jobs_per_client: int, cancels: int, seed: int = 0,
             timeout: float = 120.0, formats: Sequence[str] = ("wav", "flac")) -> LoadReport:
    """``clients`` peers each get ``jobs_per_client`` jobs accepted (retrying on ``queue_full``) and
    cancel ``cancels`` of them in all (some at once, some a moment later). Returns what happened;
    ``check_load`` turns it into assertions."""
    rng = random.Random(seed)
    report = LoadReport(clients=clients)
    lock = threading.Lock()
    peers = [Peer(server, timeout=timeout) for _ in range(clients)]
    all_slots = [(c, k) for c in range(clients) for k in range(jobs_per_client)]
    targets = set(rng.sample(all_slots, cancels))
    stop_status = threading.Event()

    def poll_status() -> None:
        with Peer(server, timeout=timeout) as watcher:
            while not stop_status.is_set():
                st = watcher.status()
                with lock:
                    report.status_polls += 1
                    report.max_queued_seen = max(report.max_queued_seen, int(st[1]))
                stop_status.wait(0.02)

    def client(c: int) -> None:
        peer = peers[c]
        crng = random.Random(seed * 1000 + c)
        peer.send("/jasco/prompt", f"client {c} under load")
        peer.send("/jasco/set", "bars", 1)
        peer.send("/jasco/set", "steps", 2)
        peer.send("/jasco/set", "seed", c)
        peer.send("/jasco/set", "format", formats[c % len(formats)])
        k = 0
        while k < jobs_per_client:
            answer = peer.generate(f"c{c}-j{k}")
            with lock:
                report.generates_sent += 1
            if answer.address == "/jasco/error":
                if answer.args[1] != "queue_full":
                    with lock:
                        report.problems.append(f"client {c}: generate answered {answer.args}")
                    return
                with lock:
                    report.queue_full += 1
                time.sleep(crng.uniform(0.005, 0.04))
                continue
            job = answer.args[0]
            with lock:
                report.accepted.append(job)
                report.owner[job] = peer
            if (c, k) in targets:
                with lock:
                    report.cancel_targets.add(job)
                if crng.random() < 0.5:
                    time.sleep(crng.uniform(0.0, 0.15))  # sometimes it is running (or done) by then
                peer.send("/jasco/cancel", job)
                peer.ping()  # its unknown_job answer (a job already done) arrives before the next generate
            k += 1

    status_thread = threading.Thread(target=poll_status, name="load-status", daemon=True)
    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(c,), name=f"load-client-{c}") for c in range(clients)]
    try:
        status_thread.start()
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout)
        for job in list(report.accepted):
            try:
                report.owner[job].wait_final(job, timeout=timeout)
            except AssertionError as err:
                report.problems.append(str(err))
        report.seconds = time.perf_counter() - started
        time.sleep(0.5)  # a duplicate final would arrive by now
        stop_status.set()
        status_thread.join(5)
        for job in report.accepted:
            report.finals[job] = [r for r in report.owner[job].of_job(job) if r.address in FINALS]
        for peer in peers:
            report.cancel_unknown += sum(1 for r in peer.between(0)
                                         if r.address == "/jasco/error" and r.args[0] == "" and r.args[1] == "unknown_job")
            if peer.undecodable:
                report.problems.append(f"undecodable replies: {peer.undecodable[:3]}")
            for r in peer.between(0):
                if set(r.tags) - OUT_TAGS or r.size >= 8192:
                    report.problems.append(f"reply outside the wire contract: {r}")
                if r.address == "/jasco/error" and r.args[1] not in ("queue_full", "unknown_job"):
                    if r.args[0] not in report.cancel_targets:
                        report.problems.append(f"unexpected error {r.args}")
            _check_order(peer, report)
    finally:
        stop_status.set()
        for peer in peers:
            peer.close()
    return report


def _check_order(peer: Peer, report: LoadReport) -> None:
    events: dict[str, list[str]] = {}
    fractions: dict[str, list[float]] = {}
    for r in peer.between(0):
        if r.address in ("/jasco/queued", "/jasco/started", "/jasco/progress", *FINALS) and r.args[0]:
            events.setdefault(r.args[0], []).append(r.address.rsplit("/", 1)[1])
        if r.address == "/jasco/progress":
            fractions.setdefault(r.args[0], []).append(float(r.args[1]))
    for job, values in fractions.items():
        if any(b <= a for a, b in zip(values, values[1:])) or any(not 0.0 <= v <= 1.0 for v in values):
            report.problems.append(f"{job}: progress not strictly increasing in [0, 1]: {values}")
        if events[job][-1] == "done" and values[-1] != 1.0:
            report.problems.append(f"{job}: done without a final progress 1.0: {values}")
    for job, names in events.items():
        if names[0] != "queued":
            report.problems.append(f"{job}: first event {names[0]}, not queued")
        if names.count("queued") != 1:
            report.problems.append(f"{job}: queued {names.count('queued')} times")
        if names[-1] == "done" and "started" not in names:
            report.problems.append(f"{job}: done without started: {names}")
        if "done" in names and names.index("done") != len(names) - 1:
            report.problems.append(f"{job}: events after done: {names}")


def check_load(report: LoadReport, clips: Path, expected_frames: int) -> dict[str, int]:
    """Every accepted job ended exactly once; not-cancelled ones are done with a complete file."""
    import json

    import soundfile as sf

    problems = list(report.problems)
    done_paths: set[str] = set()
    for job in report.accepted:
        finals = report.finals.get(job, [])
        if len(finals) != 1:
            problems.append(f"{job}: {len(finals)} final replies {[(r.address, r.args) for r in finals]}")
            continue
        final = finals[0]
        if job not in report.cancel_targets and final.address != "/jasco/done":
            problems.append(f"{job} was not cancelled but ended {final.address} {final.args}")
        if job in report.cancel_targets and final.address not in ("/jasco/cancelled", "/jasco/done"):
            problems.append(f"{job} (cancelled) ended {final.address} {final.args}")
        if final.address == "/jasco/done":
            path = Path(final.args[1])
            done_paths.add(path.name)
            if path.parent != clips:
                problems.append(f"{job}: written outside the clip folder: {path}")
                continue
            try:
                audio, rate = sf.read(str(path), dtype="float32")
            except Exception as err:  # noqa: BLE001
                problems.append(f"{job}: {path.name} unreadable: {err}")
                continue
            if len(audio) != expected_frames or rate != 48000:
                problems.append(f"{job}: {path.name} has {len(audio)} frames at {rate} Hz")
            sidecar = json.loads(path.with_suffix(".json").read_text())
            if sidecar["job_id"] != job:
                problems.append(f"{job}: sidecar names job {sidecar['job_id']}")
    audio_files = {n for n in visible_files(clips) if not n.endswith(".json")}
    sidecars = {n for n in visible_files(clips) if n.endswith(".json")}
    if audio_files != done_paths:
        problems.append(f"clip folder holds {len(audio_files)} clips, {len(done_paths)} were reported done: "
                        f"extra {sorted(audio_files - done_paths)[:5]}, missing {sorted(done_paths - audio_files)[:5]}")
    if {Path(n).stem for n in sidecars} != {Path(n).stem for n in audio_files}:
        problems.append("sidecars and clips do not pair up")
    if temp_files(clips):
        problems.append(f"temporary files left: {temp_files(clips)}")
    assert not problems, "\n".join(problems[:30])
    return {
        "accepted": len(report.accepted),
        "done": report.count("/jasco/done"),
        "cancelled": report.count("/jasco/cancelled"),
        "cancel_targets": len(report.cancel_targets),
        "cancel_too_late": report.cancel_unknown,
        "queue_full": report.queue_full,
        "generates_sent": report.generates_sent,
        "max_queued_seen": report.max_queued_seen,
    }
