//! Contact groups as people see them: a group's name and its members' names.
//!
//! A group (`ContactKind::Group`) lists its members as its address-book app wrote them,
//! `urn:uuid:` and the UID of another card of the same book. A member is named when that
//! UID is one the book's cards carry: the UID a client gave a card (`dav_names`), else the
//! contact's id, which is the UID of every card written here. Anything else (a card since
//! deleted, another book's) is counted but unnamed.

use std::collections::HashMap;

use switchboard_core::model::{Book, Contact};
use uuid::Uuid;

use crate::App;
use crate::auth::Caller;
use crate::contacts::BookRef;
use crate::error::Result;

/// The most groups one page shows.
const MAX_GROUPS: u32 = 100;
/// The most member references named in one read: each costs up to two key look-ups.
const MAX_NAMED: usize = 200;

/// A group of a book, with its members' names where the book has them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactGroup {
    pub id: Uuid,
    pub name: String,
    pub members: Vec<GroupMember>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMember {
    /// As the group lists it (`urn:uuid:…`).
    pub reference: String,
    /// The name of the contact of the book it stands for, when there is one.
    pub name: Option<String>,
}

impl ContactGroup {
    /// How many members are named (the others are not in the book).
    pub fn named(&self) -> impl Iterator<Item = &str> {
        self.members.iter().filter_map(|m| m.name.as_deref())
    }
}

impl App {
    /// The groups of a book the caller may read, by name, each member named from the
    /// same book where its UID matches one of the book's cards.
    pub async fn contact_groups(&self, caller: &Caller, book: &BookRef) -> Result<Vec<ContactGroup>> {
        let open = self.open_book(caller, book).await?;
        let groups = self.store.contact_groups(open.book, MAX_GROUPS).await?;
        let mut names: HashMap<String, Option<String>> = HashMap::new();
        let mut out = Vec::with_capacity(groups.len());
        for group in groups {
            let mut members = Vec::with_capacity(group.fields.members.len());
            for reference in &group.fields.members {
                let name = match names.get(reference) {
                    Some(name) => name.clone(),
                    None if names.len() < MAX_NAMED => {
                        let name = self.member_name(open.book, reference).await?;
                        names.insert(reference.clone(), name.clone());
                        name
                    }
                    None => None,
                };
                members.push(GroupMember { reference: reference.clone(), name });
            }
            out.push(ContactGroup { id: group.id, name: shown_name(&group), members });
        }
        Ok(out)
    }

    /// The name of the live contact of `book` a member reference stands for.
    async fn member_name(&self, book: Book, reference: &str) -> Result<Option<String>> {
        let uid = strip_urn(reference);
        let named = match book.owner_id() {
            Some(owner) => self.store.dav_name_by_uid(owner, uid).await?.map(|named| named.contact_id),
            None => None,
        };
        let Some(id) = named.or_else(|| uid.parse::<Uuid>().ok()) else { return Ok(None) };
        Ok(self.store.contact(book, id).await?.filter(|c| c.deleted_at.is_none()).map(|c| shown_name(&c)))
    }
}

/// `urn:uuid:X` → `X` (any case of the prefix); anything else as it is.
fn strip_urn(reference: &str) -> &str {
    let prefix = "urn:uuid:";
    match reference.get(..prefix.len()) {
        Some(head) if head.eq_ignore_ascii_case(prefix) => &reference[prefix.len()..],
        _ => reference,
    }
}

/// A contact's name as lists show it: first and last name, else the company.
fn shown_name(contact: &Contact) -> String {
    let f = &contact.fields;
    let name = format!("{} {}", f.first_name, f.last_name).trim().to_string();
    if name.is_empty() { f.company.clone() } else { name }
}

#[cfg(test)]
mod tests {
    #[test]
    fn urns_give_their_uid() {
        assert_eq!(super::strip_urn("urn:uuid:ab-1"), "ab-1");
        assert_eq!(super::strip_urn("URN:UUID:ab-1"), "ab-1");
        assert_eq!(super::strip_urn("ab-1"), "ab-1");
        assert_eq!(super::strip_urn("urn:u"), "urn:u");
    }
}
