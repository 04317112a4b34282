//! The HTTP application: state, background workers (projections, hold expiry, Redis wake-ups)
//! and the server.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::{App, HttpServer, middleware, web};
use anyhow::Context;
use chrono::{DateTime, Utc};
use domain::{Accommodation, AccommodationId};
use eventstore::{CommandHandler, EventStore};
use projections::Runner;
use redis::aio::ConnectionManager;

use crate::auth::Keys;
use crate::config::Settings;
use crate::guard::{Idempotency, RateLimiter, TrustForwarded};
use crate::problem::Problem;
use crate::{expiry, problem, routes, telemetry};

/// Where "now" comes from: the system clock in service, a hand-moved one in tests.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

pub fn system_clock() -> Clock {
    Arc::new(Utc::now)
}

/// How long a stopping service waits for its side-effect workers to finish what they are doing.
const DRAIN: Duration = Duration::from_secs(10);

/// Tells a side-effect worker that the service is stopping: it finishes the pass it is in (a
/// reply half sent would otherwise go out again after the restart) and returns.
#[derive(Clone)]
pub struct Stop(tokio::sync::watch::Receiver<bool>);

impl Stop {
    /// A stop signal and its sender (`send(true)` stops every clone).
    pub fn channel() -> (tokio::sync::watch::Sender<bool>, Stop) {
        let (tx, rx) = tokio::sync::watch::channel(false);
        (tx, Stop(rx))
    }

    pub fn requested(&self) -> bool {
        // A dropped sender means nobody can ask any more: the service is going away.
        *self.0.borrow() || self.0.has_changed().is_err()
    }

    /// Waits up to `pause`, or until `wake`; false when the service is stopping.
    pub async fn idle(&mut self, pause: Duration, wake: &tokio::sync::Notify) -> bool {
        self.wait(tokio::time::timeout(pause, wake.notified()))
            .await
    }

    /// Sleeps for `pause`, cut short by a stop; false when the service is stopping.
    pub async fn sleep(&mut self, pause: Duration) -> bool {
        self.wait(tokio::time::sleep(pause)).await
    }

    /// Waits for `until`, cut short by a stop; false when the service is stopping.
    async fn wait(&mut self, until: impl std::future::Future) -> bool {
        if self.requested() {
            return false;
        }
        let stopping = tokio::select! {
            _ = until => false,
            _ = self.0.changed() => true,
        };
        !stopping && !self.requested()
    }
}

/// Largest JSON body any route accepts.
pub const BODY_LIMIT: usize = 64 * 1024;

pub struct AppState {
    pub store: Arc<dyn EventStore>,
    pub db: eventstore::Db,
    pub handler: CommandHandler<Accommodation>,
    pub runner: Arc<Runner>,
    pub settings: Settings,
    pub clock: Clock,
    pub redis: Option<ConnectionManager>,
    pub idempotency: Idempotency,
    /// Wakes the conversation worker when the webhook stored a message.
    pub inbox_wake: Arc<tokio::sync::Notify>,
    /// Whether this instance's conversation worker holds the lease and answers guests (only
    /// one instance does at a time; see `chat::run`).
    pub conversation_active: std::sync::atomic::AtomicBool,
    /// Wakes the reply sender when a reply was queued.
    pub outbox_wake: Arc<tokio::sync::Notify>,
    /// Whether this instance's reply sender holds its lease (see `outbox::run`).
    pub reply_sender_active: Arc<std::sync::atomic::AtomicBool>,
    /// Mercado Pago, or the local sandbox when no credentials are set.
    pub payments: Arc<dyn integrations::mercadopago::PaymentProvider>,
    /// Wakes the payments worker when a notification was stored.
    pub payments_wake: Arc<tokio::sync::Notify>,
    /// The Cloud API client; `None` in sandbox mode.
    pub whatsapp: Option<Arc<integrations::whatsapp::client::CloudApi>>,
    /// Fetches imported calendars (one circuit breaker per host).
    pub ical: integrations::ical::Fetcher,
    /// Voice notes: the Whisper model (when configured) and the transcription jobs.
    pub voice: crate::voice::Voice,
}

impl AppState {
    /// The time, to the millisecond: the read models keep milliseconds, so an event's times
    /// (a hold's `expires_at`) read the same in a command's answer, in the read models and in
    /// the stream, and "due at the read model" is "due" to the aggregate too.
    pub fn now(&self) -> DateTime<Utc> {
        chrono::SubsecRound::trunc_subsecs((self.clock)(), 3)
    }

    /// The accommodation's current state from its stream, never a read model: the command
    /// handler's cached state brought up to the stored head (see `CommandHandler::current`).
    pub async fn accommodation(&self, id: AccommodationId) -> Result<Accommodation, Problem> {
        let (_, accommodation) = self
            .handler
            .current(&id.stream_id())
            .await
            .map_err(Problem::from)?;
        Ok(accommodation)
    }
}

pub struct Application {
    port: u16,
    server: Server,
    state: web::Data<AppState>,
    workers: Vec<tokio::task::JoinHandle<()>>,
    /// Workers with side effects outside (replies, payments, conversations): asked to stop and
    /// given `DRAIN` to finish, instead of being cut off.
    draining: Vec<tokio::task::JoinHandle<()>>,
    stop: tokio::sync::watch::Sender<bool>,
}

impl Application {
    /// Opens the store (applying migrations) and binds the listener; port 0 picks a free one.
    pub async fn build(settings: &Settings) -> anyhow::Result<Application> {
        let mut settings = settings.clone();
        settings.prepare_storage()?;
        let store = eventstore::connect(&settings.database_url)
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
        let runner = Runner::new(store.clone(), projections::all());
        runner
            .ensure_schema()
            .await
            .context("creating the read-model tables")?;
        let db = store.db();
        // Sandbox (no credentials): replies are stored, not sent.
        let cloud_api = match settings.whatsapp_api() {
            Some(config) => Some(Arc::new(
                integrations::whatsapp::client::CloudApi::new(config)
                    .context("building the WhatsApp client")?,
            )),
            None => None,
        };
        let state = web::Data::new(AppState {
            handler: CommandHandler::new(store.clone()),
            db: db.clone(),
            store,
            runner: runner.clone(),
            settings: settings.clone(),
            clock,
            redis: redis.clone(),
            idempotency: Idempotency {
                db: db.clone(),
                redis: redis.clone(),
                prefix: settings.redis_prefix.clone(),
            },
            inbox_wake: Arc::new(tokio::sync::Notify::new()),
            conversation_active: std::sync::atomic::AtomicBool::new(false),
            outbox_wake: Arc::new(tokio::sync::Notify::new()),
            reply_sender_active: Arc::new(std::sync::atomic::AtomicBool::new(false)),
            payments: crate::payments::provider(settings, &db)
                .context("building the Mercado Pago client")?,
            payments_wake: Arc::new(tokio::sync::Notify::new()),
            whatsapp: cloud_api.clone(),
            ical: integrations::ical::Fetcher::new(settings.ical_timeout)
                .context("building the calendar fetcher")?,
            voice: crate::voice::Voice::new(settings),
        });
        let mut workers = vec![runner.start()];
        workers.push(tokio::spawn(expiry::run(state.clone())));
        workers.push(tokio::spawn(telemetry::report_lag(runner.clone())));
        workers.push(tokio::spawn(crate::ical::run(state.clone())));
        let (stop, stopping) = Stop::channel();
        let draining = vec![
            tokio::spawn(crate::chat::run(state.clone(), stopping.clone())),
            tokio::spawn(crate::payments::run(state.clone(), stopping.clone())),
            tokio::spawn(crate::outbox::run(
                crate::outbox::Outbox::shared(state.db.clone(), cloud_api)
                    .with_media(settings.whatsapp_media(crate::outbox::MAX_FORWARD_BYTES))
                    .with_notice(settings.whatsapp_notice.clone())
                    .reporting_to(state.reply_sender_active.clone()),
                state.clock.clone(),
                state.outbox_wake.clone(),
                stopping,
            )),
        ];
        if let Some(url) = &settings.redis_url {
            workers.push(tokio::spawn(telemetry::redis_wakeups(
                url.clone(),
                settings.redis_prefix.clone(),
                state.store.clone(),
                runner.clone(),
            )));
        }

        let listener = TcpListener::bind(settings.bind)
            .with_context(|| format!("binding {}", settings.bind))?;
        let port = listener.local_addr()?.port();
        let limiter = web::Data::new(RateLimiter::new(
            settings.rate_limit_per_minute,
            &settings.redis_prefix,
            redis,
        ));
        let trust = web::Data::new(TrustForwarded(settings.trust_forwarded));
        let prometheus = web::Data::new(telemetry::recorder());
        let server_state = state.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(server_state.clone())
                .app_data(keys.clone())
                .app_data(limiter.clone())
                .app_data(trust.clone())
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
            workers,
            draining,
            stop,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> web::Data<AppState> {
        self.state.clone()
    }

    /// Serves until SIGTERM or Ctrl-C (actix handles both and drains in-flight requests), then
    /// lets the side-effect workers finish their passes (up to `DRAIN`) and stops the rest,
    /// whose work is transactional or repeated harmlessly.
    pub async fn run(self) -> std::io::Result<()> {
        let Application {
            server,
            workers,
            draining,
            stop,
            ..
        } = self;
        let result = server.await;
        let _ = stop.send(true);
        let deadline = tokio::time::Instant::now() + DRAIN;
        for mut w in draining {
            if tokio::time::timeout_at(deadline, &mut w).await.is_err() {
                tracing::warn!("a worker did not finish within the drain time; stopped");
                w.abort();
            }
        }
        // Only now: a pass being finished may wait on the read models these keep current.
        for w in workers {
            w.abort();
        }
        result
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
