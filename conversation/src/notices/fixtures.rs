//! A cabin and a reservation in it, built through the domain's own decisions, for the notices'
//! tests: "Cabaña del Lago", $ 40.000 a night and $ 10.000 of cleaning, a 30 % deposit; a hold
//! for two from Monday 11 to Wednesday 13 January 2027 (total $ 90.000, deposit $ 27.000).

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use domain::accommodation::{
    AccommodationCommand, AccommodationInfo, Channel, ConfirmReservation, PlaceHold,
    RegisterAccommodation, Reservation,
};
use domain::payment::{PaymentFacts, PaymentStatus};
use domain::pricing::Pricing;
use domain::{
    Accommodation, AccommodationEvent, AccommodationId, Aggregate, Money, ReservationCode,
    ReservationId, StayDates,
};

/// A day of January 2027.
pub(crate) fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2027, 1, d).unwrap()
}

pub(crate) fn nights(from: u32, to: u32) -> StayDates {
    StayDates::new(day(from), day(to)).unwrap()
}

/// When every decision here is taken: 10:00 in Argentina.
pub(crate) fn now() -> DateTime<Utc> {
    "2026-12-07T13:00:00Z".parse().unwrap()
}

/// The cabin's details, as registered.
pub(crate) fn house() -> AccommodationInfo {
    Cabin::held().acc.info().unwrap().clone()
}

/// A payment of `pesos` in `status`.
pub(crate) fn payment(id: &str, status: PaymentStatus, pesos: i64) -> PaymentFacts {
    PaymentFacts {
        payment_id: id.into(),
        status,
        status_detail: None,
        amount: Money::pesos(pesos),
        method: Some("account_money".into()),
    }
}

/// The cabin and the one reservation the tests speak of.
pub(crate) struct Cabin {
    pub(crate) acc: Accommodation,
    pub(crate) id: ReservationId,
}

impl Cabin {
    /// The hold, just placed.
    pub(crate) fn held() -> Cabin {
        let mut cabin = Cabin {
            acc: Accommodation::default(),
            id: ReservationId::new(),
        };
        cabin.step(AccommodationCommand::Register(RegisterAccommodation {
            accommodation_id: AccommodationId::new(),
            name: "Cabaña del Lago".into(),
            capacity: 4,
            pricing: Pricing::simple(Money::pesos(40_000), Money::pesos(10_000)),
            min_nights: 2,
            check_in_time: NaiveTime::from_hms_opt(14, 0, 0).unwrap(),
            check_out_time: NaiveTime::from_hms_opt(10, 0, 0).unwrap(),
            directions: None,
        }));
        cabin.step(AccommodationCommand::PlaceHold(PlaceHold {
            reservation_id: cabin.id,
            code: ReservationCode::from_entropy(7),
            guest_ref: "guest".into(),
            stay: nights(11, 13),
            guests: 2,
            channel: Channel::Whatsapp,
            hold_duration: chrono::Duration::minutes(30),
        }));
        cabin
    }

    /// The hold confirmed with `pesos` paid by transfer.
    pub(crate) fn confirmed(pesos: i64) -> Cabin {
        let mut cabin = Cabin::held();
        cabin.step(AccommodationCommand::Confirm(ConfirmReservation {
            reservation_id: cabin.id,
            payment_reference: "transfer 1".into(),
            amount_paid: Money::pesos(pesos),
        }));
        cabin
    }

    /// Applies `command` and returns its events.
    pub(crate) fn step(&mut self, command: AccommodationCommand) -> Vec<AccommodationEvent> {
        let events = self.acc.decide(&command, now()).unwrap();
        for e in &events {
            self.acc.evolve(e);
        }
        events
    }

    pub(crate) fn reservation(&self) -> &Reservation {
        self.acc.reservation(self.id).unwrap()
    }

    pub(crate) fn house(&self) -> &AccommodationInfo {
        self.acc.info().unwrap()
    }

    /// The reservation's code, as the notices write it.
    pub(crate) fn code(&self) -> String {
        self.reservation().code.to_string()
    }
}
