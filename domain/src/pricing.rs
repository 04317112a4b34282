//! Pricing rules and the quote a hold carries.
//!
//! The quote is computed once, when the hold is placed, and stored in `HoldPlaced`: read models
//! and payments use the stored figures and never recompute them, so a later price change cannot
//! rewrite what a guest was promised.

use chrono::{Datelike, NaiveDate, Weekday};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::payment::CancellationPolicy;
use crate::{BookingError, Money, StayDates};

/// What a seasonal rate does to the nights it covers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SeasonalPrice {
    /// Replaces the base nightly price.
    Nightly { price: Money },
    /// Multiplies the base nightly price (e.g. `1.5` in January).
    Multiplier { factor: Decimal },
}

/// A date range `[from, until)` with its own price, e.g. summer high season.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeasonalRate {
    pub label: String,
    pub from: NaiveDate,
    pub until: NaiveDate,
    pub price: SeasonalPrice,
}

impl SeasonalRate {
    fn covers(&self, night: NaiveDate) -> bool {
        self.from <= night && night < self.until
    }
}

/// Everything that decides what a stay costs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pricing {
    pub nightly_base: Money,
    /// Applied to weekend nights after any seasonal price (1 means no surcharge).
    pub weekend_multiplier: Decimal,
    /// Nights that count as weekend, by the weekday the guest sleeps there.
    #[serde(default = "default_weekend_nights")]
    pub weekend_nights: Vec<Weekday>,
    pub cleaning_fee: Money,
    /// Share of the total asked as deposit to confirm, in percent.
    pub deposit_percent: Decimal,
    /// Seasons are checked in order; the first that covers a night wins.
    #[serde(default)]
    pub seasons: Vec<SeasonalRate>,
    /// What a cancellation of a paid reservation gives back.
    #[serde(default)]
    pub cancellation: CancellationPolicy,
}

/// Friday and Saturday nights: the Argentine weekend getaway.
pub fn default_weekend_nights() -> Vec<Weekday> {
    vec![Weekday::Fri, Weekday::Sat]
}

impl Pricing {
    /// A pricing with the house defaults: weekend Friday and Saturday nights, 30 % deposit.
    pub fn simple(nightly_base: Money, cleaning_fee: Money) -> Pricing {
        Pricing {
            nightly_base,
            weekend_multiplier: Decimal::ONE,
            weekend_nights: default_weekend_nights(),
            cleaning_fee,
            deposit_percent: Decimal::from(30),
            seasons: Vec::new(),
            cancellation: CancellationPolicy::default(),
        }
    }

    pub fn validate(&self) -> Result<(), BookingError> {
        let invalid = |reason: &str| Err(BookingError::InvalidPricing(reason.to_owned()));
        if self.nightly_base.is_negative() || self.nightly_base == Money::ZERO {
            return invalid("the nightly base price must be positive");
        }
        if self.cleaning_fee.is_negative() {
            return invalid("the cleaning fee cannot be negative");
        }
        if self.weekend_multiplier <= Decimal::ZERO {
            return invalid("the weekend multiplier must be positive");
        }
        if self.deposit_percent <= Decimal::ZERO || self.deposit_percent > Decimal::ONE_HUNDRED {
            return invalid("the deposit must be between 1 and 100 percent");
        }
        for season in &self.seasons {
            if season.from >= season.until {
                return invalid("a season must end after it starts");
            }
            match &season.price {
                SeasonalPrice::Nightly { price }
                    if price.is_negative() || *price == Money::ZERO =>
                {
                    return invalid("a seasonal nightly price must be positive");
                }
                SeasonalPrice::Multiplier { factor } if *factor <= Decimal::ZERO => {
                    return invalid("a seasonal multiplier must be positive");
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Prices every night of the stay and adds the cleaning fee and the deposit.
    pub fn quote(&self, stay: &StayDates) -> Quote {
        let mut nights = Vec::with_capacity(stay.nights() as usize);
        let mut seasonal_adjustment = Money::ZERO;
        let mut weekend_nights = 0;
        for night in stay.each_night() {
            let season = self.seasons.iter().find(|s| s.covers(night));
            let seasonal = match season.map(|s| &s.price) {
                None => self.nightly_base,
                Some(SeasonalPrice::Nightly { price }) => *price,
                Some(SeasonalPrice::Multiplier { factor }) => self.nightly_base.times(*factor),
            };
            let weekend = self.weekend_nights.contains(&night.weekday());
            let factor = if weekend {
                weekend_nights += 1;
                self.weekend_multiplier
            } else {
                Decimal::ONE
            };
            let price = seasonal.times(factor);
            seasonal_adjustment = seasonal_adjustment + (price - self.nightly_base.times(factor));
            nights.push(NightPrice {
                date: night,
                price,
                weekend,
                season: season.map(|s| s.label.clone()),
            });
        }
        let lodging: Money = nights.iter().map(|n| n.price).sum();
        let total = lodging + self.cleaning_fee;
        Quote {
            nights: stay.nights(),
            per_night: nights,
            weekend_nights,
            seasonal_adjustment,
            lodging,
            cleaning_fee: self.cleaning_fee,
            total,
            deposit_percent: self.deposit_percent,
            deposit: total.percent(self.deposit_percent),
        }
    }
}

/// One night's price and why it is what it is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NightPrice {
    pub date: NaiveDate,
    pub price: Money,
    pub weekend: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub season: Option<String>,
}

/// The full price of a stay, as promised to the guest when the hold was placed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quote {
    pub nights: u32,
    pub per_night: Vec<NightPrice>,
    pub weekend_nights: u32,
    /// How much the seasons added (or took off) compared with the base price.
    pub seasonal_adjustment: Money,
    /// Sum of the nights, before the cleaning fee.
    pub lodging: Money,
    pub cleaning_fee: Money,
    pub total: Money,
    pub deposit_percent: Decimal,
    pub deposit: Money,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn stay(a: &str, b: &str) -> StayDates {
        StayDates::new(d(a), d(b)).unwrap()
    }

    #[test]
    fn weekday_nights_cost_the_base_price_plus_cleaning() {
        // 2026-12-14 is a Monday: Mon, Tue, Wed nights.
        let p = Pricing::simple(Money::pesos(40_000), Money::pesos(10_000));
        let q = p.quote(&stay("2026-12-14", "2026-12-17"));
        assert_eq!(q.nights, 3);
        assert_eq!(q.weekend_nights, 0);
        assert_eq!(q.lodging, Money::pesos(120_000));
        assert_eq!(q.total, Money::pesos(130_000));
        assert_eq!(q.deposit, Money::pesos(39_000));
    }

    #[test]
    fn friday_and_saturday_nights_take_the_weekend_multiplier() {
        let mut p = Pricing::simple(Money::pesos(40_000), Money::ZERO);
        p.weekend_multiplier = Decimal::new(125, 2);
        // Thu 2026-12-10 to Sun 2026-12-13: Thu, Fri, Sat nights.
        let q = p.quote(&stay("2026-12-10", "2026-12-13"));
        assert_eq!(q.weekend_nights, 2);
        let prices: Vec<_> = q.per_night.iter().map(|n| n.price).collect();
        assert_eq!(
            prices,
            vec![
                Money::pesos(40_000),
                Money::pesos(50_000),
                Money::pesos(50_000)
            ]
        );
        assert_eq!(q.total, Money::pesos(140_000));
    }

    #[test]
    fn weekend_nights_are_configurable() {
        let mut p = Pricing::simple(Money::pesos(10_000), Money::ZERO);
        p.weekend_multiplier = Decimal::from(2);
        p.weekend_nights = vec![Weekday::Sat, Weekday::Sun];
        let q = p.quote(&stay("2026-12-11", "2026-12-14")); // Fri, Sat, Sun nights
        assert_eq!(q.weekend_nights, 2);
        assert_eq!(q.lodging, Money::pesos(50_000));
    }

    #[test]
    fn seasons_replace_or_multiply_the_base_and_report_the_adjustment() {
        let mut p = Pricing::simple(Money::pesos(40_000), Money::pesos(5_000));
        p.seasons = vec![
            SeasonalRate {
                label: "navidad".into(),
                from: d("2026-12-24"),
                until: d("2026-12-26"),
                price: SeasonalPrice::Nightly {
                    price: Money::pesos(60_000),
                },
            },
            SeasonalRate {
                label: "verano".into(),
                from: d("2026-12-20"),
                until: d("2027-03-01"),
                price: SeasonalPrice::Multiplier {
                    factor: Decimal::new(15, 1),
                },
            },
        ];
        // Mon 21, Tue 22, Wed 23 (verano ×1.5), Thu 24 (navidad: 60.000).
        let q = p.quote(&stay("2026-12-21", "2026-12-25"));
        let seasons: Vec<_> = q
            .per_night
            .iter()
            .map(|n| n.season.clone().unwrap())
            .collect();
        assert_eq!(seasons, vec!["verano", "verano", "verano", "navidad"]);
        assert_eq!(q.lodging, Money::pesos(3 * 60_000 + 60_000));
        assert_eq!(q.seasonal_adjustment, Money::pesos(3 * 20_000 + 20_000));
        assert_eq!(q.total, Money::pesos(245_000));
    }

    #[test]
    fn the_deposit_percentage_is_configurable() {
        let mut p = Pricing::simple(Money::pesos(33_333), Money::ZERO);
        p.deposit_percent = Decimal::from(50);
        let q = p.quote(&stay("2026-12-14", "2026-12-15"));
        assert_eq!(q.deposit, Money::new(Decimal::new(1666650, 2)));
    }

    #[test]
    fn invalid_pricing_is_refused_with_a_reason() {
        let mut p = Pricing::simple(Money::ZERO, Money::ZERO);
        assert!(matches!(p.validate(), Err(BookingError::InvalidPricing(_))));
        p.nightly_base = Money::pesos(1);
        p.deposit_percent = Decimal::from(120);
        assert!(p.validate().is_err());
        p.deposit_percent = Decimal::from(30);
        assert!(p.validate().is_ok());
    }
}
