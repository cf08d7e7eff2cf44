#!/usr/bin/env bash
# Installs Autobahn|Testsuite (wstest) into a Python 2.7 virtualenv under
# ${XDG_CACHE_HOME:-~/.cache}/hyperbun-autobahn and prints the path of wstest.
# A stamp holding the hash of requirements-py27.lock makes a re-run a no-op.
# PY27=/path/to/python2.7 picks the interpreter; otherwise python2.7 on PATH, pyenv's 2.7.x,
# /usr/bin/python2.7 are tried in that order.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
lock=$here/requirements-py27.lock
state=${XDG_CACHE_HOME:-$HOME/.cache}/hyperbun-autobahn
wstest=$state/venv/bin/wstest
key=$(sha256sum "$lock" | cut -d' ' -f1)

installed() { [[ -x $wstest && $(cat "$state/stamp" 2>/dev/null) == "$key" ]]; }
if installed; then echo "$wstest"; exit 0; fi

mkdir -p "$state"
exec 9>"$state/lock"
flock 9                                   # one installer at a time
if installed; then echo "$wstest"; exit 0; fi

py27=${PY27:-}
if [[ -z $py27 ]]; then
    for c in "$(command -v python2.7 || true)" \
             "$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")"/versions/2.7*/bin/python2.7 \
             /usr/bin/python2.7; do
        if [[ -n $c && -x $c ]] && "$c" -c 'import ssl, zlib' 2>/dev/null; then py27=$c; break; fi
    done
fi
if [[ -z $py27 ]]; then
    cat >&2 <<'EOF'
tests/autobahn/setup.sh: no CPython 2.7 (with ssl and zlib) found.
The Autobahn|Testsuite on PyPI runs on Python 2.7 only. Install one, e.g. `pyenv install 2.7.18`,
or point PY27 at a python2.7 binary.
EOF
    exit 1
fi
echo "tests/autobahn/setup.sh: installing wstest with $py27 into $state" >&2

cd "$state"
rm -f stamp
# virtualenv < 20.22 is the last release that creates Python 2.7 environments.
if [[ ! -x tool/bin/virtualenv ]]; then
    rm -rf tool
    python3 -m venv tool
    tool/bin/pip install -q --disable-pip-version-check 'virtualenv<20.22' >&2
fi
rm -rf venv
tool/bin/virtualenv -q -p "$py27" venv >&2
# --no-deps: the lock is complete, and autobahntestsuite's own metadata pins a setuptools
# that conflicts with the one virtualenv seeds.
venv/bin/pip install -q --disable-pip-version-check --no-python-version-warning \
    --no-deps -r "$lock" >&2
venv/bin/wstest --autobahnversion >&2
echo "$key" >stamp
echo "$wstest"
