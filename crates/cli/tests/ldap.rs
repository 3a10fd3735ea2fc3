//! The LDAP server as desk phones use it: the real `switchboard serve --ldap` on a free
//! port, searched with OpenLDAP's `ldapsearch` (and raw sockets where a client would
//! not misbehave), on SQLite and PostgreSQL.

#[macro_use]
mod support;

use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use ldap3_proto::LdapCodec;
use ldap3_proto::control::{LdapControl, ServerSortRequet};
use ldap3_proto::proto::{
    LdapBindCred, LdapBindRequest, LdapDerefAliases, LdapFilter, LdapMsg, LdapOp, LdapResult, LdapResultCode,
    LdapSearchRequest, LdapSearchResultEntry, LdapSearchScope,
};
use reqwest::StatusCode;
use serde_json::json;
use support::{Backend, Database, PASSWORD, Server, cli, seed_domain};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::codec::Framed;

on_both_backends!(
    phone_name_and_number_searches,
    attribute_lists_and_root_dse,
    size_limits,
    bind_failures,
    device_credentials,
    anonymous_only_where_the_domain_allows_it,
    other_domains_are_absent,
    controls,
    malformed_packets_close_one_connection,
    two_hundred_connections,
    job_titles,
    one_entry_by_its_dn,
    ldaps_and_start_tls,
    start_tls_needs_a_certificate,
    bad_certificates_stop_the_server,
    revocation_reaches_open_connections,
    large_filters_are_refused,
    connections_are_limited_per_address,
    user_binds_need_tls,
    list_view_values_up_to_two_to_the_63
);

const ACME: &str = "acme.example";
const BASE: &str = "ou=contacts,dc=acme,dc=example";
const SHARED: &str = "/api/v1/domains/acme.example/shared-contacts";
const BEN: &str = "200@acme.example";

/// A server with LDAP on a free port, and the domain `acme.example`.
struct Ldap {
    db: Database,
    server: Server,
    address: String,
    /// Where LDAPS listens, when the server has a certificate.
    ldaps: Option<String>,
    tls: Option<Certificate>,
}

/// A self-signed certificate for `localhost` and 127.0.0.1, and its key, in PEM files.
struct Certificate {
    dir: tempfile::TempDir,
}

impl Certificate {
    fn new() -> Certificate {
        let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .expect("a certificate");
        let dir = tempfile::tempdir().expect("a temporary directory");
        std::fs::write(dir.path().join("cert.pem"), certified.cert.pem()).expect("certificate written");
        std::fs::write(dir.path().join("key.pem"), certified.signing_key.serialize_pem()).expect("key written");
        Certificate { dir }
    }

    fn cert(&self) -> String {
        self.dir.path().join("cert.pem").display().to_string()
    }

    fn key(&self) -> String {
        self.dir.path().join("key.pem").display().to_string()
    }
}

async fn start(backend: Backend) -> Ldap {
    let db = Database::new(backend).await;
    seed_domain(
        &db,
        ACME,
        &[
            ("100", "Olivia", "office-manager", "Management"),
            ("200", "Ben", "basic-user", "Sales"),
            ("201", "Zoe", "basic-user", "Support"),
        ],
    );
    let address = free_address();
    // Most tests bind as a user on plain LDAP, as `ldapsearch -x` does; `user_binds_need_tls`
    // checks the default.
    let server = Server::start(&db, &["--ldap", &address, "--ldap-allow-plain-user-binds"]);
    Ldap { db, server, address, ldaps: None, tls: None }
}

/// The same with LDAPS on another port and StartTLS on the LDAP port.
async fn start_with_tls(backend: Backend) -> Ldap {
    let db = Database::new(backend).await;
    seed_domain(&db, ACME, &[("100", "Olivia", "office-manager", "Management"), ("200", "Ben", "basic-user", "Sales")]);
    let tls = Certificate::new();
    let (address, ldaps) = (free_address(), free_address());
    let args = ["--ldap", &address, "--ldaps", &ldaps, "--ldap-cert", &tls.cert(), "--ldap-key", &tls.key()];
    let server = Server::start(&db, &args);
    Ldap { db, server, address, ldaps: Some(ldaps), tls: Some(tls) }
}

fn free_address() -> String {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    probe.local_addr().expect("its address").to_string()
}

impl Ldap {
    async fn add_shared(&self, contact: serde_json::Value) {
        let manager = self.server.login("100@acme.example", PASSWORD).await;
        assert_eq!(manager.post(SHARED, contact).await.status, StatusCode::CREATED);
    }

    /// `ldapsearch` bound as Ben: its exit code (the LDAP result code) and the DNs and
    /// attribute lines it printed, one string per entry.
    async fn search(&self, args: &[&str]) -> Search {
        self.search_as(&["-D", BEN, "-w", PASSWORD], args).await
    }

    async fn search_as(&self, bind: &[&str], args: &[&str]) -> Search {
        self.search_at(&format!("ldap://{}", self.address), bind, args).await
    }

    /// `ldapsearch -H url`, trusting the server's test certificate (and only it) for TLS.
    async fn search_at(&self, url: &str, bind: &[&str], args: &[&str]) -> Search {
        let mut command = tokio::process::Command::new("ldapsearch");
        if let Some(tls) = &self.tls {
            command.env("LDAPTLS_CACERT", tls.cert()).env("LDAPTLS_REQCERT", "demand");
        }
        let output = command
            .stdin(std::process::Stdio::null())
            .args(["-x", "-LLL", "-o", "ldif-wrap=no", "-o", "nettimeout=20", "-H", url])
            .args(bind)
            .args(args)
            .output()
            .await
            .expect("ldapsearch runs (install ldap-utils)");
        let stdout = String::from_utf8_lossy(&output.stdout).to_string();
        let entries = stdout
            .split("\n\n")
            .map(|e| e.lines().filter(|l| !l.starts_with('#')).collect::<Vec<_>>().join("\n"))
            .filter(|e| e.starts_with("dn:"))
            .collect();
        Search {
            code: output.status.code().unwrap_or(-1),
            entries,
            stderr: String::from_utf8_lossy(&output.stderr).to_string(),
        }
    }
}

#[derive(Debug)]
struct Search {
    code: i32,
    entries: Vec<String>,
    stderr: String,
}

impl Search {
    /// The values of `attribute` in each entry, in order (one entry's values joined by `|`).
    fn values(&self, attribute: &str) -> Vec<String> {
        let prefix = format!("{attribute}: ");
        self.entries
            .iter()
            .map(|e| e.lines().filter_map(|l| l.strip_prefix(&prefix)).collect::<Vec<_>>().join("|"))
            .collect()
    }

    fn sorted(&self, attribute: &str) -> Vec<String> {
        let mut values = self.values(attribute);
        values.sort();
        values
    }

    fn attribute_names(&self) -> Vec<Vec<String>> {
        self.entries
            .iter()
            .map(|e| e.lines().skip(1).filter_map(|l| l.split_once(':').map(|(name, _)| name.to_string())).collect())
            .collect()
    }
}

async fn with_book(backend: Backend) -> Ldap {
    let ldap = start(backend).await;
    ldap.add_shared(json!({ "first_name": "Ann", "last_name": "Lee", "company": "Lee & Co", "title": "Head of Sales", "work_phone": "+1 206-555-0100", "email": "ann@lee.example" })).await;
    ldap.add_shared(json!({ "first_name": "Joanne", "last_name": "Smith", "mobile_phone": "(425) 555-0100", "home_phone": "425.555.0199" })).await;
    ldap.add_shared(json!({ "first_name": "Bob", "last_name": "Hannon", "fax": "206 555 0111" })).await;
    ldap.add_shared(json!({ "company": "Plumbing Inc", "work_phone": "2065550123" })).await;
    ldap
}

async fn phone_name_and_number_searches(backend: Backend) {
    let ldap = with_book(backend).await;

    // Yealink's name search: any name containing the letters typed.
    let names = ldap.search(&["-b", BASE, "-z", "50", "(|(cn=*ann*)(sn=*ann*))", "cn", "sn"]).await;
    assert_eq!(names.code, 0, "{names:?}");
    assert_eq!(names.sorted("cn"), ["Ann Lee", "Bob Hannon", "Joanne Smith"]);
    assert_eq!(names.sorted("sn"), ["Hannon", "Lee", "Smith"]);

    // The number however it was typed: `+1 206-555-0100` and `(425) 555-0100` both hold 5550100.
    let numbers =
        ldap.search(&["-b", BASE, "(|(telephoneNumber=*5550100*)(mobile=*5550100*)(homePhone=*5550100*))", "cn"]).await;
    assert_eq!(numbers.code, 0, "{numbers:?}");
    assert_eq!(numbers.sorted("cn"), ["Ann Lee", "Joanne Smith"]);
    let dashed = ldap.search(&["-b", BASE, "(telephoneNumber=*206-555-01*)", "cn", "telephoneNumber"]).await;
    assert_eq!(dashed.sorted("cn"), ["Ann Lee", "Plumbing Inc"]);
    assert_eq!(dashed.sorted("telephoneNumber"), ["+12065550100", "+12065550123"]);

    // Coworkers by name and extension; the entry is a full inetOrgPerson.
    let zoe = ldap.search(&["-b", BASE, "-s", "one", "(telephoneNumber=201)"]).await;
    assert_eq!(zoe.values("cn"), ["Zoe Tester"]);
    assert_eq!(zoe.values("objectClass"), ["top|person|organizationalPerson|inetOrgPerson"]);
    assert!(zoe.entries[0].starts_with("dn: uid=") && zoe.entries[0].contains(",ou=contacts,dc=acme,dc=example"));

    // Every number under its own attribute; the company stands in for a missing name.
    let joanne = ldap.search(&["-b", BASE, "(&(objectClass=inetOrgPerson)(givenName=joanne))"]).await;
    assert_eq!(joanne.values("mobile"), ["+14255550100"]);
    assert_eq!(joanne.values("homePhone"), ["+14255550199"]);
    let plumber = ldap.search(&["-b", BASE, "(o=plumbing*)", "cn", "sn", "givenName"]).await;
    assert_eq!(
        (plumber.values("cn"), plumber.values("sn"), plumber.values("givenName")),
        (vec!["Plumbing Inc".to_string()], vec!["Plumbing Inc".to_string()], vec![String::new()])
    );

    // and/or/not, presence, approximate as equality, and the subtree base.
    let fax = ldap.search(&["-b", "dc=acme,dc=example", "(&(facsimileTelephoneNumber=*)(!(sn=lee)))", "cn"]).await;
    assert_eq!(fax.values("cn"), ["Bob Hannon"]);
    let approx = ldap.search(&["-b", BASE, "(sn~=SMITH)", "cn"]).await;
    assert_eq!(approx.values("cn"), ["Joanne Smith"]);
    let nobody = ldap.search(&["-b", BASE, "(|(cn=*zzzz*)(telephoneNumber=*99999*))"]).await;
    assert_eq!((nobody.code, nobody.entries.len()), (0, 0));

    // Ben's own contacts are in his book only.
    let ben = ldap.server.login(BEN, PASSWORD).await;
    let mine = json!({ "first_name": "Mom", "mobile_phone": "206 555 0199" });
    assert_eq!(ben.post("/api/v1/domains/acme.example/users/200/contacts", mine).await.status, StatusCode::CREATED);
    assert_eq!(ldap.search(&["-b", BASE, "(cn=mom)", "cn"]).await.values("cn"), ["Mom"]);
    let zoe_sees = ldap.search_as(&["-D", "201@acme.example", "-w", PASSWORD], &["-b", BASE, "(cn=mom)"]).await;
    assert_eq!((zoe_sees.code, zoe_sees.entries.len()), (0, 0));
}

async fn attribute_lists_and_root_dse(backend: Backend) {
    let ldap = with_book(backend).await;
    let only = ldap.search(&["-b", BASE, "(sn=lee)", "cn", "mail"]).await;
    assert_eq!(only.attribute_names(), [["cn", "mail"]]);
    assert_eq!(only.values("mail"), ["ann@lee.example"]);
    let no_attributes = ldap.search(&["-b", BASE, "(sn=lee)", "1.1"]).await;
    assert_eq!(no_attributes.attribute_names(), [Vec::<String>::new()]);
    let all = ldap.search(&["-b", BASE, "(sn=lee)", "*"]).await;
    let names = &all.attribute_names()[0];
    for expected in ["objectClass", "uid", "cn", "sn", "givenName", "o", "title", "mail", "telephoneNumber"] {
        assert!(names.iter().any(|n| n == expected), "{expected} in {names:?}");
    }
    let types_only = ldap.search(&["-A", "-b", BASE, "(sn=lee)", "cn", "telephoneNumber"]).await;
    assert_eq!(types_only.entries[0].lines().skip(1).collect::<Vec<_>>(), ["cn:", "telephoneNumber:"]);

    // The container itself, in base scope and in a subtree search for everything.
    let container = ldap.search(&["-b", BASE, "-s", "base", "(objectClass=*)"]).await;
    assert_eq!(container.values("ou"), ["contacts"]);
    let subtree = ldap.search(&["-b", BASE, "(objectClass=*)", "1.1"]).await;
    assert_eq!(subtree.entries.len(), 1 + 4 + 2, "container, 4 shared contacts, 2 coworkers: {subtree:?}");

    // RootDSE: the bound domain's naming context only; none before binding.
    let root = ldap.search(&["-b", "", "-s", "base", "(objectClass=*)", "+"]).await;
    assert_eq!(root.values("namingContexts"), [BASE]);
    assert_eq!(root.values("supportedLDAPVersion"), ["3"]);
    let controls = root.values("supportedControl").join("|");
    assert!(controls.contains("1.2.840.113556.1.4.473") && controls.contains("2.16.840.1.113730.3.4.9"), "{controls}");
    let anonymous = ldap.search_as(&[], &["-b", "", "-s", "base", "(objectClass=*)", "+"]).await;
    assert_eq!(anonymous.code, 0, "{anonymous:?}");
    assert_eq!(anonymous.values("namingContexts"), [""]);
    assert_eq!(anonymous.values("supportedLDAPVersion"), ["3"]);
}

/// 120 shared contacts named `Person 000`…`Person 119`, imported from a CSV file.
fn import_people(ldap: &Ldap, count: usize) {
    let mut csv = String::from("First Name,Last Name,Business Phone\n");
    for n in 0..count {
        csv.push_str(&format!("Person,{n:03},+1 206 555 {:04}\n", 2000 + n));
    }
    let file = tempfile::NamedTempFile::new().expect("a temporary file");
    std::fs::write(file.path(), csv).expect("csv written");
    let path = file.path().to_str().expect("a path");
    cli(&ldap.db, &["import", "--domain", ACME, path], None);
}

async fn size_limits(backend: Backend) {
    let ldap = start(backend).await;
    import_people(&ldap, 120);
    let limited = ldap.search(&["-b", BASE, "-z", "50", "(|(cn=*person*)(sn=*person*))", "cn"]).await;
    assert_eq!(limited.code, LdapResultCode::SizeLimitExceeded as i32, "{}", limited.stderr);
    assert_eq!(limited.entries.len(), 50);
    let everyone = ldap.search(&["-b", BASE, "(cn=person*)", "1.1"]).await;
    assert_eq!((everyone.code, everyone.entries.len()), (0, 120));
    let walk = ldap.search(&["-b", BASE, "-z", "50", "(objectClass=*)", "1.1"]).await;
    assert_eq!((walk.code, walk.entries.len()), (LdapResultCode::SizeLimitExceeded as i32, 50));
    let exact = ldap.search(&["-b", BASE, "-z", "3", "(telephoneNumber=*555201*)", "cn"]).await;
    assert_eq!((exact.code, exact.entries.len()), (LdapResultCode::SizeLimitExceeded as i32, 3));
    let fits = ldap.search(&["-b", BASE, "-z", "10", "(telephoneNumber=*555211*)", "cn"]).await;
    assert_eq!((fits.code, fits.sorted("cn")), (0, (110..120).map(|n| format!("Person {n}")).collect::<Vec<_>>()));
}

async fn bind_failures(backend: Backend) {
    let ldap = with_book(backend).await;
    let filter = ["-b", BASE, "(cn=*ann*)"];
    let wrong = ldap.search_as(&["-D", BEN, "-w", "wrong-password"], &filter).await;
    assert_eq!((wrong.code, wrong.entries.len()), (LdapResultCode::InvalidCredentials as i32, 0));
    let unknown = ldap.search_as(&["-D", "999@acme.example", "-w", PASSWORD], &filter).await;
    assert_eq!(unknown.code, LdapResultCode::InvalidCredentials as i32);
    let nonsense = ldap.search_as(&["-D", "cn=admin,dc=acme,dc=example", "-w", PASSWORD], &filter).await;
    assert_eq!(nonsense.code, LdapResultCode::InvalidCredentials as i32);
    // RFC 4513's "unauthenticated" bind: a name without a password.
    let no_password = ldap.search_as(&["-D", BEN, "-w", ""], &filter).await;
    assert_eq!(no_password.code, LdapResultCode::UnwillingToPerform as i32);
    // Anonymous: the bind is a no-op, the search is refused and shows nothing.
    let anonymous = ldap.search_as(&[], &filter).await;
    assert_eq!((anonymous.code, anonymous.entries.len()), (LdapResultCode::InsufficentAccessRights as i32, 0));
    let right = ldap.search(&filter).await;
    assert_eq!(right.code, 0);
}

/// A device credential made by the office manager: `(id, bind DN, password)`.
async fn add_device(ldap: &Ldap, input: serde_json::Value) -> (String, String, String) {
    let manager = ldap.server.login("100@acme.example", PASSWORD).await;
    let created = manager.post("/api/v1/domains/acme.example/devices", input).await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let text = |value: &serde_json::Value| value.as_str().expect("a string").to_string();
    (text(&created.body["device"]["id"]), text(&created.body["bind_dn"]), text(&created.body["password"]))
}

async fn device_credentials(backend: Backend) {
    let ldap = with_book(backend).await;
    let (id, bind_dn, password) = add_device(&ldap, json!({ "name": "Lobby phone" })).await;
    assert!(bind_dn.ends_with(",dc=acme,dc=example"), "{bind_dn}");
    let filter = ["-b", BASE, "(|(cn=*ann*)(sn=*ann*))", "cn"];
    let lobby = ldap.search_as(&["-D", &bind_dn, "-w", &password], &filter).await;
    assert_eq!(
        (lobby.code, lobby.sorted("cn")),
        (0, vec!["Ann Lee".into(), "Bob Hannon".into(), "Joanne Smith".into()])
    );
    let wrong = ldap.search_as(&["-D", &bind_dn, "-w", "not-the-password"], &filter).await;
    assert_eq!((wrong.code, wrong.entries.len()), (LdapResultCode::InvalidCredentials as i32, 0));

    // Limited to another network: refused from here, as if the password were wrong.
    let (_, elsewhere_dn, elsewhere_password) =
        add_device(&ldap, json!({ "name": "Branch phone", "allowed_networks": ["10.0.0.0/8"] })).await;
    let outside = ldap.search_as(&["-D", &elsewhere_dn, "-w", &elsewhere_password], &filter).await;
    assert_eq!(outside.code, LdapResultCode::InvalidCredentials as i32);

    let manager = ldap.server.login("100@acme.example", PASSWORD).await;
    let revoked = manager.delete(&format!("/api/v1/domains/acme.example/devices/{id}")).await;
    assert!(revoked.status.is_success(), "{revoked:?}");
    let after = ldap.search_as(&["-D", &bind_dn, "-w", &password], &filter).await;
    assert_eq!((after.code, after.entries.len()), (LdapResultCode::InvalidCredentials as i32, 0));
}

async fn anonymous_only_where_the_domain_allows_it(backend: Backend) {
    let ldap = with_book(backend).await;
    let filter = ["-b", BASE, "(cn=*ann*)", "cn"];
    let refused = ldap.search_as(&[], &filter).await;
    assert_eq!((refused.code, refused.entries.len()), (LdapResultCode::InsufficentAccessRights as i32, 0));
    let manager = ldap.server.login("100@acme.example", PASSWORD).await;
    let allow = json!({ "LDAP_ALLOW_ANONYMOUS": "yes" });
    assert_eq!(manager.put("/api/v1/domains/acme.example/settings", allow).await.status, StatusCode::OK);
    let allowed = ldap.search_as(&[], &filter).await;
    let names = vec!["Ann Lee".to_string(), "Bob Hannon".into(), "Joanne Smith".into()];
    assert_eq!((allowed.code, allowed.sorted("cn")), (0, names));
    // Another domain's book stays closed.
    seed_domain(&ldap.db, "globex.example", &[("100", "Gus", "office-manager", "Sales")]);
    let globex = ldap.search_as(&[], &["-b", "ou=contacts,dc=globex,dc=example", "(cn=*)"]).await;
    assert_eq!(globex.code, LdapResultCode::InsufficentAccessRights as i32);
}

async fn other_domains_are_absent(backend: Backend) {
    let ldap = with_book(backend).await;
    seed_domain(&ldap.db, "globex.example", &[("100", "Gus", "office-manager", "Sales")]);
    let gus = ldap.server.login("100@globex.example", PASSWORD).await;
    let secret = json!({ "first_name": "Ann", "last_name": "Secret", "work_phone": "+1 206 555 0100" });
    assert_eq!(gus.post("/api/v1/domains/globex.example/shared-contacts", secret).await.status, StatusCode::CREATED);

    for base in ["ou=contacts,dc=globex,dc=example", "dc=globex,dc=example", "dc=example", "o=anything"] {
        let foreign = ldap.search(&["-b", base, "(cn=*ann*)"]).await;
        assert_eq!((foreign.code, foreign.entries.len()), (LdapResultCode::NoSuchObject as i32, 0), "{base}");
        assert!(!foreign.stderr.to_lowercase().contains("secret"), "{}", foreign.stderr);
    }
    let own = ldap.search(&["-b", BASE, "(cn=*ann*)", "cn"]).await;
    assert!(!own.values("cn").contains(&"Ann Secret".to_string()));
    let gus_book = ldap
        .search_as(
            &["-D", "100@globex.example", "-w", PASSWORD],
            &["-b", "ou=contacts,dc=globex,dc=example", "(cn=*ann*)", "cn"],
        )
        .await;
    assert_eq!(gus_book.values("cn"), ["Ann Secret"]);
}

async fn controls(backend: Backend) {
    let ldap = with_book(backend).await;
    let all = "(objectClass=inetOrgPerson)";
    let critical = ldap.search(&["-e", "!1.2.3.4", "-b", BASE, all]).await;
    assert_eq!((critical.code, critical.entries.len()), (LdapResultCode::UnavailableCriticalExtension as i32, 0));
    let optional = ldap.search(&["-e", "1.2.3.4", "-b", BASE, all, "sn"]).await;
    assert_eq!((optional.code, optional.entries.len()), (0, 6));

    // Server-side sort, both ways.
    let by_first_name = ldap.search(&["-E", "!sss=givenName", "-b", BASE, all, "givenName"]).await;
    assert_eq!(by_first_name.code, 0, "{by_first_name:?}");
    // Entries without the attribute sort last.
    assert_eq!(by_first_name.values("givenName"), ["Ann", "Bob", "Joanne", "Olivia", "Zoe", ""]);
    let reversed = ldap.search(&["-E", "sss=-sn", "-b", BASE, all, "sn"]).await;
    assert_eq!(reversed.values("sn"), ["Tester", "Tester", "Smith", "Plumbing Inc", "Lee", "Hannon"]);

    // A virtual list view (ldapsearch only offers it interactively): one before and
    // one after the second entry by surname, then from the first surname at least `smi`.
    let mut connection = bound_connection(&ldap.address).await;
    let by_offset = [0x30, 0x0e, 0x02, 0x01, 1, 0x02, 0x01, 1, 0xa0, 0x06, 0x02, 0x01, 2, 0x02, 0x01, 0];
    let (view, done, response) = raw_search(&mut connection, all_people(), &sorted_view(&by_offset)).await;
    assert_eq!(done.code, LdapResultCode::Success, "{done:?}");
    assert_eq!(surnames(&view), ["Hannon", "Lee", "Plumbing Inc"]);
    assert!(
        response.iter().any(|c| matches!(c, LdapControl::Unknown { oid, .. } if oid == "2.16.840.1.113730.3.4.10"))
    );
    let at_least = [0x30, 0x0b, 0x02, 0x01, 0, 0x02, 0x01, 1, 0x81, 0x03, b's', b'm', b'i'];
    let (jump, _, _) = raw_search(&mut connection, all_people(), &sorted_view(&at_least)).await;
    assert_eq!(surnames(&jump), ["Smith", "Tester"]);
    let unsorted = sorted_view(&by_offset).split_off(1);
    let (nothing, done, _) = raw_search(&mut connection, all_people(), &unsorted).await;
    assert_eq!((nothing.len(), done.code), (0, LdapResultCode::VirtualListViewError));

    // Paged results: every entry once, over pages of two.
    let paged = ldap.search(&["-E", "pr=2/noprompt", "-b", BASE, all, "cn"]).await;
    assert_eq!(paged.code, 0, "{paged:?}");
    assert_eq!(paged.sorted("cn"), ldap.search(&["-b", BASE, all, "cn"]).await.sorted("cn"));
}

async fn malformed_packets_close_one_connection(backend: Backend) {
    let ldap = with_book(backend).await;
    let garbage: [&[u8]; 3] = [
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        // A sequence claiming two gigabytes.
        &[0x30, 0x84, 0x7f, 0xff, 0xff, 0xff, 0x02, 0x01, 0x01],
        // A well-framed message whose operation is nonsense.
        &[0x30, 0x06, 0x02, 0x01, 0x01, 0x7f, 0x01, 0x00],
    ];
    let bystander = bound_connection(&ldap.address).await;
    for bytes in garbage {
        let mut socket = tokio::net::TcpStream::connect(&ldap.address).await.expect("connects");
        socket.write_all(bytes).await.expect("written");
        let mut rest = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(10), socket.read_to_end(&mut rest)).await;
        assert!(read.is_ok(), "the server closes the connection after {bytes:?}");
    }
    let after = ldap.search(&["-b", BASE, "(cn=*ann*)", "cn"]).await;
    assert_eq!(after.sorted("cn"), ["Ann Lee", "Bob Hannon", "Joanne Smith"]);
    // A connection opened before still works.
    assert_eq!(search_on(bystander, "ann").await, 3);
}

/// 200 phones at once, each binding with the office's device credential and searching.
async fn two_hundred_connections(backend: Backend) {
    let ldap = with_book(backend).await;
    let (_, bind_dn, password) = add_device(&ldap, json!({ "name": "Every phone" })).await;
    let started = Instant::now();
    let clients: Vec<_> = (0..200)
        .map(|_| {
            let (address, bind_dn, password) = (ldap.address.clone(), bind_dn.clone(), password.clone());
            tokio::spawn(async move { search_on(bind(&address, &bind_dn, &password).await, "ann").await })
        })
        .collect();
    for client in clients {
        assert_eq!(client.await.expect("the client finishes"), 3);
    }
    println!("200 concurrent connections, binds and searches in {:?}", started.elapsed());
    assert_eq!(ldap.search(&["-b", BASE, "(cn=*ann*)", "cn"]).await.entries.len(), 3);
}

type Connection = Framed<tokio::net::TcpStream, LdapCodec>;

/// A connection bound as Ben.
async fn bound_connection(address: &str) -> Connection {
    bind(address, BEN, PASSWORD).await
}

async fn bind(address: &str, dn: &str, password: &str) -> Connection {
    let socket = tokio::net::TcpStream::connect(address).await.expect("connects");
    let mut connection = Framed::new(socket, LdapCodec::default());
    let bind = LdapBindRequest { version: 3, dn: dn.into(), cred: LdapBindCred::Simple(password.into()) };
    connection.send(LdapMsg::new(1, LdapOp::BindRequest(bind))).await.expect("bind sent");
    match connection.next().await.expect("a bind response").expect("LDAP").op {
        LdapOp::BindResponse(response) => assert_eq!(response.res.code, LdapResultCode::Success),
        other => panic!("{other:?}"),
    }
    connection
}

/// Searches for names containing `text` on an open connection; the number of entries.
async fn search_on(mut connection: Connection, text: &str) -> usize {
    let filter = LdapFilter::Or(vec![
        LdapFilter::Substring("cn".into(), format!("*{text}*").as_str().into()),
        LdapFilter::Substring("sn".into(), format!("*{text}*").as_str().into()),
    ]);
    let (entries, done, _) = raw_search(&mut connection, filter, &[]).await;
    assert_eq!(done.code, LdapResultCode::Success, "{done:?}");
    entries.len()
}

fn all_people() -> LdapFilter {
    LdapFilter::Equality("objectClass".into(), "inetOrgPerson".into())
}

/// Server-side sort by surname, and a critical virtual list view request.
fn sorted_view(request: &[u8]) -> Vec<LdapControl> {
    let by_surname = ServerSortRequet { attribute_name: "sn".into(), ordering_rule: None, reverse_order: false };
    vec![
        LdapControl::ServerSort { sort_requests: vec![by_surname] },
        LdapControl::Unknown {
            oid: "2.16.840.1.113730.3.4.9".into(),
            criticality: true,
            value: Some(request.to_vec()),
        },
    ]
}

fn surnames(entries: &[LdapSearchResultEntry]) -> Vec<String> {
    let surname = |e: &LdapSearchResultEntry| {
        e.attributes.iter().find(|a| a.atype == "sn").map(|a| String::from_utf8_lossy(&a.vals[0]).to_string())
    };
    entries.iter().filter_map(surname).collect()
}

/// A subtree search under the book: its entries, result and response controls.
async fn raw_search(
    connection: &mut Connection,
    filter: LdapFilter,
    controls: &[LdapControl],
) -> (Vec<LdapSearchResultEntry>, LdapResult, Vec<LdapControl>) {
    let search = LdapSearchRequest {
        base: BASE.into(),
        scope: LdapSearchScope::Subtree,
        aliases: LdapDerefAliases::Never,
        sizelimit: 50,
        timelimit: 0,
        typesonly: false,
        filter,
        attrs: vec!["cn".into(), "sn".into(), "telephoneNumber".into()],
    };
    let request = LdapMsg::new_with_ctrls(2, LdapOp::SearchRequest(search), controls.to_vec());
    connection.send(request).await.expect("search sent");
    let mut entries = Vec::new();
    loop {
        let answer = connection.next().await.expect("an answer").expect("LDAP");
        match answer.op {
            LdapOp::SearchResultEntry(entry) => entries.push(entry),
            LdapOp::SearchResultDone(done) => return (entries, done, answer.ctrl),
            other => panic!("{other:?}"),
        }
    }
}

/// A contact's job title is its `title`, found by equality and substring alone or next
/// to a name; coworkers have none.
async fn job_titles(backend: Backend) {
    let ldap = with_book(backend).await;
    let ann = ldap.search(&["-b", BASE, "(sn=lee)", "title"]).await;
    assert_eq!(ann.values("title"), ["Head of Sales"]);
    for filter in ["(title=head of sales)", "(title=*SALES*)", "(&(|(cn=*ann*)(sn=*ann*))(title=head*))"] {
        let found = ldap.search(&["-b", BASE, filter, "cn"]).await;
        assert_eq!((found.code, found.values("cn")), (0, vec!["Ann Lee".to_string()]), "{filter}");
    }
    let nobody = ldap.search(&["-b", BASE, "(title=*buyer*)", "cn"]).await;
    assert_eq!((nobody.code, nobody.entries.len()), (0, 0));
    let with_titles = ldap.search(&["-b", BASE, "(title=*)", "cn"]).await;
    assert_eq!(with_titles.values("cn"), ["Ann Lee"]);
    let zoe = ldap.search(&["-b", BASE, "(telephoneNumber=201)", "*"]).await;
    assert_eq!(zoe.values("cn"), ["Zoe Tester"]);
    assert!(!zoe.attribute_names()[0].iter().any(|n| n == "title"), "{zoe:?}");

    // The REST directory says the same.
    let ben = ldap.server.login(BEN, PASSWORD).await;
    let directory = ben.get("/api/v1/domains/acme.example/users/200/directory?q=lee").await;
    assert_eq!(directory.status, StatusCode::OK, "{:?}", directory.body);
    assert_eq!(directory.body["items"][0]["title"], "Head of Sales");
}

impl Search {
    /// The DN of each entry.
    fn dns(&self) -> Vec<String> {
        self.entries
            .iter()
            .map(|e| e.lines().next().unwrap_or_default().trim_start_matches("dn: ").to_string())
            .collect()
    }
}

/// A base-scope search on an entry's DN reads that entry, where the reader's book holds it.
async fn one_entry_by_its_dn(backend: Backend) {
    let ldap = with_book(backend).await;
    let dn_of = async |filter: &str| {
        let found = ldap.search(&["-b", BASE, filter, "1.1"]).await;
        assert_eq!(found.entries.len(), 1, "{filter}: {found:?}");
        found.dns().remove(0)
    };
    let ann = dn_of("(sn=lee)").await;
    let zoe = dn_of("(cn=zoe*)").await;
    let read = |dn: &str| ["-s", "base", "-b", dn].map(str::to_string);
    let base_search = async |bind: &[&str], dn: &str, rest: &[&str]| {
        let mut args: Vec<String> = read(dn).to_vec();
        args.extend(rest.iter().map(|a| a.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        ldap.search_as(bind, &args).await
    };
    let as_ben = ["-D", BEN, "-w", PASSWORD];
    let as_zoe = ["-D", "201@acme.example", "-w", PASSWORD];
    let no_such_object = LdapResultCode::NoSuchObject as i32;

    let one = base_search(&as_ben, &ann, &["(objectClass=*)"]).await;
    assert_eq!((one.code, one.dns()), (0, vec![ann.clone()]), "{one:?}");
    assert_eq!((one.values("cn"), one.values("title")), (vec!["Ann Lee".into()], vec!["Head of Sales".into()]));
    assert_eq!(one.values("telephoneNumber"), ["+12065550100"]);
    // The DN matched as a DN: any case, spaces after commas.
    let loose = ann.to_uppercase().replace(',', ", ");
    let again = base_search(&as_ben, &loose, &["(objectClass=*)", "cn"]).await;
    assert_eq!((again.code, again.values("cn")), (0, vec!["Ann Lee".to_string()]), "{loose}: {again:?}");
    // The filter still applies; a subtree search of a leaf is the leaf; it has no children.
    let unmatched = base_search(&as_ben, &ann, &["(cn=bob*)"]).await;
    assert_eq!((unmatched.code, unmatched.entries.len()), (0, 0));
    let subtree = ldap.search(&["-b", &ann, "(cn=ann*)", "cn"]).await;
    assert_eq!((subtree.code, subtree.values("cn")), (0, vec!["Ann Lee".to_string()]));
    let children = ldap.search(&["-s", "one", "-b", &ann, "(objectClass=*)"]).await;
    assert_eq!((children.code, children.entries.len()), (0, 0));
    let coworker = base_search(&as_ben, &zoe, &["(objectClass=*)", "cn", "telephoneNumber"]).await;
    assert_eq!(
        (coworker.values("cn"), coworker.values("telephoneNumber")),
        (vec!["Zoe Tester".into()], vec!["201".into()])
    );

    // Ben's own contact: his book's, not Zoe's.
    let ben = ldap.server.login(BEN, PASSWORD).await;
    let mine = json!({ "first_name": "Mom", "mobile_phone": "206 555 0199" });
    assert_eq!(ben.post("/api/v1/domains/acme.example/users/200/contacts", mine).await.status, StatusCode::CREATED);
    let mom = dn_of("(cn=mom)").await;
    assert_eq!(base_search(&as_ben, &mom, &["(objectClass=*)", "cn"]).await.values("cn"), ["Mom"]);
    let not_zoes = base_search(&as_zoe, &mom, &["(objectClass=*)"]).await;
    assert_eq!((not_zoes.code, not_zoes.entries.len()), (no_such_object, 0), "{not_zoes:?}");

    // A device credential reads shared contacts and coworkers, but no one's own contacts.
    let (_, device_dn, device_password) = add_device(&ldap, json!({ "name": "Lobby phone" })).await;
    let as_lobby = ["-D", device_dn.as_str(), "-w", device_password.as_str()];
    assert_eq!(base_search(&as_lobby, &ann, &["(objectClass=*)", "cn"]).await.values("cn"), ["Ann Lee"]);
    let lobby_mom = base_search(&as_lobby, &mom, &["(objectClass=*)"]).await;
    assert_eq!((lobby_mom.code, lobby_mom.entries.len()), (no_such_object, 0));

    // Another domain's entry, under its own DN or under ours.
    seed_domain(&ldap.db, "globex.example", &[("100", "Gus", "office-manager", "Sales")]);
    let gus = ldap.server.login("100@globex.example", PASSWORD).await;
    let secret = json!({ "first_name": "Ann", "last_name": "Secret" });
    assert_eq!(gus.post("/api/v1/domains/globex.example/shared-contacts", secret).await.status, StatusCode::CREATED);
    let as_gus = ["-D", "100@globex.example", "-w", PASSWORD];
    let globex = ldap.search_as(&as_gus, &["-b", "ou=contacts,dc=globex,dc=example", "(sn=secret)", "1.1"]).await;
    let secret_dn = globex.dns().remove(0);
    assert_eq!(base_search(&as_gus, &secret_dn, &["(objectClass=*)", "cn"]).await.values("cn"), ["Ann Secret"]);
    let id_part = secret_dn.split(',').next().expect("the RDN").to_string();
    for dn in [secret_dn.clone(), format!("{id_part},{BASE}")] {
        let foreign = base_search(&as_ben, &dn, &["(objectClass=*)"]).await;
        assert_eq!((foreign.code, foreign.entries.len()), (no_such_object, 0), "{dn}: {foreign:?}");
        assert!(!foreign.stderr.to_lowercase().contains("secret"), "{}", foreign.stderr);
    }
    let unknown = base_search(&as_ben, &format!("uid={},{BASE}", uuid::Uuid::now_v7()), &["(objectClass=*)"]).await;
    assert_eq!(unknown.code, no_such_object);

    // Shared contacts hidden from the domain's users: gone by DN too; coworkers stay.
    let manager = ldap.server.login("100@acme.example", PASSWORD).await;
    let hide = json!({ "PORTAL_SHOW_SHARED_CONTACTS": "no" });
    assert_eq!(manager.put("/api/v1/domains/acme.example/settings", hide).await.status, StatusCode::OK);
    let hidden = base_search(&as_ben, &ann, &["(objectClass=*)"]).await;
    assert_eq!((hidden.code, hidden.entries.len()), (no_such_object, 0), "{hidden:?}");
    assert_eq!(base_search(&as_ben, &zoe, &["(objectClass=*)", "cn"]).await.values("cn"), ["Zoe Tester"]);

    // A deleted contact is gone.
    let show = json!({ "PORTAL_SHOW_SHARED_CONTACTS": "yes" });
    assert_eq!(manager.put("/api/v1/domains/acme.example/settings", show).await.status, StatusCode::OK);
    let ann_id = ann.trim_start_matches("uid=").split(',').next().expect("the id").to_string();
    let deleted = manager.delete(&format!("{SHARED}/{ann_id}")).await;
    assert!(deleted.status.is_success(), "{deleted:?}");
    let gone = base_search(&as_ben, &ann, &["(objectClass=*)"]).await;
    assert_eq!((gone.code, gone.entries.len()), (no_such_object, 0));
}

async fn ldaps_and_start_tls(backend: Backend) {
    let ldap = start_with_tls(backend).await;
    ldap.add_shared(
        json!({ "first_name": "Ann", "last_name": "Lee", "title": "Buyer", "work_phone": "+1 206-555-0100" }),
    )
    .await;
    ldap.add_shared(json!({ "first_name": "Bob", "last_name": "Hannon" })).await;
    let ldaps = format!("ldaps://{}", ldap.ldaps.as_deref().expect("an LDAPS address"));
    let plain = format!("ldap://{}", ldap.address);
    let names = ["-b", BASE, "(|(cn=*ann*)(sn=*ann*))", "cn"];
    let both = vec!["Ann Lee".to_string(), "Bob Hannon".into()];

    // A phone with a device credential over LDAPS, the certificate checked against ours.
    let (_, bind_dn, password) = add_device(&ldap, json!({ "name": "Lobby phone" })).await;
    let device = ["-D", bind_dn.as_str(), "-w", password.as_str()];
    let over_tls = ldap.search_at(&ldaps, &device, &names).await;
    assert_eq!((over_tls.code, over_tls.sorted("cn")), (0, both.clone()), "{over_tls:?}");
    let wrong = ldap.search_at(&ldaps, &["-D", &bind_dn, "-w", "not-the-password"], &names).await;
    assert_eq!(wrong.code, LdapResultCode::InvalidCredentials as i32);
    let ann = ldap.search_at(&ldaps, &["-D", BEN, "-w", PASSWORD], &["-b", BASE, "(title=buyer)", "cn"]).await;
    assert_eq!(ann.values("cn"), ["Ann Lee"]);
    // StartTLS on the plain port (-ZZ: fail unless TLS starts).
    let started = ldap.search_at(&plain, &device, &[&["-ZZ"][..], &names].concat()).await;
    assert_eq!((started.code, started.sorted("cn")), (0, both.clone()), "{started:?}");

    // A client that does not trust the certificate gets nowhere.
    let untrusted = tokio::process::Command::new("ldapsearch")
        .env("LDAPTLS_REQCERT", "demand")
        .env("LDAPTLS_CACERT", Certificate::new().cert())
        .args(["-x", "-LLL", "-o", "nettimeout=20", "-H", &ldaps, "-D", BEN, "-w", PASSWORD])
        .args(names)
        .output()
        .await
        .expect("ldapsearch runs");
    assert!(!untrusted.status.success() && untrusted.stdout.is_empty(), "{untrusted:?}");

    // Plain LDAP to the LDAPS port fails, quickly, and hurts nobody.
    let ldaps_address = ldap.ldaps.clone().expect("an LDAPS address");
    let wrong_port = ldap.search_at(&format!("ldap://{ldaps_address}"), &device, &names).await;
    assert!(wrong_port.code != 0 && wrong_port.entries.is_empty(), "{wrong_port:?}");
    let mut socket = tokio::net::TcpStream::connect(&ldaps_address).await.expect("connects");
    let bind = [0x30, 0x0c, 0x02, 0x01, 0x01, 0x60, 0x07, 0x02, 0x01, 0x03, 0x04, 0x00, 0x80, 0x00];
    socket.write_all(&bind).await.expect("written");
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(5), socket.read_to_end(&mut rest)).await;
    assert!(closed.is_ok(), "the server closes a connection that does not speak TLS");
    // One that never starts its handshake is closed after the handshake timeout.
    let mut silent = tokio::net::TcpStream::connect(&ldaps_address).await.expect("connects");
    let waited = Instant::now();
    let closed = tokio::time::timeout(Duration::from_secs(30), silent.read_to_end(&mut rest)).await;
    assert!(closed.is_ok(), "the server closes a connection that never starts TLS");
    assert!(waited.elapsed() >= Duration::from_secs(5), "{:?}", waited.elapsed());
    let after = ldap.search_at(&ldaps, &device, &names).await;
    assert_eq!((after.code, after.sorted("cn")), (0, both.clone()));
    let plain_after = ldap.search_as(&device, &names).await;
    assert_eq!((plain_after.code, plain_after.sorted("cn")), (0, both));
}

/// Without a certificate, StartTLS is refused as "unavailable" and the connection goes on.
async fn start_tls_needs_a_certificate(backend: Backend) {
    let ldap = with_book(backend).await;
    let required = ldap.search(&["-ZZ", "-b", BASE, "(cn=*ann*)", "cn"]).await;
    assert!(required.code != 0 && required.entries.is_empty(), "{required:?}");
    let unavailable = format!("({})", LdapResultCode::Unavailable as i32);
    assert!(required.stderr.contains(&unavailable) && required.stderr.contains("no certificate"), "{required:?}");
    // -Z: try TLS, carry on without it.
    let optional = ldap.search(&["-Z", "-b", BASE, "(cn=*ann*)", "cn"]).await;
    assert_eq!(
        (optional.code, optional.sorted("cn")),
        (0, vec!["Ann Lee".into(), "Bob Hannon".into(), "Joanne Smith".into()])
    );
}

/// `serve` with unusable TLS settings: exits at once, non-zero, saying which file or flag.
async fn bad_certificates_stop_the_server(backend: Backend) {
    let db = Database::new(backend).await;
    let good = Certificate::new();
    let other = Certificate::new();
    let missing = good.dir.path().join("missing.pem").display().to_string();
    let (cert, key, other_key) = (good.cert(), good.key(), other.key());
    let ldaps = free_address();
    let cases: Vec<(Vec<&str>, Vec<&str>)> = vec![
        (vec!["--ldaps", &ldaps, "--ldap-cert", &missing, "--ldap-key", &key], vec!["missing.pem", "certificate"]),
        (vec!["--ldaps", &ldaps, "--ldap-cert", &cert, "--ldap-key", &missing], vec!["missing.pem", "private key"]),
        (vec!["--ldaps", &ldaps, "--ldap-cert", &key, "--ldap-key", &key], vec!["key.pem", "no PEM certificate"]),
        (vec!["--ldaps", &ldaps, "--ldap-cert", &cert, "--ldap-key", &other_key], vec!["does not match", &other_key]),
        (vec!["--ldaps", &ldaps], vec!["--ldap-cert", "--ldap-key"]),
        (vec!["--ldaps", &ldaps, "--ldap-cert", &cert], vec!["--ldap-key"]),
        (vec!["--ldap-cert", &cert, "--ldap-key", &key], vec!["--ldaps"]),
    ];
    for (args, expected) in cases {
        let run = tokio::process::Command::new(support::binary())
            .args(["--database", &db.url, "serve", "--listen", "127.0.0.1:0"])
            .args(&args)
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true)
            .output();
        let output = tokio::time::timeout(Duration::from_secs(30), run).await.expect("serve exits").expect("runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(!output.status.success(), "{args:?} started: {stdout}");
        for part in expected {
            assert!(stderr.contains(part), "{args:?}: {part} not in {stderr}");
        }
        assert!(!stdout.contains("listening"), "{args:?} listened: {stdout}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

/// A search on an open connection: the result code (and how many entries came).
async fn search_code(connection: &mut Connection, text: &str) -> (LdapResultCode, usize) {
    let filter = LdapFilter::Substring("cn".into(), format!("*{text}*").as_str().into());
    let (entries, done, _) = raw_search(connection, filter, &[]).await;
    (done.code, entries.len())
}

/// A connection stays bound only while its credential holds: the device revoked, the user
/// deleted or their password changed, its next search is refused with
/// `insufficientAccessRights` (the search is refused; `invalidCredentials` answers a
/// bind) and it must bind again.
async fn revocation_reaches_open_connections(backend: Backend) {
    let ldap = with_book(backend).await;
    let manager = ldap.server.login("100@acme.example", PASSWORD).await;
    let refused = (LdapResultCode::InsufficentAccessRights, 0);

    let (id, bind_dn, password) = add_device(&ldap, json!({ "name": "Lobby phone" })).await;
    let mut phone = bind(&ldap.address, &bind_dn, &password).await;
    assert_eq!(search_code(&mut phone, "ann").await, (LdapResultCode::Success, 3));
    let revoked = manager.delete(&format!("/api/v1/domains/acme.example/devices/{id}")).await;
    assert!(revoked.status.is_success(), "{revoked:?}");
    assert_eq!(search_code(&mut phone, "ann").await, refused, "a revoked device reads nothing more");
    assert_eq!(search_code(&mut phone, "ann").await, refused, "nor does the connection, now anonymous");

    let mut zoe = bind(&ldap.address, "201@acme.example", PASSWORD).await;
    assert_eq!(search_code(&mut zoe, "ann").await, (LdapResultCode::Success, 3));
    let deleted = manager.delete("/api/v1/domains/acme.example/users/201").await;
    assert!(deleted.status.is_success(), "{deleted:?}");
    assert_eq!(search_code(&mut zoe, "ann").await, refused, "a deleted user reads nothing more");

    let mut ben = bound_connection(&ldap.address).await;
    let mut bystander = bind(&ldap.address, "100@acme.example", PASSWORD).await;
    assert_eq!(search_code(&mut ben, "ann").await, (LdapResultCode::Success, 3));
    let new_password = json!({ "password": "a-new-password-456" });
    let changed = manager.patch("/api/v1/domains/acme.example/users/200", new_password, &[]).await;
    assert!(changed.status.is_success(), "{changed:?}");
    assert_eq!(search_code(&mut ben, "ann").await, refused, "the old password no longer reads");
    assert_eq!(search_code(&mut bystander, "ann").await, (LdapResultCode::Success, 3), "others go on");
    let mut again = bind(&ldap.address, BEN, "a-new-password-456").await;
    assert_eq!(search_code(&mut again, "ann").await, (LdapResultCode::Success, 3));
}

/// A filter of more terms than a phone ever sends is refused before anything is looked
/// up (a 4,000-term OR once made 4,000 look-ups); a phone's filter is not.
async fn large_filters_are_refused(backend: Backend) {
    let ldap = with_book(backend).await;
    let mut connection = bound_connection(&ldap.address).await;
    let or_of = |n: usize| {
        // Short terms: 4,000 of them fit in one message (64 KiB).
        LdapFilter::Or((0..n).map(|i| LdapFilter::Substring("cn".into(), format!("*n{i}*").as_str().into())).collect())
    };
    let started = Instant::now();
    let (entries, done, _) = raw_search(&mut connection, or_of(4000), &[]).await;
    println!("a 4,000-term filter refused in {:?}", started.elapsed());
    assert_eq!((entries.len(), done.code.clone()), (0, LdapResultCode::AdminLimitExceeded), "{done:?}");
    assert!(done.message.contains("more than 64 terms"), "{done:?}");
    let (entries, done, _) = raw_search(&mut connection, or_of(63), &[]).await;
    assert_eq!((entries.len(), done.code.clone()), (0, LdapResultCode::Success), "{done:?}");
    // The connection goes on.
    assert_eq!(search_code(&mut connection, "ann").await, (LdapResultCode::Success, 3));
}

/// Opens a connection, or `None` when the server says it is busy and closes it.
async fn try_connect(address: &str) -> Option<Connection> {
    let socket = tokio::net::TcpStream::connect(address).await.expect("connects");
    let mut connection = Framed::new(socket, LdapCodec::default());
    let bind = LdapBindRequest { version: 3, dn: BEN.into(), cred: LdapBindCred::Simple(PASSWORD.into()) };
    connection.send(LdapMsg::new(1, LdapOp::BindRequest(bind))).await.ok()?;
    match tokio::time::timeout(Duration::from_secs(20), connection.next())
        .await
        .expect("an answer")
        .map(|m| m.map(|m| m.op))
    {
        Some(Ok(LdapOp::BindResponse(response))) if response.res.code == LdapResultCode::Success => Some(connection),
        Some(Ok(LdapOp::ExtendedResponse(notice))) => {
            assert_eq!(notice.res.code, LdapResultCode::Busy, "{notice:?}");
            assert!(notice.res.message.contains("too many connections from your address"), "{notice:?}");
            None
        }
        other => panic!("{other:?}"),
    }
}

/// One address holds at most `--ldap-max-connections-per-address` connections; one more
/// is told it is busy and closed, and a place freed is taken again.
async fn connections_are_limited_per_address(backend: Backend) {
    let db = Database::new(backend).await;
    seed_domain(&db, ACME, &[("100", "Olivia", "office-manager", "Management"), ("200", "Ben", "basic-user", "Sales")]);
    let address = free_address();
    let args = ["--ldap", &address, "--ldap-allow-plain-user-binds", "--ldap-max-connections-per-address", "3"];
    let _server = Server::start(&db, &args);
    let mut open = Vec::new();
    for _ in 0..3 {
        open.push(try_connect(&address).await.expect("within the limit"));
    }
    assert!(try_connect(&address).await.is_none(), "a fourth connection is refused");
    for connection in &mut open {
        assert_eq!(search_code(connection, "olivia").await, (LdapResultCode::Success, 1), "the others go on");
    }
    // Unbind one and wait until the server closed it; then its place is free.
    let mut leaving = open.pop().expect("a connection");
    leaving.send(LdapMsg::new(3, LdapOp::UnbindRequest)).await.expect("unbind sent");
    assert!(tokio::time::timeout(Duration::from_secs(10), leaving.next()).await.expect("closed").is_none());
    let mut attempts = 0;
    let mut again = loop {
        attempts += 1;
        // The server gives the place back right after closing: the first try may come first.
        match try_connect(&address).await {
            Some(connection) => break connection,
            None if attempts < 50 => tokio::time::sleep(Duration::from_millis(100)).await,
            None => panic!("the freed place was never given back"),
        }
    };
    println!("a freed place was taken again after {attempts} attempt(s)");
    assert_eq!(search_code(&mut again, "olivia").await, (LdapResultCode::Success, 1));
}

/// Users' passwords go over TLS only, unless `--ldap-allow-plain-user-binds`: on plain
/// LDAP a user's bind is refused (`confidentialityRequired`) before the password is
/// checked; device credentials bind there; after StartTLS, or over LDAPS, users bind.
async fn user_binds_need_tls(backend: Backend) {
    let ldap = start_with_tls(backend).await;
    let plain = format!("ldap://{}", ldap.address);
    let ldaps = format!("ldaps://{}", ldap.ldaps.as_deref().expect("an LDAPS address"));
    let names = ["-b", BASE, "(cn=*olivia*)", "cn"];
    let ben = ["-D", BEN, "-w", PASSWORD];
    let refused = ldap.search_at(&plain, &ben, &names).await;
    assert_eq!((refused.code, refused.entries.len()), (LdapResultCode::ConfidentialityRequired as i32, 0));
    assert!(refused.stderr.contains("TLS"), "{refused:?}");
    let wrong = ldap.search_at(&plain, &["-D", BEN, "-w", "wrong"], &names).await;
    assert_eq!(wrong.code, LdapResultCode::ConfidentialityRequired as i32, "no password is tried in clear");
    let started = ldap.search_at(&plain, &ben, &[&["-ZZ"][..], &names].concat()).await;
    assert_eq!((started.code, started.values("cn")), (0, vec!["Olivia Tester".to_string()]), "{started:?}");
    let over_tls = ldap.search_at(&ldaps, &ben, &names).await;
    assert_eq!((over_tls.code, over_tls.values("cn")), (0, vec!["Olivia Tester".to_string()]), "{over_tls:?}");
    let (_, bind_dn, password) = add_device(&ldap, json!({ "name": "Lobby phone" })).await;
    let device = ldap.search_at(&plain, &["-D", &bind_dn, "-w", &password], &names).await;
    assert_eq!((device.code, device.values("cn")), (0, vec!["Olivia Tester".to_string()]), "{device:?}");
}

/// A virtual list view with every count at 2^63 - 1 (the largest an eight-byte INTEGER
/// holds) answers a window at the list's end; a larger INTEGER is not read, and the
/// critical control is refused (`unavailableCriticalExtension`). The server goes on.
async fn list_view_values_up_to_two_to_the_63(backend: Backend) {
    let ldap = with_book(backend).await;
    let mut connection = bound_connection(&ldap.address).await;
    let max = [0x02, 0x08, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
    let almost = [0x02, 0x08, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe];
    // before, after, byOffset { offset, contentCount }
    let view = |before: &[u8], after: &[u8], offset: &[u8], count: &[u8]| {
        let target = [&[0xa0, (offset.len() + count.len()) as u8][..], offset, count].concat();
        let body = [before, after, &target].concat();
        [&[0x30, body.len() as u8][..], &body].concat()
    };
    let (entries, done, _) =
        raw_search(&mut connection, all_people(), &sorted_view(&view(&max, &max, &max, &max))).await;
    assert_eq!((entries.len(), done.code.clone()), (6, LdapResultCode::Success), "{done:?}");
    let zero = [0x02, 0x01, 0x00];
    let (last, done, _) =
        raw_search(&mut connection, all_people(), &sorted_view(&view(&zero, &zero, &almost, &max))).await;
    assert_eq!((surnames(&last), done.code), (vec!["Tester".to_string()], LdapResultCode::Success));
    let two_to_the_63 = [0x02, 0x09, 0x00, 0x80, 0, 0, 0, 0, 0, 0, 0];
    let (none, done, _) =
        raw_search(&mut connection, all_people(), &sorted_view(&view(&zero, &two_to_the_63, &almost, &max))).await;
    assert_eq!((none.len(), done.code), (0, LdapResultCode::UnavailableCriticalExtension));
    assert_eq!(search_code(&mut connection, "ann").await, (LdapResultCode::Success, 3));
}
