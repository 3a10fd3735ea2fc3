//! The directory's performance benchmark (not a test): seeds one domain with 100,000
//! shared contacts and 2,000 users on SQLite and on PostgreSQL, serves it over HTTP
//! in-process and times the directory's requests against `/healthz`. Before serving, it
//! reports what the in-memory copy of that domain's book costs per entry, counted by the
//! allocator (see [`book_memory`] and [`counting`]).
//!
//! It also times the import and export of contact files (see [`transfer`]): an Outlook CSV
//! of 100,000 generated rows imported into an empty domain and again unchanged, against a
//! plain bulk insert of the same rows, and an export of them all.
//!
//! With `--phones` it also times what desk phones ask of the same domain (see [`phones`]):
//! XML phonebooks (full, search, 304), caller-ID lookup and LDAP searches.
//!
//! With `--load` it runs only the load run (see [`load`]): the `switchboard` binary under a
//! minute of mixed traffic from `wrk` with 200 event streams open.
//!
//! With `--carddav` it runs only CardDAV side by side with Radicale on a 10,000-card book
//! (see [`carddav`]): sync, delta, multiget, query, vdirsyncer and one PUT, as ratios.
//!
//! With `--live` it runs only the live directory's figures (see [`live`]): the feed's
//! catch-up and first read, and 1,000 event streams hearing presence and chat.
//!
//! Run it with `scripts/bench` (both back-ends) or `scripts/bench --sqlite-only`;
//! `--import-only` runs the import/export part alone, `--no-import` skips it.

mod book_memory;
mod carddav;
mod counting;
mod data;
mod ldap_client;
mod live;
mod load;
mod measure;
mod phones;
mod seed;
mod slapd;
mod transfer;

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use reqwest::{Client, Url};
use serde_json::{Value, json};
use switchboard_app::{App, AppConfig};
use switchboard_core::phone::digits_of;
use switchboard_server::ServerConfig;
use switchboard_store::{PostgresStore, SqliteStore, Store};

use crate::measure::{Case, Limits, Stats, millis};
use crate::seed::{Plan, Seeded};

/// The allocator the `switchboard` binary serves with, so the figures are the server's,
/// counting live bytes for the in-memory book's cost.
#[global_allocator]
static ALLOCATOR: counting::Counting = counting::Counting::new();

/// The SQLite target of the issue: p99 of a directory search.
const TARGET_P99_MS: f64 = 10.0;

#[derive(Debug, Parser)]
#[command(about = "Directory benchmark over HTTP, and import/export benchmark, on SQLite and PostgreSQL")]
struct Args {
    /// Only SQLite (PostgreSQL needs SWITCHBOARD_TEST_POSTGRES, as `scripts/with-postgres` sets).
    #[arg(long, conflicts_with = "postgres_only")]
    sqlite_only: bool,
    /// Only PostgreSQL.
    #[arg(long)]
    postgres_only: bool,
    /// Shared contacts in the benchmarked domain.
    #[arg(long, default_value_t = 100_000)]
    contacts: usize,
    /// Users in the benchmarked domain.
    #[arg(long, default_value_t = 2_000)]
    users: usize,
    /// Timed requests per case (after a warm-up of a tenth as many).
    #[arg(long, default_value_t = 1_500)]
    requests: usize,
    /// Longest a case is timed, in seconds, whatever the count.
    #[arg(long, default_value_t = 30)]
    max_seconds: u64,
    /// Where to write the report.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../../target/bench-report.txt"))]
    report: PathBuf,
    /// Keep the SQLite database at this path (it must not exist) for EXPLAIN QUERY PLAN afterwards.
    #[arg(long)]
    keep_sqlite: Option<PathBuf>,
    /// Seed of the generated data: the same seed gives the same names and numbers.
    #[arg(long, default_value_t = 2026)]
    seed: u64,
    /// Only the import/export benchmark (no directory requests).
    #[arg(long, conflicts_with = "no_import")]
    import_only: bool,
    /// Skip the import/export benchmark.
    #[arg(long)]
    no_import: bool,
    /// Also time the desk phones' requests: XML phonebooks, caller-ID lookup and LDAP
    /// (not in the default run, to keep it short).
    #[arg(long, conflicts_with = "import_only")]
    phones: bool,
    /// Only the load run: the `switchboard` binary under mixed traffic from `wrk` (Debian
    /// package wrk) with 200 event streams open; reports errors, p50/p99 and its memory.
    #[arg(long, conflicts_with_all = ["import_only", "phones"])]
    load: bool,
    /// Only the live directory: the change feed (catch-up of 10 changes, whole first read)
    /// and 1,000 event streams hearing presence changes and chat messages.
    #[arg(long, conflicts_with_all = ["import_only", "phones", "load"])]
    live: bool,
    /// Only CardDAV, side by side with Radicale: a 10,000-card book's initial sync, a delta
    /// of 10 changes, a multiget of all, an FN query, creating a card and a vdirsyncer sync
    /// (Radicale and vdirsyncer from a pinned virtualenv that `scripts/carddav-tools` makes).
    #[arg(long, conflicts_with_all = ["import_only", "phones", "load", "live"])]
    carddav: bool,
    /// Cards in the CardDAV book.
    #[arg(long, default_value_t = 10_000)]
    carddav_cards: usize,
    /// Rounds of the CardDAV cases (each case once per server per round).
    #[arg(long, default_value_t = 5)]
    carddav_runs: usize,
    /// How long the load run lasts, in seconds.
    #[arg(long, default_value_t = 60)]
    load_seconds: u64,
    /// Rows of the generated Outlook CSV file that is imported, bulk inserted and exported.
    #[arg(long, default_value_t = 100_000)]
    import_rows: usize,
    /// Longest an import (or re-import) may run, in seconds, before it is stopped and its
    /// progress reported (0: no limit); keeps a full run under a quarter of an hour.
    #[arg(long, default_value_t = 150)]
    import_timeout: u64,
    /// Keep the generated CSV file and the SQLite import database in this new directory
    /// (to replay a phase or run EXPLAIN QUERY PLAN afterwards).
    #[arg(long)]
    keep_import: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// One timed phase of the import/export benchmark, in a child process so that its
    /// peak memory is its own (run by the benchmark itself).
    #[command(hide = true)]
    Phase(transfer::PhaseArgs),
}

/// One back-end's results.
struct Run {
    backend: &'static str,
    seeded: Seeded,
    setup_notes: Vec<String>,
    stats: Vec<Stats>,
    took: Duration,
}

#[tokio::main]
async fn main() -> Result<()> {
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }
    let args = Args::parse();
    if let Some(Command::Phase(phase)) = args.command {
        return transfer::phase_main(phase).await;
    }
    let started = Instant::now();
    let postgres = std::env::var("SWITCHBOARD_TEST_POSTGRES").ok();
    if !args.sqlite_only && postgres.is_none() {
        bail!("PostgreSQL needs SWITCHBOARD_TEST_POSTGRES: run `scripts/bench` (or pass --sqlite-only)");
    }
    let plan = Plan::new(args.contacts, args.users);
    let limits = Limits {
        warmup: (args.requests / 10).max(20),
        requests: args.requests,
        max_time: Duration::from_secs(args.max_seconds),
    };
    if args.load {
        let mut loads = Vec::new();
        if !args.postgres_only {
            loads.push(load::run("SQLite", None, &plan, args.seed, args.load_seconds).await?);
        }
        if !args.sqlite_only {
            let url = switchboard_store::testing::fresh_postgres_database().await;
            loads.push(load::run("PostgreSQL", Some(&url), &plan, args.seed, args.load_seconds).await?);
        }
        let mut report = load::report(&loads);
        let _ = writeln!(report, "total time: {:.1} s", started.elapsed().as_secs_f64());
        return write_report(&args, &report);
    }
    if args.carddav {
        let options = carddav::Options { cards: args.carddav_cards, runs: args.carddav_runs, seed: args.seed };
        let mut runs = Vec::new();
        if !args.postgres_only {
            let dir = tempfile::tempdir()?;
            let path = dir.path().join("carddav.db");
            let store = SqliteStore::open(path.to_str().context("a UTF-8 path")?).await?;
            runs.push(carddav::run("SQLite", Arc::new(store), &options, &ALLOCATOR).await?);
        }
        if !args.sqlite_only {
            let url = switchboard_store::testing::fresh_postgres_database().await;
            let store = PostgresStore::connect(&url).await?;
            runs.push(carddav::run("PostgreSQL", Arc::new(store), &options, &ALLOCATOR).await?);
        }
        let mut report = carddav::report(&runs, &options);
        let _ = writeln!(report, "total time: {:.1} s", started.elapsed().as_secs_f64());
        return write_report(&args, &report);
    }
    if args.live {
        let mut lives = Vec::new();
        if !args.postgres_only {
            let dir = tempfile::tempdir()?;
            let path = dir.path().join("live.db");
            let store = SqliteStore::open(path.to_str().context("a UTF-8 path")?).await?;
            lives.push(live::run("SQLite", Arc::new(store), &plan, args.seed, &ALLOCATOR).await?);
        }
        if !args.sqlite_only {
            let url = switchboard_store::testing::fresh_postgres_database().await;
            let store = PostgresStore::connect(&url).await?;
            lives.push(live::run("PostgreSQL", Arc::new(store), &plan, args.seed, &ALLOCATOR).await?);
        }
        let mut report = live::report(&lives, &plan);
        let _ = writeln!(report, "total time: {:.1} s", started.elapsed().as_secs_f64());
        return write_report(&args, &report);
    }
    let mut runs = Vec::new();
    if !args.postgres_only && !args.import_only {
        let dir = tempfile::tempdir()?;
        let path = match &args.keep_sqlite {
            Some(path) if path.exists() => bail!("{} exists; --keep-sqlite wants a new file", path.display()),
            Some(path) => path.clone(),
            None => dir.path().join("bench.db"),
        };
        let store = SqliteStore::open(path.to_str().context("a UTF-8 path")?).await?;
        runs.push(run("SQLite", Arc::new(store), None, &plan, &args, &limits).await?);
    }
    if !args.sqlite_only && !args.import_only {
        // A fresh database on the server `scripts/with-postgres` started (checked above).
        let url = switchboard_store::testing::fresh_postgres_database().await;
        let store = PostgresStore::connect(&url).await?;
        runs.push(run("PostgreSQL", Arc::new(store), Some(&url), &plan, &args, &limits).await?);
    }
    let mut report = if runs.is_empty() { String::new() } else { report(&runs, &plan, &limits) };
    if !args.no_import {
        eprintln!("== writing an Outlook CSV file of {} generated contacts…", args.import_rows);
        if let Some(dir) = &args.keep_import {
            if dir.exists() {
                bail!("{} exists; --keep-import wants a new directory", dir.display());
            }
            std::fs::create_dir_all(dir)?;
        }
        let file = transfer::generate(args.import_rows, args.seed, args.keep_import.as_deref())?;
        let limit = (args.import_timeout > 0).then(|| Duration::from_secs(args.import_timeout));
        let mut imports = Vec::new();
        if !args.postgres_only {
            let temporary = tempfile::tempdir()?;
            let dir = args.keep_import.as_deref().unwrap_or(temporary.path());
            imports.push(transfer::run("SQLite", &transfer::sqlite_path(dir)?, None, &file, limit).await?);
        }
        if !args.sqlite_only {
            let url = switchboard_store::testing::fresh_postgres_database().await;
            imports.push(transfer::run("PostgreSQL", &url, Some(&url), &file, limit).await?);
        }
        if !report.is_empty() {
            report.push('\n');
        }
        report.push_str(&transfer::report(&imports, &file, limit));
    }
    let _ = writeln!(report, "total time: {:.1} s", started.elapsed().as_secs_f64());
    write_report(&args, &report)
}

/// Prints the report and writes it to `--report`.
fn write_report(args: &Args, report: &str) -> Result<()> {
    print!("{report}");
    let path = match args.report.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            dir.canonicalize()?.join(args.report.file_name().context("a report file name")?)
        }
        None => args.report.clone(),
    };
    std::fs::write(&path, report).with_context(|| format!("writing {}", path.display()))?;
    println!("report written to {}", path.display());
    Ok(())
}

/// Seeds one back-end, serves it and measures it. `postgres_url` is given for PostgreSQL,
/// which gets its statistics after the bulk load as autovacuum would soon give them;
/// SQLite is measured as the store leaves it (the store never runs `ANALYZE`).
async fn run(
    backend: &'static str,
    store: Arc<dyn Store>,
    postgres_url: Option<&str>,
    plan: &Plan,
    args: &Args,
    limits: &Limits,
) -> Result<Run> {
    let started = Instant::now();
    eprintln!("== {backend}: seeding {} shared contacts and {} users…", plan.contacts, plan.users);
    let app = App::new(store, AppConfig::default());
    let seeded = seed::seed(&app, plan, args.seed).await?;
    if let Some(url) = postgres_url {
        use sqlx::{Connection as _, Executor as _};
        let mut connection = sqlx::PgConnection::connect(url).await?;
        connection.execute("ANALYZE").await?;
        connection.close().await?;
    }
    seed::check_readback(&app, &seeded).await?;
    eprintln!("== {backend}: {} rows seeded in {:.1} s", seeded.rows, seeded.took.as_secs_f64());
    let book_memory = book_memory::measure(&app, &seeded).await?;
    eprintln!("== {backend}: {book_memory}; serving");

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = Url::parse(&format!("http://{}/", listener.local_addr()?))?;
    // The phones' LDAP listener, as `serve --ldap` starts it, on a free port.
    let ldap_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let endpoints = phones::Endpoints { base: &base, ldap: ldap_listener.local_addr()? };
    let ldap = args.phones.then(|| {
        tokio::spawn(switchboard_ldap::serve(ldap_listener, app.clone(), switchboard_ldap::LdapConfig::default()))
    });
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(switchboard_server::serve(listener, app.clone(), ServerConfig::default(), async move {
        let _ = stopped.await;
    }));
    // The same store served without in-memory copies: how the directory answers while a
    // copy is stale (being built again after a change).
    let uncached = App::new(app.store().clone(), AppConfig { book_index: false, ..AppConfig::default() });
    let uncached_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let uncached_base = Url::parse(&format!("http://{}/", uncached_listener.local_addr()?))?;
    let (stop_uncached, uncached_stopped) = tokio::sync::oneshot::channel::<()>();
    let uncached_server =
        tokio::spawn(switchboard_server::serve(uncached_listener, uncached, ServerConfig::default(), async move {
            let _ = uncached_stopped.await;
        }));
    let result = measure_all(&app, &endpoints, &uncached_base, &seeded, args, limits).await;
    let _ = stop.send(());
    let _ = stop_uncached.send(());
    server.await??;
    uncached_server.await??;
    if let Some(ldap) = ldap {
        ldap.abort();
    }
    let (mut setup_notes, stats) = result?;
    setup_notes.insert(0, book_memory);
    Ok(Run { backend, seeded, setup_notes, stats, took: started.elapsed() })
}

/// Logs in as the viewer and times every case; returns notes on the setup and the stats.
/// Asks for the directory until a page comes from the in-memory copy of the book (built
/// in the background on first use), so that the timing meets a warm server.
async fn warm_copy(app: &App, client: &Client, url: &Url) -> Result<String> {
    let started = Instant::now();
    let before = app.book_index_answers();
    while started.elapsed() < Duration::from_secs(120) {
        measure::get_json(client, url).await?;
        if app.book_index_answers() > before {
            // Its size is measured from the allocator before serving (`book_memory`): the
            // resident memory would count what the build used and the allocator kept.
            let took = started.elapsed().as_secs_f64();
            return Ok(format!("in-memory book of the served app built in {took:.2} s, before timing"));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok("in-memory book: not built within 120 s (the directory was read from the database)".into())
}

async fn measure_all(
    app: &App,
    endpoints: &phones::Endpoints<'_>,
    uncached: &Url,
    seeded: &Seeded,
    args: &Args,
    limits: &Limits,
) -> Result<(Vec<String>, Vec<Stats>)> {
    let base = endpoints.base;
    let anonymous = Client::builder().tcp_nodelay(true).timeout(Duration::from_secs(60)).build()?;
    let username = format!("{}@{}", seeded.viewer_extension, seeded.domain);
    let login = anonymous
        .post(base.join("api/v1/session")?)
        .json(&json!({ "username": username, "password": seed::PASSWORD }))
        .send()
        .await?;
    if !login.status().is_success() {
        bail!("logging in as {username} answered {}: {}", login.status(), login.text().await?);
    }
    let token = login.json::<Value>().await?["token"].as_str().context("the login has a token")?.to_string();
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::AUTHORIZATION, format!("Bearer {token}").parse()?);
    // The portal's pages read the session cookie (the login's token is the session).
    headers.insert(reqwest::header::COOKIE, format!("sb_session={token}").parse()?);
    let client = Client::builder()
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(60))
        .default_headers(headers)
        .pool_max_idle_per_host(1)
        .build()?;

    let directory =
        base.join(&format!("api/v1/domains/{}/users/{}/directory", seeded.domain, seeded.viewer_extension))?;
    let with = |url: &Url, params: &[(&str, &str)]| -> Url {
        let mut url = url.clone();
        url.query_pairs_mut().extend_pairs(params);
        url
    };
    let mut notes = Vec::new();
    let SearchTerms { names, numbers, broad } = search_terms(seeded, args.seed);
    notes.push(format!("name searches (matches in the viewer's directory): {}", describe(&names)));
    notes.push(format!("digit searches: {}", describe(&numbers)));
    notes.push(format!("broad type-ahead searches (informative, not in the target): {}", describe(&broad)));
    for (term, count) in names.iter().chain(&numbers).chain(&broad) {
        let page = measure::get_json(&client, &with(&directory, &[("limit", "50"), ("q", term)])).await?;
        let items = page["items"].as_array().map_or(0, Vec::len);
        if items != (*count).min(50) {
            bail!("searching `{term}` shows {items} entries on the first page, the seeded data has {count} matches");
        }
    }

    // The cursors of pages 21 to 25 of the directory, followed from the first page.
    let mut deep = Vec::new();
    let mut cursor: Option<String> = None;
    for page in 1..=25 {
        if page > 20 {
            deep.push(with(&directory, &[("limit", "50"), ("cursor", cursor.as_deref().unwrap_or_default())]));
        }
        let mut params = vec![("limit", "50")];
        if let Some(cursor) = &cursor {
            params.push(("cursor", cursor));
        }
        let body = measure::get_json(&client, &with(&directory, &params)).await?;
        cursor = Some(body["next_cursor"].as_str().context("the directory has more than 25 pages")?.to_string());
    }

    let search = |terms: &[(String, usize)]| -> Vec<Url> {
        terms.iter().map(|(term, _)| with(&directory, &[("limit", "50"), ("q", term)])).collect()
    };
    let first_page = with(&directory, &[("limit", "50")]);
    notes.push(warm_copy(app, &client, &first_page).await?);
    let without_copy = |urls: Vec<Url>| -> Vec<Url> {
        urls.into_iter()
            .map(|mut url| {
                let _ = url.set_port(uncached.port());
                url
            })
            .collect()
    };
    let shared = base.join(&format!("api/v1/domains/{}/shared-contacts", seeded.domain))?;
    let portal_rows = base.join("contacts/rows")?;
    // Set up before the cases, which borrow it.
    let terms = phones::Terms { names: &names, numbers: &numbers };
    let phones =
        if args.phones { Some(phones::Phones::prepare(app, endpoints, seeded, &client, &terms).await?) } else { None };
    let mut cases = vec![
        Case::gets("GET /healthz", &client, vec![base.join("healthz")?]),
        // Authentication alone (token, user and domain look-ups): the floor of every API request.
        Case::gets("GET /api/v1/session (auth only)", &client, vec![base.join("api/v1/session")?]),
        Case::gets("directory, first page", &client, vec![first_page.clone()]),
        Case::gets(format!("directory search, name ({} terms)", names.len()), &client, search(&names)),
        Case::gets(format!("directory search, digits ({} terms)", numbers.len()), &client, search(&numbers)),
        Case::gets(format!("type-ahead, broad 3 letters ({} terms)", broad.len()), &client, search(&broad)),
        Case::gets("shared contacts, first page", &client, vec![with(&shared, &[("limit", "50")])]),
        Case::gets(
            "directory group=shared sort=-name",
            &client,
            vec![with(&directory, &[("limit", "50"), ("group", "shared"), ("sort", "-name")])],
        ),
        Case::gets("directory, page 21-25 (cursor)", &client, deep),
        // The portal renders the same pages as HTML fragments (with the capability checks of a page).
        Case::gets("portal: contacts rows, first page", &client, vec![portal_rows.clone()]),
        Case::gets(
            format!("portal: contacts rows, search name ({} terms)", names.len()),
            &client,
            names.iter().map(|(term, _)| with(&portal_rows, &[("q", term)])).collect(),
        ),
        Case::gets("portal: shared contacts rows, first page", &client, vec![base.join("shared-contacts/rows")?]),
        // Informative: the database's answers, as while a copy is built again after a change.
        Case::gets("database only: directory, first page", &client, without_copy(vec![first_page.clone()])),
        Case::gets(
            format!("database only: directory search, name ({} terms)", names.len()),
            &client,
            without_copy(search(&names)),
        ),
    ];
    if let Some(phones) = &phones {
        notes.extend(phones.notes.iter().cloned());
        cases.extend(phones.cases(&client));
    }
    let stats = measure::interleaved(&cases, limits).await?;
    for result in &stats {
        eprintln!(
            "   {:<40} median {:>7.2} ms  p99 {:>7.2} ms  {:>8.0} req/s",
            result.name,
            millis(result.median),
            millis(result.p99),
            result.per_second
        );
    }
    Ok((notes, stats))
}

/// Search terms with how many entries of the viewer's directory each matches.
type Terms = Vec<(String, usize)>;

struct SearchTerms {
    /// Name fragments of 3 to 6 letters that find a few hundred entries, plus one rare name.
    names: Terms,
    /// Digit fragments of 7 digits (a handful of matches) and of 4 (a few hundred).
    numbers: Terms,
    /// What a type-ahead sends after three letters: fragments found in thousands of entries.
    broad: Terms,
}

fn search_terms(seeded: &Seeded, seed: u64) -> SearchTerms {
    let count = |term: &str| seeded.directory_texts.iter().filter(|text| text.contains(term)).count();
    let mut generator = data::Generator::new(seed ^ 0x5eed);
    let mut tried = BTreeSet::new();
    let mut names = Vec::new();
    let mut broad = Vec::new();
    // A few hundred in a directory of 100,000, or thousands: scale the bands with the data set.
    let scale = seeded.directory_texts.len() as f64 / 100_000.0;
    for _ in 0..1000 {
        if names.len() == 8 && broad.len() == 4 {
            break;
        }
        let term = generator.name_fragment();
        if !tried.insert(term.clone()) {
            continue;
        }
        let matches = count(&term);
        if names.len() < 8 && (100.0 * scale..=800.0 * scale).contains(&(matches as f64)) {
            names.push((term, matches));
        } else if broad.len() < 4 && term.len() == 3 && matches as f64 >= 2_000.0 * scale {
            broad.push((term, matches));
        }
    }
    names.push((data::RARE_TERM.to_string(), count(data::RARE_TERM)));
    let mut numbers = Vec::new();
    let step = (seeded.numbers.len() / 8).max(1);
    for (i, typed) in seeded.numbers.iter().step_by(step).take(8).enumerate() {
        let digits = digits_of(typed);
        let term = if i % 2 == 0 { &digits[digits.len() - 7..] } else { &digits[digits.len() - 4..] };
        numbers.push((term.to_string(), count(term)));
    }
    SearchTerms { names, numbers, broad }
}

fn describe(terms: &[(String, usize)]) -> String {
    terms.iter().map(|(term, count)| format!("{term} ({count})")).collect::<Vec<_>>().join(", ")
}

fn report(runs: &[Run], plan: &Plan, limits: &Limits) -> String {
    let mut out = String::new();
    let others: Vec<String> =
        plan.others.iter().map(|(name, c, u)| format!("{name}: {c} contacts, {u} users")).collect();
    let _ = writeln!(out, "Switchboard directory benchmark");
    let _ = writeln!(
        out,
        "data: {} with {} shared contacts (+1% in the trash), {} users, personal contacts; other tenants: {}",
        plan.domain,
        plan.contacts,
        plan.users,
        others.join("; ")
    );
    let _ = writeln!(
        out,
        "method: one keep-alive client, sequential requests, {} timed per case after {} warm-up (at most {} s per case); \
         all cases timed in the same rounds, each round a tenth of every case's requests",
        limits.requests,
        limits.warmup,
        limits.max_time.as_secs()
    );
    let _ = writeln!(
        out,
        "databases: SQLite as the store leaves it (no ANALYZE); PostgreSQL analysed after the bulk load, as autovacuum would"
    );
    let mut verdict = None;
    let mut phone_verdicts = Vec::new();
    for run in runs {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "== {} — seeded {} rows in {:.1} s; seeding and measuring took {:.1} s",
            run.backend,
            run.seeded.rows,
            run.seeded.took.as_secs_f64(),
            run.took.as_secs_f64()
        );
        for note in &run.setup_notes {
            let _ = writeln!(out, "   {note}");
        }
        let _ = writeln!(
            out,
            "{:<40} {:>8} {:>10} {:>10} {:>10} {:>12}",
            "case", "requests", "median ms", "p99 ms", "req/s", "vs /healthz"
        );
        let health = run.stats.first().map_or(f64::NAN, |s| s.per_second);
        for stats in &run.stats {
            let _ = writeln!(
                out,
                "{:<40} {:>8} {:>10.2} {:>10.2} {:>10.0} {:>12.3}",
                stats.name,
                stats.requests,
                millis(stats.median),
                millis(stats.p99),
                stats.per_second,
                stats.per_second / health
            );
        }
        if run.stats.iter().any(|s| s.name.starts_with("phones:")) {
            phone_verdicts.extend(phones::verdicts(run.backend, &run.stats, health));
        }
        if run.backend == "SQLite" {
            let worst = run.stats.iter().filter(|s| s.name.starts_with("directory search")).max_by_key(|s| s.p99);
            verdict = worst.map(|s| (millis(s.p99), s.name.clone()));
        }
    }
    let _ = writeln!(out);
    if let Some((p99, case)) = verdict {
        let status = if p99 < TARGET_P99_MS { "OK" } else { "MISSED" };
        let _ = writeln!(
            out,
            "SQLite search p99 = {p99:.2} ms (target < {TARGET_P99_MS} ms): {status}  [worst case: {case}]"
        );
    }
    for line in phone_verdicts {
        let _ = writeln!(out, "{line}");
    }
    out
}
