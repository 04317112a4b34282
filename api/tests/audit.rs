//! Auditors on both backends: a night's status and a reservation's state as of any point of the
//! history, and the reservation's causal story (what caused each event).

#![allow(clippy::unwrap_used)] // Test set-up failures should stop the test loudly.

mod common;

use common::{Backend, spawn};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_history_answers_as_of_any_point() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let app = spawn(backend, &[]).await;
        let (acc, registered) = app.register("Cabaña del Lago", 4).await;
        let head = || async { app.state.store.head_position().await.unwrap() };
        let before = chrono::Utc::now();
        let held = app.hold(&acc, 10, 12).await;
        let code = held.body["code"].as_str().unwrap().to_owned();
        let at_hold = head().await;
        app.state.runner.catch_up().await.unwrap();
        let confirmed = app.confirm_by_hand(&code, "30000", "transfer 12").await;
        assert_eq!(confirmed.status, 200, "{:?}", confirmed.body);
        let at_confirm = head().await;
        let cancelled = app
            .admin_post(
                &format!("/v1/admin/reservations/{code}/cancel"),
                json!({"reason": "pedido del huésped"}),
            )
            .await;
        assert_eq!(cancelled.status, 200, "{:?}", cancelled.body);

        let night = |as_of: String| {
            let app = &app;
            let acc = acc.clone();
            async move {
                let r = app
                    .auditor_get(&format!(
                        "/v1/audit/accommodations/{acc}/availability?as_of={as_of}&from={}&to={}",
                        app.day(10),
                        app.day(12)
                    ))
                    .await;
                assert_eq!(r.status, 200, "{:?}", r.body);
                r.body["nights"][0]["status"].as_str().unwrap().to_owned()
            }
        };
        // Was the night free when the guest asked? Yes: before the hold it was.
        assert_eq!(night(registered.to_string()).await, "free", "{backend:?}");
        assert_eq!(night(at_hold.to_string()).await, "held");
        assert_eq!(night(at_confirm.to_string()).await, "confirmed");
        assert_eq!(night(head().await.to_string()).await, "free");
        let instant = before.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        assert_eq!(night(instant.replace('+', "%2B")).await, "free");

        let story = app
            .auditor_get(&format!("/v1/audit/reservations/{code}"))
            .await;
        assert_eq!(story.status, 200, "{:?}", story.body);
        let types: Vec<&str> = common::event_types(&story.body["story"]);
        // Ten days out under the moderate policy: half of a payment taken by hand, to give
        // back by hand.
        assert_eq!(
            types,
            [
                "HoldPlaced",
                "ReservationConfirmed",
                "ReservationCancelled",
                "RefundDue"
            ],
            "{backend:?}"
        );
        assert_eq!(story.body["story"][3]["event"]["via"], "manual");
        assert_eq!(story.body["story"][3]["event"]["amount"], "15000.00");
        assert_eq!(story.body["story"][1]["actor"], "owner");
        assert_eq!(story.body["state"]["status"], "cancelled");
        let then = app
            .auditor_get(&format!("/v1/audit/reservations/{code}?as_of={at_hold}"))
            .await;
        assert_eq!(then.body["state"]["status"], "held");
        assert_eq!(then.body["story"].as_array().unwrap().len(), 1);
        let bad = app
            .auditor_get(&format!(
                "/v1/audit/reservations/{code}?as_of=yesterday-ish"
            ))
            .await;
        assert_eq!(bad.status, 422);
        let forbidden = app
            .get(&format!("/v1/audit/reservations/{code}"), None)
            .await;
        assert_eq!(forbidden.status, 401);

        // Every event says who or what caused it and what it belongs with: the cabin's
        // registration is correlated with the cabin, the guest's profile with the guest, the
        // reservation's events with the reservation.
        let log = app.auditor_get("/v1/audit/events?from=0&limit=1000").await;
        let events = log.body["events"].as_array().unwrap();
        assert!(events.len() >= 5, "{backend:?}: {events:?}");
        for e in events {
            let m = &e["metadata"];
            assert!(m["actor"].is_string(), "{backend:?}: no actor: {e}");
            assert!(
                m["correlation_id"].is_string(),
                "{backend:?}: no correlation: {e}"
            );
        }
        let hold = events
            .iter()
            .find(|e| e["event_type"] == "HoldPlaced")
            .unwrap();
        let refund = events
            .iter()
            .find(|e| e["event_type"] == "RefundDue")
            .unwrap();
        assert_eq!(
            hold["metadata"]["correlation_id"],
            refund["metadata"]["correlation_id"]
        );
        assert_eq!(events[0]["metadata"]["correlation_id"], acc.as_str());

        // The owner signs the head; an auditor checks it against the log, pinning the key.
        let owner = [5u8; 32];
        let signed =
            eventstore::checkpoint::sign_head(&*app.state.store, &owner, chrono::Utc::now())
                .await
                .unwrap()
                .unwrap();
        let pinned = eventstore::checkpoint::public_key(&owner);
        let check = app
            .post(
                "/v1/audit/checkpoints/verify",
                Some(&app.auditor),
                json!({"checkpoint": signed, "public_key": pinned}),
            )
            .await;
        assert_eq!(check.status, 200, "{backend:?}: {:?}", check.body);
        assert_eq!(check.body["holds"], true);
        let other = app
            .post(
                "/v1/audit/checkpoints/verify",
                Some(&app.auditor),
                json!({"checkpoint": signed, "public_key": "ab".repeat(32)}),
            )
            .await;
        assert_eq!(other.status, 409, "{backend:?}: {:?}", other.body);
        assert_eq!(
            other.body["checkpoint"]["signature_valid"], false,
            "{:?}",
            other.body
        );
        let garbage = app
            .post(
                "/v1/audit/checkpoints/verify",
                Some(&app.auditor),
                json!({"checkpoint": {"position": "x"}}),
            )
            .await;
        assert_eq!(garbage.status, 422, "{backend:?}: {:?}", garbage.body);
    }
}

/// Every stored payload as text, to look for personal data in the raw log.
async fn raw_payloads(app: &common::TestApp) -> String {
    let rows: Vec<String> = match &app.state.db {
        eventstore::Db::Postgres(p) => sqlx::query_scalar("SELECT payload::text FROM events")
            .fetch_all(p)
            .await
            .unwrap(),
        eventstore::Db::Sqlite(p) => sqlx::query_scalar("SELECT CAST(payload AS TEXT) FROM events")
            .fetch_all(p)
            .await
            .unwrap(),
    };
    rows.join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erased_guest_cannot_be_read_back_and_the_history_still_replays() {
    const OWNER: &str = "5491144440000";
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let app = spawn(backend, &[("CABANAS_OWNER_WHATSAPP", OWNER)]).await;
        let (acc, _) = app.register("Cabaña del Lago", 4).await;
        let held = app.hold(&acc, 10, 12).await;
        let code = held.body["code"].as_str().unwrap().to_owned();
        app.state.runner.catch_up().await.unwrap();
        let listed = app.admin_get("/v1/admin/reservations?q=perez").await;
        assert_eq!(
            listed.body["items"][0]["guest"]["name"], "Ana Pérez",
            "{backend:?}: {:?}",
            listed.body
        );
        // Sealed from the start: the raw log never held the name or the number in clear.
        let raw = raw_payloads(&app).await;
        // The number in any of its forms; a shorter run of its digits would turn up now and
        // then in the ciphertext, ids and timestamps by chance (it did: "5555").
        assert!(
            !raw.contains("Pérez") && !raw.contains("5555-1234") && !raw.contains("55551234"),
            "{backend:?}: {raw}"
        );

        // Paid (in the sandbox): the owner is told who booked, by name and number.
        let paid = app
            .admin_post("/v1/admin/sandbox/payments", json!({"code": code}))
            .await;
        assert_eq!(paid.status, 202, "{:?}", paid.body);
        let naming = || async {
            let bodies: Vec<(String,)> = eventstore::db_fetch!(
                &app.state.db,
                (String,),
                fetch_all,
                "SELECT body FROM wa_outbox WHERE wa_id = $1".to_owned(),
                OWNER.to_owned()
            )
            .unwrap();
            bodies
                .into_iter()
                .filter(|(b,)| b.contains("Ana Pérez") || b.contains("5555-1234"))
                .count()
        };
        for _ in 0..200 {
            if naming().await > 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        assert_eq!(
            naming().await,
            1,
            "{backend:?}: the owner's news of the booking"
        );

        let guest = eventstore::pii::find_guest(&app.state.db, "+54 9 11 5555-1234")
            .await
            .unwrap()
            .expect("the guest is in the directory")
            .stream_id();
        let erased = app
            .send(
                app.http
                    .delete(format!(
                        "{}/v1/admin/guests/{guest}/personal-data",
                        app.base
                    ))
                    .bearer_auth(&app.admin),
            )
            .await;
        assert_eq!(erased.status, 200, "{:?}", erased.body);
        assert_eq!(erased.body["key_destroyed"], true);
        assert_eq!(
            naming().await,
            0,
            "{backend:?}: the owner's alerts forget them too"
        );
        // On PostgreSQL the erasure's position is stamped a moment after its commit: wait for
        // the read model to have seen it.
        let mut after = app
            .admin_get(&format!("/v1/admin/reservations?q={code}"))
            .await;
        for _ in 0..100 {
            app.state.runner.catch_up().await.unwrap();
            after = app
                .admin_get(&format!("/v1/admin/reservations?q={code}"))
                .await;
            if after.body["items"][0]["guest"]["name"] == "(datos borrados)" {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert_eq!(
            after.body["items"][0]["guest"]["name"], "(datos borrados)",
            "{backend:?}: {:?}",
            after.body
        );
        assert_eq!(after.body["items"][0]["guest"]["phone"], "");
        assert!(
            eventstore::pii::key(&app.state.db, &guest)
                .await
                .unwrap()
                .is_none()
        );
        // Nothing links the number to the id left in the log: the directory row is gone, and the
        // id is random, so trying numbers against it finds nothing. The same number writing
        // again is a new guest.
        assert_eq!(
            eventstore::pii::find_guest(&app.state.db, "+54 9 11 5555-1234")
                .await
                .unwrap(),
            None
        );
        let again = eventstore::pii::guest_for_phone(&app.state.db, "5491155551234")
            .await
            .unwrap();
        assert_ne!(again.stream_id(), guest);
        assert!(!raw_payloads(&app).await.contains("5491155551234"));
        // The history is whole, replays, and still cannot say who it was.
        assert!(app.state.store.verify_chain().await.unwrap().is_intact());
        app.state.runner.rebuild("reservations").await.unwrap();
        let rebuilt = app
            .admin_get(&format!("/v1/admin/reservations?q={code}"))
            .await;
        assert_eq!(
            rebuilt.body["items"][0]["guest"]["name"],
            "(datos borrados)"
        );
        assert_eq!(rebuilt.body["items"][0]["status"], "confirmed");
        let missing = app
            .send(
                app.http
                    .delete(format!(
                        "{}/v1/admin/guests/guest-nobody/personal-data",
                        app.base
                    ))
                    .bearer_auth(&app.admin),
            )
            .await;
        assert_eq!(missing.status, 404);
    }
}
