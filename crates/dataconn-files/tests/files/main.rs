//! Files connector behaviour: the local filesystem and memory always; S3 on moto, Azure on
//! azurite and HTTP on a static file server that `scripts/peers.sh` starts; GCS configuration
//! without a server (no emulator speaks the XML API object_store uses).

mod boundary;
mod config;
mod conformance;
mod failures;
mod http;
mod interop;
mod limits;
mod query;
mod round_trips;
mod stores;
