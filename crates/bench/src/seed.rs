//! Seeds the benchmark's domains through the store's bulk `import_rows`, with rows
//! exactly as normal creation writes them (checked against rows the app creates).

use std::collections::HashSet;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use indicatif::{ProgressBar, ProgressStyle};
use rand::Rng;
use serde_json::{Map, Value, json};
use switchboard_app::{App, BookRef, Caller, DomainInput, ListParams, UserInput};
use switchboard_core::ContactFields;
use switchboard_core::phone::Country;
use switchboard_core::text;
use uuid::{NoContext, Timestamp, Uuid};

use crate::data::{self, Generator, RARE_LAST_NAME};

type Row = Map<String, Value>;

pub const PASSWORD: &str = "bench-password-1";
/// Rows per `import_rows` call: one transaction each, and a step of the progress bar.
const BATCH: usize = 5_000;

/// The shape of the data set.
#[derive(Debug, Clone)]
pub struct Plan {
    pub domain: String,
    pub contacts: usize,
    pub users: usize,
    /// Other tenants, with their contact and user counts: their rows share the
    /// search indexes, so every query must filter them out.
    pub others: Vec<(String, usize, usize)>,
}

impl Plan {
    pub fn new(contacts: usize, users: usize) -> Plan {
        Plan {
            domain: "big.bench.example".into(),
            contacts,
            users,
            others: vec![("side-a.bench.example".into(), 3_000, 40), ("side-b.bench.example".into(), 5_000, 60)],
        }
    }
}

/// What a search sees in the big domain: the viewer's directory, one folded text per entry.
pub struct Seeded {
    pub domain: String,
    /// The basic user the benchmark logs in as.
    pub viewer_extension: String,
    /// `search_text` of every entry in the viewer's directory (shared, coworkers, own).
    pub directory_texts: Vec<String>,
    /// Typed numbers of shared contacts of the big domain, to search by digits.
    pub numbers: Vec<String>,
    pub rows: usize,
    pub took: Duration,
}

/// One domain's generated content.
struct Tenant {
    users: Vec<Row>,
    contacts: Vec<Row>,
    favorites: Vec<Row>,
    presence: Vec<Row>,
}

pub async fn seed(app: &App, plan: &Plan, seed: u64) -> Result<Seeded> {
    let started = Instant::now();
    let mut generator = Generator::new(seed);
    let hash = switchboard_app::auth::hash_password(PASSWORD);
    verify_rows_match_normal_creation(app, &mut generator).await?;

    let mut tenants = Vec::new();
    let mut seeded = None;
    let domains = std::iter::once((plan.domain.clone(), plan.contacts, plan.users)).chain(plan.others.iter().cloned());
    for (i, (name, contacts, users)) in domains.enumerate() {
        let domain_id = create_domain(app, &name).await?;
        let (tenant, directory) = generate_tenant(&mut generator, domain_id, &name, contacts, users, &hash)?;
        if i == 0 {
            seeded = Some(directory);
        }
        tenants.push(tenant);
    }
    let total: usize = tenants
        .iter()
        .map(|t| 2 * t.users.len() + 2 * t.contacts.len() + 2 * t.favorites.len() + t.presence.len())
        .sum();
    let progress = ProgressBar::new(total as u64);
    progress.set_style(
        ProgressStyle::with_template(
            "seeding {msg:>9} [{bar:40}] {human_pos}/{human_len} rows ({per_sec}, {eta} left)",
        )?
        .progress_chars("=> "),
    );
    let store = app.store();
    for table in ["users", "contacts", "favorites", "presence", "directory_changes"] {
        progress.set_message(table);
        for tenant in &tenants {
            let feed;
            let rows = match table {
                "users" => &tenant.users,
                "contacts" => &tenant.contacts,
                "favorites" => &tenant.favorites,
                "presence" => &tenant.presence,
                _ => {
                    feed = feed_rows(tenant);
                    &feed
                }
            };
            for batch in rows.chunks(BATCH) {
                store.import_rows(table, batch).await.with_context(|| format!("importing {table}"))?;
                progress.inc(batch.len() as u64);
            }
        }
    }
    progress.finish_and_clear();
    let mut seeded = seeded.expect("the big domain is generated first");
    seeded.rows = total;
    seeded.took = started.elapsed();
    Ok(seeded)
}

/// The directory feed's rows of what a tenant holds, as the migration that made the feed
/// writes them for what existed: every user, live contact and star, as change number 0.
fn feed_rows(tenant: &Tenant) -> Vec<Row> {
    let nil = Uuid::nil().to_string();
    let row = |domain: &Value, entry: &Value, audience: &Value, at: &Value| {
        object(json!({ "domain_id": domain, "entry_id": entry, "audience_id": audience, "seq": 0, "changed_at": at }))
    };
    let mut rows = Vec::new();
    for user in &tenant.users {
        rows.push(row(&user["domain_id"], &user["id"], &json!(nil), &user["updated_at"]));
    }
    for contact in tenant.contacts.iter().filter(|c| c["deleted_at"].is_null()) {
        let audience = if contact["owner_user_id"].is_null() { json!(nil) } else { contact["owner_user_id"].clone() };
        rows.push(row(&contact["domain_id"], &contact["id"], &audience, &contact["updated_at"]));
    }
    let domain = tenant.users.first().map(|user| user["domain_id"].clone()).unwrap_or_default();
    // A star on one's own contact is that contact's row already.
    let key = |entry: &Value, audience: &Value| format!("{entry}/{audience}");
    let owned: HashSet<String> = rows.iter().map(|r| key(&r["entry_id"], &r["audience_id"])).collect();
    let stars: Vec<Row> = tenant
        .favorites
        .iter()
        .filter(|star| !owned.contains(&key(&star["entry_id"], &star["user_id"])))
        .map(|star| row(&domain, &star["entry_id"], &star["user_id"], &json!(0)))
        .collect();
    rows.extend(stars);
    rows
}

pub async fn create_domain(app: &App, name: &str) -> Result<Uuid> {
    let input = DomainInput {
        name: name.into(),
        description: "Benchmark tenant".into(),
        reseller: None,
        default_country: Some("US".into()),
    };
    Ok(app.create_domain(&Caller::System, input).await.with_context(|| format!("creating {name}"))?.domain.id)
}

/// A time in the last three years, as a UUIDv7 of that time and its microseconds.
fn past_id(rng: &mut impl Rng) -> (Uuid, i64) {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("after 1970");
    let ago = rng.random_range(3_600_000_000u64..3 * 365 * 24 * 3_600_000_000);
    let micros = now.as_micros() as u64 - ago;
    let id = Uuid::new_v7(Timestamp::from_unix(NoContext, micros / 1_000_000, (micros % 1_000_000) as u32 * 1_000));
    (id, micros as i64)
}

fn generate_tenant(
    generator: &mut Generator,
    domain_id: Uuid,
    domain: &str,
    contacts: usize,
    users: usize,
    hash: &str,
) -> Result<(Tenant, Seeded)> {
    let mut tenant = Tenant { users: Vec::new(), contacts: Vec::new(), favorites: Vec::new(), presence: Vec::new() };
    let mut directory_texts = Vec::new();
    let mut numbers = Vec::new();

    // Users: extensions 1000…, the viewer (a basic user, listed) in the middle.
    let viewer_index = users / 2;
    let mut user_ids = Vec::new();
    let mut viewer_id = Uuid::nil();
    for i in 0..users {
        let name = generator.name();
        let extension = (1000 + i).to_string();
        let rng = generator.rng();
        let scope = match i {
            _ if i == viewer_index => "basic-user",
            0 => "office-manager",
            _ if i % 97 == 1 => "site-manager",
            _ if i % 13 == 2 => "call-center-agent",
            _ if i % 41 == 3 => "call-center-supervisor",
            _ if i % 50 == 4 => "simple-user",
            _ => "basic-user",
        };
        let listed = i == viewer_index || !rng.random_bool(0.03);
        let department = data::DEPARTMENTS[rng.random_range(0..data::DEPARTMENTS.len())];
        let site = data::SITES[rng.random_range(0..data::SITES.len())];
        let email = format!("{}.{}{}@{domain}", data::ascii_word(&name.first), data::ascii_word(&name.last), i);
        let input = UserInput {
            extension,
            first_name: name.first,
            last_name: name.last,
            email,
            department: department.into(),
            site: site.into(),
            scope: Some(scope.into()),
            listed: Some(listed),
            password: None,
        };
        let (id, at) = past_id(generator.rng());
        let row = user_row(id, domain_id, &input, hash, at);
        if i == viewer_index {
            viewer_id = id;
        } else if listed {
            directory_texts.push(text_of(&row));
        }
        user_ids.push(id);
        tenant.users.push(row);
        if generator.rng().random_bool(0.6) {
            let (state, chat, message) = match generator.rng().random_range(0..4) {
                0 => ("busy", false, "On a call"),
                1 => ("offline", false, ""),
                2 => ("available", false, "Working from home"),
                _ => ("available", true, ""),
            };
            // Set by hand, as people do in the portal: what is shown is what they chose.
            let row = json!({ "user_id": id.to_string(), "state": state, "chat": chat, "message": message, "updated_at": at,
                "manual_state": state, "manual_chat": chat, "chat_away": false, "connected": false, "away": false,
                "active_at": at });
            tenant.presence.push(object(row));
        }
    }

    // Shared contacts: `contacts` live ones, plus 1% in the trash; a few with a rare name.
    let mut keys = HashSet::new();
    let mut live = 0;
    while live < contacts {
        let input = if live % 40_000 == 7 {
            let name = generator.name();
            generator.contact_with(name.first, RARE_LAST_NAME.into(), String::new())
        } else {
            generator.contact()
        };
        let fields = ContactFields::parse(&input, Country::default())
            .map_err(|e| anyhow::anyhow!("generated an invalid contact {input:?}: {e:?}"))?;
        let trashed = generator.rng().random_bool(0.01);
        if !trashed && !keys.insert(fields.duplicate_key()) {
            continue;
        }
        let (id, at) = past_id(generator.rng());
        let deleted_at = trashed.then(|| at + generator.rng().random_range(1..1_000_000_000));
        let row = contact_row(id, domain_id, None, &fields, at, deleted_at);
        if !trashed {
            live += 1;
            directory_texts.push(text_of(&row));
            numbers.extend(fields.numbers().iter().map(|(_, n)| n.typed.clone()));
            if tenant.favorites.len() < 10 && generator.rng().random_bool(0.001) {
                tenant.favorites.push(favorite(viewer_id, id));
            }
        }
        tenant.contacts.push(row);
    }

    // Personal contacts: the viewer's own, and those of every 20th user.
    let owners = user_ids.iter().enumerate().filter(|(i, _)| *i == viewer_index || i % 20 == 0);
    for (i, owner) in owners.collect::<Vec<_>>() {
        let count = if i == viewer_index { 40 } else { 20 };
        let mut own_keys = HashSet::new();
        while own_keys.len() < count {
            let fields = ContactFields::parse(&generator.contact(), Country::default())
                .map_err(|e| anyhow::anyhow!("generated an invalid contact: {e:?}"))?;
            if !own_keys.insert(fields.duplicate_key()) {
                continue;
            }
            let (id, at) = past_id(generator.rng());
            let row = contact_row(id, domain_id, Some(*owner), &fields, at, None);
            if i == viewer_index {
                directory_texts.push(text_of(&row));
            }
            tenant.contacts.push(row);
        }
    }
    for coworker in user_ids.iter().step_by(user_ids.len().max(5) / 5).take(5) {
        if *coworker != viewer_id {
            tenant.favorites.push(favorite(viewer_id, *coworker));
        }
    }
    let viewer_extension = (1000 + viewer_index).to_string();
    let seeded = Seeded {
        domain: domain.to_string(),
        viewer_extension,
        directory_texts,
        numbers,
        rows: 0,
        took: Duration::ZERO,
    };
    Ok((tenant, seeded))
}

fn object(value: Value) -> Row {
    match value {
        Value::Object(map) => map,
        _ => unreachable!("json! of an object"),
    }
}

fn text_of(row: &Row) -> String {
    row["search_text"].as_str().unwrap_or_default().to_string()
}

fn favorite(user_id: Uuid, entry_id: Uuid) -> Row {
    object(json!({ "user_id": user_id.to_string(), "entry_id": entry_id.to_string() }))
}

/// A `users` row as `create_user` writes it (its `user_keys`).
fn user_row(id: Uuid, domain_id: Uuid, input: &UserInput, hash: &str, at: i64) -> Row {
    let (first, last) = (input.first_name.trim(), input.last_name.trim());
    let sort_key = text::name_sort_key(first, last, "");
    let first_last = format!("{first} {last}");
    let last_first = format!("{last} {first}");
    let search_text = text::search_text(
        [first_last.trim(), last_first.trim(), input.email.trim()],
        [input.extension.trim().to_string()],
    );
    object(json!({
        "id": id.to_string(),
        "domain_id": domain_id.to_string(),
        "extension": input.extension.trim(),
        "first_name": first,
        "last_name": last,
        "email": input.email.trim(),
        "department": input.department.trim(),
        "site": input.site.trim(),
        "scope": input.scope.as_deref().unwrap_or("basic-user"),
        "listed": input.listed.unwrap_or(true),
        // Off until the user turns it on themself.
        "own_contacts_on_phones": false,
        "password_hash": hash,
        "version": 1,
        "created_at": at,
        "updated_at": at,
        "sort_key": sort_key,
        "search_text": search_text,
    }))
}

/// A `contacts` row as `create_contact` writes it (then `delete_contact`, when trashed).
pub fn contact_row(
    id: Uuid,
    domain_id: Uuid,
    owner: Option<Uuid>,
    fields: &ContactFields,
    at: i64,
    deleted_at: Option<i64>,
) -> Row {
    let typed = |n: Option<&switchboard_core::PhoneNumber>| n.map(|n| n.typed.clone());
    let e164 = |n: Option<&switchboard_core::PhoneNumber>| n.and_then(|n| n.e164.clone());
    let key = |n: Option<&switchboard_core::PhoneNumber>| n.map(switchboard_core::PhoneNumber::lookup_key);
    object(json!({
        "id": id.to_string(),
        "domain_id": domain_id.to_string(),
        "owner_user_id": owner.map(|o| o.to_string()),
        "first_name": fields.first_name,
        "last_name": fields.last_name,
        "company": fields.company,
        "title": fields.title,
        "work_phone": typed(fields.work_phone()),
        "work_phone_e164": e164(fields.work_phone()),
        "work_phone_key": key(fields.work_phone()),
        "mobile_phone": typed(fields.mobile_phone()),
        "mobile_phone_e164": e164(fields.mobile_phone()),
        "mobile_phone_key": key(fields.mobile_phone()),
        "home_phone": typed(fields.home_phone()),
        "home_phone_e164": e164(fields.home_phone()),
        "home_phone_key": key(fields.home_phone()),
        "fax": typed(fields.fax()),
        "fax_e164": e164(fields.fax()),
        "fax_key": key(fields.fax()),
        "email": fields.email(),
        "notes": fields.notes,
        // Generated contacts are what the columns describe: the store writes `{}` for them
        // (checked against normal creation, like every column).
        "details": "{}",
        "kind": fields.kind.as_str(),
        "duplicate_key": fields.duplicate_key(),
        "sort_key": fields.sort_key(),
        "search_text": fields.search_text(),
        "version": if deleted_at.is_some() { 2 } else { 1 },
        "created_at": at,
        "updated_at": deleted_at.unwrap_or(at),
        "deleted_at": deleted_at,
    }))
}

/// Columns that differ between any two creations (ids, times, the salted hash).
const INCIDENTAL: &[&str] = &["id", "domain_id", "owner_user_id", "created_at", "updated_at", "password_hash"];

/// Creates a sample of generated users and contacts the normal way (through the app)
/// in a scratch domain, and checks the store wrote exactly the rows the seeder builds.
async fn verify_rows_match_normal_creation(app: &App, generator: &mut Generator) -> Result<()> {
    const SCRATCH: &str = "verify.bench.example";
    let system = Caller::System;
    let domain_id = create_domain(app, SCRATCH).await?;
    let book = BookRef::Shared { domain: SCRATCH.into() };
    let mut expected_contacts = Vec::new();
    for i in 0..40 {
        let input = if i == 0 {
            generator.contact_with("Zoë".into(), RARE_LAST_NAME.into(), "Crème Brûlée Foods".into())
        } else {
            generator.contact()
        };
        let contact = app.create_contact(&system, &book, input.clone()).await.context("creating a sample contact")?;
        let fields = ContactFields::parse(&input, Country::default()).map_err(|e| anyhow::anyhow!("{e:?}"))?;
        ensure!(contact.fields == fields, "the app read the contact differently: {:?} vs {fields:?}", contact.fields);
        expected_contacts.push((contact.id, contact_row(contact.id, domain_id, None, &fields, 0, None)));
    }
    let mut expected_users = Vec::new();
    for i in 0..5 {
        let name = generator.name();
        let input = UserInput {
            extension: format!("{}", 100 + i),
            first_name: format!(" {} ", name.first),
            email: format!("{}@{SCRATCH}", data::ascii_word(&name.last)),
            last_name: name.last,
            department: "Sales".into(),
            site: "Montréal".into(),
            scope: Some("basic-user".into()),
            listed: Some(true),
            password: Some(PASSWORD.into()),
        };
        let created = app.create_user(&system, SCRATCH, input.clone()).await.context("creating a sample user")?;
        expected_users.push((created.user.id, user_row(created.user.id, domain_id, &input, "", 0)));
    }
    compare_exported(app, "contacts", &expected_contacts).await?;
    compare_exported(app, "users", &expected_users).await?;
    app.delete_domain(&system, SCRATCH).await.context("removing the scratch domain")?;
    Ok(())
}

async fn compare_exported(app: &App, table: &str, expected: &[(Uuid, Row)]) -> Result<()> {
    let count = app.store().table_counts().await?.get(table).copied().unwrap_or_default();
    let exported = app.store().export_rows(table, 0, count).await?;
    for (id, want) in expected {
        let id_text = id.to_string();
        let got = exported
            .iter()
            .find(|row| row.get("id").and_then(Value::as_str) == Some(id_text.as_str()))
            .with_context(|| format!("{table} {id} was not exported"))?;
        for (column, value) in want {
            if INCIDENTAL.contains(&column.as_str()) {
                continue;
            }
            let stored = got.get(column).unwrap_or(&Value::Null);
            if stored != value {
                bail!("{table}.{column} differs from normal creation: seeder {value}, app {stored}");
            }
        }
        ensure!(got.len() == want.len(), "{table} has columns the seeder does not fill: {:?}", got.keys());
    }
    Ok(())
}

/// Reads seeded rows back through the app: contacts as they were generated, and the
/// rare name found by a normal search.
pub async fn check_readback(app: &App, seeded: &Seeded) -> Result<()> {
    let system = Caller::System;
    let book = BookRef::Shared { domain: seeded.domain.clone() };
    let rare = ListParams { q: Some(data::RARE_TERM.into()), ..Default::default() };
    let found = app.list_contacts(&system, &book, &rare).await?;
    let expected = seeded.directory_texts.iter().filter(|t| t.contains(data::RARE_TERM)).count();
    ensure!(!found.items.is_empty(), "searching `{}` found nothing", data::RARE_TERM);
    ensure!(
        found.items.len() <= expected,
        "searching `{}` found {} shared contacts, the seeded directory has {expected}",
        data::RARE_TERM,
        found.items.len()
    );
    for contact in &found.items {
        let again = app.get_contact(&system, &book, contact.id).await?;
        ensure!(again.fields.last_name == RARE_LAST_NAME, "read back {:?}", again.fields);
        ensure!(again.fields.search_text().contains(data::RARE_TERM), "search text of {:?}", again.fields);
    }
    let first_page = app.list_contacts(&system, &book, &ListParams::default()).await?;
    ensure!(first_page.items.len() == 50 && first_page.next_cursor.is_some(), "the shared book's first page is short");
    Ok(())
}
