//! Settings layers: reading, changing and resolving them.

use std::collections::BTreeMap;

use serde_json::json;
use switchboard_core::event::EventKind;
use switchboard_core::model::{Domain, User};
use switchboard_core::phone::Country;
use switchboard_core::settings::{self, Effective};
use switchboard_core::{Extension, FieldError, Invalid, Scope};
use switchboard_store::Layer;

use crate::App;
use crate::auth::Caller;
use crate::authz::{self, access};
use crate::error::{AppError, Result, forbidden};

/// A settings layer as an interface names it.
#[derive(Debug, Clone)]
pub enum SettingsLayer {
    System,
    Reseller(String),
    Domain(String),
    Scope(String, String),
    User(String, String),
}

/// Settings as the API answers them.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct SettingsView {
    /// The values set in this layer.
    pub values: BTreeMap<String, String>,
    /// What applies at this layer after resolving every layer above it.
    pub effective: BTreeMap<String, String>,
}

/// One layer's values beside what it inherits, so an editor can show both.
#[derive(Debug, Clone)]
pub struct LayeredSettings {
    /// The values set in this layer.
    pub values: BTreeMap<String, String>,
    /// What applies when this layer sets nothing: the layers above it, resolved.
    pub inherited: BTreeMap<String, String>,
}

impl LayeredSettings {
    /// What applies at this layer: its own value, else the inherited one.
    pub fn effective(&self, key: &str) -> Option<&str> {
        self.values.get(key).or_else(|| self.inherited.get(key)).map(String::as_str)
    }
}

impl App {
    /// The layers that apply to a domain (and to one of its users), least specific first.
    fn layers_of(domain: &Domain, user: Option<&User>) -> Vec<Layer> {
        let mut layers = vec![Layer::System];
        layers.extend(domain.reseller_id.map(Layer::Reseller));
        layers.push(Layer::Domain(domain.id));
        if let Some(user) = user {
            layers.push(Layer::Scope(domain.id, user.scope));
            layers.push(Layer::User(user.id));
        }
        layers
    }

    async fn domain_layers(&self, domain: &Domain) -> Result<Vec<BTreeMap<String, String>>> {
        Ok(self.store.settings_layers(&Self::layers_of(domain, None)).await?)
    }

    /// Settings of the domain as a whole (system → reseller → domain). Permission
    /// keys are read here, so a user- or scope-level value can never grant rights.
    pub(crate) async fn domain_settings(&self, domain: &Domain) -> Result<Effective> {
        Ok(Effective::resolve(&self.domain_layers(domain).await?))
    }

    /// Settings in force for one user: system → reseller → domain → scope → user.
    pub(crate) async fn user_settings(&self, domain: &Domain, user: &User) -> Result<Effective> {
        Ok(Effective::resolve(&self.store.settings_layers(&Self::layers_of(domain, Some(user))).await?))
    }

    /// A user's settings and their domain's as a whole (for permission keys), from one
    /// read of the layers: the domain's are all but the last two, the scope's and user's.
    pub(crate) async fn user_and_domain_settings(
        &self,
        domain: &Domain,
        user: &User,
    ) -> Result<(Effective, Effective)> {
        let layers = self.store.settings_layers(&Self::layers_of(domain, Some(user))).await?;
        let domain_wide = &layers[..layers.len().saturating_sub(2)];
        Ok((Effective::resolve(&layers), Effective::resolve(domain_wide)))
    }

    /// Whether shared contacts are shown to the caller in this domain. Providers
    /// managing the domain always see them; members follow their own settings.
    pub(crate) async fn shows_shared(&self, caller: &Caller, domain: &Domain) -> Result<bool> {
        let access = access(caller, domain).ok_or(AppError::NotFound)?;
        match access.member() {
            Some(user) if !access.is_provider() => Ok(self.user_settings(domain, user).await?.show_shared_contacts()),
            _ => Ok(true),
        }
    }

    /// Resolves a layer name to the store's layer, its parents' layers and whether the caller may manage it.
    async fn resolve_layer(
        &self,
        caller: &Caller,
        layer: &SettingsLayer,
    ) -> Result<(Layer, Vec<BTreeMap<String, String>>, bool)> {
        let system = || async { Ok::<_, AppError>(vec![self.store.settings(Layer::System).await?]) };
        match layer {
            SettingsLayer::System => Ok((Layer::System, vec![], authz::can_manage_system(caller))),
            SettingsLayer::Reseller(name) => {
                let reseller = self.store.reseller_by_name(name).await?.ok_or(AppError::NotFound)?;
                if !authz::can_manage_reseller(caller, reseller.id) {
                    return Err(AppError::NotFound);
                }
                Ok((Layer::Reseller(reseller.id), system().await?, true))
            }
            SettingsLayer::Domain(name) => {
                let domain = self.reachable_domain(caller, name).await?;
                let allowed = access(caller, &domain).is_some_and(|a| a.can_manage_settings());
                let parents = self.domain_layers(&domain).await?;
                Ok((Layer::Domain(domain.id), parents[..parents.len() - 1].to_vec(), allowed))
            }
            SettingsLayer::Scope(name, scope) => {
                let domain = self.reachable_domain(caller, name).await?;
                let scope: Scope = scope.parse().map_err(|m| Invalid::field("scope", m))?;
                let allowed = access(caller, &domain).is_some_and(|a| a.can_manage_settings());
                Ok((Layer::Scope(domain.id, scope), self.domain_layers(&domain).await?, allowed))
            }
            SettingsLayer::User(name, ext) => {
                let domain = self.reachable_domain(caller, name).await?;
                let user = self.domain_user(&domain, ext).await?;
                let allowed = access(caller, &domain).is_some_and(|a| a.can_manage_settings());
                let mut parents = self.store.settings_layers(&Self::layers_of(&domain, Some(&user))).await?;
                parents.pop();
                Ok((Layer::User(user.id), parents, allowed))
            }
        }
    }

    pub async fn get_settings(&self, caller: &Caller, layer: &SettingsLayer) -> Result<SettingsView> {
        let (layer, mut parents, allowed) = self.resolve_layer(caller, layer).await?;
        if !allowed {
            return Err(forbidden("read or change these settings"));
        }
        let values = self.store.settings(layer).await?;
        parents.push(values.clone());
        Ok(SettingsView { values, effective: Effective::resolve(&parents).as_map().clone() })
    }

    /// A layer's own values and what it inherits (same permission as [`App::get_settings`]).
    pub async fn layered_settings(&self, caller: &Caller, layer: &SettingsLayer) -> Result<LayeredSettings> {
        let (layer, parents, allowed) = self.resolve_layer(caller, layer).await?;
        if !allowed {
            return Err(forbidden("read or change these settings"));
        }
        let values = self.store.settings(layer).await?;
        Ok(LayeredSettings { values, inherited: Effective::resolve(&parents).as_map().clone() })
    }

    /// Sets keys given a string and removes keys given `null` (back to the inherited value).
    pub async fn put_settings(
        &self,
        caller: &Caller,
        layer_ref: &SettingsLayer,
        changes: BTreeMap<String, Option<String>>,
    ) -> Result<SettingsView> {
        let (layer, _, allowed) = self.resolve_layer(caller, layer_ref).await?;
        if !allowed {
            return Err(forbidden("read or change these settings"));
        }
        let mut errors = Vec::new();
        let mut checked = BTreeMap::new();
        for (key, value) in changes {
            match value {
                None => {
                    checked.insert(key, None);
                }
                Some(value) => match settings::validate(&key, &value) {
                    Ok(value) => {
                        checked.insert(key, Some(value));
                    }
                    Err(message) => errors.push(FieldError { field: key, message }),
                },
            }
        }
        if !errors.is_empty() {
            return Err(Invalid(errors).into());
        }
        let domain_id = match layer {
            Layer::Domain(id) | Layer::Scope(id, _) => Some(id),
            Layer::User(user_id) => self.store.user_by_id(user_id).await?.map(|u| u.domain_id),
            Layer::System | Layer::Reseller(_) => None,
        };
        let audit = self.audit(
            caller,
            domain_id,
            "settings.update",
            None,
            json!({ "layer": format!("{layer:?}"), "changes": checked }),
        );
        self.store.put_settings(layer, &checked, audit).await?;
        // System and reseller layers belong to no one domain, and an event never spans
        // domains: their subscribers pick such changes up when they next re-check.
        if let Some(domain_id) = domain_id {
            self.publish(domain_id, EventKind::SettingsChanged).await;
        }
        self.get_settings(caller, layer_ref).await
    }

    /// The settings in force for a user: the user themself or their managers may look.
    pub async fn effective_settings(
        &self,
        caller: &Caller,
        domain: &str,
        ext: &str,
    ) -> Result<BTreeMap<String, String>> {
        let domain = self.reachable_domain(caller, domain).await?;
        let user = self.domain_user(&domain, ext).await?;
        let access = access(caller, &domain).ok_or(AppError::NotFound)?;
        if !access.is_user(&user) && !access.can_manage_settings() {
            return Err(AppError::NotFound);
        }
        Ok(self.user_settings(&domain, &user).await?.as_map().clone())
    }

    /// The country a caller reads numbers in (a user's `DEFAULT_COUNTRY`), so that lists
    /// show numbers of that country nationally and the others internationally.
    pub async fn reading_country(&self, caller: &Caller) -> Result<Country> {
        match caller {
            Caller::User { user, domain, .. } => Ok(self.user_settings(domain, user).await?.country()),
            _ => Ok(Country::default()),
        }
    }

    /// A user of the domain by extension; a malformed extension cannot exist.
    pub(crate) async fn domain_user(&self, domain: &Domain, ext: &str) -> Result<User> {
        let ext: Extension = ext.parse().map_err(|_| AppError::NotFound)?;
        self.store.user_by_extension(domain.id, &ext).await?.ok_or(AppError::NotFound)
    }
}
