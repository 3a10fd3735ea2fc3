//! One client connection: reads LDAP messages, answers each in turn.

use std::net::IpAddr;
use std::sync::Arc;

use futures::{SinkExt, StreamExt};
use ldap3_proto::control::LdapControl;
use ldap3_proto::proto::{
    LdapBindCred, LdapBindRequest, LdapBindResponse, LdapExtendedResponse, LdapFilter, LdapMsg, LdapOp,
    LdapPartialAttribute, LdapResult, LdapResultCode, LdapSearchRequest, LdapSearchResultEntry, LdapSearchScope,
};
use switchboard_app::{App, BoundReader, PhonebookReader, binds_as_user};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::codec::Framed;
use uuid::Uuid;

use crate::LdapConfig;
use crate::book::{self, Refusal};
use crate::codec::Codec;
use crate::dn::{self, Base};
use crate::entry::{container, person};
use crate::filter::{self, matches};
use crate::search::{self, Bounds, Found};
use crate::{controls, shape};

/// RFC 4511 §4.4.1: sent (with message id 0) before the server closes a connection.
const NOTICE_OF_DISCONNECTION: &str = "1.3.6.1.4.1.1466.20036";
/// RFC 4511 §4.14: the StartTLS extended operation.
const START_TLS: &str = "1.3.6.1.4.1.1466.20037";

pub struct Session {
    app: App,
    config: Arc<LdapConfig>,
    client: IpAddr,
    /// Who bound; `None` for an anonymous client.
    bound: Option<BoundReader>,
    /// The connection is already TLS (LDAPS, or after StartTLS).
    secure: bool,
}

enum Next {
    Continue,
    Close,
    /// StartTLS was accepted: the TLS handshake comes next.
    StartTls,
}

impl Session {
    pub fn new(app: App, config: Arc<LdapConfig>, client: IpAddr) -> Session {
        Session { app, config, client, bound: None, secure: false }
    }

    /// The session of a connection that is TLS from the start (LDAPS).
    pub fn secure(self) -> Session {
        Session { secure: true, ..self }
    }

    /// Serves the connection until the client unbinds or hangs up, idles too long, or
    /// sends something that is not LDAP (then only this connection ends). After a
    /// StartTLS the same session goes on over TLS.
    pub async fn run<S: AsyncRead + AsyncWrite + Unpin>(mut self, stream: S) {
        let mut framed = Framed::new(stream, Codec::new(self.config.max_message_bytes));
        if let Next::StartTls = self.converse(&mut framed).await {
            let Some(tls) = self.config.start_tls.clone() else { return };
            let parts = framed.into_parts();
            // RFC 4511 §4.14.1: nothing may follow the request before the handshake.
            if !parts.read_buf.is_empty() {
                tracing::debug!(client = %self.client, "closing a connection that sent data after StartTLS");
                return;
            }
            let handshake = tokio::time::timeout(self.config.tls_handshake_timeout, tls.acceptor().accept(parts.io));
            match handshake.await {
                Ok(Ok(stream)) => {
                    self.secure = true;
                    let mut framed = Framed::new(stream, Codec::new(self.config.max_message_bytes));
                    self.converse(&mut framed).await;
                }
                Ok(Err(error)) => tracing::debug!(client = %self.client, %error, "a StartTLS handshake failed"),
                Err(_) => tracing::debug!(client = %self.client, "a StartTLS handshake did not end in time"),
            }
        }
    }

    /// Answers requests until the connection ends ([`Next::Close`]) or is to become TLS
    /// ([`Next::StartTls`], the response sent).
    async fn converse<S: AsyncRead + AsyncWrite + Unpin>(&mut self, framed: &mut Framed<S, Codec>) -> Next {
        loop {
            let message = match tokio::time::timeout(self.config.idle_timeout, framed.next()).await {
                Err(_) => {
                    let _ = framed.send(notice(LdapResultCode::Unavailable, "idle for too long")).await;
                    return Next::Close;
                }
                Ok(None) => return Next::Close,
                Ok(Some(Err(error))) => {
                    tracing::debug!(client = %self.client, %error, "closing an LDAP connection after a bad message");
                    let _ = framed.send(notice(LdapResultCode::ProtocolError, "malformed LDAP message")).await;
                    return Next::Close;
                }
                Ok(Some(Ok(message))) => message,
            };
            let mut replies = Vec::new();
            let next = self.answer(message, &mut replies).await;
            for reply in replies {
                if framed.feed(reply).await.is_err() {
                    return Next::Close;
                }
            }
            if framed.flush().await.is_err() {
                return Next::Close;
            }
            if let Next::Close | Next::StartTls = next {
                return next;
            }
        }
    }

    async fn answer(&mut self, message: LdapMsg, replies: &mut Vec<LdapMsg>) -> Next {
        let id = message.msgid;
        let refused =
            |what: &str| result(LdapResultCode::UnwillingToPerform, &format!("{what}: this directory is read-only"));
        let op = match message.op {
            LdapOp::BindRequest(request) => LdapOp::BindResponse(self.bind(request).await),
            LdapOp::SearchRequest(request) => {
                self.search(id, request, &message.ctrl, replies).await;
                return Next::Continue;
            }
            LdapOp::UnbindRequest => return Next::Close,
            // Each request is answered before the next is read: nothing is left to abandon.
            LdapOp::AbandonRequest(_) => return Next::Continue,
            LdapOp::ExtendedRequest(request) if request.name == START_TLS => {
                let (code, message) = match (&self.config.start_tls, self.secure) {
                    (_, true) => (LdapResultCode::OperationsError, "TLS is already established"),
                    (None, false) => {
                        (LdapResultCode::Unavailable, "StartTLS is not offered: the server has no certificate")
                    }
                    (Some(_), false) => (LdapResultCode::Success, ""),
                };
                let accepted = code == LdapResultCode::Success;
                let response =
                    LdapExtendedResponse { res: result(code, message), name: Some(START_TLS.into()), value: None };
                replies.push(LdapMsg::new(id, LdapOp::ExtendedResponse(response)));
                return if accepted { Next::StartTls } else { Next::Continue };
            }
            LdapOp::ExtendedRequest(request) => LdapOp::ExtendedResponse(LdapExtendedResponse {
                res: result(
                    LdapResultCode::ProtocolError,
                    &format!("extended operation {} is not supported", request.name),
                ),
                name: None,
                value: None,
            }),
            LdapOp::AddRequest(_) => LdapOp::AddResponse(refused("add")),
            LdapOp::ModifyRequest(_) => LdapOp::ModifyResponse(refused("modify")),
            LdapOp::DelRequest(_) => LdapOp::DelResponse(refused("delete")),
            LdapOp::ModifyDNRequest(_) => LdapOp::ModifyDNResponse(refused("rename")),
            LdapOp::CompareRequest(_) => LdapOp::CompareResult(refused("compare")),
            // A response, or anything else a client never sends.
            _ => {
                replies.push(notice(LdapResultCode::ProtocolError, "unexpected message from a client"));
                return Next::Close;
            }
        };
        replies.push(LdapMsg::new(id, op));
        Next::Continue
    }

    /// A simple bind as a device credential or a user. Whatever happens, the
    /// connection is anonymous until a bind succeeds (RFC 4511 §4.2.1). An anonymous
    /// bind succeeds as a bind: whether an anonymous client may read a domain's book is
    /// only known once a search names the domain.
    async fn bind(&mut self, request: LdapBindRequest) -> LdapBindResponse {
        self.bound = None;
        let response = |code, message: &str| LdapBindResponse { res: result(code, message), saslcreds: None };
        if request.version != 3 {
            return response(LdapResultCode::ProtocolError, "only LDAP version 3 is supported");
        }
        let LdapBindCred::Simple(password) = request.cred else {
            return response(LdapResultCode::AuthMethodNotSupported, "only simple binds are supported");
        };
        match (request.dn.trim().is_empty(), password.is_empty()) {
            (true, true) => return response(LdapResultCode::Success, ""),
            // RFC 4513 §5.1.2: an "unauthenticated" bind (a name, no password) is refused.
            (_, true) => return response(LdapResultCode::UnwillingToPerform, "a password is required"),
            _ => {}
        }
        // Refused before the password is checked: it went over the wire in clear already,
        // and must not be tried (or counted) there.
        if binds_as_user(&request.dn) && !self.secure && !self.config.allow_plain_user_binds {
            return response(
                LdapResultCode::ConfidentialityRequired,
                "users bind over TLS only (LDAPS or StartTLS); phones bind with a device credential",
            );
        }
        match book::bind(&self.app, request.dn.trim(), &password, self.client).await {
            Ok(bound) => {
                self.bound = Some(bound);
                response(LdapResultCode::Success, "")
            }
            Err(Refusal::Refused) => response(LdapResultCode::InvalidCredentials, "invalid credentials"),
            Err(Refusal::Unavailable(error)) => {
                tracing::warn!(%error, "an LDAP bind could not be checked");
                response(LdapResultCode::Unavailable, "the directory is unavailable; try again")
            }
        }
    }

    /// The bound reader, checked again for this operation, or for an anonymous client
    /// the base DN's domain where it allows anonymous reading.
    ///
    /// A bound credential that stopped holding (device revoked or deleted, user deleted,
    /// password changed, address no longer allowed) answers `insufficientAccessRights`:
    /// the search is what is refused, not a bind (`invalidCredentials` is a bind's
    /// answer); the connection is anonymous from then on, so a phone binds again.
    async fn reader_for(&mut self, base: &str) -> Result<PhonebookReader, (LdapResultCode, &'static str)> {
        if let Some(bound) = &self.bound {
            return match book::recheck(&self.app, bound, self.client).await {
                Ok(reader) => Ok(reader),
                Err(Refusal::Refused) => {
                    self.bound = None;
                    Err((LdapResultCode::InsufficentAccessRights, "the bound credential no longer holds; bind again"))
                }
                Err(Refusal::Unavailable(error)) => {
                    tracing::warn!(%error, "a bound LDAP credential could not be checked");
                    Err((LdapResultCode::Unavailable, "the directory is unavailable; try again"))
                }
            };
        }
        let refused = || (LdapResultCode::InsufficentAccessRights, "anonymous access is not allowed; bind first");
        let domain = dn::domain_of(base).ok_or_else(refused)?;
        match book::anonymous(&self.app, &domain).await {
            Ok(reader) => Ok(reader),
            Err(Refusal::Refused) => Err(refused()),
            Err(Refusal::Unavailable(error)) => {
                tracing::warn!(%error, "an anonymous LDAP search could not be checked");
                Err((LdapResultCode::Unavailable, "the directory is unavailable; try again"))
            }
        }
    }

    async fn search(
        &mut self,
        id: i32,
        request: LdapSearchRequest,
        controls: &[LdapControl],
        replies: &mut Vec<LdapMsg>,
    ) {
        let done = |code, message: &str, controls| {
            LdapMsg::new_with_ctrls(id, LdapOp::SearchResultDone(result(code, message)), controls)
        };
        let is_root_dse = request.base.trim().is_empty() && request.scope == LdapSearchScope::Base;
        if is_root_dse {
            replies.push(LdapMsg::new(id, LdapOp::SearchResultEntry(self.root_dse(&request.attrs))));
            replies.push(done(LdapResultCode::Success, "", Vec::new()));
            return;
        }
        // RFC 4513 §5.1.1 lets a server refuse anonymous access: say why, not "no such object".
        let reader = match self.reader_for(&request.base).await {
            Ok(reader) => reader,
            Err((code, message)) => {
                replies.push(done(code, message, Vec::new()));
                return;
            }
        };
        let reader = &reader;
        let Prepared { controls, scope, size_limit, wanted } =
            match prepare(&request, controls, &self.config, reader.domain().name.as_str()) {
                Ok(prepared) => prepared,
                Err((code, message)) => {
                    replies.push(done(code, &message, Vec::new()));
                    return;
                }
            };
        let found = match self.find(reader, &request.filter, scope, wanted).await {
            Ok(Some(found)) => found,
            // A base naming an entry the reader's book does not hold.
            Ok(None) => {
                replies.push(done(LdapResultCode::NoSuchObject, "no such object", Vec::new()));
                return;
            }
            Err(error) => {
                tracing::warn!(%error, "an LDAP search failed");
                replies.push(done(LdapResultCode::OperationsError, "the search failed; try again", Vec::new()));
                return;
            }
        };
        let answer = shape::shape(found, &controls, size_limit);
        for entry in &answer.entries {
            replies.push(LdapMsg::new(id, LdapOp::SearchResultEntry(entry.to_ldap(&request.attrs, request.typesonly))));
        }
        replies.push(done(answer.code, &answer.message, answer.controls));
    }

    /// The container (when in scope and matching) then the people matching the filter;
    /// or, for a base naming one entry, that entry (`None` when the reader may not see it).
    async fn find(
        &self,
        reader: &PhonebookReader,
        filter: &LdapFilter,
        scope: Scope,
        wanted: usize,
    ) -> Result<Option<Found>, switchboard_app::AppError> {
        let domain = reader.domain().name.as_str();
        if let Some(one) = scope.entry {
            let Some(source) = book::entry(&self.app, reader, one.id).await? else { return Ok(None) };
            let entry = person(domain, &source);
            let mut found = Found::default();
            if one.itself && matches(filter, &entry) {
                found.entries.push(entry);
                found.more = found.entries.len() > wanted;
                found.entries.truncate(wanted);
            }
            return Ok(Some(found));
        }
        let mut found = if scope.people {
            let bounds = Bounds { wanted, max_examined: self.config.max_examined };
            search::find(&self.app, reader, filter, bounds).await?
        } else {
            Found::default()
        };
        let container = container(domain);
        if scope.container && matches(filter, &container) {
            found.entries.insert(0, container);
            if found.entries.len() > wanted {
                found.entries.pop();
                found.more = true;
            }
        }
        Ok(Some(found))
    }

    /// The server's self-description; naming contexts only for a bound reader, and
    /// only its own domain's.
    fn root_dse(&self, requested: &[String]) -> LdapSearchResultEntry {
        let naming_contexts: Vec<String> =
            self.bound.iter().map(|b| dn::contacts_dn(b.reader().domain().name.as_str())).collect();
        let supported_controls = controls::SUPPORTED.iter().map(|c| c.to_string()).collect();
        let attributes = [
            ("objectClass", vec!["top".to_string()]),
            ("namingContexts", naming_contexts),
            ("supportedLDAPVersion", vec!["3".to_string()]),
            ("supportedControl", supported_controls),
            ("vendorName", vec!["Switchboard".to_string()]),
        ];
        let everything = requested.is_empty() || requested.iter().any(|r| r == "*" || r == "+");
        let attributes = attributes
            .into_iter()
            .filter(|(_, values)| !values.is_empty())
            .filter(|(name, _)| everything || requested.iter().any(|r| r.eq_ignore_ascii_case(name)))
            .map(|(name, values)| LdapPartialAttribute {
                atype: name.to_string(),
                vals: values.into_iter().map(String::into_bytes).collect(),
            })
            .collect();
        LdapSearchResultEntry { dn: String::new(), attributes }
    }
}

/// What a search asks for, read and checked before the app is asked anything.
pub(crate) struct Prepared {
    pub controls: controls::SearchControls,
    pub scope: Scope,
    pub size_limit: usize,
    /// How many matches to collect (see [`shape::wanted`]).
    pub wanted: usize,
}

/// Reads a search request of a reader of `domain`: its controls (an unknown critical one
/// refused), its scope in the tree, its size limit, and whether its filter is small
/// enough to run. Pure, so the fuzz targets run it too.
pub(crate) fn prepare(
    request: &LdapSearchRequest,
    controls: &[LdapControl],
    config: &LdapConfig,
    domain: &str,
) -> Result<Prepared, (LdapResultCode, String)> {
    let controls = controls::read(controls).map_err(|oid| {
        (LdapResultCode::UnavailableCriticalExtension, format!("the critical control {oid} is not supported"))
    })?;
    let scope =
        Scope::of(dn::resolve(&request.base, domain), &request.scope).map_err(|(code, m)| (code, m.to_string()))?;
    if filter::size(&request.filter) > config.max_filter_terms {
        let message = format!("the filter has more than {} terms; search by name or number", config.max_filter_terms);
        return Err((LdapResultCode::AdminLimitExceeded, message));
    }
    let size_limit = match usize::try_from(request.sizelimit) {
        Ok(0) | Err(_) => config.max_entries,
        Ok(limit) => limit.min(config.max_entries),
    };
    let wanted = shape::wanted(&controls, size_limit, config.max_entries);
    Ok(Prepared { controls, scope, size_limit, wanted })
}

/// Which parts of the tree a search covers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scope {
    pub container: bool,
    pub people: bool,
    /// A base naming one entry: it must exist in the reader's book.
    pub entry: Option<OneEntry>,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct OneEntry {
    pub id: Uuid,
    /// The entry itself is in scope (base or subtree; an entry has no children).
    pub itself: bool,
}

impl Scope {
    fn of(base: Base, scope: &LdapSearchScope) -> Result<Scope, (LdapResultCode, &'static str)> {
        use LdapSearchScope::{Base as Object, Children, OneLevel, Subtree};
        let covers = |container, people| Ok(Scope { container, people, entry: None });
        let entry = |id, itself| Ok(Scope { container: false, people: false, entry: Some(OneEntry { id, itself }) });
        match (base, scope) {
            (Base::Unknown, _) => Err((LdapResultCode::NoSuchObject, "no such object")),
            (Base::Container, Object) => covers(true, false),
            (Base::Container, OneLevel | Children) => covers(false, true),
            (Base::Container, Subtree) => covers(true, true),
            (Base::Suffix, Object) => covers(false, false),
            (Base::Suffix, OneLevel) => covers(true, false),
            (Base::Suffix, Subtree | Children) => covers(true, true),
            // Phones set up with an empty base DN still find the reader's book.
            (Base::RootDse, _) => covers(false, true),
            (Base::Entry(id), Object | Subtree) => entry(id, true),
            (Base::Entry(id), OneLevel | Children) => entry(id, false),
        }
    }
}

/// Tells a client over its address's connection limit why it is closed, then closes.
pub async fn refuse_busy<S: AsyncRead + AsyncWrite + Unpin>(stream: S) {
    let mut framed = Framed::new(stream, Codec::new(0));
    let notice = notice(LdapResultCode::Busy, "too many connections from your address; close one and retry");
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), framed.send(notice)).await;
}

fn result(code: LdapResultCode, message: &str) -> LdapResult {
    LdapResult { code, matcheddn: String::new(), message: message.to_string(), referral: Vec::new() }
}

fn notice(code: LdapResultCode, message: &str) -> LdapMsg {
    LdapMsg::new(
        0,
        LdapOp::ExtendedResponse(LdapExtendedResponse {
            res: result(code, message),
            name: Some(NOTICE_OF_DISCONNECTION.into()),
            value: None,
        }),
    )
}
