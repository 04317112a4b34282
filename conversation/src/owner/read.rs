//! Reading a command from what the owner wrote or tapped.

use domain::house::Topic;
use domain::{Money, ReservationCode};

use super::{
    CANCEL_ALL_BUTTON, CANCEL_BUTTON, CONFIRM_BUTTON, Command, MOVE_BUTTON, MoveTo, RELEASE_BUTTON,
    Span,
};
use crate::nlu::text::fold;

/// `word` without the punctuation around it ("«K7M2QXP»," → "K7M2QXP").
fn bare(word: &str) -> &str {
    word.trim_matches(|c: char| !c.is_ascii_alphanumeric())
}

/// The command the button `id` carries, if it is one of the owner's.
pub(super) fn button(id: &str) -> Option<Command> {
    if let Some(rest) = id.strip_prefix(MOVE_BUTTON) {
        let mut parts = rest.split(':');
        let (code, check_in, check_out, guests) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        return Some(Command::Move {
            code: code.to_owned(),
            to: MoveTo::Exactly {
                check_in: check_in.parse().ok()?,
                check_out: check_out.parse().ok()?,
                guests: guests.parse().ok(),
            },
            sure: true,
        });
    }
    if let Some(wa_id) = id.strip_prefix(RELEASE_BUTTON) {
        return Some(Command::Release {
            wa_id: wa_id.to_owned(),
        });
    }
    for (prefix, all) in [(CANCEL_BUTTON, false), (CANCEL_ALL_BUTTON, true)] {
        if let Some(code) = id.strip_prefix(prefix) {
            return Some(Command::Cancel {
                code: code.to_owned(),
                sure: true,
                all,
            });
        }
    }
    id.strip_prefix(CONFIRM_BUTTON)
        .map(|code| Command::Confirm {
            code: code.to_owned(),
            amount: None,
        })
}

/// The command the written `text` holds, if it is one: its first word says which.
pub(super) fn written(text: &str) -> Option<Command> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let verb = fold(words.first()?);
    // The words after the verb, as written and without their punctuation.
    let said = &words[1..];
    let rest: Vec<&str> = said.iter().map(|w| bare(w)).collect();
    if verb.starts_with("respuesta") || verb.starts_with("respond") {
        return answer(&said.join(" "));
    }
    let verb_alone = verb.trim_end_matches(|c: char| !c.is_ascii_alphanumeric());
    if verb_alone == "comandos" && rest.is_empty() {
        return Some(Command::Help);
    }
    if verb_alone == "panel" && rest.is_empty() {
        return Some(Command::PanelLink);
    }
    if verb_alone == "agenda" {
        return agenda(&rest);
    }
    if let Some(release) = release(&verb, said) {
        return Some(release);
    }
    if verb.starts_with("bloque") || verb.starts_with("desbloque") || verb.starts_with("liber") {
        return Some(Command::Block {
            text: text.to_owned(),
            free: !verb.starts_with("bloque"),
        });
    }
    on_reservation(&verb, said, &rest)
}

/// "agenda", "agenda de mañana", "agenda de la semana" (`rest`: the words after "agenda");
/// anything else after it is not this command.
fn agenda(rest: &[&str]) -> Option<Command> {
    let said = |word: &str| rest.iter().any(|w| fold(w) == word);
    let span = if said("semana") {
        Span::Week
    } else if said("manana") {
        Span::Tomorrow
    } else {
        Span::Today
    };
    let other = rest.iter().any(|w| {
        !matches!(
            fold(w).as_str(),
            "manana" | "hoy" | "semana" | "de" | "la" | "esta" | "para" | ""
        )
    });
    (!other).then_some(Command::Agenda(span))
}

/// "liberar +54 9 11 2233-4455": a conversation handed back to the bot, when the words after
/// the verb are a telephone number and nothing else ("liberar del 24 al 27" frees nights).
fn release(verb: &str, said: &[&str]) -> Option<Command> {
    let digits: String = said.concat().chars().filter(char::is_ascii_digit).collect();
    let number = (10..=15).contains(&digits.len())
        && said
            .iter()
            .all(|w| w.chars().all(|c| c.is_ascii_digit() || "+-() ".contains(c)));
    (number && (verb.starts_with("liber") || verb.starts_with("solt"))).then(|| Command::Release {
        wa_id: argentine_wa_id(&digits),
    })
}

/// The commands on a reservation, named by its code: confirming its deposit, recording a
/// refund or a payment, cancelling it, moving it. `said` are the words after the verb as
/// written, `rest` the same without their punctuation.
fn on_reservation(verb: &str, said: &[&str], rest: &[&str]) -> Option<Command> {
    let refunded = verb.starts_with("devuelt") || verb.starts_with("devolv");
    let collected = verb.starts_with("cobr");
    let cancel = verb.starts_with("cancel");
    let moving = verb.starts_with("mov") || verb.starts_with("cambi");
    if !(verb.starts_with("confirm") || refunded || collected || cancel || moving) {
        return None;
    }
    let code = code_among(rest)?;
    let code = code.as_str().to_owned();
    // "cancelar CÓDIGO sí" or "… todo": the buttons' answers, typed, as the last word (a "si"
    // inside a sentence is an "if").
    let last_is = |these: &[&str]| {
        said.last().is_some_and(|w| {
            let w = fold(w);
            these.contains(&bare(&w))
        })
    };
    if moving {
        // The dates are read from the words around the code, not from the code's digits.
        let around: Vec<&str> = said
            .iter()
            .zip(rest)
            .filter(|(_, trimmed)| !trimmed.eq_ignore_ascii_case(&code))
            .map(|(w, _)| *w)
            .collect();
        return Some(Command::Move {
            code,
            to: MoveTo::Said(around.join(" ")),
            sure: last_is(&["si", "confirmo"]),
        });
    }
    if cancel {
        let all = last_is(&["todo"]);
        let sure = all || last_is(&["si", "confirmo"]);
        return Some(Command::Cancel { code, sure, all });
    }
    if refunded {
        return Some(Command::Refunded { code });
    }
    // The amount is any other number said; the code itself may be all digits.
    let amount = rest
        .iter()
        .zip(said)
        .filter(|(trimmed, _)| **trimmed != code.as_str())
        .find_map(|(_, w)| amount(w));
    if collected {
        return Some(Command::Collected {
            code,
            amount,
            method: rest.iter().find_map(|w| method(w)),
        });
    }
    Some(Command::Confirm { code, amount })
}

/// How a payment was collected, if `word` says it.
fn method(word: &str) -> Option<&'static str> {
    match fold(word).as_str() {
        "efectivo" => Some("efectivo"),
        "transferencia" | "transfer" => Some("transferencia"),
        "tarjeta" | "debito" | "credito" => Some("tarjeta"),
        _ => None,
    }
}

/// The reservation code among an owner's words. First one with letters and digits, as most
/// codes are; then one of letters only written as the alerts write it, in capitals (so that
/// "confirmar reserva …" is not taken for the code RESERVA); last one of digits only, so that an
/// amount of seven digits written before the code is not taken for it.
pub(super) fn code_among(words: &[&str]) -> Option<ReservationCode> {
    let has_digit = |w: &&&str| w.chars().any(|c| c.is_ascii_digit());
    let mixed = words
        .iter()
        .filter(|w| has_digit(w) && w.chars().any(|c| c.is_ascii_alphabetic()));
    let letters = words
        .iter()
        .filter(|w| w.chars().all(|c| c.is_ascii_uppercase()));
    let digits = words
        .iter()
        .filter(|w| w.chars().all(|c| c.is_ascii_digit()));
    mixed
        .chain(letters)
        .chain(digits)
        .find_map(|w| ReservationCode::parse(w).ok())
}

/// "respuesta wifi: Sí, 50 megas" without its first word: the topic (as its key, spaces for
/// underscores, accents or not) and what to answer, after a colon or after the topic's words;
/// the help, with the topics, when it names none.
pub(super) fn answer(rest: &str) -> Option<Command> {
    let folded = fold(rest.trim());
    // A topic it does not know: the list of those it does.
    let Some((topic, words)) = Topic::ALL.iter().find_map(|t| {
        let key = t.key().replace('_', " ");
        folded
            .starts_with(&key)
            .then(|| (*t, key.split(' ').count()))
    }) else {
        return Some(Command::Help);
    };
    // "respuesta pileta la del bosque: …": the words between the topic and the colon name a
    // cabin. Without a colon every word after the topic is the answer.
    let after_topic = |s: &str| {
        s.split_whitespace()
            .skip(words)
            .collect::<Vec<_>>()
            .join(" ")
    };
    let (cabin, text) = match rest.split_once(':') {
        Some((before, after)) => (after_topic(before), after.trim().to_owned()),
        None => (String::new(), after_topic(rest)),
    };
    Some(Command::Answer { topic, cabin, text })
}

/// A mobile number as WhatsApp names it in Argentina (`549` + area code + number), from the
/// ways an owner writes one: with the country code and the 9, without the 9, or local with or
/// without its leading 0. Anything else is kept as written.
pub(super) fn argentine_wa_id(digits: &str) -> String {
    match digits.len() {
        13 if digits.starts_with("549") => digits.to_owned(),
        12 if digits.starts_with("54") => format!("549{}", &digits[2..]),
        11 if digits.starts_with('0') => format!("549{}", &digits[1..]),
        10 if !digits.starts_with('0') => format!("549{digits}"),
        _ => digits.to_owned(),
    }
}

/// An amount as an Argentine owner writes it: `32400`, `$32.400`, `32.400,50`.
pub fn amount(word: &str) -> Option<Money> {
    let word = word.trim_start_matches('$').trim_end_matches(['.', ',']);
    if word.is_empty()
        || !word
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == ',')
    {
        return None;
    }
    // Dots group thousands; a comma is the decimal mark.
    let plain: String = word
        .chars()
        .filter(|&c| c != '.')
        .map(|c| if c == ',' { '.' } else { c })
        .collect();
    // The decimal is `Money`'s own (this crate depends on `domain` alone): its type is the one
    // `Money::new` takes. Zero or less is not an amount, before rounding to centavos.
    let exact = plain.parse().ok()?;
    let money = Money::new(exact);
    (exact > Money::ZERO.amount()).then_some(money)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pesos(amount: &str) -> Option<Money> {
        Some(Money::new(amount.parse().unwrap()))
    }

    #[test]
    fn amounts_are_read_as_written_in_argentina() {
        assert_eq!(amount("32400"), pesos("32400"));
        assert_eq!(amount("$32.400"), pesos("32400"));
        assert_eq!(amount("1.250.000"), pesos("1250000"));
        assert_eq!(amount("32.400,50"), pesos("32400.50"));
        assert_eq!(
            amount("15000."),
            pesos("15000"),
            "a full stop ends the sentence"
        );
        assert_eq!(amount("0"), None);
        assert_eq!(amount("K7M2QXP"), None);
        assert_eq!(amount("$"), None);
        assert_eq!(amount("1,2,3"), None);
    }

    #[test]
    fn an_argentine_mobile_is_named_as_whatsapp_names_it_however_it_is_written() {
        for digits in ["5491122334455", "541122334455", "01122334455", "1122334455"] {
            assert_eq!(argentine_wa_id(digits), "5491122334455", "{digits}");
        }
        // Another country's number, or one too odd to guess, is kept as written.
        assert_eq!(argentine_wa_id("598991234567"), "598991234567");
        assert_eq!(argentine_wa_id("0112233445"), "0112233445");
    }

    #[test]
    fn the_code_is_the_mixed_word_then_capitals_then_digits() {
        let code = |words: &[&str]| code_among(words).map(|c| c.as_str().to_owned());
        assert_eq!(code(&["reserva", "K7M2QXP"]), Some("K7M2QXP".into()));
        assert_eq!(code(&["KMPQRST", "K7M2QXP"]), Some("K7M2QXP".into()));
        assert_eq!(code(&["2345678", "KMPQRST"]), Some("KMPQRST".into()));
        assert_eq!(code(&["2345678"]), Some("2345678".into()));
        assert_eq!(code(&["reserva", "de", "Ana"]), None);
    }
}
