//! `GET /pagos/retorno`: the page Checkout Pro sends the guest back to. It shows the
//! reservation's status as we know it; Mercado Pago's `status` and `external_reference` in the
//! query are hints, and nothing is decided from them.

use actix_web::{HttpResponse, web};
use conversation::dialogue::day_label;
use domain::accommodation::Channel;
use domain::{Money, ReservationId};
use projections::ReservationStatus;
use projections::queries;
use serde::Deserialize;

use crate::problem::Problem;
use crate::state::AppState;

#[derive(Deserialize)]
pub struct ReturnQuery {
    external_reference: Option<String>,
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `GET /pagos/retorno`: the reservation's status as we know it. Mercado Pago's `status` and
/// `external_reference` in the query are hints: nothing is decided from them.
pub async fn return_page(
    state: web::Data<AppState>,
    q: web::Query<ReturnQuery>,
) -> Result<HttpResponse, Problem> {
    let found = match q
        .external_reference
        .as_deref()
        .and_then(|r| r.parse::<ReservationId>().ok())
    {
        Some(id) => queries::reservation_by_id(&state.db, &id.to_string()).await?,
        None => None,
    };
    let (title, body) = match found {
        Some(r) => {
            let status = match r.status {
                ReservationStatus::Confirmed => "está confirmada ✅",
                ReservationStatus::Held => "está reservada, esperando la acreditación del pago ⏳",
                ReservationStatus::Cancelled => "fue cancelada",
                ReservationStatus::Expired => "venció",
            };
            // Only a guest who booked by WhatsApp, or asked to hear there, is written to there.
            let channel = if r.channel == "whatsapp" {
                Channel::Whatsapp
            } else {
                Channel::Direct
            };
            let news = if app::guests::whatsapp_number(&state, &r.guest.reference, channel)
                .await
                .ok()
                .flatten()
                .is_some()
            {
                "Te avisamos por WhatsApp de cualquier novedad."
            } else {
                "Podés volver a ver cómo está tu reserva con su código en cualquier momento."
            };
            let balance = if r.status == ReservationStatus::Confirmed && r.balance_due > Money::ZERO
            {
                format!(" · Saldo a pagar al llegar: {}", r.balance_due)
            } else {
                String::new()
            };
            (
                format!("Reserva {}", escape(&r.code)),
                format!(
                    "<p>Tu reserva <strong>{}</strong> {status}.</p><p>{} · del {} al {}</p>\
                     <p>Pagado: {}{balance}</p><p>{news}</p>",
                    escape(&r.code),
                    escape(r.accommodation_name.as_deref().unwrap_or_default()),
                    day_label(r.check_in),
                    day_label(r.check_out),
                    r.amount_paid
                ),
            )
        }
        None => (
            "Pago en proceso".to_owned(),
            "<p>Estamos procesando tu pago. Apenas se acredite, tu reserva queda confirmada.</p>"
                .to_owned(),
        ),
    };
    let html = format!(
        "<!doctype html><html lang=\"es\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title></head><body style=\"font-family: sans-serif; max-width: 32em; \
         margin: 2em auto; padding: 0 1em\"><h1>{title}</h1>{body}</body></html>"
    );
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(html))
}
