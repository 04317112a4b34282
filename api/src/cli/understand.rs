//! `cabanas understand`: guests' messages on standard input, read as the bot reads them.

use anyhow::Context;

/// `cabanas understand`: stdin to JSON lines, nothing else read or written (no database).
pub fn run(today: Option<chrono::NaiveDate>, offset: &str) -> anyhow::Result<()> {
    use std::io::{BufRead, Write};
    let minutes = utc_offset_minutes(offset)
        .with_context(|| format!("--offset must look like -03:00, not {offset:?}"))?;
    let context = match today {
        Some(day) => conversation::nlu::Context::on(day),
        None => conversation::nlu::Context::at(chrono::Utc::now(), minutes),
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for line in std::io::stdin().lock().lines() {
        let line = line.context("reading standard input")?;
        if line.trim().is_empty() {
            continue;
        }
        let read = conversation::nlu::explain(&line, &context);
        writeln!(out, "{}", serde_json::to_string(&read)?)?;
    }
    Ok(())
}

/// "-03:00" → -180.
fn utc_offset_minutes(offset: &str) -> Option<i32> {
    let (sign, rest) = match offset.as_bytes().first()? {
        b'-' => (-1, &offset[1..]),
        b'+' => (1, &offset[1..]),
        _ => (1, offset),
    };
    let (h, m) = rest.split_once(':').unwrap_or((rest, "0"));
    let (h, m): (i32, i32) = (h.parse().ok()?, m.parse().ok()?);
    ((0..=14).contains(&h) && (0..60).contains(&m)).then_some(sign * (h * 60 + m))
}
