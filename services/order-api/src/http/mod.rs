//! The HTTP surface: routes, OpenAPI document, Swagger UI, and the one mapping from store
//! errors to problem responses.

mod generator;
mod orders;

use crate::{
    generator::OrderGenerator,
    store::{OrderStore, Orders},
};
use axum::Router;
use resource::{snapshot, Snapshots};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::SwaggerUi;
use web::auth::AccessPolicy;
use web::openapi::PlatformConventions;

pub use orders::OrderPage;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "order-api",
        description = "Orders, each published as an `order.created` event, and a generator of random orders"
    ),
    paths(orders::create, generator::status, generator::start, generator::stop),
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
struct ApiDoc;

/// The service's OpenAPI document.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    resource::openapi::add_reads::<Orders>(&mut doc);
    resource::openapi::add_snapshots::<Orders>(&mut doc);
    PlatformConventions.modify(&mut doc);
    doc
}

/// The API behind `access` (reads need a token, writes and generator control role admin);
/// docs stay open.
pub fn router(
    store: OrderStore,
    generator: OrderGenerator,
    snapshots: Snapshots<Orders>,
    access: &AccessPolicy,
) -> Router {
    // The static `generator` segment takes precedence over `{id}`.
    let api = access.protect(
        Router::new()
            .nest(
                "/api/v1/orders/generator",
                generator::router().with_state(generator),
            )
            .nest("/api/v1/orders", orders::router().with_state(store))
            .merge(snapshot::router(snapshots)),
    );
    web::layers::apply(api.merge(
        SwaggerUi::new("/api/v1/orders/docs").url("/api/v1/orders/openapi.json", document()),
    ))
}
