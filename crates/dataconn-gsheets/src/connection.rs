//! Building a [`GSheetsConnection`], and what it holds.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use dataconn_core::raw::{Base, CacheScope, ConnectContext, ConnectionBase, Connector};
use dataconn_core::{
    Connection, ConnectionConfig, Error, ErrorKind, ReadTable, Result, Table, Ttl, TypedConnection,
};
use url::Url;

use crate::auth::KeyFields;
use crate::config::{GSheetsConfig, http_url};
use crate::http::Http;
use crate::read::{ReadRequest, Render};
use crate::service::Api;
use crate::spreadsheet::{SpreadsheetRef, WorksheetRef};

/// The default TTL of reads: one hour, as st-gsheets-connection.
const DEFAULT_TTL: Duration = Duration::from_secs(3600);

/// Builds [`GSheetsConnection`]s; registered under [`crate::TYPE`].
#[derive(Debug, Default, Clone, Copy)]
pub struct GSheetsConnector;

#[async_trait]
impl Connector for GSheetsConnector {
    fn connection_type(&self) -> &'static str {
        crate::TYPE
    }

    fn aliases(&self) -> &'static [&'static str] {
        &["gsheet", "google-sheets"]
    }

    async fn connect(&self, ctx: ConnectContext) -> Result<Arc<dyn Connection>> {
        install_crypto_provider();
        let state = State::build(&ctx.config)
            .await
            .map_err(|e| e.with_connection(ctx.config.name(), crate::TYPE))?;
        Ok(Arc::new(GSheetsConnection {
            base: ConnectionBase::new(&ctx, state),
        }))
    }
}

/// Where a service account's key comes from.
pub(crate) enum ServiceKey {
    /// The key's fields in the section, with where `private_key` and `token_uri` came from.
    Fields {
        fields: KeyFields,
        key_origin: String,
        uri_origin: String,
    },
    /// The key JSON at this path (`service_account_file`).
    File(String),
}

struct Settings {
    spreadsheet: Option<SpreadsheetRef>,
    worksheet: Option<WorksheetRef>,
    public_base: Url,
    ttl: Ttl,
    service: Option<ServiceKey>,
    sheets_base: Url,
    /// Every HTTP call's client, with `request_timeout` and `max_response_bytes`.
    http: Http,
}

/// The API client for a service account (none for a public sheet). The key is read and
/// checked here, at connect time.
async fn api_for(settings: &Settings) -> Result<Option<Arc<Api>>> {
    let Some(key) = &settings.service else {
        return Ok(None);
    };
    let account = crate::service::account(key).await?;
    Ok(Some(Arc::new(Api::new(
        account,
        settings.sheets_base.clone(),
        settings.http.clone(),
    ))))
}

impl Settings {
    fn from_config(config: &ConnectionConfig) -> Result<Settings> {
        let parsed: GSheetsConfig = config.parse()?;
        let service = if !parsed.is_service_account(config) {
            None
        } else if let Some(path) = &parsed.service_account_file {
            Some(ServiceKey::File(path.clone()))
        } else {
            // `parse` checked that both are there.
            let (Some(email), Some(key)) = (&parsed.client_email, &parsed.private_key) else {
                return Err(Error::config(
                    "expected `client_email` and `private_key` in the section, found neither whole",
                ));
            };
            Some(ServiceKey::Fields {
                fields: KeyFields {
                    client_email: email.clone(),
                    private_key: key.clone(),
                    token_uri: parsed.token_uri.clone(),
                },
                key_origin: config.origin("private_key"),
                uri_origin: config.origin("token_uri"),
            })
        };
        let spreadsheet = parsed
            .spreadsheet
            .as_deref()
            .map(SpreadsheetRef::parse)
            .transpose()?;
        let worksheet = parsed
            .worksheet
            .as_ref()
            .map(WorksheetRef::from_value)
            .transpose()?;
        let ttl = parsed
            .ttl
            .as_ref()
            .map_or(Ok(Ttl::For(DEFAULT_TTL)), Ttl::from_toml)?;
        // `parse` checked these; the same checks again give the values.
        let url = |key: &str, value: &Option<String>, default: &str| {
            http_url(
                key,
                &config.origin(key),
                value.as_deref().unwrap_or(default),
            )
            .map_err(Error::config)
        };
        let http = Http::new(
            parsed.request_timeout(config).map_err(Error::config)?,
            parsed.max_response_bytes(config).map_err(Error::config)?,
        )?;
        Ok(Settings {
            spreadsheet,
            worksheet,
            public_base: url(
                "public_base_url",
                &parsed.public_base_url,
                "https://docs.google.com",
            )?,
            ttl,
            service,
            sheets_base: url(
                "sheets_base_url",
                &parsed.sheets_base_url,
                "https://sheets.googleapis.com/",
            )?,
            http,
        })
    }
}

/// Make aws-lc-rs the process's rustls provider, unless one is installed already.
///
/// rustls can only pick a provider by itself when a single one is compiled in, and
/// object_store 0.13 (under the SQL engine) compiles ring in beside aws-lc-rs. reqwest falls
/// back to aws-lc-rs on its own; installing it keeps every rustls user in the process on the
/// same provider as this connector's signing.
fn install_crypto_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

/// What a section's options build; replaced whole on reconfigure.
pub(crate) struct State {
    settings: Settings,
    api: Option<Arc<Api>>,
}

impl State {
    /// The settings and, for a service account, the API client; errors masked.
    async fn build(config: &ConnectionConfig) -> Result<State> {
        let masked = |e: Error| e.scrub(&config.sensitive_values());
        let settings = Settings::from_config(config).map_err(masked)?;
        let api = api_for(&settings).await.map_err(masked)?;
        Ok(State { settings, api })
    }
}

/// Where a worksheet's cells come from.
pub(crate) enum Source {
    /// A public sheet's CSV export.
    Public { http: Http, url: Url },
    /// The Sheets API as a service account.
    Service {
        api: Arc<Api>,
        sheet: SpreadsheetRef,
        worksheet: WorksheetRef,
        render: Render,
    },
}

impl Source {
    /// What identifies the worksheet in cache keys.
    pub(crate) fn key(&self) -> String {
        match self {
            Source::Public { url, .. } => {
                // Keys can be logged: no user name or password in them (the scope already
                // tells connections apart).
                let mut url = url.clone();
                let _ = url.set_username("");
                let _ = url.set_password(None);
                url.to_string()
            }
            Source::Service {
                sheet, worksheet, ..
            } => format!("sheets-api:{}:{worksheet:?}", sheet.id),
        }
    }

    /// The worksheet's rows of cells.
    pub(crate) async fn rows(&self) -> Result<Vec<Vec<String>>> {
        match self {
            Source::Public { http, url } => {
                crate::read::csv_rows(&crate::public::fetch(http, url).await?)
            }
            Source::Service {
                api,
                sheet,
                worksheet,
                render,
            } => {
                let title = api.title(sheet, Some(worksheet)).await?;
                api.values(sheet, &title, render.api_name()).await
            }
        }
    }
}

/// A Google Sheets connection: worksheets read as cached Arrow tables.
#[derive(Debug)]
pub struct GSheetsConnection {
    pub(crate) base: ConnectionBase<State>,
}

impl GSheetsConnection {
    pub(crate) fn default_ttl(&self) -> Ttl {
        self.base.state().settings.ttl
    }

    /// Read a worksheet (a gid such as `"#gid=123"` or `123u64`) as a table: `.header(..)`,
    /// `.usecols(..)`, `.nrows(..)`, `.skiprows(..)`, `.ttl(..)`, then `.await`.
    pub fn read(&self, worksheet: impl Into<WorksheetRef>) -> ReadRequest<'_> {
        ReadRequest::new(self, Some(worksheet.into()))
    }

    /// Read the configured worksheet (the `worksheet` key, else the spreadsheet URL's gid,
    /// else the first worksheet).
    pub fn read_default(&self) -> ReadRequest<'_> {
        ReadRequest::new(self, None)
    }

    /// Where a worksheet of the configured spreadsheet comes from, and the cache scope.
    pub(crate) fn source(
        &self,
        worksheet: Option<&WorksheetRef>,
        render: Render,
    ) -> Result<(Source, CacheScope)> {
        self.base.check_open()?;
        // The cache is read under the state's guard, so both belong to the same options.
        let state = self.base.state();
        let s = &state.settings;
        let sheet = s.spreadsheet.as_ref().ok_or_else(|| {
            Error::new(
                ErrorKind::MissingKey,
                "expected `spreadsheet` (a URL or an ID) in the connection's section, found none",
            )
        })?;
        let worksheet = worksheet.or(s.worksheet.as_ref());
        if let Some(api) = &state.api {
            let worksheet = worksheet
                .cloned()
                .unwrap_or_else(|| sheet.gid.map_or(WorksheetRef::Index(0), WorksheetRef::Gid));
            let source = Source::Service {
                api: api.clone(),
                sheet: sheet.clone(),
                worksheet,
                render,
            };
            return Ok((source, self.base.cache()));
        }
        if render != Render::Formatted {
            return Err(Error::new(
                ErrorKind::Unsupported,
                "expected formatted values from a public sheet (its CSV export has no others), \
                 found another render option: use a service account",
            ));
        }
        let gid = match worksheet {
            None => sheet.gid,
            Some(WorksheetRef::Gid(gid)) => Some(*gid),
            Some(WorksheetRef::Index(0)) => None,
            Some(other) => {
                return Err(Error::new(
                    ErrorKind::Unsupported,
                    format!(
                        "expected a worksheet gid for a public sheet (the number after #gid= \
                         in its URL), found {other:?}: titles and positions other than the \
                         first need a service account"
                    ),
                ));
            }
        };
        let source = Source::Public {
            http: s.http.clone(),
            url: crate::public::export_url(&s.public_base, sheet, gid)?,
        };
        Ok((source, self.base.cache()))
    }

    /// Whether this connection reads a public sheet (no service account).
    #[cfg_attr(not(feature = "query"), allow(dead_code))]
    pub(crate) fn is_public(&self) -> bool {
        self.base.state().api.is_none()
    }

    /// The service account's API hub, the configured spreadsheet and the cache scope; a public
    /// sheet is refused with what to configure.
    pub(crate) fn writer(&self) -> Result<(Arc<Api>, Option<SpreadsheetRef>, CacheScope)> {
        self.base.check_open()?;
        let state = self.base.state();
        let Some(api) = state.api.clone() else {
            return Err(self.base.masked(Error::new(
                ErrorKind::Unsupported,
                "expected a service account to write, found a public sheet: a sheet shared by \
                 link can only be read. Add a service-account key to the section and share \
                 the spreadsheet with its client_email as Editor",
            )));
        };
        Ok((api, state.settings.spreadsheet.clone(), self.base.cache()))
    }

    /// Run a write on the configured spreadsheet as the service account, then drop this
    /// connection's cached reads (even when the write failed part-way).
    pub(crate) async fn writing<F>(&self, write: F) -> Result<()>
    where
        F: AsyncFnOnce(Arc<Api>, SpreadsheetRef) -> Result<()>,
    {
        let (api, sheet, cache) = self.writer()?;
        let sheet = sheet.ok_or_else(|| {
            self.base.masked(Error::new(
                ErrorKind::MissingKey,
                "expected `spreadsheet` (a URL or an ID) in the connection's section, found none",
            ))
        })?;
        let result = write(api, sheet).await;
        cache.invalidate().await;
        result.map_err(|e| self.base.masked(e))
    }

    /// The worksheets of the configured spreadsheet as (gid, title), in tab order (service
    /// accounts).
    ///
    /// # Errors
    /// [`ErrorKind::Unsupported`] for a public sheet; Google's refusal otherwise.
    pub async fn worksheets(&self) -> Result<Vec<(u64, String)>> {
        let (api, sheet) = {
            self.base.check_open()?;
            let state = self.base.state();
            (state.api.clone(), state.settings.spreadsheet.clone())
        };
        let (Some(api), Some(sheet)) = (api, sheet) else {
            return Err(self.base.masked(Error::new(
                ErrorKind::Unsupported,
                "expected a service account and a `spreadsheet` to list worksheets, found a \
                 public sheet or no spreadsheet",
            )));
        };
        api.worksheets(&sheet)
            .await
            .map_err(|e| self.base.masked(e))
    }
}

impl TypedConnection for GSheetsConnection {
    const TYPE: &'static str = crate::TYPE;
}

#[async_trait]
impl Connection for GSheetsConnection {
    fn base(&self) -> &dyn Base {
        &self.base
    }

    async fn health_check(&self) -> Result<()> {
        self.read_default()
            .nrows(1)
            .ttl(Ttl::NoCache)
            .await
            .map(|_| ())
    }

    async fn reconfigure(&self, config: ConnectionConfig) -> Result<()> {
        let state = State::build(&config)
            .await
            .map_err(|e| e.with_connection(config.name(), crate::TYPE))?;
        self.base.reconfigure(&config, state);
        Ok(())
    }

    fn as_read(&self) -> Option<&dyn ReadTable> {
        Some(self)
    }

    fn as_query(&self) -> Option<&dyn dataconn_core::Query> {
        Some(self)
    }
}

#[async_trait]
impl ReadTable for GSheetsConnection {
    /// `path` is a worksheet gid (`"123"`, `"#gid=123"`), or empty for the default worksheet.
    async fn read_table(&self, path: &str, _format: Option<&str>) -> Result<Table> {
        if path.trim().is_empty() {
            self.read_default().await
        } else {
            self.read(path).await
        }
    }
}
