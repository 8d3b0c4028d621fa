"""Read one query into Arrow/pandas with a peer library and report time, rows and peak RSS.

Used by the `bench-sql` binary, which runs it in the same benchmark run as dataconn:

    python sql_peers.py connectorx postgresql://postgres@127.0.0.1:5432/dataconn_bench "select ..."
    python sql_peers.py pandas     postgresql://...                                     "select ..."
    python sql_peers.py pyodbc     "Driver={PostgreSQL Unicode};Server=...;"             "select ..."

Prints one JSON object: {"method", "seconds", "rows", "peak_rss_kb"}.
"""

import json
import resource
import sys
import time


def main() -> None:
    method, url, query = sys.argv[1], sys.argv[2], sys.argv[3]
    if method == "connectorx":
        import connectorx as cx

        started = time.perf_counter()
        table = cx.read_sql(url, query, return_type="arrow")
        seconds = time.perf_counter() - started
        rows = table.num_rows
    elif method == "pandas":
        # What Streamlit's SQLConnection.query does: pandas.read_sql over SQLAlchemy.
        import pandas as pd
        import sqlalchemy

        engine_url = url.replace("postgresql://", "postgresql+psycopg2://").replace("mysql://", "mysql+pymysql://")
        engine = sqlalchemy.create_engine(engine_url)
        with engine.connect() as conn:
            started = time.perf_counter()
            frame = pd.read_sql(sqlalchemy.text(query), conn)
            seconds = time.perf_counter() - started
        rows = len(frame)
    elif method == "pyodbc":
        # What a Streamlit app on SQL Server runs: pandas.read_sql over a pyodbc connection
        # (SQLAlchemy's mssql+pyodbc hands pandas the same DBAPI cursor).
        import warnings

        import pandas as pd
        import pyodbc

        conn = pyodbc.connect(url)
        started = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pandas prefers SQLAlchemy connectables
            frame = pd.read_sql(query, conn)
        seconds = time.perf_counter() - started
        rows = len(frame)
    else:
        raise SystemExit(f"unknown method {method}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"method": method, "seconds": seconds, "rows": rows, "peak_rss_kb": peak}))


if __name__ == "__main__":
    main()
