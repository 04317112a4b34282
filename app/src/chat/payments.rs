//! Paying: the links to pay (a hold's deposit; with none waiting, the balance of the stays to
//! come, its link asked for when there is none for the amount owed), a transfer the guest says
//! they made, and a file that may be that transfer's receipt.

use chrono::{DateTime, Utc};
use conversation::dialogue::{BalanceDue, Outcome, PendingPayment};
use conversation::notices::alerts::{TransferHint, WaitingHold, receipt_caption, receipt_thanks};
use conversation::reply::Reply;
use domain::{AccommodationId, GuestId, Money, ReservationId};
use integrations::whatsapp::webhook::{InboundMessage, MessageKind};
use projections::ReservationStatus;
use projections::queries;

use super::{guest_reservations, owner_alerts};
use crate::context::Context;
use crate::error::AppError;

/// How long after a hold lapsed a transfer for it is still taken to the owner: they can still
/// confirm it while its nights are free (`…/confirm` honours a late deposit).
const LATE_TRANSFER: chrono::Duration = chrono::Duration::hours(48);

/// The payment links of the guest's holds waiting for their deposit; with none, the balances
/// of their stays to come; with none either, the holds that just lapsed (which may be what they
/// paid for).
pub(super) async fn links(state: &Context, guest: &GuestId) -> Result<Outcome, AppError> {
    let now = state.now();
    let mine = guest_reservations(state, guest).await?;
    let pending: Vec<PendingPayment> = mine
        .iter()
        .filter(|r| r.status == ReservationStatus::Held)
        .map(|r| PendingPayment {
            code: r.code.clone(),
            deposit: r.deposit,
            link: r.payment_link.clone(),
        })
        .collect();
    if !pending.is_empty() {
        return Ok(Outcome::PaymentLinks(pending));
    }
    let balances = balances(state, &mine).await?;
    if !balances.is_empty() {
        return Ok(Outcome::Balances(balances));
    }
    // Nothing to pay, but a hold that just lapsed may be what they paid for.
    let lapsed: Vec<String> = mine
        .into_iter()
        .filter_map(|r| waiting(r, now, state.today()))
        .filter(|w| w.lapsed)
        .map(|w| w.code)
        .collect();
    if lapsed.is_empty() {
        Ok(Outcome::PaymentLinks(Vec::new()))
    } else {
        Ok(Outcome::Lapsed { codes: lapsed })
    }
}

/// No deposit waiting: what is left is the balance of the stays still to come, with its link
/// when there is one for the amount owed, asked for when there is not.
async fn balances(
    state: &Context,
    mine: &[queries::ReservationView],
) -> Result<Vec<BalanceDue>, AppError> {
    let today = state.today();
    let mut balances = Vec::new();
    for r in mine.iter().filter(|r| {
        r.status == ReservationStatus::Confirmed
            && r.check_in >= today
            && r.balance_due > Money::ZERO
    }) {
        let (Ok(id), Ok(reservation_id)) = (
            r.accommodation_id.parse::<AccommodationId>(),
            r.id.parse::<ReservationId>(),
        ) else {
            continue;
        };
        let cabin = state.accommodation(id).await?;
        let Some(stay) = cabin.reservation(reservation_id) else {
            continue;
        };
        let due = stay.balance_due();
        let link = stay
            .payment_url
            .clone()
            .filter(|_| stay.payment_link_amount == Some(due));
        if link.is_none() {
            crate::payments::request_balance_link(state, id, reservation_id, due).await?;
        }
        balances.push(BalanceDue {
            code: r.code.clone(),
            accommodation: r.accommodation_name.clone().unwrap_or_default(),
            check_in: r.check_in,
            amount: due,
            link,
        });
    }
    Ok(balances)
}

/// The guest says they paid a deposit by transfer: the owner, who confirms transfers by hand,
/// is told, when a hold of theirs waits for one.
pub(super) async fn transfer_to_check(
    state: &Context,
    m: &InboundMessage,
    guest: &GuestId,
) -> Result<Outcome, AppError> {
    let waiting = holds_waiting(state, guest).await?;
    if waiting.is_empty() {
        // Nothing waits for a deposit: the answer is that they are up to date.
        return Ok(Outcome::PaymentLinks(Vec::new()));
    }
    owner_alerts::transfer(state, m, TransferHint::Said, &waiting).await?;
    Ok(Outcome::TransferToCheck {
        codes: codes_of(&waiting),
    })
}

/// A message that is not text, a tap or a voice note. An image or a document from a guest whose
/// hold waits for its deposit is, in practice, the receipt of a bank transfer: the owner, who
/// confirms transfers by hand, hears of it.
pub(super) async fn not_text(
    state: &Context,
    m: &InboundMessage,
    guest: &GuestId,
    kind: &str,
) -> Result<(), AppError> {
    let waiting = if matches!(kind, "image" | "document") {
        holds_waiting(state, guest).await?
    } else {
        Vec::new()
    };
    if waiting.is_empty() {
        let only_text = "Por ahora solo entiendo mensajes de texto. Escribime qué necesitás.";
        return Ok(crate::outbox::reply(state, m, &[Reply::Text(only_text.into())]).await?);
    }
    owner_alerts::transfer(state, m, TransferHint::SentFile, &waiting).await?;
    let codes = codes_of(&waiting).join(", ");
    // The file itself follows the alert, so the owner sees what to look for in their account.
    if let MessageKind::Media {
        kind,
        media_id,
        mime_type,
        caption: _,
        filename,
    } = &m.kind
    {
        crate::outbox::forward_to_owner(
            state,
            &format!("transfer:{}:file", m.wamid),
            crate::outbox::File {
                kind,
                media_id,
                mime_type: mime_type.as_deref(),
                filename: filename.as_deref(),
            },
            receipt_caption(&owner_alerts::sender(m), &codes),
        )
        .await?;
    }
    Ok(crate::outbox::reply(state, m, &[Reply::Text(receipt_thanks(&codes))]).await?)
}

fn codes_of(waiting: &[WaitingHold]) -> Vec<String> {
    waiting.iter().map(|w| w.code.clone()).collect()
}

/// The guest's holds waiting for their deposit: still held, or lapsed in the last
/// `LATE_TRANSFER` for a stay yet to begin (a transfer made in time is often seen late).
async fn holds_waiting(state: &Context, guest: &GuestId) -> Result<Vec<WaitingHold>, AppError> {
    let now = state.now();
    let mine = guest_reservations(state, guest).await?;
    let today = state.today();
    Ok(mine
        .into_iter()
        .filter_map(|r| waiting(r, now, today))
        .collect())
}

/// `r` as a hold waiting for its deposit at `now` (the deployment's `today`; see
/// `holds_waiting`), if it is one.
fn waiting(
    r: queries::ReservationView,
    now: DateTime<Utc>,
    today: chrono::NaiveDate,
) -> Option<WaitingHold> {
    let lapsed = match r.status {
        // Past its time, the scheduler's next pass expires it.
        ReservationStatus::Held => r.expires_at <= now,
        ReservationStatus::Expired if r.expires_at > now - LATE_TRANSFER && r.check_in >= today => {
            true
        }
        _ => return None,
    };
    Some(WaitingHold {
        code: r.code,
        lapsed,
    })
}
