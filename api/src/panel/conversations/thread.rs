//! One conversation: the guest's messages and the replies (the bot's and a person's), oldest
//! first, from the tables the admin conversations API reads (`wa_inbox`, `wa_outbox`); for an
//! admin, a form to write as a person and one to hand the conversation back to the bot.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use eventstore::db_fetch;
use serde::Deserialize;

use super::{guest_text, number_of, reply_text, shown_number, status_word, waiting_for_person};
use crate::auth::Role;
use crate::panel::html::{Html, html, refusal, within};
use crate::panel::post::AdminPost;
use crate::panel::reservations::local_moment;
use crate::panel::session::Session;
use crate::panel::{State, internal, redirect, signed_in};
use crate::state::AppState;

/// The most messages of each side a thread shows (the newest).
const MAX_MESSAGES: i64 = 200;

/// One line of the thread.
struct Line {
    at_ms: i64,
    from_guest: bool,
    /// "Huésped", "Asistente" (the bot) or "Persona" (written from the panel or the admin API).
    said_by: &'static str,
    text: String,
    /// A reply's delivery, in words (`None` for the guest's own messages).
    status: Option<&'static str>,
}

async fn lines(state: &AppState, wa_id: &str) -> anyhow::Result<Vec<Line>> {
    let inbound: Vec<(String, i64)> = db_fetch!(
        &state.db,
        (String, i64),
        fetch_all,
        "SELECT message, received_at_ms FROM wa_inbox WHERE wa_id = $1 \
         ORDER BY received_at_ms DESC LIMIT $2"
            .to_owned(),
        wa_id.to_owned(),
        MAX_MESSAGES
    )?;
    let outbound: Vec<(String, String, String, i64)> = db_fetch!(
        &state.db,
        (String, String, String, i64),
        fetch_all,
        "SELECT id, body, status, created_at_ms FROM wa_outbox WHERE wa_id = $1 \
         ORDER BY created_at_ms DESC LIMIT $2"
            .to_owned(),
        wa_id.to_owned(),
        MAX_MESSAGES
    )?;
    let mut all: Vec<Line> = inbound
        .into_iter()
        .map(|(message, at_ms)| Line {
            at_ms,
            from_guest: true,
            said_by: "Huésped",
            text: guest_text(&message),
            status: None,
        })
        .chain(outbound.into_iter().map(|(id, body, status, at_ms)| Line {
            at_ms,
            from_guest: false,
            // A person's replies are queued under this prefix (`app::inbox`).
            said_by: if id.starts_with("admin:") {
                "Persona"
            } else {
                "Asistente"
            },
            text: reply_text(&body),
            status: Some(status_word(&status)),
        }))
        .collect();
    // Oldest first; a guest's message before the reply stored the same millisecond.
    all.sort_by_key(|l| (l.at_ms, !l.from_guest));
    Ok(all)
}

#[derive(Deserialize, Default)]
pub struct Flash {
    hecho: Option<String>,
}

/// `GET /panel/conversaciones/{guest}`: the thread, and an admin's forms.
pub async fn show(
    state: State,
    req: HttpRequest,
    guest: web::Path<String>,
    flash: web::Query<Flash>,
) -> HttpResponse {
    let who = match signed_in(&state, &req).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    match render(&state, &who, &guest, flash.hecho.as_deref()).await {
        Ok(res) => res,
        Err(err) => internal(&err),
    }
}

async fn render(
    state: &AppState,
    who: &Session,
    guest: &str,
    done: Option<&str>,
) -> anyhow::Result<HttpResponse> {
    let Some(wa_id) = number_of(state, guest).await? else {
        return Ok(not_found());
    };
    let waiting = match domain::GuestId::from_stream_id(guest) {
        Some(id) => waiting_for_person(state, &id).await?,
        None => false,
    };
    let notice = match done {
        Some("respuesta") => html!("<p class=\"ok\" role=\"status\">Mensaje en camino.</p>"),
        Some("devuelta") => {
            html!("<p class=\"ok\" role=\"status\">Listo: el asistente vuelve a contestarle.</p>")
        }
        _ => Html::default(),
    };
    let state_words = if waiting {
        "Espera a una persona: el asistente no le contesta."
    } else {
        "Lo atiende el asistente."
    };
    let items: Html = lines(state, &wa_id)
        .await?
        .iter()
        .map(|l| {
            let status = l.status.map_or_else(Html::default, |s| html!(" ({})", s));
            html!(
                "<li><b>{}</b> · {}{}<br>{}</li>",
                l.said_by,
                local_moment(projections::sql::from_millis(l.at_ms)),
                status,
                l.text
            )
        })
        .collect();
    let forms = if who.role == Role::Admin {
        forms(guest, &who.csrf, waiting)
    } else {
        Html::default()
    };
    let body = html!(
        "{}<p><a href=\"/panel/conversaciones\">← Conversaciones</a></p>\
         <p><b>{}</b> · {}</p><ol class=\"history\">{}</ol>{}",
        notice,
        shown_number(&wa_id, who.role),
        state_words,
        items,
        forms
    );
    Ok(within(
        StatusCode::OK,
        "Conversaciones",
        "Conversación",
        &who.csrf,
        body,
    ))
}

/// Write as a person; hand back to the bot (only while a person has it).
fn forms(guest: &str, csrf: &str, waiting: bool) -> Html {
    let write = html!(
        "<form class=\"act\" method=\"post\" action=\"/panel/conversaciones/{}/responder\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <label for=\"texto\">Responder como persona</label>\
         <textarea id=\"texto\" name=\"texto\" rows=\"3\" maxlength=\"4096\" required></textarea>\
         <button type=\"submit\">Enviar</button></form>",
        guest,
        csrf
    );
    let release = if waiting {
        html!(
            "<form class=\"act\" method=\"post\" action=\"/panel/conversaciones/{}/devolver\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
             <button type=\"submit\">Devolver al asistente</button></form>",
            guest,
            csrf
        )
    } else {
        Html::default()
    };
    html!("{}{}", write, release)
}

fn not_found() -> HttpResponse {
    refusal(
        StatusCode::NOT_FOUND,
        "No encontrada",
        "No hay ninguna conversación con ese huésped.",
    )
}

/// 303 to the thread with a flash key; the link is rebuilt from the parsed id, never echoed.
fn back_to(guest: &str, done: &str) -> HttpResponse {
    match domain::GuestId::from_stream_id(guest) {
        Some(id) => redirect(&format!(
            "/panel/conversaciones/{}?hecho={done}",
            id.stream_id()
        )),
        None => not_found(),
    }
}

#[derive(Deserialize, Default)]
pub struct WriteForm {
    csrf: Option<String>,
    texto: Option<String>,
}

crate::panel::post::csrf_field!(WriteForm, CsrfOnly);

/// `POST /panel/conversaciones/{guest}/responder`: an admin writes to the guest from the
/// business number, as `POST /v1/admin/whatsapp/conversations/{wa_id}/messages` does.
pub async fn write(
    state: State,
    guest: web::Path<String>,
    post: AdminPost<WriteForm>,
) -> HttpResponse {
    let form = post.form;
    let wa_id = match number_of(&state, &guest).await {
        Ok(Some(n)) => n,
        Ok(None) => return not_found(),
        Err(err) => return internal(&err),
    };
    let text = form.texto.as_deref().unwrap_or("").trim();
    if text.is_empty() {
        let why = "Escribí el mensaje antes de enviarlo.";
        return refusal(StatusCode::UNPROCESSABLE_ENTITY, "Mensaje vacío", why);
    }
    match app::inbox::write(&state, &wa_id, text).await {
        Ok(_) => back_to(&guest, "respuesta"),
        Err(app::AppError::Invalid(_)) => refusal(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Mensaje no válido",
            "WhatsApp no acepta ese mensaje: revisá que no sea demasiado largo.",
        ),
        Err(err) => internal(&anyhow::Error::new(err)),
    }
}

#[derive(Deserialize, Default)]
pub struct CsrfOnly {
    csrf: Option<String>,
}

/// `POST /panel/conversaciones/{guest}/devolver`: the bot answers again, from the menu, as
/// `POST /v1/admin/whatsapp/conversations/{wa_id}/release` does; the panel user is the actor.
pub async fn hand_back(
    state: State,
    guest: web::Path<String>,
    post: AdminPost<CsrfOnly>,
) -> HttpResponse {
    let who = post.who;
    let wa_id = match number_of(&state, &guest).await {
        Ok(Some(n)) => n,
        Ok(None) => return not_found(),
        Err(err) => return internal(&err),
    };
    let origin = app::Origin::admin(&who.email);
    match app::guests::hand_back(&state, &wa_id, &origin).await {
        Ok(Some(_)) => back_to(&guest, "devuelta"),
        Ok(None) => not_found(),
        Err(err) => internal(&anyhow::Error::new(err)),
    }
}
