//! Switchboard's HTTP interface: the REST API under `/api/v1`, its OpenAPI document
//! and Swagger UI, `/healthz` and `/metrics`.
//!
//! Handlers translate HTTP to calls on [`App`] and back; they decide nothing about
//! permissions. Every failure leaves as `application/problem+json` ([`problem`]).

mod api;
mod auth;
mod client_addr;
mod dav;
mod docs;
mod extract;
#[doc(hidden)]
pub mod fuzzing;
mod metrics;
mod params;
mod phonebook;
mod portal;
mod problem;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::serve::ListenerExt as _;
use switchboard_app::App;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;

/// How long a request may take before it is answered 503; generous, since a login
/// may be slowed on purpose by the throttle.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// How the HTTP interface behaves; the defaults suit a server reached directly over HTTPS-less localhost.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The proxies (load balancers) whose `X-Forwarded-For` and `Forwarded` headers are
    /// believed; the client's address is the right-most forwarded one not among them
    /// (see the `client_addr` module). Empty: the TCP peer is always the client.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Largest request body accepted; larger ones answer 413.
    pub max_body_bytes: usize,
    /// Mark the session cookie `Secure` (when served over HTTPS).
    pub secure_cookies: bool,
    /// Largest contacts file an import accepts; larger ones answer 413 before they are read.
    pub max_import_bytes: usize,
    /// The server's address as phones reach it, for the settings the portal shows
    /// (`None`: as the page was reached).
    pub public_url: Option<String>,
    /// The LDAP server as phones reach it, `host:port` (`None`: the public host at `ldap_port`).
    pub public_ldap: Option<String>,
    /// The port the directory is served on over LDAP, when it is.
    pub ldap_port: Option<u16>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            trusted_proxies: Vec::new(),
            max_body_bytes: 1024 * 1024,
            secure_cookies: false,
            max_import_bytes: 50 * 1024 * 1024,
            public_url: None,
            public_ldap: None,
            ldap_port: None,
        }
    }
}

/// What every handler can reach.
#[derive(Clone)]
pub(crate) struct AppState {
    pub app: App,
    pub config: Arc<ServerConfig>,
    pub metrics: Arc<metrics::Metrics>,
}

/// The whole HTTP interface, ready to serve.
pub fn router(app: App, config: ServerConfig) -> Router {
    let limits = (config.max_body_bytes, config.max_body_bytes.max(config.max_import_bytes));
    let state = AppState { app, config: Arc::new(config), metrics: Arc::new(metrics::Metrics::new()) };
    let (api, mut openapi) = api::routes().split_for_parts();
    docs::complete(&mut openapi);
    let openapi_json: Arc<str> = to_pretty_json(&openapi).into();
    let serve_openapi = get(move || {
        let body = openapi_json.clone();
        async move {
            ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body.to_string()).into_response()
        }
    });
    let routes = api
        .route("/api/v1/openapi.json", serve_openapi)
        .merge(docs::swagger_ui())
        .merge(portal::routes())
        .merge(phonebook::routes())
        .merge(dav::routes())
        .fallback(|| async { problem::Problem::not_found() });
    with_layers(routes, limits, state.clone()).with_state(state)
}

/// Gzip, when the client accepts it, for what is the same for everyone (the portal's
/// scripts and styles, the API documentation) and for desk phones' books. Portal pages
/// and API answers are not compressed: they hold secrets (CSRF tokens, sessions,
/// contacts) beside text a browser's request chooses (a search), which is what a
/// compression side channel (BREACH) needs.
pub(crate) fn gzip_layer() -> CompressionLayer {
    CompressionLayer::new().gzip(true).no_br().no_deflate().no_zstd()
}

/// The middleware every route gets, innermost first: body limits, timeout, panics
/// as 500 problems, every other error answer as a problem, tracing, metrics.
/// `limits` are the largest JSON body and the largest body at all (an imported file).
fn with_layers(routes: Router<AppState>, limits: (usize, usize), state: AppState) -> Router<AppState> {
    let (max_json, max_any) = limits;
    routes
        // Content-Length over the limit is refused before reading; a streamed body is cut at it.
        .layer(RequestBodyLimitLayer::new(max_any))
        // What extractors (JSON bodies) read at most; imports stream past it to `max_any`.
        .layer(DefaultBodyLimit::max(max_json))
        .layer(middleware::from_fn_with_state(state.clone(), time_limit))
        .layer(CatchPanicLayer::custom(problem::from_panic))
        .layer(middleware::from_fn(problem::ensure_problem))
        .layer(TraceLayer::new_for_http())
        .layer(middleware::from_fn_with_state(state, metrics::track))
}

/// Answers 503 when a request takes longer than [`REQUEST_TIMEOUT`]. An import (its
/// upload, then the import itself, which stops with a clear error at
/// `AppConfig::import_time_limit`) gets that much longer.
async fn time_limit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let is_import = request.method() == axum::http::Method::POST && request.uri().path().ends_with("/import");
    let limit = if is_import { REQUEST_TIMEOUT + state.app.config().import_time_limit } else { REQUEST_TIMEOUT };
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

/// Serves until `shutdown` completes, then lets requests in flight finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: App,
    config: ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // Event streams never finish by themselves: end them, or shutting down would wait forever.
    let closing = app.clone();
    let shutdown = async move {
        shutdown.await;
        closing.close_subscriptions();
    };
    let service = router(app, config).into_make_service_with_connect_info::<SocketAddr>();
    // Answers are written in pieces (streamed multistatus, event streams): with Nagle's
    // algorithm a piece waits for the client's delayed ACK of the one before, 40 ms each.
    let listener = listener.tap_io(|stream| {
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "TCP_NODELAY could not be set on a connection");
        }
    });
    axum::serve(listener, service).with_graceful_shutdown(shutdown).await
}

/// The OpenAPI document, as committed in `docs/openapi.json`.
pub fn openapi_json() -> String {
    let mut openapi = api::routes().split_for_parts().1;
    docs::complete(&mut openapi);
    to_pretty_json(&openapi)
}

fn to_pretty_json(openapi: &utoipa::openapi::OpenApi) -> String {
    let mut text = openapi.to_pretty_json().expect("an OpenAPI document always serializes");
    text.push('\n');
    text
}

/// The document's frame before the routes add their paths.
pub(crate) fn base_openapi() -> utoipa::openapi::OpenApi {
    let mut doc = docs::ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    doc
}

#[cfg(test)]
mod tests {
    use axum::body::{Body, to_bytes};
    use axum::http::Request;
    use switchboard_store::SqliteStore;
    use tower::ServiceExt;

    use super::*;

    async fn state() -> AppState {
        let store = SqliteStore::open_in_memory().await.expect("in-memory store");
        let app = App::new(Arc::new(store), Default::default());
        AppState { app, config: Arc::new(ServerConfig::default()), metrics: Arc::new(metrics::Metrics::new()) }
    }

    #[tokio::test]
    async fn a_panicking_handler_answers_a_500_problem_without_its_message() {
        let state = state().await;
        async fn boom() -> &'static str {
            panic!("secret table name")
        }
        let routes = Router::new().route("/boom", get(boom));
        let service = with_layers(routes, (1024, 1024), state.clone()).with_state(state);
        let response = service.oneshot(Request::get("/boom").body(Body::empty()).unwrap()).await.unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(response.headers()[header::CONTENT_TYPE], problem::PROBLEM_JSON);
        let body = String::from_utf8(to_bytes(response.into_body(), 10_000).await.unwrap().to_vec()).unwrap();
        assert!(body.contains("\"status\":500") && !body.contains("secret"), "{body}");
    }
}
