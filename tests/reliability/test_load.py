"""Load: several clients generate at once with cancellations mixed in (40 jobs / 10 cancels
here; ``bench/reliability.py load`` runs 200 / 50).

Against a real ``jasco-bridge serve`` with the real render worker and engine process
(numpy fake engine, so the run measures the bridge): every job not cancelled is done
exactly once, every file is complete (soundfile reads the full length), each client gets
queued → started → done for each of its jobs and nothing twice, the queue bound is
enforced with ``queue_full`` (and ``/jasco/status`` never shows more waiting jobs than
``--max-queue``), and no visible clip is ever partial (a watcher checks each one as it
appears).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from reliability_rig import FolderWatch, Server, check_load, fake_args, run_load

MAX_QUEUE = 4


def test_many_clients_many_jobs_with_cancellations(serve: Callable[..., Server], tmp_path: Path) -> None:
    clips = tmp_path / "clips"
    server = serve(*fake_args(clips, "--max-queue", str(MAX_QUEUE)))
    watch = FolderWatch(clips)
    report = run_load(server.address, clients=4, jobs_per_client=10, cancels=10, seed=6, timeout=90)
    figures = check_load(report, clips, expected_frames=96000)
    assert watch.stop() == []
    print(f"load: {figures}, {report.seconds:.2f} s, {watch.scans} folder scans")
    assert figures["accepted"] == 40
    assert figures["done"] + figures["cancelled"] == 40
    assert figures["done"] >= 30  # all 30 not cancelled, plus cancels that came too late
    assert figures["cancelled"] + figures["cancel_too_late"] == 10
    assert figures["queue_full"] > 0, figures  # the bound was reached and enforced
    assert report.max_queued_seen <= MAX_QUEUE, figures
    assert server.alive()
    assert "Traceback" not in server.output()
