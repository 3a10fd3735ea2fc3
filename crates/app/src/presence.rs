//! Presence that reflects reality: line states a phone system reports with its own
//! credential, and chat availability that follows the person's open sessions.
//!
//! - A PBX credential (`sbp_…`, made by a domain's managers or the CLI) reports line
//!   states of its domain's users in batches ([`App::report_lines`]), at most
//!   [`MAX_LINES`] a call and [`AppConfig::line_limit`](crate::AppConfig) calls per
//!   domain (a flood from one PBX slows no other domain).
//! - Every open event stream of a user is a connection ([`PresenceConnection`], a row in
//!   `presence_connections` renewed by its server, so a crashed server's go by
//!   themselves); the person is connected while one is open, away once nothing was done
//!   for [`AppConfig::chat_away_after`](crate::AppConfig) (opening a stream, or
//!   [`App::presence_activity`], which the portal sends on input), and not connected when
//!   the last one closes. Several tabs and devices count once.
//! - The store derives the shown state from all of it (see `core::model::Presence`);
//!   only a change of what is shown is published.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use chrono::Utc;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use switchboard_core::event::EventKind;
use switchboard_core::model::{Domain, LineState, PbxCredential, Presence, User};
use switchboard_core::{DomainName, Extension, FieldError, Invalid};
use switchboard_store::NewPbxCredential;
use uuid::Uuid;

use crate::App;
use crate::auth::{Caller, PBX_TOKEN_PREFIX, new_secret_with, sha256_hex};
use crate::authz::{access, may_report_lines};
use crate::error::{AppError, Result, forbidden};

/// The most line states one call may report.
pub const MAX_LINES: usize = 500;

/// Presence events of one batch published at once.
const PUBLISHING_AT_ONCE: usize = 8;

/// A batch of line states.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinesInput {
    #[schema(max_items = 500)]
    pub lines: Vec<LineInput>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineInput {
    /// The user's extension.
    #[schema(pattern = r"^\s*[0-9]{1,15}\s*$")]
    pub ext: String,
    /// `idle`, `ringing`, `on_call`, `on_hold`, `dnd` or `offline` (not registered).
    #[schema(value_type = LineState)]
    pub state: String,
}

/// What became of each line of a batch, in the order given.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LinesReport {
    pub lines: Vec<LineResult>,
    /// How many people's shown presence changed.
    pub changed: usize,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LineResult {
    pub ext: String,
    /// `recorded`, or `unknown_extension` (no such user in the domain; nothing recorded).
    pub result: String,
}

/// A new PBX credential; the secret is shown once.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NewPbxToken {
    #[serde(flatten)]
    pub credential: PbxCredential,
    pub secret: String,
}

/// The connections of this server's open streams, renewed in the store while they live.
#[derive(Default)]
pub(crate) struct LiveConnections {
    ids: Mutex<HashSet<Uuid>>,
    renewed: Mutex<Option<Instant>>,
}

/// One open session of a user (an event stream of the API or the portal): connected
/// while it lives; dropping it disconnects (in a task of its own, since a drop cannot wait).
pub struct PresenceConnection {
    app: App,
    id: Uuid,
    domain_id: Uuid,
}

impl Drop for PresenceConnection {
    fn drop(&mut self) {
        self.app.live_connections.ids.lock().unwrap_or_else(PoisonError::into_inner).remove(&self.id);
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        let (app, id, domain_id) = (self.app.clone(), self.id, self.domain_id);
        runtime.spawn(async move {
            match app.store.disconnect_presence(id, Utc::now()).await {
                Ok(Some(user_id)) => app.publish(domain_id, EventKind::PresenceChanged { user_id }).await,
                Ok(None) => {}
                // The connection expires by itself when it is not renewed.
                Err(error) => tracing::warn!(%error, "could not record a closed session"),
            }
        });
    }
}

impl App {
    /// Creates a PBX credential for a domain: its managers and providers, or the CLI.
    pub async fn create_pbx_credential(&self, caller: &Caller, domain: &str, name: &str) -> Result<NewPbxToken> {
        let domain = self.pbx_domain(caller, domain).await?;
        let name = switchboard_core::contact::single_line(name, 100).map_err(|m| Invalid::field("name", m))?;
        if name.is_empty() {
            return Err(Invalid::field("name", "give the credential a name, such as the PBX's").into());
        }
        let secret = new_secret_with(PBX_TOKEN_PREFIX);
        let new = NewPbxCredential { domain_id: domain.id, name: name.clone(), secret_hash: sha256_hex(&secret) };
        let audit = self.audit(caller, Some(domain.id), "pbx.create", None, serde_json::json!({ "name": name }));
        let credential = self.store.create_pbx_credential(new, audit).await?;
        Ok(NewPbxToken { credential, secret })
    }

    pub async fn list_pbx_credentials(&self, caller: &Caller, domain: &str) -> Result<Vec<PbxCredential>> {
        let domain = self.pbx_domain(caller, domain).await?;
        Ok(self.store.pbx_credentials(domain.id).await?)
    }

    /// Revokes a PBX credential: refused from its next request on.
    pub async fn revoke_pbx_credential(&self, caller: &Caller, domain: &str, id: Uuid) -> Result<()> {
        let domain = self.pbx_domain(caller, domain).await?;
        let audit = self.audit(caller, Some(domain.id), "pbx.revoke", Some(id), serde_json::json!({}));
        if !self.store.revoke_pbx_credential(domain.id, id, audit).await? {
            return Err(AppError::NotFound);
        }
        Ok(())
    }

    async fn pbx_domain(&self, caller: &Caller, domain: &str) -> Result<Domain> {
        let domain = self.reachable_domain(caller, domain).await?;
        if !access(caller, &domain).is_some_and(|a| a.can_manage_pbx_credentials()) {
            return Err(forbidden("manage the domain's PBX credentials"));
        }
        Ok(domain)
    }

    /// The caller a PBX credential's secret stands for, if it is one.
    pub(crate) async fn authenticate_pbx(&self, secret: &str) -> Result<Option<Caller>> {
        let Some(credential) = self.store.pbx_credential_by_secret_hash(&sha256_hex(secret)).await? else {
            return Ok(None);
        };
        let Some(domain) = self.store.domain_by_id(credential.domain_id).await? else { return Ok(None) };
        Ok(Some(Caller::Pbx { domain: Box::new(domain), credential_id: credential.id }))
    }

    /// Records a batch of line states of a domain's users. The whole batch is refused
    /// when a line is malformed; an extension that is no user is reported in its line.
    pub async fn report_lines(&self, caller: &Caller, domain: &str, input: LinesInput) -> Result<LinesReport> {
        let domain = self.lines_domain(caller, domain).await?;
        let lines = checked_lines(&input)?;
        let refusal = "this domain's line states come too often; send the latest states after the wait";
        self.line_reports.take(domain.id, self.config.line_limit, refusal)?;
        let update = self.store.set_line_states(domain.id, &lines, Utc::now()).await?;
        // A batch may change hundreds of people: their events go out a few at a time
        // (on PostgreSQL each is a NOTIFY, a round trip), in no particular order.
        let publish = |user_id: &Uuid| self.publish(domain.id, EventKind::PresenceChanged { user_id: *user_id });
        // A line that changed under the same colour is news too: the entry shows the line.
        let told = update.changed.iter().chain(&update.line_only);
        futures::stream::iter(told).for_each_concurrent(PUBLISHING_AT_ONCE, publish).await;
        let unknown: HashSet<&str> = update.unknown.iter().map(String::as_str).collect();
        let lines = lines
            .iter()
            .map(|(ext, _)| {
                let result = if unknown.contains(ext.as_str()) { "unknown_extension" } else { "recorded" };
                LineResult { ext: ext.clone(), result: result.into() }
            })
            .collect();
        Ok(LinesReport { lines, changed: update.changed.len() })
    }

    /// The domain whose lines the caller reports: "forbidden" to those who reach it
    /// otherwise, "not found" to anyone else.
    async fn lines_domain(&self, caller: &Caller, domain: &str) -> Result<Domain> {
        let name: DomainName = domain.parse().map_err(|_| AppError::NotFound)?;
        let domain = self.store.domain_by_name(&name).await?.ok_or(AppError::NotFound)?;
        if may_report_lines(caller, &domain) {
            return Ok(domain);
        }
        match access(caller, &domain) {
            Some(_) => Err(forbidden("report line states; use a PBX credential")),
            None => Err(AppError::NotFound),
        }
    }

    /// Clears the state, chat and message a user set by hand: their presence follows
    /// their line and sessions again. The user and those who manage them.
    pub async fn clear_presence(&self, caller: &Caller, domain: &str, ext: &str) -> Result<Presence> {
        let domain = self.reachable_domain(caller, domain).await?;
        let user = self.domain_user(&domain, ext).await?;
        if !access(caller, &domain).is_some_and(|a| a.can_set_presence(&user)) {
            return Err(forbidden("set this user's presence"));
        }
        let refusal = "this user's presence changes too often; send the latest state after the wait";
        self.presence_updates.take(user.id, self.config.presence_limit, refusal)?;
        if self.store.clear_presence(user.id, Utc::now()).await? {
            self.publish(domain.id, EventKind::PresenceChanged { user_id: user.id }).await;
        }
        Ok(self.store.presence(user.id).await?)
    }

    /// The person did something in one of their sessions (the portal sends it on input,
    /// at most about once a minute): they are no longer away. Their own only.
    pub async fn presence_activity(&self, caller: &Caller, domain: &str, ext: &str) -> Result<()> {
        let (domain, user) = self.viewer(caller, domain, ext).await?;
        self.record_activity(&domain, &user).await
    }

    pub(crate) async fn record_activity(&self, domain: &Domain, user: &User) -> Result<()> {
        if self.store.presence_activity(user.id, Utc::now()).await? {
            self.publish(domain.id, EventKind::PresenceChanged { user_id: user.id }).await;
        }
        Ok(())
    }

    /// Counts an open session of the caller (an event stream they hold) until the
    /// returned connection is dropped; `None` for who has no presence (the CLI, a PBX).
    pub async fn open_session(&self, caller: &Caller) -> Result<Option<PresenceConnection>> {
        match caller {
            Caller::User { user, domain, .. } => Ok(Some(self.connect(domain, user).await?)),
            Caller::System | Caller::Pbx { .. } => Ok(None),
        }
    }

    async fn connect(&self, domain: &Domain, user: &User) -> Result<PresenceConnection> {
        let id = Uuid::now_v7();
        let now = Utc::now();
        let expires_at = now + delta(self.config.presence_connection_ttl);
        self.live_connections.ids.lock().unwrap_or_else(PoisonError::into_inner).insert(id);
        let connection = PresenceConnection { app: self.clone(), id, domain_id: domain.id };
        if self.store.connect_presence(id, user.id, now, expires_at).await? {
            self.publish(domain.id, EventKind::PresenceChanged { user_id: user.id }).await;
        }
        Ok(connection)
    }

    /// Keeps this server's connections live in the store, a third of their lifetime
    /// before they would expire (part of [`App::expire_presence`]).
    pub(crate) async fn renew_connections(&self) -> Result<()> {
        let every = self.config.presence_connection_ttl / 3;
        {
            let mut renewed = self.live_connections.renewed.lock().unwrap_or_else(PoisonError::into_inner);
            if renewed.is_some_and(|at| at.elapsed() < every) {
                return Ok(());
            }
            *renewed = Some(Instant::now());
        }
        let ids: Vec<Uuid> =
            self.live_connections.ids.lock().unwrap_or_else(PoisonError::into_inner).iter().copied().collect();
        let expires_at = Utc::now() + delta(self.config.presence_connection_ttl);
        Ok(self.store.renew_presence_connections(&ids, expires_at).await?)
    }
}

/// The lines as `(extension, state)`, or every malformed one named.
fn checked_lines(input: &LinesInput) -> Result<Vec<(String, LineState)>, Invalid> {
    if input.lines.len() > MAX_LINES {
        let message = format!("at most {MAX_LINES} lines a call (got {}); send the rest in another", input.lines.len());
        return Err(Invalid::field("lines", message));
    }
    let mut lines = Vec::with_capacity(input.lines.len());
    let mut errors = Vec::new();
    for (i, line) in input.lines.iter().enumerate() {
        let ext = line.ext.parse::<Extension>();
        let state = LineState::parse(line.state.trim());
        if let Err(message) = &ext {
            errors.push(FieldError { field: format!("lines[{i}].ext"), message: message.clone() });
        }
        if state.is_none() {
            let message =
                format!("`{}` is no line state: use idle, ringing, on_call, on_hold, dnd or offline", line.state);
            errors.push(FieldError { field: format!("lines[{i}].state"), message });
        }
        if let (Ok(ext), Some(state)) = (ext, state) {
            lines.push((ext.to_string(), state));
        }
    }
    if errors.is_empty() { Ok(lines) } else { Err(Invalid(errors)) }
}

/// How long presence connections live without renewal, and how long before someone
/// quiet is away: defaults of [`AppConfig`](crate::AppConfig).
pub(crate) const CONNECTION_TTL: Duration = Duration::from_secs(90);
pub(crate) const AWAY_AFTER: Duration = Duration::from_secs(600);

pub(crate) fn delta(duration: Duration) -> chrono::TimeDelta {
    chrono::TimeDelta::from_std(duration).unwrap_or(chrono::TimeDelta::MAX)
}

pub(crate) type SharedLiveConnections = Arc<LiveConnections>;
