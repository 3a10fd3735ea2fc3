//! Big imports under faults, with the real binary over HTTP: a `kill -9` half-way through
//! a 100,000-row import leaves the book exactly as it was (and nothing pending after a
//! restart), and another company's writes go through while such an import runs.

#[macro_use]
mod support;

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{Backend, Database, PASSWORD, Server, Session, cli, seed_domain};

on_both_backends!(another_company_writes_during_an_import, uploads_are_refused_before_they_are_read);

const ACME: &str = "acme.example";
const GLOBEX: &str = "globex.example";
const SHARED: &str = "/api/v1/domains/acme.example/shared-contacts";
const ROWS: usize = 100_000;

fn managers(db: &Database) {
    for domain in [ACME, GLOBEX] {
        seed_domain(db, domain, &[("100", "Olivia", "office-manager", "Management")]);
    }
}

/// An Outlook CSV of `ROWS` contacts; the first row is "Kept One" with a new title.
fn big_file() -> String {
    let mut csv = String::from("First Name,Last Name,Job Title,Business Phone,E-mail Address\r\n");
    csv.push_str("Kept,One,Boss,+1 206 555 0101,\r\n");
    for n in 1..ROWS {
        let (exchange, line) = (200 + n / 10_000, n % 10_000);
        csv.push_str(&format!("Row{n},Imported,,+1 425 {exchange} {line:04},row{n}@import.example\r\n"));
    }
    csv
}

/// Sends the file as an import into acme's shared contacts, in the background.
fn start_import(
    server: &Server,
    token: &str,
    mode: &str,
) -> tokio::task::JoinHandle<reqwest::Result<(StatusCode, Value)>> {
    let request = server
        .http
        .post(server.url(&format!("{SHARED}/import?mode={mode}")))
        .bearer_auth(token)
        .header("content-type", "text/csv")
        .body(big_file());
    tokio::spawn(async move {
        let response = request.send().await?;
        let status = response.status();
        Ok((status, response.json().await.unwrap_or(Value::Null)))
    })
}

async fn sqlite_pool(db: &Database) -> sqlx::SqlitePool {
    sqlx::SqlitePool::connect(&db.url).await.expect("the test reads the database file")
}

async fn count(pool: &sqlx::SqlitePool, sql: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string())).fetch_one(pool).await.expect(sql)
}

/// Waits until the import is writing: on SQLite `at_least` of its rows are in the
/// database (pending); on PostgreSQL its transaction holds a lock on `contacts`.
async fn wait_until_writing(db: &Database, backend: Backend, at_least: i64) {
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let writing = match backend {
            Backend::Sqlite => {
                let pool = sqlite_pool(db).await;
                count(&pool, "SELECT count(*) FROM contacts WHERE import_id IS NOT NULL").await >= at_least
            }
            Backend::Postgres => {
                let pool = sqlx::PgPool::connect(&db.url).await.expect("the test reads the database");
                let locks: i64 = sqlx::query_scalar(
                    "SELECT count(*) FROM pg_locks JOIN pg_class ON pg_class.oid = pg_locks.relation \
                     WHERE pg_class.relname = 'contacts' AND pg_locks.mode = 'RowExclusiveLock' \
                     AND pg_locks.pid <> pg_backend_pid() \
                     AND pg_locks.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
                )
                .fetch_one(&pool)
                .await
                .expect("locks");
                locks > 0
            }
        };
        if writing {
            return;
        }
        assert!(Instant::now() < deadline, "the import never started writing");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// What is left of imports, table by table: pending imports, contacts marked by an
/// import (a committed import's contacts keep its mark), audit records marked, staged changes.
async fn leftovers(pool: &sqlx::SqlitePool) -> [i64; 4] {
    [
        count(pool, "SELECT count(*) FROM pending_imports").await,
        count(pool, "SELECT count(*) FROM contacts WHERE import_id IS NOT NULL").await,
        count(pool, "SELECT count(*) FROM audit_log WHERE import_id IS NOT NULL").await,
        count(pool, "SELECT count(*) FROM import_changes").await,
    ]
}

async fn contact_count(session: &Session<'_>) -> usize {
    session.all_pages(&format!("{SHARED}?limit=500")).await.len()
}

/// SQLite writes an import in short transactions: a `kill -9` half-way leaves pending
/// rows nobody sees, and the restart removes them. (PostgreSQL's single transaction
/// just rolls back.) The same import run to the end then gives the whole book.
#[tokio::test(flavor = "multi_thread")]
async fn an_import_killed_half_way_changes_nothing() {
    let db = Database::new(Backend::Sqlite).await;
    managers(&db);
    let server = Server::start(&db, &[]);
    let manager = server.login("100@acme.example", PASSWORD).await;
    for (first, phone) in [("Kept", "+1 206 555 0101"), ("Gone", "+1 206 555 0102"), ("Also", "+1 206 555 0103")] {
        let reply = manager.post(SHARED, json!({ "first_name": first, "last_name": "One", "work_phone": phone })).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    }
    let before = manager.all_pages(SHARED).await;

    // A replace import: it creates, updates "Kept One" and would trash the other two.
    let import = start_import(&server, &manager.token, "replace");
    wait_until_writing(&db, Backend::Sqlite, 20_000).await;
    let pool = sqlite_pool(&db).await;
    assert_eq!(count(&pool, "SELECT count(*) FROM pending_imports").await, 1, "the import is under way");
    drop(manager);
    drop(server); // SIGKILL
    let outcome = import.await.expect("the import task");
    assert!(outcome.is_err(), "the import was cut off: {outcome:?}");
    let [_, pending_rows, ..] = leftovers(&pool).await;
    println!("killed with {pending_rows} contacts pending");
    assert!(pending_rows >= 20_000);

    let server = Server::start(&db, &[]);
    assert_eq!(leftovers(&pool).await, [0; 4], "the restart removed every pending row");
    let manager = server.login("100@acme.example", PASSWORD).await;
    assert_eq!(manager.all_pages(SHARED).await, before, "the book is exactly as it was");
    assert!(manager.get("/api/v1/domains/acme.example/trash").await.body["items"].as_array().unwrap().is_empty());
    let audit = manager.all_pages("/api/v1/domains/acme.example/audit").await;
    let creations = audit.iter().filter(|entry| entry["action"] == "contact.create").count();
    assert_eq!(creations, 3, "the import's audit entries went with it");
    assert!(!audit.iter().any(|entry| entry["action"] == "contacts.import"));

    let started = Instant::now();
    let (status, report) = start_import(&server, &manager.token, "replace").await.unwrap().unwrap();
    let took = started.elapsed();
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["committed"], true, "{report}");
    assert_eq!((report["created"].as_u64(), report["updated"].as_u64()), (Some(ROWS as u64 - 1), Some(1)));
    assert_eq!(report["trashed"], 2);
    println!("the whole import took {:.1} s ({:.0} rows/s)", took.as_secs_f64(), ROWS as f64 / took.as_secs_f64());
    // Its contacts keep its mark, now seen by everyone; nothing else is left.
    assert_eq!(leftovers(&pool).await, [0, ROWS as i64 - 1, 0, 0], "nothing left pending after the commit");
    let imports = count(&pool, "SELECT count(DISTINCT import_id) FROM contacts WHERE import_id IS NOT NULL").await;
    assert_eq!(imports, 1, "every created contact carries the one committed import's mark");
    // The write-ahead log started over every few batches (its file keeps its largest
    // size): without that, checkpoints made beside the import let it grow to 576 MB.
    let log = std::fs::metadata(format!("{}-wal", db.url.trim_start_matches("sqlite://"))).expect("the log");
    println!("the write-ahead log reached {} MB", log.len() / 1_000_000);
    assert!(log.len() < 200_000_000, "the log grew to {} bytes", log.len());
    assert_eq!(contact_count(&manager).await, ROWS);
}

/// While a 100,000-row import runs into acme, globex saves contacts: each save completes
/// while acme's import has not yet committed (acme still shows no contact afterwards).
/// The waits are printed, not asserted.
async fn another_company_writes_during_an_import(backend: Backend) {
    let db = Database::new(backend).await;
    managers(&db);
    let server = Server::start(&db, &[]);
    let acme = server.login("100@acme.example", PASSWORD).await;
    let globex = server.login("100@globex.example", PASSWORD).await;
    let import = start_import(&server, &acme.token, "upsert");
    wait_until_writing(&db, backend, 2_000).await;

    let mut waits = Vec::new();
    let mut saved_before_commit = 0;
    while !import.is_finished() {
        let started = Instant::now();
        let name = format!("Save{}", waits.len());
        let reply = globex
            .post(
                "/api/v1/domains/globex.example/shared-contacts",
                json!({ "first_name": name, "last_name": "Globex" }),
            )
            .await;
        waits.push(started.elapsed());
        assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
        let acme_book = acme.get(&format!("{SHARED}?limit=1")).await;
        if acme_book.body["items"].as_array().is_some_and(Vec::is_empty) {
            saved_before_commit += 1;
        }
    }
    let (status, report) = import.await.unwrap().unwrap();
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["created"].as_u64(), Some(ROWS as u64), "{report}");
    waits.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{backend:?}: {} saves of another domain during the import, {saved_before_commit} before its commit; \
         wait median {:.1} ms, max {:.1} ms",
        waits.len(),
        ms(waits[waits.len() / 2]),
        ms(*waits.last().unwrap())
    );
    assert!(saved_before_commit > 0, "no save of another domain completed while the import was open");
}

/// Starts an import by hand: the headers promise a 40 MB file and only 1 KB follows, so
/// the server can answer only what it decides before reading the body. Returns the
/// connection, to keep the upload open or to read the answer.
async fn half_sent_import(server: &Server, domain: &str, token: &str) -> tokio::net::TcpStream {
    let address = server.base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.expect("connect");
    let head = format!(
        "POST /api/v1/domains/{domain}/shared-contacts/import HTTP/1.1\r\nHost: {address}\r\n\
         Authorization: Bearer {token}\r\nContent-Type: text/csv\r\nContent-Length: 40000000\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.expect("headers sent");
    stream.write_all(&big_file().as_bytes()[..1024]).await.expect("a first part sent");
    stream
}

/// The status line of the answer, which must come while the upload is still unfinished.
async fn status_before_the_body(mut stream: tokio::net::TcpStream) -> String {
    let mut answer = vec![0; 512];
    // Generous: it only stops a server that waits for the rest of the body from hanging the test.
    let read = tokio::time::timeout(Duration::from_secs(120), stream.read(&mut answer))
        .await
        .expect("the server answered before the body was complete")
        .expect("read");
    String::from_utf8_lossy(&answer[..read]).lines().next().unwrap_or_default().to_string()
}

/// Who may import, and whether the server has room for one more import, is decided
/// before the upload is read: a refused caller's file is never stored, and a client
/// over the cap gets 429 with `Retry-After` and a problem document.
async fn uploads_are_refused_before_they_are_read(backend: Backend) {
    let db = Database::new(backend).await;
    managers(&db);
    let ben = ["user", "add", ACME, "200", "--first", "Ben", "--last", "Tester", "--scope", "basic-user"];
    cli(&db, &[&ben[..], &["--password-stdin"]].concat(), Some(PASSWORD));
    let server = Server::start(&db, &["--max-imports-per-domain", "1"]);
    let basic = server.login("200@acme.example", PASSWORD).await;
    let stranger = server.login("100@globex.example", PASSWORD).await;
    let manager = server.login("100@acme.example", PASSWORD).await;

    let refused = status_before_the_body(half_sent_import(&server, ACME, &basic.token).await).await;
    assert!(refused.starts_with("HTTP/1.1 403"), "{refused}");
    let hidden = status_before_the_body(half_sent_import(&server, ACME, &stranger.token).await).await;
    assert!(hidden.starts_with("HTTP/1.1 404"), "{hidden}");

    // One import into acme is uploading: a second one is busy, another domain's is not.
    let uploading = half_sent_import(&server, ACME, &manager.token).await;
    let small = |session: &Session<'_>, domain: &str| {
        server
            .http
            .post(server.url(&format!("/api/v1/domains/{domain}/shared-contacts/import")))
            .bearer_auth(&session.token)
            .header("content-type", "text/csv")
            .body("First Name,Last Name\r\nAnn,Lee\r\n")
            .send()
    };
    // The server takes the slot once it has read the first upload's headers and checked
    // its caller, which a loaded machine may not have done yet: until then a small
    // import goes through (and changes nothing after the first).
    let mut busy = small(&manager, ACME).await.unwrap();
    for _ in 0..100 {
        if busy.status() != StatusCode::OK {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        busy = small(&manager, ACME).await.unwrap();
    }
    assert_eq!(busy.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = busy.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry_after >= 1);
    assert_eq!(busy.headers()["content-type"], "application/problem+json");
    let problem: Value = busy.json().await.unwrap();
    assert_eq!((problem["status"].as_u64(), problem["title"].as_str()), (Some(429), Some("Too many requests")));
    assert_eq!(small(&stranger, GLOBEX).await.unwrap().status(), StatusCode::OK, "another domain has room");

    // The upload breaks off: its slot is free again.
    drop(uploading);
    let mut status = StatusCode::TOO_MANY_REQUESTS;
    for _ in 0..100 {
        status = small(&manager, ACME).await.unwrap().status();
        if status != StatusCode::TOO_MANY_REQUESTS {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status, StatusCode::OK);
}
