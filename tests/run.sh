#!/usr/bin/env bash
# The whole test suite, exactly as CI runs it (.ci/run calls this script):
# formatting, lints, the docs (no broken links), every test in the workspace — unit, doc,
# integration (real servers on 127.0.0.1 with real clients, Python's `websockets` and headless
# Chromium among them, and real redis-servers for the backplane; tests/interop/setup.sh,
# tests/browser/setup.sh and tests/interop/setup-redis.sh install those)
# and the trybuild ui-tests that document every rule the macros enforce — and the Autobahn
# WebSocket conformance suite against the echo example (cases 1–10, and a sample of the
# permessage-deflate cases). It installs what the tests need when it is missing, so it passes on a
# fresh machine.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n==> %s\n' "$*"; }

step "toolchain components"
for component in rustfmt clippy; do
    if ! cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1; then
        rustup component add "$component"
    fi
done

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo doc (broken links and doc warnings are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked

step "cargo test (unit, doc, integration, ui)"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test --workspace --locked 2>&1 | tee "$log"

step "the pub/sub, WebSocket and deflate suites again, on a Unix domain socket"
# The runtime's second transport: the same tests, served by Router::listen_unix.
HYPERBUN_TEST_TRANSPORT=unix cargo test -p hyperbun-tests --locked \
    --test pubsub --test websocket --test deflate 2>&1 | tee -a "$log"

# One closing line for the whole run (cargo ends with the last crate's doc tests, which may
# be zero): the totals over every test binary.
totals=$(awk '/^test result:/ { passed += $4; failed += $6; ignored += $8 }
     END { printf "total: %d passed, %d failed, %d skipped", passed, failed, ignored }' "$log")

step "Autobahn|Testsuite, cases 1-10 (0 FAILED and 0 NON-STRICT required)"
# An optimised server, like a user's: the suite's 9.* cases move hundreds of megabytes.
# The `conformance` profile is release without LTO, so it builds in a fraction of the time.
cargo build --profile conformance --locked --example echo
tests/autobahn/run.sh -x target/conformance/examples/echo

step "Autobahn|Testsuite, permessage-deflate sample: 12.1.*, 13.1.*, 8-bit windows 13.3.1, 13.5.1"
# The whole of 12.* and 13.* takes about 11 minutes more (see tests/autobahn/README.md); this
# sample covers every message size once each way, and the offers Bun declines.
DEFLATE=1 tests/autobahn/run.sh -c "12.1.*,13.1.*,13.3.1,13.5.1" target/conformance/examples/echo

printf '\n%s\n' "$totals"
