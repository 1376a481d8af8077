"""The remote engine's rig: ``jasco-bridge engine-serve`` as a child process in its own process group."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]

START_TIMEOUT = 240.0  # Ray, Serve and one tiny-model replica on a busy 2-core machine


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class EngineServe:
    """``jasco-bridge engine-serve`` in its own process group, output collected line by line."""

    def __init__(self, cli_exe: str, *args: str, token_file: Path | None, wait: bool = True) -> None:
        self.port = free_port()
        self.temp_dir = tempfile.mkdtemp(prefix="jr", dir="/tmp")  # Ray's socket paths must stay short
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
                   RAY_USAGE_STATS_ENABLED="0", PYTHONDONTWRITEBYTECODE="1")
        self.cmd = [cli_exe, "-v", "engine-serve", "--port", str(self.port), "--num-cpus", "2",
                    "--temp-dir", self.temp_dir, *args]
        if token_file is not None:
            self.cmd += ["--token-file", str(token_file)]
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                                     start_new_session=True)
        self.lines: list[str] = []
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if wait:
            try:
                self.wait_for("engine-serve ready on", START_TIMEOUT)
            except BaseException:
                self.stop()
                raise

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()

    def wait_for(self, text: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for line in self.lines:
                    if text in line:
                        return line
                if time.monotonic() > deadline or (self.proc.poll() is not None and not self._reader.is_alive()):
                    raise AssertionError(f"no {text!r} from engine-serve:\n" + "\n".join(self.lines[-60:]))
                self._cond.wait(0.2)

    def get(self, path: str, token: str | None) -> tuple[int, Any]:
        req = urllib.request.Request(self.url + path, headers={"Authorization": f"Bearer {token}"} if token else {})
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"null")

    def descendants(self) -> set[int]:
        """Every process below ours (the engine-serve child, Ray's raylet, GCS, workers), from /proc."""
        parents: dict[int, int] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                parents[int(entry.name)] = int(fields[1])
        found: set[int] = set()
        frontier = {self.proc.pid}
        while frontier:
            frontier = {pid for pid, ppid in parents.items() if ppid in frontier} - found
            found |= frontier
        return found

    def stop(self) -> int | None:
        tree = self.descendants()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        for pid in tree | self.descendants():  # anything Ray left behind (it should have stopped it) ends here
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self._reader.join(5)
        shutil.rmtree(self.temp_dir, ignore_errors=True)
        return self.proc.returncode
