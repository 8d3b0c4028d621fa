//! `memory`, a third-party connector: Arrow tables in process, read by `scan <t>` or `scan <t>
//! where id >= :p`. docs/writing-a-connector.md explains it; the facade runs the testkit on it.

use std::{collections::HashMap, sync::Arc};

use dataconn::raw::{Base, ConnectContext, ConnectionBase, ConnectorConfig, Query, connector};
use dataconn::raw::{Dialect, async_trait, rewrite};
use dataconn::reexports::arrow::array::{ArrayRef, Int64Array, StringArray};
use dataconn::reexports::arrow::compute::{filter_record_batch, kernels::cmp};
use dataconn::{Connection, Connections, ErrorKind, Params, QueryExt, Registry, Result, Secret};
use dataconn::{Secrets, Table, Value};

/// The type name users write in `type = "memory"`.
pub const TYPE: &str = "memory";

/// Register the connector.
pub fn register(registry: &Registry) {
    registry.register(connector(TYPE, connect));
}

/// The keys of `[connections.<name>]`: `token`, a secret that must start with `ok-`.
#[derive(serde::Deserialize)]
struct MemoryConfig {
    token: Secret,
}

impl ConnectorConfig for MemoryConfig {}

/// Parse the options and connect eagerly, so that a bad token fails here (masked).
async fn connect(ctx: ConnectContext) -> Result<Arc<dyn Connection>> {
    let config: MemoryConfig = ctx.config.parse()?;
    let base = ConnectionBase::new(&ctx, HashMap::new());
    let token = config.token.expose();
    if !token.starts_with("ok-") {
        return Err(base.error(ErrorKind::Connect, format!("token {token} refused")));
    }
    Ok(Arc::new(MemoryConnection { base }))
}

/// A connection to an in-process store of tables.
#[derive(Debug)]
pub struct MemoryConnection {
    base: ConnectionBase<HashMap<String, Table>>,
}

impl MemoryConnection {
    /// Store a table under `name` (a write: cached reads are dropped).
    pub async fn put(&self, name: &str, table: Table) -> Result<Option<Table>> {
        self.base.write(|t| t.insert(name.to_owned(), table)).await
    }
}

impl Connection for MemoryConnection {
    fn base(&self) -> &dyn Base {
        &self.base
    }

    fn as_query(&self) -> Option<&dyn Query> {
        Some(self)
    }
}

#[async_trait]
impl Query for MemoryConnection {
    async fn fetch(&self, text: &str, params: &Params) -> Result<Table> {
        let fail = |kind, message: String| self.base.error(kind, message);
        let bound = rewrite(text, params, Dialect::Sqlite)?; // checks the :names against params
        let words: Vec<&str> = text.split_whitespace().collect();
        let (name, min) = match (&words[..], &bound.values[..]) {
            (["scan", name], []) => (*name, None),
            (["scan", name, "where", "id", ">=", _], [Value::Int(min)]) => (*name, Some(*min)),
            _ => return Err(fail(ErrorKind::Query, format!("cannot run `{text}`"))),
        };
        let missing = || fail(ErrorKind::NotFound, format!("no table `{name}`"));
        let table = self.base.state().get(name).cloned().ok_or_else(missing)?;
        let Some(min) = min else { return Ok(table) };
        let keep = cmp::gt_eq(&table.column("id")?, &Int64Array::new_scalar(min))?;
        let batch = table.to_record_batch()?;
        Ok(Table::from_batch(filter_record_batch(&batch, &keep)?))
    }
}

#[tokio::main]
async fn main() -> dataconn::Result<()> {
    let registry = dataconn::default_registry();
    register(&registry);
    let secrets = "[connections.scratch]\ntype = \"memory\"\ntoken = \"ok-${env:TOKEN:-demo}\"";
    let secrets = Secrets::from_toml("inline.toml", secrets)?;
    let hub = Connections::builder().registry(registry);
    let hub = hub.secrets(secrets).build()?;
    let scratch: Arc<MemoryConnection> = hub.connect("scratch").typed().await?;
    let ids: ArrayRef = Arc::new(Int64Array::from(vec![1, 2, 3]));
    let labels: ArrayRef = Arc::new(StringArray::from(vec!["one", "two", "three"]));
    let table = Table::from_columns([("id", ids), ("label", labels)])?;
    scratch.put("numbers", table).await?;
    let sql = "scan numbers where id >= :min";
    println!("{}", scratch.query(sql).param("min", 2).await?);
    Ok(())
}
