//! Each notice's words, read on a cabin and a reservation the domain built (`fixtures`).

use chrono::Duration;
use domain::accommodation::{
    AccommodationCommand, ApplyPayment, CancelReservation, CancelledBy, ChangeStay, HoldExpired,
    LatePaymentAccepted, LatePaymentRejected, PaymentLinkCreated, RefundIssued,
    ReservationCancelled, ReservationConfirmed, UnderpaymentReceived,
};

use super::*;
use crate::notices::fixtures::{Cabin, day, nights, now, payment};

/// The text of a plain-text notice.
fn text(reply: Option<Reply>) -> String {
    match reply {
        Some(Reply::Text(text)) => text,
        other => panic!("not a text: {other:?}"),
    }
}

/// What the guest of `cabin` reads of `e`, with balance links payable for seven days.
fn told(cabin: &Cabin, e: &AccommodationEvent) -> Option<Reply> {
    to_guest(e, cabin.reservation(), cabin.house(), 7)
}

fn link_created(cabin: &Cabin, pesos: i64) -> AccommodationEvent {
    AccommodationEvent::PaymentLinkCreated(PaymentLinkCreated {
        reservation_id: cabin.id,
        preference_id: "pref-1".into(),
        init_point: "https://mp.example/pay/1".into(),
        amount: Money::pesos(pesos),
        expires_at: now() + Duration::minutes(30),
        created_at: now(),
    })
}

fn recorded(cabin: &Cabin, status: PaymentStatus, pesos: i64) -> AccommodationEvent {
    AccommodationEvent::PaymentRecorded(PaymentRecorded {
        reservation_id: cabin.id,
        payment: payment("p-2", status, pesos),
        recorded_at: now(),
    })
}

/// A move in quick succession: the first move's message is sent after the second has been
/// stored, and still tells the balance of the first move's total.
#[test]
fn a_moved_stays_message_tells_the_balance_of_its_own_total() {
    let mut cabin = Cabin::confirmed(27_000);
    let reservation_id = cabin.id;
    let move_to = |stay| {
        AccommodationCommand::ChangeStay(ChangeStay {
            reservation_id,
            stay,
            guests: None,
        })
    };
    let first = cabin.step(move_to(nights(14, 17))).remove(0);
    cabin.step(move_to(nights(20, 25)));

    let text = text(told(&cabin, &first));
    // 3 nights at 40 000 and the cleaning fee, less the 27 000 paid.
    assert_eq!(
        text,
        format!(
            "Cambiamos tu reserva {}: ahora es en Cabaña del Lago del jue 14/01 al dom 17/01 \
             (3 noches). El total queda en $ 130.000; pagaste $ 27.000.\nEntrada desde las \
             14:00, salida hasta las 10:00.\nSaldo a pagar al llegar: $ 103.000.",
            cabin.code()
        )
    );
}

#[test]
fn a_moved_stay_for_another_party_says_how_many_it_is_for_now() {
    let mut cabin = Cabin::confirmed(27_000);
    let moved = cabin
        .step(AccommodationCommand::ChangeStay(ChangeStay {
            reservation_id: cabin.id,
            stay: nights(11, 13),
            guests: Some(3),
        }))
        .remove(0);
    assert!(
        text(told(&cabin, &moved)).contains("(2 noches, para 3 personas)"),
        "{moved:?}"
    );
}

#[test]
fn a_holds_payment_link_comes_as_a_button_with_its_deadline_in_argentina() {
    let cabin = Cabin::held();
    assert_eq!(
        told(&cabin, &link_created(&cabin, 27_000)),
        Some(Reply::Link {
            body: format!(
                "Para confirmar la reserva {} pagá la seña de $ 27.000 con Mercado Pago. El link \
                 vence a las 10:30 (hora de Argentina).",
                cabin.code()
            ),
            button: "Pagar la seña".into(),
            url: "https://mp.example/pay/1".into(),
        })
    );
}

#[test]
fn a_balance_link_comes_as_a_button_and_says_how_long_it_is_payable() {
    let cabin = Cabin::confirmed(27_000);
    assert_eq!(
        told(&cabin, &link_created(&cabin, 63_000)),
        Some(Reply::Link {
            body: format!(
                "Reserva {} (Cabaña del Lago del lun 11/01 al mié 13/01): el saldo es de \
                 $ 63.000. Podés pagarlo con Mercado Pago (el link vale 7 días) o al llegar.",
                cabin.code()
            ),
            button: "Pagar el saldo".into(),
            url: "https://mp.example/pay/1".into(),
        })
    );
}

#[test]
fn a_payment_on_a_confirmed_stay_tells_what_is_left_or_that_it_is_paid() {
    let cabin = Cabin::confirmed(27_000);
    let code = cabin.code();
    assert_eq!(
        text(told(
            &cabin,
            &recorded(&cabin, PaymentStatus::Approved, 10_000)
        )),
        format!(
            "Recibimos tu pago de $ 10.000 para la reserva {code}. Te queda un saldo de $ 63.000."
        )
    );
    let paid = Cabin::confirmed(90_000);
    assert_eq!(
        text(told(
            &paid,
            &recorded(&paid, PaymentStatus::Approved, 63_000)
        )),
        format!(
            "Recibimos tu pago de $ 63.000 para la reserva {}. La estadía quedó paga. ¡Te \
             esperamos!",
            paid.code()
        )
    );
}

#[test]
fn a_refused_payment_for_a_hold_says_why_and_offers_its_link_again() {
    let mut cabin = Cabin::held();
    let code = cabin.code();
    assert_eq!(
        told(&cabin, &recorded(&cabin, PaymentStatus::Rejected, 27_000)),
        Some(Reply::Text(format!(
            "Tu pago para la reserva {code} no se aprobó (fue rechazado)."
        )))
    );
    let expires_at = cabin.reservation().expires_at;
    cabin.step(AccommodationCommand::RecordPaymentLink(
        domain::accommodation::RecordPaymentLink {
            reservation_id: cabin.id,
            preference_id: "pref-1".into(),
            init_point: "https://mp.example/pay/1".into(),
            amount: Money::pesos(27_000),
            expires_at,
        },
    ));
    assert_eq!(
        told(&cabin, &recorded(&cabin, PaymentStatus::Cancelled, 27_000)),
        Some(Reply::Link {
            body: format!(
                "Tu pago para la reserva {code} no se aprobó (se canceló). Podés intentar de nuevo."
            ),
            button: "Pagar la seña".into(),
            url: "https://mp.example/pay/1".into(),
        })
    );
}

#[test]
fn a_confirmation_tells_the_stay_and_what_the_guest_needs_to_arrive() {
    let cabin = Cabin::confirmed(27_000);
    let confirmed = AccommodationEvent::Confirmed(ReservationConfirmed {
        reservation_id: cabin.id,
        payment_reference: "p-1".into(),
        amount_paid: Money::pesos(27_000),
        method: None,
        provider: Some("mercadopago".into()),
        confirmed_at: now(),
    });
    assert_eq!(
        text(told(&cabin, &confirmed)),
        format!(
            "¡Listo! Recibimos tu pago de $ 27.000 y la reserva {} está confirmada: Cabaña del \
             Lago del lun 11/01 al mié 13/01. ¡Te esperamos!\nEntrada desde las 14:00, salida \
             hasta las 10:00.\nSaldo a pagar al llegar: $ 63.000.",
            cabin.code()
        )
    );
}

#[test]
fn a_late_payment_is_either_accepted_with_the_arrival_or_refunded_with_an_apology() {
    let cabin = Cabin::confirmed(27_000);
    let r = cabin.reservation();
    let accepted = AccommodationEvent::LatePaymentAccepted(LatePaymentAccepted {
        reservation_id: cabin.id,
        code: r.code.clone(),
        channel: r.channel,
        stay: r.stay,
        payment: payment("p-1", PaymentStatus::Approved, 27_000),
        accepted_at: now(),
        by_hand: false,
    });
    assert_eq!(
        text(told(&cabin, &accepted)),
        format!(
            "¡Listo! Tu pago de $ 27.000 llegó después del vencimiento, pero las noches seguían \
             libres: la reserva {} está confirmada (Cabaña del Lago del lun 11/01 al mié \
             13/01).\nEntrada desde las 14:00, salida hasta las 10:00.\nSaldo a pagar al \
             llegar: $ 63.000.",
            cabin.code()
        )
    );
    let rejected = AccommodationEvent::LatePaymentRejected(LatePaymentRejected {
        reservation_id: cabin.id,
        payment: payment("p-1", PaymentStatus::Approved, 27_000),
        reason: "taken".into(),
        rejected_at: now(),
    });
    assert_eq!(
        text(told(&cabin, &rejected)),
        format!(
            "Recibimos tu pago de $ 27.000 para la reserva {}, pero la reserva ya había vencido \
             y esas noches se ocuparon. Te devolvemos el total a tu medio de pago (puede tardar \
             unos días). Perdón por las molestias 🙏",
            cabin.code()
        )
    );
}

#[test]
fn an_underpayment_tells_what_is_missing_for_the_deposit() {
    let cabin = Cabin::held();
    let under = AccommodationEvent::UnderpaymentReceived(UnderpaymentReceived {
        reservation_id: cabin.id,
        payment: payment("p-1", PaymentStatus::Approved, 20_000),
        deposit: Money::pesos(27_000),
        paid_total: Money::pesos(20_000),
        received_at: now(),
    });
    assert_eq!(
        text(told(&cabin, &under)),
        format!(
            "Recibimos $ 20.000 para la reserva {}, pero la seña es de $ 27.000. Te falta pagar \
             $ 7.000 para confirmarla.",
            cabin.code()
        )
    );
}

#[test]
fn a_refund_says_it_may_take_days_to_show() {
    let cabin = Cabin::confirmed(27_000);
    let issued = AccommodationEvent::RefundIssued(RefundIssued {
        reservation_id: cabin.id,
        refund_key: "k".into(),
        refund_id: "r".into(),
        amount: Money::pesos(27_000),
        issued_at: now(),
    });
    assert_eq!(
        text(told(&cabin, &issued)),
        format!(
            "Te devolvimos $ 27.000 de la reserva {}. Puede tardar unos días en verse en tu \
             medio de pago.",
            cabin.code()
        )
    );
}

#[test]
fn a_lapsed_hold_invites_a_transfer_receipt_or_other_dates() {
    let cabin = Cabin::held();
    let expired = AccommodationEvent::HoldExpired(HoldExpired {
        reservation_id: cabin.id,
        stay: nights(11, 13),
        expired_at: now(),
    });
    assert_eq!(
        text(told(&cabin, &expired)),
        format!(
            "Tu reserva {} (Cabaña del Lago del lun 11/01 al mié 13/01) venció porque no nos \
             llegó la seña a tiempo, y esas noches quedaron libres. Si ya la pagaste por \
             transferencia, mandame el comprobante por acá: si las noches siguen libres, la \
             confirmamos igual. Si todavía querés venir, escribime las fechas y vemos qué hay.",
            cabin.code()
        )
    );
}

#[test]
fn a_cancellation_promises_word_of_any_refund() {
    let cabin = Cabin::held();
    let cancelled = AccommodationEvent::Cancelled(ReservationCancelled {
        reservation_id: cabin.id,
        stay: nights(11, 13),
        by: CancelledBy::Admin,
        reason: "owner".into(),
        was_confirmed: false,
        cancelled_at: now(),
    });
    assert_eq!(
        text(told(&cabin, &cancelled)),
        format!(
            "Tu reserva {} (Cabaña del Lago del lun 11/01 al mié 13/01) fue cancelada. Si \
             corresponde una devolución, te avisamos por acá cuando la hagamos.",
            cabin.code()
        )
    );
}

#[test]
fn events_a_guest_need_not_hear_of_tell_nothing() {
    let cabin = Cabin::confirmed(27_000);
    // A pending payment on a confirmed stay.
    assert_eq!(
        told(&cabin, &recorded(&cabin, PaymentStatus::Pending, 10_000)),
        None
    );
}

#[test]
fn the_reminder_tells_when_the_hold_lapses_with_a_button_to_pay() {
    let hold = UnpaidHold {
        code: "K7M2QXP",
        cabin: "Cabaña del Lago",
        check_in: day(11),
        check_out: day(13),
        expires_at: now() + Duration::minutes(30),
        deposit: Money::pesos(27_000),
        link: "https://mp.example/pay/1",
    };
    assert_eq!(
        unpaid_reminder(&hold),
        Reply::Link {
            body: "⏰ Tu reserva K7M2QXP (Cabaña del Lago del lun 11/01 al mié 13/01) vence a las \
                   10:30 (hora de Argentina). Si todavía querés confirmarla, pagá la seña de \
                   $ 27.000."
                .into(),
            button: "Pagar la seña".into(),
            url: "https://mp.example/pay/1".into(),
        }
    );
}

#[test]
fn a_new_booking_tells_the_owner_who_through_where_and_what_is_left() {
    let cabin = Cabin::confirmed(27_000);
    let (r, house) = (cabin.reservation(), cabin.house());
    let code = cabin.code();
    assert_eq!(
        new_booking(r, house, Some("Ana"), Some("+5491122334455")),
        format!(
            "🎉 Nueva reserva {code}, confirmada: Cabaña del Lago del lun 11/01 al mié 13/01, 2 \
             personas, de Ana (+5491122334455) por WhatsApp. Pagó $ 27.000; saldo a cobrar al \
             llegar: $ 63.000."
        )
    );
    assert!(new_booking(r, house, Some("Ana"), None).contains(", de Ana por WhatsApp."));
    assert!(new_booking(r, house, None, Some("+54911")).contains(", de un huésped por WhatsApp."));
}

#[test]
fn a_balance_paid_online_tells_the_owner_what_is_left_to_collect() {
    let cabin = Cabin::confirmed(27_000);
    assert_eq!(
        paid_online(cabin.reservation(), cabin.house(), Money::pesos(10_000)),
        format!(
            "💰 Reserva {} (Cabaña del Lago del lun 11/01 al mié 13/01): entró un pago de \
             $ 10.000 por Mercado Pago; saldo a cobrar al llegar: $ 63.000.",
            cabin.code()
        )
    );
}

fn cancelled_by_guest(mut cabin: Cabin) -> Cabin {
    cabin.step(AccommodationCommand::Cancel(CancelReservation {
        reservation_id: cabin.id,
        by: CancelledBy::Guest,
        reason: "pedido por WhatsApp".into(),
        refund_all: false,
    }));
    cabin
}

#[test]
fn a_guest_cancelling_a_transfer_tells_the_owner_to_give_it_back_by_hand() {
    let cabin = cancelled_by_guest(Cabin::confirmed(27_000));
    let code = cabin.code();
    assert_eq!(
        guest_cancelled(cabin.reservation(), cabin.house()),
        format!(
            "El huésped canceló la reserva {code} (Cabaña del Lago del lun 11/01 al mié 13/01): \
             esas noches quedaron libres. Tu política le devuelve $ 27.000; de eso, $ 27.000 lo \
             pagó a mano y te toca devolvérselo vos: cuando lo hagas, escribime «devuelto {code}»."
        )
    );
}

#[test]
fn a_guest_cancelling_an_online_payment_is_refunded_by_mercado_pago() {
    let mut paid = Cabin::held();
    paid.step(AccommodationCommand::ApplyPayment(ApplyPayment {
        reservation_id: paid.id,
        payment: payment("p-1", PaymentStatus::Approved, 27_000),
    }));
    let cabin = cancelled_by_guest(paid);
    assert!(
        guest_cancelled(cabin.reservation(), cabin.house())
            .ends_with(" Tu política le devuelve $ 27.000: Mercado Pago se lo devuelve solo."),
        "{}",
        guest_cancelled(cabin.reservation(), cabin.house())
    );
}

#[test]
fn a_guest_cancelling_without_refund_is_told_so_to_the_owner() {
    let cabin = Cabin::confirmed(27_000);
    // Nothing decided to go back, as when a cancellation comes too late for the policy.
    assert!(
        guest_cancelled(cabin.reservation(), cabin.house())
            .ends_with(" Según tu política de cancelación no le corresponde devolución."),
    );
}

#[test]
fn a_payment_in_trouble_sends_the_owner_to_the_alerts() {
    assert_eq!(
        payment_trouble("K7M2QXP", PaymentTrouble::Underpayment),
        "⚠️ Reserva K7M2QXP: un pago menor a la seña. Revisalo en /v1/admin/alerts."
    );
    assert_eq!(
        payment_trouble("K7M2QXP", PaymentTrouble::LatePaymentRefunded),
        "⚠️ Reserva K7M2QXP: un pago tardío que se devuelve (las noches ya estaban ocupadas). \
         Revisalo en /v1/admin/alerts."
    );
    assert_eq!(
        payment_trouble("K7M2QXP", PaymentTrouble::Reversed),
        "⚠️ Reserva K7M2QXP: un contracargo o devolución hecha desde Mercado Pago. Revisalo en \
         /v1/admin/alerts."
    );
}

#[test]
fn each_channel_has_the_name_the_owner_calls_it() {
    assert_eq!(channel_label(Channel::Whatsapp), "WhatsApp");
    assert_eq!(channel_label(Channel::Direct), "la web");
    assert_eq!(channel_label(Channel::Admin), "el panel");
    assert_eq!(channel_label(Channel::Airbnb), "Airbnb");
    assert_eq!(channel_label(Channel::Booking), "Booking.com");
}

#[test]
fn a_payment_link_too_long_for_a_button_is_sent_as_text() {
    let link = format!("https://mp.example/{}", "x".repeat(3000));
    assert_eq!(
        pay_button("Pagá".into(), "Pagar la seña", &link),
        Reply::Text(format!("Pagá\n{link}"))
    );
}

#[test]
fn times_are_told_in_argentina() {
    assert_eq!(local_time(now()), "10:00");
}
