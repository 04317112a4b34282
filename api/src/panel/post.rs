//! [`AdminPost`]: the way into every panel form that changes something. A handler taking it
//! runs only for a signed-in admin whose form carries this session's CSRF token; anyone else
//! gets their answer before the handler: the sign-in page, "the form expired" (403) or "an
//! auditor only looks" (403).

use actix_web::dev::Payload;
use actix_web::error::InternalError;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;

use super::html::refusal;
use super::session::Session;
use crate::state::AppState;

/// A form that carries the session's CSRF token.
pub trait Csrf {
    fn csrf(&self) -> Option<&str>;
}

/// Every pair as sent (`cabins::edit::Fields`).
impl Csrf for Vec<(String, String)> {
    fn csrf(&self) -> Option<&str> {
        self.iter()
            .find(|(k, _)| k == "csrf")
            .map(|(_, v)| v.as_str())
    }
}

/// Implements [`Csrf`] for forms with a `csrf: Option<String>` field.
macro_rules! csrf_field {
    ($($form:ty),+ $(,)?) => {$(
        impl $crate::panel::post::Csrf for $form {
            fn csrf(&self) -> Option<&str> {
                self.csrf.as_deref()
            }
        }
    )+};
}
pub(crate) use csrf_field;

/// A form `T` an admin posted from this panel, and who they are.
pub struct AdminPost<T> {
    pub who: Session,
    pub form: T,
}

impl<T: DeserializeOwned + Csrf + 'static> FromRequest for AdminPost<T> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let form = web::Form::<T>::from_request(&req, payload);
        Box::pin(async move {
            let answer = |res| Err(InternalError::from_response("panel form refused", res).into());
            let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
                return answer(super::internal(&anyhow::anyhow!("no application state")));
            };
            let form = match form.await {
                Ok(form) => form.into_inner(),
                Err(_) => {
                    return answer(refusal(
                        StatusCode::BAD_REQUEST,
                        "Formulario no válido",
                        "El formulario llegó incompleto o mal escrito. Volvé a cargar la página.",
                    ));
                }
            };
            match super::admin_only(&state, &req, form.csrf()).await {
                Ok(who) => Ok(AdminPost { who, form }),
                Err(res) => answer(res),
            }
        })
    }
}
