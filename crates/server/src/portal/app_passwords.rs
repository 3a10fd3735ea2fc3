//! The "Address book apps (CardDAV)" section of the account page: the address and user
//! name to type into a contacts app (and the address as a QR code), the user's app
//! passwords (name, created, last used, revoke), and making one: its secret shown once,
//! with an Apple configuration profile (`.mobileconfig`) holding the whole account for
//! iPhone, iPad and Mac. The rules are in `app::app_passwords`.
//!
//! The profile is built when the app password is made and handed to the page as a
//! `data:` link, so the secret never has to be kept or asked for again; it is unsigned
//! (the device says so when it is installed).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde_json::json;
use switchboard_app::{AppError, AppPasswordInput, CreatedAppPassword};
use switchboard_core::model::AppPassword;
use uuid::Uuid;

use super::phones::public_address;
use super::{PortalResult, Viewer, capitalize, html, timestamp, triggers};
use crate::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/account/app-passwords", get(panel).post(create))
        .route("/account/app-passwords/{id}/revoke", post(revoke))
}

/// Where address-book apps reach the server, as the page shows it.
pub(super) struct CardDavAddress {
    /// The server's public base URL and `/dav/`.
    pub url: String,
    /// The login to type: `200@acme.example`.
    pub username: String,
    /// The URL as a QR code: an SVG image in a `data:` URL.
    pub qr_code: Option<String>,
}

impl CardDavAddress {
    pub(super) fn of(state: &AppState, headers: &HeaderMap, viewer: &Viewer) -> CardDavAddress {
        let base = public_address(state, headers).base_url;
        let url = format!("{}/dav/", base.trim_end_matches('/'));
        let username = format!("{}@{}", viewer.extension(), viewer.domain().name);
        let qr_code = qr_code(&url);
        CardDavAddress { url, username, qr_code }
    }
}

/// `text` as a QR code: an SVG in a `data:` URL (allowed for images by the portal's
/// policy), black on white with the quiet zone around it; `None` if too long to encode.
fn qr_code(text: &str) -> Option<String> {
    let code = qrcode::QrCode::new(text.as_bytes()).ok()?;
    let svg = code.render::<qrcode::render::svg::Color>().min_dimensions(160, 160).build();
    Some(format!("data:image/svg+xml;base64,{}", STANDARD.encode(svg)))
}

/// An app password as its row shows it.
struct AppPasswordRow {
    id: Uuid,
    name: String,
    created: String,
    last_used: String,
}

impl AppPasswordRow {
    fn of(app_password: AppPassword) -> AppPasswordRow {
        AppPasswordRow {
            id: app_password.id,
            name: app_password.name,
            created: timestamp(app_password.created_at),
            last_used: app_password.last_used_at.map_or_else(|| "Never".into(), timestamp),
        }
    }
}

/// An app password just made, as the page shows it this once.
struct Created {
    name: String,
    secret: String,
    /// The `.mobileconfig` for Apple devices, as a `data:` URL.
    profile: String,
}

/// The section's changing part: the list, the form, and a secret just made.
#[derive(Template, Default)]
#[template(path = "account_app_passwords.html")]
pub(super) struct AppPasswordPanel {
    rows: Vec<AppPasswordRow>,
    /// What was typed, kept when refused.
    name: String,
    error: Option<String>,
    created: Option<Created>,
}

impl AppPasswordPanel {
    pub(super) async fn load(state: &AppState, viewer: &Viewer) -> PortalResult<AppPasswordPanel> {
        let (domain, ext) = (viewer.domain_name(), viewer.extension());
        let app_passwords = state.app.list_app_passwords(&viewer.caller, &domain, &ext).await?;
        Ok(AppPasswordPanel { rows: app_passwords.into_iter().map(AppPasswordRow::of).collect(), ..Default::default() })
    }
}

async fn panel(State(state): State<AppState>, viewer: Viewer) -> PortalResult<Response> {
    html(&AppPasswordPanel::load(&state, &viewer).await?)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct NameForm {
    name: String,
}

async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    viewer: Viewer,
    Form(form): Form<NameForm>,
) -> PortalResult<Response> {
    let (domain, ext) = (viewer.domain_name(), viewer.extension());
    let input = AppPasswordInput { name: form.name.clone() };
    let created = state.app.create_app_password(&viewer.caller, &domain, &ext, input).await;
    let mut panel = AppPasswordPanel::load(&state, &viewer).await?;
    match created {
        Ok(created) => {
            let address = CardDavAddress::of(&state, &headers, &viewer);
            let message = format!("Made the app password for {}", created.app_password.name);
            panel.created = Some(Created {
                profile: format!(
                    "data:application/x-apple-aspen-config;base64,{}",
                    STANDARD.encode(mobileconfig(&address, &created))
                ),
                name: created.app_password.name,
                secret: created.secret,
            });
            Ok(triggers(json!({ "toast": { "message": message } }), html(&panel)?))
        }
        Err(AppError::Invalid(invalid)) => {
            panel.name = form.name;
            panel.error = invalid.0.first().map(|e| capitalize(&e.message));
            Ok((StatusCode::UNPROCESSABLE_ENTITY, html(&panel)?).into_response())
        }
        Err(AppError::Conflict(message)) => {
            panel.name = form.name;
            panel.error = Some(capitalize(&message));
            Ok((StatusCode::CONFLICT, html(&panel)?).into_response())
        }
        Err(other) => Err(other.into()),
    }
}

async fn revoke(State(state): State<AppState>, viewer: Viewer, Path(id): Path<Uuid>) -> PortalResult<Response> {
    let (domain, ext) = (viewer.domain_name(), viewer.extension());
    state.app.revoke_app_password(&viewer.caller, &domain, &ext, id).await?;
    let panel = AppPasswordPanel::load(&state, &viewer).await?;
    let message = "Revoked: the app using it can no longer sign in";
    Ok(triggers(json!({ "toast": { "message": message } }), html(&panel)?))
}

/// Where a CardDAV account points, as a profile states it.
#[derive(Debug, PartialEq, Eq)]
struct Endpoint {
    host: String,
    port: u16,
    ssl: bool,
    /// The DAV root's path (`/dav/`, after the base URL's own path if it has one).
    path: String,
}

fn endpoint(dav_url: &str) -> Endpoint {
    let uri: Uri = dav_url.parse().unwrap_or_else(|_| Uri::from_static("http://localhost/dav/"));
    let ssl = uri.scheme_str() == Some("https");
    Endpoint {
        host: uri.host().unwrap_or("localhost").trim_start_matches('[').trim_end_matches(']').to_string(),
        port: uri.port_u16().unwrap_or(if ssl { 443 } else { 80 }),
        ssl,
        path: uri.path().to_string(),
    }
}

/// An Apple configuration profile with one CardDAV account (`com.apple.carddav.account`)
/// holding the address, the user name and the app password just made. The app
/// password's id names the profile, so installing it again replaces it.
fn mobileconfig(address: &CardDavAddress, created: &CreatedAppPassword) -> String {
    let at = endpoint(&address.url);
    let id = created.app_password.id;
    let reversed: Vec<&str> = at.host.split('.').rev().collect();
    let identifier = format!("{}.switchboard.carddav.{id}", reversed.join("."));
    let title = format!("Contacts of {}", address.username);
    let account = format!(
        "<dict>\n\
         <key>CardDAVAccountDescription</key><string>{title}</string>\n\
         <key>CardDAVHostName</key><string>{host}</string>\n\
         <key>CardDAVPort</key><integer>{port}</integer>\n\
         <key>CardDAVUseSSL</key><{ssl}/>\n\
         <key>CardDAVUsername</key><string>{username}</string>\n\
         <key>CardDAVPassword</key><string>{password}</string>\n\
         <key>CardDAVPrincipalURL</key><string>{path}</string>\n\
         <key>PayloadDisplayName</key><string>{title}</string>\n\
         <key>PayloadIdentifier</key><string>{identifier}.account</string>\n\
         <key>PayloadType</key><string>com.apple.carddav.account</string>\n\
         <key>PayloadUUID</key><string>{account_uuid}</string>\n\
         <key>PayloadVersion</key><integer>1</integer>\n\
         </dict>",
        title = xml(&title),
        host = xml(&at.host),
        port = at.port,
        ssl = at.ssl,
        username = xml(&address.username),
        password = xml(&created.secret),
        path = xml(&at.path),
        identifier = xml(&identifier),
        account_uuid = Uuid::now_v7().to_string().to_uppercase(),
    );
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n\
         <plist version=\"1.0\">\n<dict>\n\
         <key>PayloadContent</key>\n<array>\n{account}\n</array>\n\
         <key>PayloadDescription</key><string>{description}</string>\n\
         <key>PayloadDisplayName</key><string>{title}</string>\n\
         <key>PayloadIdentifier</key><string>{identifier}</string>\n\
         <key>PayloadRemovalDisallowed</key><false/>\n\
         <key>PayloadType</key><string>Configuration</string>\n\
         <key>PayloadUUID</key><string>{uuid}</string>\n\
         <key>PayloadVersion</key><integer>1</integer>\n\
         </dict>\n</plist>\n",
        description = xml(&format!(
            "Adds the Switchboard contacts of {} (app password \"{}\")",
            address.username, created.app_password.name
        )),
        title = xml(&title),
        identifier = xml(&identifier),
        uuid = id.to_string().to_uppercase(),
    )
}

/// Text as XML character data.
fn xml(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_endpoint_comes_from_the_address() {
        let expect = |host: &str, port, ssl, path: &str| Endpoint { host: host.into(), port, ssl, path: path.into() };
        assert_eq!(endpoint("https://pbx.example.net/dav/"), expect("pbx.example.net", 443, true, "/dav/"));
        assert_eq!(endpoint("http://10.0.0.5:8080/dav/"), expect("10.0.0.5", 8080, false, "/dav/"));
        assert_eq!(endpoint("https://example.net:8443/sb/dav/"), expect("example.net", 8443, true, "/sb/dav/"));
        assert_eq!(endpoint("http://[::1]:8080/dav/"), expect("::1", 8080, false, "/dav/"));
    }

    #[test]
    fn xml_text_is_escaped() {
        assert_eq!(xml(r#"Ann & "Bo" <b>"#), "Ann &amp; &quot;Bo&quot; &lt;b&gt;");
    }

    #[test]
    fn a_qr_code_is_an_svg_image() {
        let url = qr_code("https://pbx.example.net/dav/").unwrap();
        let svg = STANDARD.decode(url.strip_prefix("data:image/svg+xml;base64,").unwrap()).unwrap();
        let svg = String::from_utf8(svg).unwrap();
        assert!(svg.contains("<svg") && svg.contains("<path"), "{svg}");
    }
}
