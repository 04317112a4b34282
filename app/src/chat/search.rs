//! Searching the availability read model for the guest's nights and party.

use chrono::NaiveDate;
use conversation::dialogue::{Offer, Outcome};
use domain::StayDates;
use projections::queries;

use crate::context::Context;
use crate::error::AppError;

/// The cabins free for the stay and party, each with its price and deposit; when none is, why
/// (see `why_nothing`).
pub(super) async fn availability(
    state: &Context,
    (check_in, check_out): (NaiveDate, NaiveDate),
    guests: u32,
) -> Result<Outcome, AppError> {
    let now = state.now();
    let Ok(stay) = StayDates::new(check_in, check_out) else {
        return Ok(Outcome::Offers(Vec::new()));
    };
    let offers: Vec<Offer> = queries::bookable(&state.db, &stay, guests, now)
        .await?
        .into_iter()
        .map(|(a, quote)| Offer {
            accommodation_id: a.id,
            name: a.name,
            total: quote.total,
            deposit: quote.deposit,
            sleeps: a.capacity,
        })
        .collect();
    if !offers.is_empty() {
        return Ok(Outcome::Offers(offers));
    }
    Ok(why_nothing(
        &queries::accommodations(&state.db).await?,
        &stay,
        guests,
    ))
}

/// Why a search found nothing when it is not that the nights are taken: no cabin takes the
/// party, or every one that does asks for more nights.
fn why_nothing(cabins: &[queries::AccommodationView], stay: &StayDates, guests: u32) -> Outcome {
    let Some(largest) = cabins.iter().map(|a| a.capacity).max() else {
        return Outcome::Offers(Vec::new());
    };
    if guests > largest {
        return Outcome::PartyTooLarge { largest };
    }
    let fitting = cabins.iter().filter(|a| a.capacity >= guests);
    match fitting.map(|a| a.min_nights).min() {
        Some(min_nights) if stay.nights() < min_nights => Outcome::StayTooShort { min_nights },
        _ => Outcome::Offers(Vec::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::{Money, Pricing};

    fn cabin(capacity: u32, min_nights: u32) -> queries::AccommodationView {
        queries::AccommodationView {
            id: format!("cabin-{capacity}-{min_nights}"),
            name: "Cabaña".into(),
            capacity,
            min_nights,
            check_in_time: "14:00".into(),
            check_out_time: "10:00".into(),
            pricing: Pricing::simple(Money::pesos(40_000), Money::ZERO),
            utc_offset_minutes: -180,
        }
    }

    fn nights(n: u64) -> StayDates {
        let check_in = NaiveDate::from_ymd_opt(2027, 1, 15).unwrap();
        StayDates::new(check_in, check_in + chrono::Days::new(n)).unwrap()
    }

    #[test]
    fn an_empty_search_says_whether_the_party_or_the_stay_is_what_does_not_fit() {
        let cabins = [cabin(4, 2), cabin(6, 3)];
        assert_eq!(
            why_nothing(&cabins, &nights(3), 8),
            Outcome::PartyTooLarge { largest: 6 }
        );
        // Only the cabin for six takes five, and it asks for three nights.
        assert_eq!(
            why_nothing(&cabins, &nights(2), 5),
            Outcome::StayTooShort { min_nights: 3 }
        );
        // Two nights suit the cabin for four: it is the nights that are taken.
        assert_eq!(
            why_nothing(&cabins, &nights(2), 3),
            Outcome::Offers(Vec::new())
        );
        assert_eq!(why_nothing(&[], &nights(2), 3), Outcome::Offers(Vec::new()));
    }
}
