//! The phrase table: every way of asking the issue names, with the stay and guests it means.
//! "Today" is Wednesday 2026-11-04 unless a row says otherwise.

#![allow(clippy::unwrap_used)] // A table of known-good dates.

use chrono::NaiveDate;
use conversation::nlu::{Context, Dates, Intent, Partial, Party, Understanding};

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

const TODAY: &str = "2026-11-04";

fn understand(text: &str, today: NaiveDate) -> Understanding {
    conversation::nlu::understand(text, &Context::on(today))
}

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
        (
            "el sábado 3 una noche",
            "2026-09-28",
            "2026-10-03",
            "2026-10-04",
        ),
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
        (
            "el 24 de diciembre, 1 noche",
            TODAY,
            "2026-12-24",
            "2026-12-25",
        ),
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
    // The next 3rd after 2026-11-04 is a Thursday: which of the two the guest meant is asked.
    let u = understand("el viernes 3", d(TODAY));
    assert!(
        matches!(&u.dates, Some(Dates::Ambiguous { question })
            if question == "El 3 de diciembre es jueves, no viernes: ¿cuál de los dos es?"),
        "{u:?}"
    );
}

#[test]
fn a_month_alone_is_a_month_to_look_in() {
    let month = |year, month| {
        Some(Dates::Partial(Partial {
            month: Some((year, month)),
            ..Partial::default()
        }))
    };
    assert_eq!(
        understand("tienen algo en enero?", d(TODAY)).dates,
        month(2027, 1)
    );
    assert_eq!(
        understand("y para diciembre", d(TODAY)).dates,
        month(2026, 12)
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
        assert_eq!(
            understand(text, d(TODAY)).guests(),
            Some(*guests),
            "{text:?}"
        );
    }
    for text in [
        "para el 12",
        "2 noches desde el jueves",
        "del 12 al 14",
        "para el 5 de enero",
    ] {
        assert_eq!(understand(text, d(TODAY)).party, None, "{text:?}");
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

// ---------------------------------------------------------------------------------------------
// The classes of miss the grammar was written for, one focused test each ("today" is Monday
// 2026-12-07 unless a row says otherwise).
// ---------------------------------------------------------------------------------------------

const MONDAY: &str = "2026-12-07";

fn stay_on(text: &str, today: &str) -> Option<Dates> {
    understand(text, d(today)).dates
}

fn stay(a: &str, b: &str) -> Option<Dates> {
    Some(Dates::Stay {
        check_in: d(a),
        check_out: d(b),
    })
}

fn asked(text: &str, today: &str) -> bool {
    matches!(
        stay_on(text, today),
        Some(Dates::Ambiguous { .. } | Dates::Partial(_))
    )
}

#[test]
fn a_length_after_the_date_is_the_stay() {
    assert_eq!(
        stay_on("el 9 de marzo por 5 noches", MONDAY),
        stay("2027-03-09", "2027-03-14")
    );
    assert_eq!(
        stay_on("a partir del martes 10, diez días", "2026-11-04"),
        stay("2026-11-10", "2026-11-20")
    );
    // Across the year.
    assert_eq!(
        stay_on("el 30/12 por 3 noches", MONDAY),
        stay("2026-12-30", "2027-01-02")
    );
    assert_eq!(
        stay_on("el 10, una sola noche", MONDAY),
        stay("2026-12-10", "2026-12-11")
    );
}

#[test]
fn a_count_after_para_somos_or_viajamos_is_the_party_never_a_day() {
    let u = understand("2 semanas para 6", d(MONDAY));
    assert_eq!(
        u.dates,
        Some(Dates::Partial(Partial {
            nights: Some(14),
            ..Partial::default()
        }))
    );
    assert_eq!(u.guests(), Some(6));
    let u = understand("cinco noches, viajamos 3", d(MONDAY));
    assert!(matches!(
        u.dates,
        Some(Dates::Partial(Partial {
            nights: Some(5),
            check_in: None,
            ..
        }))
    ));
    assert_eq!(u.guests(), Some(3));
    let u = understand("vamos 2 el 2 de octubre 2 noches", d("2026-09-10"));
    assert_eq!(u.dates, stay("2026-10-02", "2026-10-04"));
    assert_eq!(u.guests(), Some(2));
}

#[test]
fn arrive_and_leave_pairs_without_al_are_a_range() {
    for (text, a, b) in [
        (
            "caemos el miércoles y volvemos el sábado",
            "2026-12-09",
            "2026-12-12",
        ),
        ("entramos el 3 y salimos el 7", "2027-01-03", "2027-01-07"),
        ("ingreso 14/3 egreso 17/3", "2027-03-14", "2027-03-17"),
        ("check in 5/4, check out 8/4", "2027-04-05", "2027-04-08"),
        ("llego el 19 me voy el 22", "2026-12-19", "2026-12-22"),
    ] {
        assert_eq!(stay_on(text, MONDAY), stay(a, b), "{text}");
    }
    // A day mentioned beside the range is not part of it.
    assert_eq!(
        stay_on(
            "3 personas del 21 al 24 pq tenemos un casamiento el 22",
            MONDAY
        ),
        stay("2026-12-21", "2026-12-24")
    );
}

#[test]
fn a_month_named_anywhere_applies_to_the_days() {
    assert_eq!(
        stay_on("en marzo, 10 días desde el 2", MONDAY),
        stay("2027-03-02", "2027-03-12")
    );
    assert_eq!(
        stay_on("del 10 al 14/3", MONDAY),
        stay("2027-03-10", "2027-03-14")
    );
    assert_eq!(
        stay_on("para abril: del 6 al 9", MONDAY),
        stay("2027-04-06", "2027-04-09")
    );
    assert_eq!(
        stay_on("el 5 marzo", MONDAY),
        Some(Dates::Partial(Partial {
            check_in: Some(d("2027-03-05")),
            ..Partial::default()
        }))
    );
    // The conversation's month, for days said in a later message.
    let april = Context::on(d(MONDAY)).with_month(Some((2027, 4)));
    assert_eq!(
        conversation::nlu::understand("del 3 al 6", &april).dates,
        stay("2027-04-03", "2027-04-06")
    );
}

#[test]
fn reversed_or_impossible_ranges_are_questions() {
    for text in [
        "del 16 al 13",
        "30/02",
        "del 20 al 18 de enero",
        "del 29 de febrero al 2 de marzo",
        "el jueves 12 x 2 noches",
        "del 3 al 5 o del 10 al 12",
    ] {
        assert!(
            matches!(stay_on(text, MONDAY), Some(Dates::Ambiguous { .. })),
            "{text}: {:?}",
            stay_on(text, MONDAY)
        );
    }
    // Across a month's end, a short stay is read as one.
    assert_eq!(
        stay_on("del 28 al 2", MONDAY),
        stay("2026-12-28", "2027-01-02")
    );
}

#[test]
fn formats_and_words_guests_use() {
    for (text, a, b) in [
        ("15-03-2027 al 18-03-2027", "2027-03-15", "2027-03-18"),
        ("15/3 -> 18/3", "2027-03-15", "2027-03-18"),
        ("esta noche", "2026-12-07", "2026-12-08"),
        ("mañana a la noche", "2026-12-08", "2026-12-09"),
        ("el domingo, 1 noche", "2026-12-13", "2026-12-14"),
        ("pasado mañana por 3 noches", "2026-12-09", "2026-12-12"),
        ("el finde del 20", "2026-12-18", "2026-12-20"),
        ("para navidad, 3 noches", "2026-12-24", "2026-12-27"),
        ("año nuevo, 3 noches", "2026-12-31", "2027-01-03"),
        ("finde largo", "2026-11-06", "2026-11-09"),
    ] {
        let today = if text == "finde largo" {
            "2026-11-04"
        } else {
            MONDAY
        };
        assert_eq!(stay_on(text, today), stay(a, b), "{text}");
    }
    // A check-in alone, a vague season, a weekend that is not one: asked.
    for text in [
        "15-3",
        "mañana",
        "pasado mañana",
        "vacaciones de invierno",
        "fin de semana largo de mayo",
        "el finde del 16",
    ] {
        assert!(asked(text, MONDAY), "{text}: {:?}", stay_on(text, MONDAY));
    }
}

#[test]
fn the_party_from_its_parts_or_a_question_never_a_smaller_guess() {
    for (text, n) in [
        ("viajamos 5", 5),
        ("somos un matrimonio", 2),
        ("tres parejas", 6),
        ("yo, mi marido y la nena", 3),
        ("3 adultos + 2 menores", 5),
        ("solo yo", 1),
        ("vamos con la patrona", 2),
        ("mi hermana, su marido, mis dos sobrinos y yo", 5),
        ("2 adultos y un bebé", 3),
        ("familia de 5", 5),
    ] {
        assert_eq!(
            understand(text, d(MONDAY)).party,
            Some(Party::Count(n)),
            "{text}"
        );
    }
    for text in [
        "familia tipo",
        "somos 2 y los chicos",
        "vamos con amigos",
        "con mi familia",
    ] {
        assert!(
            matches!(understand(text, d(MONDAY)).party, Some(Party::Ask(_))),
            "{text}: {:?}",
            understand(text, d(MONDAY)).party
        );
    }
    // Ages, cars and conversations are not people.
    assert_eq!(
        understand("somos 2 adultos y 2 chicos de 10 y 12 años", d(MONDAY)).party,
        Some(Party::Count(4))
    );
    assert_eq!(
        understand("quiero hablar con una persona", d(MONDAY)).party,
        None
    );
    assert_eq!(
        understand("somos 5 adultos, hay lugar para 2 autos?", d(MONDAY)).party,
        Some(Party::Count(5))
    );
}

#[test]
fn explain_prints_the_stable_json_line() {
    let read = conversation::nlu::explain(
        "el 9 de marzo por 5 noches, somos 3",
        &Context::on(d(MONDAY)),
    );
    // The fields in the documented order.
    assert_eq!(
        serde_json::to_string(&read).unwrap(),
        "{\"text\":\"el 9 de marzo por 5 noches, somos 3\",\"intents\":[\"availability\"],\
         \"check_in\":\"2027-03-09\",\"check_out\":\"2027-03-14\",\"nights\":5,\"guests\":3,\
         \"ask\":null}"
    );
    assert_eq!(
        serde_json::to_value(&read).unwrap(),
        serde_json::json!({"text": "el 9 de marzo por 5 noches, somos 3",
            "intents": ["availability"], "check_in": "2027-03-09", "check_out": "2027-03-14",
            "nights": 5, "guests": 3, "ask": null})
    );
    let asked = serde_json::to_value(conversation::nlu::explain(
        "para el 14 de abril",
        &Context::on(d(MONDAY)),
    ))
    .unwrap();
    assert_eq!(asked["check_in"], "2027-04-14");
    assert_eq!(asked["check_out"], serde_json::Value::Null);
    assert_eq!(
        asked["ask"],
        "¿Cuántas noches, desde el miércoles 14 de abril?"
    );
}
