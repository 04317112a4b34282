//! A read model that cannot apply a batch holds back only itself: the others still apply it
//! (each read model's batch is a transaction of its own), on both backends.

#![allow(clippy::unwrap_used)] // Test set-up failures should stop the test loudly.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{NaiveTime, Utc};
use domain::accommodation::{AccommodationCommand, RegisterAccommodation};
use domain::{Accommodation, AccommodationId, Money, Pricing};
use eventstore::{CommandHandler, EventStore, Metadata};
use projections::{Batch, Projection, ProjectionError, Runner, Schema};

/// Refuses every batch it is given.
struct Failing;

const FAILING: Schema = Schema {
    name: "failing",
    version: 1,
    tables: &[],
    ddl: &[],
    pg_ddl: &[],
};

#[async_trait]
impl Projection for Failing {
    async fn apply(&self, _batch: Batch<'_>) -> Result<(), ProjectionError> {
        Err(ProjectionError::Unknown("refuses every batch".into()))
    }

    fn schema(&self) -> &'static Schema {
        &FAILING
    }
}

async fn stores() -> Vec<(&'static str, Arc<dyn EventStore>)> {
    let sqlite = eventstore::connect(&eventstore::testing::temp_sqlite_url())
        .await
        .unwrap();
    let pg_url = eventstore::testing::fresh_postgres_url().await.unwrap();
    let pg = eventstore::connect(&pg_url).await.unwrap();
    vec![("sqlite", sqlite), ("postgres", pg)]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_read_model_holds_back_only_itself() {
    for (backend, store) in stores().await {
        let handler: CommandHandler<Accommodation> = CommandHandler::new(store.clone());
        let id = AccommodationId::new();
        let register = AccommodationCommand::Register(RegisterAccommodation {
            accommodation_id: id,
            name: "Cabaña Norte".into(),
            capacity: 4,
            pricing: Pricing::simple(Money::pesos(40_000), Money::pesos(8_000)),
            min_nights: 1,
            check_in_time: NaiveTime::from_hms_opt(14, 0, 0).unwrap(),
            check_out_time: NaiveTime::from_hms_opt(10, 0, 0).unwrap(),
            directions: None,
        });
        handler
            .execute(&id.stream_id(), &register, Utc::now(), &Metadata::default())
            .await
            .unwrap();
        while store.head_position().await.unwrap() < 1 {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }

        let mut all = projections::all();
        all.push(Arc::new(Failing));
        let runner = Runner::new(store.clone(), all);
        runner.ensure_schema().await.unwrap();
        // The failing read model makes the catch-up an error in the end; what matters is what
        // the others did meanwhile.
        let _ = runner.catch_up().await;

        assert_eq!(runner.checkpoint("failing").await.unwrap(), 0, "{backend}");
        assert_eq!(
            runner.checkpoint("accommodations").await.unwrap(),
            1,
            "{backend}: the others applied the batch"
        );
        let listed = projections::queries::accommodation(&store.db(), &id.to_string())
            .await
            .unwrap();
        assert!(
            listed.is_some(),
            "{backend}: the cabin is in its read model"
        );
    }
}
