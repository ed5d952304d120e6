//! The HTTP surface: casts and movies as `resource`s (the six handlers and their OpenAPI
//! operations are the shared layer's), the genres, one document for all of them (served under
//! each), and Swagger UI.

mod genres;
mod movies;

use crate::domain::{CastInput, MovieInput};
use crate::store::{Cast, Casts, Movie, Movies};
use axum::{routing::get, Router};
use resource::{http::Api, openapi, snapshot, Docs, Endpoint, Snapshots, Store};
use runtime::db::PgPool;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::{IntoParams, Modify, OpenApi, ToSchema};
use utoipa_swagger_ui::SwaggerUi;
use web::openapi::PlatformConventions;
use web::{auth::AccessPolicy, FieldErrors};

pub use genres::GenreList;

const INVALID_MOVIE: &str = "Invalid field, unknown genre or unknown cast id";

impl Api for Casts {
    const DOCS: Docs = Docs {
        collection: "/api/v1/casts",
        tag: "casts",
        page: "CastPage",
        filters: Docs::no_filters,
        patch: openapi::MERGE_PATCH,
        responses: &[(
            Endpoint::Delete,
            "409",
            "A live movie still names this cast; `details.movies` lists them",
        )],
    };
}

impl Api for Movies {
    const DOCS: Docs = Docs {
        collection: "/api/v1/movies",
        tag: "movies",
        page: "MoviePage",
        filters: || movies::MovieListing::into_params(|| None),
        patch: "JSON merge patch: absent fields stay, null clears an optional field",
        responses: &[
            (
                Endpoint::Create,
                "422",
                "Invalid field; an unknown genre names the valid ones, unknown or deleted cast \
                 ids are named under `cast_ids`",
            ),
            (Endpoint::Replace, "422", INVALID_MOVIE),
            (Endpoint::Patch, "422", INVALID_MOVIE),
        ],
    };
    const FILTERS: &'static [&'static str] = &[movies::GENRE, movies::EXPIRING];

    fn filter(
        params: &HashMap<String, String>,
        errors: &mut FieldErrors,
    ) -> crate::store::MovieFilter {
        movies::filter(params, chrono::Utc::now().date_naive(), errors)
    }
}

/// One page of casts, newest first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CastPage {
    pub items: Vec<Cast>,
    /// Pass as `cursor` to get the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// One page of movies, newest first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MoviePage {
    pub items: Vec<Movie>,
    /// Pass as `cursor` (with the same filters) to get the next page; null on the last page.
    pub next_cursor: Option<String>,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "movie-api",
        description = "Movies and their casts, with every change published as an event \
            (topics `movies` and `casts`). Errors are `{error, message, details}`; writes accept \
            `If-Match` with the ETag (the version) and answer 412 when it is stale; deletes are \
            soft, and a cast that a live movie still names cannot be deleted (409)."
    ),
    paths(genres::list),
    components(schemas(
        Cast,
        Movie,
        CastInput,
        crate::domain::CastPatch,
        MovieInput,
        crate::domain::MoviePatch,
        crate::domain::Genre,
        CastPage,
        MoviePage,
        GenreList,
        web::Problem
    )),
    tags(
        (name = "casts", description = "Cast members that movies name by id"),
        (name = "movies", description = "Movies with genres, cast and an expiry date"),
        (name = "genres", description = "The genres a movie may have"),
    )
)]
struct ApiDoc;

/// The service's OpenAPI document.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    openapi::add_reads::<Casts>(&mut doc);
    openapi::add_writes::<Casts>(&mut doc);
    openapi::add_snapshots::<Casts>(&mut doc);
    openapi::add_reads::<Movies>(&mut doc);
    openapi::add_writes::<Movies>(&mut doc);
    openapi::add_snapshots::<Movies>(&mut doc);
    PlatformConventions.modify(&mut doc);
    doc
}

/// The API behind `access` (reads need a token, writes role admin); docs stay open.
pub fn router(
    pool: PgPool,
    (casts, movies): (Snapshots<Casts>, Snapshots<Movies>),
    access: &AccessPolicy,
) -> Router {
    let api = access.protect(
        Router::new()
            .nest(
                Casts::DOCS.collection,
                resource::http::crud::<Casts>().with_state(Store::new(pool.clone())),
            )
            .nest(
                Movies::DOCS.collection,
                resource::http::crud::<Movies>().with_state(Store::new(pool)),
            )
            .route("/api/v1/genres", get(genres::list))
            .merge(snapshot::router(casts))
            .merge(snapshot::router(movies)),
    );
    let doc = document();
    web::layers::apply(
        api.merge(
            SwaggerUi::new("/api/v1/movies/docs").url("/api/v1/movies/openapi.json", doc.clone()),
        )
        .merge(SwaggerUi::new("/api/v1/casts/docs").url("/api/v1/casts/openapi.json", doc)),
    )
}
