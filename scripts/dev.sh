#!/usr/bin/env bash
# jasco-bridge developer entry point: idempotent setup, then run or test.
#
#   bash scripts/dev.sh run    # set up, start the bridge, render a demo clip
#   bash scripts/dev.sh test   # set up, run the whole test suite
#   bash scripts/dev.sh setup  # only set up
#
# Setup: Debian packages (liblo-tools, jackd2, libportaudio2, nodejs) when apt is
# available and we may use it, a virtual environment in .venv, torch 2.13.0 (the
# CPU build where pip finds one), and the project with its test extras. Every
# step is skipped when already done, so running it twice is cheap.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
VENV=${JASCO_VENV:-$ROOT/.venv}
PY=${PYTHON:-python3}
TORCH_SPEC=${JASCO_TORCH_SPEC:-torch==2.13.0}
APT_PACKAGES=(liblo-tools jackd2 libportaudio2 nodejs libsndfile1)

log() { printf '\033[1m[jasco-bridge]\033[0m %s\n' "$*" >&2; }

setup_apt() {
    local missing=()
    for pkg in "${APT_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if ! command -v apt-get >/dev/null; then
        log "not a Debian/Ubuntu system: install ${missing[*]} (or equivalents) yourself"
        return 0
    fi
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null; then sudo=(sudo); else
            log "missing ${missing[*]} and no root/sudo: install them, then run again"; return 0
        fi
    fi
    log "installing Debian packages: ${missing[*]}"
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

setup_python() {
    if [ ! -x "$VENV/bin/python" ]; then
        log "creating virtual environment $VENV"
        "$PY" -m venv "$VENV"
    fi
    local stamp="$VENV/.jasco-installed"
    local want
    want=$(cat pyproject.toml <(echo "$TORCH_SPEC") | sha256sum | cut -d' ' -f1)
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        return 0
    fi
    log "installing $TORCH_SPEC (CPU build where available) and jasco-bridge[test,audition,remote]"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check "$TORCH_SPEC"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e ".[test,audition,remote]"
    echo "$want" > "$stamp"
}

setup() {
    setup_apt
    setup_python
}

official_model_cached() {
    "$VENV/bin/python" - <<'PYEOF'
import sys
try:
    from huggingface_hub import try_to_load_from_cache
except ImportError:
    sys.exit(1)
hit = try_to_load_from_cache("facebook/jasco-chords-drums-400M", "state_dict.bin")
sys.exit(0 if isinstance(hit, str) else 1)
PYEOF
}

cmd=${1:-}
shift || true
case "$cmd" in
    setup)
        setup
        ;;
    run)
        setup
        if official_model_cached; then
            model=facebook/jasco-chords-drums-400M
        else
            model=tiny
            log "no official checkpoint cached: using the embedded TINY RANDOM model, which MAKES NOISE."
            log "for music, download facebook/jasco-chords-drums-400M (see README: Getting the official weights)."
        fi
        exec "$VENV/bin/jasco-bridge" serve --model "$model" --demo "$@"
        ;;
    test)
        setup
        exec "$VENV/bin/python" -m pytest -q "$@"
        ;;
    *)
        echo "usage: bash scripts/dev.sh {run|test|setup} [args...]" >&2
        exit 64
        ;;
esac
