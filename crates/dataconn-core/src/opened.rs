//! [`Opened`]: a connection's settings and what they open (a pool, a client), as the state of
//! a [`ConnectionBase`]: opened on first use, again after a reset, anew after a reconfigure.
//!
//! ```
//! # use std::sync::Arc;
//! # use dataconn_core::raw::{ConnectionBase, ConnectContext, Opened};
//! # async fn demo(ctx: &ConnectContext) -> dataconn_core::Result<()> {
//! struct Settings { url: String }
//! struct Pool { url: String }
//! let base = ConnectionBase::new(ctx, Opened::new(Arc::new(Settings { url: "db".into() })));
//! // The first use opens the pool; later uses get the same one until a reset.
//! let pool = base
//!     .opened(|s| async move { Ok(Pool { url: s.url.clone() }) }, |_| {})
//!     .await?;
//! assert_eq!(pool.url, "db");
//! drop(base.take_opened()); // a reset: the next use opens again
//! # Ok(()) }
//! ```

use std::future::Future;
use std::sync::Arc;

use crate::base::ConnectionBase;
use crate::error::{ErrorKind, Result};

/// Settings `S` parsed from a section, and the `R` they opened, when open.
pub struct Opened<S, R> {
    settings: Arc<S>,
    resource: Option<Arc<R>>,
}

/// By hand: the settings may hold credentials; says only whether something is open.
impl<S, R> std::fmt::Debug for Opened<S, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Opened")
            .field("open", &self.resource.is_some())
            .finish_non_exhaustive()
    }
}

impl<S, R> Opened<S, R> {
    /// Settings, with nothing opened yet.
    pub fn new(settings: Arc<S>) -> Self {
        Opened {
            settings,
            resource: None,
        }
    }

    /// The settings.
    pub fn settings(&self) -> &Arc<S> {
        &self.settings
    }

    /// What was opened, if anything (for closing it after a reconfigure replaced the state).
    pub fn into_opened(self) -> Option<Arc<R>> {
        self.resource
    }
}

impl<S, R> ConnectionBase<Opened<S, R>> {
    /// The settings now.
    pub fn settings(&self) -> Arc<S> {
        self.state().settings.clone()
    }

    /// What the settings opened: the one open now, or a new one from `open` (errors masked).
    /// When a reconfigure came while `open` ran, or another caller opened first, the new one
    /// is closed with `close`.
    ///
    /// # Errors
    /// [`ErrorKind::Closed`] after [`ConnectionBase::close`]; what `open` returns;
    /// [`ErrorKind::Connect`] when the connection was reconfigured meanwhile.
    pub async fn opened<F, Fut>(&self, open: F, close: impl FnOnce(&R)) -> Result<Arc<R>>
    where
        F: FnOnce(Arc<S>) -> Fut,
        Fut: Future<Output = Result<R>>,
    {
        self.check_open()?;
        let settings = {
            let state = self.state();
            if let Some(resource) = &state.resource {
                return Ok(resource.clone());
            }
            state.settings.clone()
        };
        let fresh = open(settings.clone()).await.map_err(|e| self.masked(e))?;
        let mut state = self.state_mut();
        if !Arc::ptr_eq(&state.settings, &settings) {
            close(&fresh);
            return Err(self.error(
                ErrorKind::Connect,
                "the connection was reconfigured while it connected; try again",
            ));
        }
        if let Some(first) = &state.resource {
            close(&fresh);
            return Ok(first.clone());
        }
        Ok(state.resource.insert(Arc::new(fresh)).clone())
    }

    /// Let go of what is open (a reset), returning it for closing; the next
    /// [`ConnectionBase::opened`] opens anew.
    pub fn take_opened(&self) -> Option<Arc<R>> {
        self.state_mut().resource.take()
    }
}
