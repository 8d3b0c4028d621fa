//! [`ConnectRequest`]: a connection being opened, with code-given overrides.

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::Arc;

use crate::config::{OptionValue, Options};
use crate::connection::{Connection, downcast};
use crate::error::Result;
use crate::secrets::merge;

use super::Connections;

/// A connection being opened; `.await` it.
#[must_use = "nothing connects until the request is awaited"]
#[derive(Debug)]
pub struct ConnectRequest<'a> {
    pub(super) hub: &'a Connections,
    pub(super) name: String,
    pub(super) ty: Option<String>,
    pub(super) overrides: Options,
}

impl<'a> ConnectRequest<'a> {
    /// Use this connector type, whatever the secrets say.
    pub fn connection_type(mut self, ty: impl Into<String>) -> Self {
        self.ty = Some(ty.into());
        self
    }

    /// Override one option of the secrets section (Streamlit's `**kwargs`).
    pub fn option(mut self, key: impl Into<String>, value: impl Into<OptionValue>) -> Self {
        self.overrides.insert(key.into(), value.into());
        self
    }

    /// Override several options; tables merge deeply.
    pub fn options(mut self, options: Options) -> Self {
        merge(&mut self.overrides, options);
        self
    }

    /// Open and downcast to the concrete connection type.
    ///
    /// # Errors
    /// As the plain await, plus [`ErrorKind::Config`] when the connection is another type.
    pub async fn typed<T: Connection>(self) -> Result<Arc<T>> {
        downcast::<T>(self.await?)
    }
}

impl<'a> IntoFuture for ConnectRequest<'a> {
    type Output = Result<Arc<dyn Connection>>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send + 'a>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.hub.open(self.name, self.ty, self.overrides))
    }
}
