//! The booking in progress, kept as state: the stay (or the part of it said so far), the party
//! and a cabin the guest named. Every message first tries to complete or correct it; the cabins
//! shown are chosen in words ("la más barata", "la de 6", "la segunda"); a correction after the
//! hold offers to move that hold, never to place a second one. What is missing is asked, one
//! piece at a time, and a question left open is asked again rather than dropped.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use super::replies::{ask_dates, confirm_prompt, move_prompt, offers_list, text};
use super::{Action, HeldStay, Offer, Setting, State, Step, done};
use crate::nlu::say::{party_words, stay_words};
use crate::nlu::{self, Dates, Intent, Partial, Party, Pick, Understanding};
use crate::reply::Reply;

/// Longest stay the bot holds without a person (a season's rental is the owner's to agree).
const MAX_NIGHTS: i64 = 60;

/// What the guest said so far of the stay they want.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Draft {
    #[serde(default)]
    pub stay: Partial,
    #[serde(default)]
    pub guests: Option<u32>,
    /// A cabin the guest named ("la del río"): offered first when it is free and large enough.
    #[serde(default)]
    pub cabin: Option<String>,
}

impl Draft {
    fn of_stay(
        check_in: NaiveDate,
        check_out: NaiveDate,
        guests: u32,
        cabin: Option<String>,
    ) -> Self {
        Draft {
            stay: Partial {
                check_in: Some(check_in),
                check_out: Some(check_out),
                ..Partial::default()
            },
            guests: Some(guests),
            cabin,
        }
    }

    fn month(&self) -> Option<(i32, u32)> {
        let of = |d: NaiveDate| (d.year(), d.month());
        self.stay
            .month
            .or(self.stay.check_in.map(of))
            .or(self.stay.check_out.map(of))
    }
}

/// The booking a state carries, if it carries one.
fn draft_of(state: &State) -> Option<Draft> {
    Some(match state {
        State::Menu => Draft::default(),
        State::Booking { draft } => draft.clone(),
        State::ChoosingAccommodation {
            check_in,
            check_out,
            guests,
            cabin,
            ..
        } => Draft::of_stay(*check_in, *check_out, *guests, cabin.clone()),
        State::ConfirmingHold {
            check_in,
            check_out,
            guests,
            offer,
        } => Draft::of_stay(*check_in, *check_out, *guests, Some(offer.name.clone())),
        _ => return None,
    })
}

/// The month of the stay in progress (or of the hold just placed): bare days said next are in
/// it ("en abril" … "del 3 al 6"; "me equivoqué, era del 21 al 23").
pub(super) fn month_of(state: &State) -> Option<(i32, u32)> {
    match state {
        State::Held { hold } | State::ConfirmingMove { hold, .. } => {
            Some((hold.check_in.year(), hold.check_in.month()))
        }
        other => draft_of(other).and_then(|d| d.month()),
    }
}

/// A check-in said with no end yet: a departure said next ("hasta el 2") follows it.
pub(super) fn open_check_in(state: &State) -> Option<NaiveDate> {
    let State::Booking { draft } = state else {
        return None;
    };
    draft
        .stay
        .check_in
        .filter(|_| draft.stay.check_out.is_none())
}

/// What the guest has said nothing about yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Missing {
    Nights,
    Stay,
    Party,
    Nothing,
}

fn missing(draft: &Draft) -> Missing {
    match (draft.stay.stay(), draft.guests) {
        (Some(_), Some(_)) => Missing::Nothing,
        (Some(_), None) => Missing::Party,
        (None, _) if draft.stay.check_in.is_some() || draft.stay.check_out.is_some() => {
            Missing::Nights
        }
        (None, _) => Missing::Stay,
    }
}

/// A new piece of the stay laid over what was said before: a check-in alone keeps a length
/// or a check-out said before; a length or a check-out completes a check-in; a whole stay or a
/// new month replaces everything.
fn combine(old: Partial, new: Partial) -> Partial {
    match (new.check_in, new.check_out, new.nights) {
        (Some(a), None, None) => Partial {
            check_in: Some(a),
            check_out: old.check_out.filter(|b| *b > a && old.check_in.is_none()),
            nights: old.nights.filter(|_| old.check_in.is_none()),
            month: None,
        },
        (None, Some(b), None) => Partial {
            check_in: old.check_in.filter(|a| *a < b),
            check_out: Some(b),
            nights: old.nights.filter(|_| old.check_in.is_none()),
            month: None,
        },
        (None, None, Some(n)) => Partial {
            check_in: old.check_in,
            check_out: old.check_out.filter(|_| old.check_in.is_none()),
            nights: Some(n),
            month: new.month.or(old.month),
        },
        _ => new,
    }
}

/// The draft with what the message adds, and a question when something in it must be asked.
fn merge(draft: &Draft, u: &Understanding, cabin: Option<String>) -> (Draft, Option<String>) {
    let mut d = draft.clone();
    let open = missing(draft);
    let mut question = None;
    match &u.dates {
        Some(Dates::Stay {
            check_in,
            check_out,
        }) => {
            d.stay = Partial {
                check_in: Some(*check_in),
                check_out: Some(*check_out),
                ..Partial::default()
            };
        }
        Some(Dates::Partial(p)) => d.stay = combine(d.stay, *p),
        Some(Dates::Ambiguous { question: q }) => {
            question = Some(q.clone());
            // The month said stays for the answer ("del 16 al 13 de diciembre" … "del 13 al 16").
            if u.month.is_some() {
                d.stay = Partial {
                    month: u.month,
                    ..Partial::default()
                };
            }
        }
        None => {}
    }
    match &u.party {
        Some(Party::Count(n)) => d.guests = Some(*n),
        Some(Party::Ask(q)) => {
            question = Some(question.map_or_else(|| q.clone(), |s| format!("{s} {q}")));
        }
        None => {}
    }
    // A number alone answers the question just asked: how many nights, or how many people.
    if let (Some(n), None, None) = (u.number, &u.dates, &u.party) {
        match open {
            Missing::Nights if (1..=MAX_NIGHTS as u32).contains(&n) => {
                d.stay = combine(
                    d.stay,
                    Partial {
                        nights: Some(n),
                        ..Partial::default()
                    },
                );
            }
            Missing::Party if (1..=50).contains(&n) => d.guests = Some(n),
            _ => {}
        }
    }
    if cabin.is_some() {
        d.cabin = cabin;
    }
    (d, question)
}

/// A stay checked before it is searched: not in the past, not reversed, not a season.
fn stay_question(check_in: NaiveDate, check_out: NaiveDate, today: NaiveDate) -> Option<String> {
    if check_in < today {
        return Some(format!(
            "El {} ya pasó: ¿para qué fechas buscás?",
            nlu::say::day_words(check_in)
        ));
    }
    let nights = (check_out - check_in).num_days();
    if nights <= 0 {
        return Some("La salida queda antes de la entrada: ¿me pasás de nuevo las fechas?".into());
    }
    (nights > MAX_NIGHTS).then(|| {
        format!(
            "Son {nights} noches: para una estadía así escribí \"hablar con alguien\" y lo \
             arreglás con la persona a cargo. ¿O buscamos otras fechas?"
        )
    })
}

/// The next step of a booking: the first piece missing is asked, or the cabins are searched.
fn next(draft: Draft, question: Option<String>, today: NaiveDate) -> Step {
    if let Some(q) = question {
        return done(State::Booking { draft }, vec![text(q)]);
    }
    let replies = match draft.stay.stay() {
        None if draft.stay == Partial::default() => vec![ask_dates()],
        None => vec![text(draft.stay.question())],
        Some((a, b)) => {
            if let Some(q) = stay_question(a, b, today) {
                let draft = Draft {
                    stay: Partial::default(),
                    ..draft
                };
                return done(State::Booking { draft }, vec![text(q)]);
            }
            match draft.guests {
                Some(guests) => {
                    return Step::Need {
                        action: Action::SearchAvailability {
                            check_in: a,
                            check_out: b,
                            guests,
                        },
                        pending: State::ChoosingAccommodation {
                            check_in: a,
                            check_out: b,
                            guests,
                            offers: Vec::new(),
                            cabin: draft.cabin,
                        },
                    };
                }
                None => vec![text(format!(
                    "Perfecto: {}. ¿Cuántas personas son?",
                    stay_words(a, b)
                ))],
            }
        }
    };
    done(State::Booking { draft }, replies)
}

/// Whether the message speaks of the stay, the party or a cabin.
fn speaks_of_booking(u: &Understanding, cabin: &Option<String>) -> bool {
    u.dates.is_some() || u.party.is_some() || cabin.is_some()
}

/// The booking in progress, completed or corrected by the message: `None` when the message
/// is about something else (the caller reads its intents).
pub(super) fn carry_on(
    state: &State,
    u: &Understanding,
    said: &str,
    setting: &Setting,
) -> Option<Step> {
    let today = setting.today();
    let cabin = nlu::named(setting.cabins, |c| c.as_str(), said).cloned();
    match state {
        State::Held { hold } if u.dates.is_some() || matches!(u.party, Some(Party::Count(_))) => {
            Some(offer_move(hold, u))
        }
        State::ConfirmingMove { hold, .. }
            if u.dates.is_some() || matches!(u.party, Some(Party::Count(_))) =>
        {
            Some(offer_move(hold, u))
        }
        State::ChoosingAccommodation { offers, .. }
            if u.dates.is_none() && u.party.is_none() || u.pick.is_some() && u.dates.is_none() =>
        {
            choose_offer(state, offers, u, said)
        }
        _ => {
            let draft = draft_of(state)?;
            let open = missing(&draft);
            let answers_open = u.number.is_some()
                && matches!(open, Missing::Nights | Missing::Party)
                && matches!(state, State::Booking { .. });
            if !speaks_of_booking(u, &cabin) && !answers_open {
                return None;
            }
            // A cabin named in passing while a hold is being confirmed is not a new search.
            if matches!(state, State::ConfirmingHold { .. })
                && u.dates.is_none()
                && u.party.is_none()
            {
                return None;
            }
            let (merged, question) = merge(&draft, u, cabin);
            // Nothing new while cabins are shown or one is being confirmed ("si hay lugar para
            // cuatro" when four it is): the question stays, asked again.
            if merged == draft
                && question.is_none()
                && matches!(
                    state,
                    State::ChoosingAccommodation { .. } | State::ConfirmingHold { .. }
                )
            {
                return Some(done(state.clone(), reprompt(state)));
            }
            Some(next(merged, question, today))
        }
    }
}

/// The one offer the guest chose in words, or the question that gets it.
fn picked<'a>(
    offers: &'a [Offer],
    u: &Understanding,
    said: &str,
) -> Result<Option<&'a Offer>, String> {
    if let Some(offer) = nlu::named(offers, |o| &o.name, said) {
        return Ok(Some(offer));
    }
    let which = || {
        format!(
            "¿Cuál de las {} cabañas? Tocá una de la lista o decime su nombre.",
            offers.len()
        )
    };
    let pick = u.pick.or(u.number.map(|n| Pick::Nth(n as usize)));
    let Some(pick) = pick else {
        let yes = u
            .intents
            .iter()
            .any(|i| matches!(i, Intent::Yes | Intent::Book));
        return match (yes, offers) {
            (true, [only]) => Ok(Some(only)),
            (true, _) => Err(which()),
            (false, _) => Ok(None),
        };
    };
    let only = |found: Vec<&'a Offer>| match found.as_slice() {
        [one] => Ok(Some(*one)),
        _ => Err(which()),
    };
    let extreme = |key: fn(&Offer) -> (domain::Money, u32), most: bool| {
        let best = if most {
            offers.iter().map(key).max()
        } else {
            offers.iter().map(key).min()
        };
        offers
            .iter()
            .filter(|o| Some(key(o)) == best)
            .collect::<Vec<_>>()
    };
    match pick {
        Pick::Cheapest => only(extreme(|o| (o.total, 0), false)),
        Pick::Dearest => only(extreme(|o| (o.total, 0), true)),
        Pick::Largest => only(extreme(|o| (domain::Money::ZERO, o.sleeps), true)),
        Pick::Smallest => only(extreme(|o| (domain::Money::ZERO, o.sleeps), false)),
        Pick::Sleeps(n) => {
            let fits: Vec<&Offer> = offers.iter().filter(|o| o.sleeps == n).collect();
            match fits.as_slice() {
                [one] => Ok(Some(one)),
                [] => Err(format!(
                    "De las que te mostré ninguna es para {n}. {}",
                    which()
                )),
                _ => Err(format!("Hay varias para {n}: ¿cuál? Decime su nombre.")),
            }
        }
        Pick::Nth(k) => offers.get(k.wrapping_sub(1)).map(Some).ok_or_else(which),
        Pick::Last => Ok(offers.last()),
        Pick::That => match offers {
            [only] => Ok(Some(only)),
            _ => Err(which()),
        },
    }
}

/// Choosing among the cabins shown: by name, in words or by number; a "dale" with several
/// shown asks which.
fn choose_offer(state: &State, offers: &[Offer], u: &Understanding, said: &str) -> Option<Step> {
    let State::ChoosingAccommodation {
        check_in,
        check_out,
        guests,
        ..
    } = state
    else {
        return None;
    };
    match picked(offers, u, said) {
        Ok(Some(offer)) => Some(done(
            State::ConfirmingHold {
                check_in: *check_in,
                check_out: *check_out,
                guests: *guests,
                offer: offer.clone(),
            },
            vec![confirm_prompt(*check_in, *check_out, *guests, offer)],
        )),
        Ok(None) => None,
        Err(question) => Some(done(
            state.clone(),
            vec![
                text(question),
                offers_list(*check_in, *check_out, *guests, offers),
            ],
        )),
    }
}

/// A correction after the hold: the moved stay, asked first.
fn offer_move(hold: &HeldStay, u: &Understanding) -> Step {
    let held = Draft::of_stay(
        hold.check_in,
        hold.check_out,
        hold.guests,
        Some(hold.cabin.clone()),
    );
    let (draft, question) = merge(&held, u, None);
    let keep = State::Held { hold: hold.clone() };
    if let Some(q) = question {
        return done(keep, vec![text(q)]);
    }
    let (Some((check_in, check_out)), Some(guests)) = (draft.stay.stay(), draft.guests) else {
        return done(keep, vec![text(draft.stay.question())]);
    };
    if (check_in, check_out, guests) == (hold.check_in, hold.check_out, hold.guests) {
        return done(
            keep,
            vec![text(format!(
                "Tu reserva {} ya es así: {}, {}.",
                hold.code,
                stay_words(check_in, check_out),
                party_words(guests)
            ))],
        );
    }
    done(
        State::ConfirmingMove {
            hold: hold.clone(),
            check_in,
            check_out,
            guests,
        },
        vec![move_prompt(hold, check_in, check_out, guests)],
    )
}

/// The question the state left open, asked again after an answer to something else.
pub(super) fn reprompt(state: &State) -> Vec<Reply> {
    match state {
        State::Booking { draft } => match (draft.stay.stay(), missing(draft)) {
            (Some(_), Missing::Party) => vec![text("¿Cuántas personas son?")],
            (_, Missing::Stay) => vec![ask_dates()],
            (_, Missing::Nights) => vec![text(draft.stay.question())],
            _ => Vec::new(),
        },
        State::ChoosingAccommodation {
            check_in,
            check_out,
            guests,
            offers,
            ..
        } if !offers.is_empty() => vec![offers_list(*check_in, *check_out, *guests, offers)],
        State::ConfirmingHold {
            check_in,
            check_out,
            guests,
            offer,
        } => vec![confirm_prompt(*check_in, *check_out, *guests, offer)],
        State::ConfirmingMove {
            hold,
            check_in,
            check_out,
            guests,
        } => vec![move_prompt(hold, *check_in, *check_out, *guests)],
        _ => Vec::new(),
    }
}

/// A stay from a button ("este finde"): laid over the booking in progress.
pub(super) fn with_stay(
    state: &State,
    check_in: NaiveDate,
    check_out: NaiveDate,
    today: NaiveDate,
) -> Step {
    let mut draft = draft_of(state).unwrap_or_default();
    draft.stay = Partial {
        check_in: Some(check_in),
        check_out: Some(check_out),
        ..Partial::default()
    };
    next(draft, None, today)
}

/// Other dates for the same party and cabin: the stay is asked again.
pub(super) fn other_dates(state: &State) -> Draft {
    let draft = draft_of(state).unwrap_or_default();
    Draft {
        stay: Partial::default(),
        ..draft
    }
}
