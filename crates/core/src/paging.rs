//! Sorting and keyset paging shared by every list.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Sort {
    #[default]
    #[serde(rename = "name")]
    Name,
    #[serde(rename = "-name")]
    NameDesc,
    #[serde(rename = "updated")]
    Updated,
    #[serde(rename = "-updated")]
    UpdatedDesc,
}

impl Sort {
    pub fn parse(value: &str) -> Result<Sort, String> {
        match value {
            "" | "name" => Ok(Sort::Name),
            "-name" => Ok(Sort::NameDesc),
            "updated" => Ok(Sort::Updated),
            "-updated" => Ok(Sort::UpdatedDesc),
            other => Err(format!("`{other}` is not a sort order; use name, -name, updated or -updated")),
        }
    }

    pub fn descending(self) -> bool {
        matches!(self, Sort::NameDesc | Sort::UpdatedDesc)
    }

    pub fn by_name(self) -> bool {
        matches!(self, Sort::Name | Sort::NameDesc)
    }
}

/// Page size: 1 to 500, 50 when not given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit(u32);

impl Limit {
    pub const MAX: u32 = 500;

    pub fn parse(value: Option<u32>) -> Result<Limit, String> {
        match value {
            None => Ok(Limit(50)),
            Some(n) if (1..=Self::MAX).contains(&n) => Ok(Limit(n)),
            Some(n) => Err(format!("`{n}` is out of range; use 1 to {}", Self::MAX)),
        }
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

impl Default for Limit {
    fn default() -> Self {
        Limit(50)
    }
}

/// The position after the last entry of a page: its sort value and id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    #[serde(rename = "s")]
    pub sort: Sort,
    /// The sort key (name sort) of the last entry.
    #[serde(rename = "k", default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The update time in microseconds (update sort) of the last entry.
    #[serde(rename = "t", default, skip_serializing_if = "Option::is_none")]
    pub micros: Option<i64>,
    #[serde(rename = "i")]
    pub id: Uuid,
}

impl Cursor {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).expect("a cursor always serializes"))
    }

    /// Reads a cursor given back by a client; it must belong to the same sort order.
    pub fn decode(text: &str, sort: Sort) -> Result<Cursor, String> {
        let invalid = || "this cursor is not one we gave out; start again without it".to_string();
        let bytes = URL_SAFE_NO_PAD.decode(text.trim()).map_err(|_| invalid())?;
        let cursor: Cursor = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
        let shaped_right = if sort.by_name() { cursor.key.is_some() } else { cursor.micros.is_some() };
        if cursor.sort != sort || !shaped_right {
            return Err("this cursor belongs to another sort order".into());
        }
        Ok(cursor)
    }
}

/// One page of a list and where the next one starts.
#[derive(Debug, Clone, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_tampering() {
        let cursor = Cursor { sort: Sort::Name, key: Some("lee\u{1}ann".into()), micros: None, id: Uuid::now_v7() };
        let text = cursor.encode();
        assert_eq!(Cursor::decode(&text, Sort::Name).unwrap(), cursor);
        assert!(Cursor::decode(&text, Sort::Updated).is_err());
        assert!(Cursor::decode("garbage!", Sort::Name).is_err());
        assert!(Cursor::decode("e30", Sort::Name).is_err());
    }

    #[test]
    fn limits_and_sorts_are_checked() {
        assert_eq!(Limit::parse(None).unwrap().get(), 50);
        assert!(Limit::parse(Some(0)).is_err());
        assert!(Limit::parse(Some(501)).is_err());
        assert_eq!(Sort::parse("-updated").unwrap(), Sort::UpdatedDesc);
        assert!(Sort::parse("age").is_err());
    }
}
