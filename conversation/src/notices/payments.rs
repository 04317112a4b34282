//! What a payment event means, in words: to the guest (a link to pay as a button, a payment
//! received or refused, a confirmation with what they need to arrive, a refund, a hold lapsed,
//! a stay moved or cancelled), the reminder before an unpaid hold lapses, and the owner's notices
//! (a booking paid, a balance paid online, a paid stay the guest cancelled, a payment that needs
//! them).

use chrono::{DateTime, NaiveDate, Utc};
use domain::Money;
use domain::accommodation::{
    AccommodationEvent, AccommodationInfo, Channel, PaymentRecorded, Reservation,
    ReservationStatus, StayChanged,
};
use domain::payment::PaymentStatus;

use super::arrival;
use crate::dialogue::day_label;
use crate::reply::Reply;

/// What the guest reads, in Spanish (Argentina); `None` when the event needs no message now.
/// A payment link comes as a button that opens it (plain text if it cannot be one); a balance
/// link is said to stay payable for `balance_link_days`.
pub fn to_guest(
    e: &AccommodationEvent,
    r: &Reservation,
    house: &AccommodationInfo,
    balance_link_days: i64,
) -> Option<Reply> {
    use AccommodationEvent as E;
    let code = &r.code;
    let stay = stay_label(r, house);
    let text = match e {
        E::PaymentLinkCreated(l) if r.status == ReservationStatus::Confirmed => {
            return Some(pay_button(
                format!(
                    "Reserva {code} ({stay}): el saldo es de {}. Podés pagarlo con Mercado Pago \
                     (el link vale {balance_link_days} días) o al llegar.",
                    l.amount
                ),
                "Pagar el saldo",
                &l.init_point,
            ));
        }
        E::PaymentRecorded(p)
            if p.payment.status == PaymentStatus::Approved
                && r.status == ReservationStatus::Confirmed =>
        {
            payment_received(p, r)
        }
        E::PaymentLinkCreated(l) if r.status == ReservationStatus::Held => {
            return Some(pay_button(
                format!(
                    "Para confirmar la reserva {code} pagá la seña de {} con Mercado Pago. El \
                     link vence a las {} (hora de Argentina).",
                    l.amount,
                    local_time(l.expires_at)
                ),
                "Pagar la seña",
                &l.init_point,
            ));
        }
        E::Confirmed(c) => format!(
            "¡Listo! Recibimos tu pago de {} y la reserva {code} está confirmada: {stay}. ¡Te \
             esperamos!\n{}",
            c.amount_paid,
            arrival(house, r.balance_due())
        ),
        E::LatePaymentAccepted(l) => format!(
            "¡Listo! Tu pago de {} llegó después del vencimiento, pero las noches seguían libres: \
             la reserva {code} está confirmada ({stay}).\n{}",
            l.payment.amount,
            arrival(house, r.balance_due())
        ),
        E::LatePaymentRejected(l) => format!(
            "Recibimos tu pago de {} para la reserva {code}, pero la reserva ya había vencido y \
             esas noches se ocuparon. Te devolvemos el total a tu medio de pago (puede tardar \
             unos días). Perdón por las molestias 🙏",
            l.payment.amount
        ),
        E::UnderpaymentReceived(u) => format!(
            "Recibimos {} para la reserva {code}, pero la seña es de {}. Te falta pagar {} para \
             confirmarla.",
            u.payment.amount,
            u.deposit,
            u.deposit - u.paid_total
        ),
        E::PaymentRecorded(p) if r.status == ReservationStatus::Held => {
            return Some(payment_refused(p, r));
        }
        E::RefundIssued(i) => format!(
            "Te devolvimos {} de la reserva {code}. Puede tardar unos días en verse en tu medio \
             de pago.",
            i.amount
        ),
        // A transfer made in time is often seen late: it can still be confirmed (`ConfirmLate`).
        E::HoldExpired(_) => format!(
            "Tu reserva {code} ({stay}) venció porque no nos llegó la seña a tiempo, y esas \
             noches quedaron libres. Si ya la pagaste por transferencia, mandame el comprobante \
             por acá: si las noches siguen libres, la confirmamos igual. Si todavía querés venir, \
             escribime las fechas y vemos qué hay."
        ),
        E::StayChanged(c) => stay_changed(c, r, house),
        E::Cancelled(_) => format!(
            "Tu reserva {code} ({stay}) fue cancelada. Si corresponde una devolución, te avisamos \
             por acá cuando la hagamos."
        ),
        _ => return None,
    };
    Some(Reply::Text(text))
}

/// An approved payment on a confirmed stay (a balance paid online): what is left, if anything.
fn payment_received(p: &PaymentRecorded, r: &Reservation) -> String {
    let due = r.balance_due();
    let left = if due > Money::ZERO {
        format!("Te queda un saldo de {due}.")
    } else {
        "La estadía quedó paga. ¡Te esperamos!".to_owned()
    };
    format!(
        "Recibimos tu pago de {} para la reserva {}. {left}",
        p.payment.amount, r.code
    )
}

/// A payment for a hold that was not approved: with the hold's link to try again, when it has
/// one.
fn payment_refused(p: &PaymentRecorded, r: &Reservation) -> Reply {
    let why = match p.payment.status {
        PaymentStatus::Cancelled => "se canceló",
        _ => "fue rechazado",
    };
    let body = format!("Tu pago para la reserva {} no se aprobó ({why}).", r.code);
    match &r.payment_url {
        Some(link) => pay_button(
            format!("{body} Podés intentar de nuevo."),
            "Pagar la seña",
            link,
        ),
        None => Reply::Text(body),
    }
}

/// A confirmed stay moved to other nights (or another party): the new nights, total and what
/// was paid, and what the guest needs to arrive.
fn stay_changed(c: &StayChanged, r: &Reservation, house: &AccommodationInfo) -> String {
    let party = if c.guests == c.previous_guests {
        String::new()
    } else {
        format!(", para {} personas", c.guests)
    };
    format!(
        "Cambiamos tu reserva {}: ahora es en {} del {} al {} ({} noches{party}). El \
         total queda en {}; pagaste {}.\n{}",
        r.code,
        house.name,
        day_label(c.stay.check_in()),
        day_label(c.stay.check_out()),
        c.stay.nights(),
        c.quote.total,
        r.net_paid(),
        // The balance of this change's total: `r` is the reservation as it is when the
        // message goes, which a second move made since may have priced again.
        arrival(house, r.balance_due_on(c.quote.total))
    )
}

/// A hold near its end with nothing paid, as its guest is reminded of it.
pub struct UnpaidHold<'a> {
    pub code: &'a str,
    /// The cabin's name (empty when the read model has none).
    pub cabin: &'a str,
    pub check_in: NaiveDate,
    pub check_out: NaiveDate,
    pub expires_at: DateTime<Utc>,
    pub deposit: Money,
    /// The hold's payment link, opened by the reminder's button.
    pub link: &'a str,
}

/// The reminder sent before an unpaid hold lapses, with a button to pay the deposit.
pub fn unpaid_reminder(hold: &UnpaidHold<'_>) -> Reply {
    let body = format!(
        "⏰ Tu reserva {} ({} del {} al {}) vence a las {} (hora de Argentina). Si \
         todavía querés confirmarla, pagá la seña de {}.",
        hold.code,
        hold.cabin,
        day_label(hold.check_in),
        day_label(hold.check_out),
        local_time(hold.expires_at),
        hold.deposit,
    );
    pay_button(body, "Pagar la seña", hold.link)
}

/// The owner's notice of a booking paid (from any channel): the guest's name and number (when
/// known), the nights, what was paid and what is left to collect.
pub fn new_booking(
    r: &Reservation,
    house: &AccommodationInfo,
    guest_name: Option<&str>,
    guest_phone: Option<&str>,
) -> String {
    let who = match (guest_name, guest_phone) {
        (Some(name), Some(phone)) => format!("{name} ({phone})"),
        (Some(name), None) => name.to_owned(),
        (None, _) => "un huésped".to_owned(),
    };
    format!(
        "🎉 Nueva reserva {}, confirmada: {}, {} personas, de {who} por {}. \
         Pagó {}; saldo a cobrar al llegar: {}.",
        r.code,
        stay_label(r, house),
        r.guests,
        channel_label(r.channel),
        r.net_paid(),
        r.balance_due()
    )
}

/// The owner's notice of `amount` paid online on a confirmed stay (usually its balance).
pub fn paid_online(r: &Reservation, house: &AccommodationInfo, amount: Money) -> String {
    format!(
        "💰 Reserva {} ({}): entró un pago de {amount} por Mercado Pago; saldo a cobrar \
         al llegar: {}.",
        r.code,
        stay_label(r, house),
        r.balance_due()
    )
}

/// The owner's notice of a paid stay its guest cancelled: the nights are free again, and what
/// the cancellation policy gives back (and who gives it back).
pub fn guest_cancelled(r: &Reservation, house: &AccommodationInfo) -> String {
    let code = &r.code;
    let refunded: Money = r.payments.iter().map(|p| p.refunded).sum();
    let by_hand: Money = r.owed_by_hand().iter().map(|(_, amount)| *amount).sum();
    let refund = if refunded == Money::ZERO {
        " Según tu política de cancelación no le corresponde devolución.".to_owned()
    } else if by_hand == Money::ZERO {
        format!(" Tu política le devuelve {refunded}: Mercado Pago se lo devuelve solo.")
    } else {
        // Money taken by hand (a transfer, cash) goes back the same way.
        format!(
            " Tu política le devuelve {refunded}; de eso, {by_hand} lo pagó a mano y te \
             toca devolvérselo vos: cuando lo hagas, escribime «devuelto {code}»."
        )
    };
    format!(
        "El huésped canceló la reserva {code} ({}): esas noches quedaron libres.{refund}",
        stay_label(r, house)
    )
}

/// A payment that needs the owner's attention (and the admin's alerts).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PaymentTrouble {
    /// Less than the deposit.
    Underpayment,
    /// Paid after the hold lapsed, for nights taken since: refunded.
    LatePaymentRefunded,
    /// A chargeback, or a refund made from Mercado Pago's own panel.
    Reversed,
}

/// The owner's alert of a payment on reservation `code` that needs them.
pub fn payment_trouble(code: &str, trouble: PaymentTrouble) -> String {
    let what = match trouble {
        PaymentTrouble::Underpayment => "un pago menor a la seña",
        PaymentTrouble::LatePaymentRefunded => {
            "un pago tardío que se devuelve (las noches ya estaban ocupadas)"
        }
        PaymentTrouble::Reversed => "un contracargo o devolución hecha desde Mercado Pago",
    };
    format!("⚠️ Reserva {code}: {what}. Revisalo en /v1/admin/alerts.")
}

/// How the owner calls each channel a booking came through.
pub fn channel_label(channel: Channel) -> &'static str {
    match channel {
        Channel::Whatsapp => "WhatsApp",
        Channel::Direct => "la web",
        Channel::Admin => "el panel",
        Channel::Airbnb => "Airbnb",
        Channel::Booking => "Booking.com",
    }
}

/// "Cabaña del Lago del vie 11/12 al dom 13/12".
pub fn stay_label(r: &Reservation, house: &AccommodationInfo) -> String {
    format!(
        "{} del {} al {}",
        house.name,
        day_label(r.stay.check_in()),
        day_label(r.stay.check_out())
    )
}

/// A message with a button that opens the payment link (plain text if it cannot be one).
pub fn pay_button(body: String, button: &str, link: &str) -> Reply {
    Reply::link(body.clone(), button, link)
        .unwrap_or_else(|_| Reply::Text(format!("{body}\n{link}")))
}

/// "HH:MM" in Argentina.
pub fn local_time(t: DateTime<Utc>) -> String {
    let offset = domain::accommodation::ARGENTINA_UTC_OFFSET_MINUTES;
    (t + chrono::Duration::minutes(i64::from(offset)))
        .format("%H:%M")
        .to_string()
}

#[cfg(test)]
mod tests;
