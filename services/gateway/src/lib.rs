//! gateway: the platform's one front door.
//!
//! `proxy` forwards `/api/v1/{customers,movies,casts,genres,orders}…` to the APIs, streaming
//! bodies and mapping an unreachable or slow upstream to 502 / 504; `http::auth` logs users in
//! (HTTP Basic → HS256 JWT the APIs verify) with a per-IP rate limit; `users` keeps the users
//! (argon2id hashes) in the gateway's own database; `http::site` serves `/docs` and the
//! aggregated `/health`; `http::console` the web console at `/`; `feed` reads the event topics
//! and `http::events` streams them to the console's live panel as server-sent events;
//! `http::consumers` shows every consumer group's lag and dead letters and re-drives them;
//! `startup` wires it together for `main` and the tests.

pub mod config;
pub mod feed;
pub mod http;
pub mod proxy;
pub mod startup;
pub mod users;
