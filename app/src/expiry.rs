//! The hold-expiry scheduler: every interval, `ExpireHold` for each hold past its expiry, and a
//! reminder to each WhatsApp guest whose unpaid hold is about to lapse (`payments::remind_unpaid`),
//! the way there to those arriving tomorrow, and the owner's agenda of the day (`arrivals`).
//!
//! With several instances one runs the passes at a time (a lease, as the conversation worker and
//! the reply sender hold theirs); another takes over within a few seconds of its holder dying.
//! Each pass is safe to run twice all the same: the command is decided on the accommodation
//! stream's current version (when two race, one expires the hold and the other is told it is
//! no longer held, ignored), and each message has an id the outbox keeps once. Time comes from
//! the app's clock, so tests move it by hand.

use chrono::{DateTime, Utc};
use domain::BookingError;
use domain::accommodation::{AccommodationCommand, ExpireHold};
use eventstore::CommandError;
use projections::queries::{self, DueHold};

use crate::context::Context;
use crate::execute::{Origin, Source};

pub async fn run(state: std::sync::Arc<Context>) {
    let mut lease = projections::lease::Lease::new("cabanas-worker");
    loop {
        tokio::time::sleep(state.settings.expiry_interval).await;
        match lease.acquire(&state.db, &["scheduler"]).await {
            Ok(held) if !held.is_empty() => {}
            // Standing by: another instance runs the passes (tried for again every 2 s).
            Ok(_) => continue,
            Err(err) => {
                tracing::warn!(error = %err, "scheduler lease unavailable");
                continue;
            }
        }
        match expire_due(&state, state.now()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(expired = n, "holds expired"),
            Err(err) => tracing::warn!(error = %err, "hold expiry pass failed; will retry"),
        }
        match crate::payments::remind_unpaid(&state, state.now()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(reminded = n, "guests reminded of holds about to lapse"),
            Err(err) => {
                tracing::warn!(error = %err, "hold reminder pass failed; will retry")
            }
        }
        match crate::arrivals::tell_tomorrows_guests(&state, state.now()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(told = n, "guests arriving tomorrow told the way"),
            Err(err) => {
                tracing::warn!(error = %err, "arrival messages pass failed; will retry")
            }
        }
        match crate::arrivals::tell_owner_the_day(&state, state.now()).await {
            Ok(false) => {}
            Ok(true) => tracing::info!("the owner told the day's arrivals and departures"),
            Err(err) => {
                tracing::warn!(error = %err, "owner's agenda pass failed; will retry")
            }
        }
    }
}

/// Expires every hold due at `now`; returns how many this call expired.
pub async fn expire_due(state: &Context, now: DateTime<Utc>) -> anyhow::Result<usize> {
    let due = queries::holds_due(&state.db, now, 500).await?;
    let mut expired = 0;
    for DueHold {
        reservation_id: reservation,
        accommodation_id: accommodation,
    } in due
    {
        let metadata = Origin::new(Source::Scheduler, "scheduler")
            .correlated(reservation.as_uuid())
            .metadata();
        let command = AccommodationCommand::ExpireHold(ExpireHold {
            reservation_id: reservation,
        });
        match state
            .handler
            .execute(&accommodation.stream_id(), &command, now, &metadata)
            .await
        {
            Ok(_) => {
                metrics::counter!("cabanas_commands_total", "command" => "ExpireHold", "outcome" => "ok")
                    .increment(1);
                expired += 1;
            }
            // Confirmed, cancelled, extended or expired by another instance since the read model
            // saw it: nothing to do.
            Err(CommandError::Domain(
                BookingError::NotHeld
                | BookingError::HoldNotDue { .. }
                | BookingError::ReservationNotFound(_),
            )) => {}
            Err(err) => return Err(err.into()),
        }
    }
    Ok(expired)
}
