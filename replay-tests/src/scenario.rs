//! The recorder of the committed histories: scripted seasons played through the real domain
//! (every event is what `decide` produced for a command at a time), written as JSONL. Run
//! `REPLAY_RECORD=1 cargo test -p replay-tests` to write them again after a deliberate change.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use domain::accommodation::{
    AccommodationCommand, ApplyPayment, BlockDates, BlockSource, CancelReservation, CancelledBy,
    Channel, ExpireHold, ExternalKind, ExternalStay, PlaceHold, RecordPaymentLink, RecordRefund,
    RegisterAccommodation, SyncCalendar,
};
use domain::guest::GuestProfileRecorded;
use domain::payment::{CancellationPolicy, PaymentFacts, PaymentStatus};
use domain::{
    Accommodation, AccommodationEvent, AccommodationId, Aggregate, BlockId, DomainEvent,
    GuestEvent, GuestId, Money, Pricing, ReservationCode, ReservationId, StayDates,
};
use serde_json::json;

use crate::Line;

/// Deterministic ids: the same script records the same history.
fn uuid(kind: &str, n: u64) -> uuid::Uuid {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("{kind}:{n}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

struct Recorder {
    lines: Vec<Line>,
    versions: BTreeMap<String, i64>,
    states: BTreeMap<AccommodationId, Accommodation>,
    now: DateTime<Utc>,
    events: u64,
}

impl Recorder {
    fn new(start: DateTime<Utc>) -> Recorder {
        Recorder {
            lines: Vec::new(),
            versions: BTreeMap::new(),
            states: BTreeMap::new(),
            now: start,
            events: 0,
        }
    }

    fn push(
        &mut self,
        stream: &str,
        event_type: &str,
        version: i32,
        payload: serde_json::Value,
        actor: &str,
    ) {
        let v = self.versions.entry(stream.to_owned()).or_default();
        *v += 1;
        self.events += 1;
        self.lines.push(Line {
            position: None,
            hash: None,
            stream_id: stream.to_owned(),
            stream_version: *v,
            event_id: uuid("event", self.events),
            event_type: event_type.to_owned(),
            schema_version: version,
            payload,
            metadata: json!({"actor": actor, "source": "replay-tests"}),
            recorded_at: Some(self.now),
        });
    }

    /// Decides `cmd` now and records its events; a refusal is returned (the script expects some).
    fn run(
        &mut self,
        id: AccommodationId,
        cmd: AccommodationCommand,
        actor: &str,
    ) -> Vec<AccommodationEvent> {
        let state = self.states.entry(id).or_default();
        let events = state.decide(&cmd, self.now).unwrap_or_default();
        for e in &events {
            state.evolve(e);
        }
        for e in &events {
            self.push(
                &id.stream_id(),
                e.event_type(),
                e.event_version() as i32,
                e.to_payload(),
                actor,
            );
        }
        events
    }

    fn tick(&mut self, minutes: i64) {
        self.now += Duration::minutes(minutes);
    }
}

fn stay(from: NaiveDate, nights: u64) -> StayDates {
    StayDates::new(from, from + chrono::Days::new(nights)).unwrap_or_else(|_| unreachable!())
}

fn register(r: &mut Recorder, n: u64, name: &str, policy: CancellationPolicy) -> AccommodationId {
    let id = AccommodationId::from_uuid(uuid("accommodation", n));
    let mut pricing = Pricing::simple(Money::pesos(40_000 + 5_000 * n as i64), Money::pesos(8_000));
    pricing.cancellation = policy;
    r.run(
        id,
        AccommodationCommand::Register(RegisterAccommodation {
            accommodation_id: id,
            name: name.into(),
            capacity: 4 + n as u32,
            pricing,
            min_nights: 2,
            check_in_time: NaiveTime::from_hms_opt(14, 0, 0).unwrap_or_default(),
            check_out_time: NaiveTime::from_hms_opt(10, 0, 0).unwrap_or_default(),
            directions: None,
        }),
        "admin",
    );
    id
}

fn approved(id: &str, amount: Money) -> PaymentFacts {
    PaymentFacts {
        payment_id: id.into(),
        status: PaymentStatus::Approved,
        status_detail: Some("accredited".into()),
        amount,
        method: Some("account_money".into()),
    }
}

/// Summer 2026/27 on three cabins: sixty holds paid, expired, underpaid and topped up, paid late
/// (free nights and taken ones), cancelled by guests and by the owner with refunds; Airbnb
/// blocks that appear, move and vanish; a conflict; owner blocks. Long on purpose: a season is
/// a story read top to bottom, and its order is the recorded history's.
pub fn season() -> Vec<Line> {
    let mut r = Recorder::new(
        Utc.with_ymd_and_hms(2026, 11, 1, 13, 0, 0)
            .single()
            .unwrap_or_default(),
    );
    let cabins = [
        register(&mut r, 1, "Cabaña del Lago", CancellationPolicy::Moderate),
        register(&mut r, 2, "Cabaña del Bosque", CancellationPolicy::Flexible),
        register(&mut r, 3, "Cabaña del Río", CancellationPolicy::Strict),
    ];
    let season_start = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap_or_default();
    for g in 0..12u64 {
        let guest = GuestId::from_seed(&format!("54911555{:05}", g));
        let e = GuestEvent::ProfileRecorded(GuestProfileRecorded {
            guest_id: guest,
            name: format!("Huésped {g}"),
            phone: format!("54911555{:05}", g),
            recorded_at: r.now,
        });
        r.push(
            &guest.stream_id(),
            e.event_type(),
            1,
            e.to_payload(),
            "guest",
        );
    }
    let mut payment = 1000u64;
    for i in 0..60u64 {
        let cabin = cabins[(i % 3) as usize];
        let nights = 2 + i % 3;
        let s = stay(season_start + chrono::Days::new((i / 3) * 4), nights);
        let rid = ReservationId::from_uuid(uuid("reservation", i));
        let guest = GuestId::from_seed(&format!("54911555{:05}", i % 12));
        let held = r.run(
            cabin,
            AccommodationCommand::PlaceHold(PlaceHold {
                reservation_id: rid,
                code: ReservationCode::from_entropy(i * 7919 + 11),
                guest_ref: guest.stream_id(),
                stay: s,
                guests: 2,
                channel: if i % 2 == 0 {
                    Channel::Whatsapp
                } else {
                    Channel::Direct
                },
                hold_duration: Duration::minutes(30),
            }),
            "guest",
        );
        let Some(AccommodationEvent::HoldPlaced(h)) = held.last().cloned() else {
            continue;
        };
        r.tick(1);
        r.run(
            cabin,
            AccommodationCommand::RecordPaymentLink(RecordPaymentLink {
                reservation_id: rid,
                preference_id: format!("pref-{i}"),
                init_point: format!(
                    "https://www.mercadopago.com.ar/checkout/v1/redirect?pref_id=pref-{i}"
                ),
                amount: h.quote.deposit,
                expires_at: h.expires_at,
            }),
            "reactor",
        );
        r.tick(5);
        payment += 1;
        let pay = |p: PaymentFacts| {
            AccommodationCommand::ApplyPayment(ApplyPayment {
                reservation_id: rid,
                payment: p,
            })
        };
        match i % 7 {
            0..=2 => {
                r.run(
                    cabin,
                    pay(approved(&payment.to_string(), h.quote.deposit)),
                    "mercadopago",
                );
                // The same notification again: no effect, no event.
                r.run(
                    cabin,
                    pay(approved(&payment.to_string(), h.quote.deposit)),
                    "mercadopago",
                );
            }
            3 => {
                r.tick(40);
                r.run(
                    cabin,
                    AccommodationCommand::ExpireHold(ExpireHold {
                        reservation_id: rid,
                    }),
                    "scheduler",
                );
            }
            4 => {
                r.run(
                    cabin,
                    pay(approved(&payment.to_string(), Money::pesos(5_000))),
                    "mercadopago",
                );
                payment += 1;
                r.run(
                    cabin,
                    pay(approved(&payment.to_string(), h.quote.deposit)),
                    "mercadopago",
                );
            }
            5 => {
                // Expires; paid late while the nights are still free: confirmed anyway.
                r.tick(40);
                r.run(
                    cabin,
                    AccommodationCommand::ExpireHold(ExpireHold {
                        reservation_id: rid,
                    }),
                    "scheduler",
                );
                r.run(
                    cabin,
                    pay(approved(&payment.to_string(), h.quote.deposit)),
                    "mercadopago",
                );
            }
            _ => {
                let mut rejected = approved(&payment.to_string(), h.quote.deposit);
                rejected.status = PaymentStatus::Rejected;
                r.run(cabin, pay(rejected), "mercadopago");
                r.run(
                    cabin,
                    AccommodationCommand::Cancel(CancelReservation {
                        reservation_id: rid,
                        by: CancelledBy::Guest,
                        reason: "cambio de planes".into(),
                        refund_all: false,
                    }),
                    "guest",
                );
            }
        }
        r.tick(60 * 7);
    }

    // A hold lapses, someone else takes its nights, then the first guest pays: refunded in full.
    let cabin = cabins[0];
    let late_stay = stay(NaiveDate::from_ymd_opt(2027, 3, 10).unwrap_or_default(), 3);
    let (a, b) = (
        ReservationId::from_uuid(uuid("reservation", 1001)),
        ReservationId::from_uuid(uuid("reservation", 1002)),
    );
    for (rid, n) in [(a, 1001u64), (b, 1002)] {
        r.run(
            cabin,
            AccommodationCommand::PlaceHold(PlaceHold {
                reservation_id: rid,
                code: ReservationCode::from_entropy(n),
                guest_ref: GuestId::from_seed("5491155500001").stream_id(),
                stay: late_stay,
                guests: 2,
                channel: Channel::Whatsapp,
                hold_duration: Duration::minutes(30),
            }),
            "guest",
        );
        r.tick(45);
    }
    let late = r.run(
        cabin,
        AccommodationCommand::ApplyPayment(ApplyPayment {
            reservation_id: a,
            payment: approved("9001", Money::pesos(39_000)),
        }),
        "mercadopago",
    );
    for e in late {
        if let AccommodationEvent::RefundDue(d) = e {
            r.run(
                cabin,
                AccommodationCommand::RecordRefund(RecordRefund {
                    reservation_id: a,
                    refund_key: d.refund_key,
                    refund_id: "r-9001".into(),
                }),
                "reactor",
            );
        }
    }

    // The owner cancels a paid stay a month out: the strict policy keeps half.
    let strict = cabins[2];
    let far = ReservationId::from_uuid(uuid("reservation", 2001));
    let held = r.run(
        strict,
        AccommodationCommand::PlaceHold(PlaceHold {
            reservation_id: far,
            code: ReservationCode::from_entropy(2001),
            guest_ref: GuestId::from_seed("5491155500002").stream_id(),
            stay: stay(NaiveDate::from_ymd_opt(2027, 4, 20).unwrap_or_default(), 2),
            guests: 3,
            channel: Channel::Direct,
            hold_duration: Duration::minutes(30),
        }),
        "guest",
    );
    if let Some(AccommodationEvent::HoldPlaced(h)) = held.last() {
        let deposit = h.quote.deposit;
        r.run(
            strict,
            AccommodationCommand::ApplyPayment(ApplyPayment {
                reservation_id: far,
                payment: approved("9002", deposit),
            }),
            "mercadopago",
        );
        for e in r.run(
            strict,
            AccommodationCommand::Cancel(CancelReservation {
                reservation_id: far,
                by: CancelledBy::Admin,
                reason: "obra en la cabaña".into(),
                refund_all: false,
            }),
            "admin",
        ) {
            if let AccommodationEvent::RefundDue(d) = e {
                r.run(
                    strict,
                    AccommodationCommand::RecordRefund(RecordRefund {
                        reservation_id: far,
                        refund_key: d.refund_key,
                        refund_id: "r-9002".into(),
                    }),
                    "reactor",
                );
            }
        }
    }

    // Airbnb on the second cabin: blocks appear, the rolling window moves, one vanishes, and a
    // guest booked there lands on nights we sold (a conflict).
    let airbnb = cabins[1];
    let d = |m: u32, day: u32| NaiveDate::from_ymd_opt(2027, m, day).unwrap_or_default();
    let sync = |events: Vec<ExternalStay>| {
        AccommodationCommand::SyncCalendar(SyncCalendar {
            calendar: "airbnb".into(),
            events,
            complete: true,
        })
    };
    let ext = |uid: &str, s: StayDates, kind| ExternalStay {
        uid: uid.into(),
        stay: s,
        kind,
    };
    r.run(
        airbnb,
        sync(vec![
            ext("a@airbnb.com", stay(d(5, 1), 4), ExternalKind::Reservation),
            ext(
                "n@airbnb.com",
                stay(d(6, 1), 30),
                ExternalKind::NotAvailable,
            ),
            ext("x@airbnb.com", stay(d(7, 1), 3), ExternalKind::Reservation),
        ]),
        "ical",
    );
    r.tick(5);
    r.run(
        airbnb,
        sync(vec![
            ext("a@airbnb.com", stay(d(5, 1), 4), ExternalKind::Reservation),
            ext(
                "n@airbnb.com",
                stay(d(6, 2), 30),
                ExternalKind::NotAvailable,
            ),
        ]),
        "ical",
    );
    // A December stay of ours (sold directly) collides with an Airbnb booking.
    r.run(
        airbnb,
        sync(vec![
            ext("a@airbnb.com", stay(d(5, 1), 4), ExternalKind::Reservation),
            ext(
                "n@airbnb.com",
                stay(d(6, 2), 30),
                ExternalKind::NotAvailable,
            ),
            ext(
                "c@airbnb.com",
                stay(season_start + chrono::Days::new(4), 2),
                ExternalKind::Reservation,
            ),
        ]),
        "ical",
    );
    // The owner keeps a week for the family.
    r.run(
        cabins[0],
        AccommodationCommand::BlockDates(BlockDates {
            block_id: BlockId::from_uuid(uuid("block", 1)),
            stay: stay(d(8, 1), 7),
            source: BlockSource::Admin,
            note: Some("familia".into()),
        }),
        "admin",
    );
    r.lines
}

/// A history from the seed system: holds in `HoldPlaced` v1 (totals only, no price breakdown),
/// one paid, one left to expire. It must replay forever.
pub fn legacy_v1() -> Vec<Line> {
    let mut r = Recorder::new(
        Utc.with_ymd_and_hms(2025, 12, 1, 12, 0, 0)
            .single()
            .unwrap_or_default(),
    );
    let cabin = register(&mut r, 9, "Cabaña Vieja", CancellationPolicy::Moderate);
    let stream = cabin.stream_id();
    for (n, day, paid) in [(1u64, 10u32, true), (2, 20, false)] {
        let rid = ReservationId::from_uuid(uuid("legacy", n));
        let placed = r.now;
        r.push(
            &stream,
            "HoldPlaced",
            1,
            json!({
                "reservation_id": rid,
                "code": ReservationCode::from_entropy(n * 31),
                "guest_ref": GuestId::from_seed(&format!("5491144400{n:03}")).stream_id(),
                "check_in": format!("2026-01-{day:02}"),
                "check_out": format!("2026-01-{:02}", day + 3),
                "guests": 2,
                "channel": "direct",
                "total": "150000",
                "deposit": "45000",
                "placed_at": placed,
                "expires_at": placed + Duration::minutes(30),
            }),
            "seed-system",
        );
        r.tick(10);
        if paid {
            r.push(
                &stream,
                "ReservationConfirmed",
                1,
                json!({
                    "reservation_id": rid,
                    "payment_reference": format!("seed-{n}"),
                    "amount_paid": "45000",
                    "confirmed_at": r.now,
                }),
                "seed-system",
            );
        } else {
            r.tick(40);
            r.push(
                &stream,
                "HoldExpired",
                1,
                json!({
                    "reservation_id": rid,
                    "check_in": format!("2026-01-{day:02}"),
                    "check_out": format!("2026-01-{:02}", day + 3),
                    "expired_at": r.now,
                }),
                "seed-system",
            );
        }
    }
    r.lines
}

/// A history as JSONL text.
pub fn to_jsonl(lines: &[Line]) -> String {
    lines
        .iter()
        .map(|l| serde_json::to_string(l).unwrap_or_default() + "\n")
        .collect()
}
