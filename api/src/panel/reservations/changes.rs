//! The two actions the owner sees before they happen: moving a stay (the new total and balance,
//! from the same dry run as the API's `?dry_run=true`) and cancelling (what the policy gives
//! back). The first POST only shows; the form it draws posts again with `confirmar=1`.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use app::AppError;
use app::reservations::{CancelPreview, StayPreview};
use chrono::NaiveDate;
use domain::accommodation::{AccommodationCommand, CancelReservation, CancelledBy, ChangeStay};
use domain::{Money, StayDates};

use super::actions::{done, mistyped, not_done};
use super::{ActionForm, field, origin, pesos};
use crate::panel::calendar::day_label;
use crate::panel::html::{Html, html, within};
use crate::panel::session::Session;
use crate::state::AppState;

fn date(value: &Option<String>) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(field(value)?, "%Y-%m-%d").ok()
}

/// `POST /panel/reservas/{code}/mover`: the new nights and party; first the preview, then,
/// with `confirmar=1`, the change (the same refusals either way).
pub async fn move_stay(
    state: &AppState,
    who: &Session,
    code: &str,
    form: &ActionForm,
) -> HttpResponse {
    let (Some(check_in), Some(check_out)) = (date(&form.entrada), date(&form.salida)) else {
        return mistyped(state, who, code, "Elegí las fechas de entrada y de salida.").await;
    };
    let guests = match field(&form.personas).map(str::parse::<u32>).transpose() {
        Ok(g) => g,
        Err(_) => return mistyped(state, who, code, "Las personas van en números.").await,
    };
    let stay = match StayDates::new(check_in, check_out) {
        Ok(s) => s,
        Err(e) => return not_done(state, who, code, AppError::Domain(e)).await,
    };
    if field(&form.confirmar).is_none() {
        return match app::reservations::preview_stay(state, code, stay, guests).await {
            Ok(preview) => move_question(who, &preview, guests),
            Err(e) => not_done(state, who, code, e).await,
        };
    }
    let changed = app::reservations::on_reservation(state, &origin(who), code, |reservation_id| {
        Ok(AccommodationCommand::ChangeStay(ChangeStay {
            reservation_id,
            stay,
            guests,
        }))
    })
    .await;
    match changed {
        Ok(changed) => done(state, &changed, "movida").await,
        Err(e) => not_done(state, who, code, e).await,
    }
}

/// The new figures and the button that makes the change (the same fields again, confirmed).
fn move_question(who: &Session, p: &StayPreview, guests: Option<u32>) -> HttpResponse {
    let party = guests.map_or_else(Html::default, |g| {
        html!("<input type=\"hidden\" name=\"personas\" value=\"{}\">", g)
    });
    let body = html!(
        "<p>Nuevas noches: {} → {}, {} personas.</p><dl class=\"facts\">\
         <dt>Nuevo total</dt><dd>{}</dd><dt>Pagado</dt><dd>{}</dd>\
         <dt>Saldo a cobrar</dt><dd>{}</dd></dl><p>Todavía no se cambió nada.</p>\
         <form class=\"act\" method=\"post\" action=\"/panel/reservas/{}/mover\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <input type=\"hidden\" name=\"entrada\" value=\"{}\">\
         <input type=\"hidden\" name=\"salida\" value=\"{}\">{}\
         <input type=\"hidden\" name=\"confirmar\" value=\"1\">\
         <button type=\"submit\">Confirmar el cambio</button></form>\
         <p><a href=\"/panel/reservas/{}\">Volver sin cambiar nada</a></p>",
        day_label(p.check_in),
        day_label(p.check_out),
        p.guests,
        pesos(p.total),
        pesos(p.amount_paid),
        pesos(p.balance_due),
        p.code,
        who.csrf,
        p.check_in.to_string(),
        p.check_out.to_string(),
        party,
        p.code
    );
    within(
        StatusCode::OK,
        "Reservas",
        &format!("Mover la reserva {}", p.code),
        &who.csrf,
        body,
    )
}

/// `POST /panel/reservas/{code}/cancelar`: first what the cancellation policy gives back, then,
/// with `confirmar=1`, the cancellation (everything back when `devolver_todo` is ticked).
pub async fn cancel(
    state: &AppState,
    who: &Session,
    code: &str,
    form: &ActionForm,
) -> HttpResponse {
    if field(&form.confirmar).is_none() {
        return match app::reservations::preview_cancel(state, code, false).await {
            Ok(preview) => cancel_question(who, &preview),
            Err(e) => not_done(state, who, code, e).await,
        };
    }
    let refund_all = field(&form.devolver_todo).is_some();
    let changed = app::reservations::on_reservation(state, &origin(who), code, |reservation_id| {
        Ok(AccommodationCommand::Cancel(CancelReservation {
            reservation_id,
            by: CancelledBy::Admin,
            reason: "cancelada por el dueño desde el panel".into(),
            refund_all,
        }))
    })
    .await;
    match changed {
        Ok(changed) => done(state, &changed, "cancelada").await,
        Err(e) => not_done(state, who, code, e).await,
    }
}

/// What the policy gives back, in words.
fn policy_words(p: &CancelPreview) -> String {
    let back = p.back.by_provider + p.back.by_hand;
    let paid = p.paid;
    if paid <= Money::ZERO {
        return "No pagó nada todavía.".into();
    }
    if back <= Money::ZERO {
        return format!(
            "Según la política no se le devuelve nada de los {} que pagó.",
            pesos(paid)
        );
    }
    let mut words = format!(
        "Según la política se le devuelven {} de los {} que pagó",
        pesos(back),
        pesos(paid)
    );
    if p.back.by_hand > Money::ZERO {
        words.push_str(&format!(
            " ({} te toca devolverlos vos)",
            pesos(p.back.by_hand)
        ));
    }
    words.push('.');
    words
}

/// The figures and the button that cancels, with the box that gives everything back (the
/// policy is for a guest who asks; an owner cancelling for reasons of their own may return all).
fn cancel_question(who: &Session, p: &CancelPreview) -> HttpResponse {
    let back = p.back.by_provider + p.back.by_hand;
    let everything = if back < p.paid {
        html!(
            "<label><input type=\"checkbox\" name=\"devolver_todo\" value=\"1\"> \
             Devolver todo ({})</label>",
            pesos(p.paid)
        )
    } else {
        Html::default()
    };
    let body = html!(
        "<p>{}</p><p>Todavía no se canceló nada.</p>\
         <form class=\"act\" method=\"post\" action=\"/panel/reservas/{}/cancelar\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{}\">{}\
         <input type=\"hidden\" name=\"confirmar\" value=\"1\">\
         <button type=\"submit\">Sí, cancelar la reserva</button></form>\
         <p><a href=\"/panel/reservas/{}\">Volver sin cancelar</a></p>",
        policy_words(p),
        p.code,
        who.csrf,
        everything,
        p.code
    );
    within(
        StatusCode::OK,
        "Reservas",
        &format!("Cancelar la reserva {}", p.code),
        &who.csrf,
        body,
    )
}
