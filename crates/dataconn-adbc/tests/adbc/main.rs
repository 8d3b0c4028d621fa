//! ADBC and DuckDB connector behaviour on real drivers.
