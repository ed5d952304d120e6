//! Builds the gateway from its configuration, unstarted. `main` runs it; tests build it on port 0 against
//! their own database and upstreams.

use crate::{
    config::Config,
    feed::{EventFeed, FeedSettings},
    http::{self, auth::AuthState, events::EventsState, site::HealthState, Upstreams},
    proxy::{Forwarder, Upstream},
    users::{Password, UserStore, Username, ALL_MIGRATIONS},
};
use anyhow::Context;
use runtime::{db, ops, App, Shutdown};
use std::{io::BufRead, sync::Arc};
use web::{
    auth::{JwtKeys, Role},
    ApiError,
};

/// Migrates the database, creates the first admin if there is no user, starts the live event
/// feed in the background (it never holds up the start: Kafka may be down), and returns the
/// service unstarted: proxy, login, console, event stream, consumer lag and dead-letter
/// re-drive, docs, health and metrics on its
/// bound address. `shutdown` stops
/// the feed and ends open event streams.
pub async fn build(config: &Config, shutdown: &Shutdown) -> anyhow::Result<App> {
    let secret = config
        .jwt_secret
        .as_ref()
        .filter(|s| !s.expose().is_empty())
        .context(
            "JWT_SECRET is required: the gateway signs login tokens with it and the APIs verify \
             them with the same value",
        )?;
    let keys = JwtKeys::new(secret);
    let users = open_users(config).await?;
    ensure_first_admin(&users, config).await?;

    let pool = users.pool().clone();
    let ready = db::readiness(&pool);
    // The ops router installs the metrics recorder: build it before anything records metrics.
    let ops = ops::router("gateway", ready.clone());
    let forwarder = Forwarder::new(config.upstream_timeout());
    let upstreams = Upstreams {
        customers: Upstream::new("customer-api", &config.customer_api_url),
        movies: Upstream::new("movie-api", &config.movie_api_url),
        orders: Upstream::new("order-api", &config.order_api_url),
    };
    let feed = EventFeed::start(
        FeedSettings {
            kafka: config.kafka.clone(),
            topics: config.event_topics(),
            schema_registry_url: config.schema_registry_url.clone(),
        },
        shutdown.clone(),
    );
    let events = EventsState {
        feed: feed.clone(),
        keys: keys.clone(),
        limits: http::events::StreamLimits::new(config.max_streams, config.max_streams_per_user),
        shutdown: shutdown.clone(),
    };
    let auth = AuthState {
        users,
        keys: keys.clone(),
        ttl: config.jwt_ttl(),
        limiter: http::auth::LoginLimiter::per_minute(config.login_rate_per_min),
    };
    let consumers = http::consumers::ConsumersState {
        kafka: config.kafka.clone(),
        groups: Arc::new(config.consumer_groups()),
        redriver: Arc::new(
            kafka::dead_letters::Redriver::new(&config.kafka, &config.consumers.redrive_group)
                .context("creating the dead-letter re-drive's Kafka producer")?,
        ),
    };
    let health = HealthState {
        forwarder: forwarder.clone(),
        upstreams: Arc::new(upstreams.all()),
        own: ready,
        feed,
        keys: keys.clone(),
    };
    let app = http::proxy_router(&upstreams, &forwarder)
        .merge(http::auth::router(auth))
        .merge(http::site::router(health))
        .merge(http::console::router())
        .merge(http::consumers::router(consumers, keys));
    // The event stream takes its token in the URL: it stays outside the layer that logs URLs.
    let router = web::layers::apply(app)
        .merge(http::events::router(events))
        .merge(ops)
        .fallback(|| async { ApiError::NotFound("no such path on the gateway".to_owned()) });
    // runtime::serve tells handlers each client's address (the login limit is per client IP).
    App::bind("gateway", config.addr, router).await
}

/// `gateway create-user`: adds one user; the password comes from `NEW_USER_PASSWORD` or the
/// first line of standard input.
pub async fn create_user(config: &Config, username: &str, role: Role) -> anyhow::Result<()> {
    let username = Username::parse(username)?;
    let password = match std::env::var("NEW_USER_PASSWORD") {
        Ok(password) => password,
        Err(_) => {
            eprintln!(
                "password for {} (one line on standard input):",
                username.as_str()
            );
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .context("reading the password from standard input")?;
            line.trim_end_matches(['\r', '\n']).to_owned()
        }
    };
    let password = Password::parse(&password)?;
    let users = open_users(config).await?;
    users.create(&username, &password, role).await?;
    println!(
        "created user {} with role {}",
        username.as_str(),
        role.as_str()
    );
    Ok(())
}

async fn open_users(config: &Config) -> anyhow::Result<UserStore> {
    db::migrate(&config.database_url, ALL_MIGRATIONS)
        .await
        .context("migrating the gateway database")?;
    let pool = db::pool(&config.database_url, &config.pool)?;
    Ok(UserStore::new(pool))
}

/// With no user at all, creates the first admin (`ADMIN_USER` / `ADMIN_PASSWORD`); without
/// `ADMIN_PASSWORD` it generates a password and prints it once to standard output.
async fn ensure_first_admin(users: &UserStore, config: &Config) -> anyhow::Result<()> {
    if !users.is_empty().await? {
        return Ok(());
    }
    let username = Username::parse(&config.admin_user).context("ADMIN_USER")?;
    let (password, generated) = match &config.admin_password {
        Some(password) => (Password::parse(password).context("ADMIN_PASSWORD")?, false),
        None => (Password::generate(), true),
    };
    if users.create_first_admin(&username, &password).await? {
        tracing::info!(
            username = username.as_str(),
            generated,
            "created the first admin user"
        );
        if generated {
            println!(
                "gateway: created the first admin user '{}' with password: {}\n\
                 gateway: it is shown only this once; set ADMIN_PASSWORD to choose it, and add \
                 users with `gateway create-user` (scripts/create-user.sh)",
                username.as_str(),
                password.expose()
            );
        }
    }
    Ok(())
}
