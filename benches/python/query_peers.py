"""Run one SQL query with DuckDB's Python package and print the best of five wall times in
seconds and the result's row count.

    python query_peers.py "select count(*) from {t}" /path/to/file.parquet
    python query_peers.py "select * from t" /path/to/bench.duckdb

On a Parquet file, `{t}` in the SQL stands for the file. On a `.duckdb` database (opened
read-only) it also prints the best of five with DuckDB's streaming reader at 2,048 rows a
batch, which is what DuckDB's ADBC entry point produces.
"""

import sys
import time

import duckdb


def best_of_five(run) -> float:
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    sql, path = sys.argv[1], sys.argv[2]
    database = path.endswith(".duckdb")
    if database:
        con = duckdb.connect(path, read_only=True)
    else:
        con = duckdb.connect()
        sql = sql.replace("{t}", f"read_parquet('{path}')")
    rows = con.sql(sql).fetch_arrow_table().num_rows
    best = best_of_five(lambda: con.sql(sql).fetch_arrow_table())
    if database:
        streamed = best_of_five(lambda: con.sql(sql).to_arrow_reader(2048).read_all())
        print(best, rows, streamed)
    else:
        print(best, rows)


if __name__ == "__main__":
    main()
