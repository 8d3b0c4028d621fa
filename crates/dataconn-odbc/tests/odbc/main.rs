//! ODBC connector behaviour on real drivers from Debian's packages, through unixODBC: the
//! PostgreSQL driver (psqlODBC) against the machine's PostgreSQL, MariaDB Connector/ODBC
//! against the machine's MariaDB, and the SQLite ODBC driver. `scripts/peers.sh` installs them
//! and exports their registered names. One test binary, by topic.

mod conformance;
mod mariadb;
mod peers;
mod postgres;
mod sqlite;
mod streamlit;
