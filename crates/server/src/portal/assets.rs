//! The portal's static files, compiled into the binary.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::AppState;

/// Name, content type and content of each asset.
const ASSETS: &[(&str, &str, &[u8])] = &[
    ("htmx.min.js", "text/javascript", include_bytes!("../../assets/portal/htmx.min.js")),
    ("app.js", "text/javascript", include_bytes!("../../assets/portal/app.js")),
    ("chat.js", "text/javascript", include_bytes!("../../assets/portal/chat.js")),
    ("app.css", "text/css", include_bytes!("../../assets/portal/app.css")),
    ("icons.svg", "image/svg+xml", include_bytes!("../../assets/portal/icons.svg")),
    ("favicon.svg", "image/svg+xml", include_bytes!("../../assets/portal/favicon.svg")),
];

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/assets/{name}", get(asset)).layer(crate::gzip_layer())
}

async fn asset(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|(asset, ..)| *asset == name) {
        Some((_, content_type, bytes)) => (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
                // Short enough that a new release reaches every browser within minutes.
                (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=600")),
            ],
            *bytes,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
