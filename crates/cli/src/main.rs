//! `switchboard`: the one binary. Serves the directory and administers it.

/// `println!` that hands a failed write (standard output closed, as by `| head`) back as
/// an error, which `main` ends quietly, instead of panicking.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout(), $($arg)*)
    }};
}

mod dbcopy;
mod demo;
mod device;
mod missing;
mod watch;

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use switchboard_app::{App, AppConfig, BookRef, Caller, DomainInput, ExportSource, ListParams, UserInput};
use switchboard_core::names::parse_login;
use switchboard_server::ServerConfig;
use switchboard_store::{PostgresStore, SqliteStore, Store};

/// A server allocates many small strings per request (directory entries, LDAP
/// attributes); mimalloc serves them faster than the system allocator under threads.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Switchboard: the contacts and company directory of a hosted business phone system.
#[derive(Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    /// Directory of the embedded SQLite database (used when no --database is given).
    #[arg(long, global = true, default_value = "./data", env = "SWITCHBOARD_DATA_DIR")]
    data_dir: PathBuf,
    /// Database URL: `postgres://user@host/db` or `sqlite:///path/file.db`. Overrides --data-dir.
    #[arg(long, global = true, env = "SWITCHBOARD_DATABASE")]
    database: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the web server (REST API, docs, health and metrics).
    Serve(ServeArgs),
    /// Manages domains (tenants).
    #[command(subcommand)]
    Domain(DomainCommand),
    /// Manages users of a domain.
    #[command(subcommand)]
    User(UserCommand),
    /// Manages users' named API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Manages desk-phone credentials and prints the settings to paste into phones.
    #[command(subcommand)]
    Device(device::DeviceCommand),
    /// Imports an Outlook CSV, Google CSV or vCard file into shared or personal contacts.
    Import(ImportArgs),
    /// Exports shared contacts, or a group of a user's directory, to a file.
    Export(ExportArgs),
    /// Database maintenance.
    #[command(subcommand)]
    Db(DbCommand),
    /// Prints the OpenAPI document of the REST API.
    Openapi,
    /// Prints the changes of a domain's directory as they happen, read from its feed.
    Watch(watch::WatchArgs),
}

#[derive(Args)]
struct ServeArgs {
    /// Address and port to listen on (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:8080", env = "SWITCHBOARD_LISTEN")]
    listen: SocketAddr,
    /// Creates a demo domain with users, presence and shared contacts (once) and prints how to log in.
    #[arg(long)]
    demo: bool,
    /// A proxy or load balancer in front of the server (an address or CIDR range; repeat for several): only requests from these may name the client in X-Forwarded-For or Forwarded, and the client is the right-most address there that is not one of them.
    #[arg(long = "trusted-proxy", value_name = "CIDR", value_parser = parse_network, env = "SWITCHBOARD_TRUSTED_PROXIES", value_delimiter = ',')]
    trusted_proxies: Vec<ipnet::IpNet>,
    /// Replaced by --trusted-proxy: refused with a message saying so.
    #[arg(long, hide = true, env = "SWITCHBOARD_TRUST_FORWARDED_FOR")]
    trust_forwarded_for: bool,
    /// Lets webhooks be delivered to loopback, private (RFC 1918, fc00::/7), link-local and CGNAT addresses, for receivers on the operator's own network; without it such URLs are refused.
    #[arg(long, env = "SWITCHBOARD_WEBHOOK_ALLOW_PRIVATE")]
    webhook_allow_private: bool,
    /// Marks the session cookie Secure (when clients reach the server over HTTPS).
    #[arg(long, env = "SWITCHBOARD_SECURE_COOKIES")]
    secure_cookies: bool,
    /// Largest contacts file an import accepts, in megabytes.
    #[arg(long, default_value_t = 50, env = "SWITCHBOARD_MAX_IMPORT_MB")]
    max_import_mb: usize,
    /// Most contacts one import file may hold.
    #[arg(long, default_value_t = 100_000, env = "SWITCHBOARD_MAX_IMPORT_ROWS")]
    max_import_rows: usize,
    /// Imports running at once, in all; more are answered 429 (try again).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..), env = "SWITCHBOARD_MAX_IMPORTS")]
    max_imports: u32,
    /// Imports running at once into one domain; more are answered 429 (try again).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..), env = "SWITCHBOARD_MAX_IMPORTS_PER_DOMAIN")]
    max_imports_per_domain: u32,
    /// Longest one import may take, in seconds; a longer one is undone and refused.
    #[arg(long, default_value_t = 600, value_parser = clap::value_parser!(u64).range(1..), env = "SWITCHBOARD_IMPORT_TIME_LIMIT")]
    import_time_limit: u64,
    /// Entries kept in memory for phones' and users' directory searches, over all domains (about 0.5 KB each); the least recently read domains are dropped first and read from the database.
    #[arg(long, default_value_t = 300_000, env = "SWITCHBOARD_MEMORY_BOOK_ENTRIES")]
    memory_book_entries: usize,
    /// Also serves the directory over LDAP (for desk phones) on this address, e.g. 127.0.0.1:3389; off unless given.
    #[arg(long, env = "SWITCHBOARD_LDAP_LISTEN")]
    ldap: Option<SocketAddr>,
    /// Also serves LDAP over TLS (LDAPS) on this address, e.g. 0.0.0.0:636; needs --ldap-cert and --ldap-key.
    #[arg(long, env = "SWITCHBOARD_LDAPS_LISTEN")]
    ldaps: Option<SocketAddr>,
    /// The LDAP server's certificate chain (PEM, its own certificate first), for --ldaps and StartTLS on --ldap.
    #[arg(long, env = "SWITCHBOARD_LDAP_CERT")]
    ldap_cert: Option<PathBuf>,
    /// The private key of --ldap-cert (PEM: PKCS#8, PKCS#1 or SEC1).
    #[arg(long, env = "SWITCHBOARD_LDAP_KEY")]
    ldap_key: Option<PathBuf>,
    /// Lets users (`200@acme.example`) bind on plain LDAP, their password in clear; without it they must use LDAPS or StartTLS (device credentials may always bind on plain LDAP).
    #[arg(long, env = "SWITCHBOARD_LDAP_ALLOW_PLAIN_USER_BINDS")]
    ldap_allow_plain_user_binds: bool,
    /// LDAP connections open at once from one client address (an office's phones may share one).
    #[arg(long, default_value_t = 256, env = "SWITCHBOARD_LDAP_MAX_CONNECTIONS_PER_ADDRESS")]
    ldap_max_connections_per_address: usize,
    /// The server's address as phones reach it, for the settings the portal's Desk phones page shows; as the page was reached when absent.
    #[arg(long, env = "SWITCHBOARD_PUBLIC_URL")]
    public_url: Option<String>,
    /// The LDAP server as phones reach it (`host:port`); the public host at the port of --ldap when absent.
    #[arg(long, env = "SWITCHBOARD_PUBLIC_LDAP")]
    public_ldap: Option<String>,
}

#[derive(Args)]
struct ImportArgs {
    /// The domain, like `acme.example`.
    #[arg(long)]
    domain: String,
    /// Import into this user's own contacts instead of the shared contacts.
    #[arg(long)]
    user: Option<String>,
    /// auto (detected from the content), outlook, google or vcard.
    #[arg(long, default_value = "auto")]
    format: String,
    /// upsert (update matching contacts, create the others), add (create all) or replace (the book becomes the file; the rest goes to the trash).
    #[arg(long, default_value = "upsert")]
    mode: String,
    /// Shows what would happen, row by row, and writes nothing.
    #[arg(long)]
    dry_run: bool,
    /// Writes nothing when any row is rejected.
    #[arg(long)]
    strict: bool,
    /// The file to import.
    file: PathBuf,
}

#[derive(Args)]
struct ExportArgs {
    /// The domain, like `acme.example`.
    #[arg(long)]
    domain: String,
    /// Export this user's directory instead of the shared contacts.
    #[arg(long)]
    user: Option<String>,
    /// With --user: all, favorites, shared, mine, coworkers, department:NAME, site:NAME, available, busy, offline.
    #[arg(long, default_value = "all")]
    group: String,
    /// outlook, google, vcard (3.0) or vcard4.
    #[arg(long)]
    format: String,
    /// File to write; standard output when absent.
    #[arg(short, long)]
    output: Option<PathBuf>,
}

#[derive(Subcommand)]
enum DomainCommand {
    /// Adds a domain.
    Add {
        /// Domain name, like `acme.example`.
        name: String,
        /// Reseller the domain belongs to (created when new).
        #[arg(long)]
        reseller: Option<String>,
        /// Country for numbers written without `+` (two letters, default US).
        #[arg(long)]
        country: Option<String>,
        /// A description shown to administrators.
        #[arg(long, default_value = "")]
        description: String,
    },
    /// Lists domains.
    List,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Adds a user; prints a generated password unless --password-stdin is given.
    Add {
        /// The user's domain, like `acme.example`.
        domain: String,
        /// The user's extension (digits); it never changes.
        extension: String,
        /// First name.
        #[arg(long)]
        first: String,
        /// Last name.
        #[arg(long)]
        last: String,
        /// super-user, reseller, office-manager, site-manager, call-center-supervisor, call-center-agent, basic-user or simple-user.
        #[arg(long)]
        scope: String,
        /// Department, shown and grouped by in the directory.
        #[arg(long, default_value = "")]
        department: String,
        /// Site (office location); site-managers manage the users of their site.
        #[arg(long, default_value = "")]
        site: String,
        /// Email address.
        #[arg(long, default_value = "")]
        email: String,
        /// Hides the user from the directory ("List in Directory" off).
        #[arg(long)]
        unlisted: bool,
        /// Reads the password from standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Lists the users of a domain.
    List {
        /// The domain, like `acme.example`.
        domain: String,
    },
    /// Sets a user's password (generated and printed unless --password-stdin).
    Passwd {
        /// `extension@domain`
        user: String,
        /// Reads the new password from standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Lists the users deleted in the last 30 days, which `user restore` brings back.
    Deleted {
        /// The domain, like `acme.example`.
        domain: String,
    },
    /// Restores a deleted user with their own contacts, favorites, settings and devices.
    Restore {
        /// The domain, like `acme.example`.
        domain: String,
        /// The deleted user's extension (the last one deleted with it) or id.
        user: String,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Creates a named API token for a user (or, with `--kind pbx`, a PBX credential for a
    /// domain) and prints its secret once.
    Create {
        /// `extension@domain` (with `--kind pbx`: the domain)
        owner: String,
        /// What the token is for, e.g. "Reporting script" or "Main office PBX".
        #[arg(long)]
        name: String,
        #[arg(long, value_enum, default_value_t = TokenKindArg::Api)]
        kind: TokenKindArg,
    },
    /// Lists a user's API tokens (or a domain's PBX credentials).
    List {
        /// `extension@domain` (with `--kind pbx`: the domain)
        owner: String,
        #[arg(long, value_enum, default_value_t = TokenKindArg::Api)]
        kind: TokenKindArg,
    },
    /// Revokes one of a user's API tokens (or a domain's PBX credentials).
    Revoke {
        /// `extension@domain` (with `--kind pbx`: the domain)
        owner: String,
        /// The token's id, as `token create` and `token list` print it.
        id: String,
        #[arg(long, value_enum, default_value_t = TokenKindArg::Api)]
        kind: TokenKindArg,
    },
}

/// What a token may do.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum TokenKindArg {
    /// A user's API token: acts as that user.
    Api,
    /// A PBX credential of a domain: reports its users' line states, nothing else.
    Pbx,
}

#[derive(Subcommand)]
enum DbCommand {
    /// Creates or upgrades the schema (also done automatically at start).
    Migrate,
    /// Copies everything from one database to another (empty) one and verifies the row counts.
    Copy {
        /// Source database URL (`sqlite://…` or `postgres://…`).
        #[arg(long)]
        from: String,
        /// Target database URL; it must be new or empty.
        #[arg(long)]
        to: String,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // A server logs what it does; a command says what it did on standard output, and
    // logs only warnings (not, say, PostgreSQL's notices at start).
    let default_level = if matches!(cli.command, Command::Serve(_)) { "info" } else { "warn" };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SWITCHBOARD_LOG").unwrap_or_else(|_| default_level.into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match start(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        // Whoever read the output has what they wanted (`| head`): end quietly, as Unix tools do.
        Err(error) if is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {}", one_line(&error));
            ExitCode::FAILURE
        }
    }
}

/// An error and its causes on one line, for a person to act on.
fn one_line(error: &anyhow::Error) -> String {
    format!("{error:#}").split_whitespace().collect::<Vec<_>>().join(" ")
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

async fn start(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Openapi => {
            say!("{}", switchboard_server::openapi_json())?;
            Ok(())
        }
        Command::Db(DbCommand::Copy { from, to }) => {
            dbcopy::copy(&*open_store(&from).await?, &*open_store(&to).await?).await
        }
        command => {
            let url = database_url(&cli.data_dir, cli.database.as_deref())?;
            let mut config = AppConfig::default();
            if let Command::Serve(args) = &command {
                config.max_import_rows = args.max_import_rows;
                config.max_imports = args.max_imports as usize;
                config.max_imports_per_domain = args.max_imports_per_domain as usize;
                config.import_time_limit = std::time::Duration::from_secs(args.import_time_limit);
                config.book_index_max_entries = args.memory_book_entries;
                config.webhooks.allow_private = args.webhook_allow_private;
            }
            let app = App::new(open_store(&url).await?, config);
            // The app answers a bare "not found" (to a user, what another domain holds must
            // look absent); the operator is told which of the names given is missing.
            let named = missing::Named::of(&command);
            match run(command, app.clone(), &url).await {
                Err(error) if missing::is_not_found(&error) => Err(named.explain(&app).await),
                other => other,
            }
        }
    }
}

async fn run(command: Command, app: App, url: &str) -> Result<()> {
    let system = Caller::System;
    match command {
        Command::Serve(args) => serve(args, app).await,
        Command::Domain(DomainCommand::Add { name, reseller, country, description }) => {
            let domain = app
                .create_domain(&system, DomainInput { name, description, reseller, default_country: country })
                .await?;
            say!("added domain {} (country {})", domain.domain.name, domain.default_country)?;
            Ok(())
        }
        Command::Domain(DomainCommand::List) => {
            for_each_page(
                async |params| app.list_domains(&system, params).await,
                |d| {
                    say!(
                        "{}\t{}\t{}\t{}",
                        d.domain.name,
                        d.default_country,
                        d.domain.reseller.as_deref().unwrap_or("-"),
                        d.domain.description
                    )
                },
            )
            .await
        }
        Command::User(UserCommand::Add {
            domain,
            extension,
            first,
            last,
            scope,
            department,
            site,
            email,
            unlisted,
            password_stdin,
        }) => {
            let password = if password_stdin { Some(read_password()?) } else { None };
            let input = UserInput {
                extension,
                first_name: first,
                last_name: last,
                email,
                department,
                site,
                scope: Some(scope),
                listed: Some(!unlisted),
                password,
            };
            let created = app.create_user(&system, &domain, input).await?;
            say!("added user {}@{domain} ({})", created.user.extension, created.user.scope)?;
            if let Some(password) = created.generated_password {
                say!("password: {password}\n(shown once; change it with `switchboard user passwd`)")?;
            }
            Ok(())
        }
        Command::User(UserCommand::List { domain }) => {
            for_each_page(
                async |params| app.list_users(&system, &domain, params).await,
                |u| {
                    let listed = if u.listed { "" } else { "\t(unlisted)" };
                    say!(
                        "{}\t{} {}\t{}\t{}\t{}{listed}",
                        u.extension,
                        u.first_name,
                        u.last_name,
                        u.scope,
                        u.department,
                        u.site
                    )
                },
            )
            .await
        }
        Command::User(UserCommand::Passwd { user, password_stdin }) => {
            let (ext, domain) = parse_login(&user).context("give the user as extension@domain")?;
            let generated = (!password_stdin).then(switchboard_app::auth::generate_password);
            let password = match &generated {
                Some(password) => password.clone(),
                None => read_password()?,
            };
            app.set_password(&system, domain.as_str(), ext.as_str(), &password).await?;
            match generated {
                Some(password) => say!("new password for {user}: {password}")?,
                None => say!("password of {user} changed")?,
            }
            Ok(())
        }
        Command::User(UserCommand::Deleted { domain }) => {
            let deleted = deleted_users(&app, &domain).await?;
            for u in &deleted {
                let deleted_at = u.deleted_at.format("%Y-%m-%d %H:%M");
                println!(
                    "{}	{} {}	{}	deleted {deleted_at} by {}	{}",
                    u.extension, u.first_name, u.last_name, u.scope, u.deleted_by, u.id
                );
            }
            Ok(())
        }
        Command::User(UserCommand::Restore { domain, user }) => {
            let id = match uuid::Uuid::parse_str(&user) {
                Ok(id) => id,
                Err(_) => deleted_users(&app, &domain)
                    .await?
                    .into_iter()
                    .filter(|deleted| deleted.extension == user)
                    .max_by_key(|deleted| deleted.deleted_at)
                    .map(|deleted| deleted.id)
                    .with_context(|| format!("no user of {domain} with extension {user} is in the trash"))?,
            };
            let restored = app.restore_user(&system, &domain, id).await?;
            println!("restored {}@{domain} ({} {})", restored.extension, restored.first_name, restored.last_name);
            Ok(())
        }
        Command::Token(command) => token(command, &app).await,
        Command::Device(command) => device::run(command, &app).await,
        Command::Export(args) => export(args, &app).await,
        Command::Import(args) => import(args, &app).await,
        Command::Watch(args) => watch::run(args, &app).await,
        Command::Db(DbCommand::Migrate) => {
            say!("database schema is up to date ({})", redact(url))?;
            Ok(())
        }
        Command::Db(DbCommand::Copy { .. }) | Command::Openapi => {
            unreachable!("handled before opening the default database")
        }
    }
}

async fn token(command: TokenCommand, app: &App) -> Result<()> {
    let system = Caller::System;
    let user_of = async |login: &str| {
        let (ext, domain) = parse_login(login).context("give the user as extension@domain")?;
        anyhow::Ok(app.get_user(&Caller::System, domain.as_str(), ext.as_str()).await?)
    };
    let id_of = |id: &str| -> Result<uuid::Uuid> {
        id.parse().context("a token id looks like 0192f0c4-…; see `switchboard token list`")
    };
    match command {
        TokenCommand::Create { owner: domain, name, kind: TokenKindArg::Pbx } => {
            let token = app.create_pbx_credential(&system, &domain, &name).await?;
            say!(
                "PBX credential {} ({name}) for {domain}:\n{}\n(shown once; the PBX sends it as `Authorization: Bearer …` to POST /api/v1/domains/{domain}/presence/lines)",
                token.credential.id,
                token.secret
            )?;
        }
        TokenCommand::List { owner: domain, kind: TokenKindArg::Pbx } => {
            for credential in app.list_pbx_credentials(&system, &domain).await? {
                say!("{}\t{}\t{}", credential.id, credential.name, credential.created_at.format("%Y-%m-%d %H:%M"))?;
            }
        }
        TokenCommand::Revoke { owner: domain, id, kind: TokenKindArg::Pbx } => {
            let id = id_of(&id)?;
            app.revoke_pbx_credential(&system, &domain, id).await?;
            say!("PBX credential {id} revoked")?;
        }
        TokenCommand::Create { owner: user, name, kind: TokenKindArg::Api } => {
            let owner = user_of(&user).await?;
            let token = app.create_api_token(&system, &owner, &name).await?;
            say!(
                "token {} ({name}) for {user}:\n{}\n(shown once; send it as `Authorization: Bearer …`)",
                token.token.id,
                token.secret
            )?;
        }
        TokenCommand::List { owner: user, kind: TokenKindArg::Api } => {
            let owner = user_of(&user).await?;
            for token in app.list_api_tokens(&system, &owner).await? {
                say!("{}\t{}\t{}", token.id, token.name, token.created_at.format("%Y-%m-%d %H:%M"))?;
            }
        }
        TokenCommand::Revoke { owner: user, id, kind: TokenKindArg::Api } => {
            let owner = user_of(&user).await?;
            let id = id_of(&id)?;
            app.revoke_api_token(&system, &owner, id).await?;
            say!("token {id} revoked")?;
        }
    }
    Ok(())
}

async fn import(args: ImportArgs, app: &App) -> Result<()> {
    let options =
        switchboard_app::parse_import_options(Some(&args.format), Some(&args.mode), args.dry_run, args.strict)?;
    let file = std::fs::File::open(&args.file).with_context(|| format!("cannot open {}", args.file.display()))?;
    let progress = ProgressBar::new(file.metadata()?.len());
    progress.set_style(
        ProgressStyle::with_template("reading [{bar:40}] {bytes}/{total_bytes} ({eta} left)")?.progress_chars("=> "),
    );
    let book = match args.user {
        Some(extension) => BookRef::Personal { domain: args.domain, extension },
        None => BookRef::Shared { domain: args.domain },
    };
    let report = app.import(&Caller::System, &book, Box::new(progress.wrap_read(file)), options).await;
    progress.finish_and_clear();
    let report = report?;
    for preview in &report.previews {
        let reason = preview.reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default();
        say!("row {:>6}  {:<9} {}{reason}", preview.row, format!("{:?}", preview.action).to_lowercase(), preview.name)?;
    }
    let field =
        |problem: &switchboard_app::RowProblem| problem.field.as_deref().map(|f| format!("{f}: ")).unwrap_or_default();
    for problem in &report.errors {
        say!("row {:>6}  rejected: {}{}", problem.row, field(problem), problem.message)?;
    }
    for problem in &report.warnings {
        say!("row {:>6}  kept without {}{}", problem.row, field(problem), problem.message)?;
    }
    say!("{} ({}): {} rows", report.format, report.encoding, report.rows)?;
    say!(
        "created {}, updated {}, unchanged {}, rejected {}, moved to trash {}, kept without a field {}",
        report.created,
        report.updated,
        report.unchanged,
        report.rejected,
        report.trashed,
        report.warned
    )?;
    match (&report.held_back, report.committed) {
        (_, true) => say!("committed")?,
        (Some(why), false) => say!("nothing was written: {why}")?,
        (None, false) => say!("nothing was written")?,
    }
    Ok(())
}

async fn export(args: ExportArgs, app: &App) -> Result<()> {
    use futures::StreamExt;
    let format = switchboard_app::parse_export_format(Some(&args.format))?;
    let source = match args.user {
        Some(extension) => ExportSource::Directory { domain: args.domain, extension, group: args.group },
        None => ExportSource::Shared { domain: args.domain },
    };
    let mut export = app.export(&Caller::System, &source, format).await?;
    let mut out: Box<dyn Write> = match &args.output {
        Some(path) => {
            Box::new(std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?)
        }
        None => Box::new(std::io::stdout().lock()),
    };
    let mut written = 0;
    while let Some(chunk) = export.chunks.next().await {
        let chunk = chunk?;
        written += chunk.len();
        out.write_all(&chunk)?;
    }
    out.flush()?;
    if let Some(path) = &args.output {
        eprintln!("wrote {written} bytes to {}", path.display());
    }
    Ok(())
}

/// Prints every page of a list.
/// Every deleted user of a domain, page after page.
async fn deleted_users(app: &App, domain: &str) -> Result<Vec<switchboard_app::DeletedUserView>> {
    let (mut users, mut cursor) = (Vec::new(), None);
    loop {
        let page = app.deleted_users(&Caller::System, domain, Some("500"), cursor.as_deref()).await?;
        users.extend(page.items);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(users),
        }
    }
}

async fn for_each_page<T>(
    fetch: impl AsyncFn(&ListParams) -> switchboard_app::Result<switchboard_core::paging::Page<T>>,
    mut print: impl FnMut(&T) -> std::io::Result<()>,
) -> Result<()> {
    let mut params = ListParams { limit: Some("500".into()), ..Default::default() };
    loop {
        let page = fetch(&params).await?;
        page.items.iter().try_for_each(&mut print)?;
        match page.next_cursor {
            Some(cursor) => params.cursor = Some(cursor),
            None => return Ok(()),
        }
    }
}

async fn serve(args: ServeArgs, app: App) -> Result<()> {
    if args.trust_forwarded_for {
        bail!(
            "--trust-forwarded-for (SWITCHBOARD_TRUST_FORWARDED_FOR) is no longer accepted: it believed the first \
             X-Forwarded-For address, which any client can write. Name the proxies in front of the server instead: \
             --trusted-proxy CIDR (repeatable; or SWITCHBOARD_TRUSTED_PROXIES=CIDR,CIDR)"
        );
    }
    let ldap_tls = ldap_tls(&args)?;
    // An import cut short by the last stop (a crash, kill -9) left rows nobody sees: remove them.
    let discarded = app.discard_unfinished_imports(true).await?;
    if discarded > 0 {
        tracing::info!(discarded, "removed what unfinished imports had written");
    }
    if args.demo {
        demo::create(&app).await?;
    }
    let ldap_config = switchboard_ldap::LdapConfig {
        allow_plain_user_binds: args.ldap_allow_plain_user_binds,
        max_connections_per_address: args.ldap_max_connections_per_address.max(1),
        ..switchboard_ldap::LdapConfig::default()
    };
    let ldap_port = match args.ldap {
        Some(ldap) => Some(spawn_ldap(ldap, app.clone(), ldap_config.clone(), ldap_tls.clone()).await?.port()),
        None => None,
    };
    if let (Some(ldaps), Some(tls)) = (args.ldaps, ldap_tls) {
        spawn_ldaps(ldaps, app.clone(), ldap_config, tls).await?;
    }
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let address = listener.local_addr()?;
    // Tests and scripts read this line to find the port when listening on port 0.
    announce(format_args!("listening on http://{address}"));
    announce(format_args!("API docs: http://{address}/api/docs"));
    spawn_trash_purge(app.clone());
    spawn_retention_purge(app.clone());
    spawn_presence_expiry(app.clone());
    spawn_login_purge(app.clone());
    // Delivers the domains' webhooks; several servers share the work (one at a time per webhook).
    tokio::spawn(app.clone().run_webhooks());
    let config = ServerConfig {
        trusted_proxies: args.trusted_proxies,
        secure_cookies: args.secure_cookies,
        max_import_bytes: args.max_import_mb.saturating_mul(1024 * 1024),
        public_url: args.public_url,
        public_ldap: args.public_ldap,
        ldap_port,
        ..ServerConfig::default()
    };
    switchboard_server::serve(listener, app, config, shutdown_signal()).await?;
    Ok(())
}

/// Prints where the server listens. A server keeps serving when nobody reads its
/// standard output (closed, unlike a command's, is no reason to stop).
fn announce(line: std::fmt::Arguments<'_>) {
    if let Err(error) = say!("{line}") {
        tracing::warn!(%error, "cannot print to standard output: {line}");
    }
}

/// The LDAP server's certificate and key, read (and checked) before anything listens.
fn ldap_tls(args: &ServeArgs) -> Result<Option<switchboard_ldap::LdapTls>> {
    match (&args.ldap_cert, &args.ldap_key) {
        (Some(cert), Some(key)) => {
            if args.ldap.is_none() && args.ldaps.is_none() {
                bail!("--ldap-cert and --ldap-key are for --ldaps or --ldap (StartTLS); neither is given");
            }
            Ok(Some(switchboard_ldap::LdapTls::from_pem_files(cert, key)?))
        }
        (Some(_), None) => bail!("--ldap-cert needs --ldap-key, the certificate's private key"),
        (None, Some(_)) => bail!("--ldap-key needs --ldap-cert, the certificate it goes with"),
        (None, None) if args.ldaps.is_some() => {
            bail!("--ldaps needs a certificate and its key: add --ldap-cert CERT.pem --ldap-key KEY.pem")
        }
        (None, None) => Ok(None),
    }
}

/// Serves LDAP next to HTTP (with StartTLS when there is a certificate); printed before
/// the HTTP address, which scripts wait for.
/// Returns the address it listens on (port 0 picks a free one).
async fn spawn_ldap(
    address: SocketAddr,
    app: App,
    config: switchboard_ldap::LdapConfig,
    tls: Option<switchboard_ldap::LdapTls>,
) -> Result<SocketAddr> {
    let listener =
        tokio::net::TcpListener::bind(address).await.with_context(|| format!("cannot listen for LDAP on {address}"))?;
    let bound = listener.local_addr()?;
    announce(format_args!("LDAP listening on ldap://{bound}"));
    let config = switchboard_ldap::LdapConfig { start_tls: tls, ..config };
    tokio::spawn(switchboard_ldap::serve(listener, app, config));
    Ok(bound)
}

/// Serves LDAPS next to HTTP, like [`spawn_ldap`].
async fn spawn_ldaps(
    address: SocketAddr,
    app: App,
    config: switchboard_ldap::LdapConfig,
    tls: switchboard_ldap::LdapTls,
) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot listen for LDAPS on {address}"))?;
    announce(format_args!("LDAPS listening on ldaps://{}", listener.local_addr()?));
    tokio::spawn(switchboard_ldap::serve_tls(listener, tls, app, config));
    Ok(())
}

/// Empties the trash of contacts deleted more than 30 days ago, hourly, and removes what
/// imports abandoned long ago wrote (one run by a command that was killed).
fn spawn_trash_purge(app: App) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            tick.tick().await;
            match app.purge_trash().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(purged = n, "emptied old contacts from the trash"),
                Err(error) => tracing::warn!(%error, "could not empty the trash"),
            }
            match app.discard_unfinished_imports(false).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(discarded = n, "removed what abandoned imports had written"),
                Err(error) => tracing::warn!(%error, "could not remove what abandoned imports had written"),
            }
        }
    });
}

/// Deletes chat messages past their domain's retention, and the directory feed's
/// deleted entries past the 30 days it keeps them, every hour.
fn spawn_retention_purge(app: App) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            tick.tick().await;
            match app.purge_old_chat().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(purged = n, "deleted chat messages past their domain's retention"),
                Err(error) => tracing::warn!(%error, "could not delete old chat messages"),
            }
            match app.purge_feed().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(purged = n, "forgot the feed's deleted entries older than 30 days"),
                Err(error) => tracing::warn!(%error, "could not purge the directory feed"),
            }
        }
    });
}

/// Clears status messages and "busy" states whose time has come, every second, so
/// open pages see them go on time.
fn spawn_presence_expiry(app: App) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
        loop {
            tick.tick().await;
            if let Err(error) = app.expire_presence().await {
                tracing::warn!(%error, "could not clear expired presence");
            }
        }
    });
}

/// Deletes expired sessions and tokens and old failed-login counters, hourly, so
/// neither table grows without end.
fn spawn_login_purge(app: App) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            tick.tick().await;
            match app.purge_expired_logins().await {
                Ok((0, 0)) => {}
                Ok((tokens, failures)) => {
                    tracing::info!(tokens, failures, "purged expired sessions and old failed logins")
                }
                Err(error) => tracing::warn!(%error, "could not purge expired sessions"),
            }
        }
    });
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    let mut term =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("signal handlers install");
    tokio::select! {
        _ = ctrl_c => {}
        _ = term.recv() => {}
    }
}

/// A `--trusted-proxy`: a CIDR range, or one address (`10.0.0.7` is `10.0.0.7/32`).
fn parse_network(text: &str) -> Result<ipnet::IpNet, String> {
    let text = text.trim();
    text.parse::<ipnet::IpNet>()
        .or_else(|_| text.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map(|net| net.trunc())
        .map_err(|_| format!("`{text}` is not an address or a CIDR range such as 10.0.0.0/8 or 2001:db8::/32"))
}

fn read_password() -> Result<String> {
    let mut password = String::new();
    std::io::stdin().read_to_string(&mut password)?;
    let password = password.trim_end_matches(['\r', '\n']).to_string();
    if password.is_empty() {
        bail!("no password on standard input");
    }
    Ok(password)
}

/// The database to use: --database, else the SQLite file in --data-dir.
fn database_url(data_dir: &std::path::Path, database: Option<&str>) -> Result<String> {
    if let Some(url) = database {
        return Ok(url.to_string());
    }
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create the data directory {}", data_dir.display()))?;
    Ok(format!("sqlite://{}", data_dir.join("switchboard.db").display()))
}

async fn open_store(url: &str) -> Result<Arc<dyn Store>> {
    let store: Arc<dyn Store> = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Arc::new(PostgresStore::connect(url).await.with_context(|| format!("cannot open {}", redact(url)))?)
    } else if url.starts_with("sqlite:") {
        Arc::new(SqliteStore::open(url).await.with_context(|| format!("cannot open {url}"))?)
    } else {
        bail!("unknown database URL `{}`: use postgres://… or sqlite://…", redact(url))
    };
    Ok(store)
}

/// A database URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..])
        }
        _ => url.to_string(),
    }
}
