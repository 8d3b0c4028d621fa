//! The real `dataconn` binary against SQLite and a temporary secrets file.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use arrow::array::AsArray;
use arrow::datatypes::Int64Type;

const SECRET: &str = "hunter2-cli-secret";

/// `dataconn --secrets <secrets> <args>`, run to its end.
fn dataconn_with(secrets: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dataconn"))
        .arg("--secrets")
        .arg(secrets)
        .args(args)
        .output()
        .expect("the dataconn binary runs")
}

struct Workspace {
    dir: tempfile::TempDir,
    secrets: PathBuf,
}

impl Workspace {
    fn new() -> Workspace {
        let dir = tempfile::tempdir().unwrap();
        let db = |n: &str| dir.path().join(n).display().to_string();
        let secrets = dir.path().join("secrets.toml");
        fs::write(
            &secrets,
            format!(
                "[connections.pets]\nurl = \"sqlite:///{}\"\n\n\
                 [connections.broken]\nurl = \"sqlite:////no/such/dir/x.db\"\npassword = \"{SECRET}\"\n\n\
                 [connections.secretive]\ntype = \"sql\"\nurl = \"sqlite:///{}\"\npassword = \"{SECRET}\"\n",
                db("pets.db"),
                db("s.db")
            ),
        )
        .unwrap();
        let pets = format!("sqlite:///{}", db("pets.db"));
        dataconn::blocking::block_on(async move {
            let hub = dataconn::Connections::builder()
                .registry(dataconn::default_registry())
                .secrets(dataconn::Secrets::from_toml("seed.toml", &format!("[connections.p]\nurl = \"{pets}\"\n"))?)
                .build()?;
            let conn = hub.connection::<dataconn::SqlConnection>("p").await?;
            conn.execute("create table pet_owners (person text, pet text, legs integer)", dataconn::params! {})
                .await?;
            conn.execute(
                "insert into pet_owners values ('jerry', 'fish', 0), ('barbara', 'cat', 4), ('alex', 'puppy', 4)",
                dataconn::params! {},
            )
            .await?;
            hub.close_all().await;
            Ok(())
        })
        .unwrap();
        Workspace { dir, secrets }
    }

    fn run(&self, args: &[&str]) -> Output {
        let output = Command::new(env!("CARGO_BIN_EXE_dataconn"))
            .arg("--secrets")
            .arg(&self.secrets)
            .args(args)
            .current_dir(self.dir.path())
            .env("HOME", self.dir.path())
            .env("NO_COLOR", "1")
            .output()
            .expect("the dataconn binary runs");
        let shown = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            !shown.contains(SECRET),
            "a secret leaked from `dataconn {}`: {shown}",
            args.join(" ")
        );
        output
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn list_shows_every_connection_with_type_source_and_masked_secrets() {
    let ws = Workspace::new();
    let out = ws.run(&["list", "--format", "table"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let file = ws.secrets.display().to_string();
    assert!(
        text.contains(&format!("pets       sql   {file}:1")),
        "{text}"
    );
    assert!(text.contains("password=***"), "{text}");
    assert!(text.contains(&format!("searched: {file} (read)")), "{text}");

    let out = ws.run(&["list"]);
    let rows: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        rows.len(),
        3,
        "piped output is one JSON object per connection"
    );
    assert_eq!(rows[2]["name"], "secretive");
    assert_eq!(rows[2]["type"], "sql");
    assert_eq!(rows[2]["source"], format!("{file}:8"));
}

#[test]
fn check_reports_each_connection_and_fails_when_one_fails() {
    let ws = Workspace::new();
    let out = ws.run(&["check", "--format", "table"]);
    assert_eq!(out.status.code(), Some(1), "a failed check exits 1");
    let text = stdout(&out);
    assert!(text.contains("OK      pets (sql)"), "{text}");
    assert!(
        text.contains("OK      secretive (sql)"),
        "the others are still checked: {text}"
    );
    assert!(text.contains("FAILED  broken (sql)"), "{text}");
    assert!(text.contains("hint: is the server running"), "{text}");
    assert!(text.contains("3 checked, 2 ok, 1 failed"), "{text}");

    let out = ws.run(&["check", "pets"]);
    assert_eq!(out.status.code(), Some(0));
    let row: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(
        (row["name"].as_str(), row["ok"].as_bool()),
        (Some("pets"), Some(true))
    );
}

const SQL: &str = "select person, legs from pet_owners where legs >= :legs order by person";

#[test]
fn query_writes_every_format_and_they_parse_back() {
    let ws = Workspace::new();
    let out = ws.run(&["query", "pets", SQL, "--param", "legs=1"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "person,legs\nalex,4\nbarbara,4\n",
        "piped output defaults to CSV"
    );
    let csv_schema = std::sync::Arc::new(arrow::datatypes::Schema::new(vec![
        arrow::datatypes::Field::new("person", arrow::datatypes::DataType::Utf8, true),
        arrow::datatypes::Field::new("legs", arrow::datatypes::DataType::Int64, true),
    ]));
    let mut reader = arrow::csv::ReaderBuilder::new(csv_schema)
        .with_header(true)
        .build(std::io::Cursor::new(out.stdout.clone()))
        .unwrap();
    let batch = reader.next().unwrap().unwrap();
    assert_eq!(
        batch.column(1).as_primitive::<Int64Type>().values(),
        &[4, 4]
    );

    let out = ws.run(&["query", "pets", SQL, "-p", "legs=0", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 3);
    assert_eq!(json[0]["person"], "alex");

    let out = ws.run(&[
        "query", "pets", SQL, "-p", "legs=0", "--format", "ndjson", "--limit", "2",
    ]);
    let lines: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "--limit keeps two rows");

    let out = ws.run(&["query", "pets", SQL, "-p", "legs=0", "--format", "table"]);
    assert!(
        stdout(&out).contains("| jerry   | 0    |"),
        "{}",
        stdout(&out)
    );

    let parquet = ws.path("out.parquet");
    let out = ws.run(&[
        "query",
        "pets",
        SQL,
        "-p",
        "legs=0",
        "--format",
        "parquet",
        "--output",
        parquet.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let file = fs::File::open(&parquet).unwrap();
    let rows: usize = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap()
        .map(|b| b.unwrap().num_rows())
        .sum();
    assert_eq!(rows, 3);

    let arrow_file = ws.path("out.arrow");
    ws.run(&[
        "query",
        "pets",
        SQL,
        "-p",
        "legs=4",
        "--format",
        "arrow",
        "-o",
        arrow_file.to_str().unwrap(),
    ]);
    let reader =
        arrow::ipc::reader::FileReader::try_new(fs::File::open(&arrow_file).unwrap(), None)
            .unwrap();
    let rows: usize = reader.map(|b| b.unwrap().num_rows()).sum();
    assert_eq!(rows, 2);

    let out = ws.run(&[
        "query",
        "pets",
        "select person from pet_owners where person = :who",
        "--text-param",
        "who=jerry",
    ]);
    assert_eq!(stdout(&out), "person\njerry\n");
}

#[test]
fn query_errors_name_the_connection_and_exit_1() {
    let ws = Workspace::new();
    let out = ws.run(&["query", "pets", "select nope from pet_owners"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("connection `pets` (sql)") && err.contains("no such column"),
        "{err}"
    );

    let out = ws.run(&["query", "pets", SQL]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("uses :legs but no value was given"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn unknown_connection_lists_the_known_names_and_exits_3() {
    let ws = Workspace::new();
    let out = ws.run(&["query", "pet", "select 1"]);
    assert_eq!(out.status.code(), Some(3));
    let err = stderr(&out);
    assert!(err.contains("did you mean `pets`"), "{err}");
    assert!(
        err.contains("known connections: broken, pets, secretive"),
        "{err}"
    );
}

#[test]
fn bad_secrets_file_exits_3_with_file_line_and_column() {
    let ws = Workspace::new();
    let bad = ws.path("bad.toml");
    fs::write(&bad, "[connections.a]\nurl = \"sqlite://\"\nport = = 1\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_dataconn"))
        .args(["--secrets", bad.to_str().unwrap(), "list"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(
        stderr(&out).contains(&format!("{}:3:", bad.display())),
        "{}",
        stderr(&out)
    );
}

/// A secrets file with one files connection, `disk`, rooted at the workspace.
fn files_secrets(ws: &Workspace) -> PathBuf {
    let files = ws.path("files.toml");
    fs::write(
        &files,
        format!(
            "[connections.disk]\ntype = \"files\"\nroot = \"{}\"\n",
            ws.dir.path().display()
        ),
    )
    .unwrap();
    files
}

#[test]
fn read_gives_a_files_table_in_any_output_format() {
    let ws = Workspace::new();
    fs::write(ws.path("pets.csv"), "person,legs\njerry,0\nbarbara,4\n").unwrap();
    let files = files_secrets(&ws);
    let out = Command::new(env!("CARGO_BIN_EXE_dataconn"))
        .args([
            "--secrets",
            files.to_str().unwrap(),
            "read",
            "disk",
            "pets.csv",
            "--format",
            "ndjson",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let rows: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1]["person"], "barbara");
    let out = Command::new(env!("CARGO_BIN_EXE_dataconn"))
        .args([
            "--secrets",
            files.to_str().unwrap(),
            "read",
            "disk",
            "nope.csv",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("nope.csv") && stderr(&out).contains("not-found"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn query_runs_sql_over_files_with_parameters() {
    let ws = Workspace::new();
    fs::write(
        ws.path("pets.csv"),
        "person,legs\njerry,0\nbarbara,4\ntom,4\n",
    )
    .unwrap();
    let files = files_secrets(&ws);
    let run = |sql: &str| {
        Command::new(env!("CARGO_BIN_EXE_dataconn"))
            .args(["--secrets", files.to_str().unwrap(), "query", "disk", sql])
            .args(["-p", "legs=4", "--format", "csv"])
            .output()
            .unwrap()
    };
    let out = run("select person from 'pets.csv' where legs = :legs order by person");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "person\nbarbara\ntom\n");
    let out = run("select persn from 'pets.csv' where legs = :legs");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("persn") && stderr(&out).contains("line 1, column 8"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn read_on_a_sql_connection_says_what_read_is_for() {
    let ws = Workspace::new();
    let out = ws.run(&["read", "pets", "data.csv"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("cannot read tables by path"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn secrets_are_shown_redacted_with_their_sources() {
    let ws = Workspace::new();
    let out = ws.run(&["secrets", "--show-sources"]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    let file = ws.secrets.display().to_string();
    assert!(
        text.contains(&format!("connections.broken.password = ***    # {file}:6")),
        "{text}"
    );
    assert!(
        text.contains("connections.secretive.type = \"sql\""),
        "{text}"
    );
}

#[test]
fn binary_formats_go_to_a_pipe_and_usage_errors_exit_2() {
    let ws = Workspace::new();
    let out = ws.run(&["query", "pets", "select 1 as one", "--format", "arrow"]);
    assert_eq!(out.status.code(), Some(0), "a pipe takes binary output");
    assert!(out.stdout.starts_with(b"ARROW1"), "an Arrow IPC file");
    let out = ws.run(&["query"]);
    assert_eq!(out.status.code(), Some(2));
}

/// A workspace whose secrets file is `extra` after the standard sections.
fn with_extra(ws: &Workspace, extra: &str) -> PathBuf {
    let text = fs::read_to_string(&ws.secrets).unwrap();
    let path = ws.path("extra.toml");
    fs::write(&path, format!("{text}\n{extra}")).unwrap();
    path
}

#[test]
fn huge_durations_are_config_errors_with_file_and_line_not_panics() {
    let ws = Workspace::new();
    let db = ws.path("slow.db").display().to_string();
    for value in [
        "1e20",
        "\"30000000000000000000\"",
        "\"99999999999999999999s\"",
    ] {
        let secrets = with_extra(
            &ws,
            &format!("[connections.slow]\nurl = \"sqlite:///{db}\"\nacquire_timeout = {value}\n"),
        );
        let out = ws.run(&["--secrets", secrets.to_str().unwrap(), "check", "slow"]);
        let text = format!("{}{}", stdout(&out), stderr(&out));
        assert_eq!(out.status.code(), Some(3), "{value}: {text}");
        assert!(text.contains("acquire_timeout"), "{value}: {text}");
        assert!(text.contains("extra.toml:"), "{value}: {text}");
    }
    let out = ws.run(&["check", "--timeout", "30000000000000000000", "pets"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("at most"), "{}", stderr(&out));
}

#[test]
fn every_form_of_a_url_password_is_masked_in_list_and_secrets() {
    let ws = Workspace::new();
    let secrets = with_extra(
        &ws,
        "[connections.pg]\nurl = \"postgresql://admin:admin@db.internal/app\"\n\
         [connections.one]\nurl = \"postgresql://me:x@db.internal/app\"\n\
         [connections.slashy]\nurl = \"postgresql://me:pa/ss#w@db.internal/app\"\n\
         [connections.query_pw]\nurl = \"mysql://me@db.internal/app?password=qu3ry-pw\"\n\
         [connections.num]\ntype = \"sql\"\nhost = \"h\"\npassword = 918273\n\
         [connections.lake]\ntype = \"files\"\nendpoint_url = \"http://minio:m1n10-pw@minio:9000\"\n",
    );
    for command in ["list", "secrets"] {
        let out = ws.run(&["--secrets", secrets.to_str().unwrap(), command]);
        let text = stdout(&out);
        for secret in [":admin@", "pa/ss", "qu3ry-pw", "918273", "m1n10-pw"] {
            assert!(!text.contains(secret), "`{command}` shows {secret}: {text}");
        }
        assert!(
            text.contains("postgresql://admin:***@db.internal/app"),
            "{text}"
        );
        assert!(
            text.contains("postgresql://me:***@db.internal/app"),
            "{text}"
        );
    }
}

fn redis_addr() -> Option<String> {
    let url = std::env::var("DATACONN_TEST_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379/".to_owned());
    let addr = url
        .trim_start_matches("redis://")
        .split('/')
        .next()?
        .to_owned();
    if std::net::TcpStream::connect(&addr).is_ok() {
        return Some(url);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("Redis does not answer at {url} and CI=true: run scripts/peers.sh");
    }
    eprintln!("SKIPPING the shared-cache CLI test: nothing answers at {url}");
    None
}

#[test]
fn two_processes_share_a_result_through_the_cache_section() {
    let Some(url) = redis_addr() else { return };
    let ws = Workspace::new();
    let prefix = format!("dataconn-cli-test:{}:{}:", std::process::id(), fastish_id());
    let secrets = with_extra(
        &ws,
        &format!("[cache]\nbackend = \"redis\"\nurl = \"{url}\"\nprefix = \"{prefix}\"\n"),
    );
    let count = |ttl: &str| {
        let out = ws.run(&[
            "--secrets",
            secrets.to_str().unwrap(),
            "query",
            "pets",
            "select count(*) as n from pet_owners",
            "--ttl",
            ttl,
            "--format",
            "csv",
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        stdout(&out).lines().nth(1).unwrap_or_default().to_owned()
    };
    assert_eq!(
        count("1h"),
        "3",
        "the first process runs the query and stores it"
    );
    // A row added behind dataconn's back (no write through a connection, so no invalidation).
    let db = ws.path("pets.db").display().to_string();
    dataconn::blocking::block_on(async move {
        let hub = dataconn::Connections::builder()
            .registry(dataconn::default_registry())
            .secrets(dataconn::Secrets::from_toml(
                "seed.toml",
                &format!("[connections.p]\nurl = \"sqlite:///{db}\"\n"),
            )?)
            .build()?;
        let conn = hub.connection::<dataconn::SqlConnection>("p").await?;
        conn.execute(
            "insert into pet_owners values ('zed', 'owl', 2)",
            dataconn::params! {},
        )
        .await?;
        hub.close_all().await;
        Ok(())
    })
    .unwrap();
    assert_eq!(
        count("1h"),
        "3",
        "a second process is served the first one's result"
    );
    assert_eq!(count("0"), "4", "without a TTL the query runs");
}

fn fastish_id() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

/// Streamlit's `mssql+pyodbc` URL form, served by the ODBC connector (here psqlODBC against
/// the machine's PostgreSQL through SQLAlchemy's `odbc_connect`): query, list and check, with
/// the password inside the connection string never shown.
#[cfg(feature = "odbc")]
#[test]
fn query_list_and_check_reach_an_odbc_driver() {
    let Ok(driver) = std::env::var("DATACONN_TEST_ODBC_POSTGRES_DRIVER") else {
        assert!(
            std::env::var("CI").is_err(),
            "DATACONN_TEST_ODBC_POSTGRES_DRIVER is missing and CI=true (scripts/peers.sh installs it)"
        );
        eprintln!("SKIPPING the CLI's ODBC test: run scripts/peers.sh");
        return;
    };
    let server = std::env::var("DATACONN_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let server = server.split("://").nth(1).unwrap_or_default();
    let (user, rest) = server.split_once('@').unwrap_or(("postgres", server));
    let (host_port, database) = rest.split_once('/').unwrap_or((rest, "postgres"));
    let (host, port) = host_port.split_once(':').unwrap_or((host_port, "5432"));
    let odbc = format!(
        "Driver={{{driver}}};Server={host};Port={port};Database={database};UID={user};PWD=cli-odbc-secret-77"
    );
    let encoded: String =
        dataconn::reexports::url::form_urlencoded::byte_serialize(odbc.as_bytes()).collect();
    let ws = Workspace::new();
    let secrets = ws.path("mssql.toml");
    fs::write(
        &secrets,
        format!("[connections.mssql]\nurl = \"mssql+pyodbc:///?odbc_connect={encoded}\"\n"),
    )
    .unwrap();
    let run = |args: &[&str]| dataconn_with(&secrets, args);
    let out = run(&[
        "query",
        "mssql",
        "select cast(:k as int) * 2 as n",
        "-p",
        "k=21",
        "--format",
        "csv",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "n\n42\n");
    for args in [&["list"][..], &["secrets"][..], &["check"][..]] {
        let out = run(args);
        let text = format!("{}{}", stdout(&out), stderr(&out));
        assert!(!text.contains("cli-odbc-secret-77"), "{args:?}: {text}");
        if args == ["list"] {
            assert!(text.contains("mssql") && text.contains("odbc"), "{text}");
        }
        if args == ["check"] {
            assert_eq!(out.status.code(), Some(0), "{text}");
        }
    }
}

#[test]
fn query_list_and_check_reach_duckdb() {
    let Ok(library) = std::env::var("DATACONN_TEST_DUCKDB_LIBRARY") else {
        assert!(
            std::env::var("CI").is_err(),
            "DATACONN_TEST_DUCKDB_LIBRARY is missing and CI=true (scripts/peers.sh installs DuckDB's library)"
        );
        eprintln!(
            "SKIPPING the CLI's DuckDB test: set DATACONN_TEST_DUCKDB_LIBRARY or run scripts/peers.sh"
        );
        return;
    };
    let ws = Workspace::new();
    let secrets = ws.path("duck.toml");
    fs::write(
        &secrets,
        format!(
            "[connections.duck]\nurl = \"duckdb:///{}\"\nlibrary = {library:?}\n",
            ws.path("a.duckdb").display()
        ),
    )
    .unwrap();
    let run = |args: &[&str]| dataconn_with(&secrets, args);
    let out = run(&[
        "query",
        "duck",
        "select range * :k as n from range(3)",
        "-p",
        "k=10",
        "--format",
        "csv",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "n\n0\n10\n20\n");
    let out = run(&["list"]);
    assert!(
        stdout(&out).contains("duck") && stdout(&out).contains("duckdb"),
        "{}",
        stdout(&out)
    );
    let out = run(&["check"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
}

/// Streamlit's `[secrets] files` in `.streamlit/config.toml` chooses the secrets files (the
/// project's setting over the global one), `secrets --show-sources` says which setting chose
/// each, and a bad entry is a configuration error naming the config file and line.
#[test]
fn config_toml_chooses_the_secrets_files_and_show_sources_says_so() {
    let home = tempfile::tempdir().unwrap();
    let project = tempfile::tempdir().unwrap();
    let write = |path: PathBuf, text: &str| {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    };
    write(
        home.path().join(".streamlit/config.toml"),
        "[secrets]\nfiles = [\"~/ignored.toml\"]\n",
    );
    write(
        home.path().join(".streamlit/secrets.toml"),
        "[connections.global_only]\nurl = \"sqlite:///g.db\"\n",
    );
    write(
        project.path().join(".streamlit/config.toml"),
        "[runner]\nfastReruns = true\n\n[secrets]\nfiles = [\"conf/base.toml\", \"conf/local.toml\"]\n",
    );
    write(
        project.path().join("conf/base.toml"),
        "[connections.db]\nurl = \"sqlite:///base.db\"\nttl = 60\n",
    );
    write(
        project.path().join("conf/local.toml"),
        "[connections.db]\nurl = \"sqlite:///local.db\"\n",
    );
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_dataconn"))
            .args(args)
            .current_dir(project.path())
            .env("HOME", home.path())
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    };
    let out = run(&["secrets", "--show-sources"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    let config = project.path().join(".streamlit/config.toml");
    let chosen_by = format!("`[secrets] files` in {}:5", config.display());
    for file in ["conf/base.toml", "conf/local.toml"] {
        let line = format!(
            "{} ({chosen_by}; read)",
            project.path().join(file).display()
        );
        assert!(text.contains(&line), "{line}\n{text}");
    }
    // The later file wins; neither the global secrets nor the global setting's file is read.
    assert!(
        text.contains("connections.db.url = \"sqlite:///local.db\""),
        "{text}"
    );
    assert!(
        !text.contains("global_only") && !text.contains("ignored.toml"),
        "{text}"
    );

    write(config, "[secrets]\nfiles = [\"conf/notes.txt\"]\n");
    let out = run(&["list"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("config.toml:2") && stderr(&out).contains("notes.txt"),
        "{}",
        stderr(&out)
    );
}

/// Output piped into a reader that stops early (`dataconn secrets | head -1`) ends the program
/// quietly, without a panic.
#[test]
fn a_closed_pipe_ends_the_output_without_a_panic() {
    use std::io::{BufRead, BufReader};
    let ws = Workspace::new();
    let secrets = ws.path("many.toml");
    let sections: String = (0..5000)
        .map(|i| format!("[connections.c{i}]\nurl = \"sqlite:///c{i}.db\"\n"))
        .collect();
    fs::write(&secrets, sections).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_dataconn"))
        .args(["--secrets", secrets.to_str().unwrap(), "secrets"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.starts_with("connections.c"), "{first}");
    // The reader is gone (dropped above); the program must end without a panic.
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
}
