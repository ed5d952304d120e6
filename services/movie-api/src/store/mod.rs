//! Movie and cast persistence: the tables, their rows and their rules. Every write is one
//! transaction holding the row change and its outbox event, run by `resource::Store`.
//!
//! Movies and casts stay consistent with each other: a movie write share-locks the casts it
//! names, a cast delete takes the cast's update lock, so one of the two always sees the other
//! (see `casts::Casts::admit_delete` and `movies::lock_casts`).

mod casts;
mod movies;
mod schema;

use diesel_migrations::{embed_migrations, EmbeddedMigrations};
pub use outbox::Aggregate;

pub use casts::{Cast, Casts};
pub use movies::{Movie, MovieFilter, MovieRef, Movies};

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");
/// The service's schema: the outbox and the snapshots first, then its own tables.
pub const ALL_MIGRATIONS: &[EmbeddedMigrations] =
    &[outbox::MIGRATIONS, resource::MIGRATIONS, MIGRATIONS];

pub const SERVICE: &str = "movie-api";

/// The counter of committed writes, labelled `aggregate` and `op`.
const WRITES_METRIC: &str = "movie_api_writes_total";

pub const CAST: Aggregate = Aggregate {
    service: SERVICE,
    name: "cast",
    table: "casts",
    topic: events::Topic::CASTS.name(),
};

pub const MOVIE: Aggregate = Aggregate {
    service: SERVICE,
    name: "movie",
    table: "movies",
    topic: events::Topic::MOVIES.name(),
};
