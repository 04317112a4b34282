//! Writes beside a command's events (`CommandHandler::execute_with`): committed with the events
//! or not at all, written once after a conflict decided the command again, written alone when
//! the command is a repeat, and not written when it is refused. On both backends; the write
//! beside is the real one a new guest's hold makes (their number's link and key).

#![allow(clippy::unwrap_used)] // Test helpers: a failed set-up should stop the test loudly.

mod common;

use async_trait::async_trait;
use chrono::{Duration, Utc};
use domain::accommodation::{AccommodationCommand, Channel, PlaceHold};
use domain::{
    Accommodation, BookingError, Guest, GuestCommand, GuestId, ReservationCode, ReservationId,
    StayDates,
};
use eventstore::{
    AlsoWrite, CommandError, CommandHandler, Db, EventStore, Metadata, StoreError, StoreTx, pii,
};

/// Links `phone` to `guest`; with `then_fail`, fails after writing (as a later statement would).
struct Link {
    phone: &'static str,
    guest: GuestId,
    then_fail: bool,
}

#[async_trait]
impl AlsoWrite for Link {
    async fn write(&self, tx: &mut dyn StoreTx) -> Result<(), StoreError> {
        if !pii::link_new(tx.sql(), self.phone, self.guest, &[7; 32], 0).await? {
            return Err(StoreError::CalledOff("linked meanwhile"));
        }
        if self.then_fail {
            return Err(StoreError::CalledOff("a later write failed"));
        }
        Ok(())
    }
}

fn link(phone: &'static str, guest: GuestId) -> Link {
    Link {
        phone,
        guest,
        then_fail: false,
    }
}

fn advance(wamid: &str) -> GuestCommand {
    GuestCommand::AdvanceDialogue {
        wamid: wamid.into(),
        state: serde_json::json!({"menu": true}),
        at: Utc::now(),
    }
}

async fn events_of(store: &dyn EventStore, stream: &str) -> usize {
    store.read_stream(stream, 0).await.unwrap().len()
}

#[tokio::test]
async fn the_writes_beside_commit_with_the_events_or_not_at_all() {
    for t in common::both().await {
        let (store, db): (&dyn EventStore, Db) = (&*t.store, t.store.db());
        let handler = CommandHandler::<Guest>::new(t.store.clone());
        let guest = GuestId::random();
        let stream = guest.stream_id();
        let meta = Metadata::default();

        // Together: the event and the link.
        let also = link("+54 9 11 1111-1111", guest);
        let done = handler
            .execute_with(&stream, &advance("w1"), Utc::now(), &meta, Some(&also))
            .await
            .unwrap();
        assert_eq!(done.events.len(), 1, "{}", t.name);
        assert_eq!(events_of(store, &stream).await, 1, "{}", t.name);
        let found = pii::find_guest(&db, "5491111111111").await.unwrap();
        assert_eq!(found, Some(guest), "{}", t.name);

        // A write beside that fails takes the events with it, and its own earlier statement.
        let failing = Link {
            then_fail: true,
            ..link("+54 9 11 2222-2222", guest)
        };
        let err = handler
            .execute_with(&stream, &advance("w2"), Utc::now(), &meta, Some(&failing))
            .await;
        assert!(
            matches!(err, Err(CommandError::Store(StoreError::CalledOff(_)))),
            "{}",
            t.name
        );
        assert_eq!(events_of(store, &stream).await, 1, "{}", t.name);
        let found = pii::find_guest(&db, "5491122222222").await.unwrap();
        assert_eq!(found, None, "{}: rolled back", t.name);

        // A repeat decides nothing: the writes beside go in on their own.
        let also = link("+54 9 11 3333-3333", guest);
        let done = handler
            .execute_with(&stream, &advance("w1"), Utc::now(), &meta, Some(&also))
            .await
            .unwrap();
        assert!(done.events.is_empty(), "{}", t.name);
        assert_eq!(events_of(store, &stream).await, 1, "{}", t.name);
        let found = pii::find_guest(&db, "5491133333333").await.unwrap();
        assert_eq!(found, Some(guest), "{}", t.name);
    }
}

#[tokio::test]
async fn a_refused_command_writes_nothing_beside() {
    for t in common::both().await {
        let handler = CommandHandler::<Accommodation>::new(t.store.clone());
        let cabin = domain::AccommodationId::new();
        let today = Utc::now().date_naive();
        let hold = AccommodationCommand::PlaceHold(PlaceHold {
            reservation_id: ReservationId::new(),
            code: ReservationCode::from_entropy(1),
            guest_ref: "guest-1".into(),
            stay: StayDates::new(today + Duration::days(10), today + Duration::days(12)).unwrap(),
            guests: 2,
            channel: Channel::Direct,
            hold_duration: Duration::minutes(30),
        });
        let also = link("+54 9 11 4444-4444", GuestId::random());
        let refused = handler
            .execute_with(
                &cabin.stream_id(),
                &hold,
                Utc::now(),
                &Metadata::default(),
                Some(&also),
            )
            .await;
        assert!(
            matches!(
                refused,
                Err(CommandError::Domain(BookingError::NotRegistered))
            ),
            "{}: {refused:?}",
            t.name
        );
        let found = pii::find_guest(&t.store.db(), "5491144444444")
            .await
            .unwrap();
        assert_eq!(found, None, "{}", t.name);
    }
}

#[tokio::test]
async fn after_a_conflict_the_writes_beside_go_in_once_with_the_command_decided_again() {
    for (t, twin) in common::both_with_twin().await {
        // Two instances: each caches the stream, so the second one's first append is stale.
        let here = CommandHandler::<Guest>::new(t.store.clone());
        let there = CommandHandler::<Guest>::new(twin);
        let guest = GuestId::random();
        let stream = guest.stream_id();
        let meta = Metadata::default();
        here.execute(&stream, &advance("w1"), Utc::now(), &meta)
            .await
            .unwrap();
        there.current(&stream).await.unwrap();
        here.execute(&stream, &advance("w2"), Utc::now(), &meta)
            .await
            .unwrap();

        let also = link("+54 9 11 5555-5555", guest);
        let done = there
            .execute_with(&stream, &advance("w3"), Utc::now(), &meta, Some(&also))
            .await
            .unwrap();
        assert_eq!(
            done.retries, 1,
            "{}: the stale first try conflicted",
            t.name
        );
        assert_eq!(done.stream_version, 3, "{}", t.name);
        assert_eq!(events_of(&*t.store, &stream).await, 3, "{}", t.name);
        let found = pii::find_guest(&t.store.db(), "5491155555555")
            .await
            .unwrap();
        assert_eq!(found, Some(guest), "{}", t.name);
    }
}
