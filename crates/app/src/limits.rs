//! Limits one user's use of what costs every user something: open event streams,
//! presence updates (each one an event every subscriber of the domain hears) and chat
//! messages. Kept in memory, per server.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use uuid::Uuid;

use crate::error::{AppError, Result};

/// How often a user may do something: `burst` times at once, then once more every
/// `refill_every`. Beyond it the request is refused (429) with the wait in `Retry-After`.
#[derive(Debug, Clone, Copy)]
pub struct RateLimit {
    pub burst: u32,
    pub refill_every: Duration,
}

/// Open event streams per user.
#[derive(Default)]
pub(crate) struct StreamCounts {
    open: Arc<Mutex<HashMap<Uuid, usize>>>,
}

/// One open stream of a user; counted until dropped.
#[derive(Debug)]
pub(crate) struct StreamSlot {
    user_id: Uuid,
    open: Arc<Mutex<HashMap<Uuid, usize>>>,
}

impl StreamCounts {
    /// A place for one more stream of `user_id`, unless they have `limit` open.
    pub(crate) fn open(&self, user_id: Uuid, limit: usize) -> Result<StreamSlot> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let count = open.entry(user_id).or_insert(0);
        if *count >= limit {
            return Err(AppError::TooManyRequests {
                message: format!("you have {limit} event streams open already; close one (another tab or app)"),
                retry_after: Duration::from_secs(5),
            });
        }
        *count += 1;
        Ok(StreamSlot { user_id, open: self.open.clone() })
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.user_id) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.user_id);
            }
        }
    }
}

/// A token bucket per user, for one kind of request.
#[derive(Default)]
pub(crate) struct RateLimiter {
    buckets: Mutex<HashMap<Uuid, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    /// Updates left at `at`.
    tokens: f64,
    at: Instant,
}

impl RateLimiter {
    /// Takes one request of `user_id`'s allowance, or says (with `refusal`) how long
    /// until there is one.
    pub(crate) fn take(&self, user_id: Uuid, limit: RateLimit, refusal: &str) -> Result<()> {
        self.take_at(user_id, limit, refusal, Instant::now())
    }

    fn take_at(&self, user_id: Uuid, limit: RateLimit, refusal: &str, now: Instant) -> Result<()> {
        let burst = f64::from(limit.burst.max(1));
        let per_second = 1.0 / limit.refill_every.as_secs_f64().max(1e-3);
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        if buckets.len() >= 10_000 {
            // Users whose allowance is full again need no bucket.
            buckets.retain(|_, b| b.tokens + now.duration_since(b.at).as_secs_f64() * per_second < burst);
        }
        let bucket = buckets.entry(user_id).or_insert(Bucket { tokens: burst, at: now });
        let tokens = (bucket.tokens + now.duration_since(bucket.at).as_secs_f64() * per_second).min(burst);
        if tokens < 1.0 {
            let wait = Duration::from_secs_f64((1.0 - tokens) / per_second);
            return Err(AppError::TooManyRequests { message: refusal.to_string(), retry_after: wait });
        }
        *bucket = Bucket { tokens: tokens - 1.0, at: now };
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_counted_per_user_until_closed() {
        let counts = StreamCounts::default();
        let (ann, bob) = (Uuid::now_v7(), Uuid::now_v7());
        let first = counts.open(ann, 2).unwrap();
        let _second = counts.open(ann, 2).unwrap();
        assert!(matches!(counts.open(ann, 2), Err(AppError::TooManyRequests { .. })));
        assert!(counts.open(bob, 2).is_ok(), "another user is not affected");
        drop(first);
        assert!(counts.open(ann, 2).is_ok());
    }

    #[test]
    fn presence_updates_refill_over_time() {
        let limiter = RateLimiter::default();
        let limit = RateLimit { burst: 3, refill_every: Duration::from_secs(2) };
        let (ann, bob) = (Uuid::now_v7(), Uuid::now_v7());
        let start = Instant::now();
        for _ in 0..3 {
            limiter.take_at(ann, limit, "slow down", start).unwrap();
        }
        match limiter.take_at(ann, limit, "slow down", start) {
            Err(AppError::TooManyRequests { retry_after, .. }) => assert_eq!(retry_after, Duration::from_secs(2)),
            other => panic!("{other:?}"),
        }
        assert!(limiter.take_at(bob, limit, "slow down", start).is_ok(), "another user is not affected");
        let later = start + Duration::from_secs(3);
        assert!(limiter.take_at(ann, limit, "slow down", later).is_ok(), "one more after a refill");
        assert!(limiter.take_at(ann, limit, "slow down", later).is_err(), "and only one");
    }
}
