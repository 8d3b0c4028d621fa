//! Public sheets: the CSV export URL, fetched without credentials through [`Http`] (its
//! timeout, reply limit and retries).

use dataconn_core::{Error, ErrorKind, Result};
use url::Url;

use crate::config::shown;
use crate::http::{Http, Repeat};
use crate::service::segment;
use crate::spreadsheet::SpreadsheetRef;

/// The CSV export URL of a worksheet (as st-gsheets-connection builds it), under `base` (an
/// http(s) URL, checked).
pub(crate) fn export_url(base: &Url, sheet: &SpreadsheetRef, gid: Option<u64>) -> Result<Url> {
    let mut url = base.clone();
    url.set_query(None);
    url.set_fragment(None);
    let path = format!(
        "{}/spreadsheets/d/{}/export",
        url.path().trim_end_matches('/'),
        segment(&sheet.id)?
    );
    url.set_path(&path);
    {
        let mut query = url.query_pairs_mut();
        query.append_pair("format", "csv");
        if let Some(gid) = gid {
            query.append_pair("gid", &gid.to_string());
        }
    }
    Ok(url)
}

/// The worksheet's CSV text. 429 and 5xx are retried; a login page (a private sheet) and 404
/// are clear errors.
pub(crate) async fn fetch(http: &Http, url: &Url) -> Result<String> {
    let what = "read the sheet's CSV export";
    let reply = http
        .send(what, Repeat::Safe, |client| client.get(url.clone()))
        .await?;
    let status = reply.status;
    let at = shown(url.as_str());
    if status.as_u16() == 429 || status.is_server_error() {
        return Err(Error::new(
            ErrorKind::Connect,
            format!("the sheet's CSV export at {at} answered HTTP {status}"),
        )
        .set_temporary(true));
    }
    if status.as_u16() == 404 {
        return Err(Error::new(
            ErrorKind::NotFound,
            format!(
                "expected a spreadsheet at {at}, found none (HTTP 404): check the spreadsheet \
                 ID and the worksheet gid"
            ),
        ));
    }
    let private = || {
        Error::new(
            ErrorKind::Connect,
            format!(
                "expected CSV from {at}, found a sign-in page: the sheet is not public. Share \
                 it as \"Anyone with the link\", or use a service account"
            ),
        )
    };
    let html = reply.content_type.starts_with("text/html");
    if status.as_u16() == 401 || status.as_u16() == 403 || html {
        return Err(private());
    }
    if !status.is_success() {
        return Err(Error::new(
            ErrorKind::Connect,
            format!("expected CSV from {at}, found HTTP {status}"),
        ));
    }
    let text = String::from_utf8_lossy(&reply.body).into_owned();
    let start = text
        .trim_start()
        .get(..9)
        .unwrap_or_default()
        .to_ascii_lowercase();
    if start.starts_with("<!doctype") || start.starts_with("<html") {
        return Err(private());
    }
    Ok(text)
}
