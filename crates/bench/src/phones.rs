//! The desk-phone part of the benchmark (`--phones`): XML phonebooks, caller-ID lookup and
//! LDAP searches on the same seeded domain, timed like the directory's cases so that each
//! compares with `/healthz` of the same run. The LDAP searches are also timed on OpenLDAP
//! `slapd` loaded with the same entries, when it is installed (see [`slapd`]).

use std::net::SocketAddr;
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
use crate::measure::{self, Case, Stats};
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

/// The phones' cases of a run, set up before the timing starts: a device credential bound
/// to the viewer and the URLs it reads, and bound LDAP connections to our server and to
/// a slapd loaded with the same entries.
pub struct Phones {
    pub notes: Vec<String>,
    /// A client as a phone is: no session.
    phone: Client,
    yealink: Url,
    etag: String,
    searches: Vec<Url>,
    cisco: Url,
    text_lookups: Vec<Url>,
    api_lookups: Vec<Url>,
    ldap: Ldap,
}

/// The LDAP searches a Yealink phone sends, and where they are sent.
struct Ldap {
    base: String,
    names: Vec<LdapFilter>,
    numbers: Vec<LdapFilter>,
    ours: Mutex<LdapClient>,
    /// The reference server, kept running until the timing ends (when it is installed).
    slapd: Option<(Slapd, Mutex<LdapClient>)>,
}

impl Phones {
    /// Creates the device credential and checks every case answers what it should.
    pub async fn prepare(
        app: &App,
        endpoints: &Endpoints<'_>,
        seeded: &Seeded,
        client: &Client,
        terms: &Terms<'_>,
    ) -> Result<Phones> {
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
        let phone = Client::builder().tcp_nodelay(true).pool_max_idle_per_host(1).build()?;
        let book = endpoints.base.join(&format!("phonebook/{}/", device.token))?;
        let yealink = book.join("yealink.xml")?;
        let etag = etag_of(&phone, &yealink).await?;
        let lookups = lookup_numbers(seeded);
        let text_lookup = book.join("lookup")?;
        let api_lookup = endpoints.base.join(&format!("api/v1/domains/{}/lookup", seeded.domain))?;
        let api_lookups: Vec<Url> = lookups
            .iter()
            .map(|number| with(&api_lookup, &[("number", number), ("user", &seeded.viewer_extension)]))
            .collect();
        notes.push(format!("caller-ID numbers: {}", describe_lookups(client, &api_lookups, &lookups).await?));
        let (ldap_notes, ldap) =
            Ldap::prepare(app, endpoints.ldap, seeded, &device.bind_dn, &device.password, terms).await?;
        notes.extend(ldap_notes);
        Ok(Phones {
            notes,
            searches: terms.names.iter().map(|(term, _)| with(&yealink, &[("q", term)])).collect(),
            cisco: book.join("cisco.xml")?,
            text_lookups: lookups.iter().map(|number| with(&text_lookup, &[("number", number)])).collect(),
            phone,
            yealink,
            etag,
            api_lookups,
            ldap,
        })
    }

    /// The cases to time; `client` is logged in as the viewer (for the API lookup).
    pub fn cases<'a>(&'a self, client: &'a Client) -> Vec<Case<'a>> {
        let phone = &self.phone;
        let etag = self.etag.as_str();
        let not_modified =
            move |url: Url| measure::expect(phone.get(url).header(IF_NONE_MATCH, etag), StatusCode::NOT_MODIFIED);
        let mut cases = vec![
            Case::gets("phones: Yealink XML, full (≤500)", phone, vec![self.yealink.clone()]),
            Case::gets(
                format!("phones: Yealink XML, q= name ({} terms)", self.searches.len()),
                phone,
                self.searches.clone(),
            ),
            Case::gets("phones: Cisco XML, first page", phone, vec![self.cisco.clone()]),
            Case::gets(
                format!("{LOOKUP_CASE_PREFIX}: phonebook text ({} numbers)", self.text_lookups.len()),
                phone,
                self.text_lookups.clone(),
            ),
            Case::each(NOT_MODIFIED_CASE, vec![self.yealink.clone()], not_modified),
            Case::gets(
                format!("{LOOKUP_CASE_PREFIX}: API, number+user ({} numbers)", self.api_lookups.len()),
                client,
                self.api_lookups.clone(),
            ),
        ];
        cases.extend(self.ldap.cases(LDAP_CASE, &self.ldap.ours));
        if let Some((_, slapd)) = &self.ldap.slapd {
            cases.extend(self.ldap.cases(SLAPD_CASE, slapd));
        }
        cases
    }
}

impl Ldap {
    /// Binds to our server and checks the searches find entries; then loads slapd with
    /// the same entries (when it is installed) and binds to it.
    async fn prepare(
        app: &App,
        address: SocketAddr,
        seeded: &Seeded,
        bind_dn: &str,
        password: &str,
        terms: &Terms<'_>,
    ) -> Result<(Vec<String>, Ldap)> {
        let suffix = seeded.domain.split('.').map(|label| format!("dc={label}")).collect::<Vec<_>>().join(",");
        let base = format!("ou=contacts,{suffix}");
        let names: Vec<_> = terms.names.iter().map(|(term, _)| ldap_client::name_filter(term)).collect();
        let numbers: Vec<_> = terms.numbers.iter().map(|(digits, _)| ldap_client::number_filter(digits)).collect();
        let mut ours = LdapClient::bind(address, bind_dn, password).await?;
        let found = found_per_search(&mut ours, &base, &names, &numbers).await?;
        if found.iter().all(|count| *count == 0) {
            bail!("no LDAP search under {base} found anything: the benchmark would time empty answers");
        }
        let mut notes = vec![format!("LDAP entries per search (sizeLimit {LDAP_SIZE_LIMIT}): {}", joined(&found))];
        let mut ldap = Ldap { base, names, numbers, ours: Mutex::new(ours), slapd: None };
        if !std::path::Path::new(slapd::SLAPD).exists() {
            notes.push(format!("OpenLDAP slapd: not measured ({} is not installed)", slapd::SLAPD));
            return Ok((notes, ldap));
        }
        let directory = Directory { suffix: &suffix, base: &ldap.base, bind_dn, password };
        match ldap.start_slapd(app, &directory).await {
            Ok((slapd_notes, slapd)) => {
                notes.extend(slapd_notes);
                ldap.slapd = Some(slapd);
            }
            Err(error) => notes.push(format!("OpenLDAP slapd: not measured ({error:#})")),
        }
        Ok((notes, ldap))
    }

    /// Loads a throwaway slapd with every entry our server publishes for the domain and
    /// binds to it.
    async fn start_slapd(
        &self,
        app: &App,
        directory: &Directory<'_>,
    ) -> Result<(Vec<String>, (Slapd, Mutex<LdapClient>))> {
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
        let found = found_per_search(&mut client, directory.base, &self.names, &self.numbers).await?;
        notes.push(format!("slapd entries per search (sizeLimit {LDAP_SIZE_LIMIT}): {}", joined(&found)));
        Ok((notes, (slapd, Mutex::new(client))))
    }

    /// The name searches and the number searches on one bound connection.
    fn cases<'a>(&'a self, server: &str, client: &'a Mutex<LdapClient>) -> [Case<'a>; 2] {
        let base = self.base.as_str();
        let search = move |filter| async move {
            client.lock().await.search(base, filter, LDAP_SIZE_LIMIT, LDAP_ATTRIBUTES).await.map(drop)
        };
        [
            Case::each(format!("{server}: name search ({} terms)", self.names.len()), self.names.clone(), search),
            Case::each(format!("{server}: number search ({} terms)", self.numbers.len()), self.numbers.clone(), search),
        ]
    }
}

/// How many entries each search finds.
async fn found_per_search(
    client: &mut LdapClient,
    base: &str,
    names: &[LdapFilter],
    numbers: &[LdapFilter],
) -> Result<Vec<usize>> {
    let mut found = Vec::new();
    for filter in names.iter().chain(numbers) {
        found.push(client.search(base, filter.clone(), LDAP_SIZE_LIMIT, LDAP_ATTRIBUTES).await?);
    }
    Ok(found)
}

fn joined(counts: &[usize]) -> String {
    counts.iter().map(usize::to_string).collect::<Vec<_>>().join(", ")
}

/// The benchmarked domain as LDAP sees it, and the device credential that reads it.
struct Directory<'a> {
    suffix: &'a str,
    base: &'a str,
    bind_dn: &'a str,
    password: &'a str,
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
pub(crate) fn lookup_numbers(seeded: &Seeded) -> Vec<String> {
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
