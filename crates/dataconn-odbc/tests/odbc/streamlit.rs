//! Streamlit's SQL Server sections: the connection strings they map to, checked against
//! SQLAlchemy's own pyodbc dialect (the code Streamlit runs), and `type = "sql"` sections with
//! `mssql+pyodbc` URLs handed to this connector.

use dataconn_core::{ConnectionConfig, Registry};

use crate::peers;

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// What SQLAlchemy's `mssql+pyodbc` dialect makes of each URL, one line each.
fn sqlalchemy_connection_strings(urls: &[&str]) -> Option<Vec<String>> {
    let python = match std::env::var("DATACONN_TEST_PYTHON") {
        Ok(python) if std::path::Path::new(&python).is_file() => python,
        found => {
            assert!(
                !in_ci(),
                "no Python with SQLAlchemy (DATACONN_TEST_PYTHON = {found:?}) and CI=true"
            );
            eprintln!("SKIPPING the SQLAlchemy comparison: run scripts/peers.sh");
            return None;
        }
    };
    let script = "import sys\n\
                  from sqlalchemy.engine import make_url\n\
                  from sqlalchemy.dialects.mssql.pyodbc import MSDialect_pyodbc\n\
                  d = MSDialect_pyodbc()\n\
                  for line in sys.stdin.read().splitlines():\n\
                  \x20   print(d.create_connect_args(make_url(line))[0][0])\n";
    let mut child = std::process::Command::new(python)
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python starts");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(urls.join("\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "SQLAlchemy failed");
    Some(
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect(),
    )
}

fn ours(section: &str) -> String {
    let config = ConnectionConfig::new("mssql", "odbc", peers::table(section));
    dataconn_odbc::connection_string(&config)
        .expect("the section maps")
        .expose()
        .to_owned()
}

#[test]
fn streamlit_mssql_sections_map_as_sqlalchemy_maps_them() {
    let urls = [
        "mssql+pyodbc://app:s3cret@sql.example.com:1433/sales?driver=ODBC+Driver+18+for+SQL+Server&encrypt=yes",
        "mssql+pyodbc://app:p%3Bw%7Bx@sql.example.com/sales?driver=ODBC+Driver+17+for+SQL+Server&TrustServerCertificate=yes",
        "mssql+pyodbc://u:p@mydsn",
        "mssql+pyodbc://sql.example.com/sales?driver=X&authentication=ActiveDirectoryIntegrated",
        "mssql+pyodbc://h/db?driver=X",
        "mssql+pyodbc:///?odbc_connect=Driver%3D%7BX%7D%3BServer%3Dh%3BPWD%3Dpw",
        "mssql+pyodbc:///?odbc_connect=Driver%3D%7BX+Y%7D%3BPWD%3Da%252Bb",
        "mssql+pyodbc://mydsn:1433",
        "mssql+pyodbc://u@h/db?driver=X&port=1444",
        "mssql+pyodbc://:pw@h/db?driver=X",
        "mssql+pyodbc://u:p@h/?dsn=prod&database=sales",
    ];
    let Some(theirs) = sqlalchemy_connection_strings(&urls) else {
        return;
    };
    assert_eq!(theirs.len(), urls.len());
    for (url, theirs) in urls.iter().zip(&theirs) {
        assert_eq!(ours(&format!("url = {url:?}\n")), *theirs, "{url}");
    }
    // The same section written as Streamlit's parts instead of a URL.
    let parts = ours(
        "dialect = \"mssql\"\ndriver = \"pyodbc\"\nhost = \"sql.example.com\"\nport = 1433\n\
         database = \"sales\"\nusername = \"app\"\npassword = \"s3cret\"\n\
         [query]\ndriver = \"ODBC Driver 18 for SQL Server\"\nencrypt = \"yes\"\n",
    );
    assert_eq!(parts, theirs[0]);
}

#[tokio::test]
async fn a_sql_section_with_an_mssql_pyodbc_url_is_served_by_this_connector() {
    let Some(server) = peers::postgres() else {
        return;
    };
    let registry = Registry::new();
    dataconn_sql::register(&registry);
    dataconn_odbc::register(&registry);
    // SQLAlchemy's raw form: the whole ODBC connection string in `odbc_connect`.
    let raw = url::form_urlencoded::byte_serialize(server.connection_string().as_bytes())
        .collect::<String>();
    let section = peers::table(&format!(
        "type = \"sql\"\nurl = \"mssql+pyodbc:///?odbc_connect={raw}\"\n"
    ));
    let hub = peers::hub_of(registry, &[("st", section)]);
    let conn = hub
        .connect("st")
        .await
        .expect("the ODBC connector connects");
    assert_eq!(conn.connection_type(), "odbc");
    let table = dataconn_core::QueryExt::query(
        conn.as_query().expect("it answers queries"),
        "select 41 + 1 as answer",
    )
    .await
    .unwrap();
    assert_eq!(peers::texts(&table, "answer"), [Some("42".to_owned())]);
}
