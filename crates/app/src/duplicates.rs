//! Possible duplicates in a book, and merging them: for those who may change the book
//! (its editors for shared contacts, the owner for personal ones).

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::json;
use switchboard_core::contact::{ContactFields, ContactInput, MAX_NOTES_LEN};
use switchboard_core::event::ContactAction;
use switchboard_core::merge::{MergeConflict, is_single_field, merge};
use switchboard_core::model::Contact;
use switchboard_core::paging::{Cursor, Page, Sort};
use switchboard_core::{FieldError, Invalid};
use switchboard_store::{DuplicateGroup, MAX_GROUP_MEMBERS, Merge};
use uuid::Uuid;

use crate::App;
use crate::auth::Caller;
use crate::contacts::{BookRef, OpenBook, book_name, duplicate_message};
use crate::error::Result;
use crate::records::limit_param;

/// Query parameters of the duplicates list: all text so each bad one gets its own message.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DuplicateParams {
    /// Groups per page, 1 to 500 (default 50; at most 100 are answered at once).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 500)]
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    #[param(min_length = 1)]
    pub cursor: Option<String>,
}

/// Contacts to merge into the first, which keeps its id.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeInput {
    /// 2 to 20 different contacts of the book; the first survives, the others go to the trash.
    #[schema(min_items = 2, max_items = 20)]
    pub ids: Vec<Uuid>,
    /// Per single-value field (`first_name`, `company`…), the contact whose value to keep;
    /// by default the first that has one. The other values are kept in the notes.
    #[serde(default)]
    pub keep: BTreeMap<String, Uuid>,
    /// The merged contact exactly as wanted (a preview's `contact`, perhaps edited),
    /// instead of the one worked out from `keep`.
    #[serde(default)]
    pub contact: Option<ContactInput>,
}

/// Two contacts that are different people.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NotDuplicatesInput {
    #[schema(min_items = 2, max_items = 2)]
    pub ids: Vec<Uuid>,
}

/// What a merge would make, and the fields the contacts disagree on.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MergePreview {
    pub contact: ContactInput,
    pub conflicts: Vec<MergeConflict>,
}

impl App {
    /// Groups of the book's contacts that share a number, an email, or names and company.
    pub async fn duplicates(
        &self,
        caller: &Caller,
        book: &BookRef,
        params: &DuplicateParams,
    ) -> Result<Page<DuplicateGroup>> {
        let open = self.writable_book(caller, book).await?;
        let (limit, after) = duplicate_paging(params)?;
        let page = self.store.duplicate_groups(open.book, limit, after.as_deref()).await?;
        let next_cursor = page
            .next_key
            .map(|key| Cursor { sort: Sort::Name, key: Some(key), micros: None, id: Uuid::nil() }.encode());
        Ok(Page { items: page.groups, next_cursor })
    }

    pub async fn merge_preview(&self, caller: &Caller, book: &BookRef, input: &MergeInput) -> Result<MergePreview> {
        let open = self.writable_book(caller, book).await?;
        let contacts = self.merged_contacts(&open, input).await?;
        let (contact, conflicts) = merged(&contacts, &input.keep)?;
        Ok(MergePreview { contact, conflicts })
    }

    /// Merges contacts into the first, as one audited change (see `DuplicateStore::merge_contacts`).
    pub async fn merge_contacts(&self, caller: &Caller, book: &BookRef, input: MergeInput) -> Result<Contact> {
        let open = self.writable_book(caller, book).await?;
        let contacts = self.merged_contacts(&open, &input).await?;
        let wanted = match input.contact {
            Some(contact) => contact,
            None => merged(&contacts, &input.keep)?.0,
        };
        let fields = ContactFields::parse(&wanted, open.country)?;
        let Some((survivor, others)) = contacts.split_first() else {
            return Err(Invalid::field("ids", "give 2 to 20 contacts").into());
        };
        let details = json!({
            "book": book_name(open.book),
            "merged": others.len(),
            "merged_ids": others.iter().map(|c| c.id).collect::<Vec<_>>(),
            "before": contacts.iter().map(|c| c.fields.to_input()).collect::<Vec<_>>(),
            "contact": fields.to_input(),
        });
        let audit = self.contact_audit(caller, &open, "contact.merge", Some(survivor.id), details);
        let merge = Merge {
            book: open.book,
            survivor: (survivor.id, survivor.version),
            fields,
            merged: others.iter().map(|c| (c.id, c.version)).collect(),
        };
        let contact = self.store.merge_contacts(merge, audit).await.map_err(duplicate_message)?;
        for other in others {
            self.publish_contact(open.book, Some(other.id), ContactAction::Deleted).await;
        }
        self.publish_contact(open.book, Some(contact.id), ContactAction::Updated).await;
        Ok(contact)
    }

    /// Keeps two contacts out of the duplicates from now on.
    pub async fn mark_not_duplicates(&self, caller: &Caller, book: &BookRef, input: &NotDuplicatesInput) -> Result<()> {
        let open = self.writable_book(caller, book).await?;
        let [a, b] = input.ids[..] else {
            return Err(Invalid::field("ids", "give exactly two contacts").into());
        };
        if a == b {
            return Err(Invalid::field("ids", "give two different contacts").into());
        }
        let details = json!({ "book": book_name(open.book), "ids": [a, b] });
        let audit = self.contact_audit(caller, &open, "contact.not_duplicates", Some(a), details);
        Ok(self.store.mark_not_duplicates(open.book, a, b, audit).await?)
    }

    /// The live contacts a merge names, in its order, after checking the input.
    async fn merged_contacts(&self, open: &OpenBook, input: &MergeInput) -> Result<Vec<Contact>> {
        check_merge(input)?;
        let mut contacts = Vec::with_capacity(input.ids.len());
        for id in &input.ids {
            contacts.push(self.live_contact(open.book, *id).await?);
        }
        Ok(contacts)
    }
}

/// The merged contact and the conflicts, or why the contacts cannot become one as they
/// are: their notes and the values not chosen would not fit in one contact's notes.
/// Nothing is cut: the editor shortens a contact's notes first.
fn merged(contacts: &[Contact], keep: &BTreeMap<String, Uuid>) -> Result<(ContactInput, Vec<MergeConflict>), Invalid> {
    let fields: Vec<(Uuid, &ContactFields)> = contacts.iter().map(|c| (c.id, &c.fields)).collect();
    let (contact, conflicts) = merge(&fields, keep);
    let length = contact.notes.trim().chars().count();
    if length > MAX_NOTES_LEN {
        let message = format!(
            "together, the contacts' notes and the values not kept come to {length} characters, more than \
             the {MAX_NOTES_LEN} one contact's notes hold: shorten the notes of one of them, then merge"
        );
        return Err(Invalid::field("notes", message));
    }
    Ok((contact, conflicts))
}

fn check_merge(input: &MergeInput) -> Result<(), Invalid> {
    let mut errors = Vec::new();
    let distinct: HashSet<&Uuid> = input.ids.iter().collect();
    if !(2..=MAX_GROUP_MEMBERS).contains(&input.ids.len()) {
        errors.push(FieldError { field: "ids".into(), message: format!("give 2 to {MAX_GROUP_MEMBERS} contacts") });
    } else if distinct.len() != input.ids.len() {
        errors.push(FieldError { field: "ids".into(), message: "a contact is named twice".into() });
    }
    for (field, id) in &input.keep {
        if !is_single_field(field) {
            errors.push(FieldError { field: format!("keep.{field}"), message: "not a field a merge chooses".into() });
        } else if !distinct.contains(id) {
            errors
                .push(FieldError { field: format!("keep.{field}"), message: "not one of the merged contacts".into() });
        }
    }
    if errors.is_empty() { Ok(()) } else { Err(Invalid(errors)) }
}

fn duplicate_paging(params: &DuplicateParams) -> Result<(u32, Option<String>), Invalid> {
    let limit = limit_param(params.limit.as_deref()).map_err(|m| Invalid::field("limit", m))?;
    let after = match params.cursor.as_deref().filter(|c| !c.trim().is_empty()) {
        None => None,
        Some(text) => Some(Cursor::decode(text, Sort::Name).map_err(|m| Invalid::field("cursor", m))?.key),
    };
    Ok((limit.get(), after.flatten()))
}
