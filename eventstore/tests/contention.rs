//! 32 concurrent guests race for the same cabin: afterwards no two active stays overlap, every
//! loser was told `DatesUnavailable` (never a panic or a storage error), and the stream replays
//! to the same state the handler holds in memory.

#![allow(clippy::unwrap_used)] // Test helpers: a failed set-up should stop the test loudly.

mod common;

use std::sync::Arc;

use chrono::{Days, Duration, NaiveDate, NaiveTime, Utc};
use domain::accommodation::{
    AccommodationCommand, Channel, ExpireHold, PlaceHold, RegisterAccommodation,
};
use domain::{
    Accommodation, AccommodationId, BookingError, Money, Pricing, ReservationCode, ReservationId,
    StayDates,
};
use eventstore::{CommandError, CommandHandler, Metadata};
use rand::Rng;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_holds_on_one_accommodation_never_overlap() {
    for t in common::both().await {
        // Four handlers with their own caches stand for four API instances: their commands meet
        // only in the database, so the append's version check and the retry on Conflict are
        // what keeps the stays apart (one handler alone would queue them in memory).
        let handlers: Vec<_> = (0..4)
            .map(|_| Arc::new(CommandHandler::<Accommodation>::new(t.store.clone())))
            .collect();
        let handler = handlers[0].clone();
        let id = AccommodationId::new();
        let stream = id.stream_id();
        let now = Utc::now();
        handler
            .execute(
                &stream,
                &AccommodationCommand::Register(RegisterAccommodation {
                    accommodation_id: id,
                    name: "Cabaña Norte".into(),
                    capacity: 6,
                    pricing: Pricing::simple(Money::pesos(40_000), Money::pesos(8_000)),
                    min_nights: 1,
                    check_in_time: NaiveTime::from_hms_opt(14, 0, 0).unwrap(),
                    check_out_time: NaiveTime::from_hms_opt(10, 0, 0).unwrap(),
                    directions: None,
                }),
                now,
                &Metadata::default(),
            )
            .await
            .unwrap();

        let start: NaiveDate = (now + Duration::days(10)).date_naive();
        let mut tasks = Vec::new();
        for n in 0..32u64 {
            let handler = handlers[n as usize % handlers.len()].clone();
            let stream = stream.clone();
            tasks.push(tokio::spawn(async move {
                let (offset, len) = {
                    let mut rng = rand::rng();
                    (rng.random_range(0..20u64), rng.random_range(1..6u64))
                };
                let stay =
                    StayDates::new(start + Days::new(offset), start + Days::new(offset + len))
                        .unwrap();
                let cmd = AccommodationCommand::PlaceHold(PlaceHold {
                    reservation_id: ReservationId::new(),
                    code: ReservationCode::from_entropy(n * 7919 + 13),
                    guest_ref: format!("guest-{n}"),
                    stay,
                    guests: 2,
                    channel: Channel::Direct,
                    hold_duration: Duration::minutes(30),
                });
                handler
                    .execute(&stream, &cmd, now, &Metadata::default())
                    .await
            }));
        }
        let (mut won, mut lost, mut retries) = (0, 0, 0);
        for task in tasks {
            match task.await.expect("no task may panic") {
                Ok(outcome) => {
                    won += 1;
                    retries += outcome.retries;
                }
                Err(CommandError::Domain(BookingError::DatesUnavailable { .. })) => lost += 1,
                Err(other) => panic!(
                    "{}: a loser must get DatesUnavailable, got {other:?}",
                    t.name
                ),
            }
        }
        assert_eq!(won + lost, 32);
        assert!(won >= 1, "{}", t.name);
        eprintln!(
            "{}: {won} holds, {lost} refused, {retries} conflicts retried",
            t.name
        );

        // Replay from the store and compare with what the handler believed.
        let (_, replayed) = handler.load(&stream).await.unwrap();
        let active: Vec<_> = replayed.active_stays().collect();
        assert_eq!(
            active.len(),
            won,
            "{}: every winner holds its nights",
            t.name
        );
        for (i, (a, _)) in active.iter().enumerate() {
            for (b, _) in &active[i + 1..] {
                assert!(!a.overlaps(b), "{}: {a:?} overlaps {b:?}", t.name);
            }
        }
        let (version, again) = handler.load(&stream).await.unwrap();
        assert_eq!(again, replayed, "{}: replay is deterministic", t.name);
        // Every instance's reader view is the stored state, however stale its cache was.
        for h in &handlers {
            let (seen, state) = h.current(&stream).await.unwrap();
            assert_eq!((seen, &state), (version, &replayed), "{}", t.name);
        }
    }
}

/// Instance B read the cabin before instance A placed a hold on it: B's scheduler asked to
/// expire that hold must not be told "no such reservation" by its stale cache. A refusal is
/// decided again on the stored head, and the hold expires.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_on_a_stale_cache_is_decided_again_on_the_stored_head() {
    for t in common::both().await {
        let a = CommandHandler::<Accommodation>::new(t.store.clone());
        let b = CommandHandler::<Accommodation>::new(t.store.clone());
        let id = AccommodationId::new();
        let stream = id.stream_id();
        let now = Utc::now();
        a.execute(
            &stream,
            &AccommodationCommand::Register(RegisterAccommodation {
                accommodation_id: id,
                name: "Cabaña Sur".into(),
                capacity: 4,
                pricing: Pricing::simple(Money::pesos(40_000), Money::pesos(8_000)),
                min_nights: 1,
                check_in_time: NaiveTime::from_hms_opt(14, 0, 0).unwrap(),
                check_out_time: NaiveTime::from_hms_opt(10, 0, 0).unwrap(),
                directions: None,
            }),
            now,
            &Metadata::default(),
        )
        .await
        .unwrap();
        b.current(&stream).await.unwrap();
        let reservation = ReservationId::new();
        let start = (now + Duration::days(10)).date_naive();
        a.execute(
            &stream,
            &AccommodationCommand::PlaceHold(PlaceHold {
                reservation_id: reservation,
                code: ReservationCode::from_entropy(42),
                guest_ref: "guest-1".into(),
                stay: StayDates::new(start, start + Days::new(2)).unwrap(),
                guests: 2,
                channel: Channel::Direct,
                hold_duration: Duration::minutes(30),
            }),
            now,
            &Metadata::default(),
        )
        .await
        .unwrap();

        let expired = b
            .execute(
                &stream,
                &AccommodationCommand::ExpireHold(ExpireHold {
                    reservation_id: reservation,
                }),
                now + Duration::minutes(31),
                &Metadata::default(),
            )
            .await;
        assert!(
            expired.is_ok_and(|o| o.events.len() == 1),
            "{}: the hold placed through the other instance expires",
            t.name
        );
        // A refusal on the stored head stands: it is expired already.
        let again = b
            .execute(
                &stream,
                &AccommodationCommand::ExpireHold(ExpireHold {
                    reservation_id: reservation,
                }),
                now + Duration::minutes(32),
                &Metadata::default(),
            )
            .await;
        assert!(
            matches!(again, Err(CommandError::Domain(BookingError::NotHeld))),
            "{}: {again:?}",
            t.name
        );
    }
}
