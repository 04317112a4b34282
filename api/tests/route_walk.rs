//! Every route, walked with malformed input: each one in the OpenAPI document (with its body's
//! schema) and each in the route table (webhooks, the calendar export, operations), with path
//! ids that are
//! garbage, huge or full of control characters, query values of the wrong type, and bodies that
//! are empty, not JSON, missing fields, of the wrong types, huge, with control characters or
//! impossible dates; as an admin, an auditor and nobody. Never a 5xx; every error is
//! `application/problem+json` with a type `docs/problems.md` lists, except the web panel's,
//! which are HTML pages for a browser.

#![allow(clippy::unwrap_used)] // Test set-up failures should stop the test loudly.

mod common;

use std::collections::BTreeSet;

use common::{Backend, TestApp, spawn, wa};
use reqwest::Method;
use serde_json::{Map, Value, json};

/// The problem types the documentation promises.
fn documented_types() -> BTreeSet<String> {
    let doc = include_str!("../../docs/problems.md");
    doc.lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .filter(|t| t.starts_with("/problems/"))
        .map(str::to_owned)
        .collect()
}

/// Every (method, path) the route table serves, read from its source: the walk covers the
/// routes the OpenAPI document leaves out too (webhooks, the calendar export, operations).
fn route_table() -> Vec<(String, String)> {
    let source = include_str!("../src/routes.rs");
    let table = &source[source.find("pub fn configure").unwrap()..];
    let scope = table.find("web::scope(\"/v1\")").unwrap();
    let mut routes = Vec::new();
    for (at, _) in table.match_indices("at!(") {
        let rest = &table[at + 4..];
        let path = rest.split('"').nth(1).unwrap();
        let args = &rest[..rest.find("))").unwrap()];
        let prefix = if at > scope { "/v1" } else { "" };
        for method in ["get", "post", "put", "patch", "delete"] {
            if args.contains(&format!("{method} =>")) {
                routes.push((method.to_uppercase(), format!("{prefix}{path}")));
            }
        }
    }
    routes
}

/// Values a client should never send as an id or a query value.
fn bad_values(real: &[String]) -> Vec<String> {
    let mut v: Vec<String> = [
        "x",
        "%00",
        "%0A%0D",
        "%7F",
        "-1",
        "0",
        "99999999999999999999999",
        "1e309",
        "null",
        "..%2F..%2Fetc%2Fpasswd",
        "%F0%9F%99%82",
        "2026-02-30",
        "0000-01-01",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    v.push("A".repeat(3000));
    v.extend(real.iter().cloned());
    v
}

/// The JSON schema `schema` refers to, resolved in `doc`.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => {
            let name = r.rsplit('/').next().unwrap_or_default();
            &doc["components"]["schemas"][name]
        }
        None => schema,
    }
}

/// Bodies for a route whose request body has `schema`: generic garbage, then the schema's own
/// fields each given a wrong, huge or control-character value.
fn bad_bodies(doc: &Value, schema: Option<&Value>) -> Vec<String> {
    let mut bodies: Vec<String> = [
        "",
        "{",
        "null",
        "[]",
        "\"text\"",
        "{}",
        "{\"unexpected\": true}",
        "{\"a\": {\"b\": {\"c\": {\"d\": [[[[[[[[[[1]]]]]]]]]]}}}}",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    let Some(schema) = schema.map(|s| resolve(doc, s)) else {
        return bodies;
    };
    let props: Vec<String> = schema["properties"]
        .as_object()
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default();
    let wrongs = [
        json!(null),
        json!(-1),
        json!(1e300),
        json!("x".repeat(100_000)),
        json!("a\u{0}b\u{7}\n\r"),
        json!("0000-01-01"),
        json!("9999-12-31"),
        json!("2026-02-30"),
        json!([1, 2, 3]),
        json!({"nested": true}),
        json!(true),
    ];
    for wrong in &wrongs {
        // Every field at once, then each alone (the others left out).
        let all: Map<String, Value> = props.iter().map(|p| (p.clone(), wrong.clone())).collect();
        bodies.push(Value::Object(all).to_string());
        for p in &props {
            bodies.push(json!({ p: wrong }).to_string());
        }
    }
    bodies
}

struct Walk<'a> {
    app: &'a TestApp,
    types: BTreeSet<String>,
    requests: usize,
    failures: Vec<String>,
}

impl Walk<'_> {
    async fn send(&mut self, method: &Method, path: &str, token: Option<&str>, body: Option<&str>) {
        let mut req = self
            .app
            .http
            .request(method.clone(), format!("{}{path}", self.app.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req
                .header("content-type", "application/json")
                .body(b.to_owned());
        }
        self.requests += 1;
        let Ok(resp) = req.send().await else {
            self.failures
                .push(format!("{method} {path}: connection failed"));
            return;
        };
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let text = resp.text().await.unwrap_or_default();
        let shown: String = body.unwrap_or_default().chars().take(80).collect();
        let what = format!("{method} {} body {shown:?}", &path[..path.len().min(120)]);
        if status >= 500 {
            self.failures.push(format!("{what}: {status} {text}"));
            return;
        }
        if status < 400 {
            return;
        }
        // The web panel's pages are for a browser: its refusals are HTML pages that say what
        // went wrong, in Spanish (ADR 0005), or a problem for a request no form sends (not
        // form-encoded); everything else answers a problem.
        if path.starts_with("/panel") && !content_type.starts_with("application/problem+json") {
            if !content_type.starts_with("text/html") || text.is_empty() {
                self.failures
                    .push(format!("{what}: {status} as {content_type:?}, no page"));
            }
            return;
        }
        if !content_type.starts_with("application/problem+json") {
            self.failures
                .push(format!("{what}: {status} as {content_type:?}"));
            return;
        }
        let problem: Value = serde_json::from_str(&text).unwrap_or_default();
        let kind = problem["type"].as_str().unwrap_or_default();
        if !self.types.contains(kind) {
            self.failures
                .push(format!("{what}: {status} of undocumented type {kind:?}"));
        }
    }
}

/// `template` with each `{param}` replaced by `value`.
fn fill(template: &str, value: &str) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let end = rest[start..]
            .find('}')
            .map_or(rest.len(), |e| start + e + 1);
        out.push_str(value);
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

async fn walk(backend: Backend) {
    let app = spawn(backend, &[("CABANAS_RATE_LIMIT_PER_MINUTE", "1000000")]).await;
    // Something to find, so that real ids reach the handlers' checks of the body.
    let (acc, _) = app.register("Cabaña del Lago", 4).await;
    let held = app.hold(&acc, 10, 13).await;
    let code = held.body["code"].as_str().unwrap().to_owned();
    app.state.runner.catch_up().await.unwrap();
    let doc = app.get("/openapi.json", None).await.body;
    let mut routes: Vec<(Method, String, Option<Value>, Vec<String>)> = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let Ok(m) = method.to_uppercase().parse::<Method>() else {
                continue;
            };
            let body = op["requestBody"]["content"]["application/json"]["schema"].clone();
            let query: Vec<String> = op["parameters"]
                .as_array()
                .map(|ps| {
                    ps.iter()
                        .filter(|p| p["in"] == "query")
                        .filter_map(|p| p["name"].as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            routes.push((m, path.clone(), (!body.is_null()).then_some(body), query));
        }
    }
    assert!(
        routes.len() >= 35,
        "{backend:?}: {} routes documented",
        routes.len()
    );
    for (m, p) in route_table() {
        let method: Method = m.parse().unwrap();
        if !routes
            .iter()
            .any(|(rm, rp, _, _)| *rm == method && *rp == p)
        {
            routes.push((method, p, None, Vec::new()));
        }
    }
    assert!(routes.len() >= 50, "{backend:?}: {} routes", routes.len());

    let mut w = Walk {
        app: &app,
        types: documented_types(),
        requests: 0,
        failures: Vec::new(),
    };
    let real = vec![acc.clone(), code.clone()];
    let tokens = [Some(app.admin.clone()), Some(app.auditor.clone()), None];
    for (method, template, schema, query) in &routes {
        let has_body = matches!(*method, Method::POST | Method::PUT | Method::PATCH);
        let bodies = if has_body {
            bad_bodies(&doc, schema.as_ref())
        } else {
            vec![String::new()]
        };
        for token in &tokens {
            for id in bad_values(&real) {
                let path = fill(template, &id);
                let body = has_body.then(|| "{}".to_owned());
                w.send(method, &path, token.as_deref(), body.as_deref())
                    .await;
            }
            // The real ids, with each bad body and each bad query value.
            let path = fill(
                template,
                if template.contains("code") {
                    &code
                } else {
                    &acc
                },
            );
            for body in &bodies {
                w.send(
                    method,
                    &path,
                    token.as_deref(),
                    has_body.then_some(body.as_str()),
                )
                .await;
            }
            for name in query {
                for value in bad_values(&[]) {
                    let with_query = format!("{path}?{name}={value}");
                    let body = has_body.then(|| "{}".to_owned());
                    w.send(method, &with_query, token.as_deref(), body.as_deref())
                        .await;
                }
            }
        }
    }
    println!(
        "{backend:?}: {} routes, {} requests, {} failures",
        routes.len(),
        w.requests,
        w.failures.len()
    );
    assert!(
        w.failures.is_empty(),
        "{backend:?}: {} of {} requests broke the rules:\n{}",
        w.failures.len(),
        w.requests,
        w.failures
            .iter()
            .take(40)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_answers_malformed_input_with_a_documented_problem() {
    walk(Backend::Sqlite).await;
    walk(Backend::Postgres).await;
}

/// `key=value&…`, every byte but letters and digits percent-encoded.
fn encoded(query: &[(String, String)]) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' => (b as char).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    query
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// A tiny deterministic generator: the same mangled deliveries every run.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) as usize
    }
}

/// Replaces the `n`th leaf of `v` (depth first) with `with`; `n` counts down as leaves pass.
fn replace_leaf(v: &mut Value, n: &mut usize, with: &Value) -> bool {
    match v {
        Value::Object(m) => m.values_mut().any(|v| replace_leaf(v, n, with)),
        Value::Array(a) => a.iter_mut().any(|v| replace_leaf(v, n, with)),
        leaf => {
            if *n == 0 {
                *leaf = with.clone();
                return true;
            }
            *n -= 1;
            false
        }
    }
}

/// Meta's real deliveries, signed and well formed but with their values replaced by garbage,
/// and Mercado Pago notifications likewise: the webhooks answer below 500 every time, and the
/// conversation worker, having read them all, still answers the next guest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_garbage_on_the_webhooks_is_never_a_5xx_and_stops_nothing() {
    const SECRET: &str = "whatsapp-app-secret";
    let app = spawn(
        Backend::Postgres,
        &[
            ("CABANAS_WHATSAPP_APP_SECRET", SECRET),
            ("CABANAS_RATE_LIMIT_PER_MINUTE", "1000000"),
        ],
    )
    .await;
    app.register("Cabaña del Lago", 4).await;
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../integrations/tests/fixtures/whatsapp"
    );
    let mut seeds: Vec<Value> = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(named)) if !named.contains_key("entry") => {
                seeds.extend(named.into_values().filter(|v| v.get("entry").is_some()));
            }
            Ok(v) if v.get("entry").is_some() => seeds.push(v),
            _ => {}
        }
    }
    assert!(seeds.len() >= 5, "{} WhatsApp fixtures", seeds.len());
    let garbage = [
        json!(null),
        json!(""),
        json!("\u{0}\u{7}"),
        json!("x".repeat(5000)),
        json!(-1),
        json!(1e300),
        json!([]),
        json!({}),
        json!("0/0"),
        json!("99999999999999999999"),
        json!("del 31/2 al 0/13 para -3"),
    ];
    let mut rng = Lcg(7);
    let mut worst = 0;
    for _ in 0..300 {
        let mut delivery = seeds[rng.next() % seeds.len()].clone();
        for _ in 0..1 + rng.next() % 3 {
            let mut n = rng.next() % 40;
            replace_leaf(&mut delivery, &mut n, &garbage[rng.next() % garbage.len()]);
        }
        let body = serde_json::to_vec(&delivery).unwrap();
        let r = app
            .send(
                app.http
                    .post(format!("{}/webhooks/whatsapp", app.base))
                    .header("X-Hub-Signature-256", wa::sign(SECRET, &body))
                    .header("content-type", "application/json")
                    .body(body),
            )
            .await;
        worst = worst.max(r.status);
        assert!(r.status < 500, "{delivery}: {} {:?}", r.status, r.body);
    }
    for _ in 0..100 {
        let mut query: Vec<(String, String)> = Vec::new();
        for key in ["topic", "type", "id", "data.id"] {
            if rng.next().is_multiple_of(2) {
                let v = &garbage[rng.next() % garbage.len()];
                query.push((
                    key.to_owned(),
                    v.as_str().map_or(v.to_string(), str::to_owned),
                ));
            }
        }
        let r = app
            .send(
                app.http
                    .post(format!(
                        "{}/webhooks/mercadopago?{}",
                        app.base,
                        encoded(&query)
                    ))
                    .header("x-signature", "ts=1,v1=00")
                    .body(garbage[rng.next() % garbage.len()].to_string()),
            )
            .await;
        assert!(r.status < 500, "{query:?}: {} {:?}", r.status, r.body);
    }
    // After all that, a guest who says hello is answered (waited for: the worker may still be
    // reading the garbage). `worst` is the worst status the webhooks gave.
    let hello = wa::envelope(
        ("5491122220000", "Ana"),
        "wamid.after-garbage",
        wa::text("hola"),
        chrono::Utc::now(),
    );
    app.deliver(hello, Some(SECRET)).await;
    let answer = app.answer_to("wamid.after-garbage").await;
    assert!(answer["type"].is_string(), "worst status {worst}: {answer}");
}
