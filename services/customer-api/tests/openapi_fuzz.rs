//! Schemathesis, a property-based fuzzer, against the OpenAPI document this API serves, with
//! an admin token: no 5xx, every answer as documented, every error in the platform's format,
//! schema-valid input accepted and schema-violating input refused.

mod common;

use common::{spawn_app, token};
use web::auth::Role;

#[tokio::test]
async fn the_api_holds_to_its_openapi_document_under_property_based_fuzzing() {
    let app = spawn_app().await;
    let document = format!("{}/api/v1/customers/openapi.json", app.base);
    test_support::fuzz::fuzz_openapi(&document, &token(Role::Admin)).await;
}
