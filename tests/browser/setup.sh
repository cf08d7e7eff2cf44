#!/usr/bin/env bash
# Installs Chromium and its WebDriver (Debian packages `chromium`, `chromium-driver`) when
# missing, for the browser tests of the chat and cluster examples, and prints the two paths:
#   /usr/bin/chromium /usr/bin/chromedriver
# Idempotent; one installer at a time (tests run in parallel). CHROMIUM and CHROMEDRIVER
# point at other binaries instead.
set -euo pipefail
chromium=${CHROMIUM:-/usr/bin/chromium}
driver=${CHROMEDRIVER:-/usr/bin/chromedriver}
ready() { [[ -x $chromium && -x $driver ]]; }
if ready; then echo "$chromium $driver"; exit 0; fi

state=${XDG_CACHE_HOME:-$HOME/.cache}/hyperbun-browser
mkdir -p "$state"
exec 9>"$state/lock"
flock 9
if ready; then echo "$chromium $driver"; exit 0; fi
if ! command -v apt-get >/dev/null; then
    echo "tests/browser/setup.sh: no $chromium or $driver, and no apt-get to install them;" \
         "install Chromium and chromedriver, or set CHROMIUM and CHROMEDRIVER" >&2
    exit 1
fi
echo "tests/browser/setup.sh: installing chromium and chromium-driver with apt-get" >&2
sudo=$([[ $(id -u) == 0 ]] || echo sudo)
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >&2
$sudo apt-get install -y -qq --no-install-recommends chromium chromium-driver >&2
ready || { echo "tests/browser/setup.sh: still no $chromium and $driver after apt-get" >&2; exit 1; }
echo "$chromium $driver"
