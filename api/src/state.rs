//! The HTTP layer's state, shared by every route.

use std::sync::Arc;

use redis::aio::ConnectionManager;

use crate::guard::Idempotency;

/// The HTTP layer's state: the application's context, and what only requests need (the
/// idempotency records of `Idempotency-Key`). Derefs to the context, so a route reads
/// `state.db`, `state.now()` as a workflow does.
pub struct AppState {
    pub ctx: Arc<app::Context>,
    pub idempotency: Idempotency,
    /// Redis, when configured: `/readyz` says whether it answers.
    pub redis: Option<ConnectionManager>,
    /// Whether the database and Redis answer, kept current in the background for `/readyz`.
    pub health: crate::health::Health,
}

impl std::ops::Deref for AppState {
    type Target = app::Context;

    fn deref(&self) -> &app::Context {
        &self.ctx
    }
}
