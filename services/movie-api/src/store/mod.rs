//! Movie and cast persistence. Every write is one transaction holding the row change and its
//! outbox event, so a failure leaves neither.
//!
//! Writers of one aggregate serialize on its row lock (`SELECT … FOR UPDATE`): the second cannot
//! read `before`, bump the version or draw an outbox id until the first has committed, which makes
//! outbox order equal commit order per aggregate. Movies and casts stay consistent the same way:
//! a movie write share-locks the casts it names, a cast delete takes the cast's update lock, so
//! one of the two always sees the other (see `casts::delete_cast` and `movies::lock_casts`).

mod casts;
mod movies;
mod schema;

use diesel::result::Error as DieselError;
use diesel_migrations::{embed_migrations, EmbeddedMigrations};
use events::Op;
pub use outbox::Aggregate;
use outbox::OutboxError;
use runtime::db::PgConn;
use runtime::db::PgPool;
use uuid::Uuid;
use web::FieldErrors;

pub use casts::Cast;
pub use movies::{Movie, MovieFilter, MovieRef};
pub use web::paging::{Page, PageRequest, PageStart};

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");
/// The service's schema: the outbox first, then its own tables.
pub const ALL_MIGRATIONS: &[EmbeddedMigrations] = &[outbox::MIGRATIONS, MIGRATIONS];

pub const SERVICE: &str = "movie-api";

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

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{} {id} not found", aggregate.name)]
    NotFound { aggregate: Aggregate, id: Uuid },
    #[error("version mismatch: current version is {current}")]
    VersionMismatch { current: i64 },
    #[error("invalid {}", aggregate.name)]
    Invalid {
        aggregate: Aggregate,
        details: FieldErrors,
    },
    /// A movie names casts that do not exist or are deleted.
    #[error("unknown or deleted cast(s): {0:?}")]
    UnknownCasts(Vec<Uuid>),
    /// A cast cannot be deleted while live movies name it.
    #[error("cast {cast} is still in {} movie(s)", movies.len())]
    CastInUse { cast: Uuid, movies: Vec<MovieRef> },
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Outbox(#[from] OutboxError),
    #[error("database error: {0}")]
    Database(#[from] DieselError),
}

/// Movies and their casts, in one PostgreSQL database.
#[derive(Clone)]
pub struct Catalog {
    pool: PgPool,
}

impl Catalog {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    async fn conn(&self) -> Result<PgConn, StoreError> {
        self.pool
            .get()
            .await
            .map_err(|e| StoreError::Unavailable(e.to_string()))
    }
}

/// Counts a committed write for `/metrics`.
fn count_write(aggregate: Aggregate, op: Op) {
    metrics::counter!(
        "movie_api_writes_total",
        "aggregate" => aggregate.name,
        "op" => op.past_tense()
    )
    .increment(1);
}
