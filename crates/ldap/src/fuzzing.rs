//! The bodies of the cargo-fuzz targets for LDAP (`fuzz/`), here so that the crate's own
//! tests run them too (cargo-fuzz needs nightly; CI runs stable). Not part of the API.
//!
//! They run what a connection does with the bytes it reads, up to where the app is
//! asked: framing and decoding, the reading of a search (controls, scope, limits, the
//! filter's size), the index terms a filter expands to, matching entries, shaping the
//! answer (sort, view, pages) and encoding it.

use bytes::BytesMut;
use ldap3_proto::proto::{LdapFilter, LdapMsg, LdapOp};
use switchboard_core::contact::{ContactFields, ContactInput};
use switchboard_core::model::{DirectoryEntry, EntryKind, NumberView};
use switchboard_core::phone::Country;
use tokio_util::codec::{Decoder, Encoder};
use uuid::Uuid;

use crate::LdapConfig;
use crate::codec::Codec;
use crate::entry::{Entry, container, person};
use crate::filter::{Candidates, candidates, matches, size};
use crate::search::Found;
use crate::session::{Prepared, prepare};
use crate::shape::shape;

const DOMAIN: &str = "acme.example";

/// Bytes as a client's stream: every message they frame is read and answered as far as
/// the app boundary.
pub fn message(data: &[u8]) {
    let config = LdapConfig { max_message_bytes: 16 * 1024, ..LdapConfig::default() };
    let mut codec = Codec::new(config.max_message_bytes);
    let mut buffer = BytesMut::from(data);
    // A connection reads message after message until one is incomplete or refused.
    for _ in 0..32 {
        match codec.decode(&mut buffer) {
            Ok(Some(message)) => answer(&mut codec, message, &config),
            Ok(None) | Err(_) => return,
        }
    }
}

fn answer(codec: &mut Codec, message: LdapMsg, config: &LdapConfig) {
    let mut written = BytesMut::new();
    match message.op {
        LdapOp::BindRequest(request) => {
            let _ = switchboard_app::binds_as_user(&request.dn);
            let _ = switchboard_app::devices::parse_bind_dn(&request.dn);
        }
        LdapOp::SearchRequest(request) => {
            let done = match prepare(&request, &message.ctrl, config, DOMAIN) {
                Ok(Prepared { controls, size_limit, wanted, .. }) => {
                    check_filter(&request.filter);
                    let mut found = Found::default();
                    for entry in std::iter::once(container(DOMAIN)).chain(people().into_iter().map(|p| p.entry)) {
                        if matches(&request.filter, &entry) {
                            found.entries.push(entry);
                        }
                    }
                    found.more = found.entries.len() > wanted;
                    found.entries.truncate(wanted);
                    let answer = shape(found, &controls, size_limit);
                    assert!(answer.entries.len() <= size_limit, "an answer holds at most the size limit");
                    for entry in &answer.entries {
                        let reply = entry.to_ldap(&request.attrs, request.typesonly);
                        assert_eq!(reply.dn, entry.dn);
                        encode(codec, LdapMsg::new(message.msgid, LdapOp::SearchResultEntry(reply)), &mut written);
                    }
                    (answer.code, answer.message, answer.controls)
                }
                Err((code, message)) => (code, message, Vec::new()),
            };
            let result = ldap3_proto::proto::LdapResult {
                code: done.0,
                matcheddn: String::new(),
                message: done.1,
                referral: Vec::new(),
            };
            let reply = LdapMsg::new_with_ctrls(message.msgid, LdapOp::SearchResultDone(result), done.2);
            encode(codec, reply, &mut written);
        }
        _ => {}
    }
}

fn encode(codec: &mut Codec, message: LdapMsg, into: &mut BytesMut) {
    codec.encode(message, into).expect("an answer always encodes");
}

/// Bytes as a filter: text (`(cn=*ann*)`) when they read as one, else BER as a search
/// request carries it.
pub fn filter(data: &[u8]) {
    let parsed = match std::str::from_utf8(data) {
        Ok(text) if text.starts_with('(') => ldap3_proto::parse_ldap_filter_str(text).ok(),
        _ => ldap3_lber::Parser::new(64).parse(data).ok().and_then(|(_, tag)| LdapFilter::try_from(tag).ok()),
    };
    if let Some(filter) = parsed {
        check_filter(&filter);
    }
}

/// What the search relies on: every entry a filter matches contains one of the terms the
/// filter expands to in its search text (or the filter walks the book), so looking the
/// terms up misses nothing.
fn check_filter(filter: &LdapFilter) {
    if size(filter) > LdapConfig::default().max_filter_terms {
        return;
    }
    let candidates = candidates(filter);
    for person in people() {
        if !matches(filter, &person.entry) {
            continue;
        }
        match &candidates {
            Candidates::Everything => {}
            Candidates::Nothing => panic!("{filter:?} matches {} but reads nothing", person.entry.dn),
            Candidates::Terms(terms) => assert!(
                terms.iter().any(|t| person.search_text.contains(t.as_str())),
                "{filter:?} matches {} but its terms {terms:?} are not in {:?}",
                person.entry.dn,
                person.search_text
            ),
        }
    }
}

/// An entry as phones see it, with the search text the store indexes it by.
struct Person {
    entry: Entry,
    search_text: String,
}

thread_local! {
    /// Made once per thread: an entry caches its folded keys, so it is not shared.
    static PEOPLE: Vec<Person> = sample_people();
}

/// The sample people, cloned (cheap next to a fuzzer's round).
fn people() -> Vec<Person> {
    PEOPLE.with(|people| {
        people.iter().map(|p| Person { entry: p.entry.clone(), search_text: p.search_text.clone() }).collect()
    })
}

fn sample_people() -> Vec<Person> {
    {
        let contact = |input: ContactInput| {
            let fields = ContactFields::parse(&input, Country::default()).expect("a valid contact");
            let numbers = fields
                .numbers()
                .into_iter()
                .map(|(kind, n)| NumberView { kind, typed: n.typed.clone(), e164: n.e164.clone() })
                .collect();
            let source = DirectoryEntry {
                id: Uuid::from_u128(fields.search_text().len() as u128),
                kind: EntryKind::Shared,
                first_name: fields.first_name.clone(),
                last_name: fields.last_name.clone(),
                company: fields.company.clone(),
                title: fields.title.clone(),
                extension: None,
                numbers,
                email: fields.email().to_string(),
                department: String::new(),
                site: String::new(),
                presence: None,
                favorite: false,
                editable: false,
            };
            Person { entry: person(DOMAIN, &source), search_text: fields.search_text() }
        };
        vec![
            contact(ContactInput {
                first_name: "Ann".into(),
                last_name: "Zoë-Smith".into(),
                company: "Acme".into(),
                title: "Head of Sales".into(),
                work_phone: "+1 206-555-0100".into(),
                mobile_phone: "(425) 555-0199".into(),
                email: "ann@acme.example".into(),
                ..ContactInput::default()
            }),
            contact(ContactInput {
                company: "Plumbing Inc".into(),
                home_phone: "0044 20 7946 0000".into(),
                fax: "206 555 0111".into(),
                ..ContactInput::default()
            }),
            contact(ContactInput {
                first_name: "Émile".into(),
                last_name: "O'Brien".into(),
                ..ContactInput::default()
            }),
        ]
    }
}

/// Sample filters: what phones and `ldapsearch` send, as text and as BER.
pub fn filter_seeds() -> Vec<Vec<u8>> {
    let texts = [
        "(|(cn=*ann*)(sn=*ann*))",
        "(&(objectClass=inetOrgPerson)(|(cn=*smi*)(telephoneNumber=*5550100*)))",
        "(!(mail=*))",
        "(telephoneNumber=+12065550100)",
        "(cn=Ann*)",
        "(|(o~=acme)(title=*sales)(facsimileTelephoneNumber=*0111))",
    ];
    let mut seeds: Vec<Vec<u8>> = texts.iter().map(|t| t.as_bytes().to_vec()).collect();
    for text in texts {
        let filter = ldap3_proto::parse_ldap_filter_str(text).expect("a filter");
        let mut bytes = BytesMut::new();
        let tag: ldap3_lber::structures::Tag = filter.into();
        ldap3_lber::write::encode_into(&mut bytes, ldap3_lber::structures::ASNTag::into_structure(tag))
            .expect("encodes");
        seeds.push(bytes.to_vec());
    }
    seeds
}

/// Sample streams: a bind, then searches with the controls phones and `ldapsearch` send.
pub fn message_seeds() -> Vec<Vec<u8>> {
    use ldap3_proto::control::{LdapControl, ServerSortRequet};
    use ldap3_proto::proto::{LdapBindCred, LdapBindRequest};
    let encode_one = |message: LdapMsg| {
        let mut bytes = BytesMut::new();
        Codec::new(64 * 1024).encode(message, &mut bytes).expect("encodes");
        bytes.to_vec()
    };
    let bind = |dn: &str| {
        let request = LdapBindRequest { version: 3, dn: dn.into(), cred: LdapBindCred::Simple("secret".into()) };
        encode_one(LdapMsg::new(1, LdapOp::BindRequest(request)))
    };
    let sort = LdapControl::ServerSort {
        sort_requests: vec![ServerSortRequet { attribute_name: "sn".into(), ordering_rule: None, reverse_order: true }],
    };
    // before 1, after 2, byOffset { offset 2^63 - 1, contentCount 3 }
    let view = LdapControl::Unknown {
        oid: crate::controls::VLV_REQUEST.into(),
        criticality: true,
        value: Some(vec![
            0x30, 0x14, 0x02, 0x01, 1, 0x02, 0x01, 2, 0xa0, 0x0c, 0x02, 0x08, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            0xff, 0x02, 0x01, 3,
        ]),
    };
    let paged = LdapControl::SimplePagedResults { size: 1, cookie: b"1".to_vec() };
    let searches = [
        search_request("(|(cn=*ann*)(sn=*ann*))", Vec::new()),
        search_request("(objectClass=*)", vec![sort.clone(), view]),
        search_request("(telephoneNumber=*5550100*)", vec![paged, sort]),
    ];
    let mut seeds =
        vec![bind("200@acme.example"), bind("cn=0198f3c2-6b1e-7a50-9f2d-3c4b5a697887,ou=devices,dc=acme,dc=example")];
    seeds.extend(searches.iter().cloned());
    seeds.push([bind("200@acme.example"), searches.concat()].concat());
    seeds
}

/// The encoding of one search request under the book.
fn search_request(filter: &str, controls: Vec<ldap3_proto::control::LdapControl>) -> Vec<u8> {
    let request = ldap3_proto::proto::LdapSearchRequest {
        base: crate::dn::contacts_dn(DOMAIN),
        scope: ldap3_proto::proto::LdapSearchScope::Subtree,
        aliases: ldap3_proto::proto::LdapDerefAliases::Never,
        sizelimit: 10,
        timelimit: 0,
        typesonly: false,
        filter: ldap3_proto::parse_ldap_filter_str(filter).expect("a filter"),
        attrs: vec!["cn".into(), "telephoneNumber".into()],
    };
    let mut bytes = BytesMut::new();
    let message = LdapMsg::new_with_ctrls(2, LdapOp::SearchRequest(request), controls);
    Codec::new(64 * 1024).encode(message, &mut bytes).expect("encodes");
    bytes.to_vec()
}
