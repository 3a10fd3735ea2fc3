//! Live change events as Server-Sent Events, for apps and for the portal's pages.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::response::sse::{self, KeepAlive, Sse};
use futures::{Stream, StreamExt};
use serde::Deserialize;
use switchboard_app::{App, Caller, Notice};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::auth::Auth;
use crate::extract::ApiQuery;
use crate::problem::{ApiResult, ReadErrors, Throttled};

/// A comment is sent after this long without events, so proxies keep the connection open.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// Tells nginx-style proxies not to buffer the stream.
const NO_BUFFERING: (HeaderName, HeaderValue) =
    (HeaderName::from_static("x-accel-buffering"), HeaderValue::from_static("no"));

/// The names of the stream's events.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)] // documents `sse_event`, never built
pub enum StreamEventName {
    Contact,
    Presence,
    User,
    Settings,
    Chat,
    Resync,
    Change,
    Cursor,
}

/// One event of the stream, as an SSE parser reads it (`id:`, `event:` and `data:` lines).
#[derive(ToSchema)]
#[allow(dead_code)] // documents `sse_event`, never built
pub struct StreamEvent {
    /// On `cursor` events only: the place to resume from (`Last-Event-ID`).
    id: Option<String>,
    event: StreamEventName,
    /// The change as a JSON object whose `kind` is the event's name; `{}` for `resync`.
    #[schema(content_media_type = "application/json", example = json!("{\"kind\":\"contact\",\"book\":\"shared\",\"contact_id\":\"0198f3c2-6b1e-7a50-9f2d-3c4b5a697887\",\"action\":\"created\"}"))]
    data: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StreamParams {
    /// Also send the changes of one's directory from its feed, with ids to resume from.
    pub changes: Option<bool>,
}

/// Changes the caller may see in their own domain, as they happen: `text/event-stream`.
///
/// Each event's name is its kind and its data a JSON object with that `kind`:
/// `contact` (`book`: `shared` or `personal` with `owner_id`; `contact_id`, absent
/// for an import; `action`: `created`, `updated`, `deleted`, `restored` or
/// `imported`), `presence` and `user` (`user_id`), `settings`, `chat` (`between`: the two
/// people's ids; only they are told). These say *that* something changed, at once.
///
/// With `changes=true`, a user's stream also follows their directory feed (as
/// `GET …/directory/changes` does): within about 5 seconds of a change it sends each
/// change of their directory as a `change` event (`{entry_id, op, entry}`), then a
/// `cursor` event (`{cursor}`) whose `id` is a cursor of that feed. A client that
/// reconnects with `Last-Event-ID` (browsers do by themselves) is first told every change
/// since that id, so nothing is lost while it was away; changes since the last `cursor`
/// may be told again; a stream that falls behind catches up from the feed. Without it, a
/// stream that falls behind is sent `resync` (data `{}`), as when an id can no longer be
/// resumed (it expired): reload what is shown. A comment comes every 15 seconds while nothing happens. The stream ends when the session does, or when the server
/// shuts down (reconnect then). A user may have 16 streams open at once (one per tab or
/// app); more are answered 429.
#[utoipa::path(get, path = "/api/v1/events", operation_id = "streamEvents", tag = "events", params(StreamParams),
    responses(
        (status = 200, description = "Events as they happen, until the session ends; the schema is that of one event",
            content_type = "text/event-stream", body = StreamEvent),
        ReadErrors, Throttled,
    ))]
pub async fn stream(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(params): ApiQuery<StreamParams>,
    headers: HeaderMap,
) -> ApiResult<([(HeaderName, HeaderValue); 1], Sse<impl Stream<Item = Result<sse::Event, Infallible>>>)> {
    let last_event_id = headers.get("last-event-id").and_then(|value| value.to_str().ok());
    // Ids are only ever given to a stream that follows the feed: one that resumes does.
    let follow = params.changes.unwrap_or(false) || last_event_id.is_some();
    let events = event_stream(&state.app, &caller, follow, last_event_id).await?;
    Ok(([NO_BUFFERING], Sse::new(events).keep_alive(KeepAlive::new().interval(KEEP_ALIVE))))
}

/// The events `caller` may see, as SSE events, from now until their session ends or
/// the server shuts down. Subscribed before it returns, so a change made once it has
/// returned is never missed.
pub(crate) async fn event_stream(
    app: &App,
    caller: &Caller,
    follow_feed: bool,
    last_event_id: Option<&str>,
) -> switchboard_app::Result<impl Stream<Item = Result<sse::Event, Infallible>> + Send + use<>> {
    // An open stream is a session of its user: connected (for chat) while it is open.
    // Opened first, so the stream does not tell its own user they connected.
    let session = app.open_session(caller).await?;
    let subscription = app.subscribe_from(caller, follow_feed, last_event_id).await?;
    Ok(subscription.into_stream().map(move |notice| {
        let _open = &session;
        Ok(sse_event(notice))
    }))
}

fn sse_event(notice: Notice) -> sse::Event {
    match notice {
        Notice::Event(event) => {
            let data = serde_json::to_string(&event.kind).expect("an event always serializes");
            sse::Event::default().event(event.kind.name()).data(data)
        }
        // Browsers drop an event without data, so it carries an empty object.
        Notice::Resync => sse::Event::default().event("resync").data("{}"),
        Notice::Change(change) => {
            let data = serde_json::to_string(&change).expect("a change always serializes");
            sse::Event::default().event("change").data(data)
        }
        Notice::Cursor(cursor) => {
            let data = serde_json::json!({ "cursor": cursor }).to_string();
            sse::Event::default().event("cursor").id(cursor).data(data)
        }
    }
}
