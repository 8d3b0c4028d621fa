//! The Google Sheets connector against an in-repo server for the public CSV export (no Google
//! emulator exists). Its replies follow what Google sends: CSV for a public sheet, a redirect to
//! an HTML sign-in page for a private one, 404 for an unknown ID, 429 under quota.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType, Float64Type, Int64Type};
use dataconn_core::{Connections, ErrorKind, Registry, Secrets};
use dataconn_gsheets::{GSheetsConnection, UseCols, WorksheetRef};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
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
            let mut buf = vec![0u8; 8192];
            let n = stream.read(&mut buf).await.unwrap_or(0);
            let head = String::from_utf8_lossy(&buf[..n]).to_string();
            let target = head
                .split_whitespace()
                .nth(1)
                .unwrap_or_default()
                .to_owned();
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
async fn service_account_sections_choose_the_connector_by_key_and_keep_the_key_secret() {
    let key = "-----BEGIN PRIVATE KEY-----\nMIIEvQ-very-secret\n-----END PRIVATE KEY-----\n";
    let hub = hub(&format!(
        "[connections.sa]\nconnector = \"gsheets\"\ntype = \"service_account\"\n\
         project_id = \"p\"\nprivate_key = \"\"\"{key}\"\"\"\nclient_email = \"bot@p.iam.gserviceaccount.com\"\n\
         spreadsheet = \"{PUBLIC}\"\n"
    ));
    let err = hub.connection::<GSheetsConnection>("sa").await.unwrap_err();
    let shown = format!("{err} {err:?}");
    assert_eq!(err.kind(), ErrorKind::Config, "{shown}");
    assert!(shown.contains("service-account"), "{shown}");
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
