//! Dates: the tokens read as typed pieces (a day, a length, a month, a weekend, a holiday, and
//! whether a day is an arrival or a departure), then one reading of the stay, part of one, or
//! the question to ask.
//!
//! The pieces are small rules that each recognise one shape; the resolver composes them. It
//! prefers asking over guessing: a reversed or impossible range, a weekday that contradicts its
//! date, a check-in in the past, or two readings equally good are questions.

use chrono::{Datelike, Days, NaiveDate, Weekday};

use super::calendar::{
    carnaval, long_weekends, month_name, month_of, next_day, next_month, next_weekday,
    semana_santa, this_weekend, weekday_name, weekday_of, weekend_of,
};
use super::say::{date_words, day_words, stay_words};
use super::{Context, Dates, Partial};

/// Longest stay taken without asking (a season's rental is longer, and rare enough to confirm).
const MAX_NIGHTS: i64 = 60;
/// A range whose end day is smaller than its start ("del 28 al 2") is read across the month's
/// end only when that makes a short stay; "del 16 al 13" is a slip, not four weeks.
const MAX_NIGHTS_ACROSS_MONTH: i64 = 10;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Arrive,
    Leave,
    Open,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Day {
    /// A day of the month, with what was said of its month, year and weekday.
    Calendar {
        day: u32,
        month: Option<u32>,
        year: Option<i32>,
        weekday: Option<Weekday>,
    },
    /// Today plus this many days ("hoy", "mañana", "pasado mañana").
    Relative(u64),
    /// A weekday alone; `later`: "el próximo viernes", strictly after today.
    Weekday { weekday: Weekday, later: bool },
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Piece {
    Day(Day, Role),
    /// "esta noche", "el sábado a la noche": that day, one night unless more is said.
    Night(Day, Role),
    /// Christmas Eve (24) or New Year's Eve (31) in December: a check-in when no other day is
    /// written ("para navidad 3 noches"), a mention otherwise ("… así pasamos año nuevo allá").
    Eve(u32),
    Length(u32),
    Month(u32, Option<i32>),
    Weekend(Weekend),
    Carnaval,
    SemanaSanta,
    /// A span that has no single reading: the question to ask.
    Vague(String),
    /// "o" between two days: two readings.
    Or,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Weekend {
    This,
    Next,
    /// "el finde del 20 [de marzo]".
    Of {
        day: u32,
        month: Option<u32>,
    },
    /// "finde largo [de mayo]".
    Long {
        month: Option<u32>,
    },
}

fn is_num(w: &str) -> Option<u32> {
    if !w.is_empty() && w.len() <= 4 && w.chars().all(|c| c.is_ascii_digit()) {
        w.parse().ok()
    } else {
        None
    }
}

/// A day of the month, 1 to 31.
fn day_num(w: &str) -> Option<u32> {
    is_num(w).filter(|n| (1..=31).contains(n))
}

const LENGTH_WORDS: &[&str] = &[
    "noche", "noches", "dia", "dias", "semana", "semanas", "quincena",
];
const PARTY_WORDS: &[&str] = &[
    "personas",
    "adultos",
    "adulto",
    "mayores",
    "grandes",
    "ninos",
    "nino",
    "nina",
    "ninas",
    "chicos",
    "chicas",
    "menores",
    "nenes",
    "nenas",
    "hijos",
    "hijas",
    "bebes",
    "bebe",
    "pibes",
    "parejas",
    "amigos",
    "amigas",
    "chiquitos",
];

/// Markers that may stand right before a bare day ("del 3", "hasta 7", "ingreso 14/3").
const ARRIVE_PREP: &[&str] = &["del", "desde", "entrada", "ingreso", "checkin", "llegada"];
const LEAVE_PREP: &[&str] = &["al", "hasta", "->", "salida", "egreso", "checkout"];
/// Verbs mark a day only with its article ("llegamos *el* 3"): "viajamos 3" is a party.
const ARRIVE_VERB: &[&str] = &[
    "ingresamos",
    "ingresariamos",
    "ingresar",
    "ingresando",
    "entrar",
    "llegamos",
    "llego",
    "llegar",
    "llegaria",
    "llegariamos",
    "llegando",
    "caemos",
    "caeriamos",
    "caigo",
    "caer",
    "entramos",
    "entrariamos",
    "entro",
    "arribamos",
    "vamos",
    "iriamos",
    "venimos",
    "vendriamos",
    "viajamos",
    "viajariamos",
    "arrancando",
    "empezando",
    "comenzando",
    "arrancamos",
    "voy",
    "viajo",
    "vengo",
];
const LEAVE_VERB: &[&str] = &[
    "salimos",
    "saliendo",
    "saldriamos",
    "salir",
    "nos_vamos",
    "volvemos",
    "volveriamos",
    "volviendo",
    "volver",
    "regresamos",
    "regreso",
    "regresando",
    "dejamos",
    "dejariamos",
    "irnos",
    "retiramos",
    "retirarnos",
    "partimos",
    "nos_ibamos",
];

/// Words after a number that make it something other than a day: ages, hours, money, things.
const NOT_A_DAY: &[&str] = &[
    "anos",
    "ano",
    "meses",
    "mes",
    "horas",
    "hs",
    "hora",
    "pesos",
    "mil",
    "lucas",
    "autos",
    "auto",
    "perros",
    "perro",
    "gatos",
    "camas",
    "habitaciones",
    "dormitorios",
    "cuartos",
    "banos",
    "ambientes",
    "km",
    "kilometros",
    "cuotas",
    "familias",
    "familia",
];

/// A length at `i`: "5 noches", "diez días", "una semana", "2 semanas", "una quincena".
fn length_at(t: &[String], i: usize) -> Option<(u32, usize)> {
    let w = t[i].as_str();
    let (n, used) = match (is_num(w), w) {
        (Some(n), _) => (n, 1),
        (None, "un" | "una" | "uno") => (1, 1),
        (None, "quincena") => return Some((15, 1)),
        _ => return None,
    };
    // "una sola noche", "1 noche sola".
    let used = used
        + usize::from(
            t.get(i + used)
                .is_some_and(|w| w == "sola" || w == "solita"),
        );
    let unit = t.get(i + used).map(String::as_str)?;
    let nights = match unit {
        "noche" | "noches" | "dia" | "dias" => n,
        "semana" | "semanas" => n * 7,
        "quincena" | "quincenas" => n * 15,
        _ => return None,
    };
    (1..=365).contains(&nights).then_some((nights, used + 1))
}

/// A month name's year right after it: "de 2027", "del 27", "2027".
fn year_at(t: &[String], i: usize) -> Option<(i32, usize)> {
    let skip = usize::from(t.get(i).is_some_and(|w| w == "de" || w == "del"));
    let y = is_num(t.get(i + skip)?)?;
    let year = match y {
        2000..=2100 => y as i32,
        24..=40 if skip == 1 => 2000 + y as i32,
        _ => return None,
    };
    Some((year, skip + 1))
}

/// "15/3", "15/03/2027", "1/12/27": day, month and year as written.
fn slash(w: &str) -> Option<(u32, u32, Option<i32>)> {
    let parts: Vec<&str> = w.split('/').collect();
    let num = |s: &str| is_num(s);
    match parts.as_slice() {
        [d, m] => Some((num(d)?, num(m)?, None)),
        [d, m, y] => {
            let y = num(y)? as i32;
            Some((num(d)?, num(m)?, Some(if y < 100 { 2000 + y } else { y })))
        }
        _ => None,
    }
}

/// A month written after a day: "de marzo", "marzo", "de marzo de 2027".
fn month_after(t: &[String], i: usize) -> Option<(u32, Option<i32>, usize)> {
    let skip = usize::from(t.get(i).is_some_and(|w| w == "de" || w == "del"));
    let m = month_of(t.get(i + skip)?)?;
    let used = skip + 1;
    match year_at(t, i + used) {
        Some((y, more)) => Some((m, Some(y), used + more)),
        None => Some((m, None, used)),
    }
}

/// A day at `i` whose number stands alone: read as a day only where a day is expected (after
/// "el", a preposition, or before "al …"), and never when a length, a party or a thing follows.
fn bare_day_at(t: &[String], i: usize, marked: bool) -> Option<(Day, usize)> {
    let day = day_num(&t[i])?;
    let next = t.get(i + 1).map(String::as_str);
    if next.is_some_and(|w| {
        LENGTH_WORDS.contains(&w) || PARTY_WORDS.contains(&w) || NOT_A_DAY.contains(&w)
    }) {
        return None;
    }
    if let Some((month, year, used)) = month_after(t, i + 1) {
        let day = Day::Calendar {
            day,
            month: Some(month),
            year,
            weekday: None,
        };
        return Some((day, 1 + used));
    }
    let prev = i.checked_sub(1).map(|p| t[p].as_str());
    let expected = marked
        || matches!(prev, Some("el" | "dia"))
        || matches!(next, Some("al" | "hasta" | "->" | "-" | "a"))
            && t.get(i + 2)
                .is_some_and(|w| day_num(w).is_some() || slash(w).is_some());
    expected.then_some((bare(day), 1))
}

/// A weekday, maybe with its day ("el viernes 15 de marzo") and "que viene" / "próximo".
fn weekday_at(t: &[String], i: usize) -> Option<(Day, usize)> {
    let weekday = weekday_of(&t[i])?;
    let prev = i.checked_sub(1).map(|p| t[p].as_str());
    let mut later = matches!(prev, Some("proximo" | "otro" | "siguiente"));
    let mut used = 1;
    if t.get(i + 1)
        .is_some_and(|w| w == "que_viene" || w == "proximo")
    {
        later = true;
        used += 1;
    }
    if let Some(day) = t.get(i + used).and_then(|w| day_num(w))
        && !t.get(i + used + 1).is_some_and(|w| {
            LENGTH_WORDS.contains(&w.as_str()) || PARTY_WORDS.contains(&w.as_str())
        })
    {
        used += 1;
        let (month, year, more) =
            month_after(t, i + used).map_or((None, None, 0), |(m, y, u)| (Some(m), y, u));
        return Some((
            Day::Calendar {
                day,
                month,
                year,
                weekday: Some(weekday),
            },
            used + more,
        ));
    }
    if let Some((d, m, y)) = t.get(i + used).and_then(|w| slash(w)) {
        return Some((
            Day::Calendar {
                day: d,
                month: Some(m),
                year: y,
                weekday: Some(weekday),
            },
            used + 1,
        ));
    }
    Some((Day::Weekday { weekday, later }, used))
}

/// "finde …" at `i` (with "este", "próximo", "que viene", "largo", "del 20", "de mayo").
fn weekend_at(t: &[String], i: usize) -> Option<(Weekend, usize)> {
    if t[i] != "finde" {
        return None;
    }
    let prev = i.checked_sub(1).map(|p| t[p].as_str());
    let mut used = 1;
    if t.get(i + 1).is_some_and(|w| w == "largo" || w == "largos") {
        used += 1;
        let month = t
            .get(i + used)
            .filter(|w| *w == "de" || *w == "del" || *w == "en")
            .and_then(|_| t.get(i + used + 1))
            .and_then(|w| month_of(w));
        if month.is_some() {
            used += 2;
        }
        return Some((Weekend::Long { month }, used));
    }
    if t.get(i + 1).is_some_and(|w| w == "del" || w == "de")
        && let Some(day) = t.get(i + 2).and_then(|w| day_num(w))
    {
        let (month, more) = month_after(t, i + 3).map_or((None, 0), |(m, _, u)| (Some(m), u));
        return Some((Weekend::Of { day, month }, 3 + more));
    }
    if let Some((d, m, _)) = t
        .get(i + 2)
        .filter(|_| t[i + 1] == "del")
        .and_then(|w| slash(w))
    {
        return Some((
            Weekend::Of {
                day: d,
                month: Some(m),
            },
            3,
        ));
    }
    let after = t.get(i + 1).map(String::as_str);
    if matches!(after, Some("que_viene" | "proximo" | "siguiente")) {
        return Some((Weekend::Next, 2));
    }
    if matches!(prev, Some("proximo" | "otro" | "siguiente")) {
        return Some((Weekend::Next, used));
    }
    Some((Weekend::This, used))
}

/// A marker's role, and whether a bare number may follow it directly.
fn is_marker(w: &str) -> Option<(Role, bool)> {
    if LEAVE_PREP.contains(&w) {
        Some((Role::Leave, true))
    } else if ARRIVE_PREP.contains(&w) {
        Some((Role::Arrive, true))
    } else if LEAVE_VERB.contains(&w) {
        Some((Role::Leave, false))
    } else if ARRIVE_VERB.contains(&w) {
        Some((Role::Arrive, false))
    } else {
        None
    }
}

/// Words that may stand between a marker and its day ("llegamos *el* viernes").
fn filler(w: &str) -> bool {
    matches!(
        w,
        "el" | "la" | "dia" | "para" | "recien" | "a" | "en" | "que" | "nos"
    )
}

/// The tokens as pieces, left to right. A marker ("del", "hasta", "llegamos") gives the next day
/// its role, and is forgotten a few words on if no day follows.
fn pieces(t: &[String]) -> Vec<Piece> {
    let mut out: Vec<Piece> = Vec::new();
    let mut role = Role::Open;
    // The last marker was a preposition: a bare number right after it is a day.
    let mut prep = false;
    let mut role_age = 0;
    let between = t.iter().any(|w| w == "entre");
    let mut i = 0;
    while i < t.len() {
        let w = t[i].as_str();
        let joiner = joins_days(t, i, between, matches!(out.last(), Some(Piece::Day(..))));
        if let Some((r, p)) = is_marker(w).or(joiner.then_some((Role::Leave, true))) {
            role = r;
            prep = p;
            role_age = 0;
            i += 1;
            continue;
        }
        if let Some((weekend, used)) = weekend_at(t, i) {
            out.push(Piece::Weekend(weekend));
            i += used;
            continue;
        }
        if let Some((n, used)) = length_at(t, i) {
            out.push(Piece::Length(n));
            i += used;
            continue;
        }
        if let Some(p) = named_at(t, i, role, &mut out) {
            let is_day = matches!(p, Piece::Day(..) | Piece::Night(..));
            out.push(p);
            if is_day {
                role = Role::Open;
            }
            i += 1;
            continue;
        }
        if let Some((d, m, y)) = slash(w) {
            out.extend(slashed(d, m, y, role));
            role = Role::Open;
            i += 1;
            continue;
        }
        let marked = role != Role::Open && prep;
        if let Some((day, used)) = weekday_at(t, i).or_else(|| bare_day_at(t, i, marked)) {
            out.push(Piece::Day(day, role));
            role = Role::Open;
            i += used;
            continue;
        }
        if let Some(m) = month_of(w) {
            let (year, used) = year_at(t, i + 1).map_or((None, 1), |(y, u)| (Some(y), 1 + u));
            out.push(Piece::Month(m, year));
            i += used;
            continue;
        }
        if !filler(w) {
            role_age += 1;
            if role_age > 2 {
                role = Role::Open;
            }
        }
        i += 1;
    }
    out
}

/// "a", "-" and "y" join two days only right after one and before another ("del 3 a 6",
/// "entre el 3 y el 6"; not "el jueves a la tarde").
fn joins_days(t: &[String], i: usize, between: bool, after_day: bool) -> bool {
    let w = t[i].as_str();
    let day_next = {
        let k = i + 1 + usize::from(t.get(i + 1).is_some_and(|w| w == "el"));
        t.get(k)
            .is_some_and(|w| day_num(w).is_some() || slash(w).is_some() || weekday_of(w).is_some())
    };
    after_day && day_next && (matches!(w, "a" | "-") || w == "y" && between)
}

/// A day, a night, a holiday or a vague span named by a word at `i` ("mañana", "navidad",
/// "semana que viene"). "a la noche" turns the day just read (the last of `out`) into a night.
fn named_at(t: &[String], i: usize, role: Role, out: &mut Vec<Piece>) -> Option<Piece> {
    let last_is_day = matches!(out.last(), Some(Piece::Day(..)));
    match t[i].as_str() {
        "hoy" => Some(Piece::Day(Day::Relative(0), role)),
        "manana" if i == 0 || !matches!(t[i - 1].as_str(), "la" | "una") => {
            Some(Piece::Day(Day::Relative(1), role))
        }
        "pasado_manana" => Some(Piece::Day(Day::Relative(2), role)),
        "esta_noche" => Some(Piece::Night(Day::Relative(0), role)),
        "manana_noche" => Some(Piece::Night(Day::Relative(1), role)),
        "navidad" | "nochebuena" if i == 0 || t[i - 1] != "feliz" => Some(Piece::Eve(24)),
        "ano_nuevo" | "reveillon" => Some(Piece::Eve(31)),
        "semana_santa" | "pascua" | "pascuas" => Some(Piece::SemanaSanta),
        w if w.starts_with("carnaval") => Some(Piece::Carnaval),
        "vacaciones_invierno" => Some(Piece::Vague(
            "¿Qué fechas de las vacaciones de invierno? Cada provincia tiene las suyas: \
             escribime la entrada y la salida."
                .to_owned(),
        )),
        "semana_que_viene" => Some(Piece::Vague(
            "¿Qué días de la semana que viene? Escribime la entrada y la salida.".to_owned(),
        )),
        "ayer" => Some(Piece::Vague(
            "Ayer ya pasó: ¿para qué fechas buscás?".to_owned(),
        )),
        "o" if last_is_day => Some(Piece::Or),
        // "el sábado a la noche": that night.
        "noche"
            if last_is_day
                && i >= 2
                && t[i - 1] == "la"
                && matches!(t[i - 2].as_str(), "a" | "por") =>
        {
            if let Some(Piece::Day(d, r)) = out.pop() {
                Some(Piece::Night(d, r))
            } else {
                None
            }
        }
        _ => None,
    }
}

/// The days of a date written with a slash, in `role`.
fn slashed(d: u32, m: u32, y: Option<i32>, role: Role) -> Vec<Piece> {
    if y.is_none() && m > 12 && m <= 31 && d < m {
        // "12/14": a range written with a slash, not the 14th month.
        return vec![Piece::Day(bare(d), role), Piece::Day(bare(m), Role::Leave)];
    }
    let day = Day::Calendar {
        day: d,
        month: Some(m),
        year: y,
        weekday: None,
    };
    vec![Piece::Day(day, role)]
}

fn bare(day: u32) -> Day {
    Day::Calendar {
        day,
        month: None,
        year: None,
        weekday: None,
    }
}

fn eve_day(day: u32) -> Day {
    Day::Calendar {
        day,
        month: Some(12),
        year: None,
        weekday: None,
    }
}

/// "el 30 de febrero", "30/02": said, then found not to exist.
fn no_such_day(day: u32, month: u32) -> String {
    format!(
        "El {day} de {} no existe: ¿qué fecha es?",
        month_name(month)
    )
}

/// One day, on its own: the next such date on or after today (in `month` when the message or
/// the conversation named one).
fn resolve(day: Day, ctx: &Context, month: Option<(i32, u32)>) -> Result<NaiveDate, String> {
    let today = ctx.today;
    match day {
        Day::Relative(n) => Ok(today + Days::new(n)),
        Day::Weekday { weekday, later } => {
            let from = if later { today + Days::new(1) } else { today };
            Ok(next_weekday(from, weekday))
        }
        Day::Calendar {
            day,
            month: said_month,
            year,
            weekday,
        } => {
            let date = match (said_month, year) {
                (Some(m), Some(y)) => {
                    NaiveDate::from_ymd_opt(y, m, day).ok_or_else(|| no_such_day(day, m))?
                }
                (Some(m), None) => {
                    let (y, m) = next_month(today, m);
                    let this =
                        NaiveDate::from_ymd_opt(y, m, day).ok_or_else(|| no_such_day(day, m))?;
                    if this >= today {
                        this
                    } else {
                        NaiveDate::from_ymd_opt(y + 1, m, day).ok_or_else(|| no_such_day(day, m))?
                    }
                }
                (None, _) => match month {
                    Some((y, m)) => {
                        NaiveDate::from_ymd_opt(y, m, day).ok_or_else(|| no_such_day(day, m))?
                    }
                    None => next_day(today, day, None).ok_or_else(|| "¿Qué fecha?".to_owned())?,
                },
            };
            match weekday {
                Some(w) if date.weekday() != w => {
                    if said_month.is_some() {
                        return Err(format!(
                            "El {} es {}, no {}: ¿cuál de los dos es?",
                            date_words(date),
                            weekday_name(date.weekday()),
                            weekday_name(w)
                        ));
                    }
                    nearby_weekday(today, day, w)
                }
                _ => Ok(date),
            }
        }
    }
}

/// `el sábado 3` with no month: the next 3rd, when it is a Saturday; otherwise a question that
/// names what the calendar says (a guest who wrote the wrong weekday or the wrong day).
fn nearby_weekday(today: NaiveDate, day: u32, weekday: Weekday) -> Result<NaiveDate, String> {
    match next_day(today, day, None) {
        Some(d) if d.weekday() == weekday => Ok(d),
        Some(d) => Err(format!(
            "El {} es {}, no {}: ¿cuál de los dos es?",
            date_words(d),
            weekday_name(d.weekday()),
            weekday_name(weekday)
        )),
        None => Err(format!(
            "¿De qué mes es el {} {day}?",
            weekday_name(weekday)
        )),
    }
}

/// The second day of a range, read after the first: its next occurrence after check-in.
fn resolve_after(first: NaiveDate, day: Day, ctx: &Context) -> Result<NaiveDate, String> {
    match day {
        Day::Weekday { weekday, .. } => Ok(next_weekday(first + Days::new(1), weekday)),
        Day::Relative(_) => resolve(day, ctx, None),
        Day::Calendar {
            day: d,
            month,
            year: Some(_),
            ..
        } => {
            let _ = (d, month);
            resolve(day, ctx, None)
        }
        Day::Calendar {
            day: d,
            month,
            year: None,
            weekday,
        } => {
            let date = next_day(first + Days::new(1), d, month).ok_or_else(|| {
                month.map_or_else(|| "¿Qué fecha?".to_owned(), |m| no_such_day(d, m))
            })?;
            let crossed = date.month() != first.month() || date.year() != first.year();
            let reversed =
                d <= first.day() && crossed && (month.is_none() || month == Some(first.month()));
            if reversed && (date - first).num_days() > MAX_NIGHTS_ACROSS_MONTH {
                return Err(format!(
                    "¿Del {} al {d}? La salida queda antes de la entrada: ¿me confirmás las fechas?",
                    first.day()
                ));
            }
            match weekday {
                Some(w) if date.weekday() != w => Err(format!(
                    "El {} es {}, no {}: ¿cuál de los dos es?",
                    date_words(date),
                    weekday_name(date.weekday()),
                    weekday_name(w)
                )),
                _ => Ok(date),
            }
        }
    }
}

/// The first day of a range whose second day names a month and the first does not ("del 28 al
/// 2 de enero"): the latest such day before the second.
fn resolve_before(last: NaiveDate, day: u32) -> Option<NaiveDate> {
    let mut first = last.with_day(1)?;
    for _ in 0..2 {
        if let Some(d) = first.with_day(day)
            && d < last
        {
            return Some(d);
        }
        first = first.checked_sub_months(chrono::Months::new(1))?;
    }
    None
}

fn has_month(day: Day) -> bool {
    matches!(day, Day::Calendar { month: Some(_), .. })
}

fn is_bare(day: Day) -> bool {
    matches!(
        day,
        Day::Calendar {
            month: None,
            year: None,
            ..
        }
    )
}

/// Check-in and check-out from two days in the order written.
fn pair(
    a: Day,
    b: Day,
    ctx: &Context,
    month: Option<(i32, u32)>,
) -> Result<(NaiveDate, NaiveDate), String> {
    if is_bare(a)
        && has_month(b)
        && let Day::Calendar { day, .. } = a
    {
        let last = resolve(b, ctx, None)?;
        let first = resolve_before(last, day).ok_or_else(|| "¿Qué fecha?".to_owned())?;
        if first.month() != last.month() && (last - first).num_days() > MAX_NIGHTS_ACROSS_MONTH {
            return Err(format!(
                "¿Del {day} al {}? La salida queda antes de la entrada: ¿me confirmás las fechas?",
                day_words(last)
            ));
        }
        return Ok((first, last));
    }
    let first = resolve(a, ctx, month)?;
    let last = resolve_after(first, b, ctx)?;
    Ok((first, last))
}

/// A stay checked: not in the past, not reversed, not longer than a stay is taken without asking.
fn checked(check_in: NaiveDate, check_out: NaiveDate, ctx: &Context) -> Dates {
    if check_in < ctx.today {
        return ask(format!(
            "El {} ya pasó: ¿para qué fechas buscás?",
            day_words(check_in)
        ));
    }
    let nights = (check_out - check_in).num_days();
    if nights <= 0 {
        return ask(format!(
            "La salida ({}) queda antes de la entrada ({}): ¿me confirmás las fechas?",
            day_words(check_out),
            day_words(check_in)
        ));
    }
    if nights > MAX_NIGHTS {
        return ask(format!(
            "¿{}? Son {nights} noches: ¿me confirmás las fechas?",
            capitalise(&stay_words(check_in, check_out))
        ));
    }
    Dates::Stay {
        check_in,
        check_out,
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

fn ask(question: String) -> Dates {
    Dates::Ambiguous { question }
}

/// The month that bare days of this message belong to: one named in it, else the
/// conversation's. Several different months named with bare days: a question.
fn month_context(ps: &[Piece], ctx: &Context) -> Result<Option<(i32, u32)>, String> {
    let mut months: Vec<(u32, Option<i32>)> = ps
        .iter()
        .filter_map(|p| match p {
            Piece::Month(m, y) => Some((*m, *y)),
            _ => None,
        })
        .collect();
    months.dedup();
    match months.as_slice() {
        [] => Ok(ctx.month),
        [(m, Some(y))] => Ok(Some((*y, *m))),
        [(m, None)] => Ok(Some(next_month(ctx.today, *m))),
        _ => Err(format!(
            "¿En qué mes? Me nombraste {}.",
            months
                .iter()
                .map(|(m, _)| month_name(*m))
                .collect::<Vec<_>>()
                .join(" y ")
        )),
    }
}

/// A weekend or holiday named, as a stay.
fn span(p: &Piece, ctx: &Context) -> Option<Result<(NaiveDate, NaiveDate), String>> {
    let today = ctx.today;
    Some(match p {
        Piece::Carnaval => carnaval(today, ctx.holidays).ok_or_else(|| {
            "¿Para qué fechas de carnaval? Escribime la entrada y la salida.".to_owned()
        }),
        Piece::SemanaSanta => semana_santa(today, ctx.holidays).ok_or_else(|| {
            "¿Para qué fechas de semana santa? Escribime la entrada y la salida.".to_owned()
        }),
        Piece::Weekend(Weekend::This) => Ok(this_weekend(today)),
        Piece::Weekend(Weekend::Next) => {
            let (a, b) = this_weekend(today);
            let friday = next_weekday(a, Weekday::Fri);
            let friday = if friday == a {
                a + Days::new(7)
            } else {
                friday
            };
            let _ = b;
            Ok((friday, friday + Days::new(2)))
        }
        Piece::Weekend(Weekend::Of { day, month }) => {
            let date = next_day(today, *day, *month).ok_or_else(|| {
                month.map_or_else(|| "¿Qué fecha?".to_owned(), |m| no_such_day(*day, m))
            });
            date.and_then(|d| {
                weekend_of(d).ok_or_else(|| {
                    format!(
                        "El {} es {}: ¿qué noches del finde querés, o desde qué día?",
                        day_words(d),
                        weekday_name(d.weekday())
                    )
                })
            })
        }
        Piece::Weekend(Weekend::Long { month }) => {
            let all = long_weekends(today, ctx.holidays);
            let found: Vec<(NaiveDate, NaiveDate)> = match month {
                None => all.into_iter().take(1).collect(),
                Some(m) => {
                    let (y, m) = next_month(today, *m);
                    all.into_iter()
                        .filter(|(a, b)| {
                            let off = *a + Days::new(1);
                            (off.year(), off.month()) == (y, m) || (b.year(), b.month()) == (y, m)
                        })
                        .collect()
                }
            };
            match found.as_slice() {
                [one] => Ok(*one),
                [] => Err(format!(
                    "No encuentro un fin de semana largo{}: ¿qué fechas querés?",
                    month
                        .map(|m| format!(" en {}", month_name(m)))
                        .unwrap_or_default()
                )),
                several => Err(format!(
                    "¿Cuál de los findes largos: {}?",
                    several
                        .iter()
                        .map(|(a, b)| stay_words(*a, *b))
                        .collect::<Vec<_>>()
                        .join(" o ")
                )),
            }
        }
        _ => return None,
    })
}

/// The days of the message that make its stay: the one range written (a day, then a departure),
/// else its days as they are. Days mentioned beside a range ("… el casamiento es el 22") are
/// not the stay; two ranges, or days joined by "o", are two readings.
fn stay_days(ps: &[Piece]) -> Result<Vec<(Day, Role)>, ()> {
    let days: Vec<(usize, Day, Role)> = ps
        .iter()
        .enumerate()
        .filter_map(|(i, p)| match p {
            Piece::Day(d, r) | Piece::Night(d, r) => Some((i, *d, *r)),
            _ => None,
        })
        .collect();
    let or_between = ps
        .windows(2)
        .any(|w| w[0] == Piece::Or && matches!(w[1], Piece::Day(..)));
    if or_between {
        return Err(());
    }
    let ranges: Vec<(Day, Day)> = days
        .windows(2)
        .filter(|w| w[0].2 != Role::Leave && w[1].2 == Role::Leave)
        .map(|w| (w[0].1, w[1].1))
        .collect();
    match ranges.as_slice() {
        [(a, b)] => Ok(vec![(*a, Role::Arrive), (*b, Role::Leave)]),
        [] if days.len() <= 2 => Ok(days.iter().map(|(_, d, r)| (*d, *r)).collect()),
        // Several days and no range: the one marked as the arrival, if only one is.
        [] => {
            let arrivals: Vec<(Day, Role)> = days
                .iter()
                .filter(|(_, _, r)| *r == Role::Arrive)
                .map(|(_, d, r)| (*d, *r))
                .collect();
            if arrivals.len() == 1 {
                Ok(arrivals)
            } else {
                Err(())
            }
        }
        _ => Err(()),
    }
}

/// The stay the tokens speak of: whole, in part, or a question. `None`: they speak of none.
pub fn read(t: &[String], ctx: &Context) -> Option<Dates> {
    let ps = pieces(t);
    if ps.is_empty() {
        return None;
    }
    let length = match one_length(&ps) {
        Ok(n) => n,
        Err(q) => return Some(ask(q)),
    };
    let month = match month_context(&ps, ctx) {
        Ok(m) => m,
        Err(q) => return Some(ask(q)),
    };
    let Ok(mut days) = stay_days(&ps) else {
        return Some(ask(
            "¿Qué fechas preferís? Escribime una entrada y una salida, por ejemplo \"del 5 al 8\"."
                .to_owned(),
        ));
    };
    // Christmas or New Year's Eve is the check-in only when no other day is written.
    if days.is_empty() {
        days = eve_days(&ps);
    }
    let night = ps.iter().any(|p| matches!(p, Piece::Night(..)));
    if days.is_empty()
        && let Some(Piece::Vague(q)) = ps.iter().find(|p| matches!(p, Piece::Vague(_)))
    {
        return Some(ask(q.clone()));
    }
    // A holiday named wins over the weekend it falls on ("el finde largo de carnaval").
    let named = ps
        .iter()
        .filter(|p| matches!(p, Piece::Carnaval | Piece::SemanaSanta))
        .chain(ps.iter())
        .find_map(|p| span(p, ctx));
    let month_said = ps.iter().any(|p| matches!(p, Piece::Month(..)));
    match (days.as_slice(), named) {
        ([], Some(span)) => Some(settled(
            span.map(|(a, b)| match length {
                Some(n) => (a, a + Days::new(u64::from(n))),
                None => (a, b),
            }),
            ctx,
        )),
        ([], None) => (length.is_some() || month_said).then(|| {
            Dates::Partial(Partial {
                nights: length,
                month: month.filter(|_| month_said),
                ..Partial::default()
            })
        }),
        ([(day, role)], _) => Some(one_day(*day, *role, length, night, ctx, month)),
        ([(a, ra), (b, rb)], _) => {
            let (a, b) = if *ra == Role::Leave && *rb == Role::Arrive {
                (*b, *a)
            } else {
                (*a, *b)
            };
            Some(settled(two_days(a, b, length, ctx, month), ctx))
        }
        _ => None,
    }
}

/// The length the message gives, if any; several different ones are a question.
fn one_length(ps: &[Piece]) -> Result<Option<u32>, String> {
    let mut lengths: Vec<u32> = ps
        .iter()
        .filter_map(|p| match p {
            Piece::Length(n) => Some(*n),
            _ => None,
        })
        .collect();
    lengths.dedup();
    if lengths.len() > 1 {
        return Err(format!(
            "¿Cuántas noches: {}?",
            lengths
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(" o ")
        ));
    }
    Ok(lengths.first().copied())
}

/// The eves named, as the stay's days: the first a check-in, the second a check-out.
fn eve_days(ps: &[Piece]) -> Vec<(Day, Role)> {
    let eves: Vec<u32> = ps
        .iter()
        .filter_map(|p| match p {
            Piece::Eve(d) => Some(*d),
            _ => None,
        })
        .collect();
    match eves.as_slice() {
        [] => Vec::new(),
        [d] => vec![(eve_day(*d), Role::Arrive)],
        [a, b, ..] => vec![(eve_day(*a), Role::Arrive), (eve_day(*b), Role::Leave)],
    }
}

/// A stay found, checked; or the question instead.
fn settled(stay: Result<(NaiveDate, NaiveDate), String>, ctx: &Context) -> Dates {
    match stay {
        Ok((a, b)) => checked(a, b, ctx),
        Err(q) => ask(q),
    }
}

/// One day written: a stay with a length or a night; alone, the arrival or the departure of a
/// stay still to complete.
fn one_day(
    day: Day,
    role: Role,
    length: Option<u32>,
    night: bool,
    ctx: &Context,
    month: Option<(i32, u32)>,
) -> Dates {
    let date = match resolve(day, ctx, month) {
        Ok(d) => d,
        Err(q) => return ask(q),
    };
    match (length, role) {
        (Some(n), _) => checked(date, date + Days::new(u64::from(n)), ctx),
        (None, _) if night => checked(date, date + Days::new(1), ctx),
        (None, Role::Leave) => {
            // After the check-in the conversation settled on, when there is one.
            let date = match ctx.check_in {
                Some(first) => match resolve_after(first, day, ctx) {
                    Ok(d) => d,
                    Err(q) => return ask(q),
                },
                None => date,
            };
            Dates::Partial(Partial {
                check_out: Some(date),
                ..Partial::default()
            })
        }
        (None, _) => {
            if date < ctx.today {
                return checked(date, date, ctx);
            }
            Dates::Partial(Partial {
                check_in: Some(date),
                ..Partial::default()
            })
        }
    }
}

/// Two days, check-in first: the stay between them, unless a length said too disagrees.
fn two_days(
    a: Day,
    b: Day,
    length: Option<u32>,
    ctx: &Context,
    month: Option<(i32, u32)>,
) -> Result<(NaiveDate, NaiveDate), String> {
    pair(a, b, ctx, month).and_then(|(x, y)| match length {
        Some(n) if i64::from(n) != (y - x).num_days() && y > x => {
            Err(format!("¿{} o {n} noches?", capitalise(&stay_words(x, y))))
        }
        _ => Ok((x, y)),
    })
}

/// The month the message names (standalone or with a day), if exactly one.
pub fn named_month(t: &[String], ctx: &Context) -> Option<(i32, u32)> {
    let mut months = pieces(t).into_iter().filter_map(|p| match p {
        Piece::Month(m, y) => Some((m, y)),
        Piece::Day(
            Day::Calendar {
                month: Some(m),
                year,
                ..
            },
            _,
        ) => Some((m, year)),
        _ => None,
    });
    let (m, y) = months.next()?;
    if months.any(|(other, _)| other != m) {
        return None;
    }
    Some(match y {
        Some(y) => (y, m),
        None => next_month(ctx.today, m),
    })
}
