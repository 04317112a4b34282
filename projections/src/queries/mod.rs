//! What the rest of the service reads from the live read models: typed functions, one module
//! per read model, so that no other crate writes SQL against an `rm_*` table (ADR 0002: the
//! projection owns its tables). Everything is re-exported here, as `projections::queries::…`.
//!
//! # Layout
//! - `accommodations`: the public list, what is free and bookable, a cabin's clock.
//! - `stays`: night-by-night calendars, the stays a channel's export lists, holds due.
//! - `reservations`: one reservation, the admin's search, timelines, a guest's name.
//! - `upcoming`: confirmed arrivals and departures by day, unpaid holds near their end.
//! - `payments`: a reservation's payments and refunds, the alerts.
//! - `channels`: exported calendars' versions, conflicts with imported ones.
//! - `stats`: occupancy, revenue and holds by month; sold and imported stays for the panel.

mod accommodations;
mod channels;
mod payments;
mod reservations;
mod stats;
mod stays;
mod upcoming;

pub use accommodations::{
    AccommodationView, CabinCalendar, accommodation, accommodation_names, accommodation_registered,
    accommodations, bookable, cabin_calendar, free_accommodations, owner_utc_offset, utc_offset_of,
};
pub use channels::{CalendarVersion, ConflictView, calendar_version, open_conflicts};
pub use payments::{AlertView, PaymentView, RefundView, alerts, payments_of, refunds_of};
pub use reservations::{
    GuestView, ReservationFilter, ReservationView, TimelineEntry, fold, guest_name_and_phone,
    reservation_by_code, reservation_by_id, search_reservations, timeline,
};
pub use stats::{
    HoldsRow, ImportedStay, OccupancyRow, RevenueRow, SoldStay, StatsView, imported_stays,
    sold_stays, stats,
};
pub use stays::{
    DueHold, ExportedStay, NightView, StayView, calendar, holds_due, oldest_overdue_hold,
    stays_to_export,
};
pub use upcoming::{
    ArrivalView, CheckIn, DepartureView, UnpaidHold, confirmed_arrivals, confirmed_check_ins,
    confirmed_departures, unpaid_holds,
};

pub use crate::availability::StayStatus;
pub use crate::reservations::ReservationStatus;
