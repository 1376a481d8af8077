"""The built wheel works as a user installs it: apart from the source tree, offline, in an empty HOME.

The wheel is built from a copy of the project's files (``pip wheel --no-deps --no-build-isolation``:
offline, nothing fetched), installed with ``--no-deps`` into a fresh virtual environment, and the
everyday commands run from another folder with ``HOME`` empty and ``HF_HUB_OFFLINE=1``.

Installing torch & co. from the network would take minutes, so the fresh environment gets its
dependencies from this test environment through a ``.pth`` line naming a folder that holds links to
exactly the distributions jasco-bridge declares (``Requires-Dist`` of the wheel, without extras) and
what they require in turn, nothing else. A command that needed an undeclared package (python-osc,
sentencepiece, a test tool) fails there. The ``.pth`` files of that folder are not processed (a path
line in a ``.pth`` adds a folder, it does not make it a site dir), so this checkout's editable
install can not leak in either.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from pythonosc.osc_message import OscMessage
from pythonosc.osc_message_builder import OscMessageBuilder

from tests.proc_util import stop

REPO = Path(__file__).resolve().parents[1]
# what the wheel is built from: the packages and the files pyproject.toml names
SOURCES = ("pyproject.toml", "README.md", "LICENSE", "core", "midi", "engine", "bridge", "assets", "max_for_live")
IMPORT_PACKAGES = ("core", "midi", "engine", "bridge", "assets")

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Everyday:
    """One everyday command: argv after ``jasco-bridge`` (``{home}`` and ``{work}`` are filled in), text its
    output must hold, files (relative to the work folder, or ``{home}/...``) it must leave behind."""

    argv: tuple[str, ...]
    says: tuple[str, ...] = ()
    files: tuple[str, ...] = ()


# Adding a command is one line here.
EVERYDAY = (
    Everyday(("chords", "--symbols", "Cmaj7 Am7"), says=("Cmaj7", "Am7", "exact")),
    Everyday(("render", "--model", "tiny", "--preset", "draft", "--bars", "1", "--prompt", "lofi piano", "--bpm", "120",
              "--chords", "C@0 Am@2", "--out", "clip.wav"), files=("clip.wav", "clip.json")),
    Everyday(("doctor",), says=("[  ok] chord vocabulary  official: 194 labels", "0 problem(s) to fix")),
    Everyday(("device", "install", "--create"),
             says=("installed",),
             files=("{home}/Music/Ableton/User Library/Presets/MIDI Effects/Max MIDI Effect/jasco-bridge.amxd",)),
)


@dataclass(frozen=True)
class Installed:
    venv: Path
    exe: Path
    home: Path
    work: Path
    env: dict[str, str]
    site: Path


def _venv_path(venv: Path, key: str) -> Path:
    return Path(sysconfig.get_path(key, vars={"base": str(venv), "platbase": str(venv)}))


def _dependency_closure(requirements: list[str]) -> dict[str, importlib.metadata.Distribution]:
    """The distributions ``requirements`` need here, with what those require in turn (markers evaluated)."""
    found: dict[str, importlib.metadata.Distribution] = {}
    todo = [(Requirement(r), True) for r in requirements]
    while todo:
        req, direct = todo.pop()
        key = re.sub(r"[-_.]+", "-", req.name).lower()
        try:
            dist = importlib.metadata.distribution(req.name)
        except importlib.metadata.PackageNotFoundError:
            assert not direct, f"declared dependency {req.name} is not installed in the test environment"
            continue  # an optional transitive one this environment does without, as the user's would
        if key in found:
            continue
        found[key] = dist
        for sub in dist.requires or []:
            r = Requirement(sub)
            if r.marker is None or any(r.marker.evaluate({"extra": e}) for e in ("", *req.extras)):
                todo.append((r, False))
    return found


def _link_farm(dists: dict[str, importlib.metadata.Distribution], farm: Path) -> None:
    """Links to every top-level file and folder of ``dists`` (packages, modules, .dist-info, .libs)."""
    farm.mkdir()
    for dist in dists.values():
        base = Path(str(dist.locate_file("")))
        for top in {Path(str(f)).parts[0] for f in dist.files or []}:
            if top in ("..", "__pycache__") or (farm / top).exists():
                continue
            if (base / top).exists():
                (farm / top).symlink_to(base / top)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    root = tmp_path_factory.mktemp("wheel")
    src = root / "src"
    src.mkdir()
    for name in SOURCES:  # a copy: no build/ or .egg-info left in the checkout, no stale build/ picked up
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "node_modules"))
        else:
            shutil.copy2(path, src / name)
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PIP_REQUIRE_VIRTUALENV")}
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", str(root / "dist"),
                    str(src)], check=True, env=clean, cwd=root, timeout=300)
    wheel = next((root / "dist").glob("jasco_bridge-*.whl"))

    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, env=clean, timeout=120)
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    subprocess.run([*pip, "--python", str(python), "install", "--no-deps", "--no-index", str(wheel)], check=True,
                   env=clean, timeout=300)
    site = _venv_path(venv, "purelib")
    requires = importlib.metadata.Distribution.at(next(site.glob("jasco_bridge-*.dist-info"))).requires or []
    runtime = [r for r in requires if Requirement(r).marker is None or Requirement(r).marker.evaluate({"extra": ""})]
    farm = root / "deps"
    _link_farm(_dependency_closure(runtime), farm)
    (site / "jasco_test_deps.pth").write_text(f"{farm}\n", encoding="utf-8")

    home, work = root / "home", root / "elsewhere"
    home.mkdir()
    work.mkdir()
    scripts = _venv_path(venv, "scripts")
    keep = ("SYSTEMROOT", "TMPDIR", "TEMP", "TMP", "LANG", "LC_ALL")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env.update(HOME=str(home), USERPROFILE=str(home), HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1",
               PATH=os.pathsep.join([str(scripts), "/usr/bin", "/bin"]))
    exe = scripts / ("jasco-bridge.exe" if os.name == "nt" else "jasco-bridge")
    return Installed(venv=venv, exe=exe, home=home, work=work, env=env, site=site)


PROBE = r"""
import importlib.metadata as md, importlib.resources as res, importlib.util, json, sys
from packaging.requirements import Requirement
out = {"files": {}, "missing": [], "prefix": sys.prefix}
for pkg in sys.argv[1].split(","):
    out["files"][pkg] = importlib.util.find_spec(pkg).origin
names = md.packages_distributions()
for r in md.requires("jasco-bridge"):
    req = Requirement(r)
    if req.marker is not None and not req.marker.evaluate({"extra": ""}):
        continue
    tops = [t for t, ds in names.items() if req.name.lower().replace("_", "-") in
            [d.lower().replace("_", "-") for d in ds]]
    if not tops or not all(importlib.util.find_spec(t) for t in tops):
        out["missing"].append(req.name)
out["pythonosc"] = importlib.util.find_spec("pythonosc") is not None
out["data"] = sorted(p.name for p in res.files("assets").iterdir()) + sorted(
    p.name for p in (res.files("assets") / "examples").iterdir())
print(json.dumps(out))
"""


def test_the_installed_wheel_is_used_and_brings_its_data(installed: Installed) -> None:
    python = installed.venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    out = subprocess.run([str(python), "-c", PROBE, ",".join(IMPORT_PACKAGES)], capture_output=True, text=True,
                         env=installed.env, cwd=installed.work, timeout=120)
    assert out.returncode == 0, out.stderr
    probe = json.loads(out.stdout)
    for pkg, origin in probe["files"].items():  # the wheel's copy, never this checkout
        assert Path(origin).is_relative_to(installed.site), f"{pkg} imported from {origin}"
    assert probe["missing"] == [], f"declared dependencies not importable: {probe['missing']}"
    assert not probe["pythonosc"], "python-osc is a test dependency; the installed tool must not need it"
    assert {"chord_vocabulary.tsv", "song.mid", "lead.mid"} <= set(probe["data"])
    assert "make_examples.py" not in probe["data"]


@pytest.mark.parametrize("command", EVERYDAY, ids=lambda c: c.argv[0])
def test_everyday_command_from_another_folder(installed: Installed, command: Everyday) -> None:
    fill = {"home": str(installed.home), "work": str(installed.work)}
    argv = [str(installed.exe), *(a.format(**fill) for a in command.argv)]
    out = subprocess.run(argv, capture_output=True, text=True, env=installed.env, cwd=installed.work, timeout=300)
    text = out.stdout + out.stderr
    assert out.returncode == 0, f"{' '.join(command.argv)} exited {out.returncode}:\n{text[-3000:]}"
    for words in command.says:
        assert words in text, f"{' '.join(command.argv)} did not say {words!r}:\n{text[-3000:]}"
    for name in command.files:
        assert (installed.work / name.format(**fill)).is_file(), f"{' '.join(command.argv)} left no {name}"
    assert str(REPO) not in text, "the installed tool pointed into the source tree"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _send(sock: socket.socket, port: int, address: str, *args: object) -> None:
    msg = OscMessageBuilder(address)
    for a in args:
        msg.add_arg(a)
    sock.sendto(msg.build().dgram, ("127.0.0.1", port))


def test_serve_answers_and_renders_one_generate(installed: Installed) -> None:
    """``serve --model tiny`` with its default clip folder (the Music folder of the empty HOME)."""
    port, reply = _free_port(), _free_port()
    log = installed.work / "serve.log"
    with log.open("w") as fh:
        proc = subprocess.Popen([str(installed.exe), "serve", "--model", "tiny", "--port", str(port),
                                 "--reply-port", str(reply)], cwd=installed.work, env=installed.env, stdout=fh,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind(("127.0.0.1", reply))
            sock.settimeout(0.2)
            deadline = time.monotonic() + 120
            while True:  # the first pong: the server is up
                assert proc.poll() is None, f"serve exited {proc.returncode}:\n{log.read_text()[-3000:]}"
                assert time.monotonic() < deadline, f"no pong:\n{log.read_text()[-3000:]}"
                _send(sock, port, "/jasco/ping", "wheel")
                try:
                    if OscMessage(sock.recvfrom(65536)[0]).address == "/jasco/pong":
                        break
                except socket.timeout:
                    continue
            _send(sock, port, "/jasco/prompt", "lofi piano")
            _send(sock, port, "/jasco/chords", "C", 0.0, "Am", 2.0)
            _send(sock, port, "/jasco/set", "preset", "draft")  # the fewest evaluations: this checks the route
            _send(sock, port, "/jasco/set", "bars", 1)
            _send(sock, port, "/jasco/generate", "wheel")
            deadline = time.monotonic() + 240
            while True:
                assert time.monotonic() < deadline, f"no /jasco/done:\n{log.read_text()[-3000:]}"
                try:
                    msg = OscMessage(sock.recvfrom(65536)[0])
                except socket.timeout:
                    continue
                assert msg.address != "/jasco/error", f"{msg.params}\n{log.read_text()[-3000:]}"
                if msg.address == "/jasco/done":
                    break
        clip = Path(next(p for p in msg.params if isinstance(p, str) and p.endswith(".wav")))
        assert clip.is_file() and clip.with_suffix(".json").is_file()
        assert clip.parent == installed.home / "Music" / "jasco-bridge"
    finally:
        stop(proc, signal.SIGTERM, 30, group=True)
    assert proc.returncode == 0, log.read_text()[-3000:]
