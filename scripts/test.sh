#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting, lints, every test (unit, integration, doc),
# and the README's example. Installs and starts whatever the tests need first.
#
#   scripts/test.sh
#
# With CI=true a missing tool or server is a failure, never a skip.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "toolchain"
if ! command -v cargo >/dev/null 2>&1; then
    echo "cargo not found: install Rust (https://rustup.rs) and run this again" >&2
    exit 1
fi
cargo --version
for component in rustfmt clippy; do
    if ! cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1; then
        if command -v rustup >/dev/null 2>&1; then
            rustup component add "$component"
        else
            echo "cargo $component is missing and rustup is not there to add it" >&2
            exit 1
        fi
    fi
done

step "servers (PostgreSQL, MariaDB) and drivers (unixODBC)"
exports=$(scripts/peers.sh start)
eval "$exports"
env | grep '^DATACONN_TEST_' | sed 's/=.*//' | sed 's/^/  set /'

step "format"
cargo fmt --all --check

# The ODBC connector is opt-in (it links unixODBC, which peers.sh installed above): the suite
# builds it through the CLI's and the benches' `odbc` features.
features=(--features dataconn-cli/odbc,dataconn-benches/odbc)

step "lints"
cargo clippy --workspace --all-targets "${features[@]}" -- -D warnings

step "tests"
log=$(mktemp)
trap 'rm -f "$log"; scripts/peers.sh stop' EXIT
cargo test --workspace "${features[@]}" 2>&1 | tee "$log"

step "the README's example, twice (the same output each time)"
first=$(cargo run -q --example pets)
second=$(cargo run -q --example pets)
echo "$second"
if [ "$first" != "$second" ]; then
    echo "the pets example printed different output on its second run" >&2
    exit 1
fi

# One closing line for every test run above.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "summary: %d passed, %d failed\n", p, f }' "$log"
