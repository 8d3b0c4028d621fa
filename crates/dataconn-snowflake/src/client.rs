//! Snowflake's driver protocol over HTTP: login, query (with "in progress" polling and result
//! chunks), logout. The session token is kept and a new session is made when it expires.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use dataconn_core::raw::MutexExt;
use dataconn_core::{Error, ErrorKind, Result, RetryPolicy, Table};
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::config::SnowflakeConfig;
use crate::decode::{RowType, from_arrow, from_json};

/// Codes of replies that mean "still running: poll the result URL".
const IN_PROGRESS: &[&str] = &["333333", "333334"];
/// The session token expired.
const SESSION_EXPIRED: &str = "390112";
/// The session is gone (logged out, or the server forgot it): log in again.
const SESSION_GONE: &[&str] = &["390104", "390111"];
/// Result chunks downloaded at once.
const CHUNK_DOWNLOADS: usize = 4;

#[derive(Deserialize)]
struct Reply {
    data: Option<Value>,
    code: Option<String>,
    message: Option<String>,
    #[serde(default)]
    success: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct QueryData {
    #[serde(default)]
    query_result_format: Option<String>,
    #[serde(default)]
    rowtype: Vec<RowType>,
    #[serde(default)]
    rowset: Option<Vec<Vec<Option<String>>>>,
    #[serde(default)]
    rowset_base64: Option<String>,
    #[serde(default)]
    chunks: Vec<Chunk>,
    #[serde(default)]
    chunk_headers: Option<serde_json::Map<String, Value>>,
    #[serde(default)]
    qrmk: Option<String>,
    #[serde(default)]
    pub(crate) query_id: Option<String>,
    #[serde(default)]
    pub(crate) statement_type_id: Option<i64>,
}

#[derive(Deserialize)]
struct Chunk {
    url: String,
}

/// The bounds of a connection's network calls.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// How long a login (and the other session calls) may take (`login_timeout`).
    pub(crate) login_timeout: Duration,
    /// How long any other single request may take, its body included (`request_timeout`).
    pub(crate) request_timeout: Duration,
    /// The most bytes one reply or chunk may hold, after decompression (`max_response_bytes`).
    pub(crate) max_response_bytes: u64,
}

/// A connection's HTTP client and session.
pub(crate) struct Client {
    http: reqwest::Client,
    /// The configured server: every request that carries a token goes here and nowhere else.
    base: reqwest::Url,
    config: SnowflakeConfig,
    token: Mutex<Option<String>>,
    /// The master token of the session, for renewing an expired session token.
    master: Mutex<Option<String>>,
    /// The query id of the last statement.
    last_query_id: std::sync::Mutex<Option<String>>,
    sequence: std::sync::atomic::AtomicU64,
    retry: RetryPolicy,
    /// How often to send a heartbeat (`client_session_keep_alive`); `None` sends none.
    heartbeat: Option<Duration>,
    limits: Limits,
    /// Set by [`Client::close`]: no new login after it.
    closed: std::sync::atomic::AtomicBool,
}

/// Tokens, the chunk key and the config's secrets never print.
impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base.as_str())
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for QueryData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueryData")
            .field("query_id", &self.query_id)
            .field("chunks", &self.chunks.len())
            .finish_non_exhaustive()
    }
}

/// A timeout of one request: its config key and length, for the error.
#[derive(Clone, Copy)]
struct Bound {
    key: &'static str,
    after: Duration,
}

fn transport(err: reqwest::Error, what: &str, bound: Bound) -> Error {
    // The URL of a chunk carries its storage signature: never in an error or a log.
    if err.is_timeout() {
        return Error::new(
            ErrorKind::Timeout,
            format!(
                "expected the Snowflake {what} to be answered within {:?} (`{}`), found no \
                 complete answer in that time",
                bound.after, bound.key
            ),
        )
        .set_temporary(true)
        .with_source(err.without_url());
    }
    // A request that cannot be built (a chunk header from the reply that is no valid header
    // value) fails the same way every time: not retried.
    let temporary = !err.is_builder();
    Error::new(ErrorKind::Connect, format!("Snowflake {what} failed"))
        .set_temporary(temporary)
        .with_source(err.without_url())
}

/// A reply that arrived but could not be read: the request reached the server, so it is not
/// sent again (a statement may have run).
fn unreadable(err: serde_json::Error, what: &str) -> Error {
    Error::new(
        ErrorKind::Connect,
        format!("expected a Snowflake {what} reply, found one that could not be read"),
    )
    .with_source(err)
}

/// A body beyond `max_response_bytes`: an error naming the limit, never retried.
fn too_large(what: &str, limit: u64, how: &str) -> Error {
    Error::new(
        ErrorKind::Query,
        format!(
            "expected a Snowflake {what} of at most {limit} bytes{how} (`max_response_bytes`), \
             found a larger one: raise `max_response_bytes` or select fewer rows"
        ),
    )
    .set_temporary(false)
}

/// A redirect answered to a request: never followed to another server (a login's password
/// and every token stay on the configured one).
fn redirected(what: &str, status: reqwest::StatusCode) -> Error {
    Error::new(
        ErrorKind::Connect,
        format!(
            "expected a Snowflake {what} reply, found HTTP {status}: a redirect, which is \
             followed only on the same server"
        ),
    )
    .set_temporary(false)
}

/// Follow redirects only within one origin (scheme, host and port), at most 5.
fn same_origin_redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let same = attempt
            .previous()
            .last()
            .is_some_and(|from| from.origin() == attempt.url().origin());
        if !same {
            attempt.stop()
        } else if attempt.previous().len() > 5 {
            attempt.error("more than 5 redirects")
        } else {
            attempt.follow()
        }
    })
}

/// A response's body, at most `limit` bytes (a larger one is an error naming the limit).
async fn read_body(
    mut response: reqwest::Response,
    what: &str,
    limit: u64,
    bound: Bound,
) -> Result<Vec<u8>> {
    if response.content_length().is_some_and(|n| n > limit) {
        return Err(too_large(what, limit, ""));
    }
    let mut out = Vec::new();
    while let Some(piece) = response
        .chunk()
        .await
        .map_err(|e| transport(e, what, bound))?
    {
        if (out.len() + piece.len()) as u64 > limit {
            return Err(too_large(what, limit, ""));
        }
        out.extend_from_slice(&piece);
    }
    Ok(out)
}

/// Gunzip `bytes`, stopping with an error naming the limit past `limit` bytes of output (a
/// small body may expand without bound).
fn gunzip(bytes: &[u8], limit: u64) -> Result<Vec<u8>> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .take(limit.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| {
            Error::new(
                ErrorKind::TypeConversion,
                "a result chunk is not valid gzip",
            )
            .with_source(e)
        })?;
    if out.len() as u64 > limit {
        return Err(too_large("result chunk", limit, " once decompressed"));
    }
    Ok(out)
}

impl Client {
    pub(crate) fn new(
        config: SnowflakeConfig,
        limits: Limits,
        heartbeat: Option<Duration>,
    ) -> Result<Client> {
        let http = reqwest::Client::builder()
            .connect_timeout(limits.login_timeout)
            .timeout(limits.request_timeout)
            .redirect(same_origin_redirects())
            .build()
            .map_err(|e| Error::config("could not set up the HTTP client").with_source(e))?;
        let base = reqwest::Url::parse(&config.base_url()).map_err(|e| {
            Error::config("expected `host`/`account`, `port` and `protocol` to make a URL")
                .with_source(e)
        })?;
        Ok(Client {
            http,
            base,
            config,
            token: Mutex::new(None),
            master: Mutex::new(None),
            last_query_id: std::sync::Mutex::new(None),
            sequence: std::sync::atomic::AtomicU64::new(0),
            retry: RetryPolicy::default(),
            heartbeat,
            limits,
            closed: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// `target` on the configured server: a path starting with one `/`, or an absolute URL
    /// of the same origin (scheme, host and port). Anything else is refused, so that the
    /// session token (sent with every such request) never reaches another server, whatever
    /// a reply says.
    fn on_server(&self, target: &str, what: &str) -> Result<reqwest::Url> {
        let url = if target.starts_with('/') && !target.starts_with("//") {
            self.base.join(target).ok()
        } else {
            reqwest::Url::parse(target).ok()
        };
        match url {
            Some(url) if url.origin() == self.base.origin() => Ok(url),
            other => {
                let found = match other {
                    Some(url) => url.origin().ascii_serialization(),
                    None => "an address that is not a path on it".to_owned(),
                };
                Err(Error::new(
                    ErrorKind::Connect,
                    format!(
                        "expected the {what} on the configured server {}, found {found}: not \
                         followed (requests with the session token go to that server only)",
                        self.base.origin().ascii_serialization()
                    ),
                )
                .set_temporary(false))
            }
        }
    }

    fn session_bound(&self) -> Bound {
        Bound {
            key: "login_timeout",
            after: self.limits.login_timeout,
        }
    }

    fn request_bound(&self) -> Bound {
        Bound {
            key: "request_timeout",
            after: self.limits.request_timeout,
        }
    }

    /// Share the client, and keep its session alive with heartbeats when asked: a background
    /// task sends one every period until the client is dropped.
    pub(crate) fn start(self) -> Arc<Client> {
        let client = Arc::new(self);
        if let Some(every) = client.heartbeat {
            let weak = Arc::downgrade(&client);
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(every);
                tick.tick().await;
                loop {
                    tick.tick().await;
                    let Some(client) = weak.upgrade() else { break };
                    client.send_heartbeat().await;
                }
            });
        }
        client
    }

    /// One `/session/heartbeat` for the current session (none when logged out).
    async fn send_heartbeat(&self) {
        let Some(token) = self.token.lock().await.clone() else {
            return;
        };
        let path = format!("/session/heartbeat?requestId={}", uuid::Uuid::new_v4());
        match self
            .post(&path, Some(&token), &json!({}), "heartbeat")
            .await
        {
            Ok(reply) if reply.success => tracing::trace!("snowflake heartbeat sent"),
            Ok(reply) => tracing::info!(code = ?reply.code, "Snowflake refused a heartbeat"),
            Err(e) => tracing::warn!(error = %e, "could not send a Snowflake heartbeat"),
        }
    }

    /// POST `body` to `path` on the server, retrying transport failures, 429 and 5xx with
    /// backoff.
    async fn post(
        &self,
        path: &str,
        token: Option<&str>,
        body: &Value,
        what: &str,
    ) -> Result<Reply> {
        let url = self.on_server(path, &format!("{what} address"))?;
        // Session calls are bounded by the login timeout; statements by the request timeout
        // (and `network_timeout` around the whole query).
        let bound = if path.starts_with("/queries/") {
            self.request_bound()
        } else {
            self.session_bound()
        };
        let limit = self.limits.max_response_bytes;
        self.retry
            .run(
                || async {
                    let mut request = self
                        .http
                        .post(url.clone())
                        .header("Accept", "application/snowflake")
                        .timeout(bound.after)
                        .json(body);
                    if let Some(token) = token {
                        request =
                            request.header("Authorization", format!("Snowflake Token=\"{token}\""));
                    }
                    let response = request
                        .send()
                        .await
                        .map_err(|e| transport(e, what, bound))?;
                    let status = response.status();
                    if status.as_u16() == 429 || status.is_server_error() {
                        return Err(Error::new(
                            ErrorKind::Connect,
                            format!("Snowflake {what} answered HTTP {status}"),
                        )
                        .set_temporary(true));
                    }
                    if status.is_redirection() {
                        return Err(redirected(what, status));
                    }
                    let bytes = read_body(response, &format!("{what} reply"), limit, bound).await?;
                    if status.as_u16() == 401 || status.as_u16() == 403 {
                        // A protocol reply with a code (a session gone, 390104): the caller
                        // decides what it means.
                        if let Ok(reply) = serde_json::from_slice::<Reply>(&bytes)
                            && reply.code.is_some()
                        {
                            return Ok(reply);
                        }
                        return Err(Error::new(
                            ErrorKind::Connect,
                            format!("Snowflake refused the {what}: HTTP {status}"),
                        ));
                    }
                    serde_json::from_slice::<Reply>(&bytes).map_err(|e| unreadable(e, what))
                },
                Error::is_temporary,
            )
            .await
    }

    async fn login(&self) -> Result<String> {
        let c = &self.config;
        let mut query = vec![("requestId".to_owned(), uuid::Uuid::new_v4().to_string())];
        for (name, value) in [
            ("databaseName", &c.database),
            ("schemaName", &c.schema),
            ("warehouse", &c.warehouse),
            ("roleName", &c.role),
        ] {
            if let Some(v) = value {
                query.push((name.to_owned(), v.clone()));
            }
        }
        let query: Vec<String> = query
            .iter()
            .map(|(k, v)| format!("{k}={}", encode(v)))
            .collect();
        let mut data = json!({
            "CLIENT_APP_ID": "dataconn",
            "CLIENT_APP_VERSION": env!("CARGO_PKG_VERSION"),
            "ACCOUNT_NAME": c.account_name(),
            "LOGIN_NAME": c.user.clone().unwrap_or_default(),
            "SESSION_PARAMETERS": c.session_parameters.clone().unwrap_or_default(),
        });
        match c.authenticator().as_str() {
            "SNOWFLAKE" => {
                data["PASSWORD"] =
                    json!(c.password.as_ref().map(|p| p.expose()).unwrap_or_default())
            }
            "SNOWFLAKE_JWT" => {
                data["AUTHENTICATOR"] = json!("SNOWFLAKE_JWT");
                data["TOKEN"] = json!(crate::keypair::jwt(c)?);
            }
            other => {
                data["AUTHENTICATOR"] = json!(other);
                data["TOKEN"] = json!(c.token.as_ref().map(|t| t.expose()).unwrap_or_default());
            }
        }
        let path = format!("/session/v1/login-request?{}", query.join("&"));
        let reply = self
            .post(&path, None, &json!({ "data": data }), "login")
            .await?;
        if !reply.success {
            let code = reply.code.unwrap_or_default();
            return Err(Error::new(
                ErrorKind::Connect,
                format!(
                    "Snowflake refused the login: {}",
                    reply.message.unwrap_or_default()
                ),
            )
            .set_temporary(false)
            .with_context("code", code));
        }
        let data = reply.data.unwrap_or(Value::Null);
        *self.master.lock().await = data
            .get("masterToken")
            .and_then(Value::as_str)
            .map(str::to_owned);
        data.get("token")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::Connect,
                    "expected a session token in Snowflake's login reply, found none",
                )
            })
    }

    /// A new session token from the master token (`/session/token-request`, RENEW); `None` when
    /// there is no master token or the renewal is refused (then a new login is made).
    async fn renew(&self, old: &str) -> Option<String> {
        let master = self.master.lock().await.clone()?;
        let body = json!({ "oldSessionToken": old, "requestType": "RENEW" });
        let path = format!("/session/token-request?requestId={}", uuid::Uuid::new_v4());
        let reply = self
            .post(&path, Some(&master), &body, "session renewal")
            .await
            .ok()?;
        if !reply.success {
            tracing::info!(code = ?reply.code, "Snowflake refused the session renewal; logging in again");
            return None;
        }
        let data = reply.data?;
        if let Some(m) = data.get("masterToken").and_then(Value::as_str) {
            *self.master.lock().await = Some(m.to_owned());
        }
        data.get("sessionToken")
            .and_then(Value::as_str)
            .map(str::to_owned)
    }

    /// The query id of the last statement run, for Snowflake's query history.
    pub(crate) fn last_query_id(&self) -> Option<String> {
        self.last_query_id.lock_unpoisoned().clone()
    }

    /// The session token, logging in when there is none (never after [`Client::close`]).
    pub(crate) async fn session(&self) -> Result<String> {
        let mut token = self.token.lock().await;
        if let Some(t) = token.as_ref() {
            return Ok(t.clone());
        }
        if self.closed.load(std::sync::atomic::Ordering::Acquire) {
            return Err(Error::new(
                ErrorKind::Closed,
                "expected an open connection, found it closed",
            ));
        }
        let fresh = self.login().await?;
        *token = Some(fresh.clone());
        Ok(fresh)
    }

    /// A session token in place of the expired `old`: renewed with the master token (else a
    /// new login), unless another task already replaced it.
    async fn renew_token(&self, old: &str) -> Result<String> {
        {
            let mut token = self.token.lock().await;
            if token.as_deref() == Some(old) {
                *token = self.renew(old).await;
            }
        }
        self.session().await
    }

    /// Forget the gone session `old` (unless another task already replaced it).
    async fn forget_token(&self, old: &str) {
        let mut token = self.token.lock().await;
        if token.as_deref() == Some(old) {
            *token = None;
        }
    }

    /// One GET of a result URL (only on the configured server), retried on transport
    /// failures, 429 and 5xx (it runs nothing).
    async fn poll(&self, url: &str, token: &str) -> Result<Reply> {
        let url = self.on_server(url, "result URL")?;
        let bound = self.request_bound();
        let limit = self.limits.max_response_bytes;
        self.retry
            .run(
                || async {
                    let response = self
                        .http
                        .get(url.clone())
                        .header("Accept", "application/snowflake")
                        .header("Authorization", format!("Snowflake Token=\"{token}\""))
                        .send()
                        .await
                        .map_err(|e| transport(e, "result poll", bound))?;
                    let status = response.status();
                    if status.as_u16() == 429 || status.is_server_error() {
                        return Err(Error::new(
                            ErrorKind::Connect,
                            format!("a Snowflake result poll answered HTTP {status}"),
                        )
                        .set_temporary(true));
                    }
                    if status.is_redirection() {
                        return Err(redirected("result poll", status));
                    }
                    let bytes = read_body(response, "result poll reply", limit, bound).await?;
                    // Polling runs nothing: an unreadable reply is worth another GET.
                    serde_json::from_slice::<Reply>(&bytes)
                        .map_err(|e| unreadable(e, "result poll").set_temporary(true))
                },
                Error::is_temporary,
            )
            .await
    }

    /// Run `sql` with positional `bindings`; returns the raw result data.
    ///
    /// A statement is sent again only when the server surely did not take it: its session had
    /// expired (renewed, then sent once more) or was gone (a new login, then sent once more)
    /// when it arrived. Once it is running, an expired session is renewed and the same result
    /// polled; a session lost while it runs is an error, since it may have applied.
    pub(crate) async fn query(&self, sql: &str, bindings: Value) -> Result<QueryData> {
        let mut renewed = false;
        let mut relogged = false;
        loop {
            let mut token = self.session().await?;
            let sequence = self
                .sequence
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                + 1;
            let mut body = json!({
                "sqlText": sql,
                "asyncExec": false,
                "sequenceId": sequence,
                "querySubmissionTime": chrono::Utc::now().timestamp_millis(),
            });
            if bindings.as_object().is_some_and(|b| !b.is_empty()) {
                body["bindings"] = bindings.clone();
            }
            let request_id = uuid::Uuid::new_v4().to_string();
            let path = format!("/queries/v1/query-request?requestId={request_id}");
            // Dropped before the answer (a timeout, a cancelled caller): cancel on the server.
            let mut guard = AbortOnDrop {
                http: self.http.clone(),
                url: self.on_server(
                    &format!(
                        "/queries/v1/abort-request?requestId={}",
                        uuid::Uuid::new_v4()
                    ),
                    "abort address",
                )?,
                timeout: self.limits.login_timeout,
                token: token.clone(),
                request_id,
                armed: true,
            };
            let mut reply = self.post(&path, Some(&token), &body, "query").await?;
            // Still running: poll the result URL (backing off) until it is done.
            let mut result_url: Option<String> = None;
            let mut delay = Duration::from_millis(200);
            let mut renewed_while_running = false;
            loop {
                let code = reply.code.as_deref();
                if code.is_some_and(|c| IN_PROGRESS.contains(&c)) {
                    let url = reply
                        .data
                        .as_ref()
                        .and_then(|d| d.get("getResultUrl"))
                        .and_then(Value::as_str)
                        .ok_or_else(|| {
                            Error::new(
                                ErrorKind::Query,
                                "expected a result URL in Snowflake's in-progress reply, found none",
                            )
                        })?
                        .to_owned();
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(2));
                    reply = self.poll(&url, &token).await?;
                    result_url = Some(url);
                    continue;
                }
                if let Some(url) = &result_url {
                    if code == Some(SESSION_EXPIRED) && !renewed_while_running {
                        token = self.renew_token(&token).await?;
                        guard.token = token.clone();
                        renewed_while_running = true;
                        reply = self.poll(url, &token).await?;
                        continue;
                    }
                    if code.is_some_and(|c| SESSION_GONE.contains(&c) || c == SESSION_EXPIRED) {
                        guard.armed = false;
                        return Err(Error::new(
                            ErrorKind::Query,
                            "expected the running statement's result, found its session gone: \
                             it may have applied (see the query history)",
                        )
                        .with_context("code", code.unwrap_or_default().to_owned()));
                    }
                }
                break;
            }
            guard.armed = false;
            let code = reply.code.as_deref();
            if code == Some(SESSION_EXPIRED) && !renewed {
                // Refused before running: renew the session and send the statement once more.
                self.renew_token(&token).await?;
                renewed = true;
                continue;
            }
            if code.is_some_and(|c| SESSION_GONE.contains(&c)) && !relogged {
                tracing::info!(code = ?reply.code, "the Snowflake session is gone; logging in again");
                self.forget_token(&token).await;
                relogged = true;
                continue;
            }
            let query_id = reply
                .data
                .as_ref()
                .and_then(|d| d.get("queryId"))
                .and_then(Value::as_str)
                .map(str::to_owned);
            if query_id.is_some() {
                *self.last_query_id.lock_unpoisoned() = query_id;
            }
            if !reply.success {
                return Err(sql_error(reply));
            }
            let data = reply.data.unwrap_or(Value::Null);
            return serde_json::from_value(data).map_err(|e| {
                Error::new(
                    ErrorKind::Query,
                    "expected a query result from Snowflake, found another reply",
                )
                .with_source(e)
            });
        }
    }

    /// The whole result: the inline rowset and every chunk, in order.
    pub(crate) async fn table(self: Arc<Self>, data: QueryData) -> Result<Table> {
        let parts: Vec<Table> = self.parts(data).try_collect().await?;
        let Some(first) = parts.first() else {
            return Err(Error::internal(
                "expected the inline part of a result, found none",
            ));
        };
        let schema = first.schema().clone();
        let batches = parts
            .iter()
            .flat_map(|t| t.batches().iter().cloned())
            .collect();
        Table::try_new(schema, batches)
    }

    /// The result as it arrives: the inline rowset first, then each chunk in order. Chunks
    /// download in parallel (at most [`CHUNK_DOWNLOADS`] at once, so memory stays bounded by
    /// that many chunks) and are decoded as they come.
    pub(crate) fn parts(self: Arc<Self>, data: QueryData) -> BoxStream<'static, Result<Table>> {
        let data = Arc::new(data);
        let inline = futures::stream::once(futures::future::ready(decode_inline(&data)));
        let chunks = futures::stream::iter(0..data.chunks.len())
            .map(move |i| {
                let client = self.clone();
                let data = data.clone();
                async move {
                    let bytes = client.download(&data.chunks[i], &data).await?;
                    decode_chunk(&data, &bytes)
                }
            })
            .buffered(CHUNK_DOWNLOADS);
        inline.chain(chunks).boxed()
    }

    /// One chunk's bytes, with the chunk headers (never the session token), retried on 429/5xx
    /// and dropped connections, gunzipped when the body is gzip; at most `max_response_bytes`
    /// as sent and once decompressed.
    async fn download(&self, chunk: &Chunk, data: &QueryData) -> Result<Vec<u8>> {
        let what = "result chunk download";
        let bound = self.request_bound();
        let limit = self.limits.max_response_bytes;
        let bytes = self
            .retry
            .run(
                || async {
                    // Presigned storage URLs: they may point anywhere, and carry no token.
                    let mut request = self.http.get(&chunk.url);
                    match &data.chunk_headers {
                        Some(headers) => {
                            for (k, v) in headers {
                                request = request.header(k, v.as_str().unwrap_or_default());
                            }
                        }
                        None => {
                            if let Some(qrmk) = &data.qrmk {
                                request = request
                                    .header(
                                        "x-amz-server-side-encryption-customer-algorithm",
                                        "AES256",
                                    )
                                    .header("x-amz-server-side-encryption-customer-key", qrmk);
                            }
                        }
                    }
                    let response = request
                        .send()
                        .await
                        .map_err(|e| transport(e, what, bound))?;
                    let status = response.status();
                    if status.as_u16() == 429 || status.is_server_error() {
                        return Err(Error::new(
                            ErrorKind::Connect,
                            format!("a result chunk answered HTTP {status}"),
                        )
                        .set_temporary(true));
                    }
                    if !status.is_success() {
                        return Err(Error::new(
                            ErrorKind::Connect,
                            format!("expected a result chunk, found HTTP {status}"),
                        )
                        .set_temporary(false));
                    }
                    read_body(response, "result chunk", limit, bound).await
                },
                Error::is_temporary,
            )
            .await?;
        if bytes.starts_with(&[0x1f, 0x8b]) {
            return gunzip(&bytes, limit);
        }
        Ok(bytes)
    }

    /// POST `body` to a protocol endpoint with this session's token; the reply's `data`.
    pub(crate) async fn raw_post(&self, path: &str, body: &Value) -> Result<Value> {
        // A path must stay on this server: "@host" or "//host" would send the token elsewhere.
        if !path.starts_with('/') || path.starts_with("//") {
            return Err(Error::new(
                ErrorKind::Parameter,
                format!("expected a server path starting with one `/`, found {path:?}"),
            ));
        }
        let token = self.session().await?;
        let reply = self.post(path, Some(&token), body, "request").await?;
        if !reply.success {
            return Err(sql_error(reply));
        }
        Ok(reply.data.unwrap_or(Value::Null))
    }

    /// End the session for good: no new login after this.
    pub(crate) async fn close(&self) {
        self.closed
            .store(true, std::sync::atomic::Ordering::Release);
        self.logout().await;
    }

    /// End the session (best effort); the next statement logs in again.
    pub(crate) async fn logout(&self) {
        let token = self.token.lock().await.take();
        if let Some(token) = token
            && let Ok(url) = self.on_server("/session?delete=true", "logout address")
        {
            let _ = self
                .http
                .post(url)
                .timeout(self.limits.login_timeout)
                .header("Authorization", format!("Snowflake Token=\"{token}\""))
                .json(&json!({}))
                .send()
                .await;
        }
    }
}

/// Sends `abort-request` for a query whose caller went away before its answer.
struct AbortOnDrop {
    http: reqwest::Client,
    url: reqwest::Url,
    /// Bounds the abort request, so that no task waits on it for ever.
    timeout: Duration,
    token: String,
    request_id: String,
    armed: bool,
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let request = self
            .http
            .post(self.url.clone())
            .timeout(self.timeout)
            .header("Accept", "application/snowflake")
            .header(
                "Authorization",
                format!("Snowflake Token=\"{}\"", self.token),
            )
            .json(&json!({ "requestId": self.request_id }));
        runtime.spawn(async move {
            if let Err(e) = request.send().await {
                tracing::warn!(error = %e, "could not cancel an abandoned Snowflake query");
            }
        });
    }
}

/// The rowset that came inline with the query's answer.
/// Whether the result is Arrow (else JSON): the reply's `queryResultFormat`, else whether it
/// carried `rowsetBase64`.
fn is_arrow(data: &QueryData) -> bool {
    match data.query_result_format.as_deref() {
        Some(format) => format.eq_ignore_ascii_case("arrow"),
        None => data.rowset_base64.is_some(),
    }
}

pub(crate) fn decode_inline(data: &QueryData) -> Result<Table> {
    match data.rowset_base64.as_ref().filter(|_| is_arrow(data)) {
        Some(b64) => {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map_err(|e| {
                    Error::new(
                        ErrorKind::TypeConversion,
                        "Snowflake sent invalid base64 Arrow data",
                    )
                    .with_source(e)
                })?;
            from_arrow(&data.rowtype, &bytes)
        }
        None => from_json(&data.rowtype, data.rowset.as_deref().unwrap_or_default()),
    }
}

/// One downloaded chunk, in the format of the query's answer.
fn decode_chunk(data: &QueryData, bytes: &[u8]) -> Result<Table> {
    if is_arrow(data) {
        return from_arrow(&data.rowtype, bytes);
    }
    // JSON chunks are rows without the outer brackets.
    let mut text = Vec::with_capacity(bytes.len() + 2);
    text.push(b'[');
    text.extend_from_slice(bytes);
    text.push(b']');
    let rows: Vec<Vec<Option<String>>> = serde_json::from_slice(&text).map_err(|e| {
        Error::new(
            ErrorKind::TypeConversion,
            "Snowflake sent an invalid JSON chunk",
        )
        .with_source(e)
    })?;
    from_json(&data.rowtype, &rows)
}

fn sql_error(reply: Reply) -> Error {
    let data = reply.data.unwrap_or(Value::Null);
    let field = |k: &str| {
        data.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    Error::query(format!(
        "Snowflake rejected the statement: {}",
        reply.message.unwrap_or_default()
    ))
    .with_context("code", reply.code.unwrap_or_default())
    .with_context("sqlstate", field("sqlState"))
    .with_context("query id", field("queryId"))
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
