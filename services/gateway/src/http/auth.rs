//! `/api/v1/auth`: logging in (HTTP Basic credentials for a JWT) and asking who a token is.

use crate::users::{UserError, UserStore};
use axum::{
    extract::{Request, State},
    http::{header, HeaderMap},
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use base64::Engine;
use governor::{clock::Clock, DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde::Serialize;
use std::{
    net::{IpAddr, Ipv4Addr},
    num::NonZeroU32,
    sync::Arc,
    time::Duration,
};
use web::{
    auth::{Claims, JwtKeys, REALM},
    ApiError,
};

#[derive(Clone)]
pub struct AuthState {
    pub users: UserStore,
    pub keys: JwtKeys,
    pub ttl: Duration,
    pub limiter: LoginLimiter,
}

pub fn router(state: AuthState) -> Router {
    Router::new()
        .route("/api/v1/auth/login", post(login))
        .route("/api/v1/auth/me", get(me))
        .with_state(state)
}

/// The answer to a successful login (the shape of an OAuth 2 token response).
#[derive(Debug, Serialize)]
pub struct TokenResponse {
    pub token: String,
    pub token_type: &'static str,
    /// Seconds until the token expires.
    pub expires_in: u64,
}

/// `POST /api/v1/auth/login` with `Authorization: Basic ...`: a bearer token for the user.
async fn login(State(state): State<AuthState>, request: Request) -> Result<Response, ApiError> {
    let client = crate::proxy::client_addr(&request)
        .map(|a| a.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    let (username, password) = basic_credentials(request.headers())?;
    state.limiter.check(client, &username)?;
    let role = state
        .users
        .check(&username, &password)
        .await
        .map_err(|e| match e {
            UserError::Unavailable(cause) => {
                ApiError::Unavailable(format!("user database unavailable: {cause}"))
            }
            other => ApiError::internal(other),
        })?
        .ok_or_else(|| {
            tracing::info!(%username, %client, "login refused");
            basic_challenge("wrong username or password")
        })?;
    let claims = Claims::new(username, role, state.ttl);
    tracing::info!(username = %claims.sub, role = role.as_str(), "login");
    let body = TokenResponse {
        token: state.keys.sign(&claims),
        token_type: "Bearer",
        expires_in: state.ttl.as_secs(),
    };
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(body)).into_response())
}

/// `GET /api/v1/auth/me`: the claims of the caller's bearer token.
async fn me(State(state): State<AuthState>, headers: HeaderMap) -> Result<Json<Claims>, ApiError> {
    state.keys.authenticate(&headers).map(Json)
}

fn basic_challenge(message: &str) -> ApiError {
    ApiError::Unauthorized {
        message: message.to_owned(),
        challenge: format!("Basic realm=\"{REALM}\", charset=\"UTF-8\""),
    }
}

/// The user name and password of an `Authorization: Basic` header.
fn basic_credentials(headers: &HeaderMap) -> Result<(String, String), ApiError> {
    let missing =
        || basic_challenge("send your username and password with HTTP Basic authentication");
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(missing)?;
    let (scheme, encoded) = value.split_once(' ').ok_or_else(missing)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(missing());
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(|| {
            basic_challenge("the Basic credentials are not valid base64 of user:password")
        })?;
    let (user, password) = decoded
        .split_once(':')
        .ok_or_else(|| basic_challenge("the Basic credentials are not user:password"))?;
    // No user name holds a control character; PostgreSQL cannot even compare one with a NUL.
    if user.chars().any(char::is_control) {
        return Err(basic_challenge("wrong username or password"));
    }
    Ok((user.to_owned(), password.to_owned()))
}

/// Login attempts, limited per account from one client address (`per_minute` at once, then one
/// more every `60 / per_minute` seconds) and per account from everywhere (three times that).
/// Keyed by account, not by address alone: a flood of attempts from one shared address (an
/// office, a proxy) against some account never locks another account out, the admin's included.
/// Zero turns the limits off.
#[derive(Clone)]
pub struct LoginLimiter(Option<Arc<Limiters>>);

struct Limiters {
    from_client: DefaultKeyedRateLimiter<(IpAddr, String)>,
    per_account: DefaultKeyedRateLimiter<String>,
}

impl LoginLimiter {
    pub fn per_minute(attempts: u32) -> Self {
        Self(NonZeroU32::new(attempts).map(|n| {
            let everywhere = n.saturating_mul(NonZeroU32::new(3).expect("3 > 0"));
            Arc::new(Limiters {
                from_client: RateLimiter::keyed(Quota::per_minute(n)),
                per_account: RateLimiter::keyed(Quota::per_minute(everywhere)),
            })
        }))
    }

    fn check(&self, client: IpAddr, username: &str) -> Result<(), ApiError> {
        let Some(limiters) = &self.0 else {
            return Ok(());
        };
        // Forget keys whose allowance is full again, so the maps stay small.
        if limiters.from_client.len() > 10_000 {
            limiters.from_client.retain_recent();
        }
        if limiters.per_account.len() > 10_000 {
            limiters.per_account.retain_recent();
        }
        let key = username.to_lowercase();
        let refused = |not_until: governor::NotUntil<_>, from: String| {
            let wait = not_until.wait_time_from(governor::clock::DefaultClock::default().now());
            tracing::warn!(%client, username = %key, "login rate limit reached");
            ApiError::TooManyRequests {
                message: format!(
                    "too many login attempts for {key}{from}; try again in {} s",
                    wait.as_secs().max(1)
                ),
                retry_after_secs: wait.as_secs().max(1),
            }
        };
        limiters
            .from_client
            .check_key(&(client, key.clone()))
            .map_err(|n| refused(n, format!(" from {client}")))?;
        limiters
            .per_account
            .check_key(&key)
            .map_err(|n| refused(n, String::new()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, value.parse().unwrap());
        headers
    }

    #[test]
    fn basic_credentials_are_decoded_and_anything_else_is_401() {
        // "ada:pass:word" — the password may contain colons.
        let (user, password) = basic_credentials(&basic("Basic YWRhOnBhc3M6d29yZA==")).unwrap();
        assert_eq!((user.as_str(), password.as_str()), ("ada", "pass:word"));
        // "ad\0a:pw": a NUL in the user name is a wrong login, not a database error.
        for bad in [
            "Bearer abc",
            "Basic !!!",
            "Basic YWRh",
            "Basic YWQAYTpwdw==",
        ] {
            assert!(matches!(
                basic_credentials(&basic(bad)),
                Err(ApiError::Unauthorized { .. })
            ));
        }
        assert!(basic_credentials(&HeaderMap::new()).is_err());
    }

    #[test]
    fn the_limiter_refuses_past_the_quota_per_account_and_client() {
        let limiter = LoginLimiter::per_minute(2);
        let a = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
        let b = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));
        assert!(limiter.check(a, "ada").is_ok());
        assert!(
            limiter.check(a, "Ada").is_ok(),
            "names compare without case"
        );
        assert!(matches!(
            limiter.check(a, "ada"),
            Err(ApiError::TooManyRequests { .. })
        ));
        assert!(
            limiter.check(a, "admin").is_ok(),
            "the same address, another account"
        );
        assert!(
            limiter.check(b, "ada").is_ok(),
            "another client, the same account"
        );
        // Three times the quota per account from everywhere: 2 from a, 1 from b, 3 more.
        for c in 3..6 {
            assert!(limiter
                .check(IpAddr::V4(Ipv4Addr::new(10, 0, 0, c)), "ada")
                .is_ok());
        }
        assert!(limiter
            .check(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 9)), "ada")
            .is_err());
        let off = LoginLimiter::per_minute(0);
        assert!((0..100).all(|_| off.check(a, "ada").is_ok()));
    }
}
