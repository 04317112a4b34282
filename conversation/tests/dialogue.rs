//! The booking conversation, turn by turn: `hola` → `tienen lugar este finde para 4?` → pick a
//! cabin from the list → confirm → held; every button and row id goes to its handler; a stale
//! conversation restarts; a hand-off silences the bot.

#![allow(clippy::unwrap_used)] // Test set-up failures should stop the test loudly.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use conversation::dialogue::{
    Action, BalanceDue, Draft, HouseTimes, Input, Offer, Outcome, ReservationSummary, State, Step,
    after, ids, respond,
};
use conversation::nlu::Partial;
use conversation::reply::Reply;
use domain::Money;

/// Wednesday 2026-11-04, 15:00 in Argentina.
fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-04T18:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn offers() -> Vec<Offer> {
    vec![
        Offer {
            accommodation_id: "a1".into(),
            name: "Cabaña del Lago".into(),
            total: Money::pesos(98_000),
            deposit: Money::pesos(29_400),
            sleeps: 4,
        },
        Offer {
            accommodation_id: "a2".into(),
            name: "Cabaña del Bosque con vista al río".into(),
            total: Money::pesos(120_000),
            deposit: Money::pesos(36_000),
            sleeps: 6,
        },
    ]
}

fn turn(step: Step) -> conversation::dialogue::Turn {
    match step {
        Step::Done(t) => t,
        Step::Need { action, .. } => panic!("unexpected action {action:?}"),
    }
}

/// A reply's text; the test stops if it is not plain text.
fn said(reply: &Reply) -> &str {
    match reply {
        Reply::Text(body) => body,
        other => panic!("not a text: {other:?}"),
    }
}

fn text(s: &str) -> Input {
    Input::Text(s.into())
}

/// The dialogue's step when the guest, in a chat going on now, writes `words` in `state`.
fn says(state: &State, words: &str) -> Step {
    respond(state, Some(now()), &text(words), now())
}

/// Asserts that `reply` is a text opening with `start`; its text.
fn opens<'a>(reply: &'a Reply, start: &str) -> &'a str {
    let body = said(reply);
    assert!(body.starts_with(start), "{body}");
    body
}

/// Asking for the dates, the party known or not.
fn asking_dates(guests: Option<u32>) -> State {
    State::Booking {
        draft: Draft {
            guests,
            ..Draft::default()
        },
    }
}

/// The dates known, asking how many they are.
fn asking_guests(check_in: NaiveDate, check_out: NaiveDate) -> State {
    State::Booking {
        draft: Draft {
            stay: Partial {
                check_in: Some(check_in),
                check_out: Some(check_out),
                ..Partial::default()
            },
            ..Draft::default()
        },
    }
}

#[test]
fn a_guest_books_this_weekend_for_four() {
    let hello = turn(respond(&State::Menu, None, &text("hola"), now()));
    assert_eq!(hello.state, State::Menu);
    assert_eq!(
        hello.replies[0].choice_ids(),
        [ids::MENU_AVAILABILITY, ids::MENU_MINE, ids::MENU_HUMAN]
    );

    let Step::Need { action, pending } = says(&hello.state, "tienen lugar este finde para 4?")
    else {
        panic!("expected a search")
    };
    assert_eq!(
        action,
        Action::SearchAvailability {
            check_in: d("2026-11-06"),
            check_out: d("2026-11-08"),
            guests: 4
        }
    );
    let listed = after(pending, Outcome::Offers(offers()));
    let Reply::List { sections, .. } = &listed.replies[0] else {
        panic!("{:?}", listed.replies)
    };
    assert_eq!(sections[0].rows.len(), 2);
    assert!(
        sections[0].rows[1].title.chars().count() <= 24,
        "long names are cut to fit"
    );
    assert_eq!(listed.replies[0].choice_ids(), ["acc:a1", "acc:a2"]);

    let confirming = turn(respond(
        &listed.state,
        Some(now()),
        &Input::Choice("acc:a1".into()),
        now(),
    ));
    assert_eq!(
        confirming.replies[0].choice_ids(),
        [ids::HOLD_CONFIRM, ids::HOLD_CHANGE_DATES, ids::HOLD_CANCEL]
    );
    let Reply::Buttons { body, .. } = &confirming.replies[0] else {
        panic!()
    };
    assert!(
        body.contains("$ 98.000")
            && body.contains("del viernes 6 al domingo 8 de noviembre (2 noches), 4 personas"),
        "{body}"
    );

    let Step::Need { action, pending } = respond(
        &confirming.state,
        Some(now()),
        &Input::Choice(ids::HOLD_CONFIRM.into()),
        now(),
    ) else {
        panic!("expected the hold")
    };
    assert_eq!(
        action,
        Action::PlaceHold {
            accommodation_id: "a1".into(),
            check_in: d("2026-11-06"),
            check_out: d("2026-11-08"),
            guests: 4
        }
    );
    let held = after(
        pending,
        Outcome::Held {
            code: "K7M2QXP".into(),
            deposit: Money::pesos(29_400),
            expires_at: now() + Duration::minutes(30),
        },
    );
    let Reply::Text(t) = &held.replies[0] else {
        panic!()
    };
    assert!(
        t.contains("K7M2QXP") && t.contains("$ 29.400") && t.contains("15:30"),
        "{t}"
    );
    // The hold just placed stays in the conversation, for a correction to move it.
    assert!(
        matches!(&held.state, State::Held { hold } if hold.code == "K7M2QXP" && hold.guests == 4)
    );
}

#[test]
fn every_id_reaches_its_handler() {
    let choosing = State::ChoosingAccommodation {
        check_in: d("2026-11-06"),
        check_out: d("2026-11-08"),
        guests: 2,
        offers: offers(),
        cabin: None,
    };
    let confirming = State::ConfirmingHold {
        check_in: d("2026-11-06"),
        check_out: d("2026-11-08"),
        guests: 2,
        offer: offers()[0].clone(),
    };
    let choice =
        |state: &State, id: &str| respond(state, Some(now()), &Input::Choice(id.into()), now());

    assert!(matches!(
        turn(choice(&State::Menu, ids::MENU_AVAILABILITY)).state,
        State::Booking { .. }
    ));
    assert!(matches!(
        choice(&State::Menu, ids::MENU_MINE),
        Step::Need {
            action: Action::ListReservations,
            ..
        }
    ));
    assert_eq!(
        turn(choice(&State::Menu, ids::BACK_TO_MENU)).state,
        State::Menu
    );
    assert!(matches!(
        choice(&State::ChoosingReservation, "res:K7M2QXP"),
        Step::Need {
            action: Action::ShowReservation { .. },
            pending: State::ManagingReservation { .. },
        }
    ));
    assert!(matches!(
        choice(&State::Menu, "res-cancel:K7M2QXP"),
        Step::Need {
            action: Action::PreviewCancellation { .. },
            ..
        }
    ));
    assert!(matches!(
        choice(&State::Menu, "res-cancel-yes:K7M2QXP"),
        Step::Need {
            action: Action::CancelReservation { .. },
            ..
        }
    ));
    let human = turn(choice(&State::Menu, ids::MENU_HUMAN));
    assert!(human.handoff && human.state == State::HandedOff);
    // Weekend presets ask for the party size first, then search.
    let this = turn(choice(&asking_dates(None), ids::DATES_THIS_WEEKEND));
    assert_eq!(this.state, asking_guests(d("2026-11-06"), d("2026-11-08")));
    let Step::Need { action, .. } = says(&this.state, "somos 3") else {
        panic!()
    };
    assert!(matches!(
        action,
        Action::SearchAvailability { guests: 3, .. }
    ));
    let Step::Need { action, .. } = choice(&asking_dates(Some(2)), ids::DATES_NEXT_WEEKEND) else {
        panic!()
    };
    assert_eq!(
        action,
        Action::SearchAvailability {
            check_in: d("2026-11-13"),
            check_out: d("2026-11-15"),
            guests: 2
        }
    );
    assert!(matches!(
        turn(choice(&State::Menu, ids::DATES_OTHER)).state,
        State::Booking { .. }
    ));
    // Other dates for the same party and cabin: "del 20 al 22" next is searched for as many,
    // and the cabin chosen is offered first.
    let other_dates = turn(choice(&confirming, ids::HOLD_CHANGE_DATES)).state;
    let State::ConfirmingHold { guests, offer, .. } = &confirming else {
        panic!()
    };
    assert_eq!(
        other_dates,
        State::Booking {
            draft: Draft {
                guests: Some(*guests),
                cabin: Some(offer.name.clone()),
                ..Draft::default()
            }
        }
    );
    assert_eq!(
        turn(choice(&confirming, ids::HOLD_CANCEL)).state,
        State::Menu
    );
    assert!(matches!(
        choice(&confirming, ids::HOLD_CONFIRM),
        Step::Need {
            action: Action::PlaceHold { .. },
            ..
        }
    ));
    assert!(matches!(
        turn(choice(&choosing, "acc:a2")).state,
        State::ConfirmingHold { .. }
    ));
    // Stale or unknown ids fall back to the menu instead of failing.
    assert_eq!(
        turn(choice(&State::Menu, ids::HOLD_CONFIRM)).state,
        State::Menu
    );
    assert_eq!(turn(choice(&State::Menu, "acc:zzz")).state, State::Menu);
    assert_eq!(turn(choice(&State::Menu, "nonsense")).state, State::Menu);
}

#[test]
fn no_room_offers_other_dates_and_a_lost_race_says_so() {
    let Step::Need { pending, .. } = respond(
        &State::Menu,
        None,
        &text("del 12 al 14 de diciembre para 2"),
        now(),
    ) else {
        panic!()
    };
    let none = after(pending, Outcome::Offers(Vec::new()));
    assert!(none.state == asking_dates(Some(2)));
    let lost = after(State::Menu, Outcome::Unavailable);
    assert!(matches!(&lost.replies[0], Reply::Text(t) if t.contains("ocupar")));
}

#[test]
fn an_idle_conversation_restarts_and_a_handoff_stays_silent() {
    let stale = State::ConfirmingHold {
        check_in: d("2026-11-06"),
        check_out: d("2026-11-08"),
        guests: 2,
        offer: offers()[0].clone(),
    };
    // An hour later the old confirmation button no longer places a hold.
    let later = respond(
        &stale,
        Some(now()),
        &Input::Choice(ids::HOLD_CONFIRM.into()),
        now() + Duration::hours(1),
    );
    assert_eq!(turn(later).state, State::Menu);

    let quiet = turn(says(&State::HandedOff, "hola?"));
    assert!(quiet.replies.is_empty() && quiet.state == State::HandedOff);
    // Still quiet after a night; after a day without a word, the bot answers again.
    let next_morning = turn(respond(
        &State::HandedOff,
        Some(now()),
        &text("hola?"),
        now() + Duration::hours(20),
    ));
    assert!(next_morning.replies.is_empty() && next_morning.state == State::HandedOff);
    let next_week = turn(respond(
        &State::HandedOff,
        Some(now()),
        &text("hola, quería reservar"),
        now() + Duration::days(7),
    ));
    assert!(
        !next_week.replies.is_empty() && next_week.state != State::HandedOff,
        "{next_week:?}"
    );
    let asked = turn(respond(
        &State::Menu,
        None,
        &text("quiero hablar con una persona"),
        now(),
    ));
    assert!(asked.handoff);
}

/// Two nights at Cabaña del Lago for two, from Friday 11 December, with `balance` and `paid`
/// in pesos.
fn stay(code: &str, status: &str, balance: i64, paid: i64) -> ReservationSummary {
    ReservationSummary {
        code: code.into(),
        accommodation: "Cabaña del Lago".into(),
        check_in: d("2026-12-11"),
        check_out: d("2026-12-13"),
        status: status.into(),
        balance_due: Money::pesos(balance),
        guests: 2,
        paid: Money::pesos(paid),
    }
}

/// A confirmed stay in "Mis reservas" says what is left to pay on arrival; a hold says it waits
/// for its deposit, and a stay paid in full says nothing more.
#[test]
fn the_reservations_list_shows_the_balance_left() {
    let Step::Need { pending, .. } = respond(&State::Menu, None, &text("mis reservas"), now())
    else {
        panic!()
    };
    let listed = after(
        pending,
        Outcome::Reservations(vec![
            stay("K7M2QXP", "confirmed", 63_000, 0),
            stay("P4N8RWT", "held", 90_000, 0),
            stay("H3J5KLM", "confirmed", 0, 0),
        ]),
    );
    let Reply::List { sections, .. } = &listed.replies[0] else {
        panic!("{:?}", listed.replies)
    };
    let shown: Vec<&str> = sections[0]
        .rows
        .iter()
        .map(|r| r.description.as_deref().unwrap_or_default())
        .collect();
    assert_eq!(
        shown,
        [
            "vie 11/12 a dom 13/12 · confirmada · saldo $ 63.000",
            "vie 11/12 a dom 13/12 · esperando la seña",
            "vie 11/12 a dom 13/12 · confirmada",
        ]
    );
}

#[test]
fn a_guest_lists_and_cancels_their_reservation() {
    let Step::Need { action, pending } = respond(&State::Menu, None, &text("mis reservas"), now())
    else {
        panic!()
    };
    assert_eq!(action, Action::ListReservations);
    let listed = after(
        pending,
        Outcome::Reservations(vec![stay("K7M2QXP", "held", 90_000, 0)]),
    );
    assert_eq!(listed.replies[0].choice_ids(), ["res:K7M2QXP"]);
    // Picked from the list, the reservation is looked up and shown with what can be done.
    let Step::Need { action, pending } = respond(
        &listed.state,
        Some(now()),
        &Input::Choice("res:K7M2QXP".into()),
        now(),
    ) else {
        panic!()
    };
    assert_eq!(
        action,
        Action::ShowReservation {
            code: "K7M2QXP".into()
        }
    );
    let managing = after(
        pending,
        Outcome::Reservation(Some(stay("K7M2QXP", "confirmed", 63_000, 27_000))),
    );
    assert_eq!(
        managing.replies[0].choice_ids(),
        ["res-cancel:K7M2QXP", ids::BACK_TO_MENU]
    );
    let Reply::Buttons { body, .. } = &managing.replies[0] else {
        panic!("{:?}", managing.replies[0]);
    };
    for part in [
        "Reserva K7M2QXP · Cabaña del Lago",
        "vie 11/12 a dom 13/12 · 2 personas",
        "Pagaste $ 27.000; saldo a pagar al llegar: $ 63.000",
    ] {
        assert!(body.contains(part), "{part} in {body}");
    }
    // Asking to cancel shows what the cabin's policy gives back, before anything changes.
    let Step::Need { action, pending } = respond(
        &managing.state,
        Some(now()),
        &Input::Choice("res-cancel:K7M2QXP".into()),
        now(),
    ) else {
        panic!()
    };
    assert_eq!(
        action,
        Action::PreviewCancellation {
            code: "K7M2QXP".into()
        }
    );
    let terms = after(
        pending,
        Outcome::CancellationTerms {
            code: "K7M2QXP".into(),
            paid: Money::pesos(30_000),
            refund: Money::pesos(15_000),
        },
    );
    assert_eq!(
        terms.state,
        State::ConfirmingCancel {
            code: "K7M2QXP".into()
        }
    );
    assert_eq!(
        terms.replies[0].choice_ids(),
        ["res-cancel-yes:K7M2QXP", ids::BACK_TO_MENU]
    );
    let Reply::Buttons { body, .. } = &terms.replies[0] else {
        panic!("{:?}", terms.replies[0]);
    };
    assert!(
        body.contains("te devolvemos $ 15.000 de los $ 30.000"),
        "{body}"
    );
    // Said instead of tapped ("cancelar", by voice too), it is accepted the same.
    let said = says(&terms.state, "sí, cancelala");
    assert!(
        matches!(
            &said,
            Step::Need {
                action: Action::CancelReservation { code },
                ..
            } if code == "K7M2QXP"
        ),
        "{said:?}"
    );
    let Step::Need { action, pending } = respond(
        &terms.state,
        Some(now()),
        &Input::Choice("res-cancel-yes:K7M2QXP".into()),
        now(),
    ) else {
        panic!()
    };
    assert_eq!(
        action,
        Action::CancelReservation {
            code: "K7M2QXP".into()
        }
    );
    let done = after(
        pending,
        Outcome::Cancelled {
            code: "K7M2QXP".into(),
        },
    );
    assert!(matches!(&done.replies[0], Reply::Text(t) if t.contains("cancelé")));
    let none = after(
        State::ChoosingReservation,
        Outcome::Reservations(Vec::new()),
    );
    assert_eq!(none.state, State::Menu);
}

#[test]
fn help_topics_are_a_list_and_each_topic_goes_to_its_handler() {
    let help = turn(respond(&State::Menu, None, &text("ayuda"), now()));
    assert!(matches!(help.replies[0], Reply::List { .. }));
    assert_eq!(
        help.replies[0].choice_ids(),
        [
            ids::HELP_PRICES,
            ids::HELP_LOCATION,
            ids::HELP_PAY,
            ids::HELP_CANCEL,
            ids::HELP_HUMAN
        ]
    );
    let tap = |id: &str| respond(&State::Menu, Some(now()), &Input::Choice(id.into()), now());
    let prices = turn(tap(ids::HELP_PRICES));
    assert!(matches!(&prices.replies[0], Reply::Text(t) if t.contains("limpieza")));
    assert!(matches!(
        tap(ids::HELP_LOCATION),
        Step::Need {
            action: Action::HouseTimes,
            ..
        }
    ));
    assert!(matches!(
        tap(ids::HELP_PAY),
        Step::Need {
            action: Action::PaymentLinks,
            ..
        }
    ));
    assert!(matches!(
        tap(ids::HELP_CANCEL),
        Step::Need {
            action: Action::ListReservations,
            ..
        }
    ));
    assert!(turn(tap(ids::HELP_HUMAN)).handoff);
}

/// The lake cabin on offer for next weekend, four people, waiting for a "sí".
fn confirming_the_lake() -> State {
    State::ConfirmingHold {
        check_in: d("2026-11-06"),
        check_out: d("2026-11-08"),
        guests: 4,
        offer: offers().remove(0),
    }
}

/// One hold waiting for its deposit, with its payment link.
fn one_deposit_waiting() -> Outcome {
    Outcome::PaymentLinks(vec![conversation::dialogue::PendingPayment {
        code: "K7M2QXP".into(),
        deposit: Money::pesos(29_400),
        link: Some("https://www.mercadopago.com.ar/checkout/v1/redirect?pref_id=1".into()),
    }])
}

#[test]
fn asking_to_pay_gives_the_payment_button() {
    let step = respond(&State::Menu, None, &text("quiero pagar la seña"), now());
    let Step::Need { action, pending } = step else {
        panic!("{step:?}")
    };
    assert_eq!(action, Action::PaymentLinks);
    let one = after(pending.clone(), one_deposit_waiting());
    let message = one.replies[0].to_cloud_api("541122334455");
    assert_eq!(message["interactive"]["type"], "cta_url");
    assert_eq!(
        message["interactive"]["action"]["parameters"]["display_text"],
        "Pagar la seña"
    );
    let none = after(pending, Outcome::PaymentLinks(vec![]));
    assert_eq!(none.state, State::Menu);
    assert!(Reply::link("x", "un texto de botón demasiado largo", "https://x").is_err());
}

/// "Where is it, when can we arrive": each cabin's own times, told once when they are all the
/// same; the way there is promised with the confirmation, never given out here.
#[test]
fn house_times_are_the_cabins_own() {
    let asked = says(&State::Menu, "a que hora es el check in y donde queda?");
    let Step::Need {
        action: Action::HouseTimes,
        pending,
    } = asked
    else {
        panic!("expected the house times to be looked up, got {asked:?}");
    };
    let house = |name: &str, check_in: &str, check_out: &str| HouseTimes {
        name: name.into(),
        check_in: check_in.into(),
        check_out: check_out.into(),
        booked: false,
        way: None,
    };
    let answer = |houses| match &after(pending.clone(), Outcome::HouseTimes(houses)).replies[..] {
        [Reply::Text(t)] => t.clone(),
        other => panic!("one text expected, got {other:?}"),
    };
    let same = answer(vec![
        house("Cabaña del Lago", "15:00", "11:00"),
        house("Cabaña del Bosque", "15:00", "11:00"),
    ]);
    assert!(
        same.contains("desde las 15:00 y la salida hasta las 11:00"),
        "{same}"
    );
    assert!(same.contains("con la confirmación"), "{same}");
    let each = answer(vec![
        house("Cabaña del Lago", "15:00", "11:00"),
        house("Cabaña del Bosque", "13:00", "10:00"),
    ]);
    assert!(
        each.contains("Cabaña del Lago: entrada desde las 15:00, salida hasta las 11:00"),
        "{each}"
    );
    assert!(
        each.contains("Cabaña del Bosque: entrada desde las 13:00, salida hasta las 10:00"),
        "{each}"
    );
    let none = answer(Vec::new());
    assert!(none.contains("cuando elijas una cabaña"), "{none}");
    // A guest with a stay to come is told the way to theirs, and only theirs.
    let mut lake = house("Cabaña del Lago", "15:00", "11:00");
    lake.booked = true;
    lake.way = Some("Ruta 40 km 2012".into());
    let theirs = answer(vec![
        lake.clone(),
        house("Cabaña del Bosque", "13:00", "10:00"),
    ]);
    assert!(
        theirs.starts_with("Cabaña del Lago: entrada desde las 15:00")
            && theirs.contains("📍 Cómo llegar: Ruta 40 km 2012")
            && !theirs.contains("Bosque"),
        "{theirs}"
    );
    lake.way = None;
    let unwritten = answer(vec![lake]);
    assert!(unwritten.contains("hablar con alguien"), "{unwritten}");
}

/// An answer said instead of tapped (typed, or in a voice note) works like its button; a
/// "sí" that only starts a longer question is not taken for one.
#[test]
fn a_spoken_yes_or_no_answers_the_question_just_asked() {
    let confirming = State::ConfirmingHold {
        check_in: d("2026-11-06"),
        check_out: d("2026-11-08"),
        guests: 2,
        offer: offers()[0].clone(),
    };
    let say = |state: &State, words: &str| says(state, words);
    for yes in ["sí", "Sí, dale", "ok", "reservala", "confirmo"] {
        assert!(
            matches!(
                say(&confirming, yes),
                Step::Need {
                    action: Action::PlaceHold { .. },
                    ..
                }
            ),
            "{yes}"
        );
    }
    let no = turn(say(&confirming, "no, cancelá"));
    assert_eq!(no.state, State::Menu);
    assert!(matches!(&no.replies[0], Reply::Buttons { body, .. } if body.contains("no reservé")));

    let deciding = State::ConfirmingCancel {
        code: "K7M2QXP".into(),
    };
    assert!(matches!(
        say(&deciding, "si"),
        Step::Need {
            action: Action::CancelReservation { .. },
            ..
        }
    ));
    // A yes to no question is a hello; "si hay…" is a question, not a yes: four instead of two
    // is a new search, and for the same two the question is asked again.
    assert_eq!(turn(say(&State::Menu, "dale")).state, State::Menu);
    assert!(matches!(
        say(&confirming, "si hay lugar para cuatro personas"),
        Step::Need {
            action: Action::SearchAvailability { guests: 4, .. },
            ..
        }
    ));
    let again = turn(say(&confirming, "si hay lugar para dos personas"));
    assert_eq!(again.state, confirming);
    assert_eq!(again.replies[0].choice_ids()[0], ids::HOLD_CONFIRM);
    assert!(matches!(
        say(&State::Menu, "si tienen lugar el finde para 2"),
        Step::Need {
            action: Action::SearchAvailability { .. },
            ..
        }
    ));
}

/// A reservation that is not the guest's, or no longer active, is not offered for cancelling.
#[test]
fn a_reservation_not_theirs_or_over_is_only_named() {
    let managing = State::ManagingReservation {
        code: "K7M2QXP".into(),
    };
    let missing = after(managing.clone(), Outcome::Reservation(None));
    assert_eq!(missing.state, State::Menu);
    assert!(
        !missing.replies[0]
            .choice_ids()
            .iter()
            .any(|id| id.starts_with("res-cancel"))
    );
    let cancelled = after(
        managing,
        Outcome::Reservation(Some(stay("K7M2QXP", "cancelled", 0, 0))),
    );
    assert_eq!(cancelled.state, State::Menu);
    let Reply::Buttons { body, .. } = &cancelled.replies[0] else {
        panic!("{:?}", cancelled.replies[0]);
    };
    assert!(body.contains("La reserva K7M2QXP está cancelada"), "{body}");
}

/// Asked what to pay once every deposit is paid, the guest is told each stay's balance: with
/// the button to pay it when its link is there, or word that it is coming.
#[test]
fn with_the_deposits_paid_the_balances_are_what_is_left() {
    let due = |code: &str, link: Option<&str>| BalanceDue {
        code: code.into(),
        accommodation: "Cabaña del Lago".into(),
        check_in: d("2026-12-11"),
        amount: Money::pesos(63_000),
        link: link.map(str::to_owned),
    };
    let one = after(
        State::Menu,
        Outcome::Balances(vec![due(
            "K7M2QXP",
            Some("https://mp.example/p?pref_id=b1"),
        )]),
    );
    let Reply::Link { body, button, url } = &one.replies[0] else {
        panic!("{:?}", one.replies[0]);
    };
    assert_eq!(
        body,
        "K7M2QXP (Cabaña del Lago, vie 11/12): saldo de $ 63.000. Podés pagarlo ahora o al llegar."
    );
    assert_eq!(
        (button.as_str(), url.as_str()),
        ("Pagar el saldo", "https://mp.example/p?pref_id=b1")
    );
    let two = after(
        State::Menu,
        Outcome::Balances(vec![
            due("K7M2QXP", None),
            due("P4N8RWT", Some("https://mp.example/b2")),
        ]),
    );
    let Reply::Text(body) = &two.replies[0] else {
        panic!("{:?}", two.replies[0]);
    };
    assert!(body.contains("• K7M2QXP (Cabaña del Lago, vie 11/12): saldo de $ 63.000: te mando el link en un momento."), "{body}");
    assert!(body.contains("• P4N8RWT (Cabaña del Lago, vie 11/12): saldo de $ 63.000: pagalo acá https://mp.example/b2"), "{body}");
}

/// "¿Cuánto sale?" asked while cabins are on the table is answered with their prices, and the
/// question stays open (the next tap or "sí" still books); asked before any dates, it says what
/// a price needs.
#[test]
fn asking_the_price_with_cabins_offered_repeats_their_prices() {
    let (check_in, check_out) = (d("2026-11-06"), d("2026-11-08"));
    let choosing = State::ChoosingAccommodation {
        check_in,
        check_out,
        guests: 4,
        offers: offers(),
        cabin: None,
    };
    let asked = turn(says(&choosing, "cuánto sale?"));
    assert_eq!(asked.state, choosing);
    assert_eq!(
        asked.replies[0].choice_ids(),
        [
            format!("{}a1", ids::ACCOMMODATION_PREFIX),
            format!("{}a2", ids::ACCOMMODATION_PREFIX)
        ]
    );
    let Reply::List { sections, .. } = &asked.replies[0] else {
        panic!("{:?}", asked.replies)
    };
    let rows = format!("{sections:?}");
    assert!(rows.contains("$ 98.000 en total · seña $ 29.400"), "{rows}");

    let confirming = State::ConfirmingHold {
        check_in,
        check_out,
        guests: 4,
        offer: offers().remove(0),
    };
    let asked = turn(says(&confirming, "y cuánto sale en total?"));
    assert_eq!(asked.state, confirming);
    let Reply::Buttons { body, .. } = &asked.replies[0] else {
        panic!("{:?}", asked.replies)
    };
    assert!(body.contains("Total $ 98.000 (seña $ 29.400)"), "{body}");
    // Still the question just asked: "dale" holds it.
    let Step::Need { action, .. } = says(&asked.state, "dale") else {
        panic!("expected the hold")
    };
    assert!(matches!(action, Action::PlaceHold { guests: 4, .. }));

    let asked = turn(respond(&State::Menu, None, &text("cuánto sale?"), now()));
    opens(&asked.replies[0], "Los precios dependen de las fechas");
}

/// "Ya pagué" is not a request for the link: the guest hears the deposit has not arrived yet
/// (with the link still there, in case), that everything is paid, or that the balance is what
/// is left.
#[test]
fn a_guest_who_says_they_paid_hears_what_arrived() {
    let step = respond(&State::Menu, None, &text("ya pagué la seña"), now());
    let Step::Need { action, pending } = step else {
        panic!("{step:?}")
    };
    assert_eq!(action, Action::PaymentLinks);

    let waiting = after(pending.clone(), one_deposit_waiting());
    assert_eq!(waiting.state, State::Menu);
    let first = said(&waiting.replies[0]);
    assert!(
        first.starts_with("Todavía no me llegó la seña de la reserva K7M2QXP."),
        "{first}"
    );
    let link = waiting.replies[1].to_cloud_api("541122334455");
    assert_eq!(link["interactive"]["type"], "cta_url");

    let settled = after(pending.clone(), Outcome::PaymentLinks(vec![]));
    assert_eq!(settled.replies.len(), 1);
    let body = said(&settled.replies[0]);
    assert!(body.contains("tus reservas están al día"), "{body}");

    let balance = after(
        pending,
        Outcome::Balances(vec![BalanceDue {
            code: "K7M2QXP".into(),
            accommodation: "Cabaña del Lago".into(),
            check_in: d("2026-11-20"),
            amount: Money::pesos(68_600),
            link: None,
        }]),
    );
    let first = said(&balance.replies[0]);
    assert!(first.starts_with("Tu seña está acreditada."), "{first}");
    assert!(format!("{:?}", balance.replies[1]).contains("68.600"));
}

/// A thank-you gets a short answer, and the question it answered stays open.
#[test]
fn thanks_get_a_short_answer_and_keep_the_question_open() {
    let confirming = confirming_the_lake();
    let thanked = turn(says(&confirming, "muchas gracias!"));
    assert_eq!(thanked.state, confirming);
    assert_eq!(
        thanked.replies[0],
        Reply::Text("¡De nada! Cualquier cosa, escribime por acá.".into())
    );
    // And the question is asked again.
    assert_eq!(thanked.replies[1].choice_ids()[0], ids::HOLD_CONFIRM);
}

/// A party no cabin takes is told the largest cabin's size and asked how many to look for on
/// the same dates; a stay shorter than every cabin's minimum is told the minimum.
#[test]
fn nothing_found_says_why_when_it_is_not_the_nights() {
    let (check_in, check_out) = (d("2026-11-06"), d("2026-11-08"));
    let choosing = |guests| State::ChoosingAccommodation {
        check_in,
        check_out,
        guests,
        offers: Vec::new(),
        cabin: None,
    };
    let told = after(choosing(8), Outcome::PartyTooLarge { largest: 6 });
    assert_eq!(told.state, asking_guests(check_in, check_out));
    opens(
        &told.replies[0],
        "Nuestras cabañas son para hasta 6 personas",
    );
    let Step::Need { action, .. } = says(&told.state, "somos 4") else {
        panic!("expected a search")
    };
    assert_eq!(
        action,
        Action::SearchAvailability {
            check_in,
            check_out,
            guests: 4
        }
    );

    let told = after(choosing(2), Outcome::StayTooShort { min_nights: 3 });
    assert_eq!(told.state, asking_dates(Some(2)));
    opens(
        &told.replies[0],
        "Para 2 personas la estadía mínima es de 3 noches.",
    );
}

/// What the bot does not understand: in the middle of a question the question stays open (a
/// "sí" after it still books); in an ongoing chat with no question, the menu without a second
/// hello; as a first message, the hello.
#[test]
fn what_is_not_understood_keeps_the_question_open() {
    let confirming = confirming_the_lake();
    let asked = turn(says(&confirming, "¿se puede fumar adentro?"));
    assert_eq!(asked.state, confirming);
    opens(&asked.replies[0], "Perdón, eso no lo sé responder.");
    assert!(matches!(
        says(&asked.state, "sí"),
        Step::Need {
            action: Action::PlaceHold { .. },
            ..
        }
    ));

    let menu = |last| {
        turn(respond(
            &State::Menu,
            last,
            &text("¿se puede fumar adentro?"),
            now(),
        ))
    };
    let body = |t: &conversation::dialogue::Turn| format!("{:?}", t.replies[0]);
    let ongoing = menu(Some(now() - Duration::minutes(2)));
    assert!(
        body(&ongoing).contains("Perdón, eso no lo entendí."),
        "{}",
        body(&ongoing)
    );
    assert_eq!(
        ongoing.replies[0].choice_ids(),
        [ids::MENU_AVAILABILITY, ids::MENU_MINE, ids::MENU_HUMAN]
    );
    assert!(body(&menu(None)).contains("¡Hola!"));
    // A day later it is a new conversation: a hello again.
    assert!(body(&menu(Some(now() - Duration::days(1)))).contains("¡Hola!"));
}

/// A name longer than a list row's title is cut with "…", not mid-word as if misspelt; one
/// stay's balance is spoken of in the singular.
#[test]
fn long_names_are_cut_visibly_and_one_balance_is_singular() {
    let listed = after(
        State::ChoosingAccommodation {
            check_in: d("2026-11-06"),
            check_out: d("2026-11-08"),
            guests: 2,
            offers: Vec::new(),
            cabin: None,
        },
        Outcome::Offers(offers()),
    );
    let Reply::List { sections, .. } = &listed.replies[0] else {
        panic!("{:?}", listed.replies)
    };
    let titles: Vec<&str> = sections[0].rows.iter().map(|r| r.title.as_str()).collect();
    assert_eq!(titles, ["Cabaña del Lago", "Cabaña del Bosque con v…"]);
    assert!(titles.iter().all(|t| t.chars().count() <= 24));

    let one = after(
        State::Menu,
        Outcome::Balances(vec![BalanceDue {
            code: "K7M2QXP".into(),
            accommodation: "Cabaña del Lago".into(),
            check_in: d("2026-11-20"),
            amount: Money::pesos(68_600),
            link: None,
        }]),
    );
    opens(&one.replies[0], "La seña ya está paga.");
}

/// A reservation quoted by its code is that one: shown, or (with "cancelar") its cancellation
/// terms. A seven-letter word in capitals is not a code; a code of letters alone counts when
/// the code was asked for and is all the message says.
#[test]
fn a_reservation_quoted_by_its_code_is_that_one() {
    let need = |state: &State, said: &str| match says(state, said) {
        Step::Need { action, pending } => (action, pending),
        Step::Done(t) => panic!("{said:?}: {t:?}"),
    };
    assert_eq!(
        need(&State::Menu, "hola, mi reserva es la K7M2QXP"),
        (
            Action::ShowReservation {
                code: "K7M2QXP".into()
            },
            State::ManagingReservation {
                code: "K7M2QXP".into()
            }
        )
    );
    assert_eq!(
        need(&State::Menu, "quiero cancelar la reserva k7m2qxp").0,
        Action::PreviewCancellation {
            code: "K7M2QXP".into()
        }
    );
    assert_eq!(
        need(&State::ChoosingReservation, "HAAAAAA").0,
        Action::ShowReservation {
            code: "HAAAAAA".into()
        }
    );
    assert_eq!(
        need(&State::Menu, "QUIERO VER MI RESERVA").0,
        Action::ListReservations
    );
    // A local phone number is not a code.
    assert_eq!(
        need(&State::Menu, "mis reservas, mi cel es 5559999").0,
        Action::ListReservations
    );
}

/// A cabin on the list named instead of tapped is chosen; words every name shares ("cabaña")
/// choose nothing.
#[test]
fn a_cabin_named_instead_of_tapped_is_chosen() {
    let choosing = State::ChoosingAccommodation {
        check_in: d("2026-11-06"),
        check_out: d("2026-11-08"),
        guests: 4,
        offers: offers(),
        cabin: None,
    };
    let chosen = turn(says(&choosing, "me gusta la del bosque"));
    let State::ConfirmingHold { offer, .. } = &chosen.state else {
        panic!("{:?}", chosen.state)
    };
    assert_eq!(offer.accommodation_id, "a2");
    let chosen = turn(says(&choosing, "LA DEL LAGO"));
    assert!(
        matches!(&chosen.state, State::ConfirmingHold { offer, .. } if offer.accommodation_id == "a1")
    );
    let unsure = turn(says(&choosing, "cualquier cabaña"));
    assert_eq!(unsure.state, choosing);
}

/// "Te transferí" is for the owner to check: the guest hears they were told (when a hold of
/// theirs waits for a deposit), or that nothing is pending.
#[test]
fn a_transfer_told_is_passed_to_the_owner() {
    let Step::Need { action, pending } = says(&State::Menu, "ya hice la transferencia de la seña")
    else {
        panic!("expected the owner told")
    };
    assert_eq!(action, Action::TransferToCheck);
    let told = after(
        pending.clone(),
        Outcome::TransferToCheck {
            codes: vec!["K7M2QXP".into()],
        },
    );
    assert_eq!(told.state, State::Menu);
    assert!(
        said(&told.replies[0])
            .starts_with("¡Gracias! Le aviso a la persona a cargo para que revise la transferencia y confirme tu reserva K7M2QXP."),
        "{:?}",
        told.replies
    );
    let nothing = after(pending, Outcome::PaymentLinks(vec![]));
    assert!(said(&nothing.replies[0]).contains("al día"));
}

/// "Ya pagué" (or "quiero pagar") with nothing waiting but a hold that lapsed a short while ago:
/// the guest hears it lapsed, and that a payment made is still honoured while the nights are
/// free, instead of "you are up to date".
#[test]
fn a_payment_for_a_hold_that_just_lapsed_is_answered_with_the_lapse() {
    let Step::Need { action, pending } = says(&State::Menu, "ya pagué la seña") else {
        panic!("expected a look at the payments")
    };
    assert_eq!(action, Action::PaymentLinks);
    let one = after(
        pending.clone(),
        Outcome::Lapsed {
            codes: vec!["K7M2QXP".into()],
        },
    );
    assert_eq!(one.state, State::Menu);
    let answer = said(&one.replies[0]);
    assert!(
        answer.starts_with("Tu reserva K7M2QXP venció antes de que llegara la seña.")
            && answer.contains("se confirma igual mientras las noches sigan libres")
            && answer.contains("mandame el comprobante"),
        "{answer}"
    );
    let two = after(
        State::Menu,
        Outcome::Lapsed {
            codes: vec!["K7M2QXP".into(), "H3N8WQA".into()],
        },
    );
    assert!(
        said(&two.replies[0]).starts_with("Tus reservas K7M2QXP, H3N8WQA vencieron"),
        "{:?}",
        two.replies
    );
}

/// Looking at one of their reservations, a guest who says "sí" is asked what they want with it:
/// it is neither a hello (the menu all over again) nor a cancellation; "cancelar" then is.
#[test]
fn a_yes_while_looking_at_a_reservation_asks_what_they_want_with_it() {
    let managing = State::ManagingReservation {
        code: "K7M2QXP".into(),
    };
    let asked = turn(says(&managing, "sí"));
    assert_eq!(asked.state, managing);
    assert!(
        said(&asked.replies[0]).starts_with("¿Qué querés hacer con la reserva K7M2QXP?"),
        "{:?}",
        asked.replies
    );
    let Step::Need { action, .. } = says(&asked.state, "cancelar") else {
        panic!("expected the cancellation's terms")
    };
    assert_eq!(
        action,
        Action::PreviewCancellation {
            code: "K7M2QXP".into()
        }
    );
}

/// A question about the house is answered by the owner's words, and an open question stays
/// open: while confirming a cabin, about that cabin; while choosing, about those on offer;
/// otherwise about every cabin. Nothing written is said so, with a person to ask.
#[test]
fn a_question_about_the_house_keeps_the_conversation_where_it_was() {
    use domain::house::Topic;
    let asked_guests = asking_guests(d("2026-12-11"), d("2026-12-13"));
    let Step::Need { action, pending } = says(&asked_guests, "¿aceptan perros?") else {
        panic!("no lookup")
    };
    assert_eq!(
        action,
        Action::HouseAnswer {
            topic: Topic::Pets,
            among: Vec::new()
        }
    );
    assert_eq!(pending, asked_guests);
    let answered = after(
        pending,
        Outcome::HouseAnswers(vec![(
            "Cabaña del Lago".into(),
            Some("Sí, mascotas chicas.".into()),
        )]),
    );
    assert_eq!(answered.state, asked_guests, "the question stays open");
    assert_eq!(said(&answered.replies[0]), "Sí, mascotas chicas.");

    let confirming = State::ConfirmingHold {
        check_in: d("2026-12-11"),
        check_out: d("2026-12-13"),
        guests: 2,
        offer: offers()[1].clone(),
    };
    let Step::Need { action, .. } = says(&confirming, "tiene wifi?") else {
        panic!("no lookup")
    };
    assert_eq!(
        action,
        Action::HouseAnswer {
            topic: Topic::Wifi,
            among: vec!["a2".into()]
        }
    );

    let several = after(
        State::Menu,
        Outcome::HouseAnswers(vec![
            ("Cabaña del Lago".into(), Some("Sí.".into())),
            ("Cabaña del Bosque".into(), None),
        ]),
    );
    let lines = said(&several.replies[0]);
    assert!(
        lines.contains("• Cabaña del Lago: Sí.")
            && lines.contains("• Cabaña del Bosque: no lo tengo anotado")
            && lines.contains("hablar con alguien"),
        "{lines}"
    );
    let none = after(
        State::Menu,
        Outcome::HouseAnswers(vec![("Cabaña del Lago".into(), None)]),
    );
    assert!(said(&none.replies[0]).starts_with("Eso no lo tengo anotado."));
}

// ---------------------------------------------------------------------------------------------
// Keeping the thread: context, partial answers, choosing in words, corrections, open questions.
// "now" is Wednesday 2026-11-04, 15:00 in Argentina.
// ---------------------------------------------------------------------------------------------

/// Says each message in turn, from `state`; returns the last step.
fn chat(state: &State, messages: &[&str]) -> Step {
    let mut state = state.clone();
    let mut last = None;
    for m in messages {
        let step = says(&state, m);
        if let Step::Done(t) = &step {
            state = t.state.clone();
        }
        last = Some(step);
    }
    last.unwrap()
}

fn searched(step: &Step) -> (NaiveDate, NaiveDate, u32, Option<String>) {
    match step {
        Step::Need {
            action:
                Action::SearchAvailability {
                    check_in,
                    check_out,
                    guests,
                },
            pending: State::ChoosingAccommodation { cabin, .. },
        } => (*check_in, *check_out, *guests, cabin.clone()),
        other => panic!("expected a search, got {other:?}"),
    }
}

#[test]
fn what_was_said_before_stays_month_party_and_cabin() {
    let step = chat(
        &State::Menu,
        &["tienen algo en abril? somos 2", "del 3 al 6"],
    );
    assert_eq!(searched(&step), (d("2027-04-03"), d("2027-04-06"), 2, None));
    let cabins = ["Cabaña del Río".to_owned(), "La Casita".to_owned()];
    let setting = conversation::dialogue::Setting {
        cabins: &cabins,
        ..conversation::dialogue::Setting::at(now())
    };
    let first = turn(conversation::dialogue::respond_in(
        &setting,
        &State::Menu,
        None,
        &text("quiero la del río del 5 al 8"),
    ));
    let step =
        conversation::dialogue::respond_in(&setting, &first.state, Some(now()), &text("somos 3"));
    assert_eq!(
        searched(&step),
        (
            d("2026-11-05"),
            d("2026-11-08"),
            3,
            Some("Cabaña del Río".to_owned())
        )
    );
    // The cabin named is offered as it is when free, without the list.
    let Step::Need { pending, .. } = step else {
        panic!()
    };
    let mut river = offers();
    river[1].name = "Cabaña del Río".into();
    let offered = after(pending, Outcome::Offers(river));
    assert!(
        matches!(&offered.state, State::ConfirmingHold { offer, .. } if offer.name == "Cabaña del Río")
    );
}

#[test]
fn a_check_in_alone_asks_how_many_nights_and_the_answer_completes_it() {
    let asked = turn(respond(
        &State::Menu,
        None,
        &text("para el 14 de noviembre, somos 2"),
        now(),
    ));
    assert_eq!(
        said(&asked.replies[0]),
        "¿Cuántas noches, desde el sábado 14 de noviembre?"
    );
    for answer in ["4 noches", "hasta el 18", "4", "hasta el miércoles"] {
        let step = says(&asked.state, answer);
        assert_eq!(
            searched(&step),
            (d("2026-11-14"), d("2026-11-18"), 2, None),
            "{answer}"
        );
    }
    // A departure before the check-in's day of the month is in the next month.
    let asked = turn(respond(
        &State::Menu,
        None,
        &text("para el 28 de noviembre para 4"),
        now(),
    ));
    let step = says(&asked.state, "hasta el 2");
    assert_eq!(searched(&step).1, d("2026-12-02"));
}

fn choosing_three() -> State {
    let cabin = |id: &str, name: &str, total: i64, sleeps: u32| Offer {
        accommodation_id: id.into(),
        name: name.into(),
        total: Money::pesos(total),
        deposit: Money::pesos(total * 3 / 10),
        sleeps,
    };
    State::ChoosingAccommodation {
        check_in: d("2026-11-13"),
        check_out: d("2026-11-15"),
        guests: 2,
        offers: vec![
            cabin("casita", "La Casita", 88_000, 2),
            cabin("rio", "Cabaña del Río", 130_000, 4),
            cabin("bosque", "Cabaña del Bosque", 172_000, 6),
        ],
        cabin: None,
    }
}

#[test]
fn a_cabin_is_chosen_in_words_among_those_shown() {
    let chosen = |words: &str| match turn(says(&choosing_three(), words)).state {
        State::ConfirmingHold { offer, .. } => Some(offer.accommodation_id),
        _ => None,
    };
    assert_eq!(chosen("la más barata").as_deref(), Some("casita"));
    assert_eq!(chosen("la mas cara").as_deref(), Some("bosque"));
    assert_eq!(chosen("la grande").as_deref(), Some("bosque"));
    assert_eq!(chosen("la de 4").as_deref(), Some("rio"));
    assert_eq!(chosen("la segunda").as_deref(), Some("rio"));
    assert_eq!(chosen("3").as_deref(), Some("bosque"));
    assert_eq!(chosen("la del rio").as_deref(), Some("rio"));
    // "esa" or "dale" with three shown: which one is asked, the list stays.
    for vague in ["esa", "dale, reservala"] {
        let asked = turn(says(&choosing_three(), vague));
        assert_eq!(asked.state, choosing_three(), "{vague}");
        assert!(
            said(&asked.replies[0]).starts_with("¿Cuál de las 3 cabañas?"),
            "{vague}"
        );
    }
}

#[test]
fn a_correction_before_the_hold_searches_again_and_after_it_moves_the_hold() {
    let step = says(&confirming_the_lake(), "perdón, somos 3");
    assert_eq!(
        searched(&step),
        (
            d("2026-11-06"),
            d("2026-11-08"),
            3,
            Some("Cabaña del Lago".into())
        )
    );

    let Step::Need { pending, .. } = says(&confirming_the_lake(), "dale") else {
        panic!()
    };
    let held = after(
        pending,
        Outcome::Held {
            code: "K7M2QXP".into(),
            deposit: Money::pesos(29_400),
            expires_at: now() + Duration::minutes(30),
        },
    );
    // The days said are the hold's month.
    let asked = turn(says(&held.state, "me equivoqué, era del 7 al 9"));
    let State::ConfirmingMove {
        check_in,
        check_out,
        guests,
        ..
    } = &asked.state
    else {
        panic!("{asked:?}")
    };
    assert_eq!(
        (*check_in, *check_out, *guests),
        (d("2026-11-07"), d("2026-11-09"), 4)
    );
    assert_eq!(asked.replies[0].choice_ids()[0], ids::MOVE_CONFIRM);
    let Step::Need { action, pending } = says(&asked.state, "sí") else {
        panic!()
    };
    assert_eq!(
        action,
        Action::MoveHold {
            code: "K7M2QXP".into(),
            accommodation_id: "a1".into(),
            check_in: d("2026-11-07"),
            check_out: d("2026-11-09"),
            guests: 4
        }
    );
    let moved = after(
        pending,
        Outcome::Moved {
            code: "P4X9QRT".into(),
            deposit: Money::pesos(30_000),
            expires_at: now() + Duration::minutes(30),
        },
    );
    assert!(
        matches!(&moved.state, State::Held { hold } if hold.code == "P4X9QRT" && hold.check_in == d("2026-11-07"))
    );
    // "No": the hold stays as it was.
    let kept = turn(says(&asked.state, "no, dejala como estaba"));
    assert!(matches!(&kept.state, State::Held { hold } if hold.code == "K7M2QXP"));
}

#[test]
fn an_open_question_stays_open_after_something_else() {
    let asking = turn(respond(
        &State::Menu,
        None,
        &text("del 6 al 9 de noviembre"),
        now(),
    ));
    // A question about the house: answered, then the question again.
    let Step::Need { action, pending } = says(&asking.state, "tiene parrilla?") else {
        panic!()
    };
    assert!(matches!(action, Action::HouseAnswer { .. }));
    let answered = after(
        pending,
        Outcome::HouseAnswers(vec![("Lago".into(), Some("Sí, a leña.".into()))]),
    );
    assert_eq!(said(&answered.replies[0]), "Sí, a leña.");
    assert_eq!(said(&answered.replies[1]), "¿Cuántas personas son?");
    // Something not understood: the question again, not the menu.
    let lost = turn(says(&answered.state, "mmm dejame ver con mi marido"));
    assert_eq!(lost.state, answered.state);
    assert_eq!(said(lost.replies.last().unwrap()), "¿Cuántas personas son?");
    let step = says(&lost.state, "somos 4");
    assert_eq!(searched(&step), (d("2026-11-06"), d("2026-11-09"), 4, None));
}
