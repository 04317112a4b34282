//! Admin and auditor tokens: HS256 JWTs signed with the configured secret.
//! `admin` may do everything; `auditor` may only read the audit routes.

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use chrono::Utc;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::problem::Problem;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Auditor,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub role: Role,
    pub iat: i64,
    pub exp: i64,
}

pub struct Keys {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl Keys {
    pub fn new(secret: &str) -> Keys {
        Keys {
            encoding: EncodingKey::from_secret(secret.as_bytes()),
            decoding: DecodingKey::from_secret(secret.as_bytes()),
        }
    }

    pub fn mint(
        &self,
        subject: &str,
        role: Role,
        ttl: chrono::Duration,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let now = Utc::now().timestamp();
        let claims = Claims {
            sub: subject.to_owned(),
            role,
            iat: now,
            exp: now + ttl.num_seconds(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
    }

    pub fn verify(&self, token: &str) -> Result<Claims, Problem> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 5;
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .map(|data| data.claims)
            .map_err(|e| {
                use jsonwebtoken::errors::ErrorKind;
                match e.kind() {
                    ErrorKind::ExpiredSignature => Problem::unauthorized("the token has expired"),
                    _ => Problem::unauthorized("the token is not valid"),
                }
            })
    }
}

fn claims_of(req: &HttpRequest) -> Result<Claims, Problem> {
    let keys = req
        .app_data::<web::Data<Keys>>()
        .ok_or_else(|| Problem::unavailable("authentication is not configured"))?;
    let header = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| Problem::unauthorized("send Authorization: Bearer <token>"))?;
    let token = header
        .strip_prefix("Bearer ")
        .ok_or_else(|| Problem::unauthorized("send Authorization: Bearer <token>"))?;
    keys.verify(token.trim())
}

/// A request made with an admin token.
pub struct Admin(pub Claims);

impl FromRequest for Admin {
    type Error = Problem;
    type Future = std::future::Ready<Result<Admin, Problem>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(claims_of(req).and_then(|c| match c.role {
            Role::Admin => Ok(Admin(c)),
            Role::Auditor => Err(Problem::forbidden("this route needs the admin role")),
        }))
    }
}

/// A request made with an auditor or admin token.
pub struct Auditor(pub Claims);

impl FromRequest for Auditor {
    type Error = Problem;
    type Future = std::future::Ready<Result<Auditor, Problem>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(claims_of(req).map(Auditor))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_foreign_or_expired_ones_are_refused() {
        let keys = Keys::new(&"k".repeat(32));
        let token = keys
            .mint("owner", Role::Admin, chrono::Duration::hours(1))
            .unwrap();
        assert_eq!(keys.verify(&token).unwrap().role, Role::Admin);
        let other = Keys::new(&"z".repeat(32));
        assert_eq!(other.verify(&token).unwrap_err().status, 401);
        let old = keys
            .mint("owner", Role::Admin, chrono::Duration::hours(-1))
            .unwrap();
        assert!(keys.verify(&old).unwrap_err().detail.contains("expired"));
    }
}
