use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A user's scope, from most to least power.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Scope {
    SuperUser,
    Reseller,
    OfficeManager,
    SiteManager,
    CallCenterSupervisor,
    CallCenterAgent,
    BasicUser,
    SimpleUser,
}

impl Scope {
    pub const ALL: [Scope; 8] = [
        Scope::SuperUser,
        Scope::Reseller,
        Scope::OfficeManager,
        Scope::SiteManager,
        Scope::CallCenterSupervisor,
        Scope::CallCenterAgent,
        Scope::BasicUser,
        Scope::SimpleUser,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::SuperUser => "super-user",
            Scope::Reseller => "reseller",
            Scope::OfficeManager => "office-manager",
            Scope::SiteManager => "site-manager",
            Scope::CallCenterSupervisor => "call-center-supervisor",
            Scope::CallCenterAgent => "call-center-agent",
            Scope::BasicUser => "basic-user",
            Scope::SimpleUser => "simple-user",
        }
    }

    /// Scopes above the domain: they act on other domains too.
    pub fn is_provider(self) -> bool {
        matches!(self, Scope::SuperUser | Scope::Reseller)
    }

    /// Power rank: a user may only create or edit users of a rank not above their own.
    pub fn rank(self) -> u8 {
        match self {
            Scope::SuperUser => 7,
            Scope::Reseller => 6,
            Scope::OfficeManager => 5,
            Scope::SiteManager => 4,
            Scope::CallCenterSupervisor => 3,
            Scope::CallCenterAgent | Scope::BasicUser => 2,
            Scope::SimpleUser => 1,
        }
    }
}

impl FromStr for Scope {
    type Err = String;

    fn from_str(input: &str) -> Result<Self, String> {
        Scope::ALL.into_iter().find(|scope| scope.as_str() == input.trim()).ok_or_else(|| {
            let known: Vec<&str> = Scope::ALL.iter().map(|s| s.as_str()).collect();
            format!("`{input}` is not a scope; use one of {}", known.join(", "))
        })
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
