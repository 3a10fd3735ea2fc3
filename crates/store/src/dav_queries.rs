//! Card names (`DavStore`, migration 0021): part of `queries.rs`, compiled once per
//! back-end with it.

use async_trait::async_trait;
use sqlx::Row as _;
use switchboard_core::model::Book;
use switchboard_core::paging::Page;
use uuid::Uuid;

use super::contacts::{push_book, push_book_of_named, push_visible};
use super::{
    Backend, Builder, CONTACT_KEYS, JSON_ROWS, Row, decode_error, id_text, page, push_ids, push_in, push_page,
    unindexed,
};
use crate::{CardVersion, DavName, DavStore, ListQuery, Result};

fn dav_name(row: &Row) -> Result<DavName> {
    Ok(DavName { contact_id: row.try_get("contact_id")?, name: row.try_get("name")?, uid: row.try_get("uid")? })
}

/// A row of `CARD_VERSIONS`.
fn card_version(row: &Row) -> Result<CardVersion> {
    let id = row.try_get("id")?;
    let name: Option<String> = row.try_get("name")?;
    let named = match name {
        Some(name) => Some(DavName { contact_id: id, name, uid: row.try_get("uid")? }),
        None => None,
    };
    Ok(CardVersion { id, version: row.try_get("version")?, named })
}

/// A book's contacts with the names their owner's clients gave them: one query, where a
/// name looked up apart would cost a second one per page.
const CARD_VERSIONS: &str = "SELECT contacts.id, contacts.version, contacts.sort_key, contacts.updated_at, \
     dav_names.name, dav_names.uid FROM contacts LEFT JOIN dav_names ON dav_names.contact_id = contacts.id \
     AND dav_names.owner_user_id = contacts.owner_user_id WHERE ";
#[async_trait]
impl DavStore for Backend {
    async fn dav_names(&self, owner_id: Uuid, ids: &[Uuid]) -> Result<Vec<DavName>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        // The owner's column is kept from choosing an index: the ids are looked up by the
        // primary key rather than by walking every name of the owner.
        let mut qb = Builder::new(format!(
            "SELECT contact_id, name, uid FROM dav_names WHERE {} = ",
            unindexed("owner_user_id")
        ));
        qb.push_bind(owner_id).push(" AND contact_id IN (");
        push_ids(&mut qb, ids);
        let rows = qb.build().fetch_all(&self.pool).await?;
        rows.iter().map(dav_name).collect()
    }

    async fn list_card_versions(&self, book: Book, list: &ListQuery) -> Result<Page<CardVersion>> {
        let mut qb = Builder::new(CARD_VERSIONS);
        push_book(&mut qb, book);
        qb.push(" AND contacts.deleted_at IS NULL");
        push_visible(&mut qb, "contacts", None);
        push_page(&mut qb, list, &CONTACT_KEYS, true);
        page(qb.build().fetch_all(&self.pool).await?, list, card_version)
    }

    async fn card_versions_named(&self, book: Book, names: &[String]) -> Result<Vec<CardVersion>> {
        let Some(owner_id) = book.owner_id().filter(|_| !names.is_empty()) else { return Ok(Vec::new()) };
        // The names lead (their index finds each one), and each one's contact is looked up
        // by its id: written as a join, a planner without statistics may walk the contacts.
        // The rows come back as one JSON value: SQLite hands each row over between threads,
        // which cost more than finding it.
        let mut qb = Builder::new(format!(
            "SELECT {}{}, dav_names.name, dav_names.uid, ",
            JSON_ROWS.0,
            id_text("dav_names.contact_id")
        ));
        qb.push("(SELECT version FROM contacts WHERE contacts.id = dav_names.contact_id");
        qb.push(format_args!(" AND {} IS NULL AND ", unindexed("contacts.deleted_at")));
        push_book_of_named(&mut qb, book);
        push_visible(&mut qb, "contacts", None);
        qb.push(format_args!("){} FROM dav_names WHERE dav_names.owner_user_id = ", JSON_ROWS.1))
            .push_bind(owner_id)
            .push(" AND");
        push_in(&mut qb, "dav_names.name", names.iter().cloned());
        let rows: Option<String> = qb.build_query_scalar().fetch_one(&self.pool).await?;
        let rows: Vec<(String, String, String, Option<i64>)> = match rows {
            Some(json) => serde_json::from_str(&json).map_err(|e| decode_error(format!("card versions: {e}")))?,
            None => Vec::new(),
        };
        let mut cards = Vec::with_capacity(rows.len());
        for (id, name, uid, version) in rows {
            // No version: the contact is in the trash, or not (or not yet) of the book.
            let Some(version) = version else { continue };
            let id = Uuid::parse_str(&id).map_err(|e| decode_error(format!("card versions: {e}")))?;
            cards.push(CardVersion { id, version, named: Some(DavName { contact_id: id, name, uid }) });
        }
        Ok(cards)
    }

    async fn dav_name_by_name(&self, owner_id: Uuid, name: &str) -> Result<Option<DavName>> {
        let row = sqlx::query("SELECT contact_id, name, uid FROM dav_names WHERE owner_user_id = $1 AND name = $2")
            .bind(owner_id)
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(dav_name).transpose()
    }

    async fn dav_name_by_uid(&self, owner_id: Uuid, uid: &str) -> Result<Option<DavName>> {
        let row = sqlx::query("SELECT contact_id, name, uid FROM dav_names WHERE owner_user_id = $1 AND uid = $2")
            .bind(owner_id)
            .bind(uid)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(dav_name).transpose()
    }

    async fn set_dav_name(&self, owner_id: Uuid, name: &DavName) -> Result<()> {
        // The contact is found by its id, not among every contact of the owner.
        let sql = format!(
            "INSERT INTO dav_names (contact_id, owner_user_id, name, uid) \
             SELECT id, owner_user_id, $3, $4 FROM contacts WHERE id = $1 AND {} = $2 \
             ON CONFLICT (contact_id) DO UPDATE SET name = excluded.name, uid = excluded.uid",
            unindexed("owner_user_id")
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(name.contact_id)
            .bind(owner_id)
            .bind(&name.name)
            .bind(&name.uid)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn delete_dav_name(&self, owner_id: Uuid, contact_id: Uuid) -> Result<()> {
        sqlx::query("DELETE FROM dav_names WHERE owner_user_id = $1 AND contact_id = $2")
            .bind(owner_id)
            .bind(contact_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
