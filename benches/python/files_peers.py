"""Read a Parquet or CSV file with pandas through fsspec, as st-files-connection does, and print
the best of three wall times in seconds.

    python files_peers.py pandas-parquet /path/or/s3://bucket/key [S3_ENDPOINT]
    python files_peers.py pandas-csv     /path/to/file.csv
"""

import sys
import time

import fsspec
import pandas as pd


def main() -> None:
    method, url = sys.argv[1], sys.argv[2]
    endpoint = sys.argv[3] if len(sys.argv) > 3 else None
    if url.startswith("s3://"):
        fs = fsspec.filesystem("s3", key="test", secret="test", client_kwargs={"endpoint_url": endpoint, "region_name": "us-east-1"})
    else:
        fs = fsspec.filesystem("file")
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        with fs.open(url, "rb") as f:
            frame = pd.read_parquet(f) if method == "pandas-parquet" else pd.read_csv(f)
        best = min(best, time.perf_counter() - started)
        assert len(frame) > 0
    print(best)


if __name__ == "__main__":
    main()
