//! [`ConnectionBase`]: what every connection holds and does the same way, written once.
//!
//! A connection has a name and a type, a cache scope, the secret values its errors must never
//! show, a closed flag, and state of its own (a pool, a client, settings). The base holds all
//! of them; a connector keeps one in its connection struct, returns it from
//! [`Connection::base`](crate::Connection::base), and writes only what is about its source.
//! [`Connection`](crate::Connection)'s provided methods (name, type, health check, reset,
//! close, clear cache) and [`Query::cache_scope`](crate::Query::cache_scope) come from it.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::cache::CacheScope;
use crate::config::ConnectionConfig;
use crate::connection::ConnectContext;
use crate::error::{Error, ErrorKind, Result};
use crate::lock::LockExt;

/// How a connector finds the values to mask in its errors, from its options.
pub type MaskRule = fn(&ConnectionConfig) -> Vec<String>;

/// The name, type, cache scope, secret masks, closed flag and state `S` of one connection.
///
/// Its `Debug` shows the name, the type and whether it is closed: never the state or a mask.
pub struct ConnectionBase<S> {
    name: String,
    connection_type: String,
    cache: RwLock<CacheScope>,
    masks: RwLock<Vec<String>>,
    mask_rule: MaskRule,
    closed: AtomicBool,
    state: RwLock<S>,
}

impl<S> fmt::Debug for ConnectionBase<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionBase")
            .field("name", &self.name)
            .field("type", &self.connection_type)
            .field("closed", &self.is_closed())
            .finish_non_exhaustive()
    }
}

impl<S> ConnectionBase<S> {
    /// The base of a connection being built from `ctx`, holding `state`; its masks are
    /// [`ConnectionConfig::sensitive_values`].
    pub fn new(ctx: &ConnectContext, state: S) -> Self {
        ConnectionBase {
            name: ctx.config.name().to_owned(),
            connection_type: ctx.config.connection_type().to_owned(),
            cache: RwLock::new(ctx.cache.clone()),
            masks: RwLock::new(ctx.config.sensitive_values()),
            mask_rule: ConnectionConfig::sensitive_values,
            closed: AtomicBool::new(false),
            state: RwLock::new(state),
        }
    }

    /// Find the values to mask with `rule` instead (now and at every reconfigure), for a
    /// connector that knows more secrets than [`ConnectionConfig::sensitive_values`].
    #[must_use]
    pub fn mask_with(mut self, rule: MaskRule, config: &ConnectionConfig) -> Self {
        self.mask_rule = rule;
        self.masks = RwLock::new(rule(config));
        self
    }

    /// The connection's name (its secrets section).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The connector type.
    pub fn connection_type(&self) -> &str {
        &self.connection_type
    }

    /// The state, shared for reading.
    pub fn state(&self) -> RwLockReadGuard<'_, S> {
        self.state.read_unpoisoned()
    }

    /// The state, for changing it (a reset replacing a client, say).
    pub fn state_mut(&self) -> RwLockWriteGuard<'_, S> {
        self.state.write_unpoisoned()
    }

    /// A write to the state: fail if closed, run `change` on the state, then drop the
    /// connection's cached reads (in every process sharing the cache).
    ///
    /// # Errors
    /// [`ErrorKind::Closed`] after [`ConnectionBase::close`]; nothing is changed then.
    pub async fn write<R>(&self, change: impl FnOnce(&mut S) -> R + Send) -> Result<R>
    where
        S: Send + Sync,
    {
        self.check_open()?;
        let out = change(&mut self.state.write_unpoisoned());
        self.cache().invalidate().await;
        Ok(out)
    }

    /// Take new options: `state` replaces the old one (returned, for closing what it holds),
    /// the masks follow `config`, and the cache moves to the new identity after the old
    /// scope's results are dropped.
    pub fn reconfigure(&self, config: &ConnectionConfig, state: S) -> S {
        let mut current = self.state.write_unpoisoned();
        let mut cache = self.cache.write_unpoisoned();
        cache.invalidate_in_background();
        *cache = cache.rescope(&config.identity());
        *self.masks.write_unpoisoned() = (self.mask_rule)(config);
        std::mem::replace(&mut *current, state)
    }

    /// The cache scope of the connection now (a cheap handle).
    pub fn cache(&self) -> CacheScope {
        self.cache.read_unpoisoned().clone()
    }

    /// Drop the connection's cached results (the shared tier follows in the background).
    pub fn clear_cache(&self) {
        self.cache().invalidate_in_background();
    }

    /// `err` naming this connection, with every secret value masked.
    pub fn masked(&self, err: Error) -> Error {
        err.with_connection(&self.name, &self.connection_type)
            .scrub(&self.masks.read_unpoisoned())
    }

    /// A new error of `kind` naming this connection, with every secret value masked.
    pub fn error(&self, kind: ErrorKind, message: impl Into<String>) -> Error {
        self.masked(Error::new(kind, message))
    }

    /// [`ConnectionBase::masked`] as a function that outlives a borrow of the connection,
    /// for spawned tasks and streams.
    pub fn masker(&self) -> impl Fn(Error) -> Error + Send + Sync + 'static {
        let name = self.name.clone();
        let ty = self.connection_type.clone();
        let masks = self.masks.read_unpoisoned().clone();
        move |err: Error| err.with_connection(&name, &ty).scrub(&masks)
    }

    /// Whether [`ConnectionBase::close`] was called.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Mark the connection closed: [`ConnectionBase::check_open`] fails from now on.
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
    }

    /// Fail with [`ErrorKind::Closed`] once the connection is closed.
    ///
    /// # Errors
    /// [`ErrorKind::Closed`] after [`ConnectionBase::close`].
    pub fn check_open(&self) -> Result<()> {
        if self.is_closed() {
            return Err(self.error(
                ErrorKind::Closed,
                "expected an open connection, found it closed (its secrets changed or close() \
                 was called); get it again with connection(name)",
            ));
        }
        Ok(())
    }
}

/// The part of a [`ConnectionBase`] that does not depend on its state: what
/// [`Connection`](crate::Connection)'s provided methods use. Implemented by every
/// `ConnectionBase`; a connector has no reason to implement it.
pub trait Base: Send + Sync + fmt::Debug {
    /// [`ConnectionBase::name`].
    fn name(&self) -> &str;
    /// [`ConnectionBase::connection_type`].
    fn connection_type(&self) -> &str;
    /// [`ConnectionBase::check_open`].
    ///
    /// # Errors
    /// [`ErrorKind::Closed`] once closed.
    fn check_open(&self) -> Result<()>;
    /// [`ConnectionBase::close`].
    fn close(&self);
    /// [`ConnectionBase::cache`].
    fn cache(&self) -> CacheScope;
    /// [`ConnectionBase::masked`].
    fn masked(&self, err: Error) -> Error;
}

impl<S: Send + Sync> Base for ConnectionBase<S> {
    fn name(&self) -> &str {
        ConnectionBase::name(self)
    }
    fn connection_type(&self) -> &str {
        ConnectionBase::connection_type(self)
    }
    fn check_open(&self) -> Result<()> {
        ConnectionBase::check_open(self)
    }
    fn close(&self) {
        ConnectionBase::close(self);
    }
    fn cache(&self) -> CacheScope {
        ConnectionBase::cache(self)
    }
    fn masked(&self, err: Error) -> Error {
        ConnectionBase::masked(self, err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::QueryCache;

    fn ctx(options: &str) -> ConnectContext {
        let config = ConnectionConfig::new("db", "demo", toml::from_str(options).unwrap());
        let cache = QueryCache::default().scope(&config.identity());
        ConnectContext { config, cache }
    }

    #[test]
    fn errors_name_the_connection_and_mask_its_secrets() {
        let base = ConnectionBase::new(&ctx("password = \"hunter2\""), ());
        let err = base.error(ErrorKind::Connect, "login with hunter2 refused");
        assert_eq!(err.connection(), Some("db"));
        assert!(!err.to_string().contains("hunter2"), "{err}");
        let err = (base.masker())(Error::new(ErrorKind::Query, "hunter2 again"));
        assert!(!err.to_string().contains("hunter2"), "{err}");
        assert!(!format!("{base:?}").contains("hunter2"));
    }

    #[tokio::test]
    async fn a_write_changes_the_state_and_drops_cached_reads() {
        use std::sync::atomic::AtomicUsize;
        let base = ConnectionBase::new(&ctx(""), Vec::<i64>::new());
        let loads = AtomicUsize::new(0);
        let read = || async {
            let scope = base.cache();
            let key = scope.key("query", "q", &crate::Params::new(), &[]);
            let load = || async {
                loads.fetch_add(1, Ordering::SeqCst);
                Ok(crate::Table::empty(std::sync::Arc::new(
                    arrow::datatypes::Schema::empty(),
                )))
            };
            scope
                .get_or_load(key, crate::Ttl::Forever, load)
                .await
                .unwrap();
        };
        read().await;
        read().await;
        assert_eq!(loads.load(Ordering::SeqCst), 1, "the second read is a hit");
        base.write(|numbers| numbers.push(1)).await.unwrap();
        assert_eq!(*base.state(), [1]);
        read().await;
        assert_eq!(
            loads.load(Ordering::SeqCst),
            2,
            "the write dropped the cached read"
        );
        base.close();
        let err = base.write(|numbers| numbers.push(2)).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Closed);
        assert_eq!(*base.state(), [1], "a closed base changes nothing");
    }

    #[test]
    fn a_closed_base_refuses_with_closed() {
        let base = ConnectionBase::new(&ctx(""), ());
        base.check_open().unwrap();
        base.close();
        assert_eq!(base.check_open().unwrap_err().kind(), ErrorKind::Closed);
    }

    #[test]
    fn reconfigure_moves_cache_masks_and_state() {
        let base = ConnectionBase::new(&ctx("password = \"old-secret\""), 1);
        let before = base.cache().id().to_owned();
        let fresh = ctx("password = \"new-secret\"");
        assert_eq!(
            base.reconfigure(&fresh.config, 2),
            1,
            "the old state comes back"
        );
        assert_eq!(*base.state(), 2);
        assert_ne!(base.cache().id(), before);
        let err = base.error(ErrorKind::Query, "new-secret");
        assert!(!err.to_string().contains("new-secret"), "{err}");
    }

    #[test]
    fn a_mask_rule_is_kept_across_reconfigure() {
        fn everything(config: &ConnectionConfig) -> Vec<String> {
            let user = config.get("user").and_then(|v| v.as_str()).unwrap_or("");
            vec![user.to_owned()]
        }
        let first = ctx("user = \"alice\"");
        let base = ConnectionBase::new(&first, ()).mask_with(everything, &first.config);
        assert!(
            !base
                .error(ErrorKind::Query, "alice")
                .to_string()
                .contains("alice")
        );
        base.reconfigure(&ctx("user = \"bob\"").config, ());
        assert!(
            !base
                .error(ErrorKind::Query, "bob")
                .to_string()
                .contains("bob")
        );
    }
}
