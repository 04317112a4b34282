//! What a guest means, from Argentine Spanish text (typed or transcribed).
//!
//! # Layout
//!
//! - [`text`]: the tokenizer (accents, emoji, abbreviations, numbers in words, slips, phrases).
//! - `dates`: typed pieces (day, day/month, month, weekday, relative day, holiday, weekend,
//!   length, arrival and departure markers) and the resolver that reads one stay from them, part
//!   of one, or a question.
//! - `party`: the party from a total or from its parts.
//! - `intents`, `pick`: what the guest wants done; a choice among the options shown.
//! - `calendar`, `say`: calendar arithmetic, and dates said back in words.
//!
//! Everything is relative to the [`Context`] passed in: today (the guest's local date), the
//! holiday table, and a month the conversation already settled on. The worst error is a
//! confident wrong stay, so the resolver prefers a question to a guess.

mod calendar;
mod dates;
mod intents;
mod party;
mod pick;
pub mod say;
pub mod text;

/// "lunes" … "domingo": the weekday's name as guests and the owner read it.
pub use calendar::weekday_name;

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::holidays;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Intent {
    Greeting,
    Availability,
    Book,
    MyReservations,
    Cancel,
    Pay,
    Prices,
    Location,
    Help,
    Human,
    /// A short "yes" ("sí", "dale", "ok", "confirmo"): only meaningful after a question.
    Yes,
    /// The guest says they paid by bank transfer, or sent its receipt ("te transferí", "ya
    /// hice la transferencia", "te mandé el comprobante"): the owner confirms those by hand.
    Transferred,
    /// The guest says they already paid ("ya pagué", "pagado").
    Paid,
    /// "Gracias": nothing to do, but it deserves better than the menu.
    Thanks,
    /// A question about the cabin the owner answers ("¿aceptan mascotas?", "¿tiene wifi?").
    Ask(domain::house::Topic),
}

impl Intent {
    /// The intent's stable name (`cabanas understand`, the corpus): `availability`,
    /// `ask:mascotas`, …
    pub fn name(&self) -> String {
        match self {
            Intent::Greeting => "greeting".into(),
            Intent::Availability => "availability".into(),
            Intent::Book => "book".into(),
            Intent::MyReservations => "my_reservations".into(),
            Intent::Cancel => "cancel".into(),
            Intent::Pay => "pay".into(),
            Intent::Prices => "prices".into(),
            Intent::Location => "location".into(),
            Intent::Help => "help".into(),
            Intent::Human => "human".into(),
            Intent::Yes => "yes".into(),
            Intent::Transferred => "transferred".into(),
            Intent::Paid => "paid".into(),
            Intent::Thanks => "thanks".into(),
            Intent::Ask(topic) => format!("ask:{}", topic.key()),
        }
    }
}

/// Part of a stay: what the guest said so far, kept by the dialogue until the rest comes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
pub struct Partial {
    pub check_in: Option<NaiveDate>,
    pub check_out: Option<NaiveDate>,
    pub nights: Option<u32>,
    /// A month to look in (`(year, month)`): "en abril".
    pub month: Option<(i32, u32)>,
}

impl Partial {
    /// The question that gets the rest.
    pub fn question(&self) -> String {
        match (self.check_in, self.check_out, self.nights) {
            (Some(a), None, None) => {
                format!("¿Cuántas noches, desde el {}?", say::day_words(a))
            }
            (None, Some(b), None) => {
                format!("¿Desde qué día? La salida sería el {}.", say::day_words(b))
            }
            (None, None, Some(n)) => match self.month {
                Some((_, m)) => format!(
                    "¿Desde qué día de {} las {n} noches?",
                    calendar::month_name(m)
                ),
                None => format!("¿Desde qué día serían las {n} noches?"),
            },
            _ => match self.month {
                Some((_, m)) => format!(
                    "¿Qué días de {}? Escribime la entrada y la salida, por ejemplo \"del 5 al 8\".",
                    calendar::month_name(m)
                ),
                None => "¿Para qué fechas? Escribime la entrada y la salida, por ejemplo \
                         \"del 5 al 8\"."
                    .to_owned(),
            },
        }
    }

    /// The stay once both ends are known.
    pub fn stay(&self) -> Option<(NaiveDate, NaiveDate)> {
        let nights = |n: u32| chrono::Days::new(u64::from(n));
        match (self.check_in, self.check_out, self.nights) {
            (Some(a), Some(b), _) if b > a => Some((a, b)),
            (Some(a), None, Some(n)) => Some((a, a + nights(n))),
            (None, Some(b), Some(n)) => Some((b - nights(n), b)),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dates {
    /// Nights `[check_in, check_out)`.
    Stay {
        check_in: NaiveDate,
        check_out: NaiveDate,
    },
    /// Part of a stay (a check-in alone, a length, a month).
    Partial(Partial),
    /// What to ask the guest instead of guessing.
    Ambiguous { question: String },
}

/// The party as said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Party {
    Count(u32),
    /// Spoken of but not countable ("familia tipo"): the question to ask.
    Ask(String),
}

/// A choice among the options the bot showed, in words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pick {
    Cheapest,
    Dearest,
    Largest,
    Smallest,
    /// "la de 6": the one that sleeps this many.
    Sleeps(u32),
    /// "la segunda" (1-based).
    Nth(usize),
    Last,
    /// "esa", "reservala": the one shown, when only one is.
    That,
}

#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Understanding {
    /// Every intent recognised, most specific first.
    pub intents: Vec<Intent>,
    pub dates: Option<Dates>,
    /// The month the message named, if one: kept for the next message when its dates had to be
    /// asked ("del 16 al 13 de diciembre" … "del 13 al 16").
    pub month: Option<(i32, u32)>,
    pub party: Option<Party>,
    pub pick: Option<Pick>,
    /// The message is a number and little else ("4", "son 4"): what it counts depends on the
    /// question just asked.
    pub number: Option<u32>,
}

impl Understanding {
    /// The party's size, when it was counted.
    pub fn guests(&self) -> Option<u32> {
        match self.party {
            Some(Party::Count(n)) => Some(n),
            _ => None,
        }
    }

    /// The question to ask before anything is offered: the stay's first, then the party's.
    pub fn ask(&self) -> Option<String> {
        let stay = match &self.dates {
            Some(Dates::Ambiguous { question }) => Some(question.clone()),
            Some(Dates::Partial(p)) => Some(p.question()),
            _ => None,
        };
        let party = match &self.party {
            Some(Party::Ask(q)) => Some(q.clone()),
            _ => None,
        };
        match (stay, party) {
            (Some(s), Some(p)) => Some(format!("{s} {p}")),
            (s, p) => s.or(p),
        }
    }
}

/// What a message is read against.
#[derive(Clone, Copy, Debug)]
pub struct Context<'a> {
    /// The guest's local date (see [`Context::at`]).
    pub today: NaiveDate,
    /// Public holidays with their names, in date order.
    pub holidays: &'a [(NaiveDate, &'a str)],
    /// A month the conversation settled on ("en abril" said before): bare days said next are
    /// in it.
    pub month: Option<(i32, u32)>,
    /// A check-in the conversation settled on: a departure said alone ("hasta el 2", "hasta el
    /// domingo") is the first such day after it.
    pub check_in: Option<NaiveDate>,
}

impl Context<'static> {
    /// `today` with Argentina's holiday table.
    pub fn on(today: NaiveDate) -> Self {
        Context {
            today,
            holidays: holidays::all(),
            month: None,
            check_in: None,
        }
    }

    /// The local date at `now` for a place `utc_offset_minutes` from UTC (the domain's one
    /// rule for "today"), with Argentina's holiday table.
    pub fn at(now: DateTime<Utc>, utc_offset_minutes: i32) -> Self {
        Self::on(domain::accommodation::local_today(now, utc_offset_minutes))
    }
}

impl Context<'_> {
    pub fn with_month(mut self, month: Option<(i32, u32)>) -> Self {
        self.month = month;
        self
    }

    pub fn with_check_in(mut self, check_in: Option<NaiveDate>) -> Self {
        self.check_in = check_in;
        self
    }
}

/// The words of `text` as the rules read them: lower case, no accents, common slips corrected.
/// For matching what a guest wrote against a name.
pub fn words(text: &str) -> Vec<String> {
    text::tokens(text)
}

/// The words of a cabin's name, as [`text::tokens`] reads them, remembered: every message that
/// may name a cabin is matched against every cabin's name (twice when it answers an offer), and
/// reading fifty names each time was a large share of a turn's work. Names seldom change; the
/// memory starts over past `NAMES_KEPT` of them.
fn name_words(name: &str) -> Arc<[String]> {
    const NAMES_KEPT: usize = 1024;
    static READ: LazyLock<Mutex<HashMap<String, Arc<[String]>>>> = LazyLock::new(Default::default);
    // A poisoned lock only means a panic elsewhere: the map is still a valid memory.
    let mut read = READ.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(words) = read.get(name) {
        return words.clone();
    }
    if read.len() >= NAMES_KEPT {
        read.clear();
    }
    let words: Arc<[String]> = text::tokens(name).into();
    read.insert(name.to_owned(), words.clone());
    words
}

const NAME_STOPWORDS: &[&str] = &[
    "del", "las", "los", "con", "por", "que", "una", "uno", "para", "casa", "cabana", "the",
];

/// The one item whose name `text` names: a word of its name (three letters or more, not a
/// word every name has) that no other item's name has ("río" in "la del río"). None when the
/// words fit several, or none.
pub fn named<'a, T>(items: &'a [T], name: impl Fn(&T) -> &str, text: &str) -> Option<&'a T> {
    let said = text::tokens(text);
    let names: Vec<Arc<[String]>> = items.iter().map(|i| name_words(name(i))).collect();
    let mut found = items.iter().zip(&names).filter(|(_, name)| {
        name.iter().any(|w| {
            w.chars().count() >= 3
                && !NAME_STOPWORDS.contains(&w.as_str())
                && said.contains(w)
                && names.iter().filter(|other| other.contains(w)).count() == 1
        })
    });
    match (found.next(), found.next()) {
        (Some((item, _)), None) => Some(item),
        _ => None,
    }
}

/// A message that is a number and little else.
fn number(t: &[String]) -> Option<u32> {
    const FILLER: &[&str] = &[
        "son", "somos", "seriamos", "las", "la", "los", "el", "unas", "unos", "como", "porfavor",
        "gracias", "dale", "seria", "serian", "noches", "personas", "en", "total",
    ];
    let mut nums = t.iter().filter_map(|w| {
        (!w.is_empty() && w.len() <= 2 && w.chars().all(|c| c.is_ascii_digit()))
            .then(|| w.parse().ok())
            .flatten()
    });
    let n = nums.next()?;
    let rest_is_filler = t
        .iter()
        .all(|w| w == "," || FILLER.contains(&w.as_str()) || w.parse::<u32>().is_ok());
    (nums.next().is_none() && rest_is_filler).then_some(n)
}

pub fn understand(text: &str, ctx: &Context) -> Understanding {
    let t = text::tokens(text);
    let words: Vec<String> = t.iter().filter(|w| *w != ",").cloned().collect();
    let dates = dates::read(&t, ctx);
    let party = party::read(&t);
    let mut intents = intents::intents(&words);
    // Dates speak of a stay to look for: after a person asked for, a cancellation or the
    // guest's own reservations (what the message opens with), and after "reservar".
    if dates.is_some() {
        intents.retain(|i| *i != Intent::Availability);
        let at = intents
            .iter()
            .take_while(|i| {
                matches!(
                    i,
                    Intent::Cancel | Intent::Human | Intent::MyReservations | Intent::Book
                )
            })
            .count();
        intents.insert(at, Intent::Availability);
    }
    Understanding {
        intents,
        month: dates::named_month(&t, ctx),
        dates,
        party,
        pick: pick::read(&words),
        number: number(&words),
    }
}

/// One message read, as `cabanas understand` prints it (a stable contract: support reads it to
/// see why the bot answered what it did). Dates and nights are what the message pinned down,
/// even when the rest is asked; `ask` is the question, or null.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Explained {
    pub text: String,
    pub intents: Vec<String>,
    pub check_in: Option<NaiveDate>,
    pub check_out: Option<NaiveDate>,
    pub nights: Option<i64>,
    pub guests: Option<u32>,
    pub ask: Option<String>,
}

pub fn explain(text: &str, ctx: &Context) -> Explained {
    let u = understand(text, ctx);
    let (check_in, check_out, nights) = match &u.dates {
        Some(Dates::Stay {
            check_in,
            check_out,
        }) => (
            Some(*check_in),
            Some(*check_out),
            Some((*check_out - *check_in).num_days()),
        ),
        Some(Dates::Partial(p)) => (p.check_in, p.check_out, p.nights.map(i64::from)),
        _ => (None, None, None),
    };
    Explained {
        text: text.to_owned(),
        intents: u.intents.iter().map(Intent::name).collect(),
        check_in,
        check_out,
        nights,
        guests: u.guests(),
        ask: u.ask(),
    }
}
