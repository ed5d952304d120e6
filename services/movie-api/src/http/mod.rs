//! The HTTP surface: routes, the OpenAPI document (one for both resources, served under each),
//! Swagger UI, and the one mapping from store errors to problem responses.

mod casts;
mod genres;
mod movies;

use crate::store::{Catalog, StoreError};
use axum::{
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};
use serde::Serialize;
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;
use uuid::Uuid;
use web::openapi::PlatformConventions;
use web::{auth::AccessPolicy, etag, ApiError, FieldErrors};

pub use casts::CastPage;
pub use genres::GenreList;
pub use movies::MoviePage;

#[derive(OpenApi)]
#[openapi(
    modifiers(&PlatformConventions),
    info(
        title = "movie-api",
        description = "Movies and their casts, with every change published as an event \
            (topics `movies` and `casts`). Errors are `{error, message, details}`; writes accept \
            `If-Match` with the ETag (the version) and answer 412 when it is stale; deletes are \
            soft, and a cast that a live movie still names cannot be deleted (409)."
    ),
    paths(
        casts::create,
        casts::list,
        casts::get_one,
        casts::replace,
        casts::patch,
        casts::delete,
        movies::create,
        movies::list,
        movies::get_one,
        movies::replace,
        movies::patch,
        movies::delete,
        genres::list,
    ),
    components(schemas(
        crate::store::Cast,
        crate::store::Movie,
        crate::domain::CastInput,
        crate::domain::CastPatch,
        crate::domain::MovieInput,
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
pub struct ApiDoc;

/// The API behind `access` (reads need a token, writes role admin); docs stay open.
pub fn router(catalog: Catalog, access: &AccessPolicy) -> Router {
    let api = access.protect(
        Router::new()
            .nest("/api/v1/casts", casts::router())
            .nest("/api/v1/movies", movies::router())
            .route("/api/v1/genres", get(genres::list))
            .with_state(catalog),
    );
    let doc = ApiDoc::openapi();
    web::layers::apply(
        api.merge(
            SwaggerUi::new("/api/v1/movies/docs").url("/api/v1/movies/openapi.json", doc.clone()),
        )
        .merge(SwaggerUi::new("/api/v1/casts/docs").url("/api/v1/casts/openapi.json", doc)),
    )
}

/// `body` as JSON with its version as the ETag.
fn with_etag(status: StatusCode, version: i64, body: impl Serialize) -> Response {
    (status, [(header::ETAG, etag::etag(version))], Json(body)).into_response()
}

/// 201 with `Location: <collection>/<id>`, the ETag and the new resource.
fn created(collection: &str, id: Uuid, body: impl Serialize) -> Response {
    let mut response = with_etag(StatusCode::CREATED, 1, body);
    let location = format!("{collection}/{id}");
    response.headers_mut().insert(
        header::LOCATION,
        location.parse().expect("a path is a valid header"),
    );
    response
}

/// A path id that is not a UUID cannot name anything: 404 like any unknown id.
fn parse_id(kind: &str, raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| ApiError::NotFound(format!("{kind} {raw} not found")))
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { aggregate, id } => {
                ApiError::NotFound(format!("{} {id} not found", aggregate.name))
            }
            StoreError::VersionMismatch { current } => ApiError::PreconditionFailed(format!(
                "If-Match does not match the current version {current}; reload and retry"
            )),
            StoreError::Invalid { details, .. } => ApiError::Validation(details),
            StoreError::UnknownCasts(ids) => ApiError::field(
                "cast_ids",
                format!("unknown or deleted cast id(s): {}", join(&ids)),
            ),
            StoreError::CastInUse { cast, movies } => {
                let named: Vec<String> = movies
                    .iter()
                    .map(|m| format!("{} ({})", m.id, m.title))
                    .collect();
                ApiError::Conflict {
                    message: format!(
                        "cast {cast} is still in {} movie(s): {}; remove it from them or delete them first",
                        movies.len(),
                        named.join(", ")
                    ),
                    details: FieldErrors::from([(
                        "movies".to_owned(),
                        format!("still referenced by {}", named.join(", ")),
                    )]),
                }
            }
            StoreError::Unavailable(cause) => {
                ApiError::Unavailable(format!("database unavailable: {cause}"))
            }
            other => ApiError::internal(other),
        }
    }
}

fn join(ids: &[Uuid]) -> String {
    ids.iter()
        .map(Uuid::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
