//! Every HTTP call the connector makes (the Sheets API, the token exchange, the public CSV
//! export) goes through [`Http::send`]: one total timeout per request, a cap on the reply's
//! body, and retries only where repeating the request cannot apply it twice.

use std::time::{Duration, Instant};

use dataconn_core::{Error, ErrorKind, Result, RetryPolicy};
use reqwest::StatusCode;

/// Whether a request may be sent again after it may have reached the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Repeat {
    /// Sending it twice leaves what sending it once does (reads, `values.update`, `clear`,
    /// a batch that sets cells and the grid to given values, the token exchange): retried on
    /// 429, 5xx, timeouts and dropped connections.
    Safe,
    /// Sending it twice may apply it twice (`append`, `create`, `addSheet`): retried only when
    /// it surely was not applied, that is on 429 (Google applies nothing then) and when the
    /// connection could not be made.
    OnlyUnapplied,
}

/// A reply: its status, content type and whole body (at most `max_response_bytes`).
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) content_type: String,
    pub(crate) body: Vec<u8>,
}

impl Reply {
    /// Whether this status is worth another try, for a request that may be repeated `repeat`.
    fn retryable(&self, repeat: Repeat) -> bool {
        self.status == StatusCode::TOO_MANY_REQUESTS
            || (repeat == Repeat::Safe && self.status.is_server_error())
    }
}

/// A failed attempt, and whether the request may have reached the server.
struct Failure {
    error: Error,
    maybe_applied: bool,
}

/// The HTTP client of one connection, with its limits.
#[derive(Debug, Clone)]
pub(crate) struct Http {
    client: reqwest::Client,
    /// `request_timeout`: the whole of one attempt, from connecting to the reply's last byte.
    timeout: Duration,
    /// `max_response_bytes`.
    max_bytes: u64,
    retry: RetryPolicy,
}

impl Http {
    pub(crate) fn new(timeout: Duration, max_bytes: u64) -> Result<Http> {
        let client = reqwest::Client::builder()
            .connect_timeout(timeout.min(Duration::from_secs(30)))
            // Redirects stay (a private sheet's export is sent to a sign-in page), bounded.
            .redirect(reqwest::redirect::Policy::limited(5))
            .build()
            .map_err(|e| Error::config("could not set up the HTTP client").with_source(e))?;
        Ok(Http {
            client,
            timeout,
            max_bytes,
            retry: RetryPolicy::default(),
        })
    }

    /// Send the request `build` makes (once per attempt) and read the whole reply, to `what`
    /// (for messages: "read the worksheet"). Retries as `repeat` allows; any status comes back
    /// as a [`Reply`] for the caller to explain (after the retries a 429 or 5xx was worth).
    ///
    /// # Errors
    /// [`ErrorKind::Timeout`] naming `request_timeout`; [`ErrorKind::Query`] naming
    /// `max_response_bytes` for a larger reply; [`ErrorKind::Connect`] when the server could
    /// not be reached or the connection broke. For [`Repeat::OnlyUnapplied`], an error after
    /// the request may have been applied says so.
    pub(crate) async fn send<F>(&self, what: &str, repeat: Repeat, build: F) -> Result<Reply>
    where
        F: Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    {
        let started = Instant::now();
        let mut retry = 0;
        loop {
            let outcome = self.attempt(what, &build).await;
            let again = match &outcome {
                Ok(reply) => reply.retryable(repeat),
                Err(f) => f.error.is_temporary() && (repeat == Repeat::Safe || !f.maybe_applied),
            };
            let wait = self.retry.backoff(retry);
            if !again || retry >= self.retry.retries || started.elapsed() + wait > self.retry.budget
            {
                return outcome.map_err(|f| match (repeat, f.maybe_applied) {
                    (Repeat::OnlyUnapplied, true) => maybe_applied(f.error),
                    _ => f.error,
                });
            }
            retry += 1;
            tracing::Span::current().record("retries", retry);
            match &outcome {
                Ok(reply) => {
                    tracing::warn!(status = %reply.status, retry, what, "retrying after a temporary failure")
                }
                Err(f) => {
                    tracing::warn!(error = %f.error, retry, what, "retrying after a temporary failure")
                }
            }
            tokio::time::sleep(wait).await;
        }
    }

    async fn attempt<F>(&self, what: &str, build: &F) -> std::result::Result<Reply, Failure>
    where
        F: Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    {
        match tokio::time::timeout(self.timeout, self.exchange(what, build)).await {
            Ok(outcome) => outcome,
            Err(_) => Err(Failure {
                error: Error::new(
                    ErrorKind::Timeout,
                    format!(
                        "expected an answer to {what} within request_timeout ({}), found none \
                         in time; raise `request_timeout` in the connection's section if the \
                         server is slow",
                        seconds(self.timeout)
                    ),
                )
                .set_temporary(true),
                maybe_applied: true,
            }),
        }
    }

    async fn exchange<F>(&self, what: &str, build: &F) -> std::result::Result<Reply, Failure>
    where
        F: Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    {
        let mut response = build(&self.client).send().await.map_err(|e| {
            // Only a refused connection surely never reached the server.
            let unsent = e.is_connect() || e.is_builder();
            Failure {
                error: Error::new(
                    ErrorKind::Connect,
                    format!("could not reach Google to {what}"),
                )
                .set_temporary(!e.is_builder())
                .with_source(e.without_url()),
                maybe_applied: !unsent,
            }
        })?;
        let status = response.status();
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let too_big = || Failure {
            error: Error::new(
                ErrorKind::Query,
                format!(
                    "expected a reply of at most max_response_bytes ({} bytes) to {what}, found \
                     a larger one; raise `max_response_bytes` in the connection's section",
                    self.max_bytes
                ),
            )
            .set_temporary(false),
            maybe_applied: true,
        };
        if response
            .content_length()
            .is_some_and(|n| n > self.max_bytes)
        {
            return Err(too_big());
        }
        let mut body = Vec::new();
        loop {
            let chunk = response.chunk().await.map_err(|e| Failure {
                error: Error::new(
                    ErrorKind::Connect,
                    format!("the connection broke while reading the reply to {what}"),
                )
                .set_temporary(true)
                .with_source(e.without_url()),
                maybe_applied: true,
            })?;
            let Some(chunk) = chunk else { break };
            if (body.len() + chunk.len()) as u64 > self.max_bytes {
                return Err(too_big());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Reply {
            status,
            content_type,
            body,
        })
    }
}

/// A failed write that was not repeated because it may have been applied, saying so.
pub(crate) fn maybe_applied(error: Error) -> Error {
    error
        .with_context(
            "not sent again",
            "Google may have applied it; look at the spreadsheet before repeating it",
        )
        .set_temporary(false)
}

/// A duration as people write it in the config: `30s`, `1.5s`, `250ms`.
pub(crate) fn seconds(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{}ms", d.as_millis())
    } else {
        format!("{}s", d.as_secs_f64())
    }
}
