//! Voice-note figures: the Whisper model's load time and memory, transcription time and
//! real-time factor for a 5 s and a 30 s note, and webhook-to-reply latency for a burst of 10
//! voice notes through the whole service (webhook → inbox → media download from a local fake
//! Cloud API → decode → Whisper → NLU → availability search → reply queued), on SQLite.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use actix_web::{App, HttpResponse, HttpServer, web};
use chrono::Utc;
use integrations::voice::{self, Transcriber, decode};

use crate::read::{percentile, start_app};

const NOTES: [&str; 6] = [
    "dates-range.ogg",
    "next-weekend.ogg",
    "nights-from-weekday.ogg",
    "this-weekend.ogg",
    "january-range.ogg",
    "month.ogg",
];

fn fixture(name: &str) -> anyhow::Result<Vec<u8>> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../api/tests/fixtures/voice")
        .join(name);
    std::fs::read(&path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

fn model_path() -> anyhow::Result<PathBuf> {
    let path = std::env::var("CABANAS_WHISPER_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from("models/ggml-base.bin"));
    anyhow::ensure!(
        path.is_file(),
        "no Whisper model at {} (set CABANAS_WHISPER_MODEL; see README, Voice notes)",
        path.display()
    );
    Ok(path)
}

fn rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

pub async fn run(threads: usize) -> anyhow::Result<()> {
    let path = model_path()?;
    println!(
        "\n## Voice notes: Whisper {} ({threads} threads)",
        path.display()
    );
    let before = rss_mb();
    let t = Instant::now();
    let model = Transcriber::load(&path)?;
    println!(
        "{:<48} {:>7.2} s, RSS +{:.0} MB",
        "model load",
        t.elapsed().as_secs_f64(),
        rss_mb() - before
    );
    let settings = voice::Settings {
        threads,
        ..voice::Settings::default()
    };
    let prompt = voice::vocabulary_prompt(&["Cabaña del Lago".into()]);
    for (label, file) in [("5 s note", "bench-5s.ogg"), ("30 s note", "bench-30s.ogg")] {
        let pcm = decode::ogg_opus(&fixture(file)?, 120)?;
        for (window, fit) in [("window fitted", true), ("full 30 s window", false)] {
            let s = voice::Settings {
                fit_window: fit,
                ..settings.clone()
            };
            // The first run warms caches; the figure is the best of the next three.
            model.transcribe(&pcm.samples, &prompt, &s)?;
            let mut best = u64::MAX;
            for _ in 0..3 {
                best = best.min(model.transcribe(&pcm.samples, &prompt, &s)?.elapsed_ms);
            }
            println!(
                "{:<48} {:>7.2} s   real-time factor {:.2}",
                format!(
                    "{label} ({:.1} s), {window}",
                    pcm.duration_ms as f64 / 1000.0
                ),
                best as f64 / 1000.0,
                best as f64 / pcm.duration_ms as f64
            );
        }
    }
    println!(
        "{:<48} {:>7.0} MB",
        "process RSS after transcribing",
        rss_mb()
    );
    drop(model);
    burst(&path, threads).await
}

/// A local stand-in for the Cloud API: media lookups, media downloads and message sends.
async fn fake_meta(notes: Arc<Vec<Vec<u8>>>) -> anyhow::Result<String> {
    let server = HttpServer::new(move || {
        let notes = notes.clone();
        App::new()
            .app_data(web::Data::new(notes))
            .route(
                "/media/{n}",
                web::get().to(
                    |n: web::Path<usize>, notes: web::Data<Arc<Vec<Vec<u8>>>>| async move {
                        HttpResponse::Ok()
                            .content_type("audio/ogg")
                            .body(notes[*n % notes.len()].clone())
                    },
                ),
            )
            .route(
                "/{phone}/messages",
                web::post().to(|| async {
                    HttpResponse::Ok().json(serde_json::json!({"messages": [{"id": "wamid.out"}]}))
                }),
            )
            .route(
                "/{id}",
                web::get().to(
                    |id: web::Path<String>, req: actix_web::HttpRequest| async move {
                        let host = req.connection_info().host().to_owned();
                        HttpResponse::Ok().json(serde_json::json!({
                            "messaging_product": "whatsapp",
                            "url": format!("http://{host}/media/{id}"),
                            "mime_type": "audio/ogg; codecs=opus",
                            "id": *id
                        }))
                    },
                ),
            )
    })
    .workers(1)
    .bind(("127.0.0.1", 0))?;
    let port = server.addrs()[0].port();
    tokio::spawn(server.run());
    Ok(format!("http://127.0.0.1:{port}"))
}

async fn burst(model: &std::path::Path, threads: usize) -> anyhow::Result<()> {
    let notes: Vec<Vec<u8>> = NOTES.iter().map(|f| fixture(f)).collect::<Result<_, _>>()?;
    let meta = fake_meta(Arc::new(notes)).await?;
    let dir = std::env::temp_dir().join(format!("cabanas-bench-voice-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let (base, state) = start_app(
        &format!("sqlite://{}/voice.db", dir.display()),
        5,
        &[
            ("CABANAS_WHATSAPP_TOKEN", "bench".to_owned()),
            ("CABANAS_WHATSAPP_PHONE_NUMBER_ID", "1".to_owned()),
            ("CABANAS_WHATSAPP_API_BASE", meta),
            ("CABANAS_WHISPER_MODEL", model.display().to_string()),
            ("CABANAS_WHISPER_THREADS", threads.to_string()),
        ],
    )
    .await?;
    let client = reqwest::Client::new();
    let mut tasks = Vec::new();
    for i in 0..10usize {
        let (client, base, state) = (client.clone(), base.clone(), state.clone());
        tasks.push(tokio::spawn(async move {
            let wamid = format!("wamid.voice-bench-{}-{i}", std::process::id());
            let phone = format!("549115{i:07}");
            let body = serde_json::json!({
                "object": "whatsapp_business_account",
                "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
                    "messaging_product": "whatsapp",
                    "metadata": {"phone_number_id": "1"},
                    "contacts": [{"profile": {"name": "Bench"}, "wa_id": phone}],
                    "messages": [{"from": phone, "id": wamid,
                        "timestamp": Utc::now().timestamp().to_string(), "type": "audio",
                        "audio": {"id": format!("{i}"), "mime_type": "audio/ogg; codecs=opus",
                                  "voice": true}}]
                }}]}]
            });
            let started = Instant::now();
            client
                .post(format!("{base}/webhooks/whatsapp"))
                .json(&body)
                .send()
                .await?;
            let reply_id = format!("{wamid}:0");
            loop {
                let found: Option<(String,)> = eventstore::db_fetch!(
                    &state.db,
                    (String,),
                    fetch_optional,
                    "SELECT body FROM wa_outbox WHERE id = $1".to_owned(),
                    reply_id.clone()
                )?;
                if let Some((reply,)) = found {
                    return anyhow::Ok((started.elapsed(), reply));
                }
                anyhow::ensure!(
                    started.elapsed() < StdDuration::from_secs(120),
                    "no reply within 2 minutes"
                );
                tokio::time::sleep(StdDuration::from_millis(5)).await;
            }
        }));
    }
    let mut latencies = Vec::new();
    let mut refused = 0;
    for t in tasks {
        let (latency, reply) = t.await??;
        // A note not heard is answered with one of the "please type" replies.
        if [
            "muchos audios",
            "No pude escuchar",
            "no puedo escuchar",
            "No te escuché",
        ]
        .iter()
        .any(|s| reply.contains(s))
        {
            refused += 1;
        }
        latencies.push(latency);
    }
    println!(
        "{:<48} p50 {:>5.2} s   p95 {:>5.2} s   max {:>5.2} s   not heard: {refused}",
        "burst of 10 voice notes, webhook to reply queued",
        percentile(&mut latencies, 0.5) / 1000.0,
        percentile(&mut latencies, 0.95) / 1000.0,
        percentile(&mut latencies, 1.0) / 1000.0,
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
