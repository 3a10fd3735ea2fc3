//! Domains (tenants) and their resellers.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::json;
use switchboard_core::contact::single_line;
use switchboard_core::model::Domain;
use switchboard_core::paging::Page;
use switchboard_core::phone::Country;
use switchboard_core::settings::DEFAULT_COUNTRY;
use switchboard_core::{DomainName, Invalid};
use switchboard_store::{DomainPatch, Layer, NewDomain};
use uuid::Uuid;

use crate::App;
use crate::auth::Caller;
use crate::authz::{self, access};
use crate::error::{AppError, Result, forbidden};
use crate::inputs::{DomainInput, DomainPatchInput, ListParams};
use crate::records::list_query;

const MAX_DESCRIPTION_LEN: usize = 200;

/// A domain as the API shows it, with its effective default country.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DomainView {
    #[serde(flatten)]
    pub domain: Domain,
    pub default_country: String,
}

impl App {
    /// A domain the caller can reach; anything else (malformed, absent, foreign) is "not found".
    pub(crate) async fn reachable_domain(&self, caller: &Caller, name: &str) -> Result<Domain> {
        let name: DomainName = name.parse().map_err(|_| AppError::NotFound)?;
        let domain = self.store.domain_by_name(&name).await?.ok_or(AppError::NotFound)?;
        access(caller, &domain).ok_or(AppError::NotFound)?;
        Ok(domain)
    }

    async fn domain_view(&self, domain: Domain) -> Result<DomainView> {
        let default_country = self.domain_settings(&domain).await?.country().code();
        Ok(DomainView { domain, default_country })
    }

    /// Domains the caller can reach: all for super-users, the reseller's for resellers, else their own.
    pub async fn list_domains(&self, caller: &Caller, params: &ListParams) -> Result<Page<DomainView>> {
        let list = list_query(params)?;
        let page = match caller {
            Caller::System => self.store.list_domains(None, &list).await?,
            Caller::User { user, domain, .. } => match user.scope {
                switchboard_core::Scope::SuperUser => self.store.list_domains(None, &list).await?,
                switchboard_core::Scope::Reseller if domain.reseller_id.is_some() => {
                    self.store.list_domains(domain.reseller_id, &list).await?
                }
                _ => {
                    let own = self.store.domain_by_id(domain.id).await?;
                    Page { items: own.into_iter().collect(), next_cursor: None }
                }
            },
            // A PBX reaches no domain (see `authz`).
            Caller::Pbx { .. } => Page { items: Vec::new(), next_cursor: None },
        };
        let mut items = Vec::with_capacity(page.items.len());
        for domain in page.items {
            items.push(self.domain_view(domain).await?);
        }
        Ok(Page { items, next_cursor: page.next_cursor })
    }

    pub async fn get_domain(&self, caller: &Caller, name: &str) -> Result<DomainView> {
        let domain = self.reachable_domain(caller, name).await?;
        self.domain_view(domain).await
    }

    /// The reseller to create a domain under: a reseller's own, or the one named (created if new).
    async fn reseller_for_new_domain(&self, caller: &Caller, named: Option<&str>) -> Result<Option<Uuid>> {
        let named = named.map(str::trim).filter(|n| !n.is_empty());
        if let Caller::User { user, domain, .. } = caller
            && user.scope == switchboard_core::Scope::Reseller
            && named.is_none()
        {
            return Ok(domain.reseller_id);
        }
        match named {
            None => Ok(None),
            Some(name) => {
                let name = single_line(name, 100).map_err(|m| Invalid::field("reseller", m))?;
                match self.store.reseller_by_name(&name).await? {
                    Some(reseller) => Ok(Some(reseller.id)),
                    None if authz::can_create_domain(caller, None) && authz::can_manage_system(caller) => {
                        Ok(Some(self.store.create_reseller(&name).await?.id))
                    }
                    None => Err(Invalid::field("reseller", format!("there is no reseller `{name}`")).into()),
                }
            }
        }
    }

    pub async fn create_domain(&self, caller: &Caller, input: DomainInput) -> Result<DomainView> {
        let name: DomainName = input.name.parse().map_err(|m| Invalid::field("name", m))?;
        let description =
            single_line(&input.description, MAX_DESCRIPTION_LEN).map_err(|m| Invalid::field("description", m))?;
        let country = match input.default_country.as_deref() {
            Some(code) => Some(Country::parse(code).map_err(|m| Invalid::field("default_country", m))?),
            None => None,
        };
        let reseller_id = self.reseller_for_new_domain(caller, input.reseller.as_deref()).await?;
        if !authz::can_create_domain(caller, reseller_id) {
            return Err(forbidden("create domains here"));
        }
        let audit = self.audit(caller, None, "domain.create", None, json!({ "name": name.as_str() }));
        let domain =
            self.store.create_domain(NewDomain { name, description, reseller_id }, audit).await.map_err(|e| {
                match AppError::from(e) {
                    AppError::Conflict(_) => AppError::Conflict("a domain with this name exists".into()),
                    other => other,
                }
            })?;
        if let Some(country) = country {
            self.set_domain_country(caller, &domain, country).await?;
        }
        self.domain_view(domain).await
    }

    async fn set_domain_country(&self, caller: &Caller, domain: &Domain, country: Country) -> Result<()> {
        let changes = BTreeMap::from([(DEFAULT_COUNTRY.to_string(), Some(country.code()))]);
        let audit = self.audit(
            caller,
            Some(domain.id),
            "settings.update",
            None,
            json!({ "layer": "domain", "changes": changes }),
        );
        self.store.put_settings(Layer::Domain(domain.id), &changes, audit).await?;
        Ok(())
    }

    pub async fn update_domain(&self, caller: &Caller, name: &str, patch: DomainPatchInput) -> Result<DomainView> {
        let domain = self.reachable_domain(caller, name).await?;
        let access = access(caller, &domain).ok_or(AppError::NotFound)?;
        if !access.can_edit_domain() {
            return Err(forbidden("change this domain"));
        }
        let description = match patch.description.as_deref() {
            Some(text) => Some(single_line(text, MAX_DESCRIPTION_LEN).map_err(|m| Invalid::field("description", m))?),
            None => None,
        };
        let country = match patch.default_country.as_deref() {
            Some(code) => Some(Country::parse(code).map_err(|m| Invalid::field("default_country", m))?),
            None => None,
        };
        let reseller_id = match patch.reseller.as_deref().map(str::trim) {
            None => None,
            Some(_) if !access.can_administer_domain() => return Err(forbidden("move a domain to another reseller")),
            Some("") => Some(None),
            Some(name) => {
                let reseller = self
                    .store
                    .reseller_by_name(name)
                    .await?
                    .ok_or_else(|| Invalid::field("reseller", format!("there is no reseller `{name}`")))?;
                if !authz::can_create_domain(caller, Some(reseller.id)) {
                    return Err(forbidden("move a domain to this reseller"));
                }
                Some(Some(reseller.id))
            }
        };
        let audit = self.audit(
            caller,
            Some(domain.id),
            "domain.update",
            None,
            json!({ "description": description, "reseller": patch.reseller }),
        );
        let updated = self.store.update_domain(domain.id, DomainPatch { description, reseller_id }, audit).await?;
        if let Some(country) = country {
            self.set_domain_country(caller, &updated, country).await?;
        }
        self.domain_view(updated).await
    }

    pub async fn delete_domain(&self, caller: &Caller, name: &str) -> Result<()> {
        let domain = self.reachable_domain(caller, name).await?;
        let access = access(caller, &domain).ok_or(AppError::NotFound)?;
        // A provider may not delete the domain it logs in through.
        if !access.can_administer_domain() || access.member().is_some() {
            return Err(forbidden("delete this domain"));
        }
        let audit = self.audit(caller, None, "domain.delete", None, json!({ "name": domain.name.as_str() }));
        Ok(self.store.delete_domain(domain.id, audit).await?)
    }
}
