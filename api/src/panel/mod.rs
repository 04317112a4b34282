//! The owner's web panel at `/panel/` (issue 28, ADR 0005): server-rendered HTML in Spanish,
//! working without JavaScript (one small script only refreshes an open calendar), sessions in
//! the database. Both roles may look; only an admin changes a
//! reservation, through the same application use cases as the admin API.
//!
//! # Layout
//!
//! - `mod.rs`: signing in and out; `link.rs`: signing in with the one-time link the owner's
//!   WhatsApp gets for "panel".
//! - `html.rs`: the escaping helper, `html!`, the page shell and its CSS; `post.rs`: the way
//!   into every form that changes something (a signed-in admin, this session's CSRF token).
//! - `session.rs`: cookies, sessions, CSRF tokens; `throttle.rs`: the count of failed
//!   sign-ins (shared by every instance through Redis).
//! - `users.rs`: the users and their Argon2id hashes (`cabanas user add`).
//! - `calendar.rs`: the cabins' nights, week by week, and an admin blocking free nights and
//!   freeing them; `agenda.rs`: who arrives and who leaves today and tomorrow;
//!   `events.rs`: the change stream that refreshes an open calendar, and its script
//!   (`assets/panel.js`).
//! - `reservations/`: the list, one reservation's page, and the owner's actions on it.
//! - `numbers/`: occupancy, revenue, rate, channels and lead time by month, as SVG charts,
//!   tables and CSV; `cabins/`: each cabin's setup, export links and imported calendars.
//! - `alerts.rs`: what needs the owner (deposits, refunds by hand, conflicts, undelivered
//!   replies), and marking a refund given back.
//! - `conversations/`: WhatsApp conversations (who waits for a person first), a thread, and an
//!   admin writing as a person or handing back to the bot; numbers masked for an auditor.
//! - `audit.rs`: the event log newest first, a reservation as of a date and time, and walking
//!   the hash chain (both roles).

pub mod agenda;
pub mod alerts;
pub mod audit;
pub mod cabins;
pub mod calendar;
pub mod conversations;
pub mod events;
pub mod html;
pub mod link;
pub mod numbers;
pub mod post;
pub mod reservations;
pub mod session;
pub mod throttle;
pub mod users;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use self::html::{Html, html, page, refusal};
use self::session::{SESSION_COOKIE, SESSION_HOURS, SIGN_IN_COOKIE};
use self::throttle::Throttle;
use crate::state::AppState;

type State = web::Data<AppState>;

/// A 303 to `location` (after a POST, the browser GETs it).
pub fn see_other(location: &'static str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, HeaderValue::from_static(location)))
        .finish()
}

/// A 303 to a location built at run time (the caller makes it from trusted parts).
pub fn redirect(location: &str) -> HttpResponse {
    match HeaderValue::from_str(location) {
        Ok(value) => HttpResponse::SeeOther()
            .insert_header((header::LOCATION, value))
            .finish(),
        Err(_) => see_other("/panel/"),
    }
}

/// The signed-in user, or the answer to give instead: the sign-in page when nobody is.
pub async fn signed_in(
    state: &AppState,
    req: &HttpRequest,
) -> Result<session::Session, HttpResponse> {
    match session::current(&state.db, req, state.now().timestamp_millis()).await {
        Ok(Some(s)) => Ok(s),
        Ok(None) => Err(see_other("/panel/")),
        Err(err) => Err(internal(&err)),
    }
}

/// The admin behind a POST: signed in, the form carrying this session's CSRF token, and an
/// admin (an auditor only looks). Otherwise the answer to give instead.
pub async fn admin_only(
    state: &AppState,
    req: &HttpRequest,
    csrf: Option<&str>,
) -> Result<session::Session, HttpResponse> {
    let who = signed_in(state, req).await?;
    if !who.csrf_ok(csrf) {
        return Err(forbidden());
    }
    if who.role != crate::auth::Role::Admin {
        return Err(refusal(
            StatusCode::FORBIDDEN,
            "Acceso denegado",
            "Tu usuario es de consulta: puede mirar pero no cambiar nada.",
        ));
    }
    Ok(who)
}

/// The page for anything that failed on our side: logged once here, opaque to the browser.
pub fn internal(err: &anyhow::Error) -> HttpResponse {
    tracing::error!(error = format!("{err:#}"), "panel request failed");
    refusal(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Error",
        "Algo falló de nuestro lado. Probá de nuevo en un momento.",
    )
}

/// A refused CSRF token.
pub fn forbidden() -> HttpResponse {
    refusal(
        StatusCode::FORBIDDEN,
        "Acceso denegado",
        "El formulario venció o no vino de este panel. Volvé a cargar la página e intentá otra vez.",
    )
}

pub(crate) fn with_cookie(mut res: HttpResponse, set_cookie: &str) -> HttpResponse {
    if let Ok(value) = HeaderValue::from_str(set_cookie) {
        res.headers_mut().append(header::SET_COOKIE, value);
    }
    res
}

/// `GET /panel/`: the sign-in form, or the calendar when already signed in.
pub async fn index(state: State, req: HttpRequest) -> HttpResponse {
    match session::current(&state.db, &req, state.now().timestamp_millis()).await {
        Ok(Some(_)) => see_other("/panel/calendario"),
        Ok(None) => sign_in_form(&state, &req, StatusCode::OK, None),
        Err(err) => internal(&err),
    }
}

/// The form, with the double-submit token of the cookie sent (or a new one, set here).
fn sign_in_form(
    state: &AppState,
    req: &HttpRequest,
    status: StatusCode,
    error: Option<&str>,
) -> HttpResponse {
    let existing = session::cookie(req, SIGN_IN_COOKIE);
    let token = existing.clone().unwrap_or_else(session::random_token);
    let error = error.map_or_else(Html::default, |e| {
        html!("<p class=\"err\" role=\"alert\">{}</p>", e)
    });
    let body = html!(
        "{}<form class=\"in\" method=\"post\" action=\"/panel/ingresar\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <label for=\"email\">Correo electrónico</label>\
         <input id=\"email\" name=\"email\" type=\"email\" autocomplete=\"username\" required>\
         <label for=\"password\">Contraseña</label>\
         <input id=\"password\" name=\"password\" type=\"password\" \
         autocomplete=\"current-password\" required>\
         <button type=\"submit\">Ingresar</button></form>",
        error,
        token
    );
    let res = page(status, "Ingresar al panel", body);
    if existing.is_some() {
        return res;
    }
    let secure = session::secure(&state.settings);
    with_cookie(
        res,
        &session::set_cookie(SIGN_IN_COOKIE, &token, SESSION_HOURS * 3600, secure),
    )
}

#[derive(Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    csrf: Option<String>,
}

/// `POST /panel/ingresar`: checks the password (throttled) and opens a session.
pub async fn sign_in(state: State, req: HttpRequest, form: web::Form<SignInForm>) -> HttpResponse {
    let expected = session::cookie(&req, SIGN_IN_COOKIE);
    let csrf_ok = matches!((&expected, &form.csrf), (Some(e), Some(s)) if session::same(e, s));
    if !csrf_ok {
        return forbidden();
    }
    let email = users::normalise_email(&form.email).unwrap_or_default();
    let ip = session::client_ip(&req);
    let throttle = req.app_data::<web::Data<Throttle>>().cloned();
    let refused = match &throttle {
        Some(t) => t.refused(&email, &ip).await,
        None => None,
    };
    if let Some(wait) = refused {
        let mut res = refusal(
            StatusCode::TOO_MANY_REQUESTS,
            "Demasiados intentos",
            "Hubo demasiados intentos fallidos. Esperá unos minutos y probá de nuevo.",
        );
        if let Ok(value) = HeaderValue::from_str(&wait.to_string()) {
            res.headers_mut().insert(header::RETRY_AFTER, value);
        }
        return res;
    }
    let role = match users::check_password(&state.db, &email, &form.password).await {
        Ok(role) => role,
        Err(err) => return internal(&err),
    };
    if role.is_none() {
        if let Some(t) = &throttle {
            t.failed(&email, &ip).await;
        }
        let wrong = "Correo o contraseña incorrectos.";
        return sign_in_form(&state, &req, StatusCode::UNAUTHORIZED, Some(wrong));
    }
    if let Some(t) = &throttle {
        t.succeeded(&email, &ip).await;
    }
    match session::open(&state.db, &email, state.now().timestamp_millis()).await {
        Ok(token) => {
            let secure = session::secure(&state.settings);
            let max_age = SESSION_HOURS * 3600;
            let cookie = session::set_cookie(SESSION_COOKIE, &token, max_age, secure);
            with_cookie(see_other("/panel/calendario"), &cookie)
        }
        Err(err) => internal(&err),
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf: Option<String>,
}

/// `POST /panel/salir`: ends the session (CSRF-checked, so another site cannot sign the owner
/// out either).
pub async fn sign_out(state: State, req: HttpRequest, form: web::Form<CsrfForm>) -> HttpResponse {
    let signed_in = match session::current(&state.db, &req, state.now().timestamp_millis()).await {
        Ok(Some(s)) => s,
        Ok(None) => return see_other("/panel/"),
        Err(err) => return internal(&err),
    };
    if !signed_in.csrf_ok(form.csrf.as_deref()) {
        return forbidden();
    }
    if let Err(err) = signed_in.close(&state.db).await {
        return internal(&err);
    }
    let secure = session::secure(&state.settings);
    with_cookie(
        see_other("/panel/"),
        &session::set_cookie(SESSION_COOKIE, "", 0, secure),
    )
}
