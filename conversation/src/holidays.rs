//! Argentine public holidays, from a yearly table kept in `data/ar_holidays.txt`.

use std::sync::OnceLock;

use chrono::NaiveDate;

const TABLE: &str = include_str!("../data/ar_holidays.txt");

/// Every listed holiday with its name, in date order (parsed once: the long-weekend search
/// asks about hundreds of days).
pub fn all() -> &'static [(NaiveDate, &'static str)] {
    static PARSED: OnceLock<Vec<(NaiveDate, &'static str)>> = OnceLock::new();
    PARSED.get_or_init(parse)
}

fn parse() -> Vec<(NaiveDate, &'static str)> {
    let mut out: Vec<(NaiveDate, &'static str)> = TABLE
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let mut parts = l.splitn(3, ' ');
            let date = NaiveDate::parse_from_str(parts.next()?, "%Y-%m-%d").ok()?;
            let _weekday = parts.next()?;
            Some((date, parts.next().unwrap_or("").trim()))
        })
        .collect();
    out.sort();
    out
}

pub fn is_holiday(date: NaiveDate) -> bool {
    all().binary_search_by_key(&date, |(d, _)| *d).is_ok()
}
