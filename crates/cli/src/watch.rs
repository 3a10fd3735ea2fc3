//! `switchboard watch`: a small client of the directory feed. It reads the feed to its
//! end, then waits for the domain's next event (only a wake-up: the feed says what
//! changed), so it prints every change once, in order, whichever server made it.

use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use switchboard_app::{App, Caller, FeedChange, FeedOp, Notice};
use switchboard_core::model::DirectoryEntry;

/// How long it waits for an event before it reads the feed anyway.
const IDLE_READ: Duration = Duration::from_secs(5);

#[derive(Args)]
pub struct WatchArgs {
    /// The domain, e.g. acme.example.
    domain: String,
    /// Watch the directory as this user sees it (with their own contacts and stars);
    /// without it, the coworkers and shared contacts.
    #[arg(long)]
    user: Option<String>,
    /// Print the whole directory first, then the changes.
    #[arg(long)]
    from_start: bool,
    /// One JSON object per change (as the REST feed gives it) instead of text.
    #[arg(long)]
    json: bool,
}

pub async fn run(args: WatchArgs, app: &App) -> Result<()> {
    // Subscribed before the first read, so no change falls between the two.
    let mut events = app.subscribe(&Caller::System).await?;
    let name = args.domain.parse().map_err(anyhow::Error::msg)?;
    let domain = app.store().domain_by_name(&name).await?.with_context(|| format!("no domain {name}"))?;
    let mut cursor: Option<String> = None;
    eprintln!("watching {} (Ctrl-C to stop)", args.domain);
    loop {
        let page = app.watch_changes(&args.domain, args.user.as_deref(), cursor.as_deref(), args.from_start).await?;
        for change in &page.changes {
            say!("{}", if args.json { serde_json::to_string(change)? } else { line(change) })?;
        }
        cursor = Some(page.next_cursor);
        if page.has_more {
            continue;
        }
        // Wait for one of this domain's events, or read again after a while.
        let woken = tokio::time::timeout(IDLE_READ, async {
            loop {
                match events.next().await {
                    Some(Notice::Event(event)) if event.domain_id != domain.id => continue,
                    other => return other.is_some(),
                }
            }
        });
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return Ok(()),
            ended = woken => if ended == Ok(false) { return Ok(()) },
        }
    }
}

/// A change as one line: what happened, to whom, and what they show.
fn line(change: &FeedChange) -> String {
    let time = chrono::Utc::now().format("%H:%M:%S");
    match (&change.op, &change.entry) {
        (FeedOp::Upsert, Some(entry)) => format!("{time} upsert {}", describe(entry)),
        _ => format!("{time} delete {}", change.entry_id),
    }
}

fn describe(entry: &DirectoryEntry) -> String {
    let kind = serde_json::to_value(entry.kind).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
    let name = [entry.first_name.as_str(), entry.last_name.as_str(), entry.company.as_str()]
        .into_iter()
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let mut text = format!("{kind} {name}");
    if let Some(ext) = &entry.extension {
        text.push_str(&format!(" (ext. {ext})"));
    }
    if let Some(number) = entry.numbers.first() {
        text.push_str(&format!(" {}", number.typed));
    }
    if let Some(presence) = &entry.presence {
        text.push_str(&format!(" [{}", presence.state.as_str()));
        if !presence.message.is_empty() {
            text.push_str(&format!(": {}", presence.message));
        }
        text.push(']');
    }
    if entry.favorite {
        text.push_str(" *");
    }
    text
}
