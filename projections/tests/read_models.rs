//! Every read model, built by the runner from a real history on both backends: what the API
//! will show, a rebuild that lands on the same rows, and the PostgreSQL exclusion guard.

#![allow(clippy::unwrap_used)] // Test set-up failures should stop the test loudly.

mod common;

use std::sync::Arc;

use chrono::{Duration, Utc};
use common::{World, stores};
use domain::accommodation::{
    AccommodationCommand, BlockDates, BlockSource, CancelReservation, CancelledBy,
    ConfirmReservation, ExpireHold,
};
use domain::guest::GuestProfileRecorded;
use domain::{AccommodationId, BlockId, DomainEvent, GuestEvent, GuestId, Money, StayDates};
use eventstore::{CommandHandler, EventStore, ExpectedVersion, Metadata, NewEvent};
use projections::Runner;
use projections::queries::{self, ReservationFilter};
use projections::{ReservationStatus, StayStatus};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_models_follow_the_log_and_rebuild_identically() {
    for (backend, store) in stores().await {
        let world = World {
            handler: CommandHandler::new(store.clone()),
            now: Utc::now(),
        };
        let now = world.now;
        let day = (now + Duration::days(30)).date_naive();
        let norte = world.register("Cabaña Norte", 4).await;
        let sur = world.register("Cabaña Sur", 2).await;

        let ana = GuestId::from_seed("+54 9 11 5555-1234");
        let profile = GuestEvent::ProfileRecorded(GuestProfileRecorded {
            guest_id: ana,
            name: "Ana Pérez".into(),
            phone: "+54 9 11 5555-1234".into(),
            recorded_at: now,
        });
        store
            .append(
                &ana.stream_id(),
                ExpectedVersion::Any,
                &[NewEvent {
                    event_id: uuid::Uuid::new_v4(),
                    event_type: profile.event_type().into(),
                    schema_version: 1,
                    payload: profile.to_payload(),
                    metadata: Metadata::default(),
                }],
            )
            .await
            .unwrap();

        let (r1, c1) = world.hold(norte, &ana, day, 3).await;
        world
            .run(
                norte,
                AccommodationCommand::Confirm(ConfirmReservation {
                    reservation_id: r1,
                    payment_reference: "cash".into(),
                    amount_paid: Money::pesos(50_000),
                }),
                now,
            )
            .await;
        let (r2, c2) = world.hold(norte, &ana, day + Duration::days(3), 2).await;
        world
            .run(
                norte,
                AccommodationCommand::ExpireHold(ExpireHold { reservation_id: r2 }),
                now + Duration::minutes(31),
            )
            .await;
        let other = GuestId::from_seed("1144443333");
        let (r3, _) = world.hold(sur, &other, day, 2).await;
        world
            .run(
                sur,
                AccommodationCommand::Cancel(CancelReservation {
                    reservation_id: r3,
                    by: CancelledBy::Guest,
                    reason: "changed plans".into(),
                    refund_all: false,
                }),
                now,
            )
            .await;
        world
            .run(
                norte,
                AccommodationCommand::BlockDates(BlockDates {
                    block_id: BlockId::new(),
                    stay: StayDates::new(day + Duration::days(10), day + Duration::days(12))
                        .unwrap(),
                    source: BlockSource::External {
                        calendar: "airbnb".into(),
                        uid: "abc@airbnb.com".into(),
                    },
                    note: None,
                }),
                now,
            )
            .await;

        let head = {
            // PostgreSQL stamps positions a few milliseconds after commit.
            let mut head = 0;
            for _ in 0..500 {
                head = store.head_position().await.unwrap();
                if head >= 10 {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            head
        };
        assert_eq!(head, 10, "{backend}: every event is in the global log");

        let runner = Runner::new(store.clone(), projections::all());
        runner.ensure_schema().await.unwrap();
        runner.catch_up().await.unwrap();
        assert!(
            runner
                .wait_for(head, std::time::Duration::from_millis(10))
                .await
                .unwrap()
        );
        let status = runner.status().await.unwrap();
        assert!(
            status
                .iter()
                .all(|s| s.position == head && s.behind_events == 0)
        );

        let db = store.db();
        let all = queries::accommodations(&db).await.unwrap();
        assert_eq!(
            all.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(),
            ["Cabaña Norte", "Cabaña Sur"],
            "{backend}"
        );
        let names = queries::accommodation_names(&db).await.unwrap();
        assert_eq!(names, ["Cabaña Norte", "Cabaña Sur"], "{backend}");

        // Norte is confirmed on `day`, Sur's hold was cancelled: only Sur is free, and only for
        // up to its 2 guests.
        let free = queries::free_accommodations(&db, day, day + Duration::days(1), 2, now)
            .await
            .unwrap();
        assert_eq!(free.len(), 1, "{backend}");
        assert_eq!(free[0].name, "Cabaña Sur");
        let free = queries::free_accommodations(&db, day, day + Duration::days(1), 3, now)
            .await
            .unwrap();
        assert!(free.is_empty(), "{backend}");
        // The expired hold freed its nights.
        let free = queries::free_accommodations(
            &db,
            day + Duration::days(3),
            day + Duration::days(5),
            2,
            now,
        )
        .await
        .unwrap();
        assert_eq!(free.len(), 2, "{backend}");

        let nights = queries::calendar(
            &db,
            &norte.to_string(),
            day + Duration::days(2),
            day + Duration::days(4),
            now,
        )
        .await
        .unwrap();
        assert_eq!(nights[0].status, "confirmed");
        assert_eq!(nights[0].code.as_deref(), Some(c1.as_str()));
        assert_eq!(nights[1].status, "free");
        let blocked = queries::calendar(
            &db,
            &norte.to_string(),
            day + Duration::days(10),
            day + Duration::days(11),
            now,
        )
        .await
        .unwrap();
        assert_eq!(blocked[0].status, "blocked");
        assert_eq!(blocked[0].external_uid.as_deref(), Some("abc@airbnb.com"));

        let r = queries::reservation_by_code(&db, c1.as_str())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(r.status, ReservationStatus::Confirmed, "{backend}");
        assert_eq!(r.amount_paid, Money::pesos(50_000));
        assert_eq!(r.guest.name.as_deref(), Some("Ana Pérez"));
        assert_eq!(r.accommodation_name.as_deref(), Some("Cabaña Norte"));
        assert_eq!(r.quote.nights, 3);

        let search = |f: ReservationFilter| {
            let db = db.clone();
            async move {
                let mut codes: Vec<String> = queries::search_reservations(&db, &f)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|r| r.code)
                    .collect();
                codes.sort();
                codes
            }
        };
        let page = |f: ReservationFilter| ReservationFilter { limit: 100, ..f };
        let mut anas = vec![c1.to_string(), c2.to_string()];
        anas.sort();
        assert_eq!(
            search(page(ReservationFilter {
                q: Some("pérez".into()),
                ..Default::default()
            }))
            .await,
            anas,
            "{backend}: guest search"
        );
        assert_eq!(
            search(page(ReservationFilter {
                q: Some(c2.to_string().to_lowercase()),
                ..Default::default()
            }))
            .await,
            vec![c2.to_string()],
            "{backend}: search by code"
        );
        assert_eq!(
            search(page(ReservationFilter {
                status: Some(ReservationStatus::Expired),
                ..Default::default()
            }))
            .await,
            vec![c2.to_string()]
        );
        assert_eq!(
            search(page(ReservationFilter {
                accommodation_id: Some(sur.to_string()),
                from: Some(day),
                to: Some(day + Duration::days(1)),
                ..Default::default()
            }))
            .await
            .len(),
            1
        );

        let timeline = queries::timeline(&db, &r1.to_string()).await.unwrap();
        assert_eq!(
            timeline
                .iter()
                .map(|t| t.event_type.as_str())
                .collect::<Vec<_>>(),
            ["HoldPlaced", "ReservationConfirmed"]
        );
        assert!(timeline[0].position < timeline[1].position);

        let stats = queries::stats(&db).await.unwrap();
        let holds: i64 = stats.holds.iter().map(|h| h.placed).sum();
        let converted: i64 = stats.holds.iter().map(|h| h.converted).sum();
        let expired: i64 = stats.holds.iter().map(|h| h.expired).sum();
        let cancelled: i64 = stats.holds.iter().map(|h| h.cancelled).sum();
        assert_eq!(
            (holds, converted, expired, cancelled),
            (3, 1, 1, 1),
            "{backend}"
        );
        let booked: i64 = stats.occupancy.iter().map(|o| o.booked_nights).sum();
        let blocked: i64 = stats.occupancy.iter().map(|o| o.blocked_nights).sum();
        assert_eq!((booked, blocked), (3, 2), "{backend}");
        assert_eq!(stats.revenue.len(), 1);
        assert_eq!(stats.revenue[0].amount, Money::pesos(50_000));

        // A rebuild from zero lands on the same rows, and the runner carries on from it.
        let before = search(page(ReservationFilter::default())).await;
        let stats_before = queries::stats(&db).await.unwrap();
        for p in ["accommodations", "availability", "reservations", "stats"] {
            assert_eq!(runner.rebuild(p).await.unwrap(), head, "{backend}: {p}");
        }
        assert_eq!(search(page(ReservationFilter::default())).await, before);
        assert_eq!(queries::stats(&db).await.unwrap(), stats_before);
        assert_eq!(
            queries::reservation_by_code(&db, c1.as_str())
                .await
                .unwrap()
                .unwrap(),
            r
        );
        // A second rebuild must not trip over the names the first one left behind.
        runner.rebuild("availability").await.unwrap();
        world.hold(sur, &other, day + Duration::days(40), 2).await;
        let mut caught_up = false;
        for _ in 0..500 {
            runner.catch_up().await.unwrap();
            if search(page(ReservationFilter::default())).await.len() == 4 {
                caught_up = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        assert!(caught_up, "{backend}: the runner continues after a rebuild");
        assert!(runner.rebuild("nope").await.is_err());
    }
}

#[tokio::test]
async fn postgres_refuses_overlapping_active_stays_in_the_read_model() {
    let url = eventstore::testing::fresh_postgres_url().await.unwrap();
    let store = eventstore::connect(&url).await.unwrap();
    let runner = Runner::new(store.clone(), projections::all());
    runner.ensure_schema().await.unwrap();
    let eventstore::Db::Postgres(pool) = store.db() else {
        unreachable!()
    };
    let insert = |id: &'static str, from: &'static str, to: &'static str| {
        let pool = pool.clone();
        async move {
            sqlx::query(
                "INSERT INTO rm_stays (occupant_id, accommodation_id, status, check_in, check_out, source) \
                 VALUES ($1, '0190a0a0-0000-7000-8000-000000000001', 'held', $2::date, $3::date, 'direct')",
            )
            .bind(id)
            .bind(from)
            .bind(to)
            .execute(&pool)
            .await
        }
    };
    insert("r1", "2027-01-10", "2027-01-13").await.unwrap();
    // Check-out day = next check-in: allowed.
    insert("r2", "2027-01-13", "2027-01-15").await.unwrap();
    let err = insert("r3", "2027-01-12", "2027-01-14").await.unwrap_err();
    let code = err
        .as_database_error()
        .and_then(|e| e.code().map(|c| c.into_owned()));
    assert_eq!(code.as_deref(), Some("23P01"), "exclusion violation");
}

/// Two runners on one database stand for two instances: the lease (PostgreSQL) and the
/// checkpoint re-read under lock (both) must make every event count exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_runners_never_apply_an_event_twice() {
    for (backend, store) in stores().await {
        let first = Runner::new(store.clone(), projections::all());
        let second = Runner::new(store.clone(), projections::all());
        first.ensure_schema().await.unwrap();
        second.ensure_schema().await.unwrap();
        let tasks = [first.start(), second.start()];
        let world = World {
            handler: CommandHandler::new(store.clone()),
            now: Utc::now(),
        };
        let acc = world.register("Cabaña Doble", 4).await;
        let guest = GuestId::from_seed("1155550000");
        let start = (world.now + Duration::days(5)).date_naive();
        for n in 0..40 {
            world.hold(acc, &guest, start + Duration::days(n), 1).await;
        }
        let mut placed = 0;
        for _ in 0..400 {
            placed = queries::stats(&store.db())
                .await
                .unwrap()
                .holds
                .iter()
                .map(|h| h.placed)
                .sum::<i64>();
            let status = first.status().await.unwrap();
            if placed >= 40 && status.iter().all(|s| s.behind_events == 0) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert_eq!(placed, 40, "{backend}: each hold counted once");
        let listed = queries::search_reservations(
            &store.db(),
            &ReservationFilter {
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(listed.len(), 40, "{backend}");
        for t in tasks {
            t.abort();
        }
    }
}

/// Runs the projections over every event of the cabin's stream, the only one in the store.
/// On PostgreSQL an event's global position is stamped a few milliseconds after its commit: the
/// head is awaited first.
async fn caught_up(
    world: &World,
    store: &Arc<dyn EventStore>,
    runner: &Runner,
    cabin: AccommodationId,
) {
    let (events, _) = world.handler.load(&cabin.stream_id()).await.unwrap();
    for _ in 0..500 {
        if store.head_position().await.unwrap() >= events {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    runner.catch_up().await.unwrap();
}

/// Revenue is the money a month brought in, net: a short first payment and its top-up, the
/// balance taken by hand, less what a cancellation gives back; a rebuild lands on the same sums.
/// The business happens two months before the events are stored (as in a history imported into
/// a new store): the money stays in the month it moved.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revenue_counts_every_payment_less_what_goes_back() {
    use domain::accommodation::{ApplyPayment, RecordManualPayment};
    use domain::payment::{PaymentFacts, PaymentStatus};
    let approved = |id: &str, amount: Money| PaymentFacts {
        payment_id: id.into(),
        status: PaymentStatus::Approved,
        status_detail: None,
        amount,
        method: Some("account_money".into()),
    };
    for (backend, store) in stores().await {
        let world = World {
            handler: CommandHandler::new(store.clone()),
            now: Utc::now() - Duration::days(62),
        };
        let now = world.now;
        let month = (now - Duration::hours(3)).format("%Y-%m").to_string();
        // Arrival in 10 days: the default (moderate) policy gives half back.
        let day = (now + Duration::days(10)).date_naive();
        let cabin = world.register("Cabaña Norte", 4).await;
        let guest = GuestId::from_seed("1144443333");
        let (r, code) = world.hold(cabin, &guest, day, 3).await;
        let runner = Runner::new(store.clone(), projections::all());
        runner.ensure_schema().await.unwrap();
        caught_up(&world, &store, &runner, cabin).await;
        let db = store.db();
        let held = queries::reservation_by_code(&db, code.as_str())
            .await
            .unwrap()
            .unwrap();
        let pay = |payment| {
            AccommodationCommand::ApplyPayment(ApplyPayment {
                reservation_id: r,
                payment,
            })
        };
        // A short first payment, then the rest of the deposit, then the balance by hand.
        world
            .run(cabin, pay(approved("1", Money::pesos(10_000))), now)
            .await;
        let top_up = held.deposit - Money::pesos(10_000);
        world.run(cabin, pay(approved("2", top_up)), now).await;
        let balance = AccommodationCommand::RecordManualPayment(RecordManualPayment {
            reservation_id: r,
            reference: "recibo 1".into(),
            amount: held.total - held.deposit,
            method: Some("efectivo".into()),
        });
        world.run(cabin, balance, now).await;
        caught_up(&world, &store, &runner, cabin).await;
        let revenue = |stats: queries::StatsView| {
            stats
                .revenue
                .iter()
                .map(|r| (r.month.clone(), r.amount, r.reservations))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            revenue(queries::stats(&db).await.unwrap()),
            [(month.clone(), held.total, 1)],
            "{backend}: everything paid, one confirmation"
        );

        world
            .run(
                cabin,
                AccommodationCommand::Cancel(CancelReservation {
                    reservation_id: r,
                    by: CancelledBy::Admin,
                    reason: "the guest asked".into(),
                    refund_all: false,
                }),
                now,
            )
            .await;
        caught_up(&world, &store, &runner, cabin).await;
        let kept = revenue(queries::stats(&db).await.unwrap());
        let half = Money::new(held.total.amount() / rust_decimal::Decimal::TWO);
        assert_eq!(
            kept,
            [(month.clone(), held.total - half, 1)],
            "{backend}: half went back"
        );
        assert!(runner.rebuild("stats").await.unwrap() > 0);
        assert_eq!(
            revenue(queries::stats(&db).await.unwrap()),
            kept,
            "{backend}"
        );
    }
}

/// A confirmed stay moved to other nights: the calendar frees the old nights and takes the new
/// ones, the reservation shows its new dates, party and total, occupancy follows, and a later
/// cancellation gives back the new nights. Both when the move lands in a batch of its own and
/// in the same batch as its hold; a rebuild lands on the same rows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_moved_stay_moves_in_every_read_model() {
    use domain::accommodation::ChangeStay;
    for (backend, store) in stores().await {
        let world = World {
            handler: CommandHandler::new(store.clone()),
            now: Utc::now(),
        };
        let now = world.now;
        let day = |n: u64| now.date_naive() + chrono::Days::new(n);
        let cabin = world.register("Cabaña Norte", 4).await;
        let guest = GuestId::from_seed("1144445555");
        let confirm = |r| {
            AccommodationCommand::Confirm(ConfirmReservation {
                reservation_id: r,
                payment_reference: format!("transfer {r}"),
                amount_paid: Money::pesos(20_000),
            })
        };
        let change = |r, from: u64, nights: u64, guests| {
            AccommodationCommand::ChangeStay(ChangeStay {
                reservation_id: r,
                stay: StayDates::new(day(from), day(from + nights)).unwrap(),
                guests,
            })
        };
        let runner = Runner::new(store.clone(), projections::all());
        runner.ensure_schema().await.unwrap();

        // The first stay is stored before it moves.
        let (first, code) = world.hold(cabin, &guest, day(20), 2).await;
        world.run(cabin, confirm(first), now).await;
        caught_up(&world, &store, &runner, cabin).await;
        world.run(cabin, change(first, 40, 3, Some(3)), now).await;
        // The second is held, confirmed and moved within one batch.
        let (second, _) = world.hold(cabin, &guest, day(50), 2).await;
        world.run(cabin, confirm(second), now).await;
        world.run(cabin, change(second, 21, 2, None), now).await;
        caught_up(&world, &store, &runner, cabin).await;

        let db = store.db();
        let moved = queries::reservation_by_code(&db, code.as_str())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (moved.check_in, moved.check_out, moved.nights, moved.guests),
            (day(40), day(43), 3, 3),
            "{backend}"
        );
        assert_eq!(moved.status, ReservationStatus::Confirmed);
        assert_eq!(moved.total, Money::pesos(3 * 40_000 + 8_000), "{backend}");
        assert_eq!(moved.quote.total, moved.total);
        assert_eq!(moved.amount_paid, Money::pesos(20_000));
        assert_eq!(moved.balance_due, moved.total - Money::pesos(20_000));

        let taken = |nights: Vec<queries::NightView>| {
            nights
                .into_iter()
                .filter(|n| n.status != "free")
                .map(|n| n.date)
                .collect::<Vec<_>>()
        };
        let calendar = queries::calendar(&db, &cabin.to_string(), day(19), day(55), now)
            .await
            .unwrap();
        assert_eq!(
            taken(calendar),
            [day(21), day(22), day(40), day(41), day(42)],
            "{backend}: the old nights free, the new ones taken"
        );

        let booked = |stats: queries::StatsView| -> i64 {
            stats.occupancy.iter().map(|o| o.booked_nights).sum()
        };
        assert_eq!(booked(queries::stats(&db).await.unwrap()), 5, "{backend}");

        world
            .run(
                cabin,
                AccommodationCommand::Cancel(CancelReservation {
                    reservation_id: first,
                    by: CancelledBy::Admin,
                    reason: "changed plans".into(),
                    refund_all: false,
                }),
                now,
            )
            .await;
        caught_up(&world, &store, &runner, cabin).await;
        let stats = queries::stats(&db).await.unwrap();
        assert_eq!(
            booked(stats.clone()),
            2,
            "{backend}: the moved nights given back"
        );
        let calendar = queries::calendar(&db, &cabin.to_string(), day(19), day(55), now)
            .await
            .unwrap();
        assert_eq!(taken(calendar), [day(21), day(22)], "{backend}");

        for name in ["availability", "reservations", "stats"] {
            runner.rebuild(name).await.unwrap();
        }
        assert_eq!(queries::stats(&db).await.unwrap(), stats, "{backend}");
        let rebuilt = queries::reservation_by_code(&db, code.as_str())
            .await
            .unwrap()
            .unwrap();
        assert_eq!((rebuilt.check_in, rebuilt.total), (day(40), moved.total));
    }
}

/// What the schedulers and the iCal export read comes typed from the read models: confirmed
/// arrivals and departures by day, holds due, a cabin's clock and its exported stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_schedulers_read_typed_rows_from_the_read_models() {
    for (backend, store) in stores().await {
        let world = World {
            handler: CommandHandler::new(store.clone()),
            now: Utc::now(),
        };
        let now = world.now;
        let day = (now + Duration::days(30)).date_naive();
        let norte = world.register("Cabaña Norte", 4).await;
        let sur = world.register("Cabaña Sur", 2).await;
        let guest = GuestId::from_seed("1144446666");
        let (confirmed, code) = world.hold(norte, &guest, day, 3).await;
        world
            .run(
                norte,
                AccommodationCommand::Confirm(ConfirmReservation {
                    reservation_id: confirmed,
                    payment_reference: "cash".into(),
                    amount_paid: Money::pesos(50_000),
                }),
                now,
            )
            .await;
        let (held, _) = world.hold(sur, &guest, day, 2).await;
        let runner = Runner::new(store.clone(), projections::all());
        runner.ensure_schema().await.unwrap();
        let mut events = 0;
        for cabin in [norte, sur] {
            events += world.handler.load(&cabin.stream_id()).await.unwrap().0;
        }
        for _ in 0..500 {
            if store.head_position().await.unwrap() >= events {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        runner.catch_up().await.unwrap();
        let db = store.db();

        let check_ins = queries::confirmed_check_ins(&db, day, day).await.unwrap();
        assert_eq!(check_ins.len(), 1, "{backend}");
        assert_eq!(check_ins[0].reservation_id, confirmed.to_string());
        assert_eq!(check_ins[0].accommodation_id, norte.to_string());
        assert_eq!(
            check_ins[0].utc_offset_minutes,
            domain::accommodation::ARGENTINA_UTC_OFFSET_MINUTES
        );
        let arrivals = queries::confirmed_arrivals(&db, day, day, 10)
            .await
            .unwrap();
        assert_eq!(arrivals.len(), 1, "{backend}");
        assert_eq!(
            (arrivals[0].code.as_str(), arrivals[0].cabin.as_str()),
            (code.as_str(), "Cabaña Norte")
        );
        assert_eq!(
            arrivals[0].due,
            Money::pesos(3 * 40_000 + 8_000) - Money::pesos(50_000),
            "{backend}"
        );
        let leaving = queries::confirmed_departures(&db, day + Duration::days(3), 10)
            .await
            .unwrap();
        assert_eq!(
            leaving.iter().map(|d| d.code.as_str()).collect::<Vec<_>>(),
            [code.as_str()],
            "{backend}"
        );

        assert!(queries::holds_due(&db, now, 10).await.unwrap().is_empty());
        assert_eq!(
            queries::holds_due(&db, now + Duration::minutes(31), 10)
                .await
                .unwrap(),
            [queries::DueHold {
                reservation_id: held,
                accommodation_id: sur,
            }],
            "{backend}"
        );

        assert_eq!(
            queries::owner_utc_offset(&db).await.unwrap(),
            Some(domain::accommodation::ARGENTINA_UTC_OFFSET_MINUTES)
        );
        assert!(
            queries::accommodation_registered(&db, &sur.to_string())
                .await
                .unwrap()
        );
        assert!(
            !queries::accommodation_registered(&db, &AccommodationId::new().to_string())
                .await
                .unwrap()
        );
        let cabin = queries::cabin_calendar(&db, &norte.to_string())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(cabin.name, "Cabaña Norte");
        let version = queries::calendar_version(&db, &norte.to_string())
            .await
            .unwrap()
            .unwrap();
        assert!(version.changed_at >= cabin.registered_at, "{backend}");

        let exported = |cabin: AccommodationId, except: &'static str| {
            let db = db.clone();
            async move {
                queries::stays_to_export(&db, &cabin.to_string(), day, except)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|s| s.status)
                    .collect::<Vec<_>>()
            }
        };
        assert_eq!(exported(norte, "airbnb").await, [StayStatus::Confirmed]);
        assert_eq!(exported(sur, "airbnb").await, [StayStatus::Held]);
        // A channel is not sent its own stays back.
        assert!(exported(sur, "direct").await.is_empty(), "{backend}");
    }
}

/// A batch of guest events only (a conversation moving) is applied by the read model that
/// follows guests; the others' checkpoints move past it without a transaction of their own, so
/// every read model is at the head afterwards and the next accommodation event is applied by all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_of_guest_events_moves_every_checkpoint_on() {
    for (backend, store) in stores().await {
        let runner = Runner::new(store.clone(), projections::all());
        runner.ensure_schema().await.unwrap();
        let world = World {
            handler: CommandHandler::new(store.clone()),
            now: Utc::now(),
        };
        let cabin = world.register("Cabaña Norte", 4).await;
        caught_up(&world, &store, &runner, cabin).await;

        let ana = GuestId::from_seed("+54 9 11 5555-7777");
        let profile = GuestEvent::ProfileRecorded(GuestProfileRecorded {
            guest_id: ana,
            name: "Ana Pérez".into(),
            phone: "+54 9 11 5555-7777".into(),
            recorded_at: world.now,
        });
        let event = NewEvent {
            event_id: uuid::Uuid::new_v4(),
            event_type: profile.event_type().into(),
            schema_version: 1,
            payload: profile.to_payload(),
            metadata: Metadata::default(),
        };
        store
            .append(&ana.stream_id(), ExpectedVersion::Any, &[event])
            .await
            .unwrap();
        // The cabin's registration, then the guest's event (PostgreSQL stamps it a moment later).
        head_at_least(&store, 2).await;
        runner.catch_up().await.unwrap();
        let status = runner.status().await.unwrap();
        assert!(
            status.iter().all(|s| s.behind_events == 0),
            "{backend}: {status:?}"
        );
        let known = queries::guest_name_and_phone(&store.db(), &ana.stream_id())
            .await
            .unwrap();
        assert_eq!(
            known,
            Some(("Ana Pérez".to_owned(), "+54 9 11 5555-7777".to_owned())),
            "{backend}: the guest-following read model applied it"
        );

        // The next accommodation event reaches every read model that follows cabins.
        let day = (world.now + Duration::days(20)).date_naive();
        world.hold(cabin, &ana, day, 2).await;
        head_at_least(&store, 3).await;
        runner.catch_up().await.unwrap();
        let stats = queries::stats(&store.db()).await.unwrap();
        let placed: i64 = stats.holds.iter().map(|h| h.placed).sum();
        assert_eq!(placed, 1, "{backend}");
        let status = runner.status().await.unwrap();
        assert!(
            status.iter().all(|s| s.behind_events == 0),
            "{backend}: {status:?}"
        );
    }
}

/// Waits (5 s at most) until the global log's head reaches `position`.
async fn head_at_least(store: &Arc<dyn EventStore>, position: i64) {
    for _ in 0..1000 {
        if store.head_position().await.unwrap() >= position {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    panic!("the head did not reach {position}");
}
