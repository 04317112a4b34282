//! The owner's and admins' API (bearer token, `admin` role): imported calendars, payments and
//! alerts, guests' personal data, WhatsApp conversations, the cabins and the reservations.

pub mod accommodations;
pub mod calendars;
pub mod conversations;
pub mod guests;
pub mod payments;
pub mod reservations;
