//! The plumbing every platform process shares, so that each binary's `main.rs` stays a few
//! lines: read config, build, run.
//!
//! - [`telemetry`]: structured logs (`LOG_FORMAT=json|text`, `RUST_LOG`).
//! - [`shutdown`]: one cancellation token tripped by SIGTERM or Ctrl-C.
//! - [`ops`]: `/health/live`, `/health/ready` and Prometheus `/metrics`.
//! - [`db`]: a diesel-async connection pool and embedded migrations.
//! - [`serve`]: run an axum router until shutdown, draining in-flight requests.
//! - [`backoff`]: the one retry timing, and retrying until a dependency is up.
//! - [`app`]: the shape of every binary: `build(config) -> App`, then `App::run(shutdown)`.

pub mod app;
pub mod backoff;
pub mod config;
pub mod db;
pub mod ops;
pub mod serve;
pub mod shutdown;
pub mod telemetry;

pub use app::App;
pub use shutdown::Shutdown;
