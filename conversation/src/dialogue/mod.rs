//! The booking conversation as a pure state machine.
//!
//! A turn is `respond_in(setting, state, last, input)`. When the answer needs the outside world
//! (which cabins are free, placing or moving the hold) the turn returns [`Step::Need`] with an
//! [`Action`]; the caller performs it and calls [`after`] with the [`Outcome`]. Every button and
//! list row id the replies offer is routed back here (see the `ids` module), and a conversation
//! idle for [`TIMEOUT_MINUTES`] starts again from the menu (one handed to a person, after
//! [`HANDOFF_HOURS`]).
//!
//! # Layout
//!
//! - this file: the types, and the turn: what a message or a tap leads to.
//! - `booking`: the booking in progress ([`Draft`]): every message first completes or corrects
//!   it; the cabins shown are chosen in words; a correction after the hold moves it.
//! - `replies`: the reply builders (menu, questions, lists, the stay said back in words).
//! - `after`: finishing a turn with what the outside world answered.

mod after;
mod booking;
mod replies;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use domain::house::Topic;
use domain::{Money, ReservationCode};
use serde::{Deserialize, Serialize};

pub use after::{after, after_in};
pub use booking::Draft;
pub use replies::day_label;

use crate::nlu::{self, Intent, Understanding};
use crate::reply::Reply;
use replies::{PRICES, ask_dates, confirm_prompt, help_topics, menu, text};

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
    /// Move the hold just placed to the nights and party asked.
    pub const MOVE_CONFIRM: &str = "move:confirm";
    /// Keep the hold just placed as it is.
    pub const MOVE_KEEP: &str = "move:keep";
    /// The nights asked are another booking, not a correction of the hold.
    pub const MOVE_OTHER: &str = "move:other";
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
    /// How many the cabin sleeps ("la de 6", "la grande").
    #[serde(default)]
    pub sleeps: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum State {
    #[default]
    Menu,
    /// A booking in progress: what the guest said so far; the question asked is what is
    /// missing (the stay first, then the party).
    Booking { draft: Draft },
    ChoosingAccommodation {
        check_in: NaiveDate,
        check_out: NaiveDate,
        guests: u32,
        offers: Vec<Offer>,
        /// A cabin the guest named before the list ("quiero la del río").
        #[serde(default)]
        cabin: Option<String>,
    },
    ConfirmingHold {
        check_in: NaiveDate,
        check_out: NaiveDate,
        guests: u32,
        offer: Offer,
    },
    /// The hold just placed: a correction ("me equivoqué, era del 4 al 6") offers to move it
    /// instead of placing a second one.
    Held { hold: HeldStay },
    /// The guest was asked whether to move the hold just placed to these nights and party.
    ConfirmingMove {
        hold: HeldStay,
        check_in: NaiveDate,
        check_out: NaiveDate,
        guests: u32,
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
    /// The guest was asked whether voice note `note` was heard right. A "sí" answers that
    /// question; anything else is said to the conversation as it stood (`then`). The caller
    /// unwraps it ([`State::voice_note_asked`], [`State::resumed`]) before a turn.
    ConfirmingVoice { note: String, then: Box<State> },
}

impl State {
    /// The voice note the guest was just asked to confirm, if that is the open question.
    pub fn voice_note_asked(&self) -> Option<&str> {
        match self {
            State::ConfirmingVoice { note, .. } => Some(note),
            _ => None,
        }
    }

    /// The conversation as it stood before a voice note's question (itself otherwise).
    pub fn resumed(self) -> State {
        match self {
            State::ConfirmingVoice { then, .. } => then.resumed(),
            other => other,
        }
    }

    /// `self`, with the question whether voice note `note` was heard right now open.
    pub fn asking_about_voice_note(self, note: &str) -> State {
        State::ConfirmingVoice {
            note: note.to_owned(),
            then: Box::new(self.resumed()),
        }
    }
}

/// The hold just placed in this conversation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldStay {
    pub code: String,
    pub accommodation_id: String,
    /// The cabin's name.
    pub cabin: String,
    pub check_in: NaiveDate,
    pub check_out: NaiveDate,
    pub guests: u32,
}

/// What the guest sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    Text(String),
    /// Text the caller already read with [`read`] (each message is read once).
    Read(String, Box<Understanding>),
    /// The id of a button or list row they tapped.
    Choice(String),
}

/// What a turn is taken against.
#[derive(Clone, Copy, Debug)]
pub struct Setting<'a> {
    pub now: DateTime<Utc>,
    /// The deployment's offset from UTC: "today" and the times said to the guest are local.
    pub utc_offset_minutes: i32,
    /// Every cabin's name: one named before any is offered ("quiero la del río") is kept.
    pub cabins: &'a [String],
}

impl Setting<'static> {
    /// At `now`, in Argentina, with no cabin names known.
    pub fn at(now: DateTime<Utc>) -> Self {
        Setting {
            now,
            utc_offset_minutes: domain::accommodation::ARGENTINA_UTC_OFFSET_MINUTES,
            cabins: &[],
        }
    }
}

impl Setting<'_> {
    pub fn today(&self) -> NaiveDate {
        domain::accommodation::local_today(self.now, self.utc_offset_minutes)
    }

    /// The NLU's context in `state`: bare days said next belong to the month of the stay in
    /// progress, and a departure said alone follows its check-in.
    pub fn context(&self, state: &State) -> nlu::Context<'static> {
        nlu::Context::on(self.today())
            .with_month(booking::month_of(state))
            .with_check_in(booking::open_check_in(state))
    }
}

/// How a message reads in `state` (the month of the stay in progress, today where the guest is).
pub fn read(state: &State, text: &str, setting: &Setting) -> Understanding {
    nlu::understand(text, &setting.context(state))
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
    /// Replace the hold `code` with one on these nights and party, in the same cabin (a hold's
    /// nights are fixed: the old one is cancelled and the new one placed, in one decision).
    MoveHold {
        code: String,
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
    /// The hold was moved: `code` is the new hold's.
    Moved {
        code: String,
        deposit: Money,
        expires_at: DateTime<Utc>,
    },
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

fn done(state: State, replies: Vec<Reply>) -> Step {
    Step::Done(Turn {
        state,
        replies,
        handoff: false,
    })
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
    match nlu::understand(phrase, &nlu::Context::on(today)).dates {
        Some(nlu::Dates::Stay {
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

/// One turn of the conversation, in Argentina, knowing no cabin's name (see [`respond_in`]).
pub fn respond(
    state: &State,
    last_activity: Option<DateTime<Utc>>,
    input: &Input,
    now: DateTime<Utc>,
) -> Step {
    respond_in(&Setting::at(now), state, last_activity, input)
}

/// One turn of the conversation.
pub fn respond_in(
    setting: &Setting,
    state: &State,
    last_activity: Option<DateTime<Utc>>,
    input: &Input,
) -> Step {
    let now = setting.now;
    let today = setting.today();
    let ongoing = last_activity.is_some_and(|at| now - at <= Duration::minutes(TIMEOUT_MINUTES));
    let state = match last_activity {
        Some(_) if !ongoing && !with_a_person(state, last_activity, now) => State::Menu,
        // A voice note's question is the caller's to answer; the turn is the conversation's.
        _ => state.clone().resumed(),
    };
    if state == State::HandedOff {
        return done(State::HandedOff, Vec::new());
    }
    match input {
        Input::Choice(id) => choose(&state, id, today),
        Input::Text(t) => said(
            setting,
            state.clone(),
            ongoing,
            t,
            &read(&state, t, setting),
        ),
        Input::Read(t, u) => said(setting, state, ongoing, t, u),
    }
}

/// A message written or spoken, read once. What it is taken for, in order: a person asked for, a
/// reservation quoted by its code, the booking in progress, an answer to the question just
/// asked, and only then its intent.
fn said(setting: &Setting, state: State, ongoing: bool, t: &str, u: &Understanding) -> Step {
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
    // The booking in progress first: what the message completes or corrects in it.
    if let Some(step) = booking::carry_on(&state, u, t, setting) {
        return step;
    }
    let first = u.intents.first();
    if let Some(step) = answered(&state, first, t, setting.today()) {
        return step;
    }
    by_intent(state, ongoing, first)
}

/// Said instead of tapped (typed, or in a voice note), an answer to the question just asked
/// works like its button.
fn answered(state: &State, first: Option<&Intent>, t: &str, today: NaiveDate) -> Option<Step> {
    Some(match (state, first) {
        (State::ConfirmingHold { .. }, Some(Intent::Yes | Intent::Book)) => {
            choose(state, ids::HOLD_CONFIRM, today)
        }
        (State::ConfirmingHold { .. }, Some(Intent::Cancel)) => {
            choose(state, ids::HOLD_CANCEL, today)
        }
        (State::ConfirmingMove { .. }, Some(Intent::Yes)) => {
            choose(state, ids::MOVE_CONFIRM, today)
        }
        (State::ConfirmingMove { .. }, Some(Intent::Cancel))
        | (State::ConfirmingMove { .. }, None)
            if t.trim().to_lowercase().starts_with("no") =>
        {
            choose(state, ids::MOVE_KEEP, today)
        }
        (State::ConfirmingCancel { code }, Some(Intent::Yes | Intent::Cancel)) => Step::Need {
            action: Action::CancelReservation { code: code.clone() },
            pending: State::Menu,
        },
        // Looking at a reservation no question was asked: a "sí" is not a hello (it used to
        // bring the menu), nor, on its own, a cancellation.
        (State::ManagingReservation { code }, Some(Intent::Yes)) => done(
            state.clone(),
            vec![text(format!(
                "¿Qué querés hacer con la reserva {code}? Para cancelarla escribí \
                 \"cancelar\"; para otra cosa, \"menú\"."
            ))],
        ),
        _ => return None,
    })
}

/// What the message asks for, answered by its first intent.
fn by_intent(state: State, ongoing: bool, first: Option<&Intent>) -> Step {
    match first {
        None | Some(Intent::Greeting | Intent::Yes | Intent::Thanks) => {
            small_talk(state, ongoing, first)
        }
        Some(Intent::Help) => done(State::Menu, vec![help_topics()]),
        Some(Intent::Availability | Intent::Book) => done(
            State::Booking {
                draft: Draft::default(),
            },
            vec![ask_dates()],
        ),
        Some(Intent::Prices) => replies::prices(state),
        Some(Intent::Location) => Step::Need {
            action: Action::HouseTimes,
            pending: state,
        },
        Some(Intent::Ask(topic)) => house_question(state, *topic),
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
    }
}

const NOT_KNOWN: &str = "Perdón, eso no lo sé responder. Si querés, escribí \"hablar con \
                         alguien\" y te contesta la persona a cargo.";

/// Nothing understood, a greeting, a "sí" or thanks. An open question stays open: whatever
/// else was said is answered, then it is asked again.
fn small_talk(state: State, ongoing: bool, first: Option<&Intent>) -> Step {
    let open = booking::reprompt(&state);
    let keep = |state: State, mut replies: Vec<Reply>| {
        replies.extend(open.clone());
        done(state, replies)
    };
    match first {
        // Not understood in the middle of a question ("¿se puede fumar adentro?"): the
        // question stays open, and a person can answer what the bot cannot.
        None if ongoing && state != State::Menu && !open.is_empty() => {
            keep(state, vec![text(NOT_KNOWN)])
        }
        None if ongoing && !matches!(state, State::Menu | State::Held { .. }) => {
            done(state, vec![text(NOT_KNOWN)])
        }
        // The hold just placed stays in the conversation (a correction may still come).
        None if ongoing => {
            let keep = match state {
                State::Held { .. } => state,
                _ => State::Menu,
            };
            done(keep, vec![menu("Perdón, eso no lo entendí. ")])
        }
        // A greeting in the middle of a booking: hello, and the question again.
        Some(Intent::Greeting | Intent::Yes) if !open.is_empty() => {
            keep(state, vec![text("¡Hola!")])
        }
        Some(Intent::Thanks) => keep(
            state,
            vec![text("¡De nada! Cualquier cosa, escribime por acá.")],
        ),
        // A "yes" to no question is a hello, and so is a first message not understood.
        _ => done(
            State::Menu,
            vec![menu("¡Hola! Soy el asistente de reservas. ")],
        ),
    }
}

/// A question about the house. An open question stays open: the answer is about the cabins in
/// it, if any.
fn house_question(state: State, topic: Topic) -> Step {
    let among = match &state {
        State::ConfirmingHold { offer, .. } => vec![offer.accommodation_id.clone()],
        State::ChoosingAccommodation { offers, .. } => {
            offers.iter().map(|o| o.accommodation_id.clone()).collect()
        }
        State::Held { hold } | State::ConfirmingMove { hold, .. } => {
            vec![hold.accommodation_id.clone()]
        }
        _ => Vec::new(),
    };
    Step::Need {
        action: Action::HouseAnswer { topic, among },
        pending: state,
    }
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

/// A tap, by the kind of id: the menu and help topics here, then the dates offered, the hold
/// being confirmed, the hold being moved, and the rows that carry a reservation or a cabin.
fn choose(state: &State, id: &str, today: NaiveDate) -> Step {
    match id {
        ids::MENU_AVAILABILITY => done(
            State::Booking {
                draft: Draft::default(),
            },
            vec![ask_dates()],
        ),
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
        ids::HELP_HUMAN | ids::MENU_HUMAN => handoff(),
        ids::BACK_TO_MENU => done(State::Menu, vec![menu("")]),
        ids::DATES_THIS_WEEKEND | ids::DATES_NEXT_WEEKEND | ids::DATES_OTHER => {
            dates_chosen(state, id, today)
        }
        ids::HOLD_CONFIRM | ids::HOLD_CHANGE_DATES | ids::HOLD_CANCEL => hold_answered(state, id),
        ids::MOVE_CONFIRM | ids::MOVE_KEEP | ids::MOVE_OTHER => move_answered(state, id),
        other => row_chosen(state, other),
    }
}

/// A tap on an option that the conversation has moved past.
fn stale() -> Step {
    done(State::Menu, vec![menu("Esa opción ya no está vigente. ")])
}

/// One of the stays offered when the dates were asked, or "other dates".
fn dates_chosen(state: &State, id: &str, today: NaiveDate) -> Step {
    if id == ids::DATES_OTHER {
        return done(
            State::Booking {
                draft: booking::other_dates(state),
            },
            vec![text(
                "Escribime la entrada y la salida, por ejemplo \"del 12 al 14 de diciembre\".",
            )],
        );
    }
    let (check_in, check_out) = weekend(today, id == ids::DATES_NEXT_WEEKEND);
    booking::with_stay(state, check_in, check_out, today)
}

/// The cabin offered for the stay: hold it, look at other dates, or drop it.
fn hold_answered(state: &State, id: &str) -> Step {
    match (id, state) {
        (
            ids::HOLD_CONFIRM,
            State::ConfirmingHold {
                check_in,
                check_out,
                guests,
                offer,
            },
        ) => Step::Need {
            action: Action::PlaceHold {
                accommodation_id: offer.accommodation_id.clone(),
                check_in: *check_in,
                check_out: *check_out,
                guests: *guests,
            },
            pending: state.clone(),
        },
        (ids::HOLD_CONFIRM, _) => stale(),
        // Other dates for the same party: they are not asked how many they are again.
        (ids::HOLD_CHANGE_DATES, _) => done(
            State::Booking {
                draft: booking::other_dates(state),
            },
            vec![ask_dates()],
        ),
        _ => done(State::Menu, vec![menu("Listo, no reservé nada. ")]),
    }
}

/// Whether to move the hold just placed to the nights asked: move it, keep it, or book those
/// nights apart.
fn move_answered(state: &State, id: &str) -> Step {
    let State::ConfirmingMove {
        hold,
        check_in,
        check_out,
        guests,
    } = state
    else {
        return match id {
            ids::MOVE_CONFIRM => stale(),
            _ => done(State::Menu, vec![menu("")]),
        };
    };
    match id {
        ids::MOVE_CONFIRM => Step::Need {
            action: Action::MoveHold {
                code: hold.code.clone(),
                accommodation_id: hold.accommodation_id.clone(),
                check_in: *check_in,
                check_out: *check_out,
                guests: *guests,
            },
            pending: state.clone(),
        },
        ids::MOVE_KEEP => done(
            State::Held { hold: hold.clone() },
            vec![text(format!(
                "Listo, tu reserva {} queda como estaba.",
                hold.code
            ))],
        ),
        // Not a correction: the nights asked are a booking of their own.
        _ => Step::Need {
            action: Action::SearchAvailability {
                check_in: *check_in,
                check_out: *check_out,
                guests: *guests,
            },
            pending: State::ChoosingAccommodation {
                check_in: *check_in,
                check_out: *check_out,
                guests: *guests,
                offers: Vec::new(),
                cabin: None,
            },
        },
    }
}

/// A row that carries what it is about: one of the guest's reservations, or a cabin.
fn row_chosen(state: &State, id: &str) -> Step {
    match id {
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
        other => match other.strip_prefix(ids::ACCOMMODATION_PREFIX) {
            Some(acc) => cabin_chosen(state, acc),
            None => stale(),
        },
    }
}

/// A cabin tapped on the list of those free for the stay.
fn cabin_chosen(state: &State, acc: &str) -> Step {
    match state {
        // The cabin being confirmed, tapped again on a list shown before: asked again.
        State::ConfirmingHold {
            check_in,
            check_out,
            guests,
            offer,
        } if offer.accommodation_id == acc => done(
            state.clone(),
            vec![confirm_prompt(*check_in, *check_out, *guests, offer)],
        ),
        State::ChoosingAccommodation {
            check_in,
            check_out,
            guests,
            offers,
            ..
        } => match offers.iter().find(|o| o.accommodation_id == acc) {
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
        _ => stale(),
    }
}
