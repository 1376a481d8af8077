"""bridge.journal: states, recovery after a kill, concurrency, a broken journal file."""

from __future__ import annotations

import sqlite3
from typing import Any
import threading
from pathlib import Path

from bridge.journal import Journal
from core.requests import RenderParams, RenderRequest


def _req(seed: int = 0) -> dict[str, object]:
    return RenderRequest(prompt="p", params=RenderParams(seed=seed), melody_frames=(60, 0)).to_dict()


def test_lifecycle_and_recovery(tmp_path: Path) -> None:
    path = tmp_path / ".jasco-journal.sqlite3"
    j = Journal(path)
    for n, job in enumerate(("a", "b", "c", "d", "e")):
        j.add(job, _req(n), client="127.0.0.1:9001", tag=f"t{n}", created=1000.0 + n)
    j.mark_running("a")
    j.mark_done("a", "/clips/a.wav")
    j.mark_running("b")
    j.mark_failed("b", "render_failed", "boom")
    j.mark_cancelled("c")
    j.mark_running("d")  # running when the "server" dies; e stays queued
    assert j.get("a")["output_path"] == "/clips/a.wav"
    assert j.get("b")["error_code"] == "render_failed"
    j.close()  # a SIGKILL leaves the same on-disk state: every statement is committed

    j2 = Journal(path)
    lost = j2.recover()
    assert [(x.job_id, x.state, x.client, x.tag) for x in lost] == [
        ("d", "running", "127.0.0.1:9001", "t3"), ("e", "queued", "127.0.0.1:9001", "t4")]
    assert lost[0].request["params"]["seed"] == 3 and lost[0].request["melody_frames"] == [60, 0]
    assert j2.states()["interrupted"] == 2 and j2.states()["done"] == 1
    assert j2.get("d")["error_code"] == "interrupted"
    assert j2.recover() == []  # reported once
    j2.close()


def test_concurrent_writers(tmp_path: Path) -> None:
    j = Journal(tmp_path / "j.sqlite3")

    def writer(k: int) -> None:
        for i in range(100):
            job = f"{k}-{i}"
            j.add(job, _req(i), client=str(k))
            j.mark_running(job)
            j.mark_done(job, f"/x/{job}.wav")

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert j.states()["done"] == 400
    j.close()


def test_journal_errors_never_raise(tmp_path: Path) -> None:
    j = Journal(tmp_path / "j.sqlite3")
    j.add("x", _req())
    j.add("x", _req())  # duplicate primary key: logged, not raised
    j.mark_done("missing", "/nowhere")
    assert j.states()["queued"] == 1
    j.close()


def test_not_a_database_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    path.write_bytes(b"this is not sqlite" * 100)
    try:
        Journal(path)
    except sqlite3.DatabaseError:
        pass  # the worker falls back to an in-memory journal (tests/bridge/test_worker.py)
    else:  # pragma: no cover
        raise AssertionError("a corrupt journal file must not be silently used")
    mem = Journal.in_memory()
    mem.add("a", _req())
    assert mem.recover()[0].job_id == "a"
    mem.close()


def test_jobs_of_a_live_server_sharing_the_folder_are_left_alone(tmp_path: Path) -> None:
    import subprocess
    import sys

    path = tmp_path / "j.sqlite3"
    j = Journal(path)
    j.add("mine", _req())
    j.add("other-live", _req())
    j.add("other-dead", _req())
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        with sqlite3.connect(path) as raw:
            raw.execute("UPDATE jobs SET owner_pid=? WHERE job_id='other-live'", (live.pid,))
            raw.execute("UPDATE jobs SET owner_pid=? WHERE job_id='other-dead'", (dead.pid,))
        assert sorted(x.job_id for x in j.recover()) == ["mine", "other-dead"]
        assert j.get("other-live")["state"] == "queued"
    finally:
        live.kill()
        live.wait()
        j.close()


# --- issue 15: bounded while running, and its folder deleted under it --------------------------------------
def _big_request(k: int, chords: int = 512, reason: str = "typed") -> dict[str, object]:
    """A request with ``chords`` chords (~60 KB of JSON at 512), made distinct by ``k``."""
    from core.requests import ChordEvent

    events = tuple(ChordEvent(f"Cmaj7/{k}", "Cmaj7", float(b), b * 0.5, True, reason) for b in range(chords))
    return RenderRequest(prompt=f"p{k}", chords=events, melody_frames=tuple([60] * 500)).to_dict()


def test_the_same_large_request_is_stored_once(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    j = Journal(path)
    request = _big_request(0)
    for k in range(300):
        j.add(f"same-{k}", request, client="c")
        j.mark_done(f"same-{k}", f"/clips/{k}.wav")
    assert j.get("same-123")["request"]["chords"][5]["start_beat"] == 5.0
    assert j.states()["done"] == 300
    j.close()
    on_disk = sum(p.stat().st_size for p in tmp_path.iterdir())
    assert on_disk < 2_000_000, on_disk  # once (~60 KB), not 300 times (~18 MB)


def test_the_journal_stays_bounded_while_the_server_runs(tmp_path: Path) -> None:
    """Distinct large requests (the attack: many chords per generate) never grow it past its bounds
    (8 MB of requests, 2,000 finished jobs; unbounded, these 800 x 20 KB would take 16 MB)."""
    path = tmp_path / "j.sqlite3"
    j = Journal(path)
    for k in range(800):  # no restart in between: pruned while running
        job = f"big-{k}"
        j.add(job, _big_request(k, chords=160), client="c")
        j.mark_running(job)
        j.mark_done(job, f"/clips/{k}.wav")
    assert j.get("big-799")["request"]["prompt"] == "p799"  # the newest are kept
    # A request over the per-request bound is not stored at all: its small fields and a note are.
    j.add("huge", _big_request(9999, reason="mapped to the nearest chord of the vocabulary " * 4), client="c")
    kept = j.get("huge")["request"]
    assert kept["prompt"] == "p9999" and "chords" not in kept and "not journaled" in kept["journal_note"]
    j.close()
    on_disk = sum(p.stat().st_size for p in tmp_path.iterdir())
    assert on_disk < 11_000_000, on_disk


def test_a_deleted_folder_is_noticed_and_the_jobs_survive_a_restart(tmp_path: Path) -> None:
    import shutil

    folder = tmp_path / "clips"
    folder.mkdir()
    path = folder / ".jasco-journal.sqlite3"
    j = Journal(path)
    j.add("before", _req(1), client="127.0.0.1:9001", tag="a")
    j.mark_running("before")
    shutil.rmtree(folder)  # the user deletes the clip folder while the server runs
    j.add("after", _req(2), client="127.0.0.1:9001", tag="b")  # the next write notices
    assert path.is_file()
    j.close()  # a SIGKILL leaves the same on-disk state: every statement is committed

    restarted = Journal(path)
    lost = restarted.recover()
    assert sorted((x.job_id, x.state) for x in lost) == [("after", "queued"), ("before", "running")]
    assert {x.job_id: x.request["params"]["seed"] for x in lost} == {"before": 1, "after": 2}
    restarted.close()


def test_a_replaced_file_is_noticed(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    j = Journal(path)
    j.add("a", _req(1))
    aside = tmp_path / "moved-away.sqlite3"
    path.rename(aside)
    Journal(path).close()  # another journal appears at the path
    j.mark_running("a")
    j.close()
    assert [x.job_id for x in Journal(path).recover()] == ["a"]


def damage_pages(path: Path, *, keep_header_pages: int = 1) -> None:
    """What a bad sector or a sync tool leaves: an intact header page, some pages overwritten."""
    data = bytearray(path.read_bytes())
    page = int.from_bytes(data[16:18], "big") or 65536
    for start in range(keep_header_pages * page, len(data), 2 * page):  # every other page after the header
        data[start:start + page] = b"\xa5" * min(page, len(data) - start)
    path.write_bytes(bytes(data))


def _damaged_journal(tmp_path: Path) -> Path:
    path = tmp_path / ".jasco-journal.sqlite3"
    j = Journal(path)
    for k in range(40):
        j.add(f"old-{k}", _req(k), client="c", tag="x" * 200)
    j.close()
    for extra in ("-wal", "-shm"):
        assert not path.with_name(path.name + extra).exists()  # checkpointed on close
    damage_pages(path)
    return path


def test_damage_found_by_recover_moves_the_journal_aside(tmp_path: Path, caplog: Any) -> None:
    """Issue 24.1: an intact header opens fine, then recover() met 'database disk image is malformed'
    outside the code that moves a damaged journal aside: serve stopped at every start."""
    import logging

    path = _damaged_journal(tmp_path)
    j = Journal(path)  # the header is intact: it opens
    with caplog.at_level(logging.ERROR, logger="bridge.journal"):
        assert j.recover() == []
    assert [r.getMessage() for r in caplog.records if "damaged" in r.getMessage()].__len__() == 1
    assert len(list(tmp_path.glob(".jasco-journal.sqlite3.corrupt-*"))) == 1  # kept for inspection
    j.add("new", _req(1), client="c")  # the fresh journal works
    j.close()
    assert [x.job_id for x in Journal(path).recover()] == ["new"]


def test_damage_found_by_a_write_or_a_read_starts_fresh_with_the_active_jobs(tmp_path: Path) -> None:
    path = _damaged_journal(tmp_path)
    j = Journal(path)  # opens fine; the first write meets the damage
    for k in range(3):
        j.add(f"later-{k}", _req(k), client="c")  # never raises
    j.mark_running("later-0")
    assert j.states()["queued"] == 2 and j.size()[0] == 3 and j.get("old-3") is None  # reads never raise
    j.close()
    assert len(list(tmp_path.glob(".jasco-journal.sqlite3.corrupt-*"))) == 1
    assert sorted(x.job_id for x in Journal(path).recover()) == ["later-0", "later-1", "later-2"]
