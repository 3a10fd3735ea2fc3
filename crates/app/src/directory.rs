//! The merged directory a user sees: coworkers, shared contacts and their own.

use chrono::{DateTime, TimeDelta, Utc};
use switchboard_core::event::EventKind;
use switchboard_core::model::{DirectoryEntry, Domain, EntryKind, Presence, PresenceState, User};
use switchboard_core::paging::{Limit, Page};
use switchboard_core::{FieldError, Invalid, contact::single_line};
use switchboard_store::{DirectoryQuery, Group, ListQuery, PresenceTimers};
use uuid::Uuid;

use crate::App;
use crate::auth::Caller;
use crate::authz::{Access, access};
use crate::error::{AppError, Result, forbidden};
use crate::inputs::{ListParams, PresenceInput};
use crate::records::list_query;

const MAX_STATUS_LEN: usize = 100;

/// Reads a `group` parameter: `all`, `favorites`, `shared`, `mine`, `coworkers`,
/// `department:<name>`, `site:<name>`, `available`, `busy` or `offline`.
pub fn parse_group(value: &str) -> Result<Group, Invalid> {
    let invalid = || {
        Invalid::field(
            "group",
            format!(
                "`{value}` is not a group; use all, favorites, shared, mine, coworkers, department:NAME, site:NAME, available, busy or offline"
            ),
        )
    };
    Ok(match value.trim() {
        "" | "all" => Group::All,
        "favorites" => Group::Favorites,
        "shared" => Group::Shared,
        "mine" => Group::Mine,
        "coworkers" => Group::Coworkers,
        other => {
            if let Some(name) = other.strip_prefix("department:") {
                Group::Department(name.trim().to_string())
            } else if let Some(name) = other.strip_prefix("site:") {
                Group::Site(name.trim().to_string())
            } else {
                Group::Presence(PresenceState::parse(other).ok_or_else(invalid)?)
            }
        }
    })
}

impl App {
    /// The directory belongs to its user: anyone else finds nothing.
    pub(crate) async fn viewer(&self, caller: &Caller, domain: &str, ext: &str) -> Result<(Domain, User)> {
        // One's own directory: the user and domain were read with the caller's token, on
        // this request, and are not read again.
        if let Caller::User { user, domain: home, .. } = caller
            && domain.parse().ok().as_ref() == Some(&home.name)
            && ext.parse().ok().as_ref() == Some(&user.extension)
        {
            return Ok(((**home).clone(), (**user).clone()));
        }
        let domain = self.reachable_domain(caller, domain).await?;
        let user = self.domain_user(&domain, ext).await?;
        let is_self = access(caller, &domain).is_some_and(|a| a.is_user(&user));
        if !is_self {
            return Err(AppError::NotFound);
        }
        Ok((domain, user))
    }

    pub async fn directory(
        &self,
        caller: &Caller,
        domain: &str,
        ext: &str,
        group: &str,
        params: &ListParams,
    ) -> Result<Page<DirectoryEntry>> {
        let view = self.directory_view(caller, domain, ext, group, params).await?;
        let page = match self.directory_from_copy(&view.query).await? {
            Some(page) => page,
            None => self.store.directory(&view.query).await?,
        };
        Ok(view.marked(page))
    }

    /// The directory with the viewer's favorites first, then everyone else, each part by
    /// name (the portal's "Favorites first"). `params.sort` is not read; the cursor is
    /// one this method gave out. The database answers (the in-memory copy holds no stars).
    pub async fn directory_favorites_first(
        &self,
        caller: &Caller,
        domain: &str,
        ext: &str,
        group: &str,
        params: &ListParams,
    ) -> Result<Page<DirectoryEntry>> {
        let (half, cursor) = favorites_first_cursor(params.cursor.as_deref())?;
        let params = ListParams { sort: None, cursor, ..params.clone() };
        let view = self.directory_view(caller, domain, ext, group, &params).await?;
        let query = &view.query;
        let mut page = self.store.directory_starred(query, half == Half::Starred).await?;
        let prefix = if half == Half::Starred { "f." } else { "r." };
        page.next_cursor = page.next_cursor.map(|next| format!("{prefix}{next}"));
        let room = query.list.limit.get() as usize - page.items.len();
        if half == Half::Starred && page.next_cursor.is_none() {
            // The favorites ended on this page: the others fill it.
            if room == 0 {
                page.next_cursor = Some("r.".into());
            } else {
                let limit = Limit::parse(u32::try_from(room).ok()).unwrap_or_default();
                let list = ListQuery { after: None, limit, ..query.list.clone() };
                let rest = self.store.directory_starred(&DirectoryQuery { list, ..query.clone() }, false).await?;
                page.items.extend(rest.items);
                page.next_cursor = rest.next_cursor.map(|next| format!("r.{next}"));
            }
        }
        Ok(view.marked(page))
    }

    /// How many entries the directory lists for `group` and `params.q`, counted up to
    /// `cap` (past it: `cap + 1`).
    pub async fn directory_count(
        &self,
        caller: &Caller,
        domain: &str,
        ext: &str,
        group: &str,
        params: &ListParams,
        cap: u32,
    ) -> Result<u64> {
        let params = ListParams { q: params.q.clone(), ..ListParams::default() };
        let view = self.directory_view(caller, domain, ext, group, &params).await?;
        Ok(self.store.directory_count(&view.query, cap).await?)
    }

    /// The viewer's directory query, after the checks every read of it makes.
    async fn directory_view(
        &self,
        caller: &Caller,
        domain: &str,
        ext: &str,
        group: &str,
        params: &ListParams,
    ) -> Result<DirectoryView> {
        let (domain, user) = self.viewer(caller, domain, ext).await?;
        let group = parse_group(group);
        let list = list_query(params);
        let (group, list) = match (group, list) {
            (Ok(group), Ok(list)) => (group, list),
            (group, list) => {
                let mut errors = group.err().map(|e| e.0).unwrap_or_default();
                errors.extend(list.err().map(|e| e.0).unwrap_or_default());
                return Err(Invalid(errors).into());
            }
        };
        let include_shared = self.shows_shared(caller, &domain).await?;
        let editors = self.domain_settings(&domain).await?.shared_contact_editors();
        let access = access(caller, &domain).ok_or(AppError::NotFound)?;
        let can_edit_shared = access.can_edit_shared(&editors);
        let query =
            DirectoryQuery { domain_id: domain.id, viewer_id: user.id, include_shared, include_own: true, group, list };
        Ok(DirectoryView { query, caller: caller.clone(), domain, can_edit_shared })
    }

    /// The page from the in-memory copy of the domain's book (see `book_index`) when it
    /// is current and answers the query; the viewer's stars and the coworkers' presence,
    /// which change without changing the book, are read for the page's entries alone.
    async fn directory_from_copy(&self, query: &DirectoryQuery) -> Result<Option<Page<DirectoryEntry>>> {
        if !self.config().book_index {
            return Ok(None);
        }
        let stamp = self.store.change_stamp(query.domain_id).await?.ok_or(AppError::NotFound)?;
        let Some(index) = self.book_index(query.domain_id, stamp.seq) else { return Ok(None) };
        let personal = self.indexed_personal(&index, query.domain_id, query.viewer_id).await?;
        let Some(mut page) = index.page(&personal, query) else { return Ok(None) };
        let ids: Vec<Uuid> = page.items.iter().map(|entry| entry.id).collect();
        let (favorites, ()) = futures::try_join!(
            async { Ok(self.store.favorites_among(query.viewer_id, &ids).await?) },
            self.read_presence(&mut page.items)
        )?;
        for entry in &mut page.items {
            entry.favorite = favorites.contains(&entry.id);
        }
        self.answered_from_copy();
        Ok(Some(page))
    }

    /// Sets the coworkers' presence among `entries` to what it is now.
    pub(crate) async fn read_presence(&self, entries: &mut [DirectoryEntry]) -> Result<()> {
        let coworkers: Vec<Uuid> =
            entries.iter().filter(|entry| entry.kind == EntryKind::Coworker).map(|entry| entry.id).collect();
        let mut presences = self.store.presences(&coworkers).await?;
        for entry in entries.iter_mut().filter(|entry| entry.kind == EntryKind::Coworker) {
            entry.presence = Some(presences.remove(&entry.id).unwrap_or_default());
        }
        Ok(())
    }

    pub async fn departments(&self, caller: &Caller, domain: &str, ext: &str) -> Result<Vec<String>> {
        let (domain, _) = self.viewer(caller, domain, ext).await?;
        Ok(self.store.departments(domain.id).await?)
    }

    pub async fn sites(&self, caller: &Caller, domain: &str, ext: &str) -> Result<Vec<String>> {
        let (domain, _) = self.viewer(caller, domain, ext).await?;
        Ok(self.store.sites(domain.id).await?)
    }

    /// Stars or unstars any entry the user can see in their directory.
    pub async fn set_favorite(
        &self,
        caller: &Caller,
        domain: &str,
        ext: &str,
        entry_id: Uuid,
        favorite: bool,
    ) -> Result<()> {
        let (domain, user) = self.viewer(caller, domain, ext).await?;
        let include_shared = self.shows_shared(caller, &domain).await?;
        if favorite && self.store.directory_entry(domain.id, user.id, include_shared, true, entry_id).await?.is_none() {
            return Err(AppError::NotFound);
        }
        Ok(self.store.set_favorite(user.id, entry_id, favorite).await?)
    }

    /// Reports a user's presence (the user, their managers, or a PBX's provider token).
    pub async fn set_presence(
        &self,
        caller: &Caller,
        domain: &str,
        ext: &str,
        input: PresenceInput,
    ) -> Result<Presence> {
        let domain = self.reachable_domain(caller, domain).await?;
        let user = self.domain_user(&domain, ext).await?;
        let access = access(caller, &domain).ok_or(AppError::NotFound)?;
        if !access.can_set_presence(&user) {
            return Err(forbidden("set this user's presence"));
        }
        let state = PresenceState::parse(input.state.trim())
            .ok_or_else(|| Invalid::field("state", "use available, busy or offline"))?;
        let message = single_line(&input.message, MAX_STATUS_LEN).map_err(|m| Invalid::field("message", m))?;
        let timers = presence_timers(&input, state, &message)?;
        let presence =
            Presence { state, chat: input.chat && state != PresenceState::Offline, message, ..Default::default() };
        // Every change is an event each of the domain's open pages hears: bounded per user.
        let refusal = "this user's presence changes too often; send the latest state after the wait";
        self.presence_updates.take(user.id, self.config.presence_limit, refusal)?;
        self.store.set_presence(user.id, &presence, timers).await?;
        tracing::debug!(user = %user.id, state = state.as_str(), "presence set by hand");
        self.publish(domain.id, EventKind::PresenceChanged { user_id: user.id }).await;
        Ok(self.store.presence(user.id).await?)
    }
}

/// A directory read's query and what marks its entries editable.
struct DirectoryView {
    query: DirectoryQuery,
    caller: Caller,
    domain: Domain,
    can_edit_shared: bool,
}

impl DirectoryView {
    fn marked(&self, mut page: Page<DirectoryEntry>) -> Page<DirectoryEntry> {
        if let Some(access) = access(&self.caller, &self.domain) {
            for entry in &mut page.items {
                entry.editable = editable(&access, self.can_edit_shared, entry);
            }
        }
        page
    }
}

/// Which half of "favorites first" a page is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Half {
    Starred,
    Rest,
}

/// Reads a "favorites first" cursor: `f.<cursor>` within the favorites, `r.<cursor>`
/// (or `r.` for its start) within the others.
fn favorites_first_cursor(cursor: Option<&str>) -> Result<(Half, Option<String>), Invalid> {
    let inner = |text: &str| (!text.is_empty()).then(|| text.to_string());
    match cursor.map(str::trim) {
        None | Some("") => Ok((Half::Starred, None)),
        Some(text) => match text.split_at_checked(2) {
            Some(("f.", rest)) if !rest.is_empty() => Ok((Half::Starred, inner(rest))),
            Some(("r.", rest)) => Ok((Half::Rest, inner(rest))),
            _ => Err(Invalid::field("cursor", "this cursor is not one we gave out; start again without it")),
        },
    }
}

impl App {
    /// Clears the status messages and ends the "busy" states whose time has come, keeps
    /// this server's open sessions connected and ends those of servers that stopped,
    /// marks away who did nothing for `chat_away_after`, and tells each domain's open
    /// pages; returns how many people changed. `serve` runs it every second.
    pub async fn expire_presence(&self) -> Result<usize> {
        self.renew_connections().await?;
        let now = Utc::now();
        let idle_before = now - crate::presence::delta(self.config.chat_away_after);
        let changed = self.store.expire_presence(now, idle_before).await?;
        for (domain_id, user_id) in &changed {
            self.publish(*domain_id, EventKind::PresenceChanged { user_id: *user_id }).await;
        }
        Ok(changed.len())
    }
}

/// When the message and the "busy" state end: each in the future, within a year, and
/// only with a message, or with `busy`.
fn presence_timers(input: &PresenceInput, state: PresenceState, message: &str) -> Result<PresenceTimers, Invalid> {
    let now = Utc::now();
    let mut errors = Vec::new();
    let mut check = |field: &str, at: Option<DateTime<Utc>>, applies: bool, what: &str| {
        let Some(at) = at else { return };
        let message = if !applies {
            format!("give it only with {what}")
        } else if at <= now {
            "that time has passed".to_string()
        } else if at > now + TimeDelta::days(366) {
            "at most a year ahead".to_string()
        } else {
            return;
        };
        errors.push(FieldError { field: field.into(), message });
    };
    check("message_until", input.message_until, !message.is_empty(), "a message");
    check("busy_until", input.busy_until, state == PresenceState::Busy, "the state busy");
    if !errors.is_empty() {
        return Err(Invalid(errors));
    }
    Ok(PresenceTimers { message_until: input.message_until, busy_until: input.busy_until })
}

pub(crate) fn editable(access: &Access<'_>, can_edit_shared: bool, entry: &DirectoryEntry) -> bool {
    match entry.kind {
        EntryKind::Personal => true,
        EntryKind::Shared => can_edit_shared,
        EntryKind::Coworker => {
            access.user_listing().is_some() && access.can_manage_user(switchboard_core::Scope::SimpleUser, &entry.site)
        }
    }
}
