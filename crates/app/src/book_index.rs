//! An in-memory copy of each read domain's book, so that desk phones' searches, caller-ID
//! look-ups and users' directory pages cost no database work beyond checking the copy is
//! current (and, for a user's page, reading their stars and coworkers' presence).
//!
//! Why: phones search on every key press, PBXes look up every incoming call and the
//! portal searches as one types; a search answered from the database costs several
//! milliseconds where a directory server answers from memory in a fraction of one. The copy is a pure accelerator and never
//! stale: it is labelled with the domain's change counter ([`ChangeStamp`], bumped by
//! every change of contacts, users, favorites, settings and block lists), a request
//! uses it only when the counter it has just read is that label, and otherwise is
//! answered from the database while a new copy is built in the background.
//!
//! What it holds: the listed coworkers and the shared contacts with the very sort keys
//! and search texts the store orders and searches by (so the same query gives the same
//! page either way; the conformance and app tests compare them), a trigram index over
//! those search texts, the numbers by caller-ID look-up key, the block list, and —
//! filled on first use — the resolved settings of each reader and each reader's own
//! contacts. Builds of one domain are spaced so that they take at most a fifth of the
//! time; copies of the least recently used domains are dropped past a total number of
//! entries (`AppConfig::book_index_max_entries`), and a book larger than that total is
//! not kept at all.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use switchboard_core::PhoneNumber;
use switchboard_core::model::{DirectoryEntry, Domain, EntryKind, NumberView, User};
use switchboard_core::paging::{Cursor, Page, Sort};
use switchboard_core::settings::Effective;
use switchboard_store::{BlockedNumber, BookPart, BookRow, DirectoryQuery, Group};
use uuid::Uuid;

use crate::error::{AppError, Result};
use crate::{App, PhonebookReader};

/// Builds of one domain take at most `1 / SPACING` of the time.
const SPACING: u32 = 5;
/// After a failed build, wait this long before the next.
const RETRY_AFTER: Duration = Duration::from_secs(5);
/// After building a book larger than every copy together may be, wait this long before
/// building it again (it may have shrunk, or the bound been raised).
const TOO_BIG_RETRY_AFTER: Duration = Duration::from_secs(600);

/// One domain's book as of change `seq`.
pub(crate) struct BookIndex {
    pub seq: i64,
    /// Listed coworkers and shared contacts, ordered by sort key then id.
    rows: Vec<BookRow>,
    /// Positions in `rows` of the entries whose search text holds each byte trigram.
    trigrams: HashMap<[u8; 3], Vec<u32>>,
    /// Positions of shared contacts by the look-up key of each of their numbers.
    by_lookup_key: HashMap<String, Vec<u32>>,
    /// Positions of coworkers by extension.
    by_extension: HashMap<String, u32>,
    pub blocked: Vec<BlockedNumber>,
    /// Resolved settings, by user (`None`: the domain's).
    settings: Mutex<HashMap<Option<Uuid>, Arc<Effective>>>,
    /// Each reader's own contacts, ordered like `rows`.
    personal: Mutex<HashMap<Uuid, Arc<Vec<BookRow>>>>,
}

fn by_name(a: &BookRow, b: &BookRow) -> std::cmp::Ordering {
    (a.sort_key.as_str(), a.entry.id).cmp(&(b.sort_key.as_str(), b.entry.id))
}

fn trigrams_of(text: &str) -> impl Iterator<Item = [u8; 3]> + '_ {
    text.as_bytes().windows(3).map(|w| [w[0], w[1], w[2]])
}

impl BookIndex {
    pub fn new(seq: i64, mut rows: Vec<BookRow>, blocked: Vec<BlockedNumber>) -> BookIndex {
        rows.sort_by(by_name);
        let mut trigrams: HashMap<[u8; 3], Vec<u32>> = HashMap::new();
        let mut by_lookup_key: HashMap<String, Vec<u32>> = HashMap::new();
        let mut by_extension = HashMap::new();
        for (position, row) in rows.iter().enumerate() {
            let position = position as u32;
            for trigram in trigrams_of(&row.search_text) {
                let list = trigrams.entry(trigram).or_default();
                // Each entry once per trigram: positions only grow, so a repeat is the last one.
                if list.last() != Some(&position) {
                    list.push(position);
                }
            }
            match &row.entry.extension {
                Some(extension) => {
                    by_extension.insert(extension.clone(), position);
                }
                None => {
                    let listed = row.entry.numbers.iter().map(|number| phone_number(number).lookup_key());
                    let more = row.more_numbers.iter().map(|phone| phone.number.lookup_key());
                    for key in listed.chain(more) {
                        let list = by_lookup_key.entry(key).or_default();
                        if list.last() != Some(&position) {
                            list.push(position);
                        }
                    }
                }
            }
        }
        // Lists grew by doubling: give back what they will never use.
        trigrams.values_mut().for_each(Vec::shrink_to_fit);
        trigrams.shrink_to_fit();
        by_lookup_key.values_mut().for_each(Vec::shrink_to_fit);
        BookIndex {
            seq,
            rows,
            trigrams,
            by_lookup_key,
            by_extension,
            blocked,
            settings: Mutex::default(),
            personal: Mutex::default(),
        }
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// A page of the directory as [`switchboard_store::Store::directory`] reads it,
    /// with `personal` as the viewer's own contacts; `None` for what the copy does not
    /// answer (favorites, presence groups, sorting by change time). Entries carry no
    /// viewer's favorite or edit flags.
    pub fn page(&self, personal: &[BookRow], query: &DirectoryQuery) -> Option<Page<DirectoryEntry>> {
        let descending = match query.list.sort {
            Sort::Name => false,
            Sort::NameDesc => true,
            _ => return None,
        };
        if matches!(query.group, Group::Favorites | Group::Presence(_)) {
            return None;
        }
        let term = query.list.search.as_ref().map(|term| term.as_str());
        let kinds = query.kinds();
        let wanted = |row: &&BookRow| in_group(row, query, &kinds) && term.is_none_or(|t| row.search_text.contains(t));
        let after = query.list.after.as_ref().map(|cursor| (cursor.key.clone().unwrap_or_default(), cursor.id));
        let past = |row: &BookRow| match &after {
            None => true,
            Some((key, id)) => {
                let order = (row.sort_key.as_str(), row.entry.id).cmp(&(key.as_str(), *id));
                if descending { order.is_lt() } else { order.is_gt() }
            }
        };
        let limit = query.list.limit.get() as usize;
        let domain_wide: Box<dyn Iterator<Item = &BookRow>> = self.candidates(term, descending, &past);
        let start = personal.partition_point(|row| !past(row) ^ descending);
        let own: Box<dyn Iterator<Item = &BookRow>> =
            if descending { Box::new(personal[..start].iter().rev()) } else { Box::new(personal[start..].iter()) };
        let merged = merge(domain_wide.filter(&wanted), own.filter(&wanted), descending);
        let rows: Vec<&BookRow> = merged.take(limit + 1).collect();
        let next_cursor = (rows.len() > limit).then(|| {
            let last = rows[limit - 1];
            Cursor { sort: query.list.sort, key: Some(last.sort_key.clone()), micros: None, id: last.entry.id }.encode()
        });
        Some(Page { items: rows.into_iter().take(limit).map(|row| row.entry.clone()).collect(), next_cursor })
    }

    /// The domain-wide rows that may hold `term`, from where the page starts, in order:
    /// the entries of the term's rarest trigram, or all entries for a term too short to
    /// have one.
    fn candidates<'a>(
        &'a self,
        term: Option<&str>,
        descending: bool,
        past: &dyn Fn(&BookRow) -> bool,
    ) -> Box<dyn Iterator<Item = &'a BookRow> + 'a> {
        let positions: Option<Vec<u32>> = match term.filter(|t| t.len() >= 3) {
            None => None,
            Some(term) => match trigrams_of(term).map(|t| self.trigrams.get(&t)).collect::<Option<Vec<_>>>() {
                Some(lists) => Some(intersection(lists)),
                None => return Box::new(std::iter::empty()),
            },
        };
        // Rows before the start are those not past the cursor, in either direction.
        match positions {
            None => {
                let start = self.rows.partition_point(|row| !past(row) ^ descending);
                if descending { Box::new(self.rows[..start].iter().rev()) } else { Box::new(self.rows[start..].iter()) }
            }
            Some(mut list) => {
                let start = list.partition_point(|&p| !past(&self.rows[p as usize]) ^ descending);
                if descending {
                    list.truncate(start);
                    list.reverse();
                } else {
                    list.drain(..start);
                }
                let rows = &self.rows;
                Box::new(list.into_iter().map(move |p| &rows[p as usize]))
            }
        }
    }

    /// Shared contacts with a number of this look-up key.
    pub fn shared_with_key(&self, key: &str) -> impl Iterator<Item = &BookRow> {
        let positions = self.by_lookup_key.get(key).map(Vec::as_slice).unwrap_or_default();
        positions.iter().map(|&p| &self.rows[p as usize])
    }

    /// The listed coworker with this extension.
    pub fn coworker_row(&self, extension: &str) -> Option<&BookRow> {
        self.by_extension.get(extension).map(|&p| &self.rows[p as usize])
    }
}

/// A directory entry's number as the phone-number rules read it.
pub(crate) fn phone_number(number: &NumberView) -> PhoneNumber {
    PhoneNumber::stored(number.typed.clone(), number.e164.clone())
}

/// The positions in every one of these ascending lists, smallest lists first: what
/// holds all of a term's trigrams (a superset of what holds the term).
fn intersection(mut lists: Vec<&Vec<u32>>) -> Vec<u32> {
    lists.sort_by_key(|list| list.len());
    let Some((first, rest)) = lists.split_first() else { return Vec::new() };
    let mut common: Vec<u32> = first.to_vec();
    for list in rest {
        if common.is_empty() {
            break;
        }
        if common.len() * 16 < list.len() {
            common.retain(|p| list.binary_search(p).is_ok());
        } else {
            let mut others = list.iter().peekable();
            common.retain(|p| {
                while others.next_if(|other| *other < p).is_some() {}
                others.peek() == Some(&p)
            });
        }
    }
    common
}

/// Whether a row belongs to the query's group, as the viewer sees it: by the rule of
/// [`DirectoryQuery::kinds`] (given as `kinds`) and [`DirectoryQuery::has_coworker`].
fn in_group(row: &BookRow, query: &DirectoryQuery, kinds: &[EntryKind]) -> bool {
    let entry = &row.entry;
    kinds.contains(&entry.kind)
        && (entry.kind != EntryKind::Coworker
            || query.has_coworker(entry.id, &entry.department, &entry.site).unwrap_or(false))
}

/// Two ordered runs of rows as one.
fn merge<'a>(
    a: impl Iterator<Item = &'a BookRow>,
    b: impl Iterator<Item = &'a BookRow>,
    descending: bool,
) -> impl Iterator<Item = &'a BookRow> {
    let (mut a, mut b) = (a.peekable(), b.peekable());
    std::iter::from_fn(move || match (a.peek(), b.peek()) {
        (Some(x), Some(y)) => {
            let a_first = by_name(x, y).is_lt() != descending;
            if a_first { a.next() } else { b.next() }
        }
        (Some(_), None) => a.next(),
        (None, _) => b.next(),
    })
}

/// The copies of every domain's book, and which are being built.
#[derive(Default)]
pub(crate) struct BookIndexes {
    slots: Mutex<HashMap<Uuid, Slot>>,
    /// Pages and look-ups answered from a copy.
    answered: AtomicU64,
}

struct Slot {
    index: Option<Arc<BookIndex>>,
    building: bool,
    /// No build starts before this.
    not_before: Instant,
    last_used: Instant,
}

impl App {
    /// The domain's copy if it is as of change `seq`; else `None`, and a build starts
    /// unless one is running or the last one ended too recently.
    pub(crate) fn book_index(&self, domain_id: Uuid, seq: i64) -> Option<Arc<BookIndex>> {
        if !self.config().book_index {
            return None;
        }
        let now = Instant::now();
        let mut slots = self.book_indexes.slots.lock().expect("the book index lock is never poisoned");
        let slot =
            slots.entry(domain_id).or_insert(Slot { index: None, building: false, not_before: now, last_used: now });
        slot.last_used = now;
        if let Some(index) = slot.index.as_ref().filter(|index| index.seq == seq) {
            return Some(index.clone());
        }
        if !slot.building && now >= slot.not_before {
            slot.building = true;
            let app = self.clone();
            tokio::spawn(async move { app.build_book_index(domain_id).await });
        }
        None
    }

    /// How many pages and look-ups a copy has answered (rather than the database), for
    /// tests and benchmarks that must know which way they were read.
    pub fn book_index_answers(&self) -> u64 {
        self.book_indexes.answered.load(Ordering::Relaxed)
    }

    /// Counts one answer from a copy.
    pub(crate) fn answered_from_copy(&self) {
        self.book_indexes.answered.fetch_add(1, Ordering::Relaxed);
    }

    /// Waits until the reader's domain has a current copy (a build is started if needed);
    /// false when copies are turned off. For warming up, and for tests and benchmarks
    /// that must know which way a book is read.
    pub async fn prepare_book_index(&self, reader: &PhonebookReader) -> Result<bool> {
        if !self.config().book_index {
            return Ok(false);
        }
        let domain_id = reader.domain().id;
        let give_up = Instant::now() + Duration::from_secs(60);
        loop {
            let stamp = self.store.change_stamp(domain_id).await?.ok_or(AppError::NotFound)?;
            if self.book_index(domain_id, stamp.seq).is_some() {
                return Ok(true);
            }
            if Instant::now() > give_up {
                return Ok(false);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn build_book_index(&self, domain_id: Uuid) {
        let started = Instant::now();
        let built = self.read_book_index(domain_id).await;
        let took = started.elapsed();
        let max_entries = self.config().book_index_max_entries;
        let mut slots = self.book_indexes.slots.lock().expect("the book index lock is never poisoned");
        let Some(slot) = slots.get_mut(&domain_id) else { return };
        slot.building = false;
        match built {
            Ok(index) if index.len() > max_entries => {
                tracing::warn!(%domain_id, entries = index.len(), max_entries, "a book is larger than all copies may be: it is read from the database");
                slot.not_before = Instant::now() + TOO_BIG_RETRY_AFTER;
            }
            Ok(index) => {
                tracing::debug!(%domain_id, entries = index.len(), ?took, "built a phone book index");
                slot.index = Some(Arc::new(index));
                slot.not_before = Instant::now() + took * (SPACING - 1);
            }
            Err(error) => {
                tracing::warn!(%domain_id, %error, "could not build a phone book index");
                slot.not_before = Instant::now() + RETRY_AFTER;
            }
        }
        evict(&mut slots, max_entries);
    }

    async fn read_book_index(&self, domain_id: Uuid) -> Result<BookIndex, String> {
        let store = &self.store;
        // The stamp first: rows read after it are at least as new as it says.
        let stamp = store.change_stamp(domain_id).await.map_err(|e| e.to_string())?.ok_or("the domain is gone")?;
        let mut rows = store.book_rows(domain_id, BookPart::Coworkers).await.map_err(|e| e.to_string())?;
        rows.extend(store.book_rows(domain_id, BookPart::Shared).await.map_err(|e| e.to_string())?);
        let blocked = store.all_blocked_numbers(domain_id).await.map_err(|e| e.to_string())?;
        let index = tokio::task::spawn_blocking(move || BookIndex::new(stamp.seq, rows, blocked));
        index.await.map_err(|error| error.to_string())
    }

    /// The user's own contacts as of the copy, read on first use.
    pub(crate) async fn indexed_personal(
        &self,
        index: &BookIndex,
        domain_id: Uuid,
        user_id: Uuid,
    ) -> Result<Arc<Vec<BookRow>>> {
        if let Some(rows) = index.personal.lock().expect("never poisoned").get(&user_id) {
            return Ok(rows.clone());
        }
        let mut rows = self.store.book_rows(domain_id, BookPart::Personal(user_id)).await?;
        rows.sort_by(by_name);
        let rows = Arc::new(rows);
        index.personal.lock().expect("never poisoned").insert(user_id, rows.clone());
        Ok(rows)
    }

    /// Settings as resolved for `user` (or the domain), as of the copy, resolved on first use.
    pub(crate) async fn indexed_settings(
        &self,
        index: &BookIndex,
        domain: &Domain,
        user: Option<&User>,
    ) -> Result<Arc<Effective>> {
        let key = user.map(|user| user.id);
        if let Some(settings) = index.settings.lock().expect("never poisoned").get(&key) {
            return Ok(settings.clone());
        }
        let settings = Arc::new(match user {
            Some(user) => self.user_settings(domain, user).await?,
            None => self.domain_settings(domain).await?,
        });
        index.settings.lock().expect("never poisoned").insert(key, settings.clone());
        Ok(settings)
    }
}

/// Drops the least recently used copies while the total is over `max_entries`.
fn evict(slots: &mut HashMap<Uuid, Slot>, max_entries: usize) {
    let mut total: usize = slots.values().filter_map(|slot| slot.index.as_ref()).map(|index| index.len()).sum();
    while total > max_entries {
        let oldest = slots
            .iter()
            .filter(|(_, slot)| slot.index.is_some())
            .min_by_key(|(_, slot)| slot.last_used)
            .map(|(id, _)| *id);
        let Some(id) = oldest else { return };
        let dropped = slots.get_mut(&id).and_then(|slot| slot.index.take());
        total -= dropped.map_or(0, |index| index.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intersections_keep_what_every_list_holds() {
        let (a, b, c) = (vec![1, 3, 5, 7, 9], vec![0, 3, 4, 5, 9, 10], (0..200).collect::<Vec<u32>>());
        assert_eq!(intersection(vec![&a, &b, &c]), [3, 5, 9]);
        assert_eq!(intersection(vec![&c, &a]), a, "a long list is probed, not walked");
        assert_eq!(intersection(vec![&a, &vec![2, 4]]), Vec::<u32>::new());
        assert_eq!(intersection(vec![]), Vec::<u32>::new());
    }
}
