//! Stopping the workers: each finishes the pass it is in, then returns.

use std::time::Duration;

/// Tells a side-effect worker that the service is stopping: it finishes the pass it is in (a
/// reply half sent would otherwise go out again after the restart) and returns.
#[derive(Clone)]
pub struct Stop(tokio::sync::watch::Receiver<bool>);

impl Stop {
    /// A stop signal and its sender (`send(true)` stops every clone).
    pub fn channel() -> (tokio::sync::watch::Sender<bool>, Stop) {
        let (tx, rx) = tokio::sync::watch::channel(false);
        (tx, Stop(rx))
    }

    pub fn requested(&self) -> bool {
        // A dropped sender means nobody can ask any more: the service is going away.
        *self.0.borrow() || self.0.has_changed().is_err()
    }

    /// Waits up to `pause`, or until `wake`; false when the service is stopping.
    pub async fn idle(&mut self, pause: Duration, wake: &tokio::sync::Notify) -> bool {
        self.wait(tokio::time::timeout(pause, wake.notified()))
            .await
    }

    /// Sleeps for `pause`, cut short by a stop; false when the service is stopping.
    pub async fn sleep(&mut self, pause: Duration) -> bool {
        self.wait(tokio::time::sleep(pause)).await
    }

    /// Waits for `until`, cut short by a stop; false when the service is stopping.
    async fn wait(&mut self, until: impl std::future::Future) -> bool {
        if self.requested() {
            return false;
        }
        let stopping = tokio::select! {
            _ = until => false,
            _ = self.0.changed() => true,
        };
        !stopping && !self.requested()
    }
}
