//! The tokenizer: what a guest wrote, as the rules read it.
//!
//! Lower case, no accents, no emoji; WhatsApp abbreviations spelled out ("x" → "por", "q" →
//! "que", "hta" → "hasta"); numbers in words as digits ("veintitrés" → "23", "treinta y uno" →
//! "31"); dates kept whole and in one shape ("15-03-2027" → "15/03/2027"); slips of the keyboard
//! and of voice transcription corrected ("marso", "biernes", "caballa"); phrases that mean one
//! thing joined into one token ("fin de semana" → "finde", "pasado mañana" → "pasado_manana").
//! Punctuation that separates clauses stays as a "," token: "el domingo, 1 noche" is a day and a
//! length, not the 1st.

/// Accents and ñ folded to plain ASCII letters (the domain's one rule, shared with search).
pub use domain::text::fold;

pub const MONTHS: [&str; 12] = [
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

const WEEKDAYS: [&str; 7] = [
    "lunes",
    "martes",
    "miercoles",
    "jueves",
    "viernes",
    "sabado",
    "domingo",
];

/// Words the rules know, kept as they are even when they are one letter away from a month or a
/// weekday ("mayo"/"mayor", "marzo"/"marco" are both real words).
const KEEP: &[&str] = &[
    "mayor", "mayores", "marco", "junto", "juntos", "julia", "abrir", "mayoria", "partes", "mates",
    "vienes", "entero", "enteros", "lunas",
];

/// Whether `a` and `b` (ASCII) are at most one typed slip apart: one letter changed, added or
/// left out (an edit distance of at most 1). It runs for every longer word of a message against
/// every month and weekday, and for every word of every cabin's name when a message may name
/// one: a full edit-distance table, allocated per pair, was most of a WhatsApp turn's
/// allocations with fifty cabins.
fn one_slip_apart(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if long.len() - short.len() > 1 {
        return false;
    }
    // Past the common start, the rest must match with one letter changed (same length) or
    // with the longer word's next letter skipped.
    let same = short.iter().zip(long).take_while(|(x, y)| x == y).count();
    if same == short.len() {
        return true;
    }
    if short.len() == long.len() {
        short[same + 1..] == long[same + 1..]
    } else {
        short[same..] == long[same + 1..]
    }
}

/// A letter typed again and again at the end ("siii", "daleee", "holaaa"): once.
fn unstretched(word: &str) -> String {
    let mut chars: Vec<char> = word.chars().collect();
    while chars.len() > 2
        && chars[chars.len() - 1] == chars[chars.len() - 2]
        && chars[chars.len() - 1].is_alphabetic()
    {
        chars.pop();
    }
    chars.into_iter().collect()
}

/// One word as the rules know it: abbreviations spelled out, slips corrected.
fn correct(word: &str) -> &str {
    let spelled = match word {
        "x" | "xr" => "por",
        "q" | "k" | "ke" | "qe" => "que",
        "xq" | "pq" | "porq" | "xk" => "porque",
        "tmb" | "tmbn" | "tb" | "tambn" => "tambien",
        "hta" | "hsta" | "ast" | "asta" => "hasta",
        "d" => "de",
        "dl" => "del",
        "dsd" | "dsde" | "dde" => "desde",
        "pa" | "p" => "para",
        "c" => "con",
        "xfa" | "porfa" | "plis" | "pls" => "porfavor",
        "dps" | "dsp" => "despues",
        "mñn" | "mna" | "maniana" | "mnana" | "manana" => "manana",
        "setiembre" => "septiembre",
        "dic" => "diciembre",
        "ene" => "enero",
        "feb" => "febrero",
        "abr" => "abril",
        "ago" => "agosto",
        "sept" | "sep" => "septiembre",
        "oct" => "octubre",
        "nov" => "noviembre",
        "finde" | "findes" | "finds" | "fnde" | "fide" | "findee" => "finde",
        "semna" | "semanna" | "semaan" | "sem" | "smana" | "seman" | "semanita" | "semanitas" => {
            "semana"
        }
        "smanas" | "semnas" => "semanas",
        "noche" | "nochecita" | "nochesita" => "noche",
        "nohces" | "nochs" | "noches" | "nches" | "noces" | "nochess" | "nochecitas" => "noches",
        "dia" | "diita" => "dia",
        "dias" | "diitas" | "diaz" => "dias",
        "cabana" | "cabanas" | "cabanita" | "cabanitas" | "caballa" | "caballas" | "cabaa" => {
            "cabana"
        }
        "pax" | "px" => "personas",
        "persona" | "personas" | "perosnas" | "presonas" | "personitas" | "persoans" => "personas",
        "checkin" => "checkin",
        "checkout" => "checkout",
        "sab" | "sabad" => "sabado",
        "dom" => "domingo",
        "vie" | "vier" => "viernes",
        "jue" => "jueves",
        "mie" | "miercole" | "miercles" => "miercoles",
        "lun" => "lunes",
        "ninos" | "ninios" | "ninoss" => "ninos",
        _ => word,
    };
    if spelled != word {
        return spelled;
    }
    // "nochees", "nochesitas": nights however spelled.
    if word.starts_with("noche") && word.len() > 6 && word.len() <= 10 {
        return "noches";
    }
    let known = || MONTHS.iter().chain(WEEKDAYS.iter());
    if word.len() >= 5
        && !KEEP.contains(&word)
        && word.chars().all(|c| c.is_ascii_alphabetic())
        && !known().any(|k| *k == word)
    {
        for known in known() {
            if word != *known && one_slip_apart(word, known) {
                return known;
            }
        }
    }
    word
}

/// Numbers written in words, 1 to 31 ("un"/"una" are left to the rules: also an article).
pub fn word_number(w: &str) -> Option<u32> {
    Some(match w {
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
        "veintiun" | "veintiuno" | "veintiuna" => 21,
        "veintidos" => 22,
        "veintitres" => 23,
        "veinticuatro" => 24,
        "veinticinco" => 25,
        "veintiseis" => 26,
        "veintisiete" => 27,
        "veintiocho" => 28,
        "veintinueve" => 29,
        "treinta" => 30,
        "primero" | "1ro" | "1ero" | "1er" | "1o" => 1,
        _ => return None,
    })
}

/// Phrases read as one token, longest first within each start word.
const PHRASES: &[(&[&str], &str)] = &[
    (&["fin", "de", "semana", "largo"], "finde largo"),
    (&["fines", "de", "semana"], "finde"),
    (&["fin", "de", "semana"], "finde"),
    (&["fin", "de", "semanas"], "finde"),
    (&["fin", "semana"], "finde"),
    (&["fin", "de", "ano"], "ano_nuevo"),
    (&["ano", "nuevo"], "ano_nuevo"),
    (&["pasado", "manana"], "pasado_manana"),
    (&["esta", "noche"], "esta_noche"),
    (&["hoy", "a", "la", "noche"], "esta_noche"),
    (&["hoy", "por", "la", "noche"], "esta_noche"),
    (&["semana", "santa"], "semana_santa"),
    (&["vacaciones", "de", "invierno"], "vacaciones_invierno"),
    (&["receso", "invernal"], "vacaciones_invierno"),
    (&["check", "in"], "checkin"),
    (&["check", "out"], "checkout"),
    (&["check", "-", "in"], "checkin"),
    (&["check", "-", "out"], "checkout"),
    (&["a", "partir", "del"], "desde el"),
    (&["a", "partir", "de"], "desde"),
    (&["que", "viene"], "que_viene"),
    (&["la", "semana", "proxima"], "semana_que_viene"),
    (&["la", "proxima", "semana"], "semana_que_viene"),
    (&["la", "semana", "que_viene"], "semana_que_viene"),
    (&["treinta", "y", "uno"], "31"),
    (&["treinta", "y", "un"], "31"),
    (&["diez", "y", "seis"], "16"),
    (&["diez", "y", "siete"], "17"),
    (&["diez", "y", "ocho"], "18"),
    (&["diez", "y", "nueve"], "19"),
    (&["veinti", "uno"], "21"),
    (&["nos", "vamos"], "nos_vamos"),
    (&["nos", "iriamos"], "nos_vamos"),
    (&["nos", "volvemos"], "volvemos"),
    (&["me", "voy"], "nos_vamos"),
    (&["me", "iria"], "nos_vamos"),
    (&["me", "vuelvo"], "nos_vamos"),
    (&["me", "volveria"], "nos_vamos"),
    (&["nos", "volveriamos"], "nos_vamos"),
    (&["manana", "a", "la", "noche"], "manana_noche"),
    (&["manana", "por", "la", "noche"], "manana_noche"),
    (&["que", "tal"], "que_tal"),
    (&["feliz", "navidad"], "feliz_navidad"),
    (&["carne", "y", "hueso"], "carne_y_hueso"),
];

/// Splits on whitespace and punctuation; keeps `/`-dates whole, turns `15-3` into `15/3`,
/// arrows into `->` and clause breaks into `,`.
fn raw_words(folded: &str) -> Vec<String> {
    let chars: Vec<char> = folded.chars().collect();
    let mut out: Vec<String> = Vec::new();
    let mut cur = String::new();
    let flush = |cur: &mut String, out: &mut Vec<String>| {
        if !cur.is_empty() {
            out.push(std::mem::take(cur));
        }
    };
    let digit_at = |i: usize| chars.get(i).is_some_and(char::is_ascii_digit);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let prev_digit = i > 0 && digit_at(i - 1);
        match c {
            c if c.is_alphanumeric() => cur.push(c),
            '/' | '-' | '.' if prev_digit && digit_at(i + 1) => {
                // 15/3, 15-3, 15.3 are dates; 60.000 is a number: its dot dropped.
                let thousands = c == '.'
                    && chars[i + 1..]
                        .iter()
                        .take_while(|c| c.is_ascii_digit())
                        .count()
                        == 3;
                if !thousands {
                    cur.push('/');
                }
            }
            '°' | 'º' if prev_digit => {}
            '-' | '=' if chars.get(i + 1) == Some(&'>') => {
                i += 1;
                flush(&mut cur, &mut out);
                out.push("->".to_owned());
            }
            '>' | '→' | '➡' => {
                flush(&mut cur, &mut out);
                out.push("->".to_owned());
            }
            '-' => {
                flush(&mut cur, &mut out);
                out.push("-".to_owned());
            }
            '+' => {
                flush(&mut cur, &mut out);
                out.push("+".to_owned());
            }
            ',' | ';' | ':' | '.' | '!' | '?' | '\n' | '(' | ')' | '¿' | '¡' => {
                flush(&mut cur, &mut out);
                if out.last().is_some_and(|w| w != ",") {
                    out.push(",".to_owned());
                }
            }
            _ => flush(&mut cur, &mut out),
        }
        i += 1;
    }
    flush(&mut cur, &mut out);
    while out.last().is_some_and(|w| w == ",") {
        out.pop();
    }
    out
}

/// "15/3", "1/12/27": a word that is a written date.
fn is_slash_date(w: &str) -> bool {
    w.contains('/')
        && w.split('/')
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
}

/// The tokens the rules read (see the module's doc).
pub fn tokens(text: &str) -> Vec<String> {
    let folded = fold(text);
    let words: Vec<String> = raw_words(&folded)
        .into_iter()
        .map(|w| {
            // "3ro", "1°" and "2x" (a day, a count): the digits.
            if w.chars().next().is_some_and(|c| c.is_ascii_digit()) && !is_slash_date(&w) {
                let digits: String = w.chars().take_while(char::is_ascii_digit).collect();
                let rest = &w[digits.len()..];
                if matches!(
                    rest,
                    "ro" | "ero" | "er" | "o" | "do" | "to" | "vo" | "mo" | "no"
                ) {
                    return digits;
                }
            }
            let w = unstretched(&w);
            correct(&w).to_owned()
        })
        .flat_map(|w| {
            // "x2", "x4": for two, for four.
            match w.strip_prefix('x') {
                Some(n)
                    if !n.is_empty() && n.len() <= 2 && n.chars().all(|c| c.is_ascii_digit()) =>
                {
                    vec!["para".to_owned(), n.to_owned()]
                }
                _ => vec![w],
            }
        })
        .collect();
    let mut out: Vec<String> = Vec::with_capacity(words.len());
    let mut i = 0;
    'words: while i < words.len() {
        for (phrase, joined) in PHRASES {
            if words.len() >= i + phrase.len()
                && phrase.iter().zip(&words[i..]).all(|(p, w)| p == w)
            {
                out.extend(joined.split(' ').map(str::to_owned));
                i += phrase.len();
                continue 'words;
            }
        }
        let w = &words[i];
        match word_number(w) {
            Some(n) => out.push(n.to_string()),
            None => out.push(w.clone()),
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{one_slip_apart, tokens};

    fn t(s: &str) -> String {
        tokens(s).join(" ")
    }

    #[test]
    fn dates_stay_whole_and_take_one_shape() {
        assert_eq!(t("15-03-2027 al 18-03-2027"), "15/03/2027 al 18/03/2027");
        assert_eq!(t("15/3 -> 18/3"), "15/3 -> 18/3");
        assert_eq!(t("del 12 al 14, somos 4"), "del 12 al 14 , somos 4");
        assert_eq!(t("$60.000"), "60000");
    }

    #[test]
    fn abbreviations_slips_and_numbers_in_words() {
        assert_eq!(t("x 5 noches q somos tres"), "por 5 noches que somos 3");
        assert_eq!(t("hta el treinta y uno de marso"), "hasta el 31 de marzo");
        assert_eq!(t("Pasado mañana 🙂 fin de semna"), "pasado_manana finde");
        assert_eq!(t("el 1ro de mayo"), "el 1 de mayo");
        assert_eq!(t("el biernes"), "el viernes");
        assert_eq!(t("los mayores"), "los mayores");
        assert_eq!(t("siii daleee"), "si dale");
    }

    /// The edit distance, as a table: the definition `one_slip_apart` must agree with.
    fn distance(a: &str, b: &str) -> usize {
        let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
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

    #[test]
    fn one_slip_is_an_edit_distance_of_at_most_one() {
        let words = [
            "", "a", "ab", "ba", "abc", "marzo", "marso", "marzoo", "mazo", "amrzo", "arzo",
            "marz", "viernes", "biernes", "vierne", "viernesa", "jueves", "juves", "lunes",
            "lunas", "martes", "mates", "sabado", "sabadoo", "domingo", "domigno",
        ];
        for a in words {
            for b in words {
                assert_eq!(one_slip_apart(a, b), distance(a, b) <= 1, "{a:?} and {b:?}");
            }
        }
    }
}
