//! Live change events: published after each change, delivered to whoever may see them.
//!
//! Use cases publish once their change is stored; a failure to publish is logged and
//! never fails the change. [`App::subscribe`] filters the store's stream of the caller's
//! domain's events (each domain has its own channel, so a burst in one domain makes no
//! other domain's subscribers lag and resync) through [`authz::EventAudience`], the
//! single place that decides. A user has at most
//! [`AppConfig::max_event_streams_per_user`](crate::AppConfig) streams open at once.

use std::collections::VecDeque;
use std::time::Duration;

use chrono::Utc;
use futures::Stream;
use switchboard_core::event::{ContactAction, Event, EventKind};
use switchboard_core::model::{Book, TokenKind};
use tokio::sync::{broadcast, watch};
use uuid::Uuid;

use crate::App;
use crate::auth::Caller;
use crate::authz::{self, EventAudience};
use crate::error::{AppError, Result};
use crate::feed::FeedChange;
use crate::limits::StreamSlot;

/// How often an open subscription checks that its caller is still signed in (and
/// re-reads what they may see), so a logout or a revoked token ends it.
const RECHECK: Duration = Duration::from_secs(60);

/// Feed pages one catch-up reads at most before it lets the stream's other notices through.
const CATCH_UP_PAGES: usize = 4;

/// What a subscriber is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    Event(Event),
    /// Events were missed and cannot be told again (the operator's stream, or a feed
    /// cursor that expired): reload whatever is shown.
    Resync,
    /// A change of the subscriber's own directory, read from the feed.
    Change(Box<FeedChange>),
    /// Every change of the subscriber's directory up to here has been told: a feed
    /// cursor, which is the stream's event id to resume from.
    Cursor(String),
}

/// Where a user's stream is in their directory feed.
struct FeedFollower {
    cursor: String,
    /// Something changed since the feed was last read.
    dirty: bool,
    /// Read it before waiting for anything else (after a resume, or a lag).
    now: bool,
}

/// The events one caller may see, from the moment they subscribed. Ends when the
/// caller is signed out or [`App::close_subscriptions`] is called.
pub struct Subscription {
    app: App,
    caller: Caller,
    audience: EventAudience,
    events: broadcast::Receiver<Event>,
    closing: watch::Receiver<bool>,
    recheck: tokio::time::Interval,
    /// Users' streams follow their directory feed (the operator has none).
    feed: Option<FeedFollower>,
    checkpoint: tokio::time::Interval,
    told: VecDeque<Notice>,
    /// Counts this stream among the user's open ones while it lives.
    _slot: Option<StreamSlot>,
}

impl App {
    /// Tells subscribers about a change already made. Failing to tell them must not
    /// fail the change, so a failure is only logged.
    pub(crate) async fn publish(&self, domain_id: Uuid, kind: EventKind) {
        let event = Event { domain_id, kind };
        if let Err(error) = self.store.publish(&event).await {
            tracing::warn!(%error, kind = event.kind.name(), %domain_id, "could not publish a change event");
        }
    }

    /// `contact_id` is `None` for an import, which is one event for the whole book.
    pub(crate) async fn publish_contact(&self, book: Book, contact_id: Option<Uuid>, action: ContactAction) {
        self.publish(book.domain_id(), EventKind::ContactChanged { book: book.into(), contact_id, action }).await;
    }

    /// The change events `caller` may see, starting now. `TooManyRequests` when the
    /// user has as many streams open as they may.
    pub async fn subscribe(&self, caller: &Caller) -> Result<Subscription> {
        self.subscribe_from(caller, false, None).await
    }

    /// [`App::subscribe`]; with `follow_feed`, a user's subscription also tells the
    /// changes of their directory from its feed (`Change`, then `Cursor`), and catches up
    /// from it when it falls behind. `last_event_id` (a `Cursor` given before) resumes
    /// there: the changes since are told first (or `Resync` when it can no longer be).
    /// Following costs a feed read per subscriber after each change, so only clients
    /// that ask for it follow.
    pub async fn subscribe_from(
        &self,
        caller: &Caller,
        follow_feed: bool,
        last_event_id: Option<&str>,
    ) -> Result<Subscription> {
        let slot = match caller {
            Caller::User { user, .. } => {
                Some(self.event_streams.open(user.id, self.config.max_event_streams_per_user)?)
            }
            Caller::System => None,
            Caller::Pbx { .. } => return Err(crate::error::AppError::NotFound),
        };
        // Subscribe first, so a change made while the audience is worked out is not missed.
        let events = self.events_of(caller);
        let audience = self.event_audience(caller).await?;
        let mut recheck = tokio::time::interval_at(tokio::time::Instant::now() + RECHECK, RECHECK);
        recheck.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let closing = self.closing.subscribe();
        let resume = last_event_id.map(str::trim).filter(|id| !id.is_empty());
        let head = if follow_feed || resume.is_some() { self.feed_head(caller).await? } else { None };
        let feed = match (head, resume) {
            (None, _) => None,
            (Some(_), Some(id)) => Some(FeedFollower { cursor: id.to_string(), dirty: true, now: true }),
            (Some(head), None) => Some(FeedFollower { cursor: head, dirty: false, now: false }),
        };
        let every = self.config.event_checkpoint;
        let mut checkpoint = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        checkpoint.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        Ok(Subscription {
            app: self.clone(),
            caller: caller.clone(),
            audience,
            events,
            closing,
            recheck,
            feed,
            checkpoint,
            told: VecDeque::new(),
            _slot: slot,
        })
    }

    /// The store's events of the caller's domain (every domain's for the operator).
    fn events_of(&self, caller: &Caller) -> broadcast::Receiver<Event> {
        match caller {
            Caller::User { domain, .. } | Caller::Pbx { domain, .. } => self.store.subscribe_domain(domain.id),
            Caller::System => self.store.subscribe(),
        }
    }

    /// Ends every subscription and every later one: a server shutting down waits for
    /// open requests, and an event stream would otherwise never end.
    pub fn close_subscriptions(&self) {
        self.closing.send_replace(true);
    }

    async fn event_audience(&self, caller: &Caller) -> Result<EventAudience> {
        let sees_shared = match caller {
            Caller::User { domain, .. } => self.shows_shared(caller, domain).await?,
            Caller::System => true,
            Caller::Pbx { .. } => false,
        };
        Ok(authz::event_audience(caller, sees_shared))
    }

    /// The caller as the database knows them now, or `None` once their token, user or
    /// domain is gone.
    async fn current_caller(&self, caller: &Caller) -> Result<Option<Caller>> {
        let (user, token_id) = match caller {
            Caller::User { user, token_id, .. } => (user, token_id),
            Caller::System => return Ok(Some(Caller::System)),
            Caller::Pbx { .. } => return Ok(None),
        };
        let now = Utc::now();
        let mut live = false;
        for kind in [TokenKind::Session, TokenKind::Api] {
            let tokens = self.store.list_tokens(user.id, kind).await?;
            live |= tokens.iter().any(|t| t.id == *token_id && t.expires_at.is_none_or(|at| at > now));
        }
        if !live {
            return Ok(None);
        }
        let Some(user) = self.store.user_by_id(user.id).await? else {
            return Ok(None);
        };
        let Some(domain) = self.store.domain_by_id(user.domain_id).await? else {
            return Ok(None);
        };
        Ok(Some(Caller::User { user: Box::new(user), domain: Box::new(domain), token_id: *token_id }))
    }
}

impl Subscription {
    /// The next notice for the caller; `None` once the subscription has ended.
    pub async fn next(&mut self) -> Option<Notice> {
        loop {
            if let Some(notice) = self.told.pop_front() {
                return Some(notice);
            }
            if self.feed.as_ref().is_some_and(|feed| feed.now) {
                self.catch_up().await;
                continue;
            }
            let received = tokio::select! {
                _ = self.closing.wait_for(|closed| *closed) => return None,
                // Time to check the caller is still signed in.
                _ = self.recheck.tick() => None,
                _ = self.checkpoint.tick() => {
                    if let Some(feed) = &mut self.feed {
                        feed.now = feed.dirty;
                    }
                    continue;
                }
                received = self.events.recv() => Some(received),
            };
            let event = match received {
                None if self.refresh().await => continue,
                None => return None,
                Some(Ok(event)) => event,
                Some(Err(error)) => {
                    if let broadcast::error::RecvError::Lagged(missed) = error {
                        tracing::debug!(missed, "an event subscriber fell behind");
                        // The backlog would only tell it again.
                        self.events = self.events.resubscribe();
                    } else {
                        // The store started over after losing events: so do we.
                        self.events = self.app.events_of(&self.caller);
                    }
                    match &mut self.feed {
                        // The feed tells what was missed.
                        Some(feed) => (feed.dirty, feed.now) = (true, true),
                        None => return Some(Notice::Resync),
                    }
                    continue;
                }
            };
            if let Some(feed) = &mut self.feed
                && !matches!(event.kind, EventKind::ChatChanged { .. })
            {
                feed.dirty = true;
            }
            if !self.audience.may_see(&event) {
                continue;
            }
            if self.audience.is_affected_by(&event) && !self.refresh().await {
                return None;
            }
            return Some(Notice::Event(event));
        }
    }

    /// The subscription as a stream of notices.
    pub fn into_stream(self) -> impl Stream<Item = Notice> + Send + 'static {
        futures::stream::unfold(self, |mut subscription| async move {
            subscription.next().await.map(|notice| (notice, subscription))
        })
    }

    /// Reads the caller's feed from where the stream is, and queues the changes, then the
    /// new cursor. An expired cursor queues `Resync` and goes on from the latest change.
    async fn catch_up(&mut self) {
        let Some(feed) = &mut self.feed else { return };
        let Caller::User { user, domain, .. } = &self.caller else { return };
        let (domain_name, ext) = (domain.name.to_string(), user.extension.to_string());
        feed.now = false;
        let start = feed.cursor.clone();
        for _ in 0..CATCH_UP_PAGES {
            let read = self.app.directory_changes(&self.caller, &domain_name, &ext, Some(&feed.cursor), Some(500));
            match read.await {
                Ok(page) => {
                    self.told.extend(page.changes.into_iter().map(|change| Notice::Change(Box::new(change))));
                    feed.cursor = page.next_cursor;
                    if !page.has_more {
                        feed.dirty = false;
                        break;
                    }
                    // More than a catch-up reads: the rest after what is queued.
                    feed.now = true;
                }
                // Expired, or not a cursor of this feed (a made-up `Last-Event-ID`).
                Err(AppError::Gone(_) | AppError::Invalid(_)) => {
                    self.told.push_back(Notice::Resync);
                    match self.app.feed_head(&self.caller).await {
                        Ok(Some(head)) => feed.cursor = head,
                        Ok(None) => {}
                        Err(error) => tracing::warn!(%error, "could not read the head of a directory feed"),
                    }
                    feed.dirty = false;
                    break;
                }
                // The database will be back: the next checkpoint tries again.
                Err(error) => {
                    tracing::warn!(%error, "could not read a directory feed for an event stream");
                    break;
                }
            }
        }
        if feed.cursor != start {
            self.told.push_back(Notice::Cursor(feed.cursor.clone()));
        }
    }

    /// Re-reads who the caller is and what they may see; false once they are signed out.
    async fn refresh(&mut self) -> bool {
        let refreshed = match self.app.current_caller(&self.caller).await {
            Ok(None) => return false,
            Ok(Some(caller)) => self.app.event_audience(&caller).await.map(|audience| (caller, audience)),
            Err(error) => Err(error),
        };
        match refreshed {
            Ok((caller, audience)) => (self.caller, self.audience) = (caller, audience),
            // The database will be back; until then the caller keeps what they had.
            Err(error) => tracing::warn!(%error, "could not re-check an event subscriber"),
        }
        true
    }
}
