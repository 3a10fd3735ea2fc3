//! App passwords: a secret made for one address-book app (CardDAV) on one device, so
//! the account's password need not be stored on every phone and computer, and one lost
//! device can be cut off alone.
//!
//! - A secret is 16 characters from an alphabet without look-alikes (no `0 o 1 l i`),
//!   shown in four groups (`abcd-efgh-jkmn-pqrs`): about 79 bits, easy to type on a
//!   phone. Spaces, dashes and capitals are ignored when it is checked. Only its SHA-256
//!   is stored: it is random, so a slow hash would only slow down every request.
//! - [`App::basic_login`] is what the CardDAV server calls on every request (clients
//!   send HTTP Basic each time). An app password of the user is tried first: a SHA-256
//!   and one indexed read, no write but its last use (at most once a minute), and no
//!   throttle, which it does not need (nobody guesses 79 random bits) — so somebody
//!   locking the account out by guessing its password does not cut off the user's
//!   devices. Anything else is an attempt at the account's password, counted by the
//!   login throttle before it is checked, exactly as [`App::password_login`]. A right
//!   account password is remembered for a few minutes ([`VerifiedPasswords`]), so that
//!   argon2 runs once per client and not on every request.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{TimeDelta, Utc};
use rand::Rng;
use ring::hmac;
use serde::{Deserialize, Serialize};
use switchboard_core::Invalid;
use switchboard_core::model::{AppPassword, Domain, User};
use switchboard_store::NewAppPassword;
use uuid::Uuid;

use crate::App;
use crate::auth::{Caller, Credential, WRONG_LOGIN, decoy_hash, sha256_hex, throttle_keys, verify_password};
use crate::authz::access;
use crate::error::{AppError, Result};

/// App passwords one user may have.
pub const MAX_APP_PASSWORDS: i64 = 20;
const MAX_NAME: usize = 100;
/// The secret's characters: lowercase letters and digits without look-alikes.
const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
const GROUPS: usize = 4;
const GROUP_LEN: usize = 4;
/// A use is recorded at most this often (every request of a sync would write otherwise).
const TOUCH_EVERY: TimeDelta = TimeDelta::minutes(1);

/// What a user gives to make an app password.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct AppPasswordInput {
    /// What it is for, to recognise it in the list (`Ann's iPhone`): 1 to 100 characters
    /// once trimmed, on one line.
    #[schema(min_length = 1, max_length = 100, example = "Ann's iPhone")]
    pub name: String,
}

/// An app password just made, with its secret: answered this once.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CreatedAppPassword {
    #[serde(flatten)]
    pub app_password: AppPassword,
    /// The password to type into the app (`abcd-efgh-jkmn-pqrs`); never shown again.
    #[schema(example = "abcd-efgh-jkmn-pqrs")]
    pub secret: String,
}

/// A new secret, in its four groups.
fn new_secret() -> String {
    let mut rng = rand::rng();
    let groups: Vec<String> = (0..GROUPS)
        .map(|_| (0..GROUP_LEN).map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())])).collect())
        .collect();
    groups.join("-")
}

/// The secret a typed password stands for, if it has an app password's shape: without
/// separators, in lowercase.
fn canonical_secret(password: &str) -> Option<String> {
    let secret: String = password.chars().filter(|c| !matches!(c, '-' | ' ')).map(|c| c.to_ascii_lowercase()).collect();
    let shaped = secret.len() == GROUPS * GROUP_LEN && secret.bytes().all(|b| ALPHABET.contains(&b));
    shaped.then_some(secret)
}

fn secret_hash(canonical: &str) -> String {
    sha256_hex(canonical)
}

fn checked_name(name: &str) -> Result<String, Invalid> {
    let name = switchboard_core::contact::single_line(name, MAX_NAME).map_err(|m| Invalid::field("name", m))?;
    if name.is_empty() {
        return Err(Invalid::field("name", "give the app password a name (the device or app it is for)"));
    }
    Ok(name)
}

impl App {
    /// Makes an app password for the user `ext`; only that user (or the CLI) may.
    pub async fn create_app_password(
        &self,
        caller: &Caller,
        domain: &str,
        ext: &str,
        input: AppPasswordInput,
    ) -> Result<CreatedAppPassword> {
        let (domain, user) = self.app_passwords_owner(caller, domain, ext).await?;
        if !access(caller, &domain).ok_or(AppError::NotFound)?.can_create_app_password_for(&user) {
            return Err(AppError::Forbidden(format!(
                "you may not make app passwords for {}@{}: only they may, for their own devices",
                user.extension, domain.name
            )));
        }
        let name = checked_name(&input.name)?;
        let secret = new_secret();
        let new = NewAppPassword {
            user_id: user.id,
            domain_id: domain.id,
            name: name.clone(),
            secret_hash: secret_hash(&canonical_secret(&secret).expect("a new secret has the shape")),
        };
        // Metadata only: the secret is in no log.
        let details = serde_json::json!({ "user": user.extension, "name": name });
        let audit = self.audit(caller, Some(domain.id), "app_password.create", None, details);
        let app_password = self.store.create_app_password(new, MAX_APP_PASSWORDS, audit).await?.ok_or_else(|| {
            AppError::Conflict(format!(
                "{}@{} has {MAX_APP_PASSWORDS} app passwords, the most one may have: revoke one no longer used first",
                user.extension, domain.name
            ))
        })?;
        Ok(CreatedAppPassword { app_password, secret })
    }

    /// The user's app passwords, oldest first.
    pub async fn list_app_passwords(&self, caller: &Caller, domain: &str, ext: &str) -> Result<Vec<AppPassword>> {
        let (_, user) = self.app_passwords_owner(caller, domain, ext).await?;
        Ok(self.store.app_passwords(user.id).await?)
    }

    /// Revokes one of the user's app passwords: the next request made with it is refused.
    pub async fn revoke_app_password(&self, caller: &Caller, domain: &str, ext: &str, id: Uuid) -> Result<()> {
        let (domain, user) = self.app_passwords_owner(caller, domain, ext).await?;
        let details = serde_json::json!({ "user": user.extension });
        let audit = self.audit(caller, Some(domain.id), "app_password.revoke", Some(id), details);
        if !self.store.delete_app_password(user.id, id, audit).await? {
            return Err(AppError::NotFound);
        }
        Ok(())
    }

    /// The user `ext` when the caller may list and revoke their app passwords; "not
    /// found" to anyone else.
    async fn app_passwords_owner(&self, caller: &Caller, domain: &str, ext: &str) -> Result<(Domain, User)> {
        let domain = self.reachable_domain(caller, domain).await?;
        let user = self.domain_user(&domain, ext).await?;
        if !access(caller, &domain).ok_or(AppError::NotFound)?.can_manage_app_passwords_of(&user) {
            return Err(AppError::NotFound);
        }
        Ok((domain, user))
    }

    /// The login of an address-book app (HTTP Basic on every CardDAV request):
    /// `username` is `200@acme.example`, `password` one of the user's app passwords or
    /// their account password. See the module's documentation for the costs and the
    /// throttle. Wrong credentials: `Unauthorized`.
    pub async fn basic_login(&self, username: &str, password: &str, client: Option<IpAddr>) -> Result<(User, Domain)> {
        let found = self.login_user(username).await?;
        if let Some((user, domain)) = &found
            && self.app_password_matches(user, password).await?
        {
            return Ok((user.clone(), domain.clone()));
        }
        let keys = throttle_keys(Credential::Password, username, client);
        self.check_throttle(&keys).await?;
        self.count_attempt(&keys).await?;
        match self.account_password_matches(found, password).await? {
            Some(found) => {
                self.forgive_attempt(&keys).await?;
                Ok(found)
            }
            None => Err(AppError::Unauthorized(WRONG_LOGIN.into())),
        }
    }

    /// Whether `password` is one of the user's app passwords; records its use.
    async fn app_password_matches(&self, user: &User, password: &str) -> Result<bool> {
        let Some(secret) = canonical_secret(password) else { return Ok(false) };
        let Some(found) = self.store.app_password_by_secret_hash(user.id, &secret_hash(&secret)).await? else {
            return Ok(false);
        };
        let now = Utc::now();
        if found.last_used_at.is_none_or(|at| at <= now - TOUCH_EVERY) {
            self.store.touch_app_password(found.id, now, now - TOUCH_EVERY).await?;
        }
        Ok(true)
    }

    /// The user and domain when `password` is the user's account password: from the
    /// memory of recent checks, else by argon2 (against a decoy when there is no user,
    /// so that a wrong user costs what a wrong password does).
    async fn account_password_matches(
        &self,
        found: Option<(User, Domain)>,
        password: &str,
    ) -> Result<Option<(User, Domain)>> {
        let hash = match &found {
            Some((user, _)) => self.store.password_hash(user.id).await?,
            None => None,
        };
        let key = match (&found, &hash) {
            (Some((user, _)), Some(hash)) => Some(self.verified_passwords.key(user.id, hash, password)),
            _ => None,
        };
        if let Some(key) = &key
            && self.verified_passwords.holds(key)
        {
            return Ok(found);
        }
        let hash_to_check = hash.clone().unwrap_or_else(|| decoy_hash().to_string());
        let typed = password.to_string();
        let matches = self.password_hashing.run(move || verify_password(&typed, &hash_to_check)).await?;
        match key {
            Some(key) if matches => {
                self.verified_passwords.remember(key);
                Ok(found)
            }
            _ => Ok(None),
        }
    }
}

/// Account passwords that passed argon2 lately, so that an app sending the account
/// password on every request costs one argon2 check per [`VerifiedPasswords::KEEP`].
///
/// An entry is an HMAC, under a key made at start and never shown, of the user's id,
/// the password hash stored when it was checked and the password: a changed password
/// (a new hash) or another user finds nothing, and what is kept in memory cannot be
/// tested against guessed passwords without the key. Only right passwords are kept,
/// and it is consulted after the throttle counted the attempt, so it speeds up no
/// guessing. Its size is bounded: when full, expired entries go; if none has expired,
/// nothing more is remembered until some do (checks are then slower, never wrong).
pub(crate) struct VerifiedPasswords {
    key: hmac::Key,
    entries: Mutex<HashMap<Vec<u8>, Instant>>,
    keep: Duration,
    max_entries: usize,
}

/// An entry's key: the HMAC's bytes.
pub(crate) struct CheckKey(Vec<u8>);

impl VerifiedPasswords {
    pub(crate) const KEEP: Duration = Duration::from_secs(5 * 60);
    pub(crate) const MAX_ENTRIES: usize = 10_000;

    pub(crate) fn new(keep: Duration, max_entries: usize) -> VerifiedPasswords {
        let mut secret = [0u8; 32];
        rand::rng().fill(&mut secret);
        VerifiedPasswords {
            key: hmac::Key::new(hmac::HMAC_SHA256, &secret),
            entries: Mutex::default(),
            keep,
            max_entries,
        }
    }

    fn key(&self, user_id: Uuid, stored_hash: &str, password: &str) -> CheckKey {
        let mut context = hmac::Context::with_key(&self.key);
        // Lengths first, so that no two different triples read as the same bytes.
        for part in [user_id.as_bytes().as_slice(), stored_hash.as_bytes(), password.as_bytes()] {
            context.update(&(part.len() as u64).to_be_bytes());
            context.update(part);
        }
        CheckKey(context.sign().as_ref().to_vec())
    }

    fn holds(&self, key: &CheckKey) -> bool {
        let entries = self.entries.lock().expect("never poisoned: no code panics holding it");
        entries.get(key.0.as_slice()).is_some_and(|checked| checked.elapsed() < self.keep)
    }

    fn remember(&self, key: CheckKey) {
        let mut entries = self.entries.lock().expect("never poisoned: no code panics holding it");
        if entries.len() >= self.max_entries {
            entries.retain(|_, checked| checked.elapsed() < self.keep);
        }
        if entries.len() < self.max_entries {
            entries.insert(key.0, Instant::now());
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.lock().unwrap().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_four_groups_of_unambiguous_characters() {
        let secret = new_secret();
        assert_eq!(secret.len(), 19, "{secret}");
        assert_eq!(secret.split('-').map(str::len).collect::<Vec<_>>(), [4, 4, 4, 4]);
        assert!(!secret.contains(['0', 'o', '1', 'l', 'i']), "{secret}");
        assert_ne!(new_secret(), secret);
        // About 79 bits.
        let bits = (GROUPS * GROUP_LEN) as f64 * (ALPHABET.len() as f64).log2();
        assert!((79.0..80.0).contains(&bits), "{bits}");
    }

    #[test]
    fn a_secret_is_read_however_it_was_typed() {
        let secret = "abcd-efgh-jkmn-pqrs";
        for typed in [secret, "abcdefghjkmnpqrs", "ABCD EFGH JKMN PQRS", "Abcd-efgh-jkmn-pqrs"] {
            assert_eq!(canonical_secret(typed).as_deref(), Some("abcdefghjkmnpqrs"), "{typed}");
        }
        for other in ["abcd-efgh-jkmn-pqr", "abcd-efgh-jkmn-pqrs0", "hunter2hunter2!!", "abcd-efgh-jkmn-pqrl"] {
            assert_eq!(canonical_secret(other), None, "{other}");
        }
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(checked_name("  Ann's iPhone ").unwrap(), "Ann's iPhone");
        assert!(checked_name("   ").is_err());
        assert!(checked_name(&"x".repeat(101)).is_err());
        assert!(checked_name(&"é".repeat(100)).is_ok());
        assert!(checked_name("two\nlines").is_err());
    }

    #[test]
    fn verified_passwords_are_kept_by_user_hash_and_password_and_bounded() {
        let cache = VerifiedPasswords::new(Duration::from_secs(60), 2);
        let ann = Uuid::now_v7();
        cache.remember(cache.key(ann, "hash-1", "secret password"));
        assert!(cache.holds(&cache.key(ann, "hash-1", "secret password")));
        assert!(!cache.holds(&cache.key(ann, "hash-2", "secret password")), "a changed password");
        assert!(!cache.holds(&cache.key(ann, "hash-1", "secret passwore")));
        assert!(!cache.holds(&cache.key(Uuid::now_v7(), "hash-1", "secret password")));
        // Fields cannot run into each other.
        assert!(!cache.holds(&cache.key(ann, "hash-1secret", " password")));
        cache.remember(cache.key(ann, "hash-1", "two"));
        cache.remember(cache.key(ann, "hash-1", "three"));
        assert_eq!(cache.len(), 2, "full, and nothing expired: not remembered");
        assert!(!cache.holds(&cache.key(ann, "hash-1", "three")));

        let short = VerifiedPasswords::new(Duration::ZERO, 1);
        short.remember(short.key(ann, "h", "p"));
        assert!(!short.holds(&short.key(ann, "h", "p")), "expired");
        short.remember(short.key(ann, "h", "q"));
        assert_eq!(short.len(), 1, "expired entries make room");
    }
}
