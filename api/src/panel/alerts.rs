//! `GET /panel/alertas`: what needs the owner, from the read models the admin API's
//! `/v1/admin/alerts` reads: holds waiting for a deposit the owner confirms by hand (a transfer
//! the guest says they made), refunds to give back by hand, payment problems, calendar
//! conflicts with imported feeds, and WhatsApp replies that could not be delivered. A refund
//! given back is marked made here ("Ya la devolví") with the admin API's use case.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use domain::accommodation::{AccommodationCommand, RecordRefund};
use eventstore::{db_fetch, pii};
use projections::ReservationStatus;
use projections::queries::{self, AlertView, ConflictView, ReservationFilter};
use serde::Deserialize;

use super::conversations::shown_number;
use super::html::{Html, html, refusal, signed_in_page};
use super::reservations::{local_moment, plain, refused};
use super::session::Session;
use super::{State, internal, redirect, signed_in};
use crate::auth::Role;
use crate::panel::post::AdminPost;
use crate::state::AppState;

/// How many of each kind the page shows (the newest).
const MAX_ROWS: i64 = 50;

/// A link to a reservation's page, or its id alone when the read model lost the code.
fn reservation_link(code: Option<&str>) -> Html {
    match code {
        Some(code) => html!("<a href=\"/panel/reservas/{}\">{}</a>", code, code),
        None => html!("una reserva"),
    }
}

fn kind_words(kind: &str) -> &'static str {
    match kind {
        "manual_refund" => "Devolver a mano",
        "underpayment" => "Pago menor que la seña",
        "late_payment_refunded" => "Pago tardío, en devolución",
        "payment_reversed" => "Pago revertido por Mercado Pago",
        _ => "Revisar",
    }
}

/// Open alerts; a refund to make by hand with its amount and, for an admin, the form.
async fn payment_alerts(state: &AppState, who: &Session) -> anyhow::Result<Html> {
    let open: Vec<AlertView> = queries::alerts(&state.db, 200)
        .await?
        .into_iter()
        .filter(|a| a.resolved_at.is_none())
        .take(MAX_ROWS as usize)
        .collect();
    if open.is_empty() {
        return Ok(html!("<p>No hay pagos ni devoluciones pendientes.</p>"));
    }
    let mut items = Html::default();
    for a in &open {
        let mut extra = Html::default();
        if let Some(key) = &a.refund_key {
            let refunds = queries::refunds_of(&state.db, &a.reservation_id).await?;
            if let Some(r) = refunds.iter().find(|r| &r.refund_key == key) {
                extra.push(html!(" · $ {}", plain(r.amount)));
            }
            if let (Some(code), Role::Admin) = (&a.code, who.role) {
                extra.push(refund_form(code, key, &who.csrf));
            }
        }
        items.push(html!(
            "<li><b>{}</b> · {} · {}{}</li>",
            kind_words(&a.kind),
            reservation_link(a.code.as_deref()),
            local_moment(a.at),
            extra
        ));
    }
    Ok(html!("<ol class=\"list\">{}</ol>", items))
}

fn refund_form(code: &str, key: &str, csrf: &str) -> Html {
    html!(
        "<form class=\"act\" method=\"post\" action=\"/panel/alertas/devoluciones/{}/{}\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <label for=\"ref-{}\">Referencia (opcional)</label>\
         <input id=\"ref-{}\" name=\"referencia\" maxlength=\"100\">\
         <button type=\"submit\">Ya la devolví</button></form>",
        code,
        key,
        csrf,
        key,
        key
    )
}

/// Holds waiting for their deposit: a guest who paid by transfer waits for the owner to see
/// it in the bank and confirm it on the reservation's page.
async fn deposits_to_check(state: &AppState) -> anyhow::Result<Html> {
    let filter = ReservationFilter {
        status: Some(ReservationStatus::Held),
        newest_first: true,
        limit: MAX_ROWS,
        ..ReservationFilter::default()
    };
    let held = queries::search_reservations(&state.db, &filter).await?;
    if held.is_empty() {
        return Ok(html!("<p>Ninguna reserva espera su seña.</p>"));
    }
    let items: Html = held
        .iter()
        .map(|r| {
            html!(
                "<li>{} · {} · seña $ {} · vence {}</li>",
                reservation_link(Some(&r.code)),
                r.accommodation_name.as_deref().unwrap_or("cabaña"),
                plain(r.deposit),
                local_moment(r.expires_at)
            )
        })
        .collect();
    Ok(html!("<ol class=\"list\">{}</ol>", items))
}

/// Imported bookings that overlap one of ours, until resolved.
async fn conflicts(state: &AppState) -> anyhow::Result<Html> {
    let open: Vec<ConflictView> = queries::open_conflicts(&state.db).await?;
    if open.is_empty() {
        return Ok(html!("<p>No hay choques con calendarios importados.</p>"));
    }
    let cabins = queries::accommodations(&state.db).await?;
    let items: Html = open
        .iter()
        .map(|c| {
            let cabin = cabins
                .iter()
                .find(|a| a.id == c.accommodation_id)
                .map_or("cabaña", |a| a.name.as_str());
            let ours = match (&c.occupant_code, c.occupant_kind.as_str()) {
                (Some(code), _) => reservation_link(Some(code)),
                (None, "block") => html!("un bloqueo"),
                _ => html!("algo nuestro"),
            };
            html!(
                "<li>{}: «{}» del {} al {} choca con {}</li>",
                cabin,
                c.calendar,
                c.check_in.format("%d/%m").to_string(),
                c.check_out.format("%d/%m").to_string(),
                ours
            )
        })
        .collect();
    Ok(html!("<ol class=\"list\">{}</ol>", items))
}

/// Replies to guests that WhatsApp could not deliver (the owner's own alerts left out).
async fn undelivered(state: &AppState, role: Role) -> anyhow::Result<Html> {
    let failed: Vec<(String, Option<i64>, i64)> = db_fetch!(
        &state.db,
        (String, Option<i64>, i64),
        fetch_all,
        "SELECT wa_id, error_code, created_at_ms FROM wa_outbox \
         WHERE status = 'failed' AND id NOT LIKE 'owner:%' ORDER BY created_at_ms DESC LIMIT $1"
            .to_owned(),
        MAX_ROWS
    )?;
    if failed.is_empty() {
        return Ok(html!("<p>Todas las respuestas se entregaron.</p>"));
    }
    let mut items = Html::default();
    for (wa_id, code, at) in failed {
        let number = shown_number(&wa_id, role);
        let who = match pii::find_guest(&state.db, &wa_id).await? {
            Some(g) => html!(
                "<a href=\"/panel/conversaciones/{}\">{}</a>",
                g.stream_id(),
                number
            ),
            None => html!("{}", number),
        };
        let code = code.map_or_else(Html::default, |c| html!(" (error {})", c));
        let at = local_moment(projections::sql::from_millis(at));
        items.push(html!("<li>{} · {}{}</li>", who, at, code));
    }
    Ok(html!("<ol class=\"list\">{}</ol>", items))
}

#[derive(Deserialize, Default)]
pub struct Flash {
    hecho: Option<String>,
}

/// `GET /panel/alertas`.
pub async fn page(state: State, req: HttpRequest, flash: web::Query<Flash>) -> HttpResponse {
    let who = match signed_in(&state, &req).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    let sections = async {
        anyhow::Ok(html!(
            "<h2>Señas por confirmar</h2>{}<h2>Pagos y devoluciones</h2>{}\
             <h2>Choques de calendario</h2>{}<h2>Mensajes sin entregar</h2>{}",
            deposits_to_check(&state).await?,
            payment_alerts(&state, &who).await?,
            conflicts(&state).await?,
            undelivered(&state, who.role).await?
        ))
    };
    let body = match sections.await {
        Ok(body) => body,
        Err(err) => return internal(&err),
    };
    let notice = match flash.hecho.as_deref() {
        Some("devolucion") => {
            html!("<p class=\"ok\" role=\"status\">Listo: la devolución quedó registrada.</p>")
        }
        _ => Html::default(),
    };
    signed_in_page(
        StatusCode::OK,
        "Alertas",
        &who.csrf,
        html!("{}{}", notice, body),
    )
}

#[derive(Deserialize, Default)]
pub struct RefundForm {
    csrf: Option<String>,
    referencia: Option<String>,
}

crate::panel::post::csrf_field!(RefundForm);

/// `POST /panel/alertas/devoluciones/{code}/{refund_key}`: the owner gave a refund back by
/// hand; the same command as `POST /v1/admin/reservations/{code}/refunds/{refund_key}`, with
/// the panel user as the actor. Sent twice, it records nothing the second time.
pub async fn refund_made(
    state: State,
    path: web::Path<(String, String)>,
    post: AdminPost<RefundForm>,
) -> HttpResponse {
    let AdminPost { who, form } = post;
    let (code, refund_key) = path.into_inner();
    let reference = form.referencia.as_deref().map(str::trim).unwrap_or("");
    if reference.chars().count() > 100 {
        let why = "La referencia tiene que tener hasta 100 caracteres.";
        return refusal(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Referencia muy larga",
            why,
        );
    }
    let refund_id = if reference.is_empty() {
        "by hand".to_owned()
    } else {
        reference.to_owned()
    };
    let origin = app::Origin::admin(&who.email);
    let made = app::reservations::on_reservation(&state, &origin, &code, |reservation_id| {
        Ok(AccommodationCommand::RecordRefund(RecordRefund {
            reservation_id,
            refund_key,
            refund_id,
        }))
    })
    .await;
    match made {
        Ok(_) => {
            // Bounded wait so the page shows the alert resolved; the refund is recorded anyway.
            let _ = app::reservations::caught_up(&state).await;
            redirect("/panel/alertas?hecho=devolucion")
        }
        Err(err) => match refused(&err) {
            Some((status, words)) => refusal(status, "No se registró", &words),
            None => internal(&anyhow::Error::new(err)),
        },
    }
}
