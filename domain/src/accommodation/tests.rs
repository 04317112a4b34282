//! given / when / then tests for every rule of the accommodation aggregate.

use super::*;
use crate::Money;
use crate::event::{DomainEvent, EventDecodeError};
use crate::ids::{AccommodationId, ReservationCode};
use crate::payment::{PaymentFacts, RefundReason, RefundVia};
use crate::pricing::Pricing;
use chrono::{Duration, NaiveTime};
use proptest::prelude::*;

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn stay(a: &str, b: &str) -> StayDates {
    StayDates::new(d(a), d(b)).unwrap()
}

/// 10:00 in Buenos Aires on Monday 2026-12-07.
fn now() -> DateTime<Utc> {
    at("2026-12-07T13:00:00Z")
}

fn registered() -> AccommodationEvent {
    AccommodationEvent::Registered(AccommodationRegistered {
        accommodation_id: AccommodationId::from_uuid(uuid::Uuid::nil()),
        name: "Cabaña del Lago".into(),
        capacity: 4,
        pricing: Pricing::simple(Money::pesos(40_000), Money::pesos(10_000)),
        min_nights: 2,
        check_in_time: NaiveTime::from_hms_opt(14, 0, 0).unwrap(),
        check_out_time: NaiveTime::from_hms_opt(10, 0, 0).unwrap(),
        utc_offset_minutes: ARGENTINA_UTC_OFFSET_MINUTES,
        registered_at: at("2026-12-01T12:00:00Z"),
        directions: None,
    })
}

fn hold(id: u128, stay: StayDates) -> PlaceHold {
    PlaceHold {
        reservation_id: ReservationId::from_uuid(uuid::Uuid::from_u128(id)),
        code: ReservationCode::from_entropy(id as u64),
        guest_ref: format!("guest-{id}"),
        stay,
        guests: 2,
        channel: Channel::Direct,
        hold_duration: Duration::minutes(30),
    }
}

/// The refusal of nights that overlap the stay from `check_in` to `check_out`.
fn taken(check_in: &str, check_out: &str) -> Result<Vec<AccommodationEvent>, BookingError> {
    Err(BookingError::DatesUnavailable {
        check_in: d(check_in),
        check_out: d(check_out),
    })
}

fn rid(id: u128) -> ReservationId {
    ReservationId::from_uuid(uuid::Uuid::from_u128(id))
}

/// The given/when/then harness: a history, a command at a time, and the expected outcome.
struct Given(Accommodation);

fn given(events: &[AccommodationEvent]) -> Given {
    let mut state = Accommodation::default();
    for e in events {
        state.evolve(e);
    }
    Given(state)
}

impl Given {
    fn when(
        &self,
        cmd: AccommodationCommand,
        now: DateTime<Utc>,
    ) -> Result<Vec<AccommodationEvent>, BookingError> {
        self.0.decide(&cmd, now)
    }

    /// A hold `id` placed now on the nights from `check_in` to `check_out`.
    fn holds(
        &self,
        id: u128,
        check_in: &str,
        check_out: &str,
    ) -> Result<Vec<AccommodationEvent>, BookingError> {
        self.when(
            AccommodationCommand::PlaceHold(hold(id, stay(check_in, check_out))),
            now(),
        )
    }
}

fn placed(id: u128, s: StayDates) -> AccommodationEvent {
    given(&[registered()])
        .when(AccommodationCommand::PlaceHold(hold(id, s)), now())
        .unwrap()
        .remove(0)
}

#[test]
fn registering_twice_is_refused() {
    let cmd = AccommodationCommand::Register(RegisterAccommodation {
        accommodation_id: AccommodationId::new(),
        name: "Otra".into(),
        capacity: 2,
        pricing: Pricing::simple(Money::pesos(1), Money::ZERO),
        min_nights: 1,
        check_in_time: NaiveTime::MIN,
        check_out_time: NaiveTime::MIN,
        directions: None,
    });
    assert_eq!(
        given(&[registered()]).when(cmd.clone(), now()),
        Err(BookingError::AlreadyRegistered)
    );
    let events = given(&[]).when(cmd, now()).unwrap();
    assert_eq!(events[0].event_type(), "AccommodationRegistered");
}

#[test]
fn registering_with_zero_capacity_or_bad_pricing_is_refused() {
    let mut cmd = RegisterAccommodation {
        accommodation_id: AccommodationId::new(),
        name: "Otra".into(),
        capacity: 0,
        pricing: Pricing::simple(Money::pesos(1), Money::ZERO),
        min_nights: 1,
        check_in_time: NaiveTime::MIN,
        check_out_time: NaiveTime::MIN,
        directions: None,
    };
    let r = given(&[]).when(AccommodationCommand::Register(cmd.clone()), now());
    assert!(matches!(r, Err(BookingError::InvalidAccommodation(_))));
    cmd.capacity = 2;
    cmd.pricing.nightly_base = Money::ZERO;
    let r = given(&[]).when(AccommodationCommand::Register(cmd), now());
    assert!(matches!(r, Err(BookingError::InvalidPricing(_))));
}

#[test]
fn a_hold_carries_the_full_quote_and_expiry() {
    let events = given(&[registered()])
        .holds(1, "2026-12-11", "2026-12-13")
        .unwrap();
    let [AccommodationEvent::HoldPlaced(e)] = events.as_slice() else {
        panic!("expected one HoldPlaced, got {events:?}");
    };
    assert_eq!(e.quote.nights, 2);
    assert_eq!(e.quote.weekend_nights, 2);
    assert_eq!(e.quote.total, Money::pesos(90_000));
    assert_eq!(e.quote.deposit, Money::pesos(27_000));
    assert_eq!(e.expires_at, now() + Duration::minutes(30));
}

#[test]
fn holding_an_unregistered_accommodation_is_refused() {
    let r = given(&[]).holds(1, "2026-12-11", "2026-12-13");
    assert_eq!(r, Err(BookingError::NotRegistered));
}

#[test]
fn a_check_in_in_the_past_is_refused_but_today_is_fine() {
    let g = given(&[registered()]);
    let r = g.holds(1, "2026-12-06", "2026-12-08");
    assert_eq!(
        r,
        Err(BookingError::CheckInInPast {
            check_in: d("2026-12-06"),
            today: d("2026-12-07")
        })
    );
    assert!(g.holds(1, "2026-12-07", "2026-12-09").is_ok());
}

#[test]
fn today_is_the_owners_day_not_utc() {
    // 01:00 UTC on the 8th is still 22:00 on the 7th in Argentina: the 7th is not past yet.
    let late = at("2026-12-08T01:00:00Z");
    let r = given(&[registered()]).when(
        AccommodationCommand::PlaceHold(hold(1, stay("2026-12-07", "2026-12-09"))),
        late,
    );
    assert!(r.is_ok(), "{r:?}");
}

#[test]
fn a_stay_below_the_minimum_nights_is_refused() {
    let r = given(&[registered()]).holds(1, "2026-12-11", "2026-12-12");
    assert_eq!(
        r,
        Err(BookingError::StayTooShort {
            nights: 1,
            minimum: 2
        })
    );
}

#[test]
fn a_stay_above_thirty_nights_is_refused() {
    let r = given(&[registered()]).holds(1, "2026-12-11", "2027-01-11");
    assert_eq!(
        r,
        Err(BookingError::StayTooLong {
            nights: 31,
            maximum: 30
        })
    );
}

#[test]
fn guests_must_be_between_one_and_capacity() {
    let g = given(&[registered()]);
    for guests in [0, 5] {
        let mut cmd = hold(1, stay("2026-12-11", "2026-12-13"));
        cmd.guests = guests;
        assert_eq!(
            g.when(AccommodationCommand::PlaceHold(cmd), now()),
            Err(BookingError::InvalidGuestCount {
                guests,
                capacity: 4
            })
        );
    }
}

#[test]
fn overlapping_an_active_hold_is_refused() {
    let g = given(&[registered(), placed(1, stay("2026-12-11", "2026-12-14"))]);
    let r = g.holds(2, "2026-12-13", "2026-12-15");
    assert_eq!(r, taken("2026-12-11", "2026-12-14"));
}

/// Overlaps are looked for only among reservations starting at most the longest stay before the
/// new one: a thirty-night hold that began twenty-nine nights earlier must still be found, among
/// many short stays before and after it.
#[test]
fn a_long_hold_that_began_well_before_still_blocks_its_last_night() {
    let mut history = vec![registered(), placed(1, stay("2026-12-08", "2027-01-07"))];
    for i in 0..40u64 {
        let check_in = d("2027-01-10") + chrono::Days::new(2 * i);
        let s = StayDates::new(check_in, check_in + chrono::Days::new(2)).unwrap();
        history.push(placed(100 + u128::from(i), s));
    }
    let g = given(&history);
    let r = g.holds(2, "2027-01-06", "2027-01-08");
    assert_eq!(r, taken("2026-12-08", "2027-01-07"));
    assert!(g.holds(3, "2027-01-07", "2027-01-09").is_ok());
}

#[test]
fn the_check_out_day_can_be_the_next_check_in() {
    let g = given(&[registered(), placed(1, stay("2026-12-11", "2026-12-13"))]);
    assert!(g.holds(2, "2026-12-13", "2026-12-15").is_ok());
    assert!(g.holds(3, "2026-12-09", "2026-12-11").is_ok());
}

#[test]
fn a_past_due_hold_is_expired_to_make_room_for_a_new_one() {
    let g = given(&[registered(), placed(1, stay("2026-12-11", "2026-12-13"))]);
    let later = now() + Duration::minutes(31);
    let events = g
        .when(
            AccommodationCommand::PlaceHold(hold(2, stay("2026-12-12", "2026-12-14"))),
            later,
        )
        .unwrap();
    let types: Vec<_> = events.iter().map(|e| e.event_type()).collect();
    assert_eq!(types, vec!["HoldExpired", "HoldPlaced"]);
}

#[test]
fn reusing_a_reservation_id_is_refused() {
    let g = given(&[registered(), placed(1, stay("2026-12-11", "2026-12-13"))]);
    let r = g.holds(1, "2026-12-20", "2026-12-22");
    assert_eq!(r, Err(BookingError::DuplicateReservation(rid(1))));
}

fn confirm(id: u128, reference: &str) -> AccommodationCommand {
    AccommodationCommand::Confirm(ConfirmReservation {
        reservation_id: rid(id),
        payment_reference: reference.into(),
        amount_paid: Money::pesos(27_000),
    })
}

#[test]
fn confirming_a_live_hold_records_the_payment() {
    let g = given(&[registered(), placed(1, stay("2026-12-11", "2026-12-13"))]);
    let events = g
        .when(confirm(1, "mp-123"), now() + Duration::minutes(5))
        .unwrap();
    let [AccommodationEvent::Confirmed(e)] = events.as_slice() else {
        panic!("{events:?}")
    };
    assert_eq!(e.payment_reference, "mp-123");
    assert_eq!(e.amount_paid, Money::pesos(27_000));
}

#[test]
fn confirming_the_same_payment_twice_changes_nothing() {
    let first = given(&[registered(), placed(1, stay("2026-12-11", "2026-12-13"))])
        .when(confirm(1, "mp-123"), now())
        .unwrap();
    let mut history = vec![registered(), placed(1, stay("2026-12-11", "2026-12-13"))];
    history.extend(first);
    let g = given(&history);
    assert_eq!(g.when(confirm(1, "mp-123"), now()), Ok(vec![]));
    assert_eq!(
        g.when(confirm(1, "mp-999"), now()),
        Err(BookingError::AlreadyConfirmed)
    );
}

#[test]
fn confirming_an_expired_hold_is_refused_with_its_own_error() {
    let g = given(&[registered(), placed(1, stay("2026-12-11", "2026-12-13"))]);
    let expiry = now() + Duration::minutes(30);
    assert_eq!(
        g.when(confirm(1, "mp"), expiry),
        Err(BookingError::HoldExpired { expired_at: expiry })
    );
    let expired = g
        .when(
            AccommodationCommand::ExpireHold(ExpireHold {
                reservation_id: rid(1),
            }),
            expiry,
        )
        .unwrap();
    let mut history = vec![registered(), placed(1, stay("2026-12-11", "2026-12-13"))];
    history.extend(expired);
    assert_eq!(
        given(&history).when(confirm(1, "mp"), expiry),
        Err(BookingError::HoldExpired { expired_at: expiry })
    );
}

#[test]
fn confirming_a_cancelled_hold_is_refused_with_its_own_error() {
    let g = given(&[registered(), placed(1, stay("2026-12-11", "2026-12-13"))]);
    let cancelled = g
        .when(
            AccommodationCommand::Cancel(CancelReservation {
                reservation_id: rid(1),
                by: CancelledBy::Guest,
                reason: "cambio de planes".into(),
                refund_all: false,
            }),
            now(),
        )
        .unwrap();
    let mut history = vec![registered(), placed(1, stay("2026-12-11", "2026-12-13"))];
    history.extend(cancelled);
    assert_eq!(
        given(&history).when(confirm(1, "mp"), now()),
        Err(BookingError::ReservationCancelled)
    );
}

/// Every command on a reservation that is over is refused with the reason it is over: an
/// expired hold says when it expired (the payment flow needs it), a cancelled one says so.
#[test]
fn a_reservation_that_is_over_refuses_every_change_with_why() {
    let expiry = now() + Duration::minutes(30);
    let mut expired = held();
    step(
        &mut expired,
        AccommodationCommand::ExpireHold(ExpireHold {
            reservation_id: rid(1),
        }),
        expiry,
    );
    let mut cancelled = held();
    step(
        &mut cancelled,
        AccommodationCommand::Cancel(CancelReservation {
            reservation_id: rid(1),
            by: CancelledBy::Guest,
            reason: "cambio de planes".into(),
            refund_all: false,
        }),
        now(),
    );
    let commands = [
        confirm(1, "mp"),
        AccommodationCommand::ExtendHold(ExtendHold {
            reservation_id: rid(1),
            by: Duration::minutes(30),
        }),
        AccommodationCommand::RecordManualPayment(RecordManualPayment {
            reservation_id: rid(1),
            reference: "recibo 12".into(),
            amount: Money::pesos(10_000),
            method: None,
        }),
        change(1, stay("2026-12-14", "2026-12-17"), None),
        AccommodationCommand::Cancel(CancelReservation {
            reservation_id: rid(1),
            by: CancelledBy::Admin,
            reason: "otra vez".into(),
            refund_all: false,
        }),
    ];
    for cmd in commands {
        assert_eq!(
            given(&expired).when(cmd.clone(), expiry),
            Err(BookingError::HoldExpired { expired_at: expiry }),
            "{cmd:?} on an expired hold"
        );
        assert_eq!(
            given(&cancelled).when(cmd.clone(), now()),
            Err(BookingError::ReservationCancelled),
            "{cmd:?} on a cancelled hold"
        );
    }
}

#[test]
fn confirming_an_unknown_reservation_is_refused() {
    assert_eq!(
        given(&[registered()]).when(confirm(9, "mp"), now()),
        Err(BookingError::ReservationNotFound(rid(9)))
    );
}

#[test]
fn a_hold_can_be_extended_once_only() {
    let extend = || {
        AccommodationCommand::ExtendHold(ExtendHold {
            reservation_id: rid(1),
            by: Duration::minutes(30),
        })
    };
    let mut history = vec![registered(), placed(1, stay("2026-12-11", "2026-12-13"))];
    let events = given(&history).when(extend(), now()).unwrap();
    let [AccommodationEvent::HoldExtended(e)] = events.as_slice() else {
        panic!("{events:?}")
    };
    assert_eq!(e.expires_at, now() + Duration::minutes(60));
    history.extend(events);
    assert_eq!(
        given(&history).when(extend(), now()),
        Err(BookingError::HoldAlreadyExtended)
    );
}

#[test]
fn an_expired_hold_cannot_be_extended() {
    let g = given(&[registered(), placed(1, stay("2026-12-11", "2026-12-13"))]);
    let late = now() + Duration::minutes(45);
    let r = g.when(
        AccommodationCommand::ExtendHold(ExtendHold {
            reservation_id: rid(1),
            by: Duration::minutes(30),
        }),
        late,
    );
    assert!(matches!(r, Err(BookingError::HoldExpired { .. })));
}

#[test]
fn a_hold_expires_only_when_due_and_still_held() {
    let g = given(&[registered(), placed(1, stay("2026-12-11", "2026-12-13"))]);
    let expire = || {
        AccommodationCommand::ExpireHold(ExpireHold {
            reservation_id: rid(1),
        })
    };
    assert_eq!(
        g.when(expire(), now() + Duration::minutes(29)),
        Err(BookingError::HoldNotDue {
            expires_at: now() + Duration::minutes(30)
        })
    );
    let events = g.when(expire(), now() + Duration::minutes(30)).unwrap();
    assert_eq!(events[0].event_type(), "HoldExpired");

    let mut history = vec![registered(), placed(1, stay("2026-12-11", "2026-12-13"))];
    history.extend(g.when(confirm(1, "mp"), now()).unwrap());
    assert_eq!(
        given(&history).when(expire(), now() + Duration::hours(2)),
        Err(BookingError::NotHeld)
    );
}

#[test]
fn an_expired_hold_frees_its_nights() {
    let mut history = vec![registered(), placed(1, stay("2026-12-11", "2026-12-13"))];
    let expiry = now() + Duration::minutes(30);
    history.extend(
        given(&history)
            .when(
                AccommodationCommand::ExpireHold(ExpireHold {
                    reservation_id: rid(1),
                }),
                expiry,
            )
            .unwrap(),
    );
    let events = given(&history)
        .when(
            AccommodationCommand::PlaceHold(hold(2, stay("2026-12-11", "2026-12-13"))),
            expiry,
        )
        .unwrap();
    assert_eq!(events.len(), 1);
}

#[test]
fn cancelling_a_confirmed_stay_frees_its_nights_and_says_it_was_paid() {
    let mut history = vec![registered(), placed(1, stay("2026-12-11", "2026-12-13"))];
    history.extend(given(&history).when(confirm(1, "mp"), now()).unwrap());
    let events = given(&history)
        .when(
            AccommodationCommand::Cancel(CancelReservation {
                reservation_id: rid(1),
                by: CancelledBy::Admin,
                reason: "pedido del huésped".into(),
                refund_all: false,
            }),
            now(),
        )
        .unwrap();
    let [AccommodationEvent::Cancelled(e)] = events.as_slice() else {
        panic!("{events:?}")
    };
    assert!(e.was_confirmed);
    history.extend(events);
    assert_eq!(given(&history).0.active_stays().count(), 0);
}

fn block(id: u128, s: StayDates) -> AccommodationCommand {
    AccommodationCommand::BlockDates(BlockDates {
        block_id: BlockId::from_uuid(uuid::Uuid::from_u128(id)),
        stay: s,
        source: BlockSource::External {
            calendar: "airbnb".into(),
            uid: format!("uid-{id}@airbnb.com"),
        },
        note: None,
    })
}

#[test]
fn blocks_occupy_nights_and_unblocking_frees_them() {
    let mut history = vec![registered()];
    history.extend(
        given(&history)
            .when(block(7, stay("2026-12-20", "2026-12-24")), now())
            .unwrap(),
    );
    let g = given(&history);
    assert!(matches!(
        g.holds(1, "2026-12-22", "2026-12-26"),
        Err(BookingError::DatesUnavailable { .. })
    ));
    assert!(matches!(
        g.when(block(8, stay("2026-12-23", "2026-12-25")), now()),
        Err(BookingError::DatesUnavailable { .. })
    ));
    let unblock = AccommodationCommand::UnblockDates(UnblockDates {
        block_id: BlockId::from_uuid(uuid::Uuid::from_u128(7)),
    });
    history.extend(g.when(unblock.clone(), now()).unwrap());
    let g = given(&history);
    assert!(g.holds(1, "2026-12-22", "2026-12-26").is_ok());
    assert!(matches!(
        g.when(unblock, now()),
        Err(BookingError::BlockNotFound(_))
    ));
}

#[test]
fn blocks_and_holds_stay_within_the_open_calendar() {
    let history = vec![registered()];
    let g = given(&history);
    // Year 9999, year 0001, ten years in one block: typos, refused with what is allowed.
    assert!(matches!(
        g.when(block(9, stay("9999-01-01", "9999-01-03")), now()),
        Err(BookingError::TooFarAhead { .. })
    ));
    assert!(matches!(
        g.when(block(9, stay("0001-01-01", "0001-01-03")), now()),
        Err(BookingError::CheckInInPast { .. })
    ));
    assert!(matches!(
        g.when(block(9, stay("2027-01-01", "2037-01-01")), now()),
        Err(BookingError::StayTooLong { maximum: 366, .. })
    ));
    // A hold two and a half years out is refused the same way; a season closed is fine.
    assert!(matches!(
        g.holds(1, "2029-06-01", "2029-06-03"),
        Err(BookingError::TooFarAhead { .. })
    ));
    assert!(
        g.when(block(9, stay("2027-04-01", "2027-12-01")), now())
            .is_ok()
    );
}

#[test]
fn a_block_cannot_overlap_a_confirmed_stay() {
    let mut history = vec![registered(), placed(1, stay("2026-12-11", "2026-12-13"))];
    history.extend(given(&history).when(confirm(1, "mp"), now()).unwrap());
    assert!(matches!(
        given(&history).when(
            block(7, stay("2026-12-12", "2026-12-15")),
            now() + Duration::hours(3)
        ),
        Err(BookingError::DatesUnavailable { .. })
    ));
}

#[test]
fn a_pricing_change_applies_to_new_holds_only() {
    let mut history = vec![registered(), placed(1, stay("2026-12-14", "2026-12-16"))];
    history.extend(
        given(&history)
            .when(
                AccommodationCommand::ChangePricing(ChangePricing {
                    pricing: Pricing::simple(Money::pesos(50_000), Money::ZERO),
                    min_nights: Some(1),
                }),
                now(),
            )
            .unwrap(),
    );
    let g = given(&history);
    assert_eq!(
        g.0.reservation(rid(1)).unwrap().quote.total,
        Money::pesos(90_000)
    );
    let events = g.holds(2, "2026-12-17", "2026-12-18").unwrap();
    let AccommodationEvent::HoldPlaced(e) = &events[0] else {
        panic!()
    };
    assert_eq!(e.quote.total, Money::pesos(50_000));
}

#[test]
fn every_event_round_trips_through_its_stored_form() {
    let mut history = vec![registered(), placed(1, stay("2026-12-11", "2026-12-13"))];
    history.extend(given(&history).when(confirm(1, "mp"), now()).unwrap());
    history.extend(
        given(&history)
            .when(block(7, stay("2026-12-20", "2026-12-24")), now())
            .unwrap(),
    );
    for e in &history {
        let back =
            AccommodationEvent::from_stored(e.event_type(), e.event_version(), e.to_payload())
                .unwrap();
        assert_eq!(&back, e);
        assert!(EVENT_TYPES.contains(&e.event_type()));
    }
}

#[test]
fn unknown_event_types_and_versions_are_explicit_errors() {
    assert!(matches!(
        AccommodationEvent::from_stored("FromTheFuture", 1, serde_json::json!({})),
        Err(EventDecodeError::UnknownType { .. })
    ));
    assert!(matches!(
        AccommodationEvent::from_stored("HoldPlaced", 9, serde_json::json!({})),
        Err(EventDecodeError::UnknownVersion { .. })
    ));
    assert!(matches!(
        AccommodationEvent::from_stored("HoldPlaced", 1, serde_json::json!({"nope": 1})),
        Err(EventDecodeError::Malformed { .. })
    ));
}

// ---------------------------------------------------------------------------------------------
// Property: whatever sequence of commands arrives, active stays never overlap, and replaying the
// events rebuilds exactly the same state.
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
enum Op {
    Hold {
        id: u8,
        start: u8,
        len: u8,
        guests: u8,
    },
    Confirm {
        id: u8,
    },
    ConfirmLate {
        id: u8,
    },
    Cancel {
        id: u8,
    },
    Expire {
        id: u8,
    },
    Extend {
        id: u8,
    },
    Block {
        id: u8,
        start: u8,
        len: u8,
    },
    Unblock {
        id: u8,
    },
    Move {
        id: u8,
        start: u8,
        len: u8,
    },
    Wait {
        minutes: u8,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u8..12, 0u8..40, 1u8..8, 0u8..6).prop_map(|(id, start, len, guests)| Op::Hold { id, start, len, guests }),
        2 => (0u8..12).prop_map(|id| Op::Confirm { id }),
        1 => (0u8..12).prop_map(|id| Op::ConfirmLate { id }),
        1 => (0u8..12).prop_map(|id| Op::Cancel { id }),
        1 => (0u8..12).prop_map(|id| Op::Expire { id }),
        1 => (0u8..12).prop_map(|id| Op::Extend { id }),
        1 => (0u8..4, 0u8..40, 1u8..6).prop_map(|(id, start, len)| Op::Block { id, start, len }),
        1 => (0u8..4).prop_map(|id| Op::Unblock { id }),
        2 => (0u8..12, 0u8..40, 1u8..8).prop_map(|(id, start, len)| Op::Move { id, start, len }),
        1 => (0u8..40).prop_map(|minutes| Op::Wait { minutes }),
    ]
}

fn to_command(op: &Op) -> Option<AccommodationCommand> {
    let base = d("2026-12-08");
    let range = |start: u8, len: u8| {
        StayDates::new(
            base + chrono::Days::new(u64::from(start)),
            base + chrono::Days::new(u64::from(start) + u64::from(len)),
        )
        .unwrap()
    };
    let rid = |id: u8| rid(u128::from(id) + 1);
    let bid = |id: u8| BlockId::from_uuid(uuid::Uuid::from_u128(u128::from(id) + 1000));
    Some(match *op {
        Op::Hold {
            id,
            start,
            len,
            guests,
        } => {
            let mut cmd = hold(u128::from(id) + 1, range(start, len));
            cmd.guests = u32::from(guests);
            AccommodationCommand::PlaceHold(cmd)
        }
        Op::Confirm { id } => AccommodationCommand::Confirm(ConfirmReservation {
            reservation_id: rid(id),
            payment_reference: format!("mp-{id}"),
            amount_paid: Money::pesos(1),
        }),
        // It takes nights back for a lapsed hold: it must find them free.
        Op::ConfirmLate { id } => AccommodationCommand::ConfirmLate(ConfirmLate {
            reservation_id: rid(id),
            payment_reference: format!("transfer-{id}"),
            amount_paid: Money::pesos(1),
        }),
        Op::Cancel { id } => AccommodationCommand::Cancel(CancelReservation {
            reservation_id: rid(id),
            by: CancelledBy::Guest,
            reason: String::new(),
            refund_all: false,
        }),
        Op::Expire { id } => AccommodationCommand::ExpireHold(ExpireHold {
            reservation_id: rid(id),
        }),
        Op::Extend { id } => AccommodationCommand::ExtendHold(ExtendHold {
            reservation_id: rid(id),
            by: Duration::minutes(20),
        }),
        Op::Block { id, start, len } => AccommodationCommand::BlockDates(BlockDates {
            block_id: bid(id),
            stay: range(start, len),
            source: BlockSource::Admin,
            note: None,
        }),
        Op::Unblock { id } => {
            AccommodationCommand::UnblockDates(UnblockDates { block_id: bid(id) })
        }
        Op::Move { id, start, len } => AccommodationCommand::ChangeStay(ChangeStay {
            reservation_id: rid(id),
            stay: range(start, len),
            guests: None,
        }),
        Op::Wait { .. } => return None,
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    #[test]
    fn random_commands_never_overlap_active_stays_and_replay_to_the_same_state(ops in prop::collection::vec(op(), 1..60)) {
        let mut state = given(&[registered()]).0;
        let mut history = vec![registered()];
        let mut clock = now();
        for op in &ops {
            if let Op::Wait { minutes } = op {
                clock += Duration::minutes(i64::from(*minutes));
                continue;
            }
            let Some(cmd) = to_command(op) else { continue };
            if let Ok(events) = state.decide(&cmd, clock) {
                for e in &events {
                    state.evolve(e);
                }
                history.extend(events);
            }
            let active: Vec<_> = state.active_stays().collect();
            for (i, (a, _)) in active.iter().enumerate() {
                for (b, _) in &active[i + 1..] {
                    prop_assert!(!a.overlaps(b), "{a:?} overlaps {b:?}");
                }
            }
        }
        // Replay through the stored form, as the event store does.
        let mut replayed = Accommodation::default();
        for e in &history {
            let stored = AccommodationEvent::from_stored(e.event_type(), e.event_version(), e.to_payload()).unwrap();
            replayed.evolve(&stored);
        }
        prop_assert_eq!(replayed, state);
    }
}

#[test]
fn details_change_keeps_what_is_not_named_and_checks_what_is() {
    let g = given(&[registered()]);
    let events = g
        .when(
            AccommodationCommand::ChangeDetails(ChangeDetails {
                capacity: Some(6),
                ..ChangeDetails::default()
            }),
            now(),
        )
        .unwrap();
    let AccommodationEvent::DetailsChanged(e) = &events[0] else {
        panic!("expected AccommodationDetailsChanged, got {events:?}");
    };
    let before = g.0.info().unwrap();
    assert_eq!(e.capacity, 6);
    assert_eq!(e.name, before.name);
    assert_eq!(e.check_in_time, before.check_in_time);
    let mut state = g.0.clone();
    state.evolve(&events[0]);
    assert_eq!(state.info().unwrap().capacity, 6);
    for bad in [
        ChangeDetails {
            capacity: Some(0),
            ..ChangeDetails::default()
        },
        ChangeDetails {
            name: Some("  ".into()),
            ..ChangeDetails::default()
        },
    ] {
        assert!(matches!(
            g.when(AccommodationCommand::ChangeDetails(bad), now()),
            Err(BookingError::InvalidAccommodation(_))
        ));
    }
    assert_eq!(
        given(&[]).when(
            AccommodationCommand::ChangeDetails(ChangeDetails::default()),
            now()
        ),
        Err(BookingError::NotRegistered)
    );
}

/// The owner's answers to guests' questions are laid over the ones before, kept by a change that
/// does not name them, and absent from an event when there are none (stored as before).
#[test]
fn answers_are_laid_over_kept_and_absent_from_events_without_them() {
    use crate::house::{Answers, Topic};
    let change = |answers: Option<Answers>| {
        AccommodationCommand::ChangeDetails(ChangeDetails {
            answers,
            ..ChangeDetails::default()
        })
    };
    let mut state = given(&[registered()]).0;
    let first = Answers::from([
        (Topic::Pets, "No, perdón.".to_owned()),
        (Topic::Wifi, "Sí.".to_owned()),
    ]);
    for (cmd, expected) in [
        (change(Some(first.clone())), first.clone()),
        (change(None), first.clone()),
        (
            change(Some(Answers::from([(Topic::Wifi, String::new())]))),
            Answers::from([(Topic::Pets, "No, perdón.".to_owned())]),
        ),
    ] {
        let events = Given(state.clone()).when(cmd, now()).unwrap();
        let AccommodationEvent::DetailsChanged(e) = &events[0] else {
            panic!("{events:?}")
        };
        assert_eq!(e.answers, expected);
        state.evolve(&events[0]);
        assert_eq!(state.info().unwrap().answers, expected);
    }
    let none = given(&[registered()]).when(change(None), now()).unwrap();
    let payload = none[0].to_payload();
    assert!(payload.get("answers").is_none(), "{payload}");
    let AccommodationEvent::DetailsChanged(read) =
        AccommodationEvent::from_stored("AccommodationDetailsChanged", 1, payload).unwrap()
    else {
        panic!("an AccommodationDetailsChanged");
    };
    assert!(read.answers.is_empty());
}

/// The directions a guest gets with a confirmation: set, kept, replaced, removed, and bounded;
/// an event without them is stored exactly as before they existed.
#[test]
fn directions_are_set_kept_removed_and_absent_from_old_events() {
    let change = |directions: Option<&str>| {
        AccommodationCommand::ChangeDetails(ChangeDetails {
            directions: directions.map(str::to_owned),
            ..ChangeDetails::default()
        })
    };
    let directions_after = |g: &Given, cmd| {
        let events = g.when(cmd, now()).unwrap();
        let mut state = g.0.clone();
        state.evolve(&events[0]);
        state.info().unwrap().directions.clone()
    };
    let g = given(&[registered()]);
    let route = "  Ruta 40 km 2012, tranquera verde. La llave está en la caja de la puerta. ";
    let set = directions_after(&g, change(Some(route)));
    assert_eq!(set.as_deref(), Some(route.trim()));

    let mut with = g.0.clone();
    for e in g.when(change(Some(route)), now()).unwrap() {
        with.evolve(&e);
    }
    let g = Given(with);
    assert_eq!(
        directions_after(
            &g,
            AccommodationCommand::ChangeDetails(ChangeDetails::default())
        ),
        set,
        "a change that does not name them keeps them"
    );
    assert_eq!(directions_after(&g, change(Some("  "))), None);
    assert!(matches!(
        g.when(change(Some(&"x".repeat(MAX_DIRECTIONS + 1))), now()),
        Err(BookingError::InvalidAccommodation(_))
    ));

    let old = registered().to_payload();
    assert!(old.get("directions").is_none(), "{old}");
    let AccommodationEvent::Registered(read) =
        AccommodationEvent::from_stored("AccommodationRegistered", 1, old).unwrap()
    else {
        panic!("an AccommodationRegistered");
    };
    assert_eq!(read.directions, None);
}

// ---------------------------------------------------------------------------------------------
// Payments
// ---------------------------------------------------------------------------------------------

fn paid(payment_id: &str, status: &str, pesos: i64) -> PaymentFacts {
    PaymentFacts {
        payment_id: payment_id.into(),
        status: crate::payment::PaymentStatus::from_provider(status).unwrap(),
        status_detail: None,
        amount: Money::pesos(pesos),
        method: Some("account_money".into()),
    }
}

fn pay(id: u128, payment: PaymentFacts) -> AccommodationCommand {
    AccommodationCommand::ApplyPayment(ApplyPayment {
        reservation_id: rid(id),
        payment,
    })
}

/// Applies `cmd` and folds its events into `history`, returning the new events.
fn step(
    history: &mut Vec<AccommodationEvent>,
    cmd: AccommodationCommand,
    at: DateTime<Utc>,
) -> Vec<AccommodationEvent> {
    let events = given(history).when(cmd, at).unwrap();
    history.extend(events.clone());
    events
}

// Fri 11 → Sun 13 December: 2 weekend nights at 40 000 + 10 000 cleaning = 90 000; deposit 27 000.
fn held() -> Vec<AccommodationEvent> {
    vec![registered(), placed(1, stay("2026-12-11", "2026-12-13"))]
}

/// `held()` with the hold expired at `at`.
fn lapsed(at: DateTime<Utc>) -> Vec<AccommodationEvent> {
    let mut history = held();
    step(
        &mut history,
        AccommodationCommand::ExpireHold(ExpireHold {
            reservation_id: rid(1),
        }),
        at,
    );
    history
}

#[test]
fn an_approved_deposit_confirms_once_however_often_it_is_told() {
    let mut history = held();
    let events = step(&mut history, pay(1, paid("901", "approved", 27_000)), now());
    let [AccommodationEvent::Confirmed(c)] = events.as_slice() else {
        panic!("{events:?}")
    };
    assert_eq!(c.payment_reference, "901");
    assert_eq!(c.method.as_deref(), Some("account_money"));
    assert_eq!(c.provider.as_deref(), Some(PROVIDER));
    for _ in 0..2 {
        assert_eq!(
            step(&mut history, pay(1, paid("901", "approved", 27_000)), now()),
            vec![]
        );
    }
    let r = given(&history).0.reservation(rid(1)).cloned().unwrap();
    assert_eq!(r.status, ReservationStatus::Confirmed);
    assert_eq!(r.net_paid(), Money::pesos(27_000));
}

#[test]
fn the_balance_due_is_the_total_less_what_was_paid_until_the_stay_ends_active() {
    let mut history = held();
    let balance = |history: &[AccommodationEvent]| {
        given(history).0.reservation(rid(1)).unwrap().balance_due()
    };
    assert_eq!(balance(&history), Money::pesos(90_000), "nothing paid yet");
    step(&mut history, pay(1, paid("901", "approved", 27_000)), now());
    assert_eq!(balance(&history), Money::pesos(63_000), "after the deposit");
    step(&mut history, pay(1, paid("902", "approved", 70_000)), now());
    assert_eq!(balance(&history), Money::ZERO, "paid over the total");
    step(&mut history, cancel_by_admin(1), now());
    assert_eq!(balance(&history), Money::ZERO, "cancelled: nothing owed");
}

fn by_hand(id: u128, reference: &str, pesos: i64) -> AccommodationCommand {
    AccommodationCommand::RecordManualPayment(RecordManualPayment {
        reservation_id: rid(id),
        reference: reference.into(),
        amount: Money::pesos(pesos),
        method: Some(" efectivo ".into()),
    })
}

#[test]
fn the_balance_taken_by_hand_settles_a_confirmed_stay_once() {
    let mut history = held();
    // A hold is confirmed by its deposit, not by a payment recorded on the side.
    assert_eq!(
        given(&history).when(by_hand(1, "recibo 1", 63_000), now()),
        Err(BookingError::NotConfirmed)
    );
    step(&mut history, pay(1, paid("901", "approved", 27_000)), now());
    let events = step(&mut history, by_hand(1, " recibo 1 ", 63_000), now());
    let [AccommodationEvent::ManualPaymentRecorded(m)] = events.as_slice() else {
        panic!("{events:?}")
    };
    assert_eq!(
        (m.reference.as_str(), m.method.as_deref()),
        ("recibo 1", Some("efectivo"))
    );
    let stored =
        AccommodationEvent::from_stored("ManualPaymentRecorded", 1, events[0].to_payload())
            .unwrap();
    assert_eq!(stored, events[0], "read back as written");
    let r = given(&history).0.reservation(rid(1)).cloned().unwrap();
    assert_eq!(r.balance_due(), Money::ZERO);
    assert_eq!(r.net_paid(), Money::pesos(90_000));

    // Told again: the same payment. Another amount under its reference, or the provider's
    // payment's id, is refused rather than counted.
    assert_eq!(
        step(&mut history, by_hand(1, "recibo 1", 63_000), now()),
        vec![]
    );
    let state = given(&history);
    assert_eq!(
        state.when(by_hand(1, "recibo 1", 60_000), now()),
        Err(BookingError::PaymentReferenceTaken("recibo 1".into()))
    );
    assert_eq!(
        state.when(by_hand(1, "901", 27_000), now()),
        Err(BookingError::PaymentReferenceTaken("901".into()))
    );
    assert_eq!(
        state.when(by_hand(1, "recibo 2", 0), now()),
        Err(BookingError::InvalidAmount)
    );
    assert_eq!(
        state.when(by_hand(1, "  ", 100), now()),
        Err(BookingError::InvalidPaymentReference)
    );

    // Cancelled 14 days before arrival (moderate: half back), the part of it given back is
    // given back by hand.
    let mut history = vec![registered(), placed(1, stay("2026-12-21", "2026-12-23"))];
    let quote = given(&history).0.reservation(rid(1)).unwrap().quote.clone();
    let deposit = paid("901", "approved", 0);
    step(
        &mut history,
        pay(
            1,
            PaymentFacts {
                amount: quote.deposit,
                ..deposit
            },
        ),
        now(),
    );
    let balance = quote.total - quote.deposit;
    step(
        &mut history,
        AccommodationCommand::RecordManualPayment(RecordManualPayment {
            reservation_id: rid(1),
            reference: "recibo 7".into(),
            amount: balance,
            method: None,
        }),
        now(),
    );
    let events = step(&mut history, cancel_by_admin(1), now());
    let by_hand: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            AccommodationEvent::RefundDue(d) if d.via == RefundVia::Manual => Some(d),
            _ => None,
        })
        .collect();
    assert_eq!(by_hand.len(), 1, "{events:?}");
    assert_eq!(by_hand[0].payment_id, "recibo 7");
}

#[test]
fn an_underpayment_keeps_the_hold_and_a_top_up_confirms_it() {
    let mut history = held();
    let events = step(&mut history, pay(1, paid("901", "approved", 10_000)), now());
    let [AccommodationEvent::UnderpaymentReceived(u)] = events.as_slice() else {
        panic!("{events:?}")
    };
    assert_eq!(u.deposit, Money::pesos(27_000));
    assert_eq!(u.paid_total, Money::pesos(10_000));
    assert_eq!(
        given(&history).0.reservation(rid(1)).unwrap().status,
        ReservationStatus::Held
    );
    let events = step(&mut history, pay(1, paid("902", "approved", 17_000)), now());
    assert!(matches!(
        events.as_slice(),
        [AccommodationEvent::Confirmed(_)]
    ));
}

#[test]
fn pending_and_rejected_payments_are_recorded_and_change_nothing_else() {
    let mut history = held();
    for status in ["pending", "in_process", "rejected"] {
        let events = step(&mut history, pay(1, paid("901", status, 27_000)), now());
        assert!(
            matches!(events.as_slice(), [AccommodationEvent::PaymentRecorded(p)] if p.payment.status.as_str() == status)
        );
    }
    assert_eq!(
        given(&history).0.reservation(rid(1)).unwrap().status,
        ReservationStatus::Held
    );
}

#[test]
fn a_late_payment_for_free_nights_confirms_the_stay_again() {
    let later = now() + Duration::hours(2);
    let mut history = lapsed(later);
    let events = step(&mut history, pay(1, paid("901", "approved", 27_000)), later);
    assert!(matches!(
        events.as_slice(),
        [AccommodationEvent::LatePaymentAccepted(_)]
    ));
    let state = given(&history).0;
    assert_eq!(
        state.reservation(rid(1)).unwrap().status,
        ReservationStatus::Confirmed
    );
    assert_eq!(state.active_stays().count(), 1);
}

#[test]
fn a_late_payment_for_taken_nights_is_refunded_in_full_exactly_once() {
    let mut history = held();
    let later = now() + Duration::hours(2);
    // Someone else takes the nights after the first hold lapsed (expiring it on the way).
    step(
        &mut history,
        AccommodationCommand::PlaceHold(hold(2, stay("2026-12-11", "2026-12-13"))),
        later,
    );
    let events = step(&mut history, pay(1, paid("901", "approved", 27_000)), later);
    let [
        AccommodationEvent::LatePaymentRejected(_),
        AccommodationEvent::RefundDue(due),
    ] = events.as_slice()
    else {
        panic!("{events:?}")
    };
    assert_eq!(due.amount, Money::pesos(27_000));
    assert_eq!(due.payment_id, "901");
    assert_eq!(due.via, RefundVia::Provider);
    assert_eq!(due.reason, RefundReason::LatePayment);
    // The same notification again: nothing new.
    assert_eq!(
        step(&mut history, pay(1, paid("901", "approved", 27_000)), later),
        vec![]
    );
    let issue = AccommodationCommand::RecordRefund(RecordRefund {
        reservation_id: rid(1),
        refund_key: due.refund_key.clone(),
        refund_id: "r-1".into(),
    });
    assert!(matches!(
        step(&mut history, issue.clone(), later).as_slice(),
        [AccommodationEvent::RefundIssued(_)]
    ));
    assert_eq!(step(&mut history, issue, later), vec![]);
    // The provider's echo of our refund is recorded, not alarmed about.
    assert!(matches!(
        step(&mut history, pay(1, paid("901", "refunded", 27_000)), later).as_slice(),
        [AccommodationEvent::PaymentRecorded(_)]
    ));
    let state = given(&history).0;
    assert_eq!(state.active_stays().count(), 1);
    assert_eq!(state.reservation(rid(1)).unwrap().net_paid(), Money::ZERO);
}

fn confirm_late(id: u128, reference: &str, pesos: i64) -> AccommodationCommand {
    AccommodationCommand::ConfirmLate(ConfirmLate {
        reservation_id: rid(id),
        payment_reference: reference.into(),
        amount_paid: Money::pesos(pesos),
    })
}

/// A transfer the owner sees after the hold lapsed: `Confirm` refuses it, and the transfer's
/// payment flow honours it while the nights are free, as a late payment online is, except
/// that only a person can give it back (a later cancellation refunds it by hand).
#[test]
fn a_deposit_taken_by_hand_after_the_hold_lapsed_confirms_the_stay_again() {
    let later = now() + Duration::hours(2);
    let mut history = lapsed(later);
    assert_eq!(
        given(&history).when(confirm(1, "transferencia 0042"), later),
        Err(BookingError::HoldExpired {
            expired_at: now() + Duration::minutes(30)
        })
    );
    let events = step(
        &mut history,
        confirm_late(1, " transferencia 0042 ", 27_000),
        later,
    );
    let [AccommodationEvent::LatePaymentAccepted(l)] = events.as_slice() else {
        panic!("{events:?}")
    };
    assert!(l.by_hand);
    assert_eq!(l.payment.payment_id, "transferencia 0042");
    assert_eq!(l.payment.amount, Money::pesos(27_000));
    assert_eq!(l.accepted_at, later);
    let state = given(&history).0;
    let r = state.reservation(rid(1)).unwrap();
    assert_eq!(r.status, ReservationStatus::Confirmed);
    assert_eq!(r.net_paid(), Money::pesos(27_000));
    assert_eq!(state.active_stays().count(), 1);
    // Told twice: done already.
    assert_eq!(
        step(
            &mut history,
            confirm_late(1, "transferencia 0042", 27_000),
            later
        ),
        vec![]
    );
    // Given back later (a cancellation), it goes back by hand, not through the provider.
    let r = given(&history).0.reservation(rid(1)).cloned().unwrap();
    let refunds = r.refunds(Money::pesos(27_000), RefundReason::Cancellation, later);
    let [AccommodationEvent::RefundDue(due)] = refunds.as_slice() else {
        panic!("{refunds:?}")
    };
    assert_eq!(due.via, RefundVia::Manual);
    assert_eq!(due.payment_id, "transferencia 0042");
    // Once decided, it is owed by hand until the owner says it is done.
    history.extend(refunds.clone());
    let owed: Vec<(String, Money)> = given(&history)
        .0
        .reservation(rid(1))
        .unwrap()
        .owed_by_hand()
        .into_iter()
        .map(|(key, amount)| (key.to_owned(), amount))
        .collect();
    let [(key, amount)] = owed.as_slice() else {
        panic!("{owed:?}")
    };
    assert_eq!(*amount, Money::pesos(27_000));
    step(
        &mut history,
        AccommodationCommand::RecordRefund(RecordRefund {
            reservation_id: rid(1),
            refund_key: key.clone(),
            refund_id: "by hand".into(),
        }),
        later,
    );
    assert!(
        given(&history)
            .0
            .reservation(rid(1))
            .unwrap()
            .owed_by_hand()
            .is_empty()
    );
}

#[test]
fn a_deposit_taken_by_hand_after_the_hold_lapsed_is_refused_for_taken_nights() {
    let mut history = held();
    let later = now() + Duration::hours(2);
    // Someone else takes the nights after the first hold lapsed (expiring it on the way).
    step(
        &mut history,
        AccommodationCommand::PlaceHold(hold(2, stay("2026-12-12", "2026-12-14"))),
        later,
    );
    assert_eq!(
        given(&history).when(confirm_late(1, "transferencia 0042", 27_000), later),
        taken("2026-12-12", "2026-12-14")
    );
    // Nor for a stay that has begun, a cancelled one, no amount or no reference.
    let begun = at("2026-12-12T13:00:00Z");
    let expired = lapsed(later);
    assert_eq!(
        given(&expired).when(confirm_late(1, "t", 27_000), begun),
        Err(BookingError::CheckInInPast {
            check_in: d("2026-12-11"),
            today: d("2026-12-12"),
        })
    );
    assert_eq!(
        given(&expired).when(confirm_late(1, "t", 0), later),
        Err(BookingError::InvalidAmount)
    );
    assert_eq!(
        given(&expired).when(confirm_late(1, "  ", 27_000), later),
        Err(BookingError::InvalidPaymentReference)
    );
    let mut cancelled = held();
    step(&mut cancelled, cancel_by_admin(1), now());
    assert_eq!(
        given(&cancelled).when(confirm_late(1, "t", 27_000), later),
        Err(BookingError::ReservationCancelled)
    );
}

/// A hold past its expiry that the scheduler has not expired yet still has its nights: the
/// deposit confirms it, as a payment online arriving then does.
#[test]
fn a_deposit_taken_by_hand_on_a_hold_not_expired_yet_confirms_it() {
    let mut history = held();
    let later = now() + Duration::hours(2);
    let events = step(
        &mut history,
        confirm_late(1, "transferencia 0042", 27_000),
        later,
    );
    let [AccommodationEvent::Confirmed(c)] = events.as_slice() else {
        panic!("{events:?}")
    };
    assert_eq!(c.provider, None);
    assert_eq!(c.confirmed_at, later);
    assert_eq!(
        given(&history).0.reservation(rid(1)).unwrap().status,
        ReservationStatus::Confirmed
    );
}

fn cancel_by_admin(id: u128) -> AccommodationCommand {
    AccommodationCommand::Cancel(CancelReservation {
        reservation_id: rid(id),
        by: CancelledBy::Admin,
        reason: "pedido del huésped".into(),
        refund_all: false,
    })
}

/// The refund a confirmed stay's cancellation decided: its one `RefundDue`, for the
/// cancellation.
fn refund_on_cancelling(events: &[AccommodationEvent]) -> Money {
    let [
        AccommodationEvent::Cancelled(c),
        AccommodationEvent::RefundDue(due),
    ] = events
    else {
        panic!("{events:?}")
    };
    assert!(c.was_confirmed);
    assert_eq!(due.reason, RefundReason::Cancellation);
    due.amount
}

/// A cabin whose cancellation policy keeps everything close to arrival.
fn strict_cabin() -> AccommodationEvent {
    let mut strict = registered();
    if let AccommodationEvent::Registered(r) = &mut strict {
        r.pricing.cancellation = crate::payment::CancellationPolicy::Strict;
    }
    strict
}

#[test]
fn cancelling_a_paid_stay_refunds_what_the_policy_gives_back() {
    // Arrival on 2026-12-21, cancelled on 2026-12-07: 14 days before, moderate → half back.
    let mut history = vec![registered(), placed(1, stay("2026-12-21", "2026-12-23"))];
    step(&mut history, pay(1, paid("901", "approved", 30_000)), now());
    let events = step(&mut history, cancel_by_admin(1), now());
    assert_eq!(refund_on_cancelling(&events), Money::pesos(15_000));
}

#[test]
fn a_strict_policy_close_to_arrival_refunds_nothing_and_a_hold_refunds_everything() {
    let strict = strict_cabin();
    let mut history = vec![strict, placed(1, stay("2026-12-21", "2026-12-23"))];
    step(&mut history, pay(1, paid("901", "approved", 30_000)), now());
    let events = step(&mut history, cancel_by_admin(1), now());
    assert!(matches!(
        events.as_slice(),
        [AccommodationEvent::Cancelled(_)]
    ));

    // An underpaid hold never became a booking: its money goes back whole.
    let mut history = held();
    step(&mut history, pay(1, paid("901", "approved", 5_000)), now());
    let events = step(&mut history, cancel_by_admin(1), now());
    assert!(
        matches!(events.as_slice(), [AccommodationEvent::Cancelled(_), AccommodationEvent::RefundDue(d)] if d.amount == Money::pesos(5_000))
    );
}

/// The owner cancels for reasons of their own: everything paid goes back, whatever the policy
/// keeps (a strict policy two weeks before arrival keeps it all).
#[test]
fn an_owner_who_gives_it_all_back_refunds_everything_whatever_the_policy() {
    let strict = strict_cabin();
    let mut history = vec![strict, placed(1, stay("2026-12-21", "2026-12-23"))];
    step(&mut history, pay(1, paid("901", "approved", 30_000)), now());
    let all_back = AccommodationCommand::Cancel(CancelReservation {
        reservation_id: rid(1),
        by: CancelledBy::Admin,
        reason: "se inundó la cabaña".into(),
        refund_all: true,
    });
    let events = step(&mut history, all_back, now());
    assert_eq!(refund_on_cancelling(&events), Money::pesos(30_000));
}

#[test]
fn an_underpaid_hold_that_expires_gives_the_money_back() {
    let mut history = held();
    step(&mut history, pay(1, paid("901", "approved", 5_000)), now());
    let events = step(
        &mut history,
        AccommodationCommand::ExpireHold(ExpireHold {
            reservation_id: rid(1),
        }),
        now() + Duration::hours(1),
    );
    assert!(
        matches!(events.as_slice(), [AccommodationEvent::HoldExpired(_), AccommodationEvent::RefundDue(d)] if d.reason == RefundReason::HoldExpired && d.amount == Money::pesos(5_000))
    );
}

#[test]
fn a_chargeback_after_confirmation_is_a_reversal_for_the_admin() {
    let mut history = held();
    step(&mut history, pay(1, paid("901", "approved", 27_000)), now());
    let events = step(
        &mut history,
        pay(1, paid("901", "charged_back", 27_000)),
        now(),
    );
    assert!(
        matches!(events.as_slice(), [AccommodationEvent::PaymentReversed(r)] if r.amount == Money::pesos(27_000))
    );
    // The reservation stays confirmed until the admin decides; nothing is left to refund.
    let r = given(&history).0.reservation(rid(1)).cloned().unwrap();
    assert_eq!(r.status, ReservationStatus::Confirmed);
    assert_eq!(r.net_paid(), Money::ZERO);
    let events = step(&mut history, cancel_by_admin(1), now());
    assert_eq!(events.len(), 1);
}

#[test]
fn one_payment_link_per_hold() {
    let mut history = held();
    let link = AccommodationCommand::RecordPaymentLink(RecordPaymentLink {
        reservation_id: rid(1),
        preference_id: "pref-1".into(),
        init_point: "https://www.mercadopago.com.ar/checkout/v1/redirect?pref_id=pref-1".into(),
        amount: Money::pesos(27_000),
        expires_at: now() + Duration::minutes(30),
    });
    assert!(matches!(
        step(&mut history, link.clone(), now()).as_slice(),
        [AccommodationEvent::PaymentLinkCreated(_)]
    ));
    assert_eq!(step(&mut history, link, now()), vec![]);
}

/// A confirmed stay can get a link for its balance: one per amount owed, for exactly that
/// amount, and none once nothing is owed.
#[test]
fn a_confirmed_stay_gets_one_link_for_its_balance() {
    let mut history = held();
    let link = |pesos: i64| {
        AccommodationCommand::RecordPaymentLink(RecordPaymentLink {
            reservation_id: rid(1),
            preference_id: format!("pref-{pesos}"),
            init_point: format!("https://example.test/p/{pesos}"),
            amount: Money::pesos(pesos),
            expires_at: now() + Duration::days(7),
        })
    };
    step(&mut history, link(27_000), now());
    step(&mut history, pay(1, paid("901", "approved", 27_000)), now());
    assert_eq!(
        given(&history).when(link(50_000), now()),
        Err(BookingError::LinkNotForWhatIsOwed {
            asked: Money::pesos(50_000),
            owed: Money::pesos(63_000)
        }),
        "only the balance owed"
    );
    assert!(matches!(
        step(&mut history, link(63_000), now()).as_slice(),
        [AccommodationEvent::PaymentLinkCreated(l)] if l.amount == Money::pesos(63_000)
    ));
    assert_eq!(
        step(&mut history, link(63_000), now()),
        vec![],
        "asked again"
    );
    // Part of it paid by hand: a new link for what is left.
    step(&mut history, by_hand(1, "recibo 1", 13_000), now());
    assert!(matches!(
        step(&mut history, link(50_000), now()).as_slice(),
        [AccommodationEvent::PaymentLinkCreated(_)]
    ));
    step(&mut history, pay(1, paid("902", "approved", 50_000)), now());
    assert_eq!(
        given(&history).when(link(50_000), now()),
        Err(BookingError::NothingToPay)
    );
}

#[test]
fn payment_events_round_trip_through_their_stored_form() {
    let mut history = held();
    let later = now() + Duration::hours(2);
    step(
        &mut history,
        AccommodationCommand::RecordPaymentLink(RecordPaymentLink {
            reservation_id: rid(1),
            preference_id: "pref-1".into(),
            init_point: "https://example.test/p".into(),
            amount: Money::pesos(27_000),
            expires_at: now(),
        }),
        now(),
    );
    step(&mut history, pay(1, paid("900", "rejected", 27_000)), now());
    step(&mut history, pay(1, paid("901", "approved", 1_000)), now());
    step(
        &mut history,
        AccommodationCommand::PlaceHold(hold(2, stay("2026-12-11", "2026-12-13"))),
        later,
    );
    step(&mut history, pay(1, paid("902", "approved", 27_000)), later);
    step(&mut history, pay(2, paid("903", "approved", 27_000)), later);
    step(
        &mut history,
        pay(2, paid("903", "charged_back", 27_000)),
        later,
    );
    let types: Vec<&str> = history.iter().map(|e| e.event_type()).collect();
    for t in [
        "PaymentLinkCreated",
        "PaymentRecorded",
        "UnderpaymentReceived",
        "LatePaymentRejected",
        "RefundDue",
        "PaymentReversed",
    ] {
        assert!(types.contains(&t), "{t} missing from {types:?}");
    }
    for e in &history {
        let back =
            AccommodationEvent::from_stored(e.event_type(), e.event_version(), e.to_payload())
                .unwrap();
        assert_eq!(&back, e);
        assert!(EVENT_TYPES.contains(&e.event_type()));
    }
}

// ---------------------------------------------------------------------------------------------
// Imported calendars
// ---------------------------------------------------------------------------------------------

fn ext(uid: &str, s: StayDates, kind: ExternalKind) -> ExternalStay {
    ExternalStay {
        uid: uid.into(),
        stay: s,
        kind,
    }
}

fn sync(events: Vec<ExternalStay>, complete: bool) -> AccommodationCommand {
    AccommodationCommand::SyncCalendar(SyncCalendar {
        calendar: "airbnb".into(),
        events,
        complete,
    })
}

#[test]
fn an_imported_calendar_blocks_once_and_a_repeat_changes_nothing() {
    let mut history = vec![registered()];
    let feed = vec![
        ext(
            "a@airbnb.com",
            stay("2026-12-20", "2026-12-24"),
            ExternalKind::Reservation,
        ),
        ext(
            "b@airbnb.com",
            stay("2027-01-10", "2027-01-12"),
            ExternalKind::NotAvailable,
        ),
        // Long past: history, not acted on.
        ext(
            "old@airbnb.com",
            stay("2026-01-10", "2026-01-12"),
            ExternalKind::Reservation,
        ),
    ];
    let events = step(&mut history, sync(feed.clone(), true), now());
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(
        events
            .iter()
            .all(|e| matches!(e, AccommodationEvent::DatesBlocked(b)
        if matches!(&b.source, BlockSource::External { calendar, .. } if calendar == "airbnb")))
    );
    assert_eq!(step(&mut history, sync(feed, true), now()), vec![]);
}

#[test]
fn a_moved_event_moves_its_block_and_a_vanished_one_is_unblocked_only_from_a_whole_feed() {
    let mut history = vec![registered()];
    let first = step(
        &mut history,
        sync(
            vec![
                ext(
                    "a",
                    stay("2026-12-20", "2026-12-24"),
                    ExternalKind::NotAvailable,
                ),
                ext(
                    "b",
                    stay("2027-01-10", "2027-01-12"),
                    ExternalKind::Reservation,
                ),
            ],
            true,
        ),
        now(),
    );
    let AccommodationEvent::DatesBlocked(a) = &first[0] else {
        panic!("{first:?}")
    };
    // The rolling window moved a day: the same block moves; "b" is missing but the feed was cut.
    let events = step(
        &mut history,
        sync(
            vec![ext(
                "a",
                stay("2026-12-21", "2026-12-25"),
                ExternalKind::NotAvailable,
            )],
            false,
        ),
        now(),
    );
    let [AccommodationEvent::BlockMoved(m)] = events.as_slice() else {
        panic!("{events:?}")
    };
    assert_eq!(m.block_id, a.block_id);
    assert_eq!(m.previous, stay("2026-12-20", "2026-12-24"));
    // The same snapshot, complete this time: "b" is gone for real.
    let events = step(
        &mut history,
        sync(
            vec![ext(
                "a",
                stay("2026-12-21", "2026-12-25"),
                ExternalKind::NotAvailable,
            )],
            true,
        ),
        now(),
    );
    assert!(
        matches!(events.as_slice(), [AccommodationEvent::DatesUnblocked(u)] if u.stay == stay("2027-01-10", "2027-01-12"))
    );
    assert_eq!(given(&history).0.blocks().count(), 1);
}

#[test]
fn an_imported_reservation_over_a_confirmed_stay_is_a_conflict_not_a_second_booking() {
    let mut history = held();
    step(&mut history, pay(1, paid("901", "approved", 27_000)), now());
    let feed = vec![ext(
        "x@airbnb.com",
        stay("2026-12-12", "2026-12-14"),
        ExternalKind::Reservation,
    )];
    let events = step(&mut history, sync(feed.clone(), true), now());
    let [AccommodationEvent::ExternalConflictDetected(c)] = events.as_slice() else {
        panic!("{events:?}")
    };
    assert_eq!(c.occupant, OccupantRef::Reservation(rid(1)));
    assert!(c.occupant_code.is_some());
    assert_eq!(given(&history).0.active_stays().count(), 1);
    // Reported once, not on every fetch.
    assert_eq!(step(&mut history, sync(feed.clone(), true), now()), vec![]);
    // The owner cancels our side: the next fetch blocks the nights and closes the conflict.
    step(&mut history, cancel_by_admin(1), now());
    let events = step(&mut history, sync(feed, true), now());
    assert!(matches!(
        events.as_slice(),
        [
            AccommodationEvent::ExternalConflictResolved(_),
            AccommodationEvent::DatesBlocked(_)
        ]
    ));
    assert_eq!(given(&history).0.conflicts().count(), 0);
}

#[test]
fn closed_nights_partly_ours_block_only_what_is_free() {
    let mut history = held(); // 11 → 13 December held
    let events = step(
        &mut history,
        sync(
            vec![ext(
                "n@airbnb.com",
                stay("2026-12-09", "2026-12-16"),
                ExternalKind::NotAvailable,
            )],
            true,
        ),
        now(),
    );
    let stays: Vec<StayDates> = events
        .iter()
        .map(|e| match e {
            AccommodationEvent::DatesBlocked(b) => b.stay,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        stays,
        vec![
            stay("2026-12-09", "2026-12-11"),
            stay("2026-12-13", "2026-12-16")
        ]
    );
    assert_eq!(
        step(
            &mut history,
            sync(
                vec![ext(
                    "n@airbnb.com",
                    stay("2026-12-09", "2026-12-16"),
                    ExternalKind::NotAvailable
                )],
                true
            ),
            now()
        ),
        vec![]
    );
}

#[test]
fn calendar_names_are_checked_and_sync_events_round_trip() {
    let bad = AccommodationCommand::SyncCalendar(SyncCalendar {
        calendar: "Air BnB!".into(),
        events: vec![],
        complete: true,
    });
    assert!(given(&[registered()]).when(bad, now()).is_err());
    let mut history = held();
    step(&mut history, pay(1, paid("901", "approved", 27_000)), now());
    step(
        &mut history,
        sync(
            vec![
                ext(
                    "x",
                    stay("2026-12-12", "2026-12-14"),
                    ExternalKind::Reservation,
                ),
                ext(
                    "y",
                    stay("2027-02-01", "2027-02-03"),
                    ExternalKind::NotAvailable,
                ),
            ],
            true,
        ),
        now(),
    );
    step(
        &mut history,
        sync(
            vec![ext(
                "y",
                stay("2027-02-02", "2027-02-04"),
                ExternalKind::NotAvailable,
            )],
            true,
        ),
        now(),
    );
    for e in &history {
        let back =
            AccommodationEvent::from_stored(e.event_type(), e.event_version(), e.to_payload())
                .unwrap();
        assert_eq!(&back, e);
        assert!(EVENT_TYPES.contains(&e.event_type()));
    }
    let types: Vec<&str> = history.iter().map(|e| e.event_type()).collect();
    for t in [
        "ExternalConflictDetected",
        "ExternalConflictResolved",
        "BlockMoved",
        "DatesBlocked",
    ] {
        assert!(types.contains(&t), "{t} missing from {types:?}");
    }
}

#[test]
fn a_seed_system_hold_v1_is_upcast_to_the_current_shape() {
    let v1 = serde_json::json!({
        "reservation_id": "0193a5e0-0000-7000-8000-000000000001",
        "code": "K7M2QXP",
        "guest_ref": "guest-1",
        "check_in": "2026-12-11",
        "check_out": "2026-12-13",
        "guests": 2,
        "channel": "direct",
        "total": "90000",
        "deposit": "27000",
        "placed_at": "2026-12-07T13:00:00Z",
        "expires_at": "2026-12-07T13:30:00Z"
    });
    let AccommodationEvent::HoldPlaced(h) =
        AccommodationEvent::from_stored("HoldPlaced", 1, v1).unwrap()
    else {
        panic!()
    };
    assert_eq!(h.quote.nights, 2);
    assert_eq!(h.quote.total, Money::pesos(90_000));
    assert_eq!(h.quote.deposit, Money::pesos(27_000));
    assert_eq!(h.quote.deposit_percent, rust_decimal::Decimal::from(30));
    assert!(h.quote.per_night.is_empty());
    // A v1 this system wrote (already with the breakdown) reads unchanged, and is written as v2.
    let current = placed(1, stay("2026-12-11", "2026-12-13"));
    assert_eq!(current.event_version(), HOLD_PLACED_VERSION);
    assert_eq!(
        AccommodationEvent::from_stored("HoldPlaced", 1, current.to_payload()).unwrap(),
        current
    );
    assert_eq!(
        AccommodationEvent::from_stored("HoldPlaced", 2, current.to_payload()).unwrap(),
        current
    );
}

/// The event catalogue is where people read what each event means: every stored name is in it.
#[test]
fn the_catalogue_lists_every_event() {
    let catalogue = include_str!("../../../docs/events.md");
    for name in EVENT_TYPES {
        assert!(
            catalogue.contains(&format!("| `{name}` |")),
            "docs/events.md does not list {name}"
        );
    }
}

fn change(id: u128, s: StayDates, guests: Option<u32>) -> AccommodationCommand {
    AccommodationCommand::ChangeStay(ChangeStay {
        reservation_id: rid(id),
        stay: s,
        guests,
    })
}

/// Fri 11 → Sun 13 December, deposit paid.
fn confirmed() -> Vec<AccommodationEvent> {
    let mut history = held();
    step(&mut history, pay(1, paid("901", "approved", 27_000)), now());
    history
}

#[test]
fn a_confirmed_stay_moves_to_free_nights_priced_again_and_keeps_what_was_paid() {
    let mut history = confirmed();
    let events = step(
        &mut history,
        change(1, stay("2026-12-14", "2026-12-17"), None),
        now(),
    );
    let [AccommodationEvent::StayChanged(e)] = events.as_slice() else {
        panic!("{events:?}")
    };
    assert_eq!(e.previous, stay("2026-12-11", "2026-12-13"));
    assert_eq!(e.stay, stay("2026-12-14", "2026-12-17"));
    assert_eq!((e.previous_guests, e.guests), (2, 2));
    assert_eq!(e.quote.total, Money::pesos(130_000), "3 nights + cleaning");
    let state = given(&history).0;
    let r = state.reservation(rid(1)).unwrap();
    assert_eq!(r.stay, stay("2026-12-14", "2026-12-17"));
    assert_eq!(r.status, ReservationStatus::Confirmed);
    assert_eq!(r.net_paid(), Money::pesos(27_000));
    assert_eq!(r.balance_due(), Money::pesos(103_000));
    // The old nights are free again, the new ones are taken.
    let g = given(&history);
    assert!(g.holds(2, "2026-12-11", "2026-12-13").is_ok());
    assert!(matches!(
        g.holds(2, "2026-12-16", "2026-12-18"),
        Err(BookingError::DatesUnavailable { .. })
    ));
    // Told again (a retried request): nothing new.
    assert_eq!(
        g.when(change(1, stay("2026-12-14", "2026-12-17"), None), now()),
        Ok(vec![])
    );
    // Cancelling later frees the new nights, with the policy counted from the new check-in.
    let cancelled = step(&mut history, cancel_by_admin(1), now());
    let AccommodationEvent::Cancelled(c) = &cancelled[0] else {
        panic!("{cancelled:?}")
    };
    assert_eq!(c.stay, stay("2026-12-14", "2026-12-17"));
}

#[test]
fn a_stay_may_move_over_its_own_nights_but_not_over_anothers() {
    let mut history = confirmed();
    step(
        &mut history,
        AccommodationCommand::PlaceHold(hold(2, stay("2026-12-15", "2026-12-17"))),
        now(),
    );
    let g = given(&history);
    let later = g
        .when(change(1, stay("2026-12-12", "2026-12-15"), None), now())
        .unwrap();
    assert_eq!(later[0].event_type(), "StayChanged");
    assert_eq!(
        g.when(change(1, stay("2026-12-13", "2026-12-16"), None), now()),
        taken("2026-12-15", "2026-12-17")
    );
    // The same check-in index serves the next command: the moved stay still blocks its nights.
    history.extend(later);
    // Its old first night is free, its new ones are not.
    assert_eq!(
        given(&history).holds(3, "2026-12-11", "2026-12-13"),
        taken("2026-12-12", "2026-12-15")
    );
    assert!(matches!(
        given(&history).holds(3, "2026-12-13", "2026-12-15"),
        Err(BookingError::DatesUnavailable { .. })
    ));
}

#[test]
fn a_stay_under_way_can_grow_but_cannot_start_again_or_end_in_the_past() {
    let history = confirmed();
    // Saturday the 12th, 10:00 in Buenos Aires: the guests are in the cabin.
    let during = at("2026-12-12T13:00:00Z");
    let g = given(&history);
    let longer = g
        .when(change(1, stay("2026-12-11", "2026-12-15"), None), during)
        .unwrap();
    let AccommodationEvent::StayChanged(e) = &longer[0] else {
        panic!("{longer:?}")
    };
    assert_eq!(e.quote.total, Money::pesos(170_000));
    assert!(matches!(
        g.when(change(1, stay("2026-12-10", "2026-12-13"), None), during),
        Err(BookingError::CheckInInPast { .. })
    ));
    // Monday the 14th: the stay ended yesterday; it cannot be stretched to end today.
    assert_eq!(
        g.when(
            change(1, stay("2026-12-11", "2026-12-14"), None),
            at("2026-12-14T13:00:00Z")
        ),
        Err(BookingError::StayOver {
            check_out: d("2026-12-14"),
            today: d("2026-12-14"),
        })
    );
}

#[test]
fn only_a_confirmed_stay_changes_and_the_rules_of_a_stay_still_hold() {
    let when_held = given(&held()).when(change(1, stay("2026-12-14", "2026-12-16"), None), now());
    assert_eq!(when_held, Err(BookingError::HoldNightsFixed));
    let mut cancelled = confirmed();
    step(&mut cancelled, cancel_by_admin(1), now());
    assert_eq!(
        given(&cancelled).when(change(1, stay("2026-12-14", "2026-12-16"), None), now()),
        Err(BookingError::ReservationCancelled)
    );
    let g = given(&confirmed());
    assert_eq!(
        g.when(change(9, stay("2026-12-14", "2026-12-16"), None), now()),
        Err(BookingError::ReservationNotFound(rid(9)))
    );
    assert!(matches!(
        g.when(change(1, stay("2026-12-14", "2026-12-15"), None), now()),
        Err(BookingError::StayTooShort { .. })
    ));
    assert!(matches!(
        g.when(change(1, stay("2026-12-11", "2026-12-13"), Some(5)), now()),
        Err(BookingError::InvalidGuestCount { .. })
    ));
    // Only the party: the nights and their price stand.
    let party = g
        .when(change(1, stay("2026-12-11", "2026-12-13"), Some(4)), now())
        .unwrap();
    let [AccommodationEvent::StayChanged(e)] = party.as_slice() else {
        panic!("{party:?}")
    };
    assert_eq!((e.previous_guests, e.guests), (2, 4));
    assert_eq!(e.quote.total, Money::pesos(90_000));
}

#[test]
fn a_change_that_costs_less_than_what_was_paid_is_refused() {
    let mut history = confirmed();
    // Paid over the total (97 000 of 90 000), then priced lower: 2 weekday nights at 30 000.
    step(&mut history, pay(1, paid("902", "approved", 70_000)), now());
    let cheaper = Pricing::simple(Money::pesos(30_000), Money::pesos(10_000));
    step(
        &mut history,
        AccommodationCommand::ChangePricing(ChangePricing {
            pricing: cheaper,
            min_nights: None,
        }),
        now(),
    );
    assert_eq!(
        given(&history).when(change(1, stay("2026-12-14", "2026-12-16"), None), now()),
        Err(BookingError::PaidAboveTotal {
            paid: Money::pesos(97_000),
            total: Money::pesos(70_000),
        })
    );
}

#[test]
fn a_stay_change_round_trips_through_its_stored_form() {
    let mut history = confirmed();
    let events = step(
        &mut history,
        change(1, stay("2026-12-14", "2026-12-17"), Some(3)),
        now(),
    );
    for e in &events {
        let back =
            AccommodationEvent::from_stored(e.event_type(), e.event_version(), e.to_payload())
                .unwrap();
        assert_eq!(&back, e);
    }
    let mut replayed = Accommodation::default();
    for e in &history {
        replayed.evolve(
            &AccommodationEvent::from_stored(e.event_type(), e.event_version(), e.to_payload())
                .unwrap(),
        );
    }
    assert_eq!(replayed, given(&history).0);
}

/// The guest's own hold, corrected: the same guest's reference on the new hold.
fn corrected(previous: u128, id: u128, s: StayDates) -> AccommodationCommand {
    AccommodationCommand::ReplaceHold(ReplaceHold {
        previous: rid(previous),
        hold: PlaceHold {
            guest_ref: "guest-1".into(),
            ..hold(id, s)
        },
    })
}

#[test]
fn a_hold_corrected_to_overlapping_nights_is_cancelled_and_placed_again_in_one_decision() {
    let g = given(&[registered(), placed(1, stay("2026-12-11", "2026-12-14"))]);
    let events = g
        .when(corrected(1, 2, stay("2026-12-12", "2026-12-15")), now())
        .unwrap();
    assert!(
        matches!(&events[0], AccommodationEvent::Cancelled(c) if c.reservation_id == rid(1) && c.by == CancelledBy::Guest),
        "{events:?}"
    );
    assert!(
        matches!(events.last(), Some(AccommodationEvent::HoldPlaced(h)) if h.reservation_id == rid(2) && h.stay == stay("2026-12-12", "2026-12-15")),
        "{events:?}"
    );
}

#[test]
fn a_correction_that_cannot_be_had_leaves_the_first_hold_standing() {
    let g = given(&[
        registered(),
        placed(1, stay("2026-12-11", "2026-12-14")),
        placed(3, stay("2026-12-14", "2026-12-16")),
    ]);
    // The new nights run into another guest's hold: nothing is decided, the first hold stays.
    assert_eq!(
        g.when(corrected(1, 2, stay("2026-12-12", "2026-12-15")), now()),
        taken("2026-12-14", "2026-12-16")
    );
    // Only a hold, and only its own guest's, is corrected this way.
    let other_guest = AccommodationCommand::ReplaceHold(ReplaceHold {
        previous: rid(1),
        hold: hold(2, stay("2026-12-20", "2026-12-22")),
    });
    assert_eq!(g.when(other_guest, now()), Err(BookingError::NotHeld));
}
