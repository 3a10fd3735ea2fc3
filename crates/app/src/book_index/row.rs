//! One entry of an in-memory book, kept small: a copy holds a domain's every entry (a
//! hundred thousand shared contacts is a normal book), so each entry keeps all its texts
//! in one allocation and what few entries have behind one pointer.

use switchboard_core::PhoneNumber;
use switchboard_core::contact::NumberKind;
use switchboard_core::details::Phone;
use switchboard_core::model::{DirectoryEntry, EntryKind, NumberView, Presence};
use switchboard_store::BookRow;
use uuid::Uuid;

/// The texts of a row, in the order they are kept in [`Row::text`].
#[derive(Clone, Copy)]
enum Field {
    SortKey,
    SearchText,
    FirstName,
    LastName,
    Company,
    Title,
    Email,
    Department,
    Site,
    /// Empty without one (see [`Row::has_extension`]).
    Extension,
}

const TEXTS: usize = Field::Extension as usize + 1;

/// A directory entry with the keys the store sorts and searches it by (a
/// [`BookRow`]), as a copy keeps it.
pub(crate) struct Row {
    id: Uuid,
    /// Every text of the entry one after the other: those of [`Field`], then each
    /// number's as typed and its E.164 form.
    text: Box<str>,
    /// Where each text of [`Field`] ends in `text`.
    ends: [u32; TEXTS],
    numbers: Box<[Number]>,
    kind: EntryKind,
    has_extension: bool,
    favorite: bool,
    editable: bool,
    /// A coworker's presence and a contact's numbers beyond the four columns: most
    /// entries have neither.
    rare: Option<Box<Rare>>,
}

/// A listed number: its kind and where its texts end in [`Row::text`].
struct Number {
    kind: NumberKind,
    has_e164: bool,
    typed_end: u32,
    e164_end: u32,
}

struct Rare {
    presence: Option<Presence>,
    more_numbers: Box<[Phone]>,
}

/// A listed number of a row, borrowed.
pub(crate) struct NumberRef<'a> {
    pub kind: NumberKind,
    pub typed: &'a str,
    pub e164: Option<&'a str>,
}

impl NumberRef<'_> {
    /// The number as the phone-number rules read it.
    pub fn phone_number(&self) -> PhoneNumber {
        PhoneNumber::stored(self.typed.to_string(), self.e164.map(str::to_string))
    }
}

/// Appends texts to one string, noting where each ends.
struct Texts(String);

impl Texts {
    fn push(&mut self, text: &str) -> u32 {
        self.0.push_str(text);
        u32::try_from(self.0.len()).expect("an entry's texts are far below 4 GiB")
    }
}

impl From<BookRow> for Row {
    fn from(row: BookRow) -> Row {
        let entry = row.entry;
        let extension = entry.extension.as_deref().unwrap_or_default();
        let fixed = [
            row.sort_key.as_str(),
            &row.search_text,
            &entry.first_name,
            &entry.last_name,
            &entry.company,
            &entry.title,
            &entry.email,
            &entry.department,
            &entry.site,
            extension,
        ];
        let numbers_len: usize =
            entry.numbers.iter().map(|n| n.typed.len() + n.e164.as_ref().map_or(0, String::len)).sum();
        let mut texts = Texts(String::with_capacity(fixed.iter().map(|t| t.len()).sum::<usize>() + numbers_len));
        let ends = fixed.map(|text| texts.push(text));
        let numbers = entry
            .numbers
            .iter()
            .map(|number| Number {
                kind: number.kind,
                has_e164: number.e164.is_some(),
                typed_end: texts.push(&number.typed),
                e164_end: texts.push(number.e164.as_deref().unwrap_or_default()),
            })
            .collect();
        let rare = (entry.presence.is_some() || !row.more_numbers.is_empty())
            .then(|| Box::new(Rare { presence: entry.presence, more_numbers: row.more_numbers.into_boxed_slice() }));
        Row {
            id: entry.id,
            text: texts.0.into_boxed_str(),
            ends,
            numbers,
            kind: entry.kind,
            has_extension: entry.extension.is_some(),
            favorite: entry.favorite,
            editable: entry.editable,
            rare,
        }
    }
}

impl Row {
    fn text(&self, which: Field) -> &str {
        let index = which as usize;
        let start = if index == 0 { 0 } else { self.ends[index - 1] };
        &self.text[start as usize..self.ends[index] as usize]
    }

    pub fn id(&self) -> Uuid {
        self.id
    }

    pub fn kind(&self) -> EntryKind {
        self.kind
    }

    /// What "by name" orders by (with the id after it).
    pub fn sort_key(&self) -> &str {
        self.text(Field::SortKey)
    }

    /// What a search term must be a substring of.
    pub fn search_text(&self) -> &str {
        self.text(Field::SearchText)
    }

    pub fn first_name(&self) -> &str {
        self.text(Field::FirstName)
    }

    pub fn last_name(&self) -> &str {
        self.text(Field::LastName)
    }

    pub fn company(&self) -> &str {
        self.text(Field::Company)
    }

    pub fn department(&self) -> &str {
        self.text(Field::Department)
    }

    pub fn site(&self) -> &str {
        self.text(Field::Site)
    }

    /// A coworker's extension.
    pub fn extension(&self) -> Option<&str> {
        self.has_extension.then(|| self.text(Field::Extension))
    }

    /// The numbers the entry lists.
    pub fn numbers(&self) -> impl Iterator<Item = NumberRef<'_>> {
        let mut start = self.ends[TEXTS - 1] as usize;
        self.numbers.iter().map(move |number| {
            let (typed_end, e164_end) = (number.typed_end as usize, number.e164_end as usize);
            let typed = &self.text[start..typed_end];
            let e164 = number.has_e164.then(|| &self.text[typed_end..e164_end]);
            start = e164_end;
            NumberRef { kind: number.kind, typed, e164 }
        })
    }

    /// A contact's numbers beyond the four the entry lists, for caller-ID.
    pub fn more_numbers(&self) -> &[Phone] {
        self.rare.as_ref().map_or(&[], |rare| &rare.more_numbers)
    }

    /// The entry, as the store read it.
    pub fn entry(&self) -> DirectoryEntry {
        DirectoryEntry {
            id: self.id,
            kind: self.kind,
            first_name: self.first_name().to_string(),
            last_name: self.last_name().to_string(),
            company: self.company().to_string(),
            title: self.text(Field::Title).to_string(),
            extension: self.extension().map(str::to_string),
            numbers: self
                .numbers()
                .map(|n| NumberView { kind: n.kind, typed: n.typed.to_string(), e164: n.e164.map(str::to_string) })
                .collect(),
            email: self.text(Field::Email).to_string(),
            department: self.department().to_string(),
            site: self.site().to_string(),
            presence: self.rare.as_ref().and_then(|rare| rare.presence.clone()),
            favorite: self.favorite,
            editable: self.editable,
        }
    }
}

#[cfg(test)]
mod tests {
    use switchboard_core::details::PhoneKind;
    use switchboard_core::model::PresenceState;

    use super::*;

    fn number(kind: NumberKind, typed: &str, e164: Option<&str>) -> NumberView {
        NumberView { kind, typed: typed.into(), e164: e164.map(Into::into) }
    }

    fn entry(kind: EntryKind) -> DirectoryEntry {
        DirectoryEntry {
            id: Uuid::now_v7(),
            kind,
            first_name: "Élodie".into(),
            last_name: "Müller".into(),
            company: "Acme".into(),
            title: "Buyer".into(),
            extension: None,
            numbers: vec![
                number(NumberKind::Work, "(206) 555-0100", Some("+12065550100")),
                number(NumberKind::Mobile, "ask reception", None),
                number(NumberKind::Home, "", Some("+442071234567")),
            ],
            email: "elodie@acme.example".into(),
            department: "Sales".into(),
            site: "Paris".into(),
            presence: None,
            favorite: false,
            editable: true,
        }
    }

    fn round_trip(row: BookRow) {
        let kept = Row::from(row.clone());
        assert_eq!(kept.entry(), row.entry);
        assert_eq!((kept.sort_key(), kept.search_text()), (row.sort_key.as_str(), row.search_text.as_str()));
        assert_eq!(kept.more_numbers(), row.more_numbers.as_slice());
        let numbers: Vec<PhoneNumber> = kept.numbers().map(|n| n.phone_number()).collect();
        let expected: Vec<PhoneNumber> =
            row.entry.numbers.iter().map(|n| PhoneNumber::stored(n.typed.clone(), n.e164.clone())).collect();
        assert_eq!(numbers, expected);
    }

    #[test]
    fn a_row_gives_back_what_it_was_made_of() {
        let contact = entry(EntryKind::Shared);
        let more = vec![Phone {
            kind: PhoneKind::Pager,
            label: "Beeper".into(),
            number: PhoneNumber::stored("555 0199".into(), None),
        }];
        round_trip(BookRow {
            entry: contact.clone(),
            sort_key: "muller\u{1}elodie\u{1}acme".into(),
            search_text: "elodie muller\nmuller elodie\nacme\n2065550100 12065550100".into(),
            more_numbers: more,
        });
        let presence = Some(Presence {
            state: PresenceState::default(),
            chat: true,
            message: "Away".into(),
            ..Presence::default()
        });
        let coworker = DirectoryEntry {
            kind: EntryKind::Coworker,
            extension: Some("204".into()),
            numbers: vec![number(NumberKind::Extension, "204", None)],
            presence,
            favorite: true,
            editable: false,
            ..entry(EntryKind::Coworker)
        };
        round_trip(BookRow {
            entry: coworker,
            sort_key: String::new(),
            search_text: String::new(),
            more_numbers: vec![],
        });
        let empty = DirectoryEntry { extension: Some(String::new()), numbers: vec![], ..contact };
        round_trip(BookRow { entry: empty, sort_key: String::new(), search_text: String::new(), more_numbers: vec![] });
    }
}
