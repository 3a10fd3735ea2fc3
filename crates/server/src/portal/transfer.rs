//! The Import and Export modals of the Shared Contacts and Contacts pages.
//!
//! An import is sent twice, with the same file: first as a dry run (the preview), then
//! for real. Each time the upload is spooled to a temporary file and the answer is
//! streamed: a `progress <bytes read> <file size>` line a few times a second while the
//! app reads the file, then the [`REPORT_MARKER`] line and the report as an HTML
//! fragment. The headers leave before the import starts, so the status is settled by
//! then: refusals that come earlier (no CSRF token, not allowed, file too large) keep
//! their own status, and a file the app cannot read is reported in the fragment.
//! The page script ("Import and export" in `app.js`) drives a progress bar from the
//! upload and from these lines, then shows the fragment in the modal.
//!
//! Exports need no handler of their own: the modal is a GET form to the REST export
//! endpoints, which accept the session cookie for reading and answer an attachment.

use std::collections::HashMap;
use std::convert::Infallible;
use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use askama::Template;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures::StreamExt;
use serde::Deserialize;
use switchboard_app::{App, AppError, Caller, ImportMode, ImportOptions, ImportPermit, ImportReport, RowAction};
use switchboard_core::Invalid;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

use super::contact_form::Which;
use super::{PortalError, PortalResult, Viewer, capitalize, html};
use crate::AppState;

pub(super) fn routes() -> Router<AppState> {
    let shared = Which::Shared;
    let mine = Which::Mine;
    Router::new()
        .route(
            "/shared-contacts/import",
            get(move |state, viewer| import_modal(state, viewer, shared))
                .post(move |state, viewer, query, headers, body| import(state, viewer, shared, query, headers, body)),
        )
        .route(
            "/contacts/mine/import",
            get(move |state, viewer| import_modal(state, viewer, mine))
                .post(move |state, viewer, query, headers, body| import(state, viewer, mine, query, headers, body)),
        )
        .route("/shared-contacts/export", get(shared_export_modal))
        .route("/contacts/export", get(directory_export_modal))
}

/// The line between the progress lines and the report fragment.
pub(crate) const REPORT_MARKER: &str = "report";

/// How often the streamed answer says how far the import has read.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);

/// Rows listed in a report; the rest are counted, not shown.
const ROWS_SHOWN: usize = 200;

// --- The import modal ---------------------------------------------------------------

#[derive(Template)]
#[template(path = "import_modal.html")]
struct ImportModal {
    heading: &'static str,
    action: &'static str,
    /// What `replace` empties, for its warning.
    book_noun: &'static str,
    max_bytes: usize,
    max_size: String,
}

async fn import_modal(State(state): State<AppState>, viewer: Viewer, which: Which) -> PortalResult<Response> {
    may_import(&viewer, which)?;
    let (heading, book_noun) = match which {
        Which::Shared => ("Import Shared Contacts", "all shared contacts"),
        Which::Mine => ("Import Contacts", "all your contacts"),
    };
    let max_bytes = state.config.max_import_bytes;
    html(&ImportModal { heading, action: import_path(which), book_noun, max_bytes, max_size: size_text(max_bytes) })
}

fn import_path(which: Which) -> &'static str {
    match which {
        Which::Shared => "/shared-contacts/import",
        Which::Mine => "/contacts/mine/import",
    }
}

/// The portal offers imports only to those the app lets write the book; the app decides
/// again when the import runs.
fn may_import(viewer: &Viewer, which: Which) -> PortalResult<()> {
    let allowed = match which {
        Which::Shared => viewer.caps.edit_shared,
        Which::Mine => viewer.caps.keep_own_contacts,
    };
    if allowed { Ok(()) } else { Err(AppError::Forbidden("import into these contacts".into()).into()) }
}

// --- Running an import --------------------------------------------------------------

/// The import's choices, as the page script sends them in the query string.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ImportQuery {
    format: String,
    mode: String,
    dry_run: String,
    strict: String,
}

impl ImportQuery {
    fn options(&self) -> PortalResult<ImportOptions> {
        let dry_run = flag("dry_run", &self.dry_run)?;
        let strict = flag("strict", &self.strict)?;
        let options = switchboard_app::parse_import_options(Some(&self.format), Some(&self.mode), dry_run, strict)
            .map_err(AppError::from)?;
        Ok(options)
    }
}

/// A checkbox's value: absent or `false` is off.
fn flag(field: &str, value: &str) -> PortalResult<bool> {
    match value.trim() {
        "" | "false" | "0" => Ok(false),
        "true" | "on" | "1" => Ok(true),
        other => Err(AppError::from(Invalid::field(field, format!("`{other}` is not true or false"))).into()),
    }
}

/// The body is the file itself. Answers a streamed body: see the module documentation.
async fn import(
    State(state): State<AppState>,
    viewer: Viewer,
    which: Which,
    Query(query): Query<ImportQuery>,
    headers: HeaderMap,
    body: Body,
) -> PortalResult<Response> {
    may_import(&viewer, which)?;
    let options = query.options()?;
    let limit = state.config.max_import_bytes;
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return Err(too_large(limit));
    }
    let book = which.book(&viewer);
    let permit = state.app.admit_import(&viewer.caller, &book).await?;
    let (file, size) = spool(body, limit).await?;
    let read = Arc::new(AtomicU64::new(0));
    let input = CountingReader { inner: file, read: read.clone() };
    let run = ImportRun { app: state.app.clone(), caller: viewer.caller.clone(), permit, options };
    Ok(streamed(run.report(input), read, size))
}

/// Copies the upload to a temporary file (deleted when dropped) and answers its size,
/// refusing it as soon as it is over the limit.
async fn spool(body: Body, limit: usize) -> PortalResult<(std::fs::File, u64)> {
    let trouble =
        |_| PortalError::Message(StatusCode::INTERNAL_SERVER_ERROR, "The file could not be stored for reading.".into());
    let mut file = tokio::fs::File::from_std(tempfile::tempfile().map_err(trouble)?);
    let mut size = 0u64;
    let mut chunks = body.into_data_stream();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(|_| {
            PortalError::Message(StatusCode::BAD_REQUEST, "The upload was interrupted. Send the file again.".into())
        })?;
        size += chunk.len() as u64;
        if size > limit as u64 {
            return Err(too_large(limit));
        }
        file.write_all(&chunk).await.map_err(trouble)?;
    }
    let mut file = file.into_std().await;
    std::io::Seek::rewind(&mut file).map_err(trouble)?;
    Ok((file, size))
}

fn too_large(limit: usize) -> PortalError {
    PortalError::Message(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("This file is too large: an import may be at most {}. Split it into smaller files.", size_text(limit)),
    )
}

/// A size for people: megabytes, or kilobytes below one megabyte.
fn size_text(bytes: usize) -> String {
    const MB: usize = 1024 * 1024;
    if bytes >= MB {
        let tenths = (bytes * 10).div_ceil(MB);
        if tenths.is_multiple_of(10) {
            format!("{} MB", tenths / 10)
        } else {
            format!("{}.{} MB", tenths / 10, tenths % 10)
        }
    } else {
        format!("{} KB", bytes.div_ceil(1024).max(1))
    }
}

/// Counts the bytes the import has read, so progress can be told while it runs.
struct CountingReader<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let count = self.inner.read(buf)?;
        self.read.fetch_add(count as u64, Ordering::Relaxed);
        Ok(count)
    }
}

/// Everything an import needs, owned, so it can run apart from the request.
struct ImportRun {
    app: App,
    caller: Caller,
    permit: ImportPermit,
    options: ImportOptions,
}

impl ImportRun {
    /// Imports and renders the report (or why the file was refused) as HTML.
    async fn report(self, input: impl Read + Send + 'static) -> String {
        let choices = Choices { dry_run: self.options.dry_run, strict: self.options.strict, mode: self.options.mode };
        let outcome = self.app.run_import(&self.caller, self.permit, Box::new(input), self.options).await;
        let view = match outcome {
            Ok(report) => ReportView::new(&report, choices),
            Err(error) => ReportView::failed(error),
        };
        view.render().unwrap_or_else(|error| {
            tracing::error!(%error, "import report template failed");
            r#"<div id="import-report" data-outcome="failed"><p class="alert" role="alert">Something went wrong on our side.</p></div>"#
                .to_string()
        })
    }
}

/// Streams progress lines until `report` is done, then the marker and the report.
///
/// The import runs as its own task: once the file is sent, it finishes even if the
/// browser goes away (a real import is then committed, as the user asked).
fn streamed(report: impl Future<Output = String> + Send + 'static, read: Arc<AtomicU64>, size: u64) -> Response {
    let (sender, receiver) = mpsc::channel::<Bytes>(8);
    tokio::spawn(async move {
        let mut report = std::pin::pin!(report);
        let mut ticks = tokio::time::interval(PROGRESS_EVERY);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let fragment = loop {
            tokio::select! {
                biased;
                fragment = &mut report => break fragment,
                _ = ticks.tick() => {
                    let done = read.load(Ordering::Relaxed).min(size);
                    // A full channel means a slow client: skip this line rather than wait.
                    let _ = sender.try_send(progress_line(done, size));
                }
            }
        };
        let _ = sender.send(progress_line(size, size)).await;
        let _ = sender.send(Bytes::from(format!("{REPORT_MARKER}\n{fragment}"))).await;
    });
    let lines = futures::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|line| (Ok::<_, Infallible>(line), receiver))
    });
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8")),
        // Proxies must pass the lines on as they come.
        (header::HeaderName::from_static("x-accel-buffering"), HeaderValue::from_static("no")),
    ];
    (headers, Body::from_stream(lines)).into_response()
}

fn progress_line(done: u64, size: u64) -> Bytes {
    Bytes::from(format!("progress {done} {size}\n"))
}

// --- The report ---------------------------------------------------------------------

#[derive(Template)]
#[template(path = "import_report.html")]
struct ReportView {
    /// `preview`, `imported`, `held-back` (strict, with rejected rows) or `failed`.
    outcome: &'static str,
    /// Why the file was refused (`failed` only).
    failure: Option<String>,
    heading: &'static str,
    /// What to tell about the outcome, and whether it is a warning.
    note: String,
    warning: bool,
    /// A preview with something to write: the Import button may be used.
    ready: bool,
    format: String,
    encoding: String,
    rows: usize,
    totals: Vec<Total>,
    listed: Vec<RowView>,
    /// Rows left out of the table.
    unlisted: usize,
    /// The toast after a committed import.
    toast: String,
}

struct Total {
    key: &'static str,
    label: &'static str,
    count: usize,
}

/// One line of the report's table.
struct RowView {
    number: usize,
    /// `create`, `update`, `unchanged` or `reject` (the `action-…` class).
    action: &'static str,
    action_label: &'static str,
    name: String,
    fields: String,
    reason: String,
}

/// The choices an import was made with, which its report does not repeat.
#[derive(Debug, Clone, Copy)]
struct Choices {
    dry_run: bool,
    strict: bool,
    mode: ImportMode,
}

impl Choices {
    /// Whether a strict import refuses this file whole.
    fn refuses(self, report: &ImportReport) -> bool {
        self.strict && report.rejected > 0
    }

    /// Whether a replace import (not strict) refuses this file whole: it would trash the
    /// contacts its rejected rows stand for.
    fn replace_refuses(self, report: &ImportReport) -> bool {
        !self.strict && self.mode == ImportMode::Replace && report.rejected > 0
    }
}

impl ReportView {
    fn new(report: &ImportReport, choices: Choices) -> ReportView {
        let dry_run = choices.dry_run;
        let changes = report.created + report.updated + report.trashed;
        let (outcome, heading) = match (dry_run, report.committed) {
            (true, _) => ("preview", "Preview: nothing is imported yet"),
            (false, false) => ("held-back", "Nothing was imported"),
            (false, true) => ("imported", "Import finished"),
        };
        let (note, warning) = note(report, choices, changes);
        let (listed, unlisted) = row_views(report, dry_run);
        ReportView {
            outcome,
            failure: None,
            heading,
            note,
            warning,
            ready: dry_run && changes > 0 && !choices.refuses(report) && !choices.replace_refuses(report),
            format: report.format.clone(),
            encoding: report.encoding.clone(),
            rows: report.rows,
            totals: totals(report, choices),
            listed,
            unlisted,
            toast: if report.committed { format!("Import finished: {}.", summary(report)) } else { String::new() },
        }
    }

    fn failed(error: AppError) -> ReportView {
        let message = match error {
            // A file the app cannot read: its message, without the field's name.
            AppError::Invalid(Invalid(errors)) if errors.len() == 1 && errors[0].field == "file" => {
                format!("This file cannot be imported: {}.", errors[0].message.trim_end_matches('.'))
            }
            other => match PortalError::from(other) {
                PortalError::Message(_, message) => message,
                PortalError::LoggedOut { .. } => "Your session has ended.".into(),
            },
        };
        ReportView {
            outcome: "failed",
            failure: Some(message),
            heading: "",
            note: String::new(),
            warning: true,
            ready: false,
            format: String::new(),
            encoding: String::new(),
            rows: 0,
            totals: vec![],
            listed: vec![],
            unlisted: 0,
            toast: String::new(),
        }
    }
}

/// What to say above the totals, and whether it is a warning.
fn note(report: &ImportReport, choices: Choices, changes: usize) -> (String, bool) {
    let rejected = plural(report.rejected, "row was", "rows were");
    if report.rows == 0 {
        return ("The file holds no contacts: there is nothing to import.".into(), true);
    }
    if choices.refuses(report) {
        let consequence = if choices.dry_run { "importing it would write nothing" } else { "nothing was written" };
        let text = format!(
            "{rejected} rejected and “Import nothing if any row is rejected” is on, so {consequence}. Fix the rows below, or untick that option."
        );
        return (text, true);
    }
    if choices.replace_refuses(report) {
        let consequence = if choices.dry_run { "importing it would write nothing" } else { "nothing was written" };
        let text = format!(
            "{rejected} rejected, and replacing the contacts with this file would move the contacts those rows stand for to the trash, so {consequence}. Fix the rows below, or choose another mode."
        );
        return (text, true);
    }
    if !choices.dry_run {
        let left_out = if report.rejected > 0 { " The rejected rows below were left out." } else { "" };
        return (format!("Saved: {}.{left_out}", summary(report)), false);
    }
    if changes == 0 {
        return ("Importing this file would change nothing.".into(), report.rejected > 0);
    }
    if report.rejected > 0 {
        return (format!("{rejected} rejected: see why below. The other rows can be imported."), true);
    }
    ("Every row can be imported. Check the list, then press Import.".into(), false)
}

fn totals(report: &ImportReport, choices: Choices) -> Vec<Total> {
    let mut totals = vec![
        Total { key: "created", label: "new", count: report.created },
        Total { key: "updated", label: "updated", count: report.updated },
        Total { key: "unchanged", label: "unchanged", count: report.unchanged },
        Total { key: "rejected", label: "rejected", count: report.rejected },
        Total { key: "warned", label: "kept without a field", count: report.warned },
    ];
    if choices.mode == ImportMode::Replace {
        let label = if choices.dry_run { "to trash" } else { "moved to trash" };
        totals.push(Total { key: "trashed", label, count: report.trashed });
    }
    totals
}

/// "3 new, 1 updated, 1 rejected": the totals that are not zero.
fn summary(report: &ImportReport) -> String {
    let parts = [
        (report.created, "new"),
        (report.updated, "updated"),
        (report.unchanged, "unchanged"),
        (report.rejected, "rejected"),
        (report.trashed, "moved to trash"),
        (report.warned, "kept without a field"),
    ];
    let said: Vec<String> =
        parts.iter().filter(|(count, _)| *count > 0).map(|(count, label)| format!("{count} {label}")).collect();
    if said.is_empty() { "nothing changed".into() } else { said.join(", ") }
}

/// The table: rejected rows first (each with its fields and messages), then every
/// other row in file order (the app describes them in a preview only); at most
/// [`ROWS_SHOWN`].
fn row_views(report: &ImportReport, dry_run: bool) -> (Vec<RowView>, usize) {
    let names: HashMap<usize, &str> = report.previews.iter().map(|p| (p.row, p.name.as_str())).collect();
    let rejected = rejected_rows(report, &names);
    let others = report.previews.iter().filter(|p| p.action != RowAction::Reject).map(|preview| {
        let (action, action_label) = action_names(preview.action);
        RowView {
            number: preview.row,
            action,
            action_label,
            name: preview.name.clone(),
            fields: String::new(),
            reason: preview.reason.as_deref().map(capitalize).unwrap_or_default(),
        }
    });
    let warned = report.warnings.iter().map(|problem| RowView {
        number: problem.row,
        action: "warned",
        action_label: "Kept",
        name: names.get(&problem.row).map(|name| name.to_string()).unwrap_or_default(),
        fields: problem.field.as_deref().map(field_label).unwrap_or_default(),
        reason: format!("{} (this field was left out)", capitalize(&problem.message)),
    });
    let listed: Vec<RowView> = rejected.into_iter().chain(warned).chain(others).take(ROWS_SHOWN).collect();
    let in_table = if dry_run { report.rows + report.warnings.len() } else { report.rejected + report.warnings.len() };
    let unlisted = in_table.saturating_sub(listed.len());
    (listed, unlisted)
}

/// One line per rejected row, its problems together (the report lists them one by one).
fn rejected_rows(report: &ImportReport, names: &HashMap<usize, &str>) -> Vec<RowView> {
    let mut rows: Vec<RowView> = Vec::new();
    let mut problems_of_last = 0;
    for problem in &report.errors {
        let field = problem.field.as_deref().map(field_label).unwrap_or_default();
        let message = capitalize(&problem.message);
        match rows.last_mut() {
            Some(last) if last.number == problem.row => {
                // A second problem: each message now needs its field.
                if problems_of_last == 1 && !last.fields.is_empty() {
                    last.reason = format!("{}: {}", last.fields, last.reason);
                }
                last.reason = join_reason(&last.reason, &field, &message);
                if !field.is_empty() {
                    last.fields = if last.fields.is_empty() { field } else { format!("{}, {field}", last.fields) };
                }
                problems_of_last += 1;
            }
            _ => {
                let (action, action_label) = action_names(RowAction::Reject);
                let name = names.get(&problem.row).map(|name| name.to_string()).unwrap_or_default();
                rows.push(RowView { number: problem.row, action, action_label, name, fields: field, reason: message });
                problems_of_last = 1;
            }
        }
    }
    rows
}

fn join_reason(reason: &str, field: &str, message: &str) -> String {
    if field.is_empty() { format!("{reason}; {message}") } else { format!("{reason}; {field}: {message}") }
}

fn action_names(action: RowAction) -> (&'static str, &'static str) {
    match action {
        RowAction::Create => ("create", "New"),
        RowAction::Update => ("update", "Update"),
        RowAction::Unchanged => ("unchanged", "Unchanged"),
        RowAction::Reject => ("reject", "Rejected"),
    }
}

/// `work_phone` → "Work phone", `emails[0].address` → "Email", `phones[2].number` →
/// "Phone 3" (imports fill the lists); a column name from the file stays as it is.
fn field_label(field: &str) -> String {
    let entry =
        field.split_once('[').and_then(|(list, rest)| Some((list, rest.split_once(']')?.0.parse::<usize>().ok()?)));
    let Some((list, index)) = entry else { return capitalize(&field.replace('_', " ")) };
    let one = if list == "addresses" { "address" } else { list.strip_suffix('s').unwrap_or(list) };
    let name = capitalize(one);
    if index == 0 { name } else { format!("{name} {}", index + 1) }
}

fn plural(count: usize, one: &str, many: &str) -> String {
    if count == 1 { format!("1 {one}") } else { format!("{count} {many}") }
}

// --- The export modal ---------------------------------------------------------------

#[derive(Template)]
#[template(path = "export_modal.html")]
struct ExportModal {
    /// The REST endpoint the form downloads from.
    action: String,
    /// `None` for shared contacts: the one choice is all of them.
    groups: Option<ExportGroups>,
}

/// The directory's groups that make sense in a file (presence does not).
struct ExportGroups {
    selected: String,
    see_shared: bool,
    departments: Vec<String>,
    sites: Vec<String>,
}

impl ExportGroups {
    fn is(&self, value: &str) -> bool {
        self.selected == value
    }
}

async fn shared_export_modal(viewer: Viewer) -> PortalResult<Response> {
    if !viewer.caps.see_shared {
        return Err(AppError::Forbidden("export shared contacts".into()).into());
    }
    let action = format!("/api/v1/domains/{}/shared-contacts/export", viewer.domain_name());
    html(&ExportModal { action, groups: None })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct GroupQuery {
    group: String,
}

async fn directory_export_modal(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(query): Query<GroupQuery>,
) -> PortalResult<Response> {
    let (domain, ext) = (viewer.domain_name(), viewer.extension());
    let groups = ExportGroups {
        selected: if query.group.trim().is_empty() { "all".into() } else { query.group.trim().to_string() },
        see_shared: viewer.caps.see_shared,
        departments: state.app.departments(&viewer.caller, &domain, &ext).await?,
        sites: state.app.sites(&viewer.caller, &domain, &ext).await?,
    };
    let action = format!("/api/v1/domains/{domain}/users/{ext}/directory/export");
    html(&ExportModal { action, groups: Some(groups) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_read_as_labels() {
        assert_eq!(field_label("work_phone"), "Work phone");
        assert_eq!(field_label("emails[0].address"), "Email");
        assert_eq!(field_label("phones[2].number"), "Phone 3");
        assert_eq!(field_label("addresses[1].city"), "Address 2");
        assert_eq!(field_label("Business Phone"), "Business Phone");
    }

    #[test]
    fn sizes_read_as_megabytes_or_kilobytes() {
        assert_eq!(size_text(50 * 1024 * 1024), "50 MB");
        assert_eq!(size_text(1536 * 1024), "1.5 MB");
        assert_eq!(size_text(2000), "2 KB");
    }

    #[test]
    fn counting_reader_counts_what_it_reads() {
        let read = Arc::new(AtomicU64::new(0));
        let mut reader = CountingReader { inner: &b"0123456789"[..], read: read.clone() };
        let mut first = [0u8; 4];
        reader.read_exact(&mut first).unwrap();
        assert_eq!(read.load(Ordering::Relaxed), 4);
        std::io::copy(&mut reader, &mut std::io::sink()).unwrap();
        assert_eq!(read.load(Ordering::Relaxed), 10);
    }
}
