"""Run one SQL query with DuckDB's Python package on a database file (read-only) and print
the best of five wall times in seconds, the result's row count, and the best of five with
DuckDB's streaming reader at 2,048 rows a batch (what DuckDB's ADBC entry point produces).

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
    streamed = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        con.sql(sql).to_arrow_reader(2048).read_all()
        streamed = min(streamed, time.perf_counter() - started)
    print(best, rows, streamed)


if __name__ == "__main__":
    main()
