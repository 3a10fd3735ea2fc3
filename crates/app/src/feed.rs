//! The directory feed: everything a user's directory shows (coworkers with their
//! presence, shared contacts, their own contacts, their stars), as changes an app applies
//! to its copy. Without a cursor it gives the whole directory, page by page, then a cursor
//! for what follows; with one, what changed since.
//!
//! The store numbers each change in the writing transaction (see `FeedStore`); an entry is
//! read as it is *now*, with the reader's permissions of now, so an entry the reader may
//! no longer see is a deletion. A cursor names its user and what decided their view
//! (whether they see shared contacts, whether they may edit them, their scope and site):
//! when any of that changes, the changes in between cannot be told, and the cursor is
//! gone (410): the app starts again.

use std::collections::{HashMap, HashSet};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{TimeDelta, Utc};
use serde::Serialize;
use switchboard_core::model::{DirectoryEntry, Domain, User};
use switchboard_core::paging::Limit;
use switchboard_core::{Invalid, Scope};
use switchboard_store::{DirectoryQuery, FeedPosition, Group, ListQuery};
use uuid::Uuid;

use crate::App;
use crate::auth::Caller;
use crate::authz::access;
use crate::directory::editable;
use crate::error::{AppError, Result};

/// One change of the directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FeedChange {
    pub entry_id: Uuid,
    pub op: FeedOp,
    /// The entry as it is now (upserts only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entry: Option<DirectoryEntry>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum FeedOp {
    /// Add the entry, or replace the copy of it.
    Upsert,
    /// Remove the entry: it was deleted, or the reader may no longer see it.
    Delete,
}

/// A page of the feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FeedPage {
    pub changes: Vec<FeedChange>,
    /// Where to go on from: give it as `cursor` next time.
    pub next_cursor: String,
    /// More changes are waiting: ask again at once.
    pub has_more: bool,
}

/// Where a reader is in their feed (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FeedCursor {
    user_id: Uuid,
    view: u64,
    position: FeedPosition,
    /// Deletions numbered up to here are not told: the reader's first read began after
    /// them, so they never had those entries.
    quiet_until: i64,
}

impl FeedCursor {
    fn encode(&self) -> String {
        let p = &self.position;
        let text = format!(
            "1.{}.{:x}.{}.{}.{}.{}",
            self.user_id.simple(),
            self.view,
            p.seq,
            p.entry_id.simple(),
            p.audience_id.simple(),
            self.quiet_until
        );
        URL_SAFE_NO_PAD.encode(text)
    }

    fn decode(cursor: &str) -> Option<FeedCursor> {
        let text = String::from_utf8(URL_SAFE_NO_PAD.decode(cursor.trim()).ok()?).ok()?;
        let parts: Vec<&str> = text.split('.').collect();
        let ["1", user_id, view, seq, entry_id, audience_id, quiet_until] = parts[..] else { return None };
        Some(FeedCursor {
            user_id: user_id.parse().ok()?,
            view: u64::from_str_radix(view, 16).ok()?,
            position: FeedPosition {
                seq: seq.parse().ok()?,
                entry_id: entry_id.parse().ok()?,
                audience_id: audience_id.parse().ok()?,
            },
            quiet_until: quiet_until.parse().ok()?,
        })
    }
}

/// What the viewer's entries look like depends on, folded into a number a cursor carries.
fn view_key(include_shared: bool, can_edit_shared: bool, scope: Scope, site: &str) -> u64 {
    // FNV-1a: stable across builds and releases, unlike the standard library's hasher.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let flags = [u8::from(include_shared), u8::from(can_edit_shared)];
    for byte in flags.iter().chain(scope.as_str().as_bytes()).chain([0u8].iter()).chain(site.as_bytes()) {
        hash = (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// How long the feed tells of a deleted entry: a reader away longer starts again.
pub const TOMBSTONE_DAYS: i64 = 30;

fn gone(why: &str) -> AppError {
    AppError::Gone(format!("{why}; read the feed again from the start, without a cursor"))
}

impl App {
    /// A page of the changes of the viewer's directory after `cursor` (from the start
    /// without one): the viewer alone may read it.
    pub async fn directory_changes(
        &self,
        caller: &Caller,
        domain: &str,
        ext: &str,
        cursor: Option<&str>,
        limit: Option<u32>,
    ) -> Result<FeedPage> {
        let limit = Limit::parse(limit).map_err(|message| Invalid::field("limit", message))?.get();
        let (domain, user) = self.viewer(caller, domain, ext).await?;
        let (include_shared, can_edit_shared, view) = self.feed_view(caller, &domain, &user).await?;
        let access = access(caller, &domain).ok_or(AppError::NotFound)?;
        let bounds = self.store.feed_bounds(domain.id).await?.ok_or(AppError::NotFound)?;
        let cursor = match cursor.filter(|c| !c.trim().is_empty()) {
            None => FeedCursor { user_id: user.id, view, position: FeedPosition::START, quiet_until: bounds.head },
            Some(text) => self.check_cursor(text, &user, view, bounds.floor)?,
        };
        let rows = self.store.feed_rows(domain.id, user.id, cursor.position, limit).await?;
        let has_more = rows.len() == limit as usize;
        let query = DirectoryQuery {
            domain_id: domain.id,
            viewer_id: user.id,
            include_shared,
            include_own: true,
            group: Group::All,
            list: ListQuery::default(),
        };
        let changes = self
            .feed_changes(&query, &rows, &cursor, |entry| entry.editable = editable(&access, can_edit_shared, entry))
            .await?;
        let position = rows.last().copied().unwrap_or(cursor.position);
        Ok(FeedPage { changes, next_cursor: FeedCursor { position, ..cursor }.encode(), has_more })
    }

    /// A cursor after every change of the viewer's directory made so far: what a client
    /// that has just read the whole directory some other way resumes from.
    pub async fn directory_head_cursor(&self, caller: &Caller, domain: &str, ext: &str) -> Result<String> {
        let (domain, user) = self.viewer(caller, domain, ext).await?;
        let (_, _, view) = self.feed_view(caller, &domain, &user).await?;
        let bounds = self.store.feed_bounds(domain.id).await?.ok_or(AppError::NotFound)?;
        let position = FeedPosition { seq: bounds.head, entry_id: Uuid::max(), audience_id: Uuid::max() };
        Ok(FeedCursor { user_id: user.id, view, position, quiet_until: bounds.head }.encode())
    }

    /// The operator's view of a domain's feed (`switchboard watch`): as `ext` sees it,
    /// or without a user, the coworkers and shared contacts everyone may be shown. No
    /// cursor starts at the latest change (`from_start` reads the whole directory first).
    pub async fn watch_changes(
        &self,
        domain: &str,
        ext: Option<&str>,
        cursor: Option<&str>,
        from_start: bool,
    ) -> Result<FeedPage> {
        self.watch_page(domain, ext, cursor, from_start, Limit::MAX).await
    }

    /// [`App::watch_changes`] reading at most `limit` rows (a webhook's batch).
    pub(crate) async fn watch_page(
        &self,
        domain: &str,
        ext: Option<&str>,
        cursor: Option<&str>,
        from_start: bool,
        limit: u32,
    ) -> Result<FeedPage> {
        let domain = self.reachable_domain(&Caller::System, domain).await?;
        let user = match ext {
            Some(ext) => Some(self.domain_user(&domain, ext).await?),
            None => None,
        };
        // As that user would see it, had they asked themselves.
        let viewer = user.as_ref().map(|user| Caller::User {
            user: Box::new(user.clone()),
            domain: Box::new(domain.clone()),
            token_id: Uuid::nil(),
        });
        let (viewer_id, include_shared, view) = match (&viewer, &user) {
            (Some(caller), Some(user)) => {
                let (include_shared, _, view) = self.feed_view(caller, &domain, user).await?;
                (user.id, include_shared, view)
            }
            _ => (Uuid::nil(), true, 0),
        };
        let bounds = self.store.feed_bounds(domain.id).await?.ok_or(AppError::NotFound)?;
        let cursor = match cursor {
            Some(text) => {
                FeedCursor::decode(text).ok_or_else(|| Invalid::field("cursor", "not a cursor of this feed"))?
            }
            None if from_start => {
                FeedCursor { user_id: viewer_id, view, position: FeedPosition::START, quiet_until: bounds.head }
            }
            None => {
                let position = FeedPosition { seq: bounds.head, entry_id: Uuid::max(), audience_id: Uuid::max() };
                FeedCursor { user_id: viewer_id, view, position, quiet_until: bounds.head }
            }
        };
        if cursor.position.seq < bounds.floor && cursor.quiet_until < bounds.floor {
            return Err(gone("the watch fell more than 30 days behind"));
        }
        let rows = self.store.feed_rows(domain.id, viewer_id, cursor.position, limit).await?;
        let query = DirectoryQuery {
            domain_id: domain.id,
            viewer_id,
            include_shared,
            include_own: user.is_some(),
            group: Group::All,
            list: ListQuery::default(),
        };
        let changes = self.feed_changes(&query, &rows, &cursor, |_| {}).await?;
        let position = rows.last().copied().unwrap_or(cursor.position);
        Ok(FeedPage {
            changes,
            next_cursor: FeedCursor { position, ..cursor }.encode(),
            has_more: rows.len() == limit as usize,
        })
    }

    /// A cursor of the caller's own feed at its latest change (`None` for the operator,
    /// who has no directory): what an event stream starts from.
    pub(crate) async fn feed_head(&self, caller: &Caller) -> Result<Option<String>> {
        let Caller::User { user, domain, .. } = caller else { return Ok(None) };
        let (_, _, view) = self.feed_view(caller, domain, user).await?;
        let bounds = self.store.feed_bounds(domain.id).await?.ok_or(AppError::NotFound)?;
        let position = FeedPosition { seq: bounds.head, entry_id: Uuid::max(), audience_id: Uuid::max() };
        Ok(Some(FeedCursor { user_id: user.id, view, position, quiet_until: bounds.head }.encode()))
    }

    /// Whether the viewer sees shared contacts and may edit them, and the key of all
    /// that decides their view.
    async fn feed_view(&self, caller: &Caller, domain: &Domain, user: &User) -> Result<(bool, bool, u64)> {
        let access = access(caller, domain).ok_or(AppError::NotFound)?;
        // One read of the settings for both answers: catching up is read often.
        let (mine, domain_wide) = self.user_and_domain_settings(domain, user).await?;
        // As `shows_shared` decides: members by their settings, providers and the CLI always.
        let include_shared = match access.member() {
            Some(_) if !access.is_provider() => mine.show_shared_contacts(),
            _ => true,
        };
        let editors = domain_wide.shared_contact_editors();
        let can_edit_shared = access.can_edit_shared(&editors);
        Ok((include_shared, can_edit_shared, view_key(include_shared, can_edit_shared, user.scope, &user.site)))
    }

    /// Forgets the deleted entries the feed has told of for [`TOMBSTONE_DAYS`]; returns
    /// how many. Run every hour by `serve`.
    pub async fn purge_feed(&self) -> Result<u64> {
        Ok(self.store.purge_feed(Utc::now() - TimeDelta::days(TOMBSTONE_DAYS)).await?)
    }

    fn check_cursor(&self, text: &str, user: &User, view: u64, floor: i64) -> Result<FeedCursor> {
        let cursor = FeedCursor::decode(text)
            .ok_or_else(|| Invalid::field("cursor", "not a cursor of this feed; give one it returned, or none"))?;
        if cursor.user_id != user.id {
            return Err(gone("this cursor belongs to another user's feed"));
        }
        if cursor.view != view {
            return Err(gone("what this user may see has changed since the cursor was given"));
        }
        if cursor.position.seq < floor && cursor.quiet_until < floor {
            return Err(gone("this cursor is older than the deletions the feed keeps (30 days)"));
        }
        Ok(cursor)
    }

    /// The rows as changes: each entry once, as the viewer sees it now.
    async fn feed_changes(
        &self,
        query: &DirectoryQuery,
        rows: &[FeedPosition],
        cursor: &FeedCursor,
        finish: impl Fn(&mut DirectoryEntry),
    ) -> Result<Vec<FeedChange>> {
        let ids: Vec<Uuid> = rows.iter().map(|row| row.entry_id).collect::<HashSet<_>>().into_iter().collect();
        let mut entries: HashMap<Uuid, DirectoryEntry> =
            self.store.directory_entries(query, &ids).await?.into_iter().map(|entry| (entry.id, entry)).collect();
        let mut told = HashSet::new();
        let mut changes = Vec::new();
        for row in rows {
            // The viewer is not among their coworkers; a star and its entry are told once.
            if row.entry_id == query.viewer_id || !told.insert(row.entry_id) {
                continue;
            }
            let change = match entries.remove(&row.entry_id) {
                Some(mut entry) => {
                    finish(&mut entry);
                    FeedChange { entry_id: row.entry_id, op: FeedOp::Upsert, entry: Some(entry) }
                }
                None if row.seq > cursor.quiet_until => {
                    FeedChange { entry_id: row.entry_id, op: FeedOp::Delete, entry: None }
                }
                None => continue,
            };
            changes.push(change);
        }
        Ok(changes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_read_back_and_refuse_anything_else() {
        let cursor = FeedCursor {
            user_id: Uuid::now_v7(),
            view: view_key(true, false, Scope::BasicUser, "Berlin"),
            position: FeedPosition { seq: 42, entry_id: Uuid::now_v7(), audience_id: Uuid::nil() },
            quiet_until: 40,
        };
        assert_eq!(FeedCursor::decode(&cursor.encode()), Some(cursor));
        for bad in ["", "x", "MS4x", &cursor.encode()[1..], "%%%"] {
            assert_eq!(FeedCursor::decode(bad), None, "{bad}");
        }
        assert_ne!(cursor.view, view_key(true, true, Scope::BasicUser, "Berlin"));
        assert_ne!(cursor.view, view_key(true, false, Scope::BasicUser, "Bern"));
    }
}
