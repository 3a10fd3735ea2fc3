//! Logins, sessions and API tokens.

use std::net::IpAddr;
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
}

impl Caller {
    /// How the audit log names the caller.
    pub fn actor_name(&self) -> String {
        match self {
            Caller::User { user, domain, .. } => format!("{}@{}", user.extension, domain.name),
            Caller::System => "cli".to_string(),
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

const WRONG_LOGIN: &str = "wrong username or password";
pub const MIN_PASSWORD_LEN: usize = 8;
pub const MAX_PASSWORD_LEN: usize = 256;
const TOKEN_PREFIX: &str = "sb_";

pub fn hash_password(password: &str) -> String {
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 hashes any password with default parameters")
        .to_string()
}

fn verify_password(password: &str, hash: &str) -> bool {
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
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))
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
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("decoy password, never matches"))
}

impl App {
    /// Logs a user in with `extension@domain` and password.
    pub async fn login(&self, username: &str, password: &str, client: Option<IpAddr>) -> Result<Login> {
        let keys = throttle_keys(username, client);
        self.check_throttle(&keys).await?;
        match self.check_credentials(username, password).await? {
            Some((user, domain)) => {
                for key in &keys {
                    self.store.clear_login_failures(key).await?;
                }
                let expires_at = Utc::now() + self.config.session_ttl;
                let (_, secret) = self.issue_token(&user, TokenKind::Session, "login", Some(expires_at)).await?;
                Ok(Login {
                    csrf_token: csrf_token(&secret),
                    token: secret,
                    expires_at,
                    user,
                    domain: domain.name.to_string(),
                })
            }
            None => {
                for key in &keys {
                    self.record_failure(key).await?;
                }
                Err(AppError::Unauthorized(WRONG_LOGIN.into()))
            }
        }
    }

    pub(crate) async fn check_credentials(&self, username: &str, password: &str) -> Result<Option<(User, Domain)>> {
        let found = match parse_login(username) {
            Some((ext, domain_name)) => match self.store.domain_by_name(&domain_name).await? {
                Some(domain) => self.store.user_by_extension(domain.id, &ext).await?.map(|user| (user, domain)),
                None => None,
            },
            None => None,
        };
        let hash = match &found {
            Some((user, _)) => self.store.password_hash(user.id).await?,
            None => None,
        };
        let hash_to_check = hash.clone().unwrap_or_else(|| decoy_hash().to_string());
        let password = password.to_string();
        let matches =
            tokio::task::spawn_blocking(move || verify_password(&password, &hash_to_check)).await.unwrap_or(false);
        Ok(found.filter(|_| matches && hash.is_some()))
    }

    /// Refuses a key locked by too many failures, and slows down a suspicious one.
    pub(crate) async fn check_throttle(&self, keys: &[String]) -> Result<()> {
        let policy = &self.config.login;
        let mut delay = Duration::ZERO;
        for key in keys {
            // An address may be a whole office behind one NAT: allow it more tries.
            let factor = if key.starts_with("address:") { 5 } else { 1 };
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

    pub(crate) async fn record_failure(&self, key: &str) -> Result<()> {
        let failures = self.store.login_failures(key).await?;
        let expired = failures
            .last_failure
            .is_some_and(|last| (Utc::now() - last).to_std().unwrap_or_default() >= self.config.login.lock_for);
        if expired {
            self.store.clear_login_failures(key).await?;
        }
        self.store.record_login_failure(key, Utc::now()).await?;
        Ok(())
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
            Caller::User { .. } => Err(AppError::NotFound),
        }
    }
}

pub(crate) fn throttle_keys(username: &str, client: Option<IpAddr>) -> Vec<String> {
    let mut keys = vec![format!("account:{}", username.trim().to_lowercase().chars().take(200).collect::<String>())];
    if let Some(addr) = client {
        keys.push(format!("address:{addr}"));
    }
    keys
}
