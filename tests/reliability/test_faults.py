"""Faults: bad drum files, MIDI files that are not MIDI, chords that are not chords, a
missing or read-only clip folder, a full disk, a model that does not load, an exception
inside a render. Each gets a coded error, the server goes on (ping, then a good render),
and no partial or temporary file is ever visible in the clip folder (a watcher thread
checks every clip the moment it appears).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np
import pytest
import soundfile as sf

from reliability_rig import FolderWatch, Peer, Server, cli_path, fake_args, temp_files, visible_files

BARS1_FRAMES = 2 * 48000  # one 4/4 bar at 120 bpm at 48 kHz


def render_ok(peer: Peer, tag: str = "ok", timeout: float = 60.0, read: bool = True) -> Path:
    """A good render after a fault: proves the server and the worker went on."""
    peer.send("/jasco/set", "bars", 1)
    peer.send("/jasco/set", "steps", 2)
    answer = peer.generate(tag)
    assert answer.address == "/jasco/queued", answer
    final = peer.wait_final(answer.args[0], timeout=timeout)
    assert final.address == "/jasco/done", final
    path = Path(final.args[1])
    if not read:  # the file is in another mount namespace
        return path
    audio, rate = sf.read(str(path), dtype="float32")
    assert rate == 48000 and len(audio) == BARS1_FRAMES
    return path


def job_error(peer: Peer, code: str, tag: str = "fault", timeout: float = 60.0) -> str:
    answer = peer.generate(tag)
    assert answer.address == "/jasco/queued", answer
    final = peer.wait_final(answer.args[0], timeout=timeout)
    assert final.address == "/jasco/error" and final.args[1] == code, final
    return str(final.args[2])


# --- one server for the input faults ------------------------------------------------------------------
@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory, chords_pkl: Path) -> Iterator[tuple[Server, Path, Path]]:
    root = tmp_path_factory.mktemp("faults")
    clips = root / "clips"
    server = Server(*fake_args(clips, "--vocab", str(chords_pkl)))
    watch = FolderWatch(clips)
    try:
        yield server, clips, root
    finally:
        problems = watch.stop()
        server.kill()
        assert not server.orphans()
    assert problems == []
    assert temp_files(clips) == []


@pytest.fixture
def peer(rig: tuple[Server, Path, Path]) -> Iterator[Peer]:
    server, _, _ = rig
    with Peer(server.address) as p:
        p.wait_state(["idle"], timeout=60)
        yield p
        assert server.alive()
        assert p.ping() == []  # still answering, nothing unexpected pending


def _wav(path: Path, seconds: float, rate: int = 44100, channels: int = 1, subtype: str = "PCM_16") -> Path:
    t = np.arange(int(seconds * rate)) / rate
    x = (0.3 * np.sin(2 * np.pi * 110 * t)).astype(np.float32)
    sf.write(str(path), np.stack([x] * channels, 1), rate, subtype=subtype)
    return path


def _bad_drum_files(root: Path) -> dict[str, tuple[str, str]]:
    """name -> (path, expected code)."""
    d = root / "drums"
    d.mkdir(exist_ok=True)
    good = _wav(d / "good.wav", 1.0)
    files: dict[str, tuple[str, str]] = {}
    (d / "corrupt.wav").write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + os.urandom(200))
    files["corrupt"] = (str(d / "corrupt.wav"), "bad_audio")
    (d / "text.wav").write_text("this is not audio at all\n" * 20)
    files["text-as-wav"] = (str(d / "text.wav"), "bad_audio")
    (d / "header-only.wav").write_bytes(good.read_bytes()[:44])
    files["header-only"] = (str(d / "header-only.wav"), "bad_audio")
    (d / "empty.flac").write_bytes(b"")
    files["empty"] = (str(d / "empty.flac"), "bad_audio")
    (d / "loop.xyz").write_bytes(os.urandom(4096))
    files["unsupported"] = (str(d / "loop.xyz"), "unsupported_format")
    (d / "loop.m4a").write_bytes(b"\x00\x00\x00\x20ftypM4A " + os.urandom(1000))
    files["m4a"] = (str(d / "loop.m4a"), "unsupported_format")
    files["missing"] = (str(d / "nope.wav"), "not_found")
    files["not-audio-name"] = (str(d), "unsupported_format")  # refused by its name, before any file access
    (d / "folder.wav").mkdir()
    files["folder"] = (str(d / "folder.wav"), "bad_audio")
    os.mkfifo(d / "pipe.wav")  # a blocking open would wait forever: opened non-blocking, refused by fstat
    files["fifo"] = (str(d / "pipe.wav"), "bad_audio")
    (d / "device.wav").symlink_to("/dev/zero")
    files["device"] = (str(d / "device.wav"), "bad_audio")
    if os.geteuid() != 0:  # root reads anything: the FIFO and the device above stand in for it
        (d / "unreadable.wav").write_bytes(good.read_bytes())
        (d / "unreadable.wav").chmod(0)
        files["unreadable"] = (str(d / "unreadable.wav"), "bad_audio")
    (d / "loop-a.wav").symlink_to(d / "loop-b.wav")
    (d / "loop-b.wav").symlink_to(d / "loop-a.wav")
    files["symlink-loop"] = (str(d / "loop-a.wav"), "bad_audio")  # it exists: a loop, not a missing file
    files["name-too-long"] = (str(d / ("x" * 300 + ".wav")), "bad_audio")
    _wav(d / "long.wav", 61.0, rate=8000)
    files["too-long"] = (str(d / "long.wav"), "too_large")
    _wav(d / "many.wav", 0.5, channels=9)
    files["too-many-channels"] = (str(d / "many.wav"), "too_large")
    nan = np.full((8000, 1), np.nan, np.float32)
    sf.write(str(d / "nan.wav"), nan, 8000, subtype="FLOAT")
    files["nan-samples"] = (str(d / "nan.wav"), "bad_audio")
    return files


def test_bad_drum_files_get_their_codes(rig: tuple[Server, Path, Path], peer: Peer) -> None:
    _, clips, root = rig
    files = _bad_drum_files(root)
    good = str(root / "drums" / "good.wav")
    peer.send("/jasco/drums", good)
    assert peer.expect("/jasco/drums/loaded").args[0] == good
    for name, (path, code) in files.items():
        start = peer.mark()
        peer.send("/jasco/drums", path)
        err = peer.expect_error(since=start)
        assert err.args[1] == code, (name, err.args)
        assert err.args[2], name  # a message that names the problem
    # the session kept the last good drum loop: the next clip used it
    path = render_ok(peer, "after-bad-drums")
    sidecar = json.loads(path.with_suffix(".json").read_text())
    assert sidecar["drums_file"] == good


def test_drum_file_that_breaks_after_it_was_chosen(rig: tuple[Server, Path, Path], peer: Peer) -> None:
    _, _, root = rig
    d = root / "later"
    d.mkdir()
    path = _wav(d / "loop.wav", 1.0)
    peer.send("/jasco/drums", str(path))
    peer.expect("/jasco/drums/loaded")
    path.write_bytes(b"RIFF" + os.urandom(100))  # corrupted before the render reads it
    assert job_error(peer, "bad_audio")  # read again at render time: the new contents are refused
    path.unlink()
    job_error(peer, "not_found")
    peer.send("/jasco/drums/clear")
    render_ok(peer, "after-drums-vanished")


def test_chords_that_are_not_chords(rig: tuple[Server, Path, Path], peer: Peer) -> None:
    peer.send("/jasco/chords", "C", 0.0, "G7", 4.0)
    assert peer.expect("/jasco/chords/mapped").args[1::4] == ("C", "G7")
    for bad in ["H#", "xyz", "C/", "Cmaj7/Q", "🎹", "C" * 64, "#", "--", "", "Hm", "1234"]:
        # a message with nothing but bad symbols fails whole: the last good progression stays
        start = peer.mark()
        peer.send("/jasco/chords", bad, 0.0)
        err = peer.expect_error(since=start)
        assert err.args[1] == "bad_chord", (bad, err.args)
    path = render_ok(peer, "after-bad-chords")
    assert [c["label"] for c in json.loads(path.with_suffix(".json").read_text())["chords"]] == ["C", "G7"]
    for bad in ["H#", "xyz", "Cmaj7/Q", "🎹", "1234"]:
        # one bad symbol among good ones is reported with its own bad_chord; the others are used
        start = peer.mark()
        peer.send("/jasco/chords", "Am", 0.0, bad, 4.0)
        err = peer.expect_error(since=start)
        assert err.args[1] == "bad_chord" and "beat 4" in err.args[2], (bad, err.args)
        assert peer.expect("/jasco/chords/mapped").args[1::4] == ("Am",)
    path = render_ok(peer, "after-partly-bad-chords")
    assert [c["label"] for c in json.loads(path.with_suffix(".json").read_text())["chords"]] == ["Am"]
    peer.send("/jasco/chords/clear")


def test_exceptions_inside_the_render(rig: tuple[Server, Path, Path], peer: Peer) -> None:
    _, clips, _ = rig
    before = visible_files(clips)
    peer.send("/jasco/prompt", "explode")  # the fake engine raises RuntimeError
    assert "exploded on purpose" in job_error(peer, "render_failed")
    peer.send("/jasco/prompt", "coded-bad-chord")  # the engine raises a coded error
    job_error(peer, "bad_chord")
    assert visible_files(clips) == before  # failed renders leave nothing
    peer.send("/jasco/prompt", "fine again")
    render_ok(peer, "after-exceptions")


def test_midi_files_that_are_not_midi(tmp_path: Path, chords_pkl: Path) -> None:
    """The OSC protocol takes notes, not MIDI files: files go through ``jasco-bridge chords`` and ``midi.file_chords``."""
    from core.errors import BadMidi, JascoError
    from midi.file_chords import progression_from_midi_file
    from midi.vocab import ChordVocabulary

    vocab = ChordVocabulary.load(chords_pkl)
    cases = {
        "random.mid": os.urandom(2000),
        "text.mid": b"MThd is what a MIDI file starts with, but this is text\n" * 10,
        "empty.mid": b"",
        "truncated.mid": b"MThd\x00\x00\x00\x06\x00\x01\x00\x02\x01\xe0MTrk\x00\x00\x10\x00\x00\x90\x3c",
        "huge-track.mid": b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x01\xe0MTrk\xff\xff\xff\xf0" + b"\x00" * 64,
        "wav.mid": b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(40),
    }
    for name, data in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(JascoError) as err:
            progression_from_midi_file(path, vocab)
        assert err.value.code in ("bad_midi",), (name, err.value.code, str(err.value))
        proc = subprocess.run([cli_path(), "chords", str(path), "--vocab", str(chords_pkl)],
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 2, (name, proc.returncode, proc.stderr)
        assert proc.stderr.startswith("error [bad_midi]"), (name, proc.stderr)
        assert "Traceback" not in proc.stderr
    with pytest.raises(JascoError) as missing:
        progression_from_midi_file(tmp_path / "absent.mid", vocab)
    assert missing.value.code == "not_found"
    assert BadMidi.code == "bad_midi"


# --- the clip folder and the disk ----------------------------------------------------------------------------
def test_clip_folder_deleted_while_serving_is_recreated(serve: Callable[..., Server], tmp_path: Path) -> None:
    clips = tmp_path / "clips"
    server = serve(*fake_args(clips))
    with Peer(server.address) as p:
        p.wait_state(["idle"], timeout=60)
        render_ok(p, "first")
        shutil.rmtree(clips)
        render_ok(p, "after-rmtree")  # a missing folder is created again
        assert len([n for n in visible_files(clips) if n.endswith(".wav")]) == 1


def _serve_refused(clips: Path, prefix: Sequence[str] = ()) -> subprocess.CompletedProcess[str]:
    """``serve`` with this clip folder: refused at start (exit 2, coded), before any engine starts."""
    return subprocess.run([*prefix, cli_path(), "serve", "--port", "0", *fake_args(clips)], capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL)


def test_clip_folder_that_cannot_exist(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    res = _serve_refused(blocker / "clips")
    assert res.returncode == 2, res.stdout + res.stderr
    assert res.stderr.startswith("error [clip_dir_unwritable]") and "clips" in res.stderr, res.stderr
    assert "listening" not in res.stdout + res.stderr
    assert blocker.read_text() == "not a folder"


def _unshare_ok() -> str:
    unshare = shutil.which("unshare")
    if unshare is None or subprocess.run([unshare, "-rm", "true"], capture_output=True).returncode != 0:
        pytest.skip("no user namespaces here: cannot make a read-only or tiny folder as root")
    return unshare


def test_read_only_clip_folder_is_refused_at_start(tmp_path: Path) -> None:
    clips = tmp_path / "clips"
    clips.mkdir()
    (clips / "existing.wav").write_bytes(b"kept")
    if os.geteuid() != 0:
        clips.chmod(0o555)
        prefix: list[str] = []
    else:  # root ignores permission bits: a read-only bind mount in a private mount namespace
        unshare = _unshare_ok()
        script = f'mount --bind "{clips}" "{clips}" && mount -o remount,bind,ro "{clips}" && exec "$@"'
        prefix = [unshare, "-rm", "sh", "-c", script, "sh"]
    try:
        res = _serve_refused(clips, prefix)
        assert res.returncode == 2, res.stdout + res.stderr
        assert res.stderr.startswith("error [clip_dir_unwritable]") and "read-only" in res.stderr, res.stderr
        assert "listening" not in res.stdout + res.stderr
    finally:
        clips.chmod(0o755)
    assert sorted(os.listdir(clips)) == ["existing.wav"]


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc: a folder that takes no new files")
def test_clip_folder_that_takes_no_files_is_refused_at_start() -> None:
    """os.access says yes to root for /proc/self; a real file creation says no."""
    res = _serve_refused(Path("/proc/self"))
    assert res.returncode == 2 and res.stderr.startswith("error [clip_dir_unwritable]"), res.stderr


def _limit_file_size() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (400_000, 400_000))


def test_full_disk_by_file_size_limit(serve: Callable[..., Server], tmp_path: Path) -> None:
    clips = tmp_path / "clips"
    server = serve(*fake_args(clips), preexec_fn=_limit_file_size)
    watch = FolderWatch(clips)
    with Peer(server.address) as p:
        p.wait_state(["idle"], timeout=60)
        p.send("/jasco/set", "bars", 0)  # 10 s, 48 kHz, 24 bit: 1.4 MB > the 400 kB limit
        assert "no space left" in job_error(p, "disk_full")
        assert server.alive()
        assert temp_files(clips) == [] and visible_files(clips) == []
        path = render_ok(p, "fits")  # 2 s, 48 kHz, 24 bit: 288 kB
        assert sf.info(str(path)).frames == BARS1_FRAMES
    assert watch.stop() == []
    assert temp_files(clips) == []


def test_full_disk_on_a_tiny_filesystem(serve: Callable[..., Server], tmp_path: Path) -> None:
    unshare = _unshare_ok()
    clips = tmp_path / "clips"
    clips.mkdir()
    script = f'mount -t tmpfs -o size=600k tmpfs "{clips}" && exec "$@"'
    server = serve(*fake_args(clips), prefix=[unshare, "-rm", "sh", "-c", script, "sh"])
    with Peer(server.address) as p:
        p.wait_state(["idle"], timeout=60)
        p.send("/jasco/set", "bars", 0)
        job_error(p, "disk_full")
        job_error(p, "disk_full")
        render_ok(p, "fits", read=False)  # the space the failed writes took was given back
        assert p.ping() == []
        # the folder is only visible inside the server's namespace: ask it what is there
        if shutil.which("nsenter") is None:
            return
        listing = subprocess.run(["nsenter", "-t", str(server.pid), "-U", "-m", "--preserve-credentials",
                                  "ls", "-A", str(clips)], capture_output=True, text=True, timeout=10)
        assert listing.returncode == 0, listing.stderr
        names = listing.stdout.split()
        assert not [n for n in names if n.startswith(".jasco-tmp-")], names
        assert len([n for n in names if n.endswith(".wav")]) == 1, names


# --- the model ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("model, code", [("fake?fail_load=model_load_failed", "model_load_failed"),
                                         ("fake?crash_load=1", "model_load_failed"),
                                         ("fake?fail_load=model_unavailable", "model_unavailable")])
def test_model_that_fails_to_load(serve: Callable[..., Server], tmp_path: Path, model: str, code: str) -> None:
    clips = tmp_path / "clips"
    server = serve(*fake_args(clips, model=model))
    server.wait_for(f"failed to load: [{code}]", timeout=60)
    with Peer(server.address) as p:
        st = p.wait_state(["error"], timeout=60)
        assert st[2] == model
        assert p.expect_error(code).args[2]
        job_error(p, code)
        job_error(p, code)  # every job gets it, and the server keeps answering
        assert p.ping() == []
    assert visible_files(clips) == []
    # the log says it once (a line per job besides), and never that the model is ready
    assert len([ln for ln in server.lines if "bridge.engines.local" in ln and "failed to load" in ln]) == 1, \
        server.output()
    assert len([ln for ln in server.lines if "bridge.worker: job " in ln and " failed: " in ln]) == 2
    assert not [ln for ln in server.lines if " ready " in ln], server.output()


def test_real_engine_with_a_broken_model_folder(serve: Callable[..., Server], tmp_path: Path, chords_pkl: Path) -> None:
    """The real engine (torch, in the engine process) on a folder that is not a model."""
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.yaml").write_text("this: [is not: a model config\n")
    (model / "state_dict.bin").write_bytes(os.urandom(4096))
    clips = tmp_path / "clips"
    server = serve("--model", str(model), "--clip-dir", str(clips), "--reply-port", "0",
                   "--vocab", str(chords_pkl))
    with Peer(server.address) as p:
        st = p.wait_state(["error"], timeout=120)
        err = p.expect_error()
        assert err.args[1] in ("model_unavailable", "model_load_failed", "bad_config"), err.args
        assert st[0] == "error"
        p.send("/jasco/set", "bars", 1)
        answer = p.generate("broken-model")
        final = p.wait_final(answer.args[0], timeout=120)
        assert final.address == "/jasco/error" and final.args[1] == err.args[1], final
        assert p.ping() == []
    assert visible_files(clips) == []


def test_a_write_aborted_at_the_last_moment_leaves_nothing(tmp_path: Path) -> None:
    """``write_clip(before_commit=...)``: the render worker's last cancellation check runs after the
    audio is written to its hidden temporary file and before anything becomes visible."""
    from core.errors import Cancelled
    from bridge.clips import write_clip
    from core.requests import RenderParams, RenderRequest

    audio = (0.3 * np.sin(np.arange(320000) / 32000 * 2 * np.pi * 220)).astype(np.float32)[None]
    seen: list[list[str]] = []

    def cancel() -> None:
        seen.append(sorted(os.listdir(tmp_path)))
        raise Cancelled("cancelled while writing")

    with pytest.raises(Cancelled):
        write_clip(audio, 32000, RenderRequest(prompt="late", params=RenderParams(bars=1, loop=False)), tmp_path,
                   before_commit=cancel)
    # only hidden files: the temporary audio and sidecar, and the clip name's reservation
    assert len(seen) == 1 and seen[0] and all(name.startswith((".jasco-tmp-", ".jasco-name-")) for name in seen[0])
    assert os.listdir(tmp_path) == []
