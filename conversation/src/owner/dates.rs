//! The nights a block or a move names, read with [`nlu::understand`] as a guest's dates are:
//! the owner writes them as anyone would.

use chrono::{Datelike, Days, NaiveDate};
use domain::StayDates;

use crate::nlu::{self, Dates};

/// The nights "bloquear …" (or "desbloquear …", `verb` the one written back) names in `text`,
/// relative to the owner's `today`: `(check_in, check_out)`; otherwise what to ask.
pub fn nights_to_block(
    text: &str,
    today: NaiveDate,
    verb: &str,
) -> Result<(NaiveDate, NaiveDate), String> {
    match nlu::understand(text, &nlu::Context::on(today)).dates {
        Some(Dates::Stay {
            check_in,
            check_out,
        }) => Ok((check_in, check_out)),
        Some(Dates::Ambiguous { question }) => Err(question),
        Some(Dates::Partial(p)) => Err(format!(
            "{} Escribime la entrada y la salida juntas, por ejemplo «{verb} del 24 al 27».",
            p.question()
        )),
        _ => Err(format!(
            "¿Qué noches? Escribime la entrada y la salida, por ejemplo «{verb} del 24 al 27 de \
             diciembre»."
        )),
    }
}

/// Where "mover `code` …" moves the stay `before` to, from the words around the code (`said`)
/// and the owner's `today`: `(check_in, check_out, guests)`, the party only when it is said;
/// otherwise what to ask.
pub fn moved_to(
    said: &str,
    today: NaiveDate,
    before: &StayDates,
    code: &str,
) -> Result<(NaiveDate, NaiveDate, Option<u32>), String> {
    // Bare days are the reservation's month ("mover … del 12 al 14").
    let (a, b) = (before.check_in(), before.check_out());
    let context = nlu::Context::on(today).with_month(Some((a.year(), a.month())));
    let u = nlu::understand(said, &context);
    let nights = Days::new(u64::from(before.nights()));
    match u.dates {
        Some(Dates::Stay {
            check_in,
            check_out,
        }) => Ok((check_in, check_out, u.guests())),
        Some(Dates::Ambiguous { question }) => Err(question),
        // Part of a stay moves what it names: a new check-out keeps the check-in, a new
        // check-in keeps the nights, a length keeps the check-in.
        Some(Dates::Partial(p)) if p.check_out.is_some() && p.check_in.is_none() => {
            Ok((a, p.check_out.unwrap_or(b), u.guests()))
        }
        Some(Dates::Partial(nlu::Partial {
            check_in: Some(c), ..
        })) => Ok((c, c + nights, u.guests())),
        Some(Dates::Partial(nlu::Partial {
            nights: Some(n), ..
        })) => Ok((a, a + Days::new(u64::from(n)), u.guests())),
        // Only the party changes.
        _ if u.guests().is_some() => Ok((a, b, u.guests())),
        _ => Err(format!(
            "¿A qué noches? Escribime la entrada y la salida, por ejemplo «mover {code} del 12 \
             al 14» (y «para 3» si cambian las personas)."
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn the_nights_to_block_are_read_as_a_guests_dates() {
        let today = day("2026-12-01");
        assert_eq!(
            nights_to_block("bloquear del 24 al 27 de diciembre", today, "bloquear"),
            Ok((day("2026-12-24"), day("2026-12-27")))
        );
        let asked = nights_to_block("bloquear", today, "bloquear").unwrap_err();
        assert!(asked.starts_with("¿Qué noches?"), "{asked}");
        let asked = nights_to_block("desbloquear", today, "desbloquear").unwrap_err();
        assert!(asked.contains("«desbloquear del 24 al 27"), "{asked}");
    }

    #[test]
    fn a_move_keeps_what_it_does_not_name() {
        // Two nights in January, the owner writing in December.
        let before = StayDates::new(day("2027-01-12"), day("2027-01-14")).unwrap();
        let today = day("2026-12-01");
        let to = |said: &str| moved_to(said, today, &before, "K7M2QXP");
        // Bare days are the reservation's month.
        assert_eq!(
            to("del 20 al 23"),
            Ok((day("2027-01-20"), day("2027-01-23"), None))
        );
        assert_eq!(
            to("del 20 al 23 para 3"),
            Ok((day("2027-01-20"), day("2027-01-23"), Some(3)))
        );
        // Only the party.
        assert_eq!(
            to("para 3"),
            Ok((day("2027-01-12"), day("2027-01-14"), Some(3)))
        );
        let asked = to("la de Ana").unwrap_err();
        assert!(asked.contains("«mover K7M2QXP del 12 al 14»"), "{asked}");
    }
}
