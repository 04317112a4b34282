//! Voice notes, heard on this machine: the committed notes (espeak-ng speech encoded as WhatsApp
//! sends it; see `fixtures/voice/notes.tsv` and `scripts/voice-fixtures`) go through the real
//! OGG/Opus decoder and the real Whisper base model, then the same NLU as typed text. End to end,
//! an `audio` webhook is answered with the cabins free for the spoken dates, with the media
//! served by a fake Cloud API; an unsure transcript is confirmed with buttons first; notes the
//! service cannot hear get a polite "please type".
//!
//! The model comes from `CABANAS_WHISPER_MODEL` or `./models/ggml-base.bin` (`scripts/test`
//! provides it). Without one these tests fail: they are never skipped.

#![cfg(feature = "voice")] // A build without voice answers every note with "please type".
#![allow(clippy::unwrap_used)] // Test set-up failures should stop the test loudly.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use chrono::NaiveDate;
use common::{Backend, TestApp, wa};
use conversation::nlu::{self, Dates, Intent};
use integrations::voice::{self, Transcriber, decode};
use serde_json::{Value, json};
use sha2::Digest;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const GUEST: &str = "5491166778899";

fn model_path() -> PathBuf {
    let path = std::env::var("CABANAS_WHISPER_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models/ggml-base.bin")
        });
    assert!(
        path.is_file(),
        "no Whisper model at {}: run scripts/test (it builds one) or set CABANAS_WHISPER_MODEL",
        path.display()
    );
    path
}

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/voice")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

/// Six booking requests, spoken: each must come out as the right intent (booking or asking for
/// availability, both answered with the free cabins), stay (or month) and guest count, sure
/// enough to act on without asking. "Today" is a Wednesday.
#[test]
fn spoken_booking_requests_are_understood() {
    let model = Transcriber::load(&model_path()).unwrap();
    let today = d(2026, 11, 25);
    let settings = voice::Settings::default();
    let prompt = voice::vocabulary_prompt(&["Cabaña del Lago".into()]);
    let stay = |a: NaiveDate, b: NaiveDate| Dates::Stay {
        check_in: a,
        check_out: b,
    };
    let cases = [
        (
            "dates-range.ogg",
            Intent::Book,
            stay(d(2026, 12, 12), d(2026, 12, 14)),
            4,
        ),
        (
            "next-weekend.ogg",
            Intent::Availability,
            stay(d(2026, 12, 4), d(2026, 12, 6)),
            3,
        ),
        (
            "nights-from-weekday.ogg",
            Intent::Book,
            stay(d(2026, 11, 26), d(2026, 11, 29)),
            4,
        ),
        (
            "this-weekend.ogg",
            Intent::Availability,
            stay(d(2026, 11, 27), d(2026, 11, 29)),
            4,
        ),
        (
            "january-range.ogg",
            Intent::Book,
            stay(d(2027, 1, 20), d(2027, 1, 23)),
            3,
        ),
        (
            "month.ogg",
            Intent::Book,
            Dates::Partial(nlu::Partial {
                month: Some((2027, 1)),
                ..nlu::Partial::default()
            }),
            4,
        ),
    ];
    for (file, intent, dates, guests) in cases {
        let pcm = decode::ogg_opus(&fixture(file), 120).unwrap();
        assert!(pcm.duration_ms > 3_000, "{file}: {} ms", pcm.duration_ms);
        let heard = model.transcribe(&pcm.samples, &prompt, &settings).unwrap();
        let understood = nlu::understand(&heard.text, &nlu::Context::on(today));
        assert_eq!(
            understood.intents.first(),
            Some(&intent),
            "{file}: {heard:?}"
        );
        assert_eq!(understood.dates, Some(dates), "{file}: {heard:?}");
        assert_eq!(understood.guests(), Some(guests), "{file}: {heard:?}");
        assert!(
            heard.confidence >= 0.7,
            "{file}: sure enough to act on: {heard:?}"
        );
    }
}

fn delivery(wamid: &str, message: Value) -> Vec<u8> {
    delivery_from(GUEST, wamid, message)
}

fn delivery_from(guest: &str, wamid: &str, message: Value) -> Vec<u8> {
    wa::envelope((guest, "Ana Pérez"), wamid, message, chrono::Utc::now())
}

fn voice_note(wamid: &str, media_id: &str) -> Vec<u8> {
    delivery(
        wamid,
        json!({"type": "audio", "audio": {"mime_type": "audio/ogg; codecs=opus",
               "sha256": "ignored", "id": media_id, "voice": true}}),
    )
}

async fn deliver(app: &TestApp, body: Vec<u8>) {
    app.deliver(body, None).await;
}

/// Serves `bytes` as media `id` the way the Cloud API does: a lookup, then the download.
async fn serve_media(server: &MockServer, id: &str, bytes: Vec<u8>) {
    Mock::given(method("GET"))
        .and(path(format!("/{id}")))
        .and(header("authorization", "Bearer token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "messaging_product": "whatsapp",
            "url": format!("{}/media-download/{id}", server.uri()),
            "mime_type": "audio/ogg; codecs=opus",
            "sha256": hex::encode(sha2::Sha256::digest(&bytes)),
            "file_size": bytes.len(),
            "id": id
        })))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/media-download/{id}")))
        .and(header("authorization", "Bearer token"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(bytes))
        .mount(server)
        .await;
}

/// The conversation's replies to the guest (not read receipts or payment buttons).
async fn replies(server: &MockServer) -> Vec<Value> {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.method.as_str() == "POST")
        .map(|r| serde_json::from_slice::<Value>(&r.body).unwrap())
        .filter(|m| m["status"] != "read" && m["interactive"]["type"] != "cta_url")
        .collect()
}

async fn reply(server: &MockServer, n: usize) -> Value {
    for _ in 0..600 {
        let got = replies(server).await;
        if got.len() >= n {
            return got[n - 1].clone();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("fewer than {n} replies: {:?}", replies(server).await);
}

async fn app_with_fake_meta(
    backend: Backend,
    model: Option<&str>,
    max_secs: &str,
) -> (TestApp, MockServer, String) {
    app_with(backend, model, &[("CABANAS_VOICE_MAX_SECS", max_secs)]).await
}

async fn app_with(
    backend: Backend,
    model: Option<&str>,
    extra: &[(&str, &str)],
) -> (TestApp, MockServer, String) {
    let mut vars = Vec::from(extra);
    if let Some(m) = model {
        vars.push(("CABANAS_WHISPER_MODEL", m));
    }
    let (server, app) = wa::spawn_with_meta(backend, "wamid.out", &vars).await;
    let id = wa::register_the_lake(&app).await;
    (app, server, id)
}

/// The guest's stream holds the transcript sealed, never in clear, and not the audio.
async fn transcript_events(app: &TestApp) -> Vec<Value> {
    let guest = eventstore::pii::find_guest(&app.state.db, GUEST)
        .await
        .unwrap()
        .expect("the note's sender is a known guest")
        .stream_id();
    let r = app.auditor_get(&format!("/v1/audit/streams/{guest}")).await;
    r.body["events"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|e| e["event_type"] == "VoiceNoteTranscribed")
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_voice_note_gets_the_cabins_free_for_the_spoken_dates() {
    let model = model_path();
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let (app, server, id) = app_with_fake_meta(backend, model.to_str(), "120").await;
        let ready = app.get("/readyz", None).await;
        assert_eq!(
            ready.body["voice"]["transcription"], "on",
            "{:?}",
            ready.body
        );
        assert_eq!(ready.body["voice"]["model"], "ggml-base");
        serve_media(&server, "1001", fixture("dates-range.ogg")).await;
        let note = voice_note("wamid.voice1", "1001");
        deliver(&app, note.clone()).await;

        // The only cabin free is offered as it is, the spoken stay said back in words.
        let offers = reply(&server, 1).await;
        assert_eq!(
            offers["interactive"]["type"], "button",
            "{backend:?}: {offers}"
        );
        let body = offers["interactive"]["body"]["text"].as_str().unwrap();
        assert!(
            body.contains("12") && body.contains("14 de diciembre"),
            "{backend:?}: {body}"
        );
        assert_eq!(
            offers["interactive"]["action"]["buttons"][0]["reply"]["id"],
            "hold:confirm"
        );
        let _ = &id;

        // Recorded once, sealed: the words are not in the log in clear.
        let events = transcript_events(&app).await;
        assert_eq!(events.len(), 1, "{backend:?}: {events:?}");
        let payload = events[0]["payload"].to_string();
        assert!(
            !payload.contains("diciembre") && !payload.contains("personas"),
            "{payload}"
        );
        assert_eq!(events[0]["payload"]["model"], "ggml-base");
        assert!(events[0]["payload"]["duration_ms"].as_u64().unwrap() > 3_000);

        // Meta redelivers the note: nothing is transcribed or answered twice.
        deliver(&app, note).await;
        tokio::time::sleep(Duration::from_millis(700)).await;
        assert_eq!(replies(&server).await.len(), 1, "{backend:?}");
        assert_eq!(transcript_events(&app).await.len(), 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unsure_transcript_is_confirmed_before_acting_on_it() {
    let model = model_path();
    let (app, server, _) = app_with_fake_meta(Backend::Sqlite, model.to_str(), "120").await;
    serve_media(&server, "2002", fixture("unsure.ogg")).await;
    deliver(&app, voice_note("wamid.unsure", "2002")).await;
    let question = reply(&server, 1).await;
    assert_eq!(question["interactive"]["type"], "button", "{question}");
    let buttons = &question["interactive"]["action"]["buttons"];
    assert_eq!(buttons[0]["reply"]["id"], "voice:yes:wamid.unsure");
    assert_eq!(buttons[1]["reply"]["id"], "voice:no");

    // "No": asked to type, nothing else happens.
    deliver(&app, delivery("wamid.no", wa::tap("voice:no"))).await;
    let typed = reply(&server, 2).await;
    assert!(
        typed["text"]["body"]
            .as_str()
            .unwrap()
            .contains("escribime"),
        "{typed}"
    );

    // "Yes" on the question: the transcript goes through the conversation as if typed.
    deliver(
        &app,
        delivery("wamid.yes", wa::tap("voice:yes:wamid.unsure")),
    )
    .await;
    let mut answered = reply(&server, 3).await;
    assert_ne!(
        answered["interactive"]["action"]["buttons"][0]["reply"]["id"],
        "voice:yes:wamid.unsure"
    );
    // Exactly the answer those words get when typed: another guest types what was heard.
    let asked = question["interactive"]["body"]["text"].as_str().unwrap();
    let heard = asked
        .split('«')
        .nth(1)
        .and_then(|rest| rest.split('»').next())
        .expect("the question quotes what was heard");
    deliver(
        &app,
        delivery_from("5491155550000", "wamid.typed", wa::text(heard)),
    )
    .await;
    let mut typed = reply(&server, 4).await;
    for answer in [&mut answered, &mut typed] {
        let fields = answer.as_object_mut().unwrap();
        fields.remove("to");
        fields.remove("biz_opaque_callback_data");
    }
    assert_eq!(answered, typed, "heard: {heard}");

    // A third guest, asked to confirm a hold, sends an unsure note and then types "Sí" instead
    // of tapping: that answers the question about the note, as its button would. The words go
    // through ("para 6 personas", a new party); the hold on offer is not taken.
    let (cabin, _) = app.register("Cabaña del Lago", 4).await;
    app.state.runner.catch_up().await.unwrap();
    let third = "5491177770000";
    let say = |wamid: &str, message: Value| delivery_from(third, wamid, message);
    deliver(
        &app,
        say("wamid.dates", wa::text("del 12 al 14 de diciembre para 2")),
    )
    .await;
    reply(&server, 5).await;
    deliver(
        &app,
        say(
            "wamid.pick",
            wa::pick(format!("acc:{cabin}"), "Cabaña del Lago"),
        ),
    )
    .await;
    let offer = reply(&server, 6).await;
    assert_eq!(
        offer["interactive"]["action"]["buttons"][0]["reply"]["id"], "hold:confirm",
        "{offer}"
    );
    let audio = json!({"type": "audio", "audio": {"mime_type": "audio/ogg; codecs=opus",
                       "sha256": "ignored", "id": "2002", "voice": true}});
    deliver(&app, say("wamid.unsure3", audio)).await;
    let asked_again = reply(&server, 7).await;
    assert_eq!(
        asked_again["interactive"]["action"]["buttons"][0]["reply"]["id"],
        "voice:yes:wamid.unsure3"
    );
    deliver(&app, say("wamid.si", wa::text("Sí"))).await;
    // The words answer the hold on offer as typed words would: a party of six is another
    // search, and the hold for two is not taken.
    let said = reply(&server, 8).await.to_string();
    assert!(!said.contains("voice:yes"), "{said}");
    assert!(
        !said.contains("código"),
        "the hold on offer is not taken: {said}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notes_that_cannot_be_heard_get_a_polite_please_type() {
    // No model configured: the service runs and asks for text.
    let (app, server, _) = app_with_fake_meta(Backend::Sqlite, None, "120").await;
    let ready = app.get("/readyz", None).await;
    assert_eq!(ready.status, 200, "the service runs without a model");
    assert_eq!(
        ready.body["voice"]["transcription"],
        "off: no Whisper model"
    );
    serve_media(&server, "3003", fixture("month.ogg")).await;
    deliver(&app, voice_note("wamid.nomodel", "3003")).await;
    let r = reply(&server, 1).await;
    assert!(
        r["text"]["body"].as_str().unwrap().contains("escribís"),
        "{r}"
    );

    let model = model_path();
    let (app, server, _) = app_with_fake_meta(Backend::Sqlite, model.to_str(), "8").await;
    // Over the configured limit (8 s here; the note is 8.3 s): refused, with the limit named.
    serve_media(&server, "4004", fixture("dates-range.ogg")).await;
    deliver(&app, voice_note("wamid.long", "4004")).await;
    let r = reply(&server, 1).await;
    let text = r["text"]["body"].as_str().unwrap();
    assert!(text.contains("largo") && text.contains("8 s"), "{r}");
    assert!(
        transcript_events(&app).await.is_empty(),
        "nothing was transcribed"
    );

    // An mp4/aac file: not decodable here, refused politely.
    serve_media(&server, "5005", b"\x00\x00\x00\x18ftypM4A not ogg".to_vec()).await;
    deliver(&app, voice_note("wamid.mp4", "5005")).await;
    let r = reply(&server, 2).await;
    assert!(
        r["text"]["body"]
            .as_str()
            .unwrap()
            .contains("No pude escuchar"),
        "{r}"
    );

    // A media id Meta no longer has.
    Mock::given(method("GET"))
        .and(path("/6006"))
        .respond_with(
            ResponseTemplate::new(404).set_body_json(
                json!({"error": {"code": 100, "message": "Unsupported get request"}}),
            ),
        )
        .mount(&server)
        .await;
    deliver(&app, voice_note("wamid.gone", "6006")).await;
    let r = reply(&server, 3).await;
    assert!(
        r["text"]["body"]
            .as_str()
            .unwrap()
            .contains("No pude escuchar"),
        "{r}"
    );

    // A text sent right after a voice note is answered after it, not before.
    serve_media(&server, "7007", fixture("this-weekend.ogg")).await;
    deliver(&app, voice_note("wamid.first", "7007")).await;
    deliver(&app, delivery("wamid.second", wa::text("hola"))).await;
    let first = reply(&server, 4).await;
    let second = reply(&server, 5).await;
    assert_eq!(
        first["interactive"]["type"], "button",
        "the note's answer first: {first}"
    );
    // Then the hello, and the question the note's answer left open, asked again.
    assert_eq!(second["text"]["body"], "¡Hola!", "then the hello: {second}");
    let again = reply(&server, 6).await;
    assert_eq!(
        again["interactive"]["action"]["buttons"][0]["reply"]["id"], "hold:confirm",
        "{again}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overload_is_answered_not_piled_up() {
    // One transcription at a time and no queue: of two notes arriving together, one is heard and
    // the other is answered at once with "send it as text".
    let model = model_path();
    let (app, server, _) = app_with(
        Backend::Sqlite,
        model.to_str(),
        &[
            ("CABANAS_VOICE_CONCURRENCY", "1"),
            ("CABANAS_VOICE_QUEUE", "0"),
        ],
    )
    .await;
    serve_media(&server, "8008", fixture("dates-range.ogg")).await;
    serve_media(&server, "9009", fixture("january-range.ogg")).await;
    let audio = |id: &str| {
        json!({"type": "audio", "audio": {"mime_type": "audio/ogg; codecs=opus", "id": id,
               "voice": true}})
    };
    deliver(
        &app,
        delivery_from("5491100000001", "wamid.a", audio("8008")),
    )
    .await;
    deliver(
        &app,
        delivery_from("5491100000002", "wamid.b", audio("9009")),
    )
    .await;
    reply(&server, 2).await;
    let got = replies(&server).await;
    let busy = got
        .iter()
        .filter(|m| {
            m["text"]["body"]
                .as_str()
                .is_some_and(|t| t.contains("muchos audios"))
        })
        .count();
    let heard = got
        .iter()
        .filter(|m| m["interactive"]["type"] == "button")
        .count();
    assert_eq!((busy, heard), (1, 1), "{got:?}");
}
