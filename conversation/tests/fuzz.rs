//! The front door under abuse: random text, word salad from the guests' own vocabulary, taps
//! with ids no reply ever carried, and whole conversations of them with the outside world
//! answering at random. Reading, answering and rendering the replies for the Cloud API must
//! never panic, and every reply must be one WhatsApp accepts (its builders refuse the rest).

#![allow(clippy::unwrap_used)] // Test set-up failures should stop the test loudly.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use conversation::dialogue::{self, Input, Outcome, State, Step, ids};
use conversation::nlu::{self, Context};
use domain::Money;
use proptest::prelude::*;

/// Words guests use, so that random sentences reach the grammar's rules, not only the tokenizer.
const VOCABULARY: &[&str] = &[
    "hola",
    "del",
    "al",
    "el",
    "de",
    "para",
    "somos",
    "noches",
    "noche",
    "días",
    "semana",
    "finde",
    "largo",
    "mañana",
    "pasado",
    "hoy",
    "marzo",
    "diciembre",
    "febrero",
    "lunes",
    "viernes",
    "domingo",
    "3",
    "5",
    "10",
    "14",
    "31",
    "15/3",
    "2/13",
    "30/02",
    "2027",
    "y",
    "con",
    "mi",
    "señora",
    "marido",
    "chicos",
    "2",
    "adultos",
    "nenes",
    "parejas",
    "familia",
    "tipo",
    "sí",
    "no",
    "gracias",
    "cancelar",
    "reserva",
    "pagar",
    "ya",
    "pagué",
    "hablar",
    "alguien",
    "persona",
    "precio",
    "cuánto",
    "dónde",
    "queda",
    "check-in",
    "check",
    "out",
    "entrada",
    "salida",
    "desde",
    "hasta",
    "->",
    "-",
    "/",
    ",",
    "?",
    "bah",
    "digo",
    "navidad",
    "año",
    "nuevo",
    "vacaciones",
    "invierno",
    "la",
    "del",
    "río",
    "cabaña",
    "grande",
    "K7M2QXP",
    "otra",
    "fecha",
    "cambiar",
    "me",
    "equivoqué",
    "era",
    "quiero",
    "ir",
    "vamos",
    "viajamos",
];

fn sentence() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec(prop::sample::select(VOCABULARY), 0..14).prop_map(|w| w.join(" ")),
        ".{0,200}",
        "[0-9/ -]{0,40}",
    ]
}

fn tap() -> impl Strategy<Value = String> {
    let known = prop::sample::select(vec![
        ids::MENU_AVAILABILITY,
        ids::MENU_MINE,
        ids::MENU_HUMAN,
        ids::DATES_THIS_WEEKEND,
        ids::DATES_NEXT_WEEKEND,
        ids::DATES_OTHER,
        ids::HOLD_CONFIRM,
        ids::HOLD_CHANGE_DATES,
        ids::HOLD_CANCEL,
        ids::BACK_TO_MENU,
        ids::HELP_PRICES,
        ids::HELP_LOCATION,
        ids::HELP_PAY,
        ids::HELP_CANCEL,
        ids::HELP_HUMAN,
        ids::MOVE_CONFIRM,
        ids::MOVE_KEEP,
        ids::MOVE_OTHER,
    ]);
    let prefixed = (
        prop::sample::select(vec![
            ids::ACCOMMODATION_PREFIX,
            ids::RESERVATION_PREFIX,
            ids::CANCEL_PREFIX,
            ids::CONFIRM_CANCEL_PREFIX,
        ]),
        ".{0,40}",
    )
        .prop_map(|(p, rest)| format!("{p}{rest}"));
    prop_oneof![known.prop_map(str::to_owned), prefixed, ".{0,60}"]
}

fn input() -> impl Strategy<Value = Input> {
    prop_oneof![
        3 => sentence().prop_map(Input::Text),
        1 => tap().prop_map(Input::Choice),
    ]
}

/// What the outside world may answer to whatever the dialogue asked for.
fn outcome(pick: u8, now: DateTime<Utc>) -> Outcome {
    let money = Money::new(40_000.into());
    let offer = dialogue::Offer {
        accommodation_id: "acc-1".into(),
        name: "Cabaña del Río".into(),
        total: money,
        deposit: money,
        sleeps: 4,
    };
    match pick % 8 {
        0 => Outcome::Offers(vec![
            offer.clone(),
            dialogue::Offer {
                name: "La Grande".into(),
                ..offer
            },
        ]),
        1 => Outcome::Offers(Vec::new()),
        2 => Outcome::Unavailable,
        3 => Outcome::PartyTooLarge { largest: 4 },
        4 => Outcome::StayTooShort { min_nights: 3 },
        5 => Outcome::Held {
            code: "K7M2QXP".into(),
            deposit: money,
            expires_at: now + Duration::minutes(30),
        },
        6 => Outcome::Reservations(Vec::new()),
        _ => Outcome::PaymentLinks(Vec::new()),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn reading_any_message_never_panics(text in sentence(), day in 0u64..1500) {
        let today = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + chrono::Days::new(day);
        let ctx = Context::on(today);
        let _ = nlu::understand(&text, &ctx);
        let _ = nlu::explain(&text, &ctx);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn whole_conversations_of_nonsense_never_panic(
        turns in prop::collection::vec((input(), any::<u8>(), 0i64..90), 1..12),
        start in 0i64..2000,
    ) {
        let mut now = DateTime::parse_from_rfc3339("2026-12-07T13:00:00Z").unwrap().with_timezone(&Utc)
            + Duration::hours(start);
        let mut state = State::Menu;
        let mut last = None;
        for (input, pick, minutes) in turns {
            now += Duration::minutes(minutes);
            let turn = match dialogue::respond(&state, last, &input, now) {
                Step::Done(turn) => turn,
                Step::Need { pending, .. } => dialogue::after(pending, outcome(pick, now)),
            };
            for reply in &turn.replies {
                let rendered = reply.to_cloud_api("5491100000000");
                prop_assert!(rendered.is_object());
            }
            // The state survives its round trip through the guest's stream.
            let stored = serde_json::to_value(&turn.state).unwrap();
            state = serde_json::from_value(stored).unwrap();
            last = Some(now);
        }
    }
}
