//! Logins, sessions and API tokens.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};
use switchboard_core::model::{Domain, Token, TokenKind, User};
use switchboard_core::names::parse_login;
use switchboard_store::NewToken;
use tokio::sync::Semaphore;
use uuid::Uuid;

use crate::App;
use crate::error::{AppError, Result};

/// Who is asking.
#[derive(Debug, Clone)]
pub enum Caller {
    /// A logged-in user (session or API token).
    User { user: Box<User>, domain: Box<Domain>, token_id: Uuid },
    /// The command line run by the operator on the server: may do everything.
    System,
    /// A phone system's (or another integration's) credential: reports the line state of
    /// its domain's users and may do nothing else (`authz::may_report_lines`).
    Pbx { domain: Box<Domain>, credential_id: Uuid },
}

impl Caller {
    /// How the audit log names the caller.
    pub fn actor_name(&self) -> String {
        match self {
            Caller::User { user, domain, .. } => format!("{}@{}", user.extension, domain.name),
            Caller::System => "cli".to_string(),
            Caller::Pbx { credential_id, domain } => format!("pbx:{credential_id}@{}", domain.name),
        }
    }
}

/// A successful login.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Login {
    /// Bearer token for `Authorization: Bearer …`; also set as the session cookie.
    pub token: String,
    /// Send back as `X-CSRF-Token` on unsafe requests authenticated by the cookie.
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
    pub user: User,
    pub domain: String,
}

/// A new API token; the secret is shown once.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NewApiToken {
    #[serde(flatten)]
    pub token: Token,
    pub secret: String,
}

pub(crate) const WRONG_LOGIN: &str = "wrong username or password";
pub const MIN_PASSWORD_LEN: usize = 8;
pub const MAX_PASSWORD_LEN: usize = 256;
const TOKEN_PREFIX: &str = "sb_";
/// PBX credentials' secrets start apart, so a request names which table to look in.
pub(crate) const PBX_TOKEN_PREFIX: &str = "sbp_";

pub fn hash_password(password: &str) -> String {
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 hashes any password with default parameters")
        .to_string()
}

pub(crate) fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

/// Checks a new password's length; returns it for hashing.
pub fn check_password(password: &str) -> Result<&str, String> {
    let len = password.chars().count();
    if !(MIN_PASSWORD_LEN..=MAX_PASSWORD_LEN).contains(&len) {
        return Err(format!("a password has {MIN_PASSWORD_LEN} to {MAX_PASSWORD_LEN} characters"));
    }
    Ok(password)
}

/// A random password for users created without one: 20 characters, ~120 bits.
pub fn generate_password() -> String {
    let mut bytes = [0u8; 15];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn new_secret() -> String {
    new_secret_with(TOKEN_PREFIX)
}

/// 256 random bits after `prefix`.
pub(crate) fn new_secret_with(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

pub(crate) fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// The CSRF token that goes with a session secret: derived, so nothing more is stored.
pub fn csrf_token(secret: &str) -> String {
    sha256_hex(&format!("csrf:{secret}"))[..32].to_string()
}

/// A hash to verify against when the user does not exist, so a wrong user costs
/// as much time as a wrong password.
pub(crate) fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("decoy password, never matches"))
}

impl App {
    /// Logs a user in with `extension@domain` and password.
    pub async fn login(&self, username: &str, password: &str, client: Option<IpAddr>) -> Result<Login> {
        let (user, domain) = self.password_login(username, password, client).await?;
        let expires_at = Utc::now() + self.config.session_ttl;
        let (_, secret) = self.issue_token(&user, TokenKind::Session, "login", Some(expires_at)).await?;
        Ok(Login { csrf_token: csrf_token(&secret), token: secret, expires_at, user, domain: domain.name.to_string() })
    }

    /// Checks a user's password under the password throttle: the portal and API login,
    /// HTTP Basic and LDAP user binds.
    ///
    /// The attempt is counted as a failure before the password is checked, in one
    /// statement per bucket, so parallel guesses cannot all slip under the limit: at
    /// most `lock_after` of them are ever checked. A right password takes its count
    /// back (and clears the account's).
    pub(crate) async fn password_login(
        &self,
        username: &str,
        password: &str,
        client: Option<IpAddr>,
    ) -> Result<(User, Domain)> {
        let keys = throttle_keys(Credential::Password, username, client);
        self.check_throttle(&keys).await?;
        self.count_attempt(&keys).await?;
        match self.check_credentials(username, password).await? {
            Some(found) => {
                self.forgive_attempt(&keys).await?;
                Ok(found)
            }
            None => Err(AppError::Unauthorized(WRONG_LOGIN.into())),
        }
    }

    pub(crate) async fn check_credentials(&self, username: &str, password: &str) -> Result<Option<(User, Domain)>> {
        let found = self.login_user(username).await?;
        let hash = match &found {
            Some((user, _)) => self.store.password_hash(user.id).await?,
            None => None,
        };
        let hash_to_check = hash.clone().unwrap_or_else(|| decoy_hash().to_string());
        let password = password.to_string();
        let matches = self.password_hashing.run(move || verify_password(&password, &hash_to_check)).await?;
        Ok(found.filter(|_| matches && hash.is_some()))
    }

    /// The user a login (`200@acme.example`) names, with their domain, if both exist.
    pub(crate) async fn login_user(&self, username: &str) -> Result<Option<(User, Domain)>> {
        let Some((ext, domain_name)) = parse_login(username) else { return Ok(None) };
        let Some(domain) = self.store.domain_by_name(&domain_name).await? else { return Ok(None) };
        Ok(self.store.user_by_extension(domain.id, &ext).await?.map(|user| (user, domain)))
    }

    /// Hashes a new password, within the bound on hashes running at once.
    pub(crate) async fn hash_new_password(&self, password: String) -> Result<String> {
        self.password_hashing.run(move || hash_password(&password)).await
    }

    /// How many password hashes ran, and the most that ran at once.
    pub fn password_hash_stats(&self) -> PasswordHashStats {
        self.password_hashing.stats()
    }

    /// Refuses a key locked by too many failures, and slows down a suspicious one.
    pub(crate) async fn check_throttle(&self, keys: &[String]) -> Result<()> {
        let policy = &self.config.login;
        let mut delay = Duration::ZERO;
        for key in keys {
            let factor = key_factor(key);
            let failures = self.store.login_failures(key).await?;
            let Some(last) = failures.last_failure else { continue };
            let since = (Utc::now() - last).to_std().unwrap_or_default();
            if since >= policy.lock_for {
                continue;
            }
            if failures.count >= policy.lock_after * factor {
                return Err(AppError::TooManyAttempts { retry_after: policy.lock_for - since });
            }
            if failures.count >= policy.slow_after * factor {
                let steps = u32::try_from(failures.count - policy.slow_after * factor + 1).unwrap_or(u32::MAX);
                delay = delay.max(policy.delay_step.saturating_mul(steps).min(policy.max_delay));
            }
        }
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        Ok(())
    }

    /// Counts an attempt in every bucket before its secret is checked; refuses it when
    /// that goes over a bucket's limit.
    pub(crate) async fn count_attempt(&self, keys: &[String]) -> Result<()> {
        let policy = &self.config.login;
        let mut over = false;
        for key in keys {
            over |= self.record_failure(key).await? > policy.lock_after * key_factor(key);
        }
        if over {
            return Err(AppError::TooManyAttempts { retry_after: policy.lock_for });
        }
        Ok(())
    }

    /// A right secret after [`App::count_attempt`]: the account (or device) starts
    /// afresh; an address only takes back this attempt, so that logging in to one's own
    /// account does not wipe out guesses at others' from the same address.
    pub(crate) async fn forgive_attempt(&self, keys: &[String]) -> Result<()> {
        for key in keys {
            if key_factor(key) == 1 {
                self.store.clear_login_failures(key).await?;
            } else {
                self.store.forgive_login_failure(key).await?;
            }
        }
        Ok(())
    }

    /// Counts a failure for `key`, starting again after a quiet `lock_for`; returns the count.
    pub(crate) async fn record_failure(&self, key: &str) -> Result<i64> {
        let now = Utc::now();
        let window = chrono::Duration::from_std(self.config.login.lock_for).unwrap_or(chrono::Duration::MAX);
        let failures = self.store.count_login_failure(key, now, now - window).await?;
        Ok(failures.count)
    }

    /// Deletes expired sessions and tokens, and failure counters quiet for longer than a
    /// lock lasts (they would start again at one anyway); run hourly by the server.
    /// Returns how many of each went.
    pub async fn purge_expired_logins(&self) -> Result<(u64, u64)> {
        let now = Utc::now();
        let tokens = self.store.purge_expired_tokens(now).await?;
        let window = chrono::Duration::from_std(self.config.login.lock_for).unwrap_or(chrono::Duration::MAX);
        let failures = self.store.purge_login_failures(now - window).await?;
        Ok((tokens, failures))
    }

    async fn issue_token(
        &self,
        user: &User,
        kind: TokenKind,
        name: &str,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<(Token, String)> {
        let secret = new_secret();
        let token = self
            .store
            .create_token(NewToken {
                user_id: user.id,
                kind,
                name: name.to_string(),
                secret_hash: sha256_hex(&secret),
                expires_at,
            })
            .await?;
        Ok((token, secret))
    }

    /// Finds who a bearer token or session cookie belongs to.
    ///
    /// One statement, on every request: the token by its hash, live (not expired), joined
    /// with its user and the user's domain. Nothing is cached, so a token that is revoked
    /// or a session that is ended, expires or loses its user (tokens go with their user)
    /// is refused on the very next request, on every server sharing the database.
    pub async fn authenticate(&self, secret: &str) -> Result<Caller> {
        let invalid = || AppError::Unauthorized("the token is unknown or has expired; log in again".into());
        if secret.starts_with(PBX_TOKEN_PREFIX) && secret.len() <= 100 {
            return self.authenticate_pbx(secret).await?.ok_or_else(invalid);
        }
        if !secret.starts_with(TOKEN_PREFIX) || secret.len() > 100 {
            return Err(invalid());
        }
        let owner =
            self.store.token_owner_by_secret_hash(&sha256_hex(secret), Utc::now()).await?.ok_or_else(invalid)?;
        Ok(Caller::User { user: Box::new(owner.user), domain: Box::new(owner.domain), token_id: owner.token.id })
    }

    /// Ends the session (or revokes the API token) the caller used.
    pub async fn logout(&self, caller: &Caller) -> Result<()> {
        if let Caller::User { user, token_id, .. } = caller {
            self.store.delete_token(user.id, *token_id).await?;
        }
        Ok(())
    }

    /// Signs the caller out everywhere: ends every session of theirs (this one too) and
    /// revokes all their API tokens. Returns how many went.
    pub async fn sign_out_everywhere(&self, caller: &Caller) -> Result<u64> {
        let Caller::User { user, .. } = caller else { return Err(AppError::NotFound) };
        Ok(self.store.delete_user_tokens(user.id).await?)
    }

    /// Creates a named API token for `user` (the caller themself, or any user from the CLI).
    pub async fn create_api_token(&self, caller: &Caller, user: &User, name: &str) -> Result<NewApiToken> {
        self.require_self_or_system(caller, user)?;
        let name = switchboard_core::contact::single_line(name, 100)
            .map_err(|m| switchboard_core::Invalid::field("name", m))?;
        if name.is_empty() {
            return Err(switchboard_core::Invalid::field("name", "give the token a name").into());
        }
        let (token, secret) = self.issue_token(user, TokenKind::Api, &name, None).await?;
        Ok(NewApiToken { token, secret })
    }

    pub async fn list_api_tokens(&self, caller: &Caller, user: &User) -> Result<Vec<Token>> {
        self.require_self_or_system(caller, user)?;
        Ok(self.store.list_tokens(user.id, TokenKind::Api).await?)
    }

    pub async fn revoke_api_token(&self, caller: &Caller, user: &User, token_id: Uuid) -> Result<()> {
        self.require_self_or_system(caller, user)?;
        let is_api = self.store.list_tokens(user.id, TokenKind::Api).await?.iter().any(|t| t.id == token_id);
        if !is_api || !self.store.delete_token(user.id, token_id).await? {
            return Err(AppError::NotFound);
        }
        Ok(())
    }

    fn require_self_or_system(&self, caller: &Caller, user: &User) -> Result<()> {
        match caller {
            Caller::System => Ok(()),
            Caller::User { user: me, .. } if me.id == user.id => Ok(()),
            Caller::User { .. } | Caller::Pbx { .. } => Err(AppError::NotFound),
        }
    }
}

/// The kinds of credential whose failures are counted apart: a phone retrying a
/// revoked URL or device password from an office's one public address must not lock
/// the people there out of their passwords.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Credential {
    /// A user's password (portal and API login, HTTP Basic, LDAP user bind).
    Password,
    /// A device's LDAP bind DN and password.
    DeviceBind,
    /// A phonebook URL token (nothing names an account: the address only).
    UrlToken,
}

/// The throttle buckets of an attempt: per account (or device DN) and per address.
pub(crate) fn throttle_keys(kind: Credential, name: &str, client: Option<IpAddr>) -> Vec<String> {
    let kind = match kind {
        Credential::Password => "password",
        Credential::DeviceBind => "device-bind",
        Credential::UrlToken => "url-token",
    };
    let mut keys = Vec::new();
    if kind != "url-token" {
        let name = name.trim().to_lowercase().chars().take(200).collect::<String>();
        keys.push(format!("{kind}:account:{name}"));
    }
    if let Some(addr) = client {
        keys.push(format!("{kind}{ADDRESS_KEY}{}", addr.to_canonical()));
    }
    keys
}

const ADDRESS_KEY: &str = ":address:";

/// An address may be a whole office behind one NAT: it is allowed five times the tries.
fn key_factor(key: &str) -> i64 {
    if key.contains(ADDRESS_KEY) { 5 } else { 1 }
}

/// What [`App::password_hash_stats`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordHashStats {
    /// Hashes computed or checked since the start.
    pub runs: u64,
    /// The most that ran at the same time.
    pub most_at_once: usize,
}

/// Bounds the argon2 hashes running at once (each takes about 19 MiB and a core for
/// tens of milliseconds): logins, HTTP Basic and LDAP user binds, new passwords. A few
/// more wait their turn; past that an attempt is answered `Overloaded` (503 with
/// `Retry-After`) at once rather than queueing without end.
pub(crate) struct PasswordHashing {
    permits: Arc<Semaphore>,
    waiting: Arc<AtomicUsize>,
    max_waiting: usize,
    runs: Arc<AtomicU64>,
    running: Arc<AtomicUsize>,
    most_at_once: Arc<AtomicUsize>,
}

/// How long a client told that hashing is overloaded should wait.
const OVERLOADED_RETRY: Duration = Duration::from_secs(1);

impl PasswordHashing {
    pub(crate) fn new(at_once: usize, max_waiting: usize) -> PasswordHashing {
        PasswordHashing {
            permits: Arc::new(Semaphore::new(at_once.max(1))),
            waiting: Arc::default(),
            max_waiting,
            runs: Arc::default(),
            running: Arc::default(),
            most_at_once: Arc::default(),
        }
    }

    /// Runs `work` on a blocking thread once a permit is free. The permit goes with the
    /// work, so a request that is dropped meanwhile cannot let more hashes run.
    pub(crate) async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T> {
        let permit = match self.permits.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                let Some(_place) = QueuePlace::take(&self.waiting, self.max_waiting) else {
                    return Err(AppError::Overloaded { retry_after: OVERLOADED_RETRY });
                };
                self.permits.clone().acquire_owned().await.expect("the semaphore is never closed")
            }
        };
        let (runs, running, most) = (self.runs.clone(), self.running.clone(), self.most_at_once.clone());
        let task = tokio::task::spawn_blocking(move || {
            let now_running = running.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(now_running, Ordering::SeqCst);
            runs.fetch_add(1, Ordering::SeqCst);
            let result = work();
            running.fetch_sub(1, Ordering::SeqCst);
            drop(permit);
            result
        });
        Ok(task.await.expect("a password hash neither panics nor is cancelled"))
    }

    fn stats(&self) -> PasswordHashStats {
        PasswordHashStats {
            runs: self.runs.load(Ordering::SeqCst),
            most_at_once: self.most_at_once.load(Ordering::SeqCst),
        }
    }
}

/// A place in the queue for a hashing permit, given back when dropped (also when the
/// request waiting in it is dropped).
struct QueuePlace<'a>(&'a AtomicUsize);

impl<'a> QueuePlace<'a> {
    fn take(waiting: &'a AtomicUsize, max: usize) -> Option<QueuePlace<'a>> {
        waiting.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| (n < max).then_some(n + 1)).ok()?;
        Some(QueuePlace(waiting))
    }
}

impl Drop for QueuePlace<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashing_is_bounded_and_a_full_queue_is_refused_at_once() {
        let hashing = Arc::new(PasswordHashing::new(1, 1));
        let (started_tx, started_rx) = std::sync::mpsc::channel::<()>();
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        // The one permit: held until released.
        let first = tokio::spawn({
            let hashing = hashing.clone();
            async move {
                hashing
                    .run(move || {
                        started_tx.send(()).unwrap();
                        release_rx.recv().unwrap();
                    })
                    .await
            }
        });
        tokio::task::spawn_blocking(move || started_rx.recv().unwrap()).await.unwrap();
        // The one place in the queue.
        let second = tokio::spawn({
            let hashing = hashing.clone();
            async move { hashing.run(|| ()).await }
        });
        while hashing.waiting.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        // Nothing left: refused without waiting.
        let third = hashing.run(|| ()).await;
        assert!(matches!(third, Err(AppError::Overloaded { .. })), "{third:?}");
        release_tx.send(()).unwrap();
        first.await.unwrap().unwrap();
        second.await.unwrap().unwrap();
        assert_eq!(hashing.stats(), PasswordHashStats { runs: 2, most_at_once: 1 });
        assert_eq!(hashing.waiting.load(Ordering::SeqCst), 0, "the place was given back");
    }

    #[test]
    fn each_kind_of_credential_has_its_own_buckets() {
        let client = Some("::ffff:203.0.113.9".parse().unwrap());
        assert_eq!(
            throttle_keys(Credential::Password, " 200@ACME.example ", client),
            ["password:account:200@acme.example", "password:address:203.0.113.9"]
        );
        assert_eq!(
            throttle_keys(Credential::DeviceBind, "cn=x,ou=devices", client),
            ["device-bind:account:cn=x,ou=devices", "device-bind:address:203.0.113.9"]
        );
        assert_eq!(throttle_keys(Credential::UrlToken, "", client), ["url-token:address:203.0.113.9"]);
        assert_eq!(throttle_keys(Credential::UrlToken, "", None), Vec::<String>::new());
        assert_eq!(key_factor("password:address:203.0.113.9"), 5);
        assert_eq!(key_factor("password:account:200@acme.example"), 1);
    }
}
