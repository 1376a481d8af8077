"""``serve --dtype`` reaches the engine: the engine process loads the model in that precision, and the
sidecar and ``/jasco/status`` say so (real server process, real engine process, the tiny model, UDP)."""

from __future__ import annotations

import json
import time
from pathlib import Path

from osc_helpers import OscClient, ServeProcess


def _ready_status(c: OscClient, timeout: float = 240.0) -> tuple:
    deadline = time.monotonic() + timeout
    while True:
        c.send("/jasco/status")
        st = c.expect("/jasco/status")
        if st.args[0] != "loading" and st.args[4]:
            return st.args
        assert st.args[0] != "error", st.args
        if time.monotonic() > deadline:
            raise AssertionError("the model did not load in time")
        time.sleep(0.3)


def test_serve_dtype_reaches_the_engine_and_the_sidecar(cli_exe: str, tmp_path: Path) -> None:
    clips = tmp_path / "clips"
    server = ServeProcess(cli_exe, "--model", "tiny", "--dtype", "bfloat16", "--clip-dir", str(clips),
                          "--reply-port", "0")
    try:
        with OscClient(("127.0.0.1", server.port)) as c:
            status = _ready_status(c)
            assert status[3] == "cpu" and status[4] == "bfloat16"  # /jasco/status: state queued model device precision
            c.send("/jasco/prompt", "soft keys")
            c.send("/jasco/chords", "C", 0, "G", 4)
            c.expect("/jasco/chords/mapped", timeout=10)
            for name, value in [("preset", "sketch"), ("bars", 2), ("seed", 3)]:
                c.send("/jasco/set", name, value)
            c.send("/jasco/generate", "loop")
            job = c.expect("/jasco/queued").args[0]
            done = c.expect("/jasco/done", timeout=240, where=lambda r: r.args[0] == job)
        side = json.loads(Path(done.args[1]).with_suffix(".json").read_text())
        assert (side["dtype"], side["dtype_asked"], side["compiled"]) == ("bfloat16", "bfloat16", False)
        assert side["request"]["params"]["preset"] == "sketch" and side["nfe"] == 2
        assert side["timeline"]["layout"] == "fitted" and side["timeline"]["windows"] == 1
        assert side["timeline"]["window"] == side["timeline"]["frames"]  # sketch: the model ran at the loop's length
        assert len(side["timeline"]["rolls"]) == 2  # one shift per evaluation
    finally:
        server.stop()
