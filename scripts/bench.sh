#!/usr/bin/env bash
# Run a benchmark binary in release mode and print its figures (markdown tables).
#   scripts/bench.sh foundation            # SQLite and the cache, 1,000,000 rows
#   scripts/bench.sh sql                   # PostgreSQL and MariaDB vs ConnectorX and pandas
#   ROWS=100000 scripts/bench.sh sql       # a quicker look
set -euo pipefail
cd "$(dirname "$0")/.."
name="${1:-foundation}"
if [ "$name" = sql ]; then
    eval "$(scripts/peers.sh start)"
    venv=target/bench-venv
    if [ ! -x "$venv/bin/python" ]; then
        python3 -m venv "$venv"
        "$venv/bin/pip" install --quiet -r benches/python/requirements.txt
    fi
    export BENCH_PYTHON="$PWD/$venv/bin/python"
fi
cargo build --profile bench -p dataconn-benches --bin "bench-$name"
exec "target/release/bench-$name"
