//! SQL connector behaviour on every backend: SQLite always, PostgreSQL and MariaDB/MySQL on
//! the real servers that `scripts/peers.sh` provides. One test binary, grouped by topic.

mod backends;
mod conformance;
mod logs;
mod mysql_only;
mod postgres_only;
mod restart;
mod shared;
mod sqlite_only;
