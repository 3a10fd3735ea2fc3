//! Possible duplicates, pairs that are not, and merges (see `duplicates.rs` and migration
//! 0011): part of `queries.rs`, compiled once per back-end with it.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use async_trait::async_trait;
use sqlx::Row as _;
use switchboard_core::model::{Book, Contact};
use uuid::Uuid;

use super::{
    BYTE_ORDER, Backend, Builder, Conn, DETAIL_EMAIL, DETAIL_EMAILS, Tx, begin_write, carry_photo, contact, now,
    push_book, push_ids, push_visible, record_entries, trash_live_contact_at, update_live_contact, why_not_updated,
    write_audit,
};
use crate::duplicates::{DuplicateGroup, DuplicatePage, DuplicateStore, MAX_GROUP_MEMBERS, Merge};
use crate::{AuditRecord, Result, StoreError};

/// A way contacts can share a key.
struct Key {
    /// Starts the key's text, and orders the kinds of keys.
    prefix: &'static str,
    /// Where the key is: `contacts`, or a table joined to it.
    from: &'static str,
    /// The column (or expression) holding the key.
    column: &'static str,
    /// What a contact needs to have the key.
    has_key: &'static str,
}

const CONTACTS: &str = "contacts";
/// The numbers beyond the four columns.
const MORE_NUMBERS: &str = "contacts JOIN contact_numbers ON contact_numbers.contact_id = contacts.id";

/// Every way contacts can share a key, in key order of their prefixes.
const KEYS: [Key; 8] = [
    Key { prefix: "email:", from: CONTACTS, column: "lower(contacts.email)", has_key: "contacts.email <> ''" },
    // Every email, for contacts with more than the column holds.
    Key { prefix: "email:", from: DETAIL_EMAILS, column: DETAIL_EMAIL, has_key: "contacts.details <> '{}'" },
    Key {
        prefix: "name:",
        from: CONTACTS,
        column: "contacts.sort_key",
        has_key: "contacts.company <> '' AND (contacts.first_name <> '' OR contacts.last_name <> '')",
    },
    number_key("contacts.work_phone_e164", "contacts.work_phone_e164 IS NOT NULL"),
    number_key("contacts.mobile_phone_e164", "contacts.mobile_phone_e164 IS NOT NULL"),
    number_key("contacts.home_phone_e164", "contacts.home_phone_e164 IS NOT NULL"),
    number_key("contacts.fax_e164", "contacts.fax_e164 IS NOT NULL"),
    Key {
        prefix: "phone:",
        from: MORE_NUMBERS,
        column: "contact_numbers.e164",
        has_key: "contact_numbers.e164 IS NOT NULL",
    },
];

/// A number column's key.
const fn number_key(column: &'static str, has_key: &'static str) -> Key {
    Key { prefix: "phone:", from: CONTACTS, column, has_key }
}

/// Groups per page at most, whatever the limit asked: each brings up to
/// [`MAX_GROUP_MEMBERS`] contacts, and every id is a bound parameter.
const MAX_GROUPS: u32 = 100;
/// Rounds of reading keys to fill a page whose groups were left out (not duplicates).
const MAX_ROUNDS: usize = 5;

/// Which keys a statement reads: those after a key, or exactly some keys.
enum Wanted<'a> {
    After(Option<&'a str>),
    Only(&'a [String]),
}

#[async_trait]
impl DuplicateStore for Backend {
    async fn duplicate_groups(&self, book: Book, limit: u32, after: Option<&str>) -> Result<DuplicatePage> {
        let limit = limit.clamp(1, MAX_GROUPS);
        let mut conn = self.pool.acquire().await?;
        let mut groups = Vec::new();
        let mut after = after.map(str::to_string);
        for _ in 0..MAX_ROUNDS {
            let keys = shared_keys(&mut conn, book, after.as_deref(), limit - groups.len() as u32).await?;
            let full = keys.len() as u32 == limit - groups.len() as u32;
            after = keys.last().map(|(key, _)| key.clone());
            groups.extend(groups_of(&mut conn, book, keys).await?);
            dedup_groups(&mut groups);
            if !full {
                return Ok(DuplicatePage { groups, next_key: None });
            }
            if groups.len() as u32 == limit {
                break;
            }
        }
        Ok(DuplicatePage { groups, next_key: after })
    }

    async fn mark_not_duplicates(&self, book: Book, a: Uuid, b: Uuid, audit: AuditRecord) -> Result<()> {
        let (id_a, id_b) = if a < b { (a, b) } else { (b, a) };
        let mut tx = begin_write(&self.pool).await?;
        let mut qb = Builder::new("SELECT count(*) FROM contacts WHERE ");
        push_book(&mut qb, book);
        qb.push(" AND contacts.deleted_at IS NULL AND contacts.id IN (");
        push_ids(&mut qb, &[id_a, id_b]);
        let live: i64 = qb.build_query_scalar().fetch_one(&mut *tx).await?;
        if live != 2 {
            return Err(StoreError::NotFound);
        }
        sqlx::query(
            "INSERT INTO not_duplicates (id_a, id_b, domain_id, owner_user_id, created_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        )
        .bind(id_a)
        .bind(id_b)
        .bind(book.domain_id())
        .bind(book.owner_id())
        .bind(now())
        .execute(&mut *tx)
        .await?;
        write_audit(&mut tx, &self.changes, &audit).await?;
        Ok(tx.commit().await?)
    }

    async fn merge_contacts(&self, merge: Merge, audit: AuditRecord) -> Result<Contact> {
        let mut tx = begin_write(&self.pool).await?;
        // The others leave first, so the survivor may take the names and numbers of one
        // of them without meeting the one-identical-contact-per-book key.
        for (id, version) in &merge.merged {
            if trash_live_contact_at(&mut tx, merge.book, *id, *version).await?.is_none() {
                return Err(why_not_updated(&mut tx, merge.book, *id).await?);
            }
        }
        let (survivor, version) = merge.survivor;
        let merged: Vec<Uuid> = merge.merged.iter().map(|(id, _)| *id).collect();
        // Before the survivor's update, whose answer then says it has a photo.
        carry_photo(&mut tx, survivor, &merged).await?;
        let Some(row) = update_live_contact(&mut tx, merge.book, survivor, Some(version), &merge.fields).await? else {
            return Err(why_not_updated(&mut tx, merge.book, survivor).await?);
        };
        point_at_survivor(&mut tx, merge.book, survivor, &merged).await?;
        carry_favorites(&mut tx, survivor, &merged).await?;
        let contact = contact(&row)?;
        write_audit(&mut tx, &self.changes, &audit).await?;
        // The record names the survivor; the merged ones leave the feed's readers too.
        record_entries(&mut tx, merge.book.domain_id(), &merged).await?;
        tx.commit().await?;
        Ok(contact)
    }
}

/// The next `limit` keys after `after` that two or more live contacts share, with how many.
async fn shared_keys(conn: &mut Conn, book: Book, after: Option<&str>, limit: u32) -> Result<Vec<(String, i64)>> {
    let mut qb = Builder::new("SELECT k, count(DISTINCT id) AS size FROM ");
    if !push_keyed(&mut qb, book, Wanted::After(after)) {
        return Ok(Vec::new());
    }
    qb.push(" GROUP BY k HAVING count(DISTINCT id) > 1 ORDER BY k LIMIT ").push_bind(i64::from(limit));
    let rows = qb.build().fetch_all(&mut *conn).await?;
    rows.iter().map(|row| Ok((row.try_get("k")?, row.try_get("size")?))).collect()
}

/// `(SELECT k, id FROM contacts WHERE … UNION ALL …) AS keyed`: every live contact of the
/// book once per key it has, among the keys wanted. False when no key can be wanted.
fn push_keyed(qb: &mut Builder, book: Book, wanted: Wanted) -> bool {
    let mut first = true;
    for Key { prefix, from, column, has_key } in KEYS {
        let condition = match &wanted {
            Wanted::After(None) => Some(Condition::None),
            Wanted::After(Some(after)) => after_condition(prefix, after),
            Wanted::Only(keys) => only_condition(prefix, keys),
        };
        let Some(condition) = condition else { continue };
        qb.push(if first { "(" } else { " UNION ALL " });
        first = false;
        qb.push(format_args!("SELECT ('{prefix}' || {column}){BYTE_ORDER} AS k, contacts.id AS id FROM {from} WHERE "));
        push_book(qb, book);
        // Groups are nobody's duplicates: they hold no person's numbers or names.
        qb.push(format_args!(
            " AND contacts.deleted_at IS NULL AND contacts.kind <> 'group' AND {has_key} AND {column} <> ''"
        ));
        push_visible(qb, "contacts", None);
        match condition {
            Condition::None => {}
            Condition::After(rest) => {
                qb.push(format_args!(" AND {column}{BYTE_ORDER} > ")).push_bind(rest);
            }
            Condition::In(values) => {
                qb.push(format_args!(" AND {column} IN ("));
                let mut list = qb.separated(", ");
                for value in values {
                    list.push_bind(value);
                }
                list.push_unseparated(")");
            }
        }
    }
    if !first {
        qb.push(") AS keyed");
    }
    !first
}

enum Condition {
    None,
    After(String),
    In(Vec<String>),
}

/// What the keys of `prefix` must be to come after `after`; `None` when none can.
fn after_condition(prefix: &str, after: &str) -> Option<Condition> {
    match after.strip_prefix(prefix) {
        Some(rest) => Some(Condition::After(rest.to_string())),
        None if prefix > after => Some(Condition::None),
        None => None,
    }
}

fn only_condition(prefix: &str, keys: &[String]) -> Option<Condition> {
    let values: Vec<String> = keys.iter().filter_map(|key| key.strip_prefix(prefix)).map(str::to_string).collect();
    (!values.is_empty()).then_some(Condition::In(values))
}

/// The groups of some shared keys, less the contacts marked not duplicates of all the others.
async fn groups_of(conn: &mut Conn, book: Book, keys: Vec<(String, i64)>) -> Result<Vec<DuplicateGroup>> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let names: Vec<String> = keys.iter().map(|(key, _)| key.clone()).collect();
    let members = members_of(conn, book, &names).await?;
    let ids: Vec<Uuid> = members.values().flatten().copied().collect::<BTreeSet<_>>().into_iter().collect();
    let contacts = contacts_by_id(conn, book, &ids).await?;
    let apart = not_duplicate_pairs(conn, book, &ids).await?;
    let mut groups = Vec::new();
    for (key, size) in keys {
        let ids = members.get(&key).map(Vec::as_slice).unwrap_or_default();
        let kept: Vec<Contact> = ids
            .iter()
            .filter(|id| ids.iter().any(|other| other != *id && !apart.contains(&ordered(**id, *other))))
            .filter_map(|id| contacts.get(id).cloned())
            .collect();
        if kept.len() > 1 {
            groups.push(DuplicateGroup { key, size, contacts: kept });
        }
    }
    Ok(groups)
}

/// The first [`MAX_GROUP_MEMBERS`] contacts (by id, so oldest first) of each key.
async fn members_of(conn: &mut Conn, book: Book, keys: &[String]) -> Result<BTreeMap<String, Vec<Uuid>>> {
    let mut qb = Builder::new("SELECT DISTINCT k, id FROM ");
    push_keyed(&mut qb, book, Wanted::Only(keys));
    qb.push(" ORDER BY k, id");
    let mut members: BTreeMap<String, Vec<Uuid>> = BTreeMap::new();
    for row in qb.build().fetch_all(&mut *conn).await? {
        let ids = members.entry(row.try_get("k")?).or_default();
        if ids.len() < MAX_GROUP_MEMBERS {
            ids.push(row.try_get("id")?);
        }
    }
    Ok(members)
}

async fn contacts_by_id(conn: &mut Conn, book: Book, ids: &[Uuid]) -> Result<HashMap<Uuid, Contact>> {
    let mut qb = Builder::new(concat!("SELECT ", contact_columns!(), " FROM contacts WHERE "));
    push_book(&mut qb, book);
    qb.push(" AND contacts.id IN (");
    push_ids(&mut qb, ids);
    let rows = qb.build().fetch_all(&mut *conn).await?;
    rows.iter().map(|row| contact(row).map(|contact| (contact.id, contact))).collect()
}

async fn not_duplicate_pairs(conn: &mut Conn, book: Book, ids: &[Uuid]) -> Result<HashSet<(Uuid, Uuid)>> {
    let mut qb = Builder::new("SELECT id_a, id_b FROM not_duplicates WHERE domain_id = ");
    qb.push_bind(book.domain_id()).push(" AND id_a IN (");
    push_ids(&mut qb, ids);
    qb.push(" AND id_b IN (");
    push_ids(&mut qb, ids);
    let pairs: Vec<(Uuid, Uuid)> = qb.build_query_as().fetch_all(&mut *conn).await?;
    Ok(pairs.into_iter().collect())
}

fn ordered(a: Uuid, b: Uuid) -> (Uuid, Uuid) {
    if a < b { (a, b) } else { (b, a) }
}

/// Leaves out a group whose contacts are those of a group before it (the same two
/// people share their email and their number, say).
fn dedup_groups(groups: &mut Vec<DuplicateGroup>) {
    let mut seen = HashSet::new();
    groups.retain(|group| seen.insert(group.contacts.iter().map(|c| c.id).collect::<BTreeSet<_>>()));
}

/// Records where merged ids went, also for the ids merged into them before.
async fn point_at_survivor(tx: &mut Tx, book: Book, survivor: Uuid, merged: &[Uuid]) -> Result<()> {
    if merged.is_empty() {
        return Ok(());
    }
    let mut qb = Builder::new("UPDATE merged_contacts SET survivor_id = ");
    qb.push_bind(survivor).push(" WHERE domain_id = ").push_bind(book.domain_id()).push(" AND survivor_id IN (");
    push_ids(&mut qb, merged);
    qb.build().execute(&mut **tx).await?;
    let mut qb = Builder::new("INSERT INTO merged_contacts (id, survivor_id, domain_id, owner_user_id, merged_at) ");
    let at = now();
    qb.push_values(merged, |mut row, id| {
        row.push_bind(*id).push_bind(survivor).push_bind(book.domain_id()).push_bind(book.owner_id()).push_bind(at);
    });
    // A contact merged, restored from a backup copy and merged again has a row already.
    qb.push(" ON CONFLICT (id) DO UPDATE SET survivor_id = excluded.survivor_id, merged_at = excluded.merged_at");
    qb.build().execute(&mut **tx).await?;
    Ok(())
}

/// Stars the survivor for everyone who starred a merged contact. Their old stars stay,
/// so restoring a merged contact brings its stars back with it.
async fn carry_favorites(tx: &mut Tx, survivor: Uuid, merged: &[Uuid]) -> Result<()> {
    if merged.is_empty() {
        return Ok(());
    }
    let mut qb = Builder::new("INSERT INTO favorites (user_id, entry_id) SELECT user_id, ");
    qb.push_bind(survivor).push(" FROM favorites WHERE entry_id IN (");
    push_ids(&mut qb, merged);
    qb.push(" ON CONFLICT DO NOTHING");
    qb.build().execute(&mut **tx).await?;
    Ok(())
}

/// The survivors of those of `ids` that were merged away in `book`.
pub(super) async fn survivors(conn: &mut Conn, book: Book, ids: &[Uuid]) -> Result<HashMap<Uuid, Uuid>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut qb = Builder::new("SELECT id, survivor_id FROM merged_contacts WHERE domain_id = ");
    qb.push_bind(book.domain_id());
    match book.owner_id() {
        None => qb.push(" AND owner_user_id IS NULL"),
        Some(owner) => qb.push(" AND owner_user_id = ").push_bind(owner),
    };
    qb.push(" AND id IN (");
    push_ids(&mut qb, ids);
    let pairs: Vec<(Uuid, Uuid)> = qb.build_query_as().fetch_all(&mut *conn).await?;
    Ok(pairs.into_iter().collect())
}
