//! `serve --demo`: a domain with something to see.

use anyhow::Result;
use switchboard_app::{App, BookRef, Caller, ContactInput, DomainInput, PresenceInput, UserInput};
use switchboard_core::text::fold;

pub const DOMAIN: &str = "demo.example";
pub const PASSWORD: &str = "demo-password";

/// extension, first, last, scope, department, site, presence, status message
type DemoUser =
    (&'static str, &'static str, &'static str, &'static str, &'static str, &'static str, &'static str, &'static str);

const USERS: &[DemoUser] = &[
    ("100", "Olivia", "Owens", "office-manager", "Management", "Seattle", "available", ""),
    ("101", "Samuel", "Stone", "site-manager", "Management", "Portland", "busy", "On a call"),
    ("102", "Cora", "Chen", "call-center-supervisor", "Support", "Seattle", "available", ""),
    ("103", "Aaron", "Alvarez", "call-center-agent", "Support", "Seattle", "busy", ""),
    ("104", "Priya", "Patel", "call-center-agent", "Support", "Portland", "available", ""),
    ("200", "Ben", "Baker", "basic-user", "Sales", "Seattle", "available", ""),
    ("201", "Zoë", "Müller", "basic-user", "Sales", "Portland", "busy", "In a meeting"),
    ("202", "Liam", "O'Connor", "basic-user", "Engineering", "Seattle", "offline", ""),
    ("203", "Hana", "Kobayashi", "basic-user", "Engineering", "Portland", "available", "Working from home"),
    ("204", "Marco", "Rossi", "basic-user", "Finance", "Seattle", "offline", ""),
    ("300", "Sue", "Simmons", "simple-user", "Reception", "Seattle", "available", ""),
    ("900", "Rita", "Reyes", "reseller", "Provider", "", "offline", ""),
    ("999", "Sam", "Super", "super-user", "Provider", "", "offline", ""),
];

const FIRST: &[&str] = &["Ada", "Bruno", "Chloé", "Dmitri", "Elena", "Farah", "Gustav", "Hélène", "Ivan", "Jun"];
const LAST: &[&str] = &["Nguyen", "García", "Smith", "Johansson", "Okafor"];
const COMPANIES: &[&str] = &["Acme & Sons", "Globex", "Initech", "Umbrella Supplies", "Stark Logistics"];

/// Creates the demo domain once; later starts only print how to log in.
pub async fn create(app: &App) -> Result<()> {
    let system = Caller::System;
    if app.get_domain(&system, DOMAIN).await.is_err() {
        seed(app, &system).await?;
    }
    say!(
        "demo domain {DOMAIN}: log in as 200@{DOMAIN} (basic user) or 100@{DOMAIN} (office manager), password `{PASSWORD}`"
    )?;
    Ok(())
}

async fn seed(app: &App, system: &Caller) -> Result<()> {
    let input = DomainInput {
        name: DOMAIN.into(),
        description: "Demo company".into(),
        reseller: Some("Demo Reseller".into()),
        default_country: Some("US".into()),
    };
    app.create_domain(system, input).await?;
    for (ext, first, last, scope, department, site, state, message) in USERS {
        let email = format!("{}@{DOMAIN}", fold(first));
        let input = UserInput {
            extension: ext.to_string(),
            first_name: first.to_string(),
            last_name: last.to_string(),
            email,
            department: department.to_string(),
            site: site.to_string(),
            scope: Some(scope.to_string()),
            listed: Some(true),
            password: Some(PASSWORD.into()),
        };
        app.create_user(system, DOMAIN, input).await?;
        let presence = PresenceInput {
            state: state.to_string(),
            chat: *state == "available",
            message: message.to_string(),
            ..Default::default()
        };
        app.set_presence(system, DOMAIN, ext, presence).await?;
    }
    let hidden = UserInput {
        extension: "299".into(),
        first_name: "Hidden".into(),
        last_name: "Lab".into(),
        listed: Some(false),
        password: Some(PASSWORD.into()),
        ..Default::default()
    };
    app.create_user(system, DOMAIN, hidden).await?;
    let shared = BookRef::Shared { domain: DOMAIN.into() };
    for i in 0..50 {
        app.create_contact(system, &shared, demo_contact(i)).await?;
    }
    let mine = BookRef::Personal { domain: DOMAIN.into(), extension: "200".into() };
    for (first, last, mobile) in [("Mom", "", "+1 206 555 0199"), ("Dr. Rachel", "Green", "(425) 555-0142")] {
        let contact = ContactInput {
            first_name: first.into(),
            last_name: last.into(),
            mobile_phone: mobile.into(),
            ..Default::default()
        };
        app.create_contact(system, &mine, contact).await?;
    }
    Ok(())
}

/// The i-th demo shared contact: varied names, accents, companies and number formats.
fn demo_contact(i: usize) -> ContactInput {
    let company = COMPANIES[i % COMPANIES.len()];
    let number = 100 + i;
    let work_phone = match i % 3 {
        0 => format!("+1 (206) 555-0{number:03}"),
        1 => format!("206-555-0{number:03}"),
        _ => format!("2065550{number:03}"),
    };
    if i % 10 == 9 {
        return ContactInput { company: company.into(), work_phone, notes: "Main line".into(), ..Default::default() };
    }
    let first = FIRST[i % FIRST.len()];
    let last = LAST[(i / FIRST.len()) % LAST.len()];
    ContactInput {
        first_name: first.into(),
        last_name: last.into(),
        company: company.into(),
        title: ["Sales", "Buyer", "Support", "Director"][i % 4].into(),
        work_phone,
        mobile_phone: if i.is_multiple_of(2) { format!("+1 425 555 0{number:03}") } else { String::new() },
        email: format!("{}.{i}@{}.example", fold(first), fold(company.split_whitespace().next().unwrap_or("co"))),
        ..Default::default()
    }
}
