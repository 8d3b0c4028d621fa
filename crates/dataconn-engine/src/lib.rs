#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]
//! The embedded SQL engine of dataconn: Apache DataFusion over the tables a connector names.
//!
//! Connectors without a database of their own (files, Google Sheets) answer `query(sql)` with
//! it. A query goes in three steps:
//!
//! 1. [`Engine::prepare`] binds the `:name` parameters (as DataFusion `$name` parameters, never
//!    spliced into the text), parses the SQL and lists the tables it reads;
//! 2. the connector registers each of them: files straight from their object store
//!    ([`Prepared::register_files`]; Parquet is read by ranges, only the columns and row groups
//!    needed), or a table it already holds ([`Prepared::register_table`]);
//! 3. [`Prepared::run`] plans, runs and collects the result as a [`dataconn_core::Table`].
//!
//! Only queries that read run: DDL (`CREATE EXTERNAL TABLE` could open any path), DML (`COPY
//! ... TO` could write anywhere) and `SET` are refused.
//!
//! Identifiers are matched as written (no lower-casing), so a column `VendorID` is `VendorID`
//! in SQL without quotes; function names and keywords are case-insensitive as usual.
//! Errors say where in the SQL they are (line and column, with the line and a caret).

mod error;
mod files;
mod values;

use std::num::NonZeroUsize;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use dataconn_core::{Dialect, Error, ErrorKind, Params, Result, Table};
use datafusion::catalog::MemTable;
use datafusion::common::{ParamValues, TableReference};
use datafusion::execution::context::{SQLOptions, SessionConfig, SessionContext};
use datafusion::execution::memory_pool::{GreedyMemoryPool, TrackConsumersPool};
use datafusion::execution::runtime_env::RuntimeEnv;
use datafusion::sql::parser::{DFParserBuilder, Statement};
use datafusion::sql::resolve::resolve_table_references;

pub use error::engine_error;
pub use files::{FileFormat, FileSource};

/// How many of the largest memory consumers an out-of-memory error names.
const TOP_CONSUMERS: NonZeroUsize = NonZeroUsize::MIN.saturating_add(4);

/// One engine per connection: DataFusion's runtime (memory pool, object store registry),
/// shared by its queries. Each query gets a catalog of its own, so concurrent queries never
/// see each other's tables.
#[derive(Debug, Clone)]
pub struct Engine {
    runtime: Arc<RuntimeEnv>,
    limits: EngineLimits,
}

impl Default for Engine {
    fn default() -> Self {
        Engine::new()
    }
}

/// Bounds on an engine's queries; the connectors set them from the section's
/// `query_memory_limit` and `query_timeout`, and the errors name those keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct EngineLimits {
    /// The memory pool shared by the engine's queries, in bytes (sorts, joins, aggregations
    /// reserve from it; sorts spill to disk when it is full).
    pub memory_bytes: usize,
    /// How long one query may run, from planning to the last batch (`None`: no limit).
    pub timeout: Option<Duration>,
}

impl EngineLimits {
    /// The default memory pool: 2 GiB.
    pub const DEFAULT_MEMORY_BYTES: usize = 2 << 30;
    /// The default timeout: 5 minutes.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

    /// Limits with this pool size and timeout.
    pub fn new(memory_bytes: usize, timeout: Option<Duration>) -> EngineLimits {
        EngineLimits {
            memory_bytes,
            timeout,
        }
    }
}

impl Default for EngineLimits {
    fn default() -> Self {
        EngineLimits::new(
            EngineLimits::DEFAULT_MEMORY_BYTES,
            Some(EngineLimits::DEFAULT_TIMEOUT),
        )
    }
}

impl Engine {
    /// A new engine with the default limits ([`EngineLimits::default`]: a 2 GiB memory pool,
    /// a 5 minute timeout) and DataFusion's defaults otherwise (one partition per core).
    pub fn new() -> Engine {
        Engine::with_limits(EngineLimits::default())
    }

    /// A new engine whose queries share a memory pool of `limits.memory_bytes` and each run
    /// at most `limits.timeout`.
    pub fn with_limits(limits: EngineLimits) -> Engine {
        // DataFusion's own bounded pool, reporting the largest consumers when it is full.
        let runtime = RuntimeEnv {
            memory_pool: Arc::new(TrackConsumersPool::new(
                GreedyMemoryPool::new(limits.memory_bytes),
                TOP_CONSUMERS,
            )),
            ..RuntimeEnv::default()
        };
        Engine {
            runtime: Arc::new(runtime),
            limits,
        }
    }

    /// The limits this engine runs its queries with.
    pub fn limits(&self) -> EngineLimits {
        self.limits
    }

    fn config() -> SessionConfig {
        let mut config = SessionConfig::new().with_information_schema(false);
        let options = config.options_mut();
        options.sql_parser.enable_ident_normalization = false;
        options.sql_parser.collect_spans = true;
        // Text comes back as Utf8, as from every other dataconn connector.
        options.sql_parser.map_string_types_to_utf8view = false;
        options.execution.parquet.schema_force_view_types = false;
        // Filters are applied while decoding Parquet, so columns of rows that fail them are
        // never decoded.
        options.execution.parquet.pushdown_filters = true;
        options.execution.parquet.reorder_filters = true;
        config
    }

    /// Bind `params` to `sql`, parse it and find the tables it reads.
    ///
    /// # Errors
    /// [`ErrorKind::Parameter`] when the parameters do not match the SQL; [`ErrorKind::Query`]
    /// for a syntax error, with its line and column.
    pub fn prepare(&self, sql: &str, params: &Params) -> Result<Prepared> {
        let bound = dataconn_core::rewrite(sql, params, Dialect::DataFusion)?;
        let mut values = std::collections::HashMap::with_capacity(bound.values.len());
        for (name, value) in bound.names.iter().zip(&bound.values) {
            values.insert(name.clone(), values::scalar(name, value)?.into());
        }
        // Parsed without a session: a cache hit only needs the table names.
        let mut statements = DFParserBuilder::new(bound.sql.as_str())
            .build()
            .and_then(|mut parser| parser.parse_statements())
            .map_err(|e| engine_error(e, sql))?;
        let statement = match (statements.pop_front(), statements.len()) {
            (Some(statement), 0) => statement,
            (first, more) => {
                return Err(Error::new(
                    ErrorKind::Query,
                    format!(
                        "expected one SQL statement, found {}",
                        usize::from(first.is_some()) + more
                    ),
                ));
            }
        };
        let (references, _) =
            resolve_table_references(&statement, false).map_err(|e| engine_error(e, sql))?;
        let mut tables: Vec<TableName> = Vec::new();
        for reference in references {
            if !tables.iter().any(|t| t.reference == reference) {
                tables.push(TableName { reference });
            }
        }
        Ok(Prepared {
            runtime: self.runtime.clone(),
            limits: self.limits,
            ctx: OnceLock::new(),
            sql: sql.to_owned(),
            statement,
            values: ParamValues::Map(values),
            tables,
        })
    }
}

/// A table the SQL reads, as written in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableName {
    reference: TableReference,
}

impl TableName {
    /// The name: the table part, or `schema.table` for a qualified one.
    pub fn name(&self) -> String {
        match &self.reference {
            TableReference::Bare { table } => table.to_string(),
            other => other.to_string(),
        }
    }

    /// Whether it was written with a schema or catalog (`a.b`): files and worksheets have
    /// none, so this usually means a path that needs quotes (`'trips.csv'`).
    pub fn is_qualified(&self) -> bool {
        !matches!(self.reference, TableReference::Bare { .. })
    }
}

/// A parsed query waiting for its tables; see the crate docs.
pub struct Prepared {
    runtime: Arc<RuntimeEnv>,
    limits: EngineLimits,
    /// Made on first use: a query answered from the cache never needs one.
    ctx: OnceLock<SessionContext>,
    sql: String,
    statement: Statement,
    values: ParamValues,
    tables: Vec<TableName>,
}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prepared")
            .field("sql", &dataconn_core::sql_fingerprint(&self.sql))
            .field("tables", &self.tables)
            .finish_non_exhaustive()
    }
}

impl Prepared {
    /// The session holding this query's tables.
    fn ctx(&self) -> &SessionContext {
        self.ctx.get_or_init(|| {
            SessionContext::new_with_config_rt(Engine::config(), self.runtime.clone())
        })
    }

    /// The tables the SQL reads, each once (CTE names excluded).
    pub fn tables(&self) -> &[TableName] {
        &self.tables
    }

    /// Register a table the connector holds in memory under `name`.
    ///
    /// # Errors
    /// [`ErrorKind::Internal`] when DataFusion refuses the table.
    pub fn register_table(&self, name: &TableName, table: Table) -> Result<()> {
        let provider = MemTable::try_new(table.schema().clone(), vec![table.batches().to_vec()])
            .map_err(|e| engine_error(e, &self.sql))?;
        self.ctx()
            .register_table(name.reference.clone(), Arc::new(provider))
            .map_err(|e| engine_error(e, &self.sql))?;
        Ok(())
    }

    /// Plan and run the query; the result as one table.
    ///
    /// # Errors
    /// [`ErrorKind::Query`] for SQL the engine refuses (with its position), the store's error
    /// for files that cannot be read.
    ///
    /// [`ErrorKind::Query`] naming `query_memory_limit` when the query needs more memory than
    /// the pool holds; [`ErrorKind::Timeout`] naming `query_timeout` when it runs longer.
    pub async fn run(self) -> Result<Table> {
        let limits = self.limits;
        let Some(timeout) = limits.timeout else {
            return self.run_unbounded().await;
        };
        // On a task of its own, so that the caller is answered on time even while the query
        // keeps the runtime's workers busy; aborting it drops the query's streams and their
        // tasks at its next await. The deadline is kept by a thread of its own: the runtime's
        // timers are driven by its workers, which a busy query may hold past the deadline.
        let mut query = tokio::spawn(self.run_unbounded());
        let (expired_tx, expired_rx) = futures::channel::oneshot::channel::<()>();
        let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
        let expired: futures::future::BoxFuture<'static, ()> = match std::thread::Builder::new()
            .name("dataconn-query-deadline".into())
            .spawn(move || {
                // Ends early when the query is done (its sender dropped).
                if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                    done_rx.recv_timeout(timeout)
                {
                    let _ = expired_tx.send(());
                }
            }) {
            Ok(_) => Box::pin(async move {
                let _ = expired_rx.await;
            }),
            // No thread to spare: the runtime's own timer.
            Err(_) => Box::pin(tokio::time::sleep(timeout)),
        };
        let outcome = futures::future::select(&mut query, expired).await;
        drop(done_tx);
        match outcome {
            futures::future::Either::Left((Ok(result), _)) => result,
            futures::future::Either::Left((Err(join), _)) => {
                Err(Error::internal("the query's task failed").with_source(join))
            }
            futures::future::Either::Right(_) => {
                query.abort();
                Err(Error::new(
                    ErrorKind::Timeout,
                    format!(
                        "expected the query to finish within {timeout:?} (`query_timeout`), found it \
                         still running; it was stopped. Raise `query_timeout` in the section, or \
                         narrow the query"
                    ),
                ))
            }
        }
    }

    async fn run_unbounded(self) -> Result<Table> {
        let ctx = self.ctx().clone();
        let Prepared {
            sql,
            statement,
            values,
            limits,
            ..
        } = self;
        let fail = |e: datafusion::error::DataFusionError| {
            let exhausted = matches!(
                e.find_root(),
                datafusion::error::DataFusionError::ResourcesExhausted(_)
            );
            let err = engine_error(e, &sql);
            if exhausted {
                Error::new(
                    ErrorKind::Query,
                    format!(
                        "expected the query to fit in the engine's memory pool of {} bytes \
                         (`query_memory_limit`), found it needs more: {}; raise \
                         `query_memory_limit` in the section, or narrow the query",
                        limits.memory_bytes,
                        err.message()
                    ),
                )
            } else {
                err
            }
        };
        let plan = ctx
            .state()
            .statement_to_plan(statement)
            .await
            .map_err(fail)?;
        // Queries read: no DDL (CREATE EXTERNAL TABLE could open any path), no DML (COPY TO
        // could write anywhere), no SET.
        SQLOptions::new()
            .with_allow_ddl(false)
            .with_allow_dml(false)
            .with_allow_statements(false)
            .verify_plan(&plan)
            .map_err(|e| {
                Error::new(
                    ErrorKind::Unsupported,
                    format!(
                        "expected a query that reads (SELECT, WITH, VALUES, EXPLAIN), found one \
                         that {}",
                        e.message().trim_end_matches('.').to_lowercase()
                    ),
                )
            })?;
        let plan = plan.with_param_values(values).map_err(fail)?;
        let frame = ctx.execute_logical_plan(plan).await.map_err(fail)?;
        let schema = Arc::new(frame.schema().as_arrow().clone());
        let batches = frame.collect().await.map_err(fail)?;
        let batches = batches.into_iter().filter(|b| b.num_rows() > 0).collect();
        let schema = without_metadata(schema);
        let batches = rebatch(&schema, batches)?;
        Table::try_new(schema, batches)
    }
}

/// The result's schema without DataFusion's field metadata, so that it compares equal to the
/// batches' own.
fn without_metadata(schema: arrow::datatypes::SchemaRef) -> arrow::datatypes::SchemaRef {
    Arc::new(arrow::datatypes::Schema::new(schema.fields().clone()))
}

/// Put every batch under `schema` (DataFusion may carry metadata on the batches' schemas).
fn rebatch(
    schema: &arrow::datatypes::SchemaRef,
    batches: Vec<arrow::array::RecordBatch>,
) -> Result<Vec<arrow::array::RecordBatch>> {
    batches
        .into_iter()
        .map(|b| {
            if b.schema().fields() == schema.fields() && b.schema().metadata().is_empty() {
                Ok(b)
            } else {
                arrow::array::RecordBatch::try_new(schema.clone(), b.columns().to_vec()).map_err(
                    |e| {
                        Error::new(
                            ErrorKind::Internal,
                            "the engine returned batches that do not fit the result's schema",
                        )
                        .with_source(e)
                    },
                )
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
