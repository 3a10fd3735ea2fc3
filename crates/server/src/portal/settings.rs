//! The Settings page: the domain's settings layer (who edits shared contacts, whether
//! they are shown, the default country), each shown as set here or inherited, and
//! whether shared contacts are shown per scope (the scope layers).

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::Query;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use serde_json::json;
use switchboard_app::{AppError, BlockKind, BlockedNumberInput, LayeredSettings, SettingsLayer};
use switchboard_core::Scope;
use switchboard_core::settings::{DEFAULT_COUNTRY, SHARED_CONTACTS_EDITOR_SCOPES, SHOW_SHARED_CONTACTS};

use super::users::scope_label;
use super::{Frame, PortalError, PortalResult, Viewer, capitalize, html, triggers};
use crate::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/settings", get(page).post(save))
        .route("/settings/scope", get(show_scope).post(save_scope))
        .route("/settings/blocked-numbers", get(show_blocked).post(block))
        .route("/settings/blocked-numbers/{id}/delete", post(unblock))
}

/// Countries offered for `DEFAULT_COUNTRY`, by name. A value set elsewhere (the API)
/// that is not listed is still shown.
const COUNTRIES: &[(&str, &str)] = &[
    ("AR", "Argentina"),
    ("AU", "Australia"),
    ("AT", "Austria"),
    ("BE", "Belgium"),
    ("BR", "Brazil"),
    ("BG", "Bulgaria"),
    ("CA", "Canada"),
    ("CL", "Chile"),
    ("CN", "China"),
    ("CO", "Colombia"),
    ("HR", "Croatia"),
    ("CY", "Cyprus"),
    ("CZ", "Czechia"),
    ("DK", "Denmark"),
    ("EG", "Egypt"),
    ("EE", "Estonia"),
    ("FI", "Finland"),
    ("FR", "France"),
    ("DE", "Germany"),
    ("GR", "Greece"),
    ("HK", "Hong Kong"),
    ("HU", "Hungary"),
    ("IS", "Iceland"),
    ("IN", "India"),
    ("ID", "Indonesia"),
    ("IE", "Ireland"),
    ("IL", "Israel"),
    ("IT", "Italy"),
    ("JP", "Japan"),
    ("KE", "Kenya"),
    ("LV", "Latvia"),
    ("LT", "Lithuania"),
    ("LU", "Luxembourg"),
    ("MY", "Malaysia"),
    ("MT", "Malta"),
    ("MX", "Mexico"),
    ("MA", "Morocco"),
    ("NL", "Netherlands"),
    ("NZ", "New Zealand"),
    ("NG", "Nigeria"),
    ("NO", "Norway"),
    ("PE", "Peru"),
    ("PH", "Philippines"),
    ("PL", "Poland"),
    ("PT", "Portugal"),
    ("PR", "Puerto Rico"),
    ("RO", "Romania"),
    ("SA", "Saudi Arabia"),
    ("RS", "Serbia"),
    ("SG", "Singapore"),
    ("SK", "Slovakia"),
    ("SI", "Slovenia"),
    ("ZA", "South Africa"),
    ("KR", "South Korea"),
    ("ES", "Spain"),
    ("SE", "Sweden"),
    ("CH", "Switzerland"),
    ("TW", "Taiwan"),
    ("TH", "Thailand"),
    ("TR", "Türkiye"),
    ("UA", "Ukraine"),
    ("AE", "United Arab Emirates"),
    ("GB", "United Kingdom"),
    ("US", "United States"),
    ("VN", "Vietnam"),
];

fn country_name(code: &str) -> &str {
    COUNTRIES.iter().find(|(c, _)| *c == code).map_or(code, |(_, name)| name)
}

/// The scopes a domain's users have: the ones its settings may name.
fn domain_scopes() -> impl Iterator<Item = Scope> {
    Scope::ALL.into_iter().filter(|scope| !scope.is_provider())
}

fn check(viewer: &Viewer) -> PortalResult<()> {
    if viewer.caps.manage_settings {
        Ok(())
    } else {
        Err(AppError::Forbidden("you may not change the settings of your domain".into()).into())
    }
}

fn domain_layer(viewer: &Viewer) -> SettingsLayer {
    SettingsLayer::Domain(viewer.domain_name())
}

fn scope_layer(viewer: &Viewer, scope: Scope) -> SettingsLayer {
    SettingsLayer::Scope(viewer.domain_name(), scope.as_str().to_string())
}

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    frame: Frame,
    domain: String,
    form: DomainForm,
    per_scope: ScopeSection,
    blocked: BlockedSection,
}

async fn page(State(state): State<AppState>, viewer: Viewer) -> PortalResult<Response> {
    check(&viewer)?;
    let layer = state.app.layered_settings(&viewer.caller, &domain_layer(&viewer)).await?;
    let form = DomainForm::new(&layer, &DomainChoice::of(&layer), BTreeMap::new());
    let per_scope = ScopeSection::load(&state, &viewer).await?;
    let blocked = BlockedSection::load(&state, &viewer, None).await?;
    html(&SettingsPage { frame: viewer.frame("settings"), domain: viewer.domain_name(), form, per_scope, blocked })
}

// --- The domain layer -----------------------------------------------------------------

/// What the domain form chooses; `None` keeps the inherited value.
#[derive(Debug, Clone, PartialEq, Eq)]
struct DomainChoice {
    editors: Option<Vec<String>>,
    show_shared: Option<String>,
    country: Option<String>,
}

impl DomainChoice {
    /// What the layer sets now.
    fn of(layer: &LayeredSettings) -> DomainChoice {
        let set = |key: &str| layer.values.get(key).cloned();
        DomainChoice {
            editors: set(SHARED_CONTACTS_EDITOR_SCOPES).map(|list| split_list(&list)),
            show_shared: set(SHOW_SHARED_CONTACTS),
            country: set(DEFAULT_COUNTRY),
        }
    }

    /// Reads the posted form: repeated `editor` boxes, so pairs rather than a struct.
    fn posted(pairs: &[(String, String)]) -> DomainChoice {
        let value = |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim().to_string());
        let chosen = |name: &str| value(name).filter(|v| !v.is_empty());
        let custom = value("editors_mode").as_deref() == Some("custom");
        let editors = pairs.iter().filter(|(k, _)| k == "editor").map(|(_, v)| v.clone()).collect();
        DomainChoice {
            editors: custom.then_some(editors),
            show_shared: chosen("show_shared"),
            country: chosen("default_country"),
        }
    }

    /// The layer's changes from `current` to this choice (a key set to `None` goes back to inheriting).
    fn changes_from(&self, current: &DomainChoice) -> BTreeMap<String, Option<String>> {
        let mut changes = BTreeMap::new();
        let editors = |choice: &DomainChoice| choice.editors.as_ref().map(|list| list.join(","));
        let pairs = [
            (SHARED_CONTACTS_EDITOR_SCOPES, editors(self), editors(current)),
            (SHOW_SHARED_CONTACTS, self.show_shared.clone(), current.show_shared.clone()),
            (DEFAULT_COUNTRY, self.country.clone(), current.country.clone()),
        ];
        for (key, new, old) in pairs {
            if new != old {
                changes.insert(key.to_string(), new);
            }
        }
        changes
    }
}

fn split_list(list: &str) -> Vec<String> {
    list.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect()
}

fn scope_names(list: &str) -> String {
    let names: Vec<&str> = split_list(list).iter().filter_map(|s| s.parse::<Scope>().ok()).map(scope_label).collect();
    if names.is_empty() { "nobody below the provider".into() } else { names.join(", ") }
}

/// A checkbox of the editors list.
struct EditorBox {
    value: &'static str,
    label: &'static str,
    checked: bool,
}

/// An option of a select.
struct Choice {
    value: String,
    label: String,
    selected: bool,
}

#[derive(Template)]
#[template(path = "settings_form.html")]
struct DomainForm {
    editors_set: bool,
    editors_inherited: String,
    editors: Vec<EditorBox>,
    show_set: bool,
    show_choices: Vec<Choice>,
    country_set: bool,
    countries: Vec<Choice>,
    /// Messages by form field: `editors`, `show_shared`, `default_country`.
    errors: BTreeMap<&'static str, String>,
}

impl DomainForm {
    fn new(layer: &LayeredSettings, choice: &DomainChoice, errors: BTreeMap<&'static str, String>) -> DomainForm {
        let inherited = |key: &str| layer.inherited.get(key).cloned().unwrap_or_default();
        let ticked = choice.editors.clone().unwrap_or_else(|| split_list(&inherited(SHARED_CONTACTS_EDITOR_SCOPES)));
        let editors = domain_scopes()
            .map(|scope| EditorBox {
                value: scope.as_str(),
                label: scope_label(scope),
                checked: ticked.iter().any(|s| s == scope.as_str()),
            })
            .collect();
        let inherited_show = inherited(SHOW_SHARED_CONTACTS);
        let inherited_country = inherited(DEFAULT_COUNTRY);
        DomainForm {
            editors_set: choice.editors.is_some(),
            editors_inherited: scope_names(&inherited(SHARED_CONTACTS_EDITOR_SCOPES)),
            editors,
            show_set: choice.show_shared.is_some(),
            show_choices: yes_no_choices(&inherited_show, choice.show_shared.as_deref()),
            country_set: choice.country.is_some(),
            countries: country_choices(&inherited_country, choice.country.as_deref()),
            errors,
        }
    }
}

/// "Inherit (yes)", "Yes", "No"; `chosen` is the value set in the layer.
fn yes_no_choices(inherited: &str, chosen: Option<&str>) -> Vec<Choice> {
    let inherit = Choice { value: String::new(), label: format!("Inherit ({inherited})"), selected: chosen.is_none() };
    let answers = [("yes", "Yes"), ("no", "No")].into_iter().map(|(value, label)| Choice {
        value: value.into(),
        label: label.into(),
        selected: chosen == Some(value),
    });
    std::iter::once(inherit).chain(answers).collect()
}

fn country_choices(inherited: &str, chosen: Option<&str>) -> Vec<Choice> {
    let inherit = Choice {
        value: String::new(),
        label: format!("Inherit ({inherited} — {})", country_name(inherited)),
        selected: chosen.is_none(),
    };
    let mut countries: Vec<Choice> = COUNTRIES
        .iter()
        .map(|(code, name)| Choice {
            value: code.to_string(),
            label: format!("{name} ({code})"),
            selected: chosen == Some(code),
        })
        .collect();
    if let Some(other) = chosen.filter(|c| !COUNTRIES.iter().any(|(code, _)| code == c)) {
        countries.insert(0, Choice { value: other.into(), label: other.into(), selected: true });
    }
    std::iter::once(inherit).chain(countries).collect()
}

/// The form field that shows a settings key's message.
fn field_of(key: &str) -> &'static str {
    match key {
        SHARED_CONTACTS_EDITOR_SCOPES => "editors",
        SHOW_SHARED_CONTACTS => "show_shared",
        _ => "default_country",
    }
}

async fn save(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PortalResult<Response> {
    check(&viewer)?;
    let layer = state.app.layered_settings(&viewer.caller, &domain_layer(&viewer)).await?;
    let choice = DomainChoice::posted(&pairs);
    let changes = choice.changes_from(&DomainChoice::of(&layer));
    // Nothing written when nothing changed: no empty audit entry.
    if !changes.is_empty()
        && let Err(error) = state.app.put_settings(&viewer.caller, &domain_layer(&viewer), changes).await
    {
        let AppError::Invalid(invalid) = error else { return Err(PortalError::from(error)) };
        let errors = invalid.0.into_iter().map(|e| (field_of(&e.field), capitalize(&e.message))).collect();
        let form = DomainForm::new(&layer, &choice, errors);
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, html(&form)?).into_response());
    }
    let layer = state.app.layered_settings(&viewer.caller, &domain_layer(&viewer)).await?;
    let form = DomainForm::new(&layer, &DomainChoice::of(&layer), BTreeMap::new());
    Ok(triggers(json!({ "toast": { "message": "Settings saved" } }), html(&form)?))
}

// --- Per scope ------------------------------------------------------------------------

/// One scope's `PORTAL_SHOW_SHARED_CONTACTS`.
struct ScopeRow {
    scope: &'static str,
    label: &'static str,
    /// `yes` or `no`: what applies to the scope's users (before their own settings).
    effective: String,
    set_here: bool,
}

#[derive(Template)]
#[template(path = "settings_scopes.html")]
struct ScopeSection {
    rows: Vec<ScopeRow>,
    /// The scope the form shows, and its choices.
    selected: &'static str,
    choices: Vec<Choice>,
    error: Option<String>,
}

impl ScopeSection {
    async fn load(state: &AppState, viewer: &Viewer) -> PortalResult<ScopeSection> {
        ScopeSection::load_selecting(state, viewer, Scope::BasicUser).await
    }

    async fn load_selecting(state: &AppState, viewer: &Viewer, selected: Scope) -> PortalResult<ScopeSection> {
        let mut rows = Vec::new();
        let mut choices = Vec::new();
        for scope in domain_scopes() {
            let layer = state.app.layered_settings(&viewer.caller, &scope_layer(viewer, scope)).await?;
            let set = layer.values.get(SHOW_SHARED_CONTACTS);
            if scope == selected {
                let inherited = layer.inherited.get(SHOW_SHARED_CONTACTS).map_or("yes", String::as_str);
                choices = yes_no_choices(inherited, set.map(String::as_str));
            }
            rows.push(ScopeRow {
                scope: scope.as_str(),
                label: scope_label(scope),
                effective: layer.effective(SHOW_SHARED_CONTACTS).unwrap_or("yes").to_string(),
                set_here: set.is_some(),
            });
        }
        Ok(ScopeSection { rows, selected: selected.as_str(), choices, error: None })
    }
}

#[derive(Debug, Deserialize)]
struct ScopePick {
    scope: String,
}

/// The section showing another scope's choice (the scope select changed).
async fn show_scope(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(pick): Query<ScopePick>,
) -> PortalResult<Response> {
    check(&viewer)?;
    html(&ScopeSection::load_selecting(&state, &viewer, parse_scope(&pick.scope)?).await?)
}

fn parse_scope(text: &str) -> PortalResult<Scope> {
    text.parse().map_err(|m: String| PortalError::Message(StatusCode::UNPROCESSABLE_ENTITY, capitalize(&m)))
}

#[derive(Debug, Deserialize)]
struct ScopeChoice {
    scope: String,
    #[serde(default)]
    show_shared: String,
}

async fn save_scope(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<ScopeChoice>,
) -> PortalResult<Response> {
    check(&viewer)?;
    let scope = parse_scope(&form.scope)?;
    let value = Some(form.show_shared.trim().to_string()).filter(|v| !v.is_empty());
    let changes = BTreeMap::from([(SHOW_SHARED_CONTACTS.to_string(), value)]);
    if let Err(error) = state.app.put_settings(&viewer.caller, &scope_layer(&viewer, scope), changes).await {
        let AppError::Invalid(invalid) = error else { return Err(PortalError::from(error)) };
        let mut section = ScopeSection::load_selecting(&state, &viewer, scope).await?;
        section.error = invalid.0.first().map(|e| capitalize(&e.message));
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, html(&section)?).into_response());
    }
    let section = ScopeSection::load_selecting(&state, &viewer, scope).await?;
    Ok(triggers(json!({ "toast": { "message": "Settings saved" } }), html(&section)?))
}

// --- Blocked numbers ------------------------------------------------------------------

/// One entry of the domain's block list, as the table shows it.
struct BlockedRow {
    id: uuid::Uuid,
    pattern: String,
    kind: &'static str,
    note: String,
    added_by: String,
    added_on: String,
}

#[derive(Template)]
#[template(path = "settings_blocked.html")]
struct BlockedSection {
    rows: Vec<BlockedRow>,
    next_cursor: Option<String>,
    /// The add form's values (kept when refused) and messages by field: `value`, `note`.
    kind: String,
    value: String,
    note: String,
    errors: BTreeMap<&'static str, String>,
}

impl BlockedSection {
    async fn load(state: &AppState, viewer: &Viewer, cursor: Option<&str>) -> PortalResult<BlockedSection> {
        let page = state.app.list_blocked_numbers(&viewer.caller, &viewer.domain_name(), None, cursor).await?;
        let rows = page
            .items
            .into_iter()
            .map(|entry| BlockedRow {
                id: entry.id,
                kind: if entry.kind == BlockKind::Prefix { "Prefix" } else { "Number" },
                pattern: entry.pattern,
                note: entry.note,
                added_by: entry.created_by,
                added_on: entry.created_at.format("%Y-%m-%d").to_string(),
            })
            .collect();
        Ok(BlockedSection {
            rows,
            next_cursor: page.next_cursor,
            kind: "number".into(),
            value: String::new(),
            note: String::new(),
            errors: BTreeMap::new(),
        })
    }
}

#[derive(Debug, Deserialize)]
struct BlockedPage {
    cursor: Option<String>,
}

async fn show_blocked(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(page): Query<BlockedPage>,
) -> PortalResult<Response> {
    check(&viewer)?;
    html(&BlockedSection::load(&state, &viewer, page.cursor.as_deref()).await?)
}

#[derive(Debug, Deserialize)]
struct BlockForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    value: String,
    #[serde(default)]
    note: String,
}

async fn block(State(state): State<AppState>, viewer: Viewer, Form(form): Form<BlockForm>) -> PortalResult<Response> {
    check(&viewer)?;
    let value = Some(form.value.clone());
    let input = match form.kind.as_str() {
        "prefix" => BlockedNumberInput { prefix: value, note: form.note.clone(), ..Default::default() },
        _ => BlockedNumberInput { number: value, note: form.note.clone(), ..Default::default() },
    };
    let refusal = match state.app.add_blocked_number(&viewer.caller, &viewer.domain_name(), input).await {
        Ok(entry) => {
            let section = BlockedSection::load(&state, &viewer, None).await?;
            let toast = json!({ "toast": { "message": format!("{} is blocked", entry.pattern) } });
            return Ok(triggers(toast, html(&section)?));
        }
        Err(AppError::Invalid(invalid)) => {
            let field = |name: &str| if name == "note" { "note" } else { "value" };
            invalid.0.into_iter().map(|e| (field(&e.field), capitalize(&e.message))).collect()
        }
        Err(AppError::Conflict(message)) => BTreeMap::from([("value", capitalize(&message))]),
        Err(other) => return Err(other.into()),
    };
    let mut section = BlockedSection::load(&state, &viewer, None).await?;
    (section.kind, section.value, section.note, section.errors) = (form.kind, form.value, form.note, refusal);
    Ok((StatusCode::UNPROCESSABLE_ENTITY, html(&section)?).into_response())
}

async fn unblock(
    State(state): State<AppState>,
    viewer: Viewer,
    axum::extract::Path(id): axum::extract::Path<uuid::Uuid>,
) -> PortalResult<Response> {
    check(&viewer)?;
    let removed = state.app.delete_blocked_number(&viewer.caller, &viewer.domain_name(), id).await?;
    let section = BlockedSection::load(&state, &viewer, None).await?;
    let toast = json!({ "toast": { "message": format!("{} is no longer blocked", removed.pattern) } });
    Ok(triggers(toast, html(&section)?))
}
