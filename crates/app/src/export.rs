//! Exporting contacts to files: shared contacts, or any group of a user's directory.

use std::collections::{HashMap, VecDeque};
use std::io::Write;
use std::sync::{Arc, Mutex};

use futures::stream::{self, BoxStream, StreamExt};
use switchboard_core::Invalid;
use switchboard_core::PhoneNumber;
use switchboard_core::contact::{ContactFields, NumberKind};
use switchboard_core::details::{Email, Phone, PhoneKind};
use switchboard_core::model::{Book, Contact, DirectoryEntry, EntryKind};
use switchboard_core::paging::{Cursor, Limit, Page};
use switchboard_core::photo::PhotoType;
use switchboard_formats::{ExportContact, ExportFormat, ExportPhoto, Writer};
use switchboard_store::{DirectoryQuery, ListQuery, Store};
use uuid::Uuid;

use crate::App;
use crate::auth::Caller;
use crate::contacts::BookRef;
use crate::directory::parse_group;
use crate::error::{AppError, Result};

/// What to export.
#[derive(Debug, Clone)]
pub enum ExportSource {
    /// A domain's shared contacts (the Shared Contacts page).
    Shared { domain: String },
    /// One group of a user's merged directory (`all`, `favorites`, `department:Sales`…).
    Directory { domain: String, extension: String, group: String },
}

/// A file being exported: its name and its bytes, produced page by page.
pub struct Export {
    pub file_name: String,
    pub format: ExportFormat,
    pub chunks: BoxStream<'static, Result<Vec<u8>>>,
}

/// Reads a `format` parameter: `outlook`, `google`, `vcard` (3.0, the default) or `vcard4`.
pub fn parse_export_format(value: Option<&str>) -> Result<ExportFormat, Invalid> {
    match value.map(str::trim).unwrap_or_default() {
        "" | "vcard" | "vcard3" => Ok(ExportFormat::VCard3),
        "vcard4" => Ok(ExportFormat::VCard4),
        "outlook" => Ok(ExportFormat::OutlookCsv),
        "google" => Ok(ExportFormat::GoogleCsv),
        other => Err(Invalid::field(
            "format",
            format!("`{other}` is not an export format; use outlook, google, vcard or vcard4"),
        )),
    }
}

/// Contacts read from the store a page at a time.
enum Pages {
    Book(Book),
    Directory(Box<DirectoryQuery>),
}

const PAGE: u32 = 500;

impl App {
    /// Checks the caller may read the source, then streams it in `format`. An empty
    /// source gives the header alone: the template admins fill in.
    pub async fn export(&self, caller: &Caller, source: &ExportSource, format: ExportFormat) -> Result<Export> {
        let (pages, name) = match source {
            ExportSource::Shared { domain } => {
                let open = self.open_book(caller, &BookRef::Shared { domain: domain.clone() }).await?;
                (Pages::Book(open.book), format!("{}-shared-contacts", open.domain.name))
            }
            ExportSource::Directory { domain, extension, group } => {
                let (query, domain) = self.directory_query(caller, domain, extension, group).await?;
                let label = group.trim().replace(':', "-");
                let label = if label.is_empty() { "all".to_string() } else { label };
                (Pages::Directory(Box::new(query)), format!("{}-{extension}-{label}", domain.name))
            }
        };
        let file_name = format!("{}.{}", safe_file_name(&name), format.file_extension());
        Ok(Export { file_name, format, chunks: chunks(self.store.clone(), pages, format) })
    }

    /// The query behind a user's directory group, once the caller is checked to be that user.
    async fn directory_query(
        &self,
        caller: &Caller,
        domain: &str,
        extension: &str,
        group: &str,
    ) -> Result<(DirectoryQuery, switchboard_core::model::Domain)> {
        let (domain, user) = self.viewer(caller, domain, extension).await?;
        let group = parse_group(group)?;
        let include_shared = self.shows_shared(caller, &domain).await?;
        let list = ListQuery { limit: Limit::parse(Some(PAGE)).expect("within bounds"), ..Default::default() };
        Ok((
            DirectoryQuery { domain_id: domain.id, viewer_id: user.id, include_shared, include_own: true, group, list },
            domain,
        ))
    }
}

/// A `Write` whose bytes are taken out after each page.
#[derive(Clone, Default)]
struct Chunk(Arc<Mutex<Vec<u8>>>);

impl Write for Chunk {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("chunk lock").extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Chunk {
    fn take(&self) -> Vec<u8> {
        std::mem::take(&mut self.0.lock().expect("chunk lock"))
    }
}

struct State {
    store: Arc<dyn Store>,
    pages: Pages,
    after: Option<Cursor>,
    writer: Option<Writer<Chunk>>,
    chunk: Chunk,
    /// A book's contacts read but not yet written, and whether more pages follow.
    pending: VecDeque<Contact>,
    more_pages: bool,
    /// vCard files carry photos: they are read for a few contacts at a time.
    with_photos: bool,
}

/// Contacts written per chunk of a vCard export, with their photos read together: at
/// most this many photos (256 KiB each) are in memory at once.
const PHOTO_BATCH: usize = 25;

fn chunks(store: Arc<dyn Store>, pages: Pages, format: ExportFormat) -> BoxStream<'static, Result<Vec<u8>>> {
    let chunk = Chunk::default();
    let writer = Writer::new(chunk.clone(), format).expect(IN_MEMORY);
    let with_photos = matches!(format, ExportFormat::VCard3 | ExportFormat::VCard4);
    let state = State {
        store,
        pages,
        after: None,
        writer: Some(writer),
        chunk,
        pending: VecDeque::new(),
        more_pages: true,
        with_photos,
    };
    stream::unfold(Some(state), |state| async move {
        let mut state = state?;
        match next_chunk(&mut state).await {
            Ok(bytes) => {
                let more = state.writer.is_some();
                Some((Ok(bytes), more.then_some(state)))
            }
            Err(error) => Some((Err(error), None)),
        }
    })
    .boxed()
}

fn page_query(after: Option<Cursor>) -> ListQuery {
    ListQuery { limit: Limit::parse(Some(PAGE)).expect("within bounds"), after, ..Default::default() }
}

/// Writes the next page (of a book's vCard export, the next few contacts with their
/// photos); after the last one, finishes the file.
async fn next_chunk(state: &mut State) -> Result<Vec<u8>> {
    if let Pages::Book(book) = state.pages {
        return next_book_chunk(state, book).await;
    }
    let list = page_query(state.after.take());
    let (contacts, next_cursor) = match &state.pages {
        Pages::Book(_) => unreachable!("written by next_book_chunk"),
        Pages::Directory(query) => {
            let query = DirectoryQuery { list: list.clone(), ..(**query).clone() };
            let Page { items, next_cursor } = state.store.directory(&query).await?;
            (items.iter().map(from_entry).collect::<Vec<_>>(), next_cursor)
        }
    };
    let writer = state.writer.as_mut().expect("only called while writing");
    for contact in &contacts {
        writer.write(contact).expect(IN_MEMORY);
    }
    match next_cursor {
        Some(text) => {
            state.after = Some(Cursor::decode(&text, list.sort).map_err(|_| AppError::NotFound)?);
            writer.flush().expect(IN_MEMORY);
        }
        None => {
            state.writer.take().expect("still writing").finish().expect(IN_MEMORY);
        }
    }
    Ok(state.chunk.take())
}

async fn next_book_chunk(state: &mut State, book: Book) -> Result<Vec<u8>> {
    if state.pending.is_empty() && state.more_pages {
        let list = page_query(state.after.take());
        let Page { items, next_cursor } = state.store.list_contacts(book, &list).await?;
        state.pending = items.into();
        state.after =
            next_cursor.map(|text| Cursor::decode(&text, list.sort)).transpose().map_err(|_| AppError::NotFound)?;
        state.more_pages = state.after.is_some();
    }
    let take = if state.with_photos { PHOTO_BATCH.min(state.pending.len()) } else { state.pending.len() };
    let batch: Vec<Contact> = state.pending.drain(..take).collect();
    let mut photos = if state.with_photos {
        let ids: Vec<Uuid> = batch.iter().filter(|c| c.has_photo).map(|c| c.id).collect();
        state.store.photos(book, &ids).await?
    } else {
        HashMap::new()
    };
    let writer = state.writer.as_mut().expect("only called while writing");
    for contact in &batch {
        let mut export = from_contact(contact);
        export.photo = photos.remove(&contact.id).and_then(|photo| {
            let kind = PhotoType::from_media_type(&photo.media_type)?;
            Some(ExportPhoto { kind, bytes: photo.bytes })
        });
        writer.write(&export).expect(IN_MEMORY);
    }
    if state.pending.is_empty() && !state.more_pages {
        state.writer.take().expect("still writing").finish().expect(IN_MEMORY);
    } else {
        writer.flush().expect(IN_MEMORY);
    }
    Ok(state.chunk.take())
}

pub(crate) fn from_contact(contact: &Contact) -> ExportContact {
    ExportContact {
        uid: contact.id.to_string(),
        fields: contact.fields.clone(),
        extension: None,
        starred: false,
        photo: None,
    }
}

pub(crate) fn from_entry(entry: &DirectoryEntry) -> ExportContact {
    let phones = entry
        .numbers
        .iter()
        .filter_map(|number| {
            let kind = match number.kind {
                NumberKind::Work => PhoneKind::Work,
                NumberKind::Mobile => PhoneKind::Mobile,
                NumberKind::Home => PhoneKind::Home,
                NumberKind::Fax => PhoneKind::Fax,
                NumberKind::Other => PhoneKind::Other,
                NumberKind::Extension => return None,
            };
            let number = PhoneNumber { typed: number.typed.clone(), e164: number.e164.clone(), extension: None };
            Some(Phone { kind, label: String::new(), number })
        })
        .collect();
    let emails = [&entry.email]
        .into_iter()
        .filter(|e| !e.is_empty())
        .map(|address| Email { address: address.clone(), ..Email::default() })
        .collect();
    let fields = ContactFields {
        first_name: entry.first_name.clone(),
        last_name: entry.last_name.clone(),
        company: entry.company.clone(),
        phones,
        emails,
        ..ContactFields::default()
    };
    let extension = (entry.kind == EntryKind::Coworker).then(|| entry.extension.clone()).flatten();
    ExportContact { uid: entry.id.to_string(), fields, extension, starred: entry.favorite, photo: None }
}

/// Keeps a file name to letters, digits, `.`, `-` and `_`.
fn safe_file_name(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || ".-_".contains(c) { c } else { '_' }).collect()
}

/// The writers only fail when their output does, and a [`Chunk`] never does.
const IN_MEMORY: &str = "writing to memory cannot fail";
