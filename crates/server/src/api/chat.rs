//! Chat between coworkers of one domain: a user's conversations and their messages.
//! Only the user themself reads or writes them.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use switchboard_app::{ChatPageParams, ConversationList, MessageList};
use switchboard_core::chat::{ChatInput, ChatMessage, ReadMark};
use uuid::Uuid;

use crate::AppState;
use crate::auth::Auth;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::problem::{ActionErrors, ApiResult, ListErrors, Throttled};

/// The user's conversations, the most recent first, with unread counts.
#[utoipa::path(get, path = "/api/v1/domains/{domain}/users/{ext}/chats", operation_id = "listChats", tag = "chat",
    params(("domain" = String, Path, description = "Domain name"), ("ext" = String, Path, description = "The user's extension"),
        ChatPageParams),
    responses((status = 200, description = "A page of conversations", body = ConversationList), ListErrors))]
pub async fn conversations(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiPath((domain, ext)): ApiPath<(String, String)>,
    ApiQuery(params): ApiQuery<ChatPageParams>,
) -> ApiResult<Json<ConversationList>> {
    Ok(Json(state.app.conversations(&caller, &domain, &ext, &params).await?))
}

/// The messages of the user's conversation with `peer`, newest first; those from `peer`
/// count as delivered from now on.
#[utoipa::path(get, path = "/api/v1/domains/{domain}/users/{ext}/chats/{peer}/messages", operation_id = "listChatMessages", tag = "chat",
    params(("domain" = String, Path, description = "Domain name"), ("ext" = String, Path, description = "The user's extension"),
        ("peer" = String, Path, description = "The other person's extension"), ChatPageParams),
    responses((status = 200, description = "A page of messages", body = MessageList), ListErrors))]
pub async fn messages(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiPath((domain, ext, peer)): ApiPath<(String, String, String)>,
    ApiQuery(params): ApiQuery<ChatPageParams>,
) -> ApiResult<Json<MessageList>> {
    Ok(Json(state.app.chat_messages(&caller, &domain, &ext, &peer, &params).await?))
}

/// Sends a message to `peer`: a coworker listed in the directory, or someone who wrote
/// to the user before.
#[utoipa::path(post, path = "/api/v1/domains/{domain}/users/{ext}/chats/{peer}/messages", operation_id = "sendChatMessage", tag = "chat", request_body = ChatInput,
    params(("domain" = String, Path, description = "Domain name"), ("ext" = String, Path, description = "The user's extension"),
        ("peer" = String, Path, description = "The other person's extension")),
    responses((status = 201, description = "The message sent", body = ChatMessage), Throttled))]
pub async fn send(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiPath((domain, ext, peer)): ApiPath<(String, String, String)>,
    ApiJson(input): ApiJson<ChatInput>,
) -> ApiResult<impl IntoResponse> {
    let message = state.app.send_chat(&caller, &domain, &ext, &peer, input).await?;
    Ok((StatusCode::CREATED, Json(message)))
}

/// Marks the conversation read up to one of its messages (a read mark never moves back).
#[utoipa::path(put, path = "/api/v1/domains/{domain}/users/{ext}/chats/{peer}/read", operation_id = "markChatRead", tag = "chat", request_body = ReadMark,
    params(("domain" = String, Path, description = "Domain name"), ("ext" = String, Path, description = "The user's extension"),
        ("peer" = String, Path, description = "The other person's extension")),
    responses((status = 204, description = "Marked read")))]
pub async fn read(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiPath((domain, ext, peer)): ApiPath<(String, String, String)>,
    ApiJson(mark): ApiJson<ReadMark>,
) -> ApiResult<StatusCode> {
    state.app.mark_chat_read(&caller, &domain, &ext, &peer, mark).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Deletes a message the user sent, for both people, within five minutes of sending it
/// (409 after).
#[utoipa::path(delete, path = "/api/v1/domains/{domain}/users/{ext}/chats/{peer}/messages/{id}", operation_id = "deleteChatMessage", tag = "chat",
    params(("domain" = String, Path, description = "Domain name"), ("ext" = String, Path, description = "The user's extension"),
        ("peer" = String, Path, description = "The other person's extension"), ("id" = Uuid, Path, description = "The message")),
    responses((status = 204, description = "Deleted"), ActionErrors))]
pub async fn delete(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiPath((domain, ext, peer, id)): ApiPath<(String, String, String, Uuid)>,
) -> ApiResult<StatusCode> {
    state.app.delete_chat_message(&caller, &domain, &ext, &peer, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
