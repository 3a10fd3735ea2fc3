use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A domain (tenant) name such as `acme.example`: lowercase DNS-like labels.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DomainName(String);

impl DomainName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for DomainName {
    type Err = String;

    fn from_str(input: &str) -> Result<Self, String> {
        let name = input.trim().to_ascii_lowercase();
        if name.is_empty() || name.len() > 253 {
            return Err("a domain name has 1 to 253 characters".into());
        }
        for label in name.split('.') {
            let valid_chars = label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if label.is_empty() || label.len() > 63 || !valid_chars {
                return Err(format!(
                    "`{input}` is not a domain name: use letters, digits, `-` and `_` in dot-separated labels of 1 to 63 characters"
                ));
            }
            if label.starts_with('-') || label.ends_with('-') {
                return Err(format!("`{input}` is not a domain name: a label cannot start or end with `-`"));
            }
        }
        Ok(DomainName(name))
    }
}

impl TryFrom<String> for DomainName {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        value.parse()
    }
}

impl From<DomainName> for String {
    fn from(value: DomainName) -> String {
        value.0
    }
}

impl fmt::Display for DomainName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A user's extension: the user's key inside a domain, 1 to 15 digits. Never changes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Extension(String);

impl Extension {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Extension {
    type Err = String;

    fn from_str(input: &str) -> Result<Self, String> {
        let ext = input.trim();
        if ext.is_empty() || ext.len() > 15 || !ext.chars().all(|c| c.is_ascii_digit()) {
            return Err(format!("`{input}` is not an extension: use 1 to 15 digits"));
        }
        Ok(Extension(ext.to_string()))
    }
}

impl TryFrom<String> for Extension {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        value.parse()
    }
}

impl From<Extension> for String {
    fn from(value: Extension) -> String {
        value.0
    }
}

impl fmt::Display for Extension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Splits a login name `200@acme.example` into its extension and domain.
pub fn parse_login(username: &str) -> Option<(Extension, DomainName)> {
    let (ext, domain) = username.trim().split_once('@')?;
    Some((ext.parse().ok()?, domain.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_names_are_lowercased_and_checked() {
        assert_eq!("Acme.Example".parse::<DomainName>().unwrap().as_str(), "acme.example");
        for bad in ["", "a..b", "-a.b", "a b.c", "x/../y", &"a".repeat(64)] {
            assert!(bad.parse::<DomainName>().is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn extensions_are_digits() {
        assert_eq!("200".parse::<Extension>().unwrap().as_str(), "200");
        for bad in ["", "20a", "1234567890123456", "../1"] {
            assert!(bad.parse::<Extension>().is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn login_names_split_at_the_at_sign() {
        let (ext, domain) = parse_login("200@Acme.example").unwrap();
        assert_eq!((ext.as_str(), domain.as_str()), ("200", "acme.example"));
        assert!(parse_login("200").is_none());
        assert!(parse_login("bob@acme.example").is_none());
    }
}
