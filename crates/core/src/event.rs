//! Change events: what open pages and apps are told so they can refresh.
//!
//! An event says *that* something changed and where, never the new content: a
//! client that cares reloads it through the API, where permissions apply as
//! usual. Every event belongs to exactly one domain, so events never cross
//! tenants. The JSON form (`{"domain_id":…,"kind":"contact",…}`) travels between
//! servers (PostgreSQL `NOTIFY`); the `kind` names match the SSE event names.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Something changed in one domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub domain_id: Uuid,
    #[serde(flatten)]
    pub kind: EventKind,
}

/// What changed. Serialized with a `kind` tag: `contact`, `presence`, `user`, `settings` or `chat`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum EventKind {
    /// A contact of a book was created, edited, deleted or restored, or a file was
    /// imported into the book (then once for the whole import, without `contact_id`).
    #[serde(rename = "contact")]
    ContactChanged {
        #[serde(flatten)]
        book: EventBook,
        /// The contact, except for imports.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        contact_id: Option<Uuid>,
        action: ContactAction,
    },
    /// A user's presence (state, chat, status message) changed.
    #[serde(rename = "presence")]
    PresenceChanged { user_id: Uuid },
    /// A user was added, edited or deleted.
    #[serde(rename = "user")]
    UserChanged { user_id: Uuid },
    /// A settings layer of the domain (domain, scope or user) changed.
    #[serde(rename = "settings")]
    SettingsChanged,
    /// The conversation of two people (their ids in order) changed: a message sent or
    /// deleted, read or received. Only those two are told.
    #[serde(rename = "chat")]
    ChatChanged { between: [Uuid; 2] },
}

/// The book of a changed contact. Personal books are named by their owner, whose
/// events nobody else receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "book", rename_all = "lowercase")]
pub enum EventBook {
    Shared,
    Personal { owner_id: Uuid },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ContactAction {
    Created,
    Updated,
    Deleted,
    Restored,
    Imported,
}

impl EventKind {
    /// The name of the kind, as in the JSON `kind` tag and the SSE `event:` field.
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::ContactChanged { .. } => "contact",
            EventKind::PresenceChanged { .. } => "presence",
            EventKind::UserChanged { .. } => "user",
            EventKind::SettingsChanged => "settings",
            EventKind::ChatChanged { .. } => "chat",
        }
    }
}

impl From<crate::model::Book> for EventBook {
    fn from(book: crate::model::Book) -> EventBook {
        match book.owner_id() {
            None => EventBook::Shared,
            Some(owner_id) => EventBook::Personal { owner_id },
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn round_trip(event: &Event) -> serde_json::Value {
        let text = serde_json::to_string(event).unwrap();
        assert_eq!(&serde_json::from_str::<Event>(&text).unwrap(), event, "{text}");
        serde_json::from_str(&text).unwrap()
    }

    #[test]
    fn events_are_flat_json_named_by_kind() {
        let (domain_id, id) = (Uuid::now_v7(), Uuid::now_v7());
        let shared = Event {
            domain_id,
            kind: EventKind::ContactChanged {
                book: EventBook::Shared,
                contact_id: Some(id),
                action: ContactAction::Created,
            },
        };
        assert_eq!(
            round_trip(&shared),
            json!({ "domain_id": domain_id, "kind": "contact", "book": "shared", "contact_id": id, "action": "created" })
        );
        let import = Event {
            domain_id,
            kind: EventKind::ContactChanged {
                book: EventBook::Personal { owner_id: id },
                contact_id: None,
                action: ContactAction::Imported,
            },
        };
        assert_eq!(
            round_trip(&import),
            json!({ "domain_id": domain_id, "kind": "contact", "book": "personal", "owner_id": id, "action": "imported" })
        );
        let settings = Event { domain_id, kind: EventKind::SettingsChanged };
        assert_eq!(round_trip(&settings), json!({ "domain_id": domain_id, "kind": "settings" }));
        for kind in [EventKind::PresenceChanged { user_id: id }, EventKind::UserChanged { user_id: id }] {
            let name = kind.name();
            assert_eq!(
                round_trip(&Event { domain_id, kind }),
                json!({ "domain_id": domain_id, "kind": name, "user_id": id })
            );
        }
    }
}
