//! The live directory's figures (`--live`), on the seeded domain (100,000 shared contacts,
//! 2,000 users), served in-process:
//! - the directory feed: a catch-up of 10 changes (p50/p99 over many reads), and a whole
//!   first read page by page (its time, and how far the allocator's live bytes rose);
//! - 1,000 event streams open at once, one per user: how long a presence change takes to
//!   reach every one of them, and a chat message its reader, each timed from the moment
//!   the change's request was sent.
//!
//! The client runs on the same two cores as the server, so every figure includes reading
//! 1,000 streams; the targets (p99 under 100 ms for the streams, 5 ms for the catch-up)
//! are checked against these figures.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use reqwest::{Client, Url};
use serde_json::{Value, json};
use switchboard_app::{App, AppConfig, Caller};
use switchboard_server::ServerConfig;
use switchboard_store::Store;
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::counting;
use crate::seed::{self, Plan, Seeded};

/// Event streams held open at once, each by its own user.
const STREAMS: usize = 1_000;
/// Presence changes timed, each to all the streams.
const PRESENCE_CHANGES: usize = 20;
/// Chat messages timed.
const MESSAGES: usize = 200;
/// Catch-ups of 10 changes timed.
const CATCH_UPS: usize = 300;
const TARGET_STREAM_P99_MS: f64 = 100.0;
const TARGET_CATCH_UP_P99_MS: f64 = 5.0;

pub struct LiveRun {
    backend: &'static str,
    notes: Vec<String>,
    catch_up: Vec<Duration>,
    presence: Vec<Duration>,
    chat: Vec<Duration>,
}

/// Seeds a domain on `store`, serves it and takes the figures.
pub async fn run(
    backend: &'static str,
    store: Arc<dyn Store>,
    plan: &Plan,
    seed: u64,
    allocator: &'static counting::Counting,
) -> Result<LiveRun> {
    eprintln!("== live {backend}: seeding {} shared contacts and {} users…", plan.contacts, plan.users);
    let app = App::new(store, AppConfig::default());
    let seeded = seed::seed(&app, plan, seed).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = Url::parse(&format!("http://{}/", listener.local_addr()?))?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(switchboard_server::serve(listener, app.clone(), ServerConfig::default(), async move {
        let _ = stopped.await;
    }));
    let people = People::new(&app, &seeded, STREAMS + PRESENCE_CHANGES + 1).await?;
    let client = Client::builder().tcp_nodelay(true).timeout(Duration::from_secs(60)).build()?;
    let mut notes = Vec::new();
    eprintln!("== live {backend}: reading the whole feed, then catching up");
    notes.push(full_read(&client, &base, &seeded, &people, allocator).await?);
    let catch_up = catch_ups(&app, &client, &base, &seeded, &people).await?;
    eprintln!("== live {backend}: opening {STREAMS} event streams");
    let (heard, streams) = open_streams(&base, &people).await?;
    let mut heard = heard;
    notes.push(settle(&mut heard).await);
    let presence = presence_fan_out(&client, &base, &seeded, &people, &mut heard).await?;
    let chat = chat_delivery(&client, &base, &seeded, &people, &mut heard).await?;
    for stream in streams {
        stream.abort();
    }
    let _ = stop.send(());
    server.await??;
    Ok(LiveRun { backend, notes, catch_up, presence, chat })
}

/// The seeded users the run acts as: extension, id and an API token each.
struct People {
    users: Vec<(String, Uuid, String)>,
    viewer_token: String,
}

impl People {
    async fn new(app: &App, seeded: &Seeded, count: usize) -> Result<People> {
        let domain = app.store().domain_by_name(&seeded.domain.parse().map_err(anyhow::Error::msg)?).await?;
        let domain = domain.context("the seeded domain")?;
        let mut users = Vec::new();
        let token = |user| async move { app.create_api_token(&Caller::System, &user, "bench").await };
        for i in 0.. {
            if users.len() == count {
                break;
            }
            let ext = format!("{}", 1000 + i);
            if ext == seeded.viewer_extension {
                continue;
            }
            let user = app.store().user_by_extension(domain.id, &ext.parse().map_err(anyhow::Error::msg)?).await?;
            let user = user.with_context(|| format!("seeded user {ext}"))?;
            // Unlisted users are not in the others' directories: they would hear less.
            if !user.listed {
                continue;
            }
            let id = user.id;
            users.push((ext, id, token(user).await?.secret));
        }
        let viewer_ext = seeded.viewer_extension.parse().map_err(anyhow::Error::msg)?;
        let viewer = app.store().user_by_extension(domain.id, &viewer_ext).await?.context("the viewer")?;
        let viewer_token = token(viewer).await?.secret;
        Ok(People { users, viewer_token })
    }
}

fn feed_url(base: &Url, seeded: &Seeded, cursor: Option<&str>) -> Result<Url> {
    let mut url =
        base.join(&format!("api/v1/domains/{}/users/{}/directory/changes", seeded.domain, seeded.viewer_extension))?;
    url.query_pairs_mut().append_pair("limit", "500");
    if let Some(cursor) = cursor {
        url.query_pairs_mut().append_pair("cursor", cursor);
    }
    Ok(url)
}

async fn get(client: &Client, url: Url, token: &str) -> Result<Value> {
    let answer = client.get(url).bearer_auth(token).send().await?;
    if !answer.status().is_success() {
        bail!("GET answered {}: {}", answer.status(), answer.text().await?);
    }
    Ok(answer.json().await?)
}

/// The whole directory through the feed, page after page: how long, how many, and how far
/// the process's live bytes rose above where they started (the pages are dropped as read).
async fn full_read(
    client: &Client,
    base: &Url,
    seeded: &Seeded,
    people: &People,
    allocator: &counting::Counting,
) -> Result<String> {
    let started = Instant::now();
    let floor = allocator.live_bytes();
    let (mut pages, mut highest) = (0, 0isize);
    // An entry and the viewer's star on it may come in two pages: count each once.
    let mut seen = std::collections::HashSet::with_capacity(seeded.directory_texts.len());
    let mut cursor: Option<String> = None;
    loop {
        let page = get(client, feed_url(base, seeded, cursor.as_deref())?, &people.viewer_token).await?;
        for change in page["changes"].as_array().context("changes")? {
            seen.insert(change["entry_id"].as_str().and_then(|id| id.parse::<Uuid>().ok()).context("an entry id")?);
        }
        pages += 1;
        highest = highest.max(allocator.live_bytes() - floor);
        cursor = page["next_cursor"].as_str().map(str::to_string);
        if page["has_more"] != true {
            break;
        }
    }
    let (entries, expected) = (seen.len(), seeded.directory_texts.len());
    ensure!(entries == expected, "the feed's first read gave {entries} entries, the directory has {expected}");
    Ok(format!(
        "feed, whole first read: {entries} entries in {pages} pages of 500, {:.2} s; live bytes (the reader's set of ids included) rose at most {:.1} MB",
        started.elapsed().as_secs_f64(),
        highest as f64 / 1e6
    ))
}

/// Ten presence changes (ten coworkers, in turn), then one timed read of the feed from
/// the cursor before them, which must tell them.
async fn catch_ups(app: &App, client: &Client, base: &Url, seeded: &Seeded, people: &People) -> Result<Vec<Duration>> {
    let head = get(client, feed_url(base, seeded, None)?, &people.viewer_token).await?;
    let mut cursor = head["next_cursor"].as_str().context("a cursor")?.to_string();
    // The end of the first read: follow it to where the feed is now.
    loop {
        let page = get(client, feed_url(base, seeded, Some(&cursor))?, &people.viewer_token).await?;
        cursor = page["next_cursor"].as_str().context("a cursor")?.to_string();
        if page["has_more"] != true {
            break;
        }
    }
    let mut times = Vec::with_capacity(CATCH_UPS);
    for round in 0..CATCH_UPS {
        for i in 0..10 {
            let (ext, ..) = &people.users[(round * 10 + i) % people.users.len()];
            let state = if round % 2 == 0 { "busy" } else { "available" };
            let input = switchboard_app::PresenceInput { state: state.into(), ..Default::default() };
            app.set_presence(&Caller::System, &seeded.domain, ext, input).await?;
        }
        let url = feed_url(base, seeded, Some(&cursor))?;
        let started = Instant::now();
        let page = get(client, url, &people.viewer_token).await?;
        times.push(started.elapsed());
        let told = page["changes"].as_array().map_or(0, Vec::len);
        ensure!(told == 10, "a catch-up told {told} changes, not 10: {page}");
        cursor = page["next_cursor"].as_str().context("a cursor")?.to_string();
    }
    Ok(times)
}

/// An event a stream heard: which stream, its name and data, and when.
type Heard = (usize, String, Value, Instant);

/// Opens one event stream per user; each stream's task sends every event it reads.
async fn open_streams(
    base: &Url,
    people: &People,
) -> Result<(mpsc::UnboundedReceiver<Heard>, Vec<tokio::task::JoinHandle<()>>)> {
    let (send, heard) = mpsc::unbounded_channel();
    // No timeout: the streams last the whole run.
    let client = Client::builder().tcp_nodelay(true).build()?;
    let mut tasks = Vec::new();
    for (index, (_, _, token)) in people.users.iter().take(STREAMS).enumerate() {
        let mut answer = client.get(base.join("api/v1/events")?).bearer_auth(token).send().await?;
        ensure!(answer.status().is_success(), "an event stream answered {}", answer.status());
        let send = send.clone();
        tasks.push(tokio::spawn(async move {
            let mut buffer = String::new();
            while let Ok(Some(chunk)) = answer.chunk().await {
                let at = Instant::now();
                buffer.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(end) = buffer.find("\n\n") {
                    let block: String = buffer.drain(..end + 2).collect();
                    if let Some((name, data)) = parse_event(&block) {
                        let _ = send.send((index, name, data, at));
                    }
                }
            }
        }));
    }
    Ok((heard, tasks))
}

fn parse_event(block: &str) -> Option<(String, Value)> {
    let mut name = None;
    let mut data = String::new();
    for line in block.lines() {
        if let Some(value) = line.strip_prefix("event:") {
            name = Some(value.trim().to_string());
        } else if let Some(value) = line.strip_prefix("data:") {
            data.push_str(value.trim_start());
        }
    }
    Some((name?, serde_json::from_str(&data).ok()?))
}

/// Waits until the streams have been quiet for two seconds (opening them makes their
/// users available to chat, which every stream hears), and says how much that was.
async fn settle(heard: &mut mpsc::UnboundedReceiver<Heard>) -> String {
    let started = Instant::now();
    let mut count = 0usize;
    while let Ok(Some(_)) = tokio::time::timeout(Duration::from_secs(2), heard.recv()).await {
        count += 1;
    }
    format!(
        "{STREAMS} event streams opened; the presence events their opening caused ({count} deliveries) were heard in {:.1} s",
        started.elapsed().as_secs_f64() - 2.0
    )
}

/// Presence changes of users without a stream: each must reach all the streams.
async fn presence_fan_out(
    client: &Client,
    base: &Url,
    seeded: &Seeded,
    people: &People,
    heard: &mut mpsc::UnboundedReceiver<Heard>,
) -> Result<Vec<Duration>> {
    let mut times = Vec::new();
    for (round, (ext, id, token)) in people.users.iter().skip(STREAMS).take(PRESENCE_CHANGES).enumerate() {
        let url = base.join(&format!("api/v1/domains/{}/users/{ext}/presence", seeded.domain))?;
        let state = if round % 2 == 0 { "busy" } else { "available" };
        let sent = Instant::now();
        let answer = client.put(url).bearer_auth(token).json(&json!({ "state": state })).send().await?;
        ensure!(answer.status().is_success(), "a presence change answered {}", answer.status());
        let mut reached = vec![false; STREAMS];
        let mut left = STREAMS;
        while left > 0 {
            let (stream, name, data, at) = next_heard(heard, "a presence change to every stream").await?;
            if name == "presence" && data["user_id"] == id.to_string() && !reached[stream] {
                reached[stream] = true;
                left -= 1;
                times.push(at - sent);
            }
        }
    }
    Ok(times)
}

/// Messages between users with streams (a different pair each time): each timed until
/// its reader's stream hears it.
async fn chat_delivery(
    client: &Client,
    base: &Url,
    seeded: &Seeded,
    people: &People,
    heard: &mut mpsc::UnboundedReceiver<Heard>,
) -> Result<Vec<Duration>> {
    let mut times = Vec::new();
    for round in 0..MESSAGES {
        let (from, to) = (round % STREAMS, (round * 7 + 1) % STREAMS);
        let to = if to == from { (to + 1) % STREAMS } else { to };
        let (from_ext, _, token) = &people.users[from];
        let (to_ext, ..) = &people.users[to];
        let url = base.join(&format!("api/v1/domains/{}/users/{from_ext}/chats/{to_ext}/messages", seeded.domain))?;
        let sent = Instant::now();
        let answer =
            client.post(url).bearer_auth(token).json(&json!({ "text": format!("ping {round}") })).send().await?;
        ensure!(answer.status().is_success(), "a message answered {}: {}", answer.status(), answer.text().await?);
        loop {
            let (stream, name, _, at) = next_heard(heard, "a message to its reader").await?;
            if name == "chat" && stream == to {
                times.push(at - sent);
                break;
            }
        }
    }
    Ok(times)
}

/// The next event any stream heard; an error after 30 s of silence.
async fn next_heard(heard: &mut mpsc::UnboundedReceiver<Heard>, waiting_for: &str) -> Result<Heard> {
    tokio::time::timeout(Duration::from_secs(30), heard.recv())
        .await
        .with_context(|| format!("waited 30 s for {waiting_for}"))?
        .context("the streams ended")
}

fn percentile(times: &[Duration], share: f64) -> f64 {
    let mut sorted = times.to_vec();
    sorted.sort_unstable();
    let index = ((sorted.len() as f64 * share).ceil() as usize).clamp(1, sorted.len().max(1)) - 1;
    sorted.get(index).map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0)
}

fn line(out: &mut String, what: &str, times: &[Duration], target_ms: f64) {
    let p99 = percentile(times, 0.99);
    let status = if p99 < target_ms { "OK" } else { "MISSED" };
    let _ = writeln!(
        out,
        "   {what:<52} p50 {:>7.2} ms  p99 {p99:>7.2} ms  ({} samples; target p99 < {target_ms} ms: {status})",
        percentile(times, 0.5),
        times.len()
    );
}

pub fn report(runs: &[LiveRun], plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Switchboard live directory benchmark");
    let _ = writeln!(
        out,
        "data: {} with {} shared contacts and {} users; {STREAMS} event streams of {STREAMS} users, \
         client and server on the same machine",
        plan.domain, plan.contacts, plan.users
    );
    for run in runs {
        let _ = writeln!(out, "\n== {}", run.backend);
        for note in &run.notes {
            let _ = writeln!(out, "   {note}");
        }
        line(&mut out, "feed catch-up of 10 changes (GET …/directory/changes)", &run.catch_up, TARGET_CATCH_UP_P99_MS);
        line(&mut out, &format!("presence change reaching all {STREAMS} streams"), &run.presence, TARGET_STREAM_P99_MS);
        line(&mut out, "chat message reaching its reader's stream", &run.chat, TARGET_STREAM_P99_MS);
    }
    out
}
