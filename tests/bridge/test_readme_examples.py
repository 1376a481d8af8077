"""The README's "Everyday use" commands run as written on a fresh machine without network.

An empty HOME, no Hugging Face or jasco-bridge cache, ``HF_HUB_OFFLINE=1`` and proxies that
lead nowhere. Each command of the section's code block runs in a scratch folder, with
``.venv/bin/jasco-bridge`` and ``assets/`` made absolute; only ``serve`` and ``doctor``
get free ports (``--port``/``--reply-port``) instead of 9000/9001, which other programs
on a shared machine may hold.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from osc_helpers import OscClient

REPO = Path(__file__).resolve().parents[2]


def everyday_commands() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("## Everyday use", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, flags=re.S)
    assert block is not None
    return [line.split("  #", 1)[0].strip() for line in block.group(1).splitlines() if line.strip()]


def _argv(command: str, cli_exe: str) -> list[str]:
    argv = shlex.split(command)
    assert argv[0] == ".venv/bin/jasco-bridge", command
    return [cli_exe] + [str(REPO / a) if a.startswith("assets/") else a for a in argv[1:]]


def _free_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_the_everyday_commands_run_as_written_offline_in_an_empty_home(cli_exe: str, tmp_path: Path) -> None:
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "JASCO_", "XDG_"))}
    env.update(HOME=str(home), HF_HUB_OFFLINE="1", http_proxy="http://127.0.0.1:9", https_proxy="http://127.0.0.1:9",
               HTTP_PROXY="http://127.0.0.1:9", HTTPS_PROXY="http://127.0.0.1:9", PYTHONUNBUFFERED="1")
    commands = everyday_commands()
    assert [shlex.split(c)[1] for c in commands] == ["doctor", "serve", "render", "render", "params", "chords",
                                                      "chords", "melody", "render"]
    outputs: dict[str, subprocess.CompletedProcess[str]] = {}
    for command in commands:
        argv = _argv(command, cli_exe)
        name = argv[1]
        if name in ("serve", "doctor"):
            argv += ["--port", str(_free_port()), "--reply-port", str(_free_port())]
        if name == "serve":
            _serve_answers(argv, env, work)
            continue
        res = subprocess.run(argv, cwd=work, env=env, capture_output=True, text=True, timeout=600)
        if name != "doctor":  # doctor's exit status reflects the machine (e.g. a missing tool)
            assert res.returncode == 0, f"{command}\n{res.stdout}\n{res.stderr}"
        outputs[command] = res

    doctor = outputs[commands[0]].stdout
    assert re.search(r"\[\s*ok\] chord vocabulary\s+official: 194 labels", doctor), doctor
    assert "jasco-bridge download facebook/jasco-chords-drums-400M t5-base facebook/encodec_32khz" in doctor
    clip = work / "clip.wav"
    assert sf.info(str(clip)).frames == 10 * 48000
    mask = os.umask(0o022)
    os.umask(mask)
    for made in (clip, work / "clip.json", work / "melody.npy"):  # the server's file mode: 0666 - umask
        assert made.stat().st_mode & 0o777 == 0o666 & ~mask, made
    sidecar = json.loads((work / "clip.json").read_text())
    assert [c["label"] for c in sidecar["chords"]] == ["C", "Am", "F", "G"] and sidecar["seed"] >= 0
    again = json.loads((work / "again.json").read_text())  # render --from clip.json --seed 7
    assert again["seed"] == 7 and [c["label"] for c in again["chords"]] == ["C", "Am", "F", "G"]
    assert "`cfg_all`" in outputs[commands[4]].stdout  # params: the table
    assert "Cmaj7" in outputs[commands[5]].stdout
    assert json.loads(outputs[commands[6]].stdout)[0] == ["C", 0.0]
    assert np.load(work / "melody.npy").shape == (53, 500)
    assert sf.info(str(work / "loop.wav")).frames == round(8 * 4 * 60 / 90 * 48000)  # 8 bars at 90 bpm, exactly
    assert not (home / ".cache" / "huggingface").exists()  # nothing was fetched


def _serve_answers(argv: list[str], env: dict[str, str], cwd: Path) -> None:
    """Start the server, check it answers and maps chords at once, stop it with Ctrl-C."""
    port = int(argv[argv.index("--port") + 1])
    proc = subprocess.Popen(argv + ["--clip-dir", str(cwd / "clips")], cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if "listening on" in line:
                break
        else:
            raise AssertionError(f"serve exited {proc.wait()}")
        with OscClient(("127.0.0.1", port)) as c:
            c.send("/jasco/chords", "Cmaj9", 0, "Am", 4)
            assert c.expect("/jasco/chords/mapped", timeout=5).args[1::4] == ("Cmaj7", "Am")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
