"""``jasco-bridge doctor`` finds real problems: a busy port, an unwritable clip folder."""

from __future__ import annotations

import json
import socket
import subprocess
from pathlib import Path

from bridge import doctor


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
