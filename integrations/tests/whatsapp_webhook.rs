//! Every WhatsApp payload fixture (Meta's documented examples and pywa's recorded deliveries)
//! parses to what it says, and the signature check matches the computed test vector.

#![allow(clippy::unwrap_used)] // Test fixtures are known-good files.

use integrations::whatsapp::webhook::{Inbound, MessageKind, parse, signature_is_valid};
use serde_json::Value;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/whatsapp/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// One named payload out of a pywa fixture file, re-serialized.
fn pywa(file: &str, key: &str) -> Vec<u8> {
    let all: Value = serde_json::from_slice(&fixture(file)).unwrap();
    serde_json::to_vec(&all[key]).unwrap()
}

fn only_message(body: &[u8]) -> integrations::whatsapp::webhook::InboundMessage {
    match parse(body).unwrap().as_slice() {
        [Inbound::Message(m)] => m.clone(),
        other => panic!("expected one message, got {other:?}"),
    }
}

#[test]
fn the_signature_matches_the_test_vector_and_nothing_else() {
    let body = fixture("audio.example.json");
    let good = "sha256=59fce4be040174e655d378655c0550e8afbc5c1fd8a9e5657e41282dbc38532b";
    assert!(signature_is_valid(
        b"test_app_secret_123",
        &body,
        Some(good)
    ));
    assert!(signature_is_valid(
        b"test_app_secret_123",
        br#"{"object":"whatsapp_business_account","entry":[]}"#,
        Some("sha256=92836b820b0d29a722a694f4f19f06bec27d6e59d8d4c150af9f9ae74bf15e30")
    ));
    assert!(!signature_is_valid(b"another_secret", &body, Some(good)));
    let mut tampered = body.clone();
    tampered[10] ^= 1;
    assert!(!signature_is_valid(
        b"test_app_secret_123",
        &tampered,
        Some(good)
    ));
    assert!(!signature_is_valid(b"test_app_secret_123", &body, None));
    assert!(!signature_is_valid(
        b"test_app_secret_123",
        &body,
        Some("sha256=zz")
    ));
    assert!(!signature_is_valid(
        b"test_app_secret_123",
        &body,
        Some(&good.replace("sha256=", "sha1="))
    ));
}

#[test]
fn a_text_message_carries_sender_name_and_body() {
    let m = only_message(&fixture("text.example.json"));
    assert_eq!(m.wa_id, "16505551234");
    assert_eq!(m.profile_name.as_deref(), Some("Sheena Nelson"));
    assert_eq!(m.timestamp, 1_750_016_800);
    assert!(m.wamid.starts_with("wamid."));
    assert_eq!(
        m.kind,
        MessageKind::Text {
            body: "Is this still available?".into()
        }
    );
    let m = only_message(&pywa("message.json", "text"));
    assert!(matches!(m.kind, MessageKind::Text { .. }));
}

#[test]
fn voice_notes_keep_their_media_id() {
    let m = only_message(&pywa("message.json", "voice"));
    assert_eq!(
        m.kind,
        MessageKind::Audio {
            media_id: "1234567890987654321".into(),
            mime_type: Some("audio/ogg; codecs=opus".into()),
            voice: true
        }
    );
    let m = only_message(&fixture("audio.example.json"));
    assert!(matches!(m.kind, MessageKind::Audio { voice: true, .. }));
    let m = only_message(&pywa("message.json", "audio"));
    assert!(matches!(m.kind, MessageKind::Audio { voice: false, .. }));
}

#[test]
fn buttons_lists_and_quick_replies_give_their_ids() {
    let m = only_message(&fixture("interactive-reply-buttons-messages.example.json"));
    assert!(matches!(m.kind, MessageKind::ButtonReply { .. }), "{m:?}");
    assert!(m.context_id.is_some());
    let m = only_message(&fixture("interactive-list-messages.example.json"));
    let MessageKind::ListReply { description, .. } = &m.kind else {
        panic!("{m:?}")
    };
    assert!(description.is_some());
    let m = only_message(&pywa("callback_button.json", "button"));
    assert!(matches!(m.kind, MessageKind::ButtonReply { .. }), "{m:?}");
    let m = only_message(&pywa("callback_button.json", "quick_reply"));
    assert_eq!(
        m.kind,
        MessageKind::QuickReply {
            payload: "callback_data".into(),
            text: "title".into()
        }
    );
    let m = only_message(&pywa("callback_button.json", "quick_reply_without_context"));
    assert!(matches!(m.kind, MessageKind::QuickReply { .. }));
}

#[test]
fn every_status_parses_with_its_errors() {
    for key in [
        "sent",
        "delivered",
        "read",
        "played",
        "failed",
        "with_tracker",
        "group",
    ] {
        let updates = parse(&pywa("message_status.json", key)).unwrap();
        let [Inbound::Status(s)] = updates.as_slice() else {
            panic!("{key}: {updates:?}")
        };
        assert_eq!(
            s.status,
            if key == "with_tracker" || key == "group" {
                s.status.clone()
            } else {
                key.to_owned()
            }
        );
        if key == "failed" {
            assert_eq!(s.errors[0].code, 130_472);
        }
        assert_eq!(
            s.tracker.as_deref(),
            (key == "with_tracker").then_some("some data"),
            "{key}"
        );
    }
    let updates = parse(&fixture("status-failed.example.json")).unwrap();
    let [Inbound::Status(s)] = updates.as_slice() else {
        panic!("{updates:?}")
    };
    assert_eq!((s.status.as_str(), s.errors[0].code), ("failed", 131_049));
    assert!(matches!(
        parse(&fixture("status.example.json")).unwrap().as_slice(),
        [Inbound::Status(s)] if s.status == "sent"
    ));
}

/// A picture or a document (a transfer receipt, in practice) keeps what forwarding it needs.
#[test]
fn pictures_and_documents_keep_their_media_id() {
    let m = only_message(&pywa("message.json", "image"));
    assert_eq!(
        m.kind,
        MessageKind::Media {
            kind: "image".into(),
            media_id: "65463453".into(),
            mime_type: Some("image/jpeg".into()),
            caption: None,
            filename: None,
        }
    );
    let m = only_message(&pywa("message.json", "document"));
    assert_eq!(
        m.kind,
        MessageKind::Media {
            kind: "document".into(),
            media_id: "1234567890987654321".into(),
            mime_type: Some("application/pdf".into()),
            caption: Some("caption".into()),
            filename: Some("filename.pdf".into()),
        }
    );
}

#[test]
fn every_other_message_type_is_accepted_as_unsupported_never_an_error() {
    let all: Value = serde_json::from_slice(&fixture("message.json")).unwrap();
    for (key, payload) in all.as_object().unwrap() {
        let updates = parse(&serde_json::to_vec(payload).unwrap()).unwrap();
        assert!(!updates.is_empty(), "{key}");
        if [
            "video",
            "static_sticker",
            "reaction",
            "unsupported",
            "contacts",
            "order",
        ]
        .contains(&key.as_str())
        {
            let [Inbound::Message(m)] = updates.as_slice() else {
                panic!("{key}")
            };
            assert!(
                matches!(m.kind, MessageKind::Unsupported { .. }),
                "{key}: {m:?}"
            );
        }
    }
}

#[test]
fn what_is_not_a_whatsapp_notification_is_refused_by_name() {
    assert!(parse(b"not json").is_err());
    assert!(parse(br#"{"object":"page","entry":[]}"#).is_err());
    assert_eq!(
        parse(br#"{"object":"whatsapp_business_account","entry":[]}"#).unwrap(),
        vec![]
    );
}

/// Meta always sends a message's id and sender; one without either (missing or empty) is
/// skipped, and the rest of the delivery still counts.
#[test]
fn a_message_without_an_id_or_a_sender_is_skipped() {
    let mut delivery: Value = serde_json::from_slice(&fixture("text.example.json")).unwrap();
    let good = delivery["entry"][0]["changes"][0]["value"]["messages"][0].clone();
    let mut no_id = good.clone();
    no_id["id"] = "".into();
    let mut no_sender = good.clone();
    no_sender.as_object_mut().unwrap().remove("from");
    delivery["entry"][0]["changes"][0]["value"]["messages"] =
        Value::Array(vec![no_id, good, no_sender]);
    let m = only_message(&serde_json::to_vec(&delivery).unwrap());
    assert_eq!(m.wa_id, "16505551234");
    assert!(m.wamid.starts_with("wamid."));
}

#[test]
fn nul_characters_are_dropped_from_what_is_read() {
    let body = br#"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{
        "messaging_product":"whatsapp","metadata":{"phone_number_id":"1"},
        "contacts":[{"profile":{"name":"An\u0000a"},"wa_id":"5491100000000"}],
        "messages":[{"from":"5491100000000","id":"wamid.nul","timestamp":"1","type":"text",
                     "text":{"body":"ho\u0000la"}}]}}]}]}"#;
    let m = only_message(body);
    assert_eq!(m.profile_name.as_deref(), Some("Ana"));
    match m.kind {
        MessageKind::Text { body } => assert_eq!(body, "hola"),
        other => panic!("{other:?}"),
    }
}
