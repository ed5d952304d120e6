//! The HTTP surface: routes, OpenAPI document, Swagger UI, and the one mapping from store
//! errors to problem responses.

mod generator;
mod orders;

use crate::{
    generator::OrderGenerator,
    store::{OrderStore, StoreError},
};
use axum::Router;
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;
use web::openapi::PlatformConventions;
use web::{auth::AccessPolicy, ApiError};

pub use orders::OrderPage;

#[derive(OpenApi)]
#[openapi(
    modifiers(&PlatformConventions),
    info(
        title = "order-api",
        description = "Orders, each published as an `order.created` event, and a generator of random orders"
    ),
    paths(
        orders::create,
        orders::list,
        orders::get_one,
        generator::status,
        generator::start,
        generator::stop
    ),
    components(schemas(
        crate::store::Order,
        crate::domain::OrderInput,
        crate::domain::GeneratorStart,
        crate::generator::GeneratorStatus,
        crate::generator::RunState,
        OrderPage,
        web::Problem
    ))
)]
pub struct ApiDoc;

/// The API behind `access` (reads need a token, writes and generator control role admin);
/// docs stay open.
pub fn router(store: OrderStore, generator: OrderGenerator, access: &AccessPolicy) -> Router {
    // The static `generator` segment takes precedence over `{id}`.
    let api = access.protect(
        Router::new()
            .nest(
                "/api/v1/orders/generator",
                generator::router().with_state(generator),
            )
            .nest("/api/v1/orders", orders::router().with_state(store)),
    );
    web::layers::apply(api.merge(
        SwaggerUi::new("/api/v1/orders/docs").url("/api/v1/orders/openapi.json", ApiDoc::openapi()),
    ))
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(id) => ApiError::NotFound(format!("order {id} not found")),
            StoreError::Invalid(details) => ApiError::Validation(details),
            StoreError::Unavailable(cause) => {
                ApiError::Unavailable(format!("database unavailable: {cause}"))
            }
            other => ApiError::internal(other),
        }
    }
}
