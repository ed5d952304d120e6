//! The OpenAPI operations of the generic handlers, generated for each resource from its
//! [`Docs`], with the same paths, schemas and responses a hand-written `#[utoipa::path]` would
//! give. `web::openapi::PlatformConventions` then adds what the shared layer enforces (bearer
//! auth, 401/403/400/413/415/503, the `If-Match` and paging formats), so run it afterwards.

use crate::http::Api;
use crate::snapshot::{Snapshot, SnapshotList};
use utoipa::openapi::{
    header::Header,
    path::{Operation, OperationBuilder, Parameter, ParameterBuilder, ParameterIn},
    request_body::RequestBodyBuilder,
    response::{Response, ResponseBuilder},
    schema::{AdditionalProperties, KnownFormat, ObjectBuilder, SchemaFormat, SchemaType, Type},
    Content, OpenApi, Ref, Required,
};
use utoipa::{PartialSchema, ToSchema};

/// How one resource appears in its API's document.
pub struct Docs {
    /// The collection's path, e.g. `/api/v1/customers`.
    pub collection: &'static str,
    /// The tag, also the plural in descriptions: `customers`.
    pub tag: &'static str,
    /// The schema name of a listing page (`CustomerPage`).
    pub page: &'static str,
    /// The listing's own query parameters, documented after the paging ones.
    pub filters: fn() -> Vec<Parameter>,
    /// What the merge patch body says about `null`.
    pub patch: &'static str,
    /// Responses particular to the resource: added to an operation, or replacing the default
    /// description of that status.
    pub responses: &'static [(Endpoint, &'static str, &'static str)],
}

/// The six operations of a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Create,
    List,
    Get,
    Replace,
    Patch,
    Delete,
}

impl Docs {
    /// No listing filters.
    pub fn no_filters() -> Vec<Parameter> {
        Vec::new()
    }
}

/// A JSON merge patch whose fields are all required once present.
pub const MERGE_PATCH: &str = "JSON merge patch: absent fields stay";

/// Adds the read operations (list, get) of `R` to `api`.
pub fn add_reads<R: Api>(api: &mut OpenApi)
where
    R::Row: ToSchema,
{
    let docs = &R::DOCS;
    let one = format!("{}/{{id}}", docs.collection);
    let kind = R::Row::name();
    let list = operation::<R>("list", docs.tag)
        .parameters(Some(paging().into_iter().chain((docs.filters)())))
        .response(
            "200",
            json(
                &format!("A page of {}, newest first", docs.tag),
                docs.page,
                None,
            ),
        )
        .response("400", problem("Invalid or unknown query parameter"));
    item(api, docs.collection).get = Some(finish::<R>(Endpoint::List, list));
    let get = operation::<R>("get", &kind)
        .parameter(id_param(&kind))
        .response(
            "200",
            json(&format!("The {}", R::AGGREGATE.name), &kind, etag::<R>()),
        )
        .response("404", problem("Unknown or deleted"));
    item(api, &one).get = Some(finish::<R>(Endpoint::Get, get));
}

/// Adds create, replace, patch and delete of `R` to `api`.
pub fn add_writes<R: Api + crate::Mutable>(api: &mut OpenApi)
where
    R::Row: ToSchema,
    R::Input: ToSchema,
    R::Patch: ToSchema,
{
    let docs = &R::DOCS;
    let one = format!("{}/{{id}}", docs.collection);
    let kind = R::Row::name();
    let input = R::Input::name();
    let create = operation::<R>("create", &kind)
        .request_body(Some(body(&input, None)))
        .response("201", {
            let mut created = json("Created", &kind, etag::<R>());
            created.headers.insert("Location".into(), Header::default());
            created
        })
        .response("400", problem("Malformed JSON"))
        .response("413", problem("Body too large"))
        .response("415", problem("Not JSON"))
        .response("422", problem("Invalid field"));
    item(api, docs.collection).post = Some(finish::<R>(Endpoint::Create, create));

    let change = |verb: &str, body, done: &str| {
        operation::<R>(verb, &kind)
            .parameter(id_param(&kind))
            .parameter(if_match())
            .request_body(Some(body))
            .response("200", json(done, &kind, etag::<R>()))
            .response("404", problem("Unknown or deleted"))
            .response("412", problem("If-Match does not match"))
            .response("422", problem("Invalid field"))
    };
    let replace = change("replace", body(&input, None), "Replaced");
    let patch = change(
        "patch",
        body(&R::Patch::name(), Some(docs.patch)),
        "Updated",
    );
    let delete = operation::<R>("delete", &kind)
        .parameter(id_param(&kind))
        .parameter(if_match())
        .response("204", ResponseBuilder::new().description("Deleted").build())
        .response("404", problem("Unknown or already deleted"))
        .response("412", problem("If-Match does not match"));
    let item = item(api, &one);
    item.put = Some(finish::<R>(Endpoint::Replace, replace));
    item.patch = Some(finish::<R>(Endpoint::Patch, patch));
    item.delete = Some(finish::<R>(Endpoint::Delete, delete));
}

/// Adds `<collection>/snapshots` of `R` to `api`: start, list, get, pause, resume, cancel,
/// with a request schema whose `filter` takes exactly the listing's filters.
pub fn add_snapshots<R: Api>(api: &mut OpenApi)
where
    R::Row: ToSchema,
{
    let docs = &R::DOCS;
    let base = format!("{}/snapshots", docs.collection);
    let one = format!("{base}/{{id}}");
    let noun = format!("{}Snapshot", R::Row::name());
    let request = format!("{noun}Request");
    let snapshot = Snapshot::name();
    register_snapshot_schemas::<R>(api, &request);

    let start = operation::<R>("start", &noun)
        .description(Some(format!(
            "Emits an `r` event for each live row in scope ({}), chunk by chunk, while writes \
             go on; a restart resumes it. Without a body: every live row.",
            docs.tag
        )))
        .request_body(Some(
            RequestBodyBuilder::new()
                .description(Some("Optional: a key range, listing filters, a chunk size"))
                .content(
                    "application/json",
                    Content::new(Some(Ref::from_schema_name(&request))),
                )
                .required(Some(Required::False))
                .build(),
        ))
        .response("202", {
            let mut started = json("Started; `Location` shows its progress", &snapshot, None);
            started.headers.insert("Location".into(), Header::default());
            started
        })
        .response("400", problem("Malformed JSON"))
        .response("413", problem("Body too large"))
        .response("415", problem("Not JSON"))
        .response(
            "422",
            problem("Unknown filter, bad filter value or chunk size"),
        );
    let list = operation::<R>("list", &format!("{noun}s"))
        .parameter(query(
            "limit",
            "How many, newest first, 1 to 100 (default 20)",
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(1))
                .maximum(Some(100)),
        ))
        .response(
            "200",
            json("Snapshots, newest first", &SnapshotList::name(), None),
        )
        .response("400", problem("Invalid or unknown query parameter"));
    let path = api.paths.paths.entry(base).or_default();
    path.post = Some(start.build());
    path.get = Some(list.build());

    let get = operation::<R>("get", &noun)
        .parameter(id_param("snapshot"))
        .response(
            "200",
            json("The snapshot and its progress", &snapshot, None),
        )
        .response("404", problem("Unknown snapshot"));
    item(api, &one).get = Some(get.build());
    for (verb, done) in [
        ("pause", "Paused: no chunk runs after this answer"),
        ("resume", "Running again from where it stopped"),
        ("cancel", "Cancelled: the rows emitted so far stay emitted"),
    ] {
        let change = operation::<R>(verb, &noun)
            .parameter(id_param("snapshot"))
            .response("200", json(done, &snapshot, None))
            .response("404", problem("Unknown snapshot"))
            .response("409", problem("Not in a state this can leave"));
        item(api, &format!("{one}/{verb}")).post = Some(change.build());
    }
}

/// The snapshot schemas, and `R`'s request schema whose filters are its listing's.
fn register_snapshot_schemas<R: Api>(api: &mut OpenApi, request: &str) {
    let filter = (R::DOCS.filters)().into_iter().fold(
        ObjectBuilder::new()
            .description(Some(
                "Listing filters, read as the listing reads its query parameters (the text of a \
                 number is taken too)",
            ))
            .additional_properties(Some(AdditionalProperties::FreeForm(false))),
        |object, parameter| match parameter.schema {
            Some(schema) => object.property(parameter.name, schema),
            None => object,
        },
    );
    // Each may be null, as good as left out.
    let or_null = |kind: Type| SchemaType::from_iter([kind, Type::Null]);
    let uuid = |description: &str| {
        ObjectBuilder::new()
            .schema_type(or_null(Type::String))
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
            .description(Some(description))
    };
    // A JSON null body, like no body, means every live row.
    let body = ObjectBuilder::new()
        .schema_type(or_null(Type::Object))
        .property("filter", filter)
        .property("from_id", uuid("Only ids from this one (inclusive)"))
        .property("to_id", uuid("Only ids up to this one (inclusive)"))
        .property(
            "chunk_size",
            ObjectBuilder::new()
                .schema_type(or_null(Type::Integer))
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int32)))
                .minimum(Some(1))
                .maximum(Some(crate::snapshot::MAX_CHUNK_SIZE))
                .description(Some("Rows per chunk (one transaction)")),
        )
        .additional_properties(Some(AdditionalProperties::FreeForm(false)));
    let components = api.components.get_or_insert_with(Default::default);
    components
        .schemas
        .insert(request.to_owned(), body.build().into());
    let mut schemas = vec![
        (Snapshot::name().into_owned(), Snapshot::schema()),
        (SnapshotList::name().into_owned(), SnapshotList::schema()),
    ];
    Snapshot::schemas(&mut schemas);
    SnapshotList::schemas(&mut schemas);
    components.schemas.extend(schemas);
}

fn item<'a>(api: &'a mut OpenApi, path: &str) -> &'a mut utoipa::openapi::PathItem {
    api.paths.paths.entry(path.to_owned()).or_default()
}

/// An operation tagged with the resource, its id unique in a document naming several
/// resources (`createCast`, `listCasts`).
fn operation<R: Api>(verb: &str, noun: &str) -> OperationBuilder {
    OperationBuilder::new()
        .tag(R::DOCS.tag)
        .operation_id(Some(format!("{verb}{}", capitalized(noun))))
}

/// The operation with the resource's own responses applied.
fn finish<R: Api>(op: Endpoint, builder: OperationBuilder) -> Operation {
    let mut operation = builder.build();
    for (_, status, description) in R::DOCS.responses.iter().filter(|(o, ..)| *o == op) {
        operation
            .responses
            .responses
            .insert((*status).to_owned(), problem(description).into());
    }
    operation
}

fn capitalized(noun: &str) -> String {
    let mut chars = noun.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn paging() -> Vec<Parameter> {
    let integer = || {
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
    };
    vec![
        query("limit", "Page size, 1 to 100 (default 20)", integer()),
        query(
            "cursor",
            "`next_cursor` of the previous page",
            ObjectBuilder::new().schema_type(Type::String),
        ),
        query("offset", "Rows to skip (instead of a cursor)", integer()),
    ]
}

fn query(name: &str, description: &str, schema: ObjectBuilder) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Query)
        .required(Required::False)
        .description(Some(description))
        .schema(Some(schema.build()))
        .build()
}

fn id_param(kind: &str) -> Parameter {
    ParameterBuilder::new()
        .name("id")
        .parameter_in(ParameterIn::Path)
        .required(Required::True)
        .description(Some(format!("{kind} id")))
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
                .build(),
        ))
        .build()
}

fn if_match() -> Parameter {
    ParameterBuilder::new()
        .name("If-Match")
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some("Expected version as ETag, e.g. \"3\""))
        .schema(Some(ObjectBuilder::new().schema_type(Type::String).build()))
        .build()
}

fn body(schema: &str, description: Option<&str>) -> utoipa::openapi::request_body::RequestBody {
    RequestBodyBuilder::new()
        .description(description)
        .content(
            "application/json",
            Content::new(Some(Ref::from_schema_name(schema))),
        )
        .required(Some(Required::True))
        .build()
}

fn etag<R: Api>() -> Option<&'static str> {
    R::VERSIONED.then_some("ETag")
}

fn json(description: &str, schema: &str, header: Option<&str>) -> Response {
    let mut response = ResponseBuilder::new().description(description).content(
        "application/json",
        Content::new(Some(Ref::from_schema_name(schema))),
    );
    if let Some(name) = header {
        response = response.header(name, Header::default());
    }
    response.build()
}

fn problem(description: &str) -> Response {
    json(description, "Problem", None)
}
