//! Identifiers, parsed once at the edge.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// Time-ordered (UUIDv7): read models keyed by these ids grow at one end of their
            /// indexes instead of touching a random page for every insert, which is what keeps a
            /// replay of a long history fast. (Guest ids stay fully random: see `GuestId`.)
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
            pub fn from_uuid(id: Uuid) -> Self {
                Self(id)
            }
            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

uuid_id!(
    /// One cabin (or room) that can be booked; its stream is `accommodation-{id}`.
    AccommodationId
);
uuid_id!(
    /// A reservation from its hold onwards.
    ReservationId
);
uuid_id!(
    /// A block of nights (by the admin or from an external calendar).
    BlockId
);

impl AccommodationId {
    /// The event stream that is the consistency boundary for this accommodation's nights.
    pub fn stream_id(&self) -> String {
        format!("accommodation-{}", self.0)
    }
}

/// Letters and digits that survive being read aloud or typed on a phone: no 0/O, 1/I/L.
const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
const CODE_LEN: usize = 7;

/// The short code a guest quotes ("tu reserva K7M3QXP").
///
/// Random, never derived from dates or counters, so that one code tells nothing about another.
/// Seven symbols from 31 give ~2.7·10¹⁰ codes: guessing one is hopeless at any rate limit.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ReservationCode(String);

impl ReservationCode {
    /// Builds a code from caller-supplied randomness (the domain owns no random source).
    pub fn from_entropy(mut entropy: u64) -> Self {
        let base = CODE_ALPHABET.len() as u64;
        let mut code = String::with_capacity(CODE_LEN);
        for _ in 0..CODE_LEN {
            code.push(char::from(CODE_ALPHABET[(entropy % base) as usize]));
            entropy /= base;
        }
        ReservationCode(code)
    }

    /// Accepts what a guest types: case and surrounding spaces do not matter.
    pub fn parse(raw: &str) -> Result<Self, InvalidCode> {
        let code = raw.trim().to_ascii_uppercase();
        if code.len() == CODE_LEN && code.bytes().all(|b| CODE_ALPHABET.contains(&b)) {
            Ok(ReservationCode(code))
        } else {
            Err(InvalidCode)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("a reservation code is 7 letters and digits")]
pub struct InvalidCode;

impl TryFrom<String> for ReservationCode {
    type Error = InvalidCode;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        ReservationCode::parse(&s)
    }
}

impl From<ReservationCode> for String {
    fn from(c: ReservationCode) -> String {
        c.0
    }
}

impl fmt::Display for ReservationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn codes_avoid_ambiguous_symbols() {
        let code = ReservationCode::from_entropy(u64::MAX);
        assert_eq!(code.as_str().len(), 7);
        assert!(!code.as_str().contains(['0', 'O', '1', 'I', 'L']));
    }

    #[test]
    fn a_typed_code_is_accepted_in_any_case() {
        let code = ReservationCode::from_entropy(123_456_789);
        let typed = format!("  {} ", code.as_str().to_lowercase());
        assert_eq!(ReservationCode::parse(&typed), Ok(code));
        assert_eq!(ReservationCode::parse("K0M3QXP"), Err(InvalidCode));
        assert_eq!(ReservationCode::parse("ABC"), Err(InvalidCode));
    }

    proptest! {
        #[test]
        fn every_generated_code_parses_back(e in any::<u64>()) {
            let code = ReservationCode::from_entropy(e);
            prop_assert_eq!(ReservationCode::parse(code.as_str()), Ok(code));
        }
    }
}
