//! The client's address behind trusted proxies.
//!
//! A request's forwarded headers are believed only when its TCP peer is one of the
//! trusted proxies (`serve --trusted-proxy CIDR`). Each proxy appends the address it was
//! reached from, so the right-most entry that is not itself a trusted proxy is the first
//! address no trusted proxy vouches for: the client. Anything left of it was written by
//! the client and is never read. A header that cannot be read (bad syntax, an entry that
//! is no address where the client should be) leaves the peer as the client.
//!
//! `X-Forwarded-For` and RFC 7239 `Forwarded` (`for=`, with quoted IPv6 and ports) are
//! both read. A proxy writes one of them and passes the other through from the client,
//! whose copy names whatever it likes; so where both name a client they must agree, else
//! the peer is taken. A header whose entries are all trusted proxies names no client.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use axum::http::HeaderMap;
use ipnet::IpNet;

/// The client's address: `peer`, or what trusted proxies forwarded (see the module).
pub fn client_addr(headers: &HeaderMap, peer: IpAddr, trusted: &[IpNet]) -> IpAddr {
    let peer = peer.to_canonical();
    if !is_trusted(peer, trusted) {
        return peer;
    }
    let forwarded_for = header_text(headers, "x-forwarded-for").map(|text| {
        let entries = split_outside_quotes(&text, ',').ok_or(Malformed)?;
        rightmost_untrusted(entries.iter().map(|entry| forwarded_for_entry(entry)), trusted)
    });
    let forwarded = header_text(headers, "forwarded").map(|text| {
        let elements = split_outside_quotes(&text, ',').ok_or(Malformed)?;
        rightmost_untrusted(elements.iter().map(|element| forwarded_element(element)), trusted)
    });
    let mut named = None;
    for opinion in [forwarded_for, forwarded].into_iter().flatten() {
        match (opinion, named) {
            (Err(Malformed), _) => return peer,
            (Ok(Some(client)), Some(other)) if client != other => return peer,
            (Ok(Some(client)), _) => named = Some(client),
            (Ok(None), _) => {}
        }
    }
    named.unwrap_or(peer)
}

fn is_trusted(address: IpAddr, trusted: &[IpNet]) -> bool {
    trusted.iter().any(|net| net.contains(&address))
}

/// A header that cannot be read as forwarded addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Malformed;

/// One hop of a forwarded chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hop {
    Address(IpAddr),
    /// `unknown`, an obfuscated name (`_hidden`), or a `Forwarded` element without `for=`.
    Unnamed,
}

/// All lines of a header as one list (`a, b` and two lines `a` and `b` mean the same);
/// `None` when absent. A value that is not visible ASCII is kept so that it fails to parse.
fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    let lines: Vec<String> = headers
        .get_all(name)
        .iter()
        .map(|value| value.to_str().map_or_else(|_| "\"".to_string(), str::to_string))
        .collect();
    (!lines.is_empty()).then(|| lines.join(","))
}

/// The right-most hop that is not a trusted proxy, read from the right and no further.
/// `Ok(None)`: every hop is a trusted proxy.
fn rightmost_untrusted(
    hops: impl DoubleEndedIterator<Item = Result<Hop, Malformed>>,
    trusted: &[IpNet],
) -> Result<Option<IpAddr>, Malformed> {
    for hop in hops.rev() {
        match hop? {
            Hop::Address(address) if is_trusted(address, trusted) => continue,
            Hop::Address(address) => return Ok(Some(address)),
            // Whoever sent this one hid or lost the address: nothing to the left can be
            // believed either, so the header names no one and the peer is used.
            Hop::Unnamed => return Err(Malformed),
        }
    }
    Ok(None)
}

/// An `X-Forwarded-For` entry: `192.0.2.1`, `2001:db8::1`, `192.0.2.1:4711`,
/// `[2001:db8::1]` or `[2001:db8::1]:4711`; `unknown`.
fn forwarded_for_entry(entry: &str) -> Result<Hop, Malformed> {
    let entry = entry.trim();
    if entry.eq_ignore_ascii_case("unknown") {
        return Ok(Hop::Unnamed);
    }
    if let Ok(address) = entry.parse::<IpAddr>() {
        return Ok(Hop::Address(address.to_canonical()));
    }
    node(entry).ok_or(Malformed)
}

/// The `for=` of one `Forwarded` element (`for=192.0.2.60;proto=http;by=203.0.113.43`).
fn forwarded_element(element: &str) -> Result<Hop, Malformed> {
    let mut found = None;
    for pair in split_outside_quotes(element, ';').ok_or(Malformed)? {
        let pair = pair.trim();
        if pair.is_empty() {
            continue;
        }
        let (key, value) = pair.split_once('=').ok_or(Malformed)?;
        let value = parameter_value(value.trim()).ok_or(Malformed)?;
        if key.trim().eq_ignore_ascii_case("for") {
            if found.is_some() {
                return Err(Malformed);
            }
            found = Some(node(&value).ok_or(Malformed)?);
        }
    }
    Ok(found.unwrap_or(Hop::Unnamed))
}

/// A parameter's value: a token, or a quoted string (with `\` escapes).
fn parameter_value(value: &str) -> Option<String> {
    match value.strip_prefix('"') {
        Some(rest) => {
            let inner = rest.strip_suffix('"')?;
            let mut out = String::new();
            let mut chars = inner.chars();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => out.push(chars.next()?),
                    '"' => return None,
                    c => out.push(c),
                }
            }
            Some(out)
        }
        None => (!value.is_empty() && value.bytes().all(is_token_char)).then(|| value.to_string()),
    }
}

fn is_token_char(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

/// An RFC 7239 node: `192.0.2.43`, `192.0.2.43:47011`, `[2001:db8:cafe::17]`,
/// `[2001:db8:cafe::17]:4711`, `unknown` or `_obfuscated`.
fn node(text: &str) -> Option<Hop> {
    if text.eq_ignore_ascii_case("unknown") || is_obfuscated(text) {
        return Some(Hop::Unnamed);
    }
    let address = match text.strip_prefix('[') {
        Some(rest) => {
            let (inside, after) = rest.split_once(']')?;
            if !(after.is_empty() || after.strip_prefix(':').is_some_and(is_port)) {
                return None;
            }
            IpAddr::V6(inside.parse::<Ipv6Addr>().ok()?)
        }
        None => {
            let (host, port) = text.split_once(':').unwrap_or((text, ""));
            let port_ok = if text.contains(':') { is_port(port) } else { true };
            if !port_ok {
                return None;
            }
            IpAddr::V4(host.parse::<Ipv4Addr>().ok()?)
        }
    };
    Some(Hop::Address(address.to_canonical()))
}

fn is_port(text: &str) -> bool {
    (text.bytes().all(|b| b.is_ascii_digit()) && text.parse::<u16>().is_ok()) || is_obfuscated(text)
}

fn is_obfuscated(text: &str) -> bool {
    text.len() > 1
        && text.starts_with('_')
        && text.bytes().skip(1).all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Splits on `separator` outside double-quoted strings; `None` if a quote is left open.
fn split_outside_quotes(text: &str, separator: char) -> Option<Vec<&str>> {
    let mut parts = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (at, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            c if c == separator && !quoted => {
                parts.push(&text[start..at]);
                start = at + c.len_utf8();
            }
            _ => {}
        }
    }
    if quoted {
        return None;
    }
    parts.push(&text[start..]);
    Some(parts)
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderName, HeaderValue};

    use super::*;

    const PROXY: &str = "10.0.0.1";

    fn trusted() -> Vec<IpNet> {
        vec!["10.0.0.0/8".parse().unwrap(), "2001:db8:ffff::/48".parse().unwrap()]
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    /// The client seen from `peer` with these header lines.
    fn client(peer: &str, lines: &[(&str, &str)]) -> IpAddr {
        let mut headers = HeaderMap::new();
        for (name, value) in lines {
            headers.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_bytes(value.as_bytes()).unwrap(),
            );
        }
        client_addr(&headers, ip(peer), &trusted())
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_sends() {
        let spoof = [("x-forwarded-for", "198.51.100.9"), ("forwarded", "for=198.51.100.9")];
        assert_eq!(client("203.0.113.5", &spoof), ip("203.0.113.5"));
        assert_eq!(client("203.0.113.5", &[]), ip("203.0.113.5"));
        // Without any trusted proxy, nobody's headers count.
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", HeaderValue::from_static("198.51.100.9"));
        assert_eq!(client_addr(&headers, ip(PROXY), &[]), ip(PROXY));
    }

    #[test]
    fn the_rightmost_untrusted_entry_is_the_client() {
        assert_eq!(client(PROXY, &[("x-forwarded-for", "203.0.113.7")]), ip("203.0.113.7"));
        // What the client wrote itself (left) is ignored.
        assert_eq!(client(PROXY, &[("x-forwarded-for", "1.2.3.4, 203.0.113.7")]), ip("203.0.113.7"));
        // A chain of trusted proxies is walked through.
        assert_eq!(
            client(PROXY, &[("x-forwarded-for", "1.2.3.4, 203.0.113.7, 10.9.9.9, 10.1.1.1")]),
            ip("203.0.113.7")
        );
        // Several lines are one list, in order.
        let lines = [("x-forwarded-for", "1.2.3.4"), ("x-forwarded-for", "203.0.113.7, 10.1.1.1")];
        assert_eq!(client(PROXY, &lines), ip("203.0.113.7"));
        // Only trusted proxies: no client named, the peer it is.
        assert_eq!(client(PROXY, &[("x-forwarded-for", "10.2.2.2, 10.1.1.1")]), ip(PROXY));
        // Garbage left of the client is never read.
        assert_eq!(client(PROXY, &[("x-forwarded-for", "garbage, , 203.0.113.7")]), ip("203.0.113.7"));
    }

    #[test]
    fn forwarded_for_with_ports_and_ipv6() {
        for (value, expected) in [
            ("203.0.113.7:4711", "203.0.113.7"),
            ("2001:db8::7", "2001:db8::7"),
            ("[2001:db8::7]", "2001:db8::7"),
            ("[2001:db8::7]:4711", "2001:db8::7"),
            ("::ffff:203.0.113.7", "203.0.113.7"),
            (" 203.0.113.7 ", "203.0.113.7"),
        ] {
            assert_eq!(client(PROXY, &[("x-forwarded-for", value)]), ip(expected), "{value}");
        }
    }

    #[test]
    fn rfc_7239_forwarded() {
        for (value, expected) in [
            ("for=203.0.113.7", "203.0.113.7"),
            ("For=203.0.113.7", "203.0.113.7"),
            ("for=\"203.0.113.7:47011\"", "203.0.113.7"),
            ("for=\"[2001:db8:cafe::17]\"", "2001:db8:cafe::17"),
            ("for=\"[2001:db8:cafe::17]:4711\"", "2001:db8:cafe::17"),
            ("for=\"[2001:db8:cafe::17]:_port\"", "2001:db8:cafe::17"),
            ("for=192.0.2.60;proto=http;by=203.0.113.43", "192.0.2.60"),
            ("proto=https; for=192.0.2.60", "192.0.2.60"),
            ("for=1.2.3.4, for=192.0.2.60;by=\"[2001:db8:ffff::1]\", for=10.1.1.1", "192.0.2.60"),
            ("for=\"_evil, with a comma\", for=192.0.2.60", "192.0.2.60"),
            ("for=\"[2001:db8:ffff::9]\", for=10.0.0.3", PROXY),
        ] {
            assert_eq!(client(PROXY, &[("forwarded", value)]), ip(expected), "{value}");
        }
    }

    #[test]
    fn a_header_that_cannot_be_read_leaves_the_peer() {
        for (name, value) in [
            ("x-forwarded-for", "garbage"),
            ("x-forwarded-for", "203.0.113.7, "),
            ("x-forwarded-for", "203.0.113.7:99999"),
            ("x-forwarded-for", "203.0.113.7, unknown"),
            ("x-forwarded-for", "[2001:db8::7"),
            ("x-forwarded-for", "2001:db8::7:4711:bad:bad:bad:bad:bad"),
            ("forwarded", "for=2001:db8::7"),
            ("forwarded", "for=[2001:db8::7]"),
            ("forwarded", "for=\"203.0.113.7"),
            ("forwarded", "for"),
            ("forwarded", "for=203.0.113.7;for=198.51.100.1"),
            ("forwarded", "for=unknown"),
            ("forwarded", "for=_hidden"),
            ("forwarded", "proto=https"),
            ("forwarded", "for=203.0.113.7:x"),
            ("forwarded", "for=\"1.2.3.4\\\""),
        ] {
            assert_eq!(client(PROXY, &[(name, value)]), ip(PROXY), "{name}: {value}");
        }
        let latin1 = HeaderValue::from_bytes(b"203.0.113.7\xe9").unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", latin1);
        assert_eq!(client_addr(&headers, ip(PROXY), &trusted()), ip(PROXY));
    }

    #[test]
    fn both_headers_must_agree() {
        let agree = [("x-forwarded-for", "203.0.113.7"), ("forwarded", "for=\"203.0.113.7:1234\"")];
        assert_eq!(client(PROXY, &agree), ip("203.0.113.7"));
        // A proxy appends to one; the client wrote the other as it liked.
        let disagree = [("x-forwarded-for", "203.0.113.7"), ("forwarded", "for=198.51.100.1")];
        assert_eq!(client(PROXY, &disagree), ip(PROXY));
        // One naming only trusted proxies has no say.
        let silent = [("x-forwarded-for", "203.0.113.7"), ("forwarded", "for=10.4.4.4")];
        assert_eq!(client(PROXY, &silent), ip("203.0.113.7"));
    }

    #[test]
    fn an_ipv4_peer_on_an_ipv6_socket_is_trusted_as_ipv4() {
        assert_eq!(client("::ffff:10.0.0.1", &[("x-forwarded-for", "203.0.113.7")]), ip("203.0.113.7"));
        assert_eq!(client("::ffff:203.0.113.5", &[]), ip("203.0.113.5"));
    }
}
