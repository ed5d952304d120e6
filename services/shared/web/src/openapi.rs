//! What every API's OpenAPI document states about the conventions the shared layer enforces, so
//! that a client generated from a document sends what the API accepts and expects what it
//! answers: bearer authentication, the error responses the shared extractors and middleware
//! give, the `If-Match` tag format and the paging parameters' ranges.
//!
//! Handlers document what is particular to them; `#[openapi(modifiers(&PlatformConventions))]`
//! adds the rest, without overriding anything a handler documented itself.

use crate::paging::MAX_LIMIT;
use utoipa::openapi::{
    path::{Operation, Parameter, ParameterIn},
    response::{Response, ResponseBuilder},
    schema::{Object, ObjectBuilder, Schema, Type},
    security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme},
    Content, OpenApi, Ref, RefOr,
};
use utoipa::Modify;

/// The name of the bearer scheme in `components.securitySchemes`.
const BEARER: &str = "bearer";

/// What `web::etag::IfMatch` accepts: `*`, or a list of version tags, weak or bare.
pub const IF_MATCH_PATTERN: &str =
    r#"^\s*(\*|((W/)?"[0-9]{1,18}"|[0-9]{1,18})(\s*,\s*((W/)?"[0-9]{1,18}"|[0-9]{1,18}))*)\s*$"#;

pub struct PlatformConventions;

impl Modify for PlatformConventions {
    fn modify(&self, api: &mut OpenApi) {
        let components = api.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A token from the gateway's POST /api/v1/auth/login; writes need role admin",
                    ))
                    .build(),
            ),
        );
        api.security = Some(vec![SecurityRequirement::new(BEARER, Vec::<String>::new())]);
        for item in api.paths.paths.values_mut() {
            let reads = [&mut item.get, &mut item.head];
            let writes = [
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ];
            for op in reads.into_iter().flatten() {
                document(op, false);
            }
            for op in writes.into_iter().flatten() {
                document(op, true);
            }
        }
    }
}

fn document(op: &mut Operation, write: bool) {
    for param in op.parameters.iter_mut().flatten() {
        constrain(param);
    }
    let has_params = op.parameters.as_ref().is_some_and(|p| !p.is_empty());
    let has_body = op.request_body.is_some();
    let mut add = |status: &str, description: &str| {
        op.responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| problem(description));
    };
    add("401", "Missing, malformed or expired bearer token");
    if write {
        add("403", "The token's role may not write (needs admin)");
    }
    if has_params || has_body {
        add(
            "400",
            "Malformed request: a header, query parameter or JSON body",
        );
    }
    if has_body {
        add("413", "Body larger than the limit");
        add("415", "Body is not application/json");
        add(
            "422",
            "A field is missing, of the wrong type or invalid; `details` names it",
        );
    }
    add("503", "The database is unavailable; retry later");
}

/// A response whose body is the platform's error format.
fn problem(description: &str) -> RefOr<Response> {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            Content::new(Some(Ref::from_schema_name("Problem"))),
        )
        .build()
        .into()
}

/// The shared parsers' rules on the parameters they read.
fn constrain(param: &mut Parameter) {
    let schema = match (&param.parameter_in, param.name.as_str()) {
        (ParameterIn::Header, name) if name.eq_ignore_ascii_case("if-match") => {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(IF_MATCH_PATTERN))
                .examples([serde_json::json!("\"3\"")])
                .build()
        }
        (ParameterIn::Query, "limit") => integer(1, MAX_LIMIT),
        (ParameterIn::Query, "offset") => integer(0, i64::MAX),
        (ParameterIn::Query, "cursor") => ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(
                "Opaque: only a `next_cursor` this API returned; anything else is 400",
            ))
            .build(),
        _ => return,
    };
    param.schema = Some(RefOr::T(Schema::Object(schema)));
}

fn integer(min: i64, max: i64) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
            utoipa::openapi::KnownFormat::Int64,
        )))
        .minimum(Some(min))
        .maximum(Some(max))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use utoipa::openapi::{path::OperationBuilder, HttpMethod, PathItem, PathsBuilder};

    fn api_with(method: HttpMethod, op: Operation) -> OpenApi {
        let mut api = OpenApi::new(
            utoipa::openapi::Info::new("t", "1"),
            PathsBuilder::new().path("/x", PathItem::new(method, op)),
        );
        PlatformConventions.modify(&mut api);
        api
    }

    fn statuses(api: &OpenApi, pick: fn(&PathItem) -> &Option<Operation>) -> Vec<String> {
        let op = pick(&api.paths.paths["/x"]).as_ref().unwrap();
        op.responses.responses.keys().cloned().collect()
    }

    #[test]
    fn writes_document_403_and_reads_do_not() {
        let write = api_with(HttpMethod::Delete, OperationBuilder::new().build());
        assert!(statuses(&write, |p| &p.delete).contains(&"403".to_owned()));
        let read = api_with(HttpMethod::Get, OperationBuilder::new().build());
        let read = statuses(&read, |p| &p.get);
        assert!(read.contains(&"401".to_owned()) && !read.contains(&"403".to_owned()));
    }

    #[test]
    fn a_handlers_own_response_is_kept() {
        let op = OperationBuilder::new()
            .response("401", ResponseBuilder::new().description("mine").build())
            .build();
        let api = api_with(HttpMethod::Get, op);
        let RefOr::T(r) = &api.paths.paths["/x"]
            .get
            .as_ref()
            .unwrap()
            .responses
            .responses["401"]
        else {
            panic!("inline response expected")
        };
        assert_eq!(r.description, "mine");
    }

    #[test]
    fn the_if_match_pattern_takes_what_the_parser_takes() {
        let re = regex_lite::Regex::new(IF_MATCH_PATTERN).unwrap();
        for tag in [
            "*",
            "\"3\"",
            "W/\"12\"",
            "3",
            "\"1\", W/\"2\",3",
            "null",
            "\"x\"",
            "3 4",
            "",
            "\"3",
            "+3",
            "W/W/3",
            "1234567890123456789",
            "*, \"3\"",
        ] {
            let parsed = crate::etag::IfMatch::from_headers(&header(tag)).is_ok();
            assert_eq!(re.is_match(tag), parsed, "{tag:?}");
        }
    }

    fn header(value: &str) -> axum::http::HeaderMap {
        let mut h = axum::http::HeaderMap::new();
        h.insert(axum::http::header::IF_MATCH, value.parse().unwrap());
        h
    }
}
