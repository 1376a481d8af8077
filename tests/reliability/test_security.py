"""Security: who may talk to the server, where it may write, what it may execute, how much
it may be made to hold.

* loopback only by default; a non-loopback bind without ``--allow`` is refused at start
  (exit status 2 and a message saying why); with an allow-list, other hosts get
  ``forbidden`` and change nothing;
* nothing a message says (prompt, tag, drums path, settings; ``../``, absolute paths,
  symlinks planted in the clip folder) makes the server write outside the clip folder;
* a vocabulary or checkpoint pickle that would run code is refused, and the code never runs;
* sizes are bounded: prompt, tag, notes per message and per session, packet, drum file.
"""

from __future__ import annotations

import datetime as dt
import os
import pickle
import socket
import subprocess
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
import soundfile as sf

from bridge.clips import clip_stem
from core.requests import MAX_PROMPT_CHARS, MAX_SESSION_NOTES
from reliability_rig import Peer, Server, cli_path, fake_args, raw_message, tree, visible_files


def _non_loopback_ip() -> str | None:
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.123", 9))  # no packet is sent: this only picks the outgoing interface
            ip = s.getsockname()[0]
    except OSError:
        return None
    return None if ip.startswith("127.") else ip


def _udp_bind(pid: int, port: int) -> list[str]:
    """Local addresses the process' UDP sockets on ``port`` are bound to (from /proc/net/udp)."""
    found = []
    for line in Path("/proc/net/udp").read_text().splitlines()[1:]:
        local = line.split()[1]
        hex_ip, hex_port = local.split(":")
        if int(hex_port, 16) == port:
            found.append(socket.inet_ntoa(bytes.fromhex(hex_ip)[::-1]))
    return found


# --- binding and the allow-list -------------------------------------------------------------------------------
def test_loopback_only_by_default(serve: Callable[..., Server], tmp_path: Path) -> None:
    server = serve(*fake_args(tmp_path / "clips"))
    assert server.host == "127.0.0.1"
    assert _udp_bind(server.pid, server.port) == ["127.0.0.1"]
    ip = _non_loopback_ip()
    if ip is not None:  # a packet from another interface's address is not served either
        with Peer(server.address, hello=False, bind=ip) as stranger:
            stranger.send("/jasco/ping", "let me in")
            err = stranger.expect("/jasco/error", timeout=5)
            assert err.args[1] == "forbidden", err.args
            assert not [r for r in stranger.replies if r.address == "/jasco/pong"]


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.2"])
def test_non_loopback_bind_without_allow_list_is_refused(tmp_path: Path, host: str) -> None:
    proc = subprocess.run([cli_path(), "serve", "--host", host, "--port", "0", "--model", "tiny",
                           "--clip-dir", str(tmp_path / "clips")], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert proc.stderr.startswith("error [bad_config]: refusing to listen on"), proc.stderr
    assert "--allow" in proc.stderr
    assert not (tmp_path / "clips").exists()  # refused before anything was created


def test_bad_allow_list_is_refused(tmp_path: Path) -> None:
    proc = subprocess.run([cli_path(), "serve", "--host", "0.0.0.0", "--allow", "not-an-ip", "--port", "0",
                           "--model", "tiny", "--clip-dir", str(tmp_path / "clips")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "error [bad_config]" in proc.stderr, proc.stderr


def test_allow_list_refuses_other_hosts(serve: Callable[..., Server], tmp_path: Path) -> None:
    ip = _non_loopback_ip()
    if ip is None:
        pytest.skip("no non-loopback IPv4 address on this machine")
    clips = tmp_path / "clips"
    server = serve(*fake_args(clips, "--host", "0.0.0.0", "--allow", "10.254.254.254"))
    with Peer(server.address, hello=False, bind=ip) as stranger, Peer(server.address) as local:
        local.wait_state(["idle"], timeout=60)
        for _ in range(3):
            stranger.send("/jasco/hello", stranger.port)
            stranger.send("/jasco/set", "bars", 1)
            stranger.send("/jasco/generate", "intruder")
        err = stranger.expect("/jasco/error", timeout=5)
        assert err.args[1] == "forbidden" and ip in err.args[2]
        local.ping()
        assert [r.address for r in stranger.replies] == ["/jasco/error"]  # rate-limited, and nothing else
        assert local.status()[1] == 0 and visible_files(clips) == []  # no job was queued for it
    # an allow-listed network may connect
    server2 = serve(*fake_args(tmp_path / "clips2", "--host", "0.0.0.0", "--allow", f"{ip}/32"))
    with Peer((ip, server2.port), bind=ip) as friend:
        friend.send("/jasco/ping", "friend")
        assert friend.expect("/jasco/pong").args == ("friend",)


# --- writing outside the clip folder ---------------------------------------------------------------------------
def test_messages_cannot_write_outside_the_clip_folder(serve: Callable[..., Server], tmp_path: Path) -> None:
    root = tmp_path / "root"
    clips = root / "music" / "clips"
    outside = root / "outside"
    outside.mkdir(parents=True)
    clips.mkdir(parents=True)
    (outside / "existing.json").write_text("precious")
    drums = outside / "loop.wav"
    sf.write(str(drums), (0.1 * np.sin(np.arange(8000) / 8000 * 2 * np.pi * 100)).astype(np.float32), 8000)
    server = serve(*fake_args(clips), cwd=str(outside))  # a relative path would land here

    prompts = ["../../outside/evil", "../../../../../../tmp/jasco-evil", "/tmp/jasco-evil-abs",
               "..", "../", "~/jasco-evil", "clip/../../../outside/x", "C:\\Windows\\evil", "%2e%2e%2fevil"]
    # plant symlinks where the next clips' names will be (time + prompt + seed), pointing outside
    now = dt.datetime.now()
    planted = []
    for prompt in prompts:
        for ahead in range(0, 40):
            stem = clip_stem(prompt, 7, now + dt.timedelta(seconds=ahead))
            # dangling links (so the server sees free names and writes "through" them) and, for the
            # "-2" names, links to a file that exists
            for ext, target in ((".wav", outside / "target.wav"), (".json", outside / "target.json")):
                link = clips / f"{stem}{ext}"
                if not link.is_symlink():
                    link.symlink_to(target)
                    planted.append(link)
            taken = clips / f"{stem}-2.json"
            if not taken.is_symlink():
                taken.symlink_to(outside / "existing.json")
    before = tree(root)
    with Peer(server.address) as p:
        p.wait_state(["idle"], timeout=60)
        p.send("/jasco/set", "bars", 1)
        p.send("/jasco/set", "steps", 2)
        p.send("/jasco/set", "seed", 7)
        p.send("/jasco/drums", str(drums))
        p.expect("/jasco/drums/loaded")
        for name, value in [("format", "../../outside/x"), ("format", "/tmp/x.wav"), ("model", "../../../outside"),
                            ("model", "/nonexistent"), ("normalize", "../x"), ("solver", "/bin/sh")]:
            start = p.mark()
            p.send("/jasco/set", name, value)
            assert p.expect_error(since=start).args[1] == "bad_value", (name, value)
        jobs = []
        for prompt in prompts:
            p.send("/jasco/prompt", prompt)
            answer = p.generate(tag=f"../../outside/{prompt[:20]}")
            assert answer.address == "/jasco/queued", answer
            jobs.append(answer.args[0])
        written = []
        for job in jobs:
            final = p.wait_final(job, timeout=60)
            assert final.address == "/jasco/done", final
            path = Path(final.args[1])
            assert path.parent == clips and not path.is_symlink(), path
            assert not path.with_suffix(".json").is_symlink()
            written.append(path)
    assert set(written) & set(planted), "no clip landed on a planted symlink: the test proved nothing"
    after = tree(root)
    new = sorted(after - before)
    assert all(n.startswith(os.path.join("music", "clips") + os.sep) for n in new), new
    assert (outside / "existing.json").read_text() == "precious"
    assert not (outside / "target.wav").exists() and not (outside / "target.json").exists()
    assert not (outside / "evil").exists()
    assert not Path("/tmp/jasco-evil").exists() and not Path("/tmp/jasco-evil-abs").exists()
    assert sorted(os.listdir(outside)) == ["existing.json", "loop.wav"]


# --- pickles ------------------------------------------------------------------------------------------------------
class _Evil:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (f"touch {self.marker}",))


def _evil_pickle(path: Path, marker: Path) -> Path:
    path.write_bytes(pickle.dumps({"C": 1, "evil": _Evil(marker)}))
    return path


def test_malicious_vocabulary_pickle_is_never_executed(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    evil = _evil_pickle(tmp_path / "evil.pkl", marker)
    proc = subprocess.run([cli_path(), "serve", "--port", "0", "--model", "tiny", "--vocab", str(evil),
                           "--clip-dir", str(tmp_path / "clips")], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert proc.stderr.startswith("error [vocab_unavailable]"), proc.stderr
    assert "refusing" in proc.stderr
    proc = subprocess.run([cli_path(), "chords", "--symbols", "C Am", "--vocab", str(evil)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and proc.stderr.startswith("error [vocab_unavailable]"), proc.stderr
    assert not marker.exists(), "the pickle's code ran"


def test_malicious_checkpoint_pickle_is_never_executed(serve: Callable[..., Server], tmp_path: Path,
                                                       chords_pkl: Path) -> None:
    """The real engine, asked for a model folder whose checkpoints would run code when unpickled."""
    marker = tmp_path / "pwned"
    folders = []
    for name in ("evil-start", "evil-osc"):
        folder = tmp_path / name
        folder.mkdir()
        _evil_pickle(folder / "state_dict.bin", marker)
        _evil_pickle(folder / "compression_state_dict.bin", marker)
        folders.append(folder)
    server = serve("--model", str(folders[0]), "--clip-dir", str(tmp_path / "clips"), "--reply-port", "0",
                   "--vocab", str(chords_pkl))
    with Peer(server.address) as p:
        p.wait_state(["error"], timeout=120)
        code = p.expect_error().args[1]
        assert code in ("model_load_failed", "model_unavailable"), code
        p.send("/jasco/set", "model", str(folders[1]))  # a client may name a local folder...
        p.send("/jasco/set", "bars", 1)
        answer = p.generate("evil")
        final = p.wait_final(answer.args[0], timeout=120)
        assert final.address == "/jasco/error" and final.args[1] in ("model_load_failed", "model_unavailable"), final
        assert p.ping() == []
    assert not marker.exists(), "a checkpoint pickle's code ran"


# --- sizes --------------------------------------------------------------------------------------------------------
def test_sizes_are_bounded(serve: Callable[..., Server], tmp_path: Path) -> None:
    server = serve(*fake_args(tmp_path / "clips"))
    with Peer(server.address) as p:
        def refused(address: str, *args: object, code: str = "too_large") -> str:
            start = p.mark()
            p.send(address, *args)
            err = p.expect_error(since=start)
            assert err.args[1] == code, (address, err.args)
            return str(err.args[2])

        p.send("/jasco/prompt", "x" * MAX_PROMPT_CHARS)  # exactly the limit is fine
        assert p.ping() == []
        assert str(MAX_PROMPT_CHARS) in refused("/jasco/prompt", "x" * (MAX_PROMPT_CHARS + 1))
        refused("/jasco/generate", "t" * 201)
        refused("/jasco/drums", "/" + "d" * 5000)
        refused("/jasco/ping", *range(65))
        # notes: at most 1024 per message and MAX_SESSION_NOTES per session
        note = (60, 0.0, 1.0, 100)
        refused("/jasco/notes/add", *(note * 1025))
        per_packet = 1000
        for _ in range(MAX_SESSION_NOTES // per_packet):
            p.send("/jasco/notes/add", *(note * per_packet))
        assert p.ping() == []
        assert "limit" in refused("/jasco/notes/add", *note)
        refused("/jasco/melody/add", *(note * 1025))
        p.send("/jasco/notes/clear")
        p.send("/jasco/notes/add", *note)
        assert p.ping() == []  # cleared: accepted again
        # packets: anything over 32 KB is refused before it is decoded
        start = p.mark()
        p.send_raw(raw_message("/jasco/prompt", [("s", "y" * 40_000)]))
        assert p.expect_error(since=start).args[1] == "too_large"
        # a drum file longer than 60 s
        long = tmp_path / "long.flac"
        sf.write(str(long), np.zeros(61 * 8000, np.float32), 8000)
        assert "60" in refused("/jasco/drums", str(long))
        assert p.status()[0] in ("idle", "loading")
