//! Cross-cutting request handling: rate limits, idempotency keys, metrics, and the rule that
//! every error leaves as problem+json.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;
use std::time::Instant;

use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use eventstore::{Db, db_exec, db_fetch};
use redis::aio::ConnectionManager;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::problem::Problem;

/// Fixed one-minute windows per client IP and route: Redis when configured (shared by every
/// instance), in-process otherwise. A Redis failure lets the request through (fail open) and
/// is counted, because refusing every guest while Redis is down would be worse.
pub struct RateLimiter {
    limit: u32,
    prefix: String,
    redis: Option<ConnectionManager>,
    local: Mutex<HashMap<String, (u64, u32)>>,
}

impl RateLimiter {
    pub fn new(limit: u32, prefix: &str, redis: Option<ConnectionManager>) -> RateLimiter {
        RateLimiter {
            limit,
            prefix: prefix.to_owned(),
            redis,
            local: Mutex::new(HashMap::new()),
        }
    }

    /// `Err(seconds to wait)` when the client is over its limit.
    pub async fn check(&self, key: &str) -> Result<(), u64> {
        let now = chrono::Utc::now().timestamp().max(0) as u64;
        let window = now / 60;
        let retry_after = 60 - now % 60;
        let count = match &self.redis {
            Some(redis) => {
                let mut conn = redis.clone();
                let k = format!("{}:rl:{key}:{window}", self.prefix);
                let result: Result<(u32,), redis::RedisError> = redis::pipe()
                    .atomic()
                    .incr(&k, 1)
                    .expire(&k, 120)
                    .ignore()
                    .query_async(&mut conn)
                    .await;
                match result {
                    Ok((n,)) => n,
                    Err(err) => {
                        metrics::counter!("cabanas_rate_limit_fail_open_total").increment(1);
                        tracing::warn!(error = %err, "rate limiter unavailable; letting requests through");
                        return Ok(());
                    }
                }
            }
            None => {
                let mut map = match self.local.lock() {
                    Ok(map) => map,
                    Err(poisoned) => poisoned.into_inner(),
                };
                if map.len() > 50_000 {
                    map.retain(|_, (w, _)| *w == window);
                }
                let entry = map.entry(key.to_owned()).or_insert((window, 0));
                if entry.0 != window {
                    *entry = (window, 0);
                }
                entry.1 += 1;
                entry.1
            }
        };
        if count > self.limit {
            metrics::counter!("cabanas_rate_limited_total").increment(1);
            Err(retry_after)
        } else {
            Ok(())
        }
    }
}

fn client_ip(req: &ServiceRequest, trust_forwarded: bool) -> String {
    let info = req.connection_info();
    let ip = if trust_forwarded {
        info.realip_remote_addr()
    } else {
        info.peer_addr()
    };
    ip.unwrap_or("unknown").to_owned()
}

pub struct TrustForwarded(pub bool);

/// Rate limit, then measure, then make sure an error body is problem+json.
pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<BoxBody>>, actix_web::Error> {
    let started = Instant::now();
    let route = req.match_pattern().unwrap_or_else(|| "unmatched".into());
    // A NUL in an id or a query value is never meaningful, and PostgreSQL cannot even compare
    // it: refused before any handler reads it.
    let uri = req.uri().to_string();
    if uri.contains("%00") {
        let res =
            Problem::bad_request("the URL may not contain NUL characters (%00)").error_response();
        record(&route, req.method().as_str(), res.status(), started);
        return Ok(req.into_response(res).map_into_right_body());
    }
    let method = req.method().to_string();
    // Health checks, metrics, and Meta's webhook deliveries (bursty, signed, and retried for
    // 36 hours if refused) are never rate limited.
    let exempt = matches!(
        route.as_str(),
        "/healthz" | "/readyz" | "/metrics" | "/webhooks/whatsapp"
    );
    if !exempt && let Some(limiter) = req.app_data::<web::Data<RateLimiter>>().cloned() {
        let trust = req
            .app_data::<web::Data<TrustForwarded>>()
            .is_some_and(|t| t.0);
        let key = format!("{}:{method}:{route}", client_ip(&req, trust));
        if let Err(retry_after) = limiter.check(&key).await {
            let res = Problem::rate_limited(retry_after).error_response();
            record(&route, &method, res.status(), started);
            return Ok(req.into_response(res).map_into_right_body());
        }
    }
    let res = next.call(req).await?;
    let status = res.status();
    record(&route, &method, status, started);
    // The panel's error pages are HTML for a browser, with a body of their own: kept.
    let has_body = res.headers().get(header::CONTENT_TYPE).is_some_and(|v| {
        v.as_bytes().starts_with(b"application/problem+json")
            || v.as_bytes().starts_with(b"text/html")
    });
    if (status.is_client_error() || status.is_server_error()) && !has_body {
        // Errors raised by actix itself (unknown route, wrong method, oversized body) or by a
        // library come without our body: give them one, keeping status and headers.
        let (req, res) = res.into_parts();
        let problem = generic_problem(status, res.error().map(|e| e.to_string()), &route);
        let mut out = problem.error_response();
        for (name, value) in res.headers() {
            if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
                out.headers_mut().insert(name.clone(), value.clone());
            }
        }
        return Ok(ServiceResponse::new(req, out).map_into_right_body());
    }
    Ok(res.map_body(|_, b| b.boxed()).map_into_left_body())
}

fn generic_problem(status: StatusCode, error: Option<String>, route: &str) -> Problem {
    let detail = error.clone().unwrap_or_else(|| {
        status
            .canonical_reason()
            .unwrap_or("request failed")
            .to_owned()
    });
    match status {
        StatusCode::NOT_FOUND => Problem::not_found("no such route"),
        StatusCode::METHOD_NOT_ALLOWED => Problem::new(
            status,
            "method-not-allowed",
            "Method not allowed",
            "this route does not accept that method",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => {
            Problem::new(status, "payload-too-large", "Payload too large", detail)
        }
        s if s.is_server_error() => {
            // The route and the error's own words, so the log says why (not the request's
            // data: the route is its pattern, never the path with its ids).
            let why = error
                .as_deref()
                .unwrap_or("no error attached to the response");
            tracing::error!(status = s.as_u16(), route, error = why, "request failed");
            Problem::new(
                s,
                "internal",
                "Internal error",
                "something failed on our side; nothing was half-done",
            )
        }
        s => Problem::new(s, "bad-request", "Bad request", detail),
    }
}

fn record(route: &str, method: &str, status: StatusCode, started: Instant) {
    metrics::histogram!(
        "cabanas_http_request_duration_seconds",
        "route" => route.to_owned(),
        "method" => method.to_owned(),
        "status" => status.as_u16().to_string()
    )
    .record(started.elapsed().as_secs_f64());
}

/// How long a key's stored response is replayed.
pub const IDEMPOTENCY_TTL_MS: i64 = 48 * 3600 * 1000;
/// A request still marked in progress after this long was abandoned mid-way.
const PENDING_MS: i64 = 60 * 1000;

pub struct Idempotency {
    pub db: Db,
    pub redis: Option<ConnectionManager>,
    /// Namespace of the Redis cache keys.
    pub prefix: String,
}

/// The handler's result: status and JSON body.
pub type Reply = (StatusCode, Value);

fn respond(status: StatusCode, body: &Value, replayed: bool) -> HttpResponse {
    let mut res = HttpResponse::build(status);
    if status.is_client_error() || status.is_server_error() {
        res.insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        ));
    } else {
        res.insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        ));
    }
    if replayed {
        res.insert_header(("Idempotent-Replayed", "true"));
    }
    res.body(body.to_string())
}

fn problem_reply(p: &Problem) -> Reply {
    (
        StatusCode::from_u16(p.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        serde_json::to_value(p).unwrap_or(Value::Null),
    )
}

impl Idempotency {
    /// Runs `work` once per `Idempotency-Key` (per route): a repeat with the same body gets the
    /// stored response, a repeat with another body gets 422. Without the header, just runs it.
    /// Outcomes worth replaying (success and 4xx) are stored; a 5xx is not, so a retry runs again.
    pub async fn run<F, Fut>(
        &self,
        req: &HttpRequest,
        body: &[u8],
        work: F,
    ) -> Result<HttpResponse, Problem>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Reply, Problem>>,
    {
        let Some(key) = req.headers().get("Idempotency-Key") else {
            return Ok(match work().await {
                Ok((status, body)) => respond(status, &body, false),
                Err(p) => p.error_response(),
            });
        };
        let key = key
            .to_str()
            .ok()
            .filter(|k| !k.is_empty() && k.len() <= 255)
            .ok_or_else(|| {
                Problem::validation("Idempotency-Key must be 1..255 visible characters")
            })?
            .to_owned();
        let scope = format!("{} {}", req.method(), req.path());
        let hash = hex::encode(Sha256::digest(body));
        let now = chrono::Utc::now().timestamp_millis();
        let cache_key = format!("{}:idem:{scope}:{key}", self.prefix);

        if let Some(hit) = self.cached(&cache_key).await {
            return self.replay(&hit, &hash);
        }
        if let Some(stored) = self.claim(&scope, &key, &hash, now).await? {
            return self.replay(&stored, &hash);
        }
        let (status, reply) = match work().await {
            Ok(reply) => reply,
            Err(p) => problem_reply(&p),
        };
        if status.is_server_error() {
            self.forget(&scope, &key).await?;
        } else {
            self.keep(&scope, &key, &hash, (status, &reply), &cache_key)
                .await?;
        }
        Ok(respond(status, &reply, false))
    }

    /// Claims `key` for this request; `Some(stored)` when an earlier request with it finished
    /// (its response, to replay). A request still running with it, or one with another body,
    /// is refused.
    async fn claim(
        &self,
        scope: &str,
        key: &str,
        hash: &str,
        now: i64,
    ) -> Result<Option<Value>, Problem> {
        loop {
            let inserted = db_exec!(
                &self.db,
                "INSERT INTO idempotency_keys (key, scope, body_hash, status, response, created_at_ms) \
                 VALUES ($1, $2, $3, 0, '', $4) ON CONFLICT (scope, key) DO NOTHING"
                    .to_owned(),
                key.to_owned(),
                scope.to_owned(),
                hash.to_owned(),
                now
            )?;
            if inserted == 1 {
                return Ok(None);
            }
            let row: Option<(String, i32, String, i64)> = db_fetch!(
                &self.db,
                (String, i32, String, i64),
                fetch_optional,
                "SELECT body_hash, status, response, created_at_ms FROM idempotency_keys \
                 WHERE scope = $1 AND key = $2"
                    .to_owned(),
                scope.to_owned(),
                key.to_owned()
            )?;
            let Some((stored_hash, status, response, created)) = row else {
                continue; // deleted in between (expired or failed): try to claim it again
            };
            // Expired, or claimed by a request that never finished (its process died): the key
            // is free again.
            if now - created > IDEMPOTENCY_TTL_MS || (status == 0 && now - created > PENDING_MS) {
                self.forget(scope, key).await?;
                continue;
            }
            if status == 0 {
                if stored_hash != hash {
                    return Err(reused());
                }
                let mut p = Problem::conflict("a request with this Idempotency-Key is in progress");
                p.retry_after = Some(1);
                return Err(p);
            }
            return Ok(Some(
                serde_json::json!({"hash": stored_hash, "status": status, "body": response}),
            ));
        }
    }

    /// Keeps a finished request's response under its key, in the database and (when there is
    /// one) in Redis, where repeats are answered without a database round trip.
    async fn keep(
        &self,
        scope: &str,
        key: &str,
        hash: &str,
        (status, reply): (StatusCode, &Value),
        cache_key: &str,
    ) -> Result<(), Problem> {
        let text = reply.to_string();
        db_exec!(
            &self.db,
            "UPDATE idempotency_keys SET status = $3, response = $4 WHERE scope = $1 AND key = $2"
                .to_owned(),
            scope.to_owned(),
            key.to_owned(),
            i32::from(status.as_u16()),
            text.clone()
        )?;
        if let Some(redis) = &self.redis {
            let stored = serde_json::json!({"hash": hash, "status": status.as_u16(), "body": text});
            let mut conn = redis.clone();
            let cached: Result<(), redis::RedisError> = redis::cmd("SET")
                .arg(cache_key)
                .arg(stored.to_string())
                .arg("PX")
                .arg(IDEMPOTENCY_TTL_MS)
                .query_async(&mut conn)
                .await;
            if let Err(err) = cached {
                tracing::warn!(error = %err, "idempotency cache write failed; the database has it");
            }
        }
        Ok(())
    }

    async fn cached(&self, cache_key: &str) -> Option<Value> {
        let mut conn = self.redis.clone()?;
        let hit: Option<String> = redis::cmd("GET")
            .arg(cache_key)
            .query_async(&mut conn)
            .await
            .ok()?;
        serde_json::from_str(&hit?).ok()
    }

    fn replay(&self, stored: &Value, hash: &str) -> Result<HttpResponse, Problem> {
        if stored["hash"].as_str() != Some(hash) {
            return Err(reused());
        }
        metrics::counter!("cabanas_idempotency_hits_total").increment(1);
        let status = stored["status"]
            .as_u64()
            .and_then(|s| StatusCode::from_u16(s as u16).ok())
            .unwrap_or(StatusCode::OK);
        let body: Value = stored["body"]
            .as_str()
            .and_then(|b| serde_json::from_str(b).ok())
            .unwrap_or(Value::Null);
        Ok(respond(status, &body, true))
    }

    async fn forget(&self, scope: &str, key: &str) -> Result<(), Problem> {
        db_exec!(
            &self.db,
            "DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2".to_owned(),
            scope.to_owned(),
            key.to_owned()
        )?;
        Ok(())
    }

    /// Drops keys older than their 48 hours.
    pub async fn purge(&self) -> Result<u64, sqlx::Error> {
        let cutoff = chrono::Utc::now().timestamp_millis() - IDEMPOTENCY_TTL_MS;
        db_exec!(
            &self.db,
            "DELETE FROM idempotency_keys WHERE created_at_ms < $1".to_owned(),
            cutoff
        )
    }
}

fn reused() -> Problem {
    Problem::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency-key-reused",
        "Idempotency-Key reused",
        "this Idempotency-Key was used with a different request body",
    )
}
