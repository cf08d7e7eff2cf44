#!/usr/bin/env bash
# Installs redis-server and redis-cli (Debian packages `redis-server` and `redis-tools`, built
# with TLS) when either is missing or cannot speak TLS, for the Redis backplane tests
# (tests/support/redis.rs), and prints the server's path. Idempotent; one installer at a
# time (tests run in parallel). REDIS_SERVER=/path/to/redis-server picks another binary; its
# redis-cli is the one beside it, or else the one on PATH.
set -euo pipefail
server=${REDIS_SERVER:-$(command -v redis-server || echo /usr/bin/redis-server)}
cli() {
    if [[ -x ${server%/*}/redis-cli ]]; then echo "${server%/*}/redis-cli"; else command -v redis-cli; fi
}
# Redis 7 (sharded pub/sub; redis-cli's -e) built with TLS. TLS is a build option: a server
# built without it has no `tls-port` directive, so its config error names that line rather
# than the bogus one after it (nothing is started, no port is taken); a redis-cli built
# without it, or older than 7, rejects `--tls` or `-e`.
server_ok() {
    [[ $("$server" --version) =~ v=([0-9]+)\. ]] && (( BASH_REMATCH[1] >= 7 )) &&
        { timeout 10 "$server" --port 0 --tls-port 0 --hyperbun-tls-probe yes 2>&1 || true; } |
        grep -qF ">>> 'hyperbun-tls-probe"
}
ready() {
    local c
    [[ -x $server ]] && server_ok && c=$(cli) && "$c" -e --tls --version >/dev/null 2>&1
}
if ready; then echo "$server"; exit 0; fi

state=${XDG_CACHE_HOME:-$HOME/.cache}/hyperbun-interop
mkdir -p "$state"
exec 9>"$state/redis.lock"
flock 9
if ready; then echo "$server"; exit 0; fi
if [[ -n ${REDIS_SERVER:-} ]]; then
    echo "tests/interop/setup-redis.sh: REDIS_SERVER=$server is not a redis-server 7 built" \
         "with TLS, or has no such redis-cli beside it or on PATH" >&2
    exit 1
fi
if ! command -v apt-get >/dev/null; then
    echo "tests/interop/setup-redis.sh: no redis-server and redis-cli 7 built with TLS at" \
         "$server, and no apt-get to install them; install Redis (7.0 or later, with TLS)," \
         "or point REDIS_SERVER at its redis-server" >&2
    exit 1
fi
echo "tests/interop/setup-redis.sh: installing redis-server and redis-tools with apt-get" >&2
sudo=$([[ $(id -u) == 0 ]] || echo sudo)
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >&2
$sudo apt-get install -y -qq --no-install-recommends redis-server redis-tools >&2
server=/usr/bin/redis-server
ready || {
    echo "tests/interop/setup-redis.sh: still no redis-server and redis-cli 7 with TLS after" \
         "apt-get" >&2
    exit 1
}
echo "$server"
