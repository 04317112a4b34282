//! `GET /ical/{accommodation}.ics?token=…[&channel=airbnb]`: each cabin's calendar for the
//! channels, from the availability read model (`app::calendar::export`); `ETag` and
//! `Last-Modified` let a channel that polls often get a 304.

use actix_web::{HttpRequest, HttpResponse, web};
use app::calendar::{Conditional, Export};
use serde::Deserialize;

use crate::problem::Problem;
use crate::state::AppState;

#[derive(Deserialize)]
pub struct ExportQuery {
    token: Option<String>,
    /// The channel fetching (`airbnb`, `booking`, …): its own blocks are not sent back to it.
    channel: Option<String>,
}

pub async fn export(
    state: web::Data<AppState>,
    req: HttpRequest,
    file: web::Path<String>,
    q: web::Query<ExportQuery>,
) -> Result<HttpResponse, Problem> {
    let header = |n: &str| req.headers().get(n).and_then(|v| v.to_str().ok());
    let conditional = Conditional {
        if_none_match: header("if-none-match"),
        if_modified_since: header("if-modified-since"),
    };
    let answer = app::calendar::export(
        &state,
        &file,
        q.token.as_deref(),
        q.channel.as_deref(),
        conditional,
    )
    .await?;
    Ok(match answer {
        Export::NotModified {
            etag,
            last_modified,
        } => HttpResponse::NotModified()
            .insert_header(("ETag", etag))
            .insert_header(("Last-Modified", last_modified))
            .finish(),
        Export::Calendar {
            body,
            etag,
            last_modified,
        } => HttpResponse::Ok()
            .content_type("text/calendar; charset=utf-8")
            .insert_header(("ETag", etag))
            .insert_header(("Last-Modified", last_modified))
            .insert_header(("Cache-Control", "no-cache"))
            .body(body),
    })
}
