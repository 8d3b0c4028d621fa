//! ADBC and DuckDB connector behaviour on real drivers: the PostgreSQL and SQLite drivers from
//! the Apache Arrow ADBC wheels (against the machine's PostgreSQL), and DuckDB's own library.
//! `scripts/peers.sh` installs them and exports their paths. One test binary, by topic.

mod conformance;
mod duckdb;
mod peers;
mod postgres;
mod snowflake;
mod sqlite;
