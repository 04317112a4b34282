//! Money in Argentine pesos, on `Decimal` so that no amount is ever a float.

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, Sub};

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

/// An amount of ARS, kept to two decimal places (centavos).
///
/// Serialized as a string so that JSON round-trips never pass through a float, always with its
/// two decimals (`"45000.00"`, `"0.00"`, `"45000.50"`): the same amount reads the same wherever
/// it comes from (a quote just computed, a read model's centavos). Any decimal string or number
/// is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Default)]
#[serde(transparent)]
pub struct Money(Decimal);

impl Serialize for Money {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&format_args!("{:.2}", self.0))
    }
}

impl Money {
    pub const ZERO: Money = Money(Decimal::ZERO);

    /// Rounds to centavos, half away from zero, as a cashier would.
    pub fn new(amount: Decimal) -> Self {
        Money(amount.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero))
    }

    /// Whole pesos; convenient for configuration and tests.
    pub fn pesos(amount: i64) -> Self {
        Money::new(Decimal::from(amount))
    }

    pub fn amount(self) -> Decimal {
        self.0
    }

    pub fn is_negative(self) -> bool {
        self.0.is_sign_negative() && !self.0.is_zero()
    }

    /// `self × factor`, rounded to centavos.
    pub fn times(self, factor: Decimal) -> Money {
        Money::new(self.0 * factor)
    }

    /// `percent`% of `self`, rounded to centavos.
    pub fn percent(self, percent: Decimal) -> Money {
        Money::new(self.0 * percent / Decimal::ONE_HUNDRED)
    }
}

impl Add for Money {
    type Output = Money;
    fn add(self, rhs: Money) -> Money {
        Money::new(self.0 + rhs.0)
    }
}

impl Sub for Money {
    type Output = Money;
    fn sub(self, rhs: Money) -> Money {
        Money::new(self.0 - rhs.0)
    }
}

impl Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        iter.fold(Money::ZERO, Add::add)
    }
}

impl fmt::Display for Money {
    /// Argentine style: `$ 45.000` (thousands with dots, centavos only when present: `$ 1.234,50`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let negative = self.is_negative();
        let abs = self.0.abs();
        let whole = abs.trunc();
        let cents = ((abs - whole) * Decimal::ONE_HUNDRED).trunc();
        let digits = whole.to_string();
        let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
        for (i, ch) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                grouped.push('.');
            }
            grouped.push(ch);
        }
        let sign = if negative { "-" } else { "" };
        if cents.is_zero() {
            write!(f, "{sign}$ {grouped}")
        } else {
            write!(f, "{sign}$ {grouped},{cents:0>2}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn formats_like_an_argentine_price_tag() {
        assert_eq!(Money::pesos(45_000).to_string(), "$ 45.000");
        assert_eq!(Money::pesos(1_234_567).to_string(), "$ 1.234.567");
        assert_eq!(Money::pesos(999).to_string(), "$ 999");
        assert_eq!(
            Money::new(Decimal::new(123450, 2)).to_string(),
            "$ 1.234,50"
        );
        assert_eq!(Money::new(Decimal::new(5, 2)).to_string(), "$ 0,05");
    }

    #[test]
    fn rounds_to_centavos_half_away_from_zero() {
        assert_eq!(
            Money::new(Decimal::new(10005, 3)).amount(),
            Decimal::new(1001, 2)
        );
        assert_eq!(
            Money::pesos(100).percent(Decimal::new(333, 1)).amount(),
            Decimal::new(3330, 2)
        );
    }

    #[test]
    fn serializes_as_a_string_never_a_float() {
        let json = serde_json::to_string(&Money::new(Decimal::new(4500050, 2))).unwrap();
        assert_eq!(json, "\"45000.50\"");
    }

    #[test]
    fn every_amount_is_written_with_its_two_decimals_however_it_was_computed() {
        for (money, text) in [
            (Money::pesos(41_400), "41400.00"),
            (Money::new(Decimal::new(4140000, 2)), "41400.00"),
            (Money::new(Decimal::new(450_005, 1)), "45000.50"),
            (Money::ZERO, "0.00"),
            (Money::pesos(-1_500), "-1500.00"),
        ] {
            assert_eq!(serde_json::to_value(money).unwrap(), text);
            let back: Money = serde_json::from_value(text.into()).unwrap();
            assert_eq!(back, money);
        }
        // Amounts written before (or by people) without the decimals still read.
        let old: Money = serde_json::from_str("\"41400\"").unwrap();
        assert_eq!(old, Money::pesos(41_400));
    }

    proptest! {
        #[test]
        fn json_round_trip_is_exact(cents in -1_000_000_000i64..1_000_000_000) {
            let m = Money::new(Decimal::new(cents, 2));
            let back: Money = serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
            prop_assert_eq!(back, m);
        }

        #[test]
        fn addition_then_subtraction_returns_the_start(a in 0i64..1_000_000_000, b in 0i64..1_000_000_000) {
            let (a, b) = (Money::new(Decimal::new(a, 2)), Money::new(Decimal::new(b, 2)));
            prop_assert_eq!(a + b - b, a);
        }
    }
}
