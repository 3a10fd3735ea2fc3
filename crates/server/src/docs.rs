//! The OpenAPI document's frame, and the vendored Swagger UI that shows it.

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde_json::json;
use std::collections::BTreeMap;
use utoipa::openapi::RefOr;
use utoipa::openapi::path::{Operation, ParameterIn};

use utoipa::openapi::schema::{AnyOfBuilder, Object, ObjectBuilder, OneOfBuilder, Schema, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::AppState;
use crate::params::PATH_PARAMS;
use crate::problem::{Problem, error_refs, error_response_components};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Switchboard API",
        description = "Contacts and company directory of a hosted phone system. Errors are \
            `application/problem+json` (RFC 9457); lists page with `next_cursor`; records carry a \
            version, sent as `ETag` and honoured in `If-Match`.",
        license(name = "AGPL-3.0-or-later", identifier = "AGPL-3.0-or-later"),
    ),
    components(schemas(Problem)),
    modifiers(&Frame),
    security(("bearer" = []), ("session_cookie" = [])),
    tags(
        (name = "session", description = "Logging in and out"),
        (name = "tokens", description = "The caller's API tokens"),
        (name = "domains", description = "Tenants"),
        (name = "users", description = "Users of a domain"),
        (name = "shared contacts", description = "A domain's shared address book"),
        (name = "personal contacts", description = "One user's own address book"),
        (name = "directory", description = "The merged directory a user sees, favorites and presence"),
        (name = "presence", description = "Presence fed by a phone system's line states and people's sessions; PBX credentials"),
        (name = "app passwords", description = "Passwords made for one address-book app (CardDAV) each, named and revocable"),
        (name = "webhooks", description = "A domain's directory changes POSTed, signed, to integrations"),
        (name = "chat", description = "Conversations between coworkers of one domain, each person's own"),
        (name = "settings", description = "Layered settings"),
        (name = "trash", description = "Deleted contacts"),
        (name = "audit", description = "Who changed what"),
        (name = "operations", description = "Health and metrics"),
    )
)]
pub struct ApiDoc;

/// Adds what the derive cannot say: security schemes and the shared error responses.
struct Frame;

impl Modify for Frame {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("A login's `token`, or an API token"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session_cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                crate::auth::SESSION_COOKIE,
                "Set by `POST /api/v1/session`; unsafe methods also need `X-CSRF-Token`",
            ))),
        );
        components.responses.extend(error_response_components());
    }
}

// --- What every operation's shape implies ----------------------------------------

/// Operations of the caller alone, which no scope is refused.
const OWN_READS: &[&str] = &["getSession", "listTokens", "streamEvents"];

/// Completes the document with what follows from each operation's shape rather than
/// from its handler: the schema of every path parameter (`params`, which the server
/// checks against), the form of `If-Match`, and the error answers every operation of
/// that shape can give. The annotations state only what the app decides (409, 412, 429).
pub(crate) fn complete(openapi: &mut utoipa::openapi::OpenApi) {
    refine_schemas(openapi);
    for item in openapi.paths.paths.values_mut() {
        let operations = [
            (false, &mut item.get),
            (true, &mut item.put),
            (true, &mut item.post),
            (true, &mut item.delete),
            (true, &mut item.patch),
        ];
        for (changes, operation) in operations {
            if let Some(operation) = operation.as_mut() {
                complete_parameters(operation);
                complete_errors(operation, changes);
            }
        }
    }
}

/// Rules across fields, which the derive cannot state: the object becomes a choice of
/// copies of itself, each with one way of following the rule (a choice of whole objects,
/// since `additionalProperties: false` does not combine with a rule beside it).
fn refine_schemas(openapi: &mut utoipa::openapi::OpenApi) {
    let schemas = &mut openapi.components.as_mut().expect("components").schemas;
    // `ContactFields::parse`: a contact needs a name, a company, a number or an email. The
    // document asks for one of the names, which every client can follow; a contact with
    // only a number or an email is accepted too (an import's rows often are).
    let contact = object(schemas, "ContactInput");
    let named = |field: &str| with_field(&contact, field, |text| text.pattern = Some(NONBLANK_LINE.into()));
    let a_name = AnyOfBuilder::new().item(named("first_name")).item(named("last_name")).item(named("company"));
    schemas.insert("ContactInput".into(), RefOr::T(a_name.description(contact.description.clone()).into()));
    // `add_blocked_number`: a number or a prefix, not both.
    let blocked = object(schemas, "BlockedNumberInput");
    let only = |given: &str, absent: &str| {
        let mut given_only = with_field(&blocked, given, |text| text.schema_type = Type::String.into());
        let null = ObjectBuilder::new().schema_type(Type::Null).build();
        given_only.properties.insert(absent.into(), RefOr::T(Schema::Object(null)));
        given_only
    };
    let number_or_prefix = OneOfBuilder::new().item(only("number", "prefix")).item(only("prefix", "number"));
    schemas.insert(
        "BlockedNumberInput".into(),
        RefOr::T(number_or_prefix.description(blocked.description.clone()).into()),
    );
}

/// A line with something besides spaces in it (see `params` for the characters refused).
const NONBLANK_LINE: &str =
    r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$";

fn object(schemas: &BTreeMap<String, RefOr<Schema>>, name: &str) -> Object {
    match schemas.get(name) {
        Some(RefOr::T(Schema::Object(object))) => object.clone(),
        _ => panic!("schema {name} is documented as an object"),
    }
}

/// A copy of `object` in which `field` is required and changed by `change`.
fn with_field(object: &Object, field: &str, change: impl FnOnce(&mut Object)) -> Object {
    let mut copy = object.clone();
    copy.description = None;
    if !copy.required.iter().any(|name| name == field) {
        copy.required.push(field.into());
    }
    if let Some(RefOr::T(Schema::Object(text))) = copy.properties.get_mut(field) {
        change(text);
    }
    copy
}

fn complete_parameters(operation: &mut Operation) {
    for parameter in operation.parameters.iter_mut().flatten() {
        let schema = match parameter.parameter_in {
            ParameterIn::Path => PATH_PARAMS.iter().find(|p| p.name == parameter.name).map(|p| (p.schema)()),
            ParameterIn::Header if parameter.name == "If-Match" => Some(if_match_schema()),
            _ => None,
        };
        if let Some(schema) = schema {
            parameter.schema = Some(serde_json::from_value(schema).expect("a valid schema"));
        }
    }
}

/// `"3"`, `W/"3"`, `3` or `*` (any version).
fn if_match_schema() -> serde_json::Value {
    json!({ "type": "string", "pattern": "^(\\*|(W/)?\"[0-9]{1,18}\"|[0-9]{1,18})$", "examples": ["\"3\""] })
}

fn complete_errors(operation: &mut Operation, changes: bool) {
    let parameters = operation.parameters.as_deref().unwrap_or_default();
    // A phone's URL token is a credential, refused with 401, never a record not found.
    let has_path = parameters.iter().any(|p| p.parameter_in == ParameterIn::Path && p.name != "token");
    let has_input = !parameters.is_empty() || operation.request_body.is_some();
    let json_body = operation.request_body.as_ref().is_some_and(|body| body.content.contains_key("application/json"));
    let authenticated = operation
        .security
        .as_ref()
        .is_none_or(|requirements| requirements.iter().any(|r| serde_json::to_value(r).is_ok_and(|v| v != json!({}))));
    let id = operation.operation_id.as_deref().unwrap_or_default();
    let mut implied = vec![500, 503];
    if authenticated {
        implied.push(401);
        if changes || !OWN_READS.contains(&id) {
            implied.push(403);
        }
    }
    if has_path {
        implied.push(404);
    }
    if has_input {
        implied.push(422);
    }
    if operation.request_body.is_some() {
        implied.push(413);
    }
    if json_body {
        implied.push(415);
    }
    for (status, reference) in error_refs(&implied) {
        operation.responses.responses.entry(status).or_insert(reference);
    }
}

// --- Swagger UI ------------------------------------------------------------------

const BUNDLE_JS: &[u8] = include_bytes!("../assets/swagger-ui/swagger-ui-bundle.js");
const CSS: &[u8] = include_bytes!("../assets/swagger-ui/swagger-ui.css");

const PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Switchboard API</title>
  <link rel="stylesheet" href="/api/docs/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/api/docs/swagger-ui-bundle.js"></script>
  <script src="/api/docs/init.js"></script>
</body>
</html>
"#;

// A separate file rather than an inline script, so a strict Content-Security-Policy can apply.
const INIT_JS: &str = r##"window.ui = SwaggerUIBundle({
  url: "/api/v1/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  withCredentials: true
});
"##;

fn asset(content_type: &'static str, body: &'static [u8]) -> Response {
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
        // The files change only with the binary.
        (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=86400")),
    ];
    (headers, body).into_response()
}

/// `/api/docs` and its files, all compiled into the binary.
pub fn swagger_ui() -> Router<AppState> {
    Router::new()
        .route("/api/docs", get(|| async { Html(PAGE) }))
        .route("/api/docs/", get(|| async { Html(PAGE) }))
        .route("/api/docs/init.js", get(|| async { asset("text/javascript; charset=utf-8", INIT_JS.as_bytes()) }))
        .route("/api/docs/swagger-ui-bundle.js", get(|| async { asset("text/javascript; charset=utf-8", BUNDLE_JS) }))
        .route("/api/docs/swagger-ui.css", get(|| async { asset("text/css; charset=utf-8", CSS) }))
        .layer(crate::gzip_layer())
}

// --- Lists -----------------------------------------------------------------------
//
// Lists are served as `api::ListPage<T>` / `api::Items<T>`. utoipa 5 inlines the
// argument of a generic schema, so `ListPage<ContactView>` would repeat the whole
// contact schema and client generators would make an anonymous type of it; these
// concrete twins document the same two fields with a `$ref` to the item instead.

macro_rules! page_schema {
    ($($(#[$doc:meta])* $name:ident of $item:ty;)*) => {$(
        $(#[$doc])*
        /// Pass `next_cursor` as `cursor` to get the next page; it is null on the last one.
        #[derive(ToSchema)]
        #[allow(dead_code)] // documents `api::ListPage`, never built
        pub struct $name {
            items: Vec<$item>,
            // Always present, null on the last page.
            #[schema(required = true)]
            next_cursor: Option<String>,
        }
    )*};
}

page_schema! {
    /// A page of contacts.
    ContactPage of switchboard_core::model::ContactView;
    /// A page of groups of possible duplicates, in the order of what they share.
    DuplicatePage of crate::api::contacts::DuplicateGroupView;
    /// A page of users.
    UserPage of switchboard_core::model::User;
    /// A page of domains.
    DomainPage of switchboard_app::DomainView;
    /// A page of directory entries.
    DirectoryPage of switchboard_core::model::DirectoryEntry;
    /// A page of the audit log, newest first.
    AuditPage of switchboard_core::model::AuditEntry;
}

/// The caller's API tokens.
#[derive(ToSchema)]
#[allow(dead_code)] // documents `api::Items<Token>`, never built
pub struct TokenList {
    items: Vec<switchboard_core::model::Token>,
}

/// Names, sorted.
#[derive(ToSchema)]
#[allow(dead_code)] // documents `api::Items<String>`, never built
pub struct NameList {
    items: Vec<String>,
}
