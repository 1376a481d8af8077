"""Every ``jasco-bridge`` command fed hostile files ends in ``error [code]: …``, never a traceback.

Issue 24: "Every CLI path ends in ``error [code]: …``, never a traceback (a test feeds each
command hostile files and mistyped sidecars)." Each case is a real ``jasco-bridge`` process
(``python -m bridge.cli``) given one hostile path or sidecar: bytes that are not MIDI, a
truncated MIDI file, a FIFO (must not hang), a folder, a missing path, a 16 GiB sparse file
(must not be read), and sidecars whose fields have the wrong type or absurd values. The cases
are independent, so they run side by side; every one is refused before a model loads.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from core.requests import RenderRequest

REPO = Path(__file__).resolve().parents[2]
ERROR_LINE = re.compile(r"^error \[[a-z_]+\]: ")
CASE_TIMEOUT_S = 20.0

# A valid standard MIDI file: one track, C4 for one beat (format 0, 480 ticks per beat).
_TRACK = bytes.fromhex("00903c40" "8360803c00" "00ff2f00")
GOOD_MIDI = b"MThd" + (6).to_bytes(4, "big") + bytes.fromhex("0000000101e0") \
    + b"MTrk" + len(_TRACK).to_bytes(4, "big") + _TRACK


def _sidecar(**request_changes: object) -> dict:
    req = RenderRequest(model="tiny").to_dict()
    req.update(request_changes)
    return {"schema": "jasco-bridge.sidecar/1", "request": req}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("hostile")
    files: dict[str, Path] = {}

    def put(name: str, data: bytes) -> None:
        (d / name).write_bytes(data)
        files[name] = d / name

    put("good.mid", GOOD_MIDI)
    put("garbage.mid", os.urandom(64) + b"not a midi file at all")
    put("truncated.mid", GOOD_MIDI[:20])
    put("badlen.mid", b"MThd" + (0x7FFFFFFF).to_bytes(4, "big") + b"\x00\x00\x00\x01\x01\xe0")
    put("garbage.wav", b"RIFF\xff\xff\xff\xffWAVEfmt " + os.urandom(40))
    put("garbage.npy", b"\x93NUMPY\x01\x00" + os.urandom(30))
    put("garbage.pkl", b"\x80\x04" + os.urandom(30))
    put("garbage.json", b"{\"trigger\": ")
    put("nonutf8.json", b"{\"a\": \"\xff\xfe\"}")
    put("array.json", b"[1, 2, 3]")
    put("deep.json", b"[" * 100_000 + b"]" * 100_000)
    put("empty", b"")
    fifo = d / "fifo.mid"
    os.mkfifo(fifo)
    files["fifo"] = fifo
    (d / "folder.mid").mkdir()
    files["folder"] = d / "folder.mid"
    files["missing"] = d / "missing" / "nothing.mid"
    sparse = d / "sparse.mid"
    with open(sparse, "wb") as fh:
        fh.write(b"MThd")
        fh.truncate(16 << 30)  # 16 GiB of holes: reading it is the bug
    files["sparse"] = sparse
    files["readonly"] = Path("/proc")  # not writable even for root (the tests may run as root)

    sidecars = {
        "sc_frames_huge": _sidecar(melody_frames=[1e300]),
        "sc_frames_inf": _sidecar(melody_frames=["inf"]),
        "sc_frames_nested": _sidecar(melody_frames=[[1, [2, [3]]]]),
        "sc_frames_dict": _sidecar(melody_frames={"a": 1}),
        "sc_model_int": _sidecar(model=5),
        "sc_model_list": _sidecar(model=["tiny"]),
        "sc_drums_int": _sidecar(drums_path=5),
        "sc_drums_fifo": _sidecar(drums_path=str(fifo)),
        "sc_drums_folder": _sidecar(drums_path=str(d / "folder.mid")),
        "sc_params_list": _sidecar(params=[1, 2]),
        "sc_params_seed_str": _sidecar(params={"seed": "seven"}),
        "sc_params_seed_huge": _sidecar(params={"seed": 10 ** 400}),
        "sc_params_unknown": _sidecar(params={"no_such_param": 1}),
        "sc_chords_garbage": _sidecar(chords=[{"given": {"x": [1]}, "label": 5, "start_beat": "a"}]),
        "sc_chords_str": _sidecar(chords="C Am"),
        "sc_ts_garbage": _sidecar(time_signature=[4, 0]),
        "sc_ts_str": _sidecar(time_signature="4/4"),
        "sc_bpm_str": _sidecar(bpm="fast"),
        "sc_bpm_nan": _sidecar(bpm=float("nan")),
        "sc_prompt_obj": _sidecar(prompt={"text": 1}),
        "sc_extra_key": _sidecar(no_such_field=1),
        "sc_request_list": {"schema": "jasco-bridge.sidecar/1", "request": [1, 2]},
        "sc_schema_int": {"schema": 5, "request": {}},
    }
    for name, data in sidecars.items():
        put(name + ".json", json.dumps(data).encode())
    return files


def _cases(f: dict[str, Path], tmp: Path) -> list[tuple[str, list[str]]]:
    files = ["garbage.mid", "truncated.mid", "badlen.mid", "fifo", "folder", "missing", "sparse", "empty"]
    out = str(tmp / "out.wav")
    cases: list[tuple[str, list[str]]] = []
    # render: --from SIDECAR (hostile files and every mistyped sidecar), --melody, --drums, --vocab, --out
    sidecars = [k for k in f if k.startswith("sc_")] + ["garbage.json", "nonutf8.json", "array.json",
                                                          "deep.json", "good.mid"] + files
    for name in sidecars:
        cases.append((f"render --from {name}", ["render", "--model", "tiny", "--from", str(f[name]), "--out", out]))
    for name in files + ["garbage.npy", "garbage.wav"]:
        cases.append((f"render --melody {name}", ["render", "--model", "tiny", "--melody", str(f[name]), "--out", out]))
    for name in files + ["garbage.wav"]:
        cases.append((f"render --drums {name}", ["render", "--model", "tiny", "--drums", str(f[name]), "--out", out]))
    for name in ["garbage.pkl", "garbage.json", "array.json", "fifo", "folder", "sparse"]:
        cases.append((f"render --vocab {name}", ["render", "--model", "tiny", "--vocab", str(f[name]),
                                                 "--chords", "C@0", "--out", out]))
    for name in ["folder", "missing", "readonly"]:
        target = f[name] / "x.wav" if name == "readonly" else f[name]
        cases.append((f"render --out {name}", ["render", "--model", "tiny", "--out", str(target)]))
    cases.append(("render --model garbage folder", ["render", "--model", str(f["folder"]), "--out", out]))
    # chords FILE, chords --vocab
    for name in files + ["good.mid"]:
        if name != "good.mid":
            cases.append((f"chords {name}", ["chords", str(f[name])]))
    for name in ["garbage.pkl", "array.json", "nonutf8.json", "fifo", "folder", "sparse", "missing"]:
        cases.append((f"chords --vocab {name}", ["chords", "--symbols", "C Am", "--vocab", str(f[name])]))
    # melody FILE --out
    for name in files:
        cases.append((f"melody {name}", ["melody", str(f[name]), "--out", str(tmp / "m.npy")]))
    for name in ["folder", "missing", "readonly"]:
        target = f[name] / "m.npy" if name == "readonly" else f[name]
        cases.append((f"melody --out {name}", ["melody", str(f["good.mid"]), "--out", str(target)]))
    # serve: a bad clip folder, bad config files, a bad token file (all refused before listening)
    serve = ["serve", "--port", "0", "--reply-port", "0", "--engine-factory", "jasco_fake_engine:make"]
    for name in ["garbage.mid", "fifo", "readonly"]:
        clip = f[name] / "clips" if name == "readonly" else f[name]
        cases.append((f"serve --clip-dir {name}", serve + ["--clip-dir", str(clip)]))
    for name in ["garbage.json", "nonutf8.json", "array.json", "deep.json", "fifo", "folder", "missing", "sparse"]:
        cases.append((f"serve --midi-map {name}", serve + ["--clip-dir", str(tmp / "c1"), "--midi-map", str(f[name])]))
    for name in ["garbage.pkl", "fifo", "folder", "sparse"]:
        cases.append((f"serve --vocab {name}", serve + ["--clip-dir", str(tmp / "c2"), "--vocab", str(f[name])]))
    for name in ["fifo", "folder", "missing", "sparse", "nonutf8.json", "empty"]:
        cases.append((f"serve --engine-token-file {name}",
                      serve[:-2] + ["--clip-dir", str(tmp / "c3"), "--engine", "http://127.0.0.1:9",
                                    "--engine-token-file", str(f[name])]))
    # engine-serve: a bad token file is refused before Ray starts
    for name in ["fifo", "folder", "missing", "sparse", "empty"]:
        cases.append((f"engine-serve --token-file {name}",
                      ["engine-serve", "--model", "tiny", "--port", "0", "--token-file", str(f[name])]))
    # download: names that are paths, an HF_HOME that is a file
    cases.append(("download ../name", ["download", "../../etc/passwd"]))
    cases.append(("download garbage", ["download", "no/such-model-name"]))
    # params / osc-docs --write into places that cannot be written; --readme hostile
    for cmd in (["params", "--json"], ["osc-docs"]):
        for name in ["folder", "missing", "readonly"]:
            target = f[name] / "x.md" if name == "readonly" else f[name]
            cases.append((f"{cmd[0]} --write {name}", cmd + ["--write", str(target)]))
    for name in ["fifo", "folder", "missing", "sparse", "nonutf8.json"]:
        cases.append((f"osc-docs --readme {name}", ["osc-docs", "--readme", str(f[name])]))
    # build-tiny into a file, a FIFO, a read-only folder
    for name in ["garbage.mid", "fifo", "readonly"]:
        target = f[name] / "tiny" if name == "readonly" else f[name]
        cases.append((f"build-tiny --out {name}", ["build-tiny", "--out", str(target), "--force"]))
    return cases


def _run_all(cases: list[tuple[str, list[str]]], env: dict[str, str], workers: int = 2) -> list[tuple[str, int, str]]:
    """The cases split over ``workers`` runner processes (cli_runner.py), side by side."""
    chunks = [cases[i::workers] for i in range(workers)]
    procs = [subprocess.Popen([sys.executable, str(Path(__file__).with_name("cli_runner.py")), str(int(CASE_TIMEOUT_S))],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              errors="replace", env=env) for chunk in chunks if chunk]
    results: list[tuple[str, int, str]] = []
    for proc, chunk in zip(procs, chunks):
        out, err = proc.communicate(json.dumps(chunk), timeout=CASE_TIMEOUT_S * len(chunk) + 60)
        assert proc.returncode == 0, f"the runner died: {err[-3000:]}"
        results += [(name, rc, stderr) for name, rc, stderr in json.loads(out)]
    return results


def _env(tmp: Path, hub_home: Path) -> dict[str, str]:
    env = dict(os.environ)
    tests_bridge = str(REPO / "tests" / "bridge")
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), tests_bridge] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    env["HF_HOME"] = str(hub_home)
    env["HF_HUB_OFFLINE"] = "1"
    return env


def _check(results: list[tuple[str, int, str]]) -> list[str]:
    bad = []
    for name, rc, stderr in results:
        lines = [line for line in stderr.splitlines() if line.strip()]
        last = lines[-1] if lines else ""
        if rc == 0 or "Traceback" in stderr or not ERROR_LINE.match(last):
            bad.append(f"{name}: exit {rc}, stderr ends {stderr[-600:]!r}")
    return bad


def test_every_command_refuses_hostile_files_with_a_coded_error(hostile: dict[str, Path], tmp_path: Path) -> None:
    cases = _cases(hostile, tmp_path)
    env = _env(tmp_path, tmp_path / "hf")
    results = _run_all(cases, env)
    bad = _check(results)
    assert not bad, f"{len(bad)} of {len(cases)} cases did not end in 'error [code]: ...':\n" + "\n".join(bad)
    assert not list(tmp_path.glob("out*.wav")) and not (tmp_path / "m.npy").exists(), "a refused command wrote output"


def test_hf_home_that_is_a_file_is_a_coded_error(hostile: dict[str, Path], tmp_path: Path) -> None:
    env = _env(tmp_path, hostile["garbage.mid"])
    cases = [("download into a file", ["download", "facebook/jasco-chords-drums-400M"]),
             ("render --model hub id, HF_HOME a file", ["render", "--model", "facebook/jasco-chords-drums-400M",
                                                        "--out", str(tmp_path / "out.wav")])]
    bad = _check(_run_all(cases, env, workers=1))
    assert not bad, "\n".join(bad)


def test_doctor_reports_a_bad_environment_without_a_traceback(hostile: dict[str, Path], tmp_path: Path) -> None:
    """doctor's contract is its table: a bad clip folder or token file is a FAIL row and exit 1."""
    env = _env(tmp_path, tmp_path / "hf")
    env["HOME"] = str(hostile["garbage.mid"])  # a home that is a file
    for clip, token in [(hostile["garbage.mid"], hostile["fifo"]), (hostile["fifo"], hostile["sparse"]),
                        (hostile["readonly"] / "clips", hostile["folder"])]:
        proc = subprocess.run([sys.executable, "-m", "bridge.cli", "doctor", "--port", "0", "--reply-port", "0",
                               "--clip-dir", str(clip), "--engine", "http://127.0.0.1:9",
                               "--engine-token-file", str(token)],
                              capture_output=True, text=True, errors="replace", timeout=CASE_TIMEOUT_S, env=env,
                              stdin=subprocess.DEVNULL)
        assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr[-2000:]
        assert "crashed" not in proc.stdout, proc.stdout
        assert proc.returncode == 1 and "[FAIL]" in proc.stdout, (proc.returncode, proc.stdout[-2000:])
