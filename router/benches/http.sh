#!/usr/bin/env bash
# HTTP requests/s of examples/hello.rs (hyperbun) against the same app written with axum
# (router/benches/axum-hello), on 127.0.0.1, over HTTP/1.1 (wrk) or HTTP/2 (h2load), in
# cleartext or TLS. See README.md next to this.
#
#   router/benches/http.sh                    HTTP/1.1, cleartext (about a minute after the builds)
#   PROTO=h2 router/benches/http.sh           HTTP/2 with prior knowledge (h2c), cleartext
#   TLS=1 router/benches/http.sh              HTTP/1.1 over TLS (https://)
#   PROTO=h2 TLS=1 router/benches/http.sh     HTTP/2 over TLS, negotiated by ALPN
#   LAYERS=cors-trace router/benches/http.sh  both apps behind tower-http's CORS and trace
#                                             layers (LAYERS=noop: tower's Identity layer)
#
# (from any directory). Both servers run pinned to core 0 (`taskset -c 0`, so tokio starts
# one worker thread each), each on its own port; only one is under load at a time. The client
# runs pinned to core 1 with one thread and 64 connections: `wrk -t1 -c64` for PROTO=h1,
# `h2load -t1 -c64 -m10` (10 concurrent streams per connection) for PROTO=h2. With TLS=1 a
# self-signed certificate (ECDSA P-256) is made in the temporary directory and both servers
# serve HTTPS with it (TLS_CERT, TLS_KEY), HTTP/1.1 and HTTP/2 by ALPN. For each app and
# path: a 2 s warm-up run (discarded), then the measured run. With ROUNDS=N the measured runs are repeated N times, alternating the apps,
# and a summary (best and median requests/s) follows: interference from other processes
# only ever lowers a run, so on a busy machine the best of several runs is the fairer figure.
# The servers and the client are stopped on exit, whatever the exit.
#
# Settings, from the environment (defaults shown):
#   PROTO=h1 TLS=0 LAYERS=none DURATION=10s WARMUP=2s CONNECTIONS=64 STREAMS=10 ROUNDS=1
#   HYPERBUN_PORT=3101 AXUM_PORT=3102 SERVER_CPU=0 CLIENT_CPU=1
# (STREAMS: h2load's -m, the concurrent streams per connection under PROTO=h2.)
set -euo pipefail

PROTO=${PROTO:-h1}
TLS=${TLS:-0}
LAYERS=${LAYERS:-none}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
CONNECTIONS=${CONNECTIONS:-64}
STREAMS=${STREAMS:-10}
ROUNDS=${ROUNDS:-1}
HYPERBUN_PORT=${HYPERBUN_PORT:-3101}
AXUM_PORT=${AXUM_PORT:-3102}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
APPS=(hyperbun axum)
PATHS=(/ /users/42)
case $PROTO in
    h1) client=wrk package=wrk ;;
    h2) client=h2load package=nghttp2-client ;;
    *) echo "error: PROTO must be h1 or h2, not '$PROTO'" >&2; exit 1 ;;
esac
case $LAYERS in
    none | noop | cors-trace) ;;
    *) echo "error: LAYERS must be none, noop or cors-trace, not '$LAYERS'" >&2; exit 1 ;;
esac
case $TLS in
    0) scheme=http ;;
    1) scheme=https ;;
    *) echo "error: TLS must be 0 or 1, not '$TLS'" >&2; exit 1 ;;
esac

script_dir=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
root=$(cd -- "$script_dir/../.." && pwd)
axum_dir="$script_dir/axum-hello"
out=$(mktemp -d "${TMPDIR:-/tmp}/hyperbun-http-bench.XXXXXX")

declare -A pid port
port[hyperbun]=$HYPERBUN_PORT
port[axum]=$AXUM_PORT
client_pid=
cleanup() {
    local p
    for p in $client_pid "${pid[@]}"; do
        kill "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '==> %s\n' "$*" >&2; }

# --- tools -------------------------------------------------------------------------------
if ! command -v "$client" >/dev/null 2>&1; then
    log "installing $client ($package, apt-get)"
    sudo=
    if [[ $(id -u) -ne 0 ]]; then sudo="sudo -n"; fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$package" >/dev/null
fi
tools=(taskset cargo)
if [[ $TLS == 1 ]]; then tools+=(openssl); fi
for tool in "${tools[@]}"; do
    command -v "$tool" >/dev/null 2>&1 || { echo "error: $tool not found" >&2; exit 1; }
done
if [[ $(nproc) -lt 2 ]]; then
    echo "warning: fewer than 2 CPUs; server and $client will share a core" >&2
fi

# --- certificate -------------------------------------------------------------------------
# Self-signed, for 127.0.0.1 and localhost: an ECDSA P-256 key (PKCS#8, as genpkey writes
# it) and its certificate. Neither wrk nor h2load verifies it.
server_env=()
if [[ $TLS == 1 ]]; then
    log "making a self-signed certificate (ECDSA P-256) in $out"
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$out/key.pem" 2>/dev/null
    openssl req -x509 -new -key "$out/key.pem" -out "$out/cert.pem" -days 2 -subj /CN=localhost \
        -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" 2>/dev/null
    server_env=(TLS_CERT="$out/cert.pem" TLS_KEY="$out/key.pem")
fi

# --- builds ------------------------------------------------------------------------------
log "building examples/hello (release)"
(cd "$root" && cargo build --release --quiet --example hello)
log "building axum-hello (release)"
cargo build --release --quiet --manifest-path "$axum_dir/Cargo.toml"

target_dir() { # the cargo target directory of the manifest in $1
    cargo metadata --format-version 1 --no-deps --manifest-path "$1" |
        sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p'
}
declare -A bin
bin[hyperbun]="$(target_dir "$root/Cargo.toml")/release/examples/hello"
bin[axum]="$(target_dir "$axum_dir/Cargo.toml")/release/axum-hello"

# --- servers -----------------------------------------------------------------------------
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start_server() { # app
    local app=$1 p=${port[$1]}
    if port_open "$p"; then
        echo "error: port $p is already in use (set ${app^^}_PORT)" >&2
        exit 1
    fi
    env PORT="$p" RUST_LOG="${RUST_LOG:-info}" HELLO_LAYERS="$LAYERS" "${server_env[@]}" \
        taskset -c "$SERVER_CPU" "${bin[$app]}" >"$out/$app.log" 2>&1 &
    pid[$app]=$!
    for _ in $(seq 100); do
        port_open "$p" && return 0
        kill -0 "${pid[$app]}" 2>/dev/null || break
        sleep 0.1
    done
    echo "error: $app did not start listening on port $p; its log:" >&2
    cat "$out/$app.log" >&2
    exit 1
}

for app in "${APPS[@]}"; do start_server "$app"; done

# --- load --------------------------------------------------------------------------------
run_client() { # duration url output-file
    # In the background and waited for, so that a signal stops the script (and the client)
    # at once.
    if [[ $PROTO == h1 ]]; then
        taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNECTIONS" -d"$1" --latency "$2" >"$3" &
    else
        taskset -c "$CLIENT_CPU" h2load -t1 -c"$CONNECTIONS" -m"$STREAMS" -D"$1" "$2" >"$3" &
    fi
    client_pid=$!
    wait "$client_pid"
    client_pid=
}

# CPU time (user + system, in clock ticks) a server process has used so far.
server_ticks() { awk '{ print $14 + $15 }' "/proc/${pid[$1]}/stat"; }
clk_tck=$(getconf CLK_TCK)

# Each parser prints: requests/s, average, p50 and p99 latency, requests completed, errors.
# wrk: errors are socket errors plus non-2xx/3xx answers.
parse_wrk() {
    awk '
        /^ *Latency / && !avg { avg = $2 }
        /^ *50% / { p50 = $2 }
        /^ *99% / { p99 = $2 }
        / requests in / { requests = $1 }
        /^Requests\/sec:/ { rps = $2 }
        /Socket errors:/ { errors += $4 + $6 + $8 + $10 }
        /Non-2xx or 3xx responses:/ { errors += $5 }
        END { print rps, avg, p50, p99, requests + 0, errors + 0 }
    ' "$1"
}
# h2load gives no percentiles (p50 and p99 are "-"); the average is its mean "time for
# request". Errors: its `failed` (which already counts `errored`, i.e. network errors and
# reset streams, and the 4xx/5xx answers) plus the 3xx answers, so every request that did
# not end in a 2xx.
parse_h2load() {
    awk '
        /^finished in / { rps = $4 }
        /^requests: / { requests = $6; failed = $10 }
        /^status codes: / { non2xx3xx = $5 }
        /^time for request:/ { avg = $6 }
        END { print rps, avg, "-", "-", requests + 0, failed + non2xx3xx }
    ' "$1"
}

# h2load reports the protocol it spoke; under PROTO=h2 it must be HTTP/2 (h2c in cleartext,
# h2 by ALPN over TLS), not a fallback to HTTP/1.1.
check_h2() { # app output-file
    local want=h2c got
    if [[ $TLS == 1 ]]; then want=h2; fi
    got=$(sed -n 's/^Application protocol: *//p' "$2" | head -n1)
    if [[ $got != "$want" ]]; then
        echo "error: $1 answered h2load with '${got:-no protocol}', not $want; its output:" >&2
        cat "$2" >&2
        exit 1
    fi
}

# One row per measured run: req/s, average, p50 and p99 latency, the server's CPU time per
# request (user + kernel; unlike req/s it does not depend on how busy the client's core is),
# and errors (see the parsers).
row_format='%-9s %-10s %5s %12s %10s %10s %10s %14s %7s\n'
rows=()
measure() { # app path round
    local app=$1 path=$2 round=$3 url file ticks rps avg p50 p99 requests errors
    url="$scheme://127.0.0.1:${port[$app]}$path"
    file="$out/$app-$(echo "$path" | tr '/' '_')-$round.txt"
    if [[ $round -eq 1 ]]; then
        log "$app $path: warm-up $WARMUP"
        run_client "$WARMUP" "$url" "$file"
        if [[ $PROTO == h2 ]]; then check_h2 "$app" "$file"; fi
    fi
    log "$app $path: run $round of $ROUNDS, $DURATION"
    ticks=$(server_ticks "$app")
    run_client "$DURATION" "$url" "$file"
    ticks=$(($(server_ticks "$app") - ticks))
    if [[ $PROTO == h2 ]]; then check_h2 "$app" "$file"; fi
    read -r rps avg p50 p99 requests errors < <("parse_$client" "$file")
    # shellcheck disable=SC2059
    rows+=("$(printf "$row_format" "$app" "$path" "$round" "$(printf '%.0f' "$rps")" \
        "$avg" "$p50" "$p99" "$(awk -v t="$ticks" -v tck="$clk_tck" -v n="$requests" \
            'BEGIN { printf "%.2f", (n > 0 ? t / tck * 1e6 / n : 0) }')" "$errors")")
}

for round in $(seq "$ROUNDS"); do
    for path in "${PATHS[@]}"; do
        for app in "${APPS[@]}"; do measure "$app" "$path" "$round"; done
    done
done

# --- report ------------------------------------------------------------------------------
echo
if [[ $PROTO == h1 ]]; then
    title="HTTP/1.1, wrk -t1 -c$CONNECTIONS -d$DURATION"
else
    title="HTTP/2, h2load -t1 -c$CONNECTIONS -m$STREAMS -D$DURATION"
fi
if [[ $TLS == 1 ]]; then title+=", TLS ($scheme://, self-signed ECDSA P-256)"; else title+=", cleartext"; fi
echo "$title; servers on CPU $SERVER_CPU, $client on CPU $CLIENT_CPU ($(date -u +%Y-%m-%dT%H:%MZ))"
# shellcheck disable=SC2059
printf "$row_format" app path run "requests/s" "lat avg" "lat p50" "lat p99" "srv CPU us/req" errors
printf '%s\n' "${rows[@]}"
if [[ $ROUNDS -gt 1 ]]; then
    echo
    echo "over $ROUNDS runs:"
    printf '%-9s %-10s %12s %12s %16s\n' app path "best req/s" "median req/s" "median us/req"
    printf '%s\n' "${rows[@]}" | sort -k1,1r -k2,2 -k4,4n | awk '
        function flush() {
            if (n) printf "%-9s %-10s %12s %12s %16.2f\n", app, path, rps[n], rps[int((n + 1) / 2)], median(cpu, n)
        }
        function median(a, m,   i, j, t, b) {
            for (i = 1; i <= m; i++) b[i] = a[i]
            for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (b[j] < b[i]) { t = b[i]; b[i] = b[j]; b[j] = t }
            return b[int((m + 1) / 2)]
        }
        $1 != app || $2 != path { flush(); app = $1; path = $2; n = 0 }
        { n++; rps[n] = $4; cpu[n] = $(NF - 1) }
        END { flush() }
    '
fi
echo
echo "raw $client output and server logs: $out"
