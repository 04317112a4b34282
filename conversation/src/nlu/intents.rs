//! Intents: what the guest wants done, and questions about the house by topic.
//!
//! Checked in an order that settles overlaps: a person asked for first, then cancelling, then
//! "already paid" before "pay", a question about the house before a payment or a search it
//! might sound like ("¿aceptan tarjeta?", "¿tienen wifi?").

use domain::house::Topic;

use super::Intent;

fn has(t: &[String], w: &str) -> bool {
    t.iter().any(|x| x == w)
}

fn has_seq(t: &[String], seq: &[&str]) -> bool {
    t.windows(seq.len())
        .any(|w| w.iter().zip(seq).all(|(a, b)| a == b))
}

/// The house topics a guest asks about, in the order of the owner's answers.
fn topics(t: &[String]) -> Vec<Topic> {
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
                || (has(t, "aceptan") && starts("transfer"))
                // "¿se puede pagar con transferencia?": how, not a payment to make.
                || ["pagar", "pago", "abonar", "pagarte", "pagarles"]
                    .iter()
                    .any(|w| has_seq(t, &[w, "con"]) || has_seq(t, &[w, "en"]))
                    && !has(t, "ya"),
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
            // A baby in the party is not a question; a cot, or whether babies may come, is.
            Topic::Babies,
            any(&["cuna", "cunita", "practicuna", "catre"])
                || any(&["bebe", "bebes", "bebito", "bebita"])
                    && any(&["aceptan", "puede", "pueden", "problema", "admiten"]),
        ),
        (
            Topic::Parking,
            starts("estaciona")
                || any(&["cochera", "garage", "garaje"])
                || any(&["auto", "autos", "coche", "camioneta"])
                    && any(&["dejar", "guardar", "lugar", "donde"]),
        ),
        (
            Topic::Heating,
            starts("calef")
                || starts("estufa")
                || any(&["lena", "salamandra", "hogar", "aire", "split", "ventilador"]),
        ),
    ];
    asked
        .into_iter()
        .filter_map(|(topic, said)| said.then_some(topic))
        .collect()
}

/// Every intent the tokens show, in the order that settles overlaps (see the module doc).
pub fn intents(t: &[String]) -> Vec<Intent> {
    let mut out = Vec::new();
    let mut push = |i: Intent| {
        if !out.contains(&i) {
            out.push(i);
        }
    };
    if wants_a_person(t) {
        push(Intent::Human);
    }
    if starts(t, "cancel") || starts(t, "anular") {
        push(Intent::Cancel);
    }
    let mine = names_own_reservations(t);
    if mine {
        push(Intent::MyReservations);
    }
    // Before payment: "ya pagué la seña" also names paying, and means it is done.
    if says_paid(t) {
        if starts(t, "transfer") || starts(t, "comprobante") {
            push(Intent::Transferred);
        }
        push(Intent::Paid);
    }
    // Before paying and searching: "¿aceptan tarjeta?" and "¿tienen wifi?" are questions about
    // the house, not a payment or a search.
    for topic in topics(t) {
        push(Intent::Ask(topic));
    }
    if asks_to_pay(t) {
        push(Intent::Pay);
    }
    if starts(t, "reserv") && !mine || wants_another(t) {
        push(Intent::Book);
    }
    if asks_price(t) {
        push(Intent::Prices);
    }
    if asks_where(t) {
        push(Intent::Location);
    }
    if asks_for_room(t) {
        push(Intent::Availability);
    }
    if asks_for_help(t) {
        push(Intent::Help);
    }
    if greets(t) {
        push(Intent::Greeting);
    }
    // Last: "si" is also "if" ("si hay lugar para cuatro…").
    if says_yes(t) {
        push(Intent::Yes);
    }
    if starts(t, "graci") {
        push(Intent::Thanks);
    }
    out
}

fn starts(t: &[String], p: &str) -> bool {
    t.iter().any(|w| w.starts_with(p))
}

fn wants_a_person(t: &[String]) -> bool {
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
    .any(|p| starts(t, p));
    let booked = starts(t, "reserva") || starts(t, "estadia");
    starts(t, "humano")
        || has(t, "carne_y_hueso")
        || has(t, "operador")
        || has(t, "asesor")
        || (has(t, "alguien")
            && ["pasas", "pasar", "pasame", "hablar", "comunicar", "atender"]
                .iter()
                .any(|w| has(t, w)))
        || (change && booked)
        || has_seq(t, &["hablar", "con"])
        || has(t, "dueno")
        || has(t, "encargado")
        || has_seq(t, &["personas", "real"])
}

fn names_own_reservations(t: &[String]) -> bool {
    has_seq(t, &["mis", "reservas"])
        || has_seq(t, &["mi", "reserva"])
        || has_seq(t, &["reservas", "tengo"])
        || has_seq(t, &["tengo", "reservas"])
        || has_seq(t, &["a", "mi", "nombre"])
}

fn says_paid(t: &[String]) -> bool {
    let done_paying = ["pag", "transfer", "abon", "deposit"];
    t.windows(2)
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
        || starts(t, "comprobante")
        || (["hice", "mande", "envie", "realice"]
            .iter()
            .any(|w| has(t, w))
            && (starts(t, "transfer") || starts(t, "pago")))
}

/// "cuánto debo", "el saldo", "cuánto me falta": what is left to pay is asked as payment.
fn asks_to_pay(t: &[String]) -> bool {
    starts(t, "pag")
        || has(t, "link")
        || has(t, "sena")
        || starts(t, "transfer")
        || has(t, "saldo")
        || has(t, "debo")
        || has_seq(t, &["cuanto", "falta"])
        || has_seq(t, &["cuanto", "me", "falta"])
}

/// Another booking besides the ones they have ("quiero otra", "hacer una nueva").
fn wants_another(t: &[String]) -> bool {
    has_seq(t, &["quiero", "otra"])
        || has_seq(t, &["sumar", "una"])
        || has_seq(t, &["una", "nueva"])
        || has_seq(t, &["hacer", "una"])
}

fn asks_price(t: &[String]) -> bool {
    starts(t, "precio")
        || starts(t, "tarifa")
        || has_seq(t, &["cuanto", "sale"])
        || has_seq(t, &["cuanto", "cuesta"])
        || has_seq(t, &["cuanto", "es"])
        || has_seq(t, &["cuanto", "me", "sale"])
        || has_seq(t, &["cuanto", "saldria"])
        || has_seq(t, &["cuanto", "seria"])
        || has_seq(t, &["cuanto", "cobran"])
        || has_seq(t, &["cuanto", "me", "saldria"])
        || has_seq(t, &["cuanto", "vale"])
        || has_seq(t, &["que", "valor"])
        || has(t, "costo")
        || has(t, "incluye")
        || has(t, "incluido")
}

fn asks_where(t: &[String]) -> bool {
    has(t, "donde")
        || starts(t, "ubicac")
        || starts(t, "direcc")
        || has_seq(t, &["como", "llego"])
        || has(t, "checkin")
        || has(t, "checkout")
}

fn asks_for_room(t: &[String]) -> bool {
    has(t, "lugar")
        || starts(t, "disponib")
        || has(t, "libre")
        || has(t, "hay")
        || [
            "tienen", "tenes", "tendras", "tendrian", "tendrias", "habria", "habra",
        ]
        .iter()
        .any(|w| has(t, w))
}

fn asks_for_help(t: &[String]) -> bool {
    has(t, "ayuda")
        || has(t, "menu")
        || has(t, "opciones")
        || has_seq(t, &["no", "entiendo"])
        || has_seq(t, &["como", "funciona"])
}

fn greets(t: &[String]) -> bool {
    has(t, "hola")
        || has(t, "buenas")
        || has_seq(t, &["buen", "dia"])
        || has_seq(t, &["buenos", "dias"])
        || has(t, "holis")
        || has(t, "que_tal")
        || t.iter()
            .any(|w| w.starts_with("hola") && w.trim_start_matches("hol").chars().all(|c| c == 'a'))
        || has(t, "feliz_navidad")
}

/// A yes, only in a short answer: "si" is also "if" ("si hay lugar para cuatro…").
fn says_yes(t: &[String]) -> bool {
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
    // A yes that opens a longer message counts too ("dale, reservame del 19 al 21"), but not
    // "si", "bueno" or "claro", which open questions and fillers as often.
    let opens_yes = t.first().is_some_and(|w| {
        YES.contains(&w.as_str()) && !matches!(w.as_str(), "si" | "bueno" | "claro")
            || w == "si" && t.get(1).is_some_and(|n| YES.contains(&n.as_str()))
    });
    t.len() <= 4 && t.iter().any(|w| YES.contains(&w.as_str())) || opens_yes
}
