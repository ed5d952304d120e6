//! Bearer-token authentication for the APIs.
//!
//! The gateway issues HS256 JWTs (`POST /api/v1/auth/login`) carrying who the caller is (`sub`),
//! what they may do (`role`), and when the token was issued and expires (`iat`, `exp`, seconds
//! since the epoch). Every API checks them with the same shared secret:
//!
//! - reads (`GET`, `HEAD`, `OPTIONS`) need any valid token;
//! - writes (`POST`, `PUT`, `PATCH`, `DELETE`) need role `admin`, else 403 `forbidden`;
//! - a missing, malformed, expired or tampered token is 401 `unauthorized` with a
//!   `WWW-Authenticate: Bearer ...` challenge, in the platform's error format.
//!
//! Only the routes an API hands to [`AccessPolicy::protect`] are guarded; health, metrics and the
//! OpenAPI documents / Swagger UI are merged in afterwards and stay open.
//!
//! Configuration ([`AuthArgs`]): `AUTH_MODE=jwt` (the default) requires `JWT_SECRET` and refuses
//! to start without it; `AUTH_MODE=off` serves every request unauthenticated (local experiments
//! only; the service logs a warning).

use crate::ApiError;
use axum::{
    extract::{Request, State},
    http::{header::AUTHORIZATION, HeaderMap, Method},
    middleware::{self, Next},
    response::Response,
    Router,
};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use std::{sync::Arc, time::Duration};
use utoipa::ToSchema;

/// The realm named in every `WWW-Authenticate` challenge.
pub const REALM: &str = "cdc-platform";

/// What a caller may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads and writes.
    Admin,
    /// Reads only.
    Reader,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Reader => "reader",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "admin" => Some(Role::Admin),
            "reader" => Some(Role::Reader),
            _ => None,
        }
    }
}

/// The claims of a platform token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Claims {
    /// The user name.
    pub sub: String,
    pub role: Role,
    /// Issued at, seconds since the Unix epoch.
    pub iat: i64,
    /// Expires at, seconds since the Unix epoch.
    pub exp: i64,
}

impl Claims {
    /// Claims for `sub` issued now and valid for `ttl`.
    pub fn new(sub: impl Into<String>, role: Role, ttl: Duration) -> Self {
        let iat = chrono::Utc::now().timestamp();
        Self {
            sub: sub.into(),
            role,
            iat,
            exp: iat + i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX / 2),
        }
    }
}

/// The HS256 secret shared by the gateway and the APIs; never printed.
#[derive(Clone)]
pub struct JwtSecret(String);

impl JwtSecret {
    pub fn expose(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

/// The shortest secret accepted: HS256 wants a key at least as long as its 32-byte hash.
pub const MIN_SECRET_BYTES: usize = 32;

impl std::str::FromStr for JwtSecret {
    type Err = String;

    /// A secret shorter than [`MIN_SECRET_BYTES`] is refused, so a guessable one never runs.
    fn from_str(secret: &str) -> Result<Self, String> {
        if secret.len() < MIN_SECRET_BYTES {
            return Err(format!(
                "a JWT secret needs at least {MIN_SECRET_BYTES} bytes (got {}); generate one with: head -c 32 /dev/urandom | base64",
                secret.len()
            ));
        }
        Ok(Self(secret.to_owned()))
    }
}

impl std::fmt::Debug for JwtSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JwtSecret(<redacted>)")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum AuthMode {
    /// Every API request needs a valid bearer token (JWT_SECRET required).
    #[default]
    Jwt,
    /// No authentication at all: for local experiments only.
    Off,
}

/// Authentication options every API (and the gateway) flattens into its config.
#[derive(Debug, Clone, clap::Args)]
pub struct AuthArgs {
    /// `jwt`: requests need `Authorization: Bearer <token>`; `off`: no authentication.
    #[arg(long, env = "AUTH_MODE", value_enum, default_value_t = AuthMode::Jwt)]
    pub auth_mode: AuthMode,
    /// HS256 secret that signs and verifies tokens; the same value on the gateway and every
    /// API. Required when AUTH_MODE=jwt; use 32 random bytes or more.
    #[arg(long, env = "JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<JwtSecret>,
}

#[derive(Debug, thiserror::Error)]
pub enum AuthConfigError {
    #[error("JWT_SECRET is required when AUTH_MODE=jwt (the default); set it to the secret the gateway signs tokens with, or set AUTH_MODE=off to run without authentication")]
    MissingSecret,
}

impl AuthArgs {
    /// The policy these options describe; fails when `jwt` mode has no secret.
    pub fn policy(&self) -> Result<AccessPolicy, AuthConfigError> {
        match (self.auth_mode, &self.jwt_secret) {
            (AuthMode::Off, _) => {
                tracing::warn!("AUTH_MODE=off: the API accepts every request unauthenticated");
                Ok(AccessPolicy::Open)
            }
            (AuthMode::Jwt, Some(secret)) => Ok(AccessPolicy::Jwt(JwtKeys::new(secret))),
            (AuthMode::Jwt, _) => Err(AuthConfigError::MissingSecret),
        }
    }
}

/// Signs and verifies platform tokens with one HS256 secret.
#[derive(Clone)]
pub struct JwtKeys(Arc<KeyPair>);

struct KeyPair {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

/// Why a token was refused (told to the client in the 401 message).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("missing bearer token")]
    Missing,
    #[error("the Authorization header is not `Bearer <token>`")]
    NotBearer,
    #[error("the token has expired")]
    Expired,
    #[error("the token is invalid: {0}")]
    Invalid(String),
}

impl JwtKeys {
    pub fn new(secret: &JwtSecret) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims(&["exp", "iat", "sub"]);
        // Issuer and verifiers share one clock on this platform; an expired token is expired.
        validation.leeway = 0;
        Self(Arc::new(KeyPair {
            encoding: EncodingKey::from_secret(secret.expose()),
            decoding: DecodingKey::from_secret(secret.expose()),
            validation,
        }))
    }

    /// Signs `claims` as an HS256 JWT.
    pub fn sign(&self, claims: &Claims) -> String {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.0.encoding)
            .expect("HMAC signing of serialisable claims cannot fail")
    }

    /// The claims of a well-signed, unexpired token.
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        use jsonwebtoken::errors::ErrorKind;
        jsonwebtoken::decode::<Claims>(token, &self.0.decoding, &self.0.validation)
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => TokenError::Expired,
                ErrorKind::InvalidSignature => {
                    TokenError::Invalid("signature does not match".into())
                }
                _ => TokenError::Invalid(e.to_string()),
            })
    }

    /// The claims of the request's `Authorization: Bearer` token, or the 401 to answer.
    pub fn authenticate(&self, headers: &HeaderMap) -> Result<Claims, ApiError> {
        let token = bearer_token(headers).map_err(unauthorized)?;
        self.verify(token).map_err(unauthorized)
    }
}

fn bearer_token(headers: &HeaderMap) -> Result<&str, TokenError> {
    let value = headers.get(AUTHORIZATION).ok_or(TokenError::Missing)?;
    let value = value.to_str().map_err(|_| TokenError::NotBearer)?;
    let (scheme, token) = value.split_once(' ').ok_or(TokenError::NotBearer)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(TokenError::NotBearer);
    }
    Ok(token.trim())
}

/// The 401 for a refused token, with its RFC 6750 challenge.
pub fn unauthorized(reason: TokenError) -> ApiError {
    let challenge = match &reason {
        TokenError::Missing => format!("Bearer realm=\"{REALM}\""),
        other => format!(
            "Bearer realm=\"{REALM}\", error=\"invalid_token\", error_description=\"{}\"",
            other.to_string().replace('"', "'")
        ),
    };
    ApiError::Unauthorized {
        message: reason.to_string(),
        challenge,
    }
}

/// How an API checks its callers, decided once at startup.
#[derive(Clone)]
pub enum AccessPolicy {
    /// Everyone may do everything (`AUTH_MODE=off`).
    Open,
    /// Bearer tokens signed with these keys.
    Jwt(JwtKeys),
}

impl AccessPolicy {
    /// Guards every route of `api` (add open routes such as docs and health afterwards).
    /// Verified claims are put into the request's extensions for handlers that want them.
    pub fn protect(&self, api: Router) -> Router {
        match self {
            AccessPolicy::Open => api,
            AccessPolicy::Jwt(keys) => {
                api.route_layer(middleware::from_fn_with_state(keys.clone(), require_token))
            }
        }
    }
}

/// Whether `method` changes state and so needs role `admin`.
pub fn is_write(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

async fn require_token(
    State(keys): State<JwtKeys>,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let claims = keys.authenticate(request.headers())?;
    if is_write(request.method()) && claims.role != Role::Admin {
        return Err(ApiError::Forbidden(format!(
            "role {} may only read; {} needs role admin",
            claims.role.as_str(),
            request.method()
        )));
    }
    request.extensions_mut().insert(claims);
    Ok(next.run(request).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(secret: &str) -> JwtKeys {
        JwtKeys::new(&secret.parse().expect("a long enough test secret"))
    }

    #[test]
    fn a_secret_under_32_bytes_is_refused_not_warned_about() {
        let short = "short".parse::<JwtSecret>().expect_err("refused");
        assert!(short.contains("at least 32 bytes"), "{short}");
        assert!("x".repeat(31).parse::<JwtSecret>().is_err());
        assert!("x".repeat(32).parse::<JwtSecret>().is_ok());
    }

    #[test]
    fn a_signed_token_verifies_to_its_claims() {
        let keys = keys("a-test-secret-of-at-least-32-bytes!");
        let claims = Claims::new("ada", Role::Admin, Duration::from_secs(60));
        assert_eq!(keys.verify(&keys.sign(&claims)), Ok(claims));
    }

    #[test]
    fn expired_foreign_and_tampered_tokens_are_refused() {
        let keys = keys("a-test-secret-of-at-least-32-bytes!");
        let mut old = Claims::new("ada", Role::Admin, Duration::from_secs(60));
        old.iat -= 7200;
        old.exp -= 7200;
        assert_eq!(keys.verify(&keys.sign(&old)), Err(TokenError::Expired));

        let reader = Claims::new("rita", Role::Reader, Duration::from_secs(60));
        let foreign = self::keys("another-secret-of-at-least-32-bytes").sign(&reader);
        assert!(matches!(keys.verify(&foreign), Err(TokenError::Invalid(_))));

        // Swap in an admin payload but keep the reader's signature.
        let token = keys.sign(&reader);
        let admin = keys.sign(&Claims::new("rita", Role::Admin, Duration::from_secs(60)));
        let mut parts: Vec<&str> = token.split('.').collect();
        parts[1] = admin.split('.').nth(1).unwrap();
        assert!(matches!(
            keys.verify(&parts.join(".")),
            Err(TokenError::Invalid(_))
        ));
    }

    #[test]
    fn jwt_mode_without_a_secret_is_a_configuration_error() {
        let args = AuthArgs {
            auth_mode: AuthMode::Jwt,
            jwt_secret: None,
        };
        assert!(matches!(args.policy(), Err(AuthConfigError::MissingSecret)));
    }
}
