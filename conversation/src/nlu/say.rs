//! Dates in words, as the bot says them back: "viernes 12 de diciembre", "del viernes 12 al
//! domingo 14 de diciembre (2 noches)". The guest reads the weekday, the day, the month and the
//! nights before anything is held.

use chrono::{Datelike, NaiveDate};

use super::calendar::{month_name, weekday_name};

/// "viernes 12 de diciembre".
pub fn day_words(d: NaiveDate) -> String {
    format!(
        "{} {} de {}",
        weekday_name(d.weekday()),
        d.day(),
        month_name(d.month())
    )
}

/// "12 de diciembre".
pub fn date_words(d: NaiveDate) -> String {
    format!("{} de {}", d.day(), month_name(d.month()))
}

/// "del viernes 12 al domingo 14 de diciembre (2 noches)"; the first month is named too when
/// the stay crosses into another.
pub fn stay_words(check_in: NaiveDate, check_out: NaiveDate) -> String {
    let nights = (check_out - check_in).num_days();
    let first = if (check_in.year(), check_in.month()) == (check_out.year(), check_out.month()) {
        format!("{} {}", weekday_name(check_in.weekday()), check_in.day())
    } else {
        day_words(check_in)
    };
    format!(
        "del {first} al {} ({nights} {})",
        day_words(check_out),
        if nights == 1 { "noche" } else { "noches" }
    )
}

/// "4 personas", "1 persona".
pub fn party_words(guests: u32) -> String {
    format!(
        "{guests} {}",
        if guests == 1 { "persona" } else { "personas" }
    )
}
