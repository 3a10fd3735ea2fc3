//! `switchboard device`: desk-phone credentials, and the settings to paste into phones.

use std::io::Write;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use switchboard_app::provisioning::{DEFAULT_LDAP_PORT, DeviceSettings, PublicAddress, Secrets, settings};
use switchboard_app::{App, Caller, CreatedDevice, DeviceInput, DeviceView};
use switchboard_core::DomainName;
use uuid::Uuid;

#[derive(Subcommand)]
pub enum DeviceCommand {
    /// Creates a device credential and prints its URL token, LDAP bind DN and password once.
    Add {
        /// The domain, like `acme.example`.
        domain: String,
        /// What the device is, e.g. "Reception T54W".
        #[arg(long)]
        name: String,
        /// Extension of a user whose own contacts and favorites the book includes.
        #[arg(long)]
        user: Option<String>,
        /// An address range (CIDR) the device may connect from; repeat for several. Anywhere when absent.
        #[arg(long = "allow", value_name = "CIDR")]
        allow: Vec<String>,
        /// Prints exactly `{"token": …, "bind_dn": …, "password": …}`, for scripts.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        public: PublicArgs,
    },
    /// Lists a domain's device credentials (revoked ones too).
    List {
        /// The domain, like `acme.example`.
        domain: String,
    },
    /// Revokes a device credential: its token and password stop working at once.
    Revoke {
        /// The domain, like `acme.example`.
        domain: String,
        /// The device's id, as `device list` prints it.
        id: String,
    },
    /// Prints a device's phonebook URLs and LDAP settings, and each phone vendor's provisioning keys for them.
    Show {
        /// The domain, like `acme.example`.
        domain: String,
        /// The device's id, as `device list` prints it.
        id: String,
        #[command(flatten)]
        public: PublicArgs,
    },
}

/// Where phones reach the server.
#[derive(Args)]
pub struct PublicArgs {
    /// The server's address as phones reach it.
    #[arg(long, env = "SWITCHBOARD_PUBLIC_URL", default_value = "http://localhost:8080")]
    base_url: String,
    /// The LDAP server as phones reach it (`host:port`); the base URL's host, port 3389, when absent.
    #[arg(long, env = "SWITCHBOARD_PUBLIC_LDAP")]
    ldap: Option<String>,
}

impl PublicArgs {
    fn address(&self) -> PublicAddress {
        PublicAddress { base_url: self.base_url.clone(), ldap: self.ldap.clone(), ldap_port: DEFAULT_LDAP_PORT }
    }
}

pub async fn run(command: DeviceCommand, app: &App) -> Result<()> {
    let system = Caller::System;
    match command {
        DeviceCommand::Add { domain, name, user, allow, json, public } => {
            let input = DeviceInput { name, user, allowed_networks: allow };
            let created = app.create_device(&system, &domain, input).await?;
            if json {
                let secrets = serde_json::json!({
                    "token": created.token, "bind_dn": created.bind_dn, "password": created.password,
                });
                say!("{secrets}")?;
            } else {
                print_created(&domain, &created, &public.address())?;
            }
        }
        DeviceCommand::List { domain } => {
            let mut cursor = None;
            loop {
                let page = app.list_devices(&system, &domain, Some(500), cursor.as_deref()).await?;
                for device in &page.items {
                    say!("{}", list_line(device))?;
                }
                match page.next_cursor {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
        }
        DeviceCommand::Revoke { domain, id } => {
            let device = app.revoke_device(&system, &domain, device_id(&id)?).await?;
            say!("device {} ({}) revoked", device.id, device.name)?;
        }
        DeviceCommand::Show { domain, id, public } => {
            let device = app.device(&system, &domain, device_id(&id)?).await?;
            say!("{}", list_line(&device))?;
            say!("(the token and password were shown once, when the device was added: put them where it says)\n")?;
            let text = settings(&domain_name(&domain)?, &DeviceSettings::from(&device), None, &public.address());
            std::io::stdout().write_all(text.as_bytes())?;
        }
    }
    Ok(())
}

fn device_id(text: &str) -> Result<Uuid> {
    text.trim().parse().context("a device id looks like 0192f0c4-…; see `switchboard device list`")
}

fn domain_name(domain: &str) -> Result<DomainName> {
    domain.parse().map_err(|message: String| anyhow::anyhow!(message))
}

fn list_line(device: &DeviceView) -> String {
    let time =
        |at: Option<chrono::DateTime<chrono::Utc>>| at.map_or("-".into(), |at| at.format("%Y-%m-%d %H:%M").to_string());
    let networks =
        if device.allowed_networks.is_empty() { "anywhere".into() } else { device.allowed_networks.join(",") };
    let state = if device.revoked_at.is_some() { "revoked" } else { "active" };
    format!(
        "{}\t{}\tuser {}\tfrom {networks}\tlast used {}\t{state}",
        device.id,
        device.name,
        device.user.as_deref().unwrap_or("-"),
        time(device.last_used_at)
    )
}

fn print_created(domain: &str, created: &CreatedDevice, public: &PublicAddress) -> Result<()> {
    say!("device {} ({}) added to {domain}", created.device.id, created.device.name)?;
    say!("token:    {}", created.token)?;
    say!("bind DN:  {}", created.bind_dn)?;
    say!("password: {}", created.password)?;
    say!("(shown once; `switchboard device revoke {domain} {}` stops them)\n", created.device.id)?;
    let secrets = Secrets { token: &created.token, password: &created.password };
    let text = settings(&domain_name(domain)?, &DeviceSettings::from(&created.device), Some(secrets), public);
    std::io::stdout().write_all(text.as_bytes())?;
    Ok(())
}
