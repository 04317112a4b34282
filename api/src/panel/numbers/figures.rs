//! The figures of the numbers page, computed from what the read models give: nothing here
//! reads the database, so the arithmetic is tested without one.

use std::collections::BTreeMap;

use chrono::{Datelike, Months, NaiveDate};
use domain::Money;
use projections::queries::{AccommodationView, ImportedStay, SoldStay, StatsView};
use rust_decimal::Decimal;

/// One month of the window.
pub struct Month {
    /// `2027-01`, as the stats read model keys it.
    pub key: String,
    /// `ene 2027`.
    pub label: String,
    pub days: i64,
}

pub struct CabinFigures {
    pub name: String,
    /// Per month of the window: (nights sold, nights blocked by the owner or another channel).
    pub nights: Vec<(i64, i64)>,
}

/// One channel's share of the window: nights (ours confirmed, others' imported) and the money
/// our reservations of that channel brought in.
pub struct ChannelFigures {
    pub label: String,
    pub nights: i64,
    pub revenue: Money,
}

pub struct Figures {
    pub months: Vec<Month>,
    pub cabins: Vec<CabinFigures>,
    /// Per month: net money received (the stats read model's revenue, every channel).
    pub revenue: Vec<Money>,
    /// Per month: the average quoted price of a sold night, `None` without sold nights.
    pub rate: Vec<Option<Money>>,
    pub channels: Vec<ChannelFigures>,
    /// Median days between booking and check-in, and how many stays it is over.
    pub lead_days: Option<i64>,
    pub lead_count: usize,
}

const MONTHS: [&str; 12] = [
    "ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sep", "oct", "nov", "dic",
];

/// The months from `first` (a first of month) to `last` (another), both included.
pub fn months(first: NaiveDate, last: NaiveDate) -> Vec<Month> {
    let mut out = Vec::new();
    let mut m = first;
    while m <= last {
        let next = m.checked_add_months(Months::new(1)).unwrap_or(last);
        out.push(Month {
            key: m.format("%Y-%m").to_string(),
            label: format!("{} {}", MONTHS[m.month0() as usize], m.year()),
            days: (next - m).num_days().max(1),
        });
        if next <= m {
            break;
        }
        m = next;
    }
    out
}

/// "9,7 %": tenths of a percent, rounded half up, with a decimal comma.
pub fn percent(part: i64, whole: i64) -> String {
    if whole <= 0 {
        return "0,0 %".into();
    }
    let tenths = (part * 1000 + whole / 2) / whole;
    format!("{},{} %", tenths / 10, tenths % 10)
}

/// The channel's name as the owner says it.
pub fn channel_label(channel: &str) -> String {
    match channel {
        "direct" => "Directo (web)".into(),
        "whatsapp" => "WhatsApp".into(),
        "airbnb" => "Airbnb".into(),
        "booking" => "Booking".into(),
        "admin" => "Cargada por el dueño".into(),
        other => other.to_owned(),
    }
}

/// The four channels always shown (even with nothing), in this order; others after them.
const CHANNELS: [&str; 4] = ["direct", "whatsapp", "airbnb", "booking"];

pub fn compute(
    months: Vec<Month>,
    cabins: &[AccommodationView],
    stats: &StatsView,
    sold: &[SoldStay],
    imported: &[ImportedStay],
) -> Figures {
    let index: BTreeMap<&str, usize> = months
        .iter()
        .enumerate()
        .map(|(i, m)| (m.key.as_str(), i))
        .collect();
    let mut revenue = vec![Money::ZERO; months.len()];
    let mut by_channel: BTreeMap<String, (i64, Money)> = CHANNELS
        .iter()
        .map(|c| ((*c).to_owned(), (0, Money::ZERO)))
        .collect();
    for row in &stats.revenue {
        if let Some(&i) = index.get(row.month.as_str()) {
            revenue[i] = revenue[i] + row.amount;
            let e = by_channel.entry(row.channel.clone()).or_default();
            e.1 = e.1 + row.amount;
        }
    }
    let month_of = |d: NaiveDate| index.get(d.format("%Y-%m").to_string().as_str()).copied();
    let mut priced = vec![(Money::ZERO, 0i64); months.len()];
    for stay in sold {
        for night in &stay.nights {
            if let Some(i) = month_of(night.date) {
                priced[i] = (priced[i].0 + night.price, priced[i].1 + 1);
                by_channel.entry(stay.channel.clone()).or_default().0 += 1;
            }
        }
    }
    for stay in imported {
        let nights = stay
            .check_in
            .iter_days()
            .take_while(|d| *d < stay.check_out);
        let inside = nights.filter(|d| month_of(*d).is_some()).count();
        by_channel.entry(stay.source.clone()).or_default().0 += inside as i64;
    }
    let (lead_days, lead_count) = lead_time(sold, &index);
    Figures {
        cabins: cabin_nights(cabins, stats, &index),
        rate: priced.into_iter().map(|(sum, n)| average(sum, n)).collect(),
        channels: ordered(by_channel),
        months,
        revenue,
        lead_days,
        lead_count,
    }
}

fn cabin_nights(
    cabins: &[AccommodationView],
    stats: &StatsView,
    index: &BTreeMap<&str, usize>,
) -> Vec<CabinFigures> {
    cabins
        .iter()
        .map(|cabin| {
            let mut nights = vec![(0, 0); index.len()];
            let rows = stats
                .occupancy
                .iter()
                .filter(|r| r.accommodation_id == cabin.id);
            for row in rows {
                if let Some(&i) = index.get(row.month.as_str()) {
                    nights[i] = (row.booked_nights, row.blocked_nights);
                }
            }
            CabinFigures {
                name: cabin.name.clone(),
                nights,
            }
        })
        .collect()
}

/// Whole pesos: an average with centavos would claim a precision the prices do not have.
fn average(sum: Money, nights: i64) -> Option<Money> {
    (nights > 0).then(|| Money::new((sum.amount() / Decimal::from(nights)).round()))
}

/// The median lead time, in days on the owner's calendar, of the stays arriving in the window.
fn lead_time(sold: &[SoldStay], index: &BTreeMap<&str, usize>) -> (Option<i64>, usize) {
    let offset = domain::accommodation::ARGENTINA_UTC_OFFSET_MINUTES;
    let mut days: Vec<i64> = sold
        .iter()
        .filter(|s| index.contains_key(s.check_in.format("%Y-%m").to_string().as_str()))
        .map(|s| {
            let booked = domain::accommodation::local_today(s.booked_at, offset);
            (s.check_in - booked).num_days().max(0)
        })
        .collect();
    days.sort_unstable();
    let n = days.len();
    let median = match n {
        0 => None,
        _ if n % 2 == 1 => Some(days[n / 2]),
        _ => Some((days[n / 2 - 1] + days[n / 2]) / 2),
    };
    (median, n)
}

fn ordered(by_channel: BTreeMap<String, (i64, Money)>) -> Vec<ChannelFigures> {
    let rank = |c: &str| {
        CHANNELS
            .iter()
            .position(|k| *k == c)
            .unwrap_or(CHANNELS.len())
    };
    let mut all: Vec<(String, (i64, Money))> = by_channel.into_iter().collect();
    all.sort_by_key(|(c, _)| rank(c));
    all.into_iter()
        .map(|(c, (nights, revenue))| ChannelFigures {
            label: channel_label(&c),
            nights,
            revenue,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn months_run_from_first_to_last_with_their_days() {
        let all = months(d("2027-12-01"), d("2028-02-01"));
        let keys: Vec<&str> = all.iter().map(|m| m.key.as_str()).collect();
        assert_eq!(keys, ["2027-12", "2028-01", "2028-02"]);
        assert_eq!(all[2].days, 29);
        assert_eq!(all[0].label, "dic 2027");
    }

    #[test]
    fn percentages_have_one_decimal_and_a_comma() {
        assert_eq!(percent(3, 31), "9,7 %");
        assert_eq!(percent(3, 30), "10,0 %");
        assert_eq!(percent(31, 31), "100,0 %");
        assert_eq!(percent(0, 0), "0,0 %");
    }
}
