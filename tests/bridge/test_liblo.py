"""A second, independent OSC implementation: liblo's ``oscsend`` and ``oscdump``.

``oscsend`` sends from a fresh port each time, so its replies go to the
server's ``--reply-port``, where ``oscdump`` listens. Every reply it prints
must use only the i, f and s types.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Iterator

import pytest

from bridge.server import BridgeServer
from midi.vocab import ChordVocabulary

from osc_helpers import FakeWorker, OscClient

LINE = re.compile(r"^\S+ (/\S+) ?(\S*) ?(.*)$")


def _tool(name: str) -> str:
    exe = shutil.which(name)
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is missing (Debian package liblo-tools)")
        pytest.skip(f"{name} is not installed")
    return exe


class OscDump:
    """``oscdump`` on a free port; parsed lines as (address, types, rest)."""

    def __init__(self) -> None:
        exe = _tool("oscdump")
        for _ in range(5):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
            s.close()
            self.proc = subprocess.Popen([exe, "-L", str(self.port)], stdout=subprocess.PIPE,
                                         stderr=subprocess.STDOUT, text=True)
            time.sleep(0.3)
            if self.proc.poll() is None:
                break
        else:
            pytest.fail("oscdump could not start")
        self.lines: list[tuple[str, str, str]] = []
        self.raw: list[str] = []
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            m = LINE.match(line.rstrip("\n"))
            with self._cond:
                self.raw.append(line)
                if m:
                    self.lines.append((m.group(1), m.group(2), m.group(3)))
                self._cond.notify_all()

    def expect(self, address: str, timeout: float = 10.0, contains: str = "") -> tuple[str, str, str]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for k, (a, types, rest) in enumerate(self.lines):
                    if a == address and contains in rest:
                        return self.lines.pop(k)
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"oscdump saw no {address} {contains!r}: {self.raw[-20:]}")
                self._cond.wait(left)

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self._reader.join(5)


@pytest.fixture
def dump() -> Iterator[OscDump]:
    d = OscDump()
    try:
        yield d
    finally:
        d.close()


@pytest.fixture
def served(tmp_path: Path, dump: OscDump, chords_pkl: Path) -> Iterator[tuple[BridgeServer, FakeWorker]]:
    worker = FakeWorker(tmp_path, steps=3)
    worker.start()
    server = BridgeServer(worker, port=0, reply_port=dump.port, vocab=ChordVocabulary.load(chords_pkl))
    server.start()
    try:
        yield server, worker
    finally:
        server.stop()
        worker.stop()


def oscsend(port: int, address: str, types: str = "", *values: object) -> None:
    exe = _tool("oscsend")
    args = [exe, "127.0.0.1", str(port), address]
    if types:
        args += [types, *map(str, values)]
    out = subprocess.run(args, capture_output=True, text=True, timeout=10)
    assert out.returncode == 0, out.stderr


def test_liblo_session_renders(served: tuple[BridgeServer, FakeWorker], dump: OscDump) -> None:
    server, worker = served
    port = server.port
    oscsend(port, "/jasco/ping", "sif", "hello", 7, 2.5)
    address, types, rest = dump.expect("/jasco/pong")
    assert types == "sif" and rest == "\"hello\" 7 2.500000"
    oscsend(port, "/jasco/prompt", "s", "liblo groove")
    oscsend(port, "/jasco/tempo", "dii", 96.0, 4, 4)  # a double for the tempo is read too
    oscsend(port, "/jasco/chords", "sfsi", "Em7", 0.0, "A7", 4)
    assert dump.expect("/jasco/chords/mapped")[1] == "ssfissfi"
    oscsend(port, "/jasco/notes/add", "iffi", 64, 0.0, 4.0, 90)
    oscsend(port, "/jasco/set", "si", "bars", 2)
    oscsend(port, "/jasco/set", "ss", "format", "wav")
    oscsend(port, "/jasco/generate", "s", "from-liblo")
    queued = dump.expect("/jasco/queued")
    assert queued[1] == "sis"          # job, position, the generate's tag
    job = queued[2].split()[0].strip('"')
    assert dump.expect("/jasco/started")[1] == "s"
    assert dump.expect("/jasco/progress", contains=job)[1] == "sf"
    done = dump.expect("/jasco/done", contains=job)
    assert done[1] == "ssffi" and " 5.000000 96.000000 " in done[2]  # 2 bars at 96 bpm
    req = worker.requests[-1]
    assert req.prompt == "liblo groove" and req.bpm == 96.0 and [c.label for c in req.chords] == ["Em7", "A7"]
    assert req.tag == "from-liblo"
    with dump._cond:
        seen_types = {t for _, t, _ in dump.lines}
    assert all(set(t) <= set("ifs") for t in seen_types)


@pytest.mark.parametrize(
    "address, types, values, code",
    [
        ("/jasco/nowhere", "", (), "bad_address"),
        ("/jasco/tempo", "s", ("fast",), "bad_args"),
        ("/jasco/tempo", "f", (3000.0,), "bad_value"),
        ("/jasco/chords", "si", ("Q#dim", 0), "bad_chord"),
        ("/jasco/drums", "s", ("/definitely/not/here.wav",), "not_found"),
        ("/jasco/set", "sd", ("steps", 0.5), "bad_value"),
        ("/jasco/cancel", "s", ("jnope",), "unknown_job"),
        ("/jasco/ping", "b", ("0x00",), "bad_args"),
    ],
)
def test_liblo_bad_messages(served: tuple[BridgeServer, FakeWorker], dump: OscDump, address: str, types: str,
                            values: tuple, code: str) -> None:
    server, _ = served
    if types == "b":
        # oscsend has no blob type; send an OSC blob with python instead, answered to --reply-port
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.sendto(b"/jasco/ping\x00,b\x00\x00\x00\x00\x00\x01x\x00\x00\x00", ("127.0.0.1", server.port))
        sock.close()
    else:
        oscsend(server.port, address, types, *values)
    _, t, rest = dump.expect("/jasco/error")
    assert t == "sss" and rest.startswith(f'"" "{code}" ')


def test_liblo_and_python_osc_clients_are_independent(served: tuple[BridgeServer, FakeWorker], dump: OscDump) -> None:
    server, worker = served
    with OscClient(("127.0.0.1", server.port)) as py:
        oscsend(server.port, "/jasco/prompt", "s", "liblo side")
        py.send("/jasco/prompt", "python side")
        py.send("/jasco/tempo", 140.0)
        oscsend(server.port, "/jasco/generate", "s", "L")
        py.send("/jasco/generate", "P")
        py_job = py.expect("/jasco/queued").args[0]
        py.expect("/jasco/done")
        lib_done = dump.expect("/jasco/done")
        assert py_job not in lib_done[2]
        assert not any(r.address == "/jasco/done" and r.args[0] != py_job for r in py.drain(0.1))
    by_tag = {r.tag: r for r in worker.requests}
    assert by_tag["L"].prompt == "liblo side" and by_tag["L"].bpm == 120.0
    assert by_tag["P"].prompt == "python side" and by_tag["P"].bpm == 140.0


def test_python_osc_reads_what_liblo_reads(served: tuple[BridgeServer, FakeWorker], dump: OscDump) -> None:
    """The same error, sent to both implementations, decodes the same way."""
    server, _ = served
    with OscClient(("127.0.0.1", server.port)) as py:
        py.send("/jasco/tempo", "x")
        py_err = py.expect_error("bad_args")
    oscsend(server.port, "/jasco/tempo", "s", "x")
    _, _, rest = dump.expect("/jasco/error")
    assert rest == f'"" "bad_args" "{py_err.args[2]}"'
