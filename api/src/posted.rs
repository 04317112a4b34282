//! A write request as the idempotency guard needs it: its head (the `Idempotency-Key`) and its
//! raw body (hashed with the key, then parsed by the handler's work), so a handler that changes
//! something reads as its work alone.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use serde::de::DeserializeOwned;

use crate::guard::Reply;
use crate::problem::Problem;
use crate::state::AppState;

pub struct Posted {
    req: HttpRequest,
    body: web::Bytes,
}

impl FromRequest for Posted {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Posted, actix_web::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = web::Bytes::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move {
            Ok(Posted {
                req,
                body: body.await?,
            })
        })
    }
}

impl Posted {
    /// The raw body, for work that records nothing (a preview) and so needs no key.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// Runs `work` on the body read as `T` (a JSON body is required), once per
    /// `Idempotency-Key`: see [`crate::guard::Idempotency::run`].
    pub async fn once<T, F, Fut>(&self, state: &AppState, work: F) -> Result<HttpResponse, Problem>
    where
        T: DeserializeOwned,
        F: FnOnce(T) -> Fut,
        Fut: Future<Output = Result<Reply, Problem>>,
    {
        self.once_read(state, crate::input::parse, work).await
    }

    /// `once`, with the body read by `read` (e.g. `input::parse_or_default` where it may be
    /// left out).
    pub async fn once_read<T, F, Fut>(
        &self,
        state: &AppState,
        read: fn(&[u8]) -> Result<T, Problem>,
        work: F,
    ) -> Result<HttpResponse, Problem>
    where
        F: FnOnce(T) -> Fut,
        Fut: Future<Output = Result<Reply, Problem>>,
    {
        let body = &self.body;
        state
            .idempotency
            .run(&self.req, body, || async { work(read(body)?).await })
            .await
    }
}
