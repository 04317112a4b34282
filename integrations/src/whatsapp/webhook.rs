//! The inbound webhook: Meta's signature check and the payload shapes it delivers.
//!
//! Meta POSTs `{"object":"whatsapp_business_account","entry":[{"changes":[{"value":{…}}]}]}`
//! where `value` carries `messages` (with the sender in `contacts`) and/or `statuses` of messages
//! we sent. Meta retries anything but a 2xx for up to 36 hours, so a type we do not understand is
//! parsed as [`MessageKind::Unsupported`], never an error.

use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::Sha256;

/// Checks `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body with the app secret>`,
/// in constant time.
pub fn signature_is_valid(app_secret: &[u8], body: &[u8], header: Option<&str>) -> bool {
    let Some(hex_sig) = header.and_then(|h| h.trim().strip_prefix("sha256=")) else {
        return false;
    };
    let Ok(expected) = hex::decode(hex_sig) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(app_secret) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

/// One thing a webhook delivery tells us.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "update", rename_all = "snake_case")]
pub enum Inbound {
    Message(InboundMessage),
    Status(StatusUpdate),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InboundMessage {
    /// Meta's message id (`wamid.…`): the key that makes a redelivery harmless.
    pub wamid: String,
    /// The guest's WhatsApp id (their number as Meta reports it, e.g. `549…` in Argentina).
    pub wa_id: String,
    /// The name on the guest's WhatsApp profile, when sent.
    pub profile_name: Option<String>,
    /// Seconds since the epoch, as sent.
    pub timestamp: i64,
    /// The business phone number that received it.
    pub phone_number_id: Option<String>,
    /// The message this one answers (a button press carries the id of the message with it).
    pub context_id: Option<String>,
    pub kind: MessageKind,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum MessageKind {
    Text {
        body: String,
    },
    /// A voice note or audio file; the media id is fetched later for transcription.
    Audio {
        media_id: String,
        mime_type: Option<String>,
        voice: bool,
    },
    /// A reply button was pressed.
    ButtonReply {
        id: String,
        title: String,
    },
    /// A list row was picked.
    ListReply {
        id: String,
        title: String,
        description: Option<String>,
    },
    /// A template's quick-reply button (`type: button`).
    QuickReply {
        payload: String,
        text: String,
    },
    /// A picture or a document: in practice often the receipt of a transfer. The file stays
    /// with Meta, fetched by its media id only when it is forwarded.
    Media {
        /// `image` or `document`, as Meta names the message type.
        kind: String,
        media_id: String,
        mime_type: Option<String>,
        caption: Option<String>,
        /// A document's file name, as the guest's phone gave it.
        filename: Option<String>,
    },
    /// Anything else (images, stickers, locations, unknown types…): acknowledged, kept, and
    /// answered later with a polite "please write to us".
    Unsupported {
        kind: String,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StatusUpdate {
    /// The id of the message we sent.
    pub wamid: String,
    /// `sent`, `delivered`, `read`, `played` or `failed`.
    pub status: String,
    pub recipient_id: Option<String>,
    pub timestamp: i64,
    pub errors: Vec<ApiError>,
    /// What we sent along with the message (`biz_opaque_callback_data`): our reply id, so a reply
    /// whose send was interrupted can be matched with what Meta says it did.
    pub tracker: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ApiError {
    pub code: i64,
    #[serde(default)]
    pub title: String,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ParseError {
    #[error("the body is not JSON: {0}")]
    NotJson(String),
    #[error("not a WhatsApp Business Account notification (object = {0:?})")]
    WrongObject(String),
}

// The wire shapes, as loose as Meta's documentation allows: everything optional that may be.

#[derive(Deserialize)]
struct Envelope {
    #[serde(default)]
    object: String,
    #[serde(default)]
    entry: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    #[serde(default)]
    changes: Vec<Change>,
}

#[derive(Deserialize)]
struct Change {
    #[serde(default)]
    value: Option<ChangeValue>,
}

#[derive(Deserialize)]
struct ChangeValue {
    #[serde(default)]
    metadata: Option<Metadata>,
    #[serde(default)]
    contacts: Vec<Contact>,
    #[serde(default)]
    messages: Vec<Value>,
    #[serde(default)]
    statuses: Vec<RawStatus>,
}

#[derive(Deserialize)]
struct Metadata {
    #[serde(default)]
    phone_number_id: Option<String>,
}

#[derive(Deserialize)]
struct Contact {
    #[serde(default)]
    wa_id: Option<String>,
    #[serde(default)]
    profile: Option<Profile>,
}

#[derive(Deserialize)]
struct Profile {
    #[serde(default)]
    name: Option<String>,
}

#[derive(Deserialize)]
struct RawStatus {
    id: String,
    status: String,
    #[serde(default)]
    recipient_id: Option<String>,
    #[serde(default)]
    timestamp: Option<String>,
    #[serde(default)]
    errors: Vec<ApiError>,
    #[serde(default)]
    biz_opaque_callback_data: Option<String>,
}

/// The string at `path`, without NUL characters: they mean nothing in a message, and
/// PostgreSQL keeps none in text or JSON (a delivery carrying one would never be stored, and
/// Meta would redeliver it for days).
fn text(v: &Value, path: &[&str]) -> Option<String> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    cur.as_str().map(without_nul)
}

fn without_nul(s: &str) -> String {
    s.replace('\0', "")
}

fn seconds(raw: Option<&str>) -> i64 {
    raw.and_then(|t| t.parse().ok()).unwrap_or(0)
}

fn kind_of(m: &Value) -> MessageKind {
    let kind = m.get("type").and_then(Value::as_str).unwrap_or("unknown");
    let unsupported = || MessageKind::Unsupported {
        kind: kind.to_owned(),
    };
    match kind {
        "text" => match text(m, &["text", "body"]) {
            Some(body) => MessageKind::Text { body },
            None => unsupported(),
        },
        "audio" => match text(m, &["audio", "id"]) {
            Some(media_id) => MessageKind::Audio {
                media_id,
                mime_type: text(m, &["audio", "mime_type"]),
                voice: m
                    .pointer("/audio/voice")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
            },
            None => unsupported(),
        },
        "image" | "document" => match text(m, &[kind, "id"]) {
            Some(media_id) => MessageKind::Media {
                kind: kind.to_owned(),
                media_id,
                mime_type: text(m, &[kind, "mime_type"]),
                caption: text(m, &[kind, "caption"]),
                filename: text(m, &[kind, "filename"]),
            },
            None => unsupported(),
        },
        "interactive" => {
            let reply = m.get("interactive");
            match reply.and_then(|r| r.get("type")).and_then(Value::as_str) {
                Some("button_reply") => match (
                    text(m, &["interactive", "button_reply", "id"]),
                    text(m, &["interactive", "button_reply", "title"]),
                ) {
                    (Some(id), Some(title)) => MessageKind::ButtonReply { id, title },
                    _ => unsupported(),
                },
                Some("list_reply") => match (
                    text(m, &["interactive", "list_reply", "id"]),
                    text(m, &["interactive", "list_reply", "title"]),
                ) {
                    (Some(id), Some(title)) => MessageKind::ListReply {
                        id,
                        title,
                        description: text(m, &["interactive", "list_reply", "description"]),
                    },
                    _ => unsupported(),
                },
                _ => unsupported(),
            }
        }
        "button" => match (
            text(m, &["button", "payload"]),
            text(m, &["button", "text"]),
        ) {
            (Some(payload), Some(text)) => MessageKind::QuickReply { payload, text },
            _ => unsupported(),
        },
        _ => unsupported(),
    }
}

/// Everything a delivery carries, in order. Messages without an id or a sender, or with an
/// empty one (Meta sends neither), are skipped; unknown kinds come back as
/// [`MessageKind::Unsupported`].
pub fn parse(body: &[u8]) -> Result<Vec<Inbound>, ParseError> {
    let envelope: Envelope =
        serde_json::from_slice(body).map_err(|e| ParseError::NotJson(e.to_string()))?;
    if envelope.object != "whatsapp_business_account" {
        return Err(ParseError::WrongObject(envelope.object));
    }
    let mut out = Vec::new();
    for change in envelope.entry.into_iter().flat_map(|e| e.changes) {
        let Some(value) = change.value else { continue };
        let phone_number_id = value.metadata.and_then(|m| m.phone_number_id);
        for m in &value.messages {
            // An empty id would make every such message one duplicate of the other; an empty
            // sender cannot be answered.
            let present = |path| text(m, &[path]).filter(|s| !s.is_empty());
            let (Some(wamid), Some(from)) = (present("id"), present("from")) else {
                continue;
            };
            let contact = value
                .contacts
                .iter()
                .find(|c| c.wa_id.as_deref() == Some(from.as_str()))
                .or(value.contacts.first());
            out.push(Inbound::Message(InboundMessage {
                wamid,
                profile_name: contact
                    .and_then(|c| c.profile.as_ref())
                    .and_then(|p| p.name.as_deref().map(without_nul)),
                wa_id: from,
                timestamp: seconds(m.get("timestamp").and_then(Value::as_str)),
                phone_number_id: phone_number_id.clone(),
                context_id: text(m, &["context", "id"]),
                kind: kind_of(m),
            }));
        }
        for s in value.statuses {
            out.push(Inbound::Status(StatusUpdate {
                wamid: s.id,
                status: s.status,
                recipient_id: s.recipient_id,
                timestamp: seconds(s.timestamp.as_deref()),
                errors: s.errors,
                tracker: s.biz_opaque_callback_data,
            }));
        }
    }
    Ok(out)
}
