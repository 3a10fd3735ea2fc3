//! A minimal LDAP client for the benchmark: one connection, one simple bind, then
//! searches one at a time. It speaks the protocol with the same codec as the server
//! (ldap3_proto), so timing it measures the server, not a client library's extras.

use anyhow::{Context, Result, bail};
use futures::{SinkExt, StreamExt};
use ldap3_proto::LdapCodec;
use ldap3_proto::proto::{
    LdapAddRequest, LdapAttribute, LdapBindCred, LdapBindRequest, LdapDerefAliases, LdapFilter, LdapMsg, LdapOp,
    LdapResultCode, LdapSearchRequest, LdapSearchResultEntry, LdapSearchScope, LdapSubstringFilter,
};
use tokio::net::TcpStream;
use tokio_util::codec::Framed;

/// Answers of up to 50 entries fit easily; the codec's default buffer (64 KiB) might not
/// hold several queued entries with long attribute lists.
const MAX_MESSAGE_BYTES: usize = 1024 * 1024;
/// Adds sent before their answers are read when loading a server.
const ADD_BATCH: usize = 200;

pub struct LdapClient {
    connection: Framed<TcpStream, LdapCodec>,
    next_id: i32,
}

impl LdapClient {
    /// Connects and binds with a DN and password; anything but success is an error.
    pub async fn bind(address: std::net::SocketAddr, dn: &str, password: &str) -> Result<LdapClient> {
        let stream = TcpStream::connect(address).await.with_context(|| format!("connecting to LDAP {address}"))?;
        stream.set_nodelay(true)?;
        let codec = LdapCodec::new(Some(MAX_MESSAGE_BYTES), None);
        let mut client = LdapClient { connection: Framed::new(stream, codec), next_id: 1 };
        let bind = LdapBindRequest { version: 3, dn: dn.to_string(), cred: LdapBindCred::Simple(password.to_string()) };
        let id = client.send(LdapOp::BindRequest(bind)).await?;
        match client.receive(id).await? {
            LdapOp::BindResponse(answer) if answer.res.code == LdapResultCode::Success => Ok(client),
            other => bail!("binding as {dn} answered {other:?}"),
        }
    }

    /// Searches the subtree under `base` and returns how many entries came back; a
    /// `sizeLimitExceeded` end is a normal answer when more entries matched than asked.
    pub async fn search(&mut self, base: &str, filter: LdapFilter, size_limit: i32, attrs: &[&str]) -> Result<usize> {
        self.search_each(base, filter, size_limit, attrs, drop).await
    }

    /// Every entry under `base` with all its attributes (no size limit asked).
    pub async fn entries(&mut self, base: &str) -> Result<Vec<LdapSearchResultEntry>> {
        let mut all = Vec::new();
        let everything = LdapFilter::Present("objectClass".into());
        self.search_each(base, everything, 0, &[], |entry| all.push(entry)).await?;
        Ok(all)
    }

    /// Adds an entry; returns whether the server took it.
    pub async fn add(&mut self, dn: &str, attributes: Vec<LdapAttribute>) -> Result<bool> {
        let id = self.send(LdapOp::AddRequest(LdapAddRequest { dn: dn.to_string(), attributes })).await?;
        match self.receive(id).await? {
            LdapOp::AddResponse(answer) => Ok(answer.code == LdapResultCode::Success),
            other => bail!("adding {dn} answered {other:?}"),
        }
    }

    /// Adds entries many at a time (without waiting for each answer); returns how many the
    /// server took.
    pub async fn add_all(&mut self, entries: Vec<(String, Vec<LdapAttribute>)>) -> Result<usize> {
        let mut taken = 0;
        let mut entries = entries.into_iter().peekable();
        while entries.peek().is_some() {
            let mut sent = 0;
            for (dn, attributes) in entries.by_ref().take(ADD_BATCH) {
                let msgid = self.next_id;
                self.next_id += 1;
                let op = LdapOp::AddRequest(LdapAddRequest { dn, attributes });
                self.connection.feed(LdapMsg { msgid, op, ctrl: Vec::new() }).await?;
                sent += 1;
            }
            self.connection.flush().await?;
            for _ in 0..sent {
                // A server may answer out of order: count, whichever request it answers.
                let message = self.connection.next().await.context("the LDAP server closed the connection")??;
                match message.op {
                    LdapOp::AddResponse(answer) => taken += usize::from(answer.code == LdapResultCode::Success),
                    other => bail!("adding entries answered {other:?}"),
                }
            }
        }
        Ok(taken)
    }

    async fn search_each(
        &mut self,
        base: &str,
        filter: LdapFilter,
        size_limit: i32,
        attrs: &[&str],
        mut each: impl FnMut(LdapSearchResultEntry),
    ) -> Result<usize> {
        let request = LdapSearchRequest {
            base: base.to_string(),
            scope: LdapSearchScope::Subtree,
            aliases: LdapDerefAliases::Never,
            sizelimit: size_limit,
            timelimit: 0,
            typesonly: false,
            filter,
            attrs: attrs.iter().map(|a| a.to_string()).collect(),
        };
        let id = self.send(LdapOp::SearchRequest(request)).await?;
        let mut entries = 0;
        loop {
            match self.receive(id).await? {
                LdapOp::SearchResultEntry(entry) => {
                    each(entry);
                    entries += 1;
                }
                LdapOp::SearchResultReference(_) => {}
                LdapOp::SearchResultDone(done)
                    if matches!(done.code, LdapResultCode::Success | LdapResultCode::SizeLimitExceeded) =>
                {
                    return Ok(entries);
                }
                other => bail!("searching {base} answered {other:?}"),
            }
        }
    }

    async fn send(&mut self, op: LdapOp) -> Result<i32> {
        let msgid = self.next_id;
        self.next_id += 1;
        self.connection.send(LdapMsg { msgid, op, ctrl: Vec::new() }).await.context("sending an LDAP request")?;
        Ok(msgid)
    }

    async fn receive(&mut self, id: i32) -> Result<LdapOp> {
        let message = self.connection.next().await.context("the LDAP server closed the connection")??;
        if message.msgid != id {
            bail!("expected an answer to LDAP message {id}, got one to {}", message.msgid);
        }
        Ok(message.op)
    }
}

/// What a Yealink phone sends for a name typed in its LDAP search: `(|(cn=*x*)(sn=*x*))`.
pub fn name_filter(term: &str) -> LdapFilter {
    LdapFilter::Or(vec![contains("cn", term), contains("sn", term)])
}

/// What a Yealink phone sends for digits: `(|(telephoneNumber=*x*)(mobile=*x*)(homePhone=*x*))`.
pub fn number_filter(digits: &str) -> LdapFilter {
    LdapFilter::Or(vec![contains("telephoneNumber", digits), contains("mobile", digits), contains("homePhone", digits)])
}

fn contains(attribute: &str, value: &str) -> LdapFilter {
    let any = LdapSubstringFilter { initial: None, any: vec![value.to_string()], final_: None };
    LdapFilter::Substring(attribute.to_string(), any)
}
