//! The API document tells the truth: Schemathesis generates requests for every
//! operation from `/api/v1/openapi.json` — valid ones, and ones that break the
//! document on purpose — and sends them to the real binary as an office manager and
//! as a basic user, with every check on (no 5xx, every status, media type, header and
//! body as documented, schema-valid input accepted, invalid input refused, links
//! followed). Any finding fails the test.
//!
//! `scripts/schemathesis` installs the pinned version on first use. The run is seeded
//! and bounded (`openapi_fuzz/schemathesis.toml`); `openapi_fuzz/hooks.py` lists the
//! few refusals that depend on stored data rather than on a value's form.

#[macro_use]
mod support;

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use support::{Backend, Database, PASSWORD, Server, seed_domain};

on_both_backends!(every_operation_answers_as_documented);

fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs Schemathesis against `server` with a bearer token; `operations` selects which.
fn fuzz(server: &Server, who: &str, token: &str, operations: &[&str]) {
    let here = repository().join("crates/cli/tests/openapi_fuzz");
    let started = Instant::now();
    let output = Command::new(repository().join("scripts/schemathesis"))
        .env("PYTHONPATH", &here)
        .env("NO_COLOR", "1")
        .arg("--config-file")
        .arg(here.join("schemathesis.toml"))
        .arg("run")
        .arg(server.url("/api/v1/openapi.json"))
        .args(["--url", &server.base, "--header", &format!("Authorization: Bearer {token}")])
        .args(["--generation-database", "none", "--continue-on-failure"])
        .args(operations)
        .output()
        .expect("scripts/schemathesis runs");
    let report = String::from_utf8_lossy(&output.stdout);
    let summary = report.lines().rev().find(|line| line.contains(" in ") && line.starts_with('=')).unwrap_or("");
    println!("{who}: {summary} ({:.0} s)", started.elapsed().as_secs_f64());
    assert!(
        output.status.success(),
        "Schemathesis found answers that differ from the API document ({who}):\n{report}\n{}\nserver log:\n{}",
        String::from_utf8_lossy(&output.stderr),
        server.log()
    );
}

async fn every_operation_answers_as_documented(backend: Backend) {
    let db = Database::new(backend).await;
    seed_domain(
        &db,
        "acme.example",
        &[
            ("100", "Olivia", "office-manager", "Sales"),
            ("200", "Bob", "basic-user", "Support"),
            ("201", "Cy", "basic-user", "Support"),
        ],
    );
    let server = Server::start(&db, &[]);
    let manager = server.login("100@acme.example", PASSWORD).await.token;
    let basic = server.login("200@acme.example", PASSWORD).await.token;
    // Logging out ends the token used, so it is tried last, on its own; the basic user
    // goes first, as the manager may delete or change them.
    let all_but_logout = ["--exclude-operation-id", "logout"];
    fuzz(&server, "basic user", &basic, &all_but_logout);
    fuzz(&server, "office manager", &manager, &all_but_logout);
    fuzz(&server, "office manager, logging out", &manager, &["--include-operation-id", "logout"]);
}
