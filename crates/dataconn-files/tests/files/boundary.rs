//! A connection's root is a boundary: absolute paths, `file://` URLs, `..`, symbolic links,
//! other buckets and hosts that lead out of it are refused in `read`, `write`, listings, globs
//! and SQL, unless the section sets `allow_outside_root = true`.

use dataconn_core::{Connections, Error, QueryExt};
use dataconn_files::FilesConnection;

use crate::stores::{Kind, hub, peer, stores};

/// A root folder with `inside.csv`, and a folder beside it with `secret.csv`.
struct Folders {
    _dir: tempfile::TempDir,
    root: std::path::PathBuf,
    outside: std::path::PathBuf,
}

fn folders() -> Folders {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let outside = dir.path().join("outside");
    std::fs::create_dir_all(root.join("sub")).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(root.join("inside.csv"), "a\n1\n").unwrap();
    std::fs::write(root.join("sub/deeper.csv"), "a\n3\n").unwrap();
    std::fs::write(outside.join("secret.csv"), "a\n2\n").unwrap();
    Folders {
        _dir: dir,
        root,
        outside,
    }
}

fn local(f: &Folders, extra: &str) -> Connections {
    hub(&format!(
        "[connections.lake]\ntype = \"files\"\nroot = \"{}\"\n{extra}\n",
        f.root.display()
    ))
}

fn assert_refused(err: &Error, root: &str, path: &str) {
    let msg = err.to_string();
    assert!(
        msg.contains(root) && msg.contains(path) && msg.contains("allow_outside_root"),
        "names the root {root:?}, the path {path:?} and the opt-out: {msg}"
    );
}

#[tokio::test]
async fn paths_that_leave_a_local_root_are_refused_everywhere() {
    let f = folders();
    let hub = local(&f, "");
    let lake = hub.connection::<FilesConnection>("lake").await.unwrap();
    let root = f.root.display().to_string();
    let secret = f.outside.join("secret.csv").display().to_string();
    std::os::unix::fs::symlink(f.outside.join("secret.csv"), f.root.join("link.csv")).unwrap();
    std::os::unix::fs::symlink(&f.outside, f.root.join("linked_dir")).unwrap();
    let file_url = format!("file://{secret}");
    for path in [
        secret.as_str(),
        file_url.as_str(),
        "../outside/secret.csv",
        "sub/../../outside/secret.csv",
        "link.csv",
        "linked_dir/secret.csv",
        "/etc/passwd",
    ] {
        let err = lake.read(path).await.unwrap_err();
        assert_refused(&err, &root, path);
        let err = lake.read_bytes(path).await.unwrap_err();
        assert_refused(&err, &root, path);
        let err = lake.exists(path).await.unwrap_err();
        assert_refused(&err, &root, path);
        let err = lake
            .query(format!("select * from '{path}'"))
            .await
            .unwrap_err();
        assert_refused(&err, &root, path);
    }
    let err = lake.put_bytes("../escaped.txt", "x").await.unwrap_err();
    assert_refused(&err, &root, "../escaped.txt");
    assert!(!f.root.parent().unwrap().join("escaped.txt").exists());
    let err = lake.delete(&secret).await.unwrap_err();
    assert_refused(&err, &root, &secret);
    assert!(f.outside.join("secret.csv").exists(), "not deleted");
    // Globs and listings: the folder, and each file they find.
    let err = lake.read("/*.csv").await.unwrap_err();
    assert_refused(&err, &root, "/*.csv");
    let err = lake.read("linked_dir/*.csv").await.unwrap_err();
    assert_refused(&err, &root, "linked_dir/*.csv");
    let err = lake.read("*/secret.csv").await.unwrap_err();
    assert_refused(&err, &root, "linked_dir/secret.csv");
    let err = lake.list("..").await.unwrap_err();
    assert_refused(&err, &root, "..");
    // Listing the root finds the links: the first refused names where it leads.
    let err = lake.list("").await.unwrap_err();
    assert_refused(&err, &root, "outside/secret.csv");
}

#[tokio::test]
async fn a_named_table_outside_the_root_is_refused() {
    let f = folders();
    let secret = f.outside.join("secret.csv").display().to_string();
    let hub = local(&f, &format!("tables = {{ stolen = \"{secret}\" }}"));
    let lake = hub.connection::<FilesConnection>("lake").await.unwrap();
    let err = lake.query("select * from stolen").await.unwrap_err();
    assert_refused(&err, &f.root.display().to_string(), &secret);
}

#[tokio::test]
async fn paths_inside_the_root_and_links_within_it_still_work() {
    let f = folders();
    std::os::unix::fs::symlink(f.root.join("inside.csv"), f.root.join("alias.csv")).unwrap();
    std::os::unix::fs::symlink(f.root.join("sub"), f.root.join("sub_link")).unwrap();
    let hub = local(&f, "");
    let lake = hub.connection::<FilesConnection>("lake").await.unwrap();
    let absolute = f.root.join("inside.csv").display().to_string();
    let file_url = format!("file://{absolute}");
    for path in [
        "inside.csv",
        "./sub/../inside.csv",
        absolute.as_str(),
        file_url.as_str(),
        "alias.csv",
        "sub_link/deeper.csv",
    ] {
        let t = lake
            .read(path)
            .await
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(t.num_rows(), 1, "{path}");
    }
    let t = lake
        .query("select count(*) as n from 'alias.csv'")
        .await
        .unwrap();
    assert_eq!(t.num_rows(), 1);
    assert!(lake.read("*.csv").await.is_ok(), "a glob over links inside");
}

#[tokio::test]
async fn allow_outside_root_opts_out() {
    let f = folders();
    std::os::unix::fs::symlink(f.outside.join("secret.csv"), f.root.join("link.csv")).unwrap();
    let hub = local(&f, "allow_outside_root = true");
    let lake = hub.connection::<FilesConnection>("lake").await.unwrap();
    let secret = f.outside.join("secret.csv").display().to_string();
    for path in [secret.as_str(), "../outside/secret.csv", "link.csv"] {
        let t = lake
            .read(path)
            .await
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(t.num_rows(), 1, "{path}");
    }
    let t = lake
        .query(format!("select a from '{secret}'"))
        .await
        .unwrap();
    assert_eq!(t.num_rows(), 1);
}

#[tokio::test]
async fn other_prefixes_buckets_and_hosts_are_refused() {
    for store in stores() {
        if store.kind == Kind::Local {
            continue;
        }
        let (_hub, conn) = store.open("bounded").await;
        conn.put_bytes("x.csv", "a\n1\n").await.unwrap();
        let (scheme, elsewhere) = match store.kind {
            Kind::Memory => ("memory://", vec!["memory:///other/x.csv", "../other/x.csv"]),
            Kind::S3 => (
                "s3://",
                vec![
                    "s3://another-bucket/x.csv",
                    "s3://dataconn-test/other/x.csv",
                    "../x.csv",
                ],
            ),
            _ => ("az://", vec!["az://another-container/x.csv", "../x.csv"]),
        };
        for path in elsewhere {
            let err = conn.read(path).await.unwrap_err();
            let msg = err.to_string();
            // The S3 test secret is "test", masked wherever it appears (also in the bucket).
            let shown = if store.kind == Kind::S3 {
                path.replace("test", "***")
            } else {
                path.to_owned()
            };
            assert!(
                msg.contains(scheme) && msg.contains("bounded") && msg.contains(&shown),
                "{store:?} {path}: {msg}"
            );
            assert!(msg.contains("allow_outside_root"), "{store:?}: {msg}");
            let err = conn
                .query(format!("select * from '{path}'"))
                .await
                .unwrap_err();
            assert!(err.to_string().contains("allow_outside_root"), "{err}");
        }
    }
    let Some(url) = peer("DATACONN_TEST_HTTP_URL", "HTTP") else {
        return;
    };
    let hub = hub(&format!(
        "[connections.web]\ntype = \"files\"\nroot = \"{url}/data\"\n"
    ));
    let web = hub.connection::<FilesConnection>("web").await.unwrap();
    for path in ["http://169.254.169.254/latest/meta-data", "../etc/passwd"] {
        let err = web.read(path).await.unwrap_err();
        assert!(
            err.to_string().contains("allow_outside_root") && err.to_string().contains(path),
            "{err}"
        );
    }
}
