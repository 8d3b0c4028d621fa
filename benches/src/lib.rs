//! What the benchmark binaries share: the deterministic table they read and query.

pub mod data {
    //! The 1,000,000-row table (int, int, float, float, text with NULLs, text timestamp, bool)
    //! of the files and query benchmarks, and where it is kept on disk.

    use std::path::PathBuf;
    use std::sync::Arc;

    use arrow::array::{
        ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray,
    };
    use dataconn::Table;

    /// Rows to use: `ROWS`, else 1,000,000.
    pub fn rows_wanted() -> usize {
        std::env::var("ROWS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1_000_000)
    }

    /// `rows` rows, the same on every run.
    pub fn table(rows: usize) -> Table {
        let mut batches = Vec::new();
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut start = 0usize;
        while start < rows {
            let n = (rows - start).min(65_536);
            let mut vals = Vec::with_capacity(n);
            for _ in 0..n {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                vals.push(state);
            }
            let ids: Vec<i64> = (start..start + n).map(|i| i as i64).collect();
            let batch = RecordBatch::try_from_iter([
                ("id", Arc::new(Int64Array::from(ids.clone())) as ArrayRef),
                (
                    "qty",
                    Arc::new(Int64Array::from_iter_values(
                        vals.iter().map(|v| (v % 1000) as i64),
                    )) as ArrayRef,
                ),
                (
                    "price",
                    Arc::new(Float64Array::from_iter_values(
                        vals.iter().map(|v| (v % 100_000) as f64 / 100.0),
                    )) as ArrayRef,
                ),
                (
                    "ratio",
                    Arc::new(Float64Array::from_iter_values(
                        vals.iter().map(|v| (v % 1_000_003) as f64 / 1_000_003.0),
                    )) as ArrayRef,
                ),
                (
                    "name",
                    Arc::new(StringArray::from_iter(ids.iter().zip(&vals).map(
                        |(i, v)| (i % 7 != 0).then(|| format!("customer-{}", v % 100_000)),
                    ))) as ArrayRef,
                ),
                (
                    "created",
                    Arc::new(StringArray::from_iter_values(vals.iter().map(|v| {
                        format!(
                            "2024-{:02}-{:02} {:02}:{:02}:{:02}",
                            1 + v % 12,
                            1 + (v >> 8) % 28,
                            (v >> 16) % 24,
                            (v >> 24) % 60,
                            (v >> 32) % 60
                        )
                    }))) as ArrayRef,
                ),
                (
                    "flag",
                    Arc::new(BooleanArray::from_iter(
                        vals.iter().map(|v| Some(v & 1 == 1)),
                    )) as ArrayRef,
                ),
            ])
            .expect("bench batch");
            batches.push(batch);
            start += n;
        }
        let schema = batches[0].schema();
        Table::try_new(schema, batches).expect("bench table")
    }

    /// `target/bench-data/files`, created.
    pub fn dir() -> PathBuf {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/bench-data/files");
        std::fs::create_dir_all(&dir).expect("bench dir");
        dir.canonicalize().expect("bench dir path")
    }
}
