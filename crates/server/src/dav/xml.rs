//! WebDAV's XML: a request body read into a small tree (namespaces resolved, DTDs and
//! entities refused), and a `multistatus` answer written with every text escaped.
//!
//! Why a tree: DAV bodies are small and their meaning depends on where an element sits
//! (`prop` inside `propfind` or inside a report); quick-xml reads them, this keeps the
//! elements. Limits on depth and element count keep a hostile body from costing much.

use std::fmt::Write as _;

use quick_xml::NsReader;
use quick_xml::escape::{escape, partial_escape};
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;

pub const DAV: &str = "DAV:";
pub const CARDDAV: &str = "urn:ietf:params:xml:ns:carddav";
pub const CALENDARSERVER: &str = "http://calendarserver.org/ns/";

const MAX_DEPTH: usize = 32;
const MAX_ELEMENTS: usize = 200_000;

/// An element of a request body.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Element {
    pub ns: String,
    pub name: String,
    pub attributes: Vec<(String, String)>,
    pub children: Vec<Element>,
    pub text: String,
}

impl Element {
    pub fn is(&self, ns: &str, name: &str) -> bool {
        self.ns == ns && self.name == name
    }

    pub fn child(&self, ns: &str, name: &str) -> Option<&Element> {
        self.children.iter().find(|child| child.is(ns, name))
    }

    pub fn all<'a>(&'a self, ns: &'a str, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |child| child.is(ns, name))
    }

    /// An attribute without a namespace prefix (`name="FN"`).
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }
}

/// The root element of `body`, or why it is not XML this server reads.
pub fn parse(body: &[u8]) -> Result<Element, String> {
    let mut reader = NsReader::from_reader(body);
    reader.config_mut().trim_text(true);
    let mut stack: Vec<Element> = Vec::new();
    let mut count = 0;
    let mut buf = Vec::new();
    loop {
        let (resolved, event) =
            reader.read_resolved_event_into(&mut buf).map_err(|e| format!("not well-formed XML: {e}"))?;
        match event {
            Event::Start(start) | Event::Empty(start) if stack.len() >= MAX_DEPTH || count >= MAX_ELEMENTS => {
                let _ = start;
                return Err("the XML body is nested too deeply or has too many elements".into());
            }
            Event::Start(ref start) | Event::Empty(ref start) => {
                count += 1;
                let ns = match resolved {
                    ResolveResult::Bound(ns) => String::from_utf8_lossy(ns.as_ref()).into_owned(),
                    ResolveResult::Unbound => String::new(),
                    ResolveResult::Unknown(prefix) => {
                        return Err(format!("the prefix `{}` is not declared", String::from_utf8_lossy(&prefix)));
                    }
                };
                let name = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
                let mut attributes = Vec::new();
                for attribute in start.attributes() {
                    let attribute = attribute.map_err(|e| format!("a malformed attribute: {e}"))?;
                    if attribute.key.prefix().is_some() {
                        continue;
                    }
                    let value = attribute
                        .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .map_err(|e| format!("a malformed attribute value: {e}"))?;
                    attributes.push((String::from_utf8_lossy(attribute.key.as_ref()).into_owned(), value.into_owned()));
                }
                let element = Element { ns, name, attributes, ..Element::default() };
                if matches!(event, Event::Start(_)) {
                    stack.push(element);
                } else if let Some(root) = close(&mut stack, element) {
                    return Ok(root);
                }
            }
            Event::End(_) => {
                let element = stack.pop().ok_or("an end tag without its start")?;
                if let Some(root) = close(&mut stack, element) {
                    return Ok(root);
                }
            }
            Event::Text(text) => {
                let text = text.decode().map_err(|e| format!("text that is not UTF-8: {e}"))?;
                push_text(&mut stack, &text);
            }
            Event::CData(data) => {
                let text = data.decode().map_err(|e| format!("text that is not UTF-8: {e}"))?;
                push_text(&mut stack, &text);
            }
            Event::GeneralRef(reference) => {
                let text = match reference.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    _ => match reference.as_ref() {
                        b"lt" => "<".into(),
                        b"gt" => ">".into(),
                        b"amp" => "&".into(),
                        b"apos" => "'".into(),
                        b"quot" => "\"".into(),
                        other => {
                            return Err(format!("the entity `&{};` is not allowed", String::from_utf8_lossy(other)));
                        }
                    },
                };
                push_text(&mut stack, &text);
            }
            Event::DocType(_) => return Err("a DOCTYPE is not allowed (no DTDs, no entities)".into()),
            Event::Eof => return Err("the XML body ends before its root element does".into()),
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
        }
        buf.clear();
    }
}

/// Adds a finished element to its parent; returns it when it is the root.
fn close(stack: &mut [Element], element: Element) -> Option<Element> {
    match stack.last_mut() {
        Some(parent) => {
            parent.children.push(element);
            None
        }
        None => Some(element),
    }
}

fn push_text(stack: &mut [Element], text: &str) {
    if let Some(element) = stack.last_mut() {
        element.text.push_str(text);
    }
}

/// A property's name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PropName {
    pub ns: String,
    pub name: String,
}

impl PropName {
    pub fn new(ns: &str, name: &str) -> PropName {
        PropName { ns: ns.into(), name: name.into() }
    }

    /// The empty element naming the property (`<d:getetag/>`, or with its namespace declared).
    fn empty(&self, out: &mut String) {
        match prefix_of(&self.ns) {
            Some(prefix) => write!(out, "<{prefix}:{}/>", self.name),
            // A prefix cannot be bound to no namespace (litmus asks for such a property).
            None if self.ns.is_empty() => write!(out, "<{} xmlns=\"\"/>", self.name),
            None => write!(out, "<x:{} xmlns:x=\"{}\"/>", self.name, escape(&self.ns)),
        }
        .expect("writing to a String cannot fail");
    }

    /// The property with `inner` (XML already written) as its content.
    fn with(&self, inner: &str, out: &mut String) {
        match prefix_of(&self.ns) {
            Some(prefix) => write!(out, "<{prefix}:{name}>{inner}</{prefix}:{name}>", name = self.name),
            None if self.ns.is_empty() => write!(out, "<{name} xmlns=\"\">{inner}</{name}>", name = self.name),
            None => write!(out, "<x:{name} xmlns:x=\"{}\">{inner}</x:{name}>", escape(&self.ns), name = self.name),
        }
        .expect("writing to a String cannot fail");
    }
}

fn prefix_of(ns: &str) -> Option<&'static str> {
    match ns {
        DAV => Some("d"),
        CARDDAV => Some("card"),
        CALENDARSERVER => Some("cs"),
        _ => None,
    }
}

/// A `multistatus` document, written as it is built.
pub struct Multistatus {
    out: String,
}

impl Default for Multistatus {
    fn default() -> Self {
        Self::new()
    }
}

impl Multistatus {
    pub fn new() -> Multistatus {
        let mut out = String::with_capacity(4096);
        out.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
        write!(out, "<d:multistatus xmlns:d=\"{DAV}\" xmlns:card=\"{CARDDAV}\" xmlns:cs=\"{CALENDARSERVER}\">")
            .expect("writing to a String cannot fail");
        Multistatus { out }
    }

    /// A resource with the values found (each already XML) and the names not found.
    pub fn response(&mut self, href: &str, found: &[(PropName, String)], missing: &[PropName]) {
        write!(self.out, "<d:response><d:href>{}</d:href>", escape(href)).expect("writing to a String cannot fail");
        if !found.is_empty() {
            self.out.push_str("<d:propstat><d:prop>");
            for (name, value) in found {
                match value.is_empty() {
                    true => name.empty(&mut self.out),
                    false => name.with(value, &mut self.out),
                }
            }
            self.out.push_str("</d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat>");
        }
        if !missing.is_empty() {
            self.out.push_str("<d:propstat><d:prop>");
            for name in missing {
                name.empty(&mut self.out);
            }
            self.out.push_str("</d:prop><d:status>HTTP/1.1 404 Not Found</d:status></d:propstat>");
        }
        self.out.push_str("</d:response>");
    }

    /// A resource whose properties all have one status (403 for a PROPPATCH refused).
    pub fn propstat(&mut self, href: &str, names: &[PropName], status: &str, error: Option<&PropName>) {
        write!(self.out, "<d:response><d:href>{}</d:href><d:propstat><d:prop>", escape(href))
            .expect("writing to a String cannot fail");
        for name in names {
            name.empty(&mut self.out);
        }
        write!(self.out, "</d:prop><d:status>HTTP/1.1 {status}</d:status>").expect("writing to a String cannot fail");
        if let Some(error) = error {
            self.out.push_str("<d:error>");
            error.empty(&mut self.out);
            self.out.push_str("</d:error>");
        }
        self.out.push_str("</d:propstat></d:response>");
    }

    /// A resource answered with a status alone (`404 Not Found` for a removed card).
    pub fn status(&mut self, href: &str, status: &str) {
        write!(
            self.out,
            "<d:response><d:href>{}</d:href><d:status>HTTP/1.1 {status}</d:status></d:response>",
            escape(href)
        )
        .expect("writing to a String cannot fail");
    }

    pub fn sync_token(&mut self, token: &str) {
        write!(self.out, "<d:sync-token>{}</d:sync-token>", escape(token)).expect("writing to a String cannot fail");
    }

    /// What is written so far, taken out to be sent (the rest follows it).
    pub fn take(&mut self) -> String {
        std::mem::take(&mut self.out)
    }

    pub fn finish(mut self) -> String {
        self.out.push_str("</d:multistatus>\n");
        self.out
    }
}

/// `<d:href>…</d:href>` with the path escaped.
pub fn href(path: &str) -> String {
    format!("<d:href>{}</d:href>", escape(path))
}

/// Escaped text content. Text holding none of `<`, `>` and `&` (a card, almost always) is
/// found so by a vectorised search and copied as it is: quotes need no escaping in text.
pub fn text(value: &str) -> String {
    match memchr::memchr3(b'<', b'>', b'&', value.as_bytes()) {
        None => value.to_owned(),
        Some(_) => partial_escape(value).into_owned(),
    }
}

/// An error body naming the precondition that failed (`<d:valid-sync-token/>`).
pub fn error(ns: &str, name: &str) -> String {
    let mut out =
        format!("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<d:error xmlns:d=\"{DAV}\" xmlns:card=\"{CARDDAV}\">");
    PropName::new(ns, name).empty(&mut out);
    out.push_str("</d:error>\n");
    out
}

/// An error body whose precondition names a resource (`no-uid-conflict` and the card
/// that has the UID already).
pub fn error_with_href(ns: &str, name: &str, path: &str) -> String {
    let mut out =
        format!("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<d:error xmlns:d=\"{DAV}\" xmlns:card=\"{CARDDAV}\">");
    PropName::new(ns, name).with(&href(path), &mut out);
    out.push_str("</d:error>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_are_resolved_and_text_unescaped() {
        let body = br#"<?xml version="1.0"?>
            <A:propfind xmlns:A="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav">
              <A:prop><A:getetag/><C:address-data content-type="text/vcard" version="4.0"/></A:prop>
              <A:href>/dav/a&amp;b&#x20;c</A:href>
            </A:propfind>"#;
        let root = parse(body).unwrap();
        assert!(root.is(DAV, "propfind"));
        let prop = root.child(DAV, "prop").unwrap();
        assert!(prop.children[0].is(DAV, "getetag"));
        assert_eq!(prop.children[1].attribute("version"), Some("4.0"));
        assert_eq!(root.child(DAV, "href").unwrap().text, "/dav/a&b c");
    }

    #[test]
    fn hostile_bodies_are_refused() {
        let bomb = br#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>
            <d:propfind xmlns:d="DAV:">&lol2;</d:propfind>"#;
        assert!(parse(bomb).unwrap_err().contains("DOCTYPE"));
        assert!(parse(b"<d:propfind xmlns:d=\"DAV:\">&lol;</d:propfind>").unwrap_err().contains("entity"));
        assert!(parse(b"<d:propfind xmlns:d=\"DAV:\">").is_err());
        assert!(parse(b"<x:propfind/>").unwrap_err().contains("prefix"));
        assert!(parse(b"").is_err());
        let deep = "<a>".repeat(100) + &"</a>".repeat(100);
        assert!(parse(deep.as_bytes()).unwrap_err().contains("deeply"));
    }

    #[test]
    fn answers_escape_what_they_echo() {
        let mut answer = Multistatus::new();
        let odd = PropName::new("urn:x\"<", "thing");
        answer.response("/dav/a<b", &[(PropName::new(DAV, "displayname"), text("Tom & Jerry"))], &[odd]);
        let xml = answer.finish();
        assert!(xml.contains("<d:href>/dav/a&lt;b</d:href>"), "{xml}");
        assert!(xml.contains("Tom &amp; Jerry"), "{xml}");
        assert_eq!(text("a \"card\" ]]> <b>"), "a \"card\" ]]&gt; &lt;b&gt;");
        assert_eq!(text("NOTE:plain 'text'"), "NOTE:plain 'text'");
        assert!(xml.contains("xmlns:x=\"urn:x&quot;&lt;\""), "{xml}");
        parse(xml.as_bytes()).unwrap();
    }

    #[test]
    fn a_property_in_no_namespace_is_written_without_a_prefix() {
        let asked = parse(br#"<d:propfind xmlns:d="DAV:"><d:prop><foo xmlns=""/></d:prop></d:propfind>"#).unwrap();
        let foo = &asked.child(DAV, "prop").unwrap().children[0];
        assert_eq!((foo.ns.as_str(), foo.name.as_str()), ("", "foo"));
        let mut answer = Multistatus::new();
        answer.response("/dav/", &[], &[PropName::new(&foo.ns, &foo.name)]);
        answer.propstat("/dav/", &[PropName::new("", "bar")], "403 Forbidden", None);
        let xml = answer.finish();
        assert!(xml.contains("<foo xmlns=\"\"/>") && xml.contains("<bar xmlns=\"\"/>"), "{xml}");
        parse(xml.as_bytes()).unwrap();
    }
}
