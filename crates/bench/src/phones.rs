//! The desk-phone part of the benchmark (`--phones`): XML phonebooks, caller-ID lookup and
//! LDAP searches on the same seeded domain, timed like the directory's cases so that each
//! compares with `/healthz` of the same run. The LDAP searches are also timed on OpenLDAP
//! `slapd` loaded with the same entries, when it is installed (see [`slapd`]).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use ldap3_proto::proto::{LdapFilter, LdapSearchResultEntry};
use reqwest::header::{ETAG, IF_NONE_MATCH};
use reqwest::{Client, StatusCode, Url};
use switchboard_app::devices::DeviceInput;
use switchboard_app::{App, Caller};
use switchboard_ldap::LdapConfig;
use tokio::sync::Mutex;

use crate::ldap_client::{self, LdapClient};
use crate::measure::{self, Case, Limits, Stats};
use crate::seed::Seeded;
use crate::slapd::{self, Slapd};

/// What the issue asks of the phones' requests, as a share of the `/healthz` rate.
const TARGET_NOT_MODIFIED: f64 = 0.50;
const TARGET_LOOKUP: f64 = 0.30;

const LDAP_CASE: &str = "LDAP";
const SLAPD_CASE: &str = "slapd";
const NOT_MODIFIED_CASE: &str = "phones: Yealink XML, 304";
const LOOKUP_CASE_PREFIX: &str = "lookup";

/// The size limit a phone asks of an LDAP search.
const LDAP_SIZE_LIMIT: i32 = 50;
/// The attributes a Yealink phone asks for.
const LDAP_ATTRIBUTES: &[&str] = &["cn", "telephoneNumber", "mobile", "homePhone"];

/// Where the phones reach the served domain.
pub struct Endpoints<'a> {
    pub base: &'a Url,
    pub ldap: SocketAddr,
}

/// The search terms of the directory's cases, reused so that the figures compare.
pub struct Terms<'a> {
    pub names: &'a [(String, usize)],
    pub numbers: &'a [(String, usize)],
}

/// Creates a device credential bound to the viewer and times the phones' requests.
/// `client` is logged in as the viewer (for the API lookup).
pub async fn measure(
    app: &App,
    endpoints: &Endpoints<'_>,
    seeded: &Seeded,
    client: &Client,
    terms: &Terms<'_>,
    limits: &Limits,
) -> Result<(Vec<String>, Vec<Stats>)> {
    let input = DeviceInput {
        name: "Benchmark desk phone".into(),
        user: Some(seeded.viewer_extension.clone()),
        allowed_networks: Vec::new(),
    };
    let device = app.create_device(&Caller::System, &seeded.domain, input).await.context("creating a device")?;
    let mut notes = Vec::new();
    // Phones meet a warm server: the in-memory copy of the book is built before timing.
    let reader = app.device_by_bind(&device.bind_dn, &device.password, None).await?;
    let started = Instant::now();
    if app.prepare_book_index(&reader).await? {
        notes.push(format!("in-memory phone book built in {:.2} s", started.elapsed().as_secs_f64()));
    } else {
        notes.push("in-memory phone books: off".to_string());
    }
    // Phones send no session: a client without the viewer's headers.
    let phone = Client::builder().tcp_nodelay(true).pool_max_idle_per_host(1).build()?;
    let book = endpoints.base.join(&format!("phonebook/{}/", device.token))?;
    let mut stats = Vec::new();

    let yealink = book.join("yealink.xml")?;
    let etag = etag_of(&phone, &yealink).await?;
    let searches = terms.names.iter().map(|(term, _)| with(&yealink, &[("q", term)])).collect();
    let lookups = lookup_numbers(seeded);
    let text_lookup = book.join("lookup")?;
    let api_lookup = endpoints.base.join(&format!("api/v1/domains/{}/lookup", seeded.domain))?;
    let api_lookups: Vec<Url> = lookups
        .iter()
        .map(|number| with(&api_lookup, &[("number", number), ("user", &seeded.viewer_extension)]))
        .collect();
    notes.push(format!("caller-ID numbers: {}", describe_lookups(client, &api_lookups, &lookups).await?));
    let cases = [
        Case { name: "phones: Yealink XML, full (≤500)".into(), urls: vec![yealink.clone()] },
        Case { name: format!("phones: Yealink XML, q= name ({} terms)", terms.names.len()), urls: searches },
        Case { name: "phones: Cisco XML, first page".into(), urls: vec![book.join("cisco.xml")?] },
        Case {
            name: format!("{LOOKUP_CASE_PREFIX}: phonebook text ({} numbers)", lookups.len()),
            urls: lookups.iter().map(|number| with(&text_lookup, &[("number", number)])).collect(),
        },
    ];
    for case in &cases {
        stats.push(report(measure::run(&phone, case, limits).await?));
    }
    let not_modified = measure::time(NOT_MODIFIED_CASE, std::slice::from_ref(&yealink), limits, |url| {
        measure::expect(phone.get(url).header(IF_NONE_MATCH, &etag), StatusCode::NOT_MODIFIED)
    });
    stats.push(report(not_modified.await?));
    let api =
        Case { name: format!("{LOOKUP_CASE_PREFIX}: API, number+user ({} numbers)", lookups.len()), urls: api_lookups };
    stats.push(report(measure::run(client, &api, limits).await?));

    let (ldap_notes, ldap_stats) =
        measure_ldap(app, endpoints.ldap, seeded, &device.bind_dn, &device.password, terms, limits).await?;
    notes.extend(ldap_notes);
    stats.extend(ldap_stats.into_iter().map(report));
    Ok((notes, stats))
}

/// Binds once and times name and number searches as a Yealink phone sends them.
async fn measure_ldap(
    app: &App,
    address: SocketAddr,
    seeded: &Seeded,
    bind_dn: &str,
    password: &str,
    terms: &Terms<'_>,
    limits: &Limits,
) -> Result<(Vec<String>, Vec<Stats>)> {
    let suffix = seeded.domain.split('.').map(|label| format!("dc={label}")).collect::<Vec<_>>().join(",");
    let base = format!("ou=contacts,{suffix}");
    let mut client = LdapClient::bind(address, bind_dn, password).await?;
    let names: Vec<_> = terms.names.iter().map(|(term, _)| ldap_client::name_filter(term)).collect();
    let numbers: Vec<_> = terms.numbers.iter().map(|(digits, _)| ldap_client::number_filter(digits)).collect();
    let mut found = Vec::new();
    for filter in names.iter().chain(&numbers) {
        found.push(client.search(&base, filter.clone(), LDAP_SIZE_LIMIT, LDAP_ATTRIBUTES).await?.to_string());
    }
    if found.iter().all(|count| count == "0") {
        bail!("no LDAP search under {base} found anything: the benchmark would time empty answers");
    }
    let mut notes = vec![format!("LDAP entries per search (sizeLimit {LDAP_SIZE_LIMIT}): {}", found.join(", "))];
    let mut stats = time_searches(LDAP_CASE, client, &base, &names, &numbers, limits).await?;
    if !std::path::Path::new(slapd::SLAPD).exists() {
        notes.push(format!("OpenLDAP slapd: not measured ({} is not installed)", slapd::SLAPD));
        return Ok((notes, stats));
    }
    let directory = Directory { suffix: &suffix, base: &base, bind_dn, password };
    match measure_slapd(app, &directory, &names, &numbers, limits).await {
        Ok((slapd_notes, slapd_stats)) => {
            notes.extend(slapd_notes);
            stats.extend(slapd_stats);
        }
        Err(error) => notes.push(format!("OpenLDAP slapd: not measured ({error:#})")),
    }
    Ok((notes, stats))
}

/// Times the name searches, then the number searches, on one bound connection.
async fn time_searches(
    server: &str,
    client: LdapClient,
    base: &str,
    names: &[LdapFilter],
    numbers: &[LdapFilter],
    limits: &Limits,
) -> Result<Vec<Stats>> {
    let client = Arc::new(Mutex::new(client));
    let search = |filter| {
        let (client, base) = (client.clone(), base.to_string());
        async move { client.lock().await.search(&base, filter, LDAP_SIZE_LIMIT, LDAP_ATTRIBUTES).await.map(drop) }
    };
    let name_case = format!("{server}: name search ({} terms)", names.len());
    let number_case = format!("{server}: number search ({} terms)", numbers.len());
    Ok(vec![
        measure::time(&name_case, names, limits, search).await?,
        measure::time(&number_case, numbers, limits, search).await?,
    ])
}

/// The benchmarked domain as LDAP sees it, and the device credential that reads it.
struct Directory<'a> {
    suffix: &'a str,
    base: &'a str,
    bind_dn: &'a str,
    password: &'a str,
}

/// Loads a throwaway slapd with every entry our server publishes for the domain and times
/// the same searches on it.
async fn measure_slapd(
    app: &App,
    directory: &Directory<'_>,
    names: &[LdapFilter],
    numbers: &[LdapFilter],
    limits: &Limits,
) -> Result<(Vec<String>, Vec<Stats>)> {
    let started = Instant::now();
    let entries = published_entries(app, directory).await?;
    let count = entries.len();
    let slapd = Slapd::start(directory.suffix).await?;
    let loaded = slapd.load(directory.suffix, directory.base, entries).await?;
    let mut notes = vec![format!(
        "OpenLDAP slapd (mdb, indexes eq,sub on cn sn telephoneNumber mobile homePhone, bound as its root DN): \
         took {loaded} of {count} entries in {:.1} s",
        started.elapsed().as_secs_f64()
    )];
    let mut client = slapd.bind_root().await?;
    let mut found = Vec::new();
    for filter in names.iter().chain(numbers) {
        found.push(client.search(directory.base, filter.clone(), LDAP_SIZE_LIMIT, LDAP_ATTRIBUTES).await?.to_string());
    }
    notes.push(format!("slapd entries per search (sizeLimit {LDAP_SIZE_LIMIT}): {}", found.join(", ")));
    let stats = time_searches(SLAPD_CASE, client, directory.base, names, numbers, limits).await?;
    Ok((notes, stats))
}

/// Every entry our LDAP server publishes for the domain, read through a listener without
/// the production limits on entries per search.
async fn published_entries(app: &App, directory: &Directory<'_>) -> Result<Vec<LdapSearchResultEntry>> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let unlimited = LdapConfig { max_entries: usize::MAX, max_examined: usize::MAX, ..LdapConfig::default() };
    let server = tokio::spawn(switchboard_ldap::serve(listener, app.clone(), unlimited));
    let entries = async {
        let mut client = LdapClient::bind(address, directory.bind_dn, directory.password).await?;
        client.entries(directory.base).await
    }
    .await;
    server.abort();
    entries
}

/// The targets for the phones, as verdict lines (`health` is the `/healthz` rate).
pub fn verdicts(backend: &str, stats: &[Stats], health: f64) -> Vec<String> {
    let mut lines = Vec::new();
    let mut verdict = |case: &Stats, target: f64| {
        let ratio = case.per_second / health;
        let status = if ratio >= target { "OK" } else { "MISSED" };
        lines.push(format!("{backend} {} = {ratio:.3} of /healthz (target ≥ {target:.2}): {status}", case.name));
    };
    for case in stats {
        if case.name == NOT_MODIFIED_CASE {
            verdict(case, TARGET_NOT_MODIFIED);
        } else if case.name.starts_with(LOOKUP_CASE_PREFIX) {
            verdict(case, TARGET_LOOKUP);
        }
    }
    for ours in stats.iter().filter(|s| s.name.starts_with(LDAP_CASE)) {
        let theirs = stats.iter().find(|s| s.name.strip_prefix(SLAPD_CASE) == ours.name.strip_prefix(LDAP_CASE));
        match theirs {
            Some(theirs) => {
                let ratio = ours.per_second / theirs.per_second;
                let status = if ratio >= 1.0 { "OK" } else { "MISSED" };
                lines.push(format!("{backend} {} = {ratio:.2}× slapd's rate (target ≥ 1): {status}", ours.name));
            }
            None => lines.push(format!("{backend} {}: not compared with slapd (not measured)", ours.name)),
        }
    }
    lines
}

/// Fetches the full book once and returns its ETag, to ask for a 304 with.
async fn etag_of(client: &Client, url: &Url) -> Result<String> {
    let response = client.get(url.clone()).send().await.with_context(|| format!("GET {url}"))?;
    if response.status() != StatusCode::OK {
        bail!("GET {url} answered {}", response.status());
    }
    let etag = response.headers().get(ETAG).context("the phonebook has no ETag")?.to_str()?.to_string();
    let body = response.text().await?;
    if !body.contains("<DirectoryEntry>") {
        bail!("the Yealink phonebook has no entries: {}", body.chars().take(300).collect::<String>());
    }
    Ok(etag)
}

/// Eight numbers of shared contacts spread over the seeded data, as they were typed.
fn lookup_numbers(seeded: &Seeded) -> Vec<String> {
    let step = (seeded.numbers.len() / 8).max(1);
    seeded.numbers.iter().skip(step / 2).step_by(step).take(8).cloned().collect()
}

/// How many of the looked-up numbers show a name (a trashed contact's or an ambiguous one does not).
async fn describe_lookups(client: &Client, urls: &[Url], numbers: &[String]) -> Result<String> {
    let mut named = 0;
    for url in urls {
        if measure::get_json(client, url).await?["name"].is_string() {
            named += 1;
        }
    }
    Ok(format!("{} ({named} of {} show a name)", numbers.join(", "), numbers.len()))
}

fn with(url: &Url, params: &[(&str, &str)]) -> Url {
    let mut url = url.clone();
    url.query_pairs_mut().extend_pairs(params);
    url
}

fn report(stats: Stats) -> Stats {
    eprintln!(
        "   {:<40} median {:>7.2} ms  p99 {:>7.2} ms  {:>8.0} req/s",
        stats.name,
        measure::millis(stats.median),
        measure::millis(stats.p99),
        stats.per_second
    );
    stats
}
