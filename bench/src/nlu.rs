//! `bench nlu`: how long understanding one guest message takes, over both labelled corpora
//! (`conversation/tests/corpus`), each message read many times: p50, p99 and the slowest, beside
//! the tokenizer alone on the same messages (the baseline: what every reading costs at least).

use std::time::Instant;

use conversation::nlu::{self, Context};

const ROUNDS: usize = 50;

fn corpus() -> Vec<(String, chrono::NaiveDate)> {
    let raw = [
        include_str!("../../conversation/tests/corpus/messages.jsonl"),
        include_str!("../../conversation/tests/corpus/holdout.jsonl"),
    ];
    raw.iter()
        .flat_map(|f| f.lines())
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| {
            let today = v["today"].as_str()?.parse().ok()?;
            Some((v["text"].as_str()?.to_owned(), today))
        })
        .collect()
}

/// Microseconds per call of `f` over every message, `ROUNDS` times each: (p50, p99, max).
fn timed(
    messages: &[(String, chrono::NaiveDate)],
    mut f: impl FnMut(&str, &Context),
) -> (f64, f64, f64) {
    let mut micros = Vec::with_capacity(messages.len() * ROUNDS);
    for _ in 0..ROUNDS {
        for (text, today) in messages {
            let ctx = Context::on(*today);
            let start = Instant::now();
            f(text, &ctx);
            micros.push(start.elapsed().as_secs_f64() * 1e6);
        }
    }
    micros.sort_by(f64::total_cmp);
    let at = |q: f64| micros[((micros.len() - 1) as f64 * q) as usize];
    (at(0.5), at(0.99), micros[micros.len() - 1])
}

pub fn run() {
    let messages = corpus();
    let (base50, base99, _) = timed(&messages, |t, _| {
        std::hint::black_box(nlu::text::tokens(t));
    });
    let (p50, p99, max) = timed(&messages, |t, ctx| {
        std::hint::black_box(nlu::understand(t, ctx));
    });
    println!(
        "understanding a message ({} messages × {ROUNDS})   p50 {p50:.1} µs  p99 {p99:.1} µs  \
         max {max:.1} µs  (target p99 < 1000 µs: {:.3}× of it; tokenizer alone p50 {base50:.1} \
         µs p99 {base99:.1} µs, understanding is {:.1}× it at p99)",
        messages.len(),
        p99 / 1000.0,
        p99 / base99.max(0.001)
    );
}
