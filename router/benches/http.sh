#!/usr/bin/env bash
# HTTP requests/s of examples/hello.rs (hyperbun) against the same app written with axum
# (router/benches/axum-hello), measured with wrk on 127.0.0.1. See README.md next to this.
#
#   router/benches/http.sh            (from any directory; about a minute after the builds)
#
# Both servers run pinned to core 0 (`taskset -c 0`, so tokio starts one worker thread each),
# each on its own port; only one is under load at a time. wrk runs pinned to core 1, one
# thread and 64 connections. For each app and path: a 2 s warm-up run (discarded), then the
# measured run. With ROUNDS=N the measured runs are repeated N times, alternating the apps,
# and a summary (best and median requests/s) follows: interference from other processes
# only ever lowers a run, so on a busy machine the best of several runs is the fairer figure.
# The servers and wrk are stopped on exit, whatever the exit.
#
# Settings, from the environment (defaults shown):
#   DURATION=10s WARMUP=2s CONNECTIONS=64 ROUNDS=1 HYPERBUN_PORT=3101 AXUM_PORT=3102
#   SERVER_CPU=0 CLIENT_CPU=1
set -euo pipefail

DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
CONNECTIONS=${CONNECTIONS:-64}
ROUNDS=${ROUNDS:-1}
HYPERBUN_PORT=${HYPERBUN_PORT:-3101}
AXUM_PORT=${AXUM_PORT:-3102}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
APPS=(hyperbun axum)
PATHS=(/ /users/42)

script_dir=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
root=$(cd -- "$script_dir/../.." && pwd)
axum_dir="$script_dir/axum-hello"
out=$(mktemp -d "${TMPDIR:-/tmp}/hyperbun-http-bench.XXXXXX")

declare -A pid port
port[hyperbun]=$HYPERBUN_PORT
port[axum]=$AXUM_PORT
wrk_pid=
cleanup() {
    local p
    for p in $wrk_pid "${pid[@]}"; do
        kill "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '==> %s\n' "$*" >&2; }

# --- tools -------------------------------------------------------------------------------
if ! command -v wrk >/dev/null 2>&1; then
    log "installing wrk (apt-get)"
    sudo=
    if [[ $(id -u) -ne 0 ]]; then sudo="sudo -n"; fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq wrk >/dev/null
fi
for tool in taskset cargo; do
    command -v "$tool" >/dev/null 2>&1 || { echo "error: $tool not found" >&2; exit 1; }
done
if [[ $(nproc) -lt 2 ]]; then
    echo "warning: fewer than 2 CPUs; server and wrk will share a core" >&2
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
    PORT=$p RUST_LOG=${RUST_LOG:-info} taskset -c "$SERVER_CPU" "${bin[$app]}" >"$out/$app.log" 2>&1 &
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
run_wrk() { # duration url output-file
    # In the background and waited for, so that a signal stops the script (and wrk) at once.
    taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNECTIONS" -d"$1" --latency "$2" >"$3" &
    wrk_pid=$!
    wait "$wrk_pid"
    wrk_pid=
}

# CPU time (user + system, in clock ticks) a server process has used so far.
server_ticks() { awk '{ print $14 + $15 }' "/proc/${pid[$1]}/stat"; }
clk_tck=$(getconf CLK_TCK)

# One row per measured run: req/s, average, p50 and p99 latency, the server's CPU time per
# request (user + kernel; unlike req/s it does not depend on how busy wrk's core is), and
# errors (socket errors plus non-2xx answers).
row_format='%-9s %-10s %5s %12s %10s %10s %10s %14s %7s\n'
rows=()
measure() { # app path round
    local app=$1 path=$2 round=$3 url file ticks
    url="http://127.0.0.1:${port[$app]}$path"
    file="$out/$app-$(echo "$path" | tr '/' '_')-$round.txt"
    if [[ $round -eq 1 ]]; then
        log "$app $path: warm-up $WARMUP"
        run_wrk "$WARMUP" "$url" /dev/null
    fi
    log "$app $path: run $round of $ROUNDS, $DURATION"
    ticks=$(server_ticks "$app")
    run_wrk "$DURATION" "$url" "$file"
    ticks=$(($(server_ticks "$app") - ticks))
    rows+=("$(awk -v app="$app" -v path="$path" -v round="$round" -v ticks="$ticks" \
        -v tck="$clk_tck" -v fmt="$row_format" '
        /^ *Latency / && !avg { avg = $2 }
        /^ *50% / { p50 = $2 }
        /^ *99% / { p99 = $2 }
        / requests in / { requests = $1 }
        /^Requests\/sec:/ { rps = $2 }
        /Socket errors:/ { errors += $4 + $6 + $8 + $10 }
        /Non-2xx or 3xx responses:/ { errors += $5 }
        END {
            cpu = requests > 0 ? ticks / tck * 1e6 / requests : 0
            printf fmt, app, path, round, sprintf("%.0f", rps), avg, p50, p99, sprintf("%.2f", cpu), errors + 0
        }
    ' "$file")")
}

for round in $(seq "$ROUNDS"); do
    for path in "${PATHS[@]}"; do
        for app in "${APPS[@]}"; do measure "$app" "$path" "$round"; done
    done
done

# --- report ------------------------------------------------------------------------------
echo
echo "wrk -t1 -c$CONNECTIONS -d$DURATION, servers on CPU $SERVER_CPU, wrk on CPU $CLIENT_CPU ($(date -u +%Y-%m-%dT%H:%MZ))"
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
echo "raw wrk output and server logs: $out"
