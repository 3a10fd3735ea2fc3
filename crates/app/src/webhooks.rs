//! Webhooks: integrations that cannot hold a connection (a CRM, a PBX) receive the
//! domain's directory changes as signed POSTs.
//!
//! A subscription is a follower of the domain's feed (`App::watch_changes`, the
//! operator's view: coworkers with presence and shared contacts, never anyone's own
//! contacts) with its own stored cursor. The deliverer reads a batch after the cursor,
//! keeps the kinds subscribed to (`contacts`: shared contacts; `presence`: coworkers,
//! whose entries carry their presence; deletions go to every subscription, as the feed
//! no longer knows what a deleted entry was), POSTs it, and moves the cursor only on a
//! 2xx answer: in order, at least once, nothing lost. One server at a time delivers a
//! subscription (a lease in its row). Failures are retried with exponential backoff
//! and jitter; a subscription failing too long is paused until a manager resumes it.
//!
//! Targets are checked when registered and again before every delivery: every address
//! the host resolves to must be public (unless the operator allows private ones), and
//! the request goes to exactly the addresses checked, without following redirects.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use switchboard_core::Invalid;
use switchboard_core::model::{Domain, EntryKind, Webhook};
use switchboard_store::{DeliveryRecord, NewWebhook, WebhookPatch, WebhookTarget};
use uuid::Uuid;

use crate::App;
use crate::auth::{Caller, new_secret_with};
use crate::authz::access;
use crate::error::{AppError, Result, forbidden};
use crate::feed::{FeedChange, FeedOp};

/// Subscriptions one domain may have.
pub const MAX_WEBHOOKS_PER_DOMAIN: usize = 10;
/// Feed rows one delivery carries at most (each at most one change).
pub const MAX_BATCH: u32 = 100;
const SECRET_PREFIX: &str = "whsec_";
const MAX_URL: usize = 2000;
/// How much of a failing answer's body is kept to show the manager.
const ERROR_EXCERPT: usize = 200;
/// How long a server may hold a subscription's delivery: longer than one attempt.
const LEASE: TimeDelta = TimeDelta::seconds(60);

/// How deliveries are made and retried.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// Deliver to loopback, private, link-local… addresses too (an operator's choice
    /// for receivers on their own network; tests).
    pub allow_private: bool,
    /// The first retry's delay; each failure doubles it, up to `retry_max`.
    pub retry_min: Duration,
    pub retry_max: Duration,
    /// A subscription is paused after this many failures in a row…
    pub pause_after_failures: i64,
    /// …or after failing for this long.
    pub pause_after: Duration,
    /// How often the deliverer looks for due subscriptions without being woken.
    pub poll: Duration,
    pub connect_timeout: Duration,
    pub timeout: Duration,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        WebhookConfig {
            allow_private: false,
            retry_min: Duration::from_secs(10),
            retry_max: Duration::from_secs(3600),
            pause_after_failures: 15,
            pause_after: Duration::from_secs(24 * 3600),
            poll: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(10),
        }
    }
}

/// What a manager registers.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookInput {
    /// `https://…` or `http://…`; it must resolve to public addresses.
    pub url: String,
    /// Deliver changes of shared contacts.
    #[serde(default)]
    pub contacts: bool,
    /// Deliver changes of coworkers, their presence among them.
    #[serde(default)]
    pub presence: bool,
}

/// What a manager changes; absent fields stay.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookUpdate {
    pub url: Option<String>,
    pub contacts: Option<bool>,
    pub presence: Option<bool>,
    /// Replace the signing secret; the new one is answered once.
    #[serde(default)]
    pub rotate_secret: bool,
}

/// A subscription with its secret: answered when it is created or its secret rotated,
/// and never again.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WebhookWithSecret {
    #[serde(flatten)]
    pub webhook: Webhook,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// The body of a delivery.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WebhookDelivery<'a> {
    pub webhook_id: Uuid,
    pub domain: &'a str,
    /// The feed's position after these changes: the same batch delivered again (after
    /// an answer that was lost) has the same cursor.
    pub cursor: &'a str,
    pub changes: Vec<FeedChange>,
}

impl App {
    pub async fn list_webhooks(&self, caller: &Caller, domain: &str) -> Result<Vec<Webhook>> {
        let domain = self.webhook_domain(caller, domain).await?;
        Ok(self.store.webhooks(domain.id).await?)
    }

    pub async fn get_webhook(&self, caller: &Caller, domain: &str, id: Uuid) -> Result<Webhook> {
        let domain = self.webhook_domain(caller, domain).await?;
        self.store.webhook(domain.id, id).await?.ok_or(AppError::NotFound)
    }

    /// Registers a subscription: it receives the changes made from now on.
    pub async fn create_webhook(
        &self,
        caller: &Caller,
        domain: &str,
        input: WebhookInput,
    ) -> Result<WebhookWithSecret> {
        let domain = self.webhook_domain(caller, domain).await?;
        let url = self.checked_url(&input.url).await?;
        if !input.contacts && !input.presence {
            return Err(Invalid::field("contacts", "choose contact changes, presence changes or both").into());
        }
        if self.store.webhooks(domain.id).await?.len() >= MAX_WEBHOOKS_PER_DOMAIN {
            let message = format!("a domain may have {MAX_WEBHOOKS_PER_DOMAIN} webhooks; delete one first");
            return Err(Invalid::field("url", message).into());
        }
        let cursor = self.watch_page(domain.name.as_str(), None, None, false, 1).await?.next_cursor;
        let secret = new_secret_with(SECRET_PREFIX);
        let details = serde_json::json!({ "url": url, "contacts": input.contacts, "presence": input.presence });
        let audit = self.audit(caller, Some(domain.id), "webhook.create", None, details);
        let new = NewWebhook {
            domain_id: domain.id,
            url,
            contacts: input.contacts,
            presence: input.presence,
            secret: secret.clone(),
            cursor,
        };
        let webhook = self.store.create_webhook(new, audit).await?;
        Ok(WebhookWithSecret { webhook, secret: Some(secret) })
    }

    /// Changes a subscription; a new secret is answered once when rotated.
    pub async fn update_webhook(
        &self,
        caller: &Caller,
        domain: &str,
        id: Uuid,
        input: WebhookUpdate,
    ) -> Result<WebhookWithSecret> {
        let domain = self.webhook_domain(caller, domain).await?;
        let url = match &input.url {
            Some(url) => Some(self.checked_url(url).await?),
            None => None,
        };
        let current = self.store.webhook(domain.id, id).await?.ok_or(AppError::NotFound)?;
        if !input.contacts.unwrap_or(current.contacts) && !input.presence.unwrap_or(current.presence) {
            return Err(Invalid::field("contacts", "choose contact changes, presence changes or both").into());
        }
        let secret = input.rotate_secret.then(|| new_secret_with(SECRET_PREFIX));
        let details = serde_json::json!({
            "url": url, "contacts": input.contacts, "presence": input.presence, "rotate_secret": input.rotate_secret,
        });
        let audit = self.audit(caller, Some(domain.id), "webhook.update", Some(id), details);
        let patch = WebhookPatch {
            url,
            contacts: input.contacts,
            presence: input.presence,
            secret: secret.clone(),
            resume: false,
        };
        let webhook = self.store.update_webhook(domain.id, id, patch, audit).await?.ok_or(AppError::NotFound)?;
        Ok(WebhookWithSecret { webhook, secret })
    }

    /// Delivers a paused subscription again, from where it stopped.
    pub async fn resume_webhook(&self, caller: &Caller, domain: &str, id: Uuid) -> Result<Webhook> {
        let domain = self.webhook_domain(caller, domain).await?;
        let audit = self.audit(caller, Some(domain.id), "webhook.resume", Some(id), serde_json::json!({}));
        let patch = WebhookPatch { resume: true, ..WebhookPatch::default() };
        let webhook = self.store.update_webhook(domain.id, id, patch, audit).await?.ok_or(AppError::NotFound)?;
        Ok(webhook)
    }

    pub async fn delete_webhook(&self, caller: &Caller, domain: &str, id: Uuid) -> Result<()> {
        let domain = self.webhook_domain(caller, domain).await?;
        let audit = self.audit(caller, Some(domain.id), "webhook.delete", Some(id), serde_json::json!({}));
        if !self.store.delete_webhook(domain.id, id, audit).await? {
            return Err(AppError::NotFound);
        }
        Ok(())
    }

    async fn webhook_domain(&self, caller: &Caller, domain: &str) -> Result<Domain> {
        let domain = self.reachable_domain(caller, domain).await?;
        if !access(caller, &domain).is_some_and(|a| a.can_manage_webhooks()) {
            return Err(forbidden("manage the domain's webhooks"));
        }
        Ok(domain)
    }

    /// The URL, trimmed, if it may be delivered to.
    async fn checked_url(&self, url: &str) -> Result<String> {
        let url = url.trim();
        if url.len() > MAX_URL {
            return Err(Invalid::field("url", format!("at most {MAX_URL} characters")).into());
        }
        resolve_target(url, self.config.webhooks.allow_private).await.map_err(|m| Invalid::field("url", m))?;
        Ok(url.to_string())
    }

    /// Delivers what is due, on and on: woken by the domain events (any change may be
    /// one to deliver) and every `poll` for retries. Run by `serve`; ends with the app.
    pub async fn run_webhooks(self) {
        let owner = Uuid::now_v7();
        let mut events = match self.subscribe(&Caller::System).await {
            Ok(events) => events,
            Err(error) => return tracing::warn!(%error, "webhooks are not delivered: no event subscription"),
        };
        loop {
            if let Err(error) = self.deliver_due_webhooks(owner).await {
                tracing::warn!(%error, "could not deliver webhooks");
            }
            tokio::select! {
                notice = events.next() => if notice.is_none() { return },
                () = tokio::time::sleep(self.config.webhooks.poll) => {}
            }
        }
    }

    /// Delivers every due subscription, a batch each, again while some have more.
    pub async fn deliver_due_webhooks(&self, owner: Uuid) -> Result<()> {
        // A bound, so one pass ends even if changes keep coming.
        for _ in 0..50 {
            let due = self.store.due_webhooks(Utc::now(), 1000).await?;
            let mut more = false;
            for id in due {
                match self.deliver_webhook(id, owner).await {
                    Ok(has_more) => more |= has_more,
                    Err(error) => tracing::warn!(%error, webhook = %id, "could not deliver a webhook"),
                }
            }
            if !more {
                break;
            }
        }
        Ok(())
    }

    /// One batch of one subscription, if this server may deliver it now; true when the
    /// feed has more for it.
    async fn deliver_webhook(&self, id: Uuid, owner: Uuid) -> Result<bool> {
        let now = Utc::now();
        let Some(target) = self.store.lease_webhook(id, owner, now, now + LEASE).await? else { return Ok(false) };
        let Some(domain) = self.store.domain_by_id(target.webhook.domain_id).await? else { return Ok(false) };
        let page = match self.watch_page(domain.name.as_str(), None, Some(&target.cursor), false, MAX_BATCH).await {
            Ok(page) => page,
            Err(AppError::Gone(message)) => {
                self.record_webhook_failure(&target, owner, None, message, true).await?;
                return Ok(false);
            }
            Err(error) => return Err(error),
        };
        let changes: Vec<FeedChange> = page.changes.into_iter().filter(|c| subscribed(&target.webhook, c)).collect();
        if changes.is_empty() {
            let record = unchanged(&target, Some(page.next_cursor), Utc::now());
            self.store.record_delivery(id, owner, record).await?;
            return Ok(page.has_more);
        }
        let body = WebhookDelivery { webhook_id: id, domain: domain.name.as_str(), cursor: &page.next_cursor, changes };
        // Plain data: serializing it cannot fail.
        let body = serde_json::to_vec(&body).unwrap_or_default();
        match self.post(&target, &body).await {
            Ok(status) => {
                let record = DeliveryRecord {
                    at: Some(Utc::now()),
                    status: Some(i64::from(status)),
                    error: None,
                    failures: 0,
                    failing_since: None,
                    ..unchanged(&target, Some(page.next_cursor), Utc::now())
                };
                self.store.record_delivery(id, owner, record).await?;
                Ok(page.has_more)
            }
            Err((status, error)) => {
                self.record_webhook_failure(&target, owner, status, error, false).await?;
                Ok(false)
            }
        }
    }

    async fn record_webhook_failure(
        &self,
        target: &WebhookTarget,
        owner: Uuid,
        status: Option<u16>,
        error: String,
        pause: bool,
    ) -> Result<()> {
        let config = &self.config.webhooks;
        let now = Utc::now();
        let failures = target.webhook.failures + 1;
        let failing_since = target.webhook.failing_since.unwrap_or(now);
        let too_long = now - failing_since >= TimeDelta::from_std(config.pause_after).unwrap_or(TimeDelta::MAX);
        let paused = pause || failures >= config.pause_after_failures || too_long;
        if paused {
            tracing::warn!(webhook = %target.webhook.id, url = %target.webhook.url, failures, "webhook paused");
        }
        let record = DeliveryRecord {
            at: Some(now),
            cursor: None,
            status: status.map(i64::from),
            error: Some(error),
            failures,
            failing_since: Some(failing_since),
            next_attempt_at: now + retry_delay(config, failures),
            paused,
        };
        self.store.record_delivery(target.webhook.id, owner, record).await?;
        Ok(())
    }

    /// POSTs a signed body to the subscription's URL, checked again now: its 2xx status,
    /// or the status (if any) and why it failed.
    async fn post(&self, target: &WebhookTarget, body: &[u8]) -> std::result::Result<u16, (Option<u16>, String)> {
        let config = &self.config.webhooks;
        let (url, addrs) = resolve_target(&target.webhook.url, config.allow_private).await.map_err(|m| (None, m))?;
        let host = url.host_str().unwrap_or_default().to_string();
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(config.connect_timeout)
            .timeout(config.timeout)
            .resolve_to_addrs(&host, &addrs)
            .build()
            .map_err(|e| (None, e.to_string()))?;
        let timestamp = Utc::now().timestamp();
        let response = client
            .post(url)
            .header("content-type", "application/json")
            .header("user-agent", "Switchboard-Webhooks/1")
            .header("switchboard-webhook-id", target.webhook.id.to_string())
            .header("switchboard-signature", signature_header(&target.secret, timestamp, body))
            .body(body.to_vec())
            .send()
            .await
            .map_err(|e| (None, error_text(&e)))?;
        let status = response.status();
        if status.is_success() {
            return Ok(status.as_u16());
        }
        let excerpt: String = response.text().await.unwrap_or_default().chars().take(ERROR_EXCERPT).collect();
        Err((Some(status.as_u16()), format!("answered {status}: {}", excerpt.trim())))
    }
}

/// What a subscription is told: the kinds it chose, and every deletion.
fn subscribed(webhook: &Webhook, change: &FeedChange) -> bool {
    match (&change.op, &change.entry) {
        (FeedOp::Delete, _) | (_, None) => true,
        (FeedOp::Upsert, Some(entry)) => match entry.kind {
            EntryKind::Shared => webhook.contacts,
            EntryKind::Coworker => webhook.presence,
            EntryKind::Personal => false,
        },
    }
}

/// A record that moves the cursor and keeps the rest as it is.
fn unchanged(target: &WebhookTarget, cursor: Option<String>, now: DateTime<Utc>) -> DeliveryRecord {
    let webhook = &target.webhook;
    DeliveryRecord {
        at: None,
        cursor,
        status: None,
        error: None,
        failures: webhook.failures,
        failing_since: webhook.failing_since,
        next_attempt_at: now,
        paused: false,
    }
}

/// The delay before retry number `failures`: doubling from `retry_min`, at most
/// `retry_max`, and between half and all of that at random, so receivers coming back
/// are not met by every sender at once.
fn retry_delay(config: &WebhookConfig, failures: i64) -> TimeDelta {
    let doublings = u32::try_from(failures.saturating_sub(1)).unwrap_or(u32::MAX).min(30);
    let delay = config.retry_min.saturating_mul(1 << doublings).min(config.retry_max);
    let jittered = delay.mul_f64(rand::random_range(0.5..=1.0));
    TimeDelta::from_std(jittered).unwrap_or(TimeDelta::MAX)
}

fn error_text(error: &reqwest::Error) -> String {
    let what = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "failed"
    };
    let mut text = format!("{what}: {error}");
    text.truncate(ERROR_EXCERPT);
    text
}

/// `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.
pub fn signature_header(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut message = format!("{timestamp}.").into_bytes();
    message.extend_from_slice(body);
    let mac: String = hmac_sha256(secret.as_bytes(), &message).iter().map(|b| format!("{b:02x}")).collect();
    format!("t={timestamp},v1={mac}")
}

/// HMAC-SHA256 (RFC 2104), by `ring`, which TLS already brings.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key);
    ring::hmac::sign(&key, message).as_ref().try_into().expect("HMAC-SHA256 is 32 bytes")
}

/// The URL and the addresses its host resolves to, if it may be delivered to.
pub async fn resolve_target(
    url: &str,
    allow_private: bool,
) -> std::result::Result<(reqwest::Url, Vec<SocketAddr>), String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("not a URL: {e}"))?;
    if !matches!(parsed.scheme(), "https" | "http") {
        return Err("give an https:// or http:// URL".into());
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("a URL with a user name or password is not taken; deliveries are signed instead".into());
    }
    let host = parsed.host_str().ok_or("the URL has no host")?.trim_matches(['[', ']']).to_string();
    let port = parsed.port_or_known_default().ok_or("the URL has no port")?;
    let addrs: Vec<SocketAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|e| format!("{host} could not be resolved: {e}"))?
            .collect(),
    };
    if addrs.is_empty() {
        return Err(format!("{host} resolves to no address"));
    }
    if !allow_private && let Some(addr) = addrs.iter().find(|addr| !is_public(addr.ip())) {
        return Err(format!(
            "{host} resolves to {}, a loopback, private, link-local or otherwise non-public address; \
             deliveries go to public addresses only",
            addr.ip()
        ));
    }
    Ok((parsed, addrs))
}

/// Whether an address is one a webhook may reach from the server: not the server
/// itself, its network, its cloud's metadata service, or nowhere.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    let cgnat = a == 100 && (64..128).contains(&b);
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_multicast()
        || ip.is_broadcast()
        || a == 0
        || cgnat)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    let unique_local = first & 0xfe00 == 0xfc00;
    let link_local = first & 0xffc0 == 0xfe80;
    // NAT64 (64:ff9b::/96) reaches the IPv4 address in its last 32 bits.
    let nat64 = ip.segments()[..6] == [0x64, 0xff9b, 0, 0, 0, 0];
    if nat64 {
        let [.., a, b, c, d] = ip.octets();
        return is_public_v4(Ipv4Addr::new(a, b, c, d));
    }
    !(ip.is_loopback() || ip.is_unspecified() || ip.is_multicast() || unique_local || link_local)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231() {
        // Test case 2 of RFC 4231.
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
        // A key longer than a block is hashed first (test case 6).
        let mac = hmac_sha256(&[0xaa; 131], b"Test Using Larger Than Block-Size Key - Hash Key First");
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    }

    #[test]
    fn only_public_addresses_are_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fc00::1",
            "fd12::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in ["93.184.216.34", "100.128.0.1", "2606:4700::1111", "::ffff:93.184.216.34"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn retries_back_off_up_to_the_cap() {
        let config = WebhookConfig::default();
        let first = retry_delay(&config, 1);
        assert!(first >= TimeDelta::seconds(5) && first <= TimeDelta::seconds(10), "{first}");
        let late = retry_delay(&config, 40);
        assert!(late >= TimeDelta::minutes(30) && late <= TimeDelta::hours(1), "{late}");
    }
}
