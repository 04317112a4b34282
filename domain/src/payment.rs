//! Payments as the domain sees them: what a payment provider reported (never what a webhook
//! body claimed: the caller fetches the payment first), the cancellation policy that decides
//! refunds, and the value types the payment events carry.
//!
//! The decisions themselves live on the accommodation aggregate (see ADR 0003): whether a late
//! payment can still be honoured depends on the nights, and the nights are that stream's.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::Money;

/// A payment's state at the provider (Mercado Pago's `status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    Approved,
    Pending,
    InProcess,
    Authorized,
    InMediation,
    Rejected,
    Cancelled,
    Refunded,
    ChargedBack,
}

impl PaymentStatus {
    /// Mercado Pago's spelling; `None` for a status this version does not know.
    pub fn from_provider(status: &str) -> Option<PaymentStatus> {
        Some(match status {
            "approved" => Self::Approved,
            "pending" => Self::Pending,
            "in_process" => Self::InProcess,
            "authorized" => Self::Authorized,
            "in_mediation" => Self::InMediation,
            "rejected" => Self::Rejected,
            "cancelled" => Self::Cancelled,
            "refunded" => Self::Refunded,
            "charged_back" => Self::ChargedBack,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Approved => "approved",
            Self::Pending => "pending",
            Self::InProcess => "in_process",
            Self::Authorized => "authorized",
            Self::InMediation => "in_mediation",
            Self::Rejected => "rejected",
            Self::Cancelled => "cancelled",
            Self::Refunded => "refunded",
            Self::ChargedBack => "charged_back",
        }
    }
}

/// A payment as fetched from the provider.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentFacts {
    pub payment_id: String,
    pub status: PaymentStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_detail: Option<String>,
    pub amount: Money,
    /// e.g. `account_money`, `visa`, `rapipago`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
}

/// Why money is going back to the guest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundReason {
    /// Paid after the hold lapsed, for nights someone else has now.
    LatePayment,
    /// The reservation was cancelled; the policy decided the share.
    Cancellation,
    /// A partial payment on a hold that then expired.
    HoldExpired,
}

/// How a refund reaches the guest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundVia {
    /// Through the payment provider, automatically.
    Provider,
    /// The payment was recorded by hand (cash, transfer): the owner pays it back by hand.
    Manual,
}

/// The owner's cancellation terms: how much of what was paid is kept when a guest's confirmed
/// reservation is cancelled, by how many days before arrival.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CancellationPolicy {
    /// Everything paid is returned, whenever the cancellation comes.
    None,
    Flexible,
    #[default]
    Moderate,
    Strict,
}

/// From `days_before` arrival (inclusive) on, `penalty_percent` of what was paid is kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct PolicyBand {
    pub days_before: i64,
    pub penalty_percent: u32,
}

const fn band(days_before: i64, penalty_percent: u32) -> PolicyBand {
    PolicyBand {
        days_before,
        penalty_percent,
    }
}

impl CancellationPolicy {
    /// Bands from the earliest cancellation to the latest; the first band whose `days_before`
    /// the cancellation reaches applies. Cancelling on or after arrival day falls in the last.
    pub fn bands(self) -> &'static [PolicyBand] {
        const NONE: &[PolicyBand] = &[band(i64::MIN, 0)];
        const FLEXIBLE: &[PolicyBand] = &[band(2, 0), band(i64::MIN, 50)];
        const MODERATE: &[PolicyBand] = &[band(15, 0), band(7, 50), band(i64::MIN, 100)];
        const STRICT: &[PolicyBand] = &[band(30, 50), band(i64::MIN, 100)];
        match self {
            Self::None => NONE,
            Self::Flexible => FLEXIBLE,
            Self::Moderate => MODERATE,
            Self::Strict => STRICT,
        }
    }

    pub fn penalty_percent(self, days_before: i64) -> u32 {
        self.bands()
            .iter()
            .find(|b| days_before >= b.days_before)
            .map(|b| b.penalty_percent)
            .unwrap_or(100)
    }

    /// What goes back of `paid` when cancelling `days_before` arrival.
    pub fn refund(self, paid: Money, days_before: i64) -> Money {
        let keep = Decimal::from(self.penalty_percent(days_before));
        paid.percent(Decimal::ONE_HUNDRED - keep)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_refund_by_days_before_arrival() {
        let paid = Money::pesos(100_000);
        assert_eq!(CancellationPolicy::None.refund(paid, -3), paid);
        assert_eq!(CancellationPolicy::Flexible.refund(paid, 2), paid);
        assert_eq!(
            CancellationPolicy::Flexible.refund(paid, 1),
            Money::pesos(50_000)
        );
        assert_eq!(CancellationPolicy::Moderate.refund(paid, 15), paid);
        assert_eq!(
            CancellationPolicy::Moderate.refund(paid, 10),
            Money::pesos(50_000)
        );
        assert_eq!(CancellationPolicy::Moderate.refund(paid, 6), Money::ZERO);
        assert_eq!(
            CancellationPolicy::Strict.refund(paid, 60),
            Money::pesos(50_000)
        );
        assert_eq!(CancellationPolicy::Strict.refund(paid, 29), Money::ZERO);
    }

    #[test]
    fn provider_statuses_round_trip() {
        for s in [
            "approved",
            "pending",
            "in_process",
            "authorized",
            "in_mediation",
            "rejected",
            "cancelled",
            "refunded",
            "charged_back",
        ] {
            assert_eq!(PaymentStatus::from_provider(s).unwrap().as_str(), s);
        }
        assert_eq!(PaymentStatus::from_provider("something_new"), None);
    }
}
