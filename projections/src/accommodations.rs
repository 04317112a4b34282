//! Accommodations with their current pricing: what the public list and the quotes read.

use async_trait::async_trait;
use domain::AccommodationEvent;

use crate::sql::millis;
use crate::{Batch, Projection, ProjectionError, Schema, accommodation_events, exec};

pub struct Accommodations;

const SCHEMA: Schema = Schema {
    name: "accommodations",
    version: 1,
    tables: &["rm_accommodations{s}"],
    ddl: &["CREATE TABLE rm_accommodations{s} (
        id                 TEXT PRIMARY KEY,
        name               TEXT NOT NULL,
        capacity           BIGINT NOT NULL,
        pricing            TEXT NOT NULL,
        min_nights         BIGINT NOT NULL,
        check_in_time      TEXT NOT NULL,
        check_out_time     TEXT NOT NULL,
        utc_offset_minutes BIGINT NOT NULL,
        registered_at_ms   BIGINT NOT NULL,
        updated_at_ms      BIGINT NOT NULL
    )"],
    pg_ddl: &[],
};

#[async_trait]
impl Projection for Accommodations {
    async fn apply(&self, batch: Batch<'_>) -> Result<(), ProjectionError> {
        for (_, id, event) in accommodation_events(batch.events) {
            match event {
                AccommodationEvent::Registered(r) => {
                    let pricing = serde_json::to_string(&r.pricing).unwrap_or_default();
                    exec!(
                        &mut *batch.tx,
                        batch.names.sql(
                            "INSERT INTO rm_accommodations{s} (id, name, capacity, pricing, min_nights, \
                             check_in_time, check_out_time, utc_offset_minutes, registered_at_ms, updated_at_ms) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) ON CONFLICT (id) DO NOTHING"
                        ),
                        id.to_string(),
                        r.name.clone(),
                        i64::from(r.capacity),
                        pricing,
                        i64::from(r.min_nights),
                        r.check_in_time.format("%H:%M").to_string(),
                        r.check_out_time.format("%H:%M").to_string(),
                        i64::from(r.utc_offset_minutes),
                        millis(r.registered_at)
                    )?;
                }
                AccommodationEvent::PricingChanged(c) => {
                    let pricing = serde_json::to_string(&c.pricing).unwrap_or_default();
                    exec!(
                        &mut *batch.tx,
                        batch.names.sql(
                            "UPDATE rm_accommodations{s} SET pricing = $2, min_nights = $3, updated_at_ms = $4 WHERE id = $1"
                        ),
                        id.to_string(),
                        pricing,
                        i64::from(c.min_nights),
                        millis(c.changed_at)
                    )?;
                }
                AccommodationEvent::DetailsChanged(c) => {
                    exec!(
                        &mut *batch.tx,
                        batch.names.sql(
                            "UPDATE rm_accommodations{s} SET name = $2, capacity = $3, check_in_time = $4, \
                             check_out_time = $5, updated_at_ms = $6 WHERE id = $1"
                        ),
                        id.to_string(),
                        c.name.clone(),
                        i64::from(c.capacity),
                        c.check_in_time.format("%H:%M").to_string(),
                        c.check_out_time.format("%H:%M").to_string(),
                        millis(c.changed_at)
                    )?;
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }
}
