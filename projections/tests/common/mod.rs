#![allow(dead_code)] // Shared by several test binaries; each uses a different part.
//! The projections' tests' world: a store on each backend, and cabins and holds made through
//! the real command handler.

use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use domain::accommodation::{AccommodationCommand, Channel, PlaceHold, RegisterAccommodation};
use domain::{
    Accommodation, AccommodationId, GuestId, Money, Pricing, ReservationCode, ReservationId,
    StayDates,
};
use eventstore::{CommandHandler, EventStore, Metadata};

pub async fn stores() -> Vec<(&'static str, Arc<dyn EventStore>)> {
    let sqlite = eventstore::connect(&eventstore::testing::temp_sqlite_url())
        .await
        .unwrap();
    let pg_url = eventstore::testing::fresh_postgres_url().await.unwrap();
    let pg = eventstore::connect(&pg_url).await.unwrap();
    vec![("sqlite", sqlite), ("postgres", pg)]
}

pub struct World {
    pub handler: CommandHandler<Accommodation>,
    pub now: DateTime<Utc>,
}

impl World {
    pub async fn run(&self, acc: AccommodationId, cmd: AccommodationCommand, now: DateTime<Utc>) {
        self.handler
            .execute(&acc.stream_id(), &cmd, now, &Metadata::default())
            .await
            .unwrap();
    }

    pub async fn register(&self, name: &str, capacity: u32) -> AccommodationId {
        let id = AccommodationId::new();
        self.run(
            id,
            AccommodationCommand::Register(RegisterAccommodation {
                accommodation_id: id,
                name: name.into(),
                capacity,
                pricing: Pricing::simple(Money::pesos(40_000), Money::pesos(8_000)),
                min_nights: 1,
                check_in_time: NaiveTime::from_hms_opt(14, 0, 0).unwrap(),
                check_out_time: NaiveTime::from_hms_opt(10, 0, 0).unwrap(),
                directions: None,
            }),
            self.now,
        )
        .await;
        id
    }

    pub async fn hold(
        &self,
        acc: AccommodationId,
        guest: &GuestId,
        from: NaiveDate,
        nights: u64,
    ) -> (ReservationId, ReservationCode) {
        let id = ReservationId::new();
        let code = ReservationCode::from_entropy(rand::random());
        self.run(
            acc,
            AccommodationCommand::PlaceHold(PlaceHold {
                reservation_id: id,
                code: code.clone(),
                guest_ref: guest.stream_id(),
                stay: StayDates::new(from, from + chrono::Days::new(nights)).unwrap(),
                guests: 2,
                channel: Channel::Direct,
                hold_duration: Duration::minutes(30),
            }),
            self.now,
        )
        .await;
        (id, code)
    }
}
