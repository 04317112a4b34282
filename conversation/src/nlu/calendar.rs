//! Calendar arithmetic the date rules share: rolling a day or a weekday forward from today,
//! weekends, long weekends and the named holidays of the Argentine table.

use chrono::{Datelike, Days, Months, NaiveDate, Weekday};

use super::text::MONTHS;

pub fn month_of(w: &str) -> Option<u32> {
    MONTHS.iter().position(|m| *m == w).map(|i| i as u32 + 1)
}

/// The month's name; empty for a number that is no month ("0/0" is written, too).
pub fn month_name(m: u32) -> &'static str {
    (m as usize)
        .checked_sub(1)
        .and_then(|i| MONTHS.get(i))
        .copied()
        .unwrap_or("")
}

pub fn weekday_of(w: &str) -> Option<Weekday> {
    Some(match w {
        "lunes" => Weekday::Mon,
        "martes" => Weekday::Tue,
        "miercoles" => Weekday::Wed,
        "jueves" => Weekday::Thu,
        "viernes" => Weekday::Fri,
        "sabado" | "sabados" => Weekday::Sat,
        "domingo" | "domingos" => Weekday::Sun,
        _ => return None,
    })
}

pub fn weekday_name(w: Weekday) -> &'static str {
    match w {
        Weekday::Mon => "lunes",
        Weekday::Tue => "martes",
        Weekday::Wed => "miércoles",
        Weekday::Thu => "jueves",
        Weekday::Fri => "viernes",
        Weekday::Sat => "sábado",
        Weekday::Sun => "domingo",
    }
}

/// The next `weekday` on or after `from`.
pub fn next_weekday(from: NaiveDate, weekday: Weekday) -> NaiveDate {
    let ahead = (7 + weekday.num_days_from_monday() - from.weekday().num_days_from_monday()) % 7;
    from + Days::new(u64::from(ahead))
}

/// The first date on or after `from` with this day of the month (and this month, when given),
/// looking a little over a year ahead.
pub fn next_day(from: NaiveDate, day: u32, month: Option<u32>) -> Option<NaiveDate> {
    let mut first = from.with_day(1)?;
    for _ in 0..14 {
        if month.is_none_or(|m| m == first.month())
            && let Some(d) = first.with_day(day)
            && d >= from
        {
            return Some(d);
        }
        first = first.checked_add_months(Months::new(1))?;
    }
    None
}

/// `(year, month)` of the next time `month` comes, counting the current one.
pub fn next_month(today: NaiveDate, month: u32) -> (i32, u32) {
    if month < today.month() {
        (today.year() + 1, month)
    } else {
        (today.year(), month)
    }
}

/// The weekend (Friday and Saturday nights) of this week; on a Saturday, the one night left;
/// on a Sunday, next week's.
pub fn this_weekend(today: NaiveDate) -> (NaiveDate, NaiveDate) {
    match today.weekday() {
        Weekday::Sat => (today, today + Days::new(1)),
        _ => {
            let friday = next_weekday(today, Weekday::Fri);
            (friday, friday + Days::new(2))
        }
    }
}

/// The Friday-to-Sunday weekend that holds `day` (a Friday, Saturday or Sunday).
pub fn weekend_of(day: NaiveDate) -> Option<(NaiveDate, NaiveDate)> {
    let back = match day.weekday() {
        Weekday::Fri => 0,
        Weekday::Sat => 1,
        Weekday::Sun => 2,
        _ => return None,
    };
    let friday = day - Days::new(back);
    Some((friday, friday + Days::new(2)))
}

/// Every run of at least three days off (weekends and holidays) starting after `today`,
/// within the next fourteen months: check in the evening before, out on its last day.
pub fn long_weekends(
    today: NaiveDate,
    holidays: &[(NaiveDate, &str)],
) -> Vec<(NaiveDate, NaiveDate)> {
    let holiday = |d: NaiveDate| holidays.binary_search_by_key(&d, |(h, _)| *h).is_ok();
    let off = |d: NaiveDate| matches!(d.weekday(), Weekday::Sat | Weekday::Sun) || holiday(d);
    let mut out = Vec::new();
    let mut d = today + Days::new(1);
    let Some(end) = today.checked_add_months(Months::new(14)) else {
        return out;
    };
    while d < end {
        if off(d) && !off(d - Days::new(1)) {
            let mut last = d;
            while off(last + Days::new(1)) {
                last = last + Days::new(1);
            }
            if (last - d).num_days() >= 2 {
                out.push((d - Days::new(1), last));
            }
            d = last;
        }
        d = d + Days::new(1);
    }
    out
}

/// The first holiday named `name` whose stay (shifted by `start_offset` days from it) starts
/// on or after today.
pub fn named_holiday(
    today: NaiveDate,
    holidays: &[(NaiveDate, &str)],
    name: &str,
    start_offset: i64,
) -> Option<NaiveDate> {
    holidays
        .iter()
        .filter(|(_, n)| n.contains(name))
        .map(|(d, _)| *d)
        .find(|d| {
            d.checked_add_signed(chrono::Duration::days(start_offset))
                .is_some_and(|s| s >= today)
        })
}

/// Carnival: check in the Friday evening before Shrove Monday, out on Shrove Tuesday.
pub fn carnaval(
    today: NaiveDate,
    holidays: &[(NaiveDate, &str)],
) -> Option<(NaiveDate, NaiveDate)> {
    named_holiday(today, holidays, "Martes de Carnaval", -4).map(|t| (t - Days::new(4), t))
}

/// Holy Week's long weekend: check in on Holy Thursday, out on Easter Sunday.
pub fn semana_santa(
    today: NaiveDate,
    holidays: &[(NaiveDate, &str)],
) -> Option<(NaiveDate, NaiveDate)> {
    named_holiday(today, holidays, "Viernes Santo", -1)
        .map(|f| (f - Days::new(1), f + Days::new(2)))
}
