//! "agenda", "agenda de mañana", "agenda de la semana": who comes and goes, as the morning's
//! agenda tells it, and the holds still waiting for their deposit.

use chrono::NaiveDateTime;
use conversation::dialogue::day_label;
use conversation::owner::Span;

use crate::context::Context;
use crate::error::AppError;

/// Who comes and goes today (or tomorrow), on the owner's clock; when nobody does, the next
/// arrival.
pub(super) async fn agenda(state: &Context, span: Span) -> Result<String, AppError> {
    let Some(now) = crate::arrivals::owner_time(state, state.now()).await? else {
        return Ok("Todavía no hay cabañas registradas.".to_owned());
    };
    let (day, heading) = match span {
        Span::Today => (now.date(), "Hoy"),
        Span::Tomorrow => (now.date() + chrono::Duration::days(1), "Mañana"),
        Span::Week => return week(state, now).await,
    };
    let mut text = match crate::arrivals::agenda(state, day, heading).await? {
        Some(text) => text,
        None => {
            let mut text = format!("📋 {heading}, {}: no llega ni se va nadie.", day_label(day));
            let next = day + chrono::Duration::days(1);
            let far = day + chrono::Duration::days(366);
            if let Some(a) = crate::arrivals::arrivals(state, next, far, 1)
                .await?
                .first()
            {
                text.push_str(&format!(
                    "\nPróxima llegada: {}, {} (reserva {}).",
                    day_label(a.check_in),
                    a.cabin,
                    a.code
                ));
            }
            text
        }
    };
    text.push_str(&holds_waiting(state, now).await?);
    Ok(text)
}

/// Who arrives in the seven days from the owner's today (`local_now`), by day, with the
/// balance to collect, and the holds waiting for their deposit.
async fn week(state: &Context, local_now: NaiveDateTime) -> Result<String, AppError> {
    let today = local_now.date();
    let until = today + chrono::Duration::days(6);
    let arrivals = crate::arrivals::arrivals(state, today, until, 100).await?;
    let mut text = format!(
        "📋 Llegadas del {} al {}:",
        day_label(today),
        day_label(until)
    );
    if arrivals.is_empty() {
        text.push_str(" ninguna.");
    }
    for a in &arrivals {
        text.push_str(&format!("\n• {} · {}", day_label(a.check_in), a.line()));
    }
    text.push_str(&holds_waiting(state, local_now).await?);
    Ok(text)
}

/// The holds waiting for their deposit now, each with when it lapses on the owner's clock
/// (`local_now`): a transfer may be on its way for any of them. Empty when none.
async fn holds_waiting(state: &Context, local_now: NaiveDateTime) -> Result<String, AppError> {
    let filter = projections::queries::ReservationFilter {
        status: Some(projections::ReservationStatus::Held),
        limit: 20,
        ..projections::queries::ReservationFilter::default()
    };
    // The owner's offset from UTC, to read each lapse on the owner's clock.
    let offset = local_now - state.now().naive_utc();
    let holds: Vec<String> = projections::queries::search_reservations(&state.db, &filter)
        .await?
        .into_iter()
        .filter(|r| r.expires_at > state.now())
        .map(|r| {
            format!(
                "\n• {} ({}, {}): seña {}, vence a las {}",
                r.code,
                r.guest.name.as_deref().unwrap_or("huésped"),
                r.accommodation_name.as_deref().unwrap_or("cabaña"),
                r.deposit,
                (r.expires_at + offset).format("%H:%M")
            )
        })
        .collect();
    Ok(if holds.is_empty() {
        String::new()
    } else {
        format!("\nEsperando la seña:{}", holds.concat())
    })
}
