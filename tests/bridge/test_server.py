"""The OSC server over real UDP (python-osc peers) with a fake render worker."""

from __future__ import annotations

import hashlib
import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest
import soundfile as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridge import protocol
from core.errors import BadConfig
from bridge.jobs import InterruptedJob
from bridge.osc import MAX_PACKET_IN
from core.requests import MAX_SESSION_NOTES
from bridge.audio import read_audio
from bridge.access import AllowList, check_bind
from bridge.drum_check import MAX_DRUM_CHECKS
from bridge.server import BridgeServer
from midi.vocab import ChordVocabulary

from osc_helpers import FakeWorker, OscClient, build, bundle


@dataclass
class Rig:
    server: BridgeServer
    worker: FakeWorker
    clips: Path

    @property
    def addr(self) -> tuple[str, int]:
        return ("127.0.0.1", self.server.port)

    def client(self, hello: bool = True) -> OscClient:
        return OscClient(self.addr, hello=hello)


@pytest.fixture(scope="module")
def vocab(chords_pkl: Path) -> ChordVocabulary:
    return ChordVocabulary.load(chords_pkl)


def make_rig(tmp_path: Path, vocab: object, **worker_kw: object) -> Iterator[Rig]:
    clips = tmp_path / "clips"
    clips.mkdir()
    worker = FakeWorker(clips, **worker_kw)  # type: ignore[arg-type]
    worker.start()
    server = BridgeServer(worker, port=0, reply_port=0, vocab=vocab, model="tiny")
    server.start()
    try:
        yield Rig(server, worker, clips)
    finally:
        server.stop()
        worker.stop()


@pytest.fixture
def rig(tmp_path: Path, vocab: ChordVocabulary) -> Iterator[Rig]:
    yield from make_rig(tmp_path, vocab)


@pytest.fixture
def drum_wav(tmp_path: Path) -> Path:
    path = tmp_path / "drums.wav"
    rate = 44100
    t = np.arange(rate * 2) / rate
    kick = (np.sin(2 * np.pi * 60 * t) * np.exp(-((t % 0.5) * 20))).astype(np.float32)
    sf.write(path, np.stack([kick, kick], 1), rate)
    return path


def test_hello_registers_and_replies_come_back_typed(rig: Rig) -> None:
    with rig.client() as c:
        assert c.hello_reply is not None
        assert c.hello_reply.tags == "ss" and c.hello_reply.args[1] == "tiny"
        c.send("/jasco/ping", 1, 2.5, "x")
        pong = c.expect("/jasco/pong")
        assert pong.tags == "ifs" and pong.args == (1, 2.5, "x")
        c.send("/jasco/ping", ("d", 0.25), ("h", 7))  # doubles/int64 come back as f/i
        pong = c.expect("/jasco/pong")
        assert pong.tags == "fi" and pong.args == (0.25, 7)
        c.send("/jasco/status")
        st_ = c.expect("/jasco/status")
        assert st_.tags == "sisss" and st_.args == ("idle", 0, "fake", "cpu", "")  # no precision before a model is loaded


def test_without_hello_replies_go_to_the_reply_port(tmp_path: Path, vocab: ChordVocabulary) -> None:
    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.bind(("127.0.0.1", 0))
    listener.settimeout(5)
    worker = FakeWorker(tmp_path)
    worker.start()
    server = BridgeServer(worker, port=0, reply_port=listener.getsockname()[1], vocab=vocab)
    server.start()
    try:
        sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sender.sendto(build("/jasco/ping", "hi"), ("127.0.0.1", server.port))
        data, src = listener.recvfrom(65536)
        assert src[1] == server.port  # replies come from the server's own port
        assert data.startswith(b"/jasco/pong")
        sender.close()
    finally:
        server.stop()
        worker.stop()
        listener.close()


def test_full_session_builds_the_request(rig: Rig, drum_wav: Path) -> None:
    with rig.client() as c:
        c.send("/jasco/prompt", "dusty boom bap")
        c.send("/jasco/tempo", 90, 3, 4)  # int bpm accepted for a float
        c.send("/jasco/chords", "Cmaj7", 0, "Am9", 3.0, "N", 6)
        mapped = c.expect("/jasco/chords/mapped")
        assert mapped.tags == "ssfi" * 3
        assert mapped.args[:4] == ("Cmaj7", "Cmaj7", 0.0, 1)
        assert mapped.args[4:6] == ("Am9", "Am7") and mapped.args[7] == 0
        c.send("/jasco/drums", str(drum_wav))
        loaded = c.expect("/jasco/drums/loaded")
        assert loaded.tags == "sfi" and loaded.args[2] == 44100 and loaded.args[1] == pytest.approx(2.0)
        c.send("/jasco/melody/add", 72, 0.0, 1.0, 100, 74, 1.0, 1.0, 0)  # velocity 0 = muted
        for name, value in [("seed", 7), ("solver", "dopri5"), ("steps", 8.0), ("cfg_all", 3), ("bars", 2),
                            ("sample_rate", 44100), ("format", "flac"), ("normalize", "peak"), ("model", "tiny")]:
            c.send("/jasco/set", name, value)
        c.send("/jasco/generate", "take-1")
        job = c.expect("/jasco/queued").args[0]
        assert c.expect("/jasco/started").args == (job,)
        fractions = [c.expect("/jasco/progress").args[1] for _ in range(rig.worker.steps)]
        assert fractions == sorted(fractions) and fractions[-1] == pytest.approx(1.0)
        done = c.expect("/jasco/done")
        assert done.tags == "ssffi" and done.args[0] == job and done.args[3] == 90.0 and done.args[4] == 7
        assert Path(done.args[1]).parent == rig.clips
        info = sf.info(done.args[1])
        assert info.samplerate == 44100 and info.format == "FLAC"
        assert done.args[2] == pytest.approx(2 * 3 * 60 / 90, abs=1e-3)  # 2 bars of 3/4 at 90 bpm

    req = rig.worker.requests[-1]
    assert req.prompt == "dusty boom bap" and req.bpm == 90.0 and req.time_signature == (3, 4)
    assert [(c.given, c.label, c.start_beat) for c in req.chords] == [("Cmaj7", "Cmaj7", 0.0), ("Am9", "Am7", 3.0), ("N", "N", 6.0)]
    assert req.chords[1].start_seconds == pytest.approx(2.0) and not req.chords[1].exact and req.chords[1].reason
    assert req.drums_path == str(drum_wav) and req.drums_sha256 and len(req.drums_sha256) == 64
    assert req.params.seed == 7 and req.params.solver == "dopri5" and req.params.steps == 8
    assert req.params.cfg_all == 3.0 and req.params.format == "flac" and req.params.normalize == "peak"
    assert req.model == "tiny" and req.tag == "take-1"
    frames = req.melody_frames
    assert frames is not None and len(frames) == 200  # over the clip: a loop (the default) of 2 x 3 beats = 4 s
    assert frames[0] == 72 and frames[30] == 72 and frames[40] == 0  # one beat at 90 bpm = 0.667 s; the muted note is silent


def test_one_bad_symbol_is_reported_and_the_rest_are_mapped(rig: Rig) -> None:
    with rig.client() as c:
        c.send("/jasco/chords", "C", 0, "Hm7", 2.0, "C7B9", 4.0, "(Am7)", 6.0)
        err = c.expect("/jasco/error")
        assert err.args[:2] == ("", "bad_chord") and "Hm7" in err.args[2] and "beat 2" in err.args[2]
        mapped = c.expect("/jasco/chords/mapped")
        assert mapped.args[0::4] == ("C", "C7B9", "(Am7)")  # in the order given, the bad one left out
        assert mapped.args[1::4] == ("C", "C7", "Am7")
        c.send("/jasco/generate")
        c.expect("/jasco/queued")
        assert [e.given for e in rig.worker.requests[-1].chords] == ["C", "C7B9", "(Am7)"]
        c.send("/jasco/chords", "Hm7", 0, "Xq", 2.0)  # nothing left to map: the message fails whole
        assert c.expect("/jasco/error").args[1] == "bad_chord"
        c.send("/jasco/generate")
        c.expect("/jasco/queued")
        assert [e.given for e in rig.worker.requests[-1].chords] == ["C", "C7B9", "(Am7)"]  # the previous one stays


def test_notes_are_recognised_and_typed_chords_win(rig: Rig) -> None:
    with rig.client() as c:
        c.send("/jasco/tempo", 120.0)
        # C major for one bar, A minor for the next (chunked like the device does)
        c.send("/jasco/notes/add", 60, 0.0, 4.0, 100, 64, 0.0, 4.0, 100, 67, 0.0, 4.0, 100)
        c.send("/jasco/notes/add", 57, 4.0, 4.0, 100, 60, 4.0, 4.0, 100, 64, 4.0, 4.0, 100)
        c.send("/jasco/generate")
        c.expect("/jasco/done")
        recognised = rig.worker.requests[-1].chords
        assert [e.label for e in recognised][:2] == ["C", "Am"]
        assert recognised[1].start_beat == 4.0 and recognised[1].start_seconds == pytest.approx(2.0)

        c.send("/jasco/chords", "F", 0)
        c.expect("/jasco/chords/mapped")
        c.send("/jasco/generate")
        c.expect("/jasco/done")
        assert [e.label for e in rig.worker.requests[-1].chords] == ["F"]

        c.send("/jasco/chords/clear")
        c.send("/jasco/generate")
        c.expect("/jasco/done")
        assert [e.label for e in rig.worker.requests[-1].chords][:2] == ["C", "Am"]

        c.send("/jasco/notes/clear")
        c.send("/jasco/generate")
        c.expect("/jasco/done")
        assert rig.worker.requests[-1].chords == ()


def test_two_clients_keep_separate_state(rig: Rig) -> None:
    with rig.client() as a, rig.client() as b:
        a.send("/jasco/prompt", "from a")
        b.send("/jasco/prompt", "from b")
        a.send("/jasco/tempo", 100.0)
        b.send("/jasco/set", "seed", 99)
        a.send("/jasco/generate", "A")
        job_a = a.expect("/jasco/queued").args[0]
        a.expect("/jasco/done")
        b.send("/jasco/generate", "B")
        job_b = b.expect("/jasco/queued").args[0]
        b.expect("/jasco/done")
        assert job_a != job_b
        # nothing of a's job went to b and vice versa
        assert all(job_a not in r.args for r in b.drain(0.1))
        assert all(job_b not in r.args for r in a.drain(0.1))
    by_tag = {r.tag: r for r in rig.worker.requests}
    assert by_tag["A"].prompt == "from a" and by_tag["A"].bpm == 100.0 and 0 <= by_tag["A"].params.seed < 2**31  # random per generate
    assert by_tag["B"].prompt == "from b" and by_tag["B"].bpm == 120.0 and by_tag["B"].params.seed == 99
    assert by_tag["A"].client != by_tag["B"].client


def test_reset_forgets_the_session(rig: Rig) -> None:
    with rig.client() as c:
        c.send("/jasco/prompt", "x")
        c.send("/jasco/set", "bars", 4)
        c.send("/jasco/reset")
        c.send("/jasco/generate")
        c.expect("/jasco/done")
    req = rig.worker.requests[-1]
    assert req.prompt == "" and req.params.bars == 0


@pytest.mark.parametrize(
    "address, values, code, words",
    [
        ("/jasco/frobnicate", (), "bad_address", "unknown address"),
        ("/jasco/tempo", ("fast",), "bad_args", "bpm"),
        ("/jasco/tempo", (120.0, 4), "bad_args", "1 or 3"),
        ("/jasco/tempo", (2000.0,), "bad_value", "bpm"),
        ("/jasco/tempo", (float("nan"),), "bad_value", "finite"),
        ("/jasco/notes/add", (60, 0.0, 1.0), "bad_args", "groups of 4"),
        ("/jasco/notes/add", (200, 0.0, 1.0, 100), "bad_value", "pitch"),
        ("/jasco/chords", ("Hm7", 0), "bad_chord", "Hm7"),
        ("/jasco/chords", ("C", -4.0), "bad_value", "start_beat"),
        ("/jasco/set", ("steps", 0), "bad_value", "steps"),
        ("/jasco/set", ("solver", "rk45"), "bad_value", "solver"),
        ("/jasco/set", ("sample_rate", 1000), "bad_value", "sample_rate"),
        ("/jasco/set", ("format", "mp3"), "bad_value", "format"),
        ("/jasco/set", ("clip_dir", "/etc"), "bad_value", "unknown setting"),
        ("/jasco/set", ("model", "../../not a model"), "bad_value", "model"),
        ("/jasco/prompt", ("x" * 1001,), "too_large", "1000"),
        ("/jasco/drums", ("/no/such/drums.wav",), "not_found", "does not exist"),
        ("/jasco/cancel", ("jnope",), "unknown_job", "jnope"),
        ("/jasco/notes/loop", (8.0, 4.0), "bad_value", "end_beat"),
    ],
)
def test_each_bad_message_gets_its_code(rig: Rig, address: str, values: tuple, code: str, words: str) -> None:
    with rig.client() as c:
        c.send(address, *values)
        err = c.expect_error(code)
        assert words in err.args[2]
        c.sync()  # and the server still answers


def test_bad_files_and_packets_get_codes(rig: Rig, tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunkjunkjunk")
    text = tmp_path / "notes.txt"
    text.write_text("not audio at all\n")
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with rig.client() as c:
        for path in (corrupt, text, empty):
            c.send("/jasco/drums", str(path))
            err = c.expect_error()
            assert err.args[1] in ("bad_audio", "unsupported_format"), err
        c.send("/jasco/drums", str(tmp_path))  # a name that cannot be audio: refused before any file access
        c.expect_error("unsupported_format")
        folder = tmp_path / "folder.wav"
        folder.mkdir()
        c.send("/jasco/drums", str(folder))  # an audio name that is a folder
        assert "not a file" in c.expect_error("bad_audio").args[2]
        c.send_raw(b"\x00\x01\x02\x03garbage!")
        c.expect_error("bad_packet")
        c.send_raw(b"/jasco/ping\x00,i\x00\x00")  # truncated
        c.expect_error("bad_packet")
        c.send_raw(build("/jasco/ping", ("b", b"blob")))
        c.expect_error("bad_args")
        big = build("/jasco/prompt", "x" * (MAX_PACKET_IN + 100))
        c.send_raw(big)
        c.expect_error("too_large")
        c.sync()


def test_error_replies_stay_under_8k(rig: Rig) -> None:
    with rig.client() as c:
        c.send("/jasco/" + "x" * 20000)
        err = c.expect_error("bad_address")
        assert err.size < 8192
        c.send("/jasco/ping", *[("s", "y" * 300)] * 60)
        pong = c.expect("/jasco/pong")
        assert pong.size < 8192 and set(pong.tags) == {"s"}


def test_bundles_are_handled_in_order(rig: Rig) -> None:
    with rig.client() as c:
        c.send_raw(bundle(build("/jasco/prompt", "bundled"), build("/jasco/nope"), build("/jasco/generate", "b")))
        c.expect_error("bad_address")
        c.expect("/jasco/done")
    assert rig.worker.requests[-1].prompt == "bundled"


def test_a_bundle_of_bad_messages_gets_a_bounded_number_of_replies(rig: Rig) -> None:
    from bridge.server import MAX_ERRORS_PER_PACKET

    bad = 200
    with rig.client() as c:
        c.send_raw(bundle(*[build("/jasco/nope", k) for k in range(bad)], build("/jasco/prompt", "still handled")))
        c.sync()  # everything the bundle caused has arrived before the pong
        errors = [r for r in c.drain(0.2) if r.address == "/jasco/error"]
        assert len(errors) == MAX_ERRORS_PER_PACKET + 1
        assert [e.args[1] for e in errors[:-1]] == ["bad_address"] * MAX_ERRORS_PER_PACKET
        assert errors[-1].args[1] == "too_large"
        assert f"{bad - MAX_ERRORS_PER_PACKET} more replies" in errors[-1].args[2]
        assert rig.server.session(("127.0.0.1", c.port)).prompt == "still handled"


def test_too_many_notes_in_a_session(rig: Rig) -> None:
    with rig.client() as c:
        chunk = [v for k in range(1000) for v in (60, float(k % 64), 1.0, 100)]
        for _ in range(MAX_SESSION_NOTES // 1000):
            c.send("/jasco/notes/add", *chunk)
        c.sync()
        c.send("/jasco/notes/add", 60, 0.0, 1.0, 100)
        err = c.expect_error("too_large")
        assert str(MAX_SESSION_NOTES) in err.args[2]
        c.send("/jasco/notes/clear")
        c.send("/jasco/notes/add", 60, 0.0, 1.0, 100)
        c.sync()
        assert not [r for r in c.drain(0.05) if r.address == "/jasco/error"]


def test_queue_full_cancel_queued_and_running_and_ping_while_rendering(tmp_path: Path, vocab: ChordVocabulary) -> None:
    for rig in make_rig(tmp_path, vocab, max_queue=2, steps=50, step_seconds=0.01):
        rig.worker.hold.clear()  # the first job stays "running" until released
        with rig.client() as c:
            c.send("/jasco/generate", "running")
            running = c.expect("/jasco/queued").args[0]
            c.expect("/jasco/started")
            c.send("/jasco/generate", "q1")
            q1 = c.expect("/jasco/queued").args[0]
            c.send("/jasco/generate", "q2")
            q2, pos, _tag = c.expect("/jasco/queued").args
            assert pos == 2  # the running job and q1 are ahead
            c.send("/jasco/generate", "q3")
            err = c.expect_error("queue_full")
            assert "limit" in err.args[2]
            for k in range(20):  # ping is answered while a render runs
                c.send("/jasco/ping", k)
                assert c.expect("/jasco/pong", timeout=1.0).args == (k,)
            c.send("/jasco/status")
            assert c.expect("/jasco/status").args[:2] == ("rendering", 2)
            c.send("/jasco/cancel", q1)
            assert c.expect("/jasco/cancelled").args == (q1,)
            c.send("/jasco/cancel", running)
            rig.worker.hold.set()
            assert c.expect("/jasco/cancelled").args == (running,)
            done = c.expect("/jasco/done")
            assert done.args[0] == q2
            assert not any(r.address == "/jasco/done" and r.args[0] in (q1, running) for r in c.drain(0.2))


def test_model_error_is_reported_in_status(tmp_path: Path, vocab: ChordVocabulary) -> None:
    msg = "model 'facebook/jasco-chords-drums-400M' is not cached: run `jasco-bridge download facebook/jasco-chords-drums-400M`"
    for rig in make_rig(tmp_path, vocab, state="error", error=msg):
        with rig.client() as c:
            c.send("/jasco/status")
            assert c.expect("/jasco/status").args[0] == "error"
            err = c.expect_error("model_unavailable")
            assert "jasco-bridge download" in err.args[2]


def test_interrupted_jobs_are_reported_to_their_owner(tmp_path: Path, vocab: ChordVocabulary) -> None:
    owner = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    owner.bind(("127.0.0.1", 0))
    owner.settimeout(5)
    port = owner.getsockname()[1]
    jobs = [
        InterruptedJob("jold1", f"127.0.0.1:{port}", "verse", "running", time.time(), {}),
        InterruptedJob("jold2", "", "", "queued", time.time(), {}),  # owner unknown: logged only
    ]
    try:
        for rig in make_rig(tmp_path, vocab, interrupted=jobs):
            assert rig.server.report_interrupted() == 2
            from pythonosc.osc_message import OscMessage

            msg = OscMessage(owner.recvfrom(65536)[0])
            assert msg.address == "/jasco/error"
            assert msg.params[:2] == ["jold1", "interrupted"] and "verse" in msg.params[2]
    finally:
        owner.close()


def test_vocabulary_missing_is_a_coded_error(tmp_path: Path) -> None:
    for rig in make_rig(tmp_path, None):
        with rig.client() as c:
            c.send("/jasco/chords", "C", 0)
            assert "--vocab" in c.expect_error("vocab_unavailable").args[2]
            c.send("/jasco/notes/add", 60, 0.0, 4.0, 100)
            c.send("/jasco/generate")
            c.expect_error("vocab_unavailable")


def test_drum_paths_from_max_are_understood(rig: Rig, drum_wav: Path) -> None:
    with rig.client() as c:
        c.send("/jasco/drums", f"Macintosh HD:{drum_wav}")
        assert c.expect("/jasco/drums/loaded").args[0] == str(drum_wav)


class _HeldReads:
    """Stands in for ``bridge.drum_check.read_audio``: each read waits until released (bounded)."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.threads: list[str] = []
        self.started = threading.Semaphore(0)

    def __call__(self, path: str) -> object:
        self.threads.append(threading.current_thread().name)
        self.started.release()
        assert self.release.wait(10.0), "the test never released the drum read"
        return read_audio(path)


@pytest.fixture
def held_reads(monkeypatch: pytest.MonkeyPatch) -> Iterator[_HeldReads]:
    held = _HeldReads()
    monkeypatch.setattr("bridge.drum_check.read_audio", held)
    yield held
    held.release.set()


def test_drum_files_are_read_off_the_osc_thread(rig: Rig, drum_wav: Path, held_reads: _HeldReads) -> None:
    with rig.client() as c:
        c.send("/jasco/drums", str(drum_wav))
        assert held_reads.started.acquire(timeout=10.0)
        # the file is still being read: the OSC thread answers pings and takes settings meanwhile
        c.send("/jasco/ping", 1)
        assert c.expect("/jasco/pong").args == (1,)
        c.send("/jasco/generate", "while-reading")  # uses the new file; the worker hashes it itself
        c.expect("/jasco/done")
        assert rig.worker.requests[-1].drums_path == str(drum_wav)
        assert rig.worker.requests[-1].drums_sha256 is None
        assert not [r for r in c.inbox if r.address == "/jasco/drums/loaded"]  # not before the read ends
        held_reads.release.set()
        loaded = c.expect("/jasco/drums/loaded")
        assert loaded.args[0] == str(drum_wav) and loaded.args[2] == 44100
        c.send("/jasco/generate", "after-reading")
        c.expect("/jasco/done")
        assert rig.worker.requests[-1].drums_sha256 == hashlib.sha256(drum_wav.read_bytes()).hexdigest()
    assert held_reads.threads == ["jasco-drums"]


def test_a_clear_during_the_check_wins(rig: Rig, drum_wav: Path, held_reads: _HeldReads) -> None:
    with rig.client() as c:
        c.send("/jasco/drums", str(drum_wav))
        assert held_reads.started.acquire(timeout=10.0)
        c.send("/jasco/drums/clear")
        held_reads.release.set()
        c.expect("/jasco/drums/loaded")  # the file is fine, but the client cleared it meanwhile
        c.send("/jasco/generate")
        c.expect("/jasco/done")
        assert rig.worker.requests[-1].drums_path is None


def test_a_bad_file_found_in_the_background_keeps_the_last_good_loop(rig: Rig, drum_wav: Path,
                                                                      tmp_path: Path) -> None:
    nan = tmp_path / "nan.wav"
    sf.write(str(nan), np.full((8000, 1), np.nan, np.float32), 8000, subtype="FLOAT")
    with rig.client() as c:
        c.send("/jasco/drums", str(drum_wav))
        c.expect("/jasco/drums/loaded")
        c.send("/jasco/drums", str(nan))  # the header is fine; the samples are not
        assert "NaN" in c.expect_error("bad_audio").args[2]
        c.send("/jasco/generate")
        c.expect("/jasco/done")
        req = rig.worker.requests[-1]
        assert req.drums_path == str(drum_wav) and req.drums_sha256 and len(req.drums_sha256) == 64


def test_too_many_drum_checks_at_once_are_refused(rig: Rig, drum_wav: Path, held_reads: _HeldReads) -> None:
    with rig.client() as c:
        c.send("/jasco/drums", str(drum_wav))
        assert held_reads.started.acquire(timeout=10.0)  # one is being read, MAX_DRUM_CHECKS wait
        for _ in range(MAX_DRUM_CHECKS + 1):
            c.send("/jasco/drums", str(drum_wav))
        assert "being checked" in c.expect_error("queue_full").args[2]
        held_reads.release.set()
        for _ in range(MAX_DRUM_CHECKS + 1):
            c.expect("/jasco/drums/loaded")
        c.sync()


# --- security ----------------------------------------------------------------------------------
def test_non_loopback_bind_needs_an_allow_list() -> None:
    check_bind("127.0.0.1", [])
    check_bind("::1", [])
    check_bind("localhost", [])
    with pytest.raises(BadConfig, match="--allow"):
        check_bind("0.0.0.0", [])
    check_bind("0.0.0.0", ["192.168.1.0/24"])
    with pytest.raises(BadConfig, match="not an IP"):
        AllowList(["not-an-ip"])
    allow = AllowList(["192.168.1.0/24", "10.0.0.7"])
    assert "127.0.0.1" in allow and "::1" in allow and "192.168.1.44" in allow and "10.0.0.7" in allow
    assert "10.0.0.8" not in allow and "8.8.8.8" not in allow and "::ffff:10.0.0.7" in allow


def test_cli_refuses_a_public_bind_without_allow(cli_exe: str, tmp_path: Path) -> None:
    out = subprocess.run(
        [cli_exe, "serve", "--host", "0.0.0.0", "--port", "0", "--clip-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 2
    assert "error [bad_config]" in out.stderr and "--allow" in out.stderr


def test_packets_from_addresses_not_allowed_are_refused(rig: Rig) -> None:
    rig.server.allow = AllowList(["10.1.2.3"])
    before = rig.server.stats()
    rig.server.handle_datagram(build("/jasco/prompt", "sneaky"), ("192.0.2.7", 4444))
    rig.server.handle_datagram(build("/jasco/generate"), ("192.0.2.7", 4444))
    after = rig.server.stats()
    assert after.forbidden == before.forbidden + 2 and after.sessions == before.sessions
    assert rig.worker.requests == []
    # a refused client that can receive gets `forbidden` (tested over loopback by removing it from the list)
    class DenyAll:
        def __contains__(self, host: str) -> bool:
            return False

    rig.server.allow = DenyAll()  # type: ignore[assignment]
    with rig.client(hello=False) as c:
        c.send("/jasco/ping")
        err = c.expect("/jasco/error", timeout=2.0)
        assert err.args[1] == "forbidden"


# --- robustness -------------------------------------------------------------------------------
_value = st.one_of(
    st.integers(-(2**31), 2**31 - 1).map(lambda v: ("i", v)),
    st.floats(width=32).map(lambda v: ("f", v)),
    st.floats().map(lambda v: ("d", v)),
    st.text(alphabet=st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=30).map(
        lambda v: ("s", v)
    ),
    st.sampled_from([("T", True), ("F", False), ("N", None), ("b", b"\x00\x01")]),
)


_shared_clients: dict[int, OscClient] = {}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    address=st.sampled_from([s.address for s in protocol.MESSAGES if s.address not in ("/jasco/generate", "/jasco/hello")]),
    values=st.lists(_value, max_size=9),
)
def test_any_message_gets_an_answer_or_is_accepted(rig: Rig, address: str, values: list) -> None:
    # One client for all the examples: 150 clients at once would be more than one host may have
    # (bridge.clients: active clients are never evicted, newcomers are refused instead).
    c = _shared_clients.get(id(rig.server))
    if c is None:
        c = _shared_clients[id(rig.server)] = rig.client()
    c.send("/jasco/reset")
    if True:
        c.send(address, *values)
        c.sync()  # handled, and the server still answers
        for r in c.inbox:
            if r.address == "/jasco/error":
                assert r.args[1] in protocol.error_codes() and r.args[1] != "internal", r
        c.inbox.clear()


def test_audition_without_portaudio_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from core.errors import EnvironmentProblem
    from bridge.commands.serve import Auditioner

    monkeypatch.setitem(sys.modules, "sounddevice", None)  # import fails like a missing PortAudio
    with pytest.raises(EnvironmentProblem, match="PortAudio"):
        Auditioner(None)


def test_finished_clips_reach_the_audition_callback(tmp_path: Path, vocab: ChordVocabulary) -> None:
    played: list[str] = []
    worker = FakeWorker(tmp_path)
    worker.start()
    server = BridgeServer(worker, port=0, reply_port=0, vocab=vocab, on_clip=played.append)
    server.start()
    try:
        with OscClient(("127.0.0.1", server.port)) as c:
            c.send("/jasco/generate")
            done = c.expect("/jasco/done")
        deadline = time.monotonic() + 5
        while not played and time.monotonic() < deadline:  # called just after /jasco/done went out
            time.sleep(0.01)
        assert played == [done.args[1]]
    finally:
        server.stop()
        worker.stop()


@pytest.mark.parametrize("host, allow", [("::1", []), ("0.0.0.0", ["10.0.0.0/8"])])
def test_other_binds_answer_loopback_clients(tmp_path: Path, vocab: ChordVocabulary, host: str, allow: list[str]) -> None:
    worker = FakeWorker(tmp_path)
    worker.start()
    server = BridgeServer(worker, host=host, port=0, reply_port=0, vocab=vocab, allow=allow)
    server.start()
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    loopback = "::1" if family == socket.AF_INET6 else "127.0.0.1"
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.bind((loopback, 0))
        sock.settimeout(5)
        sock.sendto(build("/jasco/ping", "here"), (loopback, server.port))
        data, _ = sock.recvfrom(65536)
        assert data.startswith(b"/jasco/pong") and b"here" in data
    finally:
        sock.close()
        server.stop()
        worker.stop()


def test_recognised_chords_are_cached_until_the_notes_change(rig: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    import midi.recognize

    calls = []
    real = midi.recognize.recognize

    def counting(*args: object, **kwargs: object) -> object:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(midi.recognize, "recognize", counting)
    with rig.client() as c:
        c.send("/jasco/notes/add", 60, 0.0, 4.0, 100, 64, 0.0, 4.0, 100, 67, 0.0, 4.0, 100)
        for k in range(3):
            c.send("/jasco/generate", f"g{k}")
            c.expect("/jasco/done")
        assert len(calls) == 1
        assert [ch.label for ch in rig.worker.requests[-1].chords] == ["C"]
        c.send("/jasco/notes/add", 57, 4.0, 4.0, 100, 60, 4.0, 4.0, 100, 64, 4.0, 4.0, 100)
        c.send("/jasco/generate", "more notes")
        c.expect("/jasco/done")
        assert len(calls) == 2
        assert [ch.label for ch in rig.worker.requests[-1].chords] == ["C", "Am"]
        c.send("/jasco/tempo", 90.0)  # the beats of the chords do not depend on the tempo: no new recognition
        c.send("/jasco/generate", "new tempo")
        c.expect("/jasco/done")
        assert len(calls) == 2
        assert rig.worker.requests[-1].chords[1].start_seconds == pytest.approx(4 * 60 / 90)
        c.send("/jasco/notes/clear")
        c.send("/jasco/generate", "no notes")
        c.expect("/jasco/done")
        assert rig.worker.requests[-1].chords == ()
