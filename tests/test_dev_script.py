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
    assert f"{tmp_path / 'venv' / 'bin' / 'python'} -m pytest -q -x tests/core" in out


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
    assert f"{tmp_path / 'venv' / 'bin' / 'python'} -m pytest -q -m not slow tests/core" in out
