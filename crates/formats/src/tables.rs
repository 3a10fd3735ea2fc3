//! What each CSV header column means, per dialect, and the label words of each format.
//!
//! Columns are matched by name (case-insensitive, trimmed), never by position. A column
//! that no table knows is kept verbatim in the contact's `extra` under its header name.

use switchboard_core::details::{DateKind, PhoneKind, PlaceKind};

/// A part of a postal address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Part {
    Formatted,
    PoBox,
    Street,
    /// Outlook's `Business Street 2` and `3`: more lines of the street.
    Street2,
    Street3,
    /// vCard's and Google's extended address: read as another line of the street.
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
    Im,
    /// Relations and the other groups no field holds: kept column by column.
    Relation,
    Custom,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GroupPart {
    Label,
    Value,
    /// `IM 1 - Service`.
    Service,
    Address(Part),
    OrgName,
    OrgTitle,
    OrgDepartment,
    /// A part no field holds (`Organization 1 - Symbol`): kept verbatim.
    Other,
}

/// The meaning of one column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Col {
    /// Not in the dialect's table: kept verbatim in `extra` under its header name.
    Unknown,
    /// Known and deliberately not kept (Google's `Photo`, a link to Google's copy).
    Ignored,
    NamePrefix,
    First,
    Middle,
    Last,
    /// A whole name (Google legacy `Name`): used only when there is no first or last name.
    FullName,
    NameSuffix,
    Nickname,
    PhoneticFirst,
    PhoneticLast,
    Company,
    Department,
    JobTitle,
    /// One of [`OUTLOOK_PHONES`], by its English column name.
    Phone(&'static str),
    /// Outlook's first, second or third email (0, 1, 2).
    Email(usize),
    Notes,
    Uid,
    /// A date in the dialect's order (`4/12/1985`, `12.04.1985`, ISO).
    Date(DateKind),
    /// A web address of this kind.
    Url(&'static str),
    Im,
    Address(PlaceKind, Part),
    /// Google `Labels` / legacy `Group Membership`.
    Labels,
    /// A column no field holds, kept in `extra` under this (English Outlook) name so that
    /// the English writer gives it back in the same column.
    Extra(&'static str),
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
        let tables: &[&[(&str, Col)]] = match self {
            Dialect::OutlookEn => &[OUTLOOK_EN],
            Dialect::OutlookDe => &[OUTLOOK_DE, OUTLOOK_DE_KEPT],
            Dialect::OutlookFr => &[OUTLOOK_FR, OUTLOOK_FR_KEPT],
            Dialect::Google => return google_column(header),
        };
        tables
            .iter()
            .flat_map(|t| t.iter())
            .find(|(name, _)| name.eq_ignore_ascii_case(header))
            .map_or(Col::Unknown, |c| c.1)
    }

    /// Whether dates are written day first (`12.04.1985`) rather than month first (`4/12/1985`).
    pub fn day_first(self) -> bool {
        matches!(self, Dialect::OutlookDe | Dialect::OutlookFr)
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

/// Outlook's phone columns (English names) with the kind and label a number there gets,
/// in the order a contact lists them. Writing puts a number back in the column of its
/// kind and label, so every number returns to the column it came from.
pub(crate) const OUTLOOK_PHONES: [(&str, PhoneKind, &str); 20] = [
    ("Business Phone", PhoneKind::Work, ""),
    ("Business Phone 2", PhoneKind::Work, ""),
    ("Mobile Phone", PhoneKind::Mobile, ""),
    // German Outlook only; the English header has no second mobile.
    ("Mobile Phone 2", PhoneKind::Mobile, ""),
    ("Home Phone", PhoneKind::Home, ""),
    ("Home Phone 2", PhoneKind::Home, ""),
    ("Company Main Phone", PhoneKind::Main, ""),
    ("Primary Phone", PhoneKind::Other, "Primary"),
    ("Business Fax", PhoneKind::Fax, ""),
    ("Home Fax", PhoneKind::HomeFax, ""),
    ("Other Fax", PhoneKind::Fax, "Other"),
    ("Pager", PhoneKind::Pager, ""),
    ("Other Phone", PhoneKind::Other, ""),
    ("Assistant's Phone", PhoneKind::Other, "Assistant"),
    ("Car Phone", PhoneKind::Other, "Car"),
    ("Callback", PhoneKind::Other, "Callback"),
    ("ISDN", PhoneKind::Other, "ISDN"),
    ("Radio Phone", PhoneKind::Other, "Radio"),
    ("Telex", PhoneKind::Other, "Telex"),
    ("TTY/TDD Phone", PhoneKind::Other, "TTY/TDD"),
];

/// Outlook's three addresses: the column prefix of each kind.
pub(crate) const OUTLOOK_ADDRESSES: [(PlaceKind, &str); 3] =
    [(PlaceKind::Work, "Business"), (PlaceKind::Home, "Home"), (PlaceKind::Other, "Other")];

/// Outlook's email columns, in order.
pub(crate) const OUTLOOK_EMAILS: [&str; 3] = ["E-mail Address", "E-mail 2 Address", "E-mail 3 Address"];

/// What Outlook writes in every row for "not set": not worth keeping.
pub(crate) fn is_outlook_default(column: &str, value: &str) -> bool {
    let value = value.trim();
    let defaults: &[&str] = match column {
        "Gender" => &["Unspecified", "Nicht angegeben", "Non spécifié"],
        "Priority" | "Sensitivity" => &["Normal", "Normale"],
        "Private" => &["False", "Aus", "Faux"],
        "E-mail Type" | "E-mail 2 Type" | "E-mail 3 Type" => &["SMTP"],
        _ => &[],
    };
    defaults.iter().any(|d| d.eq_ignore_ascii_case(value))
}

use Col::Address as Adr;
use PlaceKind::{Home as H, Other as O, Work as W};

/// Outlook for Windows and Outlook.com, English. Other columns are kept verbatim.
const OUTLOOK_EN: &[(&str, Col)] = &[
    ("Title", Col::NamePrefix),
    ("First Name", Col::First),
    ("Middle Name", Col::Middle),
    ("Last Name", Col::Last),
    ("Suffix", Col::NameSuffix),
    ("Nickname", Col::Nickname),
    ("Given Yomi", Col::PhoneticFirst),
    ("Surname Yomi", Col::PhoneticLast),
    ("Company", Col::Company),
    ("Department", Col::Department),
    ("Job Title", Col::JobTitle),
    ("Business Street", Adr(W, Part::Street)),
    ("Business Street 2", Adr(W, Part::Street2)),
    ("Business Street 3", Adr(W, Part::Street3)),
    ("Business Address PO Box", Adr(W, Part::PoBox)),
    ("Business City", Adr(W, Part::City)),
    ("Business State", Adr(W, Part::Region)),
    ("Business Postal Code", Adr(W, Part::PostalCode)),
    ("Business Country/Region", Adr(W, Part::Country)),
    ("Home Street", Adr(H, Part::Street)),
    ("Home Street 2", Adr(H, Part::Street2)),
    ("Home Street 3", Adr(H, Part::Street3)),
    ("Home Address PO Box", Adr(H, Part::PoBox)),
    ("Home City", Adr(H, Part::City)),
    ("Home State", Adr(H, Part::Region)),
    ("Home Postal Code", Adr(H, Part::PostalCode)),
    ("Home Country/Region", Adr(H, Part::Country)),
    ("Other Street", Adr(O, Part::Street)),
    ("Other Street 2", Adr(O, Part::Street2)),
    ("Other Street 3", Adr(O, Part::Street3)),
    ("Other Address PO Box", Adr(O, Part::PoBox)),
    ("Other City", Adr(O, Part::City)),
    ("Other State", Adr(O, Part::Region)),
    ("Other Postal Code", Adr(O, Part::PostalCode)),
    ("Other Country/Region", Adr(O, Part::Country)),
    ("Business Phone", Col::Phone("Business Phone")),
    ("Business Phone 2", Col::Phone("Business Phone 2")),
    ("Mobile Phone", Col::Phone("Mobile Phone")),
    ("Home Phone", Col::Phone("Home Phone")),
    ("Home Phone 2", Col::Phone("Home Phone 2")),
    ("Company Main Phone", Col::Phone("Company Main Phone")),
    ("Primary Phone", Col::Phone("Primary Phone")),
    ("Business Fax", Col::Phone("Business Fax")),
    ("Home Fax", Col::Phone("Home Fax")),
    ("Other Fax", Col::Phone("Other Fax")),
    ("Pager", Col::Phone("Pager")),
    ("Other Phone", Col::Phone("Other Phone")),
    ("Assistant's Phone", Col::Phone("Assistant's Phone")),
    ("Car Phone", Col::Phone("Car Phone")),
    ("Callback", Col::Phone("Callback")),
    ("ISDN", Col::Phone("ISDN")),
    ("Radio Phone", Col::Phone("Radio Phone")),
    ("Telex", Col::Phone("Telex")),
    ("TTY/TDD Phone", Col::Phone("TTY/TDD Phone")),
    ("Birthday", Col::Date(DateKind::Birthday)),
    ("Anniversary", Col::Date(DateKind::Anniversary)),
    ("E-mail Address", Col::Email(0)),
    ("E-mail 2 Address", Col::Email(1)),
    ("E-mail 3 Address", Col::Email(2)),
    ("Notes", Col::Notes),
    ("User 1", Col::Uid),
    ("Web Page", Col::Url("work")),
    ("Personal Web Page", Col::Url("home")),
    ("IMAddress", Col::Im),
];

/// Outlook for Windows, German.
const OUTLOOK_DE: &[(&str, Col)] = &[
    ("Anrede", Col::NamePrefix),
    ("Vorname", Col::First),
    ("Weitere Vornamen", Col::Middle),
    ("Nachname", Col::Last),
    ("Suffix", Col::NameSuffix),
    ("Spitzname", Col::Nickname),
    ("Firma", Col::Company),
    ("Abteilung", Col::Department),
    ("Position", Col::JobTitle),
    ("Straße geschäftlich", Adr(W, Part::Street)),
    ("Straße geschäftlich 2", Adr(W, Part::Street2)),
    ("Straße geschäftlich 3", Adr(W, Part::Street3)),
    ("Postfach geschäftlich", Adr(W, Part::PoBox)),
    ("Ort geschäftlich", Adr(W, Part::City)),
    ("Region geschäftlich", Adr(W, Part::Region)),
    ("Postleitzahl geschäftlich", Adr(W, Part::PostalCode)),
    ("Land/Region geschäftlich", Adr(W, Part::Country)),
    ("Straße privat", Adr(H, Part::Street)),
    ("Straße privat 2", Adr(H, Part::Street2)),
    ("Straße privat 3", Adr(H, Part::Street3)),
    ("Postfach privat", Adr(H, Part::PoBox)),
    ("Ort privat", Adr(H, Part::City)),
    ("Region privat", Adr(H, Part::Region)),
    ("Postleitzahl privat", Adr(H, Part::PostalCode)),
    ("Land/Region privat", Adr(H, Part::Country)),
    ("Weitere Straße", Adr(O, Part::Street)),
    ("Weitere Straße 2", Adr(O, Part::Street2)),
    ("Weitere Straße 3", Adr(O, Part::Street3)),
    ("Weiteres Postfach", Adr(O, Part::PoBox)),
    ("Weiterer Ort", Adr(O, Part::City)),
    ("Weitere Region", Adr(O, Part::Region)),
    ("Weitere Postleitzahl", Adr(O, Part::PostalCode)),
    ("Weiteres/r Land/Region", Adr(O, Part::Country)),
    ("Telefon geschäftlich", Col::Phone("Business Phone")),
    ("Telefon geschäftlich 2", Col::Phone("Business Phone 2")),
    ("Mobiltelefon", Col::Phone("Mobile Phone")),
    ("Mobiltelefon 2", Col::Phone("Mobile Phone 2")),
    ("Telefon privat", Col::Phone("Home Phone")),
    ("Telefon privat 2", Col::Phone("Home Phone 2")),
    ("Telefon Firma", Col::Phone("Company Main Phone")),
    ("Haupttelefon", Col::Phone("Primary Phone")),
    ("Fax geschäftlich", Col::Phone("Business Fax")),
    ("Fax privat", Col::Phone("Home Fax")),
    ("Weiteres Fax", Col::Phone("Other Fax")),
    ("Pager", Col::Phone("Pager")),
    ("Weiteres Telefon", Col::Phone("Other Phone")),
    ("Telefon Assistent", Col::Phone("Assistant's Phone")),
    ("Autotelefon", Col::Phone("Car Phone")),
    ("Rückmeldung", Col::Phone("Callback")),
    ("ISDN", Col::Phone("ISDN")),
    ("Funktelefon", Col::Phone("Radio Phone")),
    ("Telex", Col::Phone("Telex")),
    ("Telefon für Hörbehinderte", Col::Phone("TTY/TDD Phone")),
    ("Geburtstag", Col::Date(DateKind::Birthday)),
    ("Jahrestag", Col::Date(DateKind::Anniversary)),
    ("E-Mail-Adresse", Col::Email(0)),
    ("E-Mail 2: Adresse", Col::Email(1)),
    ("E-Mail 3: Adresse", Col::Email(2)),
    ("Notizen", Col::Notes),
    ("Benutzer 1", Col::Uid),
    ("Webseite", Col::Url("work")),
];

/// German columns no field holds, by their English names.
const OUTLOOK_DE_KEPT: &[(&str, Col)] = &[
    ("Kategorien", Col::Extra("Categories")),
    ("Name des Assistenten", Col::Extra("Assistant's Name")),
    ("Name des Vorgesetzten", Col::Extra("Manager's Name")),
    ("Büro", Col::Extra("Office Location")),
    ("Partner", Col::Extra("Spouse")),
    ("Kinder", Col::Extra("Children")),
    ("Hobby", Col::Extra("Hobby")),
    ("Beruf", Col::Extra("Profession")),
    ("Initialen", Col::Extra("Initials")),
    ("Sprache", Col::Extra("Language")),
    ("Stichwörter", Col::Extra("Keywords")),
    ("Ort", Col::Extra("Location")),
    ("Konto", Col::Extra("Account")),
    ("Geschlecht", Col::Extra("Gender")),
    ("Priorität", Col::Extra("Priority")),
    ("Vertraulichkeit", Col::Extra("Sensitivity")),
    ("Privat", Col::Extra("Private")),
    ("E-Mail-Typ", Col::Extra("E-mail Type")),
    ("E-Mail: angezeigter Name", Col::Extra("E-mail Display Name")),
    ("E-Mail 2: Typ", Col::Extra("E-mail 2 Type")),
    ("E-Mail 2: angezeigter Name", Col::Extra("E-mail 2 Display Name")),
    ("E-Mail 3: Typ", Col::Extra("E-mail 3 Type")),
    ("E-Mail 3: angezeigter Name", Col::Extra("E-mail 3 Display Name")),
    ("Benutzer 2", Col::Extra("User 2")),
    ("Benutzer 3", Col::Extra("User 3")),
    ("Benutzer 4", Col::Extra("User 4")),
];

/// Outlook for Windows, French.
const OUTLOOK_FR: &[(&str, Col)] = &[
    ("Titre", Col::NamePrefix),
    ("Prénom", Col::First),
    ("Deuxième prénom", Col::Middle),
    ("Nom", Col::Last),
    ("Suffixe", Col::NameSuffix),
    ("Surnom", Col::Nickname),
    ("Société", Col::Company),
    ("Service", Col::Department),
    ("Fonction", Col::JobTitle),
    ("Rue (bureau)", Adr(W, Part::Street)),
    ("Rue (bureau) 2", Adr(W, Part::Street2)),
    ("Rue (bureau) 3", Adr(W, Part::Street3)),
    ("B.P. professionnelle", Adr(W, Part::PoBox)),
    ("Ville (bureau)", Adr(W, Part::City)),
    ("Dép/Région (bureau)", Adr(W, Part::Region)),
    ("Code postal (bureau)", Adr(W, Part::PostalCode)),
    ("Pays/Région (bureau)", Adr(W, Part::Country)),
    ("Rue (domicile)", Adr(H, Part::Street)),
    ("Rue (domicile) 2", Adr(H, Part::Street2)),
    ("Rue (domicile) 3", Adr(H, Part::Street3)),
    ("B.P. domicile", Adr(H, Part::PoBox)),
    ("Ville (domicile)", Adr(H, Part::City)),
    ("Dép/Région (domicile)", Adr(H, Part::Region)),
    ("Code postal (domicile)", Adr(H, Part::PostalCode)),
    ("Pays/Région (domicile)", Adr(H, Part::Country)),
    ("Rue (autre)", Adr(O, Part::Street)),
    ("Rue (autre) 2", Adr(O, Part::Street2)),
    ("Rue (autre) 3", Adr(O, Part::Street3)),
    ("B.P. autre", Adr(O, Part::PoBox)),
    ("Ville (autre)", Adr(O, Part::City)),
    ("Dép/Région (autre)", Adr(O, Part::Region)),
    ("Code postal (autre)", Adr(O, Part::PostalCode)),
    ("Pays/Région (autre)", Adr(O, Part::Country)),
    ("Téléphone (bureau)", Col::Phone("Business Phone")),
    ("Téléphone 2 (bureau)", Col::Phone("Business Phone 2")),
    ("Tél. mobile", Col::Phone("Mobile Phone")),
    ("Téléphone (domicile)", Col::Phone("Home Phone")),
    ("Téléphone 2 (domicile)", Col::Phone("Home Phone 2")),
    ("Téléphone société", Col::Phone("Company Main Phone")),
    ("Téléphone principal", Col::Phone("Primary Phone")),
    ("Télécopie (bureau)", Col::Phone("Business Fax")),
    ("Télécopie (domicile)", Col::Phone("Home Fax")),
    ("Autre télécopie", Col::Phone("Other Fax")),
    ("Récepteur de radiomessagerie", Col::Phone("Pager")),
    ("Autre téléphone", Col::Phone("Other Phone")),
    ("Téléphone de l'assistant(e)", Col::Phone("Assistant's Phone")),
    ("Téléphone (voiture)", Col::Phone("Car Phone")),
    ("Rappel", Col::Phone("Callback")),
    ("RNIS", Col::Phone("ISDN")),
    ("Radio téléphone", Col::Phone("Radio Phone")),
    ("Télex", Col::Phone("Telex")),
    ("Téléphone TDD/TTY", Col::Phone("TTY/TDD Phone")),
    ("Anniversaire", Col::Date(DateKind::Birthday)),
    ("Anniversaire de mariage ou fête", Col::Date(DateKind::Anniversary)),
    ("Adresse de messagerie", Col::Email(0)),
    ("Adresse de messagerie 2", Col::Email(1)),
    ("Adresse de messagerie 3", Col::Email(2)),
    ("Notes", Col::Notes),
    ("Utilisateur 1", Col::Uid),
    ("Page Web", Col::Url("work")),
];

/// French columns no field holds, by their English names.
const OUTLOOK_FR_KEPT: &[(&str, Col)] = &[
    ("Catégories", Col::Extra("Categories")),
    ("Nom de l'assistant(e)", Col::Extra("Assistant's Name")),
    ("Nom du manager", Col::Extra("Manager's Name")),
    ("Bureau", Col::Extra("Office Location")),
    ("Conjoint(e)", Col::Extra("Spouse")),
    ("Enfants", Col::Extra("Children")),
    ("Passe-temps", Col::Extra("Hobby")),
    ("Profession", Col::Extra("Profession")),
    ("Initiales", Col::Extra("Initials")),
    ("Langue", Col::Extra("Language")),
    ("Mots clés", Col::Extra("Keywords")),
    ("Compte", Col::Extra("Account")),
    ("Sexe", Col::Extra("Gender")),
    ("Priorité", Col::Extra("Priority")),
    ("Critère de diffusion", Col::Extra("Sensitivity")),
    ("Privé", Col::Extra("Private")),
    ("Type de messagerie", Col::Extra("E-mail Type")),
    ("Nom complet de l'adresse de messagerie", Col::Extra("E-mail Display Name")),
    ("Type de messagerie 2", Col::Extra("E-mail 2 Type")),
    ("Nom complet de l'adresse de messagerie 2", Col::Extra("E-mail 2 Display Name")),
    ("Type de messagerie 3", Col::Extra("E-mail 3 Type")),
    ("Nom complet de l'adresse de messagerie 3", Col::Extra("E-mail 3 Display Name")),
    ("Utilisateur 2", Col::Extra("User 2")),
    ("Utilisateur 3", Col::Extra("User 3")),
    ("Utilisateur 4", Col::Extra("User 4")),
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
    ("Nickname", Col::Nickname),
    ("Phonetic First Name", Col::PhoneticFirst),
    ("Given Name Yomi", Col::PhoneticFirst),
    ("Phonetic Last Name", Col::PhoneticLast),
    ("Family Name Yomi", Col::PhoneticLast),
    ("Organization Name", Col::Company),
    ("Organization Title", Col::JobTitle),
    ("Organization Department", Col::Department),
    ("Birthday", Col::Date(DateKind::Birthday)),
    ("Notes", Col::Notes),
    ("Labels", Col::Labels),
    ("Group Membership", Col::Labels),
    ("Photo", Col::Ignored),
];

fn google_column(header: &str) -> Col {
    if let Some((_, col)) = GOOGLE_FIXED.iter().find(|(name, _)| name.eq_ignore_ascii_case(header)) {
        return *col;
    }
    google_group(header).map_or(Col::Unknown, |(group, n, part)| Col::Group(group, n, part))
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
        "im" => Group::Im,
        "relation" | "external id" | "jot" | "location" => Group::Relation,
        "custom field" => Group::Custom,
        _ => return None,
    };
    let part = match part.trim().to_ascii_lowercase().as_str() {
        "label" | "type" => GroupPart::Label,
        "value" => GroupPart::Value,
        "service" => GroupPart::Service,
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
        _ => GroupPart::Other,
    };
    Some((group, number, part))
}

/// Built-in phone labels of Google and Apple (`Work Fax`, Apple's `_$!<WorkFAX>!$_` read as
/// `WorkFAX`), with the kind and label they stand for. Google writes the first.
const PHONE_WORDS: &[(&str, PhoneKind, &str)] = &[
    ("Work", PhoneKind::Work, ""),
    ("Mobile", PhoneKind::Mobile, ""),
    ("Home", PhoneKind::Home, ""),
    ("Main", PhoneKind::Main, ""),
    ("Work Fax", PhoneKind::Fax, ""),
    ("Home Fax", PhoneKind::HomeFax, ""),
    ("Other Fax", PhoneKind::Fax, "Other"),
    ("Pager", PhoneKind::Pager, ""),
    ("Other", PhoneKind::Other, ""),
    ("Cell", PhoneKind::Mobile, ""),
    ("Company Main", PhoneKind::Main, ""),
    ("Fax", PhoneKind::Fax, ""),
];

fn squash(word: &str) -> String {
    word.chars().filter(|c| !c.is_whitespace()).flat_map(char::to_lowercase).collect()
}

/// A phone label's kind and custom label: a built-in word, else `other` with the label.
/// An empty label is a work number (Google's unlabelled numbers).
pub(crate) fn phone_label(label: &str) -> (PhoneKind, String) {
    let clean = label.trim();
    if clean.is_empty() {
        return (PhoneKind::Work, String::new());
    }
    match PHONE_WORDS.iter().find(|(word, _, _)| squash(word) == squash(clean)) {
        Some((_, kind, label)) => (*kind, label.to_string()),
        None => (PhoneKind::Other, clean.to_string()),
    }
}

/// The Google label for a number of `kind` with `label`.
pub(crate) fn phone_word(kind: PhoneKind, label: &str) -> String {
    let builtin = PHONE_WORDS.iter().find(|(_, k, l)| *k == kind && l.eq_ignore_ascii_case(label));
    match builtin {
        Some((word, _, _)) => word.to_string(),
        None if !label.is_empty() => label.to_string(),
        None => phone_word(kind, ""),
    }
}

const PLACE_WORDS: [(&str, PlaceKind); 3] =
    [("Work", PlaceKind::Work), ("Home", PlaceKind::Home), ("Other", PlaceKind::Other)];

/// An email or address label: `Work`, `Home`, `Other`, else `other` with the label.
pub(crate) fn place_label(label: &str) -> (PlaceKind, String) {
    let clean = label.trim();
    match PLACE_WORDS.iter().find(|(word, _)| word.eq_ignore_ascii_case(clean)) {
        Some((_, kind)) => (*kind, String::new()),
        None if clean.is_empty() => (PlaceKind::Work, String::new()),
        None => (PlaceKind::Other, clean.to_string()),
    }
}

pub(crate) fn place_word(kind: PlaceKind, label: &str) -> String {
    if !label.is_empty() {
        return label.to_string();
    }
    PLACE_WORDS.iter().find(|(_, k)| *k == kind).map_or("Other", |(word, _)| word).to_string()
}

/// Web address kinds and the words Google and Apple (`_$!<HomePage>!$_`) use for them.
const URL_WORDS: [(&str, &str); 7] = [
    ("homepage", "Home Page"),
    ("work", "Work"),
    ("home", "Home"),
    ("other", "Other"),
    ("blog", "Blog"),
    ("profile", "Profile"),
    ("ftp", "FTP"),
];

/// A web address label: a known word gives the kind, anything else is `other` with the label.
pub(crate) fn url_label(label: &str) -> (String, String) {
    let clean = label.trim();
    match URL_WORDS.iter().find(|(_, word)| squash(word) == squash(clean)) {
        Some((kind, _)) => (kind.to_string(), String::new()),
        None if clean.is_empty() => (String::new(), String::new()),
        None => ("other".into(), clean.to_string()),
    }
}

pub(crate) fn url_word(kind: &str, label: &str) -> String {
    if !label.is_empty() {
        return label.to_string();
    }
    URL_WORDS.iter().find(|(k, _)| k.eq_ignore_ascii_case(kind)).map_or(kind, |(_, word)| word).to_string()
}

/// A date label: `Birthday`, `Anniversary`, else `other` with the label (`Other` has none).
pub(crate) fn date_label(label: &str) -> (DateKind, String) {
    let clean = label.trim();
    match squash(clean).as_str() {
        "birthday" => (DateKind::Birthday, String::new()),
        "anniversary" => (DateKind::Anniversary, String::new()),
        "other" | "" => (DateKind::Other, String::new()),
        _ => (DateKind::Other, clean.to_string()),
    }
}

pub(crate) fn date_word(kind: DateKind, label: &str) -> String {
    if !label.is_empty() {
        return label.to_string();
    }
    match kind {
        DateKind::Birthday => "Birthday",
        DateKind::Anniversary => "Anniversary",
        DateKind::Other => "Other",
    }
    .to_string()
}

/// The English Outlook for Windows header, as Outlook itself writes it (92 columns), then
/// the Outlook.com columns for what the desktop header has no place for.
pub(crate) const OUTLOOK_EXPORT_HEADER: [&str; 97] = [
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
    "Nickname",
    "Given Yomi",
    "Surname Yomi",
    "Personal Web Page",
    "IMAddress",
];

/// How many of each Google group our writer's header has (Google accepts any subset).
pub(crate) const GOOGLE_GROUPS: [(&str, usize, &[&str]); 8] = [
    ("E-mail", 5, &["Label", "Value"]),
    ("Phone", 10, &["Label", "Value"]),
    (
        "Address",
        3,
        &["Label", "Formatted", "Street", "City", "PO Box", "Region", "Postal Code", "Country", "Extended Address"],
    ),
    ("Relation", 4, &["Label", "Value"]),
    ("Website", 4, &["Label", "Value"]),
    ("Event", 4, &["Label", "Value"]),
    ("IM", 4, &["Label", "Service", "Value"]),
    ("Custom Field", 5, &["Label", "Value"]),
];

/// Google's fixed columns our writer uses, before the groups.
pub(crate) const GOOGLE_EXPORT_FIXED: [&str; 17] = [
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
];

/// The Google header our writer uses: Google's current fixed columns, then the groups.
pub(crate) fn google_export_header() -> Vec<String> {
    let mut header: Vec<String> = GOOGLE_EXPORT_FIXED.iter().map(|c| c.to_string()).collect();
    for (group, count, parts) in GOOGLE_GROUPS {
        for n in 1..=count {
            header.extend(parts.iter().map(|part| format!("{group} {n} - {part}")));
        }
    }
    header
}

/// Google custom field label that carries our stable id.
pub(crate) const GOOGLE_UID_LABEL: &str = "Switchboard UID";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn google_groups_parse() {
        assert_eq!(google_column("Phone 12 - Value"), Col::Group(Group::Phone, 12, GroupPart::Value));
        assert_eq!(google_column("E-mail 1 - Type"), Col::Group(Group::Email, 1, GroupPart::Label));
        assert_eq!(google_column("IM 2 - Service"), Col::Group(Group::Im, 2, GroupPart::Service));
        assert_eq!(google_column("Given Name"), Col::First);
        assert_eq!(google_column("Phone - Value"), Col::Unknown);
    }

    #[test]
    fn every_export_column_is_read_back_by_its_dialect() {
        for name in OUTLOOK_EXPORT_HEADER {
            assert_eq!(OUTLOOK_EXPORT_HEADER.iter().filter(|n| **n == name).count(), 1, "{name}");
        }
        for (name, _, _) in OUTLOOK_PHONES.iter().filter(|(name, _, _)| *name != "Mobile Phone 2") {
            assert!(OUTLOOK_EXPORT_HEADER.contains(name), "{name}");
            assert_eq!(Dialect::OutlookEn.column(name), Col::Phone(name));
        }
        for table in [OUTLOOK_DE_KEPT, OUTLOOK_FR_KEPT] {
            for (name, col) in table {
                let Col::Extra(english) = col else { panic!("{name}") };
                assert!(OUTLOOK_EXPORT_HEADER.contains(english), "{english}");
            }
        }
        assert_eq!(Dialect::OutlookEn.column("user 1"), Col::Uid);
        assert_eq!(Dialect::OutlookDe.column("Telefon geschäftlich"), Col::Phone("Business Phone"));
        let google = google_export_header();
        assert!(
            google
                .iter()
                .all(|h| Dialect::Google.column(h) != Col::Unknown || h.contains("Phonetic Middle") || h == "File As")
        );
    }

    #[test]
    fn labels_read_back_what_they_write() {
        for (_, kind, label) in PHONE_WORDS {
            assert_eq!(phone_label(&phone_word(*kind, label)), (*kind, label.to_string()));
        }
        assert_eq!(phone_label("Car"), (PhoneKind::Other, "Car".into()));
        assert_eq!(phone_label("workfax"), (PhoneKind::Fax, String::new()), "Apple's _$!<WorkFAX>!$_");
        assert_eq!(url_label(&url_word("homepage", "")), ("homepage".into(), String::new()));
        assert_eq!(date_label(&date_word(DateKind::Anniversary, "")), (DateKind::Anniversary, String::new()));
        assert_eq!(place_label("Lake house"), (PlaceKind::Other, "Lake house".into()));
    }
}
