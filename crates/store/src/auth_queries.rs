//! Tokens, sessions and login throttling: part of `queries.rs`, compiled once per back-end with it.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row as _;
use switchboard_core::model::{Domain, Token, TokenKind};
use uuid::Uuid;

use super::{Backend, Row, conflict, decode_error, now, parsed, time, user};
use crate::{AuthStore, LoginFailures, NewToken, Result, TokenOwner};

#[async_trait]
impl AuthStore for Backend {
    async fn create_token(&self, new: NewToken) -> Result<Token> {
        let row = sqlx::query(concat!(
            "INSERT INTO tokens (id, user_id, kind, name, secret_hash, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ",
            token_columns!()
        ))
        .bind(Uuid::now_v7())
        .bind(new.user_id)
        .bind(token_kind_str(new.kind))
        .bind(&new.name)
        .bind(&new.secret_hash)
        .bind(now())
        .bind(new.expires_at.map(|at| at.timestamp_micros()))
        .fetch_one(&self.pool)
        .await
        .map_err(conflict("a token with this secret already exists"))?;
        token(&row)
    }

    async fn token_by_secret_hash(&self, secret_hash: &str, now: DateTime<Utc>) -> Result<Option<Token>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            token_columns!(),
            " FROM tokens WHERE secret_hash = $1 AND (expires_at IS NULL OR expires_at > $2)"
        ))
        .bind(secret_hash)
        .bind(now.timestamp_micros())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(token).transpose()
    }

    async fn token_owner_by_secret_hash(&self, secret_hash: &str, now: DateTime<Utc>) -> Result<Option<TokenOwner>> {
        let row = sqlx::query(
            "SELECT users.id, users.domain_id, users.extension, users.first_name, users.last_name, users.email, \
             users.department, users.site, users.scope, users.listed, users.version, users.created_at, \
             users.updated_at, \
             tokens.id AS token_id, tokens.user_id AS token_user_id, tokens.kind AS token_kind, \
             tokens.name AS token_name, tokens.created_at AS token_created_at, \
             tokens.expires_at AS token_expires_at, \
             domains.name AS domain_name, domains.description AS domain_description, \
             domains.reseller_id AS domain_reseller_id, resellers.name AS domain_reseller, \
             domains.created_at AS domain_created_at, domains.updated_at AS domain_updated_at \
             FROM tokens JOIN users ON users.id = tokens.user_id \
             JOIN domains ON domains.id = users.domain_id \
             LEFT JOIN resellers ON resellers.id = domains.reseller_id \
             WHERE tokens.secret_hash = $1 AND (tokens.expires_at IS NULL OR tokens.expires_at > $2)",
        )
        .bind(secret_hash)
        .bind(now.timestamp_micros())
        .fetch_optional(&self.lookups)
        .await?;
        row.as_ref().map(token_owner).transpose()
    }

    async fn list_tokens(&self, user_id: Uuid, kind: TokenKind) -> Result<Vec<Token>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            token_columns!(),
            " FROM tokens WHERE user_id = $1 AND kind = $2 ORDER BY id"
        ))
        .bind(user_id)
        .bind(token_kind_str(kind))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(token).collect()
    }

    async fn delete_user_tokens(&self, user_id: Uuid) -> Result<u64> {
        let deleted = sqlx::query("DELETE FROM tokens WHERE user_id = $1").bind(user_id).execute(&self.pool).await?;
        Ok(deleted.rows_affected())
    }

    async fn delete_token(&self, user_id: Uuid, token_id: Uuid) -> Result<bool> {
        let deleted = sqlx::query("DELETE FROM tokens WHERE id = $1 AND user_id = $2")
            .bind(token_id)
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(deleted.rows_affected() > 0)
    }

    async fn login_failures(&self, key: &str) -> Result<LoginFailures> {
        let row = sqlx::query("SELECT count, last_failure FROM login_failures WHERE key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(login_failures).transpose().map(Option::unwrap_or_default)
    }

    async fn record_login_failure(&self, key: &str, at: DateTime<Utc>) -> Result<LoginFailures> {
        let row = sqlx::query(
            "INSERT INTO login_failures (key, count, last_failure) VALUES ($1, 1, $2) \
             ON CONFLICT (key) DO UPDATE SET count = login_failures.count + 1, last_failure = excluded.last_failure \
             RETURNING count, last_failure",
        )
        .bind(key)
        .bind(at.timestamp_micros())
        .fetch_one(&self.pool)
        .await?;
        login_failures(&row)
    }

    async fn clear_login_failures(&self, key: &str) -> Result<()> {
        sqlx::query("DELETE FROM login_failures WHERE key = $1").bind(key).execute(&self.pool).await?;
        Ok(())
    }

    async fn count_login_failure(
        &self,
        key: &str,
        at: DateTime<Utc>,
        window_start: DateTime<Utc>,
    ) -> Result<LoginFailures> {
        let row = sqlx::query(
            "INSERT INTO login_failures (key, count, last_failure) VALUES ($1, 1, $2) \
             ON CONFLICT (key) DO UPDATE SET \
             count = CASE WHEN login_failures.last_failure < $3 THEN 1 ELSE login_failures.count + 1 END, \
             last_failure = excluded.last_failure \
             RETURNING count, last_failure",
        )
        .bind(key)
        .bind(at.timestamp_micros())
        .bind(window_start.timestamp_micros())
        .fetch_one(&self.pool)
        .await?;
        login_failures(&row)
    }

    async fn forgive_login_failure(&self, key: &str) -> Result<()> {
        sqlx::query("UPDATE login_failures SET count = count - 1 WHERE key = $1 AND count > 0")
            .bind(key)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn purge_login_failures(&self, before: DateTime<Utc>) -> Result<u64> {
        let purged = sqlx::query("DELETE FROM login_failures WHERE last_failure < $1")
            .bind(before.timestamp_micros())
            .execute(&self.pool)
            .await?;
        Ok(purged.rows_affected())
    }

    async fn purge_expired_tokens(&self, now: DateTime<Utc>) -> Result<u64> {
        let purged = sqlx::query("DELETE FROM tokens WHERE expires_at IS NOT NULL AND expires_at <= $1")
            .bind(now.timestamp_micros())
            .execute(&self.pool)
            .await?;
        Ok(purged.rows_affected())
    }
}

fn token_kind_str(kind: TokenKind) -> &'static str {
    match kind {
        TokenKind::Session => "session",
        TokenKind::Api => "api",
    }
}

fn token(row: &Row) -> Result<Token> {
    let kind = match row.try_get::<String, _>("kind")?.as_str() {
        "session" => TokenKind::Session,
        "api" => TokenKind::Api,
        other => return Err(decode_error(format!("unknown token kind `{other}`"))),
    };
    let expires_at: Option<i64> = row.try_get("expires_at")?;
    Ok(Token {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        kind,
        name: row.try_get("name")?,
        created_at: time(row.try_get("created_at")?)?,
        expires_at: expires_at.map(time).transpose()?,
    })
}

/// A row of `token_owner_by_secret_hash`: the user's columns under their own names, the
/// token's and the domain's prefixed.
fn token_owner(row: &Row) -> Result<TokenOwner> {
    let kind = match row.try_get::<String, _>("token_kind")?.as_str() {
        "session" => TokenKind::Session,
        "api" => TokenKind::Api,
        other => return Err(decode_error(format!("unknown token kind `{other}`"))),
    };
    let expires_at: Option<i64> = row.try_get("token_expires_at")?;
    let user = user(row)?;
    Ok(TokenOwner {
        token: Token {
            id: row.try_get("token_id")?,
            user_id: row.try_get("token_user_id")?,
            kind,
            name: row.try_get("token_name")?,
            created_at: time(row.try_get("token_created_at")?)?,
            expires_at: expires_at.map(time).transpose()?,
        },
        domain: Domain {
            id: user.domain_id,
            name: parsed(row, "domain_name")?,
            description: row.try_get("domain_description")?,
            reseller: row.try_get("domain_reseller")?,
            reseller_id: row.try_get("domain_reseller_id")?,
            created_at: time(row.try_get("domain_created_at")?)?,
            updated_at: time(row.try_get("domain_updated_at")?)?,
        },
        user,
    })
}

fn login_failures(row: &Row) -> Result<LoginFailures> {
    let last_failure: Option<i64> = row.try_get("last_failure")?;
    Ok(LoginFailures { count: row.try_get("count")?, last_failure: last_failure.map(time).transpose()? })
}
