//! The one way into the accommodation's command handler: typed metadata on every event (where
//! the command came from, who gave it, and the inbound message that caused it), the command's
//! metrics, and the global position of what it recorded (for read-your-writes).

use std::time::Duration;

use domain::accommodation::AccommodationCommand;
use domain::{AccommodationEvent, AccommodationId};
use eventstore::{AlsoWrite, Metadata};
use uuid::Uuid;

use crate::context::Context;
use crate::error::AppError;

/// The channel a command came through, recorded as the events' `source`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The HTTP API (a guest's web booking, an admin's call).
    Api,
    /// A guest's WhatsApp message.
    WhatsApp,
    /// The owner's own WhatsApp (their commands: "confirmar", "mover", …).
    Owner,
    /// A Mercado Pago notification, or a payment side effect.
    MercadoPago,
    /// An imported calendar.
    Ical,
    /// A periodic pass (expiry, reminders).
    Scheduler,
}

impl Source {
    pub fn name(self) -> &'static str {
        match self {
            Source::Api => "api",
            Source::WhatsApp => "whatsapp",
            Source::Owner => "owner-whatsapp",
            Source::MercadoPago => "mercadopago",
            Source::Ical => "ical",
            Source::Scheduler => "scheduler",
        }
    }
}

/// Who asked, through what, and because of which inbound message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    pub source: Source,
    /// `guest`, the admin token's subject, `owner`, `mercadopago`, `reactor`, `ical`,
    /// `scheduler`.
    pub actor: String,
    /// The inbound message or notification that caused it (a WhatsApp message id, a Mercado
    /// Pago notification): recorded as the causation, so an auditor sees why.
    pub causation: Option<String>,
    /// Groups the events of one story (a reservation, a guest's conversation).
    pub correlation: Option<Uuid>,
}

impl Origin {
    pub fn new(source: Source, actor: &str) -> Origin {
        Origin {
            source,
            actor: actor.to_owned(),
            causation: None,
            correlation: None,
        }
    }

    /// A guest through the API.
    pub fn guest() -> Origin {
        Origin::new(Source::Api, "guest")
    }

    /// An admin through the API, by their token's subject.
    pub fn admin(subject: &str) -> Origin {
        Origin::new(Source::Api, subject)
    }

    /// A guest's WhatsApp message `wamid`.
    pub fn guest_whatsapp(wamid: &str) -> Origin {
        Origin::new(Source::WhatsApp, "guest").caused_by(wamid)
    }

    /// The owner's WhatsApp message `wamid`.
    pub fn owner(wamid: &str) -> Origin {
        Origin::new(Source::Owner, "owner").caused_by(wamid)
    }

    pub fn caused_by(mut self, inbound: &str) -> Origin {
        self.causation = Some(inbound.to_owned());
        self
    }

    pub fn correlated(mut self, correlation: Uuid) -> Origin {
        self.correlation = Some(correlation);
        self
    }

    /// The events' metadata. A WhatsApp message id is also the provider message id, which the
    /// audit trail joins to the delivery it came in.
    pub fn metadata(&self) -> Metadata {
        let from_whatsapp = matches!(self.source, Source::WhatsApp | Source::Owner);
        Metadata {
            correlation_id: self.correlation,
            causation_id: self.causation.clone(),
            actor: Some(self.actor.clone()),
            source: Some(self.source.name().to_owned()),
            provider_message_id: self.causation.clone().filter(|_| from_whatsapp),
        }
    }
}

/// What a command recorded.
#[derive(Debug)]
pub struct Executed {
    pub events: Vec<AccommodationEvent>,
    /// The global position of its last event, once stamped (`min_position` for reads).
    pub position: Option<i64>,
}

/// The highest global position of events just appended: as the append answered it (SQLite assigns
/// positions as it writes), or once the sequencer has stamped them (PostgreSQL; `None` if that
/// takes over 2 s). No query when the append already knows.
pub(crate) async fn positions(
    ctx: &Context,
    event_ids: &[uuid::Uuid],
    known: &[i64],
) -> Result<Option<i64>, AppError> {
    if !event_ids.is_empty() && known.len() == event_ids.len() {
        return Ok(known.iter().max().copied());
    }
    Ok(ctx
        .store
        .wait_for_positions(event_ids, Duration::from_secs(2))
        .await?
        .and_then(|p| p.into_iter().max()))
}

/// Runs `cmd` on the accommodation's stream (load, decide, append; retried on contention).
pub async fn execute(
    ctx: &Context,
    id: AccommodationId,
    cmd: AccommodationCommand,
    origin: &Origin,
) -> Result<Executed, AppError> {
    let done = execute_unstamped(ctx, id, cmd, origin).await?;
    let position = positions(ctx, &done.event_ids, &done.positions).await?;
    Ok(Executed {
        events: done.events,
        position,
    })
}

/// `execute`, answering before PostgreSQL's sequencer has stamped what it appended: for a
/// use case that appends more and then waits once for all of it (`positions`), rather than
/// once per append.
pub async fn execute_unstamped(
    ctx: &Context,
    id: AccommodationId,
    cmd: AccommodationCommand,
    origin: &Origin,
) -> Result<eventstore::CommandOutcome<AccommodationEvent>, AppError> {
    run(ctx, id, cmd, origin, None).await
}

/// `execute_unstamped`, with `also` written in the command's own transaction (see
/// `CommandHandler::execute_with`).
pub async fn execute_with(
    ctx: &Context,
    id: AccommodationId,
    cmd: AccommodationCommand,
    origin: &Origin,
    also: &dyn AlsoWrite,
) -> Result<eventstore::CommandOutcome<AccommodationEvent>, AppError> {
    run(ctx, id, cmd, origin, Some(also)).await
}

async fn run(
    ctx: &Context,
    id: AccommodationId,
    cmd: AccommodationCommand,
    origin: &Origin,
    also: Option<&dyn AlsoWrite>,
) -> Result<eventstore::CommandOutcome<AccommodationEvent>, AppError> {
    let name = cmd.name();
    let (stream, now, metadata) = (id.stream_id(), ctx.now(), origin.metadata());
    let result = ctx
        .handler
        .execute_with(&stream, &cmd, now, &metadata, also)
        .await;
    let outcome = match &result {
        Ok(_) => "ok",
        Err(eventstore::CommandError::Domain(_)) => "rejected",
        Err(eventstore::CommandError::Contention(_)) => "contention",
        Err(_) => "error",
    };
    metrics::counter!("cabanas_commands_total", "command" => name, "outcome" => outcome)
        .increment(1);
    let done = result?;
    if done.retries > 0 {
        metrics::counter!("cabanas_command_retries_total", "command" => name)
            .increment(u64::from(done.retries));
    }
    metrics::counter!("cabanas_appends_total").increment(1);
    Ok(done)
}
