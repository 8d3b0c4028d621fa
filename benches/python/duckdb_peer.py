"""Run one SQL query with DuckDB's Python package on a database file (read-only) and print
the best of five wall times in seconds and the result's row count.

    python duckdb_peer.py "select * from t" /path/to/bench.duckdb
"""

import sys
import time

import duckdb


def main() -> None:
    sql, path = sys.argv[1], sys.argv[2]
    con = duckdb.connect(path, read_only=True)
    best, rows = float("inf"), 0
    for _ in range(5):
        started = time.perf_counter()
        table = con.sql(sql).fetch_arrow_table()
        best = min(best, time.perf_counter() - started)
        rows = table.num_rows
    print(best, rows)


if __name__ == "__main__":
    main()
