//! The SQL of [`PhoneStore`], compiled once per back-end as a part of `queries.rs`.

use async_trait::async_trait;
use sqlx::Row as _;
use switchboard_core::contact::{ContactDetails, ContactFields};
use switchboard_core::details::Phone;
use switchboard_core::model::Book;
use uuid::Uuid;

use super::{
    Backend, Builder, Row, decode_error, device_with, directory_entry, domain, push_contact_entries, push_coworkers,
    time, user_with,
};
use crate::phones::{BookPart, BookRow, DeviceAccess, DeviceKey, PhoneStore};
use crate::{ChangeStamp, DirectoryQuery, Group, ListQuery, Result};

/// The domain under its own column names, the device's and the user's prefixed
/// (`device_`, `user_`) so that each is read by its usual mapping.
const DEVICE_ACCESS: &str = "SELECT domains.id, domains.name, domains.description, domains.reseller_id, \
     resellers.name AS reseller, domains.created_at, domains.updated_at, domains.change_seq, domains.changed_at, \
     devices.id AS device_id, devices.domain_id AS device_domain_id, devices.name AS device_name, \
     devices.user_id AS device_user_id, devices.allowed_networks AS device_allowed_networks, \
     devices.created_at AS device_created_at, devices.last_used_at AS device_last_used_at, \
     devices.revoked_at AS device_revoked_at, devices.created_by AS device_created_by, devices.password_hash, \
     users.id AS user_id, users.domain_id AS user_domain_id, users.extension AS user_extension, \
     users.first_name AS user_first_name, users.last_name AS user_last_name, users.email AS user_email, \
     users.department AS user_department, users.site AS user_site, users.scope AS user_scope, \
     users.listed AS user_listed, users.version AS user_version, users.created_at AS user_created_at, \
     users.updated_at AS user_updated_at, users.own_contacts_on_phones \
     FROM devices JOIN domains ON domains.id = devices.domain_id \
     LEFT JOIN resellers ON resellers.id = domains.reseller_id \
     LEFT JOIN users ON users.id = devices.user_id WHERE ";

#[async_trait]
impl PhoneStore for Backend {
    async fn device_access(&self, key: DeviceKey<'_>) -> Result<Option<DeviceAccess>> {
        let mut qb = Builder::new(DEVICE_ACCESS);
        match key {
            DeviceKey::TokenHash(hash) => qb.push("devices.token_hash = ").push_bind(hash.to_string()),
            DeviceKey::Bind { domain, id } => {
                qb.push("domains.name = ").push_bind(domain.to_string()).push(" AND devices.id = ").push_bind(id)
            }
        };
        let read_at = std::time::Instant::now();
        let row = qb.build().fetch_optional(&self.lookups).await?;
        let access = row.as_ref().map(device_access).transpose()?;
        if let Some(access) = &access {
            self.changes.read(access.domain.id, access.stamp, read_at);
        }
        Ok(access)
    }

    async fn book_rows(&self, domain_id: Uuid, part: BookPart) -> Result<Vec<BookRow>> {
        // Nobody's view: the nil id owns nothing, is nobody's id and has no favorites.
        let query = DirectoryQuery {
            domain_id,
            viewer_id: Uuid::nil(),
            include_shared: true,
            include_own: true,
            group: Group::All,
            list: ListQuery::default(),
        };
        let details = if part == BookPart::Coworkers { "'{}'" } else { "keys.details" };
        let mut qb = Builder::new("SELECT entry.*, keys.search_text AS search_text, ");
        qb.push(details).push(" AS details FROM (");
        let table = match part {
            BookPart::Coworkers => {
                push_coworkers(&mut qb, &query);
                "users"
            }
            BookPart::Shared => {
                push_contact_entries(&mut qb, &query, "shared", Book::Shared { domain_id }, false, false);
                "contacts"
            }
            BookPart::Personal(owner_id) => {
                push_contact_entries(&mut qb, &query, "personal", Book::Personal { domain_id, owner_id }, false, false);
                "contacts"
            }
        };
        qb.push(format_args!(") AS entry JOIN {table} AS keys ON keys.id = entry.id"));
        let rows = qb.build().fetch_all(&self.pool).await?;
        rows.iter().map(book_row).collect()
    }
}

fn device_access(row: &Row) -> Result<DeviceAccess> {
    let user_id: Option<Uuid> = row.try_get("user_id")?;
    Ok(DeviceAccess {
        device: device_with(row, "device_")?,
        password_hash: row.try_get("password_hash")?,
        domain: domain(row)?,
        stamp: ChangeStamp { seq: row.try_get("change_seq")?, at: time(row.try_get("changed_at")?)? },
        user: user_id.map(|_| user_with(row, "user_")).transpose()?,
        user_shares_own_contacts: user_id.is_some() && row.try_get("own_contacts_on_phones")?,
    })
}

fn book_row(row: &Row) -> Result<BookRow> {
    Ok(BookRow {
        entry: directory_entry(row)?,
        sort_key: row.try_get("sort_key")?,
        search_text: row.try_get("search_text")?,
        more_numbers: more_numbers(row.try_get("details")?)?,
    })
}

/// The numbers beyond the four columns, from a contact's details (none when it has none).
fn more_numbers(details: &str) -> Result<Vec<Phone>> {
    if details == "{}" {
        return Ok(Vec::new());
    }
    let details: ContactDetails =
        serde_json::from_str(details).map_err(|e| decode_error(format!("contact details: {e}")))?;
    let fields = ContactFields { phones: details.phones, ..ContactFields::default() };
    Ok(fields.more_phones().map(|(_, phone)| phone.clone()).collect())
}
