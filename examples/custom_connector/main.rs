//! A third-party connector registered beside ours, without touching dataconn's code.
//!
//! Run it with `cargo run --example custom_connector`. The connector lives in `memory.rs`;
//! `docs/writing-a-connector.md` walks through it, and the facade's tests run the testkit
//! conformance suite against it.

mod memory;

use std::sync::Arc;

use dataconn::reexports::arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use dataconn::{Connections, QueryExt, Secrets};

#[tokio::main]
async fn main() -> dataconn::Result<()> {
    let registry = dataconn::default_registry();
    memory::register(&registry);
    println!("registered types: {}", registry.types().join(", "));

    let secrets = Secrets::from_toml(
        "inline-secrets.toml",
        "[connections.scratch]\ntype = \"memory\"\ntoken = \"ok-${env:SCRATCH_TOKEN:-demo}\"\nlabel = \"demo\"\n",
    )?;
    let hub = Connections::builder()
        .registry(registry)
        .secrets(secrets)
        .build()?;
    let scratch = hub
        .connection::<memory::MemoryConnection>("scratch")
        .await?;

    let batch = RecordBatch::try_from_iter([
        ("id", Arc::new(Int64Array::from(vec![1, 2, 3])) as ArrayRef),
        (
            "label",
            Arc::new(StringArray::from(vec!["one", "two", "three"])) as ArrayRef,
        ),
    ])?;
    scratch.put("numbers", batch)?;
    let big = scratch
        .query("scan numbers where id >= :min")
        .param("min", 2)
        .await?;
    println!("{big}");
    Ok(())
}
