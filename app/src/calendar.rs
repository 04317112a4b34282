//! iCal channel sync with Airbnb, Booking.com and any other calendar:
//!
//! - Export: `GET /ical/{accommodation}.ics?token=…[&channel=airbnb]`, from the availability read
//!   model; `ETag`/`Last-Modified` come from the `channels` read model, so a poll that finds
//!   nothing new costs one row read and answers 304. Stays that came from `channel` are left
//!   out (no echo loops).
//! - Import: feeds configured per accommodation, polled every `CABANAS_ICAL_INTERVAL_SECS`
//!   (jittered) by whichever instance claims them; a fetch is applied only when it is a whole,
//!   plausible calendar (`SyncCalendar` on the accommodation stream); otherwise the feed is marked
//!   unhealthy with the reason and the last good state stays.
//! - Admin: feeds (add, list with health, sync now, remove), the export URL and its rotation,
//!   open conflicts.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use domain::accommodation::{
    AccommodationCommand, ExternalKind, ExternalStay, SyncCalendar, local_today,
};
use domain::{
    Accommodation, AccommodationEvent, AccommodationId, Aggregate, DomainEvent, StayDates,
};
use eventstore::{Db, db_exec, db_fetch};
use integrations::ical::{self, ExportStay, Feed, Fetched};
use projections::StayStatus;
use projections::queries;
use projections::sql::from_millis;
use serde_json::{Value, json};

use crate::context::Context;
use crate::error::AppError;
use crate::execute::{Origin, Source, execute};

// ---------------------------------------------------------------------------------------------
// Export
// ---------------------------------------------------------------------------------------------

/// The accommodation's export token, created on first use.
async fn token(db: &Db, accommodation: &str, now_ms: i64) -> Result<String, sqlx::Error> {
    db_exec!(
        db,
        "INSERT INTO ical_tokens (accommodation_id, token, rotated_at_ms) VALUES ($1, $2, $3) \
         ON CONFLICT (accommodation_id) DO NOTHING"
            .to_owned(),
        accommodation.to_owned(),
        fresh_token(),
        now_ms
    )?;
    let (t,): (String,) = db_fetch!(
        db,
        (String,),
        fetch_one,
        "SELECT token FROM ical_tokens WHERE accommodation_id = $1".to_owned(),
        accommodation.to_owned()
    )?;
    Ok(t)
}

fn fresh_token() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// What a channel polling the export is answered.
pub enum Export {
    /// Its copy is current (`If-None-Match` / `If-Modified-Since` matched).
    NotModified { etag: String, last_modified: String },
    Calendar {
        body: String,
        etag: String,
        last_modified: String,
    },
}

/// A channel's conditional request headers, as sent.
#[derive(Default)]
pub struct Conditional<'a> {
    pub if_none_match: Option<&'a str>,
    pub if_modified_since: Option<&'a str>,
}

/// The calendar `file` (`{accommodation}.ics`) for the holder of `token`, as `channel` sees it:
/// the stays that came from `channel` are left out (no echo loops). The ETag is built only from
/// the calendar's version, the day and a validated channel name: nothing the caller sent is
/// echoed into a header.
pub async fn export(
    ctx: &Context,
    file: &str,
    token_given: Option<&str>,
    channel: Option<&str>,
    conditional: Conditional<'_>,
) -> Result<Export, AppError> {
    let Some(id) = file
        .strip_suffix(".ics")
        .and_then(|id| id.parse::<AccommodationId>().ok())
    else {
        return Err(AppError::not_found("no such calendar"));
    };
    let channel = channel.unwrap_or_default().trim().to_lowercase();
    if !channel.is_empty() && !domain::accommodation::valid_calendar_name(&channel) {
        return Err(AppError::invalid(
            "channel must be 1 to 40 lower-case letters, digits, - or _",
        ));
    }
    let id = id.to_string();
    let Some(cabin) = queries::cabin_calendar(&ctx.db, &id).await? else {
        return Err(AppError::not_found("no such calendar"));
    };
    let expected = token(&ctx.db, &id, ctx.now().timestamp_millis()).await?;
    if !token_given.is_some_and(|t| same(t, &expected)) {
        return Err(AppError::Forbidden(
            "the calendar token is missing or wrong".into(),
        ));
    }
    let (position, changed) = match queries::calendar_version(&ctx.db, &id).await? {
        Some(v) => (v.position, v.changed_at),
        None => (0, cabin.registered_at),
    };
    let today = local_today(ctx.now(), cabin.utc_offset_minutes);
    // The day is part of it: stays that ended a week ago drop out without any event.
    let etag = format!("\"{position}-{today}-{channel}\"");
    let last_modified = changed.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    let fresh = match (conditional.if_none_match, conditional.if_modified_since) {
        (Some(tags), _) => tags.split(',').any(|t| t.trim() == etag || t.trim() == "*"),
        (None, Some(since)) => DateTime::parse_from_rfc2822(since)
            .map(|s| s.timestamp() >= changed.timestamp())
            .unwrap_or(false),
        _ => false,
    };
    if fresh {
        return Ok(Export::NotModified {
            etag,
            last_modified,
        });
    }
    let stays = export_stays(ctx, &id, today, &channel).await?;
    let body = ical::export(
        &cabin.name,
        &stays,
        &changed.format("%Y%m%dT%H%M%SZ").to_string(),
    );
    Ok(Export::Calendar {
        body,
        etag,
        last_modified,
    })
}

/// Compares two secrets in constant time.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0, |d, (x, y)| d | (x ^ y)) == 0
}

/// The stays a channel is sent: a week back and everything ahead, but its own.
async fn export_stays(
    ctx: &Context,
    id: &str,
    today: chrono::NaiveDate,
    channel: &str,
) -> Result<Vec<ExportStay>, AppError> {
    let stays =
        queries::stays_to_export(&ctx.db, id, today - chrono::Duration::days(7), channel).await?;
    Ok(stays
        .into_iter()
        .map(|s| ExportStay {
            uid: format!("{}@cabanas", s.occupant_id),
            check_in: s.check_in,
            check_out: s.check_out,
            summary: match s.status {
                StayStatus::Blocked => "No disponible".to_owned(),
                StayStatus::Held => "Reservado (pendiente de pago)".to_owned(),
                StayStatus::Confirmed => "Reservado".to_owned(),
            },
            code: s.code,
            source: s.source,
        })
        .collect())
}

// ---------------------------------------------------------------------------------------------
// Import
// ---------------------------------------------------------------------------------------------

/// The stays a parsed feed asks for, as the domain takes them.
pub fn to_command(source: &str, feed: &Feed) -> AccommodationCommand {
    AccommodationCommand::SyncCalendar(SyncCalendar {
        calendar: source.to_owned(),
        events: feed
            .events
            .iter()
            .filter_map(|e| {
                Some(ExternalStay {
                    uid: e.uid.clone(),
                    stay: StayDates::new(e.check_in, e.check_out).ok()?,
                    kind: if e.not_available {
                        ExternalKind::NotAvailable
                    } else {
                        ExternalKind::Reservation
                    },
                })
            })
            .collect(),
        complete: feed.complete,
    })
}

/// One line per change a sync makes (for the dry run and the admin's "sync now").
pub fn describe(e: &AccommodationEvent) -> String {
    use AccommodationEvent as E;
    match e {
        E::DatesBlocked(b) => format!("block {} → {}", b.stay.check_in(), b.stay.check_out()),
        E::DatesUnblocked(u) => format!("unblock {} → {}", u.stay.check_in(), u.stay.check_out()),
        E::BlockMoved(m) => format!(
            "move {} → {} to {} → {}",
            m.previous.check_in(),
            m.previous.check_out(),
            m.stay.check_in(),
            m.stay.check_out()
        ),
        E::ExternalConflictDetected(c) => format!(
            "CONFLICT {} → {} ({}) overlaps {}",
            c.stay.check_in(),
            c.stay.check_out(),
            c.uid,
            c.occupant_code
                .as_ref()
                .map(|c| format!("reservation {c}"))
                .unwrap_or_else(|| "a block".into())
        ),
        E::ExternalConflictResolved(r) => format!("conflict resolved ({})", r.uid),
        E::HoldExpired(x) => format!("expire lapsed hold {}", x.reservation_id),
        other => other.event_type().to_owned(),
    }
}

/// What a sync would change, without changing it.
pub async fn dry_run(
    state: &Context,
    accommodation: AccommodationId,
    command: &AccommodationCommand,
) -> Result<Vec<AccommodationEvent>, AppError> {
    let acc = state.accommodation(accommodation).await?;
    Ok(acc.decide(command, state.now())?)
}

struct FeedRow {
    id: String,
    accommodation: String,
    source: String,
    url: String,
    etag: Option<String>,
    last_modified: Option<String>,
    last_event_count: Option<i32>,
}

/// The outcome of one fetch, as recorded on the feed.
pub struct SyncOutcome {
    pub healthy: bool,
    pub detail: String,
    pub changes: Vec<String>,
}

/// Fetches one feed and applies it when it is sound, and records the attempt on the feed.
/// `force` applies even a feed that suddenly became empty (the admin confirming the calendar
/// really was cleared).
async fn sync_feed(state: &Context, feed: &FeedRow, force: bool) -> Result<SyncOutcome, AppError> {
    let now = state.now().timestamp_millis();
    let fetched = state
        .ical
        .fetch(
            &feed.url,
            feed.etag.as_deref(),
            feed.last_modified.as_deref(),
        )
        .await;
    let outcome = match fetched {
        Err(e) => unhealthy(format!("fetch failed: {e}")),
        Ok(Fetched::NotModified) => SyncOutcome {
            healthy: true,
            detail: "not modified".into(),
            changes: Vec::new(),
        },
        Ok(Fetched::Body {
            bytes,
            etag,
            last_modified,
        }) => {
            let validators = (etag, last_modified);
            downloaded(state, feed, &bytes, validators, force, now).await?
        }
    };
    record_attempt(state, feed, &outcome, now).await?;
    Ok(outcome)
}

fn unhealthy(detail: String) -> SyncOutcome {
    SyncOutcome {
        healthy: false,
        detail,
        changes: Vec::new(),
    }
}

/// A feed's new body: refused when it cannot be read or suddenly lists nothing (a calendar
/// emptied by mistake would free every night it held), passed over when the feed was removed
/// meanwhile, applied otherwise.
async fn downloaded(
    state: &Context,
    feed: &FeedRow,
    bytes: &[u8],
    (etag, last_modified): (Option<String>, Option<String>),
    force: bool,
    now: i64,
) -> Result<SyncOutcome, AppError> {
    let offset = offset_of(&state.db, &feed.accommodation).await?;
    let had = feed.last_event_count.unwrap_or(0);
    Ok(match ical::parse(bytes, offset) {
        Err(e) => unhealthy(format!("not applied: {e}")),
        Ok(parsed)
            if parsed.events.is_empty() && !force && had >= state.settings.ical_empty_guard =>
        {
            unhealthy(format!(
                "not applied: the feed suddenly lists no events (it had {had})"
            ))
        }
        Ok(_) if removed(state, &feed.id).await? => SyncOutcome {
            healthy: true,
            detail: "removed: not applied".into(),
            changes: Vec::new(),
        },
        Ok(parsed) => {
            let changes = apply(state, feed, &parsed, now).await?;
            db_exec!(
                &state.db,
                "UPDATE ical_feeds SET etag = $2, last_modified = $3, last_event_count = $4 \
                 WHERE id = $1"
                    .to_owned(),
                feed.id.clone(),
                etag,
                last_modified,
                parsed.events.len() as i32
            )?;
            let partial = if parsed.complete {
                ""
            } else {
                " (no closing line: nothing removed)"
            };
            SyncOutcome {
                healthy: true,
                detail: format!("{} events{partial}", parsed.events.len()),
                changes,
            }
        }
    })
}

/// Applies a parsed feed to its cabin (one `SyncCalendar`), tells the owner of every booking
/// it brings over nights of ours, and says what changed.
async fn apply(
    state: &Context,
    feed: &FeedRow,
    parsed: &Feed,
    now: i64,
) -> Result<Vec<String>, AppError> {
    let accommodation: AccommodationId = feed
        .accommodation
        .parse()
        .map_err(|_| AppError::invalid("unreadable accommodation id"))?;
    let command = to_command(&feed.source, parsed);
    // One correlation per fetch: every change one download caused.
    let origin = Origin::new(Source::Ical, "ical")
        .caused_by(&format!("ical-feed:{}:{now}", feed.id))
        .correlated(uuid::Uuid::now_v7());
    let done = execute(state, accommodation, command, &origin).await?;
    if removed(state, &feed.id).await? {
        // Removed while this download was applied: the removal's own lifting may have run
        // before it, so lift again; nothing of a removed calendar stays.
        lift(state, accommodation, &feed.source, &feed.id).await?;
    }
    for e in &done.events {
        if let AccommodationEvent::ExternalConflictDetected(c) = e {
            tracing::warn!(source = %feed.source, "an imported booking overlaps one of ours");
            metrics::counter!("cabanas_ical_conflicts_total").increment(1);
            let id = format!(
                "conflict:{}:{}:{}:{}",
                feed.accommodation,
                c.calendar,
                c.uid,
                c.stay.check_in()
            );
            let text = conversation::notices::alerts::calendar_conflict(
                &c.calendar,
                c.stay.check_in(),
                c.stay.check_out(),
                c.occupant_code
                    .as_ref()
                    .map(|code| code.to_string())
                    .as_deref(),
            );
            crate::outbox::alert_owner(state, &id, text).await?;
        }
    }
    Ok(done.events.iter().map(describe).collect())
}

/// The attempt on the feed: when, whether it was sound, and the next fetch (with jitter, so
/// that feeds added together do not stay in step).
async fn record_attempt(
    state: &Context,
    feed: &FeedRow,
    outcome: &SyncOutcome,
    now: i64,
) -> Result<(), AppError> {
    let interval = state.settings.ical_interval.as_millis() as i64;
    let jitter = rand::random::<u64>() % (interval as u64 / 10 + 1);
    db_exec!(
        &state.db,
        "UPDATE ical_feeds SET last_attempt_at_ms = $2, \
         last_success_at_ms = CASE WHEN $3 = 1 THEN $2 ELSE last_success_at_ms END, \
         last_error = CASE WHEN $3 = 1 THEN NULL ELSE $4 END, healthy = $3, \
         next_fetch_at_ms = $5, claimed_until_ms = NULL WHERE id = $1"
            .to_owned(),
        feed.id.clone(),
        now,
        i32::from(outcome.healthy),
        outcome.detail.clone(),
        now + interval + jitter as i64
    )?;
    if !outcome.healthy {
        tracing::warn!(source = %feed.source, reason = %outcome.detail, "calendar feed not applied");
    }
    Ok(())
}

async fn offset_of(db: &Db, accommodation: &str) -> Result<i32, AppError> {
    Ok(queries::utc_offset_of(db, accommodation)
        .await?
        .unwrap_or(domain::accommodation::ARGENTINA_UTC_OFFSET_MINUTES))
}

type FeedTuple = (
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<i32>,
);

const FEED_COLUMNS: &str =
    "id, accommodation_id, source, url, etag, last_modified, last_event_count";

fn feed_row(t: FeedTuple) -> FeedRow {
    FeedRow {
        id: t.0,
        accommodation: t.1,
        source: t.2,
        url: t.3,
        etag: t.4,
        last_modified: t.5,
        last_event_count: t.6,
    }
}

/// Claims a feed for two minutes (a download or a removal), unless another instance holds it.
async fn claim(state: &Context, feed: &str, now: i64) -> Result<bool, AppError> {
    let claimed = db_exec!(
        &state.db,
        "UPDATE ical_feeds SET claimed_until_ms = $2 WHERE id = $1 \
         AND (claimed_until_ms IS NULL OR claimed_until_ms < $3)"
            .to_owned(),
        feed.to_owned(),
        now + 120_000,
        now
    )?;
    Ok(claimed > 0)
}

/// Fetches every feed that is due and not claimed by another instance; returns how many.
pub async fn poll_due(state: &Context) -> Result<usize, AppError> {
    let now = state.now().timestamp_millis();
    let due: Vec<(String,)> = db_fetch!(
        &state.db,
        (String,),
        fetch_all,
        "SELECT id FROM ical_feeds WHERE next_fetch_at_ms <= $1 AND removed_at_ms IS NULL \
         AND (claimed_until_ms IS NULL OR claimed_until_ms < $1) ORDER BY next_fetch_at_ms LIMIT 10"
            .to_owned(),
        now
    )?;
    let mut n = 0;
    for (id,) in due {
        if !claim(state, &id, now).await? {
            continue;
        }
        let row: Option<FeedTuple> = db_fetch!(
            &state.db,
            FeedTuple,
            fetch_optional,
            format!("SELECT {FEED_COLUMNS} FROM ical_feeds WHERE id = $1"),
            id
        )?;
        if let Some(row) = row {
            sync_feed(state, &feed_row(row), false).await?;
            n += 1;
        }
    }
    Ok(n)
}

/// Seconds since each feed's last good sync (since it was added, if never), also exported as
/// the `ical_last_sync_age_seconds` gauge.
pub async fn feed_ages(state: &Context) -> Result<Vec<(String, String, f64)>, AppError> {
    let now = state.now().timestamp_millis();
    let rows: Vec<(String, String, i64, Option<i64>)> = db_fetch!(
        &state.db,
        (String, String, i64, Option<i64>),
        fetch_all,
        "SELECT id, source, created_at_ms, last_success_at_ms FROM ical_feeds \
         WHERE removed_at_ms IS NULL"
            .to_owned()
    )?;
    Ok(rows
        .into_iter()
        .map(|(id, source, created, success)| {
            let age = (now - success.unwrap_or(created)).max(0) as f64 / 1000.0;
            metrics::gauge!("ical_last_sync_age_seconds", "feed" => id.clone()).set(age);
            (id, source, age)
        })
        .collect())
}

/// Polls feeds for the life of the service.
pub async fn run(state: Arc<Context>) {
    let mut ticks = 0u64;
    loop {
        if let Err(err) = poll_due(&state).await {
            tracing::warn!(error = %err, "calendar poll failed; will retry");
        }
        if let Err(err) = finish_removals(&state).await {
            tracing::warn!(error = %err, "finishing a calendar removal failed; will retry");
        }
        // The age gauges move slowly: refreshing them every 15 s is plenty.
        if ticks.is_multiple_of(15)
            && let Err(err) = feed_ages(&state).await
        {
            tracing::warn!(error = %err, "calendar feed ages unavailable");
        }
        ticks += 1;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Admin
// ---------------------------------------------------------------------------------------------

/// The cabin's own stream says it is registered (as a hold asks), not the read model, which may
/// not have caught up with a cabin registered a moment ago: its feed added right after would
/// have been refused as unknown.
async fn registered(state: &Context, id: AccommodationId) -> Result<(), AppError> {
    match state.accommodation(id).await?.info() {
        Some(_) => Ok(()),
        None => Err(AppError::not_found(format!("no accommodation {id}"))),
    }
}

/// Starts importing `source`'s calendar at `url` into the accommodation; the new feed's id.
pub async fn add_feed(
    state: &Context,
    id: AccommodationId,
    source: &str,
    url: &str,
) -> Result<String, AppError> {
    registered(state, id).await?;
    let source = source.trim().to_lowercase();
    if !domain::accommodation::valid_calendar_name(&source)
        || matches!(source.as_str(), "direct" | "whatsapp" | "admin")
    {
        return Err(AppError::invalid(
            "source must be 1 to 40 lower-case letters, digits, - or _, and not direct, whatsapp or admin",
        ));
    }
    let url = url.trim();
    if !(url.starts_with("https://") || url.starts_with("http://")) || url.len() > 2000 {
        return Err(AppError::invalid("url must be an http(s) URL"));
    }
    let feed = uuid::Uuid::now_v7().to_string();
    let now = state.now().timestamp_millis();
    let n = db_exec!(
        &state.db,
        "INSERT INTO ical_feeds (id, accommodation_id, source, url, created_at_ms, next_fetch_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (accommodation_id, source) DO NOTHING"
            .to_owned(),
        feed.clone(),
        id.to_string(),
        source.clone(),
        url.to_owned(),
        now
    )?;
    if n == 0 {
        let removing: Option<(String,)> = db_fetch!(
            &state.db,
            (String,),
            fetch_optional,
            "SELECT id FROM ical_feeds WHERE accommodation_id = $1 AND source = $2 \
             AND removed_at_ms IS NOT NULL"
                .to_owned(),
            id.to_string(),
            source.clone()
        )?;
        return Err(AppError::conflict(if removing.is_some() {
            format!(
                "this accommodation's {source} calendar is still being removed; try again in a minute"
            )
        } else {
            format!("this accommodation already imports a {source} calendar; remove it first")
        }));
    }
    Ok(feed)
}

/// Each imported calendar of the accommodation with its health, as JSON rows.
pub async fn list_feeds(state: &Context, id: AccommodationId) -> Result<Vec<Value>, AppError> {
    let ages: std::collections::HashMap<String, f64> = feed_ages(state)
        .await?
        .into_iter()
        .map(|(id, _, age)| (id, age))
        .collect();
    type Row = (
        String,
        String,
        String,
        i32,
        Option<String>,
        Option<i64>,
        Option<i64>,
        Option<i32>,
    );
    let rows: Vec<Row> = db_fetch!(
        &state.db,
        Row,
        fetch_all,
        "SELECT id, source, url, healthy, last_error, last_attempt_at_ms, last_success_at_ms, \
         last_event_count FROM ical_feeds WHERE accommodation_id = $1 AND removed_at_ms IS NULL \
         ORDER BY source"
            .to_owned(),
        id.to_string()
    )?;
    let max_age = state.settings.ical_max_age.as_secs_f64();
    Ok(rows
        .into_iter()
        .map(|(fid, source, url, healthy, error, attempt, success, count)| {
            let age = ages.get(&fid).copied().unwrap_or_default();
            json!({
                "id": fid, "source": source, "url": url, "healthy": healthy == 1,
                "stale": age > max_age, "age_seconds": age, "error": error,
                "last_attempt": attempt.map(from_millis), "last_success": success.map(from_millis),
                "events": count,
            })
        })
        .collect())
}

/// Fetches the feed now and says what changed; `force` applies even a feed that suddenly
/// lists nothing.
pub async fn sync_now(
    state: &Context,
    id: AccommodationId,
    feed: &str,
    force: bool,
) -> Result<SyncOutcome, AppError> {
    let row: Option<FeedTuple> = db_fetch!(
        &state.db,
        FeedTuple,
        fetch_optional,
        format!(
            "SELECT {FEED_COLUMNS} FROM ical_feeds \
             WHERE id = $1 AND accommodation_id = $2 AND removed_at_ms IS NULL"
        ),
        feed.to_owned(),
        id.to_string()
    )?;
    let row = row.ok_or_else(|| AppError::not_found(format!("no feed {feed}")))?;
    sync_feed(state, &feed_row(row), force).await
}

/// Stops importing the feed and frees the nights it blocked.
pub async fn remove_feed(state: &Context, id: AccommodationId, feed: &str) -> Result<(), AppError> {
    let row: Option<(String,)> = db_fetch!(
        &state.db,
        (String,),
        fetch_optional,
        "SELECT source FROM ical_feeds WHERE id = $1 AND accommodation_id = $2".to_owned(),
        feed.to_owned(),
        id.to_string()
    )?;
    let (source,) = row.ok_or_else(|| AppError::not_found(format!("no feed {feed}")))?;
    // Marked first, so that a sync already downloading this calendar notices and lifts what it
    // applies (see `sync_feed`); the row goes only once its blocks are lifted, so a removal that
    // fails half-way is finished by the poller (see `finish_removals`), or can be asked again.
    db_exec!(
        &state.db,
        "UPDATE ical_feeds SET removed_at_ms = $2 WHERE id = $1".to_owned(),
        feed.to_owned(),
        state.now().timestamp_millis()
    )?;
    finish_removal(state, id, &source, feed).await
}

/// Lifts what a removed calendar left and forgets the feed.
async fn finish_removal(
    state: &Context,
    accommodation: AccommodationId,
    source: &str,
    feed: &str,
) -> Result<(), AppError> {
    lift(state, accommodation, source, feed).await?;
    db_exec!(
        &state.db,
        "DELETE FROM ical_feeds WHERE id = $1".to_owned(),
        feed.to_owned()
    )?;
    Ok(())
}

/// A removal still pending this long after it was asked for failed half-way (its request ended
/// without lifting everything); a younger one may still be under way in its request.
const REMOVAL_GRACE_MS: i64 = 60_000;

/// Finishes removals that failed half-way, so that no block outlives its calendar even when the
/// admin's request did not get to the end (the database or the store failed under it). Each is
/// claimed first, as a poll is, so one instance does it. Returns how many were finished.
pub async fn finish_removals(state: &Context) -> Result<usize, AppError> {
    let now = state.now().timestamp_millis();
    let pending: Vec<(String, String, String)> = db_fetch!(
        &state.db,
        (String, String, String),
        fetch_all,
        "SELECT id, accommodation_id, source FROM ical_feeds WHERE removed_at_ms <= $1 \
         AND (claimed_until_ms IS NULL OR claimed_until_ms < $2) LIMIT 10"
            .to_owned(),
        now - REMOVAL_GRACE_MS,
        now
    )?;
    let mut finished = 0;
    for (feed, accommodation, source) in pending {
        if !claim(state, &feed, now).await? {
            continue;
        }
        let accommodation: AccommodationId = accommodation
            .parse()
            .map_err(|_| AppError::invalid("unreadable accommodation id"))?;
        finish_removal(state, accommodation, &source, &feed).await?;
        finished += 1;
    }
    Ok(finished)
}

/// True when the feed is being removed, or is gone.
async fn removed(state: &Context, feed: &str) -> Result<bool, AppError> {
    let live: Option<(String,)> = db_fetch!(
        &state.db,
        (String,),
        fetch_optional,
        "SELECT id FROM ical_feeds WHERE id = $1 AND removed_at_ms IS NULL".to_owned(),
        feed.to_owned()
    )?;
    Ok(live.is_none())
}

/// Lifts every block a calendar made: an empty, whole snapshot of it.
async fn lift(
    state: &Context,
    accommodation: AccommodationId,
    source: &str,
    feed: &str,
) -> Result<(), AppError> {
    let command = to_command(
        source,
        &Feed {
            events: Vec::new(),
            complete: true,
            skipped: 0,
        },
    );
    let origin = Origin::new(Source::Ical, "admin")
        .caused_by(&format!("ical-feed:{feed}"))
        .correlated(uuid::Uuid::now_v7());
    execute(state, accommodation, command, &origin).await?;
    Ok(())
}

/// The export URLs to give each channel.
pub async fn export_urls(state: &Context, id: AccommodationId) -> Result<Value, AppError> {
    registered(state, id).await?;
    let t = token(&state.db, &id.to_string(), state.now().timestamp_millis()).await?;
    Ok(urls(state, id, &t))
}

fn urls(state: &Context, id: AccommodationId, token: &str) -> Value {
    let base = format!("{}/ical/{id}.ics?token={token}", state.settings.public_url);
    json!({
        "url": base,
        "for_airbnb": format!("{base}&channel=airbnb"),
        "for_booking": format!("{base}&channel=booking"),
    })
}

/// A new export token; the old URLs stop working.
pub async fn rotate(state: &Context, id: AccommodationId) -> Result<Value, AppError> {
    registered(state, id).await?;
    let t = fresh_token();
    db_exec!(
        &state.db,
        "INSERT INTO ical_tokens (accommodation_id, token, rotated_at_ms) VALUES ($1, $2, $3) \
         ON CONFLICT (accommodation_id) DO UPDATE SET token = excluded.token, rotated_at_ms = excluded.rotated_at_ms"
            .to_owned(),
        id.to_string(),
        t.clone(),
        state.now().timestamp_millis()
    )?;
    Ok(urls(state, id, &t))
}

/// Imported bookings that overlap ours, until resolved.
pub async fn open_conflicts(db: &Db) -> Result<Vec<Value>, AppError> {
    Ok(queries::open_conflicts(db)
        .await?
        .into_iter()
        .map(|c| {
            json!({
                "accommodation_id": c.accommodation_id, "calendar": c.calendar, "uid": c.uid,
                "kind": c.kind, "check_in": c.check_in, "check_out": c.check_out,
                "occupant": {"kind": c.occupant_kind, "id": c.occupant_id, "code": c.occupant_code},
                "detected_at": c.detected_at,
            })
        })
        .collect())
}

// ---------------------------------------------------------------------------------------------
// Command line
// ---------------------------------------------------------------------------------------------

/// `cabanas ical import FILE_OR_URL --accommodation ID [--source NAME] [--dry-run]`: reads a
/// calendar and prints what it changes (or would change), through the same checks and decision
/// as the poller.
pub async fn import_cli(
    settings: &crate::config::Settings,
    target: &str,
    accommodation: &str,
    source: &str,
    dry: bool,
) -> anyhow::Result<()> {
    use anyhow::Context;
    let id: AccommodationId = accommodation
        .parse()
        .context("--accommodation must be an accommodation id")?;
    let bytes = if target.starts_with("http://") || target.starts_with("https://") {
        let fetcher = integrations::ical::Fetcher::new(settings.ical_timeout)?;
        match fetcher.fetch(target, None, None).await? {
            Fetched::Body { bytes, .. } => bytes,
            Fetched::NotModified => {
                anyhow::bail!("the server answered 304 to an unconditional GET")
            }
        }
    } else {
        std::fs::read(target).with_context(|| format!("reading {target}"))?
    };
    let store = eventstore::connect(&settings.database_url).await?;
    let handler = eventstore::CommandHandler::<Accommodation>::new(store);
    let (_, acc) = handler.load(&id.stream_id()).await?;
    let offset = acc
        .info()
        .map(|i| i.utc_offset_minutes)
        .context("no such accommodation")?;
    let feed = ical::parse(&bytes, offset).context("the calendar cannot be applied")?;
    println!(
        "{} events{}{}",
        feed.events.len(),
        if feed.complete {
            ""
        } else {
            " (no END:VCALENDAR: nothing will be removed)"
        },
        if feed.skipped > 0 {
            format!(", {} without UID or start skipped", feed.skipped)
        } else {
            String::new()
        }
    );
    let command = to_command(source, &feed);
    let now = Utc::now();
    let events = if dry {
        acc.decide(&command, now)?
    } else {
        let origin = Origin::new(Source::Ical, "admin")
            .caused_by("ical-import:cli")
            .correlated(uuid::Uuid::now_v7());
        handler
            .execute(&id.stream_id(), &command, now, &origin.metadata())
            .await?
            .events
    };
    if events.is_empty() {
        println!("no changes");
    }
    for e in &events {
        println!("{}{}", if dry { "would " } else { "" }, describe(e));
    }
    Ok(())
}
