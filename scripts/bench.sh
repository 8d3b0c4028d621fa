#!/usr/bin/env bash
# Run a benchmark binary in release mode and print its figures (markdown tables).
#   scripts/bench.sh foundation            # SQLite and the cache, 1,000,000 rows
#   scripts/bench.sh sql                   # PostgreSQL and MariaDB vs ConnectorX and pandas
#   scripts/bench.sh files                 # Parquet and CSV, local and on S3 (moto), vs pandas
#   scripts/bench.sh cache                 # cache hits by tier (local, Redis) vs re-running
#   scripts/bench.sh snowflake             # fakesnow into Arrow vs the official Python connector
#   scripts/bench.sh query                 # SQL over a Parquet file vs DuckDB (Python)
#   scripts/bench.sh duckdb                # DuckDB through dataconn vs DuckDB's Python package
#   ROWS=100000 scripts/bench.sh sql       # a quicker look
set -euo pipefail
cd "$(dirname "$0")/.."
name="${1:-foundation}"
if [ "$name" = cache ]; then
    eval "$(scripts/peers.sh start)"
fi
if [ "$name" = snowflake ]; then
    # The peers' venv has fakesnow and the official connector (snowflake-connector-python).
    eval "$(scripts/peers.sh start)"
    export BENCH_PYTHON="$PWD/target/peers/venv/bin/python"
fi
if [ "$name" = sql ] || [ "$name" = files ] || [ "$name" = query ] || [ "$name" = duckdb ]; then
    [ "$name" = query ] || eval "$(scripts/peers.sh start)"
    venv=target/bench-venv
    if [ ! -f "$venv/.ready" ] || [ benches/python/requirements.txt -nt "$venv/.ready" ]; then
        python3 -m venv "$venv"
        "$venv/bin/pip" install --quiet -r benches/python/requirements.txt
        touch "$venv/.ready"
    fi
    export BENCH_PYTHON="$PWD/$venv/bin/python"
fi
features=()
# The ODBC connector's figures need unixODBC and psqlODBC, which peers.sh installed above.
[ "$name" = sql ] && features=(--features odbc)
cargo build --profile bench -p dataconn-benches --bin "bench-$name" "${features[@]}"
exec "target/release/bench-$name"
