"""Write Parquet and CSV files with pyarrow/pandas for the files connector's interop tests.

    python interop.py OUT_DIR

Rows i = 0..999: id int64 = i; score float64 = i * 1.5; name string = f"n{i}", NULL when
i % 5 == 0; flag bool = i % 2 == 0; day date32 = 2024-01-01 + i days; amount decimal(10, 2) =
i + 0.25. The Rust tests check these formulas on what they read.
"""

import datetime
import decimal
import os
import sys

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq


def main() -> None:
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    n = 1000
    table = pa.table(
        {
            "id": pa.array(range(n), pa.int64()),
            "score": pa.array([i * 1.5 for i in range(n)], pa.float64()),
            "name": pa.array([None if i % 5 == 0 else f"n{i}" for i in range(n)], pa.string()),
            "flag": pa.array([i % 2 == 0 for i in range(n)], pa.bool_()),
            "day": pa.array([datetime.date(2024, 1, 1) + datetime.timedelta(days=i) for i in range(n)], pa.date32()),
            "amount": pa.array([decimal.Decimal(i) + decimal.Decimal("0.25") for i in range(n)], pa.decimal128(10, 2)),
        }
    )
    for codec in ["none", "snappy", "gzip", "zstd"]:
        pq.write_table(table, os.path.join(out, f"pyarrow_{codec}.parquet"), compression=codec, row_group_size=300)
    pacsv.write_csv(table.drop(["amount"]), os.path.join(out, "pyarrow.csv"))
    frame = table.drop(["amount", "day"]).to_pandas()
    frame.to_csv(os.path.join(out, "pandas.csv.gz"), index=False, compression="gzip")
    frame.to_parquet(os.path.join(out, "pandas.parquet"), index=False)
    print(f"wrote interop files to {out}")


if __name__ == "__main__":
    main()
