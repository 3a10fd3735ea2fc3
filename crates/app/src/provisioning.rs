//! The text an office manager pastes into phones' provisioning: a device's phonebook
//! URLs and LDAP settings, and each phone vendor's own keys for them. Shown by
//! `switchboard device add|show` and by the portal's Desk phones page.

use switchboard_core::DomainName;

use crate::devices::{DeviceView, domain_dn};

/// The port `serve --ldap` is usually given.
pub const DEFAULT_LDAP_PORT: u16 = 3389;

/// Where phones reach the server.
#[derive(Debug, Clone)]
pub struct PublicAddress {
    /// The server's address as phones reach it, such as `https://pbx.example.net`.
    pub base_url: String,
    /// The LDAP server as phones reach it (`host:port`); when absent, the base URL's host
    /// at `ldap_port`.
    pub ldap: Option<String>,
    pub ldap_port: u16,
}

impl PublicAddress {
    /// The base URL's scheme and what follows `://` (`http` when it names none).
    fn scheme_and_rest(&self) -> (&str, &str) {
        let base = self.base_url.trim_end_matches('/');
        base.split_once("://").unwrap_or(("http", base))
    }

    /// The LDAP server's host and port.
    fn ldap_server(&self) -> (String, String) {
        if let Some((host, port)) = self.ldap.as_deref().and_then(|ldap| ldap.rsplit_once(':')) {
            return (host.to_string(), port.to_string());
        }
        let authority = self.scheme_and_rest().1.split('/').next().unwrap_or_default();
        // The host without its port; an IPv6 address keeps its brackets: `[2001:db8::1]:8080`.
        let host = match authority.rsplit_once(':') {
            Some((host, port)) if !port.contains(']') => host,
            _ => authority,
        };
        let host = if host.is_empty() { "localhost" } else { host };
        (self.ldap.clone().unwrap_or_else(|| host.to_string()), self.ldap_port.to_string())
    }
}

/// What the settings are made for: a device's bind DN, and whether it is bound to a user
/// (whose favorites then make a book of their own).
pub struct DeviceSettings<'a> {
    pub bind_dn: &'a str,
    pub has_user: bool,
}

impl<'a> From<&'a DeviceView> for DeviceSettings<'a> {
    fn from(device: &'a DeviceView) -> Self {
        DeviceSettings { bind_dn: &device.bind_dn, has_user: device.user.is_some() }
    }
}

/// The secrets, known only when the device was just added; placeholders otherwise.
#[derive(Clone, Copy)]
pub struct Secrets<'a> {
    pub token: &'a str,
    pub password: &'a str,
}

/// Name and number filters and attributes, the same for every vendor that takes them
/// (`%` is where Yealink, Grandstream and Snom put what was typed).
const NAME_FILTER: &str = "(|(cn=%)(sn=%)(givenName=%))";
const NUMBER_FILTER: &str = "(|(telephoneNumber=%)(mobile=%)(homePhone=%))";
const NAME_ATTRIBUTES: &str = "cn sn givenName";
const NUMBER_ATTRIBUTES: &str = "telephoneNumber mobile homePhone";
const MAX_HITS: u32 = 50;

/// The text to paste into phones: the book URLs and LDAP settings, then each vendor's own
/// provisioning keys, with the key names that vendor's firmware reads:
/// - Yealink T4x/T5x desk phones (`.cfg` auto-provisioning, `remote_phonebook.data.N.*`
///   and `ldap.*`), and Yealink W-series DECT bases (W60B, W70B…), which take the same
///   `remote_phonebook.data.N.*` keys and the `Menu`/`Unit` book their handsets read;
/// - Polycom UC Software 4.0 and later (VVX, SoundPoint IP): the corporate directory over
///   LDAP (`feature.corporateDirectory.enabled`, `dir.corp.*`), attributes of a `.cfg`
///   file. Polycom has no remote XML phonebook URL: `polycom.xml` is its local contact
///   directory (`item_list`/`item`/`ct`), which the phone reads at boot from its
///   provisioning server as `<MAC>-directory.xml` or `000000000000-directory.xml`;
/// - Cisco SPA5xx (flat profile: `XML_Directory_Service_*` and the `LDAP_*` parameters of
///   "LDAP Corporate Directory Search");
/// - Grandstream GXP/GRP (P-values: P330–P332 for the phonebook XML download, which adds
///   `/phonebook.xml` to the server path; P8020–P8031 for LDAP);
/// - Snom D-series and 3xx/7xx (`<phone-settings>`: `dkey_directory` opens the XML
///   directory, `ldap_*`);
/// - Fanvil: the web interface's Phonebook > Cloud phonebook URL only, as no provisioning
///   key for it could be confirmed; LDAP with the generic settings.
pub fn settings(
    domain: &DomainName,
    device: &DeviceSettings,
    secrets: Option<Secrets>,
    public: &PublicAddress,
) -> String {
    let base = public.base_url.trim_end_matches('/');
    let token = secrets.map_or("<TOKEN>", |s| s.token);
    let password = secrets.map_or("<PASSWORD>", |s| s.password);
    let url = |vendor: &str, query: &str| format!("{base}/phonebook/{token}/{vendor}.xml{query}");
    let (scheme, rest) = public.scheme_and_rest();
    let (server, port) = public.ldap_server();
    let (server, port) = (server.as_str(), port.as_str());
    let base_dn = format!("ou=contacts,{}", domain_dn(domain));
    let dn = device.bind_dn;

    let mut out = String::new();
    let mut line = |text: String| {
        out.push_str(&text);
        out.push('\n');
    };
    line(format!("XML phonebooks: {base}/phonebook/{token}/<vendor>.xml"));
    line(format!("  (or {base}/phonebook/<vendor>.xml with HTTP Basic: the bind DN and password);"));
    line("  ?group=department:NAME or ?group=site:NAME serves a part of the book".into());
    if device.has_user {
        line("  and ?group=favorites the bound user's favorites alone".into());
    }
    line("  ?presence=1 names coworkers who are not available with why (Ann Smith [on a call]);".into());
    line("  the phone sees a change at its next read (phones also name callers from their books,".into());
    line("  so keep presence to a book of its own, like \"Coworkers now\" below)".into());
    line("LDAP, when the server runs with --ldap (simple bind with the bind DN and the device's password):".into());
    line(format!("  server         {server}"));
    line(format!("  port           {port}"));
    line(format!("  base DN        {base_dn}"));
    line(format!("  bind DN        {dn}"));
    line(format!("  name filter    {NAME_FILTER}"));
    line(format!("  number filter  {NUMBER_FILTER}"));
    line(format!("  attributes     names {NAME_ATTRIBUTES}, numbers {NUMBER_ATTRIBUTES}, display %cn"));
    line(format!("  max hits       {MAX_HITS}"));
    line(String::new());
    line("Yealink T4x/T5x (.cfg auto-provisioning):".into());
    let mut books = Vec::new();
    if device.has_user {
        books.push(("Favorites", url("yealink", "?group=favorites")));
    }
    books.push(("Directory", url("yealink", "")));
    books.push(("Directory search", url("yealink", "?q=#SEARCH")));
    books.push(("Coworkers now", url("yealink", "?group=coworkers&presence=1")));
    for (index, (name, url)) in books.into_iter().enumerate() {
        line(format!("  remote_phonebook.data.{n}.name = {name}", n = index + 1));
        line(format!("  remote_phonebook.data.{n}.url = {url}", n = index + 1));
    }
    line("  features.remote_phonebook.enable = 1".into());
    for (key, value) in [
        ("enable", "1".to_string()),
        ("host", server.to_string()),
        ("port", port.to_string()),
        ("base", base_dn.clone()),
        ("user", dn.to_string()),
        ("password", password.to_string()),
        ("version", "3".into()),
        ("name_filter", NAME_FILTER.into()),
        ("number_filter", NUMBER_FILTER.into()),
        ("name_attr", NAME_ATTRIBUTES.into()),
        ("numb_attr", NUMBER_ATTRIBUTES.into()),
        ("display_name", "%cn".into()),
        ("max_hits", MAX_HITS.to_string()),
        ("call_in_lookup", "1".into()),
    ] {
        line(format!("  ldap.{key} = {value}"));
    }
    line(String::new());
    line("Yealink W-series DECT bases (same .cfg keys; the handsets read the Menu/Unit book):".into());
    line("  remote_phonebook.data.1.name = Directory".into());
    line(format!("  remote_phonebook.data.1.url = {}", url("yealink-menu", "")));

    line(String::new());
    line("Polycom UC Software 4.0+ (VVX, SoundPoint IP), corporate directory over LDAP, in a .cfg file:".into());
    let mut polycom: Vec<(String, String)> = [
        ("feature.corporateDirectory.enabled", "1"),
        ("dir.corp.address", server),
        ("dir.corp.port", port),
        ("dir.corp.transport", "TCP"),
        ("dir.corp.baseDN", &base_dn),
        ("dir.corp.scope", "sub"),
        ("dir.corp.user", dn),
        ("dir.corp.password", password),
    ]
    .into_iter()
    .map(|(key, value)| (key.to_string(), value.to_string()))
    .collect();
    let attributes = [
        ("sn", "Last Name", "last_name"),
        ("givenName", "First Name", "first_name"),
        ("telephoneNumber", "Work", "phone_number"),
        ("mobile", "Mobile", "phone_number"),
        ("homePhone", "Home", "phone_number"),
    ];
    for (index, (name, label, kind)) in attributes.into_iter().enumerate() {
        let n = index + 1;
        polycom.push((format!("dir.corp.attribute.{n}.name"), name.into()));
        polycom.push((format!("dir.corp.attribute.{n}.label"), label.into()));
        polycom.push((format!("dir.corp.attribute.{n}.type"), kind.into()));
    }
    for (key, value) in polycom {
        line(format!("  {key}=\"{}\"", xml_escape(&value)));
    }
    line("  Polycom reads no XML phonebook URL. Its local contact directory comes from the provisioning server".into());
    line("  at boot: have that server give this book as 000000000000-directory.xml (every phone without a file".into());
    line("  of its own) or <MAC>-directory.xml, in CONTACTS_DIRECTORY when the master config file names one:".into());
    line(format!("  {}", url("polycom", "")));

    line(String::new());
    line("Cisco SPA5xx (flat profile):".into());
    for (key, value) in [
        ("XML_Directory_Service_Name", "Directory".to_string()),
        ("XML_Directory_Service_URL", url("cisco", "")),
        ("LDAP_Dir_Enable", "Yes".into()),
        ("LDAP_Corp_Dir_Name", "Directory".into()),
        ("LDAP_Server", format!("{server}:{port}")),
        ("LDAP_Auth_Method", "Simple".into()),
        ("LDAP_Client_DN", dn.to_string()),
        ("LDAP_Password", password.to_string()),
        ("LDAP_Search_Base", base_dn.clone()),
        ("LDAP_Last_Name_Filter", "sn:(sn=$VALUE*)".into()),
        ("LDAP_First_Name_Filter", "givenName:(givenName=$VALUE*)".into()),
        ("LDAP_Display_Attrs", "a=cn;a=telephoneNumber,n=Work,t=p;a=mobile,n=Mobile,t=p;a=homePhone,n=Home,t=p".into()),
    ] {
        line(format!("  <{key}>{}</{key}>", xml_escape(&value)));
    }

    line(String::new());
    line("Grandstream GXP/GRP (P-values; the phone adds /phonebook.xml to P331, P332 is in minutes):".into());
    let download = if scheme.eq_ignore_ascii_case("https") { "3" } else { "1" };
    for (key, value) in [
        ("P330", download.to_string()),
        ("P331", format!("{rest}/phonebook/{token}")),
        ("P332", "60".into()),
        ("P8020", server.to_string()),
        ("P8021", port.to_string()),
        ("P8022", base_dn.clone()),
        ("P8023", dn.to_string()),
        ("P8024", password.to_string()),
        ("P8026", NAME_FILTER.into()),
        ("P8025", NUMBER_FILTER.into()),
        ("P8028", NAME_ATTRIBUTES.into()),
        ("P8029", NUMBER_ATTRIBUTES.into()),
        ("P8030", "%cn".into()),
        ("P8031", MAX_HITS.to_string()),
    ] {
        line(format!("  <{key}>{}</{key}>", xml_escape(&value)));
    }

    line(String::new());
    line("Snom D-series, 3xx/7xx (phone-settings; the directory key opens the XML directory):".into());
    for (key, value) in [
        ("dkey_directory", format!("url {}", url("snom", ""))),
        ("ldap_server", server.to_string()),
        ("ldap_port", port.to_string()),
        ("ldap_base", base_dn.clone()),
        ("ldap_username", dn.to_string()),
        ("ldap_password", password.to_string()),
        ("ldap_search_filter", NAME_FILTER.into()),
        ("ldap_number_filter", NUMBER_FILTER.into()),
        ("ldap_name_attributes", NAME_ATTRIBUTES.into()),
        ("ldap_number_attributes", NUMBER_ATTRIBUTES.into()),
        ("ldap_display_name", "%cn".into()),
        ("ldap_max_hits", MAX_HITS.to_string()),
    ] {
        line(format!("  <{key} perm=\"\">{}</{key}>", xml_escape(&value)));
    }

    line(String::new());
    line("Fanvil (web interface; LDAP with the settings above):".into());
    line(format!("  Phonebook > Cloud phonebook, URL: {}", url("fanvil", "")));
    out
}

/// Text for an XML element or a quoted attribute value. `<` and `>` are left as they are:
/// they appear only in the `<TOKEN>` and `<PASSWORD>` placeholders, which are to be replaced.
fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    const BIND_DN: &str = "cn=0192f0c4-0000-7000-8000-000000000001,ou=devices,dc=acme,dc=example";

    fn public(base_url: &str, ldap: Option<&str>) -> PublicAddress {
        PublicAddress { base_url: base_url.into(), ldap: ldap.map(Into::into), ldap_port: DEFAULT_LDAP_PORT }
    }

    fn acme() -> DomainName {
        "acme.example".parse().unwrap()
    }

    /// `device show` of a device bound to a user, every line exact: the keys are the ones
    /// each vendor's firmware reads (see [`settings`]); a renamed or dropped key fails here.
    #[test]
    fn every_vendor_gets_its_own_keys() {
        let device = DeviceSettings { bind_dn: BIND_DN, has_user: true };
        let printed = settings(&acme(), &device, None, &public("https://pbx.example.net/", None));
        let expected = r#"XML phonebooks: https://pbx.example.net/phonebook/<TOKEN>/<vendor>.xml
  (or https://pbx.example.net/phonebook/<vendor>.xml with HTTP Basic: the bind DN and password);
  ?group=department:NAME or ?group=site:NAME serves a part of the book
  and ?group=favorites the bound user's favorites alone
  ?presence=1 names coworkers who are not available with why (Ann Smith [on a call]);
  the phone sees a change at its next read (phones also name callers from their books,
  so keep presence to a book of its own, like "Coworkers now" below)
LDAP, when the server runs with --ldap (simple bind with the bind DN and the device's password):
  server         pbx.example.net
  port           3389
  base DN        ou=contacts,dc=acme,dc=example
  bind DN        cn=0192f0c4-0000-7000-8000-000000000001,ou=devices,dc=acme,dc=example
  name filter    (|(cn=%)(sn=%)(givenName=%))
  number filter  (|(telephoneNumber=%)(mobile=%)(homePhone=%))
  attributes     names cn sn givenName, numbers telephoneNumber mobile homePhone, display %cn
  max hits       50

Yealink T4x/T5x (.cfg auto-provisioning):
  remote_phonebook.data.1.name = Favorites
  remote_phonebook.data.1.url = https://pbx.example.net/phonebook/<TOKEN>/yealink.xml?group=favorites
  remote_phonebook.data.2.name = Directory
  remote_phonebook.data.2.url = https://pbx.example.net/phonebook/<TOKEN>/yealink.xml
  remote_phonebook.data.3.name = Directory search
  remote_phonebook.data.3.url = https://pbx.example.net/phonebook/<TOKEN>/yealink.xml?q=#SEARCH
  remote_phonebook.data.4.name = Coworkers now
  remote_phonebook.data.4.url = https://pbx.example.net/phonebook/<TOKEN>/yealink.xml?group=coworkers&presence=1
  features.remote_phonebook.enable = 1
  ldap.enable = 1
  ldap.host = pbx.example.net
  ldap.port = 3389
  ldap.base = ou=contacts,dc=acme,dc=example
  ldap.user = cn=0192f0c4-0000-7000-8000-000000000001,ou=devices,dc=acme,dc=example
  ldap.password = <PASSWORD>
  ldap.version = 3
  ldap.name_filter = (|(cn=%)(sn=%)(givenName=%))
  ldap.number_filter = (|(telephoneNumber=%)(mobile=%)(homePhone=%))
  ldap.name_attr = cn sn givenName
  ldap.numb_attr = telephoneNumber mobile homePhone
  ldap.display_name = %cn
  ldap.max_hits = 50
  ldap.call_in_lookup = 1

Yealink W-series DECT bases (same .cfg keys; the handsets read the Menu/Unit book):
  remote_phonebook.data.1.name = Directory
  remote_phonebook.data.1.url = https://pbx.example.net/phonebook/<TOKEN>/yealink-menu.xml

Polycom UC Software 4.0+ (VVX, SoundPoint IP), corporate directory over LDAP, in a .cfg file:
  feature.corporateDirectory.enabled="1"
  dir.corp.address="pbx.example.net"
  dir.corp.port="3389"
  dir.corp.transport="TCP"
  dir.corp.baseDN="ou=contacts,dc=acme,dc=example"
  dir.corp.scope="sub"
  dir.corp.user="cn=0192f0c4-0000-7000-8000-000000000001,ou=devices,dc=acme,dc=example"
  dir.corp.password="<PASSWORD>"
  dir.corp.attribute.1.name="sn"
  dir.corp.attribute.1.label="Last Name"
  dir.corp.attribute.1.type="last_name"
  dir.corp.attribute.2.name="givenName"
  dir.corp.attribute.2.label="First Name"
  dir.corp.attribute.2.type="first_name"
  dir.corp.attribute.3.name="telephoneNumber"
  dir.corp.attribute.3.label="Work"
  dir.corp.attribute.3.type="phone_number"
  dir.corp.attribute.4.name="mobile"
  dir.corp.attribute.4.label="Mobile"
  dir.corp.attribute.4.type="phone_number"
  dir.corp.attribute.5.name="homePhone"
  dir.corp.attribute.5.label="Home"
  dir.corp.attribute.5.type="phone_number"
  Polycom reads no XML phonebook URL. Its local contact directory comes from the provisioning server
  at boot: have that server give this book as 000000000000-directory.xml (every phone without a file
  of its own) or <MAC>-directory.xml, in CONTACTS_DIRECTORY when the master config file names one:
  https://pbx.example.net/phonebook/<TOKEN>/polycom.xml

Cisco SPA5xx (flat profile):
  <XML_Directory_Service_Name>Directory</XML_Directory_Service_Name>
  <XML_Directory_Service_URL>https://pbx.example.net/phonebook/<TOKEN>/cisco.xml</XML_Directory_Service_URL>
  <LDAP_Dir_Enable>Yes</LDAP_Dir_Enable>
  <LDAP_Corp_Dir_Name>Directory</LDAP_Corp_Dir_Name>
  <LDAP_Server>pbx.example.net:3389</LDAP_Server>
  <LDAP_Auth_Method>Simple</LDAP_Auth_Method>
  <LDAP_Client_DN>cn=0192f0c4-0000-7000-8000-000000000001,ou=devices,dc=acme,dc=example</LDAP_Client_DN>
  <LDAP_Password><PASSWORD></LDAP_Password>
  <LDAP_Search_Base>ou=contacts,dc=acme,dc=example</LDAP_Search_Base>
  <LDAP_Last_Name_Filter>sn:(sn=$VALUE*)</LDAP_Last_Name_Filter>
  <LDAP_First_Name_Filter>givenName:(givenName=$VALUE*)</LDAP_First_Name_Filter>
  <LDAP_Display_Attrs>a=cn;a=telephoneNumber,n=Work,t=p;a=mobile,n=Mobile,t=p;a=homePhone,n=Home,t=p</LDAP_Display_Attrs>

Grandstream GXP/GRP (P-values; the phone adds /phonebook.xml to P331, P332 is in minutes):
  <P330>3</P330>
  <P331>pbx.example.net/phonebook/<TOKEN></P331>
  <P332>60</P332>
  <P8020>pbx.example.net</P8020>
  <P8021>3389</P8021>
  <P8022>ou=contacts,dc=acme,dc=example</P8022>
  <P8023>cn=0192f0c4-0000-7000-8000-000000000001,ou=devices,dc=acme,dc=example</P8023>
  <P8024><PASSWORD></P8024>
  <P8026>(|(cn=%)(sn=%)(givenName=%))</P8026>
  <P8025>(|(telephoneNumber=%)(mobile=%)(homePhone=%))</P8025>
  <P8028>cn sn givenName</P8028>
  <P8029>telephoneNumber mobile homePhone</P8029>
  <P8030>%cn</P8030>
  <P8031>50</P8031>

Snom D-series, 3xx/7xx (phone-settings; the directory key opens the XML directory):
  <dkey_directory perm="">url https://pbx.example.net/phonebook/<TOKEN>/snom.xml</dkey_directory>
  <ldap_server perm="">pbx.example.net</ldap_server>
  <ldap_port perm="">3389</ldap_port>
  <ldap_base perm="">ou=contacts,dc=acme,dc=example</ldap_base>
  <ldap_username perm="">cn=0192f0c4-0000-7000-8000-000000000001,ou=devices,dc=acme,dc=example</ldap_username>
  <ldap_password perm=""><PASSWORD></ldap_password>
  <ldap_search_filter perm="">(|(cn=%)(sn=%)(givenName=%))</ldap_search_filter>
  <ldap_number_filter perm="">(|(telephoneNumber=%)(mobile=%)(homePhone=%))</ldap_number_filter>
  <ldap_name_attributes perm="">cn sn givenName</ldap_name_attributes>
  <ldap_number_attributes perm="">telephoneNumber mobile homePhone</ldap_number_attributes>
  <ldap_display_name perm="">%cn</ldap_display_name>
  <ldap_max_hits perm="">50</ldap_max_hits>

Fanvil (web interface; LDAP with the settings above):
  Phonebook > Cloud phonebook, URL: https://pbx.example.net/phonebook/<TOKEN>/fanvil.xml
"#;
        for (line, (got, want)) in printed.lines().zip(expected.lines()).enumerate() {
            assert_eq!(got, want, "line {}", line + 1);
        }
        assert_eq!(printed.lines().count(), expected.lines().count(), "{printed}");
    }

    /// Right after `device add`: the secrets are filled in, plain HTTP is Grandstream's
    /// download mode 1, `--ldap` names the LDAP server, and without a bound user there is
    /// no favorites book.
    #[test]
    fn secrets_scheme_and_ldap_address_are_used() {
        let device = DeviceSettings { bind_dn: BIND_DN, has_user: false };
        let secrets = Secrets { token: "sbd_tok", password: "s3cret-_" };
        let address = public("http://10.0.0.5:8080", Some("ldap.acme.example:389"));
        let printed = settings(&acme(), &device, Some(secrets), &address);
        let lines: Vec<&str> = printed.lines().collect();
        for want in [
            "  remote_phonebook.data.1.name = Directory",
            "  remote_phonebook.data.1.url = http://10.0.0.5:8080/phonebook/sbd_tok/yealink.xml",
            "  remote_phonebook.data.2.url = http://10.0.0.5:8080/phonebook/sbd_tok/yealink.xml?q=#SEARCH",
            "  ldap.host = ldap.acme.example",
            "  ldap.port = 389",
            "  ldap.password = s3cret-_",
            "  dir.corp.address=\"ldap.acme.example\"",
            "  dir.corp.password=\"s3cret-_\"",
            "  <LDAP_Server>ldap.acme.example:389</LDAP_Server>",
            "  <P330>1</P330>",
            "  <P331>10.0.0.5:8080/phonebook/sbd_tok</P331>",
            "  <P8021>389</P8021>",
            "  <ldap_password perm=\"\">s3cret-_</ldap_password>",
        ] {
            assert!(lines.contains(&want), "missing {want:?} in\n{printed}");
        }
        assert!(!printed.contains("favorites") && !printed.contains("<TOKEN>") && !printed.contains("<PASSWORD>"));
        assert!(lines.contains(&"  remote_phonebook.data.3.name = Coworkers now"), "{printed}");
        assert!(!printed.contains("remote_phonebook.data.4"), "{printed}");
    }

    #[test]
    fn the_ldap_server_comes_from_the_base_url_or_is_given() {
        let server = |base: &str, ldap: Option<&str>, ldap_port| {
            PublicAddress { base_url: base.into(), ldap: ldap.map(Into::into), ldap_port }.ldap_server()
        };
        let pair = |host: &str, port: &str| (host.to_string(), port.to_string());
        assert_eq!(server("http://[2001:db8::5]:8080/", None, 3389), pair("[2001:db8::5]", "3389"));
        assert_eq!(server("https://pbx.example.net/sb", None, 3390), pair("pbx.example.net", "3390"));
        assert_eq!(server("pbx.example.net:8080", None, 3389), pair("pbx.example.net", "3389"));
        assert_eq!(server("http://x", Some("ldap.acme.example:389"), 3389), pair("ldap.acme.example", "389"));
        assert_eq!(server("http://x", Some("ldap.acme.example"), 636), pair("ldap.acme.example", "636"));
    }

    #[test]
    fn xml_values_are_escaped() {
        assert_eq!(xml_escape("a&b \"c\""), "a&amp;b &quot;c&quot;");
    }
}
