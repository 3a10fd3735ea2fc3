//! Credentials bound to a long-lived connection (an LDAP session): checked again on
//! every operation, so revoking a device, deleting a user or changing their password
//! takes effect on connections already open, as it does for HTTP requests and event
//! streams.
//!
//! The check is cheap: a device is re-read with the one statement a phone's URL token
//! costs (`device_access`, which also gives the domain's change stamp the operation then
//! uses); a user is re-read by id with their password hash, compared with the hash that
//! was current when they bound.

use std::net::IpAddr;

use switchboard_core::DomainName;
use switchboard_core::names::{Extension, parse_login};
use switchboard_store::DeviceKey;
use uuid::Uuid;

use crate::App;
use crate::auth::sha256_hex;
use crate::devices::{OneRequest, PhonebookReader, parse_bind_dn};
use crate::error::{AppError, Result};

/// A reader that bound on a connection, with what its credential was then.
#[derive(Debug, Clone)]
pub struct BoundReader {
    reader: PhonebookReader,
    credential: Credential,
}

#[derive(Debug, Clone)]
enum Credential {
    /// A device credential: its id, domain and the hash of the password it bound with.
    Device { id: Uuid, domain: DomainName, password_hash: String },
    /// A user: the password hash stored when they bound (read before the password was
    /// checked, so a change racing the bind still ends the connection's access).
    User { id: Uuid, password_hash: Option<String> },
}

impl BoundReader {
    /// The reader as it was when it bound (for naming its domain).
    pub fn reader(&self) -> &PhonebookReader {
        &self.reader
    }
}

/// Whether a bind name is a user's login (`200@acme.example`) rather than a device's DN:
/// the same test [`App::device_by_bind`] makes.
pub fn binds_as_user(bind_dn: &str) -> bool {
    let bind_dn = bind_dn.trim();
    !bind_dn.contains('=') && bind_dn.contains('@')
}

/// Answered when a bound credential no longer holds.
fn no_longer_valid() -> AppError {
    AppError::Unauthorized("the credential this connection bound with was revoked or changed; bind again".into())
}

impl App {
    /// A simple bind on a connection: [`App::device_by_bind`], remembering the
    /// credential so that [`App::recheck_bound`] can tell when it stops holding.
    pub async fn bind_connection(&self, bind_dn: &str, password: &str, client: Option<IpAddr>) -> Result<BoundReader> {
        let bind_dn = bind_dn.trim();
        let device = parse_bind_dn(bind_dn);
        let user_hash = match (&device, parse_login(bind_dn)) {
            (None, Some((extension, domain))) => self.password_hash_of(&domain, &extension).await?,
            _ => None,
        };
        let reader = self.device_by_bind(bind_dn, password, client).await?;
        let credential = match (&reader, device, user_hash) {
            (PhonebookReader::Device { device, .. }, Some((_, domain)), _) => {
                Credential::Device { id: device.id, domain, password_hash: sha256_hex(password) }
            }
            (PhonebookReader::User { user, .. }, _, read_before) => {
                // A user recreated under the same login in between is another credential.
                let password_hash = read_before.filter(|(id, _)| *id == user.id).map(|(_, hash)| hash);
                Credential::User { id: user.id, password_hash }
            }
            _ => return Err(no_longer_valid()),
        };
        Ok(BoundReader { reader, credential })
    }

    /// The reader for one more operation of a connection that bound as `bound`, as the
    /// database knows it now; `Unauthorized` once the device is revoked or gone, the
    /// user deleted or their password changed; `Forbidden` when the device may no longer
    /// connect from `client`.
    pub async fn recheck_bound(&self, bound: &BoundReader, client: Option<IpAddr>) -> Result<PhonebookReader> {
        match &bound.credential {
            Credential::Device { id, domain, password_hash } => {
                let key = DeviceKey::Bind { domain, id: *id };
                let access = self.store.device_access(key).await?.ok_or_else(no_longer_valid)?;
                if access.password_hash != *password_hash {
                    return Err(no_longer_valid());
                }
                // Revocation and allowed networks are checked as for a new request; the
                // reader carries this read's change stamp for the one operation.
                self.reader_of(access, client, OneRequest::Yes).await.map_err(|error| match error {
                    AppError::Unauthorized(_) => no_longer_valid(),
                    other => other,
                })
            }
            Credential::User { id, password_hash } => {
                let user = self.store.user_by_id(*id).await?.ok_or_else(no_longer_valid)?;
                let current = self.store.password_hash(*id).await?;
                if password_hash.is_none() || current != *password_hash {
                    return Err(no_longer_valid());
                }
                let domain = bound.reader.domain().clone();
                Ok(PhonebookReader::User { user: Box::new(user), domain: Box::new(domain) })
            }
        }
    }

    /// The user behind a login and their password hash, if both exist.
    async fn password_hash_of(&self, domain: &DomainName, extension: &Extension) -> Result<Option<(Uuid, String)>> {
        let Some(domain) = self.store.domain_by_name(domain).await? else { return Ok(None) };
        let Some(user) = self.store.user_by_extension(domain.id, extension).await? else { return Ok(None) };
        Ok(self.store.password_hash(user.id).await?.map(|hash| (user.id, hash)))
    }
}
