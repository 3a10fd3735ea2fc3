//! Importing contact files: preview, upsert, per-row report, all or nothing.

use std::collections::{HashMap, HashSet, VecDeque};
use std::io::Read;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::json;
use switchboard_core::contact::ContactFields;
use switchboard_core::event::ContactAction;
use switchboard_core::model::Contact;
use switchboard_core::phone::Country;
use switchboard_core::{FieldError, Invalid};
use switchboard_formats::{FilePhoto, Format, ImportedRow, ReadOptions, RowError, read};
use switchboard_store::{AuditRecord, ImportChange, ImportWriter, NewPhoto, RowKeys};
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::auth::Caller;
use crate::contacts::{BookRef, OpenBook};
use crate::error::Result;
use crate::photos::new_photo;
use crate::{App, AppConfig, AppError};

/// How an import treats the contacts already in the book.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ImportMode {
    /// Rows matching a contact (by UID, else same names and number) update it; others are created.
    #[default]
    Upsert,
    /// Every row creates a contact.
    Add,
    /// Like upsert, and contacts not in the file go to the trash: the book equals the file.
    Replace,
}

#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// `None` detects the format from the content.
    pub format: Option<Format>,
    pub mode: ImportMode,
    /// Report what would happen, write nothing.
    pub dry_run: bool,
    /// Write nothing when any row is rejected.
    pub strict: bool,
    /// Most rows to read (the server's `max_import_rows` applies too).
    pub max_rows: usize,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions { format: None, mode: ImportMode::Upsert, dry_run: false, strict: false, max_rows: usize::MAX }
    }
}

/// Reads the text parameters of an import, naming each bad one.
pub fn parse_import_options(
    format: Option<&str>,
    mode: Option<&str>,
    dry_run: bool,
    strict: bool,
) -> Result<ImportOptions, Invalid> {
    let format = match format.map(str::trim).unwrap_or_default() {
        "" | "auto" => None,
        "outlook" => Some(Format::OutlookCsv),
        "google" => Some(Format::GoogleCsv),
        "vcard" => Some(Format::VCard),
        other => {
            return Err(Invalid::field(
                "format",
                format!("`{other}` is not a format; use auto, outlook, google or vcard"),
            ));
        }
    };
    let mode = match mode.map(str::trim).unwrap_or_default() {
        "" | "upsert" => ImportMode::Upsert,
        "add" => ImportMode::Add,
        "replace" => ImportMode::Replace,
        other => return Err(Invalid::field("mode", format!("`{other}` is not a mode; use upsert, add or replace"))),
    };
    Ok(ImportOptions { format, mode, dry_run, strict, ..ImportOptions::default() })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RowAction {
    Create,
    Update,
    Unchanged,
    Reject,
}

/// One row's fate, shown in a dry run.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RowPreview {
    pub row: usize,
    pub action: RowAction,
    /// The contact's name as read (or the company).
    pub name: String,
    /// The contact updated, or left unchanged.
    pub contact_id: Option<Uuid>,
    /// Why a row is rejected or unchanged.
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RowProblem {
    pub row: usize,
    pub field: Option<String>,
    pub message: String,
}

/// What an import did (or, in a dry run, would do).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ImportReport {
    /// The detected format, e.g. "Outlook CSV (German)".
    pub format: String,
    pub encoding: String,
    pub rows: usize,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub rejected: usize,
    /// Contacts moved to the trash by a `replace` import.
    pub trashed: usize,
    /// Whether the changes were written (false in a dry run, or a strict or replace import with rejects).
    pub committed: bool,
    /// Why nothing was written although the file was read: a strict or replace import
    /// with rejected rows (a replace import would otherwise trash what they stand for).
    pub held_back: Option<String>,
    pub errors: Vec<RowProblem>,
    /// Rows kept without a field that could not be read (a number of 200 characters, an
    /// email without `@`…); the rest of the row was imported.
    pub warned: usize,
    /// What was left out, field by field (the first 1,000).
    pub warnings: Vec<RowProblem>,
    /// Dry runs only: every row's fate, in file order (the first 10,000).
    pub previews: Vec<RowPreview>,
}

const MAX_PREVIEWS: usize = 10_000;
const MAX_WARNINGS: usize = 1_000;

/// Rows travel from the blocking file reader to the planner through this.
enum Message {
    /// The file cannot be read at all (empty, binary, unknown header…).
    Unreadable(String),
    Detected(String, String),
    /// Rows read and checked (at most [`READ_CHUNK`]), in file order.
    Rows(Vec<CheckedRow>),
}

/// Rows the reader sends at a time: one hand-over per this many rows, not per row.
const READ_CHUNK: usize = 100;

/// Chunks the reader may be ahead of the planner: a batch of changes, so the reader goes
/// on reading and checking the next batch's rows (on another core) while one is written.
const CHUNKS_AHEAD: usize = FRESH_BATCH / READ_CHUNK;

/// The import under way: changes not yet applied and the report so far.
struct Plan {
    open: OpenBook,
    options: ImportOptions,
    /// Whether rows are looked up among the book's contacts (upsert and replace, into a non-empty book).
    match_existing: bool,
    actor: String,
    /// When the import must have finished, and the limit that set it (to say so).
    deadline: Instant,
    time_limit: Duration,
    /// Changes waiting to be applied, with whether each created contact is starred.
    changes: Vec<ImportChange>,
    starred: Vec<bool>,
    report: ImportReport,
    /// Contacts the file keeps (matched or created): `replace` trashes the others.
    kept: HashSet<Uuid>,
    /// Rows created by this import, by duplicate key, to spot a contact listed twice.
    created: HashMap<String, usize>,
    /// Personal imports: contacts to star (Google `* starred`, vCard `CATEGORIES:starred`).
    favorites: Vec<Uuid>,
    /// Photos of the waiting changes, written after them, and their size in bytes.
    photos: Vec<(PhotoOf, NewPhoto)>,
    photo_bytes: usize,
    /// Batches taken to be written so far.
    batches_taken: u32,
}

/// The contact a waiting photo is for.
enum PhotoOf {
    Existing(Uuid),
    /// The n-th contact the waiting changes create.
    Created(usize),
}

/// Photos read ahead or waiting to be written, in bytes: past this, the rows so far are
/// planned and written, so photos never pile up in memory.
const PHOTO_BYTES_AT_ONCE: usize = 16 * 1024 * 1024;

/// Changes are applied this many at a time, so memory stays bounded.
const BATCH: usize = 1000;

/// The same into an empty book, where no row is looked up (so the batches' size changes
/// nothing a row sees): each batch is one short transaction on SQLite, whose commit costs
/// about the same whatever its size (the search index's segment, the checkpoint), so a
/// few thousand rows make it a small part of the work.
const FRESH_BATCH: usize = 5000;

/// The first batch into an empty book; each next one is twice as large, up to [`FRESH_BATCH`].
const FIRST_FRESH_BATCH: usize = 500;

/// Rows read ahead and looked up among the book's contacts together: a few round trips
/// per this many rows instead of one or two per row.
const LOOKUP_BATCH: usize = 500;

/// An import the caller may run, holding one of the server's import slots until dropped.
/// Taken before the file is received, so a refused caller's upload is never stored.
pub struct ImportPermit {
    open: OpenBook,
    _slot: ImportSlot,
}

/// How long a client refused for too many imports at once is asked to wait.
const BUSY_RETRY_AFTER: Duration = Duration::from_secs(5);

/// Imports running now, per domain (their sum is the server's total).
#[derive(Default)]
pub(crate) struct ImportSlots {
    running: Mutex<HashMap<Uuid, usize>>,
}

/// One running import's place in [`ImportSlots`], given back when dropped.
struct ImportSlot {
    slots: Arc<ImportSlots>,
    domain_id: Uuid,
}

impl ImportSlots {
    fn running(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, usize>> {
        // Every update leaves the counts whole, so a poisoned lock still holds good data.
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A slot for an import into `domain_id`, or why there is none.
    fn take(self: &Arc<Self>, domain_id: Uuid, config: &AppConfig) -> Result<ImportSlot> {
        let mut running = self.running();
        let total: usize = running.values().sum();
        let in_domain = running.get(&domain_id).copied().unwrap_or(0);
        let busy = |message: String| AppError::TooManyRequests { message, retry_after: BUSY_RETRY_AFTER };
        if in_domain >= config.max_imports_per_domain {
            return Err(busy(format!(
                "{in_domain} import(s) into this domain are running, the most allowed at once; try again when they finish"
            )));
        }
        if total >= config.max_imports {
            return Err(busy("the server is running as many imports as it allows at once; try again shortly".into()));
        }
        *running.entry(domain_id).or_default() += 1;
        Ok(ImportSlot { slots: self.clone(), domain_id })
    }
}

impl Drop for ImportSlot {
    fn drop(&mut self) {
        let mut running = self.slots.running();
        if let Some(count) = running.get_mut(&self.domain_id) {
            *count -= 1;
            if *count == 0 {
                running.remove(&self.domain_id);
            }
        }
    }
}

impl App {
    /// Imports a contacts file into a book. Rows that cannot be read or are invalid are
    /// reported with their row and field; valid rows are written all together or not at all.
    pub async fn import(
        &self,
        caller: &Caller,
        book: &BookRef,
        input: Box<dyn Read + Send>,
        options: ImportOptions,
    ) -> Result<ImportReport> {
        let permit = self.admit_import(caller, book).await?;
        self.run_import(caller, permit, input, options).await
    }

    /// Discards what unfinished imports wrote (nobody sees it). At start-up (`at_start`)
    /// every one is unfinished, as no import of this database can be running yet: call it
    /// before this server imports anything. Later, only those idle for longer than an
    /// import may take (one whose process was killed). Returns how many.
    pub async fn discard_unfinished_imports(&self, at_start: bool) -> Result<u64> {
        let idle_since = (!at_start).then(|| {
            let margin = Duration::from_secs(60);
            chrono::Utc::now() - (self.config.import_time_limit + margin)
        });
        Ok(self.store.discard_pending_imports(idle_since).await?)
    }

    /// Checks the caller may import into the book and takes an import slot: the first
    /// half of [`App::import`], done before the file is received.
    pub async fn admit_import(&self, caller: &Caller, book: &BookRef) -> Result<ImportPermit> {
        let open = self.open_book(caller, book).await?;
        if !open.can_write {
            return Err(crate::error::forbidden("change these contacts"));
        }
        let slot = self.import_slots.take(open.domain.id, &self.config)?;
        Ok(ImportPermit { open, _slot: slot })
    }

    /// Imports a file under a permit from [`App::admit_import`]. An import that takes
    /// longer than `AppConfig::import_time_limit` is undone and refused.
    pub async fn run_import(
        &self,
        caller: &Caller,
        permit: ImportPermit,
        input: Box<dyn Read + Send>,
        options: ImportOptions,
    ) -> Result<ImportReport> {
        let ImportPermit { open, _slot } = permit;
        let options = ImportOptions { max_rows: options.max_rows.min(self.config.max_import_rows), ..options };
        let deadline = Instant::now() + self.config.import_time_limit;
        let mut rows = spawn_reader(input, &options, open.country);
        let (format, encoding) = match rows.recv().await {
            Some(Message::Detected(format, encoding)) => (format, encoding),
            Some(Message::Unreadable(message)) => return Err(Invalid::field("file", message).into()),
            _ => return Err(Invalid::field("file", "the file could not be read").into()),
        };
        let mut writer = self.store.begin_import(open.book).await?;
        let report = ImportReport {
            format,
            encoding,
            rows: 0,
            created: 0,
            updated: 0,
            unchanged: 0,
            rejected: 0,
            trashed: 0,
            committed: false,
            held_back: None,
            errors: vec![],
            warned: 0,
            warnings: vec![],
            previews: vec![],
        };
        let mut plan = Plan {
            open,
            options,
            match_existing: false,
            actor: caller.actor_name(),
            deadline,
            time_limit: self.config.import_time_limit,
            changes: vec![],
            starred: vec![],
            report,
            kept: HashSet::new(),
            created: HashMap::new(),
            favorites: vec![],
            photos: vec![],
            photo_bytes: 0,
            batches_taken: 0,
        };
        match plan.write(&mut *writer, &mut rows).await {
            Ok(()) if plan.report.held_back.is_none() && !plan.options.dry_run => {}
            Ok(()) => {
                writer.discard().await?;
                return Ok(plan.report);
            }
            Err(error) => {
                // Dropping the writer would discard it too, but later: undo before answering.
                if let Err(discarding) = writer.discard().await {
                    tracing::warn!(error = %discarding, "could not undo a failed import at once; it is undone later");
                }
                return Err(error);
            }
        }
        let r = &plan.report;
        let totals = json!({ "format": r.format, "rows": r.rows, "created": r.created, "updated": r.updated,
            "unchanged": r.unchanged, "rejected": r.rejected, "trashed": r.trashed });
        let favorites = std::mem::take(&mut plan.favorites);
        writer.commit(plan.audit("contacts.import", None, totals), &favorites).await?;
        let r = &plan.report;
        if r.created + r.updated + r.trashed > 0 || !favorites.is_empty() {
            // One event for the whole book: subscribers reload it rather than hear every row.
            self.publish_contact(plan.open.book, None, ContactAction::Imported).await;
        }
        plan.report.committed = true;
        plan.report.previews.clear();
        Ok(plan.report)
    }
}

/// A row read from the file and validated, waiting for its look-up.
enum CheckedRow {
    /// Unreadable or invalid: its problems, with the name to show.
    Rejected {
        name: String,
        problems: Vec<RowProblem>,
    },
    Valid(Box<ValidRow>),
}

struct ValidRow {
    row: usize,
    /// The row's UID when it is an id: our own exports carry the contact's.
    uid: Option<Uuid>,
    starred: bool,
    name: String,
    fields: ContactFields,
    /// Its duplicate key, to spot a contact listed twice in the file.
    key: String,
    /// Fields left out because they could not be read (a photo too).
    left_out: Vec<RowProblem>,
    /// The row's photo, checked.
    photo: Option<NewPhoto>,
}

impl CheckedRow {
    fn new(row: Result<ImportedRow, RowError>, country: Country) -> CheckedRow {
        let row = match row {
            Ok(row) => row,
            Err(RowError { row, field, message }) => {
                return CheckedRow::Rejected {
                    name: String::new(),
                    problems: vec![RowProblem { row, field, message }],
                };
            }
        };
        let name = display_name(&row);
        let problem = |FieldError { field, message }| RowProblem { row: row.row, field: Some(field), message };
        let (photo, photo_problem) = match row.photo.map(|read| read.and_then(checked_photo)) {
            None => (None, None),
            Some(Ok(photo)) => (Some(photo), None),
            Some(Err(message)) => (None, Some(problem(FieldError { field: "photo".into(), message }))),
        };
        match ContactFields::read(&row.contact, country) {
            Ok((fields, left_out)) => CheckedRow::Valid(Box::new(ValidRow {
                row: row.row,
                uid: row.uid.as_deref().and_then(|uid| uid.trim().parse().ok()),
                starred: row.starred,
                name,
                key: fields.duplicate_key(),
                fields,
                left_out: left_out.into_iter().map(problem).chain(photo_problem).collect(),
                photo,
            })),
            Err(Invalid(problems)) => {
                CheckedRow::Rejected { name, problems: problems.into_iter().map(problem).collect() }
            }
        }
    }
}

/// A file's photo as the app takes one; a refusal is the row's warning (the contact is
/// imported without it).
fn checked_photo(photo: FilePhoto) -> Result<NewPhoto, String> {
    new_photo(photo.bytes, photo.declared.as_deref()).map_err(|error| error.to_string())
}

impl CheckedRow {
    fn photo_len(&self) -> usize {
        match self {
            CheckedRow::Valid(row) => row.photo.as_ref().map_or(0, |photo| photo.bytes.len()),
            CheckedRow::Rejected { .. } => 0,
        }
    }
}

impl Plan {
    /// Reads, plans and applies every row; then, for `replace`, trashes the contacts the
    /// file does not keep. Decides whether the import is held back.
    async fn write(&mut self, writer: &mut dyn ImportWriter, rows: &mut mpsc::Receiver<Message>) -> Result<()> {
        // Into an empty book nothing can match: skip the look-ups (the common first import).
        self.match_existing = self.options.mode != ImportMode::Add && !writer.live_contact_ids().await?.is_empty();
        if self.match_existing {
            self.plan_and_apply(writer, rows).await?;
        } else {
            self.plan_while_writing(writer, rows).await?;
        }
        self.apply(writer).await?;
        if self.options.mode == ImportMode::Replace {
            for id in writer.live_contact_ids().await? {
                if !self.kept.contains(&id) {
                    let audit = self.audit("contact.delete", Some(id), json!({ "import": "replace" }));
                    self.changes.push(ImportChange::Trash { id, audit });
                    self.report.trashed += 1;
                }
            }
            self.apply(writer).await?;
        }
        self.report.held_back = self.held_back();
        self.check_time()
    }

    /// Reads rows, looks them up among the book's contacts a slice at a time and applies
    /// the changes a batch at a time; the last batch is left waiting.
    async fn plan_and_apply(
        &mut self,
        writer: &mut dyn ImportWriter,
        rows: &mut mpsc::Receiver<Message>,
    ) -> Result<()> {
        let mut read_ahead = Vec::with_capacity(LOOKUP_BATCH);
        let mut photos_ahead = 0;
        while let Some(checked_rows) = next_rows(rows).await? {
            for checked in checked_rows {
                self.count_row(&checked);
                photos_ahead += checked.photo_len();
                read_ahead.push(checked);
                if read_ahead.len() >= LOOKUP_BATCH || photos_ahead >= PHOTO_BYTES_AT_ONCE {
                    photos_ahead = 0;
                    self.check_time()?;
                    self.plan_rows(writer, std::mem::take(&mut read_ahead)).await?;
                }
            }
        }
        self.plan_rows(writer, read_ahead).await
    }

    /// Into an empty book no row is looked up, so planning needs nothing from the
    /// database: the next batch is read and planned while the last one is written, and
    /// the database never waits for the planner. The last batch is left waiting.
    async fn plan_while_writing(
        &mut self,
        writer: &mut dyn ImportWriter,
        rows: &mut mpsc::Receiver<Message>,
    ) -> Result<()> {
        let mut ended = self.plan_batch(rows).await?;
        while !ended {
            if self.options.dry_run {
                self.apply(writer).await?;
                ended = self.plan_batch(rows).await?;
                continue;
            }
            self.check_time()?;
            let Batch { changes, starred, photos } = self.take_batch();
            // Both run to their end (`join!`, not `try_join!`): a failed planning never
            // leaves a statement of the writer cut off half-way.
            let (written, planned) = tokio::join!(write_batch(writer, changes, photos), self.plan_batch(rows));
            self.note_created(written?, starred);
            ended = planned?;
        }
        Ok(())
    }

    /// Reads and plans rows until a batch of changes waits (a chunk of rows more at
    /// most) or the file ends; true when it ended.
    async fn plan_batch(&mut self, rows: &mut mpsc::Receiver<Message>) -> Result<bool> {
        while self.changes.len() < self.batch() && self.photo_bytes < PHOTO_BYTES_AT_ONCE {
            let Some(checked_rows) = next_rows(rows).await? else { return Ok(true) };
            self.check_time()?;
            for checked in checked_rows {
                self.count_row(&checked);
                self.plan_row(checked, None);
            }
        }
        Ok(false)
    }

    /// Counts a row read, and its warnings.
    fn count_row(&mut self, checked: &CheckedRow) {
        self.report.rows += 1;
        if let CheckedRow::Valid(valid) = checked {
            self.warn(&valid.left_out);
        }
    }

    /// Why nothing may be written: rejected rows in a strict import, or in a replace
    /// import, which would otherwise trash the contacts those rows stand for.
    fn held_back(&self) -> Option<String> {
        let rejected = match self.report.rejected {
            0 => return None,
            1 => "1 row was rejected".to_string(),
            n => format!("{n} rows were rejected"),
        };
        if self.options.strict {
            return Some(format!("{rejected} and the import is strict, so nothing is written"));
        }
        (self.options.mode == ImportMode::Replace).then(|| {
            format!(
                "{rejected}, so this replace import writes nothing (it would move the contacts those rows stand \
                 for to the trash); fix the rows, or import without replacing"
            )
        })
    }

    /// Fails once the import has run longer than allowed (everything is then undone).
    fn check_time(&self) -> Result<()> {
        if Instant::now() < self.deadline {
            return Ok(());
        }
        let limit = humantime_minutes(self.time_limit);
        Err(Invalid::field(
            "file",
            format!("the import took longer than the {limit} allowed and was undone; split the file into smaller ones"),
        )
        .into())
    }

    /// Changes applied at a time (see [`FRESH_BATCH`]). Into an empty book the first
    /// batches are smaller (500, 1,000, 2,000…), so the database starts writing once a few
    /// hundred rows are read rather than 5,000 (a third of a second of a 100,000-row file).
    fn batch(&self) -> usize {
        if self.match_existing {
            return BATCH;
        }
        (FIRST_FRESH_BATCH << self.batches_taken.min(4)).min(FRESH_BATCH)
    }

    /// Plans rows in file order, looking the whole slice up at once. When a full batch of
    /// changes is applied part-way, the rows after it are looked up again: each row sees
    /// the book as written before it, exactly as a look-up per row would.
    async fn plan_rows(&mut self, writer: &mut dyn ImportWriter, rows: Vec<CheckedRow>) -> Result<()> {
        let mut rows = VecDeque::from(rows);
        while !rows.is_empty() {
            let mut found = self.look_up(writer, &rows).await?.into_iter();
            while let Some(row) = rows.pop_front() {
                self.plan_row(row, found.next().flatten());
                if self.changes.len() >= self.batch() || self.photo_bytes >= PHOTO_BYTES_AT_ONCE {
                    self.apply(writer).await?;
                    break;
                }
            }
        }
        Ok(())
    }

    /// The contact each row stands for (see [`ImportWriter::matching_contacts`]), in one
    /// call for all of them; `None` for rows not looked up.
    async fn look_up(
        &self,
        writer: &mut dyn ImportWriter,
        rows: &VecDeque<CheckedRow>,
    ) -> Result<Vec<Option<Contact>>> {
        if !self.match_existing {
            return Ok(vec![]);
        }
        // A row repeating one this import creates is not looked up (see `plan_row`).
        let (positions, keys): (Vec<usize>, Vec<RowKeys>) = rows
            .iter()
            .enumerate()
            .filter_map(|(position, row)| match row {
                CheckedRow::Valid(row) if !self.created.contains_key(&row.key) => {
                    Some((position, RowKeys::new(row.uid, &row.fields)))
                }
                _ => None,
            })
            .unzip();
        let mut found = vec![None; rows.len()];
        for (position, contact) in positions.into_iter().zip(writer.matching_contacts(&keys).await?) {
            found[position] = contact;
        }
        Ok(found)
    }

    /// Plans one row given the contact it matched, if any.
    fn plan_row(&mut self, row: CheckedRow, existing: Option<Contact>) {
        let row = match row {
            CheckedRow::Valid(row) => *row,
            CheckedRow::Rejected { name, problems } => {
                for RowProblem { row, field, message } in problems {
                    self.reject(row, field, message, &name);
                }
                return;
            }
        };
        if let Some(first) = self.created.get(&row.key) {
            let reason = format!("the same contact as row {first}");
            self.preview(row.row, RowAction::Unchanged, &row.name, None, Some(reason));
            self.report.unchanged += 1;
            return;
        }
        match existing {
            Some(contact) => self.plan_update(row, contact),
            None => self.plan_create(row),
        }
    }

    /// Keeps a row's photo to write after the changes waiting with it.
    fn plan_photo(&mut self, photo: Option<NewPhoto>, of: PhotoOf) {
        if let Some(photo) = photo {
            self.photo_bytes += photo.bytes.len();
            self.photos.push((of, photo));
        }
    }

    fn plan_update(&mut self, mut row: ValidRow, contact: Contact) {
        self.plan_photo(row.photo.take(), PhotoOf::Existing(contact.id));
        row.fields.keep_typed_spelling(&contact.fields);
        self.kept.insert(contact.id);
        if row.starred {
            self.favorites.push(contact.id);
        }
        if contact.fields == row.fields {
            self.preview(row.row, RowAction::Unchanged, &row.name, Some(contact.id), None);
            self.report.unchanged += 1;
            return;
        }
        let before = serde_json::to_value(contact.fields.to_input()).unwrap_or_default();
        let after = serde_json::to_value(row.fields.to_input()).unwrap_or_default();
        let details = json!({ "import_row": row.row, "changes": crate::records::changes(&before, &after) });
        let audit = self.audit("contact.update", Some(contact.id), details);
        self.changes.push(ImportChange::Update { id: contact.id, fields: row.fields, audit });
        self.preview(row.row, RowAction::Update, &row.name, Some(contact.id), None);
        self.report.updated += 1;
    }

    fn plan_create(&mut self, mut row: ValidRow) {
        // Each created contact has its `starred` entry: their count is its place.
        self.plan_photo(row.photo.take(), PhotoOf::Created(self.starred.len()));
        self.created.insert(row.key, row.row);
        // Its columns are worked out here, on the planner's core, while the last batch is written.
        self.changes.push(ImportChange::Create(row.fields.into()));
        self.starred.push(row.starred);
        self.preview(row.row, RowAction::Create, &row.name, None, None);
        self.report.created += 1;
    }

    /// Applies the waiting changes (a dry run only counts them).
    async fn apply(&mut self, writer: &mut dyn ImportWriter) -> Result<()> {
        let Batch { changes, starred, photos } = self.take_batch();
        if self.options.dry_run || (changes.is_empty() && photos.is_empty()) {
            return Ok(());
        }
        self.check_time()?;
        let created = write_batch(writer, changes, photos).await?;
        self.note_created(created, starred);
        Ok(())
    }

    /// The changes waiting, taken to be written.
    fn take_batch(&mut self) -> Batch {
        self.photo_bytes = 0;
        self.batches_taken += 1;
        Batch {
            changes: std::mem::take(&mut self.changes),
            starred: std::mem::take(&mut self.starred),
            photos: std::mem::take(&mut self.photos),
        }
    }

    /// The contacts a batch created are kept (for `replace`), the starred ones favorites.
    fn note_created(&mut self, created: Vec<Uuid>, starred: Vec<bool>) {
        for (id, starred) in created.into_iter().zip(starred) {
            self.kept.insert(id);
            if starred {
                self.favorites.push(id);
            }
        }
    }

    fn audit(&self, action: &str, target_id: Option<Uuid>, details: serde_json::Value) -> AuditRecord {
        AuditRecord {
            domain_id: Some(self.open.domain.id),
            actor: self.actor.clone(),
            action: action.into(),
            target_id,
            details: crate::records::contact_audit_details(self.open.book, details),
        }
    }

    fn warn(&mut self, left_out: &[RowProblem]) {
        if left_out.is_empty() {
            return;
        }
        self.report.warned += 1;
        let room = MAX_WARNINGS.saturating_sub(self.report.warnings.len());
        self.report.warnings.extend(left_out.iter().take(room).cloned());
    }

    fn reject(&mut self, row: usize, field: Option<String>, message: String, name: &str) {
        let first_problem_of_row = self.report.errors.last().is_none_or(|last| last.row != row);
        if first_problem_of_row {
            self.report.rejected += 1;
            self.preview(row, RowAction::Reject, name, None, Some(message.clone()));
        }
        self.report.errors.push(RowProblem { row, field, message });
    }

    fn preview(&mut self, row: usize, action: RowAction, name: &str, contact_id: Option<Uuid>, reason: Option<String>) {
        if self.options.dry_run && self.report.previews.len() < MAX_PREVIEWS {
            self.report.previews.push(RowPreview { row, action, name: name.to_string(), contact_id, reason });
        }
    }
}

/// Changes taken from the plan to be written together.
struct Batch {
    changes: Vec<ImportChange>,
    /// Whether each created contact is starred, in order.
    starred: Vec<bool>,
    photos: Vec<(PhotoOf, NewPhoto)>,
}

/// The next rows from the reader; `None` once the file ended, an error if it could not
/// be read to its end.
async fn next_rows(rows: &mut mpsc::Receiver<Message>) -> Result<Option<Vec<CheckedRow>>> {
    loop {
        match rows.recv().await {
            None => return Ok(None),
            Some(Message::Rows(rows)) => return Ok(Some(rows)),
            Some(Message::Unreadable(message)) => return Err(Invalid::field("file", message).into()),
            Some(Message::Detected(..)) => continue,
        }
    }
}

/// Writes changes, then the photos in one go after them (so the rows' writes stay as
/// fast as without photos); returns the ids of the created contacts in order.
async fn write_batch(
    writer: &mut dyn ImportWriter,
    changes: Vec<ImportChange>,
    photos: Vec<(PhotoOf, NewPhoto)>,
) -> Result<Vec<Uuid>> {
    let created = if changes.is_empty() { Vec::new() } else { writer.apply(changes).await? };
    let photos: Vec<(Uuid, NewPhoto)> = photos
        .into_iter()
        .filter_map(|(of, photo)| match of {
            PhotoOf::Existing(id) => Some((id, photo)),
            PhotoOf::Created(n) => created.get(n).map(|id| (*id, photo)),
        })
        .collect();
    if !photos.is_empty() {
        writer.set_photos(&photos).await?;
    }
    Ok(created)
}

/// "10 minutes", "90 seconds": a time limit for people.
fn humantime_minutes(limit: Duration) -> String {
    let seconds = limit.as_secs();
    match seconds {
        60 => "minute".into(),
        s if s > 60 && s % 60 == 0 => format!("{} minutes", s / 60),
        1 => "second".into(),
        s => format!("{s} seconds"),
    }
}

fn display_name(row: &ImportedRow) -> String {
    let c = &row.contact;
    let name = format!("{} {}", c.first_name.trim(), c.last_name.trim()).trim().to_string();
    if name.is_empty() { c.company.trim().to_string() } else { name }
}

/// Reads the file on a blocking thread and sends its rows, checked (`ContactFields::read`:
/// numbers parsed), a bounded number in flight: memory stays bounded however large the
/// file, and reading overlaps the planner's writing.
fn spawn_reader(input: Box<dyn Read + Send>, options: &ImportOptions, country: Country) -> mpsc::Receiver<Message> {
    let (sender, receiver) = mpsc::channel(CHUNKS_AHEAD);
    let read_options = ReadOptions { format: options.format, max_rows: options.max_rows, ..ReadOptions::default() };
    tokio::task::spawn_blocking(move || {
        let reader = match read(input, read_options) {
            Ok(reader) => reader,
            Err(error) => {
                let _ = sender.blocking_send(Message::Unreadable(error.to_string()));
                return;
            }
        };
        let detected = reader.detected();
        let _ = sender.blocking_send(Message::Detected(detected.variant.to_string(), detected.encoding.to_string()));
        let mut reader = reader;
        let mut chunk = Vec::with_capacity(READ_CHUNK);
        let mut chunk_photos = 0;
        for row in reader.by_ref() {
            let checked = CheckedRow::new(row, country);
            chunk_photos += checked.photo_len();
            chunk.push(checked);
            // Photos in flight stay about `PHOTO_BYTES_AT_ONCE` whatever the chunks hold.
            let full = chunk.len() == READ_CHUNK || chunk_photos >= PHOTO_BYTES_AT_ONCE / CHUNKS_AHEAD;
            if !full {
                continue;
            }
            chunk_photos = 0;
            if sender.blocking_send(Message::Rows(std::mem::take(&mut chunk))).is_err() {
                // The import ended (failed, or its request was dropped): read no further.
                return;
            }
        }
        if !chunk.is_empty() && sender.blocking_send(Message::Rows(chunk)).is_err() {
            return;
        }
        // A file that stops half-way (too many rows, an unclosed quote, a read error) is
        // refused whole: importing its first part would look like success.
        if let Some(error) = reader.file_error() {
            let _ = sender.blocking_send(Message::Unreadable(error.to_string()));
        }
    });
    receiver
}
