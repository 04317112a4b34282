//! The one way onto a guest's stream: a `GuestCommand` decided on the stream's current version
//! by the command handler (retried on contention), with the same typed metadata as any
//! command. Two of a guest's requests at once (two holds from one phone) no longer fail: the
//! loser decides again on top of the winner.

use domain::{GuestCommand, GuestId};

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
    let done = ctx
        .guests
        .execute(&guest.stream_id(), &cmd, ctx.now(), &origin.metadata())
        .await
        .map_err(|e| match e {
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
