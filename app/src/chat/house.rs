//! The house: each cabin's check-in and check-out times (with the way there, for a guest with a
//! stay in it), and the owner's answers to what guests ask of a cabin.

use conversation::dialogue::{self, HouseTimes, Outcome, Setting, State};
use conversation::nlu::Understanding;
use conversation::notices::alerts::unanswered_question;
use domain::GuestId;
use domain::house::Topic;
use projections::ReservationStatus;
use projections::queries;

use super::guest_reservations;
use crate::context::Context;
use crate::error::AppError;

/// Each cabin's house times; the cabins the guest has a confirmed stay to come in are told the
/// way there.
pub(super) async fn times(state: &Context, guest: &GuestId) -> Result<Outcome, AppError> {
    // The cabins the guest has a confirmed stay to come in: those are told the way.
    let today = state.today();
    let mine = guest_reservations(state, guest).await?;
    let booked: Vec<String> = mine
        .into_iter()
        .filter(|r| r.status == ReservationStatus::Confirmed && r.check_out > today)
        .map(|r| r.accommodation_id)
        .collect();
    let mut houses = Vec::new();
    for a in queries::accommodations(&state.db).await? {
        let here = booked.contains(&a.id);
        let way = match a.id.parse::<domain::AccommodationId>() {
            // Directions are only ever told to a guest with a stay there.
            Ok(id) if here => state
                .accommodation(id)
                .await?
                .info()
                .and_then(|i| i.directions.clone()),
            _ => None,
        };
        houses.push(HouseTimes {
            name: a.name,
            check_in: a.check_in_time,
            check_out: a.check_out_time,
            booked: here,
            way,
        });
    }
    Ok(Outcome::HouseTimes(houses))
}

/// The owner's answer about `topic` for each cabin in `among` (every cabin when empty). When no
/// cabin has one, the owner hears how to teach it.
pub(super) async fn answers(
    state: &Context,
    topic: Topic,
    among: &[String],
) -> Result<Outcome, AppError> {
    let mut answers = Vec::new();
    for cabin in queries::accommodations(&state.db).await? {
        if !among.is_empty() && !among.contains(&cabin.id) {
            continue;
        }
        let Ok(id) = cabin.id.parse::<domain::AccommodationId>() else {
            continue;
        };
        // From the cabin's own stream, as its directions are: no read model keeps them.
        let answer = state
            .accommodation(id)
            .await?
            .info()
            .and_then(|info| info.answers.get(&topic).cloned());
        answers.push((cabin.name, answer));
    }
    if !answers.is_empty() && answers.iter().all(|(_, a)| a.is_none()) {
        // The owner can teach it: once a day per topic, so that a run of guests asking
        // the same is one message.
        let key = topic.key();
        let today = state.today();
        crate::outbox::alert_owner(
            state,
            &format!("unanswered:{key}:{today}"),
            unanswered_question(key),
        )
        .await?;
    }
    Ok(Outcome::HouseAnswers(answers))
}

/// A question about the house asked with dates ("¿aceptan perros? del 12 al 14 para 2"): the
/// dialogue took the dates; the question is answered too, first, about the cabins the turn
/// ends on (those on offer, the one being confirmed) or every cabin.
pub(super) async fn answer_asked_with_dates(
    state: &Context,
    u: &Understanding,
    setting: &Setting<'_>,
    turn: &mut dialogue::Turn,
) -> Result<(), AppError> {
    let asked = u.intents.iter().find_map(|i| match i {
        conversation::nlu::Intent::Ask(topic) => Some(*topic),
        _ => None,
    });
    let (Some(topic), Some(_)) = (asked, &u.dates) else {
        return Ok(());
    };
    let among: Vec<String> = match &turn.state {
        State::ChoosingAccommodation { offers, .. } => {
            offers.iter().map(|o| o.accommodation_id.clone()).collect()
        }
        State::ConfirmingHold { offer, .. } => vec![offer.accommodation_id.clone()],
        _ => Vec::new(),
    };
    let outcome = answers(state, topic, &among).await?;
    // The answer alone: the turn's own replies (the offers, the question) follow it.
    let mut replies = dialogue::after_in(setting, State::Menu, outcome).replies;
    replies.append(&mut turn.replies);
    turn.replies = replies;
    Ok(())
}
