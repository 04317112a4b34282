//! The WhatsApp reply outbox: replies are enqueued (idempotently, by reply id) in the same
//! transaction as whatever caused them, and a sender drains them in order through the Cloud API
//! client. A transient failure puts the reply back with a later attempt time (and stops the
//! batch, so a guest's replies never overtake each other); a permanent one is recorded for the
//! admin. Without credentials (sandbox) replies are stored, not sent.
//!
//! Claims expire: a sender that dies mid-send leaves its rows to be claimed again after a
//! minute. WhatsApp takes no idempotency key, so each message carries its reply id as
//! `biz_opaque_callback_data`, which Meta echoes in the status updates of that message. A row
//! found still "sending" after its claim expired is in doubt: if a status update with its id
//! has arrived, Meta took it and it is marked sent; only if none has (in a minute) is it sent
//! again. The same holds for a send that timed out (Meta may have it): the client does not
//! repeat it, and the reply waits `STATUS_WAIT_MS` for its status update before another try.
//!
//! A reply WhatsApp refuses because the guest's 24-hour window has closed (at once, or later in
//! its status update) is sent again as the operator's notice template, when one is configured,
//! under the id `{reply id}:notice`: the refused one stays listed as failed.
//!
//! A guest's picture or document forwarded to the owner (a transfer receipt) is queued with the
//! guest's media id under `forward`. Meta sends media by the id of an upload of the business's
//! own, so at send time the file is fetched and uploaded again, and the message goes with the
//! new id; a failure on the way is retried like a failed send, and a file Meta no longer has
//! (or one too large) fails for good, as a refused reply does.

use conversation::reply::{Reply, send_number};
use eventstore::{Db, Tx, db_exec, db_fetch, exec};
use integrations::whatsapp::client::{CloudApi, SendError};
use integrations::whatsapp::media::{MediaClient, MediaError};
use integrations::whatsapp::template::{NoticeTemplate, OUTSIDE_WINDOW};
use integrations::whatsapp::webhook::InboundMessage;

use crate::queue::{Queue, Shape};

const BATCH: i64 = 20;
/// How long a reply Meta did not confirm waits for its status update before it is sent again.
/// Meta reports a message it took within seconds; sending again without a report risks a
/// duplicate, never a loss.
const STATUS_WAIT_MS: i64 = 20_000;
/// The Cloud API's limit on `biz_opaque_callback_data`.
const TRACKER_MAX: usize = 512;
/// Where a forward keeps the guest's file until it is sent (see the module's doc).
const FORWARD: &str = "forward";
/// The largest file forwarded: above any picture WhatsApp carries (5 MB), and ample for a
/// receipt's PDF; a larger document is not read into memory to be sent on.
pub const MAX_FORWARD_BYTES: u64 = 16 * 1024 * 1024;

pub struct Outbox {
    db: Db,
    api: Option<std::sync::Arc<CloudApi>>,
    /// Fetches the guests' files that are forwarded.
    media: Option<MediaClient>,
    notice: Option<NoticeTemplate>,
    /// Set while this instance's sender holds the lease (shown by `/readyz`).
    active: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
}

/// Queues `reply` for the guest `wa_id`; a second call with the same `id` does nothing.
pub async fn enqueue(
    db: &Db,
    id: &str,
    wa_id: &str,
    reply: &Reply,
    now_ms: i64,
) -> Result<bool, sqlx::Error> {
    let message = reply.to_cloud_api(&send_number(wa_id));
    insert(db, id, wa_id, message, (now_ms, now_ms)).await
}

/// Queues a rendered Cloud API message under `id` (a no-op if that id is queued already), due
/// at `due_ms` and placed in its guest's order at `created_ms`.
async fn insert(
    db: &Db,
    id: &str,
    wa_id: &str,
    message: serde_json::Value,
    (created_ms, due_ms): (i64, i64),
) -> Result<bool, sqlx::Error> {
    let body = tracked(id, message);
    let n = db_exec!(
        db,
        INSERT.to_owned(),
        id.to_owned(),
        wa_id.to_owned(),
        body,
        due_ms,
        created_ms
    )?;
    Ok(n == 1)
}

/// [`insert`], inside a transaction of the caller's.
async fn insert_in(
    tx: &mut Tx,
    id: &str,
    wa_id: &str,
    message: serde_json::Value,
    (created_ms, due_ms): (i64, i64),
) -> Result<bool, sqlx::Error> {
    let body = tracked(id, message);
    let n = exec!(
        tx,
        INSERT.to_owned(),
        id.to_owned(),
        wa_id.to_owned(),
        body,
        due_ms,
        created_ms
    )?;
    Ok(n == 1)
}

/// A reply's row: a no-op when its id is queued already.
const INSERT: &str = "INSERT INTO wa_outbox (id, wa_id, body, next_attempt_at_ms, created_at_ms) \
                      VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING";

/// The message as stored, carrying its reply id as `biz_opaque_callback_data`: Meta echoes it
/// in the message's status updates, which is how an interrupted send is recognised.
fn tracked(id: &str, mut message: serde_json::Value) -> String {
    if id.len() <= TRACKER_MAX
        && let Some(fields) = message.as_object_mut()
    {
        fields.insert("biz_opaque_callback_data".into(), id.into());
    }
    message.to_string()
}

/// Queues the reply `id` again as the notice template when Meta refused it (with `code`) for
/// being outside the guest's 24-hour window. Any other refusal, no template configured, or
/// nothing in the reply to carry (a notice is a template already: it is never resent), and
/// the refusal stands.
async fn resend_as_notice(
    db: &Db,
    id: &str,
    code: Option<i64>,
    notice: Option<&NoticeTemplate>,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    let Some(notice) = notice.filter(|_| code == Some(OUTSIDE_WINDOW)) else {
        return Ok(());
    };
    let row: Option<(String, String, i64)> = db_fetch!(
        db,
        (String, String, i64),
        fetch_optional,
        "SELECT wa_id, body, created_at_ms FROM wa_outbox WHERE id = $1".to_owned(),
        id.to_owned()
    )?;
    let Some((wa_id, body, created_ms)) = row else {
        return Ok(());
    };
    let refused: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    let Some(message) = notice.carry(&refused) else {
        return Ok(());
    };
    // In the refused reply's place among the guest's replies (its id sorts right after it), so
    // several refused replies go again in the order they were written.
    let notice_id = format!("{id}:notice");
    if insert(db, &notice_id, &wa_id, message, (created_ms, now_ms)).await? {
        metrics::counter!("cabanas_replies_total", "outcome" => "notice").increment(1);
    }
    Ok(())
}

/// Queues `replies` to the sender of message `m`, in order, under ids derived from the
/// message (so a message taken up twice queues its answers once).
pub async fn reply(
    state: &crate::context::Context,
    m: &InboundMessage,
    replies: &[Reply],
) -> Result<(), sqlx::Error> {
    let mut tx = Tx::begin_durable(&state.db).await?;
    reply_in(&mut tx, m, replies, state.now().timestamp_millis()).await?;
    tx.commit().await
}

/// [`reply`], inside a transaction of the caller's (a turn's, with its dialogue). A turn's
/// replies share one "now"; their order is kept by creation time, one millisecond apart, not by
/// when they fall due.
pub async fn reply_in(
    tx: &mut Tx,
    m: &InboundMessage,
    replies: &[Reply],
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    for (i, r) in replies.iter().enumerate() {
        let message = r.to_cloud_api(&send_number(&m.wa_id));
        let id = format!("{}:{i}", m.wamid);
        insert_in(tx, &id, &m.wa_id, message, (now_ms + i as i64, now_ms)).await?;
    }
    Ok(())
}

/// Records what a status update says Meta did with the reply `id` once it had taken it: it
/// could not deliver it (code and title of the first error). A reply refused for being outside
/// the 24-hour window goes again as the notice template.
pub async fn undelivered(
    db: &Db,
    id: &str,
    code: Option<i64>,
    title: &str,
    notice: Option<&NoticeTemplate>,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    db_exec!(
        db,
        // Still 'sending' when the update outran the sender's own record of the send: the
        // sender then leaves the row as it is (see `finish`).
        "UPDATE wa_outbox SET status = 'failed', error_code = $2, last_error = $3, \
         claimed_until_ms = NULL WHERE id = $1 AND status IN ('sent', 'sending')"
            .to_owned(),
        id.to_owned(),
        code,
        title.to_owned()
    )?;
    resend_as_notice(db, id, code, notice, now_ms).await
}

/// Whether a reply with this id was queued already (sent or not).
pub async fn queued(db: &Db, id: &str) -> Result<bool, sqlx::Error> {
    let (n,): (i64,) = db_fetch!(
        db,
        (i64,),
        fetch_one,
        "SELECT COUNT(*) FROM wa_outbox WHERE id = $1".to_owned(),
        id.to_owned()
    )?;
    Ok(n > 0)
}

/// Tells the owner (when `CABANAS_OWNER_WHATSAPP` is set) something that needs them; `id` makes
/// a repeated alert a no-op.
pub async fn alert_owner(
    state: &crate::context::Context,
    id: &str,
    text: String,
) -> Result<(), sqlx::Error> {
    alert_owner_with(state, id, &Reply::Text(text)).await
}

/// `alert_owner` with any reply (buttons the owner can answer with, see `owner`).
pub async fn alert_owner_with(
    state: &crate::context::Context,
    id: &str,
    reply: &Reply,
) -> Result<(), sqlx::Error> {
    let Some(owner) = state.settings.owner() else {
        return Ok(());
    };
    enqueue(
        &state.db,
        &format!("owner:{id}"),
        owner,
        reply,
        state.now().timestamp_millis(),
    )
    .await?;
    state.outbox_wake.notify_one();
    Ok(())
}

/// A picture or a document a guest sent, to forward to the owner.
pub struct File<'a> {
    /// `image` or `document`, as Meta names the message type.
    pub kind: &'a str,
    pub media_id: &'a str,
    pub mime_type: Option<&'a str>,
    pub filename: Option<&'a str>,
}

/// Forwards a guest's file to the owner (when `CABANAS_OWNER_WHATSAPP` is set), with `caption`;
/// `id` makes a repeated forward a no-op.
pub async fn forward_to_owner(
    state: &crate::context::Context,
    id: &str,
    file: File<'_>,
    caption: String,
) -> Result<(), sqlx::Error> {
    let Some(owner) = state.settings.owner() else {
        return Ok(());
    };
    let now = state.now().timestamp_millis();
    enqueue_file(&state.db, &format!("owner:{id}"), owner, file, caption, now).await?;
    state.outbox_wake.notify_one();
    Ok(())
}

/// Queues `file` for `wa_id` with `caption`; a second call with the same `id` does nothing, and
/// so does a kind of file other than a picture or a document. The file is fetched when the
/// message is sent (see the module's doc).
pub async fn enqueue_file(
    db: &Db,
    id: &str,
    wa_id: &str,
    file: File<'_>,
    caption: String,
    now_ms: i64,
) -> Result<bool, sqlx::Error> {
    let mut shown = serde_json::json!({ "caption": caption });
    match file.kind {
        "image" => {}
        "document" => shown["filename"] = file.filename.unwrap_or("comprobante").into(),
        _ => return Ok(false),
    }
    let message = serde_json::json!({
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": send_number(wa_id),
        "type": file.kind,
        file.kind: shown,
        FORWARD: {
            "media_id": file.media_id,
            "mime_type": file.mime_type,
            "filename": file.filename,
        },
    });
    insert(db, id, wa_id, message, (now_ms, now_ms)).await
}

/// A reply Meta reported on: its message id, and the error code and title if it failed.
struct Tracked {
    wamid: String,
    failure: Option<(Option<i64>, String)>,
}

impl Outbox {
    pub fn new(db: Db, api: Option<CloudApi>) -> Outbox {
        Outbox::shared(db, api.map(std::sync::Arc::new))
    }

    /// With a client shared with the rest of the service (one circuit breaker for WhatsApp).
    pub fn shared(db: Db, api: Option<std::sync::Arc<CloudApi>>) -> Outbox {
        Outbox {
            db,
            api,
            media: None,
            notice: None,
            active: None,
        }
    }

    /// Forwards fetch their files with `media`.
    pub fn with_media(self, media: Option<MediaClient>) -> Outbox {
        Outbox { media, ..self }
    }

    /// Replies refused outside the 24-hour window go again as this template.
    pub fn with_notice(self, notice: Option<NoticeTemplate>) -> Outbox {
        Outbox { notice, ..self }
    }

    /// Keeps `flag` set while this sender holds the lease, unset while it stands by.
    pub fn reporting_to(self, flag: std::sync::Arc<std::sync::atomic::AtomicBool>) -> Outbox {
        Outbox {
            active: Some(flag),
            ..self
        }
    }

    /// Sends what is due now, in order; returns how many replies reached a final state.
    pub async fn drain_once(&self, now_ms: i64) -> Result<usize, sqlx::Error> {
        let queue = Queue::with(self.db.clone(), Shape::OUTBOX);
        let mut claimed = Vec::new();
        for c in queue.claim(now_ms, BATCH).await? {
            if (c.retaken || c.attempts > 0)
                && let Some(known) = self.tracked(&c.id).await?
            {
                // Meta took this reply before (a sender stopped, or its answer never came): do
                // not repeat it. What Meta said it did with it is the outcome, a failed
                // delivery included.
                self.recovered(&c.id, known, now_ms).await?;
                continue;
            }
            // The body came with the claim (`Shape::OUTBOX` carries it).
            if let Some(body) = c.carried {
                claimed.push((c.id, body, c.attempts));
            }
        }
        let mut done = 0;
        let mut rest = claimed.into_iter();
        while let Some((id, body, attempts)) = rest.next() {
            let Some(api) = &self.api else {
                self.finish(&id, "sandbox", None, None, None, now_ms)
                    .await?;
                done += 1;
                continue;
            };
            let message: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
            let sent = match self.with_file(api, message).await {
                Ok(message) => api.send(&message).await,
                Err(err) => Err(err),
            };
            match sent {
                Ok(wamid) => {
                    self.finish(&id, "sent", Some(wamid), None, None, now_ms)
                        .await?;
                    metrics::counter!("cabanas_replies_total", "outcome" => "sent").increment(1);
                    done += 1;
                }
                Err(SendError::Permanent { code, message }) => {
                    tracing::warn!(code = ?code, "WhatsApp refused a reply for good");
                    self.finish(&id, "failed", None, code, Some(message), now_ms)
                        .await?;
                    metrics::counter!("cabanas_replies_total", "outcome" => "failed").increment(1);
                    resend_as_notice(&self.db, &id, code, self.notice.as_ref(), now_ms).await?;
                    done += 1;
                }
                Err(err) => {
                    let due = match err {
                        // Meta may have it: its status update, due within seconds, says so
                        // before this is tried again (and then it is not repeated).
                        SendError::Unconfirmed(_) => now_ms + STATUS_WAIT_MS,
                        _ => now_ms + queue.backoff_ms(attempts + 1),
                    };
                    // Later replies wait too, so nothing overtakes this one.
                    queue
                        .put_back_until(&id, attempts + 1, &err.to_string(), due)
                        .await?;
                    for (later, _, later_attempts) in rest.by_ref() {
                        queue
                            .put_back(&later, later_attempts, "waiting behind a retry", now_ms)
                            .await?;
                    }
                    metrics::counter!("cabanas_replies_total", "outcome" => "retry").increment(1);
                }
            }
        }
        Ok(done)
    }

    /// `message` ready to send: a forward gets its file fetched from Meta and uploaded again, in
    /// place of the guest's media id (see the module's doc); anything else is sent as it is.
    async fn with_file(
        &self,
        api: &CloudApi,
        mut message: serde_json::Value,
    ) -> Result<serde_json::Value, SendError> {
        let Some(forward) = message.as_object_mut().and_then(|m| m.remove(FORWARD)) else {
            return Ok(message);
        };
        let refused = |why: String| SendError::Permanent {
            code: None,
            message: why,
        };
        let media = self
            .media
            .as_ref()
            .ok_or_else(|| refused("no WhatsApp media client to fetch the file with".into()))?;
        let text = |k: &str| forward.get(k).and_then(serde_json::Value::as_str);
        let file = media
            .download(text("media_id").unwrap_or_default())
            .await
            .map_err(|err| match err {
                MediaError::Transient(_) | MediaError::CircuitOpen => {
                    SendError::Transient(err.to_string())
                }
                MediaError::Gone(_) | MediaError::TooLarge { .. } | MediaError::Corrupt => {
                    refused(err.to_string())
                }
            })?;
        let mime_type = match file.mime_type.as_str() {
            "" => text("mime_type").unwrap_or("application/octet-stream"),
            announced => announced,
        };
        let id = api
            .upload(
                &file.bytes,
                mime_type,
                text("filename").unwrap_or("comprobante"),
            )
            .await?;
        let kind = message["type"].as_str().unwrap_or_default().to_owned();
        match message.get_mut(&kind) {
            Some(serde_json::Value::Object(body)) => {
                body.insert("id".into(), id.into());
                Ok(message)
            }
            _ => Err(refused(format!("a forward of an unknown kind {kind:?}"))),
        }
    }

    /// Records a claimed reply's outcome; a row a status update has marked failed meanwhile
    /// stays failed.
    async fn finish(
        &self,
        id: &str,
        status: &str,
        wamid: Option<String>,
        code: Option<i64>,
        error: Option<String>,
        now_ms: i64,
    ) -> Result<(), sqlx::Error> {
        db_exec!(
            &self.db,
            "UPDATE wa_outbox SET status = $2, wamid = $3, error_code = $4, last_error = $5, \
             sent_at_ms = $6, claimed_until_ms = NULL WHERE id = $1 AND status = 'sending'"
                .to_owned(),
            id.to_owned(),
            status.to_owned(),
            wamid,
            code,
            error,
            now_ms
        )?;
        if matches!(status, "sent" | "sandbox") {
            self.time_the_answer(id, now_ms).await?;
        }
        Ok(())
    }

    /// The first reply to a guest's message (`{wamid}:0`) left: how long the guest waited,
    /// from the delivery's arrival, for the reply-time objectives (text under 3 s, a voice note
    /// under 15 s at the 95th percentile).
    async fn time_the_answer(&self, id: &str, now_ms: i64) -> Result<(), sqlx::Error> {
        let Some(wamid) = id.strip_suffix(":0") else {
            return Ok(());
        };
        let received: Option<(String, i64)> = db_fetch!(
            &self.db,
            (String, i64),
            fetch_optional,
            "SELECT kind, received_at_ms FROM wa_inbox WHERE wamid = $1".to_owned(),
            wamid.to_owned()
        )?;
        if let Some((kind, at_ms)) = received {
            let kind = if kind == "audio" { "voice" } else { "text" };
            let waited = (now_ms - at_ms).max(0) as f64 / 1000.0;
            metrics::histogram!("cabanas_reply_seconds", "kind" => kind).record(waited);
        }
        Ok(())
    }

    /// Meta's id for a reply it reported on, found by the tracker the reply was sent with.
    /// What Meta's status updates say about the reply sent with tracker `id`, if any came.
    async fn tracked(&self, id: &str) -> Result<Option<Tracked>, sqlx::Error> {
        let rows: Vec<(String, String, String)> = db_fetch!(
            &self.db,
            (String, String, String),
            fetch_all,
            "SELECT wamid, status, errors FROM wa_statuses WHERE tracker = $1".to_owned(),
            id.to_owned()
        )?;
        let Some((wamid, _, _)) = rows.first() else {
            return Ok(None);
        };
        // A message Meta could not deliver never turns delivered later.
        let failure =
            rows.iter()
                .find(|(_, status, _)| status == "failed")
                .map(|(_, _, errors)| {
                    let first = serde_json::from_str::<Vec<serde_json::Value>>(errors)
                        .unwrap_or_default()
                        .into_iter()
                        .next()
                        .unwrap_or_default();
                    (
                        first["code"].as_i64(),
                        first["title"]
                            .as_str()
                            .unwrap_or("delivery failed")
                            .to_owned(),
                    )
                });
        Ok(Some(Tracked {
            wamid: wamid.clone(),
            failure,
        }))
    }

    /// A reply a stopped sender had handed to Meta: recorded as Meta reported it.
    async fn recovered(&self, id: &str, known: Tracked, now_ms: i64) -> Result<(), sqlx::Error> {
        match known.failure {
            None => {
                self.finish(id, "sent", Some(known.wamid), None, None, now_ms)
                    .await?;
                metrics::counter!("cabanas_replies_total", "outcome" => "recovered").increment(1);
            }
            Some((code, title)) => {
                tracing::warn!(code = ?code, "WhatsApp reports an interrupted reply failed");
                self.finish(id, "failed", Some(known.wamid), code, Some(title), now_ms)
                    .await?;
                metrics::counter!("cabanas_replies_total", "outcome" => "failed").increment(1);
                resend_as_notice(&self.db, id, code, self.notice.as_ref(), now_ms).await?;
            }
        }
        Ok(())
    }
}

/// Drains the outbox until the service stops, on one instance at a time: at once when woken (a
/// reply was queued), otherwise every half second (retries coming due, replies other instances
/// queued). A pass under way when the stop comes is finished first, so a reply already handed
/// to Meta is recorded as sent.
pub async fn run(
    outbox: Outbox,
    clock: crate::context::Clock,
    wake: std::sync::Arc<tokio::sync::Notify>,
    mut stop: crate::Stop,
) {
    // With several instances one sends at a time (the lease, as `chat::run` holds one): two
    // senders could each claim one of a guest's replies and deliver them out of order.
    let mut lease = projections::lease::Lease::new("cabanas-worker");
    let mut was_active = false;
    loop {
        let active = match lease.acquire(&outbox.db, &["outbox"]).await {
            Ok(held) => !held.is_empty(),
            Err(err) => {
                tracing::warn!(error = %err, "reply outbox lease unavailable");
                false
            }
        };
        if active && !was_active {
            // The sender before (a run that stopped, or an instance that died) held the lease
            // alone: its claims are taken up as retaken once the status update of a reply it
            // was handing over has had time to arrive (then it is not sent again), instead of
            // a minute after they were claimed.
            let queue = Queue::with(outbox.db.clone(), Shape::OUTBOX);
            let until = clock().timestamp_millis() + STATUS_WAIT_MS;
            if let Err(err) = queue.release_claims(until).await {
                tracing::warn!(error = %err, "replies claimed by the sender before not released");
            }
        }
        was_active = active;
        if let Some(flag) = &outbox.active {
            flag.store(active, std::sync::atomic::Ordering::Relaxed);
        }
        if active && let Err(err) = outbox.drain_once(clock().timestamp_millis()).await {
            tracing::warn!(error = %err, "reply outbox pass failed; will retry");
        }
        if !stop
            .idle(std::time::Duration::from_millis(500), &wake)
            .await
        {
            return;
        }
    }
}
