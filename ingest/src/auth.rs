//! Bearer tokens. The customer id comes from the token's subject, never from the body.
//!
//! On AWS a Cognito user pool authorizer does this; locally the gateway checks an HS256 JWT
//! signed with a key the local stack generates at start-up (never committed) and, when given a
//! user pool ([`CognitoPool`]), that pool's RS256 ID tokens as the authorizer does.

use std::collections::HashMap;

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::order::is_usable_customer_id;

pub const ISSUER: &str = "orders-local";
pub const AUDIENCE: &str = "orders-api";

#[derive(Serialize, Deserialize)]
struct Claims {
    sub: String,
    iss: String,
    aud: String,
    exp: u64,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    #[error("the request has no bearer token")]
    Missing,
    #[error("the bearer token is not valid: {0}")]
    Invalid(String),
    #[error("the token's subject is not a usable customer id")]
    BadSubject,
    #[error("the user pool's key set has no usable RS256 key")]
    NoKeys,
}

/// A Cognito user pool whose ID tokens are accepted: RS256, signed by a key of the pool's
/// JWKS (`{issuer}/.well-known/jwks.json`), issued by the pool, `token_use` `id`. As with
/// API Gateway's Cognito authorizer, any app client of the pool will do.
pub struct CognitoPool {
    keys: HashMap<String, DecodingKey>,
    validation: Validation,
}

#[derive(Deserialize)]
struct IdTokenClaims {
    sub: String,
    token_use: String,
}

impl CognitoPool {
    /// The pool whose tokens name `issuer` (`https://cognito-idp.<region>.amazonaws.com/<pool>`)
    /// and are signed by a key in `jwks`.
    pub fn new(issuer: &str, jwks: &JwkSet) -> Result<Self, AuthError> {
        let keys: HashMap<String, DecodingKey> = jwks
            .keys
            .iter()
            .filter_map(|jwk| {
                let kid = jwk.common.key_id.clone()?;
                Some((kid, DecodingKey::from_jwk(jwk).ok()?))
            })
            .collect();
        if keys.is_empty() {
            return Err(AuthError::NoKeys);
        }
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_issuer(&[issuer]);
        validation.validate_aud = false;
        validation.set_required_spec_claims(&["exp", "sub", "iss"]);
        Ok(Self { keys, validation })
    }

    fn subject(&self, token: &str, kid: Option<&str>) -> Result<String, AuthError> {
        let key = kid.and_then(|kid| self.keys.get(kid)).ok_or_else(|| {
            AuthError::Invalid("signed by a key the user pool does not have".into())
        })?;
        let claims = jsonwebtoken::decode::<IdTokenClaims>(token, key, &self.validation)
            .map_err(|e| AuthError::Invalid(e.to_string()))?
            .claims;
        if claims.token_use != "id" {
            return Err(AuthError::Invalid(format!(
                "a Cognito {} token, not an ID token",
                claims.token_use
            )));
        }
        Ok(claims.sub)
    }
}

/// Checks bearer tokens and yields the customer id.
pub struct TokenVerifier {
    key: DecodingKey,
    validation: Validation,
    cognito: Option<CognitoPool>,
}

impl TokenVerifier {
    pub fn hs256(secret: &[u8]) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "sub", "iss", "aud"]);
        Self {
            key: DecodingKey::from_secret(secret),
            validation,
            cognito: None,
        }
    }

    /// Also accepts the ID tokens of `pool`.
    pub fn with_cognito(mut self, pool: CognitoPool) -> Self {
        self.cognito = Some(pool);
        self
    }

    /// `authorization` is the raw `Authorization` header, if any.
    pub fn customer_id(&self, authorization: Option<&str>) -> Result<String, AuthError> {
        let token = authorization
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|token| !token.is_empty())
            .ok_or(AuthError::Missing)?;
        let header =
            jsonwebtoken::decode_header(token).map_err(|e| AuthError::Invalid(e.to_string()))?;
        let subject = match (&self.cognito, header.alg) {
            (Some(pool), Algorithm::RS256) => pool.subject(token, header.kid.as_deref())?,
            _ => {
                jsonwebtoken::decode::<Claims>(token, &self.key, &self.validation)
                    .map_err(|e| AuthError::Invalid(e.to_string()))?
                    .claims
                    .sub
            }
        };
        if is_usable_customer_id(&subject) {
            Ok(subject)
        } else {
            Err(AuthError::BadSubject)
        }
    }
}

/// Signs tokens for the local stack: the stand-in for Cognito's sign-in.
pub struct TokenIssuer {
    key: EncodingKey,
}

impl TokenIssuer {
    pub fn hs256(secret: &[u8]) -> Self {
        Self {
            key: EncodingKey::from_secret(secret),
        }
    }

    /// A token for `customer_id`, valid for `ttl_seconds`.
    pub fn token(&self, customer_id: &str, ttl_seconds: u64) -> String {
        self.sign(customer_id, unix_now() + ttl_seconds)
    }

    /// A token that expired ten minutes ago (beyond any clock-skew leeway), for tests.
    pub fn token_expired(&self, customer_id: &str) -> String {
        self.sign(customer_id, unix_now().saturating_sub(600))
    }

    fn sign(&self, customer_id: &str, exp: u64) -> String {
        let claims = Claims {
            sub: customer_id.to_owned(),
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            exp,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.key)
            .unwrap_or_else(|e| unreachable!("HS256 signing of plain claims cannot fail: {e}"))
    }
}

fn unix_now() -> u64 {
    time::OffsetDateTime::now_utc()
        .unix_timestamp()
        .max(0)
        .unsigned_abs()
}
