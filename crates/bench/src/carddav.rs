//! CardDAV side by side with Radicale (`--carddav`): one user's own book of 10,000 cards
//! (names, several numbers and emails, addresses, some photos), served by Switchboard
//! in-process and by Radicale (the pinned release, a child process with its own
//! storage folder), each asked the same requests by the same client:
//! - the initial `sync-collection` (empty token, `getetag`), and a delta of 10 changes;
//! - an `addressbook-multiget` of every card with `address-data`;
//! - an `addressbook-query` of the cards whose FN contains a few letters;
//! - creating one card (PUT with `If-None-Match: *`);
//! - a `vdirsyncer sync` of the book into an empty folder (the whole command timed), and
//!   once a round the same sync from a folder holding the same cards, with no server:
//!   vdirsyncer's own cost, a floor under any server's time, which the report takes off
//!   both servers' times to compare what the servers add.
//!
//! Radicale gets the very same vCards: Switchboard's own answers to a multiget, written
//! into Radicale's storage folder as its files (a PUT there costs about 0.4 s a card once
//! the book is large), then read once untimed so that its cache is built. While
//! Switchboard answers the big requests, the live bytes of this process (the server and
//! the client, which keeps nothing of what it streams) are sampled from the allocator.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use base64::Engine;
use futures::StreamExt;
use rand::Rng;
use reqwest::{Client, Method, StatusCode, Url};
use switchboard_app::dav::{DavBook, DavConditions};
use switchboard_app::{App, AppConfig, Caller, UserInput};
use switchboard_server::ServerConfig;
use switchboard_store::Store;
use tokio::process::{Child, Command};
use uuid::Uuid;

use crate::counting::Counting;
use crate::data::{self, Generator};
use crate::measure::millis;
use crate::seed::{self, PASSWORD};

pub const RADICALE_VERSION: &str = "3.9.0";
pub const VDIRSYNCER_VERSION: &str = "0.21.0";
const DOMAIN: &str = "dav.bench.example";
const EXTENSION: &str = "201";
/// The issue's target: Radicale's time over Switchboard's, at least this.
const TARGET_RATIO: f64 = 10.0;
/// Letters the FN-contains query looks for (a few hundred of 10,000 names).
const QUERY_TERM: &str = "son";
/// One card in this many has a photo.
const PHOTO_EVERY: usize = 20;
const CASES: [&str; 6] = [
    "initial sync-collection (getetag)",
    "sync-collection, delta of 10 changes",
    "addressbook-multiget of all (address-data)",
    "addressbook-query, FN contains",
    "vdirsyncer sync into an empty folder",
    "create one card (PUT If-None-Match: *)",
];
/// The vdirsyncer case, also compared above what vdirsyncer costs alone.
const VDIRSYNCER: usize = 4;
/// The cases whose answers hold the whole book, for which Switchboard's memory is sampled.
const BIG: [usize; 3] = [0, 2, 3];

pub struct Options {
    pub cards: usize,
    pub runs: usize,
    pub seed: u64,
}

/// One back-end's figures: per case, Switchboard's times and Radicale's.
pub struct DavRun {
    backend: &'static str,
    notes: Vec<String>,
    times: Vec<[Vec<Duration>; 2]>,
    /// Per case, how far the live bytes rose above where they were before it (Switchboard).
    memory: Vec<isize>,
    /// vdirsyncer alone, folder to folder with the same cards, once a round.
    vdirsyncer_alone: Vec<Duration>,
}

/// Seeds `store` with the book, loads Radicale with the same cards, and times both.
pub async fn run(
    backend: &'static str,
    store: Arc<dyn Store>,
    options: &Options,
    allocator: &'static Counting,
) -> Result<DavRun> {
    let mut notes = Vec::new();
    // One client reads the whole book run after run: the per-user limit on whole-book
    // reads (which keeps one user's apps from starving others) would time the waits.
    let unlimited = switchboard_app::RateLimit { burst: u32::MAX, refill_every: std::time::Duration::from_millis(1) };
    let app =
        App::new(store, AppConfig { dav_book_limit: unlimited, dav_request_limit: unlimited, ..AppConfig::default() });
    let cards = generate(options.cards, options.seed);
    eprintln!("== carddav {backend}: seeding {} cards through CardDAV PUTs in-process…", cards.len());
    let started = Instant::now();
    seed_switchboard(&app, &cards).await?;
    notes.push(seeded_note(&cards, started.elapsed()));

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = Url::parse(&format!("http://{}/", listener.local_addr()?))?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(switchboard_server::serve(listener, app.clone(), ServerConfig::default(), async move {
        let _ = stopped.await;
    }));
    let user = format!("{EXTENSION}@{DOMAIN}");
    let switchboard = Dav::new(base.join(&format!("dav/books/{DOMAIN}/{EXTENSION}/contacts/"))?, &user, PASSWORD)?;
    let result = async {
        // The first read of every card after start: none is written yet (the rendered
        // cards are kept by version, so the timed multigets after it find them).
        let started = Instant::now();
        let served = switchboard.all_cards().await?;
        notes.push(format!(
            "Switchboard's first sync and multiget of all after start, no card written yet: {:.1} ms \
             (with the cards kept as rendered, the timed multigets below find them written)",
            millis(started.elapsed())
        ));
        ensure!(served.len() == cards.len(), "Switchboard serves {} cards of {}", served.len(), cards.len());
        let folder = tempfile::tempdir()?;
        eprintln!("== carddav {backend}: loading Radicale {RADICALE_VERSION} with the same cards");
        let started = Instant::now();
        let radicale = Radicale::start(folder.path(), &served).await?;
        notes.push(format!(
            "Radicale {RADICALE_VERSION}: the same {} vCards written into its storage folder and read once \
             (its cache built) in {:.1} s",
            served.len(),
            started.elapsed().as_secs_f64()
        ));
        let servers = [switchboard.clone(), radicale.client.clone()];
        let measured = measure(&servers, &served, options, allocator, folder.path()).await?;
        notes.push(format!("Radicale's peak resident memory (VmHWM): {}", radicale.peak_memory()));
        Ok(measured)
    }
    .await;
    let _ = stop.send(());
    server.await??;
    let (times, memory, vdirsyncer_alone) = result?;
    Ok(DavRun { backend, notes, times, memory, vdirsyncer_alone })
}

fn seeded_note(cards: &[(String, String)], took: Duration) -> String {
    let bytes: usize = cards.iter().map(|(_, card)| card.len()).sum();
    let photos = cards.iter().filter(|(_, card)| card.contains("PHOTO")).count();
    format!(
        "book: {} cards as PUT ({photos} with a photo, {:.1} MB in all), stored through the app's CardDAV PUT in {:.1} s",
        cards.len(),
        bytes as f64 / 1e6,
        took.as_secs_f64()
    )
}

/// Cards `(name, vCard)`: names as clients make them (`{UID}.vcf`).
fn generate(count: usize, seed: u64) -> Vec<(String, String)> {
    let mut generator = Generator::new(seed ^ 0xca4d);
    (0..count).map(|i| vcard(&mut generator, i)).collect()
}

fn vcard(generator: &mut Generator, i: usize) -> (String, String) {
    const TITLES: [&str; 6] = ["Account Manager", "Engineer", "Director", "Buyer", "Office Manager", "Consultant"];
    const STREETS: [&str; 5] = ["Main St", "Oak Avenue", "Harbor Road", "Pine Street", "Station Square"];
    let uid = Uuid::from_u128(generator.rng().random());
    let name = generator.name();
    let company = generator.company();
    let mut card = format!(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:{uid}\r\nFN:{first} {last}\r\nN:{last};{first};;;\r\nORG:{company}\r\n",
        first = name.first,
        last = name.last
    );
    let rng = generator.rng();
    let title = TITLES[rng.random_range(0..TITLES.len())];
    let (street, site, number) = (
        STREETS[rng.random_range(0..STREETS.len())],
        data::SITES[rng.random_range(0..data::SITES.len())],
        rng.random_range(1..2000),
    );
    let zip = rng.random_range(10_000..99_999);
    let _ = write!(card, "TITLE:{title}\r\nTEL;TYPE=WORK,VOICE:{}\r\n", generator.us_number());
    let _ = write!(card, "TEL;TYPE=CELL:{}\r\n", generator.us_number());
    if generator.rng().random_bool(0.4) {
        let _ = write!(card, "TEL;TYPE=HOME:{}\r\n", generator.us_number());
    }
    let _ = write!(card, "EMAIL;TYPE=INTERNET,WORK:{}\r\n", generator.email(&name.first, &name.last, &company));
    if generator.rng().random_bool(0.5) {
        let _ = write!(card, "EMAIL;TYPE=INTERNET,HOME:{}\r\n", generator.email(&name.first, &name.last, ""));
    }
    let _ = write!(card, "ADR;TYPE=WORK:;;{number} {street};{site};;{zip};USA\r\n");
    if generator.rng().random_bool(0.2) {
        let _ = write!(card, "NOTE:Met at the {site} trade fair\\, call before noon.\r\n");
    }
    if i.is_multiple_of(PHOTO_EVERY) {
        card.push_str(&folded(&format!("PHOTO;ENCODING=b;TYPE=JPEG:{}", fake_jpeg(generator))));
    }
    card.push_str("END:VCARD\r\n");
    (format!("{uid}.vcf"), card)
}

/// A few kilobytes that are a JPEG as far as its signature goes (what the server checks).
fn fake_jpeg(generator: &mut Generator) -> String {
    let size = generator.rng().random_range(2_000..6_000);
    let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00];
    bytes.extend((0..size).map(|_| generator.rng().random::<u8>()));
    bytes.extend([0xFF, 0xD9]);
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A content line folded at 75 octets (the line is ASCII).
fn folded(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + line.len() / 37);
    for (i, chunk) in line.as_bytes().chunks(74).enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(std::str::from_utf8(chunk).expect("ASCII"));
        out.push_str("\r\n");
    }
    out
}

/// The domain, the user (and a few coworkers), and the cards PUT in-process, four at a time.
async fn seed_switchboard(app: &App, cards: &[(String, String)]) -> Result<()> {
    seed::create_domain(app, DOMAIN).await?;
    let mut generator = Generator::new(7);
    for extension in 200..220 {
        let name = generator.name();
        let input = UserInput {
            extension: extension.to_string(),
            email: format!("{}.{extension}@{DOMAIN}", data::ascii_word(&name.last)),
            first_name: name.first,
            last_name: name.last,
            department: "Sales".into(),
            site: "Seattle".into(),
            scope: Some("basic-user".into()),
            listed: Some(true),
            password: Some(PASSWORD.into()),
        };
        app.create_user(&Caller::System, DOMAIN, input).await.context("creating a user")?;
    }
    let caller = app.dav_login(&format!("{EXTENSION}@{DOMAIN}"), PASSWORD, None).await?;
    let conditions = DavConditions { if_match: None, if_none_match_any: true };
    let mut puts = futures::stream::iter(cards)
        .map(|(name, card)| {
            let (caller, conditions) = (&caller, &conditions);
            async move {
                app.dav_put(caller, DavBook::Contacts, name, card.as_bytes(), conditions)
                    .await
                    .with_context(|| name.clone())
            }
        })
        .buffer_unordered(4);
    while let Some(put) = puts.next().await {
        put?;
    }
    Ok(())
}

/// The client both servers are asked through: one keep-alive connection, Basic auth.
#[derive(Clone)]
struct Dav {
    client: Client,
    book: Url,
    user: String,
    password: String,
}

/// What an answer held, as far as it was kept.
#[derive(Default)]
struct Answer {
    /// Responses with a card (an ETag).
    responses: usize,
    /// The start of every other response.
    others: Vec<String>,
    hrefs: Vec<String>,
    /// `(href, vCard)`, only when asked.
    cards: Vec<(String, String)>,
    token: Option<String>,
}

impl Dav {
    fn new(book: Url, user: &str, password: &str) -> Result<Dav> {
        let client =
            Client::builder().tcp_nodelay(true).pool_max_idle_per_host(1).timeout(Duration::from_secs(600)).build()?;
        Ok(Dav { client, book, user: user.into(), password: password.into() })
    }

    fn request(&self, method: &str, url: Url) -> Result<reqwest::RequestBuilder> {
        let method = Method::from_bytes(method.as_bytes())?;
        Ok(self.client.request(method, url).basic_auth(&self.user, Some(&self.password)))
    }

    /// A REPORT on the book, its multistatus read as it streams in: each `response` is
    /// read and dropped, keeping only what `keep_cards` asks for.
    async fn report(&self, body: String, keep_cards: bool) -> Result<Answer> {
        let request = self.request("REPORT", self.book.clone())?.header("depth", "1");
        let mut answer = request.header("content-type", "application/xml; charset=utf-8").body(body).send().await?;
        let status = answer.status();
        if status != StatusCode::MULTI_STATUS {
            bail!("REPORT {} answered {status}: {}", self.book, answer.text().await?);
        }
        let mut read = Answer::default();
        let mut pending: Vec<u8> = Vec::new();
        while let Some(chunk) = answer.chunk().await? {
            pending.extend_from_slice(&chunk);
            let mut done = 0;
            while let Some(end) = response_end(&pending[done..]) {
                let block = std::str::from_utf8(&pending[done..done + end])?;
                // Radicale writes the token before the responses, Switchboard after them.
                if read.token.is_none() {
                    read.token = texts(block, "sync-token").first().map(|t| unescape(t));
                }
                // A card has an ETag; anything else is set aside.
                if texts(block, "getetag").is_empty() {
                    read.others.push(block.chars().take(300).collect());
                    done += end;
                    continue;
                }
                read.responses += 1;
                let href = texts(block, "href").first().map(|h| h.trim().to_string()).unwrap_or_default();
                if keep_cards && let Some(card) = texts(block, "address-data").first() {
                    read.cards.push((href.clone(), unescape(card)));
                }
                read.hrefs.push(href);
                done += end;
            }
            pending.drain(..done);
        }
        if read.token.is_none() {
            read.token = texts(std::str::from_utf8(&pending)?, "sync-token").first().map(|t| unescape(t));
        }
        Ok(read)
    }

    async fn sync(&self, token: &str) -> Result<Answer> {
        self.report(sync_body(token), false).await
    }

    async fn multiget(&self, hrefs: &[String], keep_cards: bool) -> Result<Answer> {
        let mut body = String::from(
            r#"<?xml version="1.0" encoding="utf-8"?><C:addressbook-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/><C:address-data/></D:prop>"#,
        );
        for href in hrefs {
            let _ = write!(body, "<D:href>{href}</D:href>");
        }
        body.push_str("</C:addressbook-multiget>");
        self.report(body, keep_cards).await
    }

    async fn query(&self, term: &str) -> Result<Answer> {
        let body = format!(
            r#"<?xml version="1.0" encoding="utf-8"?><C:addressbook-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/><C:address-data/></D:prop><C:filter test="anyof"><C:prop-filter name="FN"><C:text-match collation="i;unicode-casemap" match-type="contains">{term}</C:text-match></C:prop-filter></C:filter></C:addressbook-query>"#
        );
        self.report(body, false).await
    }

    /// Every card of the book: `(name, vCard)`.
    async fn all_cards(&self) -> Result<Vec<(String, String)>> {
        let listed = self.sync("").await?;
        let read = self.multiget(&listed.hrefs, true).await?;
        let named =
            read.cards.into_iter().map(|(href, card)| (href.rsplit('/').next().unwrap_or("").to_string(), card));
        Ok(named.collect())
    }

    /// PUTs a card; `create` sends `If-None-Match: *`. Answers with the status.
    async fn put(&self, name: &str, card: &str, create: bool) -> Result<StatusCode> {
        let mut request =
            self.request("PUT", self.book.join(name)?)?.header("content-type", "text/vcard; charset=utf-8");
        if create {
            request = request.header("if-none-match", "*");
        }
        let answer = request.body(card.to_string()).send().await?;
        let status = answer.status();
        let text = answer.text().await?;
        ensure!(status.is_success(), "PUT {name} answered {status}: {text}");
        Ok(status)
    }

    async fn delete(&self, name: &str) -> Result<()> {
        let answer = self.request("DELETE", self.book.join(name)?)?.send().await?;
        let status = answer.status();
        ensure!(status.is_success(), "DELETE {name} answered {status}: {}", answer.text().await?);
        Ok(())
    }
}

fn sync_body(token: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?><D:sync-collection xmlns:D="DAV:"><D:sync-token>{token}</D:sync-token><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>"#
    )
}

/// Where the first `response` element of `xml` ends (just past its closing tag).
fn response_end(xml: &[u8]) -> Option<usize> {
    const NAME: &[u8] = b"response>";
    let mut from = 0;
    while let Some(at) = xml[from..].windows(NAME.len()).position(|w| w == NAME) {
        let at = from + at;
        // A closing tag: `</response>` or `</d:response>`.
        let open = xml[..at].iter().rposition(|&b| b == b'<')?;
        if xml.get(open + 1) == Some(&b'/') {
            return Some(at + NAME.len());
        }
        from = at + NAME.len();
    }
    None
}

/// The texts of the elements of local name `local` in `xml` (whatever their prefix).
fn texts<'a>(xml: &'a str, local: &str) -> Vec<&'a str> {
    let mut found = Vec::new();
    let mut rest = xml;
    while let Some(open) = rest.find('<') {
        let after = &rest[open + 1..];
        let Some(end) = after.find('>') else { break };
        let tag = &after[..end];
        let name = tag.split(|c: char| c.is_whitespace() || c == '/').next().unwrap_or_default();
        let body = &after[end + 1..];
        if !tag.starts_with('/') && !tag.ends_with('/') && name.rsplit(':').next() == Some(local) {
            found.push(&body[..body.find('<').unwrap_or(body.len())]);
        }
        rest = body;
    }
    found
}

/// XML text with its entities and character references replaced.
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let Some(end) = rest[at..].find(';') else { break };
        let entity = &rest[at + 1..at + end];
        let decoded = match entity {
            "lt" => Some('<'),
            "gt" => Some('>'),
            "amp" => Some('&'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .map(|hex| u32::from_str_radix(hex, 16))
                .or_else(|| entity.strip_prefix('#').map(str::parse))
                .and_then(Result::ok)
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => out.push(c),
            None => out.push_str(&rest[at..=at + end]),
        }
        rest = &rest[at + end + 1..];
    }
    out.push_str(rest);
    out
}

/// A program of the pinned virtualenv, which `scripts/carddav-tools` makes on first use.
fn tools_command(program: &str) -> Command {
    let mut command = Command::new(PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/carddav-tools")));
    command.arg(program);
    command
}

/// Radicale serving a copy of the cards from a storage folder of its own.
struct Radicale {
    process: Child,
    client: Dav,
}

impl Radicale {
    async fn start(folder: &Path, cards: &[(String, String)]) -> Result<Radicale> {
        let book = folder.join("collections/collection-root/bench/contacts");
        std::fs::create_dir_all(&book)?;
        std::fs::write(book.join(".Radicale.props"), r#"{"D:displayname": "contacts", "tag": "VADDRESSBOOK"}"#)?;
        for (name, card) in cards {
            std::fs::write(book.join(name), card)?;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let config = folder.join("radicale.conf");
        std::fs::write(
            &config,
            format!(
                "[server]\nhosts = 127.0.0.1:{port}\n[auth]\ntype = none\n[rights]\ntype = owner_only\n\
                 [storage]\nfilesystem_folder = {}\n[web]\ntype = none\n[logging]\nlevel = warning\n",
                folder.join("collections").display()
            ),
        )?;
        let process = tools_command("radicale")
            .arg("--config")
            .arg(&config)
            .stdout(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("starting Radicale through scripts/carddav-tools")?;
        let started = Instant::now();
        while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            ensure!(started.elapsed() < Duration::from_secs(300), "Radicale did not listen on {port} within 300 s");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let client = Dav::new(Url::parse(&format!("http://127.0.0.1:{port}/bench/contacts/"))?, "bench", "bench")?;
        // Its first read of the book builds its cache; the timed ones meet it built.
        let listed = client.sync("").await?;
        ensure!(listed.responses == cards.len(), "Radicale lists {} cards of {}", listed.responses, cards.len());
        client.multiget(&listed.hrefs, false).await?;
        Ok(Radicale { process, client })
    }

    fn peak_memory(&self) -> String {
        let status = self.process.id().and_then(|pid| std::fs::read_to_string(format!("/proc/{pid}/status")).ok());
        let line = status.as_deref().and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(str::to_string));
        line.map_or("unknown".into(), |l| l.trim_start_matches("VmHWM:").trim().to_string())
    }
}

/// Samples the allocator's live bytes on a thread of its own while a request runs.
struct Sampler {
    floor: isize,
    highest: Arc<AtomicIsize>,
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<()>,
}

impl Sampler {
    fn start(allocator: &'static Counting) -> Sampler {
        let floor = allocator.live_bytes();
        let highest = Arc::new(AtomicIsize::new(floor));
        let stop = Arc::new(AtomicBool::new(false));
        let (h, s) = (highest.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                h.fetch_max(allocator.live_bytes(), Ordering::Relaxed);
                std::thread::sleep(Duration::from_micros(200));
            }
        });
        Sampler { floor, highest, stop, thread }
    }

    /// How far the live bytes rose above where they started.
    fn finish(self) -> isize {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.thread.join();
        self.highest.load(Ordering::Relaxed) - self.floor
    }
}

/// Every case on both servers, round after round (Switchboard then Radicale each time).
async fn measure(
    servers: &[Dav; 2],
    cards: &[(String, String)],
    options: &Options,
    allocator: &'static Counting,
    scratch: &Path,
) -> Result<(Vec<[Vec<Duration>; 2]>, Vec<isize>, Vec<Duration>)> {
    let mut times: Vec<[Vec<Duration>; 2]> = CASES.iter().map(|_| [Vec::new(), Vec::new()]).collect();
    let mut alone = Vec::new();
    let mut memory = vec![0isize; CASES.len()];
    let mut expected_query = None;
    let mut generator = Generator::new(options.seed ^ 0x9e3);
    for round in 0..options.runs {
        for (which, server) in servers.iter().enumerate() {
            let mut timed = |case: usize, took: Duration| times[case][which].push(took);
            let sample = |which| (which == 0).then(|| Sampler::start(allocator));
            let who = if which == 0 { "Switchboard" } else { "Radicale" };

            let sampler = sample(which);
            let started = Instant::now();
            let all = server.sync("").await?;
            timed(0, started.elapsed());
            ensure!(
                all.responses == cards.len(),
                "{who}: the initial sync told {} cards, and {:?}",
                all.responses,
                all.others
            );
            let token = all.token.clone().with_context(|| format!("{who}: no sync token"))?;
            if let Some(s) = sampler {
                memory[0] = memory[0].max(s.finish());
            }

            // Ten cards changed, then the changes since the token.
            for k in 0..10 {
                let (name, card) = &cards[(round * 10 + k) * 97 % cards.len()];
                let changed = card.replace("END:VCARD", &format!("NOTE:changed in round {round}\r\nEND:VCARD"));
                server.put(name, &changed, false).await?;
            }
            let started = Instant::now();
            let delta = server.sync(&token).await?;
            timed(1, started.elapsed());
            ensure!(delta.responses == 10, "{who}: the delta told {} changes, not 10", delta.responses);

            let sampler = sample(which);
            let started = Instant::now();
            let read = server.multiget(&all.hrefs, false).await?;
            timed(2, started.elapsed());
            ensure!(read.responses == cards.len(), "{who}: the multiget answered {} cards", read.responses);
            if let Some(s) = sampler {
                memory[2] = memory[2].max(s.finish());
            }

            let sampler = sample(which);
            let started = Instant::now();
            let found = server.query(QUERY_TERM).await?;
            timed(3, started.elapsed());
            if let Some(s) = sampler {
                memory[3] = memory[3].max(s.finish());
            }
            let expected = *expected_query.get_or_insert(found.responses);
            ensure!(found.responses == expected, "{who}: the query found {}, not {expected}", found.responses);

            timed(VDIRSYNCER, vdirsyncer(server, scratch, cards.len()).await?);

            let (name, card) = vcard(&mut generator, 1);
            let started = Instant::now();
            let status = server.put(&name, &card, true).await?;
            timed(5, started.elapsed());
            ensure!(status == StatusCode::CREATED, "{who}: creating a card answered {status}");
            server.delete(&name).await?;
        }
        alone.push(vdirsyncer_alone(cards, scratch).await?);
        eprintln!("   round {}/{} timed", round + 1, options.runs);
    }
    Ok((times, memory, alone))
}

/// `vdirsyncer sync` of the book into an empty folder, after an untimed `discover`.
async fn vdirsyncer(server: &Dav, scratch: &Path, expected: usize) -> Result<Duration> {
    let remote = format!(
        "type = \"carddav\"\nurl = \"{url}\"\nusername = \"{user}\"\npassword = \"{password}\"\n",
        url = server.book,
        user = server.user,
        password = server.password
    );
    vdirsyncer_from(&remote, &scratch.join("vdirsyncer"), expected).await
}

/// What vdirsyncer itself costs, the floor under any server's time: the same cards
/// synced from a folder (one `.vcf` file each) into an empty folder, with no server.
async fn vdirsyncer_alone(cards: &[(String, String)], scratch: &Path) -> Result<Duration> {
    let source = scratch.join("vdirsyncer-source");
    let _ = std::fs::remove_dir_all(&source);
    std::fs::create_dir_all(&source)?;
    for (name, card) in cards {
        std::fs::write(source.join(name), card)?;
    }
    let remote = format!("type = \"filesystem\"\npath = \"{}\"\nfileext = \".vcf\"\n", source.display());
    vdirsyncer_from(&remote, &scratch.join("vdirsyncer-alone"), cards.len()).await
}

/// `vdirsyncer sync` from the storage `remote` (its configuration lines) into an empty
/// folder under `dir`, timed, after an untimed `discover`.
async fn vdirsyncer_from(remote: &str, dir: &Path, expected: usize) -> Result<Duration> {
    let _ = std::fs::remove_dir_all(dir);
    let cards = dir.join("cards");
    std::fs::create_dir_all(&cards)?;
    let config = dir.join("config");
    std::fs::write(
        &config,
        format!(
            "[general]\nstatus_path = \"{status}\"\n\n[pair book]\na = \"local\"\nb = \"remote\"\ncollections = null\n\n\
             [storage local]\ntype = \"filesystem\"\npath = \"{cards}\"\nfileext = \".vcf\"\n\n\
             [storage remote]\n{remote}",
            status = dir.join("status").display(),
            cards = cards.display(),
        ),
    )?;
    let run = |step: &str| {
        let mut command = tools_command("vdirsyncer");
        command.arg("-c").arg(&config).arg(step).stdin(std::process::Stdio::null());
        command
    };
    let discovered = run("discover").output().await?;
    ensure!(discovered.status.success(), "vdirsyncer discover: {}", String::from_utf8_lossy(&discovered.stderr));
    let started = Instant::now();
    let synced = run("sync").output().await?;
    let took = started.elapsed();
    ensure!(synced.status.success(), "vdirsyncer sync: {}", String::from_utf8_lossy(&synced.stderr));
    let copied = std::fs::read_dir(&cards)?.count();
    ensure!(copied == expected, "vdirsyncer copied {copied} cards of {expected}");
    Ok(took)
}

/// Nearest-rank percentile, in milliseconds.
fn percentile(times: &[Duration], share: f64) -> f64 {
    let mut sorted = times.to_vec();
    sorted.sort_unstable();
    let rank = ((sorted.len() as f64 * share).ceil() as usize).clamp(1, sorted.len().max(1));
    sorted.get(rank - 1).map_or(f64::NAN, |d| millis(*d))
}

pub fn report(runs: &[DavRun], options: &Options) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Switchboard CardDAV benchmark, side by side with Radicale {RADICALE_VERSION}");
    let _ = writeln!(
        out,
        "data: one user's own book of {} generated cards (names, 2-3 numbers, 1-2 emails, an address, \
         a photo in every {PHOTO_EVERY}th); the query looks for FN containing `{QUERY_TERM}`",
        options.cards
    );
    let _ = writeln!(
        out,
        "method: the same reqwest client for both (one keep-alive connection, Basic auth, answers streamed and \
         dropped), {} rounds, each case on Switchboard (in-process) then on Radicale (a child process); \
         vdirsyncer {VDIRSYNCER_VERSION}: the whole `vdirsyncer sync` command; the machine is shared, \
         so compare the ratios",
        options.runs
    );
    for run in runs {
        let _ = writeln!(out, "\n== {}", run.backend);
        for note in &run.notes {
            let _ = writeln!(out, "   {note}");
        }
        let _ = writeln!(
            out,
            "{:<44} {:>11} {:>9} {:>13} {:>9} {:>8}  target ≥{TARGET_RATIO}×",
            "case (ms)", "Switchboard", "p90", "Radicale", "p90", "ratio"
        );
        for (case, [ours, theirs]) in CASES.iter().zip(&run.times) {
            let (median, radicale) = (percentile(ours, 0.5), percentile(theirs, 0.5));
            let ratio = radicale / median;
            let status = if ratio >= TARGET_RATIO { "OK" } else { "MISSED" };
            let _ = writeln!(
                out,
                "{case:<44} {median:>11.1} {:>9.1} {radicale:>13.1} {:>9.1} {ratio:>7.1}×  {status}",
                percentile(ours, 0.9),
                percentile(theirs, 0.9)
            );
        }
        let floor = percentile(&run.vdirsyncer_alone, 0.5);
        let [ours, theirs] = [0, 1].map(|which| percentile(&run.times[VDIRSYNCER][which], 0.5) - floor);
        let shares = match ours > 0.0 {
            true => format!("Switchboard's share {ours:.1} ms, Radicale's {theirs:.1} ms: {:.1}×", theirs / ours),
            false => format!("Switchboard's share is within the floor's noise, Radicale's is {theirs:.1} ms"),
        };
        let _ = writeln!(
            out,
            "   vdirsyncer alone (folder to folder, the same cards, no server) takes {floor:.1} ms, a floor under \
             any server's time; above it, {shares}"
        );
        let rises: Vec<String> =
            BIG.iter().map(|&case| format!("{} {:.1} MB", CASES[case], run.memory[case] as f64 / 1e6)).collect();
        let _ = writeln!(out, "   Switchboard's live bytes (server and client) rose at most: {}", rises.join("; "));
    }
    out
}
