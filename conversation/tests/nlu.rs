//! The phrase table: every way of asking the issue names, with the stay and guests it means.
//! "Today" is Wednesday 2026-11-04 unless a row says otherwise.

#![allow(clippy::unwrap_used)] // A table of known-good dates.

use chrono::NaiveDate;
use conversation::nlu::{Dates, Intent, understand};

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

const TODAY: &str = "2026-11-04";

fn stay_of(text: &str, today: &str) -> Option<(NaiveDate, NaiveDate)> {
    match understand(text, d(today)).dates {
        Some(Dates::Stay {
            check_in,
            check_out,
        }) => Some((check_in, check_out)),
        other => panic!("{text:?}: expected a stay, got {other:?}"),
    }
}

#[test]
fn stays_are_understood() {
    let table: &[(&str, &str, &str, &str)] = &[
        // phrase, today, check-in, check-out
        ("este finde", TODAY, "2026-11-06", "2026-11-08"),
        ("Este fin de semana", TODAY, "2026-11-06", "2026-11-08"),
        ("el finde que viene", TODAY, "2026-11-13", "2026-11-15"),
        (
            "el próximo fin de semana",
            TODAY,
            "2026-11-13",
            "2026-11-15",
        ),
        ("el proximo fin de semna", TODAY, "2026-11-13", "2026-11-15"),
        (
            "del 12 al 14 de diciembre",
            TODAY,
            "2026-12-12",
            "2026-12-14",
        ),
        ("del 12/12 al 14/12", TODAY, "2026-12-12", "2026-12-14"),
        ("12 al 14", TODAY, "2026-11-12", "2026-11-14"),
        ("del 2 al 4", TODAY, "2026-12-02", "2026-12-04"),
        (
            "desde el viernes hasta el domingo",
            TODAY,
            "2026-11-06",
            "2026-11-08",
        ),
        ("del viernes al lunes", TODAY, "2026-11-06", "2026-11-09"),
        ("el sábado 3", "2026-09-28", "2026-10-03", "2026-10-04"),
        (
            "2 noches desde el jueves",
            TODAY,
            "2026-11-05",
            "2026-11-07",
        ),
        (
            "dos noches a partir del sabado",
            TODAY,
            "2026-11-07",
            "2026-11-09",
        ),
        (
            "tres noches desde mañana",
            TODAY,
            "2026-11-05",
            "2026-11-08",
        ),
        (
            "una semana desde el 5 de enero",
            TODAY,
            "2027-01-05",
            "2027-01-12",
        ),
        (
            "del doce al catorce de diciembre",
            TODAY,
            "2026-12-12",
            "2026-12-14",
        ),
        ("del 3 al 5 de marso", TODAY, "2027-03-03", "2027-03-05"),
        (
            "del 28 de diciembre al 2 de enero",
            TODAY,
            "2026-12-28",
            "2027-01-02",
        ),
        ("del 1 al 3 de noviembre", TODAY, "2027-11-01", "2027-11-03"),
        (
            "el 20/12/2026 hasta el 23/12/2026",
            TODAY,
            "2026-12-20",
            "2026-12-23",
        ),
        ("semana santa", TODAY, "2027-03-25", "2027-03-28"),
        // Named, not just the next long weekend.
        (
            "hay lugar para 2 el finde largo de carnaval?",
            TODAY,
            "2027-02-05",
            "2027-02-09",
        ),
        ("para carnaval", "2026-02-14", "2027-02-05", "2027-02-09"),
        ("semana santa", "2026-04-03", "2027-03-25", "2027-03-28"),
        ("el fin de semana largo", TODAY, "2026-11-06", "2026-11-09"),
        ("finde largo", "2026-11-10", "2026-11-20", "2026-11-23"),
        ("el 24 de diciembre", TODAY, "2026-12-24", "2026-12-25"),
        (
            "tienen lugar este finde para 4?",
            TODAY,
            "2026-11-06",
            "2026-11-08",
        ),
        (
            "quiero reservar una caballa el fin de semna",
            TODAY,
            "2026-11-06",
            "2026-11-08",
        ),
        (
            "hay disponibilidad en la cabañita para el finde?",
            TODAY,
            "2026-11-06",
            "2026-11-08",
        ),
    ];
    for (text, today, check_in, check_out) in table {
        assert_eq!(
            stay_of(text, today),
            Some((d(check_in), d(check_out))),
            "{text:?} on {today}"
        );
    }
}

#[test]
fn a_saturday_spent_is_one_night_left() {
    // On a Saturday, "este finde" is tonight.
    assert_eq!(
        stay_of("este finde", "2026-11-07"),
        Some((d("2026-11-07"), d("2026-11-08")))
    );
}

#[test]
fn an_unplaceable_weekday_and_day_is_a_question() {
    // No month near 2026-11-04 has Friday the 3rd (the next are September and December 2027).
    let u = understand("el viernes 3", d(TODAY));
    assert!(
        matches!(&u.dates, Some(Dates::Ambiguous { question }) if question.contains("viernes 3")),
        "{u:?}"
    );
}

#[test]
fn a_month_alone_is_a_month_to_look_in() {
    assert_eq!(
        understand("tienen algo en enero?", d(TODAY)).dates,
        Some(Dates::Month {
            year: 2027,
            month: 1
        })
    );
    assert_eq!(
        understand("y para diciembre", d(TODAY)).dates,
        Some(Dates::Month {
            year: 2026,
            month: 12
        })
    );
}

#[test]
fn guests_are_counted() {
    let table: &[(&str, u32)] = &[
        ("para 4 personas", 4),
        ("somos 2 adultos y 2 niños", 4),
        ("somos dos adultos y tres nenes", 5),
        ("cuatro personas", 4),
        ("somos 6", 6),
        ("tienen lugar este finde para 4?", 4),
        ("para seis pax", 6),
        ("3 adultos", 3),
    ];
    for (text, guests) in table {
        assert_eq!(understand(text, d(TODAY)).guests, Some(*guests), "{text:?}");
    }
    for text in [
        "para el 12",
        "2 noches desde el jueves",
        "del 12 al 14",
        "para el 5 de enero",
    ] {
        assert_eq!(understand(text, d(TODAY)).guests, None, "{text:?}");
    }
}

#[test]
fn intents_are_recognised() {
    let table: &[(&str, Intent)] = &[
        ("hola", Intent::Greeting),
        ("Buenas! ", Intent::Greeting),
        ("tienen lugar este finde para 4?", Intent::Availability),
        ("quiero reservar", Intent::Book),
        ("mis reservas", Intent::MyReservations),
        ("quiero cancelar", Intent::Cancel),
        ("mandame el link de pago", Intent::Pay),
        ("¿cuánto debo?", Intent::Pay),
        ("quiero abonar el saldo", Intent::Pay),
        ("cuánto me falta?", Intent::Pay),
        ("cuánto sale la noche?", Intent::Prices),
        ("qué incluye?", Intent::Prices),
        ("dónde quedan?", Intent::Location),
        ("a qué hora es el check in", Intent::Location),
        ("ayuda", Intent::Help),
        ("quiero hablar con una persona", Intent::Human),
        // Moving a booked stay is the owner's to do, dates or not.
        ("quiero cambiar la fecha de mi reserva", Intent::Human),
        ("podemos mover la reserva al 20 de enero?", Intent::Human),
        ("necesito postergar la estadía una semana", Intent::Human),
        // Still searching: other dates are a new search.
        ("mejor cambiemos al 20 de enero", Intent::Availability),
        // Told it is paid, not asking to pay.
        ("ya pagué la seña", Intent::Paid),
        ("Ya pague", Intent::Paid),
        ("te transferí recién", Intent::Transferred),
        ("ya hice la transferencia", Intent::Transferred),
        ("te mandé el comprobante", Intent::Transferred),
        ("ya está pagado?", Intent::Paid),
        ("ya quiero pagar", Intent::Pay),
        ("muchas gracias!", Intent::Thanks),
        ("gracias, quiero cancelar", Intent::Cancel),
    ];
    for (text, intent) in table {
        let u = understand(text, d(TODAY));
        assert_eq!(u.intents.first(), Some(intent), "{text:?}: {u:?}");
    }
}

/// Questions about the house are asked many ways; each is its topic, before a search or a
/// payment it might also sound like. A party with children, a transfer told, a search stay
/// what they were.
#[test]
fn questions_about_the_house_are_their_topic() {
    use domain::house::Topic;
    let table: &[(&str, Topic)] = &[
        ("¿se puede llevar perro?", Topic::Pets),
        ("aceptan mascotas?", Topic::Pets),
        ("vamos con nuestra gatita, hay problema?", Topic::Pets),
        ("¿tienen wifi?", Topic::Wifi),
        ("hay internet en la cabaña?", Topic::Wifi),
        ("¿aceptan tarjeta de crédito?", Topic::Payment),
        ("se puede pagar en cuotas?", Topic::Payment),
        ("cuales son las formas de pago", Topic::Payment),
        ("tiene pileta?", Topic::Pool),
        ("hay parrilla para hacer un asado?", Topic::Grill),
        ("incluye sábanas y toallas?", Topic::Linen),
        ("traemos ropa de cama?", Topic::Linen),
        ("tienen cuna para el bebé?", Topic::Babies),
        ("hay cochera?", Topic::Parking),
        (
            "donde estaciono el auto? hay estacionamiento",
            Topic::Parking,
        ),
        ("tiene calefacción?", Topic::Heating),
        ("la estufa es a leña?", Topic::Heating),
    ];
    for (phrase, topic) in table {
        let u = understand(phrase, d(TODAY));
        assert_eq!(u.intents.first(), Some(&Intent::Ask(*topic)), "{phrase}");
    }
    for (phrase, first) in [
        ("te transferí la seña", Intent::Transferred),
        ("quiero pagar la seña", Intent::Pay),
        ("¿tienen lugar para 4?", Intent::Availability),
    ] {
        assert_eq!(
            understand(phrase, d(TODAY)).intents.first(),
            Some(&first),
            "{phrase}"
        );
    }
    let family = understand("somos 2 adultos y 2 chicos", d(TODAY));
    assert!(
        !family.intents.iter().any(|i| matches!(i, Intent::Ask(_))),
        "{family:?}"
    );
}
