//! Finding the entries of a reader's book that match a filter, through the app's
//! indexed search (see [`crate::filter`]), reading no more than needed.

use std::collections::HashSet;

use ldap3_proto::proto::LdapFilter;
use switchboard_app::{App, AppError, PhonebookReader};
use uuid::Uuid;

use crate::book;
use crate::entry::{Entry, person_in};
use crate::filter::{Candidates, candidates, matches};

/// Bounds on the work one search may do.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    /// Stop after this many matching entries.
    pub wanted: usize,
    /// Give up after this much work: candidates read, and [`LOOKUP_COST`] for each look-up.
    pub max_examined: usize,
}

/// Matching entries, in the order found.
#[derive(Debug, Default)]
pub struct Found {
    pub entries: Vec<Entry>,
    /// More entries match than were wanted.
    pub more: bool,
    /// The candidate budget ran out before the book was read to the end.
    pub gave_up: bool,
}

/// The most a page read from the app holds.
const MAX_PAGE: usize = 500;

/// What one index look-up (one page read from the app, whatever it finds) costs in a
/// search's budget, in candidates: a round trip to the book costs about as much as
/// checking a hundred entries, and a filter of many terms that find nothing must not
/// make look-ups for free.
pub const LOOKUP_COST: usize = 100;

pub async fn find(app: &App, reader: &PhonebookReader, filter: &LdapFilter, bounds: Bounds) -> Result<Found, AppError> {
    let container = crate::dn::contacts_dn(reader.domain().name.as_str());
    let mut search = Search {
        app,
        reader,
        filter,
        bounds,
        container: &container,
        found: Found::default(),
        seen: HashSet::new(),
        examined: 0,
    };
    match candidates(filter) {
        Candidates::Nothing => {}
        Candidates::Everything => search.read(None).await?,
        Candidates::Terms(terms) => {
            for term in &terms {
                if search.done() {
                    break;
                }
                search.read(Some(term)).await?;
            }
        }
    }
    tracing::debug!(examined = search.examined, "an LDAP search's work");
    Ok(search.found)
}

struct Search<'a> {
    app: &'a App,
    reader: &'a PhonebookReader,
    filter: &'a LdapFilter,
    bounds: Bounds,
    /// The DN every entry of the reader's book sits under.
    container: &'a str,
    found: Found,
    /// Entries already checked (an OR of several terms may find one twice).
    seen: HashSet<Uuid>,
    examined: usize,
}

impl Search<'_> {
    fn done(&self) -> bool {
        self.found.more || self.found.gave_up
    }

    /// Reads the candidates of one lookup page by page until the search is done.
    async fn read(&mut self, term: Option<&str>) -> Result<(), AppError> {
        let mut cursor = None;
        while !self.done() {
            if !self.charge(LOOKUP_COST) {
                return Ok(());
            }
            // One more than wanted tells whether there are more.
            let size = (self.bounds.wanted + 1).clamp(50, MAX_PAGE);
            let page = book::page(self.app, self.reader, term, cursor, size as u32).await?;
            for source in &page.items {
                self.check(source.id, || person_in(self.container, source));
                if self.done() {
                    return Ok(());
                }
            }
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => return Ok(()),
            }
        }
        Ok(())
    }

    /// Takes `cost` from the budget; false (and the search gives up) when it is spent.
    fn charge(&mut self, cost: usize) -> bool {
        if self.examined.saturating_add(cost) > self.bounds.max_examined {
            self.found.gave_up = true;
            return false;
        }
        self.examined += cost;
        true
    }

    fn check(&mut self, id: Uuid, entry: impl FnOnce() -> Entry) {
        if !self.seen.insert(id) {
            return;
        }
        if !self.charge(1) {
            return;
        }
        let entry = entry();
        if matches(self.filter, &entry) {
            if self.found.entries.len() < self.bounds.wanted {
                self.found.entries.push(entry);
            } else {
                self.found.more = true;
            }
        }
    }
}
