//! Publish/subscribe for change events. SQLite delivers them inside the process;
//! PostgreSQL sends them through `NOTIFY` so every server sharing the database
//! (the publishing one included) delivers them to its subscribers.

use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;
use switchboard_core::event::Event;
use tokio::sync::broadcast;

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
}

/// The in-process side shared by both back-ends: one broadcast channel.
pub(crate) struct Hub {
    sender: Mutex<broadcast::Sender<Event>>,
}

impl Hub {
    pub(crate) fn new() -> Hub {
        Hub { sender: Mutex::new(broadcast::channel(CAPACITY).0) }
    }

    fn sender(&self) -> std::sync::MutexGuard<'_, broadcast::Sender<Event>> {
        // The guarded value is only ever replaced whole, so a poisoned lock still holds a good one.
        self.sender.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn send(&self, event: Event) {
        // Nobody listening is not an error: the event simply concerns no one here.
        let _ = self.sender().send(event);
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.sender().subscribe()
    }

    /// Closes every current subscription: they missed events and must start over.
    pub(crate) fn restart(&self) {
        *self.sender() = broadcast::channel(CAPACITY).0;
    }
}

#[cfg(test)]
mod tests {
    use switchboard_core::event::EventKind;
    use tokio::sync::broadcast::error::TryRecvError;
    use uuid::Uuid;

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
}
