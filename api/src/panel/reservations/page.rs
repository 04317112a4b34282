//! `GET /panel/reservas/{code}`: one reservation's stay, figures and history, and (for an
//! admin) the forms of what can be done with it now. Also drawn again, with the refusal on top,
//! when an action is refused.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use projections::ReservationStatus;
use projections::queries::{self, ReservationView, TimelineEntry};
use serde::Deserialize;

use super::{failure, local_moment, pesos, plain, refused, status_word};
use crate::auth::Role;
use crate::panel::calendar::day_label;
use crate::panel::html::{Html, html, refusal, within};
use crate::panel::session::{Session, random_token};
use crate::panel::{State, internal, signed_in};
use crate::state::AppState;

/// What is said above the reservation: nothing, what was just done, or why it was not.
pub enum Notice {
    None,
    Done(&'static str),
    Refused(StatusCode, String),
}

impl Notice {
    /// What a redirect's `?hecho=` says was done, in the fixed words `words` gives its key (a
    /// link cannot put text of its own on the page).
    pub fn done(key: Option<&str>, words: fn(&str) -> Option<&'static str>) -> Notice {
        key.and_then(words).map_or(Notice::None, Notice::Done)
    }

    /// The page's status and the line on top of it.
    pub fn shown(self) -> (StatusCode, Html) {
        match self {
            Notice::None => (StatusCode::OK, Html::default()),
            Notice::Done(words) => (
                StatusCode::OK,
                html!("<p class=\"ok\" role=\"status\">{}</p>", words),
            ),
            Notice::Refused(status, words) => (
                status,
                html!("<p class=\"err\" role=\"alert\">{}</p>", words),
            ),
        }
    }
}

#[derive(Deserialize)]
pub struct Flash {
    hecho: Option<String>,
}

/// The words of a flash key. Fixed words only: a link cannot put text of its own on the page.
fn done_words(key: &str) -> Option<&'static str> {
    Some(match key {
        "confirmada" => "Listo: la seña quedó registrada y la reserva está confirmada.",
        "pago" => "Listo: el pago quedó registrado.",
        "extendida" => "Listo: se extendió el plazo para pagar la seña.",
        "movida" => "Listo: la reserva se movió a las nuevas noches.",
        "cancelada" => "Listo: la reserva quedó cancelada.",
        _ => return None,
    })
}

pub async fn show(
    state: State,
    req: HttpRequest,
    code: web::Path<String>,
    flash: web::Query<Flash>,
) -> HttpResponse {
    let who = match signed_in(&state, &req).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    let notice = Notice::done(flash.hecho.as_deref(), done_words);
    render(&state, &who, &code, notice).await
}

/// The reservation's page with `notice` on top (its status is the notice's, 200 otherwise).
pub async fn render(state: &AppState, who: &Session, code: &str, notice: Notice) -> HttpResponse {
    let r = match app::reservations::by_code(state, code).await {
        Ok(Some(r)) => r,
        Ok(None) => {
            return refusal(
                StatusCode::NOT_FOUND,
                "Reserva no encontrada",
                "No hay ninguna reserva con ese código.",
            );
        }
        Err(e) => return refused(&e).map_or_else(|| failure(e), |(s, w)| refusal(s, "Error", &w)),
    };
    let history = match queries::timeline(&state.db, &r.id).await {
        Ok(h) => h,
        Err(err) => return internal(&err.into()),
    };
    let (status, top) = notice.shown();
    let forms = if who.role == Role::Admin {
        actions(&r, &who.csrf, state.settings.hold_minutes)
    } else {
        Html::default()
    };
    let body = html!(
        "{}{}{}<h2>Historial</h2>{}",
        top,
        facts(&r, who.role == Role::Admin),
        forms,
        story(&history)
    );
    within(
        status,
        "Reservas",
        &format!("Reserva {}", r.code),
        &who.csrf,
        body,
    )
}

fn facts(r: &ReservationView, show_guest: bool) -> Html {
    let guest = if show_guest {
        html!(
            "<dt>Huésped</dt><dd>{}</dd><dt>Teléfono</dt><dd>{}</dd>",
            r.guest.name.as_deref().unwrap_or("sin nombre"),
            r.guest.phone.as_deref().unwrap_or("sin teléfono")
        )
    } else {
        Html::default()
    };
    let expires = if r.status == ReservationStatus::Held {
        html!(
            "<dt>La seña vence</dt><dd>{}</dd>",
            local_moment(r.expires_at)
        )
    } else {
        Html::default()
    };
    html!(
        "<dl class=\"facts\"><dt>Estado</dt><dd>{}</dd>{}<dt>Cabaña</dt><dd>{}</dd>\
         <dt>Estadía</dt><dd>{} → {} ({} noches)</dd><dt>Personas</dt><dd>{}</dd>\
         <dt>Total</dt><dd>{}</dd><dt>Seña</dt><dd>{}</dd><dt>Pagado</dt><dd>{}</dd>\
         <dt>Devuelto</dt><dd>{}</dd><dt>Saldo a cobrar</dt><dd>{}</dd>{}</dl>",
        status_word(r.status),
        expires,
        r.accommodation_name.as_deref().unwrap_or("cabaña"),
        day_label(r.check_in),
        day_label(r.check_out),
        r.nights,
        r.guests,
        pesos(r.total),
        pesos(r.deposit),
        pesos(r.amount_paid),
        pesos(r.refunded),
        pesos(r.balance_due),
        guest
    )
}

/// The forms of what can be done now, by status (the domain refuses the rest anyway).
fn actions(r: &ReservationView, csrf: &str, hold_minutes: i64) -> Html {
    let base = format!("/panel/reservas/{}", r.code);
    let form = |action: &str, title: &str, fields: Html, button: &str| {
        html!(
            "<details><summary>{}</summary><form class=\"act\" method=\"post\" action=\"{}/{}\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{}\">{}\
             <button type=\"submit\">{}</button></form></details>",
            title,
            base.as_str(),
            action,
            csrf,
            fields,
            button
        )
    };
    let amount = |value: String| {
        html!(
            "<label>Monto <input name=\"monto\" inputmode=\"decimal\" required value=\"{}\"></label>\
             <label>Referencia <input name=\"referencia\" maxlength=\"100\"></label>",
            value
        )
    };
    let mut all = Html::default();
    let held = r.status == ReservationStatus::Held;
    if held || r.status == ReservationStatus::Expired {
        all.push(form(
            "confirmar",
            "Confirmar una transferencia",
            amount(plain(r.deposit)),
            "Confirmar",
        ));
    }
    if held && !r.extended {
        let fields = html!(
            "<label>Minutos más <input name=\"minutos\" inputmode=\"numeric\" value=\"{}\"></label>",
            hold_minutes
        );
        all.push(form(
            "extender",
            "Extender el plazo de la seña",
            fields,
            "Extender",
        ));
    }
    if r.status == ReservationStatus::Confirmed {
        let mut fields = amount(plain(r.balance_due));
        fields.push(html!(
            "<input type=\"hidden\" name=\"clave\" value=\"{}\">",
            random_token()
        ));
        all.push(form(
            "pago",
            "Registrar un pago",
            fields,
            "Registrar el pago",
        ));
        let fields = html!(
            "<label>Entrada <input name=\"entrada\" type=\"date\" required value=\"{}\"></label>\
             <label>Salida <input name=\"salida\" type=\"date\" required value=\"{}\"></label>\
             <label>Personas <input name=\"personas\" inputmode=\"numeric\" value=\"{}\"></label>",
            r.check_in.to_string(),
            r.check_out.to_string(),
            r.guests
        );
        all.push(form(
            "mover",
            "Mover la estadía",
            fields,
            "Ver el nuevo precio",
        ));
    }
    if held || r.status == ReservationStatus::Confirmed {
        all.push(form(
            "cancelar",
            "Cancelar la reserva",
            Html::default(),
            "Ver qué se devuelve",
        ));
    }
    if all == Html::default() {
        return all;
    }
    html!("<h2>Acciones</h2>{}", all)
}

/// The reservation's events, oldest first, in words, with when and who.
fn story(history: &[TimelineEntry]) -> Html {
    if history.is_empty() {
        return html!("<p>Todavía no hay eventos.</p>");
    }
    let items: Html = history
        .iter()
        .map(|e| {
            let actor = e
                .metadata
                .get("actor")
                .and_then(|a| a.as_str())
                .unwrap_or("");
            html!(
                "<li><time>{}</time> · {} · <small>{}</small></li>",
                local_moment(e.recorded_at),
                event_words(&e.event_type),
                actor_words(actor)
            )
        })
        .collect();
    html!("<ol class=\"history\">{}</ol>", items)
}

pub(crate) fn event_words(event_type: &str) -> &'static str {
    match event_type {
        "HoldPlaced" => "Reserva tomada, esperando la seña",
        "HoldExtended" => "Se extendió el plazo de la seña",
        "ReservationConfirmed" => "Seña recibida: reserva confirmada",
        "ReservationCancelled" => "Reserva cancelada",
        "HoldExpired" => "Venció sin seña",
        "PaymentLinkCreated" => "Link de pago creado",
        "PaymentRecorded" => "Pago recibido por Mercado Pago",
        "ManualPaymentRecorded" => "Pago registrado a mano",
        "UnderpaymentReceived" => "Pago menor que la seña",
        "LatePaymentAccepted" => "Seña fuera de plazo aceptada: reserva confirmada",
        "LatePaymentRejected" => "Seña fuera de plazo rechazada: las noches ya estaban ocupadas",
        "RefundDue" => "Devolución a hacer",
        "RefundIssued" => "Devolución hecha",
        "PaymentReversed" => "Pago revertido",
        "StayChanged" => "Estadía cambiada",
        _ => "Otro cambio",
    }
}

/// Who, in words: the guest and the system by role, staff by the email they signed in with.
pub(crate) fn actor_words(actor: &str) -> &str {
    match actor {
        "guest" => "huésped",
        "owner" => "dueño por WhatsApp",
        "mercadopago" => "Mercado Pago",
        "reactor" | "scheduler" | "ical" | "" => "sistema",
        staff => staff,
    }
}
