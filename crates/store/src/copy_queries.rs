//! `db copy`: row counts, and rows as backend-neutral JSON, typed by one description of each table:
//! part of `queries.rs`, compiled once per back-end with it.

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::Value;
use sqlx::Row as _;
use uuid::Uuid;

use super::{Backend, Builder, Db, JsonRow, Row, Tx, begin_write};
use crate::{COPY_TABLES, CopyStore, CopyWriter, Result, StoreError, TableCounts};

#[async_trait]
impl CopyStore for Backend {
    async fn table_counts(&self) -> Result<TableCounts> {
        let mut conn = self.pool.acquire().await?;
        count_rows(&mut conn).await
    }

    async fn export_rows(&self, table: &str, offset: i64, limit: i64) -> Result<Vec<JsonRow>> {
        let table = copy_table(table)?;
        let sql = format!(
            "SELECT {} FROM {}{} ORDER BY {} LIMIT $1 OFFSET $2",
            table.column_list(),
            table.name,
            copied_rows(table.name),
            table.key
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(limit).bind(offset).fetch_all(&self.pool).await?;
        rows.iter().map(|row| table.to_json(row)).collect()
    }

    async fn import_rows(&self, table: &str, rows: &[JsonRow]) -> Result<()> {
        let mut copy = self.begin_copy().await?;
        copy.insert_rows(table, rows).await?;
        copy.commit().await
    }

    async fn begin_copy(&self) -> Result<Box<dyn CopyWriter>> {
        Ok(Box::new(CopyTx { tx: begin_write(&self.pool).await? }))
    }
}

/// `db copy`'s one transaction on the receiving database.
struct CopyTx {
    tx: Tx,
}

#[async_trait]
impl CopyWriter for CopyTx {
    async fn insert_rows(&mut self, table: &str, rows: &[JsonRow]) -> Result<()> {
        insert_copy_rows(&mut self.tx, copy_table(table)?, rows).await
    }

    async fn table_counts(&mut self) -> Result<TableCounts> {
        count_rows(&mut self.tx).await
    }

    async fn commit(self: Box<Self>) -> Result<()> {
        Ok(self.tx.commit().await?)
    }
}

async fn count_rows(conn: &mut <Db as sqlx::Database>::Connection) -> Result<TableCounts> {
    let mut counts = TableCounts::new();
    for table in COPY_TABLES {
        let sql = format!("SELECT COUNT(*) FROM {table}{}", copied_rows(table));
        let count: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_one(&mut *conn).await?;
        counts.insert(table.to_string(), count);
    }
    Ok(counts)
}

// `db copy`: rows as backend-neutral JSON, typed by one description of each table.

#[derive(Clone, Copy)]
enum Kind {
    Id,
    Text,
    Int,
    Bool,
    /// Binary, as base64 text in JSON.
    Bytes,
}

pub(super) struct CopyTable {
    pub(super) name: &'static str,
    /// The primary key, for a stable order across pages.
    pub(super) key: &'static str,
    columns: &'static [(&'static str, Kind)],
}

const CONTACT_COPY_COLUMNS: &[(&str, Kind)] = &[
    ("id", Kind::Id),
    ("domain_id", Kind::Id),
    ("owner_user_id", Kind::Id),
    ("first_name", Kind::Text),
    ("last_name", Kind::Text),
    ("company", Kind::Text),
    ("title", Kind::Text),
    ("work_phone", Kind::Text),
    ("work_phone_e164", Kind::Text),
    ("mobile_phone", Kind::Text),
    ("mobile_phone_e164", Kind::Text),
    ("home_phone", Kind::Text),
    ("home_phone_e164", Kind::Text),
    ("fax", Kind::Text),
    ("fax_e164", Kind::Text),
    ("email", Kind::Text),
    ("notes", Kind::Text),
    ("duplicate_key", Kind::Text),
    ("sort_key", Kind::Text),
    ("search_text", Kind::Text),
    ("version", Kind::Int),
    ("created_at", Kind::Int),
    ("updated_at", Kind::Int),
    ("deleted_at", Kind::Int),
    ("work_phone_key", Kind::Text),
    ("mobile_phone_key", Kind::Text),
    ("home_phone_key", Kind::Text),
    ("fax_key", Kind::Text),
    ("details", Kind::Text),
    ("kind", Kind::Text),
];

const USER_COPY_COLUMNS: &[(&str, Kind)] = &[
    ("id", Kind::Id),
    ("domain_id", Kind::Id),
    ("extension", Kind::Text),
    ("first_name", Kind::Text),
    ("last_name", Kind::Text),
    ("email", Kind::Text),
    ("department", Kind::Text),
    ("site", Kind::Text),
    ("scope", Kind::Text),
    ("listed", Kind::Bool),
    ("password_hash", Kind::Text),
    ("version", Kind::Int),
    ("created_at", Kind::Int),
    ("updated_at", Kind::Int),
    ("sort_key", Kind::Text),
    ("search_text", Kind::Text),
    ("own_contacts_on_phones", Kind::Bool),
];

const COPY: &[CopyTable] = &[
    CopyTable { name: "resellers", key: "id", columns: &[("id", Kind::Id), ("name", Kind::Text)] },
    CopyTable {
        name: "domains",
        key: "id",
        columns: &[
            ("id", Kind::Id),
            ("name", Kind::Text),
            ("description", Kind::Text),
            ("reseller_id", Kind::Id),
            ("created_at", Kind::Int),
            ("updated_at", Kind::Int),
            ("change_seq", Kind::Int),
            ("changed_at", Kind::Int),
            ("feed_seq", Kind::Int),
            ("feed_floor", Kind::Int),
        ],
    },
    CopyTable { name: "users", key: "id", columns: USER_COPY_COLUMNS },
    CopyTable { name: "contacts", key: "id", columns: CONTACT_COPY_COLUMNS },
    CopyTable {
        name: "blocked_numbers",
        key: "id",
        columns: &[
            ("id", Kind::Id),
            ("domain_id", Kind::Id),
            ("pattern", Kind::Text),
            ("is_prefix", Kind::Bool),
            ("note", Kind::Text),
            ("created_by", Kind::Text),
            ("created_at", Kind::Int),
        ],
    },
    CopyTable {
        name: "allowed_numbers",
        key: "id",
        columns: &[
            ("id", Kind::Id),
            ("domain_id", Kind::Id),
            ("user_id", Kind::Id),
            ("number", Kind::Text),
            ("note", Kind::Text),
            ("created_by", Kind::Text),
            ("created_at", Kind::Int),
        ],
    },
    CopyTable {
        name: "favorites",
        key: "user_id, entry_id",
        columns: &[("user_id", Kind::Id), ("entry_id", Kind::Id)],
    },
    CopyTable {
        name: "presence",
        key: "user_id",
        columns: &[
            ("user_id", Kind::Id),
            ("state", Kind::Text),
            ("chat", Kind::Bool),
            ("message", Kind::Text),
            ("updated_at", Kind::Int),
            ("message_until", Kind::Int),
            ("busy_until", Kind::Int),
            ("manual_state", Kind::Text),
            ("manual_chat", Kind::Bool),
            ("line_state", Kind::Text),
            ("line_at", Kind::Int),
            // Copied as they are: the sessions they speak of are not (`presence_connections`),
            // so the next sweep (`expire_presence`) ends them and shows the presence again.
            ("chat_away", Kind::Bool),
            ("connected", Kind::Bool),
            ("active_at", Kind::Int),
            ("away", Kind::Bool),
        ],
    },
    CopyTable {
        name: "settings",
        key: "layer, owner, key",
        columns: &[
            ("layer", Kind::Text),
            ("owner", Kind::Text),
            ("key", Kind::Text),
            ("value", Kind::Text),
            ("domain_id", Kind::Id),
            ("user_id", Kind::Id),
        ],
    },
    CopyTable {
        name: "audit_log",
        key: "id",
        columns: &[
            ("id", Kind::Id),
            ("domain_id", Kind::Id),
            ("at", Kind::Int),
            ("actor", Kind::Text),
            ("action", Kind::Text),
            ("target_id", Kind::Id),
            ("details", Kind::Text),
        ],
    },
    CopyTable {
        name: "tokens",
        key: "id",
        columns: &[
            ("id", Kind::Id),
            ("user_id", Kind::Id),
            ("kind", Kind::Text),
            ("name", Kind::Text),
            ("secret_hash", Kind::Text),
            ("created_at", Kind::Int),
            ("expires_at", Kind::Int),
        ],
    },
    CopyTable {
        name: "login_failures",
        key: "key",
        columns: &[("key", Kind::Text), ("count", Kind::Int), ("last_failure", Kind::Int)],
    },
    CopyTable {
        name: "devices",
        key: "id",
        columns: &[
            ("id", Kind::Id),
            ("domain_id", Kind::Id),
            ("name", Kind::Text),
            ("user_id", Kind::Id),
            ("allowed_networks", Kind::Text),
            ("token_hash", Kind::Text),
            ("password_hash", Kind::Text),
            ("created_at", Kind::Int),
            ("last_used_at", Kind::Int),
            ("revoked_at", Kind::Int),
            ("created_by", Kind::Id),
        ],
    },
    CopyTable {
        name: "deleted_users",
        key: "id",
        columns: &[
            ("id", Kind::Id),
            ("domain_id", Kind::Id),
            ("extension", Kind::Text),
            ("first_name", Kind::Text),
            ("last_name", Kind::Text),
            ("scope", Kind::Text),
            ("site", Kind::Text),
            ("deleted_at", Kind::Int),
            ("deleted_by", Kind::Text),
            ("snapshot", Kind::Text),
        ],
    },
    CopyTable {
        name: "not_duplicates",
        key: "id_a, id_b",
        columns: &[
            ("id_a", Kind::Id),
            ("id_b", Kind::Id),
            ("domain_id", Kind::Id),
            ("owner_user_id", Kind::Id),
            ("created_at", Kind::Int),
        ],
    },
    CopyTable {
        name: "chat_messages",
        key: "id",
        columns: &[
            ("id", Kind::Id),
            ("domain_id", Kind::Id),
            ("sender_id", Kind::Id),
            ("recipient_id", Kind::Id),
            ("low_id", Kind::Id),
            ("high_id", Kind::Id),
            ("text", Kind::Text),
            ("sent_at", Kind::Int),
            ("deleted", Kind::Bool),
        ],
    },
    CopyTable {
        name: "chat_conversations",
        key: "user_id, peer_id",
        columns: &[
            ("user_id", Kind::Id),
            ("peer_id", Kind::Id),
            ("domain_id", Kind::Id),
            ("last_message_id", Kind::Id),
            ("read_up_to", Kind::Id),
            ("delivered_up_to", Kind::Id),
            ("unread", Kind::Int),
        ],
    },
    CopyTable {
        name: "directory_changes",
        key: "domain_id, entry_id, audience_id",
        columns: &[
            ("domain_id", Kind::Id),
            ("entry_id", Kind::Id),
            ("audience_id", Kind::Id),
            ("seq", Kind::Int),
            ("changed_at", Kind::Int),
        ],
    },
    CopyTable {
        name: "merged_contacts",
        key: "id",
        columns: &[
            ("id", Kind::Id),
            ("survivor_id", Kind::Id),
            ("domain_id", Kind::Id),
            ("owner_user_id", Kind::Id),
            ("merged_at", Kind::Int),
        ],
    },
    CopyTable {
        name: "pbx_credentials",
        key: "id",
        columns: &[
            ("id", Kind::Id),
            ("domain_id", Kind::Id),
            ("name", Kind::Text),
            ("secret_hash", Kind::Text),
            ("created_at", Kind::Int),
        ],
    },
    CopyTable {
        name: "webhooks",
        key: "id",
        columns: &[
            ("id", Kind::Id),
            ("domain_id", Kind::Id),
            ("url", Kind::Text),
            ("contacts", Kind::Bool),
            ("presence", Kind::Bool),
            ("secret", Kind::Text),
            ("cursor", Kind::Text),
            ("created_at", Kind::Int),
            ("last_attempt_at", Kind::Int),
            ("last_status", Kind::Int),
            ("last_error", Kind::Text),
            ("failures", Kind::Int),
            ("failing_since", Kind::Int),
            ("next_attempt_at", Kind::Int),
            ("paused", Kind::Bool),
            ("lease_owner", Kind::Id),
            ("lease_until", Kind::Int),
        ],
    },
    CopyTable {
        name: "app_passwords",
        key: "id",
        columns: &[
            ("id", Kind::Id),
            ("user_id", Kind::Id),
            ("domain_id", Kind::Id),
            ("name", Kind::Text),
            ("secret_hash", Kind::Text),
            ("created_at", Kind::Int),
            ("last_used_at", Kind::Int),
        ],
    },
    CopyTable {
        name: "dav_names",
        key: "contact_id",
        columns: &[("contact_id", Kind::Id), ("owner_user_id", Kind::Id), ("name", Kind::Text), ("uid", Kind::Text)],
    },
    CopyTable {
        name: "contact_photos",
        key: "contact_id",
        columns: &[
            ("contact_id", Kind::Id),
            ("media_type", Kind::Text),
            ("bytes", Kind::Bytes),
            ("hash", Kind::Text),
            ("updated_at", Kind::Int),
        ],
    },
];

/// Inserts rows in `db copy`'s JSON form into `table`.
pub(super) async fn insert_copy_rows(tx: &mut Tx, table: &CopyTable, rows: &[JsonRow]) -> Result<()> {
    let cells = rows.iter().map(|row| table.cells(row)).collect::<Result<Vec<_>>>()?;
    // Stays under both databases' limits on parameters per statement (SQLite's is 32766).
    let rows_per_insert = 30_000 / table.columns.len();
    for chunk in cells.chunks(rows_per_insert) {
        let mut qb = Builder::new(format!("INSERT INTO {} ({}) ", table.name, table.column_list()));
        qb.push_values(chunk, |mut values, row| {
            for cell in row {
                cell.bind(&mut values);
            }
        });
        qb.build().execute(&mut **tx).await?;
    }
    Ok(())
}

/// Which rows of a table `db copy` moves: not those of an unfinished import (nobody sees
/// them, and the copy would show them).
fn copied_rows(table: &str) -> &'static str {
    match table {
        "contacts" | "audit_log" => " WHERE import_id IS NULL OR import_id NOT IN (SELECT id FROM pending_imports)",
        "contact_photos" => {
            " WHERE contact_id NOT IN (SELECT id FROM contacts WHERE import_id IN (SELECT id FROM pending_imports))"
        }
        _ => "",
    }
}

pub(super) fn copy_table(name: &str) -> Result<&'static CopyTable> {
    COPY.iter().find(|table| table.name == name).ok_or(StoreError::NotFound)
}

fn copy_error(message: String) -> StoreError {
    StoreError::Database(sqlx::Error::Encode(message.into()))
}

/// One value to import, typed so that even a NULL is bound with its column's type.
enum Cell {
    Id(Option<Uuid>),
    Text(Option<String>),
    Int(Option<i64>),
    Bool(Option<bool>),
    Bytes(Option<Vec<u8>>),
}

impl Cell {
    fn read(kind: Kind, value: &Value) -> Option<Cell> {
        Some(match (kind, value) {
            (Kind::Id, Value::Null) => Cell::Id(None),
            (Kind::Id, Value::String(id)) => Cell::Id(Some(Uuid::parse_str(id).ok()?)),
            (Kind::Text, Value::Null) => Cell::Text(None),
            (Kind::Text, Value::String(text)) => Cell::Text(Some(text.clone())),
            (Kind::Int, Value::Null) => Cell::Int(None),
            (Kind::Int, Value::Number(number)) => Cell::Int(Some(number.as_i64()?)),
            (Kind::Bool, Value::Null) => Cell::Bool(None),
            (Kind::Bool, Value::Bool(flag)) => Cell::Bool(Some(*flag)),
            (Kind::Bytes, Value::Null) => Cell::Bytes(None),
            (Kind::Bytes, Value::String(text)) => Cell::Bytes(Some(BASE64.decode(text).ok()?)),
            _ => return None,
        })
    }

    fn bind(&self, values: &mut sqlx::query_builder::Separated<'_, Db, &'static str>) {
        match self {
            Cell::Id(id) => values.push_bind(*id),
            Cell::Text(text) => values.push_bind(text.clone()),
            Cell::Int(number) => values.push_bind(*number),
            Cell::Bool(flag) => values.push_bind(*flag),
            Cell::Bytes(bytes) => values.push_bind(bytes.clone()),
        };
    }
}

impl CopyTable {
    pub(super) fn column_list(&self) -> String {
        self.columns.iter().map(|(name, _)| *name).collect::<Vec<_>>().join(", ")
    }

    pub(super) fn to_json(&self, row: &Row) -> Result<JsonRow> {
        self.columns.iter().map(|(name, kind)| Ok((name.to_string(), json_value(row, name, *kind)?))).collect()
    }

    fn cells(&self, row: &JsonRow) -> Result<Vec<Cell>> {
        if let Some(unknown) = row.keys().find(|key| !self.columns.iter().any(|(name, _)| name == key)) {
            return Err(copy_error(format!("{} has no column `{unknown}`", self.name)));
        }
        self.columns
            .iter()
            .map(|(name, kind)| {
                let value = row.get(*name).unwrap_or(&Value::Null);
                Cell::read(*kind, value)
                    .ok_or_else(|| copy_error(format!("{}.{name}: unexpected value {value}", self.name)))
            })
            .collect()
    }
}

fn json_value(row: &Row, column: &str, kind: Kind) -> Result<Value> {
    let value = match kind {
        Kind::Id => row.try_get::<Option<Uuid>, _>(column)?.map(|id| Value::String(id.to_string())),
        Kind::Text => row.try_get::<Option<String>, _>(column)?.map(Value::String),
        Kind::Int => row.try_get::<Option<i64>, _>(column)?.map(Value::from),
        Kind::Bool => row.try_get::<Option<bool>, _>(column)?.map(Value::Bool),
        Kind::Bytes => row.try_get::<Option<Vec<u8>>, _>(column)?.map(|bytes| Value::String(BASE64.encode(bytes))),
    };
    Ok(value.unwrap_or(Value::Null))
}
