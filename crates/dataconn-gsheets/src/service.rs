//! Service accounts: the Sheets v4 REST API, called with the service account's token (see
//! [`crate::auth`]) through [`Http`].
//!
//! Every user value in a URL (the spreadsheet ID, a worksheet title inside an A1 range) is
//! percent-encoded as one path segment, so no title can change which endpoint is called or
//! add query parameters; titles in A1 ranges are quoted (`'It''s'!A1`).

use dataconn_core::{Error, ErrorKind, Result};
use reqwest::Method;
use serde_json::{Value as Json, json};
use url::Url;

use crate::auth::ServiceAccount;
use crate::http::{Http, Repeat};
use crate::spreadsheet::{SpreadsheetRef, WorksheetRef};

/// The API client and who it acts as.
#[derive(Debug)]
pub(crate) struct Api {
    http: Http,
    account: ServiceAccount,
    /// The API's root, ending in `/` (default `https://sheets.googleapis.com/`).
    base: Url,
}

/// `text` as one URL path segment: every byte but RFC 3986's unreserved ones percent-encoded
/// (`/`, `?`, `#`, `%`, `:`, quotes and spaces included), as Google decodes path segments.
///
/// # Errors
/// [`ErrorKind::Parameter`] for an empty text, `.` or `..`: URLs read those (even encoded) as
/// steps in the path, not as names, and no spreadsheet ID or range is one.
pub(crate) fn segment(text: &str) -> Result<String> {
    if text.is_empty() || text == "." || text == ".." {
        return Err(Error::new(
            ErrorKind::Parameter,
            format!("expected a spreadsheet ID or a range, found {text:?}"),
        ));
    }
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    Ok(out)
}

/// A worksheet title quoted for A1 notation: `'My Data'`, `'It''s'`.
pub(crate) fn quoted(title: &str) -> String {
    format!("'{}'", title.replace('\'', "''"))
}

/// At most 300 characters of a server's text, for messages.
pub(crate) fn clip(text: &str) -> String {
    match text.char_indices().nth(300) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

impl Api {
    /// The client for `account`, calling the API at `base` (an http(s) URL, checked).
    pub(crate) fn new(account: ServiceAccount, mut base: Url, http: Http) -> Api {
        base.set_query(None);
        base.set_fragment(None);
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        Api {
            http,
            account,
            base,
        }
    }

    /// The service account's email.
    pub(crate) fn email(&self) -> &str {
        &self.account.email
    }

    /// `v4/spreadsheets/<segments, each encoded>[:verb]?query` under the API's root.
    fn url(&self, segments: &[&str], verb: Option<&str>, query: &[(&str, &str)]) -> Result<Url> {
        let mut path = String::from("v4/spreadsheets");
        for s in segments {
            path.push('/');
            path.push_str(&segment(s)?);
        }
        if let Some(verb) = verb {
            path.push(':');
            path.push_str(verb);
        }
        let mut url = self
            .base
            .join(&path)
            .map_err(|e| Error::internal(format!("could not build a Sheets API URL ({e})")))?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        Ok(url)
    }

    /// One API call with the service account's token; the reply's JSON, or its error
    /// explained.
    async fn call(
        &self,
        what: &str,
        method: Method,
        url: Url,
        body: Option<Json>,
        repeat: Repeat,
    ) -> Result<Json> {
        let token = self.account.token(&self.http).await?;
        // Whatever a server echoes, the token is not shown.
        self.call_with(what, method, url, body, repeat, &token)
            .await
            .map_err(|e| e.scrub(&[token.expose()]))
    }

    async fn call_with(
        &self,
        what: &str,
        method: Method,
        url: Url,
        body: Option<Json>,
        repeat: Repeat,
        token: &dataconn_core::Secret,
    ) -> Result<Json> {
        let body = body.map(|b| b.to_string());
        let reply = self
            .http
            .send(what, repeat, |client| {
                let request = client
                    .request(method.clone(), url.clone())
                    .bearer_auth(token.expose());
                match &body {
                    Some(body) => request
                        .header(reqwest::header::CONTENT_TYPE, "application/json")
                        .body(body.clone()),
                    None => request,
                }
            })
            .await?;
        if !reply.status.is_success() {
            let error = self.explain(what, reply.status.as_u16(), &reply.body);
            let applied = repeat == Repeat::OnlyUnapplied && reply.status.is_server_error();
            return Err(if applied {
                crate::http::maybe_applied(error)
            } else {
                error
            });
        }
        serde_json::from_slice(&reply.body).map_err(|e| {
            Error::new(
                ErrorKind::Connect,
                format!("expected JSON from the Sheets API to {what}, found something else"),
            )
            .with_source(e)
        })
    }

    /// An error reply (Google's `{"error": {"code", "message", "status"}}`) as an error.
    fn explain(&self, what: &str, code: u16, body: &[u8]) -> Error {
        let body: Json = serde_json::from_slice(body).unwrap_or(Json::Null);
        let message = clip(body["error"]["message"].as_str().unwrap_or_default());
        let status = clip(body["error"]["status"].as_str().unwrap_or_default());
        match code {
            401 => Error::new(
                ErrorKind::Connect,
                format!(
                    "Google did not accept the token of the service account {} to {what} \
                     ({status}: {message})",
                    self.email()
                ),
            )
            .set_temporary(false),
            403 => Error::new(
                ErrorKind::Connect,
                format!(
                    "Google refused to {what} ({status}: {message}): share the spreadsheet \
                     with the service account {} (Share → add the email → Editor)",
                    self.email()
                ),
            )
            .set_temporary(false),
            404 => Error::new(
                ErrorKind::NotFound,
                format!("expected a spreadsheet to {what}, found none ({message})"),
            ),
            429 | 500..=599 => Error::new(
                ErrorKind::Connect,
                format!("Google could not {what} now ({code} {status}: {message})"),
            )
            .set_temporary(true),
            _ => Error::new(
                ErrorKind::Query,
                format!("Google refused to {what} ({code} {status}: {message})"),
            )
            .set_temporary(false),
        }
    }

    /// The worksheets of a spreadsheet: (gid, title), in tab order.
    pub(crate) async fn worksheets(&self, sheet: &SpreadsheetRef) -> Result<Vec<(u64, String)>> {
        let url = self.url(&[&sheet.id], None, &[("includeGridData", "false")])?;
        let reply = self
            .call("read the spreadsheet", Method::GET, url, None, Repeat::Safe)
            .await?;
        let sheets = reply["sheets"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        Ok(sheets
            .iter()
            .filter_map(|s| {
                let p = &s["properties"];
                Some((p["sheetId"].as_u64()?, p["title"].as_str()?.to_owned()))
            })
            .collect())
    }

    /// A worksheet's gid and title from how it was named; an unknown one is [`ErrorKind::NotFound`]
    /// listing the worksheets.
    pub(crate) async fn find(
        &self,
        sheet: &SpreadsheetRef,
        worksheet: &WorksheetRef,
    ) -> Result<(u64, String)> {
        let sheets = self.worksheets(sheet).await?;
        let found = match worksheet {
            WorksheetRef::Gid(gid) => sheets.iter().find(|(g, _)| g == gid),
            WorksheetRef::Index(i) => sheets.get(*i),
            WorksheetRef::Title(t) => sheets.iter().find(|(_, title)| title == t),
        };
        found.cloned().ok_or_else(|| {
            Error::new(
                ErrorKind::NotFound,
                format!(
                    "expected a worksheet {worksheet:?}, found {}",
                    sheets
                        .iter()
                        .map(|(g, t)| format!("{t:?} (gid {g})"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })
    }

    /// A worksheet's title from how it was named (checked against the spreadsheet).
    pub(crate) async fn title(
        &self,
        sheet: &SpreadsheetRef,
        worksheet: Option<&WorksheetRef>,
    ) -> Result<String> {
        let wanted = match worksheet {
            Some(w) => w.clone(),
            None => sheet.gid.map_or(WorksheetRef::Index(0), WorksheetRef::Gid),
        };
        self.find(sheet, &wanted).await.map(|(_, title)| title)
    }

    /// A worksheet's cells as text, rows first, rendered as `render` asks
    /// (`FORMATTED_VALUE`, `UNFORMATTED_VALUE`, `FORMULA`).
    pub(crate) async fn values(
        &self,
        sheet: &SpreadsheetRef,
        title: &str,
        render: &str,
    ) -> Result<Vec<Vec<String>>> {
        let url = self.url(
            &[&sheet.id, "values", &quoted(title)],
            None,
            &[
                ("majorDimension", "ROWS"),
                ("valueRenderOption", render),
                ("dateTimeRenderOption", "FORMATTED_STRING"),
            ],
        )?;
        let reply = self
            .call("read the worksheet", Method::GET, url, None, Repeat::Safe)
            .await?;
        let rows = reply["values"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        rows.iter()
            .map(|row| {
                let cells = row.as_array().ok_or_else(|| {
                    Error::new(
                        ErrorKind::TypeConversion,
                        "expected the worksheet's rows as arrays of cells from the Sheets API, \
                         found another value",
                    )
                })?;
                Ok(cells
                    .iter()
                    .map(|cell| match cell {
                        Json::String(s) => s.clone(),
                        Json::Null => String::new(),
                        Json::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_owned(),
                        other => other.to_string(),
                    })
                    .collect())
            })
            .collect()
    }
}

/// The service-account key fields from the section, or from the JSON file it names.
pub(crate) async fn account(key: &crate::connection::ServiceKey) -> Result<ServiceAccount> {
    use crate::connection::ServiceKey;
    match key {
        ServiceKey::Fields {
            fields,
            key_origin,
            uri_origin,
        } => ServiceAccount::new(fields.clone(), key_origin, uri_origin),
        ServiceKey::File(path) => {
            let fields = crate::auth::read_key_file(path).await?;
            ServiceAccount::new(fields, path, path)
        }
    }
}

/// Writes. Values go as `RAW` input (or as `userEnteredValue` of the matching type): text is
/// stored as text (never parsed into a formula), numbers and booleans as values.
impl Api {
    /// Empty a worksheet's cells.
    pub(crate) async fn clear(&self, sheet: &SpreadsheetRef, title: &str) -> Result<()> {
        let url = self.url(&[&sheet.id, "values", &quoted(title)], Some("clear"), &[])?;
        self.call(
            "clear the worksheet",
            Method::POST,
            url,
            Some(json!({})),
            Repeat::Safe,
        )
        .await
        .map(|_| ())
    }

    /// Write `rows` from A1 (into an empty worksheet, this is its contents).
    pub(crate) async fn write(
        &self,
        sheet: &SpreadsheetRef,
        title: &str,
        rows: Vec<Vec<Json>>,
    ) -> Result<()> {
        let range = format!("{}!A1", quoted(title));
        let url = self.url(
            &[&sheet.id, "values", &range],
            None,
            &[("valueInputOption", "RAW")],
        )?;
        let body = json!({"range": range, "majorDimension": "ROWS", "values": rows});
        self.call(
            "write the worksheet",
            Method::PUT,
            url,
            Some(body),
            Repeat::Safe,
        )
        .await
        .map(|_| ())
    }

    /// Add `rows` under the worksheet's last row. Never repeated once it may have been applied
    /// (a second append would add the rows twice).
    pub(crate) async fn append(
        &self,
        sheet: &SpreadsheetRef,
        title: &str,
        rows: Vec<Vec<Json>>,
    ) -> Result<()> {
        let range = quoted(title);
        let url = self.url(
            &[&sheet.id, "values", &range],
            Some("append"),
            &[
                ("valueInputOption", "RAW"),
                ("insertDataOption", "INSERT_ROWS"),
            ],
        )?;
        let body = json!({"range": range, "majorDimension": "ROWS", "values": rows});
        self.call(
            "append to the worksheet",
            Method::POST,
            url,
            Some(body),
            Repeat::OnlyUnapplied,
        )
        .await
        .map(|_| ())
    }

    /// One `batchUpdate`: Google applies all of its requests or none. Its replies.
    async fn batch(
        &self,
        sheet: &SpreadsheetRef,
        what: &str,
        requests: Vec<Json>,
        repeat: Repeat,
    ) -> Result<Vec<Json>> {
        let url = self.url(&[&sheet.id], Some("batchUpdate"), &[])?;
        let reply = self
            .call(
                what,
                Method::POST,
                url,
                Some(json!({"requests": requests})),
                repeat,
            )
            .await?;
        Ok(reply["replies"].as_array().cloned().unwrap_or_default())
    }

    /// Make a worksheet exactly `rows` (the header first) in one `batchUpdate`: the grid cut
    /// or grown to their size, then every cell set. Google applies both or neither, so a
    /// failure leaves the old contents whole and a retry writes the same result.
    pub(crate) async fn replace(
        &self,
        sheet: &SpreadsheetRef,
        gid: u64,
        rows: &[Vec<Json>],
        columns: usize,
    ) -> Result<()> {
        let requests = vec![
            json!({"updateSheetProperties": {
                "properties": {"sheetId": gid, "gridProperties": grid(rows.len(), columns)},
                "fields": "gridProperties.rowCount,gridProperties.columnCount",
            }}),
            update_cells(gid, rows),
        ];
        self.batch(sheet, "replace the worksheet", requests, Repeat::Safe)
            .await
            .map(|_| ())
    }

    /// Add a worksheet titled `title` holding `rows` (a grid of exactly their size) in one
    /// `batchUpdate`, so no empty worksheet is left behind by a failure; its gid. Never
    /// repeated once it may have been applied.
    pub(crate) async fn add_worksheet(
        &self,
        sheet: &SpreadsheetRef,
        title: &str,
        rows: &[Vec<Json>],
        columns: usize,
    ) -> Result<u64> {
        let taken: Vec<u64> = self
            .worksheets(sheet)
            .await?
            .into_iter()
            .map(|(g, _)| g)
            .collect();
        let gid = free_gid(title, &taken);
        let requests = vec![
            json!({"addSheet": {"properties": {
                "sheetId": gid, "title": title, "gridProperties": grid(rows.len(), columns),
            }}}),
            update_cells(gid, rows),
        ];
        let replies = self
            .batch(sheet, "add the worksheet", requests, Repeat::OnlyUnapplied)
            .await?;
        Ok(replies
            .iter()
            .find_map(|r| r["addSheet"]["properties"]["sheetId"].as_u64())
            .unwrap_or(gid))
    }

    /// A new spreadsheet titled `title` whose one worksheet `worksheet` holds `rows`, in one
    /// request; its ID. Never repeated once it may have been applied (that would make two).
    pub(crate) async fn create_spreadsheet(
        &self,
        title: &str,
        worksheet: &str,
        rows: &[Vec<Json>],
        columns: usize,
    ) -> Result<String> {
        let body = json!({
            "properties": {"title": title},
            "sheets": [{
                "properties": {"title": worksheet, "gridProperties": grid(rows.len(), columns)},
                "data": [{"startRow": 0, "startColumn": 0, "rowData": row_data(rows)}],
            }],
        });
        let url = self.url(&[], None, &[])?;
        let created = self
            .call(
                "create the spreadsheet",
                Method::POST,
                url,
                Some(body),
                Repeat::OnlyUnapplied,
            )
            .await?;
        created["spreadsheetId"]
            .as_str()
            .filter(|id| !id.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::Connect,
                    "expected the new spreadsheet's ID from Google, found none",
                )
            })
    }
}

/// Grid properties of `rows` × `columns` cells (at least one of each, at most what Google's
/// 32-bit counts hold).
fn grid(rows: usize, columns: usize) -> Json {
    let count = |n: usize| n.clamp(1, i32::MAX as usize);
    json!({"rowCount": count(rows), "columnCount": count(columns)})
}

/// Cells as `RowData`: text as `stringValue` (never a formula), numbers, booleans; an empty
/// cell as no value, which empties it.
fn row_data(rows: &[Vec<Json>]) -> Json {
    let cell = |v: &Json| match v {
        Json::String(s) if s.is_empty() => json!({}),
        Json::String(s) => json!({"userEnteredValue": {"stringValue": s}}),
        Json::Number(n) => json!({"userEnteredValue": {"numberValue": n}}),
        Json::Bool(b) => json!({"userEnteredValue": {"boolValue": b}}),
        Json::Null => json!({}),
        other => json!({"userEnteredValue": {"stringValue": other.to_string()}}),
    };
    Json::Array(
        rows.iter()
            .map(|row| json!({"values": row.iter().map(cell).collect::<Vec<_>>()}))
            .collect(),
    )
}

/// An `updateCells` request setting every cell from A1 of the worksheet `gid`.
fn update_cells(gid: u64, rows: &[Vec<Json>]) -> Json {
    json!({"updateCells": {
        "rows": row_data(rows),
        "fields": "userEnteredValue",
        "start": {"sheetId": gid, "rowIndex": 0, "columnIndex": 0},
    }})
}

/// A gid for a new worksheet: random (as Google's own are), positive, 31-bit, not taken.
fn free_gid(title: &str, taken: &[u64]) -> u64 {
    use std::hash::BuildHasher;
    let seed = std::collections::hash_map::RandomState::new();
    (0u64..)
        .map(|i| seed.hash_one((title, i)) % (i32::MAX as u64 - 1) + 1)
        .find(|g| !taken.contains(g))
        .unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_are_one_encoded_path_segment() {
        assert_eq!(segment("'a?b#c'").unwrap(), "%27a%3Fb%23c%27");
        assert_eq!(segment("50%/x").unwrap(), "50%25%2Fx");
        assert_eq!(segment("My Data:append").unwrap(), "My%20Data%3Aappend");
        assert!(segment("..").is_err() && segment(".").is_err() && segment("").is_err());
        assert_eq!(quoted("It's"), "'It''s'");
    }
}
