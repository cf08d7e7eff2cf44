#!/usr/bin/env bash
# Installs the Python client of the interop tests (`websockets`, see requirements.lock) into a
# virtualenv under ${XDG_CACHE_HOME:-~/.cache}/hyperbun-interop and prints the path of its
# python. A stamp holding the hash of requirements.lock makes a re-run a no-op, so every test
# that needs the client may call it. PYTHON3=/path/to/python3 picks the interpreter (3.10 or
# newer); otherwise python3 on PATH.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
lock=$here/requirements.lock
state=${XDG_CACHE_HOME:-$HOME/.cache}/hyperbun-interop
python=$state/venv/bin/python
key=$(sha256sum "$lock" | cut -d' ' -f1)

installed() { [[ -x $python && $(cat "$state/stamp" 2>/dev/null) == "$key" ]]; }
if installed; then echo "$python"; exit 0; fi

mkdir -p "$state"
exec 9>"$state/lock"
flock 9                                   # one installer at a time (tests run in parallel)
if installed; then echo "$python"; exit 0; fi

usable() { [[ -n $1 ]] && "$1" -c 'import sys, venv, ensurepip; assert sys.version_info >= (3, 10)' 2>/dev/null; }
py3=${PYTHON3:-$(command -v python3 || true)}
if ! usable "$py3" && [[ -z ${PYTHON3:-} ]] && command -v apt-get >/dev/null; then
    echo "tests/interop/setup.sh: installing python3-venv with apt-get" >&2
    sudo=$([[ $(id -u) == 0 ]] || echo sudo)
    $sudo apt-get update -qq >&2 && $sudo apt-get install -y -qq python3 python3-venv >&2
    py3=/usr/bin/python3
fi
if ! usable "$py3"; then
    cat >&2 <<'MSG'
tests/interop/setup.sh: no Python 3.10+ with venv and ensurepip found.
Install one (Debian: `apt-get install python3 python3-venv`), or point PYTHON3 at it.
MSG
    exit 1
fi
echo "tests/interop/setup.sh: installing $(grep -v '^#' "$lock" | tr '\n' ' ')with $py3 into $state" >&2
cd "$state"
rm -rf stamp venv
"$py3" -m venv venv
venv/bin/pip install -q --disable-pip-version-check -r "$lock" >&2
echo "$key" >stamp
echo "$python"
