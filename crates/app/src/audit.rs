//! Reading the audit log.

use switchboard_core::Invalid;
use switchboard_core::model::AuditEntry;
use switchboard_core::paging::{Limit, Page};
use uuid::Uuid;

use crate::App;
use crate::auth::Caller;
use crate::authz::access;
use crate::error::{AppError, Result, forbidden};

impl App {
    /// A domain's audit log, newest first. `cursor` is the `next_cursor` of the previous page.
    pub async fn audit_log(
        &self,
        caller: &Caller,
        domain: &str,
        limit: Option<&str>,
        cursor: Option<&str>,
    ) -> Result<Page<AuditEntry>> {
        let domain = self.reachable_domain(caller, domain).await?;
        if !access(caller, &domain).ok_or(AppError::NotFound)?.can_read_audit() {
            return Err(forbidden("read the audit log"));
        }
        let limit = match limit.map(str::trim).filter(|l| !l.is_empty()) {
            None => Limit::default(),
            Some(text) => text
                .parse::<u32>()
                .map_err(|_| format!("`{text}` is not a number"))
                .and_then(|n| Limit::parse(Some(n)))
                .map_err(|m| Invalid::field("limit", m))?,
        };
        let before = match cursor.map(str::trim).filter(|c| !c.is_empty()) {
            None => None,
            Some(text) => {
                Some(text.parse::<Uuid>().map_err(|_| Invalid::field("cursor", "this cursor is not one we gave out"))?)
            }
        };
        Ok(self.store.list_audit(domain.id, limit, before).await?)
    }
}
