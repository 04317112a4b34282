//! WhatsApp conversations in the panel (issue 28, item 3): the list (guests waiting for a
//! person first), one conversation's thread (`thread.rs`), and an admin writing as a person or
//! handing the conversation back to the bot: the same `app::inbox::write` and
//! `app::guests::hand_back` as the admin API. Phone numbers are personal data: an admin sees
//! them, an auditor a masked one. Links carry the guest's random id, never the number, so the
//! number is not in an auditor's address bar or history either.

pub mod thread;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use conversation::dialogue::{self, State as Dialogue};
use domain::{DomainEvent, GuestEvent, GuestId};
use eventstore::{db_fetch, pii};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::html::{Html, html, signed_in_page};
use super::reservations::local_moment;
use super::{State, internal, signed_in};
use crate::auth::Role;
use crate::state::AppState;

/// The most conversations the list shows (the newest).
const MAX_ROWS: i64 = 100;

/// One guest who wrote.
pub struct Listed {
    pub wa_id: String,
    /// The guest's random id: the conversation's address in the panel.
    pub guest: GuestId,
    pub messages: i64,
    pub last: DateTime<Utc>,
    /// Handed to a person, who has not yet handed it back (nor has a quiet day passed).
    pub waiting: bool,
}

/// `5491122334455` as an Argentine reads it (`+54 9 11 2233-4455`), whole for an admin and
/// with the middle hidden for an auditor (`+54 9 11 ****-4455`). Other countries: `+` and the
/// digits, masked the same way.
pub fn shown_number(wa_id: &str, role: Role) -> String {
    let digits: String = wa_id.chars().filter(char::is_ascii_digit).collect();
    let (prefix, rest) = match digits.strip_prefix("549") {
        Some(rest) if rest.len() == 10 => ("+54 9 ".to_owned(), rest.to_owned()),
        _ if digits.len() > 6 => ("+".to_owned(), digits.clone()),
        _ => return "número oculto".into(),
    };
    let (area, local) = rest.split_at(2);
    let (middle, last) = local.split_at(local.len() - 4);
    let middle = match role {
        Role::Admin => middle.to_owned(),
        _ => "*".repeat(middle.len()),
    };
    format!("{prefix}{area} {middle}-{last}")
}

/// The guest's dialogue state and when it last moved, read from their stream as the
/// conversation worker reads it (there is no read model of the dialogue).
async fn dialogue_of(
    state: &AppState,
    guest: &GuestId,
) -> anyhow::Result<(Dialogue, Option<DateTime<Utc>>)> {
    let events = state.store.read_stream(&guest.stream_id(), 0).await?;
    for e in events.iter().rev() {
        if let Ok(GuestEvent::DialogueAdvanced(d)) =
            GuestEvent::from_stored(&e.event_type, e.schema_version as u32, e.payload.clone())
        {
            let state = serde_json::from_value(d.state).unwrap_or_default();
            return Ok((state, Some(d.at)));
        }
    }
    Ok((Dialogue::Menu, None))
}

/// Whether a person has the conversation now (the bot's own rule, `with_a_person`).
pub async fn waiting_for_person(state: &AppState, guest: &GuestId) -> anyhow::Result<bool> {
    let (dialogue, last) = dialogue_of(state, guest).await?;
    Ok(dialogue::with_a_person(&dialogue, last, state.now()))
}

/// The newest conversations, those waiting for a person first.
pub async fn listed(state: &AppState) -> anyhow::Result<Vec<Listed>> {
    let rows: Vec<(String, i64, i64)> = db_fetch!(
        &state.db,
        (String, i64, i64),
        fetch_all,
        "SELECT wa_id, count(*), max(received_at_ms) FROM wa_inbox GROUP BY wa_id \
         ORDER BY max(received_at_ms) DESC LIMIT $1"
            .to_owned(),
        MAX_ROWS
    )?;
    let mut out = Vec::with_capacity(rows.len());
    for (wa_id, messages, last) in rows {
        // An erased guest is no longer in the directory: their conversation is not listed.
        let Some(guest) = pii::find_guest(&state.db, &wa_id).await? else {
            continue;
        };
        let waiting = waiting_for_person(state, &guest).await?;
        let last = projections::sql::from_millis(last);
        out.push(Listed {
            wa_id,
            guest,
            messages,
            last,
            waiting,
        });
    }
    // Stable: within each group, newest first as queried.
    out.sort_by_key(|c| !c.waiting);
    Ok(out)
}

/// The WhatsApp number behind a guest id in a link: the directory keeps only the number's
/// digest, so the numbers that wrote are digested the same way (`eventstore::pii`) and
/// compared. `None`: no such guest, or they never wrote.
pub async fn number_of(state: &AppState, guest: &str) -> anyhow::Result<Option<String>> {
    let Some(id) = GuestId::from_stream_id(guest) else {
        return Ok(None);
    };
    let digest: Option<(String,)> = db_fetch!(
        &state.db,
        (String,),
        fetch_optional,
        "SELECT phone_digest FROM guest_directory WHERE guest_id = $1".to_owned(),
        id.stream_id()
    )?;
    let Some((digest,)) = digest else {
        return Ok(None);
    };
    let numbers: Vec<(String,)> = db_fetch!(
        &state.db,
        (String,),
        fetch_all,
        "SELECT DISTINCT wa_id FROM wa_inbox".to_owned()
    )?;
    Ok(numbers
        .into_iter()
        .map(|(n,)| n)
        .find(|n| phone_digest(n) == digest))
}

/// As `eventstore::pii` digests a number for the guest directory (kept private there).
fn phone_digest(phone: &str) -> String {
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    hex::encode(Sha256::digest(format!("cabanas-guest:{digits}")))
}

/// What a stored message says, in a word when it is not text.
pub fn guest_text(message: &str) -> String {
    let m: Value = serde_json::from_str(message).unwrap_or_default();
    let kind = &m["kind"];
    let said = match kind["type"].as_str() {
        Some("text") => kind["body"].as_str(),
        Some("button_reply" | "list_reply") => kind["title"].as_str(),
        Some("quick_reply") => kind["text"].as_str(),
        Some("media") => kind["caption"]
            .as_str()
            .or(Some("(una imagen o un archivo)")),
        Some("audio") => Some("(un audio)"),
        _ => None,
    };
    said.unwrap_or("(un mensaje que no se puede mostrar)")
        .to_owned()
}

/// A reply as sent to Meta: its text, a list's or buttons' text, or a template's name.
pub fn reply_text(body: &str) -> String {
    let m: Value = serde_json::from_str(body).unwrap_or_default();
    let said = m["text"]["body"]
        .as_str()
        .or_else(|| m["interactive"]["body"]["text"].as_str())
        .map(str::to_owned)
        .or_else(|| {
            m["template"]["name"]
                .as_str()
                .map(|n| format!("(plantilla {n})"))
        });
    said.unwrap_or_else(|| "(un mensaje)".into())
}

pub fn status_word(status: &str) -> &'static str {
    match status {
        "pending" | "sending" => "por enviar",
        "sent" => "enviado",
        "delivered" => "entregado",
        "read" => "leído",
        "failed" => "no se pudo entregar",
        "sandbox" => "guardado (modo prueba)",
        _ => "enviado",
    }
}

/// `GET /panel/conversaciones`: who waits for a person, then the rest, newest first.
pub async fn list(state: State, req: HttpRequest) -> HttpResponse {
    let who = match signed_in(&state, &req).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    let found = match listed(&state).await {
        Ok(found) => found,
        Err(err) => return internal(&err),
    };
    let (waiting, rest): (Vec<&Listed>, Vec<&Listed>) = found.iter().partition(|c| c.waiting);
    let body = html!(
        "<h2>Esperan a una persona</h2>{}<h2>Recientes</h2>{}",
        rows(&waiting, who.role, "Nadie espera a una persona."),
        rows(&rest, who.role, "No hay otras conversaciones.")
    );
    signed_in_page(StatusCode::OK, "Conversaciones", &who.csrf, body)
}

fn rows(found: &[&Listed], role: Role, empty: &str) -> Html {
    if found.is_empty() {
        return html!("<p>{}</p>", empty);
    }
    let items: Html = found
        .iter()
        .map(|c| {
            html!(
                "<li><a href=\"/panel/conversaciones/{}\">{}</a> · {} mensajes · último {}</li>",
                c.guest.stream_id(),
                shown_number(&c.wa_id, role),
                c.messages,
                local_moment(c.last)
            )
        })
        .collect();
    html!("<ol class=\"list\">{}</ol>", items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_auditor_sees_only_the_area_and_the_last_four_digits() {
        assert_eq!(
            shown_number("5491122334455", Role::Admin),
            "+54 9 11 2233-4455"
        );
        assert_eq!(
            shown_number("5491122334455", Role::Auditor),
            "+54 9 11 ****-4455"
        );
        assert_eq!(shown_number("34612345678", Role::Auditor), "+34 *****-5678");
        assert_eq!(shown_number("12", Role::Admin), "número oculto");
    }
}
