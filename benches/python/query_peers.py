"""Run one SQL query with DuckDB over a Parquet file and print the best of five wall times in
seconds and the result's row count. `{t}` in the SQL stands for the file.

    python query_peers.py "select count(*) from {t}" /path/to/file.parquet
"""

import sys
import time

import duckdb


def main() -> None:
    sql, path = sys.argv[1], sys.argv[2]
    sql = sql.replace("{t}", f"read_parquet('{path}')")
    con = duckdb.connect()
    best, rows = float("inf"), 0
    for _ in range(5):
        started = time.perf_counter()
        table = con.sql(sql).fetch_arrow_table()
        best = min(best, time.perf_counter() - started)
        rows = table.num_rows
    print(best, rows)


if __name__ == "__main__":
    main()
