//! Settings ("UI config"): key/value pairs resolved in layers, most specific wins.

use std::collections::BTreeMap;

use crate::phone::Country;
use crate::scope::Scope;

pub const SHOW_SHARED_CONTACTS: &str = "PORTAL_SHOW_SHARED_CONTACTS";
pub const SHARED_CONTACTS_EDITOR_SCOPES: &str = "SHARED_CONTACTS_EDITOR_SCOPES";
pub const DEFAULT_COUNTRY: &str = "DEFAULT_COUNTRY";
/// Days a domain keeps chat messages; `0` (or nothing) keeps them.
pub const CHAT_RETENTION_DAYS: &str = "CHAT_RETENTION_DAYS";
/// `yes`: address-book apps see the directory and the user's own contacts as one book
/// (Apple's apps sync only one book an account); `no` (the default): two books.
pub const CARDDAV_ONE_BOOK: &str = "CARDDAV_ONE_BOOK";
/// The longest retention that can be set, in days (ten years).
const MAX_RETENTION_DAYS: u32 = 3650;

/// Known keys and their built-in defaults.
pub const DEFAULTS: [(&str, &str); 3] = [
    (SHOW_SHARED_CONTACTS, "yes"),
    (SHARED_CONTACTS_EDITOR_SCOPES, "office-manager,site-manager,call-center-supervisor"),
    (DEFAULT_COUNTRY, "US"),
];

const MAX_KEY_LEN: usize = 64;
const MAX_VALUE_LEN: usize = 1000;

/// The layers, from least to most specific.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LayerKind {
    System,
    Reseller,
    Domain,
    Scope,
    User,
}

/// Checks a key and its value. Unknown keys are allowed (other parts of a phone
/// system keep their own settings here) but must look like keys.
pub fn validate(key: &str, value: &str) -> Result<String, String> {
    let key_ok = !key.is_empty()
        && key.len() <= MAX_KEY_LEN
        && key.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    if !key_ok {
        return Err(format!("`{key}` is not a settings key: use A-Z, 0-9 and `_`, at most {MAX_KEY_LEN} characters"));
    }
    let value = value.trim();
    if value.chars().count() > MAX_VALUE_LEN || value.chars().any(char::is_control) {
        return Err(format!("a value has at most {MAX_VALUE_LEN} characters and no control characters"));
    }
    match key {
        SHOW_SHARED_CONTACTS | CARDDAV_ONE_BOOK => match value {
            "yes" | "no" => Ok(value.to_string()),
            _ => Err("use `yes` or `no`".into()),
        },
        SHARED_CONTACTS_EDITOR_SCOPES => {
            let scopes = parse_scope_list(value)?;
            if let Some(provider) = scopes.iter().find(|s| s.is_provider()) {
                return Err(format!("`{provider}` always may edit; list only domain scopes"));
            }
            Ok(scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(","))
        }
        DEFAULT_COUNTRY => Country::parse(value).map(Country::code),
        CHAT_RETENTION_DAYS => match value.parse::<u32>() {
            Ok(days) if days <= MAX_RETENTION_DAYS => Ok(days.to_string()),
            _ => Err(format!("use a number of days from 1 to {MAX_RETENTION_DAYS}, or 0 to keep messages")),
        },
        _ => Ok(value.to_string()),
    }
}

fn parse_scope_list(value: &str) -> Result<Vec<Scope>, String> {
    let mut scopes = Vec::new();
    for part in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let scope: Scope = part.parse()?;
        if !scopes.contains(&scope) {
            scopes.push(scope);
        }
    }
    Ok(scopes)
}

/// The settings in force for one user (or one domain), after resolving the layers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Effective(BTreeMap<String, String>);

impl Effective {
    /// Resolves layers given from least to most specific; later layers win.
    pub fn resolve<'a>(layers: impl IntoIterator<Item = &'a BTreeMap<String, String>>) -> Effective {
        let mut values: BTreeMap<String, String> =
            DEFAULTS.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        for layer in layers {
            values.extend(layer.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        Effective(values)
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    pub fn as_map(&self) -> &BTreeMap<String, String> {
        &self.0
    }

    pub fn show_shared_contacts(&self) -> bool {
        self.get(SHOW_SHARED_CONTACTS) != Some("no")
    }

    /// Scopes of the domain allowed to edit shared contacts. A value that no longer
    /// parses (it was validated when stored) counts as "nobody below provider".
    pub fn shared_contact_editors(&self) -> Vec<Scope> {
        parse_scope_list(self.get(SHARED_CONTACTS_EDITOR_SCOPES).unwrap_or_default()).unwrap_or_default()
    }

    /// How many days chat messages are kept; `None` to keep them.
    pub fn chat_retention_days(&self) -> Option<u32> {
        self.get(CHAT_RETENTION_DAYS).and_then(|days| days.parse().ok()).filter(|days| *days > 0)
    }

    pub fn country(&self) -> Country {
        self.get(DEFAULT_COUNTRY).and_then(|c| Country::parse(c).ok()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn the_most_specific_layer_wins() {
        let domain = layer(&[(SHOW_SHARED_CONTACTS, "no"), (DEFAULT_COUNTRY, "DE")]);
        let user = layer(&[(SHOW_SHARED_CONTACTS, "yes")]);
        let effective = Effective::resolve([&domain, &user]);
        assert!(effective.show_shared_contacts());
        assert_eq!(effective.country().code(), "DE");
        assert!(!Effective::resolve([&domain]).show_shared_contacts());
    }

    #[test]
    fn defaults_apply_without_layers() {
        let effective = Effective::resolve([]);
        assert_eq!(
            effective.shared_contact_editors(),
            [Scope::OfficeManager, Scope::SiteManager, Scope::CallCenterSupervisor]
        );
        assert_eq!(effective.country().code(), "US");
    }

    #[test]
    fn values_are_validated() {
        assert_eq!(
            validate(SHARED_CONTACTS_EDITOR_SCOPES, "basic-user, office-manager").unwrap(),
            "basic-user,office-manager"
        );
        assert_eq!(validate(SHARED_CONTACTS_EDITOR_SCOPES, "").unwrap(), "");
        assert!(validate(SHARED_CONTACTS_EDITOR_SCOPES, "boss").is_err());
        assert!(validate(SHARED_CONTACTS_EDITOR_SCOPES, "reseller").is_err());
        assert!(validate(SHOW_SHARED_CONTACTS, "maybe").is_err());
        assert_eq!(validate(DEFAULT_COUNTRY, "de").unwrap(), "DE");
        assert!(validate("lower", "x").is_err());
        assert!(validate("CUSTOM_KEY", "anything").is_ok());
    }
}
