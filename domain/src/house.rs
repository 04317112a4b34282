//! What guests ask about a cabin besides its nights and prices ("¿aceptan mascotas?", "¿tiene
//! wifi?"), and the owner's answers to it. The topics are a fixed set so that the conversation
//! can recognise each from the many ways guests ask, and the owner writes the answers.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::BookingError;

/// A question guests ask of a cabin, named (in JSON) as an Argentine owner would.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Topic {
    #[serde(rename = "mascotas")]
    Pets,
    #[serde(rename = "wifi")]
    Wifi,
    /// How a stay can be paid (card, cash, instalments).
    #[serde(rename = "pagos")]
    Payment,
    #[serde(rename = "pileta")]
    Pool,
    #[serde(rename = "parrilla")]
    Grill,
    /// Sheets and towels.
    #[serde(rename = "ropa_de_cama")]
    Linen,
    /// A cot, a high chair.
    #[serde(rename = "bebes")]
    Babies,
    #[serde(rename = "estacionamiento")]
    Parking,
    /// Heating, a wood stove, air conditioning.
    #[serde(rename = "calefaccion")]
    Heating,
}

impl Topic {
    pub const ALL: [Topic; 9] = [
        Topic::Pets,
        Topic::Wifi,
        Topic::Payment,
        Topic::Pool,
        Topic::Grill,
        Topic::Linen,
        Topic::Babies,
        Topic::Parking,
        Topic::Heating,
    ];

    /// Its name in JSON, as the owner writes it.
    pub fn key(self) -> &'static str {
        match self {
            Topic::Pets => "mascotas",
            Topic::Wifi => "wifi",
            Topic::Payment => "pagos",
            Topic::Pool => "pileta",
            Topic::Grill => "parrilla",
            Topic::Linen => "ropa_de_cama",
            Topic::Babies => "bebes",
            Topic::Parking => "estacionamiento",
            Topic::Heating => "calefaccion",
        }
    }
}

/// The owner's answer to each topic they answered.
pub type Answers = BTreeMap<Topic, String>;

/// Longest answer kept: a few lines, as a WhatsApp message.
pub const MAX_ANSWER: usize = 500;

/// `current` with `changes` laid over it: a blank answer removes its topic, others are kept
/// trimmed.
pub fn merged(current: &Answers, changes: &Answers) -> Result<Answers, BookingError> {
    let mut out = current.clone();
    for (topic, answer) in changes {
        let answer = answer.trim();
        if answer.is_empty() {
            out.remove(topic);
        } else if answer.chars().count() > MAX_ANSWER {
            return Err(BookingError::InvalidAccommodation(format!(
                "the answer about {} must have at most {MAX_ANSWER} characters",
                topic.key()
            )));
        } else {
            out.insert(*topic, answer.to_owned());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_laid_over_and_a_blank_one_removes_its_topic() {
        let current = Answers::from([
            (Topic::Pets, "No, perdón.".to_owned()),
            (Topic::Wifi, "Sí, 50 MB.".to_owned()),
        ]);
        let changes = Answers::from([
            (Topic::Pets, "  Sí, chicas.  ".to_owned()),
            (Topic::Wifi, " ".to_owned()),
            (Topic::Grill, "Sí, con leña.".to_owned()),
        ]);
        assert_eq!(
            merged(&current, &changes),
            Ok(Answers::from([
                (Topic::Pets, "Sí, chicas.".to_owned()),
                (Topic::Grill, "Sí, con leña.".to_owned()),
            ]))
        );
        let long = Answers::from([(Topic::Pool, "a".repeat(MAX_ANSWER + 1))]);
        assert!(matches!(
            merged(&current, &long),
            Err(BookingError::InvalidAccommodation(why)) if why.contains("pileta")
        ));
    }

    #[test]
    fn topics_are_named_in_json_as_the_owner_writes_them() {
        for topic in Topic::ALL {
            assert_eq!(
                serde_json::to_value(topic).unwrap(),
                serde_json::json!(topic.key())
            );
        }
        assert!(serde_json::from_str::<Topic>("\"jacuzzi\"").is_err());
    }
}
