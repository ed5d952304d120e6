//! The HTTP surface: customers as a `resource` (the six handlers and their OpenAPI operations
//! are the shared layer's), the document and Swagger UI.

use crate::store::{Customer, CustomerStore, Customers};
use axum::Router;
use resource::{http::Api, openapi, snapshot, Docs, Endpoint, Snapshots};
use serde::{Deserialize, Serialize};
use utoipa::{Modify, OpenApi, ToSchema};
use utoipa_swagger_ui::SwaggerUi;
use web::auth::AccessPolicy;
use web::openapi::PlatformConventions;

const COLLECTION: &str = "/api/v1/customers";
const EMAIL_TAKEN: &str = "Email already in use";

impl Api for Customers {
    const DOCS: Docs = Docs {
        collection: COLLECTION,
        tag: "customers",
        page: "CustomerPage",
        filters: Docs::no_filters,
        patch: openapi::MERGE_PATCH,
        responses: &[
            (Endpoint::Create, "409", EMAIL_TAKEN),
            (Endpoint::Replace, "409", EMAIL_TAKEN),
            (Endpoint::Patch, "409", EMAIL_TAKEN),
        ],
    };
}

/// One page of customers, newest first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CustomerPage {
    pub items: Vec<Customer>,
    /// Pass as `cursor` to get the next page; null on the last page.
    pub next_cursor: Option<String>,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "customer-api",
        description = "Customers, with every change published as an event"
    ),
    components(schemas(
        crate::store::Customer,
        crate::domain::CustomerInput,
        crate::domain::CustomerPatch,
        CustomerPage,
        web::Problem
    ))
)]
struct ApiDoc;

/// The service's OpenAPI document.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    openapi::add_reads::<Customers>(&mut doc);
    openapi::add_writes::<Customers>(&mut doc);
    openapi::add_snapshots::<Customers>(&mut doc);
    PlatformConventions.modify(&mut doc);
    doc
}

/// The API behind `access` (reads need a token, writes role admin); docs stay open.
pub fn router(
    store: CustomerStore,
    snapshots: Snapshots<Customers>,
    access: &AccessPolicy,
) -> Router {
    let api = access.protect(
        Router::new()
            .nest(COLLECTION, resource::http::crud::<Customers>())
            .with_state(store)
            .merge(snapshot::router(snapshots)),
    );
    web::layers::apply(api.merge(
        SwaggerUi::new("/api/v1/customers/docs").url("/api/v1/customers/openapi.json", document()),
    ))
}
