"""Reliability at full size: 10,000 fuzzed packets, then 200 jobs from 8 clients with 50 cancellations.

    .venv/bin/python bench/reliability.py [fuzz|load|all] [--packets 10000] [--jobs 200] [--cancels 50]
                                          [--clients 8] [--max-queue 16] [--seed 0] [--json]

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
"""

from __future__ import annotations

import argparse
import json
import random
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
    raw_message,
    run_load,
    temp_files,
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
            for k in range(packets):
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", nargs="?", choices=("fuzz", "load", "all"), default="all")
    parser.add_argument("--packets", type=int, default=10_000)
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--cancels", type=int, default=50)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--max-queue", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
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
    if args.json:
        print(json.dumps(out, indent=2))
    fuzz_ok = "fuzz" not in out or (out["fuzz"]["internal_errors"] == 0 and out["fuzz"]["server_alive"]
                                     and out["fuzz"]["final_ping_ok"] and not out["fuzz"]["unknown_codes"]
                                     and out["fuzz"]["broken_on_purpose"] == out["fuzz"]["broken_answered_with_expected_code"])
    load_ok = "load" not in out or "failed" not in out["load"]
    return 0 if fuzz_ok and load_ok else 1


if __name__ == "__main__":
    sys.exit(main())
