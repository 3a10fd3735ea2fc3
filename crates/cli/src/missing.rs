//! Says which of the names a command was given is missing, when the app answers "not
//! found": to a user the app never tells what exists elsewhere, but the operator on the
//! server may know, and must know to fix the command.

use switchboard_app::{App, AppError, Caller};
use switchboard_core::names::parse_login;

use crate::device::DeviceCommand;
use crate::{Command, ExportArgs, ImportArgs, TokenCommand, TokenKindArg, UserCommand};

/// The names a command was given, from the widest (its domain) to the narrowest.
#[derive(Default)]
pub struct Named {
    domain: Option<String>,
    /// An extension in `domain`.
    user: Option<String>,
    /// What else the command names, said when the domain and user are there.
    item: Option<String>,
}

pub fn is_not_found(error: &anyhow::Error) -> bool {
    matches!(error.downcast_ref::<AppError>(), Some(AppError::NotFound))
}

impl Named {
    pub fn of(command: &Command) -> Named {
        match command {
            Command::User(UserCommand::Add { domain, .. } | UserCommand::List { domain }) => Named::domain(domain),
            Command::User(UserCommand::Passwd { user, .. }) => Named::login(user),
            Command::Token(
                TokenCommand::Create { owner, kind: TokenKindArg::Pbx, .. }
                | TokenCommand::List { owner, kind: TokenKindArg::Pbx },
            ) => Named::domain(owner),
            Command::Token(TokenCommand::Revoke { owner, id, kind: TokenKindArg::Pbx }) => Named {
                item: Some(format!(
                    "{owner} has no PBX credential {id} (see `switchboard token list {owner} --kind pbx`)"
                )),
                ..Named::domain(owner)
            },
            Command::Token(TokenCommand::Create { owner, .. } | TokenCommand::List { owner, .. }) => {
                Named::login(owner)
            }
            Command::Token(TokenCommand::Revoke { owner, id, .. }) => Named {
                item: Some(format!("{owner} has no API token {id} (see `switchboard token list {owner}`)")),
                ..Named::login(owner)
            },
            Command::Device(command) => Named::of_device(command),
            Command::Import(ImportArgs { domain, user, .. }) => Named { user: user.clone(), ..Named::domain(domain) },
            Command::Export(ExportArgs { domain, user, .. }) => Named {
                user: user.clone(),
                item: user.as_ref().map(|user| {
                    format!(
                        "the directory of {user}@{domain} is read by that user alone, not by the CLI \
                         (export shared contacts without --user)"
                    )
                }),
                ..Named::domain(domain)
            },
            _ => Named::default(),
        }
    }

    fn of_device(command: &DeviceCommand) -> Named {
        match command {
            DeviceCommand::Add { domain, .. } | DeviceCommand::List { domain } => Named::domain(domain),
            DeviceCommand::Revoke { domain, id } | DeviceCommand::Show { domain, id, .. } => Named {
                item: Some(format!("{domain} has no device {id} (see `switchboard device list {domain}`)")),
                ..Named::domain(domain)
            },
        }
    }

    fn domain(domain: &str) -> Named {
        Named { domain: Some(domain.to_string()), ..Named::default() }
    }

    /// `extension@domain`, as the user commands take it.
    fn login(login: &str) -> Named {
        match parse_login(login) {
            Some((extension, domain)) => {
                Named { user: Some(extension.as_str().to_string()), ..Named::domain(domain.as_str()) }
            }
            None => Named::default(),
        }
    }

    /// The first name given that is not there, as an error to show.
    pub async fn explain(self, app: &App) -> anyhow::Error {
        let system = Caller::System;
        if let Some(domain) = &self.domain {
            if is_absent(app.get_domain(&system, domain).await) {
                return anyhow::anyhow!("there is no domain {domain} (see `switchboard domain list`)");
            }
            if let Some(extension) = &self.user
                && is_absent(app.get_user(&system, domain, extension).await)
            {
                return anyhow::anyhow!(
                    "{domain} has no user with extension {extension} (see `switchboard user list {domain}`)"
                );
            }
        }
        anyhow::anyhow!(self.item.unwrap_or_else(|| "not found".into()))
    }
}

fn is_absent<T>(result: Result<T, AppError>) -> bool {
    matches!(result, Err(AppError::NotFound))
}
