"""Reliability at full size: 10,000 fuzzed packets, 200 jobs from 8 clients with 50 cancellations,
and the attacks of issue 15, each with its figure.

    .venv/bin/python bench/reliability.py [fuzz|load|attacks|all] [--packets 10000] [--jobs 200] [--cancels 50]
                                          [--clients 8] [--max-queue 16] [--seed 0] [--attack NAME] [--json]

Both run against a real ``jasco-bridge serve`` process (real UDP, the real render worker
and engine process with the numpy fake engine of the tests, so the figures are the
bridge's own), using the rig of ``tests/reliability`` (the same generators and checks
the test suite runs scaled down).

fuzz: each packet is a message for a random address of the protocol table (valid, or
broken on purpose: wrong type, out of range, NaN/inf, too long, wrong arity) or raw
garbage / a truncated packet; a ping after each collects the answers. Reports packets
sent, answered, the error-code histogram, how many of the messages broken on purpose
got the expected code, pings answered, ``internal`` errors (must be 0), time.

load: every job not cancelled must be done exactly once with a complete file; reports
accepted jobs, done/cancelled, queue_full answers, the largest queue ``/jasco/status``
showed, clips written, jobs/s and the time.

attacks (issue 15), one figure each: fifo_race (a drum name flipping between a WAV and a
FIFO: pings answered, worst ping), reply_loop (CPU seconds per second the server burns
after one ``/jasco/hello <its own port>``), generate_bundle (worst ping after one bundle of
50 tempo+generate pairs over 20,000+20,000 notes), journal (MB on disk after 1,000 distinct
512-chord requests vs. the MB they are), two_servers (distinct clips and sidecars naming
their own clip when two servers share a folder), deleted_folder (jobs a restart reports
after the clip folder was deleted and the server killed), eviction (does a registered
client keep its replies and session through 1,100 hellos), foreign_cancel (another
client's cancels honoured), amplification (reply bytes per request byte), model_download
(what ``/jasco/set model <not downloaded>`` gets, and whether the engine restarted).

attacks of issue 24 (answer, seconds, peak RSS of a child under a 3 GB RLIMIT_AS; ``--code DIR`` runs them
on another checkout for a before/after): journal_damage, clip_fifo, drum_rate, midi_span, sidecar,
job_cost, deep_frame.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
_REPO = _HERE.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_REPO))
sys.path.insert(1, str(_REPO / "tests" / "reliability"))
sys.path.insert(2, str(_REPO / "tests" / "bridge"))

from bridge.transport import REPLIES_PER_SECOND  # noqa: E402
from osc_helpers import fifo_swapping_link  # noqa: E402
from reliability_rig import (  # noqa: E402
    KNOWN_CODES,
    OUT_TAGS,
    FolderWatch,
    Peer,
    RandomChooser,
    Server,
    check_load,
    fake_args,
    garbage_packet,
    generate_message,
    raw_bundle,
    raw_message,
    run_load,
    temp_files,
    visible_files,
)

CHORDS_PKL = _REPO.parent / "shared" / "chords" / "chord_to_index_mapping.pkl"


def fuzz(packets: int, seed: int, workdir: Path) -> dict[str, Any]:
    clips = workdir / "fuzz-clips"
    extra = ["--max-queue", "2"] + (["--vocab", str(CHORDS_PKL)] if CHORDS_PKL.exists() else [])
    server = Server(*fake_args(clips, *extra))
    chooser = RandomChooser(seed)
    rng = random.Random(seed)
    codes: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    sent = answered = pings = pongs = must_fail = must_fail_ok = wire_violations = 0
    mismatches: list[str] = []
    try:
        with Peer(server.address, timeout=15) as peer:
            peer.wait_state(["idle"], timeout=60)
            started = time.perf_counter()
            # A packet and its ping cause up to three replies: keep the sender under the server's
            # per-host reply budget (bridge.transport.REPLIES_PER_SECOND), which drops replies past it.
            interval = 3.0 / REPLIES_PER_SECOND
            for k in range(packets):
                next_at = time.perf_counter() + interval
                if rng.random() < 0.8:
                    gen = generate_message(chooser)
                    packet, kind, expect = gen.packet, gen.kind, gen
                else:
                    packet, kind = garbage_packet(chooser)
                    kind, expect = "garbage-" + kind, None
                kinds[kind] += 1
                start = peer.mark()
                peer.send_raw(packet)
                sent += 1
                if b"/jasco/hello" in packet:
                    peer.send_raw(raw_message("/jasco/hello", [("i", peer.port)]))
                token = f"b{k}"
                peer.send("/jasco/ping", token)
                pings += 1
                pong = peer.expect("/jasco/pong", where=lambda r, t=token: r.args == (t,), since=start)
                pongs += 1
                seen = peer.between(start)
                for r in seen:
                    if set(r.tags) - OUT_TAGS or r.size >= 8192:
                        wire_violations += 1
                answers = [r for r in seen[: seen.index(pong)]
                           if r.address not in ("/jasco/pong", "/jasco/hello") and
                           (r.address != "/jasco/error" or r.args[0] == "")]
                errors = [r.args[1] for r in answers if r.address == "/jasco/error"]
                codes.update(errors)
                if answers:
                    answered += 1
                if expect is not None and expect.must_fail:
                    must_fail += 1
                    if errors and errors[0] in expect.codes:
                        must_fail_ok += 1
                    elif len(mismatches) < 10:
                        mismatches.append(f"{expect.kind} {expect.address}: {errors} {packet[:80]!r}")
                time.sleep(max(0.0, next_at - time.perf_counter()))
            seconds = time.perf_counter() - started
            alive = server.alive()
            peer.send("/jasco/reset")
            final_ping = peer.ping() == []
            unknown = sorted(set(codes) - KNOWN_CODES)
    finally:
        server.kill()
    return {
        "packets_sent": sent, "answered": answered, "no_reply_expected_or_given": sent - answered,
        "broken_on_purpose": must_fail, "broken_answered_with_expected_code": must_fail_ok,
        "error_codes": dict(codes.most_common()), "internal_errors": codes.get("internal", 0),
        "unknown_codes": unknown, "wire_violations": wire_violations,
        "pings_sent": pings, "pongs": pongs, "server_alive": alive, "final_ping_ok": final_ping,
        "kinds": dict(kinds.most_common()), "seconds": round(seconds, 2),
        "packets_per_s": round(sent / seconds, 1), "mismatches": mismatches,
        "temp_files_left": len(temp_files(clips)),
    }


def load(clients: int, jobs: int, cancels: int, max_queue: int, seed: int, workdir: Path) -> dict[str, Any]:
    clips = workdir / "load-clips"
    server = Server(*fake_args(clips, "--max-queue", str(max_queue)))
    watch = FolderWatch(clips)
    try:
        with Peer(server.address) as p:
            p.wait_state(["idle"], timeout=60)
        per_client, extra = divmod(jobs, clients)
        if extra:
            raise SystemExit(f"--jobs ({jobs}) must be a multiple of --clients ({clients})")
        report = run_load(server.address, clients=clients, jobs_per_client=per_client, cancels=cancels,
                          seed=seed, timeout=600)
        problems_watch = watch.stop()
        figures = check_load(report, clips, expected_frames=96000)
        alive = server.alive()
    finally:
        watch.stop()
        server.kill()
    figures.update(
        clients=clients, max_queue=max_queue, seconds=round(report.seconds, 2),
        jobs_per_s=round(len(report.accepted) / report.seconds, 1), status_polls=report.status_polls,
        partial_files_seen=len(problems_watch), folder_scans=watch.scans, server_alive=alive,
        queue_bound_held=report.max_queued_seen <= max_queue,
    )
    return figures


# --- issue 15: each attack as a scenario with its figure -------------------------------------------------------
def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _worst_ping_ms(peer: Peer, count: int = 5, timeout: float = 30.0) -> float:
    worst = 0.0
    for _ in range(count):
        start = time.monotonic()
        peer.ping(timeout=timeout)
        worst = max(worst, 1000 * (time.monotonic() - start))
    return round(worst, 1)


def attack_fifo_race(workdir: Path, seconds: float = 3.0) -> dict[str, Any]:
    """1. A drum name flipping between a WAV and a FIFO: does any ping go unanswered?"""
    import numpy as np
    import soundfile as sf

    folder = workdir / "fifo"
    folder.mkdir()
    wav = folder / "real.wav"
    sf.write(wav, np.zeros((22050, 1), np.float32), 22050)
    server = Server(*fake_args(workdir / "fifo-clips"))
    sent = pongs = unanswered = 0
    worst = 0.0
    try:
        with fifo_swapping_link(wav, folder) as link, Peer(server.address, timeout=5) as peer:
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                for _ in range(8):
                    peer.send("/jasco/drums", str(link))
                    sent += 1
                try:
                    worst = max(worst, _worst_ping_ms(peer, 1, timeout=5))
                    pongs += 1
                except AssertionError:  # the OSC thread is blocked (in open() of the FIFO)
                    unanswered += 1
                    break
            answers = sum(1 for r in peer.replies if r.address in ("/jasco/drums/loaded", "/jasco/error"))
    finally:
        server.kill()
    return {"drums_sent": sent, "drums_answered": answers, "pings_answered": pongs,
            "pings_unanswered_5s": unanswered, "worst_ping_ms": worst}


def attack_reply_loop(workdir: Path, seconds: float = 2.0) -> dict[str, Any]:
    """2. ``/jasco/hello <the server's own port>`` with --reply-port 0: CPU the server burns afterwards."""
    server = Server(*fake_args(workdir / "loop-clips"))
    try:
        with Peer(server.address, hello=False, timeout=5) as peer:
            peer.send("/jasco/hello", server.port)
            time.sleep(0.2)
            cpu0, t0 = _cpu_seconds(server.pid), time.monotonic()
            time.sleep(seconds)
            cpu = _cpu_seconds(server.pid) - cpu0
            wall = time.monotonic() - t0
            code = next((r.args[1] for r in peer.replies if r.address == "/jasco/error"), "")
    finally:
        server.kill()
    return {"cpu_s_per_s_after_one_packet": round(cpu / wall, 3), "answer": code}


def attack_generate_bundle(workdir: Path) -> dict[str, Any]:
    """3. 20,000 melody + 20,000 chord notes, then one bundle of 50 tempo+generate pairs: ping delay."""
    import random

    rng = random.Random(3)
    server = Server(*fake_args(workdir / "bundle-clips", "--vocab", str(CHORDS_PKL)))
    try:
        with Peer(server.address, timeout=300) as peer:
            peer.wait_state(["idle"], timeout=60)
            for what in ("melody", "notes"):
                for _ in range(20):
                    args: list[Any] = []
                    for _ in range(1000):
                        args += [rng.randint(48, 83), rng.uniform(0, 19), 0.5, 100]
                    peer.send(f"/jasco/{what}/add", *args)
            peer.ping()
            idle_ms = _worst_ping_ms(peer)
            pairs = [raw_message("/jasco/tempo", [("f", 100.0 + k)]) for k in range(50)]
            gens = [raw_message("/jasco/generate", [("s", f"g{k}")]) for k in range(50)]
            packet = raw_bundle(*[m for pair in zip(pairs, gens) for m in pair])
            peer.send_raw(packet)
            worst = _worst_ping_ms(peer, 5, timeout=300)
    finally:
        server.kill()
    return {"bundle_bytes": len(packet), "ping_ms_idle": idle_ms, "worst_ping_ms_after_bundle": worst}


def attack_journal(workdir: Path, jobs: int = 1000) -> dict[str, Any]:
    """4. Journal size after many distinct large requests (512 chords each), no restart in between."""
    from bridge.journal import MAX_PAYLOAD_TOTAL, Journal
    from core.requests import ChordEvent, RenderRequest

    folder = workdir / "journal"
    folder.mkdir()
    j = Journal(folder / "j.sqlite3")
    raw = 0
    started = time.perf_counter()
    for k in range(jobs):
        chords = tuple(ChordEvent(f"Cmaj7/{k}", "Cmaj7", float(b), b * 0.5, True, "typed") for b in range(512))
        request = RenderRequest(prompt=f"p{k}", chords=chords).to_dict()
        raw += len(json.dumps(request))
        j.add(f"j{k}", request, client="c")
        j.mark_done(f"j{k}", f"/c/{k}.wav")
    j.close()
    on_disk = sum(p.stat().st_size for p in folder.iterdir())
    return {"jobs": jobs, "request_mb": round(raw / 1e6, 1), "journal_mb": round(on_disk / 1e6, 2),
            "bound_mb": round(MAX_PAYLOAD_TOTAL / 1e6, 1), "seconds": round(time.perf_counter() - started, 2)}


def attack_two_servers(workdir: Path, clips_each: int = 6) -> dict[str, Any]:
    """5. Two servers on one clip folder render the same prompt and seed at the same moment."""
    clips = workdir / "shared-clips"
    servers = [Server(*fake_args(clips)) for _ in range(2)]
    peers: list[Peer] = []
    try:
        peers = [Peer(s.address, timeout=120) for s in servers]
        for p in peers:
            p.wait_state(["idle"], timeout=60)
            p.send("/jasco/prompt", "same prompt")
            p.send("/jasco/set", "seed", 7)
            p.send("/jasco/set", "bars", 1)
        jobs = []
        for _ in range(clips_each):
            for p in peers:
                jobs.append((p, p.generate().args[0]))
        done = [p.wait_final(job) for p, job in jobs]
        paths = [r.args[1] for r in done if r.address == "/jasco/done"]
        own = 0
        for path, (_, job) in zip(paths, jobs):
            meta = json.loads(Path(path).with_suffix(".json").read_text())
            own += meta["audio_file"] == Path(path).name and meta["job_id"] == job
    finally:
        for p in peers:
            p.close()
        for s in servers:
            s.kill()
    return {"clips_requested": len(jobs), "distinct_paths": len(set(paths)),
            "clips_in_folder": len([n for n in visible_files(clips) if not n.endswith(".json")]),
            "sidecars_naming_their_own_clip": own}


def attack_deleted_folder(workdir: Path) -> dict[str, Any]:
    """6. The clip folder is deleted while jobs wait; the server is killed; how many jobs does a restart report?"""
    import shutil

    clips = workdir / "deleted-clips"
    server = Server(*fake_args(clips, model="fake?delay=0.5"))
    try:
        with Peer(server.address, timeout=30) as peer:
            peer.wait_state(["idle"], timeout=60)
            peer.generate("first")
            shutil.rmtree(clips)
            for k in range(3):
                peer.generate(f"after-{k}")
            time.sleep(0.3)
    finally:
        server.kill()
    restarted = Server(*fake_args(clips))
    try:
        reported = len([line for line in restarted.lines if "was interrupted" in line])
        time.sleep(0.5)
        reported = len([line for line in restarted.output().splitlines() if "was interrupted" in line])
    finally:
        restarted.kill()
    return {"jobs_in_flight": 4, "reported_after_restart": reported}


def attack_eviction(workdir: Path, hellos: int = 1100) -> dict[str, Any]:
    """7. 1,100 hellos from other ports: does the registered client keep its replies and session?"""
    server = Server(*fake_args(workdir / "evict-clips"))
    try:
        with Peer(server.address, hello=False, timeout=10) as victim, Peer(server.address, hello=False) as inbox:
            victim.send("/jasco/hello", inbox.port)  # replies go to another port than the one it sends from
            inbox.expect("/jasco/hello")
            victim.send("/jasco/prompt", "mine")
            refused = 0
            for k in range(hellos):
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                    s.bind(("127.0.0.1", 0))
                    s.settimeout(0.5)
                    s.sendto(raw_message("/jasco/hello", [("i", s.getsockname()[1])]), server.address)
                    try:
                        refused += b"too_many_clients" in s.recvfrom(65536)[0]
                    except (socket.timeout, TimeoutError):
                        pass
            mark = inbox.mark()
            victim.send("/jasco/ping", "still mine")
            try:
                inbox.expect("/jasco/pong", since=mark, timeout=3)
                kept_replies = True
            except AssertionError:
                kept_replies = False
            mark = inbox.mark()
            victim.send("/jasco/generate", "v")
            job = inbox.expect("/jasco/queued", since=mark, timeout=10).args[0] if kept_replies else ""
            done = inbox.wait_final(job, timeout=60) if job else None
            prompt_kept = False
            if done is not None and done.address == "/jasco/done":
                prompt_kept = json.loads(Path(done.args[1]).with_suffix(".json").read_text()).get("prompt") == "mine"
    finally:
        server.kill()
    return {"hellos": hellos, "refused_too_many_clients": refused, "victim_replies_kept": kept_replies,
            "victim_session_kept": prompt_kept}


def attack_foreign_cancel(workdir: Path, jobs: int = 4) -> dict[str, Any]:
    """8. Another client cancels a client's jobs by id."""
    server = Server(*fake_args(workdir / "cancel-clips", model="fake?delay=0.05"))
    try:
        with Peer(server.address, timeout=60) as owner, Peer(server.address, timeout=10) as other:
            owner.wait_state(["idle"], timeout=60)
            ids = [owner.generate(f"o{k}").args[0] for k in range(jobs)]
            for job in ids:
                other.send("/jasco/cancel", job)
            finals = [owner.wait_final(job).address for job in ids]
    finally:
        server.kill()
    return {"foreign_cancels": jobs, "honoured": finals.count("/jasco/cancelled"), "done": finals.count("/jasco/done")}


def attack_amplification(workdir: Path) -> dict[str, Any]:
    """9. Reply bytes per request byte: a 32 KB bundle of /jasco/status, a bundle of 64 pings."""
    server = Server(*fake_args(workdir / "amp-clips"))
    out: dict[str, Any] = {}
    try:
        with Peer(server.address, timeout=10) as peer:
            peer.wait_state(["idle"], timeout=60)
            for name, packet in (("status_bundle", raw_bundle(*[raw_message("/jasco/status")] * 1300)),
                                 ("ping_bundle", raw_bundle(*[raw_message("/jasco/ping")] * 64))):
                start = peer.mark()
                peer.send_raw(packet)
                peer.ping()
                time.sleep(0.3)
                got = [r for r in peer.between(start) if not (r.address == "/jasco/pong" and r.args)]
                out[name] = {"request_bytes": len(packet), "replies": len(got),
                             "reply_bytes": sum(r.size for r in got),
                             "ratio": round(sum(r.size for r in got) / len(packet), 3)}
    finally:
        server.kill()
    return out


def attack_model_download(workdir: Path) -> dict[str, Any]:
    """10. ``/jasco/set model <a repository not on this machine>`` then generate: refused, engine untouched?"""
    env = {"HF_HUB_CACHE": str(workdir / "empty-hub-cache"), "HF_HUB_OFFLINE": "1"}
    server = Server(*fake_args(workdir / "model-clips"), env=env)
    try:
        with Peer(server.address, timeout=30) as peer:
            peer.wait_state(["idle"], timeout=60)
            engine = server.wait_engine()
            mark = peer.mark()
            peer.send("/jasco/set", "model", "someone/any-repository")
            peer.ping()
            refused = [r.args[1] for r in peer.between(mark) if r.address == "/jasco/error"]
            job = peer.generate("after").args[0]
            final = peer.wait_final(job)
            same_engine = server.engine_pids() == [engine]
    finally:
        server.kill()
    return {"answer": refused[0] if refused else "accepted", "next_job": final.address.rsplit("/", 1)[-1],
            "engine_restarted": not same_engine}


# --- issue 24: round three, each attack in a child process under an address-space limit ---------------------------
# ``--code DIR`` measures another checkout (e.g. the code before the fix) with the same scenarios.
_CHILD_PRELUDE = """
import json, os, resource, sys, time
limit = int(os.environ["JASCO_BENCH_AS"])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
def report(answer, started, **extra):
    out = {"answer": answer, "seconds": round(time.perf_counter() - started, 2),
           "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}
    out.update(extra)
    print(json.dumps(out))
def attempt(fn):
    started = time.perf_counter()
    try:
        value = fn()
        report("accepted" if value is None else str(value)[:120], started)
    except MemoryError:
        report("MemoryError", started)
    except Exception as err:
        report(getattr(err, "code", type(err).__name__), started, message=str(err)[:160])
"""
ROUND_THREE_CODE = {"dir": str(_REPO)}


def _child(body: str, *args: str, limit_mb: int = 3072, timeout: float = 300.0) -> dict[str, Any]:
    import subprocess

    env = dict(os.environ, PYTHONPATH=ROUND_THREE_CODE["dir"], JASCO_BENCH_AS=str(limit_mb << 20),
               OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    try:
        run = subprocess.run([sys.executable, "-c", _CHILD_PRELUDE + body, *args], capture_output=True, text=True,
                             env=env, timeout=timeout, cwd=ROUND_THREE_CODE["dir"])
    except subprocess.TimeoutExpired:
        return {"answer": f"still running after {timeout:g} s (killed)"}
    lines = run.stdout.strip().splitlines()
    return json.loads(lines[-1]) if lines else {"answer": f"exit {run.returncode}", "stderr": run.stderr[-300:]}


def attack_journal_damage(workdir: Path) -> dict[str, Any]:
    """24.1: a journal with an intact header and overwritten pages: what does the start's recover() do?"""
    folder = workdir / "damaged-journal"
    folder.mkdir()
    return _child("""
from bridge.journal import Journal
from core.requests import RenderRequest
path = sys.argv[1] + "/.jasco-journal.sqlite3"
j = Journal(path)
for k in range(40):
    j.add(f"j{k}", RenderRequest(prompt="p").to_dict(), client="c", tag="x" * 200)
j.close()
data = bytearray(open(path, "rb").read())
page = int.from_bytes(data[16:18], "big") or 65536
for s in range(page, len(data), 2 * page):
    data[s:s + page] = b"\\xa5" * min(page, len(data) - s)
open(path, "wb").write(bytes(data))
attempt(lambda: f"{len(Journal(path).recover())} jobs reported, server starts")
""", str(folder))


def attack_clip_fifo(workdir: Path) -> dict[str, Any]:
    """24.2: a FIFO named like a name reservation: does the start-up cleanup return?"""
    folder = workdir / "fifo-start"
    folder.mkdir()
    os.mkfifo(folder / ".jasco-name-attack.wav")
    return _child("""
from bridge.clips import cleanup_temp_files
attempt(lambda: f"returned, {len(cleanup_temp_files(sys.argv[1], min_age_s=0))} removed")
""", str(folder), timeout=60)


def attack_drum_rate(workdir: Path, seconds: float = 5.0) -> dict[str, Any]:
    """24.3: 8 channels of silence at 655,350 Hz (FLAC): peak memory of the drum check (5 s here; 60 s in the issue)."""
    import numpy as np
    import soundfile as sf

    path = workdir / "fast.flac"
    with sf.SoundFile(path, "w", samplerate=655350, channels=8, format="FLAC") as f:
        block = np.zeros((655350, 8), np.float32)
        for _ in range(int(seconds)):
            f.write(block)
    out = _child("from bridge.audio import read_audio\nattempt(lambda: read_audio(sys.argv[1]).samples.shape)",
                 str(path))
    out["file_mb"] = round(path.stat().st_size / 1e6, 2)
    return out


def _midi_files(workdir: Path) -> tuple[Path, Path]:
    import mido

    endless, held = workdir / "endless.mid", workdir / "held.mid"
    mid = mido.MidiFile(ticks_per_beat=1)
    t = mido.MidiTrack()
    mid.tracks.append(t)
    for pitch in (60, 64, 67):
        t.append(mido.Message("note_on", note=pitch, velocity=100, time=0))
    t.append(mido.Message("note_off", note=60, velocity=0, time=268_000_000))
    mid.save(str(endless))
    mid = mido.MidiFile(ticks_per_beat=96)
    t = mido.MidiTrack()
    mid.tracks.append(t)
    for k in range(100_000):
        t.append(mido.Message("note_on", note=36 + k % 60, velocity=100, time=1 if k else 0))
    mid.save(str(held))
    return endless, held


_RECOGNISE = """
from midi.file_chords import progression_from_midi_file
from midi.vocab import ChordVocabulary
vocab = ChordVocabulary.load(sys.argv[2])
attempt(lambda: f"{len(progression_from_midi_file(sys.argv[1], vocab).beats)} chords")
"""


def attack_midi_span(workdir: Path) -> dict[str, Any]:
    """24.4/24.5: a 43-byte file of one chord lasting 268 M beats; 0.3 MB of 100,000 unreleased notes."""
    endless, held = _midi_files(workdir)
    return {"endless_chord": dict(_child(_RECOGNISE, str(endless), str(CHORDS_PKL)), bytes=endless.stat().st_size),
            "unreleased_notes": dict(_child(_RECOGNISE, str(held), str(CHORDS_PKL)), bytes=held.stat().st_size)}


def attack_sidecar(workdir: Path) -> dict[str, Any]:
    """24.6: render --from a sidecar of 3 M melody frames (the request and the engine's melody matrix built)."""
    from core.requests import RenderRequest

    path = workdir / "hostile.json"
    request = RenderRequest(prompt="x", model="tiny").to_dict()
    request["melody_frames"] = [60] * 3_000_000
    path.write_text(json.dumps({"schema": "jasco-bridge.sidecar/1", "request": request}))
    out = _child("""
from bridge.sidecar import load_sidecar, request_from_sidecar
from bridge.engine_input import render_item
attempt(lambda: render_item(request_from_sidecar(load_sidecar(sys.argv[1])))[0].melody.shape)
""", str(path))
    out["sidecar_mb"] = round(path.stat().st_size / 1e6, 1)
    return out


def attack_job_cost(workdir: Path) -> dict[str, Any]:
    """24.7: 999 bpm in 32/4, 93 bars, hop 1, rk4 x 1000: is it refused before it is queued?"""
    return _child("""
from core.params import RenderParams
from core.requests import RenderRequest
r = RenderRequest(bpm=999, time_signature=(32, 4), params=RenderParams(bars=93, hop=1, solver="rk4", steps=1000))
def go():
    try:
        from bridge.job_cost import DEFAULT_MAX_COST, check_cost
    except ImportError:
        return "no ceiling: queued (~30 h on the tiny model)"
    check_cost(r, DEFAULT_MAX_COST)
attempt(go)
""")


def attack_deep_frame(workdir: Path) -> dict[str, Any]:
    """24 (smaller): an engine frame whose header nests lists 200,000 deep."""
    return _child("""
import struct
from core import wire_frames
header = ("{\\"v\\":" + "[" * 200000 + "]" * 200000 + "}").encode()[: wire_frames.MAX_HEADER_BYTES]
attempt(lambda: wire_frames.unpack(struct.pack(">I", len(header)) + header))
""")


ATTACKS = {
    "fifo_race": attack_fifo_race, "reply_loop": attack_reply_loop, "generate_bundle": attack_generate_bundle,
    "journal": attack_journal, "two_servers": attack_two_servers, "deleted_folder": attack_deleted_folder,
    "eviction": attack_eviction, "foreign_cancel": attack_foreign_cancel, "amplification": attack_amplification,
    "model_download": attack_model_download,
    "journal_damage": attack_journal_damage, "clip_fifo": attack_clip_fifo, "drum_rate": attack_drum_rate,
    "midi_span": attack_midi_span, "sidecar": attack_sidecar, "job_cost": attack_job_cost,
    "deep_frame": attack_deep_frame,
}


def attacks(workdir: Path, only: list[str] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, scenario in ATTACKS.items():
        if only and name not in only:
            continue
        started = time.perf_counter()
        try:
            out[name] = scenario(workdir)
        except AssertionError as err:
            out[name] = {"failed": str(err)[:300]}
        out[name]["scenario_s"] = round(time.perf_counter() - started, 1)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", nargs="?", choices=("fuzz", "load", "attacks", "all"), default="all")
    parser.add_argument("--attack", action="append", choices=sorted(ATTACKS), help="run only these attacks")
    parser.add_argument("--packets", type=int, default=10_000)
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--cancels", type=int, default=50)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--max-queue", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--code", type=Path, default=None,
                        help="measure the round-three attacks (issue 24) on another checkout, e.g. the code before "
                             "the fix (they run in child processes under a 3 GB address-space limit)")
    args = parser.parse_args(argv)
    if args.code is not None:
        ROUND_THREE_CODE["dir"] = str(args.code.resolve())
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="jasco-reliability-") as tmp:
        work = Path(tmp)
        if args.what in ("fuzz", "all"):
            out["fuzz"] = fuzz(args.packets, args.seed, work)
            if not args.json:
                f = out["fuzz"]
                print(f"fuzz: {f['packets_sent']} packets in {f['seconds']} s ({f['packets_per_s']}/s); "
                      f"{f['answered']} answered; broken on purpose {f['broken_on_purpose']}, "
                      f"answered with the expected code {f['broken_answered_with_expected_code']}; "
                      f"pings {f['pongs']}/{f['pings_sent']}; internal errors {f['internal_errors']}; "
                      f"wire violations {f['wire_violations']}; server alive {f['server_alive']}, "
                      f"final ping {f['final_ping_ok']}")
                print(f"  error codes: {f['error_codes']}")
                print(f"  packet kinds: {f['kinds']}")
                for m in f["mismatches"]:
                    print(f"  mismatch: {m}")
        if args.what in ("load", "all"):
            try:
                out["load"] = load(args.clients, args.jobs, args.cancels, args.max_queue, args.seed, work)
            except AssertionError as err:
                out["load"] = {"failed": str(err)}
            if not args.json:
                print(f"load: {out['load']}")
        if args.what in ("attacks", "all"):
            out["attacks"] = attacks(work, args.attack)
            if not args.json:
                for name, figures in out["attacks"].items():
                    print(f"attack {name}: {figures}")
    if args.json:
        print(json.dumps(out, indent=2))
    fuzz_ok = "fuzz" not in out or (out["fuzz"]["internal_errors"] == 0 and out["fuzz"]["server_alive"]
                                     and out["fuzz"]["final_ping_ok"] and not out["fuzz"]["unknown_codes"]
                                     and out["fuzz"]["broken_on_purpose"] == out["fuzz"]["broken_answered_with_expected_code"])
    load_ok = "load" not in out or "failed" not in out["load"]
    attacks_ok = all("failed" not in v for v in out.get("attacks", {}).values())
    return 0 if fuzz_ok and load_ok and attacks_ok else 1


if __name__ == "__main__":
    sys.exit(main())
