#!/usr/bin/env bash
# Installs curl (Debian package `curl`, built with nghttp2 for HTTP/2) when it is missing or
# cannot speak HTTP/2, for the HTTPS tests of tests/tls.rs, and prints its path. Idempotent;
# one installer at a time (tests run in parallel). CURL=/path/to/curl picks another binary.
set -euo pipefail
curl=${CURL:-$(command -v curl || echo /usr/bin/curl)}
ready() { [[ -x $curl ]] && "$curl" --version | grep -qw HTTP2; }
if ready; then echo "$curl"; exit 0; fi

state=${XDG_CACHE_HOME:-$HOME/.cache}/hyperbun-interop
mkdir -p "$state"
exec 9>"$state/curl.lock"
flock 9
if ready; then echo "$curl"; exit 0; fi
if [[ -n ${CURL:-} ]] || ! command -v apt-get >/dev/null; then
    echo "tests/interop/setup-curl.sh: no curl with HTTP/2 at $curl, and no apt-get to install" \
         "one; install curl (with nghttp2), or point CURL at it" >&2
    exit 1
fi
echo "tests/interop/setup-curl.sh: installing curl with apt-get" >&2
sudo=$([[ $(id -u) == 0 ]] || echo sudo)
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >&2
$sudo apt-get install -y -qq --no-install-recommends curl ca-certificates >&2
curl=/usr/bin/curl
ready || { echo "tests/interop/setup-curl.sh: still no curl with HTTP/2 after apt-get" >&2; exit 1; }
echo "$curl"
