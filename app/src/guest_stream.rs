//! The one way onto a guest's stream: a `GuestCommand` decided on the stream's current version
//! by the command handler (retried on contention), with the same typed metadata as any
//! command. Two of a guest's requests at once (two holds from one phone) no longer fail: the
//! loser decides again on top of the winner.

use domain::{GuestCommand, GuestId};
use eventstore::AlsoWrite;

use crate::context::Context;
use crate::error::AppError;
use crate::execute::Origin;

/// What a command on a guest's stream recorded.
pub struct Recorded {
    /// The stream's version after it.
    pub version: i64,
    /// The ids of the events recorded (none when the command was a repeat).
    pub event_ids: Vec<uuid::Uuid>,
    /// Their global positions, when the append assigned them (SQLite).
    pub positions: Vec<i64>,
}

/// Decides `cmd` on the guest's stream.
pub async fn execute_guest(
    ctx: &Context,
    guest: GuestId,
    cmd: GuestCommand,
    origin: &Origin,
) -> Result<Recorded, AppError> {
    run(ctx, guest, cmd, origin, None).await
}

/// `execute_guest`, with `also` written in the command's own transaction (a turn's replies
/// with its dialogue; see `CommandHandler::execute_with`).
pub async fn execute_guest_with(
    ctx: &Context,
    guest: GuestId,
    cmd: GuestCommand,
    origin: &Origin,
    also: &dyn AlsoWrite,
) -> Result<Recorded, AppError> {
    run(ctx, guest, cmd, origin, Some(also)).await
}

async fn run(
    ctx: &Context,
    guest: GuestId,
    cmd: GuestCommand,
    origin: &Origin,
    also: Option<&dyn AlsoWrite>,
) -> Result<Recorded, AppError> {
    let (stream, now, metadata) = (guest.stream_id(), ctx.now(), origin.metadata());
    let done = ctx
        .guests
        .execute_with(&stream, &cmd, now, &metadata, also)
        .await;
    let done = done.map_err(|e| match e {
        eventstore::CommandError::Contention(n) => AppError::Contention(n),
        eventstore::CommandError::Store(e) => e.into(),
        eventstore::CommandError::Decode(e) => {
            AppError::Unexpected(anyhow::anyhow!("stored guest event unreadable: {e}"))
        }
        eventstore::CommandError::Domain(never) => match never {},
    })?;
    Ok(Recorded {
        version: done.stream_version,
        event_ids: done.event_ids,
        positions: done.positions,
    })
}
