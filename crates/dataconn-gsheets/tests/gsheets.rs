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
    use std::path::PathBuf;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use arrow::array::AsArray;
    use arrow::datatypes::{DataType, Float64Type, Int64Type};
    use base64::Engine;
    use dataconn_core::ErrorKind;
    use dataconn_gsheets::{GSheetsConnection, Render, WorksheetRef};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    const SHEET: &str = "1ServiceSheetIdForTests_abcdefghijklmn";
    const FORBIDDEN: &str = "1ForbiddenSheetIdForTests_abcdefghijk";
    const EMAIL: &str = "reader@dataconn-tests.iam.gserviceaccount.com";

    #[derive(Default)]
    struct Counters {
        tokens: AtomicUsize,
        refused_tokens: AtomicUsize,
        values: AtomicUsize,
        throttled: AtomicUsize,
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
        format!(r#"{{"error":{{"code":{code},"message":"{message}","status":"{status}"}}}}"#)
    }

    /// Whether a JWT-bearer assertion is signed by the test key, for this endpoint and scope.
    fn assertion_ok(jwt: &str, public_der: &[u8], token_uri: &str) -> bool {
        // Padded or not: yup-oauth2 pads its base64url, as Google accepts.
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
    ) {
        let public_der = Arc::new(public_der);
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let (counters, public_der, base) = (counters.clone(), public_der.clone(), base.clone());
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 8192];
                let head_end = loop {
                    let n = stream.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break i + 4;
                    }
                };
                let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                let length: usize = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse().unwrap_or(0))
                    })
                    .unwrap_or(0);
                while buf.len() < head_end + length {
                    let n = stream.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                let body = String::from_utf8_lossy(&buf[head_end..]).to_string();
                let mut first = head.lines().next().unwrap_or_default().split_whitespace();
                let (method, target) = (
                    first.next().unwrap_or_default(),
                    first.next().unwrap_or_default(),
                );
                let (path, query) = target.split_once('?').unwrap_or((target, ""));
                if method == "POST" && path == "/token" {
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
                let authorized = head
                    .lines()
                    .any(|l| l.eq_ignore_ascii_case("authorization: bearer test-token-1"));
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
                let id = segments.get(3).cloned().unwrap_or_default();
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
                if id != SHEET {
                    respond(
                        &mut stream,
                        "404 Not Found",
                        &google_error(404, "NOT_FOUND", "Requested entity was not found."),
                    )
                    .await;
                    return;
                }
                match segments.get(4).map(String::as_str) {
                    None => {
                        let body = format!(
                            r#"{{"spreadsheetId":"{SHEET}","properties":{{"title":"Tests","locale":"en_US","timeZone":"Etc/GMT"}},"sheets":[{{"properties":{{"sheetId":0,"title":"Sheet1","index":0,"sheetType":"GRID","gridProperties":{{"rowCount":1000,"columnCount":26}}}}}},{{"properties":{{"sheetId":55,"title":"My Data","index":1,"sheetType":"GRID","gridProperties":{{"rowCount":1000,"columnCount":26}}}}}}],"spreadsheetUrl":"https://docs.google.com/spreadsheets/d/{SHEET}/edit"}}"#
                        );
                        respond(&mut stream, "200 OK", &body).await;
                    }
                    Some("values") => {
                        counters.values.fetch_add(1, Ordering::SeqCst);
                        let range = segments.get(5).cloned().unwrap_or_default();
                        if range == "'Sheet1'"
                            && counters.throttled.fetch_add(1, Ordering::SeqCst) == 0
                        {
                            respond(
                                &mut stream,
                                "429 Too Many Requests",
                                &google_error(
                                    429,
                                    "RESOURCE_EXHAUSTED",
                                    "Quota exceeded for quota metric 'Read requests'",
                                ),
                            )
                            .await;
                            return;
                        }
                        let unformatted = query.contains("valueRenderOption=UNFORMATTED_VALUE");
                        let body = match range.as_str() {
                            "'My Data'" if unformatted => r#"{"range":"'My Data'!A1:C3","majorDimension":"ROWS","values":[["item","price","in stock"],["pen",1234.5,true],["cup",3,false]]}"#.to_owned(),
                            "'My Data'" => r#"{"range":"'My Data'!A1:C3","majorDimension":"ROWS","values":[["item","price","in stock"],["pen","$1,234.50","TRUE"],["cup","$3.00","FALSE"]]}"#.to_owned(),
                            "'Sheet1'" => r#"{"range":"Sheet1!A1:B2","majorDimension":"ROWS","values":[["a","b"],["1","2"]]}"#.to_owned(),
                            other => google_error(400, "INVALID_ARGUMENT", &format!("Unable to parse range: {other}")),
                        };
                        let status = if body.contains("INVALID_ARGUMENT") {
                            "400 Bad Request"
                        } else {
                            "200 OK"
                        };
                        respond(&mut stream, status, &body).await;
                    }
                    _ => {
                        respond(
                            &mut stream,
                            "404 Not Found",
                            &google_error(404, "NOT_FOUND", "Requested entity was not found."),
                        )
                        .await
                    }
                }
            });
        }
    }

    async fn start(public_der: Vec<u8>) -> (String, Arc<Counters>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let counters = Arc::new(Counters::default());
        tokio::spawn(serve(listener, base.clone(), public_der, counters.clone()));
        (base, counters)
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
        let (base, counters) = start(key.public_der.clone()).await;
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
        let (base, counters) = start(key.public_der.clone()).await;
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
