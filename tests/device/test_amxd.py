"""The device file: ``max_for_live/jasco-bridge.amxd`` is current, and it and its frozen build are
in the container format Ableton's maxdevtools reader understands.

The format rules below are checked on the raw bytes, independently of ``bridge/device_file.py``
(they are what ``maxdiff/amxd_textconv.py``, ``freezing_utils.py`` and ``frozen_device_printer.py``
of github.com/Ableton/maxdevtools read). Where a snapshot of maxdevtools is on this machine (the
``fetch`` tool's mirror), its own reader is run on our files too, and ours on its test devices.
"""

from __future__ import annotations

import datetime
import importlib.util
import json
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bridge import device_file
from bridge.commands import device as device_cmd

REPO = Path(__file__).resolve().parents[2]
DEVICE_DIR = REPO / "max_for_live"
DEVICE = DEVICE_DIR / "jasco-bridge.amxd"
PATCHER = DEVICE_DIR / "jasco.maxpat"
SCRIPT = DEVICE_DIR / "jasco.js"
MAXDEVTOOLS = Path("/work/.mirror/Ableton+maxdevtools/repo")
WHEN = datetime.datetime(2025, 6, 1, 12, 0, 0, tzinfo=datetime.timezone.utc)


def chunks(data: bytes) -> list[tuple[str, bytes]]:
    """amxd_textconv.parse: tag (4 ASCII), size (4 little-endian), data, to the end of the file."""
    out, pos = [], 0
    while pos < len(data):
        size = int.from_bytes(data[pos + 4:pos + 8], "little")
        out.append((data[pos:pos + 4].decode("ascii"), data[pos + 8:pos + 8 + size]))
        pos += 8 + size
    assert pos == len(data), "a chunk runs past the end of the file"
    return out


def footer_entries(archive: bytes) -> list[dict[str, Any]]:
    """frozen_device_printer / freezing_utils: footer at the 64-bit big-endian offset in bytes 8..16."""
    assert archive[:4] == b"mx@c"
    footer = archive[int.from_bytes(archive[8:16], "big"):]
    assert footer[:4] == b"dlst" and int.from_bytes(footer[4:8], "big") == len(footer)
    rest, entries = footer[8:], []
    while rest[:4] == b"dire":
        size = int.from_bytes(rest[4:8], "big")
        body, rest, fields = rest[8:size], rest[size:], {}
        while len(body) >= 12:
            fsize = int.from_bytes(body[4:8], "big")
            fields[body[:4].decode("ascii")] = body[8:fsize]
            body = body[fsize:]
        assert len(fields["fnam"]) % 4 == 0 and fields["fnam"].endswith(b"\x00")     # NUL-padded to 4
        entries.append({"name": fields["fnam"].rstrip(b"\x00").decode("ascii"),
                        "type": fields["type"].decode("ascii").strip(),
                        "flag": int.from_bytes(fields["flag"], "big"),
                        "mdat": int.from_bytes(fields["mdat"], "big") - 2082844800,      # HFS+ epoch 1904
                        "data": archive[int.from_bytes(fields["of32"], "big"):][:int.from_bytes(fields["sz32"], "big")]})
    assert rest == b""
    return entries


@pytest.fixture(scope="module")
def make_patcher() -> Any:
    spec = importlib.util.spec_from_file_location("make_patcher_amxd", DEVICE_DIR / "make_patcher.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module


@pytest.fixture(scope="module")
def frozen() -> bytes:
    return device_cmd.build(frozen=True, modified=WHEN)


def test_the_device_file_is_the_generated_one(make_patcher: Any) -> None:
    assert DEVICE.read_bytes() == make_patcher.render_device(), \
        "jasco-bridge.amxd is stale: run python max_for_live/make_patcher.py"


def test_the_device_file_is_a_plain_max_midi_effect() -> None:
    data = DEVICE.read_bytes()
    parts = chunks(data)
    assert [tag for tag, _ in parts] == ["ampf", "meta", "ptch"]
    assert parts[0][1] == b"mmmm"                                         # MIDI Effect Device
    assert struct.unpack("<I", parts[1][1]) == (1,)                       # as Max writes a plain device
    patch = parts[2][1]
    assert patch[:1] == b"{" and patch.endswith(b"\x00")                  # JSON, then one NUL (handle_ptch)
    assert json.loads(patch[:-1]) == json.loads(PATCHER.read_text(encoding="utf-8"))
    # the script stays beside it, named as its only dependency
    assert [d["name"] for d in json.loads(patch[:-1])["patcher"]["dependency_cache"]] == ["jasco.js"]
    assert SCRIPT.is_file()
    ours = device_file.read(data)
    assert ours.device_type == "mmmm" and not ours.is_frozen and ours.patcher == json.loads(patch[:-1])


def test_the_frozen_build_has_the_script_inside(frozen: bytes) -> None:
    parts = chunks(frozen)
    assert [tag for tag, _ in parts] == ["ampf", "meta", "ptch"]
    assert parts[0][1] == b"mmmm" and struct.unpack("<I", parts[1][1]) == (7,)
    archive = parts[2][1]
    assert archive[4:8] == struct.pack(">I", 16)
    entries = footer_entries(archive)
    assert [(e["name"], e["type"], e["flag"]) for e in entries] == [("jasco-bridge.amxd", "JSON", 17),
                                                                  ("jasco.js", "TEXT", 0)]
    assert entries[1]["data"] == SCRIPT.read_bytes()
    assert json.loads(entries[0]["data"].rstrip(b"\x00")) == json.loads(PATCHER.read_text(encoding="utf-8"))
    assert {e["mdat"] for e in entries} == {int(WHEN.timestamp())}
    ours = device_file.read(frozen)
    assert ours.is_frozen and [e.name for e in ours.frozen] == ["jasco-bridge.amxd", "jasco.js"]
    assert ours.frozen[1].data == SCRIPT.read_bytes() and ours.frozen[0].modified == WHEN


@pytest.mark.parametrize("damage", ["truncated", "unknown chunk", "bad footer", "not json", "encrypted"])
def test_a_damaged_device_is_refused_with_a_coded_error(frozen: bytes, damage: str) -> None:
    data = {"truncated": frozen[:-5],
            "unknown chunk": b"zzzz" + struct.pack("<I", 0) + frozen,
            "bad footer": frozen.replace(b"dlst", b"dlsx"),
            "not json": device_file.write_plain({"patcher": {}})[:-20] + b"}}}}" + b"\x00" * 16,
            "encrypted": b"ciph" + struct.pack("<I", 4) + b"abcd" + frozen}[damage]
    with pytest.raises(device_file.BadValue) as err:
        device_file.read(data)
    assert err.value.code == "bad_value"


def maxdevtools_reader(tmp_path: Path) -> Path:
    if not (MAXDEVTOOLS / "HEAD").exists() or shutil.which("git") is None:
        pytest.skip("no snapshot of github.com/Ableton/maxdevtools on this machine (CI: the rules above apply)")
    out = tmp_path / "maxdevtools"
    out.mkdir()
    archive = subprocess.run(["git", "--git-dir", str(MAXDEVTOOLS), "archive", "HEAD", "maxdiff"],
                             capture_output=True, check=True, timeout=60).stdout
    subprocess.run(["tar", "-x", "-C", str(out)], input=archive, check=True, timeout=60)
    return out / "maxdiff"


def test_ableton_maxdevtools_reads_both_files(tmp_path: Path, frozen: bytes) -> None:
    maxdiff = maxdevtools_reader(tmp_path)
    frozen_path = tmp_path / "frozen.amxd"
    frozen_path.write_bytes(frozen)

    def textconv(path: Path) -> str:
        proc = subprocess.run([sys.executable, "amxd_textconv.py", str(path)], cwd=maxdiff, capture_output=True,
                              text=True, timeout=60, check=False)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc.stdout

    plain = textconv(DEVICE)
    assert plain.startswith("MIDI Effect Device\n") and "jasco.js" in plain and "Error" not in plain
    text = textconv(frozen_path)
    assert text.startswith("MIDI Effect Device\n-------------------\nDevice is frozen\n")
    assert f"jasco-bridge.amxd: {len(device_file.patcher_bytes(json.loads(PATCHER.read_text())))} bytes" in text
    assert f"jasco.js: {SCRIPT.stat().st_size} bytes, modified at 2025/06/01 12:00:00 UTC, 1 instance\n" in text
    boxes = len(json.loads(PATCHER.read_text())["patcher"]["boxes"])
    assert f"Object instances: {boxes}\n" in text
    # and our reader reads Ableton's own test devices
    for name, kind, is_frozen in (("Test.amxd", "mmmm", False), ("FrozenTest.amxd", "mmmm", True)):
        got = device_file.read((maxdiff / "tests" / "test_files" / name).read_bytes())
        assert (got.device_type, got.is_frozen) == (kind, is_frozen)
        if is_frozen:
            assert got.frozen[0].flag == 17 and "TestScript.js" in [e.name for e in got.frozen]


# --- jasco-bridge device ---------------------------------------------------------------------------
def cli(*args: str, home: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, HOME=str(home), PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "bridge.cli", "device", *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=60, check=False)


def test_device_build_writes_both_forms(tmp_path: Path) -> None:
    out = cli("build", "--out", str(tmp_path / "plain.amxd"), home=tmp_path, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "plain.amxd").read_bytes() == DEVICE.read_bytes()
    out = cli("build", "--frozen", "--out", str(tmp_path / "frozen.amxd"), home=tmp_path, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    got = device_file.read((tmp_path / "frozen.amxd").read_bytes())
    assert got.is_frozen and got.frozen[1].data == SCRIPT.read_bytes()
    missing = cli("build", "--out", str(tmp_path / "no" / "x.amxd"), home=tmp_path, cwd=tmp_path)
    assert missing.returncode == 2 and missing.stderr.startswith("error [io_error]:")


def test_device_install_into_the_user_library_of_a_temp_home(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    refused = cli("install", home=home, cwd=tmp_path)
    assert refused.returncode == 2 and refused.stderr.startswith("error [not_found]: no Live User Library")
    library = home / "Music" / "Ableton" / "User Library"          # where Live creates it (macOS layout)
    library.mkdir(parents=True)
    out = cli("install", home=home, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    target = library / "Presets" / "MIDI Effects" / "Max MIDI Effect" / "jasco-bridge.amxd"
    assert f"installed {target}" in out.stdout
    got = device_file.read(target.read_bytes())
    assert got.is_frozen and got.frozen[1].data == SCRIPT.read_bytes()
    assert sorted(p.name for p in target.parent.iterdir()) == ["jasco-bridge.amxd"]   # no temp file left
    again = cli("install", "--user-library", str(tmp_path / "elsewhere"), "--create", home=home, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert (tmp_path / "elsewhere" / "Presets" / "MIDI Effects" / "Max MIDI Effect" / "jasco-bridge.amxd").is_file()


def test_default_user_library_per_platform(tmp_path: Path) -> None:
    """Ableton, "The User Library" (help.ableton.com/hc/en-us/articles/209774085): Windows
    \\Users\\[username]\\Documents\\Ableton\\User Library, Mac /Users/[username]/Music/Ableton/User Library."""
    assert device_cmd.default_user_library("darwin", home=Path("/Users/ann"), environ={}) == \
        Path("/Users/ann/Music/Ableton/User Library")
    assert device_cmd.default_user_library("win32", environ={"USERPROFILE": "C:/Users/ann"}) == \
        Path("C:/Users/ann/Documents/Ableton/User Library")
    assert device_cmd.default_user_library("linux", home=tmp_path, environ={}) == \
        tmp_path / "Music" / "Ableton" / "User Library"
