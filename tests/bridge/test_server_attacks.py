"""Issue 15: the attacks an independent review found, each over real UDP against a real ``BridgeServer``.

Each test reproduces one attack and holds the server to the rule that stops it: no hang
(a drum name swapped for a FIFO), no reply loop (a hello naming the server's own port, a
packet spoofed from its address), no freeze (a bundle of generates over a huge melody), no
client over another (eviction, foreign cancel, guessable ids, amplification, a model switch
that downloads or breaks status for everyone), and the smaller leaks.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest
import soundfile as sf

from bridge.server import BridgeServer
from midi.vocab import ChordVocabulary

from osc_helpers import FakeWorker, OscClient, build, bundle, fifo_swapping_link


@pytest.fixture(scope="module")
def vocab(chords_pkl: Path) -> ChordVocabulary:
    return ChordVocabulary.load(chords_pkl)


class Rig:
    def __init__(self, tmp_path: Path, vocab: object, *, reply_port: int = 0, allow_model_download: bool = False,
                 **worker_kw: object) -> None:
        self.clips = tmp_path / "clips"
        self.clips.mkdir(exist_ok=True)
        self.worker = FakeWorker(self.clips, **worker_kw)  # type: ignore[arg-type]
        self.worker.start()
        extra = {"allow_model_download": True} if allow_model_download else {}
        self.server = BridgeServer(self.worker, port=0, reply_port=reply_port, vocab=vocab, model="tiny", **extra)
        self.server.start()

    @property
    def addr(self) -> tuple[str, int]:
        return ("127.0.0.1", self.server.port)

    def client(self, hello: bool = True) -> OscClient:
        return OscClient(self.addr, hello=hello)

    def close(self) -> None:
        self.server.stop()
        self.worker.stop()


@pytest.fixture
def rig(tmp_path: Path, vocab: ChordVocabulary) -> Iterator[Rig]:
    r = Rig(tmp_path, vocab)
    yield r
    r.close()


def _wav(path: Path, seconds: float = 1.0) -> Path:
    rate = 22050
    t = np.arange(int(rate * seconds)) / rate
    sf.write(path, (0.3 * np.sin(2 * np.pi * 80 * t)).astype(np.float32), rate)
    return path


def _ping_ms(c: OscClient, timeout: float) -> float:
    token = f"t{time.monotonic_ns()}"
    start = time.monotonic()
    c.send("/jasco/ping", token)
    c.expect("/jasco/pong", where=lambda r: r.args == (token,), timeout=timeout)
    return 1000 * (time.monotonic() - start)


# --- 1. a drum name swapped between a WAV and a FIFO ----------------------------------------------------------
def test_a_symlink_swapped_to_a_fifo_never_hangs_the_server(rig: Rig, tmp_path: Path) -> None:
    wav = _wav(tmp_path / "real.wav")
    with rig.client() as c:
        with fifo_swapping_link(wav, tmp_path) as link:
            answered = 0
            deadline = time.monotonic() + 3.0
            while time.monotonic() < deadline:  # each /jasco/drums is a chance to win the race
                for _ in range(8):
                    c.send("/jasco/drums", str(link))
                    time.sleep(0.002)
                _ping_ms(c, timeout=2.0)  # the OSC thread never blocks
                answered += 8
        # the checker thread never blocked either: a last check of the real file is answered
        c.inbox.clear()
        c.send("/jasco/drums", str(link))
        loaded = c.expect("/jasco/drums/loaded", timeout=5.0)
        assert loaded.args[0] == str(link)
        assert answered > 100


def test_fifos_and_devices_are_refused_without_blocking(tmp_path: Path) -> None:
    from bridge.audio import probe_audio, read_audio
    from core.errors import BadAudio

    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)
    refused: list[str] = []
    wrong: list[BaseException] = []

    def read_all() -> None:
        for path in (fifo, Path("/dev/zero")):
            for read in (probe_audio, read_audio):
                try:
                    read(path)
                except BadAudio as err:
                    if "not a file" in str(err):
                        refused.append(f"{read.__name__} {path.name}")
                        continue
                    wrong.append(err)
                except BaseException as err:  # noqa: BLE001 - reported by the test thread below
                    wrong.append(err)
                else:
                    wrong.append(AssertionError(f"{read.__name__} read {path}"))

    reader = threading.Thread(target=read_all, daemon=True)  # a blocking open or read would never return
    reader.start()
    reader.join(timeout=60)
    assert not reader.is_alive(), f"blocked after {refused}"
    assert not wrong and len(refused) == 4, (refused, wrong)


def test_without_o_nonblock_the_type_is_checked_before_opening(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Windows has no ``os.O_NONBLOCK`` (and no FIFOs): the fallback checks the name's type first."""
    from bridge import audio
    from core.errors import BadAudio

    monkeypatch.delattr(os, "O_NONBLOCK")
    flags, nonblocking = audio.open_flags()
    assert not nonblocking and flags & os.O_WRONLY == 0
    good = audio.read_audio(_wav(tmp_path / "ok.wav"))
    assert good.sample_rate == 22050 and len(good.sha256) == 64
    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)
    with pytest.raises(BadAudio, match="not a file"):  # refused by the check: never opened, never blocks
        audio.read_audio(fifo)


# --- 2. reply loops ------------------------------------------------------------------------------------------
def _packets_in(rig: Rig, seconds: float) -> int:
    before = rig.server.stats().packets
    time.sleep(seconds)
    return rig.server.stats().packets - before


def test_a_hello_naming_the_servers_own_port_is_refused(rig: Rig) -> None:
    with rig.client(hello=False) as c:
        c.send("/jasco/hello", rig.server.port)
        err = c.expect_error("bad_value")
        assert "own port" in err.args[2]
        c.send("/jasco/ping", "after")  # replies still reach the sender, never the server itself
        c.expect("/jasco/pong")
    assert _packets_in(rig, 0.5) == 0  # nothing is circling: no packet arrives while nobody sends


def test_a_packet_spoofed_from_the_servers_own_address_is_dropped(rig: Rig) -> None:
    rig.server.handle_datagram(build("/jasco/ping", "loop"), ("127.0.0.1", rig.server.port))
    rig.server.handle_datagram(build("/jasco/nope"), ("127.0.0.1", rig.server.port))
    assert _packets_in(rig, 0.5) == 0
    assert rig.server.transport.stats.replies_out == 0


# --- 3. no work proportional to client data on the OSC thread ------------------------------------------------
@pytest.mark.serial  # a ping's round trip measured against a bound: alone on the CPU
def test_a_bundle_of_generates_over_a_huge_session_never_delays_a_ping(rig: Rig) -> None:
    with rig.client() as c:
        rng = np.random.default_rng(3)
        for what in ("melody", "notes"):  # 20,000 melody notes and 20,000 chord-clip notes
            for _ in range(20):
                args: list[object] = []
                for _ in range(1000):
                    args += [int(rng.integers(48, 84)), float(rng.uniform(0, 19)), 0.5, 100]
                c.send(f"/jasco/{what}/add", *args)
        c.sync()
        generates = []
        for k in range(50):  # tempo changes interleaved: recognised chords do not depend on the tempo
            generates += [build("/jasco/tempo", 100.0 + k), build("/jasco/generate", f"g{k}")]
        packet = bundle(*generates)
        assert len(packet) < 4096
        c.send_raw(packet)
        worst = max(_ping_ms(c, timeout=3.0) for _ in range(5))
        assert worst < 1000, worst


# --- 7. eviction -----------------------------------------------------------------------------------------------
def test_an_active_client_is_never_evicted_by_a_flood_of_hellos(rig: Rig) -> None:
    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.bind(("127.0.0.1", 0))
    listener.settimeout(3.0)
    try:
        with rig.client(hello=False) as victim:
            reply_port = listener.getsockname()[1]
            victim.send("/jasco/hello", reply_port)
            listener.recvfrom(65536)  # the hello reply arrives at the registered port
            victim.send("/jasco/prompt", "the victim's prompt")
            for k in range(1100):  # the attacker: hellos from 1,100 other ports
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                    s.bind(("127.0.0.1", 0))
                    s.sendto(build("/jasco/hello", s.getsockname()[1]), rig.addr)
                    s.sendto(build("/jasco/prompt", f"attacker {k}"), rig.addr)
            victim.send("/jasco/ping", "still mine")
            data, _ = listener.recvfrom(65536)  # replies still go where the victim registered
            assert data.startswith(b"/jasco/pong") and b"still mine" in data
            victim.send("/jasco/generate", "v")
            deadline = time.monotonic() + 5
            while not [r for r in rig.worker.requests if r.tag == "v"] and time.monotonic() < deadline:
                time.sleep(0.02)
        req = [r for r in rig.worker.requests if r.tag == "v"][0]
        assert req.prompt == "the victim's prompt"  # its session was not replaced by a default one
        stats = rig.server.stats()
        assert stats.registrations <= 1024 and stats.sessions <= 64
    finally:
        listener.close()


def test_idle_clients_make_room_least_recently_active_first() -> None:
    from bridge.clients import ACTIVE_S, MAX_SESSIONS_PER_HOST, ClientRegistry
    from core.errors import TooManyClients

    now = [0.0]
    reg = ClientRegistry(default_reply_port=0, clock=lambda: now[0])
    for port in range(1, MAX_SESSIONS_PER_HOST + 1):
        reg.session(("127.0.0.1", port))
        now[0] += 1.0
    with pytest.raises(TooManyClients):  # everyone is active: the newcomer waits, nobody is evicted
        reg.session(("127.0.0.1", 9999))
    reg.own("job-of-1", ("127.0.0.1", 1))  # the oldest has a job in the queue: it stays
    now[0] += ACTIVE_S + 1
    reg.heard_from(("127.0.0.1", 5), ("127.0.0.1", 5))  # and 5 was just heard from
    reg.session(("127.0.0.1", 9999))
    assert reg.existing_session(("127.0.0.1", 1)) is not None  # owns a job
    assert reg.existing_session(("127.0.0.1", 2)) is None  # the least recently active idle one went
    assert reg.existing_session(("127.0.0.1", 5)) is not None
    assert reg.existing_session(("10.0.0.9", 1)) is None
    reg.session(("10.0.0.9", 1))  # another host has its own share


# --- 8. foreign cancel and job ids -------------------------------------------------------------------------
def test_only_the_submitting_client_can_cancel_its_job(tmp_path: Path, vocab: ChordVocabulary) -> None:
    r = Rig(tmp_path, vocab, steps=3, step_seconds=0.01)
    try:
        r.worker.hold.clear()
        with r.client() as owner, r.client() as other:
            owner.send("/jasco/generate", "running")
            running = owner.expect("/jasco/queued").args[0]
            owner.expect("/jasco/started")
            owner.send("/jasco/generate", "waiting")
            waiting = owner.expect("/jasco/queued").args[0]
            for job in (running, waiting):
                other.send("/jasco/cancel", job)
                other.expect_error("unknown_job")  # exactly like a job that does not exist
            owner.send("/jasco/cancel", waiting)
            assert owner.expect("/jasco/cancelled").args == (waiting,)
            r.worker.hold.set()
            assert owner.expect("/jasco/done").args[0] == running  # the other client's cancel did nothing
    finally:
        r.close()


def test_job_ids_are_unguessable() -> None:
    from bridge.jobs import new_job_id

    ids = [new_job_id() for _ in range(200)]
    assert len(set(ids)) == 200 and all(len(i) < 32 and i.isascii() and i.isalnum() for i in ids)
    tails = [i[-16:] for i in ids]  # 80 random bits; a time + pid + counter id changes only at its end
    assert len({t[:6] for t in tails}) > 190


# --- 9. amplification ------------------------------------------------------------------------------------------
def _reply_bytes(c: OscClient, packet: bytes) -> int:
    c.drain(0.05)
    c.send_raw(packet)
    c.sync()
    return sum(r.size for r in c.drain(0.3))


def test_replies_to_one_packet_are_bounded_for_every_reply_type(rig: Rig) -> None:
    from bridge.transport import MAX_REPLIES_PER_PACKET

    with rig.client() as c:
        statuses = bundle(*[build("/jasco/status")] * 1300)
        assert len(statuses) <= 32 * 1024
        out = _reply_bytes(c, statuses)
        assert out / len(statuses) < 0.1, (out, len(statuses))  # 1,300 status replies were 2x the bytes
        pings = bundle(*[build("/jasco/ping")] * 64)
        out = _reply_bytes(c, pings)
        assert out < len(pings), (out, len(pings))
        c.send_raw(bundle(*[build("/jasco/ping", k) for k in range(40)]))
        c.sync()
        got = c.drain(0.3)
        assert len([r for r in got if r.address == "/jasco/pong"]) == MAX_REPLIES_PER_PACKET
        assert "more replies" in [r for r in got if r.address == "/jasco/error"][0].args[2]


def test_the_reply_budget_per_host_refills_at_its_rate() -> None:
    from bridge.transport import ReplyBudget

    now = [0.0]
    budget = ReplyBudget(rate=100.0, burst=10.0, clock=lambda: now[0])
    assert sum(budget.take("10.0.0.1") for _ in range(50)) == 10
    assert budget.take("10.0.0.2")  # each host has its own
    now[0] += 0.05
    assert sum(budget.take("10.0.0.1") for _ in range(50)) == 5


# --- 10. model switching ---------------------------------------------------------------------------------------
def _cache_model(cache: Path, repo: str) -> None:
    folder = cache / f"models--{repo.replace('/', '--')}"
    snap = folder / "snapshots" / "0123abcd"
    snap.mkdir(parents=True)
    (folder / "refs").mkdir()
    (folder / "refs" / "main").write_text("0123abcd")
    for name in ("state_dict.bin", "compression_state_dict.bin"):
        (snap / name).write_bytes(b"weights")


def test_clients_cannot_make_the_server_download_a_model(tmp_path: Path, vocab: ChordVocabulary,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    _cache_model(cache, "acme/cached")
    r = Rig(tmp_path, vocab)
    try:
        with r.client() as c:
            c.send("/jasco/set", "model", "someone/not-downloaded")
            err = c.expect_error("model_unavailable")
            assert "--allow-model-download" in err.args[2]
            c.send("/jasco/generate", "refused")
            c.expect("/jasco/done")
            c.send("/jasco/set", "model", "acme/cached")  # already on this machine: fine
            c.send("/jasco/generate", "cached")
            c.expect("/jasco/done")
            c.send("/jasco/set", "model", str(tmp_path))  # a folder without the checkpoint files
            assert "lacks" in c.expect_error("model_unavailable").args[2]
        by_tag = {q.tag: q for q in r.worker.requests}
        assert by_tag["refused"].model == "tiny" and by_tag["cached"].model == "acme/cached"
    finally:
        r.close()
    (tmp_path / "second").mkdir()
    allowed = Rig(tmp_path / "second", vocab, allow_model_download=True)
    try:
        with allowed.client() as c:
            c.send("/jasco/set", "model", "someone/not-downloaded")
            c.send("/jasco/generate", "allowed")
            c.expect("/jasco/done")
        assert allowed.worker.requests[-1].model == "someone/not-downloaded"
    finally:
        allowed.close()


def test_a_model_error_is_told_only_to_the_clients_it_concerns(tmp_path: Path, vocab: ChordVocabulary,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    _cache_model(cache, "acme/broken")
    r = Rig(tmp_path, vocab, state="error", error="acme/broken: the weights do not fit", error_model="acme/broken")
    try:
        with r.client() as chooser, r.client() as bystander:
            chooser.send("/jasco/set", "model", "acme/broken")
            chooser.send("/jasco/status")
            chooser.expect("/jasco/status")
            assert "do not fit" in chooser.expect_error("model_unavailable").args[2]
            bystander.send("/jasco/status")
            assert bystander.expect("/jasco/status").args[0] == "error"
            bystander.sync()
            assert not [m for m in bystander.inbox if m.address == "/jasco/error"]
    finally:
        r.close()


# --- 11. the smaller items ----------------------------------------------------------------------------------
def test_model_names_cannot_forge_log_lines(rig: Rig, tmp_path: Path) -> None:
    forged = tmp_path / "m\nINFO bridge.server: client 10.0.0.1 registered"
    forged.mkdir()
    for name in ("state_dict.bin", "compression_state_dict.bin"):
        (forged / name).write_bytes(b"x")
    with rig.client() as c:
        c.send("/jasco/set", "model", str(forged))
        assert "control characters" in c.expect_error("bad_value").args[2]


def test_unsafe_load_advice_never_reaches_a_client(tmp_path: Path, vocab: ChordVocabulary) -> None:
    torch_text = ("model_load_failed: cannot read state_dict.bin: Weights only load failed. This file can still be "
                  "loaded, to do so you have two options, do those steps only if you trust the source of the "
                  "checkpoint. (1) In PyTorch 2.6, we changed the default value of the `weights_only` argument "
                  "in `torch.load` from `False` to `True`. Re-running `torch.load` with `weights_only` set to "
                  "`False` will likely succeed, but it can result in arbitrary code execution. Do it only if you "
                  "got the file from a trusted source. WeightsUnpickler error: Unsupported global: GLOBAL os.system")
    r = Rig(tmp_path, vocab, state="error", error=torch_text)
    try:
        with r.client() as c:
            c.send("/jasco/status")
            text = c.expect_error().args[2]
        assert "weights_only" not in text and "trusted source" not in text and "safe load refuses" in text
        assert "Unsupported global: GLOBAL os.system" in text  # what the safe loader refused is kept
        assert "cannot read state_dict.bin" in text
    finally:
        r.close()


def test_drums_replies_do_not_reveal_other_files(rig: Rig, tmp_path: Path) -> None:
    secret = tmp_path / "id_rsa"
    secret.write_text("-----BEGIN KEY-----\n")
    big = tmp_path / "huge.wav"
    with open(big, "wb") as f:  # sparse: 300 MB that take no space
        f.truncate(300 * 1024 * 1024)
    with rig.client() as c:
        c.send("/jasco/drums", str(secret))
        exists = c.expect_error()
        c.send("/jasco/drums", str(tmp_path / "no_such_key"))
        missing = c.expect_error()
        assert exists.args[1] == missing.args[1] == "unsupported_format"  # the same, whether it exists or not
        assert exists.args[2].replace("id_rsa", "X") == missing.args[2].replace("no_such_key", "X")
        c.send("/jasco/drums", str(big))
        err = c.expect_error("too_large")
        assert "300" not in err.args[2] and "314" not in err.args[2]  # no size


def test_trailing_bytes_after_a_message_are_refused(rig: Rig) -> None:
    with rig.client() as c:
        c.send_raw(build("/jasco/ping", "x") + b"\x00\x00\x00\x07")
        assert "after the last argument" in c.expect_error("bad_packet").args[2]
        assert not [r for r in c.drain(0.1) if r.address == "/jasco/pong"]


def test_relative_drum_paths_and_symlink_loops(rig: Rig, tmp_path: Path) -> None:
    loop = tmp_path / "loop.wav"
    loop.symlink_to(loop)
    with rig.client() as c:
        c.send("/jasco/drums", "drums/kick.wav")
        assert "relative" in c.expect_error("bad_value").args[2]
        c.send("/jasco/drums", str(loop))
        assert "symlink loop" in c.expect_error("bad_audio").args[2]


def test_live_midi_always_has_its_session() -> None:
    from bridge.clients import MAX_SESSIONS_PER_HOST, MIDI_SESSION, ClientRegistry

    reg = ClientRegistry(default_reply_port=0)
    for port in range(1, MAX_SESSIONS_PER_HOST + 1):
        reg.session(("127.0.0.1", port))
    assert reg.session(MIDI_SESSION).key == MIDI_SESSION  # pinned: never refused, never evicted


def test_cached_melody_frames_follow_every_change(rig: Rig) -> None:
    with rig.client() as c:
        for pitch in (60, 72, 65):  # clear and add the same number of notes: never an old cache entry
            c.send("/jasco/melody/clear")
            c.send("/jasco/melody/add", pitch, 0.0, 1.0, 100, pitch, 1.0, 1.0, 100)
            c.send("/jasco/generate", f"m{pitch}")
            c.expect("/jasco/done")
            assert rig.worker.requests[-1].melody_frames[0] == pitch
        c.send("/jasco/tempo", 60.0)  # frames depend on the tempo: recomputed
        c.send("/jasco/generate", "slow")
        c.expect("/jasco/done")
        frames = rig.worker.requests[-1].melody_frames
        assert frames[75] == 65 and frames[105] == 0  # two beats at 60 bpm = 2 s = 100 frames (at 120: 50)
