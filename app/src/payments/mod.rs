//! Payments through Mercado Pago (or its local sandbox):
//!
//! - `POST /webhooks/mercadopago`: signature checked, the notification stored once in
//!   `mp_inbox`, 200 at once. A worker fetches the payment it names (never trusting the body) and
//!   applies it to the reservation through the domain (`ApplyPayment`).
//! - The reactor worker carries out `reactor_tasks`: creates the payment link for a new hold
//!   (extending a hold an outage ate most of), issues refunds, and tells WhatsApp guests what
//!   happened through the reply outbox.
//! - `GET /pagos/retorno`: the page Checkout Pro sends the guest back to; it shows the
//!   reservation's real status and acts on nothing in its query string.
//! - The sandbox: without credentials, payments live in local tables; `cabanas pay` (or
//!   `POST /v1/admin/sandbox/payments`) makes one and queues its notification, so the same code
//!   path confirms the booking.
//!
//! Nothing here logs a guest's number, name or a token. What guests and the owner read is
//! written in `conversation::notices::payments`.
//!
//! # Layout
//!
//! - this file: the worker ([`run`]) and the provider the service uses ([`provider`]).
//! - `inbox`: the notifications: stored once ([`queue_notification`]), claimed, the payment
//!   fetched and applied to its reservation ([`process_notifications`]).
//! - `reactor`: the reactor's tasks ([`process_tasks`]): payment links for holds and balances
//!   ([`request_balance_link`]), refunds, and telling guests and the owner.
//! - `reminders`: the reminder before an unpaid hold lapses ([`remind_unpaid`]).
//! - `sandbox`: the stand-in provider without credentials ([`Sandbox`], [`sandbox_pay`]).
//! - `views`: the admin's views ([`alerts`], [`reservation_payments`]).

mod inbox;
mod reactor;
mod reminders;
mod sandbox;
mod views;

use std::sync::Arc;
use std::time::Duration;

use eventstore::Db;
use integrations::mercadopago::PaymentProvider;

use crate::context::Context;

pub use conversation::notices::arrival;
pub use inbox::{process_notifications, queue_notification};
pub use reactor::{process_tasks, request_balance_link};
pub use reminders::remind_unpaid;
pub use sandbox::{Sandbox, sandbox_pay};
pub use views::{alerts, reservation_payments};

/// How many notifications (or tasks) one pass claims.
const BATCH: i64 = 20;

/// Notifications and reactor tasks for the life of the service: at once when woken, otherwise
/// every half second (retries coming due, tasks the projection runner queued).
pub async fn run(state: Arc<Context>, mut stop: crate::Stop) {
    // On SQLite this process is the only one: whatever is claimed was claimed by a run that
    // stopped (a crash), and is taken up again now rather than a minute from now.
    if matches!(state.db, eventstore::Db::Sqlite(_)) {
        for table in ["mp_inbox", "reactor_tasks"] {
            let queue = crate::queue::Queue::new(state.db.clone(), table);
            // Safe at once: a payment link or a refund asked for again carries the same
            // idempotency key, and a notification is acted on by its payment's state.
            if let Err(err) = queue.release_claims(state.now().timestamp_millis()).await {
                tracing::warn!(error = %err, table, "claims left by a stopped run not released");
            }
        }
    }
    loop {
        if stop.requested() {
            return;
        }
        let mut busy = false;
        match process_notifications(&state).await {
            Ok(n) => busy |= n > 0,
            Err(err) => tracing::warn!(error = %err, "payment notifications pass failed"),
        }
        match process_tasks(&state).await {
            Ok(n) => busy |= n > 0,
            Err(err) => tracing::warn!(error = %err, "reactor pass failed"),
        }
        if busy {
            state.outbox_wake.notify_one();
            continue;
        }
        if !stop
            .idle(Duration::from_millis(500), &state.payments_wake)
            .await
        {
            return;
        }
    }
}

/// The provider the service uses: Mercado Pago with credentials, the sandbox without.
pub fn provider(
    settings: &crate::config::Settings,
    db: &Db,
) -> anyhow::Result<Arc<dyn PaymentProvider>> {
    Ok(match &settings.mp_access_token {
        Some(token) => {
            let mut config =
                integrations::mercadopago::client::Config::new(&settings.mp_api_base, token);
            config.timeout = settings.mp_timeout;
            config.breaker_cooldown = settings.breaker_cooldown;
            Arc::new(integrations::mercadopago::MercadoPago::new(config)?)
        }
        None => Arc::new(Sandbox {
            db: db.clone(),
            public_url: settings.public_url.clone(),
        }),
    })
}
