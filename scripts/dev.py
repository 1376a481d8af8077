#!/usr/bin/env python3
"""jasco-bridge developer entry point, the same on Linux, macOS and Windows.

    python3 scripts/dev.py run     # set up, start the bridge, render a demo clip
    python3 scripts/dev.py test    # set up, run the whole test suite
    python3 scripts/dev.py test --fast   # the everyday lane: without the tests marked slow
    python3 scripts/dev.py setup   # only set up
    (Windows: py scripts/dev.py run|test|setup)

Setup is idempotent (every step already done is skipped):

What is installed depends on the command: ``run`` installs what running the bridge needs
(the project, its ``audition`` extra, and on Debian/Ubuntu ``libportaudio2 libsndfile1``);
``test`` and ``setup`` add the test and Ray extras and the tools the tests talk to.

1. System packages, only where this script knows the package manager:
   - Debian/Ubuntu (apt): ``liblo-tools jackd2 libportaudio2 nodejs libsndfile1`` (``run``: only
     ``libportaudio2 libsndfile1``) are installed when we are root or have sudo; a held apt/dpkg lock is waited for (with a
     message) up to ``JASCO_APT_LOCK_WAIT`` seconds (default 600).
   - macOS (Homebrew) and Windows (winget): NOT installed by this script; it prints the one
     command to run. On those systems the Python wheels bring PortAudio, libsndfile and the
     MIDI backends (CoreMIDI, Windows MM) themselves, so ``run`` needs nothing else; the
     packages listed are what some tests use (liblo's oscsend/oscdump, JACK, Node).
     Installing them would change the user's system tooling (Homebrew updates itself,
     winget asks for elevation), so that is left to the user.
   - anything else: a plain list of what to install.
2. A virtual environment in ``.venv`` (``JASCO_VENV`` to put it elsewhere), made with the
   Python running this script.
3. torch (``JASCO_TORCH_SPEC``, default ``torch==2.13.0``; ``JASCO_TORCH_INDEX`` = a pip index
   URL for the build, e.g. https://download.pytorch.org/whl/cpu for the small CPU build on
   Linux; PyPI's macOS and Windows wheels are CPU builds (macOS: with MPS) already), then the
   project in editable mode with its extras (``run``: ``audition``; ``test``/``setup``:
   ``test,audition,remote``). A stamp file in the venv
   records what was installed; it is redone only when pyproject.toml or the spec changes.

``test`` runs pytest twice: first every test not marked ``serial`` in two pytest-xdist workers
(``-n 2 --dist loadfile``, ``JASCO_TEST_WORKERS`` to change; each test file stays on one worker), then
the ``serial`` ones (tests that measure time: jam takes on their boundaries, real-time MIDI over JACK, a
ping's round trip) alone, so that no other test moves what they measure. Both must pass. ``--fast``
leaves out the slow tests in both phases. Extra words go to both phases (``test tests/midi -x``); words
that choose the tests or workers themselves (``-m``, ``-n``, ``--dist``, ``-p``) make it one plain pytest
run with them. The whole suite took 7 min 47 s on two shared cores (parallel phase 6 min 46 s,
serial phase 1 min; 15 min when every test ran one after the other).

``--dry-run`` prints the plan and changes nothing; ``--platform linux|darwin|windows``
(with ``--dry-run``) shows another system's plan. Standard library only: this runs before
the virtual environment exists.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

MIN_PYTHON = (3, 11)
ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TORCH_SPEC = "torch==2.13.0"
EXTRAS = ("test", "audition", "remote")
OFFICIAL_MODEL = "facebook/jasco-chords-drums-400M"
APT_PACKAGES = ("liblo-tools", "jackd2", "libportaudio2", "nodejs", "libsndfile1")
APT_PURPOSE = {"liblo-tools": "liblo tools", "jackd2": "JACK 2", "libportaudio2": "PortAudio", "nodejs": "Node.js",
               "libsndfile1": "libsndfile"}
BREW_PACKAGES = ("liblo", "jack", "node")
WINGET_PACKAGES = ("OpenJS.NodeJS.LTS",)
WINDOWS_NOT_PACKAGED = ("liblo's oscsend/oscdump (their tests are skipped) and a JACK server (the live-MIDI "
                        "tests need one)")
DEFAULT_APT_LOCK_WAIT_S = 600.0
APT_LOCK_POLL_S = 5.0
# What apt-get / dpkg print when another process holds one of their locks (apt 1.x - 3.x).
_APT_LOCK_RE = re.compile(r"Could not get lock|Unable to acquire the dpkg frontend lock|"
                          r"Unable to lock (the )?(administration )?directory|is another process using it",
                          re.IGNORECASE)
SYSTEMS = ("linux", "darwin", "windows")


@dataclass(frozen=True)
class Needs:
    """What one command installs: the project's extras and the system packages per package manager."""

    extras: tuple[str, ...]
    apt: tuple[str, ...]
    brew: tuple[str, ...]
    winget: tuple[str, ...]


# run: what the bridge needs (PortAudio for --audition, libsndfile); test/setup: also the test tools
# (python-osc, pytest, Ray for the remote tests) and the peers the tests talk to (liblo, JACK, Node).
NEEDS = {
    "run": Needs(extras=("audition",), apt=("libportaudio2", "libsndfile1"), brew=(), winget=()),
    "test": Needs(extras=EXTRAS, apt=APT_PACKAGES, brew=BREW_PACKAGES, winget=WINGET_PACKAGES),
}
NEEDS["setup"] = NEEDS["test"]


def log(message: str) -> None:
    """One line on stderr, prefixed so it stands out from pip's and pytest's output."""
    print(f"[jasco-bridge] {message}", file=sys.stderr, flush=True)


# --- pure parts (tested) ---------------------------------------------------------------------
def system_name(platform: str = sys.platform) -> str:
    """``linux``, ``darwin`` or ``windows`` for a ``sys.platform`` value (other Unixes count as linux)."""
    if platform.startswith("win") or platform == "cygwin":
        return "windows"
    if platform == "darwin":
        return "darwin"
    return "linux"


def venv_bin(venv: Path, name: str, system: str) -> Path:
    """A program in the virtual environment: ``Scripts\\name.exe`` on Windows, ``bin/name`` elsewhere."""
    if system == "windows":
        return venv / "Scripts" / f"{name}.exe"
    return venv / "bin" / name


def extras_spec(extras: Sequence[str] = EXTRAS) -> str:
    return f".[{','.join(extras)}]"


def install_stamp(pyproject: bytes, torch_spec: str, torch_index: str, extras: Sequence[str]) -> str:
    """What an installed venv must match: changes whenever pyproject.toml or the requested builds change."""
    h = hashlib.sha256(pyproject)
    for part in (torch_spec, torch_index, ",".join(extras)):
        h.update(b"\0" + part.encode("utf-8"))
    return h.hexdigest()


def is_apt_lock_error(output: str) -> bool:
    """True when apt-get failed only because another process holds the apt/dpkg lock."""
    return bool(_APT_LOCK_RE.search(output))


@dataclass(frozen=True)
class Step:
    """One thing setup does: what it says, and the command it runs (empty = a message only)."""

    say: str
    argv: tuple[str, ...] = ()
    kind: str = "run"  # run | pip (then the stamp is written) | apt (waits for the apt lock) | note


@dataclass(frozen=True)
class Plan:
    steps: tuple[Step, ...] = field(default_factory=tuple)
    extras: tuple[str, ...] = EXTRAS  # what the pip steps install (recorded in the stamp)


def system_package_steps(system: str, missing_apt: Sequence[str] | None, *, have_apt: bool, is_root: bool,
                         have_sudo: bool, have_brew: bool, have_winget: bool,
                         needs: Needs = NEEDS["test"]) -> list[Step]:
    """What to do about system packages on ``system`` (``missing_apt``: None = unknown, not Debian)."""
    if system == "linux":
        if missing_apt is not None and not missing_apt:
            return []
        if not have_apt or missing_apt is None:
            return [Step("not a Debian/Ubuntu system: install these (or their equivalents) yourself: "
                         + " ".join(needs.apt) + f" ({', '.join(APT_PURPOSE[p] for p in needs.apt)})",
                         kind="note")]
        if not is_root and not have_sudo:
            return [Step(f"missing {' '.join(missing_apt)} and no root/sudo: install them, then run again",
                         kind="note")]
        sudo = () if is_root else ("sudo",)
        return [
            Step(f"installing Debian packages: {' '.join(missing_apt)}", (*sudo, "apt-get", "update", "-qq"), "apt"),
            Step("", (*sudo, "apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing_apt), "apt"),
        ]
    if system == "darwin":
        if not needs.brew:
            return []
        cmd = "brew install " + " ".join(needs.brew)
        where = "" if have_brew else " (Homebrew: https://brew.sh)"
        return [Step(f"macOS: the bridge needs no system packages; for the full test suite run: {cmd}{where}",
                     kind="note")]
    if not needs.winget:
        return []
    cmd = " ".join(f"winget install {p}" for p in needs.winget)
    where = "" if have_winget else " (winget comes with Windows' App Installer)"
    return [Step(f"Windows: the bridge needs no system packages; for the device tests run: {cmd}{where}; "
                 f"not packaged for Windows: {WINDOWS_NOT_PACKAGED}", kind="note")]


def python_steps(venv: Path, system: str, python: str, *, venv_ok: bool, stamp_ok: bool, torch_spec: str,
                 torch_index: str, extras: Sequence[str]) -> list[Step]:
    """Create the venv and install torch + the project, skipping what is already done."""
    steps: list[Step] = []
    if not venv_ok:
        steps.append(Step(f"creating virtual environment {venv}", (python, "-m", "venv", str(venv))))
    if venv_ok and stamp_ok:
        return steps
    py = str(venv_bin(venv, "python", system))
    pip = (py, "-m", "pip", "install", "-q", "--disable-pip-version-check")
    index = ("--index-url", torch_index, "--extra-index-url", "https://pypi.org/simple") if torch_index else ()
    where = f" from {torch_index}" if torch_index else ""
    steps.append(Step(f"installing {torch_spec}{where}", (*pip, *index, torch_spec), "pip"))
    steps.append(Step(f"installing jasco-bridge[{','.join(extras)}] from this checkout (pip install -e "
                      f"{extras_spec(extras)})", (*pip, "-e", extras_spec(extras)),
                      "pip"))
    return steps


def serve_argv(venv: Path, system: str, model: str, extra: Sequence[str]) -> list[str]:
    return [str(venv_bin(venv, "jasco-bridge", system)), "serve", "--model", model, "--demo", *extra]


FAST_MARKER = "not slow"  # test --fast: the everyday lane (tests marked slow are left out; see tests/conftest.py)
SERIAL_MARKER = "serial"  # tests that measure time: run alone, after the parallel phase (tests/conftest.py)
DEFAULT_TEST_WORKERS = 2  # pytest-xdist workers of the parallel phase (JASCO_TEST_WORKERS to change)
# Extra words that choose the tests or the workers themselves: then the suite runs as the user says, in one go.
_OWN_SELECTION = ("-m", "-n", "--numprocesses", "--dist", "-p")
NO_TESTS_COLLECTED = 5  # pytest's exit status when a selection holds no test


def _chooses_itself(extra: Sequence[str]) -> bool:
    return any(word == opt or word.startswith(opt + ("=" if opt.startswith("--") else ""))
               for word in extra for opt in _OWN_SELECTION)


def test_phases(venv: Path, system: str, extra: Sequence[str], fast: bool = False,
                workers: int = DEFAULT_TEST_WORKERS) -> list[list[str]]:
    """The pytest commands of ``dev.py test``: the tests not marked ``serial`` in ``workers`` processes
    (pytest-xdist, ``--dist loadfile``: each test file's tests on one worker), then the ``serial`` ones
    alone, so that no other test shares the CPU with a test that measures time. ``fast`` leaves out the
    slow tests in both. ``extra`` goes to both phases; where it has its own ``-m``/``-n``/``--dist``/``-p``,
    it is one plain pytest run with those words instead."""
    pytest_ = [str(venv_bin(venv, "python", system)), "-m", "pytest", "-q"]
    if _chooses_itself(extra):
        return [[*pytest_, *(["-m", FAST_MARKER] if fast else []), *extra]]
    lane = f"{FAST_MARKER} and " if fast else ""
    return [[*pytest_, "-n", str(workers), "--dist", "loadfile", "-m", f"{lane}not {SERIAL_MARKER}", *extra],
            [*pytest_, "-m", f"{lane}{SERIAL_MARKER}", *extra]]


def combined_status(codes: Sequence[int]) -> int:
    """One exit status for the phases: the first failure's; a phase without tests (5) fails only if all are so."""
    failed = [c for c in codes if c not in (0, NO_TESTS_COLLECTED)]
    if failed:
        return failed[0]
    return NO_TESTS_COLLECTED if codes and all(c == NO_TESTS_COLLECTED for c in codes) else 0


# --- looking at this machine --------------------------------------------------------------
@dataclass(frozen=True)
class Settings:
    venv: Path
    torch_spec: str
    torch_index: str
    apt_lock_wait_s: float
    python: str

    @classmethod
    def from_env(cls, env: "os._Environ[str] | dict[str, str]") -> "Settings":
        venv = ROOT / Path(env.get("JASCO_VENV") or ".venv").expanduser()  # relative: to the checkout
        wait = env.get("JASCO_APT_LOCK_WAIT", "")
        try:
            wait_s = float(wait) if wait else DEFAULT_APT_LOCK_WAIT_S
        except ValueError:
            raise SystemExit(f"JASCO_APT_LOCK_WAIT must be a number of seconds, got {wait!r}") from None
        return cls(venv=venv, torch_spec=env.get("JASCO_TORCH_SPEC") or DEFAULT_TORCH_SPEC,
                   torch_index=env.get("JASCO_TORCH_INDEX", ""), apt_lock_wait_s=wait_s,
                   python=sys.executable)


def missing_debian_packages(packages: Sequence[str]) -> list[str] | None:
    """Packages dpkg does not list as installed; None where there is no dpkg."""
    if shutil.which("dpkg-query") is None:
        return None
    missing = []
    for pkg in packages:
        out = subprocess.run(["dpkg-query", "-W", "-f=${Status}", pkg], capture_output=True, text=True)
        if "install ok installed" not in out.stdout:
            missing.append(pkg)
    return missing


def stamp_path(venv: Path) -> Path:
    return venv / ".jasco-installed"


def make_plan(system: str, settings: Settings, *, probe: bool, command: str = "test") -> Plan:
    """The setup plan of ``command`` for ``system``; ``probe`` = look at this machine (else assume nothing is done).

    A venv set up for ``test`` also serves ``run`` (its extras include run's)."""
    needs = NEEDS[command]
    pyproject = (ROOT / "pyproject.toml").read_bytes()
    enough = {install_stamp(pyproject, settings.torch_spec, settings.torch_index, n.extras)
              for n in NEEDS.values() if set(needs.extras) <= set(n.extras)}
    if probe:
        venv_ok = venv_bin(settings.venv, "python", system).exists()
        stamp = stamp_path(settings.venv)
        stamp_ok = stamp.is_file() and stamp.read_text(encoding="utf-8").strip() in enough
        missing = missing_debian_packages(needs.apt) if system == "linux" else None
        is_root = hasattr(os, "geteuid") and os.geteuid() == 0
        facts = dict(have_apt=shutil.which("apt-get") is not None, is_root=is_root,
                     have_sudo=shutil.which("sudo") is not None, have_brew=shutil.which("brew") is not None,
                     have_winget=shutil.which("winget") is not None)
    else:
        venv_ok = stamp_ok = False
        missing = list(needs.apt) if system == "linux" else None
        facts = dict(have_apt=system == "linux", is_root=False, have_sudo=True, have_brew=True, have_winget=True)
    steps = system_package_steps(system, missing, **facts, needs=needs)
    steps += python_steps(settings.venv, system, settings.python, venv_ok=venv_ok, stamp_ok=stamp_ok,
                          torch_spec=settings.torch_spec, torch_index=settings.torch_index, extras=needs.extras)
    return Plan(tuple(steps), needs.extras)


# --- doing it -----------------------------------------------------------------------------
Runner = Callable[[Sequence[str]], "subprocess.CompletedProcess[str]"]


def _run_captured(argv: Sequence[str]) -> "subprocess.CompletedProcess[str]":
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    return subprocess.run(list(argv), capture_output=True, text=True, env=env)


def run_waiting_for_lock(argv: Sequence[str], *, wait_s: float, runner: Runner = _run_captured,
                         sleep: Callable[[float], None] = time.sleep,
                         clock: Callable[[], float] = time.monotonic, poll_s: float = APT_LOCK_POLL_S) -> None:
    """Run an apt command; while another process holds the apt lock, say so and retry (up to ``wait_s``)."""
    deadline = clock() + wait_s
    told = False
    while True:
        done = runner(argv)
        if done.returncode == 0:
            if told:
                log("the apt lock is free again; carried on")
            return
        output = (done.stderr or "") + (done.stdout or "")
        if not is_apt_lock_error(output):
            raise SetupError(f"{' '.join(argv)} failed (exit {done.returncode}):\n{output.strip()}")
        if clock() >= deadline:
            raise SetupError(f"another program kept the apt lock for {wait_s:g} s (an automatic update?); "
                             "let it finish (or set JASCO_APT_LOCK_WAIT to wait longer), then run again")
        if not told:
            log(f"another program holds the apt lock (often the automatic updates); waiting up to "
                f"{wait_s:g} s for it, retrying every {poll_s:g} s")
            told = True
        sleep(poll_s)


class SetupError(RuntimeError):
    """A setup step failed; the message says which and why."""


def execute(plan: Plan, settings: Settings) -> None:
    for step in plan.steps:
        if step.say:
            log(step.say)
        if not step.argv:
            continue
        if step.kind == "apt":
            run_waiting_for_lock(step.argv, wait_s=settings.apt_lock_wait_s)
            continue
        done = subprocess.run(list(step.argv))
        if done.returncode != 0:
            raise SetupError(f"{' '.join(step.argv)} failed (exit {done.returncode})")
    want = install_stamp((ROOT / "pyproject.toml").read_bytes(), settings.torch_spec, settings.torch_index,
                         plan.extras)
    if any(step.kind == "pip" for step in plan.steps):
        stamp_path(settings.venv).write_text(want + "\n", encoding="utf-8")


def official_model_cached(venv: Path, system: str) -> bool:
    probe = ("import sys\n"
             "try:\n    from huggingface_hub import try_to_load_from_cache\n"
             "except ImportError:\n    sys.exit(1)\n"
             f"hit = try_to_load_from_cache({OFFICIAL_MODEL!r}, 'state_dict.bin')\n"
             "sys.exit(0 if isinstance(hit, str) else 1)\n")
    return subprocess.run([str(venv_bin(venv, "python", system)), "-c", probe]).returncode == 0


def hand_over(argv: Sequence[str], system: str) -> int:
    """Become ``argv`` (POSIX: exec, so signals reach it directly); Windows: run it and pass its status on."""
    if system != "windows":
        os.execv(argv[0], list(argv))
    return _run_passing_interrupts(argv)


def run_phases(phases: Sequence[Sequence[str]], *, stop_on_failure: bool,
               runner: Callable[[Sequence[str]], int] | None = None) -> int:
    """Run the test phases one after the other (all of them, unless ``stop_on_failure``); their combined status."""
    run = runner or _run_passing_interrupts
    codes: list[int] = []
    for n, argv in enumerate(phases, 1):
        if len(phases) > 1:
            log(f"tests, phase {n} of {len(phases)}: {' '.join(argv[3:])}")
        codes.append(run(argv))
        if stop_on_failure and codes[-1] not in (0, NO_TESTS_COLLECTED):
            break
    return combined_status(codes)


def _run_passing_interrupts(argv: Sequence[str]) -> int:
    """Run ``argv`` and return its status; a Ctrl-C reaches the child too (same terminal or console): wait for it."""
    proc = subprocess.Popen(list(argv))
    while True:
        try:
            return proc.wait()
        except KeyboardInterrupt:  # Ctrl-C reached the child too (same terminal): let it shut down
            continue


def test_workers(env: "os._Environ[str] | dict[str, str]") -> int:
    value = env.get("JASCO_TEST_WORKERS", "")
    try:
        workers = int(value) if value else DEFAULT_TEST_WORKERS
    except ValueError:
        raise SystemExit(f"JASCO_TEST_WORKERS must be a whole number, got {value!r}") from None
    if workers < 1:
        raise SystemExit(f"JASCO_TEST_WORKERS must be at least 1, got {workers}")
    return workers


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="dev.py", description="jasco-bridge: set up, then run or test "
                                     "(the same on Linux, macOS and Windows)", allow_abbrev=False)
    parser.add_argument("command", choices=("setup", "run", "test"))
    parser.add_argument("--dry-run", action="store_true", help="print the setup plan, change nothing")
    parser.add_argument("--fast", action="store_true",
                        help=f"with test: the everyday lane, pytest -m '{FAST_MARKER}' (the whole suite without it)")
    parser.add_argument("--platform", choices=SYSTEMS, default=None,
                        help="with --dry-run: show the plan for another system")
    args, extra = parser.parse_known_args(argv)
    if sys.version_info < MIN_PYTHON:
        log(f"Python {'.'.join(map(str, MIN_PYTHON))} or newer is needed (this is {sys.version.split()[0]})")
        return 2
    here = system_name()
    if args.platform and not args.dry_run:
        parser.error("--platform only goes with --dry-run")
    system = args.platform or here
    settings = Settings.from_env(os.environ)
    plan = make_plan(system, settings, probe=system == here, command=args.command)
    if args.dry_run:
        for step in plan.steps:
            print(f"{step.kind:5} {step.say}" + (f"\n      $ {' '.join(step.argv)}" if step.argv else ""))
        if not plan.steps:
            print("nothing to do: already set up")
        if args.command == "run":
            print(f"then  $ {' '.join(serve_argv(settings.venv, system, '<official model if cached, else tiny>', extra))}")
        elif args.command == "test":
            for word, phase in zip(("then", "and"), test_phases(settings.venv, system, extra, args.fast,
                                                                test_workers(os.environ))):
                print(f"{word:5} $ {shlex.join(phase)}")
        return 0
    os.chdir(ROOT)
    try:
        execute(plan, settings)
    except SetupError as err:
        log(f"setup failed: {err}")
        return 1
    if args.command == "setup":
        return 0
    if args.command == "test":
        phases = test_phases(settings.venv, system, extra, args.fast, test_workers(os.environ))
        if len(phases) == 1:
            return hand_over(phases[0], system)
        return run_phases(phases, stop_on_failure=any(w in ("-x", "--exitfirst") for w in extra))
    if official_model_cached(settings.venv, system):
        model = OFFICIAL_MODEL
    else:
        model = "tiny"
        log("no official checkpoint cached: using the embedded TINY RANDOM model, which MAKES NOISE.")
        log(f"for music, get the weights once: {venv_bin(settings.venv, 'jasco-bridge', system)} download "
            f"{OFFICIAL_MODEL} (README: Getting the official weights).")
    return hand_over(serve_argv(settings.venv, system, model, extra), system)


if __name__ == "__main__":
    sys.exit(main())
