//! Turning the matches of a search into its answer: sorted, cut to a view, a page or
//! the size limit, with the result code and response controls that say so.

use std::cmp::Ordering;

use ldap3_proto::control::{LdapControl, ServerSortRequet};
use ldap3_proto::proto::LdapResultCode;
use switchboard_core::text::fold;

use crate::controls::{SearchControls, VlvRequest, VlvResult, VlvTarget, sort_response, vlv_response};
use crate::entry::{Entry, attribute_type};
use crate::search::Found;

#[derive(Debug)]
pub struct Answer {
    pub entries: Vec<Entry>,
    pub code: LdapResultCode,
    pub message: String,
    pub controls: Vec<LdapControl>,
}

impl Answer {
    fn new(entries: Vec<Entry>, more: bool) -> Answer {
        let (code, message) = if more {
            (LdapResultCode::SizeLimitExceeded, "more entries match; narrow the search".to_string())
        } else {
            (LdapResultCode::Success, String::new())
        };
        Answer { entries, code, message, controls: Vec::new() }
    }
}

/// How many matches a search must collect before shaping: sorting and views need every
/// match (up to `max_entries`), pages only up to their end, plain searches the size limit.
pub fn wanted(controls: &SearchControls, size_limit: usize, max_entries: usize) -> usize {
    if controls.sort.is_some() || controls.vlv.is_some() {
        max_entries
    } else if let Some((size, offset)) = controls.paged {
        offset.saturating_add(size).min(size_limit)
    } else {
        size_limit
    }
}

pub fn shape(mut found: Found, controls: &SearchControls, size_limit: usize) -> Answer {
    let gave_up = found.gave_up;
    let mut response_controls = Vec::new();
    if let Some(keys) = &controls.sort {
        response_controls.push(sort(&mut found.entries, keys));
    }
    let mut answer = match (&controls.vlv, controls.paged) {
        (Some(_), _) if controls.sort.is_none() => Answer {
            entries: Vec::new(),
            code: LdapResultCode::VirtualListViewError,
            message: "a virtual list view needs the server-side sort control".into(),
            controls: vec![vlv_response(0, 0, VlvResult::SortControlMissing)],
        },
        (Some(view), _) => list_view(found.entries, view, first_sort_key(controls), size_limit),
        (None, Some((size, offset))) => page(found, size, offset, size_limit),
        (None, None) => {
            let more = found.more || found.entries.len() > size_limit;
            found.entries.truncate(size_limit);
            Answer::new(found.entries, more)
        }
    };
    if gave_up && answer.code == LdapResultCode::Success {
        answer.code = LdapResultCode::AdminLimitExceeded;
        answer.message = "this filter reads too much of the book; search by name or number".into();
    }
    response_controls.append(&mut answer.controls);
    answer.controls = response_controls;
    answer
}

/// Sorts by the requested keys (a stable sort: ties keep the book's name order);
/// entries without a value sort last. An unknown attribute leaves the order as it is.
/// Returns the response control.
fn sort(entries: &mut [Entry], keys: &[ServerSortRequet]) -> LdapControl {
    let mut names = Vec::new();
    for key in keys {
        match attribute_type(&key.attribute_name) {
            Some(known) => names.push((known.name, key.reverse_order)),
            None => {
                return sort_response(LdapResultCode::NoSuchAttribute, Some(&key.attribute_name));
            }
        }
    }
    entries.sort_by(|a, b| {
        names
            .iter()
            .map(|(name, reverse)| compare(sort_key(a, name), sort_key(b, name), *reverse))
            .fold(Ordering::Equal, Ordering::then)
    });
    sort_response(LdapResultCode::Success, None)
}

fn sort_key<'e>(entry: &'e Entry, name: &str) -> Option<&'e str> {
    entry.get(name).and_then(|a| a.keys().first()).map(String::as_str)
}

fn compare(a: Option<&str>, b: Option<&str>, reverse: bool) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) if reverse => b.cmp(a),
        (Some(a), Some(b)) => a.cmp(b),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

fn list_view(entries: Vec<Entry>, view: &VlvRequest, sorted_by: &str, size_limit: usize) -> Answer {
    let count = entries.len();
    let position = match &view.target {
        VlvTarget::ByOffset { offset, content_count } => scaled_offset(*offset, *content_count, count),
        VlvTarget::GreaterOrEqual(value) => {
            let value = fold(value);
            let at_least = |e: &Entry| sort_key(e, sorted_by).is_some_and(|k| k >= value.as_str());
            1 + entries.iter().position(at_least).unwrap_or(count)
        }
    };
    let target = position.saturating_sub(1);
    let start = target.saturating_sub(view.before);
    let end = target.saturating_add(view.after).saturating_add(1).min(count);
    let window: Vec<Entry> = entries.into_iter().skip(start).take(end.saturating_sub(start)).collect();
    let more = window.len() > size_limit;
    let mut answer = Answer::new(window.into_iter().take(size_limit).collect(), more);
    answer.controls.push(vlv_response(position, count, VlvResult::Success));
    answer
}

/// The attribute a view is sorted by first, which a `greaterThanOrEqual` target is compared with.
fn first_sort_key(controls: &SearchControls) -> &'static str {
    let first = controls.sort.as_ref().and_then(|keys| keys.first());
    first.and_then(|key| attribute_type(&key.attribute_name)).map_or("cn", |known| known.name)
}

/// The 1-based position a client's offset points at, scaled when the client's idea
/// of the list length differs from ours, so its first and last stay ours
/// (draft-ietf-ldapext-ldapv3-vlv §6.1).
///
/// The client's values reach 2^63 - 1, so the scaling is done in 128 bits: the product
/// of two such values fits, and the result is at most `count`.
fn scaled_offset(offset: usize, content_count: usize, count: usize) -> usize {
    if count == 0 {
        return 0;
    }
    let position = match content_count {
        0 => offset,
        same if same == count => offset,
        1 => 1,
        theirs if offset >= theirs => count,
        theirs => {
            let (offset, theirs, ours) = (offset as u128, theirs as u128, count as u128);
            let scaled = 1 + ((offset.saturating_sub(1)) * (ours - 1) + (theirs - 1) / 2) / (theirs - 1);
            // At most `count`, as offset < theirs.
            usize::try_from(scaled).unwrap_or(count)
        }
    };
    position.clamp(1, count)
}

/// Simple paged results (RFC 2696): the cookie is the offset of the next page.
fn page(found: Found, size: usize, offset: usize, size_limit: usize) -> Answer {
    let total = found.entries.len();
    let entries: Vec<Entry> = found.entries.into_iter().skip(offset).take(size).collect();
    let next = offset + entries.len();
    let more = found.more || total > next;
    let over_limit = more && next >= size_limit;
    let cookie = if more && !over_limit && size > 0 { next.to_string().into_bytes() } else { Vec::new() };
    let mut answer = Answer::new(entries, over_limit);
    answer.controls.push(LdapControl::SimplePagedResults { size: 0, cookie });
    answer
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(sn: &str) -> Entry {
        Entry { dn: format!("uid={sn}"), attributes: vec![crate::entry::Attribute::text("sn", vec![sn.into()])] }
    }

    fn found(names: &[&str], more: bool) -> Found {
        Found { entries: names.iter().map(|n| entry(n)).collect(), more, gave_up: false }
    }

    fn dns(answer: &Answer) -> Vec<&str> {
        answer.entries.iter().map(|e| &e.dn[4..]).collect()
    }

    fn by_sn(reverse: bool) -> Option<Vec<ServerSortRequet>> {
        Some(vec![ServerSortRequet { attribute_name: "surname".into(), ordering_rule: None, reverse_order: reverse }])
    }

    #[test]
    fn the_size_limit_cuts_and_says_so() {
        let plain = SearchControls::default();
        let answer = shape(found(&["a", "b", "c"], false), &plain, 2);
        assert_eq!((dns(&answer), answer.code.clone()), (vec!["a", "b"], LdapResultCode::SizeLimitExceeded));
        let answer = shape(found(&["a", "b"], true), &plain, 2);
        assert_eq!(answer.code, LdapResultCode::SizeLimitExceeded);
        assert_eq!(shape(found(&["a", "b"], false), &plain, 2).code, LdapResultCode::Success);
        let gave_up = Found { gave_up: true, ..found(&["a"], false) };
        assert_eq!(shape(gave_up, &plain, 2).code, LdapResultCode::AdminLimitExceeded);
    }

    /// The result code in a sort response control: `30 len 0a 01 <code> …`.
    fn sort_code(answer: &Answer) -> u8 {
        match &answer.controls[0] {
            LdapControl::Unknown { oid, value: Some(value), .. } if oid == "1.2.840.113556.1.4.474" => value[4],
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn sorting_by_a_known_attribute_and_refusing_an_unknown_one() {
        let controls = SearchControls { sort: by_sn(true), ..SearchControls::default() };
        let answer = shape(found(&["b", "c", "a"], false), &controls, 10);
        assert_eq!(dns(&answer), ["c", "b", "a"]);
        assert_eq!(sort_code(&answer), 0);
        let unknown =
            vec![ServerSortRequet { attribute_name: "shoeSize".into(), ordering_rule: None, reverse_order: false }];
        let controls = SearchControls { sort: Some(unknown), ..SearchControls::default() };
        let answer = shape(found(&["b", "a"], false), &controls, 10);
        assert_eq!(dns(&answer), ["b", "a"]);
        assert_eq!(sort_code(&answer), LdapResultCode::NoSuchAttribute as u8);
    }

    #[test]
    fn list_views_pick_a_window_around_the_target() {
        let names = ["a", "b", "c", "d", "e", "f"];
        let view = |target| SearchControls {
            sort: by_sn(false),
            vlv: Some(VlvRequest { before: 1, after: 2, target }),
            ..SearchControls::default()
        };
        let answer = shape(found(&names, false), &view(VlvTarget::ByOffset { offset: 3, content_count: 0 }), 10);
        assert_eq!(dns(&answer), ["b", "c", "d", "e"]);
        let answer = shape(found(&names, false), &view(VlvTarget::ByOffset { offset: 1, content_count: 3 }), 10);
        assert_eq!(dns(&answer), ["a", "b", "c"]);
        let answer = shape(found(&names, false), &view(VlvTarget::GreaterOrEqual("E".into())), 10);
        assert_eq!(dns(&answer), ["d", "e", "f"]);
        let answer = shape(found(&names, false), &view(VlvTarget::GreaterOrEqual("zz".into())), 10);
        assert_eq!(dns(&answer), ["f"]);
        let unsorted = SearchControls { sort: None, ..view(VlvTarget::ByOffset { offset: 1, content_count: 0 }) };
        assert_eq!(shape(found(&names, false), &unsorted, 10).code, LdapResultCode::VirtualListViewError);
    }

    /// Client values up to 2^63 - 1 (the largest a view request's INTEGER is read as) in
    /// every field: a window at the list's ends, never an overflow.
    #[test]
    fn list_view_arithmetic_takes_the_largest_client_values() {
        let names = ["a", "b", "c", "d", "e", "f"];
        let huge = i64::MAX as usize;
        let view = |before, after, target| SearchControls {
            sort: by_sn(false),
            vlv: Some(VlvRequest { before, after, target }),
            ..SearchControls::default()
        };
        let cases = [
            (huge, huge, VlvTarget::ByOffset { offset: huge, content_count: huge }, vec!["a", "b", "c", "d", "e", "f"]),
            (0, 0, VlvTarget::ByOffset { offset: huge - 1, content_count: huge }, vec!["f"]),
            (0, 1, VlvTarget::ByOffset { offset: huge / 2, content_count: huge }, vec!["c", "d"]),
            (0, 0, VlvTarget::ByOffset { offset: 2, content_count: huge }, vec!["a"]),
            (0, 0, VlvTarget::ByOffset { offset: huge, content_count: 0 }, vec!["f"]),
            (huge, 0, VlvTarget::ByOffset { offset: 0, content_count: 3 }, vec!["a"]),
            (1, huge, VlvTarget::GreaterOrEqual("c".into()), vec!["b", "c", "d", "e", "f"]),
        ];
        for (before, after, target, expected) in cases {
            let answer = shape(found(&names, false), &view(before, after, target.clone()), 10);
            assert_eq!((dns(&answer), answer.code.clone()), (expected, LdapResultCode::Success), "{target:?}");
        }
        let empty =
            shape(found(&[], false), &view(huge, huge, VlvTarget::ByOffset { offset: huge, content_count: huge }), 10);
        assert_eq!((empty.entries.len(), empty.code), (0, LdapResultCode::Success));
        assert_eq!(scaled_offset(huge, huge, usize::MAX), usize::MAX);
        assert_eq!(scaled_offset(huge - 1, huge, 500), 500);
        assert_eq!(scaled_offset(usize::MAX - 1, usize::MAX, usize::MAX - 1), usize::MAX - 2);
    }

    #[test]
    fn pages_carry_the_next_offset_until_the_end() {
        let paged = |offset| SearchControls { paged: Some((2, offset)), ..SearchControls::default() };
        let cookie = |answer: &Answer| match &answer.controls[0] {
            LdapControl::SimplePagedResults { cookie, .. } => String::from_utf8(cookie.clone()).unwrap(),
            other => panic!("{other:?}"),
        };
        let first = shape(found(&["a", "b"], true), &paged(0), 10);
        assert_eq!((dns(&first), cookie(&first)), (vec!["a", "b"], "2".to_string()));
        let last = shape(found(&["a", "b", "c"], false), &paged(2), 10);
        assert_eq!((dns(&last), cookie(&last), last.code.clone()), (vec!["c"], String::new(), LdapResultCode::Success));
        let limited = shape(found(&["a", "b", "c", "d"], true), &paged(2), 4);
        assert_eq!((cookie(&limited), limited.code.clone()), (String::new(), LdapResultCode::SizeLimitExceeded));
        assert_eq!(wanted(&paged(4), 5, 500), 5);
    }
}
