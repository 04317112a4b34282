//! What every workflow works with: the store and its command handler, the read models'
//! database, the settings, the clock, the providers (payments, WhatsApp, calendars, voice) and
//! the wake-ups between workers. Built once per process; shared by the HTTP routes and the
//! background workers alike (workers take it, never the HTTP layer's state).

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use chrono::{DateTime, Utc};
use domain::{Accommodation, AccommodationId};
use eventstore::{CommandHandler, EventStore};
use projections::Runner;
use tokio::sync::Notify;

use crate::config::Settings;
use crate::error::AppError;

/// Where "now" comes from: the system clock in service, a hand-moved one in tests.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

pub fn system_clock() -> Clock {
    Arc::new(Utc::now)
}

pub struct Context {
    pub store: Arc<dyn EventStore>,
    pub db: eventstore::Db,
    pub handler: CommandHandler<Accommodation>,
    /// Guests' streams: profiles, conversations, voice notes, erasures.
    pub guests: CommandHandler<domain::Guest>,
    pub runner: Arc<Runner>,
    pub settings: Settings,
    pub clock: Clock,
    /// Wakes the conversation worker when the webhook stored a message.
    pub inbox_wake: Arc<Notify>,
    /// Whether this instance's conversation worker holds the lease and answers guests (only
    /// one instance does at a time; see `chat::run`).
    pub conversation_active: AtomicBool,
    /// Wakes the reply sender when a reply was queued.
    pub outbox_wake: Arc<Notify>,
    /// Whether this instance's reply sender holds its lease (see `outbox::run`).
    pub reply_sender_active: Arc<AtomicBool>,
    /// Mercado Pago, or the local sandbox when no credentials are set.
    pub payments: Arc<dyn integrations::mercadopago::PaymentProvider>,
    /// Wakes the payments worker when a notification was stored.
    pub payments_wake: Arc<Notify>,
    /// The Cloud API client; `None` in sandbox mode.
    pub whatsapp: Option<Arc<integrations::whatsapp::client::CloudApi>>,
    /// Fetches imported calendars (one circuit breaker per host).
    pub ical: integrations::ical::Fetcher,
    /// Voice notes: the Whisper model (when configured) and the transcription jobs.
    pub voice: crate::voice::notes::Voice,
}

impl Context {
    /// The time, to the millisecond: the read models keep milliseconds, so an event's times
    /// (a hold's `expires_at`) read the same in a command's answer, in the read models and in
    /// the stream, and "due at the read model" is "due" to the aggregate too.
    pub fn now(&self) -> DateTime<Utc> {
        chrono::SubsecRound::trunc_subsecs((self.clock)(), 3)
    }

    /// The deployment's local date at `now`: the domain's one rule for "today", with
    /// Argentina's offset (the cabins' own offsets are used where a cabin is in question).
    pub fn today(&self) -> chrono::NaiveDate {
        domain::accommodation::local_today(
            self.now(),
            domain::accommodation::ARGENTINA_UTC_OFFSET_MINUTES,
        )
    }

    /// The accommodation's current state from its stream, never a read model: the command
    /// handler's cached state brought up to the stored head (see `CommandHandler::current`).
    pub async fn accommodation(&self, id: AccommodationId) -> Result<Accommodation, AppError> {
        let (_, accommodation) = self.handler.current(&id.stream_id()).await?;
        Ok(accommodation)
    }
}
