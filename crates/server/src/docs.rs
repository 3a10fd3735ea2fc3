//! The OpenAPI document's frame, and the vendored Swagger UI that shows it.

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::AppState;
use crate::problem::{Problem, error_response_components};

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
