//! Framing with an early look at each message's header: `ldap3_proto`'s codec waits for
//! as many bytes as a header claims, so a client sending anything but LDAP (an HTTP
//! request, a two-gigabyte length) would hold its connection until the idle timeout.
//! Here such a header is refused as soon as it arrives.

use bytes::BytesMut;
use ldap3_proto::LdapCodec;
use ldap3_proto::proto::LdapMsg;
use tokio_util::codec::{Decoder, Encoder};

/// Every LDAP message is a BER SEQUENCE.
const SEQUENCE: u8 = 0x30;

pub struct Codec {
    inner: LdapCodec,
    max_message_bytes: usize,
}

impl Codec {
    pub fn new(max_message_bytes: usize) -> Codec {
        Codec { inner: LdapCodec::new(Some(max_message_bytes), None), max_message_bytes }
    }
}

impl Decoder for Codec {
    type Item = LdapMsg;
    type Error = std::io::Error;

    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<LdapMsg>, Self::Error> {
        check_header(buf, self.max_message_bytes).map_err(std::io::Error::other)?;
        self.inner.decode(buf)
    }
}

impl Encoder<LdapMsg> for Codec {
    type Error = std::io::Error;

    fn encode(&mut self, message: LdapMsg, buf: &mut BytesMut) -> Result<(), Self::Error> {
        self.inner.encode(message, buf)
    }
}

/// Refuses what cannot start an LDAP message, or announces one larger than allowed;
/// a header still arriving passes.
fn check_header(buf: &[u8], max_message_bytes: usize) -> Result<(), &'static str> {
    let Some((&tag, rest)) = buf.split_first() else { return Ok(()) };
    if tag != SEQUENCE {
        return Err("not an LDAP message");
    }
    let Some((&first, rest)) = rest.split_first() else { return Ok(()) };
    let length = if first < 0x80 {
        usize::from(first)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 {
            return Err("an LDAP message length must be definite and at most four bytes long");
        }
        let Some(bytes) = rest.get(..count) else { return Ok(()) };
        bytes.iter().fold(0usize, |length, byte| (length << 8) | usize::from(*byte))
    };
    if length > max_message_bytes {
        return Err("the LDAP message is too large");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_checked_as_they_arrive() {
        assert_eq!(check_header(b"", 100), Ok(()));
        assert_eq!(check_header(b"\x30", 100), Ok(()));
        assert_eq!(check_header(b"\x30\x05", 100), Ok(()));
        assert_eq!(check_header(b"\x30\x82\x00", 100), Ok(()));
        assert_eq!(check_header(b"\x30\x81\x64", 100), Ok(()));
        assert!(check_header(b"\x30\x81\x65", 100).is_err());
        assert!(check_header(b"\x30\x84\x7f\xff\xff\xff", 100).is_err());
        assert!(check_header(b"\x30\x80", 100).is_err());
        assert!(check_header(b"GET / HTTP/1.1", 100).is_err());
    }
}
