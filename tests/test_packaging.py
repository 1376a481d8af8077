"""The README's two commands are real: CI runs exactly the test command, and the run
command starts a server that answers /jasco/ping and renders a demo clip."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import soundfile as sf
from pythonosc.osc_message import OscMessage
from pythonosc.osc_message_builder import OscMessageBuilder

from tests.proc_util import stop

REPO = Path(__file__).resolve().parents[1]

README = REPO / "README.md"


def readme_commands() -> list[str]:
    """The shell commands of the README's "Two commands" section, in order."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## Two commands", 1)[1].split("\n## ", 1)[0]
    return [block.strip() for block in re.findall(r"```bash\n(.*?)```", section, flags=re.S)]


def test_readme_has_two_commands_and_ci_runs_the_test_one() -> None:
    commands = readme_commands()
    assert commands == ["python3 scripts/dev.py run", "python3 scripts/dev.py test"]
    ci = [line.strip() for line in (REPO / ".ci" / "run").read_text().splitlines()]
    body = [line for line in ci if line and not line.startswith("#") and not line.startswith(("set ", "cd "))]
    assert body == [commands[1]], f".ci/run must run exactly the README's test command, got {body}"


def test_readme_windows_commands_differ_only_in_the_name_of_python() -> None:
    section = README.read_text(encoding="utf-8").split("## Two commands", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| (run|test) \| `([^`]+)` \| `([^`]+)` \|$", section, flags=re.M)
    assert [r[0] for r in rows] == ["run", "test"]
    for (_, posix, windows), command in zip(rows, readme_commands()):
        assert posix == command
        assert windows.split() == ["py", *posix.split()[1:]]


def test_console_script_help_lists_every_command() -> None:
    from bridge.cli import COMMANDS

    exe = Path(sys.executable).with_name("jasco-bridge")
    out = subprocess.run([str(exe), "--help"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    for cmd in COMMANDS:
        assert cmd.name in out.stdout


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_readme_run_command_serves_and_renders_a_demo_clip(tmp_path: Path) -> None:
    port, reply = _free_port(), _free_port()
    clips = tmp_path / "clips"
    home = tmp_path / "home"  # no official checkpoint cached here: the embedded model is used
    env = {**os.environ, "HOME": str(home), "HF_HOME": str(home / "hf"), "HF_HUB_OFFLINE": "1",
           "JASCO_BRIDGE_CACHE": str(home / "cache"), "PYTHONUNBUFFERED": "1"}
    argv = readme_commands()[0].split() + ["--port", str(port), "--reply-port", str(reply), "--clip-dir", str(clips)]
    log = tmp_path / "run.log"
    with log.open("w") as out:
        proc = subprocess.Popen(argv, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 240
        while "demo clip:" not in log.read_text():
            assert proc.poll() is None, f"the run command exited {proc.returncode}:\n{log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"no demo clip in time:\n{log.read_text()[-3000:]}"
            time.sleep(0.2)
        text = log.read_text()
        assert "MAKES NOISE" in text and "makes noise" in text  # the tiny model is labelled as such
        clip = Path(re.search(r"demo clip: (\S+)", text).group(1))  # type: ignore[union-attr]
        assert clip.parent == clips and clip.is_file() and clip.with_suffix(".json").is_file()
        info = sf.info(str(clip))
        assert info.frames > 0 and info.samplerate == 48000

        msg = OscMessageBuilder("/jasco/ping")
        msg.add_arg("readme")
        # no /jasco/hello: replies go to --reply-port, where this socket listens
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind(("127.0.0.1", reply))
            sock.settimeout(5)
            sock.sendto(msg.build().dgram, ("127.0.0.1", port))
            pong = OscMessage(sock.recvfrom(65536)[0])
        assert pong.address == "/jasco/pong" and pong.params == ["readme"]
    finally:
        stop(proc, signal.SIGTERM, 20, group=True)
    assert proc.returncode == 0, log.read_text()[-3000:]
