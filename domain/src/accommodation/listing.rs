//! The cabin itself: registering it, and changing its prices or its details.

use chrono::{DateTime, Utc};

use crate::BookingError;
use crate::house::Answers;

use super::validate::{accommodation_name, capacity, directions, min_nights};
use super::{
    ARGENTINA_UTC_OFFSET_MINUTES, Accommodation, AccommodationDetailsChanged, AccommodationEvent,
    AccommodationInfo, AccommodationRegistered, ChangeDetails, ChangePricing, PricingChanged,
    RegisterAccommodation,
};

impl Accommodation {
    pub(super) fn decide_register(
        &self,
        cmd: &RegisterAccommodation,
        now: DateTime<Utc>,
    ) -> Result<Vec<AccommodationEvent>, BookingError> {
        if self.info.is_some() {
            return Err(BookingError::AlreadyRegistered);
        }
        let name = accommodation_name(&cmd.name)?;
        capacity(cmd.capacity)?;
        min_nights(cmd.min_nights)?;
        cmd.pricing.validate()?;
        let directions = directions(cmd.directions.as_deref())?;
        Ok(vec![AccommodationEvent::Registered(
            AccommodationRegistered {
                accommodation_id: cmd.accommodation_id,
                name: name.to_owned(),
                capacity: cmd.capacity,
                pricing: cmd.pricing.clone(),
                min_nights: cmd.min_nights,
                check_in_time: cmd.check_in_time,
                check_out_time: cmd.check_out_time,
                utc_offset_minutes: ARGENTINA_UTC_OFFSET_MINUTES,
                registered_at: now,
                directions,
            },
        )])
    }

    pub(super) fn decide_change_pricing(
        &self,
        cmd: &ChangePricing,
        now: DateTime<Utc>,
    ) -> Result<Vec<AccommodationEvent>, BookingError> {
        let info = self.registered()?;
        cmd.pricing.validate()?;
        let min_nights = min_nights(cmd.min_nights.unwrap_or(info.min_nights))?;
        Ok(vec![AccommodationEvent::PricingChanged(PricingChanged {
            pricing: cmd.pricing.clone(),
            min_nights,
            changed_at: now,
        })])
    }

    pub(super) fn decide_change_details(
        &self,
        cmd: &ChangeDetails,
        now: DateTime<Utc>,
    ) -> Result<Vec<AccommodationEvent>, BookingError> {
        let info = self.registered()?;
        let name = accommodation_name(cmd.name.as_deref().unwrap_or(&info.name))?;
        let capacity = capacity(cmd.capacity.unwrap_or(info.capacity))?;
        let directions = match cmd.directions.as_deref() {
            Some(given) => directions(Some(given))?,
            None => info.directions.clone(),
        };
        let answers = match &cmd.answers {
            Some(changes) => crate::house::merged(&info.answers, changes)?,
            None => info.answers.clone(),
        };
        // Guests already holding nights keep them: a smaller capacity applies to new
        // requests only.
        Ok(vec![AccommodationEvent::DetailsChanged(
            AccommodationDetailsChanged {
                name: name.to_owned(),
                capacity,
                check_in_time: cmd.check_in_time.unwrap_or(info.check_in_time),
                check_out_time: cmd.check_out_time.unwrap_or(info.check_out_time),
                changed_at: now,
                directions,
                answers,
            },
        )])
    }

    pub(super) fn evolve_registered(&mut self, e: &AccommodationRegistered) {
        self.info = Some(AccommodationInfo {
            id: e.accommodation_id,
            name: e.name.clone(),
            capacity: e.capacity,
            pricing: e.pricing.clone(),
            min_nights: e.min_nights,
            check_in_time: e.check_in_time,
            check_out_time: e.check_out_time,
            utc_offset_minutes: e.utc_offset_minutes,
            directions: e.directions.clone(),
            answers: Answers::new(),
        });
    }

    pub(super) fn evolve_pricing_changed(&mut self, e: &PricingChanged) {
        if let Some(info) = self.info.as_mut() {
            info.pricing = e.pricing.clone();
            info.min_nights = e.min_nights;
        }
    }

    pub(super) fn evolve_details_changed(&mut self, e: &AccommodationDetailsChanged) {
        if let Some(info) = self.info.as_mut() {
            info.name = e.name.clone();
            info.capacity = e.capacity;
            info.check_in_time = e.check_in_time;
            info.check_out_time = e.check_out_time;
            info.directions = e.directions.clone();
            info.answers = e.answers.clone();
        }
    }
}
