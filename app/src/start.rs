//! Building the application's context on an open store: the read-model tables, and the
//! providers configured (or their sandboxes).

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use anyhow::Context as _;
use eventstore::{CommandHandler, EventStore};
use projections::Runner;
use tokio::sync::Notify;

use crate::config::Settings;
use crate::context::{Clock, Context};

/// Builds the context on an open store (whose migrations ran): the read-model tables, the
/// providers configured (or their sandboxes).
pub async fn context(
    settings: &Settings,
    store: Arc<dyn EventStore>,
    clock: Clock,
) -> anyhow::Result<Arc<Context>> {
    let runner = Runner::new(store.clone(), projections::all());
    runner
        .ensure_schema()
        .await
        .context("creating the read-model tables")?;
    let db = store.db();
    // Sandbox (no credentials): replies are stored, not sent.
    let whatsapp = match settings.whatsapp_api() {
        Some(config) => Some(Arc::new(
            integrations::whatsapp::client::CloudApi::new(config)
                .context("building the WhatsApp client")?,
        )),
        None => None,
    };
    Ok(Arc::new(Context {
        handler: CommandHandler::new(store.clone()),
        guests: CommandHandler::new(store.clone()),
        db: db.clone(),
        store,
        runner,
        settings: settings.clone(),
        clock,
        inbox_wake: Arc::new(Notify::new()),
        conversation_active: AtomicBool::new(false),
        outbox_wake: Arc::new(Notify::new()),
        reply_sender_active: Arc::new(AtomicBool::new(false)),
        payments: crate::payments::provider(settings, &db)
            .context("building the Mercado Pago client")?,
        payments_wake: Arc::new(Notify::new()),
        whatsapp,
        ical: integrations::ical::Fetcher::new(settings.ical_timeout)
            .context("building the calendar fetcher")?,
        voice: crate::voice::notes::Voice::new(settings),
    }))
}
