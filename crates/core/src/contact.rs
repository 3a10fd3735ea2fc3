//! Contact input, validated once into [`ContactFields`].

use serde::{Deserialize, Serialize};

use crate::error::{Errors, Invalid};
use crate::phone::{Country, PhoneNumber};
use crate::text::fold;

/// A contact as a client sends it: every field optional, unknown fields refused.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ContactInput {
    #[schema(max_length = 100, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    pub first_name: String,
    #[schema(max_length = 100, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    pub last_name: String,
    #[schema(max_length = 200, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    pub company: String,
    #[schema(max_length = 100, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    pub title: String,
    #[schema(max_length = 40, pattern = r"^([ +\-().,/#*xX]*[0-9][0-9 +\-().,/#*xX]*)?$")]
    pub work_phone: String,
    #[schema(max_length = 40, pattern = r"^([ +\-().,/#*xX]*[0-9][0-9 +\-().,/#*xX]*)?$")]
    pub mobile_phone: String,
    #[schema(max_length = 40, pattern = r"^([ +\-().,/#*xX]*[0-9][0-9 +\-().,/#*xX]*)?$")]
    pub home_phone: String,
    #[schema(max_length = 40, pattern = r"^([ +\-().,/#*xX]*[0-9][0-9 +\-().,/#*xX]*)?$")]
    pub fax: String,
    #[schema(
        max_length = 254,
        pattern = r"^([^@\s\u0000-\u001f\u007f-\u009f]+@[^@\s\u0000-\u001f\u007f-\u009f.][^@\s\u0000-\u001f\u007f-\u009f]*\.[^@\s\u0000-\u001f\u007f-\u009f]*[^@\s\u0000-\u001f\u007f-\u009f.])?$"
    )]
    pub email: String,
    #[schema(max_length = 4000, pattern = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$")]
    pub notes: String,
}

/// A partial update: only the fields present change.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactPatch {
    #[schema(max_length = 100, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    pub first_name: Option<String>,
    #[schema(max_length = 100, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    pub last_name: Option<String>,
    #[schema(max_length = 200, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    pub company: Option<String>,
    #[schema(max_length = 100, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    pub title: Option<String>,
    #[schema(max_length = 40, pattern = r"^([ +\-().,/#*xX]*[0-9][0-9 +\-().,/#*xX]*)?$")]
    pub work_phone: Option<String>,
    #[schema(max_length = 40, pattern = r"^([ +\-().,/#*xX]*[0-9][0-9 +\-().,/#*xX]*)?$")]
    pub mobile_phone: Option<String>,
    #[schema(max_length = 40, pattern = r"^([ +\-().,/#*xX]*[0-9][0-9 +\-().,/#*xX]*)?$")]
    pub home_phone: Option<String>,
    #[schema(max_length = 40, pattern = r"^([ +\-().,/#*xX]*[0-9][0-9 +\-().,/#*xX]*)?$")]
    pub fax: Option<String>,
    #[schema(
        max_length = 254,
        pattern = r"^([^@\s\u0000-\u001f\u007f-\u009f]+@[^@\s\u0000-\u001f\u007f-\u009f.][^@\s\u0000-\u001f\u007f-\u009f]*\.[^@\s\u0000-\u001f\u007f-\u009f]*[^@\s\u0000-\u001f\u007f-\u009f.])?$"
    )]
    pub email: Option<String>,
    #[schema(max_length = 4000, pattern = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$")]
    pub notes: Option<String>,
}

/// A whole form's worth of fields replaces every field.
impl From<ContactInput> for ContactPatch {
    fn from(input: ContactInput) -> ContactPatch {
        ContactPatch {
            first_name: Some(input.first_name),
            last_name: Some(input.last_name),
            company: Some(input.company),
            title: Some(input.title),
            work_phone: Some(input.work_phone),
            mobile_phone: Some(input.mobile_phone),
            home_phone: Some(input.home_phone),
            fax: Some(input.fax),
            email: Some(input.email),
            notes: Some(input.notes),
        }
    }
}

/// The kinds of number a contact has, in the order phones list them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum NumberKind {
    Work,
    Mobile,
    Home,
    Fax,
    Extension,
}

/// A valid contact. Strings are trimmed; empty means "not given".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactFields {
    pub first_name: String,
    pub last_name: String,
    pub company: String,
    pub title: String,
    pub work_phone: Option<PhoneNumber>,
    pub mobile_phone: Option<PhoneNumber>,
    pub home_phone: Option<PhoneNumber>,
    pub fax: Option<PhoneNumber>,
    pub email: String,
    pub notes: String,
}

pub const MAX_NAME_LEN: usize = 100;
pub const MAX_COMPANY_LEN: usize = 200;
pub const MAX_EMAIL_LEN: usize = 254;
pub const MAX_NOTES_LEN: usize = 4000;

/// Checks a one-line text field: length and no control characters.
pub fn single_line(value: &str, max: usize) -> Result<String, String> {
    let value = value.trim();
    if value.chars().count() > max {
        return Err(format!("at most {max} characters"));
    }
    if value.chars().any(char::is_control) {
        return Err("control characters (such as line breaks) are not allowed".into());
    }
    Ok(value.to_string())
}

/// Checks an email address's shape (`local@host.tld`); empty is allowed.
pub fn email(value: &str) -> Result<String, String> {
    let value = single_line(value, MAX_EMAIL_LEN)?;
    if value.is_empty() {
        return Ok(value);
    }
    let valid = value.split_once('@').is_some_and(|(local, host)| {
        !local.is_empty()
            && host.contains('.')
            && !host.starts_with('.')
            && !host.ends_with('.')
            && !value.contains(char::is_whitespace)
            && !host.contains('@')
    });
    if valid { Ok(value) } else { Err(format!("`{value}` is not an email address")) }
}

fn notes(value: &str) -> Result<String, String> {
    let value = value.trim();
    if value.chars().count() > MAX_NOTES_LEN {
        return Err(format!("at most {MAX_NOTES_LEN} characters"));
    }
    if value.chars().any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r') {
        return Err("control characters are not allowed".into());
    }
    Ok(value.to_string())
}

impl ContactFields {
    /// Validates every field and reports all problems at once.
    pub fn parse(input: &ContactInput, country: Country) -> Result<ContactFields, Invalid> {
        let mut errors = Errors::default();
        let first_name = errors.take("first_name", single_line(&input.first_name, MAX_NAME_LEN));
        let last_name = errors.take("last_name", single_line(&input.last_name, MAX_NAME_LEN));
        let company = errors.take("company", single_line(&input.company, MAX_COMPANY_LEN));
        let title = errors.take("title", single_line(&input.title, MAX_NAME_LEN));
        let work_phone = errors.take("work_phone", PhoneNumber::parse(&input.work_phone, country));
        let mobile_phone = errors.take("mobile_phone", PhoneNumber::parse(&input.mobile_phone, country));
        let home_phone = errors.take("home_phone", PhoneNumber::parse(&input.home_phone, country));
        let fax = errors.take("fax", PhoneNumber::parse(&input.fax, country));
        let email = errors.take("email", email(&input.email));
        let notes = errors.take("notes", notes(&input.notes));
        let has_name = [&first_name, &last_name, &company].iter().any(|v| v.as_ref().is_some_and(|s| !s.is_empty()));
        if !has_name && first_name.is_some() && last_name.is_some() && company.is_some() {
            errors.push("first_name", "give a first name, a last name or a company");
        }
        errors.finish()?;
        Ok(ContactFields {
            first_name: first_name.unwrap_or_default(),
            last_name: last_name.unwrap_or_default(),
            company: company.unwrap_or_default(),
            title: title.unwrap_or_default(),
            work_phone: work_phone.flatten(),
            mobile_phone: mobile_phone.flatten(),
            home_phone: home_phone.flatten(),
            fax: fax.flatten(),
            email: email.unwrap_or_default(),
            notes: notes.unwrap_or_default(),
        })
    }

    /// The fields back in input form (numbers as typed), e.g. to apply a patch.
    pub fn to_input(&self) -> ContactInput {
        let typed = |n: &Option<PhoneNumber>| n.as_ref().map(|n| n.typed.clone()).unwrap_or_default();
        ContactInput {
            first_name: self.first_name.clone(),
            last_name: self.last_name.clone(),
            company: self.company.clone(),
            title: self.title.clone(),
            work_phone: typed(&self.work_phone),
            mobile_phone: typed(&self.mobile_phone),
            home_phone: typed(&self.home_phone),
            fax: typed(&self.fax),
            email: self.email.clone(),
            notes: self.notes.clone(),
        }
    }

    /// Applies a partial update and validates the result as a whole.
    pub fn patched(&self, patch: &ContactPatch, country: Country) -> Result<ContactFields, Invalid> {
        let mut input = self.to_input();
        let pairs: [(&mut String, &Option<String>); 10] = [
            (&mut input.first_name, &patch.first_name),
            (&mut input.last_name, &patch.last_name),
            (&mut input.company, &patch.company),
            (&mut input.title, &patch.title),
            (&mut input.work_phone, &patch.work_phone),
            (&mut input.mobile_phone, &patch.mobile_phone),
            (&mut input.home_phone, &patch.home_phone),
            (&mut input.fax, &patch.fax),
            (&mut input.email, &patch.email),
            (&mut input.notes, &patch.notes),
        ];
        for (field, new_value) in pairs {
            if let Some(value) = new_value {
                *field = value.clone();
            }
        }
        ContactFields::parse(&input, country)
    }

    /// The contact's numbers with their kinds, in phone order.
    pub fn numbers(&self) -> Vec<(NumberKind, &PhoneNumber)> {
        [
            (NumberKind::Work, &self.work_phone),
            (NumberKind::Mobile, &self.mobile_phone),
            (NumberKind::Home, &self.home_phone),
            (NumberKind::Fax, &self.fax),
        ]
        .into_iter()
        .filter_map(|(kind, number)| number.as_ref().map(|n| (kind, n)))
        .collect()
    }

    /// Two contacts with the same key are exact duplicates: same names, same numbers.
    pub fn duplicate_key(&self) -> String {
        let mut numbers: Vec<String> =
            self.numbers().iter().map(|(_, n)| n.e164.clone().unwrap_or_else(|| n.typed.clone())).collect();
        numbers.sort();
        format!(
            "{}\u{1}{}\u{1}{}\u{1}{}",
            fold(&self.first_name),
            fold(&self.last_name),
            fold(&self.company),
            numbers.join(",")
        )
    }

    pub fn search_text(&self) -> String {
        crate::text::search_text(
            [
                format!("{} {}", self.first_name, self.last_name).trim(),
                format!("{} {}", self.last_name, self.first_name).trim(),
                &self.company,
                &self.email,
            ],
            self.numbers().into_iter().map(|(_, n)| n.search_digits()),
        )
    }

    pub fn sort_key(&self) -> String {
        crate::text::name_sort_key(&self.first_name, &self.last_name, &self.company)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(first: &str, last: &str, company: &str) -> ContactInput {
        ContactInput { first_name: first.into(), last_name: last.into(), company: company.into(), ..Default::default() }
    }

    #[test]
    fn a_company_alone_is_a_name() {
        assert!(ContactFields::parse(&input("", "", "Acme"), Country::default()).is_ok());
        let err = ContactFields::parse(&input(" ", "", ""), Country::default()).unwrap_err();
        assert_eq!(err.0[0].field, "first_name");
    }

    #[test]
    fn every_bad_field_is_reported() {
        let bad = ContactInput {
            first_name: "x".repeat(101),
            email: "not-an-email".into(),
            work_phone: "call me".into(),
            ..input("", "Doe", "")
        };
        let err = ContactFields::parse(&bad, Country::default()).unwrap_err();
        let fields: Vec<&str> = err.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["first_name", "work_phone", "email"]);
    }

    #[test]
    fn patches_revalidate_the_whole_contact() {
        let contact = ContactFields::parse(&input("Ann", "Lee", ""), Country::default()).unwrap();
        let patch = ContactPatch { mobile_phone: Some("206 555 0100".into()), ..Default::default() };
        let patched = contact.patched(&patch, Country::default()).unwrap();
        assert_eq!(patched.mobile_phone.unwrap().e164.as_deref(), Some("+12065550100"));
        let clear_names =
            ContactPatch { first_name: Some(String::new()), last_name: Some(String::new()), ..Default::default() };
        assert!(contact.patched(&clear_names, Country::default()).is_err());
    }

    #[test]
    fn duplicate_keys_ignore_number_format_and_case() {
        let a = ContactInput { work_phone: "(206) 555-0100".into(), ..input("Ann", "Lee", "") };
        let b = ContactInput { work_phone: "+1 206 555 0100".into(), ..input("ann", "LEE", "") };
        let key = |i| ContactFields::parse(&i, Country::default()).unwrap().duplicate_key();
        assert_eq!(key(a), key(b));
    }

    #[test]
    fn emails_are_checked() {
        assert!(email("a@b.co").is_ok());
        for bad in ["a@b", "@b.co", "a b@c.co", "a@b@c.co"] {
            assert!(email(bad).is_err(), "{bad}");
        }
    }
}
