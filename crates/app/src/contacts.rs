//! Shared contacts (the domain's) and personal contacts (one user's).

use serde_json::json;
use switchboard_core::contact::{ContactFields, ContactInput, ContactPatch};
use switchboard_core::event::ContactAction;
use switchboard_core::model::{Book, Contact, Domain};
use switchboard_core::paging::Page;
use switchboard_core::phone::Country;
use uuid::Uuid;

use crate::App;
use crate::auth::Caller;
use crate::authz::access;
use crate::error::{AppError, Result, forbidden};
use crate::inputs::ListParams;
use crate::records::{changes, contact_audit_details, list_query};

/// An address book as an interface names it.
#[derive(Debug, Clone)]
pub enum BookRef {
    Shared { domain: String },
    Personal { domain: String, extension: String },
}

/// A book the caller can reach, and what they may do in it.
pub(crate) struct OpenBook {
    pub book: Book,
    pub domain: Domain,
    pub country: Country,
    pub can_write: bool,
}

impl App {
    pub(crate) async fn open_book(&self, caller: &Caller, book: &BookRef) -> Result<OpenBook> {
        match book {
            BookRef::Shared { domain } => {
                let domain = self.reachable_domain(caller, domain).await?;
                if !self.shows_shared(caller, &domain).await? {
                    return Err(AppError::NotFound);
                }
                let settings = self.domain_settings(&domain).await?;
                let access = access(caller, &domain).ok_or(AppError::NotFound)?;
                Ok(OpenBook {
                    book: Book::Shared { domain_id: domain.id },
                    can_write: access.can_edit_shared(&settings.shared_contact_editors()),
                    country: settings.country(),
                    domain,
                })
            }
            BookRef::Personal { domain, extension } => {
                let domain = self.reachable_domain(caller, domain).await?;
                let owner = self.domain_user(&domain, extension).await?;
                let access = access(caller, &domain).ok_or(AppError::NotFound)?;
                // Personal contacts are seen by their owner alone (and the operator's CLI).
                let can_write = match caller {
                    Caller::System => true,
                    Caller::User { .. } if access.is_user(&owner) => access.can_keep_own_contacts(),
                    Caller::User { .. } | Caller::Pbx { .. } => return Err(AppError::NotFound),
                };
                let country = self.user_settings(&domain, &owner).await?.country();
                Ok(OpenBook {
                    book: Book::Personal { domain_id: domain.id, owner_id: owner.id },
                    domain,
                    country,
                    can_write,
                })
            }
        }
    }

    pub(crate) async fn writable_book(&self, caller: &Caller, book: &BookRef) -> Result<OpenBook> {
        let open = self.open_book(caller, book).await?;
        if !open.can_write {
            return Err(forbidden("change these contacts"));
        }
        Ok(open)
    }

    pub async fn list_contacts(&self, caller: &Caller, book: &BookRef, params: &ListParams) -> Result<Page<Contact>> {
        let open = self.open_book(caller, book).await?;
        Ok(self.store.list_contacts(open.book, &list_query(params)?).await?)
    }

    /// A live contact of the book (one in the trash is not found here).
    pub async fn get_contact(&self, caller: &Caller, book: &BookRef, id: Uuid) -> Result<Contact> {
        let open = self.open_book(caller, book).await?;
        self.live_contact(open.book, id).await
    }

    pub(crate) async fn live_contact(&self, book: Book, id: Uuid) -> Result<Contact> {
        match self.store.contact(book, id).await? {
            Some(contact) if contact.deleted_at.is_none() => Ok(contact),
            _ => Err(AppError::NotFound),
        }
    }

    pub async fn create_contact(&self, caller: &Caller, book: &BookRef, input: ContactInput) -> Result<Contact> {
        let open = self.writable_book(caller, book).await?;
        let fields = ContactFields::parse(&input, open.country)?;
        let details = json!({ "book": book_name(open.book), "contact": fields.to_input() });
        let audit = self.contact_audit(caller, &open, "contact.create", None, details);
        let contact = self.store.create_contact(open.book, fields, audit).await.map_err(duplicate_message)?;
        self.publish_contact(open.book, Some(contact.id), ContactAction::Created).await;
        Ok(contact)
    }

    pub async fn update_contact(
        &self,
        caller: &Caller,
        book: &BookRef,
        id: Uuid,
        if_match: Option<i64>,
        patch: ContactPatch,
    ) -> Result<Contact> {
        let open = self.writable_book(caller, book).await?;
        let current = self.live_contact(open.book, id).await?;
        if let Some(expected) = if_match
            && expected != current.version
        {
            return Err(AppError::Stale { current: current.version });
        }
        let fields = current.fields.patched(&patch, open.country)?;
        let before = serde_json::to_value(current.fields.to_input()).unwrap_or_default();
        let after = serde_json::to_value(fields.to_input()).unwrap_or_default();
        let details = json!({ "book": book_name(open.book), "changes": changes(&before, &after) });
        let audit = self.contact_audit(caller, &open, "contact.update", Some(id), details);
        let expected = if_match.or(Some(current.version));
        let contact =
            self.store.update_contact(open.book, id, expected, fields, audit).await.map_err(duplicate_message)?;
        self.publish_contact(open.book, Some(id), ContactAction::Updated).await;
        Ok(contact)
    }

    /// Moves a contact to the trash, from where `restore_contact` brings it back.
    pub async fn delete_contact(&self, caller: &Caller, book: &BookRef, id: Uuid) -> Result<Contact> {
        let open = self.writable_book(caller, book).await?;
        let current = self.live_contact(open.book, id).await?;
        let details = json!({ "book": book_name(open.book), "contact": current.fields.to_input() });
        let audit = self.contact_audit(caller, &open, "contact.delete", Some(id), details);
        let contact = self.store.delete_contact(open.book, id, audit).await?;
        self.publish_contact(open.book, Some(id), ContactAction::Deleted).await;
        Ok(contact)
    }

    pub async fn restore_contact(&self, caller: &Caller, book: &BookRef, id: Uuid) -> Result<Contact> {
        let open = self.writable_book(caller, book).await?;
        match self.store.contact(open.book, id).await? {
            Some(contact) if contact.deleted_at.is_some() => {}
            Some(_) => return Err(AppError::Conflict("this contact is not in the trash".into())),
            None => return Err(AppError::NotFound),
        }
        let details = json!({ "book": book_name(open.book) });
        let audit = self.contact_audit(caller, &open, "contact.restore", Some(id), details);
        let contact = self.store.restore_contact(open.book, id, audit).await.map_err(duplicate_message)?;
        self.publish_contact(open.book, Some(id), ContactAction::Restored).await;
        Ok(contact)
    }

    /// The audit record of a change in an open book (see [`contact_audit_details`]).
    pub(crate) fn contact_audit(
        &self,
        caller: &Caller,
        open: &OpenBook,
        action: &str,
        id: Option<Uuid>,
        details: serde_json::Value,
    ) -> switchboard_store::AuditRecord {
        self.audit(caller, Some(open.domain.id), action, id, contact_audit_details(open.book, details))
    }

    /// The domain's trash as the caller may see it: shared contacts for those who
    /// edit them, and always the caller's own deleted contacts.
    pub async fn trash(&self, caller: &Caller, domain: &str, params: &ListParams) -> Result<Page<Contact>> {
        let domain = self.reachable_domain(caller, domain).await?;
        let access = access(caller, &domain).ok_or(AppError::NotFound)?;
        let editors = self.domain_settings(&domain).await?.shared_contact_editors();
        let owner = access.member().map(|user| user.id);
        if !access.can_edit_shared(&editors) {
            // Without rights on shared contacts, only one's own trash remains.
            let Some(owner) = owner else { return Err(forbidden("see the trash")) };
            let page = self.store.list_trash(domain.id, Some(owner), &list_query(params)?).await?;
            let own = page.items.into_iter().filter(|c| c.book.owner_id() == Some(owner)).collect();
            return Ok(Page { items: own, next_cursor: page.next_cursor });
        }
        Ok(self.store.list_trash(domain.id, owner, &list_query(params)?).await?)
    }

    /// Empties the trash of what was deleted longer ago than the retention period:
    /// contacts, and deleted users with everything kept of them. Returns how many.
    pub async fn purge_trash(&self) -> Result<u64> {
        let cutoff = chrono::Utc::now() - self.config.trash_retention;
        Ok(self.store.purge_trash(cutoff).await? + self.store.purge_deleted_users(cutoff).await?)
    }
}

pub(crate) fn book_name(book: Book) -> &'static str {
    match book {
        Book::Shared { .. } => "shared",
        Book::Personal { .. } => "personal",
    }
}

pub(crate) fn duplicate_message(error: switchboard_store::StoreError) -> AppError {
    match AppError::from(error) {
        AppError::Conflict(_) => {
            AppError::Conflict("an identical contact (same names and numbers) already exists".into())
        }
        other => other,
    }
}
