//! OpenLDAP `slapd` (the Debian package) as the yardstick of the LDAP searches: a
//! throwaway instance on a free port, with a config in a temporary directory, loaded
//! over LDAP with the entries our server publishes for the benchmarked domain.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use ldap3_proto::proto::{LdapAttribute, LdapSearchResultEntry};
use tokio::process::{Child, Command};

use crate::ldap_client::LdapClient;

pub const SLAPD: &str = "/usr/sbin/slapd";
const ROOT_PASSWORD: &str = "bench-slapd-root";

/// A running slapd; stopped when dropped.
pub struct Slapd {
    pub address: SocketAddr,
    pub root_dn: String,
    // Holds the config and database until slapd is stopped.
    _dir: tempfile::TempDir,
    _process: Child,
}

impl Slapd {
    /// Starts slapd serving `suffix` (such as `dc=acme,dc=example`) with the indexes a
    /// phone's name and number searches use.
    pub async fn start(suffix: &str) -> Result<Slapd> {
        let dir = tempfile::tempdir()?;
        let root_dn = format!("cn=admin,{suffix}");
        std::fs::create_dir(dir.path().join("db"))?;
        let config = dir.path().join("slapd.conf");
        std::fs::write(&config, config_text(dir.path(), suffix, &root_dn))?;
        let address = free_port().await?;
        let process = Command::new(SLAPD)
            // -d 0 keeps it in the foreground, a child of ours that `kill_on_drop` stops.
            .args(["-d", "0", "-f"])
            .arg(&config)
            .arg("-h")
            .arg(format!("ldap://{address}/"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {SLAPD}"))?;
        wait_for(address).await?;
        Ok(Slapd { address, root_dn, _dir: dir, _process: process })
    }

    /// A connection bound as slapd's root DN.
    pub async fn bind_root(&self) -> Result<LdapClient> {
        LdapClient::bind(self.address, &self.root_dn, ROOT_PASSWORD).await
    }

    /// Adds the suffix, the contacts container and `entries`; returns how many slapd took
    /// (entries its schema refuses are counted out, not fatal).
    pub async fn load(&self, suffix: &str, container: &str, entries: Vec<LdapSearchResultEntry>) -> Result<usize> {
        let mut client = self.bind_root().await?;
        let first_label = suffix.split(',').next().and_then(|rdn| rdn.strip_prefix("dc=")).unwrap_or("bench");
        client
            .add(suffix, vec![attribute("objectClass", &["dcObject", "organization"]), attribute("o", &[first_label])])
            .await?
            .then_some(())
            .context("slapd refused the suffix entry")?;
        client
            .add(container, vec![attribute("objectClass", &["organizationalUnit"]), attribute("ou", &["contacts"])])
            .await?
            .then_some(())
            .context("slapd refused the contacts container")?;
        let entries = entries.into_iter().map(|entry| (entry.dn.clone(), with_naming_attribute(entry))).collect();
        client.add_all(entries).await
    }
}

fn config_text(dir: &Path, suffix: &str, root_dn: &str) -> String {
    let dir = dir.display();
    format!(
        "include /etc/ldap/schema/core.schema\n\
         include /etc/ldap/schema/cosine.schema\n\
         include /etc/ldap/schema/inetorgperson.schema\n\
         pidfile {dir}/slapd.pid\n\
         modulepath /usr/lib/ldap\n\
         moduleload back_mdb\n\
         sizelimit unlimited\n\
         loglevel none\n\
         database mdb\n\
         dbnosync\n\
         maxsize 4294967296\n\
         suffix \"{suffix}\"\n\
         rootdn \"{root_dn}\"\n\
         rootpw {ROOT_PASSWORD}\n\
         directory {dir}/db\n\
         index objectClass eq\n\
         index cn,sn eq,sub\n\
         index telephoneNumber,mobile,homePhone eq,sub\n"
    )
}

/// slapd wants the attribute of an entry's RDN (`uid=…`) among its attributes, and no
/// attribute without values.
fn with_naming_attribute(entry: LdapSearchResultEntry) -> Vec<LdapAttribute> {
    let mut attributes: Vec<LdapAttribute> = entry.attributes.into_iter().filter(|a| !a.vals.is_empty()).collect();
    let rdn = entry.dn.split(',').next().unwrap_or_default();
    if let Some((name, value)) = rdn.split_once('=')
        && !attributes.iter().any(|a| a.atype.eq_ignore_ascii_case(name))
    {
        attributes.push(attribute(name, &[value]));
    }
    attributes
}

fn attribute(name: &str, values: &[&str]) -> LdapAttribute {
    LdapAttribute { atype: name.to_string(), vals: values.iter().map(|v| v.as_bytes().to_vec()).collect() }
}

async fn free_port() -> Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    Ok(listener.local_addr()?)
}

async fn wait_for(address: SocketAddr) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if tokio::net::TcpStream::connect(address).await.is_ok() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("slapd did not listen on {address} within 20 s")
}
