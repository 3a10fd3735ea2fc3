//! The resources under `/dav/` and their properties: which a client asked for, and the
//! value of each (as iOS, macOS, DAVx5 and Thunderbird ask for them), plus the
//! `addressbook-query` filter.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use switchboard_app::dav::{DavBook, DavCard, MAX_CARD_BYTES};
use switchboard_app::{AppError, Caller};
use uuid::Uuid;

use super::SYNC_TOKEN_PREFIX;
use super::xml::{CALENDARSERVER, CARDDAV, DAV, Element, Multistatus, PropName, href, text};
use crate::AppState;

/// What a card's name keeps as it is in a path; the rest is percent-encoded.
const NAME_KEPT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~').remove(b'@');

/// A resource of the caller's (parsed from a path, which must be theirs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resource {
    Root,
    Principals,
    Principal,
    Home,
    Book(DavBook),
    /// A card by its name in its book (percent-decoded).
    Card(DavBook, String),
}

impl Resource {
    /// The resource at `path`, if it is the caller's (`None`: 404, whoever else's it is).
    pub fn parse(path: &str, caller: &Caller) -> Option<Resource> {
        let Caller::User { user, domain, .. } = caller else { return None };
        let rest = path.strip_prefix("/dav")?;
        let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
        let own = |d: &str, e: &str| d == domain.name.as_str() && e == user.extension.as_str();
        match segments.as_slice() {
            [] => Some(Resource::Root),
            ["principals"] => Some(Resource::Principals),
            ["principals", d, e] if own(d, e) => Some(Resource::Principal),
            ["books", d, e] if own(d, e) => Some(Resource::Home),
            ["books", d, e, book] if own(d, e) => DavBook::parse(book).map(Resource::Book),
            ["books", d, e, book, name] if own(d, e) => Some(Resource::Card(DavBook::parse(book)?, card_name(name)?)),
            _ => None,
        }
    }

    /// The members a Depth 1 PROPFIND lists besides the resource (a book's cards aside):
    /// the home lists the two books, or the one that holds both when the user's apps are
    /// to see one (`CARDDAV_ONE_BOOK`); every book's path answers either way.
    pub fn members(&self, context: &Context) -> Vec<Resource> {
        match self {
            Resource::Root => vec![Resource::Principal, Resource::Home],
            Resource::Home if context.one_book => vec![Resource::Book(DavBook::All)],
            Resource::Home => vec![Resource::Book(DavBook::Directory), Resource::Book(DavBook::Contacts)],
            _ => Vec::new(),
        }
    }

    pub fn path(&self, context: &Context) -> String {
        match self {
            Resource::Root => "/dav/".into(),
            Resource::Principals => "/dav/principals/".into(),
            Resource::Principal => context.principal.clone(),
            Resource::Home => context.home.clone(),
            Resource::Book(book) => format!("{}{}/", context.home, book.as_str()),
            Resource::Card(book, name) => {
                format!("{}{}/{}", context.home, book.as_str(), utf8_percent_encode(name, NAME_KEPT))
            }
        }
    }

    /// Whether a card may be written here: a card of a book that takes own contacts
    /// (the app then refuses the directory's cards of the merged book).
    pub fn is_writable(&self) -> bool {
        matches!(self, Resource::Card(book, _) if book.takes_own_contacts())
    }

    /// Whether the user may change the resource: a book that takes their own contacts,
    /// or one of those.
    fn is_own(&self, card: Option<&DavCard>) -> bool {
        match self {
            Resource::Book(book) => book.takes_own_contacts(),
            Resource::Card(..) => card.is_some_and(|card| card.own),
            _ => false,
        }
    }
}

/// A card's name from a path segment: percent-decoded, and still one segment.
pub fn card_name(segment: &str) -> Option<String> {
    let name = percent_decode_str(segment).decode_utf8().ok()?;
    (!name.is_empty() && !name.contains('/')).then(|| name.into_owned())
}

/// What the properties of the caller's resources are made of.
pub struct Context {
    principal: String,
    home: String,
    user_id: Uuid,
    name: String,
    email: String,
    /// The books' sync token (also their CTag), read only for requests that show it.
    token: Option<String>,
    /// The user's apps see one book (read for the home only).
    one_book: bool,
}

impl Context {
    pub async fn read(state: &AppState, caller: &Caller, resource: &Resource) -> Result<Context, AppError> {
        let Caller::User { user, domain, .. } = caller else { return Err(AppError::NotFound) };
        let (domain, ext) = (domain.name.as_str(), user.extension.as_str());
        let token = match resource {
            Resource::Home | Resource::Book(_) => Some(state.app.dav_token(caller).await?),
            _ => None,
        };
        let one_book = match resource {
            Resource::Home => state.app.dav_one_book(caller).await?,
            _ => false,
        };
        Ok(Context {
            principal: format!("/dav/principals/{domain}/{ext}/"),
            home: format!("/dav/books/{domain}/{ext}/"),
            user_id: user.id,
            name: format!("{} {}", user.first_name, user.last_name).trim().to_string(),
            email: user.email.clone(),
            token: token.map(|token| format!("{SYNC_TOKEN_PREFIX}{token}")),
            one_book,
        })
    }

    /// A stable id for a resource that has none of its own (the user's id, varied).
    fn resource_id(&self, resource: &Resource) -> Uuid {
        let variant = match resource {
            Resource::Card(..) => return Uuid::nil(),
            Resource::Principal => return self.user_id,
            Resource::Root | Resource::Principals => 1,
            Resource::Home => 2,
            Resource::Book(DavBook::Directory) => 3,
            Resource::Book(DavBook::Contacts) => 4,
            Resource::Book(DavBook::All) => 5,
        };
        Uuid::from_u128(self.user_id.as_u128() ^ variant)
    }
}

/// What a PROPFIND (or a report's `prop`) asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Asked {
    /// `allprop`, or no body: the live properties this server has.
    All,
    /// `propname`: their names only.
    Names,
    Props(Vec<PropName>),
}

impl Asked {
    /// Whether the answer shows the cards themselves (`address-data`, or their length),
    /// not only their ETags: only then are they written.
    pub fn needs_cards(&self) -> bool {
        let Asked::Props(names) = self else { return false };
        names.iter().any(|name| {
            (name.ns == CARDDAV && name.name == "address-data") || (name.ns == DAV && name.name == "getcontentlength")
        })
    }
}

pub fn requested_props(root: Option<&Element>) -> Asked {
    let Some(root) = root else { return Asked::All };
    if let Some(prop) = root.child(DAV, "prop") {
        return Asked::Props(prop.children.iter().map(|p| PropName::new(&p.ns, &p.name)).collect());
    }
    match root.child(DAV, "propname") {
        Some(_) => Asked::Names,
        None => Asked::All,
    }
}

/// The properties `allprop` and `propname` cover (not `address-data`, RFC 6352 §10.4).
const ALL_PROPS: [(&str, &str); 16] = [
    (DAV, "resourcetype"),
    (DAV, "displayname"),
    (DAV, "current-user-principal"),
    (DAV, "principal-URL"),
    (DAV, "principal-collection-set"),
    (DAV, "owner"),
    (DAV, "resource-id"),
    (DAV, "supported-report-set"),
    (DAV, "current-user-privilege-set"),
    (DAV, "sync-token"),
    (DAV, "getetag"),
    (DAV, "getcontenttype"),
    (CARDDAV, "addressbook-home-set"),
    (CARDDAV, "supported-address-data"),
    (CARDDAV, "max-resource-size"),
    (CALENDARSERVER, "getctag"),
];

/// Writes a resource's answer: the values it has of what was asked, and (for named
/// properties) the names it has not.
pub fn answer_props(
    answer: &mut Multistatus,
    context: &Context,
    resource: &Resource,
    card: Option<&DavCard>,
    asked: &Asked,
) {
    let path = resource.path(context);
    match asked {
        Asked::Props(names) => {
            let (mut found, mut missing) = (Vec::new(), Vec::new());
            for name in names {
                match value(context, resource, card, name) {
                    Some(value) => found.push((name.clone(), value)),
                    None => missing.push(name.clone()),
                }
            }
            answer.response(&path, &found, &missing);
        }
        Asked::All | Asked::Names => {
            let found: Vec<(PropName, String)> = ALL_PROPS
                .iter()
                .map(|(ns, name)| PropName::new(ns, name))
                .filter_map(|name| {
                    let value = value(context, resource, card, &name)?;
                    Some((name, if *asked == Asked::Names { String::new() } else { value }))
                })
                .collect();
            answer.response(&path, &found, &[]);
        }
    }
}

/// A property's value as XML (empty: an empty element), `None` when the resource has none.
fn value(context: &Context, resource: &Resource, card: Option<&DavCard>, name: &PropName) -> Option<String> {
    let book = match resource {
        Resource::Book(book) => Some(*book),
        _ => None,
    };
    let principal = || href(&context.principal);
    Some(match (name.ns.as_str(), name.name.as_str()) {
        (DAV, "resourcetype") => match resource {
            Resource::Principal => "<d:principal/>".into(),
            Resource::Book(_) => "<d:collection/><card:addressbook/>".into(),
            Resource::Card(..) => String::new(),
            _ => "<d:collection/>".into(),
        },
        (DAV, "displayname") => text(match resource {
            Resource::Root => "Switchboard",
            Resource::Principals => "Users",
            Resource::Principal => &context.name,
            Resource::Home => "Address books",
            Resource::Book(book) => book.display_name(),
            Resource::Card(..) => return None,
        }),
        (DAV, "current-user-principal") => principal(),
        (DAV, "principal-URL") if *resource == Resource::Principal => principal(),
        (DAV, "principal-collection-set") => href("/dav/principals/"),
        (DAV, "owner") if !matches!(resource, Resource::Root | Resource::Principals) => principal(),
        (DAV, "resource-id") => {
            let id = match (resource, card) {
                (Resource::Card(..), Some(card)) => card.id,
                (Resource::Card(..), None) => return None,
                _ => context.resource_id(resource),
            };
            href(&format!("urn:uuid:{id}"))
        }
        (DAV, "supported-report-set") => match book {
            Some(_) => ["<d:sync-collection/>", "<card:addressbook-multiget/>", "<card:addressbook-query/>"]
                .iter()
                .map(|report| format!("<d:supported-report><d:report>{report}</d:report></d:supported-report>"))
                .collect(),
            None => String::new(),
        },
        (DAV, "current-user-privilege-set") => {
            let mut privileges = vec!["read", "read-current-user-privilege-set"];
            if resource.is_own(card) {
                privileges.extend(["write", "write-content", "bind", "unbind"]);
            }
            privileges.iter().map(|p| format!("<d:privilege><d:{p}/></d:privilege>")).collect()
        }
        (DAV, "sync-token") | (CALENDARSERVER, "getctag") if book.is_some() => text(context.token.as_deref()?),
        (DAV, "getetag") => text(&card?.etag),
        (DAV, "getcontenttype") if card.is_some() => "text/vcard; charset=utf-8".into(),
        (DAV, "getcontentlength") => card?.vcard.as_ref()?.len().to_string(),
        (CARDDAV, "addressbook-home-set") if matches!(resource, Resource::Principal | Resource::Root) => {
            href(&context.home)
        }
        // Where macOS searches the company directory as one types, without syncing it
        // (RFC 6352 §7.2; Apple's servers publish it in their own namespace too).
        (CARDDAV | CALENDARSERVER, "directory-gateway")
            if matches!(resource, Resource::Root | Resource::Principal | Resource::Home) =>
        {
            href(&format!("{}{}/", context.home, DavBook::Directory.as_str()))
        }
        (CARDDAV, "addressbook-description") if book.is_some() => text(match book? {
            DavBook::Directory => "Your coworkers and your company's shared contacts (read-only)",
            DavBook::Contacts => "Your own contacts",
            DavBook::All => "Your coworkers, your company's shared contacts and your own contacts",
        }),
        (CARDDAV, "supported-address-data") if book.is_some() => {
            "<card:address-data-type content-type=\"text/vcard\" version=\"3.0\"/>\
             <card:address-data-type content-type=\"text/vcard\" version=\"4.0\"/>"
                .into()
        }
        (CARDDAV, "max-resource-size") if book.is_some() => MAX_CARD_BYTES.to_string(),
        (CARDDAV, "address-data") => text(std::str::from_utf8(card?.vcard.as_ref()?).ok()?),
        (CALENDARSERVER, "email-address-set") if *resource == Resource::Principal => match context.email.is_empty() {
            true => String::new(),
            false => format!("<cs:email-address>{}</cs:email-address>", text(&context.email)),
        },
        _ => return None,
    })
}

/// The number of results a report asks for at most (`limit/nresults`, in the namespace
/// of the report: CardDAV's for `addressbook-query`, DAV's for `sync-collection`).
pub fn result_limit(root: &Element, ns: &str) -> Option<usize> {
    let asked = root.child(ns, "limit").and_then(|limit| limit.child(ns, "nresults"));
    asked.and_then(|n| n.text.trim().parse().ok()).filter(|n| *n > 0)
}

/// An `addressbook-query` filter (RFC 6352 §10.5): prop-filters with text-matches,
/// param-filters and is-not-defined, matched against a card's properties.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    all_of: bool,
    props: Vec<PropFilter>,
}

#[derive(Debug, Clone)]
struct PropFilter {
    name: String,
    all_of: bool,
    is_not_defined: bool,
    texts: Vec<TextMatch>,
    params: Vec<(String, Option<TextMatch>, bool)>,
}

#[derive(Debug, Clone)]
struct TextMatch {
    text: String,
    match_type: MatchType,
    negate: bool,
}

#[derive(Debug, Clone, Copy)]
enum MatchType {
    Equals,
    Contains,
    StartsWith,
    EndsWith,
}

impl Filter {
    pub fn parse(filter: Option<&Element>) -> Result<Filter, String> {
        let Some(filter) = filter else { return Ok(Filter::default()) };
        let props = filter.all(CARDDAV, "prop-filter").map(PropFilter::parse).collect::<Result<_, _>>()?;
        Ok(Filter { all_of: filter.attribute("test") == Some("allof"), props })
    }

    /// Whether a card (vCard text) passes: no prop-filter passes everything.
    pub fn matches(&self, vcard: &[u8]) -> bool {
        if self.props.is_empty() {
            return true;
        }
        let card = String::from_utf8_lossy(vcard);
        let lines = unfolded(&card);
        let mut results = self.props.iter().map(|prop| prop.matches(&lines));
        if self.all_of { results.all(|r| r) } else { results.any(|r| r) }
    }
}

impl PropFilter {
    fn parse(element: &Element) -> Result<PropFilter, String> {
        let name = element.attribute("name").ok_or("a prop-filter needs a name")?.to_ascii_uppercase();
        let texts = element.all(CARDDAV, "text-match").map(TextMatch::parse).collect::<Result<_, _>>()?;
        let mut params = Vec::new();
        for param in element.all(CARDDAV, "param-filter") {
            let param_name = param.attribute("name").ok_or("a param-filter needs a name")?.to_ascii_uppercase();
            let text = param.child(CARDDAV, "text-match").map(TextMatch::parse).transpose()?;
            params.push((param_name, text, param.child(CARDDAV, "is-not-defined").is_some()));
        }
        Ok(PropFilter {
            name,
            all_of: element.attribute("test") == Some("allof"),
            is_not_defined: element.child(CARDDAV, "is-not-defined").is_some(),
            texts,
            params,
        })
    }

    fn matches(&self, lines: &[(String, String, String)]) -> bool {
        let mine: Vec<&(String, String, String)> = lines.iter().filter(|(name, _, _)| *name == self.name).collect();
        if self.is_not_defined {
            return mine.is_empty();
        }
        if self.texts.is_empty() && self.params.is_empty() {
            return !mine.is_empty();
        }
        mine.iter().any(|(_, params, value)| {
            let mut tests = self.texts.iter().map(|t| t.matches(value)).chain(self.params.iter().map(
                |(param, text, not_defined)| {
                    let values = param_values(params, param);
                    match (not_defined, text) {
                        (true, _) => values.is_empty(),
                        (false, Some(text)) => values.iter().any(|v| text.matches(v)),
                        (false, None) => !values.is_empty(),
                    }
                },
            ));
            if self.all_of { tests.all(|r| r) } else { tests.any(|r| r) }
        })
    }
}

impl TextMatch {
    fn parse(element: &Element) -> Result<TextMatch, String> {
        let match_type = match element.attribute("match-type").unwrap_or("contains") {
            "equals" => MatchType::Equals,
            "contains" => MatchType::Contains,
            "starts-with" => MatchType::StartsWith,
            "ends-with" => MatchType::EndsWith,
            other => return Err(format!("the match-type `{other}` is not one of RFC 6352")),
        };
        match element.attribute("collation").unwrap_or("i;unicode-casemap") {
            "i;unicode-casemap" | "i;ascii-casemap" | "i;octet" => {}
            other => return Err(format!("the collation `{other}` is not supported")),
        }
        Ok(TextMatch {
            text: element.text.to_lowercase(),
            match_type,
            negate: element.attribute("negate-condition") == Some("yes"),
        })
    }

    /// Case-insensitive, as `i;unicode-casemap` asks (and the others, near enough).
    fn matches(&self, value: &str) -> bool {
        let value = value.to_lowercase();
        let found = match self.match_type {
            MatchType::Equals => value == self.text,
            MatchType::Contains => value.contains(&self.text),
            MatchType::StartsWith => value.starts_with(&self.text),
            MatchType::EndsWith => value.ends_with(&self.text),
        };
        found != self.negate
    }
}

/// A card's properties as (NAME without group, parameters, value), lines unfolded.
fn unfolded(card: &str) -> Vec<(String, String, String)> {
    let mut logical: Vec<String> = Vec::new();
    for line in card.split('\n').map(|line| line.trim_end_matches('\r')) {
        match (line.strip_prefix(' ').or_else(|| line.strip_prefix('\t')), logical.last_mut()) {
            (Some(rest), Some(last)) => last.push_str(rest),
            _ => logical.push(line.to_string()),
        }
    }
    logical
        .into_iter()
        .filter_map(|line| {
            let (head, value) = line.split_once(':')?;
            let (name, params) = head.split_once(';').unwrap_or((head, ""));
            let name = name.rsplit('.').next().unwrap_or(name).to_ascii_uppercase();
            Some((name, params.to_ascii_uppercase(), value.to_string()))
        })
        .collect()
}

/// The values of a parameter (`TYPE=WORK,VOICE;TYPE=PREF` gives all three).
fn param_values(params: &str, name: &str) -> Vec<String> {
    params
        .split(';')
        .filter_map(|param| param.split_once('='))
        .filter(|(key, _)| key.eq_ignore_ascii_case(name))
        .flat_map(|(_, values)| values.split(',').map(|v| v.trim_matches('"').to_string()).collect::<Vec<_>>())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::xml::parse;
    use super::*;

    const CARD: &[u8] = b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ann Smith\r\nN:Smith;Ann;;;\r\n\
        item1.TEL;TYPE=WORK,VOICE:+1 206 555 0100\r\nEMAIL;TYPE=INTERNET:ann@example.com\r\nNOTE:a long\r\n  note\r\nEND:VCARD\r\n";

    fn filter(xml: &str) -> Filter {
        let root = parse(xml.as_bytes()).unwrap();
        Filter::parse(root.child(CARDDAV, "filter")).unwrap()
    }

    fn query(inner: &str) -> String {
        format!(
            r#"<C:addressbook-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><C:filter test="anyof">{inner}</C:filter></C:addressbook-query>"#
        )
    }

    #[test]
    fn text_matches_as_macos_searches() {
        let fn_contains = |text: &str| {
            query(&format!(
                r#"<C:prop-filter name="FN"><C:text-match collation="i;unicode-casemap" match-type="contains">{text}</C:text-match></C:prop-filter>"#
            ))
        };
        assert!(filter(&fn_contains("smi")).matches(CARD));
        assert!(!filter(&fn_contains("bob")).matches(CARD));
        let starts = query(
            r#"<C:prop-filter name="EMAIL"><C:text-match match-type="starts-with">ANN@</C:text-match></C:prop-filter>"#,
        );
        assert!(filter(&starts).matches(CARD));
        let negated = query(
            r#"<C:prop-filter name="FN"><C:text-match negate-condition="yes">ann</C:text-match></C:prop-filter>"#,
        );
        assert!(!filter(&negated).matches(CARD));
        let folded = query(r#"<C:prop-filter name="NOTE"><C:text-match>long note</C:text-match></C:prop-filter>"#);
        assert!(filter(&folded).matches(CARD), "folded lines are read whole");
        assert!(filter(&query("")).matches(CARD), "no prop-filter: every card");
    }

    #[test]
    fn param_filters_and_undefined_properties() {
        let work = query(
            r#"<C:prop-filter name="TEL"><C:param-filter name="TYPE"><C:text-match match-type="equals">work</C:text-match></C:param-filter></C:prop-filter>"#,
        );
        assert!(filter(&work).matches(CARD), "grouped TEL with TYPE=WORK,VOICE");
        let home = query(
            r#"<C:prop-filter name="TEL"><C:param-filter name="TYPE"><C:text-match match-type="equals">home</C:text-match></C:param-filter></C:prop-filter>"#,
        );
        assert!(!filter(&home).matches(CARD));
        let no_org = query(r#"<C:prop-filter name="ORG"><C:is-not-defined/></C:prop-filter>"#);
        assert!(filter(&no_org).matches(CARD));
        let both = r#"<C:addressbook-query xmlns:C="urn:ietf:params:xml:ns:carddav"><C:filter test="allof">
            <C:prop-filter name="FN"><C:text-match>ann</C:text-match></C:prop-filter>
            <C:prop-filter name="ORG"><C:text-match>acme</C:text-match></C:prop-filter></C:filter></C:addressbook-query>"#;
        assert!(!filter(both).matches(CARD));
        let wrong = parse(
            query(r#"<C:prop-filter name="FN"><C:text-match match-type="regex">a</C:text-match></C:prop-filter>"#)
                .as_bytes(),
        )
        .unwrap();
        assert!(Filter::parse(wrong.child(CARDDAV, "filter")).is_err());
    }
}
