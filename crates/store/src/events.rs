//! Publish/subscribe for change events. SQLite delivers them inside the process;
//! PostgreSQL sends them through `NOTIFY` so every server sharing the database
//! (the publishing one included) delivers them to its subscribers.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;
use switchboard_core::event::Event;
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::Result;

/// Events a subscriber may fall behind by before it is told it lagged.
const CAPACITY: usize = 1024;

/// The events part of a store: the app publishes after each change, interfaces subscribe.
#[async_trait]
pub trait EventBus: Send + Sync {
    /// Delivers `event` to every subscriber of every server on this database, once.
    async fn publish(&self, event: &Event) -> Result<()>;

    /// Every event published from now on, of every domain: deciding who may see
    /// which is the app's job. A receiver that lags gets `Lagged`; one that gets
    /// `Closed` missed events (PostgreSQL: the listening connection was lost and
    /// made again) and should subscribe again and reload what it shows.
    fn subscribe(&self) -> broadcast::Receiver<Event>;

    /// The events of one domain from now on, as [`EventBus::subscribe`] but through
    /// that domain's own channel: a burst in another domain cannot make it lag.
    fn subscribe_domain(&self, domain_id: Uuid) -> broadcast::Receiver<Event>;
}

/// The in-process side shared by both back-ends: a channel for every domain someone
/// listens to (made on the first subscription, dropped once nobody listens), and one
/// for the subscribers of every domain.
pub(crate) struct Hub {
    channels: Mutex<Channels>,
}

struct Channels {
    every_domain: broadcast::Sender<Event>,
    by_domain: HashMap<Uuid, broadcast::Sender<Event>>,
}

impl Channels {
    fn new() -> Channels {
        Channels { every_domain: broadcast::channel(CAPACITY).0, by_domain: HashMap::new() }
    }
}

impl Hub {
    pub(crate) fn new() -> Hub {
        Hub { channels: Mutex::new(Channels::new()) }
    }

    fn channels(&self) -> std::sync::MutexGuard<'_, Channels> {
        // Every change leaves the channels whole, so a poisoned lock still holds good ones.
        self.channels.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn send(&self, event: Event) {
        let mut channels = self.channels();
        // Nobody listening is not an error: the event simply concerns no one here.
        let _ = channels.every_domain.send(event.clone());
        let domain_id = event.domain_id;
        // An error means its last subscriber has gone.
        if let Some(domain) = channels.by_domain.get(&domain_id)
            && domain.send(event).is_err()
        {
            channels.by_domain.remove(&domain_id);
        }
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.channels().every_domain.subscribe()
    }

    pub(crate) fn subscribe_domain(&self, domain_id: Uuid) -> broadcast::Receiver<Event> {
        let mut channels = self.channels();
        // Channels of domains nobody listens to any more take no memory for long.
        channels.by_domain.retain(|_, sender| sender.receiver_count() > 0);
        channels.by_domain.entry(domain_id).or_insert_with(|| broadcast::channel(CAPACITY).0).subscribe()
    }

    /// Closes every current subscription: they missed events and must start over.
    pub(crate) fn restart(&self) {
        *self.channels() = Channels::new();
    }

    #[cfg(test)]
    fn domain_channels(&self) -> usize {
        self.channels().by_domain.len()
    }
}

#[cfg(test)]
mod tests {
    use switchboard_core::event::EventKind;
    use tokio::sync::broadcast::error::TryRecvError;

    use super::*;

    #[test]
    fn a_restart_closes_old_subscriptions_and_new_ones_work() {
        let hub = Hub::new();
        let mut old = hub.subscribe();
        let event = Event { domain_id: Uuid::now_v7(), kind: EventKind::SettingsChanged };
        hub.send(event.clone());
        hub.restart();
        hub.send(event.clone());
        assert_eq!(old.try_recv(), Ok(event.clone()), "what was sent before the restart still arrives");
        assert_eq!(old.try_recv(), Err(TryRecvError::Closed));
        let mut new = hub.subscribe();
        hub.send(event.clone());
        assert_eq!(new.try_recv(), Ok(event));
    }

    #[test]
    fn each_domain_has_its_own_channel_while_someone_listens() {
        let hub = Hub::new();
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let (mut of_a, mut of_b, mut every) = (hub.subscribe_domain(a), hub.subscribe_domain(b), hub.subscribe());
        let event = |domain_id| Event { domain_id, kind: EventKind::SettingsChanged };
        for _ in 0..CAPACITY + 1 {
            hub.send(event(a));
        }
        hub.send(event(b));
        assert_eq!(of_b.try_recv(), Ok(event(b)), "a burst in domain a does not reach domain b's channel");
        assert!(matches!(of_a.try_recv(), Err(TryRecvError::Lagged(_))));
        assert!(matches!(every.try_recv(), Err(TryRecvError::Lagged(_))));
        drop(of_a);
        hub.send(event(a));
        assert_eq!(hub.domain_channels(), 1, "domain a's channel went with its last subscriber");
        drop(of_b);
        let _other = hub.subscribe_domain(Uuid::now_v7());
        assert_eq!(hub.domain_channels(), 1, "unused channels are dropped when another domain subscribes");
        hub.restart();
        assert_eq!(hub.domain_channels(), 0);
    }
}
