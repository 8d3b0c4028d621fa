//! The runnable examples of dataconn: `cargo run --example pets` (the README's first command).
//!
//! `pets` lives in this package rather than in the `dataconn` crate so that running it builds
//! `dataconn` with its default features and nothing else: an example of a crate is built with
//! all of that crate's dev-dependencies (the test kit, log capture...), which `pets` does not
//! need. `custom_connector` stays in the `dataconn` crate, whose tests compile it.
