//! The databases the tests run on: SQLite always; PostgreSQL and MariaDB/MySQL at the URLs in
//! `DATACONN_TEST_POSTGRES_URL` / `DATACONN_TEST_MYSQL_URL` (set by `scripts/peers.sh`), or on
//! their default local ports. A server that does not answer is skipped with a message on a
//! developer's machine, and fails the run in CI (`CI=true`).

use std::sync::{Arc, OnceLock};

use dataconn_core::{Connections, Registry, Secrets};
use sqlx::Executor;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
    MySql,
}

#[derive(Clone)]
pub struct Backend {
    pub kind: Kind,
    /// A URL of the server's admin database, for creating one database per test label.
    admin: Option<String>,
    dir: Arc<tempfile::TempDir>,
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.kind)
    }
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

fn answers(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split('/').next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    std::net::TcpStream::connect_timeout(
        &match host_port.parse() {
            Ok(addr) => addr,
            Err(_) => return false,
        },
        std::time::Duration::from_secs(2),
    )
    .is_ok()
}

fn server(var: &str, default: &str, what: &str) -> Option<String> {
    let url = std::env::var(var).unwrap_or_else(|_| default.to_owned());
    if answers(&url) {
        return Some(url);
    }
    if in_ci() {
        panic!(
            "{what} does not answer at {url} and CI=true: a missing server fails the run (start it with scripts/peers.sh)"
        );
    }
    eprintln!(
        "SKIPPING {what} tests: nothing answers at {url} (set {var} or run scripts/peers.sh)"
    );
    None
}

/// Every backend available here, SQLite first.
pub fn backends() -> Vec<Backend> {
    static ALL: OnceLock<Vec<Backend>> = OnceLock::new();
    ALL.get_or_init(|| {
        let dir = Arc::new(tempfile::tempdir().expect("a temp dir"));
        let mut all = vec![Backend {
            kind: Kind::Sqlite,
            admin: None,
            dir: dir.clone(),
        }];
        if let Some(url) = server(
            "DATACONN_TEST_POSTGRES_URL",
            "postgres://postgres@127.0.0.1:5432/postgres",
            "PostgreSQL",
        ) {
            all.push(Backend {
                kind: Kind::Postgres,
                admin: Some(url),
                dir: dir.clone(),
            });
        }
        if let Some(url) = server(
            "DATACONN_TEST_MYSQL_URL",
            "mysql://root@127.0.0.1:3306/",
            "MariaDB/MySQL",
        ) {
            all.push(Backend {
                kind: Kind::MySql,
                admin: Some(url),
                dir,
            });
        }
        all
    })
    .clone()
}

/// One backend, when it is available.
pub fn backend(kind: Kind) -> Option<Backend> {
    backends().into_iter().find(|b| b.kind == kind)
}

pub fn registry() -> Registry {
    let registry = Registry::new();
    dataconn_sql::register(&registry);
    registry
}

fn database_name(label: &str) -> String {
    format!("dct_{}_{label}", std::process::id())
}

/// Replace the database part of a server URL.
fn with_database(admin: &str, database: &str) -> String {
    let (scheme, rest) = admin.split_once("://").expect("a URL with a scheme");
    let authority = rest.split('/').next().unwrap_or_default();
    format!("{scheme}://{authority}/{database}")
}

impl Backend {
    /// The URL of a fresh database of its own for `label` (created on first use).
    pub async fn url(&self, label: &str) -> String {
        match self.kind {
            Kind::Sqlite => format!(
                "sqlite:///{}",
                self.dir.path().join(format!("{label}.db")).display()
            ),
            Kind::Postgres | Kind::MySql => {
                let admin = self
                    .admin
                    .as_deref()
                    .expect("a server backend has an admin URL");
                self.drop_stale_databases(admin).await;
                let name = database_name(label);
                let create = format!("CREATE DATABASE {name}");
                let drop = format!("DROP DATABASE IF EXISTS {name}");
                match self.kind {
                    Kind::Postgres => {
                        let mut c = <sqlx::PgConnection as sqlx::Connection>::connect(admin)
                            .await
                            .expect("admin connect");
                        c.execute(sqlx::AssertSqlSafe(drop))
                            .await
                            .expect("drop the old test database");
                        c.execute(sqlx::AssertSqlSafe(create))
                            .await
                            .expect("create the test database");
                    }
                    _ => {
                        let mut c = <sqlx::MySqlConnection as sqlx::Connection>::connect(admin)
                            .await
                            .expect("admin connect");
                        c.execute(sqlx::AssertSqlSafe(drop))
                            .await
                            .expect("drop the old test database");
                        c.execute(sqlx::AssertSqlSafe(create))
                            .await
                            .expect("create the test database");
                    }
                }
                with_database(admin, &name)
            }
        }
    }

    /// Drop the test databases earlier runs left behind (once per run and server); one still
    /// in use by another run stays.
    async fn drop_stale_databases(&self, admin: &str) {
        static PG: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
        static MY: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
        let mine = format!("dct_{}_", std::process::id());
        let cell = if self.kind == Kind::Postgres {
            &PG
        } else {
            &MY
        };
        cell.get_or_init(|| async {
            let list = "select datname from pg_database where datname like 'dct\\_%'";
            let names: Vec<String> = if self.kind == Kind::Postgres {
                let Ok(mut c) = <sqlx::PgConnection as sqlx::Connection>::connect(admin).await else { return };
                sqlx::query_scalar(list).fetch_all(&mut c).await.unwrap_or_default()
            } else {
                let Ok(mut c) = <sqlx::MySqlConnection as sqlx::Connection>::connect(admin).await else { return };
                sqlx::query_scalar("select schema_name from information_schema.schemata where schema_name like 'dct\\_%'")
                    .fetch_all(&mut c)
                    .await
                    .unwrap_or_default()
            };
            for name in names.into_iter().filter(|n| !n.starts_with(&mine)) {
                let drop = format!("DROP DATABASE IF EXISTS {name}");
                let _ = if self.kind == Kind::Postgres {
                    match <sqlx::PgConnection as sqlx::Connection>::connect(admin).await {
                        Ok(mut c) => c.execute(sqlx::AssertSqlSafe(drop)).await.map(|_| ()),
                        Err(e) => Err(e),
                    }
                } else {
                    match <sqlx::MySqlConnection as sqlx::Connection>::connect(admin).await {
                        Ok(mut c) => c.execute(sqlx::AssertSqlSafe(drop)).await.map(|_| ()),
                        Err(e) => Err(e),
                    }
                };
            }
        })
        .await;
    }

    /// A hub with `[connections.<label>]` pointing at a fresh database, plus `extra` keys.
    pub async fn hub(&self, label: &str, extra: &str) -> Connections {
        let text = format!(
            "[connections.{label}]\nurl = \"{}\"\n{extra}\n",
            self.url(label).await
        );
        Connections::builder()
            .registry(registry())
            .secrets(Secrets::from_toml("secrets.toml", &text).expect("test secrets parse"))
            .build()
            .expect("a hub")
    }
}

/// Every value of `column` as Arrow prints it (decimals exactly, at the column's scale).
pub fn texts(t: &dataconn_core::Table, column: &str) -> Vec<String> {
    let c = t.column(column).unwrap();
    let c = arrow::compute::cast(&c, &arrow::datatypes::DataType::Utf8).unwrap();
    arrow::array::AsArray::as_string::<i32>(&c)
        .iter()
        .map(|v| v.unwrap_or("NULL").to_owned())
        .collect()
}
