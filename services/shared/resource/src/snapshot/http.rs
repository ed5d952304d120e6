//! `<collection>/snapshots`: start a snapshot (admin), watch its progress, pause, resume or
//! cancel it. Answers in the platform's problem format like every other route.

use super::{Snapshot, SnapshotRequest, Snapshots, Transition};
use crate::http::Api;
use axum::{
    extract::{Path, Query, State},
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::ToSchema;
use uuid::Uuid;
use web::{json::OptionalJson, ApiError, FieldErrors};

/// The snapshots of a resource, newest first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SnapshotList {
    pub items: Vec<Snapshot>,
}

const DEFAULT_LIMIT: i64 = 20;
const MAX_LIMIT: i64 = 100;

/// The routes under `R`'s collection, with their state.
pub fn router<R: Api>(snapshots: Snapshots<R>) -> Router {
    let base = format!("{}/snapshots", R::DOCS.collection);
    let one = format!("{base}/{{id}}");
    Router::new()
        .route(&base, get(list::<R>).post(start::<R>))
        .route(&one, get(get_one::<R>))
        .route(&format!("{one}/pause"), post(pause::<R>))
        .route(&format!("{one}/resume"), post(resume::<R>))
        .route(&format!("{one}/cancel"), post(cancel::<R>))
        .with_state(snapshots)
}

/// 202: the snapshot runs in the background; `Location` is where to watch it.
async fn start<R: Api>(
    State(snapshots): State<Snapshots<R>>,
    OptionalJson(request): OptionalJson<SnapshotRequest>,
) -> Result<Response, ApiError> {
    let snapshot = snapshots.start(request).await?;
    let location = format!("{}/snapshots/{}", R::DOCS.collection, snapshot.id);
    let mut response = (StatusCode::ACCEPTED, Json(snapshot)).into_response();
    response.headers_mut().insert(
        header::LOCATION,
        HeaderValue::from_str(&location).expect("a path is a valid header"),
    );
    Ok(response)
}

async fn list<R: Api>(
    State(snapshots): State<Snapshots<R>>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<SnapshotList>, ApiError> {
    let mut errors = FieldErrors::new();
    let mut limit = DEFAULT_LIMIT;
    for (name, value) in &params {
        match (name.as_str(), value.parse::<i64>()) {
            ("limit", Ok(n)) if (1..=MAX_LIMIT).contains(&n) => limit = n,
            ("limit", _) => {
                errors.insert(name.clone(), format!("must be from 1 to {MAX_LIMIT}"));
            }
            _ => {
                errors.insert(name.clone(), "unknown parameter; known: limit".to_owned());
            }
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::InvalidQuery(errors));
    }
    Ok(Json(SnapshotList {
        items: snapshots.list(limit).await?,
    }))
}

async fn get_one<R: Api>(
    State(snapshots): State<Snapshots<R>>,
    Path(id): Path<String>,
) -> Result<Json<Snapshot>, ApiError> {
    Ok(Json(snapshots.get(parse_id(&id)?).await?))
}

async fn pause<R: Api>(
    state: State<Snapshots<R>>,
    id: Path<String>,
) -> Result<Json<Snapshot>, ApiError> {
    change(state, id, Transition::Pause).await
}

async fn resume<R: Api>(
    state: State<Snapshots<R>>,
    id: Path<String>,
) -> Result<Json<Snapshot>, ApiError> {
    change(state, id, Transition::Resume).await
}

async fn cancel<R: Api>(
    state: State<Snapshots<R>>,
    id: Path<String>,
) -> Result<Json<Snapshot>, ApiError> {
    change(state, id, Transition::Cancel).await
}

async fn change<R: Api>(
    State(snapshots): State<Snapshots<R>>,
    Path(id): Path<String>,
    to: Transition,
) -> Result<Json<Snapshot>, ApiError> {
    Ok(Json(snapshots.change(parse_id(&id)?, to).await?))
}

fn parse_id(raw: &str) -> Result<Uuid, ApiError> {
    crate::http::path_id("snapshot", raw)
}
