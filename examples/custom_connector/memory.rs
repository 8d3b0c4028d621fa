//! A third-party connector in one small file: `memory`, a store of named Arrow tables.
//!
//! It shows every piece a connector needs: a typed config (with a secret), a `Connector` that
//! parses it and connects eagerly, a `Connection`, the `Query` capability with named
//! parameters, cache invalidation on writes, and a `register` function. Its query language is
//! deliberately tiny: `scan <table>` or `scan <table> where <column> >= :param`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use dataconn::reexports::arrow::array::{Array, AsArray, BooleanArray, RecordBatch};
use dataconn::reexports::arrow::datatypes::Int64Type;
use dataconn::reexports::async_trait;
use dataconn::{
    ConnectContext, Connection, Connector, ConnectorConfig, Error, ErrorKind, Params, Query,
    Registry, Result, Secret, Table, TypedConnection, Value,
};
use serde::Deserialize;

/// The type name users write in `type = "memory"`.
pub const TYPE: &str = "memory";

/// Register the connector.
pub fn register(registry: &Registry) {
    registry.register(Arc::new(MemoryConnector));
}

/// `[connections.<name>]` keys.
#[derive(Debug, Deserialize)]
struct MemoryConfig {
    /// An access token; must start with `ok-` (a stand-in for real authentication).
    token: Secret,
    /// A label shown in `Debug` output.
    #[serde(default)]
    label: Option<String>,
}

impl ConnectorConfig for MemoryConfig {
    const KEYS: &'static [&'static str] = &["token", "label"];
}

#[derive(Debug)]
struct MemoryConnector;

#[async_trait]
impl Connector for MemoryConnector {
    fn connection_type(&self) -> &'static str {
        TYPE
    }

    async fn connect(&self, ctx: ConnectContext) -> Result<Arc<dyn Connection>> {
        let config: MemoryConfig = ctx.config.parse()?;
        let name = ctx.config.name().to_owned();
        if !config.token.expose().starts_with("ok-") {
            return Err(Error::new(
                ErrorKind::Connect,
                format!("the token {} was refused", config.token.expose()),
            )
            .with_connection(name, TYPE)
            .scrub(&[config.token.expose()]));
        }
        Ok(Arc::new(MemoryConnection {
            name,
            label: config.label,
            tables: RwLock::new(HashMap::new()),
            cache: ctx.cache,
            closed: AtomicBool::new(false),
        }))
    }
}

/// A connection to an in-process store of tables.
pub struct MemoryConnection {
    name: String,
    label: Option<String>,
    tables: RwLock<HashMap<String, Table>>,
    cache: dataconn::CacheScope,
    closed: AtomicBool,
}

impl std::fmt::Debug for MemoryConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryConnection")
            .field("name", &self.name)
            .field("label", &self.label)
            .finish()
    }
}

impl MemoryConnection {
    fn check_open(&self) -> Result<()> {
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::new(
                ErrorKind::Closed,
                "expected an open connection, found it closed",
            )
            .with_connection(&self.name, TYPE));
        }
        Ok(())
    }

    /// Store a table under `name` (a write: cached reads are dropped).
    pub fn put(&self, name: &str, batch: RecordBatch) -> Result<()> {
        self.check_open()?;
        self.tables
            .write()
            .unwrap()
            .insert(name.to_owned(), Table::from_batch(batch));
        self.cache.invalidate_in_background();
        Ok(())
    }
}

impl TypedConnection for MemoryConnection {
    const TYPE: &'static str = TYPE;
}

#[async_trait]
impl Connection for MemoryConnection {
    fn name(&self) -> &str {
        &self.name
    }

    fn connection_type(&self) -> &str {
        TYPE
    }

    async fn health_check(&self) -> Result<()> {
        self.check_open()
    }

    async fn reset(&self) -> Result<()> {
        self.check_open()
    }

    async fn close(&self) -> Result<()> {
        self.closed.store(true, Ordering::Release);
        Ok(())
    }

    fn clear_cache(&self) {
        self.cache.invalidate_in_background();
    }

    fn as_query(&self) -> Option<&dyn Query> {
        Some(self)
    }
}

#[async_trait]
impl Query for MemoryConnection {
    async fn fetch(&self, text: &str, params: &Params) -> Result<Table> {
        self.check_open()?;
        let fail =
            |msg: String| Error::new(ErrorKind::Query, msg).with_connection(&self.name, TYPE);
        let words: Vec<&str> = text.split_whitespace().collect();
        let (table, filter) = match words.as_slice() {
            ["scan", table] => (*table, None),
            ["scan", table, "where", column, ">=", param] if param.starts_with(':') => {
                (*table, Some((*column, &param[1..])))
            }
            _ => {
                return Err(fail(format!(
                    "expected `scan <table> [where <column> >= :param]`, found `{text}`"
                )));
            }
        };
        let used: Vec<&str> = filter.iter().map(|(_, p)| *p).collect();
        if let Some(extra) = params.iter().map(|(n, _)| n).find(|n| !used.contains(n)) {
            return Err(Error::new(
                ErrorKind::Parameter,
                format!(":{extra} was given but the query does not use it"),
            ));
        }
        let stored = self.tables.read().unwrap().get(table).cloned();
        let stored =
            stored.ok_or_else(|| fail(format!("expected a table named `{table}`, found none")))?;
        let Some((column, param)) = filter else {
            return Ok(stored);
        };
        let Some(Value::Int(min)) = params.get(param) else {
            return Err(Error::new(
                ErrorKind::Parameter,
                format!("the query uses :{param} but no integer was given for it"),
            ));
        };
        let batch = stored.to_record_batch()?;
        let values = stored.column(column)?;
        let values = values.as_primitive::<Int64Type>();
        let keep: BooleanArray = (0..values.len())
            .map(|i| Some(values.is_valid(i) && values.value(i) >= *min))
            .collect();
        Ok(Table::from_batch(
            dataconn::reexports::arrow::compute::filter_record_batch(&batch, &keep)?,
        ))
    }

    fn cache_scope(&self) -> dataconn::CacheScope {
        self.cache.clone()
    }
}
