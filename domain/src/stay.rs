//! Stay dates: the half-open range of nights `[check_in, check_out)`.

use chrono::{Days, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::BookingError;

/// A stay of at least one night. The check-out day is not occupied, so it can be the next
/// guest's check-in day.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawStay")]
pub struct StayDates {
    check_in: NaiveDate,
    check_out: NaiveDate,
}

#[derive(Deserialize)]
struct RawStay {
    check_in: NaiveDate,
    check_out: NaiveDate,
}

impl TryFrom<RawStay> for StayDates {
    type Error = BookingError;
    fn try_from(raw: RawStay) -> Result<Self, Self::Error> {
        StayDates::new(raw.check_in, raw.check_out)
    }
}

impl StayDates {
    pub fn new(check_in: NaiveDate, check_out: NaiveDate) -> Result<Self, BookingError> {
        if check_in >= check_out {
            return Err(BookingError::CheckOutNotAfterCheckIn {
                check_in,
                check_out,
            });
        }
        Ok(StayDates {
            check_in,
            check_out,
        })
    }

    pub fn check_in(&self) -> NaiveDate {
        self.check_in
    }

    pub fn check_out(&self) -> NaiveDate {
        self.check_out
    }

    pub fn nights(&self) -> u32 {
        // Bounded by the dates' range, far below u32::MAX.
        u32::try_from((self.check_out - self.check_in).num_days()).unwrap_or(u32::MAX)
    }

    /// Each occupied night, named by the date the guest sleeps there.
    pub fn each_night(&self) -> impl Iterator<Item = NaiveDate> + '_ {
        self.check_in
            .iter_days()
            .take_while(move |d| *d < self.check_out)
    }

    /// Half-open overlap: `[a, b)` and `[b, c)` do not overlap.
    pub fn overlaps(&self, other: &StayDates) -> bool {
        self.check_in < other.check_out && other.check_in < self.check_out
    }

    /// The stay moved by `days`, used by tests and by iCal windows that roll forward.
    pub fn shifted(&self, days: u64) -> Option<StayDates> {
        Some(StayDates {
            check_in: self.check_in.checked_add_days(Days::new(days))?,
            check_out: self.check_out.checked_add_days(Days::new(days))?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn check_out_must_follow_check_in() {
        assert!(matches!(
            StayDates::new(d("2026-12-12"), d("2026-12-12")),
            Err(BookingError::CheckOutNotAfterCheckIn { .. })
        ));
        assert!(StayDates::new(d("2026-12-14"), d("2026-12-12")).is_err());
    }

    #[test]
    fn a_check_out_day_can_be_the_next_check_in() {
        let a = StayDates::new(d("2026-12-12"), d("2026-12-14")).unwrap();
        let b = StayDates::new(d("2026-12-14"), d("2026-12-16")).unwrap();
        assert!(!a.overlaps(&b));
        assert!(!b.overlaps(&a));
        let c = StayDates::new(d("2026-12-13"), d("2026-12-15")).unwrap();
        assert!(a.overlaps(&c) && c.overlaps(&b));
    }

    #[test]
    fn counts_and_lists_nights() {
        let s = StayDates::new(d("2026-12-30"), d("2027-01-02")).unwrap();
        assert_eq!(s.nights(), 3);
        let nights: Vec<_> = s.each_night().collect();
        assert_eq!(
            nights,
            vec![d("2026-12-30"), d("2026-12-31"), d("2027-01-01")]
        );
    }

    #[test]
    fn deserializing_refuses_an_empty_stay() {
        let err = serde_json::from_str::<StayDates>(
            r#"{"check_in":"2026-12-12","check_out":"2026-12-10"}"#,
        );
        assert!(err.is_err());
    }

    proptest! {
        #[test]
        fn overlap_is_symmetric_and_matches_shared_nights(a in 0u64..60, la in 1u64..10, b in 0u64..60, lb in 1u64..10) {
            let base = d("2026-01-01");
            let s1 = StayDates::new(base + Days::new(a), base + Days::new(a + la)).unwrap();
            let s2 = StayDates::new(base + Days::new(b), base + Days::new(b + lb)).unwrap();
            let shared = s1.each_night().any(|n| s2.each_night().any(|m| m == n));
            prop_assert_eq!(s1.overlaps(&s2), shared);
            prop_assert_eq!(s1.overlaps(&s2), s2.overlaps(&s1));
        }
    }
}
