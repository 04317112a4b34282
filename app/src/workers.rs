//! Every background worker of the application, started together and stopped together: the
//! scheduled passes and calendar polls (stopped at once: their work is transactional or
//! repeated harmlessly) and the workers with side effects outside (the conversation, payments,
//! the reply sender), which are asked to stop and given time to finish their pass.

use std::sync::Arc;
use std::time::Duration;

use crate::context::Context;
use crate::stop::Stop;

/// How long a stopping service waits for its side-effect workers to finish what they are doing.
const DRAIN: Duration = Duration::from_secs(10);

pub struct Workers {
    background: Vec<tokio::task::JoinHandle<()>>,
    /// Workers with side effects outside (replies, payments, conversations): asked to stop and
    /// given `DRAIN` to finish, instead of being cut off.
    draining: Vec<tokio::task::JoinHandle<()>>,
    stop: tokio::sync::watch::Sender<bool>,
}

/// Starts the application's workers on `ctx`.
pub fn start(ctx: &Arc<Context>) -> Workers {
    let background = vec![
        tokio::spawn(crate::expiry::run(ctx.clone())),
        tokio::spawn(crate::calendar::run(ctx.clone())),
    ];
    let (stop, stopping) = Stop::channel();
    let settings = &ctx.settings;
    let draining = vec![
        tokio::spawn(crate::chat::run(ctx.clone(), stopping.clone())),
        tokio::spawn(crate::payments::run(ctx.clone(), stopping.clone())),
        tokio::spawn(crate::outbox::run(
            crate::outbox::Outbox::shared(ctx.db.clone(), ctx.whatsapp.clone())
                .with_media(settings.whatsapp_media(crate::outbox::MAX_FORWARD_BYTES))
                .with_notice(settings.whatsapp_notice.clone())
                .reporting_to(ctx.reply_sender_active.clone()),
            ctx.clock.clone(),
            ctx.outbox_wake.clone(),
            stopping,
        )),
    ];
    Workers {
        background,
        draining,
        stop,
    }
}

impl Workers {
    /// Lets the side-effect workers finish their passes (up to `DRAIN`), then stops the rest.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let deadline = tokio::time::Instant::now() + DRAIN;
        for mut w in self.draining {
            if tokio::time::timeout_at(deadline, &mut w).await.is_err() {
                tracing::warn!("a worker did not finish within the drain time; stopped");
                w.abort();
            }
        }
        // Only now: a pass being finished may wait on the read models these keep current.
        for w in self.background {
            w.abort();
        }
    }
}
