//! Finishing a turn with what the outside world answered: by the family of the outcome (the
//! booking, payments, the guest's reservations, the house).

use chrono::{DateTime, Duration, Utc};
use domain::Money;

use super::booking::reprompt;
use super::replies::{
    ask_dates, confirm_prompt, day_label, house_answers, house_times, menu, offers_list, or_text,
    text,
};
use super::{
    BalanceDue, Draft, HeldStay, Outcome, PendingPayment, ReservationSummary, Setting, State, Turn,
    ids,
};
use crate::nlu::Partial;
use crate::nlu::say::{party_words, stay_words};
use crate::reply::{ButtonsBuilder, ListBuilder, Reply, clip};

fn turn(state: State, replies: Vec<Reply>) -> Turn {
    Turn {
        state,
        replies,
        handoff: false,
    }
}

/// Finishes a turn that needed the outside world, in Argentina (see [`after_in`]).
pub fn after(pending: State, outcome: Outcome) -> Turn {
    after_in(&Setting::at(Utc::now()), pending, outcome)
}

/// Finishes a turn that needed the outside world; times are said in the setting's local time.
pub fn after_in(setting: &Setting, pending: State, outcome: Outcome) -> Turn {
    match outcome {
        Outcome::Offers(_)
        | Outcome::PartyTooLarge { .. }
        | Outcome::StayTooShort { .. }
        | Outcome::Held { .. }
        | Outcome::Moved { .. }
        | Outcome::Unavailable => booking(setting, pending, outcome),
        Outcome::TransferToCheck { .. }
        | Outcome::Lapsed { .. }
        | Outcome::PaymentLinks(_)
        | Outcome::Balances(_) => payments(pending, outcome),
        Outcome::Reservations(_)
        | Outcome::Reservation(_)
        | Outcome::Cancelled { .. }
        | Outcome::NotCancellable { .. }
        | Outcome::CancellationTerms { .. } => reservations(pending, outcome),
        // An answer about the house keeps the question it interrupted open, and asks it again.
        Outcome::HouseTimes(houses) => {
            let mut replies = vec![text(house_times(&houses))];
            replies.extend(reprompt(&pending));
            turn(pending, replies)
        }
        Outcome::HouseAnswers(answers) => {
            let mut replies = vec![text(house_answers(&answers))];
            replies.extend(reprompt(&pending));
            turn(pending, replies)
        }
    }
}

/// "HH:MM" where the guest is.
fn local_time(setting: &Setting, at: DateTime<Utc>) -> String {
    (at + Duration::minutes(i64::from(setting.utc_offset_minutes)))
        .format("%H:%M")
        .to_string()
}

fn asking_dates(guests: Option<u32>) -> State {
    State::Booking {
        draft: Draft {
            guests,
            ..Draft::default()
        },
    }
}

/// Offers found, a hold placed or moved, or why not.
fn booking(setting: &Setting, pending: State, outcome: Outcome) -> Turn {
    match (pending, outcome) {
        (
            State::ChoosingAccommodation {
                check_in,
                check_out,
                guests,
                cabin,
                ..
            },
            Outcome::Offers(offers),
        ) => offered(check_in, check_out, guests, cabin, offers),
        (pending, Outcome::PartyTooLarge { largest }) => too_large(pending, largest),
        (State::ChoosingAccommodation { guests, .. }, Outcome::StayTooShort { min_nights }) => {
            turn(
                asking_dates(Some(guests)),
                vec![
                    text(format!(
                        "Para {guests} personas la estadía mínima es de {min_nights} noches. ¿Qué \
                         fechas te sirven?"
                    )),
                    ask_dates(),
                ],
            )
        }
        (
            pending,
            Outcome::Held {
                code,
                deposit,
                expires_at,
            },
        ) => held(setting, pending, code, deposit, expires_at),
        (
            pending,
            Outcome::Moved {
                code,
                deposit,
                expires_at,
            },
        ) => moved(setting, pending, code, deposit, expires_at),
        (pending, Outcome::Unavailable) => unavailable(pending),
        (state, _) => turn(state, Vec::new()),
    }
}

/// No cabin takes the party: a hold stays as it was; a search asks whom to look for first.
fn too_large(pending: State, largest: u32) -> Turn {
    match pending {
        State::Held { hold } | State::ConfirmingMove { hold, .. } => turn(
            State::Held { hold: hold.clone() },
            vec![text(format!(
                "{} es para hasta {largest} personas, así que no puedo cambiar la reserva {}. \
                 Sigue como estaba; si querés otra cabaña, escribí \"hablar con alguien\".",
                hold.cabin, hold.code
            ))],
        ),
        State::ChoosingAccommodation {
            check_in,
            check_out,
            guests,
            ..
        } => turn(
            // Same dates: "somos 4" next searches them for a part of the group.
            State::Booking {
                draft: Draft {
                    stay: Partial {
                        check_in: Some(check_in),
                        check_out: Some(check_out),
                        ..Partial::default()
                    },
                    ..Draft::default()
                },
            },
            vec![text(format!(
                "Nuestras cabañas son para hasta {largest} personas, así que para {guests} no \
                 alcanza una sola. ¿Se dividen? Decime para cuántos busco primero (por ejemplo \
                 \"para {largest}\"), o escribí \"hablar con alguien\" y te ayuda la persona a cargo."
            ))],
        ),
        state => turn(state, Vec::new()),
    }
}

/// The hold placed: its code, the deposit and until when it is kept.
fn held(
    setting: &Setting,
    pending: State,
    code: String,
    deposit: Money,
    expires_at: DateTime<Utc>,
) -> Turn {
    // The hold just placed stays in the conversation: a correction moves it.
    let state = match pending {
        State::ConfirmingHold {
            check_in,
            check_out,
            guests,
            offer,
        } => State::Held {
            hold: HeldStay {
                code: code.clone(),
                accommodation_id: offer.accommodation_id,
                cabin: offer.name,
                check_in,
                check_out,
                guests,
            },
        },
        _ => State::Menu,
    };
    turn(
        state,
        vec![text(format!(
            "¡Listo! Te la reservé con el código {code}. Para confirmarla pagá la seña de \
             {deposit} antes de las {}. Ya te mando el link de pago.",
            local_time(setting, expires_at)
        ))],
    )
}

/// The nights were taken in the meantime: a hold being moved stays as it was.
fn unavailable(pending: State) -> Turn {
    match pending {
        State::ConfirmingMove { hold, .. } | State::Held { hold } => turn(
            State::Held { hold: hold.clone() },
            vec![text(format!(
                "Uy, esas noches no están libres en {}. Tu reserva {} sigue como estaba.",
                hold.cabin, hold.code
            ))],
        ),
        _ => turn(
            asking_dates(None),
            vec![
                text("Uy, esas noches se acaban de ocupar. ¿Probamos otras fechas?"),
                ask_dates(),
            ],
        ),
    }
}

/// The cabins free for the stay: the one named (or the only one) offered as it is, else the
/// list, cheapest first ("la más barata", "la primera" and the list agree).
fn offered(
    check_in: chrono::NaiveDate,
    check_out: chrono::NaiveDate,
    guests: u32,
    cabin: Option<String>,
    mut offers: Vec<super::Offer>,
) -> Turn {
    if offers.is_empty() {
        return turn(
            asking_dates(Some(guests)),
            vec![
                text(format!(
                    "Para {} a {} no me queda lugar para {guests}. ¿Probamos otras fechas?",
                    day_label(check_in),
                    day_label(check_out)
                )),
                ask_dates(),
            ],
        );
    }
    offers.sort_by_key(|o| o.total);
    let wanted = cabin
        .as_deref()
        .and_then(|name| offers.iter().find(|o| o.name == name))
        .cloned();
    let only = (offers.len() == 1).then(|| offers[0].clone());
    if let Some(offer) = wanted.or(only) {
        return turn(
            State::ConfirmingHold {
                check_in,
                check_out,
                guests,
                offer: offer.clone(),
            },
            vec![confirm_prompt(check_in, check_out, guests, &offer)],
        );
    }
    let mut replies = Vec::new();
    if let Some(name) = &cabin {
        replies.push(text(format!(
            "{name} no está libre para esas noches (o no alcanza para {}).",
            party_words(guests)
        )));
    }
    replies.push(offers_list(check_in, check_out, guests, &offers));
    turn(
        State::ChoosingAccommodation {
            check_in,
            check_out,
            guests,
            offers,
            cabin: None,
        },
        replies,
    )
}

/// The hold moved: the new nights said back, with the new code and deposit.
fn moved(
    setting: &Setting,
    pending: State,
    code: String,
    deposit: Money,
    expires_at: DateTime<Utc>,
) -> Turn {
    let State::ConfirmingMove {
        hold,
        check_in,
        check_out,
        guests,
    } = pending
    else {
        return turn(pending, Vec::new());
    };
    let said = format!(
        "{} en {}, {}",
        stay_words(check_in, check_out),
        hold.cabin,
        party_words(guests)
    );
    let hold = HeldStay {
        code: code.clone(),
        check_in,
        check_out,
        guests,
        ..hold
    };
    turn(
        State::Held { hold },
        vec![text(format!(
            "¡Listo! Cambié tu reserva: ahora es {said}, con el código {code}. La seña es de \
             {deposit} y se paga antes de las {}. Te mando el link nuevo.",
            local_time(setting, expires_at)
        ))],
    )
}

/// Payments: a transfer to check, lapsed holds, links, balances.
fn payments(pending: State, outcome: Outcome) -> Turn {
    match (pending, outcome) {
        (_, Outcome::TransferToCheck { codes }) => turn(
            State::Menu,
            vec![text(format!(
                "¡Gracias! Le aviso a la persona a cargo para que revise la transferencia y \
                 confirme tu reserva {}. Te escribo por acá apenas esté.",
                codes.join(", ")
            ))],
        ),
        (_, Outcome::Lapsed { codes }) => lapsed(&codes),
        (State::CheckingPayment, Outcome::PaymentLinks(pending)) => not_arrived(pending),
        (State::CheckingPayment, outcome @ Outcome::Balances(_)) => {
            let mut told = after(State::Menu, outcome);
            told.replies.insert(
                0,
                text(
                    "Tu seña está acreditada. Queda el saldo: si lo pagaste hace un momento puede \
                     tardar unos minutos en verse; si lo pagás al llegar, no hace falta nada más.",
                ),
            );
            told
        }
        (_, Outcome::PaymentLinks(pending)) => payment_links(&pending),
        (_, Outcome::Balances(stays)) => balances(&stays),
        (state, _) => turn(state, Vec::new()),
    }
}

/// Holds that lapsed before their deposit came: a late payment is still honoured.
fn lapsed(codes: &[String]) -> Turn {
    let (yours, lapsed) = match codes {
        [_] => ("Tu reserva", "venció"),
        _ => ("Tus reservas", "vencieron"),
    };
    turn(
        State::Menu,
        vec![text(format!(
            "{yours} {} {lapsed} antes de que llegara la seña. Si ya la pagaste, se \
             confirma igual mientras las noches sigan libres: con Mercado Pago se ve \
             sola en unos minutos (y si se ocuparon, te devolvemos todo); si fue por \
             transferencia, mandame el comprobante y le aviso a la persona a cargo. Si \
             no, escribime las fechas y buscamos de nuevo.",
            codes.join(", ")
        ))],
    )
}

/// The guest says they paid and these deposits are still waiting: what may be late, and the
/// links again.
fn not_arrived(pending: Vec<PendingPayment>) -> Turn {
    if pending.is_empty() {
        return turn(
            State::Menu,
            vec![text(
                "No tenés pagos pendientes: tus reservas están al día.",
            )],
        );
    }
    let codes: Vec<String> = pending.iter().map(|p| p.code.clone()).collect();
    let not_yet = format!(
        "Todavía no me llegó la seña de {} {}. Si la pagaste con Mercado Pago puede \
         tardar unos minutos en acreditarse: te aviso por acá apenas llegue. Si fue por \
         transferencia, mandame el comprobante y le aviso a la persona a cargo para que \
         la revise.",
        if codes.len() == 1 {
            "la reserva"
        } else {
            "las reservas"
        },
        codes.join(", ")
    );
    let mut told = after(State::Menu, Outcome::PaymentLinks(pending));
    told.replies.insert(0, text(not_yet));
    told
}

/// The deposits waiting: one link as a button, several as lines.
fn payment_links(pending: &[PendingPayment]) -> Turn {
    if let [
        PendingPayment {
            code,
            deposit,
            link: Some(link),
        },
    ] = pending
    {
        return turn(
            State::Menu,
            vec![or_text(
                Reply::link(
                    format!("Reserva {code}: la seña es de {deposit}."),
                    "Pagar la seña",
                    link.clone(),
                ),
                &format!("Reserva {code}: pagá la seña de {deposit} acá: {link}"),
            )],
        );
    }
    if pending.is_empty() {
        return turn(
            State::Menu,
            vec![menu("No tenés reservas esperando un pago. ")],
        );
    }
    let lines: Vec<String> = pending
        .iter()
        .map(|p| match &p.link {
            Some(link) => {
                format!("• {}: seña de {}, pagala acá: {link}", p.code, p.deposit)
            }
            None => format!(
                "• {}: seña de {}; el link está en camino, te lo mando en un momento.",
                p.code, p.deposit
            ),
        })
        .collect();
    turn(State::Menu, vec![text(lines.join("\n"))])
}

/// The deposits are paid: the balances left, one link as a button, several as lines.
fn balances(stays: &[BalanceDue]) -> Turn {
    let what = |b: &BalanceDue| {
        format!(
            "{} ({}, {}): saldo de {}",
            b.code,
            b.accommodation,
            day_label(b.check_in),
            b.amount
        )
    };
    if let [
        b @ BalanceDue {
            link: Some(link), ..
        },
    ] = stays
    {
        let body = format!("{}. Podés pagarlo ahora o al llegar.", what(b));
        return turn(
            State::Menu,
            vec![or_text(
                Reply::link(body.clone(), "Pagar el saldo", link.clone()),
                &format!("{body} {link}"),
            )],
        );
    }
    let lines: Vec<String> = stays
        .iter()
        .map(|b| match &b.link {
            Some(link) => format!("• {}: pagalo acá {link}", what(b)),
            None => format!("• {}: te mando el link en un momento.", what(b)),
        })
        .collect();
    turn(
        State::Menu,
        vec![text(format!(
            "{} El saldo lo podés pagar ahora o al llegar:\n{}",
            if stays.len() == 1 {
                "La seña ya está paga."
            } else {
                "Las señas ya están pagas."
            },
            lines.join("\n")
        ))],
    )
}

/// The guest's reservations: the list, one of them, a cancellation and its terms.
fn reservations(pending: State, outcome: Outcome) -> Turn {
    match (pending, outcome) {
        (_, Outcome::Reservations(list)) => listed(&list),
        (State::ManagingReservation { code }, Outcome::Reservation(Some(r))) => shown(&code, &r),
        (_, Outcome::Reservation(_)) => turn(
            State::Menu,
            vec![menu("No encontré esa reserva entre las tuyas. ")],
        ),
        (_, Outcome::Cancelled { code }) => turn(
            State::Menu,
            vec![text(format!(
                "Listo, cancelé la reserva {code}. Si había una seña paga, te escribimos por la \
                 devolución."
            ))],
        ),
        (_, Outcome::NotCancellable { code, why }) => turn(
            State::Menu,
            vec![text(format!("No pude cancelar {code}: {why}."))],
        ),
        (_, Outcome::CancellationTerms { code, paid, refund }) => terms(&code, paid, refund),
        (state, _) => turn(state, Vec::new()),
    }
}

/// The guest's reservations as a list to pick from.
fn listed(list: &[ReservationSummary]) -> Turn {
    if list.is_empty() {
        return turn(State::Menu, vec![menu("No tenés reservas activas. ")]);
    }
    let rows = list.iter().take(crate::reply::limits::LIST_ROWS).fold(
        ListBuilder::new("Tus reservas:", "Ver reservas"),
        |l, r| {
            let title = clip(
                &format!("{} · {}", r.code, r.accommodation),
                crate::reply::limits::ROW_TITLE,
            );
            let status = match r.status.as_str() {
                "confirmed" if r.balance_due > Money::ZERO => {
                    format!("confirmada · saldo {}", r.balance_due)
                }
                "confirmed" => "confirmada".to_owned(),
                _ => "esperando la seña".to_owned(),
            };
            l.row(
                format!("{}{}", ids::RESERVATION_PREFIX, r.code),
                title,
                Some(format!(
                    "{} a {} · {status}",
                    day_label(r.check_in),
                    day_label(r.check_out)
                )),
            )
        },
    );
    turn(
        State::ChoosingReservation,
        vec![or_text(rows.build(), "Escribime el código de la reserva.")],
    )
}

/// One of the guest's reservations: its stay and what is paid, with the button to cancel it;
/// one that is over is only named.
fn shown(code: &str, r: &ReservationSummary) -> Turn {
    let status = match r.status.as_str() {
        "confirmed" if r.balance_due > Money::ZERO => format!(
            "Confirmada. Pagaste {}; saldo a pagar al llegar: {}.",
            r.paid, r.balance_due
        ),
        "confirmed" => format!("Confirmada y paga ({}).", r.paid),
        "held" => "Esperando la seña: escribí \"pagar\" y te mando el link.".to_owned(),
        "cancelled" => {
            let over = format!("La reserva {code} está cancelada. ");
            return turn(State::Menu, vec![menu(&over)]);
        }
        _ => {
            let over = format!("La reserva {code} venció sin la seña. ");
            return turn(State::Menu, vec![menu(&over)]);
        }
    };
    let detail = format!(
        "Reserva {code} · {}\n{} a {} · {} personas\n{status}\n¿Qué querés hacer?",
        r.accommodation,
        day_label(r.check_in),
        day_label(r.check_out),
        r.guests
    );
    turn(
        State::ManagingReservation {
            code: code.to_owned(),
        },
        vec![or_text(
            ButtonsBuilder::new(detail.clone())
                .button(format!("{}{code}", ids::CANCEL_PREFIX), "Cancelar reserva")
                .button(ids::BACK_TO_MENU, "Volver al menú")
                .build(),
            &format!("{detail} Para cancelarla respondé \"cancelar\"."),
        )],
    )
}

/// What cancelling `code` now gives back, and the question whether to.
fn terms(code: &str, paid: Money, refund: Money) -> Turn {
    let terms = if paid == Money::ZERO {
        format!("¿Cancelo la reserva {code}? Las noches quedan libres para otros.")
    } else if refund == paid {
        format!(
            "Si cancelás la reserva {code} te devolvemos todo lo que pagaste ({paid}). ¿La cancelo?"
        )
    } else if refund == Money::ZERO {
        format!(
            "Según la política de cancelación de la cabaña, a esta altura no hay \
             devolución: perderías lo que pagaste ({paid}). ¿Cancelo igual la reserva {code}?"
        )
    } else {
        format!(
            "Según la política de cancelación de la cabaña te devolvemos {refund} de los \
             {paid} que pagaste. ¿Cancelo la reserva {code}?"
        )
    };
    turn(
        State::ConfirmingCancel {
            code: code.to_owned(),
        },
        vec![or_text(
            ButtonsBuilder::new(terms.clone())
                .button(
                    format!("{}{code}", ids::CONFIRM_CANCEL_PREFIX),
                    "Sí, cancelarla",
                )
                .button(ids::BACK_TO_MENU, "No, dejarla")
                .build(),
            &format!("{terms} Respondé \"cancelar\" para confirmarlo."),
        )],
    )
}
