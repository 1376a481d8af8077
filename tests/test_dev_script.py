"""scripts/dev.py, the setup entry point the README's two commands use on Linux, macOS and
Windows: its plan per system (dry run in a clean environment), idempotence, the apt-lock
wait (against a real process holding a real lock), and honest log lines. No venv is made."""

from __future__ import annotations

import fcntl
import importlib.util
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

SCRIPT = REPO / "scripts" / "dev.py"
spec = importlib.util.spec_from_file_location("jasco_dev_script", SCRIPT)
dev = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
assert spec is not None and spec.loader is not None
sys.modules["jasco_dev_script"] = dev
spec.loader.exec_module(dev)


def dry_run(tmp_path: Path, *args: str, via_bash: bool = False) -> str:
    """``python3 scripts/dev.py ARGS --dry-run`` with a bare environment (no venv, only PATH)."""
    env = {"PATH": os.environ["PATH"], "JASCO_VENV": str(tmp_path / "venv"), "HOME": str(tmp_path),
           "PYTHON": sys.executable}  # the bash wrapper runs dev.py with $PYTHON
    argv = (["bash", str(REPO / "scripts" / "dev.sh")] if via_bash else [sys.executable, str(SCRIPT)])
    out = subprocess.run([*argv, *args, "--dry-run"], capture_output=True, text=True, env=env, cwd=tmp_path,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout


def settings_for(venv: Path) -> dev.Settings:
    return dev.Settings(venv=venv, torch_spec="torch==2.13.0", torch_index="", apt_lock_wait_s=1.0,
                        python=sys.executable)


def made_venv(tmp_path: Path) -> tuple[Path, dev.Settings]:
    """A venv folder as setup leaves it (``bin/python``; nothing installed in it) and the settings naming it."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").write_text("")
    return venv, settings_for(venv)


def test_dry_run_on_windows_plans_the_scripts_folder_and_prints_winget(tmp_path: Path) -> None:
    out = dry_run(tmp_path, "test", "--platform", "windows")
    assert "winget install OpenJS.NodeJS.LTS" in out and "apt-get" not in out
    assert str(Path("venv") / "Scripts" / "python.exe") in out
    assert "-m venv" in out and "torch==2.13.0" in out and "-e .[test,audition,remote]" in out
    run = dry_run(tmp_path, "run", "--platform", "windows", "--port", "9100")
    assert "jasco-bridge.exe serve --model" in run and "--demo --port 9100" in run
    assert "winget" not in run and "-e .[audition]" in run  # running needs no Node, no test tools
    assert not (tmp_path / "venv").exists()  # a dry run changes nothing


@pytest.mark.parametrize("system", ["linux", "darwin", "windows"])
def test_run_installs_what_running_needs_and_test_adds_the_test_tools(tmp_path: Path, system: str) -> None:
    run = dry_run(tmp_path, "run", "--platform", system)
    test = dry_run(tmp_path, "test", "--platform", system)
    assert "-e .[audition]" in run and "-e .[test,audition,remote]" in test
    for tool in ("jackd2", "nodejs", "liblo-tools", "brew install", "winget install", "remote", "test,"):
        assert tool not in run, f"run plans {tool!r} on {system}:\n{run}"
    settings = settings_for(tmp_path / "venv")
    apt = {command: [s.argv for s in dev.make_plan(system, settings, probe=False, command=command).steps
                     if s.kind == "apt"] for command in ("run", "test")}
    if system == "linux":  # a bare Debian: what each command would install
        assert apt["run"][-1][-2:] == ("libportaudio2", "libsndfile1")
        assert apt["test"][-1][-5:] == dev.APT_PACKAGES
    else:
        assert apt == {"run": [], "test": []}


def test_a_venv_set_up_for_the_tests_also_serves_run(tmp_path: Path) -> None:
    venv, settings = made_venv(tmp_path)
    pyproject = (REPO / "pyproject.toml").read_bytes()
    dev.stamp_path(venv).write_text(dev.install_stamp(pyproject, "torch==2.13.0", "", dev.EXTRAS) + "\n")
    assert not [s for s in dev.make_plan("linux", settings, probe=True, command="run").steps if s.kind == "pip"]
    dev.stamp_path(venv).write_text(dev.install_stamp(pyproject, "torch==2.13.0", "", ("audition",)) + "\n")
    assert not [s for s in dev.make_plan("linux", settings, probe=True, command="run").steps if s.kind == "pip"]
    test_plan = dev.make_plan("linux", settings, probe=True, command="test")
    assert [s for s in test_plan.steps if s.kind == "pip"] and test_plan.extras == dev.EXTRAS


def test_dry_run_on_macos_prints_brew_and_uses_bin(tmp_path: Path) -> None:
    out = dry_run(tmp_path, "test", "--platform", "darwin", "-x", "tests/core")
    assert "brew install liblo jack node" in out and "apt-get" not in out
    python = tmp_path / "venv" / "bin" / "python"
    assert f"then  $ {python} -m pytest -q -n 2 --dist loadfile -m 'not serial' -x tests/core" in out
    assert f"and   $ {python} -m pytest -q -m serial -x tests/core" in out


def test_dry_run_here_and_the_bash_wrapper_say_the_same(tmp_path: Path) -> None:
    direct = dry_run(tmp_path, "setup")
    assert direct == dry_run(tmp_path, "setup", via_bash=True)
    assert f"{sys.executable} -m venv {tmp_path / 'venv'}" in direct


def test_plan_for_a_finished_setup_is_empty(tmp_path: Path) -> None:
    venv, settings = made_venv(tmp_path)
    want = dev.install_stamp((REPO / "pyproject.toml").read_bytes(), "torch==2.13.0", "", dev.EXTRAS)
    dev.stamp_path(venv).write_text(want + "\n")
    steps = dev.python_steps(venv, "linux", sys.executable, venv_ok=True, stamp_ok=True, torch_spec="t",
                             torch_index="", extras=dev.EXTRAS)
    assert steps == []
    plan = dev.make_plan("linux", settings, probe=True)
    assert not [s for s in plan.steps if s.kind in ("run", "pip")]  # idempotent: nothing to install again


def test_stamp_changes_with_what_is_installed() -> None:
    base = dev.install_stamp(b"[project]", "torch==2.13.0", "", ("test", "audition"))
    assert base == dev.install_stamp(b"[project]", "torch==2.13.0", "", ("test", "audition"))
    assert base != dev.install_stamp(b"[project]\n", "torch==2.13.0", "", ("test", "audition"))
    assert base != dev.install_stamp(b"[project]", "torch==2.12.0", "", ("test", "audition"))
    assert base != dev.install_stamp(b"[project]", "torch==2.13.0", "https://download.pytorch.org/whl/cpu",
                                     ("test", "audition"))
    assert base != dev.install_stamp(b"[project]", "torch==2.13.0", "", ("test",))


def test_the_install_log_line_names_exactly_the_extras_installed() -> None:
    steps = dev.python_steps(Path("v"), "linux", "python3", venv_ok=True, stamp_ok=False, torch_spec="torch==2.13.0",
                             torch_index="", extras=dev.EXTRAS)
    project = steps[-1]
    assert "jasco-bridge[test,audition,remote]" in project.say and project.argv[-1] == ".[test,audition,remote]"


def test_system_packages_per_system() -> None:
    facts = dict(have_apt=True, is_root=False, have_sudo=True, have_brew=False, have_winget=False)
    apt = dev.system_package_steps("linux", ["nodejs"], **facts)
    assert [s.kind for s in apt] == ["apt", "apt"] and apt[1].argv[:2] == ("sudo", "apt-get")
    assert apt[1].argv[-1] == "nodejs"
    assert dev.system_package_steps("linux", [], **facts) == []
    other_linux = dev.system_package_steps("linux", None, **{**facts, "have_apt": False})
    assert other_linux[0].kind == "note" and "liblo-tools" in other_linux[0].say
    no_sudo = dev.system_package_steps("linux", ["jackd2"], **{**facts, "have_sudo": False})
    assert no_sudo[0].kind == "note" and "jackd2" in no_sudo[0].say
    mac = dev.system_package_steps("darwin", None, **facts)
    assert mac[0].kind == "note" and "https://brew.sh" in mac[0].say  # brew missing: where to get it
    win = dev.system_package_steps("windows", None, **facts)
    assert win[0].kind == "note" and "winget install OpenJS.NodeJS.LTS" in win[0].say


# --- waiting for the apt lock ----------------------------------------------------------------
# apt-get's own message when dpkg's frontend lock is held (apt 2.x), e.g. by unattended-upgrades.
FAKE_APT = textwrap.dedent("""
    import fcntl, sys
    with open(sys.argv[1], "a") as fh:
        try:
            fcntl.lockf(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            print("E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 4242 "
                  "(unattended-upgr)\\nN: Be aware that removing the lock file is not a solution and may "
                  "break your system.\\nE: Unable to acquire the dpkg frontend lock "
                  "(/var/lib/dpkg/lock-frontend), is another process using it?", file=sys.stderr)
            sys.exit(100)
    print("installed")
""")


def test_apt_lock_is_waited_for_with_a_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lock = tmp_path / "lock-frontend"
    fake = tmp_path / "fake_apt.py"
    fake.write_text(FAKE_APT)
    holder = open(lock, "a")
    fcntl.lockf(holder, fcntl.LOCK_EX)
    threading.Timer(0.6, holder.close).start()  # the other apt finishes and lets go
    dev.run_waiting_for_lock([sys.executable, str(fake), str(lock)], wait_s=30, poll_s=0.1)
    err = capsys.readouterr().err
    assert "holds the apt lock" in err and "waiting up to 30 s" in err and "carried on" in err
    assert err.count("holds the apt lock") == 1  # said once, not on every retry


def test_apt_lock_wait_is_bounded(tmp_path: Path) -> None:
    lock = tmp_path / "lock-frontend"
    fake = tmp_path / "fake_apt.py"
    fake.write_text(FAKE_APT)
    with open(lock, "a") as holder:
        fcntl.lockf(holder, fcntl.LOCK_EX)
        with pytest.raises(dev.SetupError, match="kept the apt lock for 0.3 s.*JASCO_APT_LOCK_WAIT"):
            dev.run_waiting_for_lock([sys.executable, str(fake), str(lock)], wait_s=0.3, poll_s=0.1)


def test_other_apt_failures_are_not_waited_for(tmp_path: Path) -> None:
    argv = [sys.executable, "-c", "import sys; print('E: Unable to locate package nosuchpkg', file=sys.stderr); "
            "sys.exit(100)"]
    with pytest.raises(dev.SetupError, match="Unable to locate package nosuchpkg"):
        dev.run_waiting_for_lock(argv, wait_s=30, poll_s=0.1)


def test_lock_messages_of_apt_versions() -> None:
    for text in ("E: Could not get lock /var/lib/apt/lists/lock. It is held by process 77 (apt-get)",
                 "E: Unable to lock directory /var/lib/apt/lists/",
                 "E: Unable to lock the administration directory (/var/lib/dpkg/), is another process using it?",
                 "E: Unable to acquire the dpkg frontend lock (/var/lib/dpkg/lock-frontend), is another process "
                 "using it?"):
        assert dev.is_apt_lock_error(text), text
    assert not dev.is_apt_lock_error("E: Unable to locate package foo")


def test_venv_programs_per_system() -> None:
    v = Path("env")
    assert dev.venv_bin(v, "python", "windows") == v / "Scripts" / "python.exe"
    assert dev.venv_bin(v, "jasco-bridge", "darwin") == v / "bin" / "jasco-bridge"
    assert [dev.system_name(p) for p in ("win32", "darwin", "linux", "cygwin")] == ["windows", "darwin", "linux",
                                                                                 "windows"]


def test_the_venv_running_these_tests_needs_nothing_more() -> None:
    """Idempotence on this very checkout: after `dev.py test` set up the venv, setup has nothing to do."""
    venv = Path(sys.executable).parents[1]
    want = dev.install_stamp((REPO / "pyproject.toml").read_bytes(), os.environ.get("JASCO_TORCH_SPEC") or
                             dev.DEFAULT_TORCH_SPEC, os.environ.get("JASCO_TORCH_INDEX", ""), dev.EXTRAS)
    stamp = dev.stamp_path(venv)
    if not stamp.is_file() or stamp.read_text().strip() != want:
        pytest.skip(f"{venv} was not set up by scripts/dev.py for this pyproject.toml")
    env = {**os.environ, "JASCO_VENV": str(venv)}
    out = subprocess.run([sys.executable, str(SCRIPT), "setup", "--dry-run"], capture_output=True, text=True,
                         env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "pip" not in out.stdout and "-m venv" not in out.stdout and "apt-get" not in out.stdout, out.stdout


def test_the_fast_lane_leaves_out_the_slow_tests(tmp_path: Path) -> None:
    out = dry_run(tmp_path, "test", "--fast", "--platform", "linux", "tests/core")
    python = tmp_path / "venv" / "bin" / "python"
    assert f"then  $ {python} -m pytest -q -n 2 --dist loadfile -m 'not slow and not serial' tests/core" in out
    assert f"and   $ {python} -m pytest -q -m 'not slow and serial' tests/core" in out


# --- the test command: a parallel phase, then the tests that measure time alone ----------------------------
def test_the_whole_suite_runs_in_two_phases_that_together_select_every_test() -> None:
    parallel, alone = dev.test_phases(Path("v"), "linux", [])
    assert parallel == ["v/bin/python", "-m", "pytest", "-q", "-n", "2", "--dist", "loadfile", "-m", "not serial"]
    assert alone == ["v/bin/python", "-m", "pytest", "-q", "-m", "serial"]
    fast = dev.test_phases(Path("v"), "windows", ["-x"], fast=True, workers=3)
    assert fast[0][0] == str(Path("v") / "Scripts" / "python.exe")
    assert fast[0][4:] == ["-n", "3", "--dist", "loadfile", "-m", "not slow and not serial", "-x"]
    assert fast[1][4:] == ["-m", "not slow and serial", "-x"]


def test_the_two_phases_select_each_collected_test_exactly_once(tmp_path: Path) -> None:
    """Against pytest itself: the marker expressions of both phases split this suite's own markers."""
    (tmp_path / "test_split.py").write_text(textwrap.dedent("""
        import pytest
        def test_plain(): pass
        @pytest.mark.slow
        def test_slow(): pass
        @pytest.mark.serial
        def test_serial(): pass
        @pytest.mark.slow
        @pytest.mark.serial
        def test_slow_serial(): pass
    """))
    class Selected:  # pytest itself, in this process (a pytest subprocess per selection took seconds each)
        def __init__(self) -> None:
            self.names: set[str] = set()

        def pytest_collection_finish(self, session: pytest.Session) -> None:
            self.names = {item.name for item in session.items}

    def collected(argv: list[str]) -> set[str]:
        words = [w for w in argv[4:] if w not in ("-n", "2", "--dist", "loadfile")]  # the selection only
        selected = Selected()
        code = pytest.main(["--co", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", "--rootdir", str(tmp_path),
                            "-c", str(tmp_path / "pytest.ini"), "-W", "ignore::pytest.PytestUnknownMarkWarning",
                            *words, str(tmp_path / "test_split.py")], plugins=[selected])
        assert code in (0, 5), code
        return selected.names
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    for fast, want in ((False, {"test_plain", "test_slow", "test_serial", "test_slow_serial"}),
                       (True, {"test_plain", "test_serial"})):
        first, second = (collected(argv) for argv in dev.test_phases(Path("v"), "linux", [], fast=fast))
        assert first | second == want and not first & second
        assert second == want & {"test_serial", "test_slow_serial"}


@pytest.mark.parametrize("extra", [["-m", "slow"], ["-mslow"], ["-n", "4"], ["-n4"], ["--numprocesses=4"],
                                   ["--dist", "load"], ["-p", "no:xdist"], ["tests/core", "-m", "not slow"]])
def test_words_that_choose_the_tests_or_workers_make_it_one_plain_run(extra: list[str]) -> None:
    assert dev.test_phases(Path("v"), "linux", extra) == [["v/bin/python", "-m", "pytest", "-q", *extra]]
    assert dev.test_phases(Path("v"), "linux", extra, fast=True) == [
        ["v/bin/python", "-m", "pytest", "-q", "-m", "not slow", *extra]]


def test_words_that_only_look_alike_keep_the_two_phases() -> None:
    for extra in (["--maxfail=2"], ["-k", "midi"], ["--durations=40"], ["tests/midi", "-x"]):
        assert len(dev.test_phases(Path("v"), "linux", extra)) == 2, extra


def test_the_phases_status_and_when_the_second_runs() -> None:
    assert dev.combined_status([0, 0]) == 0
    assert dev.combined_status([0, 5]) == 0 and dev.combined_status([5, 0]) == 0  # a phase with no test is fine
    assert dev.combined_status([5, 5]) == 5  # ... unless nothing was selected at all
    assert dev.combined_status([1, 0]) == 1 and dev.combined_status([0, 2]) == 2 and dev.combined_status([5, 1]) == 1
    ran: list[list[str]] = []

    def runner(codes: dict[str, int]):
        def run(argv):
            ran.append(list(argv))
            return codes[argv[-1]]
        return run

    phases = [["py", "-m", "pytest", "a"], ["py", "-m", "pytest", "b"]]
    assert dev.run_phases(phases, stop_on_failure=False, runner=runner({"a": 1, "b": 0})) == 1
    assert [argv[-1] for argv in ran] == ["a", "b"]  # a failure in the parallel phase: the serial one still runs
    ran.clear()
    assert dev.run_phases(phases, stop_on_failure=True, runner=runner({"a": 1, "b": 0})) == 1
    assert [argv[-1] for argv in ran] == ["a"]  # -x: stop at the first failing phase
    ran.clear()
    assert dev.run_phases(phases, stop_on_failure=True, runner=runner({"a": 5, "b": 0})) == 0
    assert [argv[-1] for argv in ran] == ["a", "b"]


def test_the_number_of_workers_comes_from_the_environment() -> None:
    assert dev.test_workers({}) == dev.DEFAULT_TEST_WORKERS == 2
    assert dev.test_workers({"JASCO_TEST_WORKERS": "4"}) == 4
    for bad in ("two", "0", "-1"):
        with pytest.raises(SystemExit, match="JASCO_TEST_WORKERS"):
            dev.test_workers({"JASCO_TEST_WORKERS": bad})


def test_the_real_test_command_runs_both_phases_and_passes_their_status_on(tmp_path: Path) -> None:
    """``dev.py test`` end to end on a stand-in venv whose python records its argv and fails the serial phase."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    log = tmp_path / "calls.txt"
    fake = venv / "bin" / "python"
    fake.write_text(f"#!{sys.executable}\nimport sys\nopen({str(log)!r}, 'a').write(' '.join(sys.argv[1:]) + '\\n')\n"
                    "sys.exit(3 if sys.argv[-1] == 'serial' else 0)\n")
    fake.chmod(0o755)
    pyproject = (REPO / "pyproject.toml").read_bytes()
    dev.stamp_path(venv).write_text(dev.install_stamp(pyproject, dev.DEFAULT_TORCH_SPEC, "", dev.EXTRAS) + "\n")
    env = {"PATH": os.environ["PATH"], "JASCO_VENV": str(venv), "HOME": str(tmp_path)}
    if sys.platform == "linux" and dev.missing_debian_packages(dev.APT_PACKAGES):
        pytest.skip("this machine lacks the Debian packages dev.py would install first")
    done = subprocess.run([sys.executable, str(SCRIPT), "test"], capture_output=True, text=True, env=env,
                          timeout=120)
    assert done.returncode == 3, done.stderr
    assert log.read_text().splitlines() == ["-m pytest -q -n 2 --dist loadfile -m not serial",
                                            "-m pytest -q -m serial"]
    assert "phase 1 of 2" in done.stderr and "phase 2 of 2" in done.stderr
