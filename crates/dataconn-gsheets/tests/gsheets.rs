//! The Google Sheets connector against an in-repo server for the public CSV export (no Google
//! emulator exists). Its replies follow what Google sends: CSV for a public sheet, a redirect to
//! an HTML sign-in page for a private one, 404 for an unknown ID, 429 under quota.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType, Float64Type, Int64Type};
use dataconn_core::{Connections, ErrorKind, Registry, Secrets};
use dataconn_gsheets::{GSheetsConnection, UseCols, WorksheetRef};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

const PUBLIC: &str = "1PublicSheetIdForTests_abcdefghijklmnop";
const PRIVATE: &str = "1PrivateSheetIdForTests_abcdefghijklmno";

/// The first worksheet: typed columns, an empty column and empty rows at the grid's end.
const FIRST: &str = "name,qty,price,ok,day,at,,\r\n\
rex,1,\"1,234.5\",TRUE,2024-02-29,2024-02-29 13:45:10,,\r\n\
tom,2,3,FALSE,3/1/2024,3/1/2024 9:05:00,,\r\n\
\"jo, jr\",,0.25,true,,,,\r\n\
,,,,,,,\r\n\
,,,,,,,\r\n";

/// gid 7: two preamble rows, then a header.
const PREAMBLE: &str = "Quarterly report,,\r\nexported by finance,,\r\nregion,q1,q2\r\nnorth,10,11\r\nsouth,20,21\r\neast,30,31\r\n";

#[derive(Default)]
struct Counters {
    exports: AtomicUsize,
    throttled: AtomicUsize,
}

async fn respond(stream: &mut tokio::net::TcpStream, status: &str, headers: &str, body: &str) {
    let head = format!(
        "HTTP/1.1 {status}\r\n{headers}content-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(body.as_bytes()).await;
}

async fn serve(listener: TcpListener, counters: Arc<Counters>) {
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            return;
        };
        let counters = counters.clone();
        tokio::spawn(async move {
            let Some(request) = dataconn_testkit::http::read_request(&mut stream).await else {
                return;
            };
            let target = request.target().to_owned();
            let csv = "content-type: text/csv\r\n";
            if target.starts_with(&format!("/spreadsheets/d/{PUBLIC}/export?format=csv")) {
                counters.exports.fetch_add(1, Ordering::SeqCst);
                if target.ends_with("&gid=9")
                    && counters.throttled.fetch_add(1, Ordering::SeqCst) == 0
                {
                    let error = r#"{"error":{"code":429,"message":"Quota exceeded","status":"RESOURCE_EXHAUSTED"}}"#;
                    respond(
                        &mut stream,
                        "429 Too Many Requests",
                        "content-type: application/json\r\n",
                        error,
                    )
                    .await;
                } else if target.ends_with("&gid=13") {
                    // A server that accepts the request and never answers.
                    tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
                } else if target.ends_with("&gid=14") {
                    // A body of unknown length (no content-length), to the end of the stream.
                    let _ = stream
                        .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: text/csv\r\nconnection: close\r\n\r\n")
                        .await;
                    for _ in 0..100 {
                        let _ = stream.write_all(FIRST.as_bytes()).await;
                    }
                } else if target.ends_with("&gid=7") {
                    respond(&mut stream, "200 OK", csv, PREAMBLE).await;
                } else if target.ends_with("&gid=9") {
                    respond(&mut stream, "200 OK", csv, "a\r\n1\r\n").await;
                } else if target.ends_with("format=csv") || target.ends_with("&gid=0") {
                    respond(&mut stream, "200 OK", csv, FIRST).await;
                } else {
                    respond(
                        &mut stream,
                        "400 Bad Request",
                        "content-type: text/html\r\n",
                        "<html>Bad Request</html>",
                    )
                    .await;
                }
            } else if target.starts_with(&format!("/spreadsheets/d/{PRIVATE}/")) {
                // Google sends a private sheet's export to its sign-in page.
                respond(
                    &mut stream,
                    "302 Found",
                    "location: /ServiceLogin?continue=x\r\n",
                    "",
                )
                .await;
            } else if target.starts_with("/ServiceLogin") {
                respond(
                    &mut stream,
                    "200 OK",
                    "content-type: text/html; charset=utf-8\r\n",
                    "<!doctype html><html><title>Sign in - Google Accounts</title></html>",
                )
                .await;
            } else {
                respond(
                    &mut stream,
                    "404 Not Found",
                    "content-type: text/html\r\n",
                    "<html>Not Found</html>",
                )
                .await;
            }
        });
    }
}

async fn server() -> (String, Arc<Counters>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let counters = Arc::new(Counters::default());
    tokio::spawn(serve(listener, counters.clone()));
    (base, counters)
}

fn hub(secrets: &str) -> Connections {
    let registry = Registry::new();
    dataconn_gsheets::register(&registry);
    Connections::builder()
        .registry(registry)
        .secrets(Secrets::from_toml("secrets.toml", secrets).unwrap())
        .build()
        .unwrap()
}

async fn open(base: &str, spreadsheet: &str) -> Arc<GSheetsConnection> {
    let hub = hub(&format!(
        "[connections.gsheets]\nspreadsheet = \"https://docs.google.com/spreadsheets/d/{spreadsheet}/edit#gid=0\"\n\
         public_base_url = \"{base}\"\n"
    ));
    hub.connection::<GSheetsConnection>("gsheets")
        .await
        .unwrap()
}

#[tokio::test]
async fn a_public_sheet_reads_typed_and_cached() {
    let (base, counters) = server().await;
    let sheets = open(&base, PUBLIC).await;
    let t = sheets.read_default().await.unwrap();
    assert_eq!(
        t.column_names(),
        ["name", "qty", "price", "ok", "day", "at"],
        "empty trailing columns are dropped"
    );
    assert_eq!(t.num_rows(), 3, "empty trailing rows are dropped");
    let ty = |n: &str| t.schema().field_with_name(n).unwrap().data_type().clone();
    assert_eq!(ty("name"), DataType::Utf8);
    assert_eq!(ty("qty"), DataType::Int64);
    assert_eq!(ty("price"), DataType::Float64);
    assert_eq!(ty("ok"), DataType::Boolean);
    assert_eq!(ty("day"), DataType::Date32);
    assert!(matches!(ty("at"), DataType::Timestamp(_, None)));
    let c = |n: &str| t.column(n).unwrap();
    assert_eq!(c("name").as_string::<i32>().value(2), "jo, jr");
    assert_eq!(c("price").as_primitive::<Float64Type>().value(0), 1234.5);
    assert!(c("qty").is_null(2), "an empty cell is NULL");
    assert_eq!(
        c("day")
            .as_primitive::<arrow::datatypes::Date32Type>()
            .value(1),
        19_783,
        "3/1/2024 is March 1st"
    );
    let before = counters.exports.load(Ordering::SeqCst);
    sheets.read(0u64).await.unwrap();
    assert_eq!(
        counters.exports.load(Ordering::SeqCst),
        before,
        "the same worksheet again comes from the cache"
    );
    sheets.read(0u64).nrows(1).await.unwrap();
    assert_eq!(
        counters.exports.load(Ordering::SeqCst),
        before + 1,
        "other read options are another cache entry"
    );
}

#[tokio::test]
async fn header_usecols_nrows_and_skiprows_shape_the_table() {
    let (base, _) = server().await;
    let sheets = open(&base, PUBLIC).await;
    let t = sheets
        .read("#gid=7")
        .skiprows(2)
        .usecols(UseCols::Names(vec!["region".into(), "q2".into()]))
        .nrows(2)
        .await
        .unwrap();
    assert_eq!(t.column_names(), ["region", "q2"]);
    assert_eq!(
        t.column("q2")
            .unwrap()
            .as_primitive::<Int64Type>()
            .values()
            .to_vec(),
        vec![11, 21]
    );
    let t = sheets
        .read(7u64)
        .skiprows(3)
        .header(None)
        .usecols(UseCols::Letters(vec!["B:C".into()]))
        .await
        .unwrap();
    assert_eq!(t.column_names(), ["B", "C"], "no header: columns by letter");
    assert_eq!(t.num_rows(), 3);
    let err = sheets
        .read(7u64)
        .skiprows(2)
        .usecols(UseCols::Names(vec!["q3".into()]))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Parameter);
    assert!(err.to_string().contains("region, q1, q2"), "{err}");
}

#[tokio::test]
async fn quota_replies_are_retried_and_failures_are_explained() {
    let (base, counters) = server().await;
    let sheets = open(&base, PUBLIC).await;
    let t = sheets.read(9u64).await.unwrap();
    assert_eq!(t.num_rows(), 1);
    assert_eq!(
        counters.throttled.load(Ordering::SeqCst),
        2,
        "a 429, then the data"
    );

    let err = sheets
        .read(WorksheetRef::Title("Sales".into()))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported);
    assert!(err.to_string().contains("#gid="), "{err}");

    let private = open(&base, PRIVATE).await;
    let err = private.read_default().await.unwrap_err();
    assert!(
        err.to_string().contains("not public") && err.to_string().contains("Anyone with the link"),
        "{err}"
    );
    let missing = open(&base, "1NoSuchSheetIdForTests_abcdefghijklmn").await;
    let err = missing.read_default().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert!(
        err.to_string().contains("connection `gsheets` (gsheets)"),
        "{err}"
    );
}

#[tokio::test]
async fn a_service_account_section_without_a_whole_key_is_a_config_error() {
    let key = "-----BEGIN PRIVATE KEY-----\nMIIEvQ-very-secret\n-----END PRIVATE KEY-----\n";
    let hub = hub(&format!(
        "[connections.sa]\nconnector = \"gsheets\"\ntype = \"service_account\"\n\
         project_id = \"p\"\nprivate_key = \"\"\"{key}\"\"\"\nspreadsheet = \"{PUBLIC}\"\n"
    ));
    let err = hub.connection::<GSheetsConnection>("sa").await.unwrap_err();
    let shown = format!("{err} {err:?}");
    assert_eq!(err.kind(), ErrorKind::Config, "{shown}");
    assert!(shown.contains("client_email"), "{shown}");
    assert!(
        !shown.contains("very-secret"),
        "the private key leaked: {shown}"
    );
    let err = hub
        .connection::<GSheetsConnection>("nothing")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::MissingKey, "{err}");
}

/// Service accounts against an in-repo Sheets v4 server and OAuth token endpoint (no Google
/// emulator exists). The token endpoint checks the JWT-bearer assertion as Google does: its
/// RS256 signature with the test key's public half, its audience and its scope.
mod service_account {
    use std::collections::HashMap;
    use std::path::PathBuf;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};

    use arrow::array::AsArray;
    use arrow::datatypes::{DataType, Float64Type, Int64Type};
    use base64::Engine;
    use dataconn_core::ErrorKind;
    use dataconn_gsheets::{GSheetsConnection, Render, WorksheetRef};
    use serde_json::{Value as Json, json};
    use tokio::io::AsyncWriteExt;
    use tokio::net::TcpListener;

    pub(super) const SHEET: &str = "1ServiceSheetIdForTests_abcdefghijklmn";
    const FORBIDDEN: &str = "1ForbiddenSheetIdForTests_abcdefghijk";
    pub(super) const EMAIL: &str = "reader@dataconn-tests.iam.gserviceaccount.com";

    /// What the server saw, and the failures it is told to inject.
    #[derive(Default)]
    pub(super) struct Counters {
        tokens: AtomicUsize,
        refused_tokens: AtomicUsize,
        values: AtomicUsize,
        throttled: AtomicUsize,
        /// `METHOD path` (undecoded, as sent) of every request.
        pub(super) requests: Mutex<Vec<String>>,
        /// Appends received (applied or not).
        pub(super) appends: AtomicUsize,
        /// This many batchUpdates that resize a grid are answered 500, with nothing applied.
        pub(super) fail_resizes: AtomicUsize,
        /// This many appends are applied, then answered 500 (as when Google fails after
        /// writing).
        pub(super) fail_appends_after_applying: AtomicUsize,
        /// This many appends are answered 429, with nothing applied (as Google documents).
        pub(super) throttle_appends: AtomicUsize,
        /// Values reads and token exchanges get no answer while set.
        pub(super) stall_values: AtomicBool,
        pub(super) stall_tokens: AtomicBool,
    }

    /// Never answer (the test's timeout must end the wait).
    async fn stall() {
        tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
    }

    struct Key {
        pem: String,
        public_der: Vec<u8>,
    }

    /// A fresh RSA key from openssl: the PKCS#8 PEM and the PKCS#1 DER public key.
    fn key() -> Option<Key> {
        static MADE: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "dataconn-gs-key-{}-{}",
            std::process::id(),
            MADE.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let pem: PathBuf = dir.join("key.pem");
        let der: PathBuf = dir.join("pub.der");
        let ok = std::process::Command::new("openssl")
            .args([
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:2048",
                "-out",
            ])
            .arg(&pem)
            .status()
            .is_ok_and(|s| s.success())
            && std::process::Command::new("openssl")
                .args(["rsa", "-RSAPublicKey_out", "-outform", "DER", "-in"])
                .arg(&pem)
                .arg("-out")
                .arg(&der)
                .status()
                .is_ok_and(|s| s.success());
        if !ok {
            assert!(
                std::env::var("CI").is_err(),
                "CI=true needs openssl to make a test key"
            );
            eprintln!("SKIPPING service-account tests: openssl could not make a test key");
            return None;
        }
        let key = Key {
            pem: std::fs::read_to_string(&pem).unwrap(),
            public_der: std::fs::read(&der).unwrap(),
        };
        let _ = std::fs::remove_dir_all(&dir);
        Some(key)
    }

    async fn respond(stream: &mut tokio::net::TcpStream, status: &str, body: &str) {
        let head = format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json; charset=UTF-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        );
        let _ = stream.write_all(head.as_bytes()).await;
        let _ = stream.write_all(body.as_bytes()).await;
    }

    fn google_error(code: u16, status: &str, message: &str) -> String {
        json!({"error": {"code": code, "message": message, "status": status}}).to_string()
    }

    /// Whether a JWT-bearer assertion is signed by the test key, for this endpoint and scope.
    fn assertion_ok(jwt: &str, public_der: &[u8], token_uri: &str) -> bool {
        // Padded or not, as Google accepts both.
        let b64 = base64::engine::GeneralPurpose::new(
            &base64::alphabet::URL_SAFE,
            base64::engine::GeneralPurposeConfig::new()
                .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
        );
        let mut parts = jwt.split('.');
        let (Some(h), Some(p), Some(sig)) = (parts.next(), parts.next(), parts.next()) else {
            return false;
        };
        let Ok(sig) = b64.decode(sig) else {
            return false;
        };
        let key = aws_lc_rs::signature::UnparsedPublicKey::new(
            &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
            public_der,
        );
        if key.verify(format!("{h}.{p}").as_bytes(), &sig).is_err() {
            return false;
        }
        let Ok(claims) = b64.decode(p) else {
            return false;
        };
        let claims: serde_json::Value = serde_json::from_slice(&claims).unwrap_or_default();
        claims["aud"] == token_uri
            && claims["iss"] == EMAIL
            && claims["scope"].as_str().is_some_and(|s| {
                s.split(' ')
                    .any(|s| s == "https://www.googleapis.com/auth/spreadsheets")
            })
    }

    fn percent_decode(text: &str) -> String {
        let bytes = text.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%'
                && i + 2 < bytes.len()
                && let Ok(b) = u8::from_str_radix(&text[i + 1..i + 3], 16)
            {
                out.push(b);
                i += 3;
                continue;
            }
            out.push(bytes[i]);
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    async fn serve(
        listener: TcpListener,
        base: String,
        public_der: Vec<u8>,
        counters: Arc<Counters>,
        books: Books,
    ) {
        let public_der = Arc::new(public_der);
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let (counters, public_der, base, books) = (
                counters.clone(),
                public_der.clone(),
                base.clone(),
                books.clone(),
            );
            tokio::spawn(async move {
                let Some(request) = dataconn_testkit::http::read_request(&mut stream).await else {
                    return;
                };
                let (method, target) = (request.method(), request.target());
                let body = &request.body;
                let (path, query) = target.split_once('?').unwrap_or((target, ""));
                counters
                    .requests
                    .lock()
                    .unwrap()
                    .push(format!("{method} {path}"));
                if method == "POST" && path == "/token" {
                    if counters.stall_tokens.load(Ordering::SeqCst) {
                        return stall().await;
                    }
                    let form: Vec<(String, String)> = body
                        .split('&')
                        .filter_map(|p| p.split_once('='))
                        .map(|(k, v)| (percent_decode(k), percent_decode(v)))
                        .collect();
                    let field = |name: &str| {
                        form.iter()
                            .find(|(k, _)| k == name)
                            .map(|(_, v)| v.clone())
                            .unwrap_or_default()
                    };
                    if field("grant_type") == "urn:ietf:params:oauth:grant-type:jwt-bearer"
                        && assertion_ok(&field("assertion"), &public_der, &format!("{base}/token"))
                    {
                        counters.tokens.fetch_add(1, Ordering::SeqCst);
                        respond(&mut stream, "200 OK", r#"{"access_token":"test-token-1","expires_in":3599,"token_type":"Bearer"}"#).await;
                    } else {
                        counters.refused_tokens.fetch_add(1, Ordering::SeqCst);
                        respond(&mut stream, "400 Bad Request", r#"{"error":"invalid_grant","error_description":"Invalid JWT Signature."}"#).await;
                    }
                    return;
                }
                let authorized = request
                    .header("authorization")
                    .is_some_and(|v| v == "Bearer test-token-1");
                if !authorized {
                    respond(
                        &mut stream,
                        "401 Unauthorized",
                        &google_error(
                            401,
                            "UNAUTHENTICATED",
                            "Request is missing required authentication credential.",
                        ),
                    )
                    .await;
                    return;
                }
                let segments: Vec<String> = path.split('/').map(percent_decode).collect();
                // ["", "v4", "spreadsheets", id, ("values", range)?]
                let id = segments
                    .get(3)
                    .and_then(|s| s.split(':').next())
                    .unwrap_or_default()
                    .to_owned();
                if id == FORBIDDEN {
                    respond(
                        &mut stream,
                        "403 Forbidden",
                        &google_error(
                            403,
                            "PERMISSION_DENIED",
                            "The caller does not have permission",
                        ),
                    )
                    .await;
                    return;
                }
                if method == "POST" && path == "/v4/spreadsheets" {
                    let (status, reply) = Book::create(&mut books.lock().unwrap(), body);
                    respond(&mut stream, status, &reply).await;
                    return;
                }
                if !books.lock().unwrap().contains_key(&id) {
                    respond(
                        &mut stream,
                        "404 Not Found",
                        &google_error(404, "NOT_FOUND", "Requested entity was not found."),
                    )
                    .await;
                    return;
                }
                if segments.get(4).map(String::as_str) == Some("values")
                    && method == "GET"
                    && segments.get(5).map(String::as_str) == Some("'Sheet1'")
                    && counters.throttled.fetch_add(1, Ordering::SeqCst) == 0
                {
                    let quota = google_error(
                        429,
                        "RESOURCE_EXHAUSTED",
                        "Quota exceeded for quota metric 'Read requests'",
                    );
                    respond(&mut stream, "429 Too Many Requests", &quota).await;
                    return;
                }
                if segments.get(4).map(String::as_str) == Some("values") && method == "GET" {
                    if counters.stall_values.load(Ordering::SeqCst) {
                        return stall().await;
                    }
                    counters.values.fetch_add(1, Ordering::SeqCst);
                }
                let appending = method == "POST"
                    && segments.get(4).map(String::as_str) == Some("values")
                    && segments.get(5).is_some_and(|r| r.ends_with(":append"));
                if appending {
                    counters.appends.fetch_add(1, Ordering::SeqCst);
                }
                let resizing =
                    segments[3].ends_with(":batchUpdate") && body.contains("updateSheetProperties");
                let take = |fault: &AtomicUsize| {
                    fault
                        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                        .is_ok()
                };
                let internal = google_error(500, "INTERNAL", "Internal error encountered.");
                if appending && take(&counters.throttle_appends) {
                    let quota = google_error(
                        429,
                        "RESOURCE_EXHAUSTED",
                        "Quota exceeded for quota metric 'Write requests'",
                    );
                    respond(&mut stream, "429 Too Many Requests", &quota).await;
                    return;
                }
                if resizing && take(&counters.fail_resizes) {
                    respond(&mut stream, "500 Internal Server Error", &internal).await;
                    return;
                }
                let (status, reply) = books
                    .lock()
                    .unwrap()
                    .get_mut(&id)
                    .map(|book| book.handle(method, &segments, query, body))
                    .unwrap_or(("404 Not Found", String::new()));
                if appending && status == "200 OK" && take(&counters.fail_appends_after_applying) {
                    respond(&mut stream, "500 Internal Server Error", &internal).await;
                    return;
                }
                respond(&mut stream, status, &reply).await;
            });
        }
    }

    async fn start(public_der: Vec<u8>) -> (String, Arc<Counters>, Books) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let counters = Arc::new(Counters::default());
        let books: Books = Arc::new(Mutex::new(HashMap::from([(
            SHEET.to_owned(),
            Book::seeded(),
        )])));
        tokio::spawn(serve(
            listener,
            base.clone(),
            public_der,
            counters.clone(),
            books.clone(),
        ));
        (base, counters, books)
    }

    /// One worksheet of the test spreadsheet.
    struct Tab {
        gid: i64,
        title: String,
        cells: Vec<Vec<Json>>,
        grid: (i64, i64),
        /// Column 1 shows as currency when formatted (until the tab is written).
        currency: bool,
    }

    impl Tab {
        /// Set cells from `RowData` (`[{"values": [{"userEnteredValue": {...}}]}]`) at (row,
        /// column): a cell without a value is emptied; the grid must hold them, as Google
        /// requires.
        fn set_cells(&mut self, row: usize, column: usize, rows: &Json) {
            self.currency = false;
            for (r, data) in rows
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .enumerate()
            {
                let at = row + r;
                assert!(
                    (at as i64) < self.grid.0,
                    "row {at} beyond the grid {:?}",
                    self.grid
                );
                if self.cells.len() <= at {
                    self.cells.resize(at + 1, Vec::new());
                }
                for (c, cell) in data["values"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .iter()
                    .enumerate()
                {
                    let col = column + c;
                    assert!(
                        (col as i64) < self.grid.1,
                        "column {col} beyond the grid {:?}",
                        self.grid
                    );
                    if self.cells[at].len() <= col {
                        self.cells[at].resize(col + 1, Json::String(String::new()));
                    }
                    let value = &cell["userEnteredValue"];
                    self.cells[at][col] = if let Some(s) = value["stringValue"].as_str() {
                        s.into()
                    } else if let Some(n) = value.get("numberValue") {
                        n.clone()
                    } else if let Some(b) = value["boolValue"].as_bool() {
                        b.into()
                    } else {
                        Json::String(String::new())
                    };
                }
            }
        }
    }

    /// A spreadsheet of the test server, as the Sheets v4 API sees it.
    struct Book {
        id: String,
        title: String,
        tabs: Vec<Tab>,
    }

    /// Every spreadsheet of the test server, by ID.
    type Books = Arc<Mutex<HashMap<String, Book>>>;

    fn currency(n: f64) -> String {
        let cents = (n * 100.0).round() as i64;
        let whole = (cents / 100).to_string();
        let mut grouped = String::new();
        for (i, c) in whole.chars().enumerate() {
            if i > 0 && (whole.len() - i).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(c);
        }
        format!("${grouped}.{:02}", cents % 100)
    }

    impl Book {
        /// `spreadsheets.create`: a new spreadsheet from the request's title and sheets.
        fn create(books: &mut HashMap<String, Book>, body: &str) -> (&'static str, String) {
            let body: Json = serde_json::from_str(body).unwrap_or(Json::Null);
            let id = format!("1CreatedSheet{}ForTests_abcdefghijk", books.len());
            let mut book = Book {
                id: id.clone(),
                title: body["properties"]["title"]
                    .as_str()
                    .unwrap_or("Untitled spreadsheet")
                    .to_owned(),
                tabs: Vec::new(),
            };
            let sheets = body["sheets"].as_array().cloned().unwrap_or_default();
            for (i, sheet) in sheets.iter().enumerate() {
                let grid = &sheet["properties"]["gridProperties"];
                let mut tab = Tab {
                    gid: i as i64,
                    title: sheet["properties"]["title"]
                        .as_str()
                        .unwrap_or("Sheet1")
                        .to_owned(),
                    cells: Vec::new(),
                    grid: (
                        grid["rowCount"].as_i64().unwrap_or(1000),
                        grid["columnCount"].as_i64().unwrap_or(26),
                    ),
                    currency: false,
                };
                // GridData: cells from (startRow, startColumn).
                for data in sheet["data"].as_array().cloned().unwrap_or_default() {
                    tab.set_cells(
                        data["startRow"].as_u64().unwrap_or(0) as usize,
                        data["startColumn"].as_u64().unwrap_or(0) as usize,
                        &data["rowData"],
                    );
                }
                book.tabs.push(tab);
            }
            if book.tabs.is_empty() {
                book.tabs.push(Tab {
                    gid: 0,
                    title: "Sheet1".into(),
                    cells: Vec::new(),
                    grid: (1000, 26),
                    currency: false,
                });
            }
            let reply = book.spreadsheet();
            books.insert(id, book);
            ("200 OK", reply)
        }

        fn spreadsheet(&self) -> String {
            let sheets: Vec<Json> = self
                .tabs
                .iter()
                .enumerate()
                .map(|(i, t)| json!({"properties": Self::properties(t, i)}))
                .collect();
            json!({"spreadsheetId": self.id, "properties": {"title": self.title, "locale": "en_US", "timeZone": "Etc/GMT"},
                   "sheets": sheets, "spreadsheetUrl": format!("https://docs.google.com/spreadsheets/d/{}/edit", self.id)}).to_string()
        }

        fn seeded() -> Book {
            Book {
                id: SHEET.into(),
                title: "Tests".into(),
                tabs: vec![
                    Tab {
                        gid: 0,
                        title: "Sheet1".into(),
                        cells: vec![vec!["a".into(), "b".into()], vec!["1".into(), "2".into()]],
                        grid: (1000, 26),
                        currency: false,
                    },
                    Tab {
                        gid: 55,
                        title: "My Data".into(),
                        cells: vec![
                            vec!["item".into(), "price".into(), "in stock".into()],
                            vec!["pen".into(), 1234.5.into(), true.into()],
                            vec!["cup".into(), 3.into(), false.into()],
                        ],
                        grid: (1000, 26),
                        currency: true,
                    },
                ],
            }
        }

        /// The worksheet an A1 range names: `'It''s'!A1`, `'My Data'`, `Sheet1!A1:B2`.
        fn tab(&mut self, range: &str) -> Option<&mut Tab> {
            let title = match range.strip_prefix('\'') {
                Some(quoted) => {
                    let mut title = String::new();
                    let mut chars = quoted.chars().peekable();
                    loop {
                        match chars.next()? {
                            '\'' if chars.peek() == Some(&'\'') => {
                                chars.next();
                                title.push('\'');
                            }
                            '\'' => break,
                            c => title.push(c),
                        }
                    }
                    match chars.next() {
                        None | Some('!') => title,
                        Some(_) => return None,
                    }
                }
                None => range.split('!').next().unwrap_or_default().to_owned(),
            };
            self.tabs.iter_mut().find(|t| t.title == title)
        }

        fn properties(tab: &Tab, index: usize) -> Json {
            json!({"sheetId": tab.gid, "title": tab.title, "index": index, "sheetType": "GRID",
                   "gridProperties": {"rowCount": tab.grid.0, "columnCount": tab.grid.1}})
        }

        fn handle(
            &mut self,
            method: &str,
            segments: &[String],
            query: &str,
            body: &str,
        ) -> (&'static str, String) {
            let bad = |message: String| {
                (
                    "400 Bad Request",
                    google_error(400, "INVALID_ARGUMENT", &message),
                )
            };
            let body: Json = serde_json::from_str(body).unwrap_or(Json::Null);
            let target = segments.get(3).cloned().unwrap_or_default();
            if target.ends_with(":batchUpdate") && method == "POST" {
                // As Google: every request is checked first, and nothing is applied unless all
                // are valid; then they are applied in order.
                let requests = body["requests"].as_array().cloned().unwrap_or_default();
                let mut gids: Vec<i64> = self.tabs.iter().map(|t| t.gid).collect();
                let mut titles: Vec<String> = self.tabs.iter().map(|t| t.title.clone()).collect();
                for (i, request) in requests.iter().enumerate() {
                    if let Some(add) = request.get("addSheet") {
                        let title = add["properties"]["title"].as_str().unwrap_or_default();
                        if titles.iter().any(|t| t == title) {
                            return bad(format!(
                                "Invalid requests[{i}].addSheet: A sheet with the name \"{title}\" already exists. Please enter another name."
                            ));
                        }
                        let gid = add["properties"]["sheetId"]
                            .as_i64()
                            .unwrap_or(1000 + gids.len() as i64);
                        if gids.contains(&gid) {
                            return bad(format!(
                                "Invalid requests[{i}].addSheet: Sheet with id {gid} already exists."
                            ));
                        }
                        gids.push(gid);
                        titles.push(title.to_owned());
                    } else if let Some(update) = request.get("updateSheetProperties") {
                        let gid = update["properties"]["sheetId"].as_i64().unwrap_or_default();
                        if !gids.contains(&gid) {
                            return bad(format!(
                                "Invalid requests[{i}].updateSheetProperties: No grid with id: {gid}"
                            ));
                        }
                    } else if let Some(update) = request.get("updateCells") {
                        let gid = update["start"]["sheetId"].as_i64().unwrap_or_default();
                        if !gids.contains(&gid) {
                            return bad(format!(
                                "Invalid requests[{i}].updateCells: No grid with id: {gid}"
                            ));
                        }
                        if update["fields"].as_str().is_none_or(str::is_empty) {
                            return bad(format!(
                                "Invalid requests[{i}].updateCells: At least one field must be updated, but none were specified."
                            ));
                        }
                    } else {
                        return bad(format!("Invalid requests[{i}]: unknown request"));
                    }
                }
                let mut replies = Vec::new();
                for request in requests {
                    if let Some(add) = request.get("addSheet") {
                        let grid = &add["properties"]["gridProperties"];
                        let gid = add["properties"]["sheetId"]
                            .as_i64()
                            .unwrap_or(1000 + self.tabs.len() as i64);
                        self.tabs.push(Tab {
                            gid,
                            title: add["properties"]["title"]
                                .as_str()
                                .unwrap_or_default()
                                .to_owned(),
                            cells: Vec::new(),
                            grid: (
                                grid["rowCount"].as_i64().unwrap_or(1000),
                                grid["columnCount"].as_i64().unwrap_or(26),
                            ),
                            currency: false,
                        });
                        let index = self.tabs.len() - 1;
                        replies.push(json!({"addSheet": {"properties": Self::properties(&self.tabs[index], index)}}));
                    } else if let Some(update) = request.get("updateSheetProperties") {
                        let gid = update["properties"]["sheetId"].as_i64().unwrap_or_default();
                        let grid = &update["properties"]["gridProperties"];
                        let tab = self.tabs.iter_mut().find(|t| t.gid == gid).unwrap();
                        tab.grid = (
                            grid["rowCount"].as_i64().unwrap_or(tab.grid.0),
                            grid["columnCount"].as_i64().unwrap_or(tab.grid.1),
                        );
                        // As Google does, a smaller grid drops the cells beyond it.
                        let (rows, columns) = (tab.grid.0 as usize, tab.grid.1 as usize);
                        tab.cells.truncate(rows);
                        for row in &mut tab.cells {
                            row.truncate(columns);
                        }
                        replies.push(json!({}));
                    } else if let Some(update) = request.get("updateCells") {
                        let gid = update["start"]["sheetId"].as_i64().unwrap_or_default();
                        let tab = self.tabs.iter_mut().find(|t| t.gid == gid).unwrap();
                        tab.set_cells(
                            update["start"]["rowIndex"].as_u64().unwrap_or(0) as usize,
                            update["start"]["columnIndex"].as_u64().unwrap_or(0) as usize,
                            &update["rows"],
                        );
                        replies.push(json!({}));
                    }
                }
                return (
                    "200 OK",
                    json!({"spreadsheetId": self.id, "replies": replies}).to_string(),
                );
            }
            if segments.get(4).map(String::as_str) != Some("values") {
                return ("200 OK", self.spreadsheet());
            }
            let range = segments.get(5).cloned().unwrap_or_default();
            let (range, action) = match range.rsplit_once(':') {
                Some((r, a)) if a == "clear" || a == "append" => (r.to_owned(), a.to_owned()),
                _ => (range.clone(), String::new()),
            };
            let writes = method != "GET";
            if writes && action != "clear" && !query.contains("valueInputOption=") {
                return bad("'valueInputOption' is required but not specified".into());
            }
            let Some(tab) = self.tab(&range) else {
                return bad(format!("Unable to parse range: {range}"));
            };
            let values = body["values"].as_array().cloned().unwrap_or_default();
            let rows: Vec<Vec<Json>> = values
                .iter()
                .map(|r| r.as_array().cloned().unwrap_or_default())
                .collect();
            match (method, action.as_str()) {
                ("POST", "clear") => {
                    tab.cells.clear();
                    (
                        "200 OK",
                        json!({"spreadsheetId": self.id, "clearedRange": range}).to_string(),
                    )
                }
                ("POST", "append") => {
                    if !query.contains("insertDataOption=INSERT_ROWS") {
                        return bad("expected insertDataOption".into());
                    }
                    tab.currency = false;
                    tab.cells.extend(rows);
                    (
                        "200 OK",
                        json!({"spreadsheetId": self.id, "tableRange": range}).to_string(),
                    )
                }
                ("PUT", _) => {
                    tab.currency = false;
                    for (r, row) in rows.into_iter().enumerate() {
                        if tab.cells.len() <= r {
                            tab.cells.resize(r + 1, Vec::new());
                        }
                        for (c, value) in row.into_iter().enumerate() {
                            if tab.cells[r].len() <= c {
                                tab.cells[r].resize(c + 1, Json::String(String::new()));
                            }
                            tab.cells[r][c] = value;
                        }
                    }
                    (
                        "200 OK",
                        json!({"spreadsheetId": self.id, "updatedRange": range}).to_string(),
                    )
                }
                ("GET", _) => {
                    let formatted = !query.contains("valueRenderOption=UNFORMATTED_VALUE");
                    let show = |r: usize, c: usize, v: &Json| -> Json {
                        if !formatted {
                            return v.clone();
                        }
                        match v {
                            Json::Number(n) if tab.currency && c == 1 && r > 0 => {
                                currency(n.as_f64().unwrap_or_default()).into()
                            }
                            Json::Number(n) => n.to_string().into(),
                            Json::Bool(b) => if *b { "TRUE" } else { "FALSE" }.into(),
                            other => other.clone(),
                        }
                    };
                    let mut cells: Vec<Vec<Json>> = tab
                        .cells
                        .iter()
                        .enumerate()
                        .map(|(r, row)| {
                            row.iter().enumerate().map(|(c, v)| show(r, c, v)).collect()
                        })
                        .collect();
                    while cells
                        .last()
                        .is_some_and(|r| r.iter().all(|v| v.as_str() == Some("")))
                    {
                        cells.pop();
                    }
                    let mut reply = json!({"range": format!("'{}'!A1:Z1000", tab.title), "majorDimension": "ROWS"});
                    if !cells.is_empty() {
                        reply["values"] = json!(cells);
                    }
                    ("200 OK", reply.to_string())
                }
                _ => bad(format!("unexpected {method} on {range}")),
            }
        }
    }

    /// A running server with a fresh key, for the write tests.
    pub(super) struct Fixture {
        base: String,
        pem: String,
        books: Books,
        pub(super) counters: Arc<Counters>,
    }

    impl Fixture {
        /// A worksheet's grid size (rows, columns).
        pub(super) fn grid(&self, title: &str) -> (i64, i64) {
            let books = self.books.lock().unwrap();
            books[SHEET]
                .tabs
                .iter()
                .find(|t| t.title == title)
                .map(|t| t.grid)
                .unwrap()
        }

        /// A worksheet's cells as the server holds them, trailing empty rows dropped.
        pub(super) fn cells(&self, title: &str) -> Vec<Vec<Json>> {
            let books = self.books.lock().unwrap();
            let mut cells = books[SHEET]
                .tabs
                .iter()
                .find(|t| t.title == title)
                .map(|t| t.cells.clone())
                .unwrap();
            while cells
                .last()
                .is_some_and(|r| r.iter().all(|v| v.as_str() == Some("")))
            {
                cells.pop();
            }
            cells
        }

        /// The section of a connection to the test spreadsheet, with `extra` lines at its end.
        pub(super) fn section(&self, name: &str, extra: &str) -> String {
            format!("{}{extra}\n", section(name, &self.base, &self.pem, SHEET))
        }

        /// The server's address (`http://127.0.0.1:port`).
        pub(super) fn base(&self) -> &str {
            &self.base
        }

        /// The test key (PKCS#8 PEM).
        pub(super) fn pem(&self) -> &str {
            &self.pem
        }
    }

    /// A connection to the test spreadsheet with `extra` lines in its section.
    pub(super) async fn open_with(f: &Fixture, name: &str, extra: &str) -> Arc<GSheetsConnection> {
        let hub = super::hub(&f.section(name, extra));
        hub.connection::<GSheetsConnection>(name).await.unwrap()
    }

    pub(super) async fn fixture() -> Option<Fixture> {
        let key = key()?;
        let (base, counters, books) = start(key.public_der.clone()).await;
        Some(Fixture {
            base,
            pem: key.pem,
            books,
            counters,
        })
    }

    pub(super) async fn open_service(f: &Fixture, name: &str) -> Arc<GSheetsConnection> {
        open_sheet(f, name, SHEET).await
    }

    pub(super) async fn open_sheet(f: &Fixture, name: &str, id: &str) -> Arc<GSheetsConnection> {
        let hub = super::hub(&section(name, &f.base, &f.pem, id));
        hub.connection::<GSheetsConnection>(name).await.unwrap()
    }

    fn section(name: &str, base: &str, pem: &str, spreadsheet: &str) -> String {
        format!(
            "[connections.{name}]\nconnector = \"gsheets\"\ntype = \"service_account\"\nproject_id = \"dataconn-tests\"\n\
             private_key_id = \"k1\"\nprivate_key = \"\"\"{pem}\"\"\"\nclient_email = \"{EMAIL}\"\nclient_id = \"1\"\n\
             auth_uri = \"{base}/auth\"\ntoken_uri = \"{base}/token\"\nsheets_base_url = \"{base}/\"\n\
             spreadsheet = \"{spreadsheet}\"\n"
        )
    }

    #[tokio::test]
    async fn a_service_account_signs_in_and_reads_worksheets_by_title_gid_and_position() {
        let Some(key) = key() else { return };
        let (base, counters, _) = start(key.public_der.clone()).await;
        let hub = super::hub(&section("gsheets", &base, &key.pem, SHEET));
        let sheets = hub
            .connection::<GSheetsConnection>("gsheets")
            .await
            .unwrap();
        assert_eq!(
            sheets.worksheets().await.unwrap(),
            vec![(0, "Sheet1".to_owned()), (55, "My Data".to_owned())]
        );
        let t = sheets
            .read(WorksheetRef::Title("My Data".into()))
            .await
            .unwrap();
        assert_eq!(t.column_names(), ["item", "price", "in stock"]);
        assert_eq!(
            t.schema().field_with_name("price").unwrap().data_type(),
            &DataType::Utf8,
            "formatted currency stays text"
        );
        let t = sheets
            .read(55u64)
            .render(Render::Unformatted)
            .await
            .unwrap();
        assert_eq!(
            t.column("price")
                .unwrap()
                .as_primitive::<Float64Type>()
                .value(0),
            1234.5
        );
        assert!(t.column("in stock").unwrap().as_boolean().value(0));
        // The default worksheet is the first; a 429 is retried.
        let t = sheets.read_default().await.unwrap();
        assert_eq!(
            t.column("a").unwrap().as_primitive::<Int64Type>().value(0),
            1
        );
        assert_eq!(
            counters.throttled.load(Ordering::SeqCst),
            2,
            "a 429, then the data"
        );
        let t = sheets
            .read(WorksheetRef::Index(1))
            .render(Render::Unformatted)
            .await
            .unwrap();
        assert_eq!(t.num_rows(), 2);
        assert_eq!(
            counters.tokens.load(Ordering::SeqCst),
            1,
            "one token, reused"
        );
        assert_eq!(counters.refused_tokens.load(Ordering::SeqCst), 0);
        let err = sheets
            .read(WorksheetRef::Title("Nope".into()))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
        assert!(err.to_string().contains("\"My Data\" (gid 55)"), "{err}");
        let before = counters.values.load(Ordering::SeqCst);
        sheets
            .read(WorksheetRef::Index(1))
            .render(Render::Unformatted)
            .await
            .unwrap();
        assert_eq!(counters.values.load(Ordering::SeqCst), before, "cached");
    }

    #[tokio::test]
    async fn refusals_say_what_to_do_and_never_show_the_key() {
        let Some(key) = key() else { return };
        let (base, counters, _) = start(key.public_der.clone()).await;
        let hub = super::hub(&section("forbidden", &base, &key.pem, FORBIDDEN));
        let sheets = hub
            .connection::<GSheetsConnection>("forbidden")
            .await
            .unwrap();
        let err = sheets.read_default().await.unwrap_err();
        let shown = format!("{err} {err:?}");
        assert!(shown.contains(EMAIL) && shown.contains("share"), "{shown}");
        assert!(!shown.contains("PRIVATE KEY"), "{shown}");

        // A key the token endpoint does not know (another key's signature) is refused.
        let Some(other) = self::key() else { return };
        let hub = super::hub(&section("stranger", &base, &other.pem, SHEET));
        let sheets = hub
            .connection::<GSheetsConnection>("stranger")
            .await
            .unwrap();
        let err = sheets.read_default().await.unwrap_err();
        let shown = format!("{err} {err:?}");
        assert_eq!(err.kind(), ErrorKind::Connect, "{shown}");
        assert!(shown.contains(EMAIL), "{shown}");
        assert!(
            !shown.contains("PRIVATE KEY") && !shown.contains(other.pem.lines().nth(1).unwrap()),
            "{shown}"
        );
        assert!(counters.refused_tokens.load(Ordering::SeqCst) >= 1);
    }
}

mod writes {
    use std::sync::Arc;

    use arrow::array::{ArrayRef, AsArray, BooleanArray, Float64Array, RecordBatch, StringArray};
    use arrow::datatypes::Float64Type;
    use dataconn_core::{ErrorKind, Table};
    use dataconn_gsheets::{GSheetsConnection, Render, WorksheetRef};

    use super::service_account::{fixture, open_service, open_sheet};

    fn table(columns: Vec<(&str, ArrayRef)>) -> Table {
        Table::from_batch(RecordBatch::try_from_iter(columns).unwrap())
    }

    #[tokio::test]
    async fn update_append_clear_and_create_are_seen_by_the_next_read() {
        let Some(f) = fixture().await else { return };
        let sheets: Arc<GSheetsConnection> = open_service(&f, "writer").await;
        let before = sheets.read("My Data").await.unwrap();
        assert_eq!(before.num_rows(), 2);

        // update: the contents replaced, the grid made exactly its size.
        let t = table(vec![
            (
                "item",
                Arc::new(StringArray::from(vec!["ink", "=1+1", "tape"])) as ArrayRef,
            ),
            (
                "price",
                Arc::new(Float64Array::from(vec![Some(2.5), None, Some(4.0)])),
            ),
        ]);
        sheets.update("My Data", &t).await.unwrap();
        let after = sheets
            .read("My Data")
            .render(Render::Unformatted)
            .await
            .unwrap();
        assert_eq!(
            after.column_names(),
            ["item", "price"],
            "the cached read was dropped"
        );
        assert_eq!(after.num_rows(), 3);
        assert_eq!(
            after.column("item").unwrap().as_string::<i32>().value(1),
            "=1+1",
            "text is written raw, never as a formula"
        );
        assert_eq!(f.grid("My Data"), (4, 2), "header + 3 rows, 2 columns");

        // append: columns matched by header, in any order; a missing column stays empty.
        let more = table(vec![
            (
                "price",
                Arc::new(Float64Array::from(vec![9.75])) as ArrayRef,
            ),
            ("item", Arc::new(StringArray::from(vec!["glue"]))),
        ]);
        sheets.append(55u64, &more).await.unwrap();
        let after = sheets
            .read("My Data")
            .render(Render::Unformatted)
            .await
            .unwrap();
        assert_eq!(after.num_rows(), 4);
        assert_eq!(
            after.column("item").unwrap().as_string::<i32>().value(3),
            "glue"
        );
        assert_eq!(
            after
                .column("price")
                .unwrap()
                .as_primitive::<Float64Type>()
                .value(3),
            9.75
        );
        let wrong = table(vec![(
            "colour",
            Arc::new(StringArray::from(vec!["red"])) as ArrayRef,
        )]);
        let err = sheets.append("My Data", &wrong).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Parameter);
        assert!(err.to_string().contains("item, price"), "{err}");

        // create: a new worksheet holding the table; the same title again is Google's error.
        let flags = table(vec![(
            "ok",
            Arc::new(BooleanArray::from(vec![true, false])) as ArrayRef,
        )]);
        let gid = sheets.create("Flags", &flags).await.unwrap();
        let read = sheets.read(gid).render(Render::Unformatted).await.unwrap();
        assert!(read.column("ok").unwrap().as_boolean().value(0));
        assert!(
            sheets
                .worksheets()
                .await
                .unwrap()
                .contains(&(gid, "Flags".to_owned()))
        );
        let err = sheets.create("Flags", &flags).await.unwrap_err();
        assert!(err.to_string().contains("already exists"), "{err}");

        // clear: the next read is empty.
        sheets
            .clear(WorksheetRef::Title("Flags".into()))
            .await
            .unwrap();
        assert_eq!(sheets.read(gid).await.unwrap().num_rows(), 0);
    }

    #[tokio::test]
    async fn create_spreadsheet_makes_a_new_one_holding_the_table() {
        let Some(f) = fixture().await else { return };
        let sheets = open_service(&f, "creator").await;
        let t = table(vec![(
            "n",
            Arc::new(Float64Array::from(vec![1.5, 2.5])) as ArrayRef,
        )]);
        let created = sheets
            .create_spreadsheet("Report", "Totals", &t)
            .await
            .unwrap();
        assert_ne!(created.id, "");
        let report = open_sheet(&f, "report", &created.id).await;
        assert_eq!(
            report.worksheets().await.unwrap(),
            vec![(0, "Totals".to_owned())]
        );
        let back = report
            .read("Totals")
            .render(Render::Unformatted)
            .await
            .unwrap();
        assert_eq!(
            back.column("n")
                .unwrap()
                .as_primitive::<Float64Type>()
                .value(1),
            2.5
        );
    }

    #[tokio::test]
    async fn a_public_sheet_refuses_writes_and_says_what_to_configure() {
        let (base, _) = super::server().await;
        let sheets = super::open(&base, super::PUBLIC).await;
        let t = table(vec![(
            "a",
            Arc::new(StringArray::from(vec!["x"])) as ArrayRef,
        )]);
        for err in [
            sheets.update(0u64, &t).await.unwrap_err(),
            sheets.append(0u64, &t).await.unwrap_err(),
            sheets.clear(0u64).await.unwrap_err(),
            sheets.create("New", &t).await.map(|_| ()).unwrap_err(),
            sheets
                .create_spreadsheet("New", "Sheet1", &t)
                .await
                .map(|_| ())
                .unwrap_err(),
        ] {
            assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
            assert!(err.to_string().contains("service account"), "{err}");
        }
    }
}

/// `query(sql)` over worksheets, on the embedded engine.
mod query {
    use std::sync::atomic::Ordering;

    use arrow::array::{Array, AsArray};
    use arrow::datatypes::Int64Type;
    use dataconn_core::{ErrorKind, QueryExt};
    use dataconn_gsheets::WorksheetRef;

    use super::service_account::{fixture, open_service};

    #[tokio::test]
    async fn worksheets_join_by_title_and_gid_with_params_and_cached_reads() {
        let Some(f) = fixture().await else { return };
        let sheets = open_service(&f, "sql").await;
        let sql = "select s.a + s.b as total, d.item from \"Sheet1\" s \
                   cross join \"My Data\" d where d.item <> :skip";
        let t = sheets.query(sql).param("skip", "cup").await.unwrap();
        assert_eq!(t.num_rows(), 1);
        assert_eq!(
            t.column("total")
                .unwrap()
                .as_primitive::<Int64Type>()
                .value(0),
            3
        );
        assert_eq!(t.column("item").unwrap().as_string::<i32>().value(0), "pen");

        // A worksheet by gid; its read is the cached one the join already made.
        let n = sheets
            .query("select count(*) as n from \"55\" where \"in stock\"")
            .await
            .unwrap();
        assert_eq!(
            n.column("n").unwrap().as_primitive::<Int64Type>().value(0),
            1
        );

        // A write drops cached reads and results: the next query sees it.
        let more = dataconn_core::Table::from_batch(
            arrow::array::RecordBatch::try_from_iter([
                (
                    "a",
                    std::sync::Arc::new(arrow::array::Int64Array::from(vec![10])) as _,
                ),
                (
                    "b",
                    std::sync::Arc::new(arrow::array::Int64Array::from(vec![20])) as _,
                ),
            ])
            .unwrap(),
        );
        sheets
            .update(WorksheetRef::Title("Sheet1".into()), &more)
            .await
            .unwrap();
        let t = sheets.query(sql).param("skip", "cup").await.unwrap();
        assert_eq!(
            t.column("total")
                .unwrap()
                .as_primitive::<Int64Type>()
                .value(0),
            30
        );

        let err = sheets.query("select * from \"Nope\"").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
        assert!(
            err.to_string().contains("\"My Data\" (gid 55)"),
            "lists the worksheets: {err}"
        );

        let err = sheets
            .query("select item, nope from \"My Data\"")
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Query, "{err}");
        assert!(err.to_string().contains("line 1, column 14"), "{err}");
    }

    #[tokio::test]
    async fn a_public_sheet_answers_sql_on_its_worksheet_and_refuses_two_titles() {
        let (base, counters) = super::server().await;
        let sheets = super::open(&base, super::PUBLIC).await;
        let t = sheets
            .query("select name, qty from \"Sheet1\" where qty >= :min order by qty")
            .param("min", 2)
            .await
            .unwrap();
        assert_eq!(t.num_rows(), 1);
        assert_eq!(t.column("name").unwrap().as_string::<i32>().value(0), "tom");
        let exports = counters.exports.load(Ordering::SeqCst);
        let again = sheets
            .query("select name, qty from \"Sheet1\" where qty >= :min order by qty")
            .param("min", 2)
            .await
            .unwrap();
        assert_eq!(again.num_rows(), 1);
        assert_eq!(counters.exports.load(Ordering::SeqCst), exports, "cached");
        let nulls = sheets
            .query("select count(*) as n from \"Sheet1\" where qty is null")
            .await
            .unwrap();
        let n = nulls.column("n").unwrap();
        assert!(!n.is_null(0));
        assert_eq!(n.as_primitive::<Int64Type>().value(0), 1);

        let err = sheets
            .query("select * from \"Sheet1\" join \"Sheet2\" using (name)")
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
        assert!(
            err.to_string().contains("Sheet1, Sheet2")
                || err.to_string().contains("Sheet2, Sheet1"),
            "{err}"
        );
    }
}

/// Hostile and careless input: URLs in the config, worksheet titles in URLs, failed writes,
/// stalled servers and oversized replies (issue 13).
mod hardening {
    use std::sync::Arc;
    use std::sync::atomic::Ordering;
    use std::time::{Duration, Instant};

    use arrow::array::{Array, ArrayRef, AsArray, Float64Array, RecordBatch, StringArray};
    use dataconn_core::{ErrorKind, Table};
    use dataconn_gsheets::{GSheetsConnection, Render};
    use serde_json::json;

    use super::service_account::{SHEET, fixture, open_service, open_with};

    fn table(columns: Vec<(&str, ArrayRef)>) -> Table {
        Table::from_batch(RecordBatch::try_from_iter(columns).unwrap())
    }

    fn items(names: &[&str], prices: &[f64]) -> Table {
        table(vec![
            (
                "item",
                Arc::new(StringArray::from(names.to_vec())) as ArrayRef,
            ),
            ("price", Arc::new(Float64Array::from(prices.to_vec()))),
        ])
    }

    /// The items of a read, in order.
    fn names(t: &Table) -> Vec<String> {
        let c = t.column("item").unwrap();
        let c = c.as_string::<i32>();
        (0..c.len()).map(|i| c.value(i).to_owned()).collect()
    }

    #[tokio::test]
    async fn url_keys_that_are_not_http_urls_with_a_host_are_config_errors_naming_key_and_line() {
        let Some(f) = fixture().await else { return };
        for bad in [
            "/x",
            "ftp://x",
            "not a url",
            "http://",
            "ftp://ann:hunter2@x/",
        ] {
            // sheets_base_url and token_uri of a service account; public_base_url of a public
            // sheet. The section is at line 1, so its keys are at known lines.
            let service = f.section("bad", "").replace(
                &format!("sheets_base_url = \"{}/\"", f.base()),
                &format!("sheets_base_url = \"{bad}\""),
            );
            let token = f.section("bad", "").replace(
                &format!("token_uri = \"{}/token\"", f.base()),
                &format!("token_uri = \"{bad}\""),
            );
            let public = format!(
                "[connections.bad]\nspreadsheet = \"{}\"\npublic_base_url = \"{bad}\"\n",
                super::PUBLIC
            );
            for (key, secrets) in [
                ("sheets_base_url", service),
                ("token_uri", token),
                ("public_base_url", public),
            ] {
                let line = secrets.lines().position(|l| l.starts_with(key)).unwrap() + 1;
                let hub = super::hub(&secrets);
                let err = hub
                    .connection::<GSheetsConnection>("bad")
                    .await
                    .unwrap_err();
                let shown = format!("{err} {err:?}");
                assert_eq!(err.kind(), ErrorKind::Config, "{key} = {bad:?}: {shown}");
                assert!(
                    // (`token_uri` is a secret's key to core: its value is masked, even
                    // where it is a part of the message, so only the key's part is sure.)
                    shown.contains(&format!("`{key}` (secrets.toml:{line})"))
                        && shown.contains("URL with a host"),
                    "{key} = {bad:?}: {shown}"
                );
                assert!(
                    !shown.contains("hunter2") && !shown.contains("ann"),
                    "{shown}"
                );
            }
        }

        // token_uri in a key file: the file is named as its origin.
        let dir = std::env::temp_dir().join(format!("dataconn-gs-file-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("key.json");
        let key = json!({"type": "service_account", "client_email": super::service_account::EMAIL,
                         "private_key": f.pem(), "token_uri": "ftp://x/token"});
        std::fs::write(&file, key.to_string()).unwrap();
        let hub = super::hub(&format!(
            "[connections.file]\nconnector = \"gsheets\"\nservice_account_file = \"{}\"\nspreadsheet = \"{SHEET}\"\n",
            file.display()
        ));
        let err = hub
            .connection::<GSheetsConnection>("file")
            .await
            .unwrap_err();
        let shown = format!("{err} {err:?}");
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(err.kind(), ErrorKind::Config, "{shown}");
        assert!(
            shown.contains(&format!("`token_uri` ({})", file.display())),
            "{shown}"
        );
        assert!(!shown.contains("PRIVATE KEY"), "{shown}");
    }

    #[tokio::test]
    async fn worksheet_titles_with_url_characters_are_read_and_written_where_they_are() {
        let Some(f) = fixture().await else { return };
        let sheets = open_service(&f, "titles").await;
        let titles = ["a?b#c", "50%/x", "It's", "a/../../../token", "x:clear"];
        for (i, title) in titles.iter().enumerate() {
            let first = items(&[title, "one"], &[i as f64, 1.0]);
            let gid = sheets.create(title, &first).await.unwrap();
            let read = sheets.read(*title).await.unwrap();
            assert_eq!(names(&read), [*title, "one"], "{title}");
            assert_eq!(
                sheets.read(gid).await.unwrap().num_rows(),
                2,
                "{title} by gid"
            );

            sheets
                .update(*title, &items(&["new"], &[2.0]))
                .await
                .unwrap();
            sheets
                .append(*title, &items(&["more"], &[3.0]))
                .await
                .unwrap();
            let read = sheets
                .read(*title)
                .render(Render::Unformatted)
                .await
                .unwrap();
            assert_eq!(names(&read), ["new", "more"], "{title}");
            sheets.clear(*title).await.unwrap();
            assert_eq!(sheets.read(*title).await.unwrap().num_rows(), 0, "{title}");
        }
        // Every request stayed on this spreadsheet's endpoints (or the token's): no title
        // rewrote the path or added a query.
        let requests = f.counters.requests.lock().unwrap().clone();
        for request in &requests {
            let path = request.split_once(' ').unwrap().1;
            if path == "/token" {
                continue;
            }
            assert!(
                path.starts_with(&format!("/v4/spreadsheets/{SHEET}")),
                "{request}"
            );
            assert_eq!(
                path.matches('/').count(),
                if path.contains("/values/") { 5 } else { 3 },
                "a title added path segments: {request}"
            );
        }
        // The other worksheets are as they were.
        assert_eq!(
            f.cells("Sheet1"),
            vec![vec![json!("a"), json!("b")], vec![json!("1"), json!("2")]]
        );
    }

    #[tokio::test]
    async fn an_update_that_fails_leaves_the_old_contents_whole_and_a_retry_writes_the_new() {
        let Some(f) = fixture().await else { return };
        let sheets = open_service(&f, "update").await;
        let old = f.cells("My Data");
        assert_eq!(old.len(), 3, "a header and two rows");

        // The resize always fails: nothing of the new table is written over the old.
        f.counters.fail_resizes.store(usize::MAX, Ordering::SeqCst);
        let err = sheets
            .update("My Data", &items(&["ink"], &[2.5]))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Connect, "{err}");
        assert_eq!(f.cells("My Data"), old, "no new rows over stale ones");
        assert_eq!(f.grid("My Data"), (1000, 26));

        // One failure, then success: the retry writes the new table in full.
        f.counters.fail_resizes.store(1, Ordering::SeqCst);
        sheets
            .update("My Data", &items(&["ink"], &[2.5]))
            .await
            .unwrap();
        assert_eq!(
            f.cells("My Data"),
            vec![
                vec![json!("item"), json!("price")],
                vec![json!("ink"), json!(2.5)]
            ]
        );
        assert_eq!(f.grid("My Data"), (2, 2));
    }

    #[tokio::test]
    async fn an_append_answered_500_after_it_was_applied_is_not_sent_again() {
        let Some(f) = fixture().await else { return };
        let sheets = open_service(&f, "append").await;
        let before = f.cells("My Data").len();
        f.counters
            .fail_appends_after_applying
            .store(1, Ordering::SeqCst);
        let err = sheets
            .append("My Data", &items(&["glue"], &[9.75]))
            .await
            .unwrap_err();
        let shown = err.to_string();
        assert!(
            shown.contains("not sent again") && shown.contains("may have applied"),
            "{shown}"
        );
        assert!(!err.is_temporary(), "{shown}");
        assert_eq!(f.counters.appends.load(Ordering::SeqCst), 1, "sent once");
        assert_eq!(
            f.cells("My Data").len(),
            before + 1,
            "the row is there once"
        );

        // A 429 is Google's "not processed": that one is sent again, and applied once.
        f.counters.throttle_appends.store(1, Ordering::SeqCst);
        sheets
            .append("My Data", &items(&["tape"], &[1.25]))
            .await
            .unwrap();
        assert_eq!(
            f.counters.appends.load(Ordering::SeqCst),
            3,
            "a 429, then the append"
        );
        assert_eq!(f.cells("My Data").len(), before + 2);
    }

    #[tokio::test]
    async fn a_stalled_api_or_token_endpoint_hits_request_timeout() {
        let Some(f) = fixture().await else { return };
        let sheets = open_with(&f, "slow", "request_timeout = \"300ms\"").await;
        f.counters.stall_tokens.store(true, Ordering::SeqCst);
        let started = Instant::now();
        let err = sheets.read("My Data").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
        assert!(
            err.to_string().contains("request_timeout (300ms)")
                && err.to_string().contains("token exchange"),
            "{err}"
        );
        assert!(started.elapsed() < Duration::from_secs(20));

        f.counters.stall_tokens.store(false, Ordering::SeqCst);
        f.counters.stall_values.store(true, Ordering::SeqCst);
        let err = sheets.read("My Data").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
        assert!(
            err.to_string().contains("request_timeout (300ms)")
                && err.to_string().contains("read the worksheet"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn a_stalled_csv_export_hits_request_timeout() {
        let (base, _) = super::server().await;
        let hub = super::hub(&format!(
            "[connections.gsheets]\nspreadsheet = \"{}\"\npublic_base_url = \"{base}\"\n\
             request_timeout = 0.3\n",
            super::PUBLIC
        ));
        let sheets = hub
            .connection::<GSheetsConnection>("gsheets")
            .await
            .unwrap();
        let err = sheets.read(13u64).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
        assert!(
            err.to_string().contains("request_timeout (300ms)")
                && err.to_string().contains("CSV export"),
            "{err}"
        );
        for bad in ["0", "\"soon\"", "-5", "\"forever\""] {
            let hub = super::hub(&format!(
                "[connections.gsheets]\nspreadsheet = \"{}\"\nrequest_timeout = {bad}\n",
                super::PUBLIC
            ));
            let err = hub
                .connection::<GSheetsConnection>("gsheets")
                .await
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Config, "{bad}: {err}");
            assert!(
                err.to_string()
                    .contains("`request_timeout` (secrets.toml:3)"),
                "{err}"
            );
        }
    }

    #[tokio::test]
    async fn replies_larger_than_max_response_bytes_are_refused_naming_the_limit() {
        let (base, _) = super::server().await;
        let hub = super::hub(&format!(
            "[connections.gsheets]\nspreadsheet = \"{}\"\npublic_base_url = \"{base}\"\n\
             max_response_bytes = 64\n",
            super::PUBLIC
        ));
        let sheets = hub
            .connection::<GSheetsConnection>("gsheets")
            .await
            .unwrap();
        // With a content-length, and without one (read until the limit).
        for gid in [0u64, 14] {
            let err = sheets.read(gid).await.unwrap_err();
            assert!(
                err.to_string().contains("max_response_bytes (64 bytes)"),
                "gid {gid}: {err}"
            );
        }
        // The same limit on the Sheets API (a token reply fits; the spreadsheet does not).
        let Some(f) = fixture().await else { return };
        let sheets = open_with(&f, "small", "max_response_bytes = \"200 B\"").await;
        let err = sheets.read("My Data").await.unwrap_err();
        assert!(
            err.to_string().contains("max_response_bytes (200 bytes)")
                && err.to_string().contains("read the spreadsheet"),
            "{err}"
        );
        let hub = super::hub(&f.section("huge", "max_response_bytes = \"lots\""));
        let err = hub
            .connection::<GSheetsConnection>("huge")
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config, "{err}");
        assert!(err.to_string().contains("`max_response_bytes`"), "{err}");
    }

    #[tokio::test]
    async fn the_key_and_the_token_never_show_in_errors_or_debug() {
        let Some(f) = fixture().await else { return };
        let sheets = open_service(&f, "quiet").await;
        sheets.read("My Data").await.unwrap();
        f.counters.stall_values.store(true, Ordering::SeqCst);
        let quick = open_with(&f, "quick", "request_timeout = \"200ms\"").await;
        let err = quick.read("My Data").await.unwrap_err();
        let key_line = f.pem().lines().nth(1).unwrap();
        for shown in [
            format!("{err} {err:?}"),
            format!("{sheets:?}"),
            format!("{quick:?}"),
        ] {
            assert!(
                !shown.contains(key_line)
                    && !shown.contains("PRIVATE KEY")
                    && !shown.contains("test-token-1"),
                "{shown}"
            );
        }
    }
}
