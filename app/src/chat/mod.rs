//! The WhatsApp conversation worker: takes each unprocessed message from the inbox, runs one
//! dialogue turn, performs what the turn needs (search the availability read model, place the
//! hold through the command handler), records the new dialogue state on the guest's stream and
//! queues the replies in the outbox, then marks the message processed.
//!
//! Re-processing a message after a crash has no second effect: the dialogue event's id, the
//! reservation id and the reply ids are all derived from the message id.
//!
//! # Layout
//!
//! - this file: the worker ([`run`], [`process_pending`]), one message's turn (`handle`), the
//!   dispatcher over the dialogue's [`Action`]s (`perform`), what a turn records and sends
//!   (`advance`, [`reply`]), handing a conversation back to the bot ([`hand_back`]) and the ids
//!   derived from a message ([`derived`]).
//! - `input`: what a message says to the dialogue (words, a tap, a voice note, a code written
//!   in words), or the answer it gets at once; `voice_confirm`: the question after an unsure
//!   transcript, and the guest's "yes" to it.
//! - one file per action the dialogue asks for: `search` (availability), `hold` (place a hold,
//!   move it), `reservations` (list, show, preview a cancellation, cancel), `house` (house
//!   times, the owner's answers), `payments` (payment links and balances, a transfer to check,
//!   a file that may be the transfer's receipt).
//! - `owner_alerts`: what the owner hears of from the chat: a guest who asked for a person, a
//!   transfer to check. Their words are in `conversation::notices::alerts`.

mod hold;
mod house;
mod input;
mod owner_alerts;
mod payments;
mod reservations;
mod search;
mod voice_confirm;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use chrono::{DateTime, Utc};
use conversation::dialogue::{self, Action, Input, Outcome, Setting, State, Step};
use conversation::reply::Reply;
use domain::accommodation::ARGENTINA_UTC_OFFSET_MINUTES;
use domain::{DomainEvent, GuestCommand, GuestEvent, GuestId};
use integrations::whatsapp::webhook::{InboundMessage, MessageKind};
use projections::db_fetch;
use projections::queries;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::context::Context;
use crate::error::AppError;
use crate::execute::Origin;
use crate::guest_stream::execute_guest_with;
use crate::voice::{self, Heard, Resolution};

/// A stable id for something caused by message `wamid` (its `what`).
pub(crate) fn derived(wamid: &str, what: &str) -> Uuid {
    let digest = Sha256::digest(format!("{what}:{wamid}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

/// Answers stored messages until the service stops; a pass under way is finished first.
///
/// One instance at a time answers (a lease, see `projections::lease`): two would both
/// transcribe every voice note and race each other through the same turns. The race itself is
/// harmless (events and replies have ids derived from the message, so a second pass adds
/// nothing) but it is all work done twice. Another instance's webhook stores the message; this
/// worker finds it on its next poll, within half a second.
pub async fn run(state: Arc<Context>, mut stop: crate::Stop) {
    let mut lease = projections::lease::Lease::new("cabanas-worker");
    loop {
        if stop.requested() {
            return;
        }
        let active = match lease.acquire(&state.db, &["conversation"]).await {
            Ok(held) => !held.is_empty(),
            Err(err) => {
                tracing::warn!(error = %err, "conversation lease unavailable");
                false
            }
        };
        state.conversation_active.store(active, Ordering::Relaxed);
        let idle = if !active {
            // Standing by: the lease is tried for again (it is checked every 2 s).
            stop.sleep(Duration::from_millis(500)).await
        } else {
            match process_pending(&state).await {
                Ok(0) => {
                    stop.idle(Duration::from_millis(500), &state.inbox_wake)
                        .await
                }
                Ok(_) => {
                    state.outbox_wake.notify_one();
                    true
                }
                Err(err) => {
                    tracing::warn!(error = %err, "conversation pass failed; will retry");
                    stop.sleep(Duration::from_secs(1)).await
                }
            }
        };
        if !idle {
            return;
        }
    }
}

/// How many guests' messages are worked on at once. A turn waits on the database most of the
/// time: with a hundred guests writing at once, one at a time made the last wait for all the
/// others (a second at p95), while eight at once keep two cores busy.
const GUESTS_AT_ONCE: usize = 8;

/// Handles every unprocessed message, oldest first per guest; returns how many were answered.
/// Each guest's messages are taken in the order they were sent, one after another; different
/// guests' at once (up to [`GUESTS_AT_ONCE`]). A voice note still being transcribed waits in the
/// inbox, and so does everything its guest sent after it.
pub async fn process_pending(state: &Arc<Context>) -> Result<usize, AppError> {
    let rows: Vec<(String, String)> = db_fetch!(
        &state.db,
        (String, String),
        fetch_all,
        "SELECT wamid, message FROM wa_inbox WHERE processed_at_ms IS NULL \
         ORDER BY received_at_ms, wamid LIMIT 50"
            .to_owned()
    )?;
    // Each guest's messages in order, the guests in the order of their first message. A row
    // that cannot be read is a queue of its own (it is only skipped).
    let mut queues: Vec<(String, Queue)> = Vec::new();
    for (wamid, raw) in rows {
        let message = serde_json::from_str::<InboundMessage>(&raw)
            .inspect_err(|err| tracing::error!(error = %err, "unreadable inbox row; skipped"))
            .ok();
        let sender = message.as_ref().map_or(wamid.clone(), |m| m.wa_id.clone());
        match queues.iter_mut().find(|(who, _)| *who == sender) {
            Some((_, queue)) => queue.push((wamid, message)),
            None => queues.push((sender, vec![(wamid, message)])),
        }
    }
    let permits = Arc::new(tokio::sync::Semaphore::new(GUESTS_AT_ONCE));
    let mut running = tokio::task::JoinSet::new();
    for (_, queue) in queues {
        let (state, permits) = (state.clone(), permits.clone());
        running.spawn(async move {
            let _turn = permits.acquire_owned().await;
            process_guest(&state, queue).await
        });
    }
    let mut handled = 0;
    let mut failed = None;
    while let Some(done) = running.join_next().await {
        match done {
            Ok(Ok(n)) => handled += n,
            Ok(Err(err)) => failed = Some(err),
            Err(join) => failed = Some(AppError::Unexpected(join.into())),
        }
    }
    match failed {
        // What was handled is marked; the rest is taken up on the next pass.
        Some(err) => Err(err),
        None => Ok(handled),
    }
}

/// One guest's pending messages in order: each one's id, and the message (`None`: unreadable).
type Queue = Vec<(String, Option<InboundMessage>)>;

/// One guest's pending messages, in order; how many were answered.
async fn process_guest(state: &Arc<Context>, queue: Queue) -> Result<usize, AppError> {
    let mut handled = 0;
    for (wamid, message) in queue {
        if let Some(message) = message {
            // The owner's own number: a command is theirs to give, not a guest's words.
            if crate::owner::is_owner(&state.settings, &message.wa_id)
                && crate::owner::handle(state, &message).await?
            {
                mark_handled(state, &wamid, false, &mut handled).await?;
                continue;
            }
            let heard = match &message.kind {
                MessageKind::Audio { .. } => match voice::resolve(state, &message).await? {
                    Resolution::Ready(heard) => Some(heard),
                    // Everything after it waits with it.
                    Resolution::Pending => return Ok(handled),
                },
                _ => None,
            };
            let marked = handle(state, &message, heard).await?;
            mark_handled(state, &wamid, marked, &mut handled).await?;
        } else {
            mark_handled(state, &wamid, false, &mut handled).await?;
        }
    }
    Ok(handled)
}

/// Records the message `wamid` as answered (unless its turn did: `marked`), and shows the
/// sender it was read.
async fn mark_handled(
    state: &Context,
    wamid: &str,
    marked: bool,
    handled: &mut usize,
) -> Result<(), AppError> {
    if !marked {
        let now_ms = state.now().timestamp_millis();
        eventstore::db_exec!(&state.db, MARK.to_owned(), wamid.to_owned(), now_ms)?;
    }
    *handled += 1;
    // Blue ticks: best effort, off the conversation's path (a lost receipt loses nothing).
    if let Some(api) = state.whatsapp.clone() {
        let wamid = wamid.to_owned();
        tokio::spawn(async move {
            if let Err(err) = api.mark_read(&wamid).await {
                tracing::debug!(error = %err, "read receipt not sent");
            }
        });
    }
    Ok(())
}

/// Marks the message `wamid` answered.
async fn mark_in(tx: &mut eventstore::Tx, wamid: &str, now_ms: i64) -> Result<(), sqlx::Error> {
    eventstore::exec!(tx, MARK.to_owned(), wamid.to_owned(), now_ms)?;
    Ok(())
}

const MARK: &str = "UPDATE wa_inbox SET processed_at_ms = $2 WHERE wamid = $1";

/// The guest's conversation state and when it last moved.
async fn load(
    state: &Context,
    guest: &GuestId,
) -> Result<(State, Option<DateTime<Utc>>), AppError> {
    let events = state.store.read_stream(&guest.stream_id(), 0).await?;
    for e in events.iter().rev() {
        if let Ok(GuestEvent::DialogueAdvanced(d)) =
            GuestEvent::from_stored(&e.event_type, e.schema_version as u32, e.payload.clone())
        {
            let dialogue = serde_json::from_value(d.state).unwrap_or_default();
            return Ok((dialogue, Some(d.at)));
        }
    }
    Ok((State::Menu, None))
}

/// One message's turn: what it says to the dialogue (`input`), the action the dialogue asks
/// for (`perform`), a question about the house asked with dates, the owner told of a hand-off,
/// and the new state recorded with the replies. True when the turn marked the message answered
/// (its dialogue recorded); false when it was answered otherwise and is still to be marked.
async fn handle(
    state: &Context,
    m: &InboundMessage,
    heard: Option<Heard>,
) -> Result<bool, AppError> {
    let guest = eventstore::pii::guest_for_phone(&state.db, &m.wa_id).await?;
    let (stored, last) = load(state, &guest).await?;
    // A voice note's open question is answered before the turn (a "sí" right after it); the
    // turn itself runs on the conversation as it stood.
    let asked_note = stored.voice_note_asked().map(str::to_owned);
    let dialogue = stored.resumed();
    // Cabin names: one named before any is offered ("quiero la del río") is kept.
    let cabins = queries::accommodation_names(&state.db).await?;
    let at = DateTime::from_timestamp(m.timestamp, 0).unwrap_or_else(|| state.now());
    let setting = Setting {
        now: at,
        utc_offset_minutes: ARGENTINA_UTC_OFFSET_MINUTES,
        cabins: &cabins,
    };
    // Each message is read once; the reading goes everywhere it is needed.
    let body_read = match &m.kind {
        MessageKind::Text { body } => Some(dialogue::read(&dialogue, body, &setting)),
        _ => None,
    };
    // A conversation a person took over is theirs: the bot answers nothing until it is
    // released (or a quiet day passes), neither words nor voice notes (not even "say it
    // again") nor pictures.
    if dialogue::with_a_person(&dialogue, last, at) {
        // Recorded all the same: the day without a word that hands them back runs from here.
        advance(state, &guest, m, (&State::HandedOff, at), &[]).await?;
        return Ok(true);
    }
    let said = input::Said {
        heard,
        body_read,
        asked_note,
    };
    let read = input::of(state, m, &guest, said, &dialogue, &setting);
    let Some(input) = read.await? else {
        // Answered already (a voice note to confirm or to say again, a file): the dialogue
        // stays where it was.
        return Ok(false);
    };
    let mut turn = match dialogue::respond_in(&setting, &dialogue, last, &input) {
        Step::Done(turn) => turn,
        Step::Need { action, pending } => {
            let outcome = perform(state, m, &guest, action).await?;
            dialogue::after_in(&setting, pending, outcome)
        }
    };
    if let Input::Read(_, u) = &input {
        house::answer_asked_with_dates(state, u, &setting, &mut turn).await?;
    }
    if turn.handoff {
        tracing::info!("a WhatsApp conversation was handed to a person");
        metrics::counter!("cabanas_conversation_handoffs_total").increment(1);
        // The guest was told a person will write: the person has to hear of it.
        owner_alerts::handoff(state, m, &guest).await?;
    }
    advance(state, &guest, m, (&turn.state, at), &turn.replies).await?;
    Ok(true)
}

/// Performs what the dialogue asked for: one file per action.
async fn perform(
    state: &Context,
    m: &InboundMessage,
    guest: &GuestId,
    action: Action,
) -> Result<Outcome, AppError> {
    match action {
        Action::SearchAvailability {
            check_in,
            check_out,
            guests,
        } => search::availability(state, (check_in, check_out), guests).await,
        Action::PlaceHold {
            accommodation_id,
            check_in,
            check_out,
            guests,
        } => hold::place_hold(state, m, &accommodation_id, (check_in, check_out), guests).await,
        Action::MoveHold {
            code,
            accommodation_id,
            check_in,
            check_out,
            guests,
        } => {
            let stay = (check_in, check_out);
            hold::move_hold(state, m, guest, &code, &accommodation_id, stay, guests).await
        }
        Action::ListReservations => reservations::list(state, guest).await,
        Action::ShowReservation { code } => reservations::show(state, guest, &code).await,
        Action::PreviewCancellation { code } => {
            reservations::preview_cancellation(state, guest, code).await
        }
        Action::CancelReservation { code } => reservations::cancel(state, m, guest, code).await,
        Action::PaymentLinks => payments::links(state, guest).await,
        Action::TransferToCheck => payments::transfer_to_check(state, m, guest).await,
        Action::HouseTimes => house::times(state, guest).await,
        Action::HouseAnswer { topic, among } => house::answers(state, topic, &among).await,
    }
}

/// Every reservation of the guest's (the read model's, at most 50), the guest's own last
/// writes included: the read model is brought to the log's head first.
async fn guest_reservations(
    state: &Context,
    guest: &GuestId,
) -> Result<Vec<queries::ReservationView>, AppError> {
    crate::reservations::caught_up(state).await?;
    let filter = queries::ReservationFilter {
        guest_ref: Some(guest.stream_id()),
        limit: 50,
        ..queries::ReservationFilter::default()
    };
    Ok(queries::search_reservations(&state.db, &filter).await?)
}

/// Records where the conversation with `guest` stands after message `m`, received `at`, with
/// the `replies` it gets and the message marked answered, all in one transaction: a crash
/// leaves the whole turn or none of it (the message is then taken up again), and the turn
/// costs one commit. The turn's last write.
pub(super) async fn advance(
    state: &Context,
    guest: &GuestId,
    m: &InboundMessage,
    (dialogue, at): (&State, DateTime<Utc>),
    replies: &[Reply],
) -> Result<(), AppError> {
    let cmd = GuestCommand::AdvanceDialogue {
        wamid: m.wamid.clone(),
        state: serde_json::to_value(dialogue).unwrap_or_default(),
        at,
    };
    // One correlation per guest conversation.
    let origin = Origin::guest_whatsapp(&m.wamid).correlated(guest.as_uuid());
    let turn = TurnWrites {
        m,
        replies,
        now_ms: state.now().timestamp_millis(),
    };
    execute_guest_with(state, *guest, cmd, &origin, &turn).await?;
    Ok(())
}

/// What a turn writes beside its dialogue event.
struct TurnWrites<'a> {
    m: &'a InboundMessage,
    replies: &'a [Reply],
    now_ms: i64,
}

#[async_trait::async_trait]
impl eventstore::AlsoWrite for TurnWrites<'_> {
    async fn write(&self, tx: &mut dyn eventstore::StoreTx) -> Result<(), eventstore::StoreError> {
        crate::outbox::reply_in(tx.sql(), self.m, self.replies, self.now_ms).await?;
        mark_in(tx.sql(), &self.m.wamid, self.now_ms).await?;
        Ok(())
    }
}
