#!/usr/bin/env bash
# Fan-out through the Redis backplane: examples/bench_server's chat room (`/ws`, publish to
# self) under wsbench's pub/sub load, in three set-ups, alternated round by round:
#
#   one        one bench_server, topics in process (no Redis): the baseline
#   one+redis  one bench_server on the backplane (REDIS_URL): every publish also goes to Redis
#              and comes back (skipped as its own), so this is the backplane's cost on a node
#   two        two bench_servers on the backplane, both bound to the one port (REUSE_PORT=1),
#              so the kernel splits wsbench's connections between them; a publish is delivered
#              by its own node and, through Redis, by the other
#
# Every server process and redis-server run pinned to SERVER_CPU (one core for all of them, as
# the issue asks: "both nodes pinned to the same core set"); wsbench runs on CLIENT_CPU. Each run
# is a fresh set of processes. Prints one line per run (deliveries/s, p99 latency, undelivered,
# machine CPU) and, at the end, the median of each set-up.
#
#   router/benches/backplane.sh target/release/examples/bench_server
#   WSBENCH=… CONNS=500 SENDERS=4 ROUNDS=3 DURATION=10 router/benches/backplane.sh BINARY
#
# wsbench is ../shared/tools/wsbench (built in ~/.cache/wsbench-target by its compare.sh);
# WSBENCH names another binary. redis-server comes from tests/interop/setup-redis.sh.
set -euo pipefail

binary=${1:?usage: backplane.sh BENCH_SERVER_BINARY}
binary=$(realpath "$binary")
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WSBENCH=${WSBENCH:-$HOME/.cache/wsbench-target/release/wsbench}
CONNS=${CONNS:-500}
SENDERS=${SENDERS:-4}
SIZE=${SIZE:-64}
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-3}
SETUPS=${SETUPS:-one one+redis two}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
PORT=${PORT:-4101}
REDIS_PORT=${REDIS_PORT:-6401}

[[ -x $WSBENCH ]] || { echo "no wsbench at $WSBENCH (run ../shared/tools/wsbench/compare.sh once, or set WSBENCH)" >&2; exit 1; }
redis_server=$(bash "$here/../../tests/interop/setup-redis.sh")
out=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap 'cleanup; rm -rf "$out"' EXIT

wait_port() {
    for _ in $(seq 200); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.05
    done
    echo "nothing listens on $1" >&2
    return 1
}

# Starts the set-up $1; sets `watch` to the pid wsbench reports the CPU of.
start() {
    pids=()
    local redis_url=""
    if [[ $1 != one ]]; then
        taskset -c "$SERVER_CPU" "$redis_server" --port "$REDIS_PORT" --bind 127.0.0.1 --save "" \
            --appendonly no --dir "$out" >"$out/redis.log" 2>&1 &
        pids+=($!)
        wait_port "$REDIS_PORT"
        redis_url=redis://127.0.0.1:$REDIS_PORT
    fi
    local nodes=1 reuse=0
    [[ $1 == two ]] && nodes=2 reuse=1
    local env=(PORT="$PORT" REUSE_PORT="$reuse")
    [[ -n $redis_url ]] && env+=(REDIS_URL="$redis_url")
    for _ in $(seq "$nodes"); do
        env -u REDIS_URL "${env[@]}" taskset -c "$SERVER_CPU" "$binary" >>"$out/server.log" 2>&1 &
        pids+=($!)
        wait_port "$PORT"
    done
    # The nodes connect to Redis in the background.
    [[ -n $redis_url ]] && sleep 1
    watch=${pids[-1]}
}

declare -A results
for round in $(seq "$ROUNDS"); do
    for setup in $SETUPS; do
        start "$setup"
        json=$(taskset -c "$CLIENT_CPU" "$WSBENCH" pubsub --url "ws://127.0.0.1:$PORT/ws" \
            --conns "$CONNS" --senders "$SENDERS" --size "$SIZE" --duration "$DURATION" \
            --server-pid "$watch" 2>>"$out/wsbench.log" | tail -n1)
        cleanup
        line=$(python3 -c '
import json, sys
r = json.loads(sys.argv[1])
print("%.0f %s %s %.0f %s" % (r["deliveries_per_s"], r["latency_us"]["p99"], r["undelivered"], r["machine_cpu_pct"], r["ok"]))
' "$json")
        read -r rate p99 undelivered cpu ok <<<"$line"
        printf '%-10s round %d: %12s deliveries/s  p99 %8s us  undelivered %s  machine CPU %s%%  ok=%s\n' \
            "$setup" "$round" "$rate" "$p99" "$undelivered" "$cpu" "$ok"
        results[$setup]+="$rate:$p99 "
    done
done

echo
echo "median of $ROUNDS rounds ($CONNS connections, $SENDERS senders, $SIZE-byte messages, ${DURATION}s):"
for setup in $SETUPS; do
    python3 -c '
import statistics, sys
runs = [r.split(":") for r in sys.argv[2].split()]
rate = statistics.median(float(r[0]) for r in runs)
p99 = statistics.median(float(r[1]) for r in runs)
print(f"  {sys.argv[1]:<10} {rate/1e6:6.2f} M deliveries/s   p99 {p99/1000:7.1f} ms")
' "$setup" "${results[$setup]}"
done
