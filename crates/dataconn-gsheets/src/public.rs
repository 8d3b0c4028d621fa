//! Public sheets: the CSV export URL, fetched without credentials, with retries.

use dataconn_core::{Error, ErrorKind, Result, RetryPolicy};

use crate::spreadsheet::SpreadsheetRef;

/// The CSV export URL of a worksheet (as st-gsheets-connection builds it).
pub(crate) fn export_url(base: &str, sheet: &SpreadsheetRef, gid: Option<u64>) -> String {
    let mut url = format!(
        "{}/spreadsheets/d/{}/export?format=csv",
        base.trim_end_matches('/'),
        sheet.id
    );
    if let Some(gid) = gid {
        url.push_str(&format!("&gid={gid}"));
    }
    url
}

/// The worksheet's CSV text. 429 and 5xx are retried; a login page (a private sheet) and 404
/// are clear errors.
pub(crate) async fn fetch(
    http: &reqwest::Client,
    retry: &RetryPolicy,
    url: &str,
) -> Result<String> {
    retry
        .run(
            || async {
                let response = http.get(url).send().await.map_err(|e| {
                    Error::new(ErrorKind::Connect, format!("could not reach {url}"))
                        .set_temporary(true)
                        .with_source(e)
                })?;
                let status = response.status();
                if status.as_u16() == 429 || status.is_server_error() {
                    return Err(Error::new(
                        ErrorKind::Connect,
                        format!("the sheet's CSV export answered HTTP {status}"),
                    )
                    .set_temporary(true));
                }
                if status.as_u16() == 404 {
                    return Err(Error::new(
                        ErrorKind::NotFound,
                        format!(
                            "expected a spreadsheet at {url}, found none (HTTP 404): check the \
                             spreadsheet ID and the worksheet gid"
                        ),
                    ));
                }
                let html = response
                    .headers()
                    .get(reqwest::header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|t| t.starts_with("text/html"));
                let private = || {
                    Error::new(
                        ErrorKind::Connect,
                        format!(
                            "expected CSV from {url}, found a sign-in page: the sheet is not \
                             public. Share it as \"Anyone with the link\", or use a service \
                             account"
                        ),
                    )
                };
                if status.as_u16() == 401 || status.as_u16() == 403 || html {
                    return Err(private());
                }
                if !status.is_success() {
                    return Err(Error::new(
                        ErrorKind::Connect,
                        format!("expected CSV from {url}, found HTTP {status}"),
                    ));
                }
                let text = response.text().await.map_err(|e| {
                    Error::new(ErrorKind::Connect, format!("could not read {url}"))
                        .set_temporary(true)
                        .with_source(e)
                })?;
                let start = text
                    .trim_start()
                    .get(..9)
                    .unwrap_or_default()
                    .to_ascii_lowercase();
                if start.starts_with("<!doctype") || start.starts_with("<html") {
                    return Err(private());
                }
                Ok(text)
            },
            Error::is_temporary,
        )
        .await
}
