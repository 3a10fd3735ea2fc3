//! Switchboard's LDAP v3 server: the directory as desk phones read it.
//!
//! Phones bind with a device credential (or a user's login), then search their
//! domain's book under `ou=contacts,dc=<domain labels>` with name or number filters.
//! Only the read side of LDAP is offered: bind, search, unbind, abandon and StartTLS;
//! writes are refused. Every search goes through the app's phone book search (see
//! [`filter`]): the in-memory copy of the domain's book when it is current, else the
//! database's indexed search; a search based at one entry's DN reads that entry by its id.
//!
//! Layout: [`session`] speaks the protocol on one connection, [`book`] is the one
//! place that calls the app, [`dn`] maps names to the tree, [`entry`] builds
//! `inetOrgPerson` entries, [`filter`] turns filters into index lookups and checks
//! entries, [`search`] collects matches, [`shape`] applies sort, view, paging and size
//! limits, [`codec`] frames messages, [`controls`] reads and writes request and response controls,
//! [`tls`] loads the certificate for LDAPS ([`serve_tls`]) and StartTLS.

mod book;
mod codec;
mod controls;
mod dn;
mod entry;
mod filter;
#[doc(hidden)]
pub mod fuzzing;
mod limits;
mod search;
mod session;
mod shape;
mod tls;

use std::sync::Arc;
use std::time::Duration;

use switchboard_app::App;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

pub use crate::search::LOOKUP_COST;
pub use crate::tls::{LdapTls, TlsError};

/// Limits of the LDAP service; the defaults are what production runs.
#[derive(Debug, Clone)]
pub struct LdapConfig {
    /// Largest request accepted; a larger one closes the connection.
    pub max_message_bytes: usize,
    /// A connection with no request for this long is closed.
    pub idle_timeout: Duration,
    /// Connections served at once; more are closed on arrival.
    pub max_connections: usize,
    /// Connections served at once from one client address (an office's phones may
    /// share one public address); more are told so and closed on arrival.
    pub max_connections_per_address: usize,
    /// Most entries one search returns, whatever size limit the client asks for.
    pub max_entries: usize,
    /// The work one search may do, in candidates read: each index look-up (found
    /// something or not) costs [`LOOKUP_COST`], each candidate checked one. Past it the
    /// search ends with `adminLimitExceeded`.
    pub max_examined: usize,
    /// Most assertions (leaves such as `(cn=*ann*)`) a search filter may hold; a larger
    /// filter is refused with `adminLimitExceeded` before anything is looked up. Phones
    /// send a handful.
    pub max_filter_terms: usize,
    /// Whether users (`200@acme.example`) may bind on a connection that is not TLS,
    /// sending their password in clear. Device credentials, random secrets made for
    /// phones, may always bind there.
    pub allow_plain_user_binds: bool,
    /// A TLS handshake (LDAPS, StartTLS) not done by then closes the connection.
    pub tls_handshake_timeout: Duration,
    /// Offered to plain LDAP clients through the StartTLS extended operation.
    pub start_tls: Option<LdapTls>,
}

impl Default for LdapConfig {
    fn default() -> Self {
        LdapConfig {
            max_message_bytes: 64 * 1024,
            idle_timeout: Duration::from_secs(300),
            max_connections: 2_000,
            max_connections_per_address: 256,
            max_entries: 500,
            max_examined: 10_000,
            max_filter_terms: 64,
            allow_plain_user_binds: false,
            tls_handshake_timeout: Duration::from_secs(10),
            start_tls: None,
        }
    }
}

/// Serves LDAP on `listener` until the task is dropped (with StartTLS where
/// `config.start_tls` has a certificate).
pub async fn serve(listener: TcpListener, app: App, config: LdapConfig) {
    accept(listener, app, config, None).await
}

/// Serves LDAPS on `listener`: each connection starts with a TLS handshake, which must
/// end within `config.tls_handshake_timeout`.
pub async fn serve_tls(listener: TcpListener, tls: LdapTls, app: App, config: LdapConfig) {
    accept(listener, app, config, Some(tls)).await
}

async fn accept(listener: TcpListener, app: App, config: LdapConfig, tls: Option<LdapTls>) {
    let config = Arc::new(config);
    let slots = Arc::new(Semaphore::new(config.max_connections));
    let per_address = limits::PerAddress::new(config.max_connections_per_address);
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of file descriptors and the like: wait rather than spin.
                tracing::warn!(%error, "could not accept an LDAP connection");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tracing::warn!(client = %peer, "too many LDAP connections; closing a new one");
            continue;
        };
        let Some(address_slot) = per_address.take(peer.ip()) else {
            tracing::warn!(client = %peer, "too many LDAP connections from one address; closing a new one");
            tokio::spawn(session::refuse_busy(stream));
            continue;
        };
        let _ = stream.set_nodelay(true);
        let session = session::Session::new(app.clone(), config.clone(), peer.ip());
        let tls = tls.clone();
        let handshake_timeout = config.tls_handshake_timeout;
        tokio::spawn(async move {
            match tls {
                None => session.run(stream).await,
                Some(tls) => match tokio::time::timeout(handshake_timeout, tls.acceptor().accept(stream)).await {
                    Ok(Ok(stream)) => session.secure().run(stream).await,
                    Ok(Err(error)) => tracing::debug!(client = %peer, %error, "an LDAPS handshake failed"),
                    Err(_) => tracing::debug!(client = %peer, "an LDAPS handshake did not end in time"),
                },
            }
            drop((slot, address_slot));
        });
    }
}
