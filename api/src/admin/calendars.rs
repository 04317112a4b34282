//! Imported calendars (add, list with health, sync now, remove), the export URL and its
//! rotation, and open conflicts: thin handlers over `app::calendar`.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use crate::auth::Admin;
use crate::input::accommodation_id;
use crate::problem::Problem;
use crate::state::AppState;

type State = web::Data<AppState>;

#[derive(Deserialize, utoipa::ToSchema)]
pub struct FeedInput {
    /// The channel's name as it will appear in blocks and the export: `airbnb`, `booking`, …
    source: String,
    /// The channel's export URL (http or https).
    url: String,
}

/// `POST /v1/admin/accommodations/{id}/feeds`
#[utoipa::path(post, path = "/v1/admin/accommodations/{id}/feeds", tag = "admin",
    request_body = FeedInput, security(("bearer" = [])),
    responses((status = 201, body = Object), (status = 409, body = crate::problem::ProblemDetails),
              (status = 422, body = crate::problem::ProblemDetails)))]
pub async fn add_feed(
    state: State,
    _admin: Admin,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, Problem> {
    let id = accommodation_id(&id)?;
    let body: FeedInput = crate::input::parse(&body)?;
    let feed = app::calendar::add_feed(&state, id, &body.source, &body.url).await?;
    let source = body.source.trim().to_lowercase();
    Ok(HttpResponse::Created().json(json!({"id": feed, "source": source, "url": body.url.trim()})))
}

/// `GET /v1/admin/accommodations/{id}/feeds`: each feed with its health.
#[utoipa::path(get, path = "/v1/admin/accommodations/{id}/feeds", tag = "admin",
    security(("bearer" = [])), responses((status = 200, body = Object)))]
pub async fn list_feeds(
    state: State,
    _admin: Admin,
    id: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let id = accommodation_id(&id)?;
    let feeds = app::calendar::list_feeds(&state, id).await?;
    Ok(HttpResponse::Ok().json(json!({"feeds": feeds})))
}

#[derive(Deserialize)]
pub struct SyncQuery {
    #[serde(default)]
    force: bool,
}

/// `POST /v1/admin/accommodations/{id}/feeds/{feed}/sync`: fetch now and say what changed.
#[utoipa::path(post, path = "/v1/admin/accommodations/{id}/feeds/{feed}/sync", tag = "admin",
    params(("force" = Option<bool>, Query, description = "Apply even a feed that suddenly lists nothing")),
    security(("bearer" = [])), responses((status = 200, body = Object), (status = 404, body = crate::problem::ProblemDetails)))]
pub async fn sync_now(
    state: State,
    _admin: Admin,
    path: web::Path<(String, String)>,
    q: web::Query<SyncQuery>,
) -> Result<HttpResponse, Problem> {
    let (id, feed) = path.into_inner();
    let outcome = app::calendar::sync_now(&state, accommodation_id(&id)?, &feed, q.force).await?;
    Ok(HttpResponse::Ok().json(json!({
        "healthy": outcome.healthy,
        "detail": outcome.detail,
        "changes": outcome.changes,
    })))
}

/// `DELETE /v1/admin/accommodations/{id}/feeds/{feed}`: stops importing and frees its nights.
#[utoipa::path(delete, path = "/v1/admin/accommodations/{id}/feeds/{feed}", tag = "admin",
    security(("bearer" = [])), responses((status = 204), (status = 404, body = crate::problem::ProblemDetails)))]
pub async fn remove_feed(
    state: State,
    _admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Problem> {
    let (id, feed) = path.into_inner();
    app::calendar::remove_feed(&state, accommodation_id(&id)?, &feed).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /v1/admin/accommodations/{id}/ical`: the export URL to give each channel.
#[utoipa::path(get, path = "/v1/admin/accommodations/{id}/ical", tag = "admin",
    security(("bearer" = [])), responses((status = 200, body = Object)))]
pub async fn export_url(
    state: State,
    _admin: Admin,
    id: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let urls = app::calendar::export_urls(&state, accommodation_id(&id)?).await?;
    Ok(HttpResponse::Ok().json(urls))
}

/// `POST /v1/admin/accommodations/{id}/ical/rotate`: a new token; the old URL stops working.
#[utoipa::path(post, path = "/v1/admin/accommodations/{id}/ical/rotate", tag = "admin",
    security(("bearer" = [])), responses((status = 200, body = Object)))]
pub async fn rotate(
    state: State,
    _admin: Admin,
    id: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let urls = app::calendar::rotate(&state, accommodation_id(&id)?).await?;
    Ok(HttpResponse::Ok().json(urls))
}

/// `GET /v1/admin/conflicts`: imported bookings that overlap ours, until resolved.
#[utoipa::path(get, path = "/v1/admin/conflicts", tag = "admin",
    security(("bearer" = [])), responses((status = 200, body = Object)))]
pub async fn conflicts(state: State, _admin: Admin) -> Result<HttpResponse, Problem> {
    let conflicts = app::calendar::open_conflicts(&state.db).await?;
    Ok(HttpResponse::Ok().json(json!({"conflicts": conflicts})))
}
