//! Recently read change stamps, so that a desk phone's search or a caller-ID look-up
//! need not ask the database whether its domain changed.
//!
//! Why: a directory server answers a search in a fraction of a millisecond, and asking the
//! database for the domain's change counter first (one round trip to SQLite's worker
//! thread or to PostgreSQL) cost about 40% of an LDAP search.
//!
//! The rules, which keep every change made through this store visible at once:
//! - a stamp read from the database is kept with the time its read started, and is
//!   answered again for at most [`FRESH_FOR`] after that; older, it is read again;
//! - every writing transaction that bumps a domain's counter raises that domain's floor
//!   to the new value *before* it commits, and a kept stamp below its domain's floor is
//!   never answered: a read that could have missed the change goes to the database.
//!
//! So what this process writes shows on the very next read, and what another process or
//! server writes (a CLI import, a second server on the same PostgreSQL) shows within
//! [`FRESH_FOR`] — at once on a server that has received the change's event (PostgreSQL's
//! listener forgets the domain's kept stamp before it hands the event on, so a page
//! reloaded on a live update reads what changed). A transaction that raised a floor and then failed only costs reads
//! until the domain's next change.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use uuid::Uuid;

use crate::ChangeStamp;

/// How long a stamp read from the database is answered again.
pub const FRESH_FOR: Duration = Duration::from_millis(100);

/// The kept stamps and floors of one store's domains. Cloning shares them.
#[derive(Clone, Default)]
pub(crate) struct ChangeCache {
    domains: Arc<Mutex<HashMap<Uuid, Known>>>,
}

#[derive(Default)]
struct Known {
    /// The newest stamp read, and when its read started.
    read: Option<(ChangeStamp, Instant)>,
    /// The highest counter a transaction of this store has set (committed or not).
    floor: i64,
}

impl ChangeCache {
    fn domains(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, Known>> {
        // Every update leaves the map consistent, so a poisoned lock still holds good data.
        self.domains.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The domain's stamp if one read since `now - FRESH_FOR` holds every change this
    /// store has made.
    pub fn recent(&self, domain_id: Uuid, now: Instant) -> Option<ChangeStamp> {
        let domains = self.domains();
        let known = domains.get(&domain_id)?;
        let (stamp, read_at) = known.read?;
        (stamp.seq >= known.floor && now.saturating_duration_since(read_at) < FRESH_FOR).then_some(stamp)
    }

    /// Keeps a stamp read from the database by a read that started at `read_at`.
    pub fn read(&self, domain_id: Uuid, stamp: ChangeStamp, read_at: Instant) {
        let mut domains = self.domains();
        let known = domains.entry(domain_id).or_default();
        // Reads may finish out of order: a counter never goes back, so the higher one is newer.
        let newer = match known.read {
            None => true,
            Some((kept, kept_at)) => stamp.seq > kept.seq || (stamp.seq == kept.seq && read_at > kept_at),
        };
        if newer {
            known.read = Some((stamp, read_at));
        }
    }

    /// Another server said the domain changed (an event): its kept stamp is read again.
    pub fn forget(&self, domain_id: Uuid) {
        if let Some(known) = self.domains().get_mut(&domain_id) {
            known.read = None;
        }
    }

    /// Events may have been missed: every kept stamp is read again.
    pub fn forget_all(&self) {
        self.domains().values_mut().for_each(|known| known.read = None);
    }

    /// A transaction (not yet committed) has set the domain's counter to `seq`.
    pub fn changing(&self, domain_id: Uuid, seq: i64) {
        let mut domains = self.domains();
        let known = domains.entry(domain_id).or_default();
        known.floor = known.floor.max(seq);
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;

    fn stamp(seq: i64) -> ChangeStamp {
        ChangeStamp { seq, at: Utc::now() }
    }

    #[test]
    fn a_read_stamp_is_answered_while_fresh() {
        let (cache, domain, start) = (ChangeCache::default(), Uuid::now_v7(), Instant::now());
        assert_eq!(cache.recent(domain, start), None);
        cache.read(domain, stamp(3), start);
        assert_eq!(cache.recent(domain, start + FRESH_FOR / 2).map(|s| s.seq), Some(3));
        assert_eq!(cache.recent(domain, start + FRESH_FOR), None, "too old: read again");
        assert_eq!(cache.recent(Uuid::now_v7(), start), None, "another domain");
    }

    #[test]
    fn a_change_of_this_store_hides_older_stamps_until_one_holds_it() {
        let (cache, domain, start) = (ChangeCache::default(), Uuid::now_v7(), Instant::now());
        cache.read(domain, stamp(3), start);
        cache.changing(domain, 4);
        assert_eq!(cache.recent(domain, start), None);
        // A read that started before the commit still sees 3: it is kept, not answered.
        cache.read(domain, stamp(3), start + Duration::from_millis(1));
        assert_eq!(cache.recent(domain, start), None);
        cache.read(domain, stamp(4), start + Duration::from_millis(2));
        assert_eq!(cache.recent(domain, start).map(|s| s.seq), Some(4));
    }

    #[test]
    fn the_newest_counter_wins_whatever_order_reads_end_in() {
        let (cache, domain, start) = (ChangeCache::default(), Uuid::now_v7(), Instant::now());
        cache.read(domain, stamp(5), start + Duration::from_millis(2));
        cache.read(domain, stamp(4), start + Duration::from_millis(5));
        assert_eq!(cache.recent(domain, start).map(|s| s.seq), Some(5));
    }

    #[test]
    fn a_forgotten_stamp_is_read_again() {
        let (cache, start) = (ChangeCache::default(), Instant::now());
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        cache.read(a, stamp(3), start);
        cache.read(b, stamp(7), start);
        cache.forget(a);
        assert_eq!((cache.recent(a, start), cache.recent(b, start).map(|s| s.seq)), (None, Some(7)));
        cache.forget_all();
        assert_eq!(cache.recent(b, start), None);
        // The floor stays: a read older than this store's last change is still not answered.
        cache.changing(a, 9);
        cache.forget(a);
        cache.read(a, stamp(8), start);
        assert_eq!(cache.recent(a, start), None);
    }
}
