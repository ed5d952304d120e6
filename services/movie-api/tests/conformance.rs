//! The behaviour every resource shares (`test_support::conformance`), for casts and movies.

mod common;

use serde_json::{json, Value};
use test_support::conformance::{Change, Resource};

fn cast(n: usize) -> Value {
    json!({"name": format!("Cast {n}"), "nationality": "Japanese"})
}

fn recast(n: usize) -> Value {
    json!({"name": format!("Recast {n}"), "nationality": null})
}

fn movie(n: usize) -> Value {
    json!({"title": format!("Movie {n}"), "genres": ["drama"], "release_year": 1954})
}

fn remade(n: usize) -> Value {
    json!({"title": format!("Remake {n}"), "plot": "Again.", "genres": ["comedy", "war"], "expiry_date": "2030-01-31"})
}

const CASTS: Resource = Resource {
    kind: "cast",
    service: "movie-api",
    collection: "/api/v1/casts",
    docs: "/api/v1/casts",
    table: "casts",
    writes_metric: "movie_api_writes_total",
    create: cast,
    change: Some(Change {
        replace: recast,
        patch: || json!({"nationality": "Italian"}),
    }),
};

const MOVIES: Resource = Resource {
    kind: "movie",
    service: "movie-api",
    collection: "/api/v1/movies",
    docs: "/api/v1/movies",
    table: "movies",
    writes_metric: "movie_api_writes_total",
    create: movie,
    change: Some(Change {
        replace: remade,
        patch: || json!({"title": "Patched", "release_year": null}),
    }),
};

mod casts {
    test_support::conformance_tests!(changes: crate::common::spawn_app, crate::CASTS);
}

mod movies {
    test_support::conformance_tests!(changes: crate::common::spawn_app, crate::MOVIES);
}
