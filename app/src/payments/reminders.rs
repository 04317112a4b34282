//! The reminder before an unpaid hold lapses, sent to its guest on WhatsApp by the hold
//! scheduler.

use chrono::{DateTime, Utc};
use conversation::notices::payments::{UnpaidHold, unpaid_reminder};
use domain::accommodation::Channel;
use projections::db_fetch;

use crate::context::Context;
use crate::error::AppError;

/// How long before a hold lapses its unpaid WhatsApp guest is reminded: in the last third of the
/// hold (10 minutes of the default 30), and never earlier than half an hour before.
fn reminder_lead(held_for: chrono::Duration) -> chrono::Duration {
    (held_for / 3).min(chrono::Duration::minutes(30))
}

/// Reminds each guest on WhatsApp (see `guests::whatsapp_number`) whose hold is near its end with nothing paid and no payment in
/// the works, once per expiry (an extended hold is reminded again); returns how many reminders
/// were queued. Run by the hold scheduler on every instance: the reply id names the hold and its
/// expiry, and the outbox keeps one row per id.
pub async fn remind_unpaid(state: &Context, now: DateTime<Utc>) -> Result<usize, AppError> {
    type Row = (
        String,
        String,
        String,
        Option<String>,
        chrono::NaiveDate,
        chrono::NaiveDate,
        i64,
        i64,
        i64,
        String,
        String,
    );
    let now_ms = now.timestamp_millis();
    let rows: Vec<Row> = db_fetch!(
        &state.db,
        Row,
        fetch_all,
        "SELECT r.id, r.code, r.guest_ref, a.name, r.check_in, r.check_out, r.created_at_ms, \
         r.expires_at_ms, r.deposit_cents, r.payment_link, r.channel FROM rm_reservations r \
         LEFT JOIN rm_accommodations a ON a.id = r.accommodation_id \
         WHERE r.status = 'held' AND r.paid_cents = 0 \
         AND r.payment_link IS NOT NULL AND r.expires_at_ms > $1 \
         AND NOT EXISTS (SELECT 1 FROM rm_payments p WHERE p.reservation_id = r.id \
           AND p.status IN ('pending', 'in_process', 'authorized')) \
         ORDER BY r.expires_at_ms LIMIT 500"
            .to_owned(),
        now_ms
    )?;
    let mut queued = 0;
    for (
        id,
        code,
        guest_ref,
        name,
        check_in,
        check_out,
        created_ms,
        expires_ms,
        deposit,
        link,
        channel,
    ) in rows
    {
        let lead = reminder_lead(chrono::Duration::milliseconds(expires_ms - created_ms));
        if now_ms < expires_ms - lead.num_milliseconds() {
            continue;
        }
        let reply_id = format!("reminder:{id}:{expires_ms}");
        if crate::outbox::queued(&state.db, &reply_id).await? {
            continue;
        }
        // A guest who booked elsewhere is reminded if they asked to hear on WhatsApp.
        let channel = if channel == "whatsapp" {
            Channel::Whatsapp
        } else {
            Channel::Direct
        };
        let Some(phone) = crate::guests::whatsapp_number(state, &guest_ref, channel).await? else {
            continue;
        };
        let reminder = unpaid_reminder(&UnpaidHold {
            code: &code,
            cabin: name.as_deref().unwrap_or_default(),
            check_in,
            check_out,
            expires_at: DateTime::from_timestamp_millis(expires_ms).unwrap_or(now),
            deposit: projections::sql::money_from_cents(deposit),
            link: &link,
        });
        if crate::outbox::enqueue(&state.db, &reply_id, &phone, &reminder, now_ms).await? {
            queued += 1;
        }
    }
    Ok(queued)
}
