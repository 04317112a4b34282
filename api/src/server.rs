//! The HTTP server: its state, its routes and middleware, and the processes it runs beside the
//! application's workers (projections, projection-lag reporting, Redis wake-ups, purging old
//! idempotency records).

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::{App, HttpServer, middleware, web};
use anyhow::Context;
use app::config::Settings;
use app::{Clock, system_clock};
use eventstore::EventStore;
use redis::aio::ConnectionManager;

use crate::auth::Keys;
use crate::guard::{Idempotency, RateLimiter, TrustForwarded};
pub use crate::state::AppState;
use crate::{problem, routes, telemetry};

/// Largest JSON body any route accepts.
pub const BODY_LIMIT: usize = 64 * 1024;

pub struct Application {
    port: u16,
    server: Server,
    state: web::Data<AppState>,
    /// The server's own processes (projections, lag gauges, wake-ups, purges): stopped last.
    processes: Vec<tokio::task::JoinHandle<()>>,
    workers: app::workers::Workers,
}

impl Application {
    /// Opens the store (applying migrations) and binds the listener; port 0 picks a free one.
    pub async fn build(settings: &Settings) -> anyhow::Result<Application> {
        let mut settings = settings.clone();
        settings.prepare_storage()?;
        let tuning = eventstore::Tuning {
            acquire_timeout: settings.db_acquire_timeout,
        };
        let store = eventstore::connect_with(&settings.database_url, tuning)
            .await
            .with_context(|| format!("opening the {} database", settings.backend_name()))?;
        Self::with_store(&settings, store, system_clock()).await
    }

    pub async fn with_store(
        settings: &Settings,
        store: Arc<dyn EventStore>,
        clock: Clock,
    ) -> anyhow::Result<Application> {
        let keys = web::Data::new(Keys::new(settings.secret()?));
        let redis = match &settings.redis_url {
            Some(url) => Some(connect_redis(url).await?),
            None => None,
        };
        let ctx = app::start::context(settings, store, clock).await?;
        let state = web::Data::new(AppState {
            idempotency: Idempotency {
                db: ctx.db.clone(),
                redis: redis.clone(),
                prefix: settings.redis_prefix.clone(),
            },
            ctx: ctx.clone(),
            health: crate::health::Health::new(redis.is_some()),
            redis: redis.clone(),
        });
        // Measured once before serving, so the first `/readyz` already knows.
        state
            .health
            .measure(&*state.store, state.redis.as_ref())
            .await;
        let runner = ctx.runner.clone();
        let mut processes = vec![
            runner.start(),
            tokio::spawn(telemetry::report_lag(ctx.clone())),
            tokio::spawn(purge_idempotency(state.clone())),
            tokio::spawn(keep_measuring_health(state.clone())),
        ];
        if let Some(url) = &settings.redis_url {
            processes.push(tokio::spawn(telemetry::redis_wakeups(
                url.clone(),
                settings.redis_prefix.clone(),
                ctx.store.clone(),
                runner.clone(),
            )));
        }
        let workers = app::workers::start(&ctx);

        let listener = TcpListener::bind(settings.bind)
            .with_context(|| format!("binding {}", settings.bind))?;
        let port = listener.local_addr()?.port();
        let limiter = web::Data::new(RateLimiter::new(
            settings.rate_limit_per_minute,
            &settings.redis_prefix,
            redis.clone(),
        ));
        let trust = web::Data::new(TrustForwarded(settings.trust_forwarded));
        // One for the whole process: every worker thread counts the same failed sign-ins (and,
        // with Redis, every instance).
        let throttle = web::Data::new(crate::panel::throttle::Throttle::new(
            redis,
            &settings.redis_prefix,
        ));
        let prometheus = web::Data::new(telemetry::recorder());
        telemetry::start_at_zero();
        let server_state = state.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(server_state.clone())
                .app_data(keys.clone())
                .app_data(limiter.clone())
                .app_data(trust.clone())
                .app_data(throttle.clone())
                .app_data(prometheus.clone())
                .app_data(
                    web::JsonConfig::default()
                        .limit(BODY_LIMIT)
                        .error_handler(|e, _| problem::json_error(e)),
                )
                .app_data(web::PayloadConfig::new(BODY_LIMIT))
                .app_data(web::QueryConfig::default().error_handler(|e, _| problem::query_error(e)))
                .app_data(web::PathConfig::default().error_handler(|e, _| problem::path_error(e)))
                .wrap(middleware::from_fn(crate::guard::middleware))
                .configure(routes::configure)
        })
        .listen(listener)?
        .shutdown_timeout(10)
        .run();
        Ok(Application {
            port,
            server,
            state,
            processes,
            workers,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> web::Data<AppState> {
        self.state.clone()
    }

    /// Serves until SIGTERM or Ctrl-C (actix handles both and drains in-flight requests), then
    /// lets the side-effect workers finish their passes and stops the rest, whose work is
    /// transactional or repeated harmlessly.
    pub async fn run(self) -> std::io::Result<()> {
        let Application {
            server,
            processes,
            workers,
            ..
        } = self;
        let result = server.await;
        workers.stop().await;
        // Only now: a pass being finished may wait on the read models these keep current.
        for p in processes {
            p.abort();
        }
        result
    }
}

/// Measures the dependencies' health every second, for as long as the service runs.
async fn keep_measuring_health(state: web::Data<AppState>) {
    loop {
        tokio::time::sleep(crate::health::EVERY).await;
        state
            .health
            .measure(&*state.store, state.redis.as_ref())
            .await;
    }
}

/// Forgets `Idempotency-Key` records older than their keeping time, every hour.
async fn purge_idempotency(state: web::Data<AppState>) {
    loop {
        tokio::time::sleep(Duration::from_secs(3600)).await;
        if let Err(err) = state.idempotency.purge().await {
            tracing::warn!(error = %err, "purging old idempotency keys failed");
        }
    }
}

async fn connect_redis(url: &str) -> anyhow::Result<ConnectionManager> {
    let client = redis::Client::open(url).context("CABANAS_REDIS_URL is not a valid Redis URL")?;
    let manager = tokio::time::timeout(Duration::from_secs(5), client.get_connection_manager())
        .await
        .context("Redis did not answer within 5 s")?
        .context("connecting to Redis")?;
    Ok(manager)
}
