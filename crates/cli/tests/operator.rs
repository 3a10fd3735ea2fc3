//! The operator's commands, run as the real binary: errors name what is wrong on one
//! line, a closed pipe ends quietly, a file cut short imports nothing, and `db copy`
//! either completes or leaves the target as it was.

#[macro_use]
mod support;

use std::process::{Command, Output, Stdio};

use support::{Backend, Database, cli, seed_domain};
use switchboard_store::{PostgresStore, SqliteStore, Store, TableCounts};

on_both_backends!(
    every_command_names_what_is_missing,
    a_closed_pipe_ends_quietly,
    a_server_serves_with_its_output_closed,
    a_file_cut_short_imports_nothing
);

const ACME: &str = "acme.example";
const NO_ID: &str = "0192f0c4-0000-7000-8000-000000000000";

fn people() -> [(&'static str, &'static str, &'static str, &'static str); 2] {
    [("100", "Olivia", "office-manager", "Management"), ("200", "Ben", "basic-user", "Sales")]
}

/// Runs the binary on `db` and returns what it did, whatever that was.
fn attempt(db: &Database, args: &[&str]) -> Output {
    Command::new(support::binary())
        .arg("--database")
        .arg(&db.url)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs")
}

/// A failed command: exit status 1 and exactly one line on standard error, returned.
fn one_line_error(output: &Output, args: &[&str]) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    assert_eq!(output.status.code(), Some(1), "{args:?}: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "{args:?}: one line: {stderr:?}");
    assert!(stderr.starts_with("error: "), "{args:?}: {stderr}");
    stderr.trim_end().to_string()
}

fn contacts_file(dir: &tempfile::TempDir, name: &str, text: &str) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

const THREE_CONTACTS: &str = "First Name,Last Name,Business Phone\nAnn,Lee,+1 206 555 0100\n\
                              Bob,Ray,+1 206 555 0101\nCy,Dee,+1 206 555 0102\n";

async fn every_command_names_what_is_missing(backend: Backend) {
    let db = Database::new(backend).await;
    seed_domain(&db, ACME, &people());
    let dir = tempfile::tempdir().unwrap();
    let file = contacts_file(&dir, "contacts.csv", THREE_CONTACTS);
    let no_domain = "there is no domain nope.example (see `switchboard domain list`)";
    let no_user = "acme.example has no user with extension 999 (see `switchboard user list acme.example`)";
    let no_token = format!("100@acme.example has no API token {NO_ID} (see `switchboard token list 100@acme.example`)");
    let no_pbx =
        format!("acme.example has no PBX credential {NO_ID} (see `switchboard token list acme.example --kind pbx`)");
    let no_device = format!("acme.example has no device {NO_ID} (see `switchboard device list acme.example`)");
    let user_add = ["user", "add", "nope.example", "300", "--first", "A", "--last", "B", "--scope", "basic-user"];
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["import", "--domain", "nope.example", &file], no_domain),
        (vec!["import", "--domain", ACME, "--user", "999", &file], no_user),
        (vec!["export", "--domain", "nope.example", "--format", "vcard"], no_domain),
        (vec!["export", "--domain", ACME, "--user", "999", "--format", "vcard"], no_user),
        (vec!["user", "list", "nope.example"], no_domain),
        (user_add.to_vec(), no_domain),
        (vec!["user", "passwd", "999@acme.example"], no_user),
        (vec!["user", "passwd", "100@nope.example"], no_domain),
        (vec!["token", "create", "999@acme.example", "--name", "PBX"], no_user),
        (vec!["token", "list", "100@nope.example"], no_domain),
        (vec!["token", "revoke", "999@acme.example", NO_ID], no_user),
        (vec!["token", "revoke", "100@acme.example", NO_ID], &no_token),
        (vec!["token", "create", "nope.example", "--kind", "pbx", "--name", "PBX"], no_domain),
        (vec!["token", "list", "nope.example", "--kind", "pbx"], no_domain),
        (vec!["token", "revoke", ACME, NO_ID, "--kind", "pbx"], &no_pbx),
        (vec!["device", "add", "nope.example", "--name", "Lobby"], no_domain),
        (vec!["device", "list", "nope.example"], no_domain),
        (vec!["device", "revoke", ACME, NO_ID], &no_device),
        (vec!["device", "show", ACME, NO_ID], &no_device),
        (vec!["device", "show", "nope.example", NO_ID], no_domain),
    ];
    for (args, expected) in cases {
        let output = attempt(&db, &args);
        assert_eq!(one_line_error(&output, &args), format!("error: {expected}"), "{args:?}");
        assert!(output.stdout.is_empty(), "{args:?}: {}", String::from_utf8_lossy(&output.stdout));
    }
    // Other errors are one line too, with their causes.
    let args = ["import", "--domain", ACME, "/nonexistent/contacts.csv"];
    let missing_file = one_line_error(&attempt(&db, &args), &args);
    assert!(missing_file.contains("cannot open /nonexistent/contacts.csv: No such file"), "{missing_file}");
    let args = ["token", "revoke", "100@acme.example", "abc"];
    assert!(one_line_error(&attempt(&db, &args), &args).contains("a token id looks like"));
    let args = ["user", "add", ACME, "100", "--first", "A", "--last", "B", "--scope", "basic-user"];
    assert!(one_line_error(&attempt(&db, &args), &args).contains("a user with this extension exists"));
    let args = ["export", "--domain", ACME, "--user", "200", "--format", "vcard"];
    assert!(one_line_error(&attempt(&db, &args), &args).contains("export shared contacts without --user"));
}

async fn a_closed_pipe_ends_quietly(backend: Backend) {
    let db = Database::new(backend).await;
    seed_domain(&db, ACME, &people());
    let dir = tempfile::tempdir().unwrap();
    cli(&db, &["import", "--domain", ACME, &contacts_file(&dir, "contacts.csv", THREE_CONTACTS)], None);
    cli(&db, &["device", "add", ACME, "--name", "Lobby"], None);
    let commands: [&[&str]; 6] = [
        &["export", "--domain", ACME, "--format", "vcard"],
        &["export", "--domain", ACME, "--format", "outlook"],
        &["user", "list", ACME],
        &["domain", "list"],
        &["device", "list", ACME],
        &["openapi"],
    ];
    for args in commands {
        // The reading end is closed before the command starts: its first write finds
        // the pipe closed, as with `| head` once head has read enough.
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let output = Command::new(support::binary())
            .arg("--database")
            .arg(&db.url)
            .args(args)
            .stdout(writer)
            .output()
            .expect("the binary runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{args:?}: {stderr}");
        assert_eq!(stderr, "", "{args:?}: nothing to say");
    }
}

/// A server is not a command: with nobody reading its standard output it still serves.
async fn a_server_serves_with_its_output_closed(backend: Backend) {
    let db = Database::new(backend).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut server = Command::new(support::binary())
        .args(["--database", &db.url, "serve", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(writer)
        .stderr(Stdio::null())
        .spawn()
        .expect("the server starts");
    let health = format!("http://127.0.0.1:{port}/healthz");
    let mut answered = false;
    for _ in 0..600 {
        if reqwest::get(&health).await.is_ok_and(|r| r.status().is_success()) {
            answered = true;
            break;
        }
        assert!(server.try_wait().unwrap().is_none(), "the server stopped");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let _ = server.kill();
    let _ = server.wait();
    assert!(answered, "the server answered");
}

async fn a_file_cut_short_imports_nothing(backend: Backend) {
    let db = Database::new(backend).await;
    seed_domain(&db, ACME, &people());
    let dir = tempfile::tempdir().unwrap();
    let cut_csv = contacts_file(&dir, "cut.csv", "First Name,Last Name\nBob,Ray\nAda,\"Love");
    let cut_vcard = contacts_file(
        &dir,
        "cut.vcf",
        "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Ray;Bob\r\nEND:VCARD\r\nBEGIN:VCARD\r\nVERSION:3.0\r\nN:Love;Ada\r\n",
    );
    let cases = [
        (&cut_csv, "the file ends inside a quoted field that opens on row 3 in column \"Last Name\""),
        (&cut_vcard, "the file ends inside card 2 (BEGIN:VCARD on line 5), before its END:VCARD"),
    ];
    for (file, expected) in cases {
        for book in [&["--domain", ACME][..], &["--domain", ACME, "--user", "200"][..]] {
            let mut args = vec!["import"];
            args.extend_from_slice(book);
            args.push(file);
            let error = one_line_error(&attempt(&db, &args), &args);
            assert!(error.contains(expected), "{args:?}: {error}");
        }
    }
    assert_eq!(counts(&db).await["contacts"], 0, "nothing was written");
    // The same files, whole, import.
    std::fs::write(&cut_csv, "First Name,Last Name\nBob,Ray\nAda,\"Love\"\n").unwrap();
    assert!(cli(&db, &["import", "--domain", ACME, &cut_csv], None).contains("created 2"));
}

// --- db copy -------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn db_copy_from_sqlite_to_postgres_fails_whole_and_runs_again() {
    copy_fails_whole_and_runs_again(Backend::Sqlite, Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn db_copy_from_postgres_to_sqlite_fails_whole_and_runs_again() {
    copy_fails_whole_and_runs_again(Backend::Postgres, Backend::Sqlite).await;
}

/// A copy that fails at its last table (a trigger on the target refuses devices) leaves
/// the target empty, says so on one line, and the same command then completes.
async fn copy_fails_whole_and_runs_again(from: Backend, to: Backend) {
    let source = Database::new(from).await;
    seed_domain(&source, ACME, &people());
    let dir = tempfile::tempdir().unwrap();
    cli(&source, &["import", "--domain", ACME, &contacts_file(&dir, "contacts.csv", THREE_CONTACTS)], None);
    cli(&source, &["device", "add", ACME, "--name", "Lobby"], None);
    let target = Database::new(to).await;
    cli(&target, &["db", "migrate"], None);
    let empty = counts(&target).await;
    assert!(empty.values().all(|n| *n == 0), "{empty:?}");
    execute(&target, refuse_devices(to)).await;

    let copy = ["db", "copy", "--from", &source.url, "--to", &target.url];
    let failed = attempt(&source, &copy);
    assert!(!failed.status.success());
    assert_eq!(counts(&target).await, empty, "nothing of the failed copy is left");
    let error = one_line_error(&failed, &copy);
    assert!(error.contains("the copy failed, and the target database is as it was"), "{error}");
    assert!(error.contains("cannot write devices rows 1–1") && error.contains("no devices here"), "{error}");

    execute(&target, allow_devices(to)).await;
    let report = cli(&source, &copy, None);
    assert!(report.contains("counts verified"), "{report}");
    let copied = counts(&target).await;
    assert_eq!(copied, counts(&source).await);
    assert_eq!((copied["users"], copied["contacts"], copied["devices"]), (2, 3, 1));
    // Once complete, the target is no longer empty: a third run is refused.
    let again = one_line_error(&attempt(&source, &copy), &copy);
    assert!(again.contains("the target database is not empty"), "{again}");
}

fn refuse_devices(backend: Backend) -> &'static [&'static str] {
    match backend {
        Backend::Sqlite => &[
            "CREATE TRIGGER refuse_devices BEFORE INSERT ON devices BEGIN SELECT RAISE(ABORT, 'no devices here'); END",
        ],
        Backend::Postgres => &[
            "CREATE FUNCTION refuse_row() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN RAISE EXCEPTION 'no devices here'; END $$",
            "CREATE TRIGGER refuse_devices BEFORE INSERT ON devices FOR EACH ROW EXECUTE FUNCTION refuse_row()",
        ],
    }
}

fn allow_devices(backend: Backend) -> &'static [&'static str] {
    match backend {
        Backend::Sqlite => &["DROP TRIGGER refuse_devices"],
        Backend::Postgres => &["DROP TRIGGER refuse_devices ON devices"],
    }
}

async fn execute(db: &Database, statements: &[&str]) {
    use sqlx::{Connection, Executor};
    for statement in statements {
        let sql = sqlx::AssertSqlSafe(statement.to_string());
        if db.url.starts_with("sqlite:") {
            let mut conn = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
            conn.execute(sql).await.unwrap();
            conn.close().await.unwrap();
        } else {
            let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
            conn.execute(sql).await.unwrap();
            conn.close().await.unwrap();
        }
    }
}

async fn counts(db: &Database) -> TableCounts {
    let store: Box<dyn Store> = if db.url.starts_with("sqlite:") {
        Box::new(SqliteStore::open(&db.url).await.unwrap())
    } else {
        Box::new(PostgresStore::connect(&db.url).await.unwrap())
    };
    store.table_counts().await.unwrap()
}
