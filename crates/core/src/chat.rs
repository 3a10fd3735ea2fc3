//! Chat between coworkers of one domain: one-to-one conversations, what a message may
//! hold, and the marks its sender sees.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Characters one message may hold.
pub const MAX_TEXT_CHARS: usize = 4000;
/// How long after sending a sender may delete a message for everyone, in seconds.
pub const DELETE_WINDOW_SECS: i64 = 5 * 60;

/// A message as its two people see it. Text only: a client shows it as text and makes
/// links clickable itself, never as HTML.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ChatMessage {
    /// A UUIDv7: messages of a conversation are in the order of their ids.
    pub id: Uuid,
    /// The sender's extension.
    #[schema(example = "200")]
    pub from: String,
    /// The recipient's extension.
    #[schema(example = "201")]
    pub to: String,
    /// Empty once the sender deleted it.
    pub text: String,
    pub sent_at: DateTime<Utc>,
    /// Deleted by its sender for everyone.
    pub deleted: bool,
    /// The recipient's app or page has received it.
    pub delivered: bool,
    /// The recipient has read it.
    pub read: bool,
}

/// One conversation of a user, with its latest message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Conversation {
    /// The other person's extension.
    #[schema(example = "201")]
    pub peer: String,
    /// The other person's name.
    pub peer_name: String,
    /// The latest message.
    pub last_message: ChatMessage,
    /// Messages from the other person not read yet.
    pub unread: u32,
}

/// A message to send.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChatInput {
    /// 1 to 4,000 characters; line breaks and tabs allowed, other control characters not.
    #[schema(min_length = 1, max_length = 4000)]
    pub text: String,
}

/// Marks a conversation read up to a message.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadMark {
    /// The newest message read: one of the conversation's messages.
    pub up_to: Uuid,
}

/// The text of a message, trimmed at its ends; why not when it cannot be sent.
pub fn message_text(text: &str) -> Result<String, String> {
    // Line breaks as Windows writes them are line breaks.
    let text = text.trim().replace("\r\n", "\n");
    if text.is_empty() {
        return Err("write something: a message cannot be empty".into());
    }
    let chars = text.chars().count();
    if chars > MAX_TEXT_CHARS {
        return Err(format!("a message holds at most {MAX_TEXT_CHARS} characters; this one has {chars}"));
    }
    if text.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err("control characters other than line breaks and tabs are not allowed".into());
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_holds_text_with_line_breaks_and_no_more_than_4000_characters() {
        assert_eq!(message_text("  hello\r\nthere\t! ").unwrap(), "hello\nthere\t!");
        assert!(message_text(" \n ").unwrap_err().contains("empty"));
        assert!(message_text(&"é".repeat(4000)).is_ok(), "characters, not bytes");
        assert!(message_text(&"x".repeat(4001)).unwrap_err().contains("4001"));
        assert!(message_text("bell\u{7}").is_err());
        assert_eq!(message_text("<b>not html</b>").unwrap(), "<b>not html</b>", "kept as text");
    }
}
