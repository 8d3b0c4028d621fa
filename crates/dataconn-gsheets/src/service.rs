//! Service accounts: the Sheets v4 API through google-sheets4, authorised by yup-oauth2's
//! service-account flow (a JWT signed with the key, exchanged at the key's `token_uri`).

use dataconn_core::{Error, ErrorKind, Result, RetryPolicy};
use google_sheets4::FieldMask;
use google_sheets4::api::{
    AddSheetRequest, BatchUpdateSpreadsheetRequest, ClearValuesRequest, GridProperties, Request,
    Scope, Sheet, SheetProperties, Spreadsheet, SpreadsheetProperties,
    UpdateSheetPropertiesRequest, ValueRange,
};
use google_sheets4::{Sheets, hyper_rustls, hyper_util, yup_oauth2};

use crate::spreadsheet::{SpreadsheetRef, WorksheetRef};

type Connector = hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>;

/// The API hub and who it acts as.
pub(crate) struct Api {
    hub: Sheets<Connector>,
    /// The service account's email, for "share the sheet with ..." messages.
    pub(crate) email: String,
    retry: RetryPolicy,
}

fn connector() -> Result<Connector> {
    Ok(hyper_rustls::HttpsConnectorBuilder::new()
        .with_native_roots()
        .map_err(|e| Error::config("could not load the system's root certificates").with_source(e))?
        .https_or_http()
        .enable_http1()
        .enable_http2()
        .build())
}

impl Api {
    /// The hub for `key` (a service-account key), calling the API at `base_url`.
    pub(crate) async fn new(key: yup_oauth2::ServiceAccountKey, base_url: &str) -> Result<Api> {
        let email = key.client_email.clone();
        let executor = hyper_util::rt::TokioExecutor::new();
        let auth_client =
            hyper_util::client::legacy::Client::builder(executor.clone()).build(connector()?);
        let auth = yup_oauth2::ServiceAccountAuthenticator::with_client(
            key,
            yup_oauth2::client::CustomHyperClientBuilder::from(auth_client),
        )
        .build()
        .await
        .map_err(|e| {
            Error::config("could not set up the service-account sign-in").with_source(e)
        })?;
        let client = hyper_util::client::legacy::Client::builder(executor).build(connector()?);
        let mut hub = Sheets::new(client, auth);
        let mut base = base_url.to_owned();
        if !base.ends_with('/') {
            base.push('/');
        }
        hub.base_url(base);
        Ok(Api {
            hub,
            email,
            retry: RetryPolicy::default(),
        })
    }

    /// One API call, retried on 429 and 5xx; its errors explained.
    async fn call<T, F, Fut>(&self, what: &str, run: F) -> Result<T>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<
                Output = google_sheets4::Result<(google_sheets4::common::Response, T)>,
            >,
    {
        self.retry
            .run(
                || async {
                    run()
                        .await
                        .map(|(_, v)| v)
                        .map_err(|e| self.explain(what, e))
                },
                Error::is_temporary,
            )
            .await
    }

    fn explain(&self, what: &str, err: google_sheets4::Error) -> Error {
        use google_sheets4::Error as E;
        match err {
            E::BadRequest(body) => {
                let code = body["error"]["code"].as_u64().unwrap_or(400);
                let message = body["error"]["message"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                let status = body["error"]["status"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                match code {
                    403 => Error::new(
                        ErrorKind::Connect,
                        format!(
                            "Google refused to {what} ({status}: {message}): share the \
                             spreadsheet with the service account {} (Share → add the email → \
                             Editor)",
                            self.email
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
            E::Failure(response) => {
                let status = response.status();
                let err = Error::new(
                    ErrorKind::Connect,
                    format!("Google could not {what}: HTTP {status}"),
                );
                err.set_temporary(status.as_u16() == 429 || status.is_server_error())
            }
            E::MissingToken(e) => Error::new(
                ErrorKind::Connect,
                format!(
                    "expected an access token for the service account {}, found the sign-in \
                     refused: {e}",
                    self.email
                ),
            )
            .set_temporary(false),
            E::HttpError(e) => Error::new(
                ErrorKind::Connect,
                format!("could not reach Google to {what}"),
            )
            .set_temporary(true)
            .with_source(e),
            other => Error::new(ErrorKind::Connect, format!("could not {what}: {other}")),
        }
    }

    /// The worksheets of a spreadsheet: (gid, title), in tab order.
    pub(crate) async fn worksheets(&self, sheet: &SpreadsheetRef) -> Result<Vec<(u64, String)>> {
        let spreadsheet = self
            .call("read the spreadsheet", || {
                self.hub
                    .spreadsheets()
                    .get(&sheet.id)
                    .include_grid_data(false)
                    .add_scope(Scope::Spreadsheet)
                    .doit()
            })
            .await?;
        Ok(spreadsheet
            .sheets
            .unwrap_or_default()
            .into_iter()
            .filter_map(|s| s.properties)
            .map(|p| {
                (
                    p.sheet_id.unwrap_or_default().max(0) as u64,
                    p.title.unwrap_or_default(),
                )
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
        let range = format!("'{}'", title.replace('\'', "''"));
        let values = self
            .call("read the worksheet", || {
                self.hub
                    .spreadsheets()
                    .values_get(&sheet.id, &range)
                    .major_dimension("ROWS")
                    .value_render_option(render)
                    .date_time_render_option("FORMATTED_STRING")
                    .add_scope(Scope::Spreadsheet)
                    .doit()
            })
            .await?;
        Ok(values
            .values
            .unwrap_or_default()
            .into_iter()
            .map(|row| {
                row.into_iter()
                    .map(|cell| match cell {
                        serde_json::Value::String(s) => s,
                        serde_json::Value::Null => String::new(),
                        serde_json::Value::Bool(b) => if b { "TRUE" } else { "FALSE" }.to_owned(),
                        other => other.to_string(),
                    })
                    .collect()
            })
            .collect())
    }
}

/// The service-account key from the section's fields (as in Google's key JSON) or from the
/// file `service_account_file` names.
pub(crate) async fn key(
    options: &toml::Table,
    file: Option<&str>,
) -> Result<yup_oauth2::ServiceAccountKey> {
    if let Some(path) = file {
        return yup_oauth2::read_service_account_key(path)
            .await
            .map_err(|e| {
                Error::config(format!(
                    "expected a service-account key JSON at {path}, found none readable"
                ))
                .with_source(e)
            });
    }
    let mut fields = serde_json::Map::new();
    for (k, v) in options {
        if let toml::Value::String(s) = v {
            fields.insert(k.clone(), serde_json::Value::String(s.clone()));
        }
    }
    fields
        .entry("token_uri")
        .or_insert_with(|| "https://oauth2.googleapis.com/token".into());
    serde_json::from_value(serde_json::Value::Object(fields)).map_err(|e| {
        // serde's message names the missing field, never a value.
        Error::config(format!(
            "expected the service-account key fields (client_email, private_key, ...), found: {e}"
        ))
    })
}

/// Writes. Values go as `RAW` input: text is stored as text (never parsed into a formula), numbers
/// and booleans as values.
impl Api {
    fn range(title: &str, cells: &str) -> String {
        format!("'{}'{cells}", title.replace('\'', "''"))
    }

    /// Empty a worksheet's cells.
    pub(crate) async fn clear(&self, sheet: &SpreadsheetRef, title: &str) -> Result<()> {
        let range = Self::range(title, "");
        self.call("clear the worksheet", || {
            self.hub
                .spreadsheets()
                .values_clear(ClearValuesRequest::default(), &sheet.id, &range)
                .add_scope(Scope::Spreadsheet)
                .doit()
        })
        .await
        .map(|_| ())
    }

    /// Write `rows` from A1 (after a clear, this replaces the contents).
    pub(crate) async fn write(
        &self,
        sheet: &SpreadsheetRef,
        title: &str,
        rows: Vec<Vec<serde_json::Value>>,
    ) -> Result<()> {
        let range = Self::range(title, "!A1");
        let body = ValueRange {
            major_dimension: Some("ROWS".into()),
            range: Some(range.clone()),
            values: Some(rows),
        };
        self.call("write the worksheet", || {
            self.hub
                .spreadsheets()
                .values_update(body.clone(), &sheet.id, &range)
                .value_input_option("RAW")
                .add_scope(Scope::Spreadsheet)
                .doit()
        })
        .await
        .map(|_| ())
    }

    /// Add `rows` under the worksheet's last row.
    pub(crate) async fn append(
        &self,
        sheet: &SpreadsheetRef,
        title: &str,
        rows: Vec<Vec<serde_json::Value>>,
    ) -> Result<()> {
        let range = Self::range(title, "");
        let body = ValueRange {
            major_dimension: Some("ROWS".into()),
            range: Some(range.clone()),
            values: Some(rows),
        };
        self.call("append to the worksheet", || {
            self.hub
                .spreadsheets()
                .values_append(body.clone(), &sheet.id, &range)
                .value_input_option("RAW")
                .insert_data_option("INSERT_ROWS")
                .add_scope(Scope::Spreadsheet)
                .doit()
        })
        .await
        .map(|_| ())
    }

    /// One batchUpdate request; its replies.
    async fn batch(
        &self,
        sheet: &SpreadsheetRef,
        what: &str,
        request: Request,
    ) -> Result<Vec<google_sheets4::api::Response>> {
        let body = BatchUpdateSpreadsheetRequest {
            requests: Some(vec![request]),
            ..Default::default()
        };
        let reply = self
            .call(what, || {
                self.hub
                    .spreadsheets()
                    .batch_update(body.clone(), &sheet.id)
                    .add_scope(Scope::Spreadsheet)
                    .doit()
            })
            .await?;
        Ok(reply.replies.unwrap_or_default())
    }

    /// Add a worksheet of `rows` × `columns` cells; its gid.
    pub(crate) async fn add_worksheet(
        &self,
        sheet: &SpreadsheetRef,
        title: &str,
        rows: usize,
        columns: usize,
    ) -> Result<u64> {
        let request = Request {
            add_sheet: Some(AddSheetRequest {
                properties: Some(SheetProperties {
                    title: Some(title.to_owned()),
                    grid_properties: Some(grid(rows, columns)),
                    ..Default::default()
                }),
            }),
            ..Default::default()
        };
        let replies = self.batch(sheet, "add the worksheet", request).await?;
        Ok(replies
            .into_iter()
            .find_map(|r| r.add_sheet?.properties?.sheet_id)
            .unwrap_or_default()
            .max(0) as u64)
    }

    /// A new spreadsheet titled `title` with one worksheet of `rows` × `columns` cells; its ID.
    pub(crate) async fn create_spreadsheet(
        &self,
        title: &str,
        worksheet: &str,
        rows: usize,
        columns: usize,
    ) -> Result<String> {
        let body = Spreadsheet {
            properties: Some(SpreadsheetProperties {
                title: Some(title.to_owned()),
                ..Default::default()
            }),
            sheets: Some(vec![Sheet {
                properties: Some(SheetProperties {
                    title: Some(worksheet.to_owned()),
                    grid_properties: Some(grid(rows, columns)),
                    ..Default::default()
                }),
                ..Default::default()
            }]),
            ..Default::default()
        };
        let created = self
            .call("create the spreadsheet", || {
                self.hub
                    .spreadsheets()
                    .create(body.clone())
                    .add_scope(Scope::Spreadsheet)
                    .doit()
            })
            .await?;
        created.spreadsheet_id.ok_or_else(|| {
            Error::new(
                ErrorKind::Connect,
                "expected the new spreadsheet's ID from Google, found none",
            )
        })
    }

    /// Make a worksheet's grid exactly `rows` × `columns` cells.
    pub(crate) async fn resize(
        &self,
        sheet: &SpreadsheetRef,
        gid: u64,
        rows: usize,
        columns: usize,
    ) -> Result<()> {
        let request = Request {
            update_sheet_properties: Some(UpdateSheetPropertiesRequest {
                properties: Some(SheetProperties {
                    sheet_id: Some(gid as i32),
                    grid_properties: Some(grid(rows, columns)),
                    ..Default::default()
                }),
                fields: Some(FieldMask::new(&[
                    "gridProperties.rowCount",
                    "gridProperties.columnCount",
                ])),
            }),
            ..Default::default()
        };
        self.batch(sheet, "resize the worksheet", request)
            .await
            .map(|_| ())
    }
}

fn grid(rows: usize, columns: usize) -> GridProperties {
    GridProperties {
        row_count: Some(rows.clamp(1, i32::MAX as usize) as i32),
        column_count: Some(columns.clamp(1, i32::MAX as usize) as i32),
        ..Default::default()
    }
}
