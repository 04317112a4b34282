//! The owner's alerts raised from the chat, in words: a guest who asked for a person (with
//! their stays to come and how to hand the conversation back), a transfer to check (and the
//! guest's thanks for the receipt), a question about the house nobody has answered yet.
//!
//! Button ids are the caller's (the owner's commands own them): each alert takes the prefix its
//! button's id starts with.

use chrono::NaiveDate;

use crate::dialogue::day_label;
use crate::reply::{Button, ButtonsBuilder, Reply, clip};

/// The guest as the owner knows them: their WhatsApp profile name (when it says something) and
/// number.
pub fn sender(profile_name: Option<&str>, wa_id: &str) -> String {
    let who = profile_name
        .filter(|n| !n.trim().is_empty())
        .unwrap_or("Un huésped");
    format!("{who} (+{wa_id})")
}

/// One of a guest's held or confirmed stays yet to end, as a hand-off shows it to the owner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GuestStay {
    pub code: String,
    /// The cabin's name, when the read model has it.
    pub cabin: Option<String>,
    pub check_in: NaiveDate,
    pub check_out: NaiveDate,
    /// Confirmed, rather than waiting for its deposit.
    pub confirmed: bool,
}

/// The owner's alert that the guest `wa_id` asked to talk to a person: what they wrote (when
/// they wrote it), their stays to come with the owner's commands to move or cancel one, how to
/// write to them, and a button (id `release_button` + `wa_id`) that hands them back to the bot.
pub fn handoff(
    profile_name: Option<&str>,
    wa_id: &str,
    said: Option<&str>,
    stays: &[GuestStay],
    release_button: &str,
) -> Reply {
    let mut body = format!(
        "🙋 {} pidió hablar con una persona.",
        sender(profile_name, wa_id)
    );
    if let Some(said) = said {
        body.push_str(&format!(" Escribió: «{}».", clip(said.trim(), 300)));
    }
    // What they may want to change, with the owner's commands for it.
    body.push_str(&stays_to_come(stays));
    body.push_str(&format!(
        " Escribile a https://wa.me/{wa_id} (o desde este número con POST \
         /v1/admin/whatsapp/conversations/{wa_id}/messages). El asistente no le contesta \
         hasta que se la devuelvas (el botón, o «liberar +{wa_id}»), o hasta que pase un \
         día sin que escriba."
    ));
    Reply::Buttons {
        body,
        footer: None,
        buttons: vec![Button {
            id: format!("{release_button}{wa_id}"),
            title: "Devolver al bot".into(),
        }],
    }
}

/// The guest's stays to come, each with its cabin and nights, and how to move or cancel the
/// first from the owner's WhatsApp. Empty when none.
fn stays_to_come(stays: &[GuestStay]) -> String {
    let Some(first) = stays.first() else {
        return String::new();
    };
    let listed: Vec<String> = stays
        .iter()
        .map(|s| {
            format!(
                "{} ({}, {} al {}, {})",
                s.code,
                s.cabin.as_deref().unwrap_or("cabaña"),
                day_label(s.check_in),
                day_label(s.check_out),
                if s.confirmed {
                    "confirmada"
                } else {
                    "esperando la seña"
                }
            )
        })
        .collect();
    let first = &first.code;
    format!(
        " Sus reservas: {}. Para moverla: «mover {first} del … al …»; para cancelarla: \
         «cancelar {first}».",
        listed.join("; ")
    )
}

/// A hold the guest may have paid by transfer, and whether it has lapsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WaitingHold {
    pub code: String,
    pub lapsed: bool,
}

/// What makes the owner think a transfer may have arrived.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransferHint {
    /// The guest wrote that they made it.
    Said,
    /// The guest sent a picture or a document: the receipt, in practice.
    SentFile,
}

/// The owner's alert that a transfer for the deposit of the `waiting` holds may have arrived,
/// from `sender` (see [`sender`]): they confirm transfers by hand, from their bank. With a
/// button (id `confirm_button` + the code) when one hold waits; a lapsed hold is confirmed all
/// the same while its nights are free.
pub fn transfer(
    sender: &str,
    hint: TransferHint,
    waiting: &[WaitingHold],
    confirm_button: &str,
) -> Reply {
    let what = match hint {
        TransferHint::Said => "dice que hizo la transferencia",
        TransferHint::SentFile => "mandó un archivo, tal vez el comprobante de la transferencia",
    };
    let codes: Vec<String> = waiting
        .iter()
        .map(|w| {
            if w.lapsed {
                format!("{} (venció)", w.code)
            } else {
                w.code.clone()
            }
        })
        .collect();
    let late = if waiting.iter().any(|w| w.lapsed) {
        " Aunque haya vencido, se confirma igual si las noches siguen libres."
    } else {
        ""
    };
    let said = format!("📎 {sender} {what} de la seña de {}.", codes.join(", "));
    match waiting {
        [one] => {
            let body = format!(
                "{said} Cuando la veas en tu cuenta, tocá «Confirmar seña» (o escribime \
                 «confirmar {code}», con el monto si llegó otro).{late}",
                code = one.code
            );
            ButtonsBuilder::new(body.clone())
                .button(format!("{confirm_button}{}", one.code), "Confirmar seña")
                .build()
                // A profile name long enough to pass WhatsApp's limits: the words still say how.
                .unwrap_or(Reply::Text(body))
        }
        _ => Reply::Text(format!(
            "{said} Cuando la veas en tu cuenta, escribime «confirmar» y el código de la \
             reserva que corresponda.{late}"
        )),
    }
}

/// The caption of the file a guest sent, forwarded to the owner after the transfer alert so
/// they see what to look for in their account (`codes`: the holds it may pay, joined).
pub fn receipt_caption(sender: &str, codes: &str) -> String {
    format!("Lo que mandó {sender} para la seña de {codes}")
}

/// The guest's answer to a file sent while holds wait for their deposit (`codes`, joined).
pub fn receipt_thanks(codes: &str) -> String {
    format!(
        "¡Gracias! Si es el comprobante de la transferencia, ya le aviso a la persona a cargo \
         para que la revise y confirme tu reserva {codes}. Te escribo por acá apenas esté."
    )
}

/// The owner told that an imported calendar (`calendar`, e.g. "airbnb") brings a booking over
/// nights of ours: `occupant_code` the reservation it clashes with (none: one of our blocks).
pub fn calendar_conflict(
    calendar: &str,
    check_in: chrono::NaiveDate,
    check_out: chrono::NaiveDate,
    occupant_code: Option<&str>,
) -> String {
    let ours =
        occupant_code.map_or_else(|| "otro bloqueo".to_owned(), |c| format!("la reserva {c}"));
    format!(
        "⚠️ Posible doble reserva: {calendar} trae una reserva del {} al {} que se superpone con \
         {ours}. Revisalo en el panel.",
        crate::dialogue::day_label(check_in),
        crate::dialogue::day_label(check_out),
    )
}

/// The owner's alert that a guest asked about `topic` (its key, as the owner writes it) and no
/// cabin has an answer for it: how to teach one.
pub fn unanswered_question(topic: &str) -> String {
    format!(
        "❓ Un huésped preguntó por «{topic}» y no tengo nada anotado para \
         contestarle. Para que la próxima vez conteste solo, escribime \
         «respuesta {topic}: …» con lo que quieras que diga."
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notices::fixtures;

    fn stay(code: &str, confirmed: bool) -> GuestStay {
        GuestStay {
            code: code.into(),
            cabin: confirmed.then(|| "Cabaña del Lago".to_owned()),
            check_in: fixtures::day(11),
            check_out: fixtures::day(13),
            confirmed,
        }
    }

    fn hold(code: &str, lapsed: bool) -> WaitingHold {
        WaitingHold {
            code: code.into(),
            lapsed,
        }
    }

    #[test]
    fn the_sender_is_their_profile_name_or_a_guest_with_their_number() {
        assert_eq!(sender(Some("Ana"), "5491122334455"), "Ana (+5491122334455)");
        assert_eq!(
            sender(Some("  "), "5491122334455"),
            "Un huésped (+5491122334455)"
        );
        assert_eq!(sender(None, "5491122334455"), "Un huésped (+5491122334455)");
    }

    #[test]
    fn a_handoff_tells_the_owner_what_was_said_the_stays_and_how_to_hand_back() {
        let Reply::Buttons { body, buttons, .. } = handoff(
            Some("Ana"),
            "5491122334455",
            Some("  quiero hablar con alguien  "),
            &[stay("K7M2QXP", true), stay("QWERTYU", false)],
            "release:",
        ) else {
            panic!("the handoff alert has a button");
        };
        assert_eq!(
            body,
            "🙋 Ana (+5491122334455) pidió hablar con una persona. Escribió: «quiero hablar con \
             alguien». Sus reservas: K7M2QXP (Cabaña del Lago, lun 11/01 al mié 13/01, \
             confirmada); QWERTYU (cabaña, lun 11/01 al mié 13/01, esperando la seña). Para \
             moverla: «mover K7M2QXP del … al …»; para cancelarla: «cancelar K7M2QXP». \
             Escribile a https://wa.me/5491122334455 (o desde este número con POST \
             /v1/admin/whatsapp/conversations/5491122334455/messages). El asistente no le \
             contesta hasta que se la devuelvas (el botón, o «liberar +5491122334455»), o hasta \
             que pase un día sin que escriba."
        );
        assert_eq!(
            buttons,
            vec![Button {
                id: "release:5491122334455".into(),
                title: "Devolver al bot".into(),
            }]
        );
    }

    #[test]
    fn a_handoff_without_words_or_stays_says_only_who_and_how_to_write() {
        let Reply::Buttons { body, .. } = handoff(None, "54911", None, &[], "release:") else {
            panic!("the handoff alert has a button");
        };
        assert!(
            body.starts_with(
                "🙋 Un huésped (+54911) pidió hablar con una persona. Escribile a \
                 https://wa.me/54911 "
            ),
            "{body}"
        );
    }

    #[test]
    fn a_transfer_for_one_hold_comes_with_a_button_to_confirm_it() {
        let alert = transfer(
            "Ana (+54911)",
            TransferHint::Said,
            &[hold("K7M2QXP", false)],
            "confirm:",
        );
        let Reply::Buttons { body, buttons, .. } = alert else {
            panic!("one hold: a button");
        };
        assert_eq!(
            body,
            "📎 Ana (+54911) dice que hizo la transferencia de la seña de K7M2QXP. Cuando la \
             veas en tu cuenta, tocá «Confirmar seña» (o escribime «confirmar K7M2QXP», con el \
             monto si llegó otro)."
        );
        assert_eq!(buttons[0].id, "confirm:K7M2QXP");
        assert_eq!(buttons[0].title, "Confirmar seña");
    }

    #[test]
    fn a_file_for_several_holds_names_each_and_says_a_lapsed_one_can_still_be_confirmed() {
        assert_eq!(
            transfer(
                "Ana (+54911)",
                TransferHint::SentFile,
                &[hold("K7M2QXP", true), hold("QWERTYU", false)],
                "confirm:",
            ),
            Reply::Text(
                "📎 Ana (+54911) mandó un archivo, tal vez el comprobante de la transferencia de \
                 la seña de K7M2QXP (venció), QWERTYU. Cuando la veas en tu cuenta, escribime \
                 «confirmar» y el código de la reserva que corresponda. Aunque haya vencido, se \
                 confirma igual si las noches siguen libres."
                    .into()
            )
        );
    }

    #[test]
    fn the_receipt_goes_to_the_owner_captioned_and_the_guest_is_thanked() {
        assert_eq!(
            receipt_caption("Ana (+54911)", "K7M2QXP, QWERTYU"),
            "Lo que mandó Ana (+54911) para la seña de K7M2QXP, QWERTYU"
        );
        assert_eq!(
            receipt_thanks("K7M2QXP"),
            "¡Gracias! Si es el comprobante de la transferencia, ya le aviso a la persona a \
             cargo para que la revise y confirme tu reserva K7M2QXP. Te escribo por acá apenas \
             esté."
        );
    }

    #[test]
    fn an_unanswered_question_tells_the_owner_how_to_teach_the_answer() {
        assert_eq!(
            unanswered_question("mascotas"),
            "❓ Un huésped preguntó por «mascotas» y no tengo nada anotado para contestarle. \
             Para que la próxima vez conteste solo, escribime «respuesta mascotas: …» con lo \
             que quieras que diga."
        );
    }
}
