//! `GET /api/v1/genres`: the genres a movie may have.

use crate::domain::Genre;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct GenreList {
    pub genres: Vec<Genre>,
}

#[utoipa::path(get, path = "/api/v1/genres", tag = "genres",
    responses((status = 200, description = "Every valid genre, alphabetically", body = GenreList)))]
pub async fn list() -> Json<GenreList> {
    Json(GenreList {
        genres: Genre::ALL.to_vec(),
    })
}
