//! The booking conversation as a pure state machine.
//!
//! A turn is `respond(state, input, now)`. When the answer needs the outside world (which
//! cabins are free, placing the hold) the turn returns [`Step::Need`] with an [`Action`]; the
//! caller performs it and calls [`after`] with the [`Outcome`]. Every button and list row id the
//! replies offer is routed back here (see the `ids` module), and a conversation idle for
//! [`TIMEOUT_MINUTES`] starts again from the menu (one handed to a person, after
//! [`HANDOFF_HOURS`]).

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc, Weekday};
use domain::{Money, ReservationCode};
use serde::{Deserialize, Serialize};

use crate::nlu::{self, Dates, Intent};
use crate::reply::{ButtonsBuilder, LimitError, ListBuilder, Reply, clip};
use domain::house::Topic;

pub const TIMEOUT_MINUTES: i64 = 30;

/// A conversation handed to a person goes back to the bot after this long without a message
/// from the guest, if nobody handed it back before: a person who wrote to the guest from their
/// own phone seldom remembers to, and the guest must not find the business number silent for
/// good.
pub const HANDOFF_HOURS: i64 = 24;

/// Every id a reply can carry, and so every id a guest's tap can send back.
pub mod ids {
    pub const MENU_AVAILABILITY: &str = "menu:availability";
    pub const MENU_MINE: &str = "menu:mine";
    pub const MENU_HUMAN: &str = "menu:human";
    pub const DATES_THIS_WEEKEND: &str = "dates:this-weekend";
    pub const DATES_NEXT_WEEKEND: &str = "dates:next-weekend";
    pub const DATES_OTHER: &str = "dates:other";
    pub const HOLD_CONFIRM: &str = "hold:confirm";
    pub const HOLD_CHANGE_DATES: &str = "hold:change-dates";
    pub const HOLD_CANCEL: &str = "hold:cancel";
    /// `acc:{accommodation id}`
    pub const ACCOMMODATION_PREFIX: &str = "acc:";
    /// `res:{code}`: one of the guest's reservations.
    pub const RESERVATION_PREFIX: &str = "res:";
    /// `res-cancel:{code}`: the guest asks to cancel (they are told the terms first).
    pub const CANCEL_PREFIX: &str = "res-cancel:";
    /// `res-cancel-yes:{code}`: the guest accepted the terms.
    pub const CONFIRM_CANCEL_PREFIX: &str = "res-cancel-yes:";
    pub const BACK_TO_MENU: &str = "menu:main";
    pub const HELP_PRICES: &str = "help:prices";
    pub const HELP_LOCATION: &str = "help:location";
    pub const HELP_PAY: &str = "help:pay";
    pub const HELP_CANCEL: &str = "help:cancel";
    pub const HELP_HUMAN: &str = "help:human";
}

/// One of the guest's reservations, as the chat shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReservationSummary {
    pub code: String,
    pub accommodation: String,
    pub check_in: NaiveDate,
    pub check_out: NaiveDate,
    /// `held` or `confirmed`.
    pub status: String,
    /// What is left to pay of the total (on arrival, once confirmed).
    #[serde(default)]
    pub balance_due: Money,
    #[serde(default)]
    pub guests: u32,
    /// What the guest paid so far (less what went back).
    #[serde(default)]
    pub paid: Money,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offer {
    pub accommodation_id: String,
    pub name: String,
    pub total: Money,
    pub deposit: Money,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum State {
    #[default]
    Menu,
    /// We asked for dates (and maybe know the party size).
    AskedDates { guests: Option<u32> },
    /// We know the dates and asked how many they are.
    AskedGuests {
        check_in: NaiveDate,
        check_out: NaiveDate,
    },
    ChoosingAccommodation {
        check_in: NaiveDate,
        check_out: NaiveDate,
        guests: u32,
        offers: Vec<Offer>,
    },
    ConfirmingHold {
        check_in: NaiveDate,
        check_out: NaiveDate,
        guests: u32,
        offer: Offer,
    },
    /// The guest is picking one of their reservations.
    ChoosingReservation,
    /// The guest is looking at one reservation.
    ManagingReservation { code: String },
    /// The guest was told what cancelling would give back, and is deciding.
    ConfirmingCancel { code: String },
    /// A person took over: no automatic replies until the admin releases the conversation.
    HandedOff,
    /// The guest says they paid and their payments are being looked up: only ever the pending
    /// state of that lookup, which ends the turn in `Menu`.
    CheckingPayment,
}

/// What the guest sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    Text(String),
    /// The id of a button or list row they tapped.
    Choice(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    SearchAvailability {
        check_in: NaiveDate,
        check_out: NaiveDate,
        guests: u32,
    },
    PlaceHold {
        accommodation_id: String,
        check_in: NaiveDate,
        check_out: NaiveDate,
        guests: u32,
    },
    /// The guest's own held and confirmed reservations.
    ListReservations,
    /// One of the guest's reservations (the caller checks it is theirs).
    ShowReservation { code: String },
    /// What cancelling one of the guest's reservations now would give back (nothing changes).
    PreviewCancellation { code: String },
    /// Cancel one of the guest's reservations (the caller checks it is theirs).
    CancelReservation { code: String },
    /// The payment links of the guest's reservations still waiting for the deposit.
    PaymentLinks,
    /// The guest says they paid a deposit by transfer: the owner, who confirms transfers by
    /// hand, is told (when a hold of theirs waits for one).
    TransferToCheck,
    /// Each cabin's check-in and check-out times.
    HouseTimes,
    /// The owner's answer about `topic` for the cabins in `among` (every cabin when empty):
    /// the ones on offer, or the one being confirmed.
    HouseAnswer { topic: Topic, among: Vec<String> },
}

/// A cabin's house times, `HH:MM`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HouseTimes {
    pub name: String,
    pub check_in: String,
    pub check_out: String,
    /// The guest has a confirmed stay to come here: they are told the way there (`way`, the
    /// cabin's directions, when the owner wrote them).
    pub booked: bool,
    pub way: Option<String>,
}

/// A confirmed stay's balance, with the link to pay it once the provider made one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BalanceDue {
    pub code: String,
    pub accommodation: String,
    pub check_in: NaiveDate,
    pub amount: Money,
    pub link: Option<String>,
}

/// A held reservation waiting for its deposit, with its link once the provider made one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingPayment {
    pub code: String,
    pub deposit: Money,
    pub link: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Offers(Vec<Offer>),
    /// No cabin takes a party this large: the largest takes `largest`.
    PartyTooLarge {
        largest: u32,
    },
    /// Every cabin that takes the party asks for more nights: `min_nights` at the least.
    StayTooShort {
        min_nights: u32,
    },
    Held {
        code: String,
        deposit: Money,
        expires_at: DateTime<Utc>,
    },
    /// The nights were taken in the meantime.
    Unavailable,
    Reservations(Vec<ReservationSummary>),
    /// The reservation asked for, if it is the guest's.
    Reservation(Option<ReservationSummary>),
    Cancelled {
        code: String,
    },
    NotCancellable {
        code: String,
        why: String,
    },
    PaymentLinks(Vec<PendingPayment>),
    /// The owner was told to check the transfer for these holds.
    TransferToCheck {
        codes: Vec<String>,
    },
    /// Asked what to pay with no deposit waiting: the confirmed stays with a balance left.
    Balances(Vec<BalanceDue>),
    /// Asked what to pay, or told it is paid, with nothing waiting but these holds, which lapsed
    /// a short while ago (a late payment is still honoured while the nights are free).
    Lapsed {
        codes: Vec<String>,
    },
    HouseTimes(Vec<HouseTimes>),
    /// Each cabin asked about, by name, with the owner's answer about the topic if they gave one.
    HouseAnswers(Vec<(String, Option<String>)>),
    /// Cancelling `code` now gives back `refund` of the `paid` so far (the cabin's policy).
    CancellationTerms {
        code: String,
        paid: Money,
        refund: Money,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Turn {
    pub state: State,
    pub replies: Vec<Reply>,
    /// The conversation was handed to a person (tell the admin).
    pub handoff: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    Done(Turn),
    /// Do this, then call [`after`] with `pending` and the outcome.
    Need {
        action: Action,
        pending: State,
    },
}

/// `vie 11/12`: how dates are shown to guests.
pub fn day_label(d: NaiveDate) -> String {
    let name = match d.weekday() {
        Weekday::Mon => "lun",
        Weekday::Tue => "mar",
        Weekday::Wed => "mié",
        Weekday::Thu => "jue",
        Weekday::Fri => "vie",
        Weekday::Sat => "sáb",
        Weekday::Sun => "dom",
    };
    format!("{name} {:02}/{:02}", d.day(), d.month())
}

fn nights(check_in: NaiveDate, check_out: NaiveDate) -> i64 {
    (check_out - check_in).num_days()
}

fn done(state: State, replies: Vec<Reply>) -> Step {
    Step::Done(Turn {
        state,
        replies,
        handoff: false,
    })
}

/// Replies are built from fixed texts within the limits; a limit error here is a bug caught
/// by the tests, and falls back to plain text rather than losing the reply.
fn or_text(reply: Result<Reply, LimitError>, fallback: &str) -> Reply {
    reply.unwrap_or_else(|_| Reply::Text(fallback.to_owned()))
}

fn menu(greeting: &str) -> Reply {
    or_text(
        ButtonsBuilder::new(format!(
            "{greeting}¿Qué querés hacer? También podés escribirme las fechas, por ejemplo \
             \"del 12 al 14 de diciembre para 4\"."
        ))
        .button(ids::MENU_AVAILABILITY, "Ver disponibilidad")
        .button(ids::MENU_MINE, "Mis reservas")
        .button(ids::MENU_HUMAN, "Hablar con alguien")
        .build(),
        "Escribime las fechas y cuántos son.",
    )
}

fn ask_dates() -> Reply {
    or_text(
        ButtonsBuilder::new("¿Para qué fechas? Elegí una opción o escribilas (\"del 12 al 14\").")
            .button(ids::DATES_THIS_WEEKEND, "Este finde")
            .button(ids::DATES_NEXT_WEEKEND, "El finde que viene")
            .button(ids::DATES_OTHER, "Otras fechas")
            .build(),
        "¿Para qué fechas?",
    )
}

fn text(s: impl Into<String>) -> Reply {
    Reply::Text(s.into())
}

fn search(check_in: NaiveDate, check_out: NaiveDate, guests: u32) -> Step {
    Step::Need {
        action: Action::SearchAvailability {
            check_in,
            check_out,
            guests,
        },
        pending: State::ChoosingAccommodation {
            check_in,
            check_out,
            guests,
            offers: Vec::new(),
        },
    }
}

/// Dates (and guests) from text, or the question to ask next.
fn from_dates(dates: Option<Dates>, guests: Option<u32>, fallback: State) -> Step {
    match dates {
        Some(Dates::Stay {
            check_in,
            check_out,
        }) => match guests {
            Some(g) => search(check_in, check_out, g),
            None => done(
                State::AskedGuests {
                    check_in,
                    check_out,
                },
                vec![text(format!(
                    "{} a {} ({} noches). ¿Cuántas personas son?",
                    day_label(check_in),
                    day_label(check_out),
                    nights(check_in, check_out)
                ))],
            ),
        },
        Some(Dates::Ambiguous { question }) => done(fallback, vec![text(question)]),
        Some(Dates::Month { .. }) => done(
            State::AskedDates { guests },
            vec![text(
                "¿Qué días de ese mes? Escribime la entrada y la salida, por ejemplo \"del 5 al 8\".",
            )],
        ),
        None => done(State::AskedDates { guests }, vec![ask_dates()]),
    }
}

/// The one offer whose name the guest wrote (see [`nlu::named`]).
fn named_offer<'a>(offers: &'a [Offer], text: &str) -> Option<&'a Offer> {
    nlu::named(offers, |o| &o.name, text)
}

/// A reservation code in what the guest wrote ("la reserva K7M2QXP"). A word counts when it
/// has the code's shape, a letter and a digit, so that a seven-letter word ("RESERVA" in
/// capitals) is not taken for one; when the code was just asked for, a message that is only
/// the code counts with or without a digit.
fn quoted_code(text: &str, asked: bool) -> Option<String> {
    let words: Vec<&str> = text
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let alone = asked && words.len() == 1;
    words
        .into_iter()
        // A letter too: seven digits are a phone number far more often than a code.
        .filter(|w| {
            (alone || w.chars().any(|c| c.is_ascii_digit()))
                && w.chars().any(|c| c.is_ascii_alphabetic())
        })
        .find_map(|w| ReservationCode::parse(w).ok())
        .map(|code| code.as_str().to_owned())
}

fn weekend(today: NaiveDate, next: bool) -> (NaiveDate, NaiveDate) {
    let phrase = if next {
        "el finde que viene"
    } else {
        "este finde"
    };
    match nlu::understand(phrase, today).dates {
        Some(Dates::Stay {
            check_in,
            check_out,
        }) => (check_in, check_out),
        _ => (today, today + Duration::days(1)),
    }
}

/// Whether the conversation is a person's at `now`: handed to one, and the guest's last
/// message less than [`HANDOFF_HOURS`] ago.
pub fn with_a_person(
    state: &State,
    last_activity: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> bool {
    *state == State::HandedOff
        && last_activity.is_none_or(|at| now - at <= Duration::hours(HANDOFF_HOURS))
}

/// One turn of the conversation.
pub fn respond(
    state: &State,
    last_activity: Option<DateTime<Utc>>,
    input: &Input,
    now: DateTime<Utc>,
) -> Step {
    // Argentine time for "today".
    let today = (now - Duration::hours(3)).date_naive();
    let ongoing = last_activity.is_some_and(|at| now - at <= Duration::minutes(TIMEOUT_MINUTES));
    let state = match last_activity {
        Some(_) if !ongoing && !with_a_person(state, last_activity, now) => State::Menu,
        _ => state.clone(),
    };
    if state == State::HandedOff {
        return done(State::HandedOff, Vec::new());
    }
    match input {
        Input::Choice(id) => choose(&state, id, today),
        Input::Text(t) => {
            let u = nlu::understand(t, today);
            if u.intents.first() == Some(&Intent::Human) {
                return handoff();
            }
            // A reservation quoted by its code: that one, to see or to cancel.
            if let Some(code) = quoted_code(t, state == State::ChoosingReservation) {
                return if u.intents.contains(&Intent::Cancel) {
                    Step::Need {
                        action: Action::PreviewCancellation { code },
                        pending: State::Menu,
                    }
                } else {
                    Step::Need {
                        action: Action::ShowReservation { code: code.clone() },
                        pending: State::ManagingReservation { code },
                    }
                };
            }
            match (&state, u.guests, &u.dates) {
                // The number of guests we asked for.
                (
                    State::AskedGuests {
                        check_in,
                        check_out,
                    },
                    Some(g),
                    None,
                ) => {
                    return search(*check_in, *check_out, g);
                }
                (State::AskedDates { guests }, _, Some(_)) => {
                    return from_dates(u.dates.clone(), u.guests.or(*guests), state.clone());
                }
                _ => {}
            }
            if u.dates.is_some() {
                return from_dates(u.dates, u.guests, state);
            }
            // A cabin on the list named instead of tapped ("la del bosque"); other dates
            // named with it were a new search above.
            if let State::ChoosingAccommodation { offers, .. } = &state
                && let Some(offer) = named_offer(offers, t)
            {
                let id = format!("{}{}", ids::ACCOMMODATION_PREFIX, offer.accommodation_id);
                return choose(&state, &id, today);
            }

            // Said instead of tapped (typed, or in a voice note), an answer to the question
            // just asked works like its button.
            let first = u.intents.first();
            match (&state, first) {
                (State::ConfirmingHold { .. }, Some(Intent::Yes | Intent::Book)) => {
                    return choose(&state, ids::HOLD_CONFIRM, today);
                }
                (State::ConfirmingHold { .. }, Some(Intent::Cancel)) => {
                    return choose(&state, ids::HOLD_CANCEL, today);
                }
                (State::ConfirmingCancel { code }, Some(Intent::Yes | Intent::Cancel)) => {
                    return Step::Need {
                        action: Action::CancelReservation { code: code.clone() },
                        pending: State::Menu,
                    };
                }
                // Looking at a reservation no question was asked: a "sí" is not a hello (it
                // used to bring the menu), nor, on its own, a cancellation.
                (State::ManagingReservation { code }, Some(Intent::Yes)) => {
                    return done(
                        state.clone(),
                        vec![text(format!(
                            "¿Qué querés hacer con la reserva {code}? Para cancelarla escribí \
                             \"cancelar\"; para otra cosa, \"menú\"."
                        ))],
                    );
                }
                _ => {}
            }
            match first {
                Some(Intent::Help) => done(State::Menu, vec![help_topics()]),
                // Not understood in the middle of a question ("¿se puede fumar adentro?"): the
                // question stays open, and a person can answer what the bot cannot.
                None if ongoing && state != State::Menu => done(
                    state,
                    vec![text(
                        "Perdón, eso no lo sé responder. Si querés, escribí \"hablar con \
                         alguien\" y te contesta la persona a cargo.",
                    )],
                ),
                None if ongoing => done(State::Menu, vec![menu("Perdón, eso no lo entendí. ")]),
                // A "yes" to no question is a hello, and so is a first message not understood.
                Some(Intent::Greeting | Intent::Yes) | None => done(
                    State::Menu,
                    vec![menu("¡Hola! Soy el asistente de reservas. ")],
                ),
                Some(Intent::Availability | Intent::Book) => {
                    done(State::AskedDates { guests: u.guests }, vec![ask_dates()])
                }
                Some(Intent::Prices) => prices(state),
                Some(Intent::Location) => Step::Need {
                    action: Action::HouseTimes,
                    pending: state,
                },
                // An open question stays open: the answer is about the cabins in it, if any.
                Some(Intent::Ask(topic)) => {
                    let among = match &state {
                        State::ConfirmingHold { offer, .. } => vec![offer.accommodation_id.clone()],
                        State::ChoosingAccommodation { offers, .. } => {
                            offers.iter().map(|o| o.accommodation_id.clone()).collect()
                        }
                        _ => Vec::new(),
                    };
                    Step::Need {
                        action: Action::HouseAnswer {
                            topic: *topic,
                            among,
                        },
                        pending: state,
                    }
                }
                // Looking at one reservation, "cancelar" means that one.
                Some(Intent::Cancel) => match state {
                    State::ManagingReservation { code } => Step::Need {
                        action: Action::PreviewCancellation { code },
                        pending: State::Menu,
                    },
                    _ => list_reservations(),
                },
                Some(Intent::MyReservations) => list_reservations(),
                Some(Intent::Pay) => Step::Need {
                    action: Action::PaymentLinks,
                    pending: State::Menu,
                },
                Some(Intent::Human) => handoff(),
                Some(Intent::Transferred) => Step::Need {
                    action: Action::TransferToCheck,
                    pending: State::CheckingPayment,
                },
                Some(Intent::Paid) => Step::Need {
                    action: Action::PaymentLinks,
                    pending: State::CheckingPayment,
                },
                // An open question stays open.
                Some(Intent::Thanks) => done(
                    state,
                    vec![text("¡De nada! Cualquier cosa, escribime por acá.")],
                ),
            }
        }
    }
}

/// The cabins free for the stay, each with its total and deposit, to pick one from.
fn offers_list(check_in: NaiveDate, check_out: NaiveDate, guests: u32, offers: &[Offer]) -> Reply {
    let n = nights(check_in, check_out);
    let list = offers
        .iter()
        .take(crate::reply::limits::LIST_ROWS)
        .fold(
            ListBuilder::new(
                format!(
                    "Para {} a {} ({n} noches, {guests} personas) tengo:",
                    day_label(check_in),
                    day_label(check_out)
                ),
                "Ver cabañas",
            ),
            |list, o| {
                let title = clip(&o.name, crate::reply::limits::ROW_TITLE);
                list.row(
                    format!("{}{}", ids::ACCOMMODATION_PREFIX, o.accommodation_id),
                    title,
                    Some(format!("{} en total · seña {}", o.total, o.deposit)),
                )
            },
        )
        .build();
    or_text(list, "Tengo lugar: decime qué cabaña preferís.")
}

/// The chosen cabin's stay and price, and whether to hold it.
fn confirm_prompt(check_in: NaiveDate, check_out: NaiveDate, guests: u32, offer: &Offer) -> Reply {
    or_text(
        ButtonsBuilder::new(format!(
            "{}: {} a {}, {} noches, {} personas. Total {} (seña {}). ¿Te la reservo?",
            offer.name,
            day_label(check_in),
            day_label(check_out),
            nights(check_in, check_out),
            guests,
            offer.total,
            offer.deposit
        ))
        .button(ids::HOLD_CONFIRM, "Confirmar")
        .button(ids::HOLD_CHANGE_DATES, "Cambiar fechas")
        .button(ids::HOLD_CANCEL, "Cancelar")
        .build(),
        "¿Te la reservo? Respondé sí o no.",
    )
}

/// "How much is it?" with cabins already priced for the guest's dates is answered with those
/// prices (the question just asked stays open); before any dates, with how to get a price.
fn prices(state: State) -> Step {
    let reply = match &state {
        State::ChoosingAccommodation {
            check_in,
            check_out,
            guests,
            offers,
        } => offers_list(*check_in, *check_out, *guests, offers),
        State::ConfirmingHold {
            check_in,
            check_out,
            guests,
            offer,
        } => confirm_prompt(*check_in, *check_out, *guests, offer),
        _ => text(PRICES),
    };
    done(state, vec![reply])
}

const PRICES: &str = "Los precios dependen de las fechas: decime cuándo y cuántos son y te paso \
                      el total con limpieza incluida.";
/// The answer to "where is it, when can we arrive": each cabin's own times (the same sentence
/// when they all share them), and where the way there comes from. The directions themselves go
/// only to a guest whose stay is confirmed.
/// The owner's answers about one topic: the answer alone for one cabin (or when every cabin
/// has the same), one line per cabin otherwise, and a person to ask for what nobody answered.
fn house_answers(answers: &[(String, Option<String>)]) -> String {
    const ASK: &str = "Si querés, escribí \"hablar con alguien\" y te contesta la persona a cargo.";
    let known: Vec<(&String, &String)> = answers
        .iter()
        .filter_map(|(name, answer)| answer.as_ref().map(|a| (name, a)))
        .collect();
    match known.as_slice() {
        [] => format!("Eso no lo tengo anotado. {ASK}"),
        [(_, first), rest @ ..]
            if known.len() == answers.len() && rest.iter().all(|(_, a)| a == first) =>
        {
            (*first).clone()
        }
        _ => {
            let mut lines: Vec<String> = answers
                .iter()
                .map(|(name, answer)| match answer {
                    Some(a) => format!("• {name}: {a}"),
                    None => format!("• {name}: no lo tengo anotado"),
                })
                .collect();
            if known.len() < answers.len() {
                lines.push(ASK.to_owned());
            }
            lines.join("\n")
        }
    }
}

fn house_times(houses: &[HouseTimes]) -> String {
    const WAY: &str = "Cómo llegar te lo mandamos con la confirmación de tu reserva.";
    // A guest with a stay to come asks to find their way: theirs, with the way there.
    let booked: Vec<String> = houses
        .iter()
        .filter(|h| h.booked)
        .map(|h| {
            let way = match &h.way {
                Some(way) => format!("\n📍 Cómo llegar: {way}"),
                None => " Para saber cómo llegar, escribí \"hablar con alguien\".".to_owned(),
            };
            format!(
                "{}: entrada desde las {}, salida hasta las {}.{way}",
                h.name, h.check_in, h.check_out
            )
        })
        .collect();
    if !booked.is_empty() {
        return booked.join("\n\n");
    }
    match houses {
        [] => {
            format!("Los horarios de entrada y salida te los paso cuando elijas una cabaña. {WAY}")
        }
        [first, rest @ ..]
            if rest
                .iter()
                .all(|h| h.check_in == first.check_in && h.check_out == first.check_out) =>
        {
            format!(
                "La entrada es desde las {} y la salida hasta las {}. {WAY}",
                first.check_in, first.check_out
            )
        }
        _ => {
            let lines: Vec<String> = houses
                .iter()
                .map(|h| {
                    format!(
                        "• {}: entrada desde las {}, salida hasta las {}",
                        h.name, h.check_in, h.check_out
                    )
                })
                .collect();
            format!("Horarios de entrada y salida:\n{}\n{WAY}", lines.join("\n"))
        }
    }
}

/// The help topics, as a list: each row leads where the same question typed would.
fn help_topics() -> Reply {
    or_text(
        ListBuilder::new("¿Con qué te ayudo?", "Ver temas")
            .row(
                ids::HELP_PRICES,
                "Precios",
                Some("Qué incluye y cómo se calcula".into()),
            )
            .row(
                ids::HELP_LOCATION,
                "Ubicación y horarios",
                Some("Check-in, check-out y cómo llegar".into()),
            )
            .row(
                ids::HELP_PAY,
                "Pagar la seña",
                Some("El link de pago de tu reserva".into()),
            )
            .row(
                ids::HELP_CANCEL,
                "Cancelar una reserva",
                Some("Tus reservas y sus opciones".into()),
            )
            .row(ids::HELP_HUMAN, "Hablar con alguien", None)
            .build(),
        "Preguntame por precios, ubicación, pagos o cancelaciones, o escribí \"hablar con alguien\".",
    )
}

fn list_reservations() -> Step {
    Step::Need {
        action: Action::ListReservations,
        pending: State::ChoosingReservation,
    }
}

fn handoff() -> Step {
    Step::Done(Turn {
        state: State::HandedOff,
        replies: vec![text(
            "Le aviso a la persona a cargo y te escribe por acá en cuanto pueda.",
        )],
        handoff: true,
    })
}

fn choose(state: &State, id: &str, today: NaiveDate) -> Step {
    match id {
        ids::MENU_AVAILABILITY => done(State::AskedDates { guests: None }, vec![ask_dates()]),
        // Other dates for the same party: they are not asked how many they are again.
        ids::HOLD_CHANGE_DATES => {
            let guests = match state {
                State::ConfirmingHold { guests, .. }
                | State::ChoosingAccommodation { guests, .. } => Some(*guests),
                _ => None,
            };
            done(State::AskedDates { guests }, vec![ask_dates()])
        }
        ids::MENU_MINE | ids::HELP_CANCEL => list_reservations(),
        ids::HELP_PRICES => done(State::Menu, vec![text(PRICES)]),
        ids::HELP_LOCATION => Step::Need {
            action: Action::HouseTimes,
            pending: State::Menu,
        },
        ids::HELP_PAY => Step::Need {
            action: Action::PaymentLinks,
            pending: State::Menu,
        },
        ids::HELP_HUMAN => handoff(),
        ids::BACK_TO_MENU => done(State::Menu, vec![menu("")]),
        ids::MENU_HUMAN => handoff(),
        ids::DATES_THIS_WEEKEND | ids::DATES_NEXT_WEEKEND => {
            let (check_in, check_out) = weekend(today, id == ids::DATES_NEXT_WEEKEND);
            let guests = match state {
                State::AskedDates { guests } => *guests,
                _ => None,
            };
            from_dates(
                Some(Dates::Stay {
                    check_in,
                    check_out,
                }),
                guests,
                state.clone(),
            )
        }
        ids::DATES_OTHER => done(
            State::AskedDates { guests: None },
            vec![text(
                "Escribime la entrada y la salida, por ejemplo \"del 12 al 14 de diciembre\".",
            )],
        ),
        ids::HOLD_CANCEL => done(State::Menu, vec![menu("Listo, no reservé nada. ")]),
        ids::HOLD_CONFIRM => match state {
            State::ConfirmingHold {
                check_in,
                check_out,
                guests,
                offer,
            } => Step::Need {
                action: Action::PlaceHold {
                    accommodation_id: offer.accommodation_id.clone(),
                    check_in: *check_in,
                    check_out: *check_out,
                    guests: *guests,
                },
                pending: State::Menu,
            },
            _ => done(State::Menu, vec![menu("Esa opción ya no está vigente. ")]),
        },
        // Checked before CANCEL_PREFIX, which it starts like.
        other if other.starts_with(ids::CONFIRM_CANCEL_PREFIX) => {
            let code = other
                .trim_start_matches(ids::CONFIRM_CANCEL_PREFIX)
                .to_owned();
            Step::Need {
                action: Action::CancelReservation { code },
                pending: State::Menu,
            }
        }
        other if other.starts_with(ids::CANCEL_PREFIX) => {
            let code = other.trim_start_matches(ids::CANCEL_PREFIX).to_owned();
            Step::Need {
                action: Action::PreviewCancellation { code },
                pending: State::Menu,
            }
        }
        other if other.starts_with(ids::RESERVATION_PREFIX) => {
            let code = other.trim_start_matches(ids::RESERVATION_PREFIX).to_owned();
            Step::Need {
                action: Action::ShowReservation { code: code.clone() },
                pending: State::ManagingReservation { code },
            }
        }
        other => match (other.strip_prefix(ids::ACCOMMODATION_PREFIX), state) {
            (
                Some(acc),
                State::ChoosingAccommodation {
                    check_in,
                    check_out,
                    guests,
                    offers,
                },
            ) => match offers.iter().find(|o| o.accommodation_id == acc) {
                Some(offer) => done(
                    State::ConfirmingHold {
                        check_in: *check_in,
                        check_out: *check_out,
                        guests: *guests,
                        offer: offer.clone(),
                    },
                    vec![confirm_prompt(*check_in, *check_out, *guests, offer)],
                ),
                None => done(
                    state.clone(),
                    vec![text("Esa cabaña ya no está en la lista.")],
                ),
            },
            _ => done(State::Menu, vec![menu("Esa opción ya no está vigente. ")]),
        },
    }
}

/// Finishes a turn that needed the outside world.
pub fn after(pending: State, outcome: Outcome) -> Turn {
    let turn = |state, replies| Turn {
        state,
        replies,
        handoff: false,
    };
    match (pending, outcome) {
        (
            State::ChoosingAccommodation {
                check_in,
                check_out,
                guests,
                ..
            },
            Outcome::Offers(offers),
        ) => {
            if offers.is_empty() {
                return turn(
                    State::AskedDates {
                        guests: Some(guests),
                    },
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
            let list = offers_list(check_in, check_out, guests, &offers);
            turn(
                State::ChoosingAccommodation {
                    check_in,
                    check_out,
                    guests,
                    offers,
                },
                vec![list],
            )
        }
        (
            State::ChoosingAccommodation {
                check_in,
                check_out,
                guests,
                ..
            },
            Outcome::PartyTooLarge { largest },
        ) => turn(
            // Same dates: "somos 4" next searches them for a part of the group.
            State::AskedGuests {
                check_in,
                check_out,
            },
            vec![text(format!(
                "Nuestras cabañas son para hasta {largest} personas, así que para {guests} no \
                 alcanza una sola. Si se dividen, decime para cuántos busco primero (por ejemplo \
                 \"para {largest}\"), o escribí \"hablar con alguien\" y te ayuda la persona a cargo."
            ))],
        ),
        (State::ChoosingAccommodation { guests, .. }, Outcome::StayTooShort { min_nights }) => {
            turn(
                State::AskedDates {
                    guests: Some(guests),
                },
                vec![
                    text(format!(
                        "Para {guests} personas la estadía mínima es de {min_nights} noches. ¿Qué \
                         fechas te sirven?"
                    )),
                    ask_dates(),
                ],
            )
        }
        (state, Outcome::PartyTooLarge { .. } | Outcome::StayTooShort { .. }) => {
            turn(state, Vec::new())
        }
        (
            _,
            Outcome::Held {
                code,
                deposit,
                expires_at,
            },
        ) => {
            let local = expires_at - Duration::hours(3);
            turn(
                State::Menu,
                vec![text(format!(
                    "¡Listo! Te la reservé con el código {code}. Para confirmarla pagá la seña de \
                     {deposit} antes de las {}. Ya te mando el link de pago.",
                    local.format("%H:%M")
                ))],
            )
        }
        (_, Outcome::Unavailable) => turn(
            State::AskedDates { guests: None },
            vec![
                text("Uy, esas noches se acaban de ocupar. ¿Probamos otras fechas?"),
                ask_dates(),
            ],
        ),
        (_, Outcome::TransferToCheck { codes }) => turn(
            State::Menu,
            vec![text(format!(
                "¡Gracias! Le aviso a la persona a cargo para que revise la transferencia y \
                 confirme tu reserva {}. Te escribo por acá apenas esté.",
                codes.join(", ")
            ))],
        ),
        (_, Outcome::Lapsed { codes }) => {
            let (yours, lapsed) = match codes.as_slice() {
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
        (State::CheckingPayment, Outcome::PaymentLinks(pending)) if pending.is_empty() => turn(
            State::Menu,
            vec![text(
                "No tenés pagos pendientes: tus reservas están al día.",
            )],
        ),
        (State::CheckingPayment, Outcome::PaymentLinks(pending)) => {
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
        (_, Outcome::PaymentLinks(pending)) => {
            if let [
                PendingPayment {
                    code,
                    deposit,
                    link: Some(link),
                },
            ] = pending.as_slice()
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
        (_, Outcome::Balances(stays)) => {
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
            ] = stays.as_slice()
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
        (_, Outcome::Reservations(list)) => {
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
        (State::ManagingReservation { code }, Outcome::Reservation(Some(r))) => {
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
                State::ManagingReservation { code: code.clone() },
                vec![or_text(
                    ButtonsBuilder::new(detail.clone())
                        .button(format!("{}{code}", ids::CANCEL_PREFIX), "Cancelar reserva")
                        .button(ids::BACK_TO_MENU, "Volver al menú")
                        .build(),
                    &format!("{detail} Para cancelarla respondé \"cancelar\"."),
                )],
            )
        }
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
        (state, Outcome::Offers(_)) => turn(state, Vec::new()),
        (state, Outcome::HouseTimes(houses)) => turn(state, vec![text(house_times(&houses))]),
        (state, Outcome::HouseAnswers(answers)) => turn(state, vec![text(house_answers(&answers))]),
        (_, Outcome::CancellationTerms { code, paid, refund }) => {
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
                State::ConfirmingCancel { code: code.clone() },
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
    }
}
