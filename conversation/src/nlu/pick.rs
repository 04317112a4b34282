//! Choosing in words among the options shown: "la más barata", "la grande", "la de 6", "la
//! segunda", "esa". The dialogue resolves the choice against the list it showed.

use super::Pick;

const ORDINALS: &[(&str, usize)] = &[
    ("primera", 1),
    ("primero", 1),
    ("segunda", 2),
    ("segundo", 2),
    ("tercera", 3),
    ("tercero", 3),
    ("cuarta", 4),
    ("quinta", 5),
];

fn num(w: &str) -> Option<u32> {
    (!w.is_empty() && w.len() <= 2 && w.chars().all(|c| c.is_ascii_digit()))
        .then(|| w.parse().ok())
        .flatten()
}

pub fn read(t: &[String]) -> Option<Pick> {
    let has = |w: &str| t.iter().any(|x| x == w);
    let after = |w: &str| {
        t.iter()
            .position(|x| x == w)
            .and_then(|i| t.get(i + 1))
            .map(String::as_str)
    };
    let more = has("mas") || has("re");
    if has("barata") || has("economica") || has("baratita") || after("menos") == Some("cara") {
        return Some(Pick::Cheapest);
    }
    if more && has("cara") {
        return Some(Pick::Dearest);
    }
    if has("grande") || has("amplia") || has("espaciosa") || more && has("capacidad") {
        return Some(Pick::Largest);
    }
    if (has("chica") || has("chiquita") || has("pequena")) && !has("personas") {
        return Some(Pick::Smallest);
    }
    // "la de 6", "la para 4", "la que es para 6 personas".
    for (i, w) in t.iter().enumerate() {
        if matches!(w.as_str(), "de" | "para")
            && i >= 1
            && matches!(t[i - 1].as_str(), "la" | "una" | "esa")
            && let Some(n) = t.get(i + 1).and_then(|n| num(n))
            && !t
                .get(i + 2)
                .is_some_and(|u| matches!(u.as_str(), "noches" | "noche" | "dias" | "de" | "al"))
        {
            return Some(Pick::Sleeps(n));
        }
    }
    if let Some((_, n)) = ORDINALS.iter().find(|(w, _)| has(w)) {
        return Some(Pick::Nth(*n));
    }
    if has("ultima") || has("ultimo") {
        return Some(Pick::Last);
    }
    // "la 2", "opción 2", "la número 2".
    for (i, w) in t.iter().enumerate() {
        if matches!(w.as_str(), "opcion" | "numero" | "nro" | "la")
            && let Some(n) = t.get(i + 1).and_then(|n| num(n))
            && t.len() <= i + 3
        {
            return Some(Pick::Nth(n as usize));
        }
    }
    if has("esa")
        || has("reservala")
        || has("reservamela")
        || has("quiero") && has("esa")
        || t.windows(2).any(|w| w[0] == "la" && w[1] == "quiero")
    {
        return Some(Pick::That);
    }
    None
}
