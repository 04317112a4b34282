//! `cabanas chat --as NUMBER`: talk to the running engine as a WhatsApp guest from a terminal.
//! Each line is delivered to the service's webhook exactly as Meta would (signed when a secret
//! is configured); the bot's answers are read back from the admin API and printed, buttons and
//! list rows numbered so that typing the number taps them.

use std::io::{BufRead, Write};
use std::time::Duration;

use anyhow::Context;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};

use crate::auth::{Keys, Role};
use crate::config::Settings;

struct Choice {
    id: String,
    title: String,
    list: bool,
}

fn print_reply(message: &Value, choices: &mut Vec<Choice>) {
    match message["type"].as_str() {
        Some("text") => println!("🤖 {}", message["text"]["body"].as_str().unwrap_or("")),
        Some("interactive") if message["interactive"]["type"] == "cta_url" => {
            let i = &message["interactive"];
            println!(
                "🤖 {}\n   [{}] {}",
                i["body"]["text"].as_str().unwrap_or(""),
                i["action"]["parameters"]["display_text"]
                    .as_str()
                    .unwrap_or(""),
                i["action"]["parameters"]["url"].as_str().unwrap_or("")
            );
        }
        Some("interactive") => {
            let i = &message["interactive"];
            println!("🤖 {}", i["body"]["text"].as_str().unwrap_or(""));
            choices.clear();
            if let Some(buttons) = i["action"]["buttons"].as_array() {
                for b in buttons {
                    choices.push(Choice {
                        id: b["reply"]["id"].as_str().unwrap_or("").to_owned(),
                        title: b["reply"]["title"].as_str().unwrap_or("").to_owned(),
                        list: false,
                    });
                }
            }
            for s in i["action"]["sections"].as_array().into_iter().flatten() {
                for r in s["rows"].as_array().into_iter().flatten() {
                    let title = match r["description"].as_str() {
                        Some(d) => format!("{} — {d}", r["title"].as_str().unwrap_or("")),
                        None => r["title"].as_str().unwrap_or("").to_owned(),
                    };
                    choices.push(Choice {
                        id: r["id"].as_str().unwrap_or("").to_owned(),
                        title,
                        list: true,
                    });
                }
            }
            for (n, c) in choices.iter().enumerate() {
                println!("   {}) {}", n + 1, c.title);
            }
        }
        _ => println!("🤖 {message}"),
    }
}

pub async fn run(settings: &Settings, wa_id: &str, url: &str) -> anyhow::Result<()> {
    let token =
        Keys::new(settings.secret()?).mint("chat", Role::Admin, chrono::Duration::hours(12))?;
    let http = reqwest::Client::new();
    let base = url.trim_end_matches('/');
    let mut seen_ms = chrono::Utc::now().timestamp_millis();
    let mut choices: Vec<Choice> = Vec::new();
    println!("Chateando como {wa_id} con {base}. Escribí tu mensaje (Ctrl-D para salir).");
    let stdin = std::io::stdin();
    loop {
        print!("> ");
        std::io::stdout().flush()?;
        let mut line = String::new();
        if stdin.lock().read_line(&mut line)? == 0 {
            return Ok(());
        }
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let body = delivery(wa_id, line, &choices)?;
        let mut request = http
            .post(format!("{base}/webhooks/whatsapp"))
            .header("content-type", "application/json");
        if let Some(secret) = &settings.whatsapp_app_secret {
            let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes())
                .context("the app secret")?;
            mac.update(&body);
            request = request.header(
                "X-Hub-Signature-256",
                format!("sha256={}", hex::encode(mac.finalize().into_bytes())),
            );
        }
        let sent = request
            .body(body)
            .send()
            .await
            .context("is `cabanas serve` running?")?;
        if !sent.status().is_success() {
            println!("(el servicio respondió {})", sent.status());
            continue;
        }
        let replies = Replies {
            http: &http,
            base,
            token: &token,
            wa_id,
        };
        if !replies.print_new(&mut seen_ms, &mut choices).await? {
            println!("(sin respuesta: la conversación puede estar con una persona)");
        }
    }
}

/// `line` as Meta would deliver it from `wa_id`: a tap when it is the number of one of the
/// `choices` last shown, typed text otherwise.
fn delivery(wa_id: &str, line: &str, choices: &[Choice]) -> anyhow::Result<Vec<u8>> {
    let wamid = format!("wamid.chat-{}", uuid::Uuid::new_v4().simple());
    let picked = line
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_sub(1))
        .and_then(|n| choices.get(n));
    let mut message = match picked {
        Some(c) if c.list => {
            json!({"type": "interactive", "interactive": {"type": "list_reply",
            "list_reply": {"id": c.id, "title": c.title}}})
        }
        Some(c) => json!({"type": "interactive", "interactive": {"type": "button_reply",
            "button_reply": {"id": c.id, "title": c.title}}}),
        None => json!({"type": "text", "text": {"body": line}}),
    };
    message["from"] = json!(wa_id);
    message["id"] = json!(wamid);
    message["timestamp"] = json!(chrono::Utc::now().timestamp().to_string());
    Ok(serde_json::to_vec(&json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "sandbox", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"phone_number_id": "sandbox"},
            "contacts": [{"profile": {"name": "Huésped de prueba"}, "wa_id": wa_id}],
            "messages": [message]
        }}]}]
    }))?)
}

/// Where the bot's answers are read back: the admin API's list of replies to `wa_id`.
struct Replies<'a> {
    http: &'a reqwest::Client,
    base: &'a str,
    token: &'a str,
    wa_id: &'a str,
}

impl Replies<'_> {
    /// Prints the replies queued after `seen_ms` (waiting a little for all of a turn's) and
    /// remembers their buttons as `choices`; whether any came.
    async fn print_new(
        &self,
        seen_ms: &mut i64,
        choices: &mut Vec<Choice>,
    ) -> anyhow::Result<bool> {
        let (base, wa_id) = (self.base, self.wa_id);
        // Replies arrive within milliseconds; wait a little for all of a turn's.
        let mut got_any = false;
        for _ in 0..30 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let answer = self
                .http
                .get(format!(
                    "{base}/v1/admin/whatsapp/conversations/{wa_id}/replies?after_ms={seen_ms}"
                ))
                .bearer_auth(self.token)
                .send()
                .await?;
            // The replies are read with a token this command signs itself: refused, it is
            // signed with another secret than the service's, and no reply would ever show.
            if matches!(answer.status().as_u16(), 401 | 403) {
                anyhow::bail!(
                    "the service refused this command's token ({}): `cabanas chat` must run with \
                     the same CABANAS_JWT_SECRET (and --config) as `cabanas serve`",
                    answer.status()
                );
            }
            let page: Value = answer.json().await?;
            let items = page["items"].as_array().cloned().unwrap_or_default();
            for item in &items {
                print_reply(&item["message"], choices);
                *seen_ms = (*seen_ms).max(item["created_at_ms"].as_i64().unwrap_or(*seen_ms));
            }
            if !items.is_empty() {
                got_any = true;
            } else if got_any {
                break;
            }
        }
        Ok(got_any)
    }
}

/// `cabanas pay CODE`: a sandbox payment for a reservation, through the running service's admin
/// API, so the same notification path as a real Mercado Pago payment confirms (or refunds) it.
/// Prints the reservation's status once the service has applied the payment.
pub async fn pay(
    settings: &Settings,
    url: &str,
    code: &str,
    status: &str,
    amount: Option<&str>,
    payment: Option<&str>,
) -> anyhow::Result<()> {
    let token = Keys::new(settings.secret()?).mint(
        "sandbox-pay",
        Role::Admin,
        chrono::Duration::minutes(5),
    )?;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    let url = url.trim_end_matches('/');
    let answer = http
        .post(format!("{url}/v1/admin/sandbox/payments"))
        .bearer_auth(&token)
        .json(&json!({"code": code, "status": status, "amount": amount, "payment_id": payment}))
        .send()
        .await
        .with_context(|| format!("is the service running at {url}?"))?;
    let ok = answer.status().is_success();
    let body: Value = answer.json().await.unwrap_or_default();
    if !ok {
        anyhow::bail!(
            "{}",
            body["detail"]
                .as_str()
                .unwrap_or("the service refused the payment")
        );
    }
    println!(
        "sandbox payment {} ({status}) sent for {code}",
        body["payment_id"].as_str().unwrap_or("?")
    );
    // The service applies it asynchronously, as it would a real notification.
    let mut last = Value::Null;
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        last = http
            .get(format!("{url}/v1/reservations/{code}"))
            .send()
            .await?
            .json()
            .await
            .unwrap_or_default();
        // Compare the amount, not the text: older services wrote "0" or "32400".
        let paid = last["amount_paid"]
            .as_str()
            .and_then(|a| a.parse::<rust_decimal::Decimal>().ok())
            .is_some_and(|a| !a.is_zero());
        if paid || last["status"] != projections::ReservationStatus::Held.as_str() {
            break;
        }
    }
    println!(
        "{code}: {} · paid {} · deposit {} · balance {}",
        last["status"].as_str().unwrap_or("?"),
        last["amount_paid"].as_str().unwrap_or("?"),
        last["deposit"].as_str().unwrap_or("?"),
        last["balance_due"].as_str().unwrap_or("?")
    );
    Ok(())
}
