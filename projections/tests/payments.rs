//! The payments read model built by the runner on both backends: what one batch holding several
//! reports of one payment, and a refund decided and carried out, leaves in its rows.

#![allow(clippy::unwrap_used)] // Test set-up failures should stop the test loudly.

mod common;

use chrono::{Duration, Utc};
use common::{World, stores};
use domain::accommodation::{
    AccommodationCommand, ApplyPayment, CancelReservation, CancelledBy, RecordRefund,
};
use domain::payment::{PaymentFacts, PaymentStatus};
use domain::{Accommodation, GuestId};
use eventstore::CommandHandler;
use projections::Runner;
use projections::queries;

/// A payment reported twice in one batch (pending, then approved without a method) is one row
/// with its last state and the method first reported; a refund decided and carried out in the
/// same batch is recorded as carried out, and its alert resolved.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payments_seen_twice_in_one_batch_keep_their_last_state() {
    for (backend, store) in stores().await {
        let handler: CommandHandler<Accommodation> = CommandHandler::new(store.clone());
        let world = World {
            handler,
            now: Utc::now(),
        };
        let acc = world.register("Cabaña Norte", 4).await;
        let guest = GuestId::from_seed("+54 9 11 5555-1234");
        let day = (world.now + Duration::days(30)).date_naive();
        let (rid, _) = world.hold(acc, &guest, day, 2).await;
        let (_, cabin) = world.handler.current(&acc.stream_id()).await.unwrap();
        let deposit = cabin.reservation(rid).unwrap().quote.deposit;
        let report = |status, method: Option<&str>| {
            AccommodationCommand::ApplyPayment(ApplyPayment {
                reservation_id: rid,
                payment: PaymentFacts {
                    payment_id: "p1".into(),
                    status,
                    status_detail: None,
                    amount: deposit,
                    method: method.map(str::to_owned),
                },
            })
        };
        world
            .run(
                acc,
                report(PaymentStatus::Pending, Some("rapipago")),
                world.now,
            )
            .await;
        world
            .run(acc, report(PaymentStatus::Approved, None), world.now)
            .await;
        let cancel = AccommodationCommand::Cancel(CancelReservation {
            reservation_id: rid,
            by: CancelledBy::Admin,
            reason: "mantenimiento".into(),
            refund_all: true,
        });
        world.run(acc, cancel, world.now).await;
        let (_, cabin) = world.handler.current(&acc.stream_id()).await.unwrap();
        let key = cabin
            .reservation(rid)
            .unwrap()
            .refunds
            .keys()
            .next()
            .cloned()
            .unwrap();
        let issued = AccommodationCommand::RecordRefund(RecordRefund {
            reservation_id: rid,
            refund_key: key.clone(),
            refund_id: "mp-refund-1".into(),
        });
        world.run(acc, issued, world.now).await;

        // Every event stamped before the catch-up, so that it takes them in one batch.
        let appended = store.read_stream(&acc.stream_id(), 0).await.unwrap().len() as i64;
        while store.head_position().await.unwrap() < appended {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        let runner = Runner::new(store.clone(), projections::all());
        runner.ensure_schema().await.unwrap();
        runner.catch_up().await.unwrap();

        let db = store.db();
        let payments = queries::payments_of(&db, &rid.to_string()).await.unwrap();
        assert_eq!(payments.len(), 1, "{backend}: {payments:?}");
        assert_eq!(payments[0].status, "approved", "{backend}");
        assert_eq!(payments[0].method.as_deref(), Some("rapipago"), "{backend}");
        let refunds = queries::refunds_of(&db, &rid.to_string()).await.unwrap();
        assert_eq!(refunds.len(), 1, "{backend}: {refunds:?}");
        assert_eq!(refunds[0].refund_key, key, "{backend}");
        assert_eq!(
            refunds[0].refund_id.as_deref(),
            Some("mp-refund-1"),
            "{backend}"
        );
    }
}
