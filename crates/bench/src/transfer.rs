//! The import/export benchmark: a generated Outlook CSV file imported through the real use
//! case into an empty domain, then again (every row unchanged), against the ceiling of a
//! plain bulk insert of the same rows into the same database; then an export of it all.
//!
//! Each phase runs in a child process of this binary (`switchboard-bench phase …`), so the
//! peak memory it reports (`VmHWM`, reset when the timed work starts) is the phase's alone.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Read, Write as _};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail, ensure};
use futures::StreamExt;
use rand::Rng;
use serde_json::{Value, json};
use switchboard_app::{
    App, AppConfig, BookRef, Caller, ExportFormat, ExportSource, ImportMode, ImportOptions, ImportReport,
    parse_import_options,
};
use switchboard_core::ContactFields;
use switchboard_core::phone::Country;
use switchboard_formats::{ExportContact, ReadOptions, Writer};
use switchboard_store::{PostgresStore, SqliteStore, Store};
use uuid::Uuid;

use crate::data::Generator;
use crate::seed;

/// The acceptance target: an import as fast as a bulk insert of the same rows.
pub const TARGET_RATIO: f64 = 1.0;
/// Rows per `import_rows` call of the bulk insert: one transaction each, as the seeder does.
const BULK_BATCH: usize = 5_000;
const BULK_DOMAIN: &str = "bulk.import.bench.example";
const WARM_DOMAIN: &str = "warm.import.bench.example";
const IMPORT_DOMAIN: &str = "import.bench.example";

/// The generated file, shared by both back-ends of a run.
pub struct CsvFile {
    /// The temporary directory holding the file, removed with it (none when kept).
    _dir: Option<tempfile::TempDir>,
    pub path: PathBuf,
    pub rows: usize,
    pub bytes: u64,
    /// Rows with a `User 1` uid (a random UUID no book has), the others have none.
    pub with_uid: usize,
    pub with_notes: usize,
    pub took: Duration,
}

/// Writes `rows` distinct generated contacts as an English Outlook CSV file, in `keep_in`
/// (kept) or a temporary directory.
///
/// Rows are distinct the way the import tells contacts apart (no two share a duplicate key,
/// nor names and an E.164 number), so importing the file must create every row.
pub fn generate(rows: usize, seed: u64, keep_in: Option<&Path>) -> Result<CsvFile> {
    let started = Instant::now();
    let (dir, path) = match keep_in {
        Some(dir) => (None, dir.join("contacts-outlook.csv")),
        None => {
            let dir = tempfile::tempdir()?;
            let path = dir.path().join("contacts-outlook.csv");
            (Some(dir), path)
        }
    };
    let mut writer = Writer::new(BufWriter::new(File::create(&path)?), ExportFormat::OutlookCsv)?;
    let mut generator = Generator::new(seed ^ 0x1_4b0e7);
    let mut keys = HashSet::new();
    let mut names_and_numbers = HashSet::new();
    let (mut written, mut with_uid, mut with_notes) = (0, 0, 0);
    while written < rows {
        let mut contact = generator.contact();
        // Notes as people leave them: a few on two lines, a few starting with a dash (which
        // the writer guards against formula injection and the reader restores).
        let rng = generator.rng();
        if rng.random_bool(0.02) {
            contact.notes = format!("Assistant: {}\nRoom {}{}", contact.first_name, rng.random_range(1..40), "B");
        } else if rng.random_bool(0.01) {
            contact.notes = "- VIP: call back the same day".into();
        }
        let fields = ContactFields::parse(&contact, Country::default())
            .map_err(|e| anyhow!("generated an invalid contact {contact:?}: {e:?}"))?;
        let sort_key = fields.sort_key();
        let numbers: Vec<(String, String)> =
            fields.numbers().iter().filter_map(|(_, n)| n.e164.clone()).map(|n| (sort_key.clone(), n)).collect();
        if numbers.iter().any(|pair| names_and_numbers.contains(pair)) || !keys.insert(fields.duplicate_key()) {
            continue;
        }
        names_and_numbers.extend(numbers);
        // Half the rows carry a uid another program (or another Switchboard) wrote: the
        // import looks it up, finds nothing and matches the row by its contents.
        let uid = if generator.rng().random_bool(0.5) {
            with_uid += 1;
            uuid::Builder::from_random_bytes(generator.rng().random()).into_uuid().to_string()
        } else {
            String::new()
        };
        with_notes += usize::from(!contact.notes.is_empty());
        writer.write(&ExportContact { uid, fields, extension: None, starred: false, photo: None })?;
        written += 1;
    }
    writer.finish()?.flush()?;
    let bytes = std::fs::metadata(&path)?.len();
    Ok(CsvFile { _dir: dir, path, rows, bytes, with_uid, with_notes, took: started.elapsed() })
}

/// A timed phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Phase {
    /// Not timed against anything: the same bulk insert into a domain of its own, first,
    /// so the phases compared all find the database warm. A fresh PostgreSQL creates its
    /// log's files as it first fills them, which made whichever phase ran first 2 s slower.
    Warm,
    /// `Store::import_rows` of the file's rows into an empty domain (the ceiling).
    Bulk,
    /// `App::import` of the file into an empty domain.
    Import,
    /// Only after an import stopped at the time limit: the import domain gets the file's
    /// rows by bulk insert, so that the re-import and the export still have 100,000 contacts.
    Fill,
    /// `App::import` of the file again into the same domain: every row unchanged.
    Reimport,
    /// `App::export` of the imported domain as Outlook CSV.
    Export,
}

impl Phase {
    fn label(self) -> &'static str {
        match self {
            Phase::Warm => "bulk insert to warm up",
            Phase::Bulk => "bulk insert (ceiling)",
            Phase::Import => "import, empty domain",
            Phase::Fill => "bulk insert into the import domain",
            Phase::Reimport => "re-import, all unchanged",
            Phase::Export => "export (Outlook CSV)",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Phase::Warm => "warm",
            Phase::Bulk => "bulk",
            Phase::Import => "import",
            Phase::Fill => "fill",
            Phase::Reimport => "reimport",
            Phase::Export => "export",
        }
    }
}

/// The arguments of the hidden `phase` subcommand, run by [`run`] in a child process.
#[derive(Debug, clap::Args)]
pub struct PhaseArgs {
    #[arg(long, value_enum)]
    phase: Phase,
    /// The SQLite file, or a `postgres://` URL.
    #[arg(long)]
    database: String,
    #[arg(long)]
    file: PathBuf,
    /// The rows the file holds: what every phase must find.
    #[arg(long)]
    rows: usize,
    /// Seconds after which an import is stopped (rolled back) and its progress reported; 0: none.
    #[arg(long, default_value_t = 0)]
    limit: u64,
}

/// What a child reports on its standard output, one JSON object.
#[derive(Debug, Clone)]
pub struct Measured {
    pub phase: Phase,
    /// Rows done: all of the file, or about as many as were read when stopped at the limit.
    pub rows: usize,
    pub seconds: f64,
    /// True when the import was stopped at the time limit after `rows` rows.
    pub stopped: bool,
    /// Peak resident memory during the timed work, and resident memory when it started.
    pub peak_mb: Option<f64>,
    /// Peak of the anonymous part (heap, stacks), without mapped files' pages.
    pub peak_anon_mb: Option<f64>,
    pub start_mb: Option<f64>,
    /// Whether the peak was reset at the start (else it includes the child's set-up).
    pub peak_reset: bool,
    pub note: String,
}

impl Measured {
    pub fn per_second(&self) -> f64 {
        self.rows as f64 / self.seconds
    }
}

/// Resident memory of this process from `/proc/self/status` (Linux), in kB.
pub fn status_kb(key: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with(key) && line[key.len()..].starts_with(':'))?;
    line[key.len() + 1..].trim().trim_end_matches("kB").trim().parse().ok()
}

/// Samples `RssAnon` (the heap and stacks, not pages of mapped files such as SQLite's
/// memory-mapped database) every 10 ms until dropped, keeping the highest value.
struct AnonPeak {
    peak_kb: Arc<AtomicU64>,
    stop: Arc<std::sync::atomic::AtomicBool>,
}

impl AnonPeak {
    fn start() -> AnonPeak {
        let peak_kb = Arc::new(AtomicU64::new(status_kb("RssAnon").unwrap_or(0)));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (peak, stopped) = (peak_kb.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stopped.load(Ordering::Relaxed) {
                peak.fetch_max(status_kb("RssAnon").unwrap_or(0), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(10));
            }
        });
        AnonPeak { peak_kb, stop }
    }

    fn finish(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.peak_kb.load(Ordering::Relaxed).max(status_kb("RssAnon").unwrap_or(0))
    }
}

/// Resets the peak (`VmHWM`) to the current resident size: writing 5 to `clear_refs`.
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// How a phase went: its time, the rows done when it stopped at the limit, and a note.
struct Outcome {
    seconds: f64,
    stopped_after: Option<usize>,
    note: String,
}

/// The body of the hidden `phase` subcommand: one phase, its figures printed as JSON.
pub async fn phase_main(args: PhaseArgs) -> Result<()> {
    let store: Arc<dyn Store> = if args.database.starts_with("postgres") {
        Arc::new(PostgresStore::connect(&args.database).await?)
    } else {
        Arc::new(SqliteStore::open(&args.database).await?)
    };
    let defaults = AppConfig::default();
    let config = AppConfig { max_import_rows: defaults.max_import_rows.max(args.rows), ..defaults };
    let app = App::new(store, config);
    // Set-up (the domain, the file) stays outside both the clock and the peak.
    let domain = match args.phase {
        Phase::Warm => WARM_DOMAIN,
        Phase::Bulk => BULK_DOMAIN,
        _ => IMPORT_DOMAIN,
    };
    let domain_id = match args.phase {
        Phase::Warm | Phase::Bulk | Phase::Import => seed::create_domain(&app, domain).await?,
        Phase::Fill | Phase::Reimport | Phase::Export => {
            let name = domain.parse().map_err(|e| anyhow!("{domain}: {e}"))?;
            app.store().domain_by_name(&name).await?.with_context(|| format!("no domain {domain}"))?.id
        }
    };
    let file = File::open(&args.file).with_context(|| format!("opening {}", args.file.display()))?;
    let limit = (args.limit > 0).then(|| Duration::from_secs(args.limit));
    let peak_reset = reset_peak();
    let start_kb = status_kb("VmRSS");
    let anon = AnonPeak::start();
    let outcome = match args.phase {
        Phase::Warm | Phase::Bulk | Phase::Fill => bulk(&app, domain_id, file, args.rows).await?,
        Phase::Import | Phase::Reimport => import(&app, domain, file, args.phase, args.rows, limit).await?,
        Phase::Export => export(&app, domain, args.rows).await?,
    };
    let peak_kb = status_kb("VmHWM");
    let peak_anon_kb = anon.finish();
    let out = json!({
        "phase": args.phase.name(),
        "rows": outcome.stopped_after.unwrap_or(args.rows),
        "stopped": outcome.stopped_after.is_some(),
        "seconds": outcome.seconds,
        "peak_kb": peak_kb,
        "peak_anon_kb": peak_anon_kb,
        "start_kb": start_kb,
        "peak_reset": peak_reset,
        "note": outcome.note,
    });
    println!("{out}");
    Ok(())
}

/// Reads the file as the import does and inserts its rows, built exactly as normal creation
/// writes them (the seeder's rows, checked against the app's), `BULK_BATCH` per transaction.
/// Only the inserts are timed: the ceiling is what the database can take.
async fn bulk(app: &App, domain_id: Uuid, file: File, rows: usize) -> Result<Outcome> {
    let started = Instant::now();
    let count = || async { Ok::<_, anyhow::Error>(app.store().table_counts().await?.get("contacts").copied()) };
    let before = count().await?.unwrap_or_default();
    let options = ReadOptions { max_rows: rows.max(ReadOptions::default().max_rows), ..ReadOptions::default() };
    let mut reader = switchboard_formats::read(file, options)?;
    let mut inserting = Duration::ZERO;
    let mut batch = Vec::with_capacity(BULK_BATCH);
    let mut inserted = 0;
    loop {
        batch.clear();
        for row in reader.by_ref().take(BULK_BATCH) {
            let row = row.map_err(|e| anyhow!("reading the file: {e}"))?;
            let fields = ContactFields::parse(&row.contact, Country::default())
                .map_err(|e| anyhow!("row {} is invalid: {e:?}", row.row))?;
            batch.push(seed::contact_row(Uuid::now_v7(), domain_id, None, &fields, now_micros(), None));
        }
        if batch.is_empty() {
            break;
        }
        let sent = Instant::now();
        app.store().import_rows("contacts", &batch).await.context("bulk insert")?;
        inserting += sent.elapsed();
        inserted += batch.len();
    }
    let after = count().await?.unwrap_or_default();
    ensure!(inserted == rows, "the file has {inserted} rows, {rows} expected");
    ensure!(after - before == rows as i64, "the bulk insert added {} contacts, {rows} expected", after - before);
    let preparing = started.elapsed() - inserting;
    let note = format!(
        "{BULK_BATCH} rows per import_rows transaction, as multi-row INSERTs (what `db copy` writes; the import writes \
         audit and feed rows too, and on PostgreSQL sends its bulk rows by binary COPY); reading the file and building \
         the rows took {:.1} s more (not timed)",
        preparing.as_secs_f64()
    );
    Ok(Outcome { seconds: inserting.as_secs_f64(), stopped_after: None, note })
}

fn now_micros() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_micros() as i64)
}

/// The file as the import reads it, counting the bytes taken: the import's progress.
struct Counting {
    file: File,
    read: Arc<AtomicU64>,
}

impl Read for Counting {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.file.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// `App::import` as the REST upload does it, from the file, upserting into the shared book.
/// Past `limit` the import is dropped (its transaction rolls back) and the rows read so far
/// are reported. Either way the note gives the rate over each tenth of the file.
async fn import(
    app: &App,
    domain: &str,
    file: File,
    phase: Phase,
    rows: usize,
    limit: Option<Duration>,
) -> Result<Outcome> {
    let total = file.metadata()?.len().max(1);
    let read = Arc::new(AtomicU64::new(0));
    let input = Counting { file, read: read.clone() };
    let options = parse_import_options(None, None, false, false).map_err(|e| anyhow!("{e:?}"))?;
    let options = ImportOptions { mode: ImportMode::Upsert, ..options };
    let book = BookRef::Shared { domain: domain.into() };
    let started = Instant::now();
    let import = app.import(&Caller::System, &book, Box::new(input), options);
    tokio::pin!(import);
    let mut ticks = tokio::time::interval(Duration::from_millis(50));
    // When each tenth of the file had been read.
    let mut tenths: Vec<f64> = Vec::new();
    let fraction = || read.load(Ordering::Relaxed) as f64 / total as f64;
    let report = loop {
        tokio::select! {
            report = &mut import => break Some(report.context("importing")?),
            _ = ticks.tick() => {
                while tenths.len() < 9 && fraction() >= (tenths.len() + 1) as f64 / 10.0 {
                    tenths.push(started.elapsed().as_secs_f64());
                }
                if limit.is_some_and(|limit| started.elapsed() >= limit) {
                    break None;
                }
            }
        }
    };
    let seconds = started.elapsed().as_secs_f64();
    let Some(report) = report else {
        // Rows still in the reader's buffers are a fraction of a percent of the file.
        let done = ((fraction() * rows as f64) as usize).min(rows);
        let note = format!(
            "stopped at the {:.0} s limit after about {done} of {rows} rows (rolled back); {}",
            seconds,
            rates(&tenths, rows)
        );
        return Ok(Outcome { seconds, stopped_after: Some(done), note });
    };
    tenths.push(seconds);
    let ImportReport { rows: read, created, updated, unchanged, rejected, committed, .. } = report;
    let counts = format!(
        "rows {read}, created {created}, updated {updated}, unchanged {unchanged}, rejected {rejected}, committed {committed}"
    );
    let expected = match phase {
        Phase::Import => (rows, rows, 0, 0),
        _ => (rows, 0, 0, rows),
    };
    if (read, created, updated, unchanged) != expected || rejected != 0 || !committed {
        let first_errors: Vec<String> =
            report.errors.iter().take(5).map(|e| format!("row {}: {:?} {}", e.row, e.field, e.message)).collect();
        bail!(
            "the {} of {rows} rows reported {counts}; expected {:?} (rows, created, updated, unchanged); first errors: {first_errors:?}",
            phase.name(),
            expected
        );
    }
    let note = format!("{counts} ({}, {}); {}", report.format, report.encoding, rates(&tenths, rows));
    Ok(Outcome { seconds, stopped_after: None, note })
}

/// "rows/s by tenth of the file: 2400 1800 …" from the times each tenth was done.
fn rates(tenths: &[f64], rows: usize) -> String {
    let tenth = rows as f64 / 10.0;
    let mut previous = 0.0;
    let mut rates = Vec::new();
    for &at in tenths {
        rates.push(format!("{:.0}", tenth / (at - previous).max(1e-9)));
        previous = at;
    }
    if rates.is_empty() {
        return "not a tenth of the file was read".into();
    }
    format!("rows/s by tenth of the file: {}", rates.join(" "))
}

/// Counts the bytes and the CSV records of an export as they stream by.
#[derive(Default)]
struct Sink {
    bytes: usize,
    newlines: usize,
    in_quotes: bool,
}

impl Sink {
    fn take(&mut self, chunk: &[u8]) {
        self.bytes += chunk.len();
        for &byte in chunk {
            match byte {
                // Every Outlook cell is quoted and `"` inside is doubled: toggling is enough.
                b'"' => self.in_quotes = !self.in_quotes,
                b'\n' if !self.in_quotes => self.newlines += 1,
                _ => {}
            }
        }
    }
}

/// `App::export` of the shared book, drained as the HTTP response body would be.
async fn export(app: &App, domain: &str, rows: usize) -> Result<Outcome> {
    let started = Instant::now();
    let source = ExportSource::Shared { domain: domain.into() };
    let mut export = app.export(&Caller::System, &source, ExportFormat::OutlookCsv).await.context("exporting")?;
    let mut sink = Sink::default();
    let mut chunks = 0;
    while let Some(chunk) = export.chunks.next().await {
        sink.take(&chunk.context("exporting a page")?);
        chunks += 1;
    }
    let seconds = started.elapsed().as_secs_f64();
    // The header is one record.
    let records = sink.newlines.saturating_sub(1);
    ensure!(records == rows, "the export has {records} contacts, {rows} expected");
    let note = format!("{} ({:.1} MB in {chunks} chunks)", export.file_name, sink.bytes as f64 / 1e6);
    Ok(Outcome { seconds, stopped_after: None, note })
}

/// One back-end's phases.
pub struct Run {
    pub backend: &'static str,
    pub phases: Vec<Measured>,
    pub notes: Vec<String>,
    pub took: Duration,
    /// The 1-minute load average before and after: other processes sharing the cores.
    pub load: (String, String),
}

fn load_average() -> String {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    text.split_whitespace().next().unwrap_or("n/a").to_string()
}

/// Runs every phase against one database, each in a child process; an import phase is
/// stopped after `limit`. `postgres_url` is given for PostgreSQL, which is analysed after
/// each phase as autovacuum would be between imports, and checkpointed (as SQLite is when
/// a phase's process closes the database).
pub async fn run(
    backend: &'static str,
    database: &str,
    postgres_url: Option<&str>,
    file: &CsvFile,
    limit: Option<Duration>,
) -> Result<Run> {
    let started = Instant::now();
    let load_before = load_average();
    let mut phases: Vec<Measured> = Vec::new();
    let mut notes = Vec::new();
    for phase in [Phase::Warm, Phase::Bulk, Phase::Import, Phase::Fill, Phase::Reimport, Phase::Export] {
        let import_stopped = phases.iter().any(|m| m.phase == Phase::Import && m.stopped);
        if phase == Phase::Fill && !import_stopped {
            continue;
        }
        eprintln!("== {backend}: {} of {} rows…", phase.label(), file.rows);
        let measured = child(phase, database, file, limit).await?;
        eprintln!(
            "   {:<28} {:>8.2} s {:>9.0} rows/s  peak RSS {}{}",
            phase.label(),
            measured.seconds,
            measured.per_second(),
            measured.peak_mb.map_or("n/a".into(), |mb| format!("{mb:.0} MB")),
            if measured.stopped {
                format!("  (stopped at the limit after about {} rows)", measured.rows)
            } else {
                "".into()
            }
        );
        if phase == Phase::Warm {
            notes.push(format!(
                "first, untimed against anything: the same bulk insert into a domain of its own ({:.1} s), so both \
                 phases compared find the database warm and as full",
                measured.seconds
            ));
        } else if phase == Phase::Fill {
            notes.push(format!(
                "the import was stopped, so the import domain was filled by bulk insert ({:.1} s) for the re-import and the export",
                measured.seconds
            ));
        } else {
            phases.push(measured);
        }
        if let Some(url) = postgres_url {
            use sqlx::{Connection as _, Executor as _};
            let mut connection = sqlx::PgConnection::connect(url).await?;
            connection.execute("ANALYZE").await?;
            // Each phase starts with no log to write back: the checkpoint a phase's log
            // would bring about (at about half of `max_wal_size`) otherwise falls in the next.
            connection.execute("CHECKPOINT").await?;
            connection.close().await?;
        }
    }
    Ok(Run { backend, phases, notes, took: started.elapsed(), load: (load_before, load_average()) })
}

async fn child(phase: Phase, database: &str, file: &CsvFile, limit: Option<Duration>) -> Result<Measured> {
    let exe = std::env::current_exe()?;
    let limit = limit.map_or(0, |limit| limit.as_secs().max(1)).to_string();
    let output = tokio::process::Command::new(&exe)
        .arg("phase")
        .args(["--phase", phase.name(), "--database", database, "--rows", &file.rows.to_string(), "--limit", &limit])
        .arg("--file")
        .arg(&file.path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .output()
        .await
        .with_context(|| format!("running {}", exe.display()))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!("the {} phase failed ({}){}", phase.name(), output.status, stdout);
    }
    let line = stdout.lines().last().context("the phase printed nothing")?;
    let value: Value = serde_json::from_str(line).with_context(|| format!("the phase printed {line}"))?;
    let mb = |key: &str| value[key].as_f64().map(|kb| kb / 1024.0);
    Ok(Measured {
        phase,
        rows: value["rows"].as_u64().context("rows")? as usize,
        seconds: value["seconds"].as_f64().context("seconds")?,
        stopped: value["stopped"].as_bool().unwrap_or(false),
        peak_mb: mb("peak_kb"),
        peak_anon_mb: mb("peak_anon_kb"),
        start_mb: mb("start_kb"),
        peak_reset: value["peak_reset"].as_bool().unwrap_or(false),
        note: value["note"].as_str().unwrap_or_default().to_string(),
    })
}

/// Where a SQLite database for the benchmark goes: a fresh file in `dir`.
pub fn sqlite_path(dir: &Path) -> Result<String> {
    Ok(dir.join("import.db").to_str().context("a UTF-8 path")?.to_string())
}

/// The import/export section of the report.
pub fn report(runs: &[Run], file: &CsvFile, limit: Option<Duration>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Switchboard import/export benchmark");
    let _ = writeln!(
        out,
        "file: {} generated contacts as an Outlook CSV (English desktop header, UTF-8 with BOM), {:.1} MB, written in {:.1} s; \
         {} rows with a foreign uid in User 1 (looked up, not found), {} with notes",
        file.rows,
        file.bytes as f64 / 1e6,
        file.took.as_secs_f64(),
        file.with_uid,
        file.with_notes
    );
    let _ = writeln!(
        out,
        "method: each phase in a child process (peak RSS = its VmHWM, reset when the timed work starts, which counts \
         the pages of SQLite's memory-mapped file; peak anon = the highest RssAnon, heap and stacks, sampled every 10 ms); \
         import = App::import upsert into the shared book of an empty domain, then the same file again; \
         bulk = Store::import_rows of the same rows into another empty domain of the same database, after a first untimed one into a third (warm-up); \
         export = App::export of the imported domain drained into a byte counter; imports stopped after {}",
        limit.map_or("no limit".to_string(), |limit| format!("{} s", limit.as_secs()))
    );
    let _ = writeln!(
        out,
        "databases: a fresh SQLite file (as the store leaves it; checkpointed when a phase's process closes it); a fresh \
         PostgreSQL database, analysed and checkpointed after each phase (as autovacuum and the checkpointer would be \
         between imports)"
    );
    let mut verdicts = Vec::new();
    for run in runs {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "== {} — import/export phases took {:.1} s; load average {} before, {} after",
            run.backend,
            run.took.as_secs_f64(),
            run.load.0,
            run.load.1
        );
        let _ = writeln!(
            out,
            "{:<28} {:>8} {:>9} {:>9} {:>12} {:>13} {:>12} {:>8}",
            "phase", "rows", "seconds", "rows/s", "peak RSS MB", "peak anon MB", "at start MB", "vs bulk"
        );
        let bulk = run.phases.iter().find(|m| m.phase == Phase::Bulk).map_or(f64::NAN, Measured::per_second);
        let mb = |value: Option<f64>| value.map_or("n/a".to_string(), |mb| format!("{mb:.1}"));
        for measured in &run.phases {
            let bound = if measured.stopped { "≤" } else { "" };
            let ratio = match measured.phase {
                Phase::Export => "-".to_string(),
                _ => format!("{bound}{:.3}", measured.per_second() / bulk),
            };
            let rows = format!("{}{}", if measured.stopped { "~" } else { "" }, measured.rows);
            let reset = if measured.peak_reset { "" } else { "*" };
            let _ = writeln!(
                out,
                "{:<28} {:>8} {:>9.2} {:>9.0} {:>12} {:>13} {:>12} {:>8}",
                format!("{}{}", measured.phase.label(), if measured.stopped { " †" } else { "" }),
                rows,
                measured.seconds,
                measured.per_second(),
                format!("{}{reset}", mb(measured.peak_mb)),
                mb(measured.peak_anon_mb),
                mb(measured.start_mb),
                ratio
            );
        }
        for measured in &run.phases {
            if !measured.note.is_empty() {
                let _ = writeln!(out, "   {}: {}", measured.phase.name(), measured.note);
            }
        }
        for note in &run.notes {
            let _ = writeln!(out, "   {note}");
        }
        if run.phases.iter().any(|m| m.stopped) {
            let _ = writeln!(
                out,
                "   † stopped at the time limit (--import-timeout) and rolled back: rows/s is the rate over the rows done, \
                 an upper bound for the whole file as the rate only falls"
            );
        }
        if run.phases.iter().any(|m| !m.peak_reset) {
            let _ = writeln!(out, "   * the peak could not be reset: it includes the child's set-up");
        }
        for (phase, name) in [(Phase::Import, "import"), (Phase::Reimport, "re-import")] {
            if let Some(measured) = run.phases.iter().find(|m| m.phase == phase) {
                let ratio = measured.per_second() / bulk;
                let status = if ratio >= TARGET_RATIO { "OK" } else { "MISSED" };
                let (sign, why) = if measured.stopped {
                    ("≤", format!(" (stopped at the limit after about {} rows)", measured.rows))
                } else {
                    ("=", String::new())
                };
                verdicts.push(format!(
                    "{}: {name}/bulk ratio {sign} {ratio:.3} (target ≥ {TARGET_RATIO}): {status}{why}",
                    run.backend
                ));
            }
        }
    }
    let _ = writeln!(out);
    for verdict in verdicts {
        let _ = writeln!(out, "{verdict}");
    }
    out
}
