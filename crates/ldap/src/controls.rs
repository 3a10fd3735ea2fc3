//! Request controls of a search: server-side sort (RFC 2891), virtual list view
//! (draft-ietf-ldapext-ldapv3-vlv-09) and simple paged results (RFC 2696) are
//! answered; any other control is ignored, or refused when marked critical.

use bytes::BytesMut;
use ldap3_lber::common::TagClass;
use ldap3_lber::structure::StructureTag;
use ldap3_lber::structures::{ASNTag, Enumerated, Integer, OctetString, Sequence, Tag};
use ldap3_lber::universal::Types;
use ldap3_proto::control::{LdapControl, ServerSortRequet};
use ldap3_proto::proto::LdapResultCode;

pub const SORT_REQUEST: &str = "1.2.840.113556.1.4.473";
pub const PAGED_RESULTS: &str = "1.2.840.113556.1.4.319";
pub const VLV_REQUEST: &str = "2.16.840.1.113730.3.4.9";
const VLV_RESPONSE: &str = "2.16.840.1.113730.3.4.10";
const SORT_RESPONSE: &str = "1.2.840.113556.1.4.474";

/// What the RootDSE advertises.
pub const SUPPORTED: [&str; 3] = [SORT_REQUEST, VLV_REQUEST, PAGED_RESULTS];

#[derive(Debug, Default)]
pub struct SearchControls {
    pub sort: Option<Vec<ServerSortRequet>>,
    pub vlv: Option<VlvRequest>,
    /// Page size and the offset the cookie carries.
    pub paged: Option<(usize, usize)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VlvRequest {
    pub before: usize,
    pub after: usize,
    pub target: VlvTarget,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VlvTarget {
    /// 1-based position, scaled from the client's idea of the list length (0: none).
    ByOffset { offset: usize, content_count: usize },
    /// The first entry whose first sort key is at least this.
    GreaterOrEqual(String),
}

/// Reads the controls of a request; `Err(oid)` names a critical control this server
/// cannot honour (answered `unavailableCriticalExtension`).
pub fn read(controls: &[LdapControl]) -> Result<SearchControls, String> {
    let mut read = SearchControls::default();
    for control in controls {
        match control {
            LdapControl::ServerSort { sort_requests } => read.sort = Some(sort_requests.clone()),
            LdapControl::SimplePagedResults { size, cookie } => {
                let offset = std::str::from_utf8(cookie).ok().and_then(|c| c.parse().ok()).unwrap_or(0);
                read.paged = Some((usize::try_from(*size).unwrap_or(0), offset));
            }
            LdapControl::Unknown { oid, criticality, value } if oid == VLV_REQUEST => {
                match value.as_deref().and_then(parse_vlv) {
                    Some(vlv) => read.vlv = Some(vlv),
                    None if *criticality => return Err(oid.clone()),
                    None => {}
                }
            }
            // No referrals are ever returned, so "manage DSA IT" is honoured as is.
            LdapControl::ManageDsaIT { .. } => {}
            LdapControl::Unknown { oid, criticality: true, .. } => return Err(oid.clone()),
            LdapControl::SyncRequest { criticality: true, .. } => return Err("1.3.6.1.4.1.4203.1.9.1.1".into()),
            LdapControl::PasswordPolicyRequest { criticality: true } => return Err("1.3.6.1.4.1.42.2.27.8.5.1".into()),
            LdapControl::SearchOptions { criticality: true, .. } => return Err("1.2.840.113556.1.4.1340".into()),
            LdapControl::ShowDeleted { criticality: true } => return Err("1.2.840.113556.1.4.417".into()),
            LdapControl::SdFlags { criticality: true, .. } => return Err("1.2.840.113556.1.4.801".into()),
            LdapControl::ExtendedDn { criticality: true, .. } => return Err("1.2.840.113556.1.4.529".into()),
            // Active Directory's DirSync is always sent critical.
            LdapControl::AdDirsync { .. } => return Err("1.2.840.113556.1.4.841".into()),
            _ => {}
        }
    }
    Ok(read)
}

/// `VirtualListViewRequest ::= SEQUENCE { beforeCount INTEGER, afterCount INTEGER,
/// target CHOICE { byOffset [0] SEQUENCE { offset, contentCount }, greaterThanOrEqual
/// [1] AssertionValue }, contextID OCTET STRING OPTIONAL }`
fn parse_vlv(value: &[u8]) -> Option<VlvRequest> {
    let (rest, tag) = ldap3_lber::Parser::new(8).parse(value).ok()?;
    if !rest.is_empty() {
        return None;
    }
    let mut parts = tag.match_id(Types::Sequence as u64)?.expect_constructed()?.into_iter();
    let before = count(parts.next()?)?;
    let after = count(parts.next()?)?;
    let target = parts.next()?;
    let target = match (target.class, target.id) {
        (TagClass::Context, 0) => {
            let mut by_offset = target.expect_constructed()?.into_iter();
            VlvTarget::ByOffset { offset: count(by_offset.next()?)?, content_count: count(by_offset.next()?)? }
        }
        (TagClass::Context, 1) => VlvTarget::GreaterOrEqual(String::from_utf8(target.expect_primitive()?).ok()?),
        _ => return None,
    };
    Some(VlvRequest { before, after, target })
}

/// A non-negative BER INTEGER.
fn count(tag: StructureTag) -> Option<usize> {
    let bytes = tag.match_class(TagClass::Universal)?.match_id(Types::Integer as u64)?.expect_primitive()?;
    if bytes.is_empty() || bytes.len() > 8 || bytes[0] & 0x80 != 0 {
        return None;
    }
    let value = bytes.iter().fold(0u64, |value, byte| (value << 8) | u64::from(*byte));
    usize::try_from(value).ok()
}

/// `VirtualListViewResponse ::= SEQUENCE { targetPosition INTEGER, contentCount
/// INTEGER, virtualListViewResult ENUMERATED }`
pub fn vlv_response(target_position: usize, content_count: usize, result: VlvResult) -> LdapControl {
    let integer =
        |n: usize| Tag::Integer(Integer { inner: i64::try_from(n).unwrap_or(i64::MAX), ..Integer::default() });
    let sequence = Tag::Sequence(Sequence {
        inner: vec![
            integer(target_position),
            integer(content_count),
            Tag::Enumerated(Enumerated { inner: result as i64, ..Enumerated::default() }),
        ],
        ..Sequence::default()
    });
    LdapControl::Unknown { oid: VLV_RESPONSE.into(), criticality: false, value: Some(encode(sequence)) }
}

/// `SortResult ::= SEQUENCE { sortResult ENUMERATED, attributeType [0]
/// AttributeDescription OPTIONAL }` (RFC 2891 §1.2). Written here because
/// `ldap3_proto` writes the attribute as a plain, always-present OCTET STRING.
pub fn sort_response(code: LdapResultCode, attribute: Option<&str>) -> LdapControl {
    let mut inner = vec![Tag::Enumerated(Enumerated { inner: code as i64, ..Enumerated::default() })];
    if let Some(attribute) = attribute {
        let tagged = OctetString { id: 0, class: TagClass::Context, inner: attribute.as_bytes().to_vec() };
        inner.push(Tag::OctetString(tagged));
    }
    LdapControl::Unknown {
        oid: SORT_RESPONSE.into(),
        criticality: false,
        value: Some(encode(Tag::Sequence(Sequence { inner, ..Sequence::default() }))),
    }
}

fn encode(tag: Tag) -> Vec<u8> {
    let mut value = BytesMut::new();
    // Writing into memory cannot fail.
    let _ = ldap3_lber::write::encode_into(&mut value, tag.into_structure());
    value.to_vec()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VlvResult {
    Success = 0,
    SortControlMissing = 60,
}

#[cfg(test)]
mod tests {
    use ldap3_lber::structure::PL;

    use super::*;

    fn primitive(class: TagClass, id: u64, bytes: &[u8]) -> StructureTag {
        StructureTag { class, id, payload: PL::P(bytes.to_vec()) }
    }

    fn encode(tag: StructureTag) -> Vec<u8> {
        let mut bytes = BytesMut::new();
        ldap3_lber::write::encode_into(&mut bytes, tag).unwrap();
        bytes.to_vec()
    }

    fn vlv(before: u8, after: u8, target: StructureTag) -> Vec<u8> {
        let integer = |n: u8| primitive(TagClass::Universal, Types::Integer as u64, &[n]);
        encode(StructureTag {
            class: TagClass::Universal,
            id: Types::Sequence as u64,
            payload: PL::C(vec![integer(before), integer(after), target]),
        })
    }

    #[test]
    fn vlv_requests_are_read() {
        let integer = |n: u8| primitive(TagClass::Universal, Types::Integer as u64, &[n]);
        let by_offset = StructureTag { class: TagClass::Context, id: 0, payload: PL::C(vec![integer(5), integer(0)]) };
        assert_eq!(
            parse_vlv(&vlv(1, 9, by_offset)),
            Some(VlvRequest { before: 1, after: 9, target: VlvTarget::ByOffset { offset: 5, content_count: 0 } })
        );
        let at_least = primitive(TagClass::Context, 1, b"smi");
        assert_eq!(parse_vlv(&vlv(0, 3, at_least)).unwrap().target, VlvTarget::GreaterOrEqual("smi".into()));
        assert_eq!(parse_vlv(b"\x30\x03\x02\x01"), None);
        assert_eq!(parse_vlv(&vlv(0, 3, integer(1))), None);
    }

    #[test]
    fn critical_controls_we_do_not_know_are_refused() {
        let unknown = |criticality| LdapControl::Unknown { oid: "1.2.3.4".into(), criticality, value: None };
        assert_eq!(read(&[unknown(true)]).unwrap_err(), "1.2.3.4");
        assert!(read(&[unknown(false)]).is_ok());
        let broken_vlv = LdapControl::Unknown { oid: VLV_REQUEST.into(), criticality: true, value: Some(vec![1]) };
        assert_eq!(read(&[broken_vlv]).unwrap_err(), VLV_REQUEST);
        let paged = LdapControl::SimplePagedResults { size: 10, cookie: b"30".to_vec() };
        assert_eq!(read(&[paged]).unwrap().paged, Some((10, 30)));
    }
}
