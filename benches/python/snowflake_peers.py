"""The official Snowflake Python connector against the same fakesnow server as our bench.

    python snowflake_peers.py setup     HOST PORT ROWS   # create BENCH.PUBLIC.WIDE (ROWS × 8)
    python snowflake_peers.py arrow-all HOST PORT        # best of three fetch_arrow_all() seconds
    python snowflake_peers.py raw-reply HOST PORT OUT    # the raw query-request reply, as JSON
"""

import json
import sys
import time
import urllib.request

import snowflake.connector

SELECT = "select * from wide"


def connect(host: str, port: int):
    return snowflake.connector.connect(
        account="fakesnow", user="bench", password="bench", host=host, port=port,
        protocol="http", database="BENCH", schema="PUBLIC",
    )


def setup(host: str, port: int, rows: int) -> None:
    cur = connect(host, port).cursor()
    cur.execute("create database if not exists bench")
    cur.execute(
        f"""create or replace table wide as select
            seq4() as id,
            seq4() % 1000 as qty,
            ((seq4() % 100000) / 100)::number(12, 2) as price,
            (seq4() % 1000003)::double / 1000003 as ratio,
            'customer-' || (seq4() % 100000) as name,
            dateadd(day, seq4() % 3650, '2015-01-01'::date) as day,
            dateadd(second, seq4(), '2024-01-01 00:00:00'::timestamp_ntz) as at,
            seq4() % 2 = 0 as flag
        from table(generator(rowcount => {rows}))"""
    )


def arrow_all(host: str, port: int) -> None:
    cur = connect(host, port).cursor()
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        table = cur.execute(SELECT).fetch_arrow_all()
        best = min(best, time.perf_counter() - started)
        assert table.num_rows > 0
    print(best)


def post(url: str, body: dict, token: str | None = None) -> dict:
    headers = {"Content-Type": "application/json", "Accept": "application/snowflake"}
    if token:
        headers["Authorization"] = f'Snowflake Token="{token}"'
    request = urllib.request.Request(url, json.dumps(body).encode(), headers)
    with urllib.request.urlopen(request) as reply:
        return json.load(reply)


def raw_reply(host: str, port: int, out: str) -> None:
    base = f"http://{host}:{port}"
    login = post(
        f"{base}/session/v1/login-request?databaseName=BENCH&schemaName=PUBLIC",
        {"data": {"ACCOUNT_NAME": "FAKESNOW", "LOGIN_NAME": "bench", "PASSWORD": "bench", "SESSION_PARAMETERS": {}}},
    )
    token = login["data"]["token"]
    reply = post(f"{base}/queries/v1/query-request?requestId=raw", {"sqlText": SELECT, "sequenceId": 1}, token)
    assert reply["success"], reply
    with open(out, "w") as f:
        json.dump(reply["data"], f)


if __name__ == "__main__":
    mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if mode == "setup":
        setup(host, port, int(sys.argv[4]))
    elif mode == "arrow-all":
        arrow_all(host, port)
    else:
        raw_reply(host, port, sys.argv[4])
