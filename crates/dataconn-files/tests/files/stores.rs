//! The stores the tests run on, each with a fresh prefix per test label.

use std::sync::{Arc, OnceLock};

use dataconn_core::{Connections, Registry, Secrets};
use dataconn_files::FilesConnection;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Local,
    Memory,
    S3,
    Azure,
}

#[derive(Clone)]
pub struct Store {
    pub kind: Kind,
    endpoint: Option<String>,
    dir: Arc<tempfile::TempDir>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.kind)
    }
}

pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// The value of `var`, or a visible skip (a failure in CI) when it is unset.
pub fn peer(var: &str, what: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(v) => Some(v),
        Err(_) if in_ci() => {
            panic!("{what} is not available ({var} unset) and CI=true: run scripts/peers.sh")
        }
        Err(_) => {
            eprintln!("SKIPPING {what} tests: {var} is unset (run scripts/peers.sh)");
            None
        }
    }
}

pub fn stores() -> Vec<Store> {
    static ALL: OnceLock<Vec<Store>> = OnceLock::new();
    ALL.get_or_init(|| {
        let dir = Arc::new(tempfile::tempdir().expect("a temp dir"));
        let mut all = vec![
            Store {
                kind: Kind::Local,
                endpoint: None,
                dir: dir.clone(),
            },
            Store {
                kind: Kind::Memory,
                endpoint: None,
                dir: dir.clone(),
            },
        ];
        if let Some(endpoint) = peer("DATACONN_TEST_S3_ENDPOINT", "S3 (moto)") {
            all.push(Store {
                kind: Kind::S3,
                endpoint: Some(endpoint),
                dir: dir.clone(),
            });
        }
        if let Some(endpoint) = peer("DATACONN_TEST_AZURITE_URL", "Azure (azurite)") {
            all.push(Store {
                kind: Kind::Azure,
                endpoint: Some(endpoint),
                dir,
            });
        }
        all
    })
    .clone()
}

/// A hub over the connections of `text`, read as if from the secrets file `file`.
pub fn hub_named(file: &str, text: &str) -> Connections {
    Connections::builder()
        .registry(registry())
        .secrets(Secrets::from_toml(file, text).expect("test secrets parse"))
        .build()
        .expect("a hub")
}

/// A hub over the connections of `text` (as `secrets.toml`).
pub fn hub(text: &str) -> Connections {
    hub_named("secrets.toml", text)
}

/// A hub with one local connection, `lake`, rooted at `dir`, with `extra` keys.
pub fn local(dir: &std::path::Path, extra: &str) -> Connections {
    hub(&format!(
        "[connections.lake]\ntype = \"files\"\nroot = \"{}\"\n{extra}\n",
        dir.display()
    ))
}

pub fn registry() -> Registry {
    let registry = Registry::new();
    dataconn_files::register(&registry);
    registry
}

/// Azure's well-known emulator account key (public, documented by Microsoft).
pub const AZURITE_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

impl Store {
    /// The secrets section of a connection rooted at a fresh prefix for `label`.
    pub fn section(&self, label: &str) -> String {
        let run = std::process::id();
        match self.kind {
            Kind::Local => format!("root = \"{}\"\n", self.dir.path().join(label).display()),
            Kind::Memory => format!("protocol = \"memory\"\nroot = \"memory://{label}\"\n"),
            Kind::S3 => format!(
                "root = \"s3://dataconn-test/{run}/{label}\"\nendpoint_url = \"{}\"\nkey = \"test\"\n\
                 secret = \"test\"\nclient_kwargs = {{ region_name = \"us-east-1\" }}\nallow_http = true\n",
                self.endpoint.as_deref().unwrap_or_default()
            ),
            Kind::Azure => format!(
                "root = \"az://dataconn-test/{run}/{label}\"\naccount_name = \"devstoreaccount1\"\n\
                 account_key = \"{AZURITE_KEY}\"\nendpoint = \"{}/devstoreaccount1\"\n\
                 allow_http = true\n",
                self.endpoint.as_deref().unwrap_or_default()
            ),
        }
    }

    pub fn hub(&self, label: &str, extra: &str) -> Connections {
        let text = format!(
            "[connections.{label}]\ntype = \"files\"\n{}{extra}\n",
            self.section(label)
        );
        hub(&text)
    }

    pub async fn open(&self, label: &str) -> (Connections, Arc<FilesConnection>) {
        let hub = self.hub(label, "");
        let conn = hub
            .connection::<FilesConnection>(label)
            .await
            .expect("connects");
        (hub, conn)
    }
}
