//! Everything a contact keeps beyond its names: numbers, emails, addresses, web
//! addresses, dates, messaging handles, and the properties of a file that no field holds.
//!
//! Each kind of value is a list. An entry has a kind (`work`, `home`…) and an optional
//! custom label ("Assistant", "Lake house") that files carry as Apple's `X-ABLabel`,
//! Google's custom types or Outlook's named columns. The first number of each phone kind
//! is what desk phones and the portal's lists show (see `ContactFields::work_phone`).

use serde::{Deserialize, Serialize};

use crate::phone::PhoneNumber;

/// How many entries of one kind a contact may have: far beyond any real card, small
/// enough that one contact cannot grow without bound.
pub const MAX_ENTRIES: usize = 50;
/// A custom label ("Assistant", "Lake house").
pub const MAX_LABEL_LEN: usize = 60;
/// One value of an address, web address or handle.
pub const MAX_VALUE_LEN: usize = 1000;
/// A property kept verbatim: its name with parameters, and its value.
pub const MAX_EXTRA_NAME_LEN: usize = 200;
pub const MAX_EXTRA_VALUE_LEN: usize = 4000;

/// How many members a group may list: a family, a team, a department's worth of cards.
pub const MAX_MEMBERS: usize = 1000;
/// One member's reference (`urn:uuid:…`, as clients write it).
pub const MAX_MEMBER_LEN: usize = 500;

/// What a contact stands for. Organizations are company cards (Apple's
/// `X-ABShowAs:COMPANY`, vCard 4.0 `KIND:org`); a group is a named list of other cards of
/// its book (`KIND:group`, Apple's `X-ADDRESSBOOKSERVER-KIND:group`), which is nobody to
/// call: phones, LDAP, caller-ID and duplicate detection leave groups out. A contact with
/// a company and no person's name is an organization however it is sent (`individual`
/// is stored as `organization`), as a company card reads back from any vCard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ContactKind {
    #[default]
    Individual,
    Organization,
    Group,
}

impl ContactKind {
    /// The word the store and the API use.
    pub fn as_str(self) -> &'static str {
        match self {
            ContactKind::Individual => "individual",
            ContactKind::Organization => "organization",
            ContactKind::Group => "group",
        }
    }

    /// The kind a stored word names (an unknown word is an individual, as before kinds).
    pub fn from_stored(word: &str) -> ContactKind {
        match word {
            "organization" => ContactKind::Organization,
            "group" => ContactKind::Group,
            _ => ContactKind::Individual,
        }
    }
}

/// What a number is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PhoneKind {
    #[default]
    Work,
    Mobile,
    Home,
    /// A company's main line (vCard has no kind of its own for it: Apple writes `TYPE=MAIN`).
    Main,
    /// A work fax (the plain `fax` of most files).
    Fax,
    HomeFax,
    Pager,
    Other,
}

impl PhoneKind {
    pub const ALL: [PhoneKind; 8] = [
        PhoneKind::Work,
        PhoneKind::Mobile,
        PhoneKind::Home,
        PhoneKind::Main,
        PhoneKind::Fax,
        PhoneKind::HomeFax,
        PhoneKind::Pager,
        PhoneKind::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PhoneKind::Work => "work",
            PhoneKind::Mobile => "mobile",
            PhoneKind::Home => "home",
            PhoneKind::Main => "main",
            PhoneKind::Fax => "fax",
            PhoneKind::HomeFax => "home_fax",
            PhoneKind::Pager => "pager",
            PhoneKind::Other => "other",
        }
    }

    pub fn parse(value: &str) -> Option<PhoneKind> {
        PhoneKind::ALL.into_iter().find(|k| k.as_str() == value)
    }

    /// The column of the directory this kind of number belongs to.
    pub fn number_kind(self) -> crate::contact::NumberKind {
        use crate::contact::NumberKind;
        match self {
            PhoneKind::Work | PhoneKind::Main => NumberKind::Work,
            PhoneKind::Mobile => NumberKind::Mobile,
            PhoneKind::Home => NumberKind::Home,
            PhoneKind::Fax | PhoneKind::HomeFax => NumberKind::Fax,
            PhoneKind::Pager | PhoneKind::Other => NumberKind::Other,
        }
    }

    /// How the portal and caller-ID name the kind when the number has no label of its own.
    pub fn word(self) -> &'static str {
        match self {
            PhoneKind::Work => "Work",
            PhoneKind::Mobile => "Mobile",
            PhoneKind::Home => "Home",
            PhoneKind::Main => "Main",
            PhoneKind::Fax => "Fax",
            PhoneKind::HomeFax => "Home fax",
            PhoneKind::Pager => "Pager",
            PhoneKind::Other => "Other",
        }
    }
}

/// What an email, address, web address or date is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PlaceKind {
    #[default]
    Work,
    Home,
    Other,
}

/// Which day a date is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DateKind {
    #[default]
    Birthday,
    Anniversary,
    Other,
}

/// A number as a client sends it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct PhoneInput {
    pub kind: PhoneKind,
    #[schema(max_length = 60, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    pub label: String,
    /// As typed: any spelling of a number, an extension, or a note such as "ask reception".
    #[schema(max_length = 100, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    pub number: String,
}

/// A number a contact has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Phone {
    pub kind: PhoneKind,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub label: String,
    pub number: PhoneNumber,
}

/// An email address as a client sends it and as a contact keeps it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Email {
    pub kind: PlaceKind,
    #[serde(skip_serializing_if = "String::is_empty")]
    #[schema(max_length = 60, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    pub label: String,
    #[schema(max_length = 254)]
    pub address: String,
}

/// A postal address, in vCard's parts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Address {
    pub kind: PlaceKind,
    #[serde(skip_serializing_if = "String::is_empty")]
    #[schema(max_length = 60)]
    pub label: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    #[schema(max_length = 100)]
    pub po_box: String,
    /// Street and number; may have several lines.
    #[serde(skip_serializing_if = "String::is_empty")]
    #[schema(max_length = 1000)]
    pub street: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    #[schema(max_length = 100)]
    pub city: String,
    /// State, province or county.
    #[serde(skip_serializing_if = "String::is_empty")]
    #[schema(max_length = 100)]
    pub region: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    #[schema(max_length = 100)]
    pub postal_code: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    #[schema(max_length = 100)]
    pub country: String,
}

impl Address {
    pub fn is_empty(&self) -> bool {
        self.parts().iter().all(|p| p.trim().is_empty())
    }

    /// The parts that hold the address itself (not its kind or label).
    pub fn parts(&self) -> [&str; 6] {
        [&self.po_box, &self.street, &self.city, &self.region, &self.postal_code, &self.country]
    }
}

/// A web address, or a messaging handle (`kind` is then the service: `skype`, `xmpp`…).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Labeled {
    /// For web addresses `work`, `home`, `other`…; for handles the service.
    #[schema(max_length = 60)]
    pub kind: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    #[schema(max_length = 60)]
    pub label: String,
    #[schema(max_length = 1000)]
    pub value: String,
}

/// A birthday, anniversary or other day: `YYYY-MM-DD`, or `--MM-DD` when the year is unknown.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct DateEntry {
    pub kind: DateKind,
    #[serde(skip_serializing_if = "String::is_empty")]
    #[schema(max_length = 60)]
    pub label: String,
    #[schema(example = "1985-04-12", pattern = r"^(\d{4}|--)-?\d{2}-?\d{2}$")]
    pub date: String,
}

/// Which family of files an unmodelled property came from; it is written back only there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExtraFormat {
    /// Any vCard version: `name` is the property with its parameters (`X-SOCIALPROFILE;TYPE=x`).
    Vcard,
    /// Outlook CSV: `name` is the column.
    Outlook,
    /// Google CSV: `name` is the column.
    Google,
}

/// A property no field holds, kept as it came so an export can give it back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtraProperty {
    pub format: ExtraFormat,
    #[schema(max_length = 200)]
    pub name: String,
    #[schema(max_length = 4000)]
    pub value: String,
}

/// Parts of a name beyond first and last.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NameParts {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub prefix: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub middle: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub suffix: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub nickname: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub phonetic_first: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub phonetic_last: String,
}

/// Checks a date as `YYYY-MM-DD` or `--MM-DD`, also accepting the basic forms
/// `YYYYMMDD` and `--MMDD` of vCard 3 and 4, and gives back the extended form.
pub fn date(value: &str) -> Result<String, String> {
    let value = value.trim();
    let digits: String = value.chars().filter(|c| c.is_ascii_digit()).collect();
    let bad = || format!("`{value}` is not a date: write YYYY-MM-DD, or --MM-DD without a year");
    let no_year = value.starts_with("--");
    let shape_ok = value.chars().all(|c| c.is_ascii_digit() || c == '-')
        && if no_year { digits.len() == 4 } else { digits.len() == 8 && !value.starts_with('-') };
    if !shape_ok {
        return Err(bad());
    }
    let (year, rest) =
        if no_year { (2000, digits.as_str()) } else { (digits[..4].parse().map_err(|_| bad())?, &digits[4..]) };
    let month: u32 = rest[..2].parse().map_err(|_| bad())?;
    let day: u32 = rest[2..].parse().map_err(|_| bad())?;
    chrono::NaiveDate::from_ymd_opt(year, month, day).ok_or_else(bad)?;
    Ok(if no_year { format!("--{month:02}-{day:02}") } else { format!("{year:04}-{month:02}-{day:02}") })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_read_in_their_usual_forms() {
        assert_eq!(date("1985-04-12").unwrap(), "1985-04-12");
        assert_eq!(date("19850412").unwrap(), "1985-04-12");
        assert_eq!(date("--04-12").unwrap(), "--04-12");
        assert_eq!(date("--0412").unwrap(), "--04-12");
        assert_eq!(date("--02-29").unwrap(), "--02-29", "a birthday without a year may be the 29th");
        for bad in ["1985-13-01", "1985-02-30", "12/04/1985", "April", "-1985-04-12", "1985-04-12T10:00"] {
            assert!(date(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn phone_kinds_read_back_their_names() {
        for kind in PhoneKind::ALL {
            assert_eq!(PhoneKind::parse(kind.as_str()), Some(kind));
        }
    }
}
