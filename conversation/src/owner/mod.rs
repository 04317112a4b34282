//! The owner's WhatsApp commands, as pure code: what a message from the owner's own number asks
//! for ("confirmar CÓDIGO", "cobrado CÓDIGO", "agenda", "bloquear del 24 al 27", "cancelar
//! CÓDIGO", "mover CÓDIGO del 12 al 14", "respuesta wifi: …", "liberar +NÚMERO", "comandos", and
//! the buttons of the owner's alerts), and the Spanish the owner is answered in when it is only
//! formatting. Carrying a command out (reading the reservation, recording what it changes) is
//! the application's (`app::owner`).
//!
//! Anything that is not a command is `None`: the owner tries the bot from their own phone, and
//! those messages are a guest's conversation like any other.
//!
//! # Layout
//!
//! - this file: the button ids the alerts carry, what the owner sent ([`Sent`]), the commands
//!   ([`Command`], [`Span`], [`MoveTo`]) and [`command`], which reads one.
//! - `read`: reading a written command or a tapped button (the code among the words, amounts as
//!   written in Argentina, a mobile number, the topic of an answer).
//! - `dates`: the nights a block or a move names, read as a guest's dates are
//!   ([`nights_to_block`], [`moved_to`]).
//! - `texts`: the help, the questions asked before a cancellation or a move, and refusals of
//!   the domain in the owner's words.

mod dates;
mod read;
mod texts;

#[cfg(test)]
mod tests;

use domain::Money;
use domain::house::Topic;

pub use dates::{moved_to, nights_to_block};
pub use read::amount;
pub use texts::{
    GivenBack, HELP, cancel_question, cancelled, left, move_question, moved, nights, party, span,
    spoken, taken,
};

/// The id of the alert's button that confirms the deposit of the hold named after it.
pub const CONFIRM_BUTTON: &str = "owner-confirm:";

/// The id of the button that cancels the reservation named after it, once the owner has seen
/// what the cancellation gives back.
pub const CANCEL_BUTTON: &str = "owner-cancel:";

/// The id of the button that cancels the reservation named after it giving back everything
/// paid, whatever the policy keeps.
pub const CANCEL_ALL_BUTTON: &str = "owner-cancel-all:";

/// The id of the handoff alert's button that hands the conversation with the number after it
/// back to the bot.
pub const RELEASE_BUTTON: &str = "owner-release:";

/// The id of the button that moves a stay: `owner-move:CODE:CHECK-IN:CHECK-OUT:GUESTS` (the
/// party left empty when it does not change).
pub const MOVE_BUTTON: &str = "owner-move:";

/// What the owner sent that may hold a command: a written message, or the id of a button they
/// tapped. Anything else (a voice note, a picture, a list row) holds none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sent<'a> {
    Text(&'a str),
    Button(&'a str),
}

/// The days an agenda covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Span {
    Today,
    Tomorrow,
    /// Arrivals only, the seven days from today.
    Week,
}

#[derive(Debug, PartialEq)]
pub enum Command {
    /// Confirm the deposit of the hold `code`: the amount that arrived, or the deposit asked.
    Confirm { code: String, amount: Option<Money> },
    /// The refunds `code` owes by hand were made.
    Refunded { code: String },
    /// The owner collected a payment on the confirmed stay `code` (its balance, usually on
    /// arrival): the amount said, or the whole balance.
    Collected {
        code: String,
        amount: Option<Money>,
        method: Option<&'static str>,
    },
    /// Who comes and goes today or tomorrow, or who arrives this week.
    Agenda(Span),
    /// Cancel the reservation `code`: `sure` once the owner has seen what it gives back; `all`
    /// to give back everything paid, whatever the policy keeps.
    Cancel { code: String, sure: bool, all: bool },
    /// Block the nights (and cabin) `text` names, or free them.
    Block { text: String, free: bool },
    /// Move the confirmed stay `code`: `sure` once the owner has seen what changes.
    Move {
        code: String,
        to: MoveTo,
        sure: bool,
    },
    /// Hand the conversation with `wa_id` back to the bot.
    Release { wa_id: String },
    /// A one-time link that signs the owner in to the web panel.
    PanelLink,
    /// What the bot answers guests who ask about `topic` (blank: nothing, a person), in the
    /// cabin `cabin` names ("la del bosque"), or in every cabin when it names none.
    Answer {
        topic: Topic,
        cabin: String,
        text: String,
    },
    /// What the owner can write here.
    Help,
}

/// Where the owner moves a stay: as they wrote it, or as the preview's button carries it.
#[derive(Debug, PartialEq)]
pub enum MoveTo {
    Said(String),
    Exactly {
        check_in: chrono::NaiveDate,
        check_out: chrono::NaiveDate,
        guests: Option<u32>,
    },
}

/// The command `sent` carries, if it is one. A bare "confirmar" is not: while trying the bot,
/// it is the owner's "yes" to a cabin on offer.
pub fn command(sent: Sent<'_>) -> Option<Command> {
    match sent {
        Sent::Button(id) => read::button(id),
        Sent::Text(text) => read::written(text),
    }
}
