"""Run many ``jasco-bridge`` command lines in one process (imports paid once) and report each.

Reads a JSON list of ``[name, argv]`` from stdin; runs ``bridge.cli.main(argv)`` for each with
stderr captured and a SIGALRM deadline (a hang is reported, not waited on); writes a JSON list
of ``[name, exit status, stderr]`` to stdout. An exception escaping ``main`` is printed as the
traceback Python would print, so the caller sees exactly what a user would.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import tempfile
import traceback


class Hung(BaseException):
    pass


def _alarm(signum: int, frame: object) -> None:
    raise Hung()


def main() -> int:
    from bridge.cli import main as cli_main

    cases = json.load(sys.stdin)
    deadline = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    signal.signal(signal.SIGALRM, _alarm)
    results = []
    out_fd = os.dup(1)  # the report goes here; the cases' stdout (and their children's) to /dev/null
    err_fd = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    for name, argv in cases:
        with tempfile.TemporaryFile() as err:  # fd 2 itself, so child processes' stderr is caught too
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(devnull, 1)
            os.dup2(err.fileno(), 2)
            signal.alarm(deadline)
            try:
                rc = cli_main(argv)
            except Hung:
                rc = -1
                print(f"hung for {deadline} s", file=sys.stderr)
            except SystemExit as exc:
                rc = exc.code if isinstance(exc.code, int) else 1
            except BaseException:  # noqa: BLE001 - what escapes main is the finding
                rc = 1
                traceback.print_exc()
            finally:
                signal.alarm(0)
                sys.stdout.flush()
                sys.stderr.flush()
                os.dup2(err_fd, 2)
            err.seek(0)
            results.append([name, rc, err.read().decode("utf-8", "replace")])
    os.dup2(out_fd, 1)
    sys.stdout.write(json.dumps(results))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
