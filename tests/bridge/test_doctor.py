"""``jasco-bridge doctor`` finds real problems: a busy port, an unwritable clip folder."""

from __future__ import annotations

import json
import socket
import subprocess
from pathlib import Path

from bridge.commands import doctor


def _args(tmp_path: Path, port: int, reply_port: int, clip_dir: Path | None = None) -> list[str]:
    return [
        "doctor", "--json", "--port", str(port), "--reply-port", str(reply_port),
        "--clip-dir", str(clip_dir or tmp_path / "clips"),
    ]


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(cli_exe: str, argv: list[str]) -> tuple[int, dict[str, dict[str, str]]]:
    proc = subprocess.run([cli_exe, *argv], capture_output=True, text=True, timeout=180)
    results = {r["name"]: r for r in json.loads(proc.stdout)}
    return proc.returncode, results


def test_doctor_reports_busy_port_with_fix(cli_exe: str, tmp_path: Path) -> None:
    busy = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    busy.bind(("127.0.0.1", 0))
    try:
        rc, results = _run(cli_exe, _args(tmp_path, busy.getsockname()[1], _free_udp_port()))
    finally:
        busy.close()
    assert rc == 1
    assert results["listen port"]["status"] == "FAIL"
    assert "busy" in results["listen port"]["found"]
    assert "stop the other program" in results["listen port"]["fix"]
    assert results["reply port"]["status"] == "ok"
    assert results["python"]["status"] == "ok"
    assert results["clip folder"]["status"] == "ok"
    assert (tmp_path / "clips").is_dir()
    assert not list((tmp_path / "clips").iterdir()), "doctor must not leave files in the clip folder"


def test_clip_dir_check_fails_when_path_is_a_file(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    result = doctor.check_clip_dir(blocker / "clips")()
    assert result.status == doctor.FAIL
    assert "--clip-dir" in result.fix


def test_every_check_has_a_fix_when_not_ok(tmp_path: Path) -> None:
    import argparse

    args = argparse.Namespace(host="127.0.0.1", port=_free_udp_port(), reply_port=_free_udp_port(),
                              clip_dir=str(tmp_path / "c"), json=True)
    for r in doctor.run_checks(args):
        assert r.status in (doctor.OK, doctor.WARN, doctor.FAIL)
        if r.status != doctor.OK:
            assert r.fix, f"{r.name} says {r.status} without saying what to do"


def _doctor_env(tmp_path: Path, endpoint: str = "http://127.0.0.1:9", **extra: str) -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "JASCO_"))}
    env.update(HOME=str(tmp_path / "home"), HF_HOME=str(tmp_path / "hf"), HF_ENDPOINT=endpoint,
               HF_HUB_DISABLE_TELEMETRY="1", no_proxy="127.0.0.1,localhost", NO_PROXY="127.0.0.1,localhost")
    env.update(extra)
    return env


def test_doctor_reports_the_vocabulary_and_the_exact_download_command(cli_exe: str, tmp_path: Path) -> None:
    """Empty cache: the shipped vocabulary is fine offline; the models check names the one command to run."""
    from hub_standin import HubStandIn, Repo, serve

    argv = _args(tmp_path, _free_udp_port(), _free_udp_port())
    proc = subprocess.run([cli_exe, *argv], capture_output=True, text=True, timeout=180,
                          env=_doctor_env(tmp_path, HF_HUB_OFFLINE="1"))
    results = {r["name"]: r for r in json.loads(proc.stdout)}
    vocab = results["chord vocabulary"]
    assert vocab["status"] == "ok" and "194 labels" in vocab["found"] and "chord_vocabulary.tsv" in vocab["found"]
    assert "c8c1558db674" in vocab["found"] and "146 labels" in vocab["found"]  # official sha256; tiny by rule
    models = results["models"]
    assert models["status"] == "warn" and "checkpoints cached: none" in models["found"]
    assert "t5-base: missing" in models["found"] and "facebook/encodec_32khz: missing" in models["found"]
    assert models["fix"].startswith(
        "jasco-bridge download facebook/jasco-chords-drums-400M t5-base facebook/encodec_32khz ")

    # after `jasco-bridge download` (from a stand-in hub): ok, and what is still missing is named
    hub = HubStandIn(repos={
        "facebook/jasco-chords-drums-400M": Repo({"state_dict.bin": b"s", "compression_state_dict.bin": b"c"}),
        "google-t5/t5-base": Repo({"config.json": b"{}", "model.safetensors": b"m"}, commit="1" * 40),
        "facebook/encodec_32khz": Repo({"config.json": b"{}", "model.safetensors": b"e"}, commit="2" * 40),
    })
    for url in serve(hub):
        got = subprocess.run([cli_exe, "download"], capture_output=True, text=True, timeout=180,
                             env=_doctor_env(tmp_path, url))
        assert got.returncode == 0, got.stdout + got.stderr
    proc = subprocess.run([cli_exe, *argv], capture_output=True, text=True, timeout=180,
                          env=_doctor_env(tmp_path, HF_HUB_OFFLINE="1"))
    models = {r["name"]: r for r in json.loads(proc.stdout)}["models"]
    assert models["status"] == "ok", models
    assert "checkpoints cached: facebook/jasco-chords-drums-400M" in models["found"]
    assert "t5-base: cached (google-t5/t5-base)" in models["found"] and "facebook/encodec_32khz: cached" in models["found"]
    assert "jasco-bridge download facebook/jasco-chords-drums-1B" in models["found"]
