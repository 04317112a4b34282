//! What keeps an open calendar current: `GET /panel/eventos` is a server-sent event stream
//! that says `cambio` whenever the read models moved (the availability model's checkpoint), and
//! `/panel/panel.js` is the small script that fetches the page again on it. The checkpoint is
//! read on this instance's own progress at once and every two seconds otherwise, so a change
//! applied by another instance (which holds the read models' lease) is seen too.

use std::time::Duration;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::stream;

use super::signed_in;
use crate::state::AppState;

/// The read model the calendar shows: its checkpoint moving means the calendar may have.
const WATCHED: &str = "availability";
/// How often another instance's progress is looked for.
const POLL: Duration = Duration::from_secs(2);
/// A comment now and then keeps proxies from closing an idle stream.
const KEEPALIVE: Duration = Duration::from_secs(15);

/// `GET /panel/eventos`: the change stream for a signed-in user.
pub async fn stream(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    if let Err(answer) = signed_in(&state, &req).await {
        return answer;
    }
    let start = state.runner.checkpoint(WATCHED).await.unwrap_or(0);
    let progress = state.runner.subscribe();
    let events = stream::unfold(
        (state, progress, start, tokio::time::Instant::now()),
        |(state, mut progress, seen, mut quiet_since)| async move {
            loop {
                let _ = tokio::time::timeout(POLL, progress.changed()).await;
                let now = state.runner.checkpoint(WATCHED).await.unwrap_or(seen);
                if now != seen {
                    let event = format!("event: cambio\ndata: {now}\n\n");
                    let item = Ok::<_, actix_web::Error>(web::Bytes::from(event));
                    return Some((item, (state, progress, now, tokio::time::Instant::now())));
                }
                if quiet_since.elapsed() >= KEEPALIVE {
                    quiet_since = tokio::time::Instant::now();
                    let item = Ok(web::Bytes::from_static(b": sigo\n\n"));
                    return Some((item, (state, progress, seen, quiet_since)));
                }
            }
        },
    );
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/event-stream"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        // nginx would otherwise hold the events back in its buffer.
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(events)
}

/// `GET /panel/panel.js`: the script, from the binary itself (no CDN, nothing to install).
pub async fn script() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/javascript; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(include_str!("assets/panel.js"))
}
