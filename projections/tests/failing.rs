//! A read model that cannot apply a batch holds back only itself: the others still apply it
//! (each read model's batch is a transaction of its own), on both backends.

#![allow(clippy::unwrap_used)] // Test set-up failures should stop the test loudly.

mod common;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::Utc;
use common::{World, stores};
use eventstore::CommandHandler;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_read_model_holds_back_only_itself() {
    for (backend, store) in stores().await {
        let world = World {
            handler: CommandHandler::new(store.clone()),
            now: Utc::now(),
        };
        let id = world.register("Cabaña Norte", 4).await;
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
