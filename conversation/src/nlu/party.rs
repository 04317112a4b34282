//! The party: how many people, from a total ("somos 4", "para 4", "4 personas") or from its
//! parts ("2 adultos y 2 niños", "tres parejas", "yo, mi marido y la nena", "un matrimonio con
//! 2 hijos"). A part that cannot be counted ("los chicos", "familia tipo") makes it a question:
//! a smaller party is never guessed.

use super::Party;

/// Counted by number: "3 adultos", "2 nenes", "un bebé".
const PEOPLE: &[&str] = &[
    "personas",
    "huespedes",
    "adultos",
    "adulto",
    "grandes",
    "mayores",
    "ninos",
    "nino",
    "nina",
    "ninas",
    "chicos",
    "chicas",
    "menores",
    "menor",
    "nenes",
    "nenas",
    "nene",
    "nena",
    "hijos",
    "hijas",
    "hijo",
    "hija",
    "bebes",
    "bebe",
    "bebas",
    "beba",
    "pibes",
    "pibas",
    "chiquitos",
    "chiquitas",
    "criaturas",
    "nietos",
    "nietas",
    "nieto",
    "nieta",
    "sobrinos",
    "sobrinas",
    "amigos",
    "amigas",
    "amigo",
    "amiga",
    "jovenes",
    "adolescentes",
    "viejos",
    "abuelos",
];
const ADULTS: &[&str] = &["adultos", "adulto", "grandes", "mayores"];
/// Children, however called: with no number they cannot be counted.
const KIDS: &[&str] = &[
    "ninos",
    "chicos",
    "nenes",
    "nenas",
    "hijos",
    "hijas",
    "pibes",
    "chiquitos",
    "criaturas",
    "nietos",
    "sobrinos",
    "menores",
    "bebes",
    "nene",
    "nena",
    "bebe",
    "beba",
    "nino",
    "nina",
    "hijo",
    "hija",
];
/// One person each, named by who they are to the guest ("mi señora", "la nena").
const ONE: &[&str] = &[
    "senora",
    "esposa",
    "mujer",
    "marido",
    "esposo",
    "novio",
    "novia",
    "pareja",
    "companera",
    "companero",
    "mama",
    "papa",
    "madre",
    "padre",
    "suegra",
    "suegro",
    "hermano",
    "hermana",
    "amigo",
    "amiga",
    "hijo",
    "hija",
    "nene",
    "nena",
    "bebe",
    "beba",
    "vieja",
    "viejo",
    "cunado",
    "cunada",
    "abuela",
    "abuelo",
    "tia",
    "tio",
    "primo",
    "prima",
    "hijito",
    "hijita",
    "gorda",
    "gordo",
    "jermu",
    "dona",
    "socio",
    "socia",
    "nieto",
    "nieta",
    "patrona",
    "flaca",
    "flaco",
    "peque",
    "nenito",
    "nenita",
    "sobrino",
    "sobrina",
];
/// Two people each: "mis viejos", "mis suegros".
const TWO: &[&str] = &[
    "viejos", "padres", "suegros", "abuelos", "papas", "mellizos", "mellizas", "gemelos", "gemelas",
];
/// Groups with no number: "unos amigos", "la familia", "un grupo".
const GROUPS: &[&str] = &[
    "amigos",
    "amigas",
    "familia",
    "flia",
    "grupo",
    "varios",
    "varias",
    "parientes",
];
/// Words that say a total follows ("somos 4", "para 4", "nosotros 2").
const TOTAL: &[&str] = &[
    "somos",
    "seriamos",
    "seremos",
    "viajamos",
    "vamos",
    "venimos",
    "iriamos",
    "vendriamos",
    "estamos",
    "viajariamos",
    "serian",
    "seria",
    "total",
    "nosotros",
    "nosotras",
    "para",
    "llegamos",
    "caemos",
    "ser",
];
/// Words that say the guest speaks of who travels: without one, relatives named in passing
/// ("dejame ver con mi marido", "una cuna para el bebé") are not a party.
const TRAVEL: &[&str] = &[
    "somos",
    "seriamos",
    "seremos",
    "viajamos",
    "vamos",
    "venimos",
    "iriamos",
    "vendriamos",
    "estamos",
    "viajariamos",
    "voy",
    "viajo",
    "vengo",
    "iria",
    "llegamos",
    "caemos",
    "ser",
    "nosotros",
    "nosotras",
    "conmigo",
    "ir",
    "irnos",
    "viajar",
];
/// After a number: a length, a date, or a thing, not people.
const NOT_PEOPLE: &[&str] = &[
    "noche",
    "noches",
    "dia",
    "dias",
    "semana",
    "semanas",
    "quincena",
    "al",
    "a",
    "hasta",
    "->",
    "-",
    "o",
    "autos",
    "auto",
    "coches",
    "coche",
    "camionetas",
    "perros",
    "perro",
    "gatos",
    "mascotas",
    "camas",
    "cama",
    "habitaciones",
    "dormitorios",
    "cuartos",
    "banos",
    "ambientes",
    "horas",
    "hs",
    "pesos",
    "mil",
    "lucas",
    "km",
    "cuotas",
    "motos",
    "meses",
    "anos",
];
const DETERMINERS: &[&str] = &[
    "mi", "con", "la", "el", "su", "mis", "los", "las", "sus", "nuestra", "nuestro", "nuestros",
    "nuestras",
];
/// Talking it over with someone, not travelling with them: "lo veo con mi marido".
const CONSULT: &[&str] = &[
    "ver",
    "veo",
    "hablar",
    "hablo",
    "consultar",
    "consulto",
    "charlar",
    "charlo",
    "arreglar",
    "arreglo",
    "confirmar",
    "confirmo",
    "chequear",
    "chequeo",
    "decidir",
    "decido",
];
/// A total said again, corrected: "somos 4, bah 5".
const CORRECTED: &[&str] = &["bah", "digo", "perdon", "mejor"];

fn digits(w: &str) -> Option<u32> {
    (!w.is_empty() && w.len() <= 3 && w.chars().all(|c| c.is_ascii_digit()))
        .then(|| w.parse().ok())
        .flatten()
}

fn num(w: &str) -> Option<u32> {
    match w {
        "un" | "una" | "uno" => Some(1),
        w => digits(w),
    }
}

fn is_month(w: &str) -> bool {
    super::calendar::month_of(w).is_some()
}

/// What the parts of the message add up to.
#[derive(Default, Debug)]
struct Tally {
    /// A total said outright ("somos 4", "para 4 personas").
    total: Option<u32>,
    /// People counted part by part.
    parts: u32,
    counted_any: bool,
    /// The guest counts themself: "yo" in a list ("mi señora y yo"), or implied by travelling
    /// with their own ("con mi señora", "mis 3 hijos"; not "para mis viejos", "el cumple de mi
    /// viejo").
    me: bool,
    /// Adults counted by number ("2 adultos", "una pareja"): the guest is one of them.
    adults: bool,
    /// Children with no number ("los chicos"): the party is a question whatever else is said.
    uncounted_kids: bool,
    /// A group with no number ("unos amigos", "mi familia"): a question unless a count is said.
    uncounted_group: bool,
    /// "solo yo", "voy sola".
    alone: bool,
    /// Some part was counted by a number ("2 adultos").
    numbered: bool,
    /// The message speaks of who travels (see `TRAVEL`), or lists "yo" among them.
    travelling: bool,
}

impl Tally {
    fn total(&mut self, n: u32) {
        self.total = Some(self.total.map_or(n, |t| t.max(n)));
    }

    fn part(&mut self, n: u32) {
        self.parts += n;
        self.counted_any = true;
    }
}

pub fn read(t: &[String]) -> Option<Party> {
    let mut tally = Tally {
        travelling: t.iter().any(|w| TRAVEL.contains(&w.as_str())),
        ..Tally::default()
    };
    let mut i = 0;
    while i < t.len() {
        i += step(t, i, &mut tally);
    }
    decide(&tally)
}

/// Reads what starts at `i` into the tally; returns how many tokens it used. A word may speak of
/// being alone or of a group and still be read as a number or a person next.
fn step(t: &[String], i: usize, tally: &mut Tally) -> usize {
    if let Some(used) = alone_or_group(t, i, tally) {
        return used;
    }
    if let Some(n) = num(&t[i])
        && let Some(used) = numbered(t, i, n, tally)
    {
        return used;
    }
    person(t, i, tally)
}

/// "solo yo", "voy sola"; "familia de 5", "2 familias de 4"; a group with no number.
fn alone_or_group(t: &[String], i: usize, tally: &mut Tally) -> Option<usize> {
    let at = |k: usize| t.get(k).map(String::as_str);
    let next = at(i + 1);
    let prev = i.checked_sub(1).map(|p| t[p].as_str());
    match t[i].as_str() {
        "solo" | "sola" | "solito" | "solita" | "solamente"
            if prev
                .is_some_and(|p| matches!(p, "yo" | "voy" | "viajo" | "mi" | "para" | "ire"))
                || next == Some("yo") =>
        {
            tally.alone = true;
        }
        "familia" | "familias"
            if matches!(next, Some("de")) && at(i + 2).and_then(digits).is_some() =>
        {
            let each = at(i + 2).and_then(digits).unwrap_or(0);
            let families = prev.and_then(digits).unwrap_or(1);
            tally.total(families * each);
            return Some(3);
        }
        w if GROUPS.contains(&w) && prev.is_none_or(|p| digits(p).is_none()) => {
            tally.uncounted_group = true;
        }
        _ => {}
    }
    None
}

/// The number `n` at `i`: people counted by their unit ("3 adultos", "2 parejas"), or a total
/// ("somos 4"); `None` when it counts no one here.
fn numbered(t: &[String], i: usize, n: u32, tally: &mut Tally) -> Option<usize> {
    let w = t[i].as_str();
    let unit = t.get(i + 1).map_or("", String::as_str);
    let prev = i.checked_sub(1).map(|p| t[p].as_str());
    if PEOPLE.contains(&unit) {
        // "una persona" only as the party ("para una persona"), not "hablar con una persona".
        if n == 1 && unit == "personas" && matches!(prev, Some("con" | "a" | "otra" | "alguna")) {
            return Some(2);
        }
        if unit == "personas" || unit == "huespedes" {
            tally.total(n);
        } else {
            tally.part(n);
            tally.numbered = true;
            tally.adults |= ADULTS.contains(&unit);
        }
        return Some(2);
    }
    if matches!(unit, "pareja" | "parejas" | "matrimonio" | "matrimonios") {
        tally.part(2 * n);
        tally.numbered = true;
        tally.adults = true;
        return Some(2);
    }
    // "somos 4, bah 5": the second total replaces the first.
    if digits(w).is_some() && prev.is_some_and(|p| CORRECTED.contains(&p)) && tally.total.is_some()
    {
        tally.total = Some(n);
        return Some(1);
    }
    if said_total(t, i) && !not_people(t, i) && n <= 50 {
        let kids_follow = (i + 2..(i + 5).min(t.len())).any(|k| KIDS.contains(&t[k].as_str()));
        if matches!(unit, "y" | "mas" | "+") || unit == "con" && kids_follow {
            tally.part(n);
            tally.adults = true;
        } else {
            tally.total(n);
        }
        return Some(1);
    }
    None
}

/// "somos 4", "para 4", "vamos los 4": a total, unless more people follow ("somos 2 y 3
/// chicos": then it counts the first part), or it is a date, a length or a thing.
fn said_total(t: &[String], i: usize) -> bool {
    let prev = i.checked_sub(1).map(|p| t[p].as_str());
    let after_total = |p: Option<&str>| p.is_some_and(|p| TOTAL.contains(&p));
    digits(&t[i]).is_some()
        && (after_total(prev)
            || prev == Some("los")
                && i >= 2
                && (after_total(Some(&t[i - 2])) || t[i - 2].ends_with("mos")))
}

/// The number at `i` is followed by a length, a date or a thing.
fn not_people(t: &[String], i: usize) -> bool {
    let unit = t.get(i + 1).map_or("", String::as_str);
    let at = |k: usize| t.get(k).map(String::as_str);
    // "al", "a", "o" join dates only before a number: "somos 3 al final" is three.
    let joins_dates = matches!(unit, "al" | "a" | "o" | "-" | "->")
        && at(i + 2).is_some_and(|w| digits(w).is_some() || w.contains('/') || w == "el");
    NOT_PEOPLE.contains(&unit) && !matches!(unit, "al" | "a" | "o" | "-" | "->")
        || joins_dates
        || is_month(unit)
        || unit.contains('/')
        || matches!(unit, "de" | "del") && at(i + 2).is_some_and(is_month)
}

/// A person named by a word: "pareja", "yo" in a list, "conmigo", "unos amigos", or a relative
/// after a determiner.
fn person(t: &[String], i: usize, tally: &mut Tally) -> usize {
    let next = t.get(i + 1).map(String::as_str);
    let prev = i.checked_sub(1).map(|p| t[p].as_str());
    match t[i].as_str() {
        "pareja" | "matrimonio" if !prev.is_some_and(|p| DETERMINERS.contains(&p)) => {
            tally.part(2);
            tally.adults = true;
        }
        // "yo" counts in a list, not as a sentence's subject ("yo quería saber…"); a list may
        // come without its commas ("yo mi esposa y mis suegros").
        "yo" if matches!(prev, Some("y" | "+" | "," | "solo"))
            || matches!(next, None | Some("y" | "," | "+" | "con" | "mi" | "mis")) =>
        {
            tally.me = true;
            tally.travelling = true;
        }
        // "para mí y mi señora" (the accent folded away): the guest, in a list of who goes.
        "mi" if prev == Some("para") && matches!(next, None | Some("y" | "," | "+" | "con")) => {
            tally.me = true;
            tally.travelling = true;
        }
        "conmigo" => tally.me = true,
        "unos" | "unas" | "algunos" | "algunas" if next.is_some_and(|n| PEOPLE.contains(&n)) => {
            tally.uncounted_group = true;
            return 2;
        }
        w if DETERMINERS.contains(&w) => return relative(t, i, tally),
        _ => {}
    }
    1
}

/// "mi señora", "la nena", "mis viejos", "con los chicos": people named by who they are.
fn relative(t: &[String], i: usize, tally: &mut Tally) -> usize {
    let w = t[i].as_str();
    let Some(who) = t.get(i + 1).map(String::as_str) else {
        return 1;
    };
    let prev = i.checked_sub(1).map(|p| t[p].as_str());
    // "el cumple de mi viejo", "es para mis viejos": not the guest travelling with them.
    let about = matches!(prev, Some("de" | "del" | "a"));
    let for_them = prev == Some("para");
    // "mi hermana quiere ir": the sister travels, not necessarily the guest.
    let they_go = t.get(i + 2).is_some_and(|v| {
        matches!(
            v.as_str(),
            "quiere"
                | "quieren"
                | "va"
                | "van"
                | "viaja"
                | "viajan"
                | "necesita"
                | "necesitan"
                | "busca"
                | "buscan"
        )
    });
    let own = matches!(w, "mi" | "mis" | "con" | "nuestros" | "nuestras") && !for_them && !they_go;
    let plural = matches!(w, "mis" | "los" | "las" | "sus" | "nuestros" | "nuestras");
    if w == "con" && DETERMINERS.contains(&who) {
        // "con mi señora": the guest comes too, and speaks of who travels (unless they only
        // talk it over: "lo veo con mi marido"); the rest is read from "mi". "Con su marido"
        // is someone else's party.
        let consults = prev.is_some_and(|p| CONSULT.contains(&p));
        if !about && !consults && !matches!(who, "su" | "sus") {
            tally.me = true;
            tally.travelling = true;
        }
        return 1;
    }
    if about {
        return 1;
    }
    if !plural && ONE.contains(&who) {
        tally.part(1);
        tally.me |= own;
        return 2;
    }
    if plural && TWO.contains(&who) {
        tally.part(2);
        tally.me |= own;
        return 2;
    }
    if plural && KIDS.contains(&who) {
        tally.uncounted_kids = true;
        tally.me |= own;
        return 2;
    }
    if w == "con" && GROUPS.contains(&who) {
        tally.me = true;
    }
    // "mis dos hijos", "los 2 chicos": counted on the number next.
    if plural && t.get(i + 1).and_then(|n| digits(n)).is_some() {
        tally.me |= own;
    }
    1
}

fn decide(tally: &Tally) -> Option<Party> {
    let me = u32::from(tally.me && tally.counted_any && !tally.adults);
    let counted = tally.parts + me;
    if let Some(total) = tally.total {
        // A total said outright wins over parts that add up to fewer ("somos 5: mi señora, yo y
        // los chicos"); parts that add up to more make it a question.
        return Some(if counted > total {
            Party::Ask(format!("¿Son {total} o {counted} en total?"))
        } else {
            Party::Count(total)
        });
    }
    if tally.uncounted_kids {
        return Some(Party::Ask(
            "¿Cuántas personas son en total, contando a los chicos?".to_owned(),
        ));
    }
    // People named by who they are count only when the message speaks of who travels.
    if tally.counted_any && (tally.numbered || tally.travelling) {
        return Some(Party::Count(counted.max(1)));
    }
    if tally.uncounted_group {
        return Some(Party::Ask("¿Cuántas personas son en total?".to_owned()));
    }
    if tally.alone {
        return Some(Party::Count(1));
    }
    None
}
