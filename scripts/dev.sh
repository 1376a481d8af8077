#!/usr/bin/env bash
# Thin wrapper kept for existing habits and scripts: the work is done by scripts/dev.py,
# which runs the same on Linux, macOS and Windows (see its docstring and the README).
#
#   bash scripts/dev.sh run|test|setup [args...]  ==  python3 scripts/dev.py run|test|setup [args...]
set -euo pipefail
exec "${PYTHON:-python3}" "$(dirname "$0")/dev.py" "$@"
