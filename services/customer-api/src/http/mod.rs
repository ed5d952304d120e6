//! The HTTP surface: routes, OpenAPI document, Swagger UI, and the one mapping from store
//! errors to problem responses.

mod customers;

use crate::store::{CustomerStore, StoreError};
use axum::Router;
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;
use web::openapi::PlatformConventions;
use web::{auth::AccessPolicy, ApiError};

pub use customers::CustomerPage;

#[derive(OpenApi)]
#[openapi(
    modifiers(&PlatformConventions),
    info(
        title = "customer-api",
        description = "Customers, with every change published as an event"
    ),
    paths(
        customers::create,
        customers::list,
        customers::get_one,
        customers::replace,
        customers::patch,
        customers::delete
    ),
    components(schemas(
        crate::store::Customer,
        crate::domain::CustomerInput,
        crate::domain::CustomerPatch,
        CustomerPage,
        web::Problem
    ))
)]
pub struct ApiDoc;

/// The API behind `access` (reads need a token, writes role admin); docs stay open.
pub fn router(store: CustomerStore, access: &AccessPolicy) -> Router {
    let api = access.protect(
        Router::new()
            .nest("/api/v1/customers", customers::router())
            .with_state(store),
    );
    web::layers::apply(
        api.merge(
            SwaggerUi::new("/api/v1/customers/docs")
                .url("/api/v1/customers/openapi.json", ApiDoc::openapi()),
        ),
    )
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(id) => ApiError::NotFound(format!("customer {id} not found")),
            StoreError::EmailTaken(email) => ApiError::Conflict {
                message: format!("email {email} is already used by another customer"),
                details: [("email".to_owned(), "already in use".to_owned())].into(),
            },
            StoreError::VersionMismatch { current } => ApiError::PreconditionFailed(format!(
                "If-Match does not match the current version {current}; reload and retry"
            )),
            StoreError::Invalid(details) => ApiError::Validation(details),
            StoreError::Unavailable(cause) => {
                ApiError::Unavailable(format!("database unavailable: {cause}"))
            }
            other => ApiError::internal(other),
        }
    }
}
