//! The reminder before an unpaid hold lapses, sent to its guest on WhatsApp by the hold
//! scheduler.

use chrono::{DateTime, Utc};
use conversation::notices::payments::{UnpaidHold, unpaid_reminder};
use domain::accommodation::Channel;
use projections::queries;

use crate::context::Context;
use crate::error::AppError;

/// How long before a hold lapses its unpaid WhatsApp guest is reminded: in the last third of the
/// hold (10 minutes of the default 30), and never earlier than half an hour before.
fn reminder_lead(held_for: chrono::Duration) -> chrono::Duration {
    (held_for / 3).min(chrono::Duration::minutes(30))
}

/// Reminds each guest on WhatsApp (see `guests::whatsapp_number`) whose hold is near its end with nothing paid and no payment in
/// the works, once per expiry (an extended hold is reminded again); returns how many reminders
/// were queued. Run by the hold scheduler (on one instance at a time); the reply id names the hold
/// and its expiry, and the outbox keeps one row per id.
pub async fn remind_unpaid(state: &Context, now: DateTime<Utc>) -> Result<usize, AppError> {
    let now_ms = now.timestamp_millis();
    let mut queued = 0;
    for hold in queries::unpaid_holds(&state.db, now).await? {
        let expires_ms = hold.expires_at.timestamp_millis();
        let lead = reminder_lead(hold.expires_at - hold.created_at);
        if now_ms < expires_ms - lead.num_milliseconds() {
            continue;
        }
        let reply_id = format!("reminder:{}:{expires_ms}", hold.reservation_id);
        if crate::outbox::queued(&state.db, &reply_id).await? {
            continue;
        }
        // A guest who booked elsewhere is reminded if they asked to hear on WhatsApp.
        let channel = if hold.channel == "whatsapp" {
            Channel::Whatsapp
        } else {
            Channel::Direct
        };
        let Some(phone) = crate::guests::whatsapp_number(state, &hold.guest_ref, channel).await?
        else {
            continue;
        };
        let reminder = unpaid_reminder(&UnpaidHold {
            code: &hold.code,
            cabin: hold.accommodation_name.as_deref().unwrap_or_default(),
            check_in: hold.check_in,
            check_out: hold.check_out,
            expires_at: hold.expires_at,
            deposit: hold.deposit,
            link: &hold.payment_link,
        });
        if crate::outbox::enqueue(&state.db, &reply_id, &phone, &reminder, now_ms).await? {
            queued += 1;
        }
    }
    Ok(queued)
}
