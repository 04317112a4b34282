//! The HTTP application.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::{App, HttpResponse, HttpServer, web};
use anyhow::Context;
use eventstore::EventStore;
use serde_json::json;

use crate::config::Settings;

pub struct Application {
    port: u16,
    server: Server,
}

struct AppState {
    store: Arc<dyn EventStore>,
}

impl Application {
    /// Opens the store (applying migrations) and binds the listener; port 0 picks a free one.
    pub async fn build(settings: &Settings) -> anyhow::Result<Application> {
        settings.prepare_storage()?;
        let store = eventstore::connect(&settings.database_url)
            .await
            .with_context(|| format!("opening the {} database", settings.backend_name()))?;
        Self::with_store(settings, store)
    }

    pub fn with_store(
        settings: &Settings,
        store: Arc<dyn EventStore>,
    ) -> anyhow::Result<Application> {
        let listener = TcpListener::bind(settings.bind)
            .with_context(|| format!("binding {}", settings.bind))?;
        let port = listener.local_addr()?.port();
        let state = web::Data::new(AppState { store });
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .route("/healthz", web::get().to(healthz))
                .route("/readyz", web::get().to(readyz))
        })
        .listen(listener)?
        .shutdown_timeout(10)
        .run();
        Ok(Application { port, server })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until SIGTERM or Ctrl-C (actix handles both and drains in-flight requests).
    pub async fn run(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// The process is up.
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// The database answers and the schema is in place.
async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let backend = state.store.backend();
    match state.store.ping().await {
        Ok(()) => HttpResponse::Ok().json(json!({"status": "ready", "database": backend})),
        Err(err) => {
            tracing::warn!(error = %err, "readiness check failed");
            HttpResponse::ServiceUnavailable()
                .json(json!({"status": "unavailable", "database": backend}))
        }
    }
}
