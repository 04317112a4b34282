//! Messages the business starts. WhatsApp delivers free-form messages (text, buttons) only within
//! 24 hours of the person's last message to the business; outside that window only a message
//! template the business had approved by Meta is delivered, and free text is refused with code
//! 131047, at once or later in the message's status update.
//!
//! The service writes many of its messages outside the window by nature: the day before a guest
//! arrives, when the owner cancels weeks later, an alert to the owner. Rather than one template
//! per kind of message (each reviewed by Meta, each a new setting), one "notice" template with a
//! single body variable carries the text the service wrote: the already-rendered message is
//! turned into that template's parameter.

use serde_json::{Value, json};

/// Meta's code for free text sent outside the 24-hour window ("Re-engagement message").
pub const OUTSIDE_WINDOW: i64 = 131047;

/// Meta's cap on a template body is 1,024 characters, the approved text included; this leaves
/// room for that text.
const PARAMETER_MAX_CHARS: usize = 700;

/// The approved template that carries a notice, and the language it was approved in.
#[derive(Clone, Debug, PartialEq)]
pub struct NoticeTemplate {
    pub name: String,
    /// Meta's code for the template's language, e.g. `es_AR`.
    pub language: String,
}

impl NoticeTemplate {
    /// The template message carrying what `message` (a Cloud API free-form message body) says,
    /// to the same person, with the same tracker; `None` when there is nothing to carry (an
    /// empty text) or the message is a template already.
    pub fn carry(&self, message: &Value) -> Option<Value> {
        let text = parameter(&said(message)?)?;
        let mut notice = json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": message.get("to")?.clone(),
            "type": "template",
            "template": {
                "name": self.name,
                "language": {"policy": "deterministic", "code": self.language},
                "components": [{"type": "body", "parameters": [{"type": "text", "text": text}]}],
            },
        });
        if let Some(tracker) = message.get("biz_opaque_callback_data") {
            notice["biz_opaque_callback_data"] = tracker.clone();
        }
        Some(notice)
    }
}

/// What a free-form message says, as text: a text's body; an interactive message's body, with
/// the link of a link button (reply buttons and lists cannot be carried: the guest answers in
/// words, which the conversation understands as well).
fn said(message: &Value) -> Option<String> {
    match message.get("type")?.as_str()? {
        "text" => Some(message.pointer("/text/body")?.as_str()?.to_owned()),
        "interactive" => {
            let body = message.pointer("/interactive/body/text")?.as_str()?;
            match message
                .pointer("/interactive/action/parameters/url")
                .and_then(Value::as_str)
            {
                Some(url) => Some(format!("{body} {url}")),
                None => Some(body.to_owned()),
            }
        }
        _ => None,
    }
}

/// Meta refuses a template parameter holding a line break, a tab or more than four spaces in a
/// row: every run of white space becomes one space. Too long a text is cut at a word.
fn parameter(text: &str) -> Option<String> {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.is_empty() {
        return None;
    }
    if flat.chars().count() <= PARAMETER_MAX_CHARS {
        return Some(flat);
    }
    let cut: String = flat.chars().take(PARAMETER_MAX_CHARS - 1).collect();
    let at_word = cut.rfind(' ').map_or(cut.as_str(), |i| &cut[..i]);
    Some(format!("{at_word}…"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn notice() -> NoticeTemplate {
        NoticeTemplate {
            name: "aviso_reserva".into(),
            language: "es_AR".into(),
        }
    }

    fn text(body: &str) -> Value {
        json!({"messaging_product": "whatsapp", "recipient_type": "individual",
            "to": "541122334455", "type": "text", "text": {"preview_url": false, "body": body},
            "biz_opaque_callback_data": "arrival:r1"})
    }

    fn carried(message: &Value) -> String {
        notice().carry(message).unwrap()["template"]["components"][0]["parameters"][0]["text"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    #[test]
    fn a_text_is_carried_to_the_same_person_with_its_tracker() {
        let sent = notice()
            .carry(&text(
                "¡Mañana te esperamos!\nEntrada desde las 14:00.\n\n📍  Ruta 40",
            ))
            .unwrap();
        assert_eq!(sent["to"], "541122334455");
        assert_eq!(sent["type"], "template");
        assert_eq!(sent["template"]["name"], "aviso_reserva");
        assert_eq!(sent["template"]["language"]["code"], "es_AR");
        assert_eq!(sent["biz_opaque_callback_data"], "arrival:r1");
        assert_eq!(
            sent["template"]["components"][0]["parameters"][0]["text"],
            "¡Mañana te esperamos! Entrada desde las 14:00. 📍 Ruta 40"
        );
    }

    #[test]
    fn no_line_break_tab_or_long_space_run_reaches_meta() {
        let got = carried(&text("a\tb     c\r\nd"));
        assert_eq!(got, "a b c d");
    }

    #[test]
    fn a_link_button_is_carried_with_its_link() {
        let link = json!({"to": "541122334455", "type": "interactive", "interactive": {
            "type": "cta_url", "body": {"text": "Pagá la seña"},
            "action": {"name": "cta_url", "parameters": {"display_text": "Pagar",
                "url": "https://mp.example/checkout?pref_id=p1"}}}});
        assert_eq!(
            carried(&link),
            "Pagá la seña https://mp.example/checkout?pref_id=p1"
        );
    }

    #[test]
    fn a_long_text_is_cut_at_a_word_within_metas_limit() {
        let long = "palabra ".repeat(200);
        let got = carried(&text(&long));
        assert!(got.chars().count() <= PARAMETER_MAX_CHARS, "{}", got.len());
        assert!(got.ends_with("palabra…"), "{got}");
    }

    #[test]
    fn nothing_to_carry_is_not_a_notice() {
        assert_eq!(notice().carry(&text(" \n ")), None);
        let template = notice().carry(&text("hola")).unwrap();
        assert_eq!(
            notice().carry(&template),
            None,
            "a template is not wrapped again"
        );
    }
}
