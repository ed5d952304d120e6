//! The gateway's HTTP surface: which path prefix goes to which API, the login endpoints, and
//! the gateway's own pages (the console at `/`, `/docs`, `/health`), the live event stream and
//! the consumers' lag and dead letters.

pub mod auth;
pub mod console;
pub mod consumers;
pub mod events;
pub mod site;

use crate::proxy::{self, Forwarder, Route, Upstream};
use axum::{routing::any, Router};
use std::sync::Arc;

/// The APIs behind the gateway and the path prefixes each one serves.
pub struct Upstreams {
    pub customers: Upstream,
    pub movies: Upstream,
    pub orders: Upstream,
}

impl Upstreams {
    /// (prefix, upstream) for every proxied prefix.
    fn prefixes(&self) -> Vec<(&'static str, &Upstream)> {
        vec![
            ("/api/v1/customers", &self.customers),
            ("/api/v1/movies", &self.movies),
            ("/api/v1/casts", &self.movies),
            ("/api/v1/genres", &self.movies),
            ("/api/v1/orders", &self.orders),
        ]
    }

    pub fn all(&self) -> Vec<Upstream> {
        vec![
            self.customers.clone(),
            self.movies.clone(),
            self.orders.clone(),
        ]
    }
}

/// Every proxied prefix, itself and everything below it, forwarded to its upstream.
pub fn proxy_router(upstreams: &Upstreams, forwarder: &Forwarder) -> Router {
    upstreams
        .prefixes()
        .into_iter()
        .fold(Router::new(), |router, (prefix, upstream)| {
            let route = Route {
                forwarder: forwarder.clone(),
                upstream: Arc::new(upstream.clone()),
            };
            router
                .route(prefix, any(proxy::forward).with_state(route.clone()))
                .route(
                    &format!("{prefix}/{{*rest}}"),
                    any(proxy::forward).with_state(route),
                )
        })
}
