//! Arriving and leaving, in words: what a confirmed guest needs to arrive (told with the
//! confirmation and again the day before), and the owner's agenda of who arrives (with the
//! balance to collect) and who leaves.

use chrono::NaiveDate;
use domain::Money;
use domain::accommodation::AccommodationInfo;

use crate::dialogue::day_label;

/// What a confirmed guest needs to arrive: the house times, the balance left to pay (the rest
/// of the total after the deposit) and, when the owner wrote them, the directions (which are
/// told to nobody before a stay is confirmed).
pub fn arrival(house: &AccommodationInfo, due: Money) -> String {
    let mut text = format!(
        "Entrada desde las {}, salida hasta las {}.",
        house.check_in_time.format("%H:%M"),
        house.check_out_time.format("%H:%M")
    );
    if due > Money::ZERO {
        text.push_str(&format!("\nSaldo a pagar al llegar: {due}."));
    }
    if let Some(directions) = &house.directions {
        text.push_str(&format!("\n📍 Cómo llegar: {directions}"));
    }
    text
}

/// The message the day before a confirmed guest arrives at `house` (reservation `code`, with
/// `due` left to pay).
pub fn tomorrow(house: &AccommodationInfo, code: &str, due: Money) -> String {
    format!(
        "¡Mañana te esperamos en {}! (reserva {code})\n{}\nCualquier cosa, escribime por acá.",
        house.name,
        arrival(house, due)
    )
}

/// A confirmed arrival: its day, cabin, code, guest's name, party and balance to collect.
pub struct Arrival {
    pub check_in: NaiveDate,
    pub cabin: String,
    pub code: String,
    pub guest: Option<String>,
    pub guests: i64,
    pub due: Money,
}

impl Arrival {
    /// "Cabaña del Lago: Ana Pérez (2 personas), reserva K7M2QXP, saldo a cobrar $ 68.600".
    pub fn line(&self) -> String {
        let balance = if self.due > Money::ZERO {
            format!("saldo a cobrar {}", self.due)
        } else {
            "pagada".to_owned()
        };
        format!(
            "{}: {} ({} personas), reserva {}, {balance}",
            self.cabin,
            self.guest.as_deref().unwrap_or("huésped"),
            self.guests,
            self.code
        )
    }
}

/// A confirmed stay ending: its code, cabin and guest's name.
pub struct Departure {
    pub code: String,
    pub cabin: String,
    pub guest: Option<String>,
}

/// Who arrives on `day` (with the balance to collect) and who leaves, headed "📋 {heading},
/// {day}:"; `None` when nobody comes or goes.
pub fn agenda(
    heading: &str,
    day: NaiveDate,
    arriving: &[Arrival],
    leaving: &[Departure],
) -> Option<String> {
    if arriving.is_empty() && leaving.is_empty() {
        return None;
    }
    let mut text = format!("📋 {heading}, {}:", day_label(day));
    if !arriving.is_empty() {
        text.push_str("\nLlegan:");
        for a in arriving {
            text.push_str(&format!("\n• {}", a.line()));
        }
    }
    if !leaving.is_empty() {
        text.push_str("\nSe van:");
        for d in leaving {
            let who = d.guest.as_deref().unwrap_or("huésped");
            text.push_str(&format!("\n• {}: {who} (reserva {})", d.cabin, d.code));
        }
    }
    if arriving.iter().any(|a| a.due > Money::ZERO) {
        // The owner records what they collect from where they read this.
        text.push_str(
            "\nCuando cobres un saldo, escribime «cobrado CÓDIGO» (o «cobrado CÓDIGO 20.000» si \
             fue otro monto).",
        );
    }
    Some(text)
}

/// The morning agenda as the owner gets it: with where they learn what else they can do from
/// here.
pub fn morning_agenda(agenda: &str) -> String {
    format!("{agenda}\n(«comandos»: todo lo que podés escribirme)")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notices::fixtures;

    fn arriving(guest: Option<&str>, due: i64) -> Arrival {
        Arrival {
            check_in: fixtures::day(11),
            cabin: "Cabaña del Lago".into(),
            code: "K7M2QXP".into(),
            guest: guest.map(str::to_owned),
            guests: 2,
            due: Money::pesos(due),
        }
    }

    #[test]
    fn arrival_tells_the_house_times_the_balance_and_the_way_there() {
        let mut house = fixtures::house();
        assert_eq!(
            arrival(&house, Money::ZERO),
            "Entrada desde las 14:00, salida hasta las 10:00."
        );
        house.directions = Some("ruta 40, km 2".into());
        assert_eq!(
            arrival(&house, Money::pesos(63_000)),
            "Entrada desde las 14:00, salida hasta las 10:00.\nSaldo a pagar al llegar: \
             $ 63.000.\n📍 Cómo llegar: ruta 40, km 2"
        );
    }

    #[test]
    fn the_day_before_the_guest_hears_where_and_when_to_arrive() {
        assert_eq!(
            tomorrow(&fixtures::house(), "K7M2QXP", Money::pesos(63_000)),
            "¡Mañana te esperamos en Cabaña del Lago! (reserva K7M2QXP)\nEntrada desde las \
             14:00, salida hasta las 10:00.\nSaldo a pagar al llegar: $ 63.000.\nCualquier \
             cosa, escribime por acá."
        );
    }

    #[test]
    fn an_arrival_line_says_the_balance_to_collect_or_that_it_is_paid() {
        assert_eq!(
            arriving(Some("Ana Pérez"), 68_600).line(),
            "Cabaña del Lago: Ana Pérez (2 personas), reserva K7M2QXP, saldo a cobrar $ 68.600"
        );
        assert_eq!(
            arriving(None, 0).line(),
            "Cabaña del Lago: huésped (2 personas), reserva K7M2QXP, pagada"
        );
    }

    #[test]
    fn the_agenda_lists_who_comes_and_who_goes_and_how_to_record_a_balance() {
        let leaving = [Departure {
            code: "QWERTYU".into(),
            cabin: "Cabaña del Río".into(),
            guest: None,
        }];
        assert_eq!(
            agenda(
                "Hoy",
                fixtures::day(11),
                &[arriving(Some("Ana"), 1_000)],
                &leaving
            )
            .unwrap(),
            "📋 Hoy, lun 11/01:\nLlegan:\n• Cabaña del Lago: Ana (2 personas), reserva K7M2QXP, \
             saldo a cobrar $ 1.000\nSe van:\n• Cabaña del Río: huésped (reserva QWERTYU)\n\
             Cuando cobres un saldo, escribime «cobrado CÓDIGO» (o «cobrado CÓDIGO 20.000» si \
             fue otro monto)."
        );
        // Nothing to collect: no word about recording it.
        assert_eq!(
            agenda("Mañana", fixtures::day(11), &[], &leaving).unwrap(),
            "📋 Mañana, lun 11/01:\nSe van:\n• Cabaña del Río: huésped (reserva QWERTYU)"
        );
        assert_eq!(agenda("Hoy", fixtures::day(11), &[], &[]), None);
    }

    #[test]
    fn the_morning_agenda_ends_with_where_to_learn_the_commands() {
        assert_eq!(
            morning_agenda("📋 Hoy, lun 11/01:"),
            "📋 Hoy, lun 11/01:\n(«comandos»: todo lo que podés escribirme)"
        );
    }
}
