//! The WhatsApp conversation worker: takes each unprocessed message from the inbox, runs one
//! dialogue turn, performs what the turn needs (search the availability read model, place the
//! hold through the command handler), records the new dialogue state on the guest's stream and
//! queues the replies in the outbox, then marks the message processed.
//!
//! Re-processing a message after a crash has no second effect: the dialogue event's id, the
//! reservation id and the reply ids are all derived from the message id.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::time::Duration;

use actix_web::web;
use chrono::{DateTime, Utc};
use conversation::dialogue::{
    self, Action, BalanceDue, HouseTimes, Input, Offer, Outcome, PendingPayment,
    ReservationSummary, Setting, State, Step,
};
use conversation::nlu::Understanding;
use conversation::reply::{ButtonsBuilder, Reply};
use domain::BookingError;
use domain::accommodation::ARGENTINA_UTC_OFFSET_MINUTES;
use domain::accommodation::{
    AccommodationCommand, CancelReservation, CancelledBy, Channel, PlaceHold, ReplaceHold,
};
use domain::guest::DialogueAdvanced;
use domain::{
    AccommodationEvent, AccommodationId, Aggregate, DomainEvent, GuestEvent, GuestId, Money,
    ReservationCode, ReservationId, StayDates,
};
use eventstore::{ExpectedVersion, NewEvent};
use integrations::whatsapp::webhook::{InboundMessage, MessageKind};
use projections::queries;
use projections::{db_exec, db_fetch};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::app::AppState;
use crate::problem::Problem;
use crate::routes::{GuestInput, command, fresh_code, meta, record_guest};
use crate::voice::{self, Heard, Refusal, Resolution};

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
pub async fn run(state: web::Data<AppState>, mut stop: crate::app::Stop) {
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

/// Handles every unprocessed message, oldest first; returns how many were answered. A voice
/// note still being transcribed waits in the inbox, and so does everything its guest sent
/// after it, so a guest's messages are answered in the order they were sent.
pub async fn process_pending(state: &web::Data<AppState>) -> Result<usize, Problem> {
    let rows: Vec<(String, String)> = db_fetch!(
        &state.db,
        (String, String),
        fetch_all,
        "SELECT wamid, message FROM wa_inbox WHERE processed_at_ms IS NULL \
         ORDER BY received_at_ms, wamid LIMIT 50"
            .to_owned()
    )?;
    let mut listening: HashSet<String> = HashSet::new();
    let mut handled = 0;
    for (wamid, raw) in rows {
        match serde_json::from_str::<InboundMessage>(&raw) {
            Ok(message) => {
                if listening.contains(&message.wa_id) {
                    continue;
                }
                // The owner's own number: a command is theirs to give, not a guest's words.
                if crate::owner::is_owner(&state.settings, &message.wa_id)
                    && crate::owner::handle(state, &message).await?
                {
                    mark_handled(state, &wamid, &mut handled).await?;
                    continue;
                }
                let heard = match &message.kind {
                    MessageKind::Audio { .. } => match voice::resolve(state, &message).await? {
                        Resolution::Ready(heard) => Some(heard),
                        Resolution::Pending => {
                            listening.insert(message.wa_id.clone());
                            continue;
                        }
                    },
                    _ => None,
                };
                handle(state, &message, heard).await?;
            }
            Err(err) => tracing::error!(error = %err, "unreadable inbox row; skipped"),
        }
        mark_handled(state, &wamid, &mut handled).await?;
    }
    Ok(handled)
}

/// Records the message `wamid` as answered, and shows the sender it was read.
async fn mark_handled(state: &AppState, wamid: &str, handled: &mut usize) -> Result<(), Problem> {
    db_exec!(
        &state.db,
        "UPDATE wa_inbox SET processed_at_ms = $2 WHERE wamid = $1".to_owned(),
        wamid.to_owned(),
        state.now().timestamp_millis()
    )?;
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

/// The guest's conversation state and when it last moved.
async fn load(
    state: &AppState,
    guest: &GuestId,
) -> Result<(State, Option<DateTime<Utc>>), Problem> {
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

async fn handle(state: &AppState, m: &InboundMessage, heard: Option<Heard>) -> Result<(), Problem> {
    let guest = eventstore::pii::guest_for_phone(&state.db, &m.wa_id).await?;
    let (dialogue, last) = load(state, &guest).await?;
    // Cabin names: one named before any is offered ("quiero la del río") is kept.
    let cabins: Vec<String> = queries::accommodations(&state.db)
        .await?
        .into_iter()
        .map(|a| a.name)
        .collect();
    // A conversation a person took over is theirs: the bot answers nothing until it is
    // released (or a quiet day passes), neither words nor voice notes (not even "say it
    // again") nor pictures.
    let at = DateTime::from_timestamp(m.timestamp, 0).unwrap_or_else(|| state.now());
    let setting = Setting {
        now: at,
        utc_offset_minutes: ARGENTINA_UTC_OFFSET_MINUTES,
        cabins: &cabins,
    };
    // Each message is read once; the reading goes everywhere it is needed.
    let mut body_read = match &m.kind {
        MessageKind::Text { body } => Some(dialogue::read(&dialogue, body, &setting)),
        _ => None,
    };
    if dialogue::with_a_person(&dialogue, last, at) {
        // Recorded all the same: the day without a word that hands them back runs from here.
        return advance(state, &guest, m, &State::HandedOff, at).await;
    }
    // The voice note the guest confirms was heard right: by its button, or by a typed "sí" right
    // after the question (which answers that question, not the dialogue's last one). Only a
    // "sí" costs a look at the last reply sent.
    let confirmed_note = match &m.kind {
        MessageKind::ButtonReply { id, .. } => id.strip_prefix(VOICE_YES).map(str::to_owned),
        MessageKind::Text { .. }
            if body_read.as_ref().and_then(|u| u.intents.first())
                == Some(&conversation::nlu::Intent::Yes) =>
        {
            pending_transcript(state, &m.wa_id).await?
        }
        _ => None,
    };
    let input = match &m.kind {
        _ if confirmed_note.is_some() => {
            let note = confirmed_note.unwrap_or_default();
            match voice::recorded(state, &guest, &note).await? {
                Some(Heard::Words { text, .. }) => Input::Text(text),
                _ => return reply(state, m, &[Reply::Text(NOTE_GONE.into())]).await,
            }
        }
        MessageKind::Text { body } => match body_read.take() {
            Some(u) => Input::Read(body.clone(), Box::new(u)),
            None => Input::Text(body.clone()),
        },
        MessageKind::ButtonReply { id, .. } if id == VOICE_NO => {
            return reply(
                state,
                m,
                &[Reply::Text(
                    "Dale, escribime qué necesitás y te respondo enseguida 🙂".into(),
                )],
            )
            .await;
        }
        MessageKind::ButtonReply { id, .. } | MessageKind::ListReply { id, .. } => {
            Input::Choice(id.clone())
        }
        MessageKind::QuickReply { payload, .. } => Input::Choice(payload.clone()),
        MessageKind::Audio { .. } => match heard {
            Some(Heard::Words { text, confidence }) if !text.trim().is_empty() => {
                if confidence < state.settings.voice_min_confidence {
                    return reply(state, m, &[confirm_voice(&m.wamid, &text)]).await;
                }
                Input::Text(text)
            }
            Some(Heard::Words { .. }) => {
                return reply(
                    state,
                    m,
                    &[Reply::Text(
                        "No te escuché bien 🙉 ¿Me lo escribís o me mandás otro audio?".into(),
                    )],
                )
                .await;
            }
            Some(Heard::Refused(why)) => {
                return reply(state, m, &[Reply::Text(why.reply())]).await;
            }
            None => {
                return reply(state, m, &[Reply::Text(Refusal::Unavailable.reply())]).await;
            }
        },
        MessageKind::Media { kind, .. } | MessageKind::Unsupported { kind } => {
            return not_text(state, m, &guest, kind).await;
        }
    };
    // A transcript heard from a voice note is read here, once, as a typed message is above.
    let input = match input {
        Input::Text(words) => {
            let u = dialogue::read(&dialogue, &words, &setting);
            Input::Read(words, Box::new(u))
        }
        other => other,
    };
    let input = match &input {
        Input::Read(words, u) => own_code_said(state, guest.stream_id(), words, u)
            .await?
            .unwrap_or(input),
        _ => input,
    };
    let mut turn = match dialogue::respond_in(&setting, &dialogue, last, &input) {
        Step::Done(turn) => turn,
        Step::Need { action, pending } => {
            let outcome = perform(state, m, &guest, action).await?;
            dialogue::after_in(&setting, pending, outcome)
        }
    };
    if let Input::Read(_, u) = &input {
        answer_asked_with_dates(state, m, &guest, u, &setting, &mut turn).await?;
    }
    if turn.handoff {
        tracing::info!("a WhatsApp conversation was handed to a person");
        metrics::counter!("cabanas_conversation_handoffs_total").increment(1);
        // The guest was told a person will write: the person has to hear of it.
        let who = m
            .profile_name
            .as_deref()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or("Un huésped");
        let wa_id = &m.wa_id;
        let mut body = format!("🙋 {who} (+{wa_id}) pidió hablar con una persona.");
        if let MessageKind::Text { body: said } = &m.kind {
            body.push_str(&format!(
                " Escribió: «{}».",
                conversation::reply::clip(said.trim(), 300)
            ));
        }
        // What they may want to change, with the owner's commands for it.
        body.push_str(&stays_to_come(state, &guest).await?);
        body.push_str(&format!(
            " Escribile a https://wa.me/{wa_id} (o desde este número con POST \
             /v1/admin/whatsapp/conversations/{wa_id}/messages). El asistente no le contesta \
             hasta que se la devuelvas (el botón, o «liberar +{wa_id}»), o hasta que pase un \
             día sin que escriba."
        ));
        let alert = Reply::Buttons {
            body,
            footer: None,
            buttons: vec![conversation::reply::Button {
                id: format!("{}{wa_id}", crate::owner::RELEASE_BUTTON),
                title: "Devolver al bot".into(),
            }],
        };
        crate::outbox::alert_owner_with(state, &format!("handoff:{}", m.wamid), &alert).await?;
    }
    advance(state, &guest, m, &turn.state, at).await?;
    reply(state, m, &turn.replies).await
}

/// A question about the house asked with dates ("¿aceptan perros? del 12 al 14 para 2"): the
/// dialogue took the dates; the question is answered too, first, about the cabins the turn
/// ends on (those on offer, the one being confirmed) or every cabin.
async fn answer_asked_with_dates(
    state: &AppState,
    m: &InboundMessage,
    guest: &GuestId,
    u: &Understanding,
    setting: &Setting<'_>,
    turn: &mut dialogue::Turn,
) -> Result<(), Problem> {
    let asked = u.intents.iter().find_map(|i| match i {
        conversation::nlu::Intent::Ask(topic) => Some(*topic),
        _ => None,
    });
    let (Some(topic), Some(_)) = (asked, &u.dates) else {
        return Ok(());
    };
    let among = match &turn.state {
        State::ChoosingAccommodation { offers, .. } => {
            offers.iter().map(|o| o.accommodation_id.clone()).collect()
        }
        State::ConfirmingHold { offer, .. } => vec![offer.accommodation_id.clone()],
        _ => Vec::new(),
    };
    let outcome = perform(state, m, guest, Action::HouseAnswer { topic, among }).await?;
    // The answer alone: the turn's own replies (the offers, the question) follow it.
    let mut replies = dialogue::after_in(setting, State::Menu, outcome).replies;
    replies.append(&mut turn.replies);
    turn.replies = replies;
    Ok(())
}

/// The day in Argentina at `now`: the domain's one rule for "today".
fn argentine_today(now: DateTime<Utc>) -> chrono::NaiveDate {
    domain::accommodation::local_today(now, ARGENTINA_UTC_OFFSET_MINUTES)
}

/// Every reservation of the guest's (the read model's, at most 50).
async fn guest_reservations(
    state: &AppState,
    guest: &GuestId,
) -> Result<Vec<queries::ReservationView>, Problem> {
    let filter = queries::ReservationFilter {
        guest_ref: Some(guest.stream_id()),
        limit: 50,
        ..queries::ReservationFilter::default()
    };
    Ok(queries::search_reservations(&state.db, &filter).await?)
}

/// The guest's held and confirmed stays yet to end, for the owner a handoff reaches: each with
/// its cabin and nights, and how to move or cancel it from their WhatsApp. Empty when none.
async fn stays_to_come(state: &AppState, guest: &GuestId) -> Result<String, Problem> {
    let today = argentine_today(state.now());
    let mine = guest_reservations(state, guest).await?;
    let stays: Vec<String> = mine
        .into_iter()
        .filter(|r| matches!(r.status.as_str(), "held" | "confirmed") && r.check_out > today)
        .map(|r| {
            format!(
                "{} ({}, {} al {}, {})",
                r.code,
                r.accommodation_name.as_deref().unwrap_or("cabaña"),
                conversation::dialogue::day_label(r.check_in),
                conversation::dialogue::day_label(r.check_out),
                if r.status == "confirmed" {
                    "confirmada"
                } else {
                    "esperando la seña"
                }
            )
        })
        .collect();
    let Some(first) = stays.first().and_then(|s| s.split(' ').next()) else {
        return Ok(String::new());
    };
    Ok(format!(
        " Sus reservas: {}. Para moverla: «mover {first} del … al …»; para cancelarla: \
         «cancelar {first}».",
        stays.join("; ")
    ))
}

/// Records where the conversation with `guest` stands after message `m`, received `at`.
async fn advance(
    state: &AppState,
    guest: &GuestId,
    m: &InboundMessage,
    dialogue: &State,
    at: DateTime<Utc>,
) -> Result<(), Problem> {
    let event = GuestEvent::DialogueAdvanced(DialogueAdvanced {
        wamid: m.wamid.clone(),
        state: serde_json::to_value(dialogue).unwrap_or_default(),
        at,
    });
    state
        .store
        .append(
            &guest.stream_id(),
            ExpectedVersion::Any,
            &[NewEvent {
                event_id: derived(&m.wamid, "dialogue"),
                event_type: event.event_type().to_owned(),
                schema_version: event.event_version() as i32,
                payload: event.to_payload(),
                metadata: eventstore::Metadata {
                    // One correlation per guest conversation.
                    correlation_id: Some(guest.as_uuid()),
                    provider_message_id: Some(m.wamid.clone()),
                    source: Some("whatsapp".into()),
                    actor: Some("guest".into()),
                    ..eventstore::Metadata::default()
                },
            }],
        )
        .await?;
    Ok(())
}

/// Said when the note a guest confirms is no longer on record (erased, say).
const NOTE_GONE: &str = "Ese audio ya no lo tengo 🙈 ¿Me lo escribís?";

/// Why a search found nothing when it is not that the nights are taken: no cabin takes the
/// party, or every one that does asks for more nights.
fn why_nothing(cabins: &[queries::AccommodationView], stay: &StayDates, guests: u32) -> Outcome {
    let Some(largest) = cabins.iter().map(|a| a.capacity).max() else {
        return Outcome::Offers(Vec::new());
    };
    if guests > largest {
        return Outcome::PartyTooLarge { largest };
    }
    let fitting = cabins.iter().filter(|a| a.capacity >= guests);
    match fitting.map(|a| a.min_nights).min() {
        Some(min_nights) if stay.nights() < min_nights => Outcome::StayTooShort { min_nights },
        _ => Outcome::Offers(Vec::new()),
    }
}

/// The voice note whose transcript the bot asked this guest to confirm, when that question is
/// the last thing it sent them.
async fn pending_transcript(state: &AppState, wa_id: &str) -> Result<Option<String>, Problem> {
    // The owner's alerts are not questions (an owner trying the bot from their own phone).
    let last: Option<(String,)> = db_fetch!(
        &state.db,
        (String,),
        fetch_optional,
        "SELECT body FROM wa_outbox WHERE wa_id = $1 AND id NOT LIKE 'owner:%' \
         ORDER BY created_at_ms DESC, id DESC LIMIT 1"
            .to_owned(),
        wa_id.to_owned()
    )?;
    let Some((body,)) = last else {
        return Ok(None);
    };
    let sent: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    Ok(sent["interactive"]["action"]["buttons"]
        .as_array()
        .and_then(|buttons| {
            buttons.iter().find_map(|b| {
                b["reply"]["id"]
                    .as_str()?
                    .strip_prefix(VOICE_YES)
                    .map(str::to_owned)
            })
        }))
}

/// Button ids of the "is this what you said?" question after an unsure transcription.
const VOICE_YES: &str = "voice:yes:";
const VOICE_NO: &str = "voice:no";

/// Asks the guest to confirm an unsure transcript, or to type instead.
fn confirm_voice(wamid: &str, text: &str) -> Reply {
    let shown: String = text.chars().take(600).collect();
    ButtonsBuilder::new(format!("Escuché esto en tu audio:\n«{shown}»\n¿Es así?"))
        .button(format!("{VOICE_YES}{wamid}"), "Sí, es eso")
        .button(VOICE_NO, "No, te escribo")
        .build()
        .unwrap_or_else(|_| {
            Reply::Text(format!(
                "Escuché esto en tu audio: «{shown}». Si no es así, ¿me lo escribís?"
            ))
        })
}

/// A message that is not text, a tap or a voice note. An image or a document from a guest whose
/// hold waits for its deposit is, in practice, the receipt of a bank transfer: the owner, who
/// confirms transfers by hand, hears of it.
async fn not_text(
    state: &AppState,
    m: &InboundMessage,
    guest: &GuestId,
    kind: &str,
) -> Result<(), Problem> {
    let waiting = if matches!(kind, "image" | "document") {
        holds_waiting(state, guest).await?
    } else {
        Vec::new()
    };
    if waiting.is_empty() {
        return reply(
            state,
            m,
            &[Reply::Text(
                "Por ahora solo entiendo mensajes de texto. Escribime qué necesitás.".into(),
            )],
        )
        .await;
    }
    tell_owner_of_transfer(
        state,
        m,
        "mandó un archivo, tal vez el comprobante de la transferencia",
        &waiting,
    )
    .await?;
    let codes = codes_of(&waiting).join(", ");
    // The file itself follows the alert, so the owner sees what to look for in their account.
    if let MessageKind::Media {
        kind,
        media_id,
        mime_type,
        caption: _,
        filename,
    } = &m.kind
    {
        crate::outbox::forward_to_owner(
            state,
            &format!("transfer:{}:file", m.wamid),
            crate::outbox::File {
                kind,
                media_id,
                mime_type: mime_type.as_deref(),
                filename: filename.as_deref(),
            },
            format!("Lo que mandó {} para la seña de {codes}", sender(m)),
        )
        .await?;
    }
    reply(
        state,
        m,
        &[Reply::Text(format!(
            "¡Gracias! Si es el comprobante de la transferencia, ya le aviso a la persona a cargo \
             para que la revise y confirme tu reserva {codes}. Te escribo por acá apenas esté."
        ))],
    )
    .await
}

/// One of the guest's own codes written among their words when it is of letters alone, which
/// the dialogue cannot tell from a word ("mi reserva es la KMPQRST"): taken as if tapped in
/// their list (or its "Cancelar reserva", when they say cancel). Only a word that is one of
/// their codes counts, so "mi RESERVA" stays a word; a code with a digit is the dialogue's.
async fn own_code_said(
    state: &AppState,
    guest_ref: String,
    words: &str,
    u: &Understanding,
) -> Result<Option<Input>, Problem> {
    let mut candidates = Vec::new();
    for word in words
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| w.len() == 7)
    {
        if word.chars().any(|c| c.is_ascii_digit()) {
            if ReservationCode::parse(word).is_ok() && word.chars().any(|c| c.is_ascii_alphabetic())
            {
                return Ok(None);
            }
            continue;
        }
        if let Ok(code) = ReservationCode::parse(word) {
            candidates.push(code.as_str().to_owned());
        }
    }
    // Most messages hold no seven-letter word that could be a code: no query for them.
    if candidates.is_empty() {
        return Ok(None);
    }
    let filter = queries::ReservationFilter {
        guest_ref: Some(guest_ref),
        limit: 50,
        ..queries::ReservationFilter::default()
    };
    let mine = queries::search_reservations(&state.db, &filter).await?;
    let Some(code) = candidates
        .into_iter()
        .find(|c| mine.iter().any(|r| &r.code == c))
    else {
        return Ok(None);
    };
    let cancel = u.intents.contains(&conversation::nlu::Intent::Cancel);
    let prefix = if cancel {
        conversation::dialogue::ids::CANCEL_PREFIX
    } else {
        conversation::dialogue::ids::RESERVATION_PREFIX
    };
    Ok(Some(Input::Choice(format!("{prefix}{code}"))))
}

/// How long after a hold lapsed a transfer for it is still taken to the owner: they can still
/// confirm it while its nights are free (`…/confirm` honours a late deposit).
const LATE_TRANSFER: chrono::Duration = chrono::Duration::hours(48);

/// A hold the guest may have paid by transfer, and whether it has lapsed.
struct Waiting {
    code: String,
    lapsed: bool,
}

fn codes_of(waiting: &[Waiting]) -> Vec<String> {
    waiting.iter().map(|w| w.code.clone()).collect()
}

/// The guest's holds waiting for their deposit: still held, or lapsed in the last
/// `LATE_TRANSFER` for a stay yet to begin (a transfer made in time is often seen late).
async fn holds_waiting(state: &AppState, guest: &GuestId) -> Result<Vec<Waiting>, Problem> {
    let now = state.now();
    let mine = guest_reservations(state, guest).await?;
    Ok(mine.into_iter().filter_map(|r| waiting(r, now)).collect())
}

/// `r` as a hold waiting for its deposit at `now` (see `holds_waiting`), if it is one.
fn waiting(r: queries::ReservationView, now: DateTime<Utc>) -> Option<Waiting> {
    // The owner's day in Argentina, as the rest of the chat reckons it.
    let today = argentine_today(now);
    let lapsed = match r.status.as_str() {
        // Past its time, the scheduler's next pass expires it.
        "held" => r.expires_at <= now,
        "expired" if r.expires_at > now - LATE_TRANSFER && r.check_in >= today => true,
        _ => return None,
    };
    Some(Waiting {
        code: r.code,
        lapsed,
    })
}

/// The owner hears on their WhatsApp (once per guest message) that a transfer for the deposit
/// of the `waiting` holds may have arrived: they confirm transfers by hand, from their bank, and
/// can do it from there (see `owner`): with the alert's button when one hold waits.
async fn tell_owner_of_transfer(
    state: &AppState,
    m: &InboundMessage,
    what: &str,
    waiting: &[Waiting],
) -> Result<(), Problem> {
    let codes: Vec<String> = waiting
        .iter()
        .map(|w| {
            if w.lapsed {
                format!("{} (venció)", w.code)
            } else {
                w.code.clone()
            }
        })
        .collect();
    let late = if waiting.iter().any(|w| w.lapsed) {
        " Aunque haya vencido, se confirma igual si las noches siguen libres."
    } else {
        ""
    };
    let said = format!(
        "📎 {} {what} de la seña de {}.",
        sender(m),
        codes.join(", ")
    );
    let alert = match waiting {
        [one] => {
            let body = format!(
                "{said} Cuando la veas en tu cuenta, tocá «Confirmar seña» (o escribime \
                 «confirmar {code}», con el monto si llegó otro).{late}",
                code = one.code
            );
            ButtonsBuilder::new(body.clone())
                .button(
                    format!("{}{}", crate::owner::CONFIRM_BUTTON, one.code),
                    "Confirmar seña",
                )
                .build()
                // A profile name long enough to pass WhatsApp's limits: the words still say how.
                .unwrap_or(Reply::Text(body))
        }
        _ => Reply::Text(format!(
            "{said} Cuando la veas en tu cuenta, escribime «confirmar» y el código de la \
             reserva que corresponda.{late}"
        )),
    };
    crate::outbox::alert_owner_with(state, &format!("transfer:{}", m.wamid), &alert).await?;
    Ok(())
}

/// The guest as the owner knows them: their WhatsApp profile name and number.
fn sender(m: &InboundMessage) -> String {
    let who = m
        .profile_name
        .as_deref()
        .filter(|n| !n.trim().is_empty())
        .unwrap_or("Un huésped");
    format!("{who} (+{})", m.wa_id)
}

pub(crate) async fn reply(
    state: &AppState,
    m: &InboundMessage,
    replies: &[Reply],
) -> Result<(), Problem> {
    let now = state.now().timestamp_millis();
    for (i, r) in replies.iter().enumerate() {
        crate::outbox::enqueue_nth(&state.db, &format!("{}:{i}", m.wamid), &m.wa_id, r, now, i)
            .await?;
    }
    Ok(())
}

/// The reservation `code`, when it is this guest's: only the guest who made a reservation may
/// cancel it from their phone. Otherwise the answer to give them.
async fn guests_own(
    state: &AppState,
    guest: &GuestId,
    code: &str,
) -> Result<Result<(AccommodationId, ReservationId), Outcome>, Problem> {
    let refused = |why: &str| {
        Ok(Err(Outcome::NotCancellable {
            code: code.to_owned(),
            why: why.into(),
        }))
    };
    let found = queries::reservation_by_code(&state.db, code).await?;
    let Some(r) = found.filter(|r| r.guest.reference == guest.stream_id()) else {
        return refused("no es una reserva tuya");
    };
    match (
        r.accommodation_id.parse::<AccommodationId>(),
        r.id.parse::<ReservationId>(),
    ) {
        (Ok(id), Ok(reservation_id)) => Ok(Ok((id, reservation_id))),
        _ => refused("no la encuentro"),
    }
}

fn guest_cancels(reservation_id: ReservationId) -> AccommodationCommand {
    AccommodationCommand::Cancel(CancelReservation {
        reservation_id,
        by: CancelledBy::Guest,
        reason: "pedido por WhatsApp".into(),
        refund_all: false,
    })
}

/// A reservation as the chat shows it to its guest.
fn summary(r: queries::ReservationView) -> ReservationSummary {
    ReservationSummary {
        paid: r.amount_paid - r.refunded,
        guests: u32::try_from(r.guests).unwrap_or_default(),
        code: r.code,
        accommodation: r.accommodation_name.unwrap_or_default(),
        check_in: r.check_in,
        check_out: r.check_out,
        status: r.status,
        balance_due: r.balance_due,
    }
}

async fn perform(
    state: &AppState,
    m: &InboundMessage,
    guest: &GuestId,
    action: Action,
) -> Result<Outcome, Problem> {
    let now = state.now();
    match action {
        Action::SearchAvailability {
            check_in,
            check_out,
            guests,
        } => {
            let Ok(stay) = StayDates::new(check_in, check_out) else {
                return Ok(Outcome::Offers(Vec::new()));
            };
            let offers: Vec<Offer> = queries::bookable(&state.db, &stay, guests, now)
                .await?
                .into_iter()
                .map(|(a, quote)| Offer {
                    accommodation_id: a.id,
                    name: a.name,
                    total: quote.total,
                    deposit: quote.deposit,
                    sleeps: a.capacity,
                })
                .collect();
            if !offers.is_empty() {
                return Ok(Outcome::Offers(offers));
            }
            Ok(why_nothing(
                &queries::accommodations(&state.db).await?,
                &stay,
                guests,
            ))
        }
        Action::ListReservations => {
            let mine = guest_reservations(state, guest).await?;
            let today = argentine_today(now);
            Ok(Outcome::Reservations(
                mine.into_iter()
                    .filter(|r| {
                        (r.status == "held" || r.status == "confirmed") && r.check_out >= today
                    })
                    .map(summary)
                    .collect(),
            ))
        }
        Action::ShowReservation { code } => Ok(Outcome::Reservation(
            queries::reservation_by_code(&state.db, &code)
                .await?
                .filter(|r| r.guest.reference == guest.stream_id())
                .map(summary),
        )),
        Action::HouseTimes => {
            // The cabins the guest has a confirmed stay to come in: those are told the way.
            let today = argentine_today(state.now());
            let mine = guest_reservations(state, guest).await?;
            let booked: Vec<String> = mine
                .into_iter()
                .filter(|r| r.status == "confirmed" && r.check_out > today)
                .map(|r| r.accommodation_id)
                .collect();
            let mut houses = Vec::new();
            for a in queries::accommodations(&state.db).await? {
                let here = booked.contains(&a.id);
                let way = match a.id.parse::<domain::AccommodationId>() {
                    // Directions are only ever told to a guest with a stay there.
                    Ok(id) if here => state
                        .accommodation(id)
                        .await?
                        .info()
                        .and_then(|i| i.directions.clone()),
                    _ => None,
                };
                houses.push(HouseTimes {
                    name: a.name,
                    check_in: a.check_in_time,
                    check_out: a.check_out_time,
                    booked: here,
                    way,
                });
            }
            Ok(Outcome::HouseTimes(houses))
        }
        Action::HouseAnswer { topic, among } => {
            let mut answers = Vec::new();
            for cabin in queries::accommodations(&state.db).await? {
                if !among.is_empty() && !among.contains(&cabin.id) {
                    continue;
                }
                let Ok(id) = cabin.id.parse::<domain::AccommodationId>() else {
                    continue;
                };
                // From the cabin's own stream, as its directions are: no read model keeps them.
                let answer = state
                    .accommodation(id)
                    .await?
                    .info()
                    .and_then(|info| info.answers.get(&topic).cloned());
                answers.push((cabin.name, answer));
            }
            if !answers.is_empty() && answers.iter().all(|(_, a)| a.is_none()) {
                // The owner can teach it: once a day per topic, so that a run of guests asking
                // the same is one message.
                let key = topic.key();
                let today = argentine_today(state.now());
                crate::outbox::alert_owner(
                    state,
                    &format!("unanswered:{key}:{today}"),
                    format!(
                        "❓ Un huésped preguntó por «{key}» y no tengo nada anotado para \
                         contestarle. Para que la próxima vez conteste solo, escribime \
                         «respuesta {key}: …» con lo que quieras que diga."
                    ),
                )
                .await?;
            }
            Ok(Outcome::HouseAnswers(answers))
        }
        Action::TransferToCheck => {
            let waiting = holds_waiting(state, guest).await?;
            if waiting.is_empty() {
                // Nothing waits for a deposit: the answer is that they are up to date.
                return Ok(Outcome::PaymentLinks(Vec::new()));
            }
            tell_owner_of_transfer(state, m, "dice que hizo la transferencia", &waiting).await?;
            Ok(Outcome::TransferToCheck {
                codes: codes_of(&waiting),
            })
        }
        Action::PaymentLinks => {
            let mine = guest_reservations(state, guest).await?;
            let pending: Vec<PendingPayment> = mine
                .iter()
                .filter(|r| r.status == "held")
                .map(|r| PendingPayment {
                    code: r.code.clone(),
                    deposit: r.deposit,
                    link: r.payment_link.clone(),
                })
                .collect();
            if !pending.is_empty() {
                return Ok(Outcome::PaymentLinks(pending));
            }
            // No deposit waiting: what is left is the balance of the stays still to come, with
            // its link when there is one for the amount owed, asked for when there is not.
            let today = argentine_today(now);
            let mut balances = Vec::new();
            for r in mine.iter().filter(|r| {
                r.status == "confirmed" && r.check_in >= today && r.balance_due > Money::ZERO
            }) {
                let (Ok(id), Ok(reservation_id)) = (
                    r.accommodation_id.parse::<AccommodationId>(),
                    r.id.parse::<ReservationId>(),
                ) else {
                    continue;
                };
                let cabin = state.accommodation(id).await?;
                let Some(stay) = cabin.reservation(reservation_id) else {
                    continue;
                };
                let due = stay.balance_due();
                let link = stay
                    .payment_url
                    .clone()
                    .filter(|_| stay.payment_link_amount == Some(due));
                if link.is_none() {
                    crate::payments::request_balance_link(state, id, reservation_id, due).await?;
                }
                balances.push(BalanceDue {
                    code: r.code.clone(),
                    accommodation: r.accommodation_name.clone().unwrap_or_default(),
                    check_in: r.check_in,
                    amount: due,
                    link,
                });
            }
            if !balances.is_empty() {
                return Ok(Outcome::Balances(balances));
            }
            // Nothing to pay, but a hold that just lapsed may be what they paid for.
            let lapsed: Vec<String> = mine
                .into_iter()
                .filter_map(|r| waiting(r, now))
                .filter(|w| w.lapsed)
                .map(|w| w.code)
                .collect();
            if lapsed.is_empty() {
                Ok(Outcome::PaymentLinks(Vec::new()))
            } else {
                Ok(Outcome::Lapsed { codes: lapsed })
            }
        }
        Action::PreviewCancellation { code } => {
            let (id, reservation_id) = match guests_own(state, guest, &code).await? {
                Ok(ids) => ids,
                Err(refused) => return Ok(refused),
            };
            // The cancellation decided but not made: its refunds are what the policy gives back.
            let cabin = state.accommodation(id).await?;
            let paid = cabin
                .reservation(reservation_id)
                .map(|r| r.net_paid())
                .unwrap_or(Money::ZERO);
            match cabin.decide(&guest_cancels(reservation_id), now) {
                Ok(events) => Ok(Outcome::CancellationTerms {
                    code,
                    paid,
                    refund: events
                        .iter()
                        .map(|e| match e {
                            AccommodationEvent::RefundDue(d) => d.amount,
                            _ => Money::ZERO,
                        })
                        .fold(Money::ZERO, |total, amount| total + amount),
                }),
                Err(_) => Ok(Outcome::NotCancellable {
                    code,
                    why: "ya estaba cancelada o vencida".into(),
                }),
            }
        }
        Action::CancelReservation { code } => {
            let (id, reservation_id) = match guests_own(state, guest, &code).await? {
                Ok(ids) => ids,
                Err(refused) => return Ok(refused),
            };
            let cmd = guest_cancels(reservation_id);
            let mut metadata = meta("guest", Some(reservation_id.as_uuid()));
            metadata.source = Some("whatsapp".into());
            metadata.provider_message_id = Some(m.wamid.clone());
            match command(state, id, cmd, metadata).await {
                Ok(_) => Ok(Outcome::Cancelled { code }),
                Err(p) if p.status < 500 => Ok(Outcome::NotCancellable {
                    code,
                    why: match p.kind.as_str() {
                        "/problems/conflict" => "ya estaba cancelada o vencida".into(),
                        _ => "no se puede en este momento".into(),
                    },
                }),
                Err(p) => Err(p),
            }
        }
        Action::MoveHold {
            code,
            accommodation_id,
            check_in,
            check_out,
            guests,
        } => {
            move_hold(
                state,
                m,
                guest,
                &code,
                &accommodation_id,
                (check_in, check_out),
                guests,
            )
            .await
        }
        Action::PlaceHold {
            accommodation_id,
            check_in,
            check_out,
            guests,
        } => {
            let Ok(id) = accommodation_id.parse::<AccommodationId>() else {
                return Ok(Outcome::Unavailable);
            };
            let Ok(stay) = StayDates::new(check_in, check_out) else {
                return Ok(Outcome::Unavailable);
            };
            let name = m
                .profile_name
                .clone()
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| "Huésped de WhatsApp".into());
            record_guest(
                state,
                &GuestInput {
                    name,
                    phone: m.wa_id.clone(),
                    // They wrote to us there.
                    whatsapp: true,
                },
            )
            .await?;
            let reservation_id = ReservationId::from_uuid(derived(&m.wamid, "hold"));
            let cmd = AccommodationCommand::PlaceHold(PlaceHold {
                reservation_id,
                code: fresh_code(state).await?,
                guest_ref: guest.stream_id(),
                stay,
                guests,
                channel: Channel::Whatsapp,
                hold_duration: chrono::Duration::minutes(state.settings.hold_minutes),
            });
            let mut metadata = meta("guest", Some(reservation_id.as_uuid()));
            metadata.source = Some("whatsapp".into());
            metadata.provider_message_id = Some(m.wamid.clone());
            match command(state, id, cmd, metadata).await {
                Ok((done, _)) => Ok(done
                    .events
                    .iter()
                    .find_map(|e| match e {
                        AccommodationEvent::HoldPlaced(h) => Some(Outcome::Held {
                            code: h.code.to_string(),
                            deposit: h.quote.deposit,
                            expires_at: h.expires_at,
                        }),
                        _ => None,
                    })
                    .unwrap_or(Outcome::Unavailable)),
                Err(p) if p.kind == "/problems/dates-unavailable" => Ok(Outcome::Unavailable),
                Err(p) if p.kind == "/problems/conflict" => {
                    // Processed before a crash: the hold exists; answer with it again.
                    let acc = state.accommodation(id).await?;
                    Ok(match acc.reservation(reservation_id) {
                        Some(r) => Outcome::Held {
                            code: r.code.to_string(),
                            deposit: r.quote.deposit,
                            expires_at: r.expires_at,
                        },
                        None => Outcome::Unavailable,
                    })
                }
                Err(p) if p.status == 422 => Ok(Outcome::Unavailable),
                Err(p) => Err(p),
            }
        }
    }
}

/// The guest's hold `code` corrected to other nights or another party, in the same cabin: the
/// hold is cancelled and another placed in one decision (`ReplaceHold`), so a guest who corrects
/// themselves never holds twice, nor loses the first hold when the second cannot be had.
async fn move_hold(
    state: &AppState,
    m: &InboundMessage,
    guest: &GuestId,
    code: &str,
    accommodation_id: &str,
    (check_in, check_out): (chrono::NaiveDate, chrono::NaiveDate),
    guests: u32,
) -> Result<Outcome, Problem> {
    let (Ok(id), Ok(stay)) = (
        accommodation_id.parse::<AccommodationId>(),
        StayDates::new(check_in, check_out),
    ) else {
        return Ok(Outcome::Unavailable);
    };
    let previous = queries::reservation_by_code(&state.db, code)
        .await?
        .filter(|r| r.guest.reference == guest.stream_id())
        .and_then(|r| r.id.parse::<ReservationId>().ok());
    let Some(previous) = previous else {
        return Ok(Outcome::Reservation(None));
    };
    let reservation_id = ReservationId::from_uuid(derived(&m.wamid, "hold"));
    let cmd = AccommodationCommand::ReplaceHold(ReplaceHold {
        previous,
        hold: PlaceHold {
            reservation_id,
            code: fresh_code(state).await?,
            guest_ref: guest.stream_id(),
            stay,
            guests,
            channel: Channel::Whatsapp,
            hold_duration: chrono::Duration::minutes(state.settings.hold_minutes),
        },
    });
    let mut metadata = meta("guest", Some(reservation_id.as_uuid()));
    metadata.source = Some("whatsapp".into());
    metadata.provider_message_id = Some(m.wamid.clone());
    let result = state
        .handler
        .execute(&id.stream_id(), &cmd, state.now(), &metadata)
        .await;
    let done = match result {
        Ok(done) => done,
        Err(eventstore::CommandError::Domain(e)) => {
            return Ok(match e {
                BookingError::InvalidGuestCount { capacity, .. } => {
                    Outcome::PartyTooLarge { largest: capacity }
                }
                // The hold lapsed (or was paid) meanwhile: nothing moved.
                BookingError::NotHeld => Outcome::Lapsed {
                    codes: vec![code.to_owned()],
                },
                _ => Outcome::Unavailable,
            });
        }
        Err(other) => return Err(other.into()),
    };
    // Processed before a crash: the new hold is already there; its answer again.
    let acc = state.accommodation(id).await?;
    Ok(match acc.reservation(reservation_id) {
        Some(r)
            if done.events.is_empty()
                || r.status == domain::accommodation::ReservationStatus::Held =>
        {
            Outcome::Moved {
                code: r.code.to_string(),
                deposit: r.quote.deposit,
                expires_at: r.expires_at,
            }
        }
        _ => Outcome::Unavailable,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use domain::Pricing;

    fn cabin(capacity: u32, min_nights: u32) -> queries::AccommodationView {
        queries::AccommodationView {
            id: format!("cabin-{capacity}-{min_nights}"),
            name: "Cabaña".into(),
            capacity,
            min_nights,
            check_in_time: "14:00".into(),
            check_out_time: "10:00".into(),
            pricing: Pricing::simple(Money::pesos(40_000), Money::ZERO),
            utc_offset_minutes: -180,
        }
    }

    fn nights(n: u64) -> StayDates {
        let check_in = NaiveDate::from_ymd_opt(2027, 1, 15).unwrap();
        StayDates::new(check_in, check_in + chrono::Days::new(n)).unwrap()
    }

    #[test]
    fn an_empty_search_says_whether_the_party_or_the_stay_is_what_does_not_fit() {
        let cabins = [cabin(4, 2), cabin(6, 3)];
        assert_eq!(
            why_nothing(&cabins, &nights(3), 8),
            Outcome::PartyTooLarge { largest: 6 }
        );
        // Only the cabin for six takes five, and it asks for three nights.
        assert_eq!(
            why_nothing(&cabins, &nights(2), 5),
            Outcome::StayTooShort { min_nights: 3 }
        );
        // Two nights suit the cabin for four: it is the nights that are taken.
        assert_eq!(
            why_nothing(&cabins, &nights(2), 3),
            Outcome::Offers(Vec::new())
        );
        assert_eq!(why_nothing(&[], &nights(2), 3), Outcome::Offers(Vec::new()));
    }
}
