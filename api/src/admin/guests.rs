//! Guests' personal data: erasure on request (`app::guests::erase`).

use actix_web::{HttpResponse, web};

use crate::auth::Admin;
use crate::problem::Problem;
use crate::state::AppState;

/// `DELETE /v1/admin/guests/{guest}/personal-data`: forgets a guest. Their key is destroyed (the
/// sealed profiles in the log become unreadable for good), `GuestPersonalDataErased` is recorded
/// once, their WhatsApp messages and replies, and the owner's alerts that name them, are
/// deleted. The log and its hash chain stay intact. Asking again deletes what is left and
/// records nothing new.
#[utoipa::path(delete, path = "/v1/admin/guests/{guest}/personal-data", tag = "admin",
    params(("guest" = String, Path, description = "The guest reference, `guest-…`")),
    security(("bearer" = [])),
    responses((status = 200, body = Object), (status = 404, body = crate::problem::ProblemDetails)))]
pub async fn erase(
    state: web::Data<AppState>,
    admin: Admin,
    guest: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let erased = app::guests::erase(&state, &guest, &admin.0.sub).await?;
    Ok(HttpResponse::Ok().json(erased))
}
