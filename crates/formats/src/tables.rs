//! What each CSV header column means, per dialect, and how labelled numbers are filed.
//!
//! Columns are matched by name (case-insensitive, trimmed), never by position.

use crate::builder::{PhoneKind, Section, Slot};

/// A part of a postal address, in the order a one-line address shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Part {
    Formatted,
    PoBox,
    Street,
    Extended,
    City,
    Region,
    PostalCode,
    Country,
}

/// Google's numbered groups: `Phone 2 - Label`, `Phone 2 - Value`, …
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Group {
    Phone,
    Email,
    Address,
    Organization,
    Website,
    Event,
    Relation,
    Im,
    Custom,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GroupPart {
    Label,
    Value,
    Address(Part),
    OrgName,
    OrgTitle,
    OrgDepartment,
    Ignored,
}

/// The meaning of one column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Col {
    Ignored,
    NamePrefix,
    First,
    Middle,
    Last,
    /// A whole name (Google legacy `Name`): used only when there is no first or last name.
    FullName,
    NameSuffix,
    Company,
    Department,
    JobTitle,
    Phone(PhoneKind, &'static str),
    Email,
    Notes,
    Uid,
    /// A value kept as a notes line with this label; `0/0/00` (Outlook's empty date) is skipped.
    Extra(Section, &'static str),
    /// Part of the address labelled so (Outlook's Business/Home/Other address columns).
    Address(&'static str, Part),
    /// Google `Labels` / legacy `Group Membership`.
    Labels,
    Group(Group, u32, GroupPart),
}

/// A CSV dialect: which table gives the columns' meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    OutlookEn,
    OutlookDe,
    OutlookFr,
    Google,
}

impl Dialect {
    pub const ALL: [Dialect; 4] = [Dialect::OutlookEn, Dialect::OutlookDe, Dialect::OutlookFr, Dialect::Google];

    pub fn column(self, header: &str) -> Col {
        let header = header.trim();
        let table: &[(&str, Col)] = match self {
            Dialect::OutlookEn => OUTLOOK_EN,
            Dialect::OutlookDe => OUTLOOK_DE,
            Dialect::OutlookFr => OUTLOOK_FR,
            Dialect::Google => return google_column(header),
        };
        table.iter().find(|(name, _)| name.eq_ignore_ascii_case(header)).map_or(Col::Ignored, |c| c.1)
    }

    /// A few of the columns, to say what was expected.
    pub fn example_columns(self) -> &'static str {
        match self {
            Dialect::OutlookEn => {
                "Outlook (First Name, Last Name, Company, Business Phone, Mobile Phone, E-mail Address)"
            }
            Dialect::OutlookDe => "Outlook German (Vorname, Nachname, Firma, Telefon geschäftlich, E-Mail-Adresse)",
            Dialect::OutlookFr => "Outlook French (Prénom, Nom, Société, Téléphone (bureau), Adresse de messagerie)",
            Dialect::Google => "Google (First Name, Last Name, Organization Name, Phone 1 - Label, Phone 1 - Value)",
        }
    }
}

const WORK: PhoneKind = PhoneKind::Is(Slot::Work);
const MOBILE: PhoneKind = PhoneKind::Is(Slot::Mobile);
const HOME: PhoneKind = PhoneKind::Is(Slot::Home);
const FAX: PhoneKind = PhoneKind::Is(Slot::Fax);
const MAIN: PhoneKind = PhoneKind::Fallback(Slot::Work);
const OTHER_FAX: PhoneKind = PhoneKind::Fallback(Slot::Fax);
const OTHER: PhoneKind = PhoneKind::Other;

const WORK_ADDRESS: &str = "Work address";
const HOME_ADDRESS: &str = "Home address";
const OTHER_ADDRESS: &str = "Other address";

/// Outlook for Windows and Outlook.com, English. Unlisted columns are ignored.
const OUTLOOK_EN: &[(&str, Col)] = &[
    ("Title", Col::NamePrefix),
    ("First Name", Col::First),
    ("Middle Name", Col::Middle),
    ("Last Name", Col::Last),
    ("Suffix", Col::NameSuffix),
    ("Nickname", Col::Extra(Section::Name, "Nickname")),
    ("Company", Col::Company),
    ("Department", Col::Department),
    ("Job Title", Col::JobTitle),
    ("Business Street", Col::Address(WORK_ADDRESS, Part::Street)),
    ("Business Street 2", Col::Address(WORK_ADDRESS, Part::Street)),
    ("Business Street 3", Col::Address(WORK_ADDRESS, Part::Street)),
    ("Business Address PO Box", Col::Address(WORK_ADDRESS, Part::PoBox)),
    ("Business City", Col::Address(WORK_ADDRESS, Part::City)),
    ("Business State", Col::Address(WORK_ADDRESS, Part::Region)),
    ("Business Postal Code", Col::Address(WORK_ADDRESS, Part::PostalCode)),
    ("Business Country/Region", Col::Address(WORK_ADDRESS, Part::Country)),
    ("Home Street", Col::Address(HOME_ADDRESS, Part::Street)),
    ("Home Street 2", Col::Address(HOME_ADDRESS, Part::Street)),
    ("Home Street 3", Col::Address(HOME_ADDRESS, Part::Street)),
    ("Home Address PO Box", Col::Address(HOME_ADDRESS, Part::PoBox)),
    ("Home City", Col::Address(HOME_ADDRESS, Part::City)),
    ("Home State", Col::Address(HOME_ADDRESS, Part::Region)),
    ("Home Postal Code", Col::Address(HOME_ADDRESS, Part::PostalCode)),
    ("Home Country/Region", Col::Address(HOME_ADDRESS, Part::Country)),
    ("Other Street", Col::Address(OTHER_ADDRESS, Part::Street)),
    ("Other Street 2", Col::Address(OTHER_ADDRESS, Part::Street)),
    ("Other Street 3", Col::Address(OTHER_ADDRESS, Part::Street)),
    ("Other Address PO Box", Col::Address(OTHER_ADDRESS, Part::PoBox)),
    ("Other City", Col::Address(OTHER_ADDRESS, Part::City)),
    ("Other State", Col::Address(OTHER_ADDRESS, Part::Region)),
    ("Other Postal Code", Col::Address(OTHER_ADDRESS, Part::PostalCode)),
    ("Other Country/Region", Col::Address(OTHER_ADDRESS, Part::Country)),
    ("Assistant's Phone", Col::Phone(OTHER, "Assistant's phone")),
    ("Business Fax", Col::Phone(FAX, "Fax")),
    ("Business Phone", Col::Phone(WORK, "Work phone")),
    ("Business Phone 2", Col::Phone(WORK, "Work phone")),
    ("Callback", Col::Phone(OTHER, "Callback")),
    ("Car Phone", Col::Phone(OTHER, "Car phone")),
    ("Company Main Phone", Col::Phone(MAIN, "Company main phone")),
    ("Home Fax", Col::Phone(FAX, "Home fax")),
    ("Home Phone", Col::Phone(HOME, "Home phone")),
    ("Home Phone 2", Col::Phone(HOME, "Home phone")),
    ("ISDN", Col::Phone(OTHER, "ISDN")),
    ("Mobile Phone", Col::Phone(MOBILE, "Mobile phone")),
    ("Other Fax", Col::Phone(OTHER_FAX, "Other fax")),
    ("Other Phone", Col::Phone(OTHER, "Other phone")),
    ("Pager", Col::Phone(OTHER, "Pager")),
    ("Primary Phone", Col::Phone(OTHER, "Primary phone")),
    ("Radio Phone", Col::Phone(OTHER, "Radio phone")),
    ("TTY/TDD Phone", Col::Phone(OTHER, "TTY/TDD phone")),
    ("Telex", Col::Phone(OTHER, "Telex")),
    ("Anniversary", Col::Extra(Section::Other, "Anniversary")),
    ("Assistant's Name", Col::Extra(Section::Other, "Assistant")),
    ("Birthday", Col::Extra(Section::Other, "Birthday")),
    ("Categories", Col::Extra(Section::Other, "Categories")),
    ("E-mail Address", Col::Email),
    ("E-mail 2 Address", Col::Email),
    ("E-mail 3 Address", Col::Email),
    ("Manager's Name", Col::Extra(Section::Other, "Manager")),
    ("Notes", Col::Notes),
    ("Office Location", Col::Extra(Section::Organization, "Office")),
    ("Spouse", Col::Extra(Section::Other, "Spouse")),
    ("User 1", Col::Uid),
    ("Web Page", Col::Extra(Section::Web, "Website")),
    ("Personal Web Page", Col::Extra(Section::Web, "Personal website")),
    ("IMAddress", Col::Extra(Section::Other, "IM")),
];

/// Outlook for Windows, German.
const OUTLOOK_DE: &[(&str, Col)] = &[
    ("Anrede", Col::NamePrefix),
    ("Vorname", Col::First),
    ("Weitere Vornamen", Col::Middle),
    ("Nachname", Col::Last),
    ("Suffix", Col::NameSuffix),
    ("Spitzname", Col::Extra(Section::Name, "Nickname")),
    ("Firma", Col::Company),
    ("Abteilung", Col::Department),
    ("Position", Col::JobTitle),
    ("Straße geschäftlich", Col::Address(WORK_ADDRESS, Part::Street)),
    ("Straße geschäftlich 2", Col::Address(WORK_ADDRESS, Part::Street)),
    ("Straße geschäftlich 3", Col::Address(WORK_ADDRESS, Part::Street)),
    ("Postfach geschäftlich", Col::Address(WORK_ADDRESS, Part::PoBox)),
    ("Ort geschäftlich", Col::Address(WORK_ADDRESS, Part::City)),
    ("Region geschäftlich", Col::Address(WORK_ADDRESS, Part::Region)),
    ("Postleitzahl geschäftlich", Col::Address(WORK_ADDRESS, Part::PostalCode)),
    ("Land/Region geschäftlich", Col::Address(WORK_ADDRESS, Part::Country)),
    ("Straße privat", Col::Address(HOME_ADDRESS, Part::Street)),
    ("Straße privat 2", Col::Address(HOME_ADDRESS, Part::Street)),
    ("Straße privat 3", Col::Address(HOME_ADDRESS, Part::Street)),
    ("Postfach privat", Col::Address(HOME_ADDRESS, Part::PoBox)),
    ("Ort privat", Col::Address(HOME_ADDRESS, Part::City)),
    ("Region privat", Col::Address(HOME_ADDRESS, Part::Region)),
    ("Postleitzahl privat", Col::Address(HOME_ADDRESS, Part::PostalCode)),
    ("Land/Region privat", Col::Address(HOME_ADDRESS, Part::Country)),
    ("Telefon Assistent", Col::Phone(OTHER, "Assistant's phone")),
    ("Fax geschäftlich", Col::Phone(FAX, "Fax")),
    ("Telefon geschäftlich", Col::Phone(WORK, "Work phone")),
    ("Telefon geschäftlich 2", Col::Phone(WORK, "Work phone")),
    ("Rückmeldung", Col::Phone(OTHER, "Callback")),
    ("Autotelefon", Col::Phone(OTHER, "Car phone")),
    ("Telefon Firma", Col::Phone(MAIN, "Company main phone")),
    ("Fax privat", Col::Phone(FAX, "Home fax")),
    ("Telefon privat", Col::Phone(HOME, "Home phone")),
    ("Telefon privat 2", Col::Phone(HOME, "Home phone")),
    ("ISDN", Col::Phone(OTHER, "ISDN")),
    ("Mobiltelefon", Col::Phone(MOBILE, "Mobile phone")),
    ("Mobiltelefon 2", Col::Phone(MOBILE, "Mobile phone")),
    ("Weiteres Fax", Col::Phone(OTHER_FAX, "Other fax")),
    ("Weiteres Telefon", Col::Phone(OTHER, "Other phone")),
    ("Pager", Col::Phone(OTHER, "Pager")),
    ("Haupttelefon", Col::Phone(OTHER, "Primary phone")),
    ("Funktelefon", Col::Phone(OTHER, "Radio phone")),
    ("Telefon für Hörbehinderte", Col::Phone(OTHER, "TTY/TDD phone")),
    ("Telex", Col::Phone(OTHER, "Telex")),
    ("Jahrestag", Col::Extra(Section::Other, "Anniversary")),
    ("Name des Assistenten", Col::Extra(Section::Other, "Assistant")),
    ("Geburtstag", Col::Extra(Section::Other, "Birthday")),
    ("Kategorien", Col::Extra(Section::Other, "Categories")),
    ("E-Mail-Adresse", Col::Email),
    ("E-Mail 2: Adresse", Col::Email),
    ("E-Mail 3: Adresse", Col::Email),
    ("Name des Vorgesetzten", Col::Extra(Section::Other, "Manager")),
    ("Notizen", Col::Notes),
    ("Büro", Col::Extra(Section::Organization, "Office")),
    ("Partner", Col::Extra(Section::Other, "Spouse")),
    ("Benutzer 1", Col::Uid),
    ("Webseite", Col::Extra(Section::Web, "Website")),
];

/// Outlook for Windows, French.
const OUTLOOK_FR: &[(&str, Col)] = &[
    ("Titre", Col::NamePrefix),
    ("Prénom", Col::First),
    ("Deuxième prénom", Col::Middle),
    ("Nom", Col::Last),
    ("Suffixe", Col::NameSuffix),
    ("Surnom", Col::Extra(Section::Name, "Nickname")),
    ("Société", Col::Company),
    ("Service", Col::Department),
    ("Fonction", Col::JobTitle),
    ("Rue (bureau)", Col::Address(WORK_ADDRESS, Part::Street)),
    ("Rue (bureau) 2", Col::Address(WORK_ADDRESS, Part::Street)),
    ("Rue (bureau) 3", Col::Address(WORK_ADDRESS, Part::Street)),
    ("B.P. professionnelle", Col::Address(WORK_ADDRESS, Part::PoBox)),
    ("Ville (bureau)", Col::Address(WORK_ADDRESS, Part::City)),
    ("Dép/Région (bureau)", Col::Address(WORK_ADDRESS, Part::Region)),
    ("Code postal (bureau)", Col::Address(WORK_ADDRESS, Part::PostalCode)),
    ("Pays/Région (bureau)", Col::Address(WORK_ADDRESS, Part::Country)),
    ("Rue (domicile)", Col::Address(HOME_ADDRESS, Part::Street)),
    ("Rue (domicile) 2", Col::Address(HOME_ADDRESS, Part::Street)),
    ("Rue (domicile) 3", Col::Address(HOME_ADDRESS, Part::Street)),
    ("B.P. domicile", Col::Address(HOME_ADDRESS, Part::PoBox)),
    ("Ville (domicile)", Col::Address(HOME_ADDRESS, Part::City)),
    ("Dép/Région (domicile)", Col::Address(HOME_ADDRESS, Part::Region)),
    ("Code postal (domicile)", Col::Address(HOME_ADDRESS, Part::PostalCode)),
    ("Pays/Région (domicile)", Col::Address(HOME_ADDRESS, Part::Country)),
    ("Téléphone de l'assistant(e)", Col::Phone(OTHER, "Assistant's phone")),
    ("Télécopie (bureau)", Col::Phone(FAX, "Fax")),
    ("Téléphone (bureau)", Col::Phone(WORK, "Work phone")),
    ("Téléphone 2 (bureau)", Col::Phone(WORK, "Work phone")),
    ("Rappel", Col::Phone(OTHER, "Callback")),
    ("Téléphone (voiture)", Col::Phone(OTHER, "Car phone")),
    ("Téléphone société", Col::Phone(MAIN, "Company main phone")),
    ("Télécopie (domicile)", Col::Phone(FAX, "Home fax")),
    ("Téléphone (domicile)", Col::Phone(HOME, "Home phone")),
    ("Téléphone 2 (domicile)", Col::Phone(HOME, "Home phone")),
    ("RNIS", Col::Phone(OTHER, "ISDN")),
    ("Tél. mobile", Col::Phone(MOBILE, "Mobile phone")),
    ("Autre télécopie", Col::Phone(OTHER_FAX, "Other fax")),
    ("Autre téléphone", Col::Phone(OTHER, "Other phone")),
    ("Récepteur de radiomessagerie", Col::Phone(OTHER, "Pager")),
    ("Téléphone principal", Col::Phone(OTHER, "Primary phone")),
    ("Radio téléphone", Col::Phone(OTHER, "Radio phone")),
    ("Téléphone TDD/TTY", Col::Phone(OTHER, "TTY/TDD phone")),
    ("Télex", Col::Phone(OTHER, "Telex")),
    ("Anniversaire de mariage ou fête", Col::Extra(Section::Other, "Anniversary")),
    ("Nom de l'assistant(e)", Col::Extra(Section::Other, "Assistant")),
    ("Anniversaire", Col::Extra(Section::Other, "Birthday")),
    ("Catégories", Col::Extra(Section::Other, "Categories")),
    ("Adresse de messagerie", Col::Email),
    ("Adresse de messagerie 2", Col::Email),
    ("Adresse de messagerie 3", Col::Email),
    ("Nom du manager", Col::Extra(Section::Other, "Manager")),
    ("Notes", Col::Notes),
    ("Bureau", Col::Extra(Section::Organization, "Office")),
    ("Conjoint(e)", Col::Extra(Section::Other, "Spouse")),
    ("Utilisateur 1", Col::Uid),
    ("Page Web", Col::Extra(Section::Web, "Website")),
];

/// Google's fixed columns, current and legacy names together.
const GOOGLE_FIXED: &[(&str, Col)] = &[
    ("Name", Col::FullName),
    ("Name Prefix", Col::NamePrefix),
    ("First Name", Col::First),
    ("Given Name", Col::First),
    ("Middle Name", Col::Middle),
    ("Additional Name", Col::Middle),
    ("Last Name", Col::Last),
    ("Family Name", Col::Last),
    ("Name Suffix", Col::NameSuffix),
    ("Nickname", Col::Extra(Section::Name, "Nickname")),
    ("Organization Name", Col::Company),
    ("Organization Title", Col::JobTitle),
    ("Organization Department", Col::Department),
    ("Birthday", Col::Extra(Section::Other, "Birthday")),
    ("Notes", Col::Notes),
    ("Labels", Col::Labels),
    ("Group Membership", Col::Labels),
    ("Occupation", Col::Extra(Section::Organization, "Occupation")),
];

fn google_column(header: &str) -> Col {
    if let Some((_, col)) = GOOGLE_FIXED.iter().find(|(name, _)| name.eq_ignore_ascii_case(header)) {
        return *col;
    }
    google_group(header).map_or(Col::Ignored, |(group, n, part)| Col::Group(group, n, part))
}

/// Parses `Phone 2 - Value` into its group, number and part.
fn google_group(header: &str) -> Option<(Group, u32, GroupPart)> {
    let (name, part) = header.split_once(" - ")?;
    let (kind, number) = name.rsplit_once(' ')?;
    let number: u32 = number.parse().ok()?;
    let group = match kind.to_ascii_lowercase().as_str() {
        "phone" => Group::Phone,
        "e-mail" => Group::Email,
        "address" => Group::Address,
        "organization" => Group::Organization,
        "website" => Group::Website,
        "event" => Group::Event,
        "relation" => Group::Relation,
        "im" => Group::Im,
        "custom field" => Group::Custom,
        _ => return None,
    };
    let part = match part.trim().to_ascii_lowercase().as_str() {
        "label" | "type" => GroupPart::Label,
        "value" => GroupPart::Value,
        "formatted" => GroupPart::Address(Part::Formatted),
        "street" => GroupPart::Address(Part::Street),
        "extended address" => GroupPart::Address(Part::Extended),
        "po box" => GroupPart::Address(Part::PoBox),
        "city" => GroupPart::Address(Part::City),
        "region" => GroupPart::Address(Part::Region),
        "postal code" => GroupPart::Address(Part::PostalCode),
        "country" => GroupPart::Address(Part::Country),
        "name" => GroupPart::OrgName,
        "title" => GroupPart::OrgTitle,
        "department" => GroupPart::OrgDepartment,
        _ => GroupPart::Ignored,
    };
    Some((group, number, part))
}

/// Files a number by its label (Google's phone labels, Apple's `X-ABLabel`, vCard types).
/// Returns the kind and the label for a notes line.
pub(crate) fn phone_label(label: &str) -> (PhoneKind, String) {
    let clean = label.trim().trim_start_matches("* ").trim();
    let kind = match clean.to_lowercase().as_str() {
        "" => return (MAIN, "Phone".into()),
        "mobile" | "cell" | "iphone" => (MOBILE, "Mobile phone"),
        "work" => (WORK, "Work phone"),
        "home" => (HOME, "Home phone"),
        "work fax" | "workfax" | "fax" => (FAX, "Fax"),
        "home fax" | "homefax" => (FAX, "Home fax"),
        "other fax" | "otherfax" => (OTHER_FAX, "Other fax"),
        "main" | "company main" => (MAIN, "Main phone"),
        "pager" => (OTHER, "Pager"),
        "other" => (OTHER, "Other phone"),
        _ => return (OTHER, clean.to_string()),
    };
    (kind.0, kind.1.to_string())
}

/// The English Outlook for Windows header, as Outlook itself writes it (92 columns).
pub(crate) const OUTLOOK_EXPORT_HEADER: [&str; 92] = [
    "Title",
    "First Name",
    "Middle Name",
    "Last Name",
    "Suffix",
    "Company",
    "Department",
    "Job Title",
    "Business Street",
    "Business Street 2",
    "Business Street 3",
    "Business City",
    "Business State",
    "Business Postal Code",
    "Business Country/Region",
    "Home Street",
    "Home Street 2",
    "Home Street 3",
    "Home City",
    "Home State",
    "Home Postal Code",
    "Home Country/Region",
    "Other Street",
    "Other Street 2",
    "Other Street 3",
    "Other City",
    "Other State",
    "Other Postal Code",
    "Other Country/Region",
    "Assistant's Phone",
    "Business Fax",
    "Business Phone",
    "Business Phone 2",
    "Callback",
    "Car Phone",
    "Company Main Phone",
    "Home Fax",
    "Home Phone",
    "Home Phone 2",
    "ISDN",
    "Mobile Phone",
    "Other Fax",
    "Other Phone",
    "Pager",
    "Primary Phone",
    "Radio Phone",
    "TTY/TDD Phone",
    "Telex",
    "Account",
    "Anniversary",
    "Assistant's Name",
    "Billing Information",
    "Birthday",
    "Business Address PO Box",
    "Categories",
    "Children",
    "Directory Server",
    "E-mail Address",
    "E-mail Type",
    "E-mail Display Name",
    "E-mail 2 Address",
    "E-mail 2 Type",
    "E-mail 2 Display Name",
    "E-mail 3 Address",
    "E-mail 3 Type",
    "E-mail 3 Display Name",
    "Gender",
    "Government ID Number",
    "Hobby",
    "Home Address PO Box",
    "Initials",
    "Internet Free Busy",
    "Keywords",
    "Language",
    "Location",
    "Manager's Name",
    "Mileage",
    "Notes",
    "Office Location",
    "Organizational ID Number",
    "Other Address PO Box",
    "Priority",
    "Private",
    "Profession",
    "Referred By",
    "Sensitivity",
    "Spouse",
    "User 1",
    "User 2",
    "User 3",
    "User 4",
    "Web Page",
];

/// The Google header our writer uses: the current format's fixed columns, then the groups
/// it fills (Google accepts any subset of groups).
pub(crate) const GOOGLE_EXPORT_HEADER: [&str; 29] = [
    "First Name",
    "Middle Name",
    "Last Name",
    "Phonetic First Name",
    "Phonetic Middle Name",
    "Phonetic Last Name",
    "Name Prefix",
    "Name Suffix",
    "Nickname",
    "File As",
    "Organization Name",
    "Organization Title",
    "Organization Department",
    "Birthday",
    "Notes",
    "Photo",
    "Labels",
    "E-mail 1 - Label",
    "E-mail 1 - Value",
    "Phone 1 - Label",
    "Phone 1 - Value",
    "Phone 2 - Label",
    "Phone 2 - Value",
    "Phone 3 - Label",
    "Phone 3 - Value",
    "Phone 4 - Label",
    "Phone 4 - Value",
    "Custom Field 1 - Label",
    "Custom Field 1 - Value",
];

/// Google custom field label that carries our stable id.
pub(crate) const GOOGLE_UID_LABEL: &str = "Switchboard UID";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn google_groups_parse() {
        assert_eq!(google_column("Phone 12 - Value"), Col::Group(Group::Phone, 12, GroupPart::Value));
        assert_eq!(google_column("E-mail 1 - Type"), Col::Group(Group::Email, 1, GroupPart::Label));
        assert_eq!(google_column("Given Name"), Col::First);
        assert_eq!(google_column("Phone - Value"), Col::Ignored);
    }

    #[test]
    fn every_export_column_is_read_back_by_its_dialect() {
        for name in OUTLOOK_EXPORT_HEADER {
            assert_eq!(OUTLOOK_EXPORT_HEADER.iter().filter(|n| **n == name).count(), 1, "{name}");
        }
        assert_eq!(Dialect::OutlookEn.column("user 1"), Col::Uid);
        assert_eq!(Dialect::OutlookDe.column("Telefon geschäftlich"), Col::Phone(WORK, "Work phone"));
    }
}
