#!/usr/bin/env bash
# Runs the Autobahn|Testsuite fuzzing client against a WebSocket server this script starts.
#
# usage: tests/autobahn/run.sh [-x] [-c CASES] [-p PATH] [-t SECS] [-w SECS] SERVER_CMD [ARG...]
#   SERVER_CMD  started in its own process group with PORT=<a free port> in its environment;
#               it must listen on 127.0.0.1:$PORT and echo every message with its opcode
#   -x          exclude the permessage-deflate cases 12.* and 13.*
#   -c CASES    comma-separated case patterns (default "*"), e.g. "1.*,2.*" or "9.1.1"
#   -p PATH     request path of the WebSocket URL (default "/")
#   -t SECS     hard limit for wstest (default 300 with -x, 1800 without)
#   -w SECS     how long to wait for the server to accept TCP (default 30)
# Writes spec.json, wstest.log, server.log and reports/ (index.html) to target/autobahn/.
# Exit: 0 pass, 1 conformance failure (see summarize.py), 2 usage or setup error,
#       3 server did not come up, 124 wstest timed out.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=$(cd "$here/../.." && pwd)/target/autobahn

usage() { sed -n '4,12p' "${BASH_SOURCE[0]}" | cut -c3- >&2; exit 2; }
exclude=0 cases="*" path=/ limit="" wait_s=30
while getopts "xc:p:t:w:h" opt; do
    case $opt in
        x) exclude=1 ;;
        c) cases=$OPTARG ;;
        p) path=$OPTARG ;;
        t) limit=$OPTARG ;;
        w) wait_s=$OPTARG ;;
        *) usage ;;
    esac
done
shift $((OPTIND - 1))
(($# > 0)) || usage
[[ $path == /* ]] || { echo "autobahn: -p PATH must start with /" >&2; exit 2; }
limit=${limit:-$((exclude ? 300 : 1800))}

wstest=$("$here/setup.sh") || exit 2
mkdir -p "$out"
rm -rf "$out/reports" "$out/spec.json" "$out/wstest.log" "$out/server.log"

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
url=ws://127.0.0.1:$port$path
agent=$(basename "$1" | tr -c 'A-Za-z0-9_.\n-' _)

server="" wstest_pid=""
# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
    if [[ -n $wstest_pid ]]; then kill -TERM "$wstest_pid" 2>/dev/null || true; fi
    [[ -n $server ]] || return 0
    kill -TERM -- "-$server" 2>/dev/null || return 0
    for _ in {1..50}; do kill -0 -- "-$server" 2>/dev/null || return 0; sleep 0.1; done
    kill -KILL -- "-$server" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# setsid: the server (and whatever it spawns, e.g. under `cargo run`) gets its own process
# group, which cleanup signals as a whole.
PORT=$port setsid "$@" </dev/null >"$out/server.log" 2>&1 &
server=$!

deadline=$((SECONDS + wait_s))
until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    if ! kill -0 "$server" 2>/dev/null; then
        echo "autobahn: server exited before accepting connections; target/autobahn/server.log:" >&2
        tail -n 20 "$out/server.log" >&2
        exit 3
    fi
    if ((SECONDS > deadline)); then
        echo "autobahn: nothing accepts TCP on 127.0.0.1:$port after ${wait_s}s (does the server read PORT?)" >&2
        exit 3
    fi
    sleep 0.1
done

python3 - "$out/spec.json" "$url" "$agent" "$cases" "$exclude" <<'EOF'
import json, sys
out, url, agent, cases, exclude = sys.argv[1:]
spec = {
    "outdir": "./reports",
    "servers": [{"agent": agent, "url": url}],
    "cases": [c.strip() for c in cases.split(",") if c.strip()],
    "exclude-cases": ["12.*", "13.*"] if exclude == "1" else [],
    "exclude-agent-cases": {},
}
with open(out, "w") as f:
    json.dump(spec, f, indent=2)
EOF

echo "autobahn: cases [$cases]$( ((exclude)) && echo " minus 12.* 13.*") against \`$*\` at $url"
start=$EPOCHREALTIME
# In the background so that INT/TERM reach the traps at once; `timeout` passes them on to wstest.
(cd "$out" && PYTHONUNBUFFERED=1 exec timeout -k 10 "$limit" "$wstest" -m fuzzingclient -s spec.json) \
    >"$out/wstest.log" 2>&1 &
wstest_pid=$!
rc=0
wait "$wstest_pid" || rc=$?
wstest_pid=""
wall=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
if ((rc == 124 || rc == 137)); then
    echo "autobahn: wstest timed out after ${limit}s (see target/autobahn/wstest.log)" >&2
    exit 124
fi
if ((rc != 0)); then
    echo "autobahn: wstest failed (exit $rc); target/autobahn/wstest.log:" >&2
    tail -n 20 "$out/wstest.log" >&2
    exit 2
fi

expected=$(sed -n 's/^Ok, will run \([0-9]*\) test cases.*/\1/p' "$out/wstest.log")
[[ -n $expected ]] || { echo "autobahn: no case count in target/autobahn/wstest.log" >&2; exit 2; }
status=0
python3 "$here/summarize.py" "$out/reports/index.json" --expected "$expected" || status=$?
if ! kill -0 "$server" 2>/dev/null; then
    echo "autobahn: FAIL: the server exited during the run (see target/autobahn/server.log)"
    status=1
fi
echo "autobahn: ${wall}s; report target/autobahn/reports/index.html"
exit "$status"
