//! Deleted users: kept with everything that was theirs for the trash's retention period
//! (see `switchboard_store::UserTrashStore`), and restorable by whoever may manage them.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use switchboard_core::event::EventKind;
use switchboard_core::model::User;
use switchboard_core::paging::{Limit, Page};
use switchboard_core::{Invalid, Scope};
use switchboard_store::DeletedUser;
use uuid::Uuid;

use crate::App;
use crate::auth::Caller;
use crate::authz::access;
use crate::error::{AppError, Result, forbidden};

/// A user in the trash, as those who may restore them see it (nothing of their contacts).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DeletedUserView {
    /// The user's id; a restore brings the user back under it.
    pub id: Uuid,
    #[schema(example = "200")]
    pub extension: String,
    pub first_name: String,
    pub last_name: String,
    pub scope: Scope,
    pub site: String,
    pub deleted_at: DateTime<Utc>,
    /// Who deleted them: `100@acme.example`, or `cli`.
    pub deleted_by: String,
    /// When the trash forgets them for good.
    pub purged_at: DateTime<Utc>,
}

impl App {
    /// The domain's deleted users that the caller could restore, by id; `cursor` is the
    /// previous page's `next_cursor`.
    pub async fn deleted_users(
        &self,
        caller: &Caller,
        domain: &str,
        limit: Option<&str>,
        cursor: Option<&str>,
    ) -> Result<Page<DeletedUserView>> {
        let domain = self.reachable_domain(caller, domain).await?;
        let access = access(caller, &domain).ok_or(AppError::NotFound)?;
        if access.user_listing().is_none() {
            return Err(forbidden("see deleted users"));
        }
        let (limit, after) = id_page(limit, cursor)?;
        let page = self.store.deleted_users(domain.id, limit, after).await?;
        let items = page
            .items
            .into_iter()
            .filter(|deleted| access.can_manage_user(deleted.scope, &deleted.site))
            .map(|deleted| self.deleted_user_view(deleted))
            .collect();
        Ok(Page { items, next_cursor: page.next_cursor })
    }

    /// Brings a deleted user back with their contacts, favorites, settings and devices.
    pub async fn restore_user(&self, caller: &Caller, domain: &str, id: Uuid) -> Result<User> {
        let domain = self.reachable_domain(caller, domain).await?;
        let access = access(caller, &domain).ok_or(AppError::NotFound)?;
        let deleted = self.store.deleted_user(domain.id, id).await?.ok_or(AppError::NotFound)?;
        if !access.can_manage_user(deleted.scope, &deleted.site) {
            return Err(forbidden("restore this user"));
        }
        let details = json!({ "extension": deleted.extension.as_str() });
        let audit = self.audit(caller, Some(domain.id), "user.restore", Some(id), details);
        let user = self.store.restore_user(domain.id, id, audit).await?;
        self.publish(domain.id, EventKind::UserChanged { user_id: user.id }).await;
        Ok(user)
    }

    fn deleted_user_view(&self, deleted: DeletedUser) -> DeletedUserView {
        DeletedUserView {
            id: deleted.id,
            extension: deleted.extension.to_string(),
            first_name: deleted.first_name,
            last_name: deleted.last_name,
            scope: deleted.scope,
            site: deleted.site,
            purged_at: deleted.deleted_at + self.config.trash_retention,
            deleted_at: deleted.deleted_at,
            deleted_by: deleted.deleted_by,
        }
    }
}

/// A page size (1 to 500, 50 by default) and the id a page continues after.
fn id_page(limit: Option<&str>, cursor: Option<&str>) -> Result<(Limit, Option<Uuid>), Invalid> {
    let limit = crate::records::limit_param(limit).map_err(|message| Invalid::field("limit", message))?;
    let after = match cursor.map(str::trim).filter(|text| !text.is_empty()) {
        None => None,
        Some(text) => Some(Uuid::parse_str(text).map_err(|_| Invalid::field("cursor", "not a cursor we gave out"))?),
    };
    Ok((limit, after))
}
