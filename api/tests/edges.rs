//! What the API does at its edges: replayed and reused idempotency keys, rate limits, refused
//! tokens, bad input answered with problems (never a 500), read-your-writes, docs and metrics.

#![allow(clippy::unwrap_used)] // Test set-up failures should stop the test loudly.

mod common;

use api::auth::{Keys, Role};
use common::{Backend, SECRET, spawn};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idempotency_key_replays_the_first_response_and_refuses_another_body() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let app = spawn(backend, &[]).await;
        let (id, _) = app.register("Cabaña Idem", 4).await;
        let key = uuid::Uuid::new_v4().to_string();
        let body = json!({
            "accommodation_id": id, "check_in": app.day(10), "check_out": app.day(12),
            "guests": 2, "guest": {"name": "Ana", "phone": "1155551234"}
        });
        let send = |body: serde_json::Value| {
            app.send(
                app.http
                    .post(format!("{}/v1/reservations", app.base))
                    .header("Idempotency-Key", key.clone())
                    .json(&body),
            )
        };
        let first = send(body.clone()).await;
        assert_eq!(first.status, 201, "{backend:?} {:?}", first.body);
        let second = send(body.clone()).await;
        assert_eq!(second.status, 201, "{backend:?}");
        assert_eq!(second.body, first.body, "{backend:?}: the same reservation");
        assert_eq!(second.headers["idempotent-replayed"], "true");
        let mut changed = body.clone();
        changed["guests"] = json!(3);
        let third = send(changed).await;
        assert_eq!(third.status, 422, "{backend:?}");
        assert_eq!(third.body["type"], "/problems/idempotency-key-reused");
        // Only one hold exists.
        let list = app
            .admin_get(&format!(
                "/v1/admin/reservations?min_position={}",
                first.body["position"]
            ))
            .await;
        assert_eq!(list.body["items"].as_array().unwrap().len(), 1);
        // A refused request is replayed as refused, not run again.
        let key2 = uuid::Uuid::new_v4().to_string();
        let clash = |k: String| {
            app.send(
                app.http
                    .post(format!("{}/v1/reservations", app.base))
                    .header("Idempotency-Key", k)
                    .json(&body),
            )
        };
        assert_eq!(clash(key2.clone()).await.status, 409);
        assert_eq!(clash(key2).await.status, 409);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_requests_get_429_with_retry_after() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let app = spawn(backend, &[("CABANAS_RATE_LIMIT_PER_MINUTE", "3")]).await;
        // Redis counters are shared by every instance (and test) in the same minute: use a route
        // nobody else hammers, a path that does not exist.
        let path = format!("/v1/reservations/NOPE{}", rand_suffix());
        let mut statuses = Vec::new();
        let mut last = None;
        for _ in 0..6 {
            let r = app.get(&path, None).await;
            statuses.push(r.status);
            last = Some(r);
        }
        assert!(statuses.contains(&429), "{backend:?}: {statuses:?}");
        let last = last.unwrap();
        assert_eq!(last.status, 429);
        assert_eq!(last.content_type, "application/problem+json");
        assert_eq!(last.body["type"], "/problems/rate-limited");
        let wait: u64 = last.headers["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=60).contains(&wait));
        // Health checks are never limited.
        assert_eq!(app.get("/healthz", None).await.status, 200);
    }
}

fn rand_suffix() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..6].to_uppercase()
}

#[tokio::test]
async fn admin_routes_refuse_missing_expired_foreign_and_wrong_role_tokens() {
    let app = spawn(Backend::Sqlite, &[]).await;
    let keys = Keys::new(SECRET);
    let expired = keys
        .mint("owner", Role::Admin, chrono::Duration::hours(-2))
        .unwrap();
    let foreign = Keys::new("another-secret-another-secret-123")
        .mint("owner", Role::Admin, chrono::Duration::hours(1))
        .unwrap();
    let body = json!({"name": "X", "capacity": 2, "pricing": {"nightly_base": 1000}});
    for (token, status) in [
        (None, 401),
        (Some(expired.as_str()), 401),
        (Some(foreign.as_str()), 401),
        (Some("not-a-jwt"), 401),
        (Some(app.auditor.as_str()), 403),
    ] {
        let r = app
            .post("/v1/admin/accommodations", token, body.clone())
            .await;
        assert_eq!(r.status, status, "{token:?}");
        assert_eq!(r.content_type, "application/problem+json");
        let r = app.get("/v1/admin/reservations", token).await;
        assert_eq!(r.status, status);
    }
    // The auditor reads the audit routes but nothing else of the admin's.
    assert_eq!(app.auditor_get("/v1/audit/verify").await.status, 200);
    assert_eq!(app.get("/v1/audit/verify", None).await.status, 401);
    assert_eq!(
        app.admin_post("/v1/admin/accommodations", body)
            .await
            .status,
        201
    );
}

#[tokio::test]
async fn bad_input_gets_a_problem_never_a_500() {
    let app = spawn(Backend::Sqlite, &[]).await;
    let (id, _) = app.register("Cabaña Borde", 2).await;
    let raw = |body: &'static str| {
        app.send(
            app.http
                .post(format!("{}/v1/reservations", app.base))
                .header("content-type", "application/json")
                .body(body),
        )
    };
    for (r, status) in [
        (raw("{not json").await, 422),
        (raw("").await, 422),
        (raw(r#"{"accommodation_id": 5}"#).await, 422),
        (app.hold("not-a-uuid", 10, 12).await, 404),
        (
            app.hold(&uuid::Uuid::new_v4().to_string(), 10, 12).await,
            404,
        ),
        (app.hold(&id, 12, 10).await, 422),
        (app.hold(&id, -3, 2).await, 422),
        (app.hold(&id, 10, 11).await, 422), // below the 2-night minimum
        (
            app.post(
                "/v1/reservations",
                None,
                json!({"accommodation_id": id, "check_in": app.day(10), "check_out": app.day(12),
                       "guests": 9, "guest": {"name": "Ana", "phone": "1155551234"}}),
            )
            .await,
            422,
        ),
        (
            app.post(
                "/v1/reservations",
                None,
                json!({"accommodation_id": id, "check_in": app.day(10), "check_out": app.day(12),
                       "guests": 2, "guest": {"name": "Ana", "phone": "call me"}}),
            )
            .await,
            422,
        ),
        (
            app.get("/v1/availability?check_in=2027-13-01&check_out=x", None)
                .await,
            422,
        ),
        (app.get("/v1/nowhere", None).await, 404),
        (app.get("/v1/reservations/ZZZZZZZ", None).await, 404),
        (
            app.send(
                app.http
                    .post(format!("{}/v1/reservations", app.base))
                    .header("content-type", "application/json")
                    .body(format!("{{\"pad\": \"{}\"}}", "x".repeat(200_000))),
            )
            .await,
            413,
        ),
    ] {
        assert_eq!(r.status, status, "{:?}", r.body);
        assert_eq!(r.content_type, "application/problem+json", "{:?}", r.body);
        assert!(r.body["type"].as_str().unwrap().starts_with("/problems/"));
        assert!(r.body["detail"].is_string());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_reads_its_own_writes_with_min_position() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let app = spawn(backend, &[]).await;
        let (id, _) = app.register("Cabaña Eco", 4).await;
        for n in 0..8 {
            let hold = app.hold(&id, 10 + 2 * n, 12 + 2 * n).await;
            assert_eq!(hold.status, 201, "{:?}", hold.body);
            let code = hold.body["code"].as_str().unwrap();
            let position = hold.body["position"].as_i64().unwrap();
            let read = app
                .get(
                    &format!("/v1/reservations/{code}?min_position={position}"),
                    None,
                )
                .await;
            assert_eq!(read.status, 200, "{backend:?}: read its own write");
            assert_eq!(read.body["status"], "held");
        }
    }
}

#[tokio::test]
async fn docs_openapi_metrics_and_health_are_served() {
    let app = spawn(Backend::Sqlite, &[]).await;
    let spec = app.get("/openapi.json", None).await;
    assert_eq!(spec.status, 200);
    for path in [
        "/v1/accommodations",
        "/v1/availability",
        "/v1/quotes",
        "/v1/reservations",
        "/v1/reservations/{code}",
        "/v1/admin/accommodations",
        "/v1/admin/reservations",
        "/v1/admin/reservations/{code}/confirm",
        "/v1/admin/reservations/{code}/payments",
        "/v1/admin/reservations/{code}/refunds/{refund_key}",
        "/v1/admin/reservations/{code}/stay",
        "/v1/audit/events",
        "/v1/audit/streams/{stream_id}",
    ] {
        assert!(spec.body["paths"].get(path).is_some(), "{path} documented");
    }
    let ui = app.get("/docs/", None).await;
    assert_eq!(ui.status, 200);
    assert!(ui.body.as_str().unwrap().contains("swagger"));
    app.get("/v1/accommodations", None).await;
    let metrics = app.get("/metrics", None).await;
    assert_eq!(metrics.status, 200);
    assert!(
        metrics
            .body
            .as_str()
            .unwrap()
            .contains("cabanas_http_request_duration_seconds")
    );
    let ready = app.get("/readyz", None).await;
    assert_eq!(ready.status, 200);
    assert_eq!(ready.body["database"], "sqlite");
    assert!(ready.body["projections"].is_array());
}
