//! The SQL of [`PhotoStore`], compiled once per back-end as a part of `queries.rs`.

use std::collections::HashMap;

use async_trait::async_trait;
use sqlx::Row as _;
use switchboard_core::model::{Book, Contact};
use uuid::Uuid;

use super::{
    Backend, Builder, Row, Tx, begin_write, contact, now, push_book, push_book_of_named, push_ids, push_visible, time,
    unindexed, write_audit,
};
use crate::photos::{NewPhoto, Photo, PhotoStore};
use crate::{AuditRecord, Result, StoreError};

#[async_trait]
impl PhotoStore for Backend {
    async fn photo(&self, book: Book, contact_id: Uuid) -> Result<Option<Photo>> {
        let mut found = photos_of(&self.pool, book, &[contact_id]).await?;
        Ok(found.remove(&contact_id))
    }

    async fn set_photo(&self, book: Book, contact_id: Uuid, photo: NewPhoto, audit: AuditRecord) -> Result<Contact> {
        let mut tx = begin_write(&self.pool).await?;
        touch_live_contact(&mut tx, book, contact_id).await?;
        upsert_photo(&mut tx, contact_id, &photo).await?;
        finish(tx, &self.changes, book, contact_id, &audit).await
    }

    async fn delete_photo(&self, book: Book, contact_id: Uuid, audit: AuditRecord) -> Result<Contact> {
        let mut tx = begin_write(&self.pool).await?;
        touch_live_contact(&mut tx, book, contact_id).await?;
        let deleted =
            sqlx::query("DELETE FROM contact_photos WHERE contact_id = $1").bind(contact_id).execute(&mut *tx).await?;
        if deleted.rows_affected() == 0 {
            // Dropping the transaction takes the version bump back.
            return Err(StoreError::NotFound);
        }
        finish(tx, &self.changes, book, contact_id, &audit).await
    }

    async fn photos(&self, book: Book, contact_ids: &[Uuid]) -> Result<HashMap<Uuid, Photo>> {
        photos_of(&self.pool, book, contact_ids).await
    }
}

async fn photos_of(pool: &super::Pool, book: Book, contact_ids: &[Uuid]) -> Result<HashMap<Uuid, Photo>> {
    if contact_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut qb = Builder::new(
        "SELECT contact_photos.contact_id, contact_photos.media_type, contact_photos.bytes, contact_photos.hash, \
         contact_photos.updated_at FROM contact_photos JOIN contacts ON contacts.id = contact_photos.contact_id WHERE ",
    );
    // Named by id: the book's terms must not walk the whole book through its index.
    push_book_of_named(&mut qb, book);
    qb.push(format_args!(" AND {} IS NULL", unindexed("contacts.deleted_at")));
    push_visible(&mut qb, "contacts", None);
    qb.push(" AND contacts.id IN (");
    push_ids(&mut qb, contact_ids);
    let rows = qb.build().fetch_all(pool).await?;
    rows.iter().map(|row| Ok((row.try_get("contact_id")?, photo(row)?))).collect()
}

fn photo(row: &Row) -> Result<Photo> {
    Ok(Photo {
        media_type: row.try_get("media_type")?,
        bytes: row.try_get("bytes")?,
        hash: row.try_get("hash")?,
        updated_at: time(row.try_get("updated_at")?)?,
    })
}

/// A photo is a change of its contact: the version and time move on (clients holding an
/// older version are told it changed). `NotFound` unless it is a live contact of the book.
async fn touch_live_contact(tx: &mut Tx, book: Book, contact_id: Uuid) -> Result<()> {
    let mut qb = Builder::new("UPDATE contacts SET version = version + 1, updated_at = ");
    qb.push_bind(now()).push(" WHERE contacts.id = ").push_bind(contact_id).push(" AND ");
    push_book(&mut qb, book);
    qb.push(" AND contacts.deleted_at IS NULL");
    push_visible(&mut qb, "contacts", None);
    let touched = qb.build().execute(&mut **tx).await?;
    if touched.rows_affected() == 0 { Err(StoreError::NotFound) } else { Ok(()) }
}

pub(super) async fn upsert_photo(tx: &mut Tx, contact_id: Uuid, photo: &NewPhoto) -> Result<()> {
    sqlx::query(
        "INSERT INTO contact_photos (contact_id, media_type, bytes, hash, updated_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (contact_id) DO UPDATE SET media_type = excluded.media_type, bytes = excluded.bytes, \
         hash = excluded.hash, updated_at = excluded.updated_at",
    )
    .bind(contact_id)
    .bind(&photo.media_type)
    .bind(&photo.bytes)
    .bind(&photo.hash)
    .bind(now())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Gives the survivor of a merge the photo of the first merged contact that has one,
/// unless it has its own. The merged contacts keep theirs (in the trash, for an undo).
pub(super) async fn carry_photo(tx: &mut Tx, survivor: Uuid, merged: &[Uuid]) -> Result<()> {
    for id in merged {
        let carried = sqlx::query(
            "INSERT INTO contact_photos (contact_id, media_type, bytes, hash, updated_at) \
             SELECT $1, media_type, bytes, hash, $2 FROM contact_photos WHERE contact_id = $3 \
             ON CONFLICT (contact_id) DO NOTHING",
        )
        .bind(survivor)
        .bind(now())
        .bind(*id)
        .execute(&mut **tx)
        .await?;
        if carried.rows_affected() > 0 {
            break;
        }
    }
    Ok(())
}

async fn finish(
    mut tx: Tx,
    changes: &crate::changes::ChangeCache,
    book: Book,
    contact_id: Uuid,
    audit: &AuditRecord,
) -> Result<Contact> {
    let mut qb = Builder::new(concat!("SELECT ", contact_columns!(), " FROM contacts WHERE contacts.id = "));
    qb.push_bind(contact_id).push(" AND ");
    push_book(&mut qb, book);
    let contact = contact(&qb.build().fetch_one(&mut *tx).await?)?;
    write_audit(&mut tx, changes, audit).await?;
    tx.commit().await?;
    Ok(contact)
}
