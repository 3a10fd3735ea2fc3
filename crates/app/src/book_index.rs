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
//! contacts. It is kept small, as it holds every entry of the books read (about 460
//! bytes an entry, measured by the benchmark): see [`row`] and [`trigrams`]. Builds of
//! one domain are spaced so that they take at most a fifth of the time; copies of the
//! least recently used domains are dropped past a total number of entries
//! (`AppConfig::book_index_max_entries`), and a book larger than that total is not kept
//! at all.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use switchboard_core::model::{DirectoryEntry, Domain, EntryKind, User};
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

mod row;
mod trigrams;

pub(crate) use row::Row;
use trigrams::Trigrams;

/// One domain's book as of change `seq`.
pub(crate) struct BookIndex {
    pub seq: i64,
    /// Listed coworkers and shared contacts, ordered by sort key then id.
    rows: Vec<Row>,
    /// The positions in `rows` of the entries whose search text holds each trigram.
    trigrams: Trigrams,
    /// The shared contacts' numbers by look-up key (see [`LookupKeys`]).
    by_lookup_key: LookupKeys,
    /// Positions of coworkers by extension.
    by_extension: HashMap<Box<str>, u32>,
    pub blocked: Vec<BlockedNumber>,
    /// Resolved settings, by user (`None`: the domain's).
    settings: Mutex<HashMap<Option<Uuid>, Arc<Effective>>>,
    /// Each reader's own contacts, ordered like `rows`.
    personal: Mutex<HashMap<Uuid, Arc<Vec<Row>>>>,
}

fn by_name(a: &Row, b: &Row) -> std::cmp::Ordering {
    (a.sort_key(), a.id()).cmp(&(b.sort_key(), b.id()))
}

/// Rows as a copy keeps them, ordered by sort key then id.
fn sorted_rows(rows: Vec<BookRow>) -> Vec<Row> {
    let mut rows: Vec<Row> = rows.into_iter().map(Row::from).collect();
    // Collected in place, the rows would keep the larger allocation of the `BookRow`s.
    rows.shrink_to_fit();
    rows.sort_by(by_name);
    rows
}

impl BookIndex {
    pub fn new(seq: i64, rows: Vec<BookRow>, blocked: Vec<BlockedNumber>) -> BookIndex {
        let rows = sorted_rows(rows);
        let trigrams = Trigrams::new(rows.iter().map(Row::search_text));
        let mut numbers = Vec::new();
        let mut by_extension = HashMap::new();
        for (position, row) in rows.iter().enumerate() {
            let position = position as u32;
            match row.extension() {
                Some(extension) => {
                    by_extension.insert(extension.into(), position);
                }
                None => {
                    let listed = row.numbers().map(|number| number.phone_number().lookup_key());
                    let more = row.more_numbers().iter().map(|phone| phone.number.lookup_key());
                    numbers.extend(listed.chain(more).map(|key| (key_code(&key), position)));
                }
            }
        }
        let by_lookup_key = LookupKeys::new(numbers);
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
    pub fn page(&self, personal: &[Row], query: &DirectoryQuery) -> Option<Page<DirectoryEntry>> {
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
        let wanted = |row: &&Row| in_group(row, query, &kinds) && term.is_none_or(|t| row.search_text().contains(t));
        let after = query.list.after.as_ref().map(|cursor| (cursor.key.clone().unwrap_or_default(), cursor.id));
        let past = |row: &Row| match &after {
            None => true,
            Some((key, id)) => {
                let order = (row.sort_key(), row.id()).cmp(&(key.as_str(), *id));
                if descending { order.is_lt() } else { order.is_gt() }
            }
        };
        let limit = query.list.limit.get() as usize;
        let domain_wide: Box<dyn Iterator<Item = &Row>> = self.candidates(term, descending, &past);
        let start = personal.partition_point(|row| !past(row) ^ descending);
        let own: Box<dyn Iterator<Item = &Row>> =
            if descending { Box::new(personal[..start].iter().rev()) } else { Box::new(personal[start..].iter()) };
        let merged = merge(domain_wide.filter(&wanted), own.filter(&wanted), descending);
        let rows: Vec<&Row> = merged.take(limit + 1).collect();
        let next_cursor = (rows.len() > limit).then(|| {
            let last = rows[limit - 1];
            let key = Some(last.sort_key().to_string());
            Cursor { sort: query.list.sort, key, micros: None, id: last.id() }.encode()
        });
        Some(Page { items: rows.into_iter().take(limit).map(Row::entry).collect(), next_cursor })
    }

    /// The domain-wide rows that may hold `term`, from where the page starts, in order:
    /// the entries of all the term's trigrams, or all entries for a term too short to
    /// have one.
    fn candidates<'a>(
        &'a self,
        term: Option<&str>,
        descending: bool,
        past: &dyn Fn(&Row) -> bool,
    ) -> Box<dyn Iterator<Item = &'a Row> + 'a> {
        // Rows before the start are those not past the cursor, in either direction.
        let Some(term) = term.filter(|t| t.len() >= 3) else {
            let start = self.rows.partition_point(|row| !past(row) ^ descending);
            return if descending {
                Box::new(self.rows[..start].iter().rev())
            } else {
                Box::new(self.rows[start..].iter())
            };
        };
        let mut list = self.trigrams.candidates(term);
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

    /// Shared contacts with a number of this look-up key (and perhaps a few more, which
    /// the caller's match rules leave out: see [`key_code`]).
    pub fn shared_with_key(&self, key: &str) -> impl Iterator<Item = &Row> {
        self.by_lookup_key.positions(key_code(key)).iter().map(|&p| &self.rows[p as usize])
    }

    /// The listed coworker with this extension.
    pub fn coworker_row(&self, extension: &str) -> Option<&Row> {
        self.by_extension.get(extension).map(|&p| &self.rows[p as usize])
    }
}

/// A caller-ID look-up key (at most seven digits) as a number: the digits after a
/// leading 1, so that `0100` and `100` differ. Anything else (which
/// `PhoneNumber::lookup_key` never gives) is hashed into the upper half; two keys may
/// then share a code, which only adds candidates that the match rules, applied to every
/// candidate as the database's candidates are, leave out.
fn key_code(key: &str) -> u32 {
    if key.len() <= 9 && key.bytes().all(|b| b.is_ascii_digit()) {
        return key.bytes().fold(1, |code, digit| code * 10 + u32::from(digit - b'0'));
    }
    let hash = key.bytes().fold(0x811c_9dc5_u32, |hash, byte| (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193));
    hash | 1 << 31
}

/// Positions of entries by the look-up key code of each of their numbers: two parallel
/// arrays sorted by code then position, each entry once per code (eight bytes a
/// number, where a map of lists took a hundred).
struct LookupKeys {
    codes: Box<[u32]>,
    positions: Box<[u32]>,
}

impl LookupKeys {
    fn new(mut numbers: Vec<(u32, u32)>) -> LookupKeys {
        numbers.sort_unstable();
        numbers.dedup();
        let (codes, positions): (Vec<u32>, Vec<u32>) = numbers.into_iter().unzip();
        LookupKeys { codes: codes.into(), positions: positions.into() }
    }

    fn positions(&self, code: u32) -> &[u32] {
        let start = self.codes.partition_point(|&c| c < code);
        let end = start + self.codes[start..].partition_point(|&c| c == code);
        &self.positions[start..end]
    }
}

/// Whether a row belongs to the query's group, as the viewer sees it: by the rule of
/// [`DirectoryQuery::kinds`] (given as `kinds`) and [`DirectoryQuery::has_coworker`].
fn in_group(row: &Row, query: &DirectoryQuery, kinds: &[EntryKind]) -> bool {
    kinds.contains(&row.kind())
        && (row.kind() != EntryKind::Coworker
            || query.has_coworker(row.id(), row.department(), row.site()).unwrap_or(false))
}

/// Two ordered runs of rows as one.
fn merge<'a>(
    a: impl Iterator<Item = &'a Row>,
    b: impl Iterator<Item = &'a Row>,
    descending: bool,
) -> impl Iterator<Item = &'a Row> {
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
    ) -> Result<Arc<Vec<Row>>> {
        if let Some(rows) = index.personal.lock().expect("never poisoned").get(&user_id) {
            return Ok(rows.clone());
        }
        let rows = Arc::new(sorted_rows(self.store.book_rows(domain_id, BookPart::Personal(user_id)).await?));
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
    fn key_codes_tell_keys_apart() {
        let keys = ["", "0", "00", "100", "0100", "5550100", "9999999", "999999999", "1234567890", "12a", "x"];
        let codes: std::collections::HashSet<u32> = keys.iter().map(|key| key_code(key)).collect();
        assert_eq!(codes.len(), keys.len());
        assert_eq!(key_code("5550100"), 15_550_100);
        assert!(key_code("12a") >= 1 << 31 && key_code("999999999") < 1 << 31);
    }

    #[test]
    fn look_up_keys_find_every_entry_with_the_code_once() {
        let keys = LookupKeys::new(vec![(7, 3), (5, 1), (7, 0), (7, 3), (9, 2), (5, 4)]);
        assert_eq!(keys.positions(7), [0, 3]);
        assert_eq!(keys.positions(5), [1, 4]);
        assert_eq!(keys.positions(9), [2]);
        assert!(keys.positions(6).is_empty() && keys.positions(10).is_empty() && keys.positions(0).is_empty());
    }
}
