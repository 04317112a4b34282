//! What a guest means, from Argentine Spanish text (typed or transcribed).
//!
//! Written for this domain because general date parsers miss most of how guests write: `este
//! finde`, `del 12 al 14`, `2 noches desde el jueves`, `somos 2 adultos y 2 niños`, numbers in
//! words, no accents, voice-transcription slips (`caballa`, `fin de semna`, `marso`). Everything
//! is relative to the `today` passed in. When a date cannot be pinned down (`el viernes 3` with
//! no nearby month where the 3rd is a Friday) the answer is a question, never a guess.

use chrono::{Datelike, Days, Months, NaiveDate, Weekday};

use domain::house::Topic;

use crate::holidays;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Intent {
    Greeting,
    Availability,
    Book,
    MyReservations,
    Cancel,
    Pay,
    Prices,
    Location,
    Help,
    Human,
    /// A short "yes" ("sí", "dale", "ok", "confirmo"): only meaningful after a question.
    Yes,
    /// The guest says they paid by bank transfer, or sent its receipt ("te transferí", "ya
    /// hice la transferencia", "te mandé el comprobante"): the owner confirms those by hand.
    Transferred,
    /// The guest says they already paid ("ya pagué", "pagado").
    Paid,
    /// "Gracias": nothing to do, but it deserves better than the menu.
    Thanks,
    /// A question about the cabin the owner answers ("¿aceptan mascotas?", "¿tiene wifi?").
    Ask(Topic),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dates {
    /// Nights `[check_in, check_out)`.
    Stay {
        check_in: NaiveDate,
        check_out: NaiveDate,
    },
    /// A whole month to look in (`en enero`).
    Month { year: i32, month: u32 },
    /// What to ask the guest instead of guessing.
    Ambiguous { question: String },
}

#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Understanding {
    /// Every intent recognised, most specific first.
    pub intents: Vec<Intent>,
    pub dates: Option<Dates>,
    pub guests: Option<u32>,
}

/// How far ahead a weekday-and-day (`el sábado 3`) is looked for before asking.
const NEARBY_MONTHS: u32 = 3;

/// The words of `text` as the rest of this module reads them: lower case, no accents, common
/// slips corrected. For matching what a guest wrote against a name.
pub fn words(text: &str) -> Vec<String> {
    tokens(text)
}

/// The one item whose name `text` names: a word of its name (four letters or more) that no
/// other item's name has ("bosque" in "la del bosque"). None when the words fit several, or
/// none.
pub fn named<'a, T>(items: &'a [T], name: impl Fn(&T) -> &str, text: &str) -> Option<&'a T> {
    let said = tokens(text);
    let names: Vec<Vec<String>> = items.iter().map(|i| tokens(name(i))).collect();
    let mut found = items.iter().zip(&names).filter(|(_, name)| {
        name.iter().any(|w| {
            w.chars().count() >= 4
                && said.contains(w)
                && names.iter().filter(|other| other.contains(w)).count() == 1
        })
    });
    match (found.next(), found.next()) {
        (Some((item, _)), None) => Some(item),
        _ => None,
    }
}

pub fn understand(text: &str, today: NaiveDate) -> Understanding {
    let t = tokens(text);
    let dates = dates(&t, today);
    let guests = guests(&t);
    let mut intents = intents(&t);
    if dates.is_some()
        && !intents
            .iter()
            .any(|i| matches!(i, Intent::Book | Intent::Cancel | Intent::Human))
    {
        intents.retain(|i| *i != Intent::Availability);
        intents.insert(0, Intent::Availability);
    }
    Understanding {
        intents,
        dates,
        guests,
    }
}

// ---------------------------------------------------------------------------------------------
// Normalisation
// ---------------------------------------------------------------------------------------------

fn fold_char(c: char) -> char {
    match c {
        'á' | 'à' | 'ä' | 'â' => 'a',
        'é' | 'è' | 'ë' | 'ê' => 'e',
        'í' | 'ì' | 'ï' | 'î' => 'i',
        'ó' | 'ò' | 'ö' | 'ô' => 'o',
        'ú' | 'ù' | 'ü' | 'û' => 'u',
        'ñ' => 'n',
        c => c,
    }
}

const MONTHS: [&str; 12] = [
    "enero",
    "febrero",
    "marzo",
    "abril",
    "mayo",
    "junio",
    "julio",
    "agosto",
    "septiembre",
    "octubre",
    "noviembre",
    "diciembre",
];

fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Spelling and transcription slips mapped to the word meant.
fn correct(word: &str) -> String {
    match word {
        "setiembre" => return "septiembre".into(),
        "finde" | "findes" | "finds" | "fnde" | "fide" => return "finde".into(),
        "semna" | "semanna" | "semaan" | "sem" => return "semana".into(),
        "cabana" | "cabanas" | "cabanita" | "cabanitas" | "caballa" | "caballas" | "cabaa" => {
            return "cabana".into();
        }
        _ => {}
    }
    if word.len() >= 5 && !word.chars().any(|c| c.is_ascii_digit()) {
        for m in MONTHS {
            if word != m && distance(word, m) <= 1 {
                return m.into();
            }
        }
    }
    word.to_owned()
}

/// Lower-case, accent-free words (dates like `12/12` stay one token), slips corrected and
/// `fin de semana` folded into `finde`.
fn tokens(text: &str) -> Vec<String> {
    let folded: String = text
        .to_lowercase()
        .chars()
        .map(fold_char)
        .map(|c| {
            if c.is_alphanumeric() || c == '/' {
                c
            } else {
                ' '
            }
        })
        .collect();
    let raw: Vec<String> = folded.split_whitespace().map(correct).collect();
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == "fin"
            && raw.get(i + 1).is_some_and(|w| w == "de" || w == "d")
            && raw.get(i + 2).is_some_and(|w| w == "semana")
        {
            out.push("finde".to_owned());
            i += 3;
            continue;
        }
        out.push(raw[i].clone());
        i += 1;
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Numbers, months, weekdays
// ---------------------------------------------------------------------------------------------

fn word_number(w: &str) -> Option<u32> {
    Some(match w {
        "un" | "uno" | "una" => 1,
        "dos" => 2,
        "tres" => 3,
        "cuatro" => 4,
        "cinco" => 5,
        "seis" => 6,
        "siete" => 7,
        "ocho" => 8,
        "nueve" => 9,
        "diez" => 10,
        "once" => 11,
        "doce" => 12,
        "trece" => 13,
        "catorce" => 14,
        "quince" => 15,
        "dieciseis" => 16,
        "diecisiete" => 17,
        "dieciocho" => 18,
        "diecinueve" => 19,
        "veinte" => 20,
        "veintiun" | "veintiuno" => 21,
        "veintidos" => 22,
        "veintitres" => 23,
        "veinticuatro" => 24,
        "veinticinco" => 25,
        "veintiseis" => 26,
        "veintisiete" => 27,
        "veintiocho" => 28,
        "veintinueve" => 29,
        "treinta" => 30,
        _ => return None,
    })
}

/// A number at `i` (digits or words, `treinta y uno` included): its value and tokens used.
fn number_at(t: &[String], i: usize) -> Option<(u32, usize)> {
    let w = t.get(i)?;
    if !w.is_empty() && w.chars().all(|c| c.is_ascii_digit()) {
        return w.parse().ok().map(|n| (n, 1));
    }
    let n = word_number(w)?;
    if n == 30
        && t.get(i + 1).is_some_and(|w| w == "y")
        && t.get(i + 2).is_some_and(|w| w == "uno" || w == "un")
    {
        return Some((31, 3));
    }
    Some((n, 1))
}

fn month_of(w: &str) -> Option<u32> {
    MONTHS.iter().position(|m| *m == w).map(|i| i as u32 + 1)
}

fn weekday_of(w: &str) -> Option<Weekday> {
    Some(match w {
        "lunes" | "lun" => Weekday::Mon,
        "martes" | "mar" => Weekday::Tue,
        "miercoles" | "mie" => Weekday::Wed,
        "jueves" | "jue" => Weekday::Thu,
        "viernes" | "vie" => Weekday::Fri,
        "sabado" | "sabados" | "sab" => Weekday::Sat,
        "domingo" | "domingos" | "dom" => Weekday::Sun,
        _ => return None,
    })
}

/// The next `weekday` on or after `from`.
fn next_weekday(from: NaiveDate, weekday: Weekday) -> NaiveDate {
    let ahead = (7 + weekday.num_days_from_monday() - from.weekday().num_days_from_monday()) % 7;
    from + Days::new(u64::from(ahead))
}

/// `day/month` without a year: this year, or next year once it has passed.
fn roll(today: NaiveDate, month: u32, day: u32) -> Option<NaiveDate> {
    let this = NaiveDate::from_ymd_opt(today.year(), month, day)?;
    if this >= today {
        Some(this)
    } else {
        NaiveDate::from_ymd_opt(today.year() + 1, month, day)
    }
}

/// A day of the month alone: this month if still ahead, else the next.
fn roll_day(today: NaiveDate, day: u32) -> Option<NaiveDate> {
    let this = today.with_day(day);
    match this {
        Some(d) if d >= today => Some(d),
        _ => {
            let next = today.with_day(1)?.checked_add_months(Months::new(1))?;
            next.with_day(day)
        }
    }
}

fn stay(check_in: NaiveDate, check_out: NaiveDate) -> Option<Dates> {
    (check_out > check_in).then_some(Dates::Stay {
        check_in,
        check_out,
    })
}

// ---------------------------------------------------------------------------------------------
// Dates
// ---------------------------------------------------------------------------------------------

fn has(t: &[String], w: &str) -> bool {
    t.iter().any(|x| x == w)
}

fn has_seq(t: &[String], seq: &[&str]) -> bool {
    t.windows(seq.len())
        .any(|w| w.iter().zip(seq).all(|(a, b)| a == b))
}

/// The weekend (Friday and Saturday nights) starting on the Friday of this week; on a Saturday,
/// the one night left; on a Sunday, next week's.
fn this_weekend(today: NaiveDate) -> (NaiveDate, NaiveDate) {
    match today.weekday() {
        Weekday::Sat => (today, today + Days::new(1)),
        _ => {
            let friday = next_weekday(today, Weekday::Fri);
            (friday, friday + Days::new(2))
        }
    }
}

/// The next run of at least three days off (weekends and holidays) after today: check in the
/// evening before it starts, check out on its last day.
fn long_weekend(today: NaiveDate) -> Option<(NaiveDate, NaiveDate)> {
    let off = |d: NaiveDate| {
        matches!(d.weekday(), Weekday::Sat | Weekday::Sun) || holidays::is_holiday(d)
    };
    let mut d = today + Days::new(1);
    let end = today.checked_add_months(Months::new(14))?;
    while d < end {
        if off(d) && !off(d - Days::new(1)) {
            let mut last = d;
            while off(last + Days::new(1)) {
                last = last + Days::new(1);
            }
            if (last - d).num_days() >= 2 {
                return Some((d - Days::new(1), last));
            }
            d = last;
        }
        d = d + Days::new(1);
    }
    None
}

/// Carnival's long weekend (Saturday to Shrove Tuesday, both Monday and Tuesday holidays):
/// check in the Friday evening, check out on the Tuesday. Once that Friday has passed, the
/// next year's (a stay cannot start in the past).
fn carnaval(today: NaiveDate) -> Option<(NaiveDate, NaiveDate)> {
    holidays::all()
        .iter()
        .find(|(d, name)| name.contains("Martes de Carnaval") && *d - Days::new(4) >= today)
        .map(|(tuesday, _)| (*tuesday - Days::new(4), *tuesday))
}

/// Holy Week's long weekend: check in on Holy Thursday, out on Easter Sunday.
fn semana_santa(today: NaiveDate) -> Option<(NaiveDate, NaiveDate)> {
    holidays::all()
        .iter()
        .find(|(d, name)| name.contains("Viernes Santo") && *d - Days::new(1) >= today)
        .map(|(friday, _)| (*friday - Days::new(1), *friday + Days::new(2)))
}

/// A single date starting at `i`: `hoy`, `manana`, a weekday (`el jueves`), `el sabado 3`,
/// `12/12`, `5 de enero`, `el 5`. Returns the date (or a question) and tokens used.
fn date_at(
    t: &[String],
    mut i: usize,
    today: NaiveDate,
) -> Option<(Result<NaiveDate, String>, usize)> {
    let start = i;
    if t.get(i).is_some_and(|w| w == "el" || w == "la") {
        i += 1;
    }
    let w = t.get(i)?;
    if w == "hoy" {
        return Some((Ok(today), i + 1 - start));
    }
    if w == "manana" {
        return Some((Ok(today + Days::new(1)), i + 1 - start));
    }
    if let Some((d, m, y)) = slash_date(w) {
        let date = match y {
            Some(y) => NaiveDate::from_ymd_opt(y, m, d),
            None => roll(today, m, d),
        }?;
        return Some((Ok(date), i + 1 - start));
    }
    if let Some(weekday) = weekday_of(w) {
        // `el sabado 3`: the nearest month where the 3rd is a Saturday, or a question.
        if let Some((day, used)) = number_at(t, i + 1).filter(|(d, _)| (1..=31).contains(d)) {
            let mut month_start = today.with_day(1)?;
            for _ in 0..NEARBY_MONTHS {
                if let Some(candidate) = month_start.with_day(day)
                    && candidate >= today
                    && candidate.weekday() == weekday
                {
                    return Some((Ok(candidate), i + 1 + used - start));
                }
                month_start = month_start.checked_add_months(Months::new(1))?;
            }
            return Some((
                Err(format!(
                    "¿De qué mes es el {} {day}? No encuentro uno cercano",
                    weekday_name(weekday)
                )),
                i + 1 + used - start,
            ));
        }
        return Some((Ok(next_weekday(today, weekday)), i + 1 - start));
    }
    let (day, used) = number_at(t, i).filter(|(d, _)| (1..=31).contains(d))?;
    let mut j = i + used;
    if t.get(j).is_some_and(|w| w == "de") && t.get(j + 1).and_then(|w| month_of(w)).is_some() {
        j += 1;
    }
    if let Some(month) = t.get(j).and_then(|w| month_of(w)) {
        return Some((
            roll(today, month, day).ok_or_else(|| "¿Qué fecha?".to_owned()),
            j + 1 - start,
        ));
    }
    Some((
        roll_day(today, day).ok_or_else(|| "¿Qué fecha?".to_owned()),
        i + used - start,
    ))
}

fn weekday_name(w: Weekday) -> &'static str {
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

fn slash_date(w: &str) -> Option<(u32, u32, Option<i32>)> {
    let parts: Vec<&str> = w.split('/').collect();
    let (d, m, y) = match parts.as_slice() {
        [d, m] => (d.parse().ok()?, m.parse().ok()?, None),
        [d, m, y] => {
            let y: i32 = y.parse().ok()?;
            (
                d.parse().ok()?,
                m.parse().ok()?,
                Some(if y < 100 { 2000 + y } else { y }),
            )
        }
        _ => return None,
    };
    ((1..=31).contains(&d) && (1..=12).contains(&m)).then_some((d, m, y))
}

/// `N noches` / `una semana` / `N dias` at `i`: the number of nights.
fn nights_at(t: &[String], i: usize) -> Option<(u32, usize)> {
    let (n, used) = number_at(t, i)?;
    match t.get(i + used).map(String::as_str) {
        Some("noche" | "noches") => Some((n, used + 1)),
        Some("semana" | "semanas") => Some((n * 7, used + 1)),
        Some("dia" | "dias") => Some((n, used + 1)),
        _ => None,
    }
}

fn dates(t: &[String], today: NaiveDate) -> Option<Dates> {
    if has_seq(t, &["semana", "santa"]) {
        return semana_santa(today).and_then(|(a, b)| stay(a, b));
    }
    // Named before "finde largo": "el finde largo de carnaval" is that one, not the next.
    if t.iter().any(|w| w.starts_with("carnaval")) {
        return carnaval(today).and_then(|(a, b)| stay(a, b));
    }
    if has_seq(t, &["finde", "largo"]) {
        return long_weekend(today).and_then(|(a, b)| stay(a, b));
    }

    // A length of stay plus where it starts: `2 noches desde el jueves`.
    for i in 0..t.len() {
        if let Some((nights, used)) = nights_at(t, i) {
            let mut j = i + used;
            while t.get(j).is_some_and(|w| {
                matches!(
                    w.as_str(),
                    "desde" | "a" | "partir" | "del" | "de" | "el" | "para"
                )
            }) {
                j += 1;
            }
            // `del` was consumed above; `date_at` takes an optional article itself.
            if let Some((start, _)) = date_at(t, j, today) {
                return Some(match start {
                    Ok(d) => stay(d, d + Days::new(u64::from(nights)))?,
                    Err(question) => Dates::Ambiguous { question },
                });
            }
        }
    }

    // A range: `del 12 al 14 de diciembre`, `12/12 al 14/12`, `desde el viernes hasta el domingo`.
    for i in 0..t.len() {
        let mut j = i;
        if t.get(j)
            .is_some_and(|w| w == "del" || w == "desde" || w == "de")
        {
            j += 1;
        }
        let Some((first, used)) = date_at(t, j, today) else {
            continue;
        };
        let k = j + used;
        let Some(joiner) = t.get(k) else { continue };
        if !matches!(joiner.as_str(), "al" | "hasta" | "a") {
            continue;
        }
        let Some((second, used2)) = date_at(t, k + 1, today) else {
            continue;
        };
        let (first, second) = match (first, second) {
            (Ok(a), Ok(b)) => (a, b),
            (Err(q), _) | (_, Err(q)) => return Some(Dates::Ambiguous { question: q }),
        };
        // `del 12 al 14 de diciembre`: the month (and year) written once, at the end.
        let mut first = first;
        let first_bare = number_at(t, j + usize::from(t[j] == "el")).is_some_and(|(_, u)| {
            let after = j + usize::from(t[j] == "el") + u;
            after == k
        });
        let second_has_month = t[k + 1..(k + 1 + used2).min(t.len())]
            .iter()
            .any(|w| month_of(w).is_some());
        if first_bare && second_has_month {
            first = first.with_month(second.month()).unwrap_or(first);
            first = first.with_year(second.year()).unwrap_or(first);
            if first > second {
                first = first.checked_sub_months(Months::new(1)).unwrap_or(first);
            }
        }
        // `del viernes al domingo`: the second day after the first.
        let second = if second <= first {
            match weekday_of(&t[k + 1 + usize::from(t[k + 1] == "el")]) {
                Some(w) => next_weekday(first + Days::new(1), w),
                None => match second.checked_add_months(Months::new(1)) {
                    Some(d) if d > first => d,
                    _ => second,
                },
            }
        } else {
            second
        };
        if let Some(s) = stay(first, second) {
            return Some(s);
        }
    }

    // Weekends.
    if has(t, "finde") {
        let (friday, sunday) = this_weekend(today);
        let next = has_seq(t, &["que", "viene"]) || has(t, "proximo") || has(t, "otro");
        return if next && !has(t, "este") {
            stay(friday + Days::new(7), sunday + Days::new(7))
        } else {
            stay(friday, sunday)
        };
    }

    // A single day: `el sabado 3`, `el 5 de enero` — one night unless said otherwise.
    for i in 0..t.len() {
        let starts_date = t[i] == "el"
            || weekday_of(&t[i]).is_some()
            || slash_date(&t[i]).is_some()
            || (number_at(t, i).is_some()
                && (t.get(i + 1).is_some_and(|w| month_of(w).is_some())
                    || (t.get(i + 1).is_some_and(|w| w == "de")
                        && t.get(i + 2).is_some_and(|w| month_of(w).is_some()))));
        if !starts_date {
            continue;
        }
        if let Some((d, _)) = date_at(t, i, today) {
            return Some(match d {
                Ok(d) => stay(d, d + Days::new(1))?,
                Err(question) => Dates::Ambiguous { question },
            });
        }
    }

    // A month: `en enero`.
    for (i, w) in t.iter().enumerate() {
        if let Some(month) = month_of(w)
            && (i == 0 || matches!(t[i - 1].as_str(), "en" | "para" | "de" | "por"))
        {
            let year = if month < today.month() {
                today.year() + 1
            } else {
                today.year()
            };
            return Some(Dates::Month { year, month });
        }
    }
    None
}

// ---------------------------------------------------------------------------------------------
// Guests
// ---------------------------------------------------------------------------------------------

fn guests(t: &[String]) -> Option<u32> {
    let sensible = |n: u32| (1..=30).contains(&n).then_some(n);
    // `2 adultos y 2 ninos`
    for i in 0..t.len() {
        if let Some((adults, used)) = number_at(t, i)
            && t.get(i + used)
                .is_some_and(|w| w.starts_with("adulto") || w == "grandes" || w == "mayores")
        {
            let mut total = adults;
            let mut j = i + used + 1;
            if t.get(j)
                .is_some_and(|w| w == "y" || w == "mas" || w == "con")
            {
                j += 1;
            }
            if let Some((kids, used)) = number_at(t, j)
                && t.get(j + used).is_some_and(|w| {
                    matches!(
                        w.as_str(),
                        "nino"
                            | "ninos"
                            | "nina"
                            | "ninas"
                            | "chicos"
                            | "chicas"
                            | "menores"
                            | "nenes"
                            | "hijos"
                            | "bebes"
                            | "bebe"
                    )
                })
            {
                total += kids;
            }
            return sensible(total);
        }
    }
    // `4 personas`, `cuatro pax`, `somos 5`, `para 4`
    for i in 0..t.len() {
        let Some((n, used)) = number_at(t, i) else {
            continue;
        };
        let next = t.get(i + used).map(String::as_str);
        if matches!(
            next,
            Some("personas" | "persona" | "pax" | "huespedes" | "adultos")
        ) {
            return sensible(n);
        }
        let prev = i.checked_sub(1).map(|p| t[p].as_str());
        let date_follows = matches!(
            next,
            Some(
                "noche"
                    | "noches"
                    | "dia"
                    | "dias"
                    | "semana"
                    | "semanas"
                    | "de"
                    | "al"
                    | "a"
                    | "hasta"
            )
        ) || next.is_some_and(|w| month_of(w).is_some());
        if matches!(prev, Some("somos" | "para")) && !date_follows && !t[i].contains('/') {
            return sensible(n);
        }
    }
    None
}

// ---------------------------------------------------------------------------------------------
// Intents
// ---------------------------------------------------------------------------------------------

/// The house topic a guest asks about, if any: the first one named.
fn topic(t: &[String]) -> Option<Topic> {
    let starts = |p: &str| t.iter().any(|w| w.starts_with(p));
    let any = |words: &[&str]| words.iter().any(|w| has(t, w));
    let asked = [
        (
            Topic::Pets,
            starts("mascot") || starts("perr") || starts("gat") || starts("animal"),
        ),
        (
            Topic::Wifi,
            any(&["wifi", "internet", "senal"]) || has_seq(t, &["wi", "fi"]),
        ),
        (
            Topic::Payment,
            starts("tarjeta")
                || any(&["credito", "debito", "efectivo", "cuotas", "mercadopago"])
                || has_seq(t, &["mercado", "pago"])
                || has_seq(t, &["formas", "de", "pago"])
                || has_seq(t, &["medios", "de", "pago"])
                || (has(t, "aceptan") && starts("transfer")),
        ),
        (Topic::Pool, any(&["pileta", "piscina", "pile"])),
        (
            Topic::Grill,
            any(&["parrilla", "asador", "asado", "quincho"]),
        ),
        (
            Topic::Linen,
            starts("sabana")
                || starts("toalla")
                || has(t, "blanqueria")
                || has_seq(t, &["ropa", "de", "cama"])
                || has_seq(t, &["ropa", "blanca"]),
        ),
        (
            Topic::Babies,
            any(&["cuna", "bebe", "bebes", "bebito", "bebita"]),
        ),
        (
            Topic::Parking,
            starts("estaciona") || any(&["cochera", "garage", "garaje"]),
        ),
        (
            Topic::Heating,
            starts("calefac")
                || starts("estufa")
                || any(&["lena", "salamandra", "hogar"])
                || has_seq(t, &["aire", "acondicionado"]),
        ),
    ];
    asked
        .into_iter()
        .find_map(|(topic, said)| said.then_some(topic))
}

fn intents(t: &[String]) -> Vec<Intent> {
    let starts = |p: &str| t.iter().any(|w| w.starts_with(p));
    let mut out = Vec::new();
    let mut push = |i: Intent| {
        if !out.contains(&i) {
            out.push(i);
        }
    };
    // Moving a booked stay ("cambiar la fecha de mi reserva", "postergar la estadía") is the
    // owner's to do: the guest is put through to them. Changing dates while still searching
    // names no reservation and stays a search.
    let change = [
        "cambi",
        "mover",
        "muev",
        "posterg",
        "adelant",
        "reprogram",
        "correr",
    ]
    .iter()
    .any(|p| starts(p));
    let booked = starts("reserva") || starts("estadia");
    if starts("humano")
        || (change && booked)
        || has_seq(t, &["hablar", "con"])
        || has(t, "dueno")
        || has(t, "encargado")
        || has_seq(t, &["persona", "real"])
    {
        push(Intent::Human);
    }
    if starts("cancel") || starts("anular") {
        push(Intent::Cancel);
    }
    if has_seq(t, &["mis", "reservas"]) || has_seq(t, &["mi", "reserva"]) {
        push(Intent::MyReservations);
    }
    // Before payment: "ya pagué la seña" also names paying, and means it is done.
    let done_paying = ["pag", "transfer", "abon", "deposit"];
    if t.windows(2)
        .any(|w| w[0] == "ya" && done_paying.iter().any(|p| w[1].starts_with(p)) && w[1] != "pagar")
        || [
            "pague",
            "pagado",
            "pagamos",
            "transferi",
            "transferimos",
            "abone",
        ]
        .iter()
        .any(|w| has(t, w))
        || starts("comprobante")
        || (["hice", "mande", "envie", "realice"]
            .iter()
            .any(|w| has(t, w))
            && (starts("transfer") || starts("pago")))
    {
        if starts("transfer") || starts("comprobante") {
            push(Intent::Transferred);
        }
        push(Intent::Paid);
    }
    // Before paying and searching: "¿aceptan tarjeta?" and "¿tienen wifi?" are questions about
    // the house, not a payment or a search.
    if let Some(topic) = topic(t) {
        push(Intent::Ask(topic));
    }
    // "cuánto debo", "el saldo", "cuánto me falta": what is left to pay is asked as payment.
    if starts("pag")
        || has(t, "link")
        || has(t, "sena")
        || starts("transfer")
        || has(t, "saldo")
        || has(t, "debo")
        || has_seq(t, &["cuanto", "falta"])
        || has_seq(t, &["cuanto", "me", "falta"])
    {
        push(Intent::Pay);
    }
    let mine = has_seq(t, &["mis", "reservas"]) || has_seq(t, &["mi", "reserva"]);
    if starts("reserv") && !mine {
        push(Intent::Book);
    }
    if starts("precio")
        || starts("tarifa")
        || has_seq(t, &["cuanto", "sale"])
        || has_seq(t, &["cuanto", "cuesta"])
        || has_seq(t, &["cuanto", "es"])
        || has(t, "incluye")
        || has(t, "incluido")
    {
        push(Intent::Prices);
    }
    if has(t, "donde")
        || starts("ubicac")
        || starts("direcc")
        || has_seq(t, &["como", "llego"])
        || has_seq(t, &["check", "in"])
        || has(t, "checkin")
    {
        push(Intent::Location);
    }
    if has(t, "lugar") || starts("disponib") || has(t, "libre") || has(t, "hay") || has(t, "tienen")
    {
        push(Intent::Availability);
    }
    if has(t, "ayuda") || has(t, "menu") || has(t, "opciones") {
        push(Intent::Help);
    }
    if has(t, "hola")
        || has(t, "buenas")
        || has_seq(t, &["buen", "dia"])
        || has_seq(t, &["buenos", "dias"])
        || has(t, "holis")
    {
        push(Intent::Greeting);
    }
    // Last, and only in a short answer: "si" is also "if" ("si hay lugar para cuatro…").
    const YES: &[&str] = &[
        "si",
        "dale",
        "ok",
        "okey",
        "oka",
        "confirmo",
        "confirmar",
        "confirmado",
        "perfecto",
        "listo",
        "bueno",
        "claro",
        "obvio",
        "genial",
    ];
    if t.len() <= 4 && t.iter().any(|w| YES.contains(&w.as_str())) {
        push(Intent::Yes);
    }
    if starts("graci") {
        push(Intent::Thanks);
    }
    out
}
