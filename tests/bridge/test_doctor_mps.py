"""``doctor`` on a Mac reports what ``--device mps`` will do (the probe's facts -> the finding)."""

from __future__ import annotations

import sys

from bridge.commands import doctor


def test_mps_findings() -> None:
    base = {"machine": "arm64", "mac_ver": "14.5"}
    ok = doctor.mps_check({**base, "built": True, "available": True, "bf16": True})
    assert ok.status == doctor.OK and "bfloat16" in ok.found and "no float64" in ok.found
    old = doctor.mps_check({**base, "mac_ver": "13.6", "built": True, "available": True, "bf16": False})
    assert old.status == doctor.OK and "bfloat16 needs macOS 14" in old.found
    unavailable = doctor.mps_check({**base, "machine": "x86_64", "built": True, "available": False})
    assert unavailable.status == doctor.WARN and "runs on the CPU" in unavailable.found
    no_build = doctor.mps_check({**base, "built": False, "available": False})
    assert no_build.status == doctor.WARN and "no MPS support" in no_build.found and no_build.fix


def test_the_probe_runs_here_and_says_cpu() -> None:
    """The real probe in a child interpreter (this torch has no MPS): a warning, never a crash."""
    check = doctor.check_apple_gpu()
    assert check.name == "apple gpu" and check.status == doctor.WARN
    names = [getattr(c, "__name__", "") for c in doctor.all_checks(doctor_args())]
    assert ("check_apple_gpu" in names) == (sys.platform == "darwin")


def doctor_args():  # type: ignore[no-untyped-def]
    import argparse

    parser = argparse.ArgumentParser()
    doctor.add_arguments(parser)
    return parser.parse_args([])
