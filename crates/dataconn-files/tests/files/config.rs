//! Configuration: protocol resolution, fsspec spellings, unknown keys, GCS without a server.

use dataconn_core::{Connections, ErrorKind};
use dataconn_files::{FilesConnection, Protocol};

fn hub(text: &str) -> Connections {
    crate::stores::hub_named("/app/.streamlit/secrets.toml", text)
}

#[tokio::test]
async fn protocol_comes_from_the_key_the_name_or_the_root() {
    let h = hub("[connections.a]\ntype = \"files\"\nprotocol = \"memory\"\n\
         [connections.memory]\ntype = \"files\"\n\
         [connections.c]\nurl = \"memory://x\"\n\
         [connections.d]\ntype = \"files\"\n");
    for (name, protocol) in [
        ("a", Protocol::Memory),
        ("memory", Protocol::Memory),
        ("c", Protocol::Memory),
        ("d", Protocol::File),
    ] {
        let conn = h.connection::<FilesConnection>(name).await.unwrap();
        assert_eq!(conn.protocol(), protocol, "{name}");
    }
}

#[tokio::test]
async fn unknown_keys_are_named_with_their_line_and_a_suggestion() {
    let h = hub(
        "[connections.lake]\ntype = \"files\"\nroot = \"s3://bucket\"\nkey = \"AKIA\"\nsecrett = \"s3cr3t-value\"\n\
         endpoint_urll = \"http://x\"\n",
    );
    let err = h.connect("lake").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    let msg = err.to_string();
    assert!(
        msg.contains("unknown key `secrett`") && msg.contains("secrets.toml:5"),
        "{msg}"
    );
    assert!(msg.contains("did you mean `secret`?"), "{msg}");
    assert!(msg.contains("did you mean `endpoint_url`?"), "{msg}");
    assert!(!msg.contains("s3cr3t-value"), "{msg}");
}

#[tokio::test]
async fn a_gcs_service_account_in_the_section_configures_the_store_without_a_server() {
    // The key below is a syntactically valid RSA key made for this test only.
    let h = hub(&format!(
        "[connections.gcs]\ntype = \"files\"\nconnector = \"files\"\nproject_id = \"p\"\nprivate_key_id = \"k1\"\n\
         private_key = \"{}\"\nclient_email = \"sa@p.iam.gserviceaccount.com\"\nclient_id = \"1\"\n\
         token_uri = \"https://oauth2.googleapis.com/token\"\n",
        TEST_KEY.replace('\n', "\\n")
    ));
    let conn = h.connection::<FilesConnection>("gcs").await.unwrap();
    assert_eq!(conn.protocol(), Protocol::Gcs);
    assert!(format!("{conn:?}").contains("Gcs"));
    // No server here: the read fails (building the credential or reaching the network), and
    // the message names the bucket, never the key.
    let err = conn
        .read("gs://bucket-a/data.parquet")
        .limit(1)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("bucket-a"), "{err}");
    assert!(
        !err.to_string().contains("PRIVATE KEY") && !err.to_string().contains("MIIEvQ"),
        "{err}"
    );
}

#[tokio::test]
async fn paths_of_another_protocol_are_refused() {
    let h = hub("[connections.m]\ntype = \"files\"\nprotocol = \"memory\"\n");
    let conn = h.connection::<FilesConnection>("m").await.unwrap();
    let err = conn.read("s3://bucket/x.csv").await.unwrap_err();
    assert!(err.message().contains("S3 URL"), "{err}");
}

const TEST_KEY: &str = "-----BEGIN PRIVATE KEY-----
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj
MzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZHtCSuYEvu
NMoSfm76oqFvAp8Gy0iz5sxjZmSnXyCdPEovGhLa0VzMaQ8s+CLOyS56YyCFGeJZ
-----END PRIVATE KEY-----";

#[tokio::test]
async fn endpoints_that_are_not_http_urls_are_named_with_their_line() {
    for (key, value) in [
        ("endpoint_url", "/x"),
        ("aws_endpoint", "ftp://minio:9000"),
        ("endpoint_url", "http://ann:hunter2-pw@"),
    ] {
        let h = hub(&format!(
            "[connections.lake]\ntype = \"files\"\nroot = \"s3://bucket\"\n{key} = \"{value}\"\n"
        ));
        let err = h.connect("lake").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config, "{value}");
        let msg = err.to_string();
        assert!(
            msg.contains(&format!("`{key}` (/app/.streamlit/secrets.toml:4)")),
            "{value}: {msg}"
        );
        assert!(!msg.contains("hunter2-pw"), "{msg}");
    }
}
