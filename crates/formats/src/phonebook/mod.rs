//! Desk-phone XML phonebooks, one renderer per vendor: pure functions from a page of
//! entries to the bytes of one document.
//!
//! Choices:
//! - **Escaping** is quick-xml's: every name, number, title and link goes through its
//!   writer as text or attribute, never pasted into markup. Characters XML 1.0 forbids
//!   (most control characters) are dropped first, as no escaping can carry them.
//! - **Names** are "First Last" (the company when a contact has no names), cut to what the
//!   vendor shows ([`NAME_CHARS`] characters; Polycom 40 bytes per field) on a character
//!   boundary, never leaving a combining accent or emoji modifier without its base.
//! - **Numbers** are dialled as their E.164 form when the number has one (it dials the same
//!   from every phone of the platform, whatever the country), else as typed with only the
//!   dialable characters kept (`+`, digits, `*`, `#`); an extension as it is. Work, mobile,
//!   home, fax, in that order. Entries with nothing to dial are left out. The number
//!   element is shown and dialled alike, so it stays a dial string rather than the
//!   reader's display form (`(206) 555-0100` does not dial on every phone); a number's
//!   extension, which no phone dials from a directory, is named in its label
//!   (`Ann Smith (Work ext. 102)`).
//! - **One number per line** where the vendor's entry holds one number (Cisco, Snom,
//!   Polycom): a contact with several numbers gets a line per number, named with a label
//!   (`Ann Smith (Mobile)`); Polycom's `ct` must be unique, so a number already listed is
//!   not repeated.
//! - **Paging**: Cisco takes at most [`CISCO_MAX_LINES`] lines per document, with
//!   `Next`/`Previous` soft keys linking to the pages around (the caller says which
//!   entries fit with [`cisco_fit`]). The others get the whole page they are given.
//! - **Fanvil** is written as `FanvilIPPhoneDirectory` with `DirectoryEntry`, `Name` and
//!   one each of `Telephone`, `Mobile` and `Other`: unlike Yealink's, Fanvil firmware reads
//!   no more than one number of each of those kinds per entry.

mod cisco;
mod fanvil;
mod grandstream;
mod polycom;
mod snom;
mod text;
mod yealink;

use std::io;

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesText, Event};
use switchboard_core::PhoneNumber;
use switchboard_core::contact::NumberKind;
use switchboard_core::model::{DirectoryEntry, LineState, Presence, PresenceState};

pub use cisco::{CISCO_MAX_LINES, cisco_fit};
pub use text::{NAME_CHARS, cut_bytes, cut_chars};

/// The phones we write a phonebook for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Vendor {
    /// `YealinkIPPhoneDirectory`: the remote phonebook of Yealink desk phones.
    Yealink,
    /// `YealinkIPPhoneBook` with `Menu`/`Unit`: the form Yealink DECT handsets need.
    YealinkMenu,
    Polycom,
    Cisco,
    Grandstream,
    Snom,
    /// `FanvilIPPhoneDirectory`: Fanvil's remote (cloud) phonebook.
    Fanvil,
}

impl Vendor {
    pub const ALL: [Vendor; 7] = [
        Vendor::Yealink,
        Vendor::YealinkMenu,
        Vendor::Polycom,
        Vendor::Cisco,
        Vendor::Grandstream,
        Vendor::Snom,
        Vendor::Fanvil,
    ];

    /// The vendor's name in URLs (`yealink-menu.xml`).
    pub fn as_str(self) -> &'static str {
        match self {
            Vendor::Yealink => "yealink",
            Vendor::YealinkMenu => "yealink-menu",
            Vendor::Polycom => "polycom",
            Vendor::Cisco => "cisco",
            Vendor::Grandstream => "grandstream",
            Vendor::Snom => "snom",
            Vendor::Fanvil => "fanvil",
        }
    }

    pub fn parse(name: &str) -> Option<Vendor> {
        Vendor::ALL.into_iter().find(|vendor| vendor.as_str() == name)
    }

    /// Entries per document where the phone cannot take more.
    pub fn page_size(self) -> Option<u32> {
        match self {
            Vendor::Cisco => Some(CISCO_MAX_LINES as u32),
            _ => None,
        }
    }
}

/// A number as the phone dials it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialNumber {
    pub kind: NumberKind,
    pub dial: String,
    /// The extension to key in once the call is answered: a phone dials the main number.
    pub extension: Option<String>,
}

impl DialNumber {
    /// How the number is labelled on the phone: its kind, and the extension after it
    /// (`Work ext. 102`), which the phone cannot dial but the person must know.
    pub fn label(&self) -> String {
        match &self.extension {
            Some(extension) => format!("{} ext. {extension}", self.kind.word()),
            None => self.kind.word().to_string(),
        }
    }
}

/// One contact or coworker of a phonebook.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BookEntry {
    pub first_name: String,
    pub last_name: String,
    pub company: String,
    /// Work, mobile, home, fax; or the extension of a coworker.
    pub numbers: Vec<DialNumber>,
}

impl BookEntry {
    /// Whether a line of this entry names the number's label beside the name: when the
    /// entry has several numbers, or the number an extension to key in.
    fn labels(&self, number: &DialNumber) -> bool {
        self.numbers.len() > 1 || number.extension.is_some()
    }

    /// The entry as a book that shows presence lists it: a coworker who is not available
    /// is named with why (`Ann Smith [on a call]`), the name cut rather than the mark so
    /// that the whole fits what phones show. The mark goes after the last name, which is
    /// where vendors with separate name fields (Grandstream, Polycom) show it too.
    pub fn showing_presence(mut self, presence: Option<&Presence>) -> BookEntry {
        let Some(word) = presence.and_then(presence_word) else { return self };
        let mark = format!("[{word}]");
        let room = NAME_CHARS.saturating_sub(mark.chars().count() + 1);
        let first = self.first_name.trim();
        if first.is_empty() && self.last_name.trim().is_empty() {
            self.company = format!("{} {mark}", cut_chars(&self.company, room)).trim_start().to_string();
            return self;
        }
        let first_chars = first.chars().count();
        if first_chars >= room {
            self.first_name = cut_chars(first, room);
            self.last_name = mark;
        } else {
            let last = cut_chars(&self.last_name, room - first_chars - usize::from(first_chars > 0));
            self.last_name = format!("{last} {mark}").trim_start().to_string();
        }
        self
    }

    /// "First Last", or the company when there are no names (uncut).
    pub fn display_name(&self) -> String {
        let names = format!("{} {}", self.first_name.trim(), self.last_name.trim());
        let names = names.trim();
        if names.is_empty() { self.company.trim().to_string() } else { names.to_string() }
    }
}

impl From<&DirectoryEntry> for BookEntry {
    fn from(entry: &DirectoryEntry) -> BookEntry {
        let mut numbers: Vec<DialNumber> = entry
            .numbers
            .iter()
            .map(|number| match &number.e164 {
                Some(e164) => DialNumber {
                    kind: number.kind,
                    dial: e164.clone(),
                    extension: PhoneNumber::stored(number.typed.clone(), None).extension,
                },
                None => DialNumber { kind: number.kind, dial: text::dialable(&number.typed), extension: None },
            })
            .filter(|number| !number.dial.is_empty())
            .collect();
        numbers.sort_by_key(|number| kind_order(number.kind));
        BookEntry {
            first_name: entry.first_name.clone(),
            last_name: entry.last_name.clone(),
            company: entry.company.clone(),
            numbers,
        }
    }
}

/// Why a coworker is not available, in the few words a phone's line has room for;
/// `None` when they are available.
pub fn presence_word(presence: &Presence) -> Option<&'static str> {
    match presence.state {
        PresenceState::Available => None,
        PresenceState::Offline => Some("offline"),
        PresenceState::Busy if presence.manual_state == Some(PresenceState::Busy) => Some("busy"),
        PresenceState::Busy => Some(match presence.line {
            Some(LineState::Ringing) => "ringing",
            Some(LineState::OnCall) => "on a call",
            Some(LineState::OnHold) => "on hold",
            Some(LineState::Dnd) => "DND",
            _ => "busy",
        }),
    }
}

fn kind_order(kind: NumberKind) -> u8 {
    match kind {
        NumberKind::Extension => 0,
        NumberKind::Work => 1,
        NumberKind::Mobile => 2,
        NumberKind::Home => 3,
        NumberKind::Fax => 4,
        NumberKind::Other => 5,
    }
}

/// One document's worth of a phonebook.
#[derive(Debug, Clone, Copy)]
pub struct Book<'a> {
    /// Shown on top where the vendor has a title (the domain's name, say).
    pub title: &'a str,
    pub entries: &'a [BookEntry],
    /// Absolute URLs of the pages around this one, for vendors that page.
    pub next_url: Option<&'a str>,
    pub previous_url: Option<&'a str>,
}

/// The document `vendor` reads, as UTF-8 bytes.
pub fn render(vendor: Vendor, book: &Book<'_>) -> Vec<u8> {
    let mut writer = Writer::new_with_indent(Vec::new(), b' ', 2);
    let written = write_declaration(&mut writer).and_then(|()| match vendor {
        Vendor::Yealink => yealink::directory(&mut writer, book),
        Vendor::Fanvil => fanvil::directory(&mut writer, book),
        Vendor::YealinkMenu => yealink::menu(&mut writer, book),
        Vendor::Polycom => polycom::directory(&mut writer, book),
        Vendor::Cisco => cisco::directory(&mut writer, book),
        Vendor::Grandstream => grandstream::address_book(&mut writer, book),
        Vendor::Snom => snom::directory(&mut writer, book),
    });
    written.expect("writing to a Vec cannot fail");
    let mut bytes = writer.into_inner();
    bytes.push(b'\n');
    bytes
}

fn write_declaration(writer: &mut Writer<Vec<u8>>) -> io::Result<()> {
    writer.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))
}

/// `<name>text</name>`, with the text escaped by the writer.
fn text_element(writer: &mut Writer<Vec<u8>>, name: &str, value: &str) -> io::Result<()> {
    let value = text::xml_chars(value);
    writer.create_element(name).write_text_content(BytesText::new(&value))?;
    Ok(())
}

/// The lines of vendors with one number per entry: each number with the name to show
/// beside it (labelled when the contact has several, or it has an extension), the name
/// cut to `max_chars`.
fn labelled_lines(entry: &BookEntry, max_chars: usize) -> Vec<(String, &DialNumber)> {
    let name = entry.display_name();
    entry
        .numbers
        .iter()
        .map(|number| {
            let shown = match entry.labels(number) {
                true => text::with_label(&name, &number.label(), max_chars),
                false => cut_chars(&name, max_chars),
            };
            (shown, number)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn coworker(first: &str, last: &str) -> BookEntry {
        BookEntry { first_name: first.into(), last_name: last.into(), ..Default::default() }
    }

    fn presence(state: PresenceState, manual: Option<PresenceState>, line: Option<LineState>) -> Presence {
        Presence { state, manual_state: manual, line, ..Default::default() }
    }

    #[test]
    fn presence_marks_say_why_someone_is_not_available() {
        let on_call = presence(PresenceState::Busy, None, Some(LineState::OnCall));
        let marked = coworker("Ann", "Smith").showing_presence(Some(&on_call));
        assert_eq!((marked.first_name.as_str(), marked.last_name.as_str()), ("Ann", "Smith [on a call]"));
        let by_hand = presence(PresenceState::Busy, Some(PresenceState::Busy), Some(LineState::Idle));
        assert_eq!(coworker("Ann", "Smith").showing_presence(Some(&by_hand)).display_name(), "Ann Smith [busy]");
        let dnd = presence(PresenceState::Busy, None, Some(LineState::Dnd));
        assert_eq!(coworker("Ann", "").showing_presence(Some(&dnd)).display_name(), "Ann [DND]");
        let offline = presence(PresenceState::Offline, None, None);
        assert_eq!(coworker("", "").showing_presence(Some(&offline)).display_name(), "[offline]");
        let available = presence(PresenceState::Available, None, Some(LineState::Idle));
        assert_eq!(coworker("Ann", "Smith").showing_presence(Some(&available)), coworker("Ann", "Smith"));
        assert_eq!(coworker("Ann", "Smith").showing_presence(None), coworker("Ann", "Smith"), "not a coworker");
    }

    #[test]
    fn long_names_are_cut_and_the_mark_kept() {
        let ringing = presence(PresenceState::Busy, None, Some(LineState::Ringing));
        let long = coworker("Maximilian", "Wolfeschlegelsteinhausenbergerdorff").showing_presence(Some(&ringing));
        let shown = long.display_name();
        assert!(shown.ends_with(" [ringing]"), "{shown}");
        assert!(shown.starts_with("Maximilian Wolfe"), "{shown}");
        assert_eq!(shown.chars().count(), NAME_CHARS, "{shown}");
        let long_first = coworker(&"X".repeat(40), "Y").showing_presence(Some(&ringing)).display_name();
        assert_eq!(long_first.chars().count(), NAME_CHARS, "{long_first}");
        assert!(long_first.ends_with(" [ringing]"), "{long_first}");
    }
}
