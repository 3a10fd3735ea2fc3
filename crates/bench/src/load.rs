//! The load run (`--load`): the real `switchboard serve` binary, in its own process so
//! that its resident memory is its own, under a minute of mixed traffic from `wrk` (one
//! process per kind of request, each with a generated Lua script) while 200 event
//! streams stay open. Reports per kind the requests, answers other than expected, p50
//! and p99, and the server's resident memory at the start and the end.
//!
//! Wrong logins are sent slowly enough, spread over accounts and forwarded client
//! addresses (the server trusts the loopback proxy), that no bucket of the login
//! throttle reaches its delay: the run measures the server, not the throttle.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use reqwest::{Client, Url};
use serde_json::{Value, json};
use switchboard_app::devices::DeviceInput;
use switchboard_app::{App, AppConfig, Caller};
use switchboard_store::{PostgresStore, SqliteStore, Store};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::seed::{self, Plan, Seeded};

/// Event streams held open for the whole run, each by its own user.
const STREAMS: usize = 200;
/// The pause of each login connection between requests: at most 5 right and 2 wrong
/// logins a second, so an account or address meets no delay (3 failures in 15 minutes).
const RIGHT_LOGIN_DELAY_MS: u64 = 200;
const WRONG_LOGIN_DELAY_MS: u64 = 500;
/// Accounts and forwarded addresses the wrong logins go round.
const WRONG_ACCOUNTS: usize = 400;
const WRONG_ADDRESSES: usize = 64;
/// Accounts the right logins go round.
const RIGHT_ACCOUNTS: usize = 100;

/// One kind of request: the paths (with query) `wrk` goes round, on its own connections.
struct Kind {
    name: &'static str,
    connections: usize,
    requests: Vec<Request>,
    /// The status every request of the kind must answer; `None`: 2xx or 304.
    expected: Option<u16>,
    delay_ms: u64,
}

struct Request {
    method: &'static str,
    path: String,
    headers: Vec<(String, String)>,
    body: Option<String>,
}

impl Request {
    fn get(path: String, headers: &[(String, String)]) -> Request {
        Request { method: "GET", path, headers: headers.to_vec(), body: None }
    }
}

/// What `wrk` measured of one kind.
pub struct KindResult {
    name: &'static str,
    connections: usize,
    requests: u64,
    /// Answers that were not what the kind expects, by status, plus socket errors.
    unexpected: Vec<String>,
    expected_count: u64,
    expected: Option<u16>,
    p50: Duration,
    p99: Duration,
    per_second: f64,
}

/// One back-end's load run.
pub struct Run {
    backend: &'static str,
    seeded_in: Duration,
    kinds: Vec<KindResult>,
    /// Resident memory (kB) after the warm-up, every 10 s of the run, and at its end.
    resident_kb: Vec<u64>,
    streams_open_at_end: usize,
    streams_bytes: u64,
    seconds: u64,
}

/// Seeds a fresh database (SQLite in `dir`, or the PostgreSQL `postgres_url`), serves it
/// with the `switchboard` binary and loads it for `seconds`.
pub async fn run(
    backend: &'static str,
    postgres_url: Option<&str>,
    plan: &Plan,
    seed_value: u64,
    seconds: u64,
) -> Result<Run> {
    let dir = tempfile::tempdir()?;
    let database = match postgres_url {
        Some(url) => url.to_string(),
        None => format!("sqlite://{}", dir.path().join("load.db").display()),
    };
    eprintln!("== load {backend}: seeding {} shared contacts and {} users…", plan.contacts, plan.users);
    let started = Instant::now();
    let (seeded, device_token) = seed_database(&database, plan, seed_value).await?;
    let seeded_in = started.elapsed();
    let log = target_dir().join(format!("load-server-{}.log", backend.to_lowercase()));
    let (mut server, base) = start_server(&database, &log).await?;
    let result = load(backend, &server, &base, &seeded, &device_token, plan, seed_value, seconds).await;
    server.kill().await.ok();
    let (kinds, resident_kb, streams_open_at_end, streams_bytes) =
        result.with_context(|| format!("the server's log is {}", log.display()))?;
    Ok(Run { backend, seeded_in, kinds, resident_kb, streams_open_at_end, streams_bytes, seconds })
}

/// Seeds the data set and a desk phone bound to the viewer; returns the phone's URL token.
async fn seed_database(database: &str, plan: &Plan, seed_value: u64) -> Result<(Seeded, String)> {
    let store: std::sync::Arc<dyn Store> = if database.starts_with("postgres") {
        std::sync::Arc::new(PostgresStore::connect(database).await?)
    } else {
        std::sync::Arc::new(SqliteStore::open(database).await?)
    };
    let app = App::new(store, AppConfig::default());
    let seeded = seed::seed(&app, plan, seed_value).await?;
    if database.starts_with("postgres") {
        use sqlx::{Connection as _, Executor as _};
        let mut connection = sqlx::PgConnection::connect(database).await?;
        connection.execute("ANALYZE").await?;
        connection.close().await?;
    }
    let input = DeviceInput {
        name: "Load desk phone".into(),
        user: Some(seeded.viewer_extension.clone()),
        allowed_networks: Vec::new(),
    };
    let device = app.create_device(&Caller::System, &seeded.domain, input).await.context("creating a device")?;
    Ok((seeded, device.token))
}

/// Where the bench writes its report: `target/` of the workspace.
fn target_dir() -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../target")).to_path_buf()
}

/// Starts `switchboard serve` (next to this binary) on a free port, trusting the loopback
/// proxy so that the logins' forwarded addresses count; returns it and its base URL.
async fn start_server(database: &str, log: &Path) -> Result<(Child, Url)> {
    let binary = std::env::current_exe()?.with_file_name("switchboard");
    if !binary.exists() {
        bail!("{} is missing: build it with `cargo build --release -p switchboard`", binary.display());
    }
    let mut child = Command::new(&binary)
        .args(["--database", database, "serve", "--listen", "127.0.0.1:0", "--trusted-proxy", "127.0.0.1/32"])
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log)?)
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {}", binary.display()))?;
    let mut lines = BufReader::new(child.stdout.take().context("the server's stdout")?).lines();
    let line = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await? {
            if let Some(address) = line.strip_prefix("listening on ") {
                return Ok(address.to_string());
            }
        }
        bail!("the server ended before listening (see {})", log.display())
    })
    .await
    .context("the server did not listen within 60 s")??;
    // Keep reading its stdout so that it never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Ok((child, Url::parse(&format!("{line}/"))?))
}

type Loaded = (Vec<KindResult>, Vec<u64>, usize, u64);

#[allow(clippy::too_many_arguments)]
async fn load(
    backend: &str,
    server: &Child,
    base: &Url,
    seeded: &Seeded,
    device_token: &str,
    plan: &Plan,
    seed_value: u64,
    seconds: u64,
) -> Result<Loaded> {
    let pid = server.id().context("the server's process id")?;
    let client = Client::builder().timeout(Duration::from_secs(60)).build()?;
    let token = login(&client, base, &format!("{}@{}", seeded.viewer_extension, seeded.domain)).await?;
    let kinds = kinds(seeded, device_token, &token, plan, seed_value);
    check_each(&client, base, &kinds).await?;

    eprintln!("== load {backend}: opening {STREAMS} event streams…");
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let streams = open_streams(base, seeded, plan, stopped).await?;

    let scripts = target_dir().join("load");
    std::fs::create_dir_all(&scripts)?;
    eprintln!("== load {backend}: warming up for 10 s…");
    // Not the wrong logins: their failures count against the throttle.
    let right: Vec<&Kind> = kinds.iter().filter(|kind| kind.expected.is_none()).collect();
    run_wrk(&right, base, &scripts, 10).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;

    eprintln!("== load {backend}: {seconds} s of mixed traffic…");
    let mut resident = vec![resident_kb(pid)?];
    let all: Vec<&Kind> = kinds.iter().collect();
    let load = run_wrk(&all, base, &scripts, seconds);
    let sample = async {
        for _ in 0..seconds / 10 {
            tokio::time::sleep(Duration::from_secs(10)).await;
            if let Ok(kb) = resident_kb(pid) {
                resident.push(kb);
            }
        }
    };
    let (results, ()) = tokio::join!(load, sample);
    let results = results?;
    resident.push(resident_kb(pid)?);
    let _ = stop.send(true);
    let mut open = 0;
    let mut bytes = 0;
    for stream in streams {
        let (still_open, read) = stream.await?;
        open += usize::from(still_open);
        bytes += read;
    }
    Ok((results, resident, open, bytes))
}

async fn login(client: &Client, base: &Url, username: &str) -> Result<String> {
    let answer = client
        .post(base.join("api/v1/session")?)
        .json(&json!({ "username": username, "password": seed::PASSWORD }))
        .send()
        .await?;
    if !answer.status().is_success() {
        bail!("logging in as {username} answered {}: {}", answer.status(), answer.text().await?);
    }
    Ok(answer.json::<Value>().await?["token"].as_str().context("the login has a token")?.to_string())
}

/// The accounts of the seeded users `range` (by position, extensions from 1000).
fn accounts(seeded: &Seeded, range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("{}@{}", 1000 + i, seeded.domain)).collect()
}

fn kinds(seeded: &Seeded, device_token: &str, token: &str, plan: &Plan, seed_value: u64) -> Vec<Kind> {
    let bearer = [("Authorization".to_string(), format!("Bearer {token}"))];
    let directory = format!("/api/v1/domains/{}/users/{}/directory", seeded.domain, seeded.viewer_extension);
    let crate::SearchTerms { names, numbers, .. } = crate::search_terms(seeded, seed_value);
    let query = |path: &str, params: &[(&str, &str)]| -> String {
        let mut url = Url::parse("http://x").expect("a URL").join(path).expect("a path");
        url.query_pairs_mut().extend_pairs(params);
        format!("{}?{}", url.path(), url.query().unwrap_or_default())
    };
    let pages = vec![
        Request::get(query(&directory, &[("limit", "50")]), &bearer),
        Request::get(query(&directory, &[("limit", "50"), ("group", "shared"), ("sort", "-name")]), &bearer),
        Request::get(query(&format!("/api/v1/domains/{}/shared-contacts", seeded.domain), &[("limit", "50")]), &bearer),
    ];
    let searches = names
        .iter()
        .chain(&numbers)
        .map(|(term, _)| Request::get(query(&directory, &[("limit", "50"), ("q", term)]), &bearer))
        .collect();
    let book = format!("/phonebook/{device_token}");
    let mut books =
        vec![Request::get(format!("{book}/yealink.xml"), &[]), Request::get(format!("{book}/cisco.xml"), &[])];
    books
        .extend(names.iter().map(|(term, _)| Request::get(query(&format!("{book}/yealink.xml"), &[("q", term)]), &[])));
    let lookups = crate::phones::lookup_numbers(seeded)
        .iter()
        .map(|number| Request::get(query(&format!("{book}/lookup"), &[("number", number)]), &[]))
        .collect();
    let users = plan.users;
    let right_logins = login_requests(&accounts(seeded, 0..RIGHT_ACCOUNTS.min(users)), seed::PASSWORD, "203.0.113");
    let wrong_accounts = accounts(seeded, users.saturating_sub(WRONG_ACCOUNTS)..users);
    let wrong_logins = login_requests(&wrong_accounts, "not-the-password", "198.51.100");
    vec![
        Kind { name: "directory pages (API)", connections: 4, requests: pages, expected: None, delay_ms: 0 },
        Kind { name: "directory searches (API)", connections: 4, requests: searches, expected: None, delay_ms: 0 },
        Kind { name: "phone XML books (URL token)", connections: 4, requests: books, expected: None, delay_ms: 0 },
        Kind { name: "caller-ID look-ups (URL token)", connections: 4, requests: lookups, expected: None, delay_ms: 0 },
        Kind {
            name: "logins, right password",
            connections: 1,
            requests: right_logins,
            expected: None,
            delay_ms: RIGHT_LOGIN_DELAY_MS,
        },
        Kind {
            name: "logins, wrong password",
            connections: 1,
            requests: wrong_logins,
            expected: Some(401),
            delay_ms: WRONG_LOGIN_DELAY_MS,
        },
    ]
}

/// Logins to `accounts`, each from its own forwarded address in `network`.0/24 (round robin).
fn login_requests(accounts: &[String], password: &str, network: &str) -> Vec<Request> {
    accounts
        .iter()
        .enumerate()
        .map(|(i, username)| Request {
            method: "POST",
            path: "/api/v1/session".into(),
            headers: vec![
                ("Content-Type".into(), "application/json".into()),
                ("X-Forwarded-For".into(), format!("{network}.{}", 1 + i % WRONG_ADDRESSES)),
            ],
            body: Some(json!({ "username": username, "password": password }).to_string()),
        })
        .collect()
}

/// Sends each request once and checks its answer, so that the run times right answers.
async fn check_each(client: &Client, base: &Url, kinds: &[Kind]) -> Result<()> {
    for kind in kinds {
        // The wrong logins would count against the throttle: one is enough.
        let take = if kind.expected.is_some() { 1 } else { kind.requests.len() };
        for request in kind.requests.iter().take(take) {
            let method = reqwest::Method::from_bytes(request.method.as_bytes())?;
            let mut builder = client.request(method, base.join(&request.path)?);
            for (name, value) in &request.headers {
                builder = builder.header(name, value);
            }
            if let Some(body) = &request.body {
                builder = builder.body(body.clone());
            }
            let status = builder.send().await?.status();
            let right = match kind.expected {
                Some(expected) => status.as_u16() == expected,
                None => status.is_success(),
            };
            if !right {
                bail!("{} {} answered {status} before the run ({})", request.method, request.path, kind.name);
            }
        }
    }
    Ok(())
}

/// Logs in `STREAMS` users and opens an event stream for each; each task reads until
/// `stop` and returns whether its stream was still open then, and the bytes it read.
async fn open_streams(
    base: &Url,
    seeded: &Seeded,
    plan: &Plan,
    stop: tokio::sync::watch::Receiver<bool>,
) -> Result<Vec<tokio::task::JoinHandle<(bool, u64)>>> {
    let login_client = Client::builder().timeout(Duration::from_secs(60)).build()?;
    // No timeout: the streams last the whole run.
    let client = Client::builder().build()?;
    let first = RIGHT_ACCOUNTS.min(plan.users);
    let mut tasks = Vec::new();
    for i in 0..STREAMS {
        let username = format!("{}@{}", 1000 + first + i % plan.users.saturating_sub(first).max(1), seeded.domain);
        let token = login(&login_client, base, &username).await?;
        let mut answer = client.get(base.join("api/v1/events")?).bearer_auth(token).send().await?;
        if !answer.status().is_success() {
            bail!("the event stream of {username} answered {}", answer.status());
        }
        let mut stop = stop.clone();
        tasks.push(tokio::spawn(async move {
            let mut read = 0;
            loop {
                tokio::select! {
                    _ = stop.changed() => return (true, read),
                    chunk = answer.chunk() => match chunk {
                        Ok(Some(bytes)) => read += bytes.len() as u64,
                        _ => return (false, read),
                    },
                }
            }
        }));
    }
    Ok(tasks)
}

/// Runs one `wrk` per kind at once for `seconds`; returns what each measured.
async fn run_wrk(kinds: &[&Kind], base: &Url, scripts: &Path, seconds: u64) -> Result<Vec<KindResult>> {
    let mut children = Vec::new();
    for (i, kind) in kinds.iter().enumerate() {
        let script = scripts.join(format!("kind-{i}.lua"));
        std::fs::write(&script, lua_script(kind))?;
        let child = Command::new("wrk")
            .args(["-t1", &format!("-c{}", kind.connections), &format!("-d{seconds}s"), "--timeout", "10s", "-s"])
            .arg(&script)
            .arg(base.as_str().trim_end_matches('/'))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .context("starting wrk (Debian package wrk)")?;
        children.push((kind, child));
    }
    let mut results = Vec::new();
    for (kind, child) in children {
        let output = child.wait_with_output().await?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        let Some(line) = stdout.lines().find_map(|line| line.strip_prefix("LOAD ")) else {
            bail!("wrk for {} printed no result: {stdout}{}", kind.name, String::from_utf8_lossy(&output.stderr));
        };
        results.push(kind_result(kind, &serde_json::from_str(line)?, seconds));
    }
    Ok(results)
}

fn kind_result(kind: &Kind, measured: &Value, seconds: u64) -> KindResult {
    let count = |value: &Value| value.as_u64().unwrap_or(0);
    let mut unexpected = Vec::new();
    let mut expected_count = 0;
    if let Some(statuses) = measured["statuses"].as_object() {
        for (status, n) in statuses {
            let status: u16 = status.parse().unwrap_or(0);
            let fine = match kind.expected {
                Some(expected) => status == expected,
                None => (200..300).contains(&status) || status == 304,
            };
            if Some(status) == kind.expected {
                expected_count += count(n);
            }
            if !fine {
                unexpected.push(format!("{} × {status}", count(n)));
            }
        }
    }
    if let Some(errors) = measured["errors"].as_object() {
        for (error, n) in errors.iter().filter(|(_, n)| count(n) > 0) {
            unexpected.push(format!("{} × {error} error", count(n)));
        }
    }
    let requests = count(&measured["requests"]);
    let micros = |key: &str| Duration::from_micros(count(&measured[key]));
    KindResult {
        name: kind.name,
        connections: kind.connections,
        requests,
        unexpected,
        expected_count,
        expected: kind.expected,
        p50: micros("p50_us"),
        p99: micros("p99_us"),
        per_second: requests as f64 / seconds as f64,
    }
}

/// A Lua string literal of `text`.
fn lua_string(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n"))
}

/// The `wrk` script of a kind: goes round its requests, counts statuses, and prints one
/// `LOAD {json}` line at the end.
fn lua_script(kind: &Kind) -> String {
    let mut requests = String::new();
    for request in &kind.requests {
        let headers: Vec<String> = request
            .headers
            .iter()
            .map(|(name, value)| format!("[{}] = {}", lua_string(name), lua_string(value)))
            .collect();
        let body = request.body.as_deref().map_or("nil".to_string(), lua_string);
        let _ = writeln!(
            requests,
            "    wrk.format({}, {}, {{ {} }}, {}),",
            lua_string(request.method),
            lua_string(&request.path),
            headers.join(", "),
            body
        );
    }
    format!(
        r#"-- Generated by the benchmark's load run: {name}
local requests = {{}}
local next_request = 0
statuses = {{}}
local threads = {{}}

function setup(thread)
  table.insert(threads, thread)
end

-- Formatted here, not when the script loads: wrk knows the Host header only now.
function init(args)
  requests = {{
{requests}  }}
end

function request()
  next_request = next_request % #requests + 1
  return requests[next_request]
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

{delay}function done(summary, latency, requests)
  local counts = {{}}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do
      counts[status] = (counts[status] or 0) + n
    end
  end
  local parts = {{}}
  for status, n in pairs(counts) do
    table.insert(parts, string.format('"%d":%d', status, n))
  end
  local errors = summary.errors
  io.write(string.format(
    'LOAD {{"requests":%d,"p50_us":%d,"p99_us":%d,"statuses":{{%s}},' ..
    '"errors":{{"connect":%d,"read":%d,"write":%d,"timeout":%d}}}}\n',
    summary.requests, latency:percentile(50), latency:percentile(99), table.concat(parts, ","),
    errors.connect, errors.read, errors.write, errors.timeout))
end
"#,
        name = kind.name,
        // Only a paced kind has `delay`: wrk sets a timer for each request when it is defined.
        delay = if kind.delay_ms > 0 {
            format!("function delay()\n  return {}\nend\n", kind.delay_ms)
        } else {
            String::new()
        },
    )
}

fn resident_kb(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:")).context("VmRSS in the server's status")?;
    Ok(line["VmRSS:".len()..].trim().trim_end_matches("kB").trim().parse()?)
}

pub fn report(runs: &[Run]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Switchboard load run");
    let _ = writeln!(
        out,
        "method: the `switchboard serve` binary (release) in its own process; one wrk per kind of request \
         (1 thread; connections as listed) at once, after a 10 s warm-up (all but the wrong logins); {STREAMS} event streams \
         (GET /api/v1/events, one per user) open throughout; wrong logins go round {WRONG_ACCOUNTS} accounts and \
         {WRONG_ADDRESSES} forwarded addresses at most 2 a second, under the throttle's delay; wrk, the streams \
         and the server share the machine ({} cores)",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    for run in runs {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "== {} — seeded in {:.1} s; {} s of load",
            run.backend,
            run.seeded_in.as_secs_f64(),
            run.seconds
        );
        let _ = writeln!(
            out,
            "{:<34} {:>5} {:>9} {:>8} {:>9} {:>9} {:>8}  errors",
            "kind", "conns", "requests", "req/s", "p50 ms", "p99 ms", "4xx ok"
        );
        let mut total = 0;
        let mut errors = 0;
        for kind in &run.kinds {
            total += kind.requests;
            errors += kind.unexpected.len();
            let deliberate =
                kind.expected.map_or("-".to_string(), |status| format!("{} × {status}", kind.expected_count));
            let _ = writeln!(
                out,
                "{:<34} {:>5} {:>9} {:>8.0} {:>9.2} {:>9.2} {:>8}  {}",
                kind.name,
                kind.connections,
                kind.requests,
                kind.per_second,
                crate::measure::millis(kind.p50),
                crate::measure::millis(kind.p99),
                deliberate,
                if kind.unexpected.is_empty() { "0".to_string() } else { kind.unexpected.join(", ") }
            );
        }
        let first = run.resident_kb.first().copied().unwrap_or(0);
        let last = run.resident_kb.last().copied().unwrap_or(0);
        let samples: Vec<String> = run.resident_kb.iter().map(|kb| format!("{:.1}", *kb as f64 / 1024.0)).collect();
        let growth = (last as f64 - first as f64) / first.max(1) as f64 * 100.0;
        let _ = writeln!(
            out,
            "total {total} requests, {:.0} req/s; kinds with unexpected answers: {errors}",
            total as f64 / run.seconds as f64
        );
        let _ = writeln!(
            out,
            "event streams open at the end: {} of {STREAMS} ({} bytes read)",
            run.streams_open_at_end, run.streams_bytes
        );
        let _ = writeln!(
            out,
            "server resident memory (MB, every 10 s): {} — {growth:+.1}% from start to end",
            samples.join(" → ")
        );
    }
    out
}
