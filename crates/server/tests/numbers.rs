//! Numbers as people write them, per the domain's country, through the REST API and
//! through an import of an Outlook CSV file, on SQLite and PostgreSQL: each is kept as
//! typed, with the E.164 form of its main number when it is a valid one and its extension
//! apart; text that holds no number is kept too, and never refuses a contact. Lists show
//! them formatted for the reader. Whole files rich in every property come back from an
//! export as they went in.

mod support;

use std::collections::BTreeMap;

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{Backend, Person, Server};
use switchboard_app::{Caller, SettingsLayer};
use switchboard_core::contact::ContactFields;
use switchboard_core::model::Book;
use switchboard_core::phone::Country;
use switchboard_formats::ReadOptions;
use switchboard_server::ServerConfig;

const PEOPLE: [Person; 1] =
    [Person { ext: "200", scope: "office-manager", first_name: "Olivia", department: "", site: "" }];
const SHARED: &str = "/api/v1/domains/acme.example/shared-contacts";

/// The domain's country, the number as typed, its E.164 form and its extension.
type Form = (&'static str, &'static str, Option<&'static str>, Option<&'static str>);

const FORMS: &[Form] = &[
    ("US", "(418) 656-9254 ext. 102", Some("+14186569254"), Some("102")),
    ("US", "418-656-9254 Ext 102", Some("+14186569254"), Some("102")),
    ("US", "+1-418-656-9254;ext=102", Some("+14186569254"), Some("102")),
    ("US", "418 656 9254 #102", Some("+14186569254"), Some("102")),
    ("US", "+1 418 656 9254,,102", Some("+14186569254"), Some("102")),
    ("US", "tel:+1-418-656-9254", Some("+14186569254"), None),
    ("US", "tel:656-9254;phone-context=+1-418", Some("+14186569254"), None),
    ("US", "1-800-FLOWERS", Some("+18003569377"), None),
    ("US", "206 555 0100 (cell)", Some("+12065550100"), None),
    ("US", "011 44 20 7946 0958", Some("+442079460958"), None),
    ("US", "Ext 4410", None, None),
    ("US", "ask reception", None, None),
    ("GB", "+44 (0)20 7946 0958", Some("+442079460958"), None),
    ("GB", "020 7946 0958", Some("+442079460958"), None),
    ("GB", "0044 20 7946 0958", Some("+442079460958"), None),
    ("GB", "020 7946 0958 ext 12", Some("+442079460958"), Some("12")),
    ("DE", "+49 (0)30 1234567", Some("+49301234567"), None),
    ("DE", "030/1234567", Some("+49301234567"), None),
    ("DE", "0049 30 1234567", Some("+49301234567"), None),
    ("FR", "01 23 45 67 89", Some("+33123456789"), None),
    ("FR", "+33 (0)1 23 45 67 89", Some("+33123456789"), None),
    ("FR", "0033 1 23 45 67 89", Some("+33123456789"), None),
    ("AU", "(02) 9876 5432", Some("+61298765432"), None),
    ("AU", "+61 (0)2 9876 5432", Some("+61298765432"), None),
    ("AU", "0011 44 20 7946 0958", Some("+442079460958"), None),
    ("AU", "0412 345 678", Some("+61412345678"), None),
];

async fn set_country(server: &Server, country: &str) {
    let layer = SettingsLayer::Domain("acme.example".into());
    let setting = BTreeMap::from([("DEFAULT_COUNTRY".to_string(), Some(country.to_string()))]);
    server.app.put_settings(&Caller::System, &layer, setting).await.unwrap();
}

async fn get_json(server: &Server, token: &str, path: &str) -> Value {
    server.client.get(server.url(path)).bearer_auth(token).send().await.unwrap().json().await.unwrap()
}

/// The contact's first number as the API shows it: as typed, E.164 and extension.
fn first_number(contact: &Value) -> (String, Option<String>, Option<String>) {
    let phone = &contact["phones"][0];
    let text = |v: &Value| v.as_str().map(str::to_string);
    (phone["number"].as_str().unwrap_or_default().to_string(), text(&phone["e164"]), text(&phone["extension"]))
}

fn expected(form: &Form) -> (String, Option<String>, Option<String>) {
    (form.1.to_string(), form.2.map(str::to_string), form.3.map(str::to_string))
}

async fn every_form_reads_alike_through_the_api_and_an_import(backend: Backend) {
    let server = support::spawn(backend, &PEOPLE, ServerConfig::default()).await;
    let token = server.token("200").await;
    for country in ["US", "GB", "DE", "FR", "AU"] {
        set_country(&server, country).await;
        let forms: Vec<&Form> = FORMS.iter().filter(|form| form.0 == country).collect();
        for (i, form) in forms.iter().enumerate() {
            let body = json!({ "first_name": format!("Api{country}{i}"), "work_phone": form.1 });
            let reply = server.client.post(server.url(SHARED)).bearer_auth(&token).json(&body).send().await.unwrap();
            assert_eq!(reply.status(), StatusCode::CREATED, "{country} {}", form.1);
            let contact: Value = reply.json().await.unwrap();
            assert_eq!(first_number(&contact), expected(form), "{country}: {} through the API", form.1);
            assert_eq!(contact["work_phone"], form.1, "the single field repeats it as typed");
        }

        let mut csv = String::from("First Name,Business Phone\r\n");
        for (i, form) in forms.iter().enumerate() {
            csv.push_str(&format!("File{country}{i},\"{}\"\r\n", form.1));
        }
        let reply = server
            .client
            .post(server.url(&format!("{SHARED}/import?mode=add")))
            .bearer_auth(&token)
            .header("content-type", "text/csv")
            .body(csv)
            .send()
            .await
            .unwrap();
        let report: Value = reply.json().await.unwrap();
        assert_eq!(report["created"].as_u64(), Some(forms.len() as u64), "{report}");
        assert_eq!((report["rejected"].as_u64(), report["warned"].as_u64()), (Some(0), Some(0)), "{report}");
        for (i, form) in forms.iter().enumerate() {
            let found = get_json(&server, &token, &format!("{SHARED}?q=File{country}{i}")).await;
            let items = found["items"].as_array().unwrap();
            let contact = items.iter().find(|c| c["first_name"] == format!("File{country}{i}")).unwrap();
            assert_eq!(first_number(contact), expected(form), "{country}: {} through an import", form.1);
        }
    }
}

/// An export of the book imports back with every contact unchanged, in each format: the
/// numbers a vCard 4.0 export writes as `tel:` URIs keep the spelling people typed.
async fn an_export_imports_back_unchanged(backend: Backend) {
    let server = support::spawn(backend, &PEOPLE, ServerConfig::default()).await;
    let token = server.token("200").await;
    let forms: Vec<&Form> = FORMS.iter().filter(|form| form.0 == "US").collect();
    for (i, form) in forms.iter().enumerate() {
        let phones = json!([{ "kind": "work", "number": form.1 }, { "kind": "mobile", "number": "206 555 0100" }]);
        let body = json!({ "first_name": format!("Round{i}"), "phones": phones });
        let reply = server.client.post(server.url(SHARED)).bearer_auth(&token).json(&body).send().await.unwrap();
        assert_eq!(reply.status(), StatusCode::CREATED, "{}", form.1);
    }
    let before = get_json(&server, &token, &format!("{SHARED}?limit=100")).await;
    for format in ["outlook", "google", "vcard", "vcard4"] {
        let export = server.client.get(server.url(&format!("{SHARED}/export?format={format}"))).bearer_auth(&token);
        let file = export.send().await.unwrap().bytes().await.unwrap();
        let reply = server
            .client
            .post(server.url(&format!("{SHARED}/import?mode=upsert")))
            .bearer_auth(&token)
            .body(file)
            .send()
            .await
            .unwrap();
        let report: Value = reply.json().await.unwrap();
        let after = get_json(&server, &token, &format!("{SHARED}?limit=100")).await;
        assert_eq!(after["items"], before["items"], "{format}: every number as it was typed");
        let counts = ["created", "updated", "unchanged", "rejected"].map(|count| report[count].as_u64());
        assert_eq!(counts, [Some(0), Some(0), Some(forms.len() as u64), Some(0)], "{format}: {report}");
    }
}

/// A file rich in every property imports, exports to its format and imports again with
/// every contact unchanged and every field equal, through the store: Outlook (English,
/// German, French), Google, Apple's vCard 3.0 and the RFC 6350 vCard 4.0 card.
async fn rich_files_come_back_whole(backend: Backend) {
    let files = [
        ("outlook_en.csv", "outlook", "US"),
        ("outlook_de.csv", "outlook", "DE"),
        ("outlook_fr.csv", "outlook", "FR"),
        ("google.csv", "google", "US"),
        ("apple.vcf", "vcard", "US"),
        ("rfc6350.vcf", "vcard4", "US"),
    ];
    for (name, format, country) in files {
        let server = support::spawn(backend, &PEOPLE, ServerConfig::default()).await;
        let token = server.token("200").await;
        set_country(&server, country).await;
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../formats/tests/fidelity").join(name);
        let original = std::fs::read(path).unwrap();
        let report = import(&server, &token, original.clone()).await;
        assert_eq!((report["rejected"].as_u64(), report["warned"].as_u64()), (Some(0), Some(0)), "{name}: {report}");
        let rows = report["created"].as_u64().unwrap();
        let before = get_json(&server, &token, &format!("{SHARED}?limit=100")).await;
        assert_eq!(stored(&server, &before).await, as_read(&original, country), "{name}: the store keeps every field");
        let export = server.client.get(server.url(&format!("{SHARED}/export?format={format}"))).bearer_auth(&token);
        let file = export.send().await.unwrap().bytes().await.unwrap().to_vec();
        let again = import(&server, &token, file).await;
        let counts = ["created", "updated", "unchanged", "rejected"].map(|count| again[count].as_u64());
        assert_eq!(counts, [Some(0), Some(0), Some(rows), Some(0)], "{name}: {again}");
        let after = get_json(&server, &token, &format!("{SHARED}?limit=100")).await;
        assert_eq!(after["items"], before["items"], "{name}: every field as it was");
    }
}

/// The listed contacts as the store keeps them, in a stable order.
async fn stored(server: &Server, list: &Value) -> Vec<ContactFields> {
    let book = Book::Shared {
        domain_id: server.app.store().domain_by_name(&"acme.example".parse().unwrap()).await.unwrap().unwrap().id,
    };
    let mut contacts = Vec::new();
    for item in list["items"].as_array().unwrap() {
        let id = item["id"].as_str().unwrap().parse().unwrap();
        contacts.push(server.app.store().contact(book, id).await.unwrap().unwrap().fields);
    }
    contacts.sort_by_key(ContactFields::sort_key);
    contacts
}

/// A file's contacts as its reader gives them, in the same order.
fn as_read(file: &[u8], country: &str) -> Vec<ContactFields> {
    let country = Country::parse(country).unwrap();
    let reader = switchboard_formats::read(file, ReadOptions::default()).unwrap();
    let mut contacts: Vec<ContactFields> =
        reader.map(|row| ContactFields::parse(&row.unwrap().contact, country).unwrap()).collect();
    contacts.sort_by_key(ContactFields::sort_key);
    contacts
}

async fn import(server: &Server, token: &str, file: Vec<u8>) -> Value {
    let url = server.url(&format!("{SHARED}/import?mode=upsert"));
    server.client.post(url).bearer_auth(token).body(file).send().await.unwrap().json().await.unwrap()
}

/// Lists show every number one way for the reader: nationally when it is of the domain's
/// country, internationally otherwise, the extension after it; the typed text stays in
/// the tooltip and the edit form.
async fn lists_show_numbers_formatted_for_the_reader(backend: Backend) {
    let server = support::spawn(backend, &PEOPLE, ServerConfig::default()).await;
    let token = server.token("200").await;
    set_country(&server, "GB").await;
    let phones = json!([
        { "kind": "work", "number": "+44 (0)20 7946 0958 ext 12" },
        { "kind": "mobile", "number": "206.555.0100" },
        { "kind": "home", "number": "+1 206 555 0101" },
    ]);
    let body = json!({ "first_name": "Gwen", "phones": phones });
    let reply = server.client.post(server.url(SHARED)).bearer_auth(&token).json(&body).send().await.unwrap();
    assert_eq!(reply.status(), StatusCode::CREATED);
    let browser = server.log_in("200").await;
    for page in ["/shared-contacts/rows", "/contacts/rows"] {
        let html = browser.get(page).await.text().await.unwrap();
        assert!(html.contains(">020 7946 0958 ext. 12<"), "{page}: a British number, nationally: {html}");
        assert!(html.contains(">+1 206-555-0101<"), "{page}: an American one, internationally: {html}");
        assert!(html.contains(r#"+44 (0)20 7946 0958 ext 12""#), "{page}: as typed in the tooltip: {html}");
    }
}

/// The portal's form edits more numbers and emails (with labels), the first address and
/// the birthday; saving it keeps what it does not show.
async fn the_contact_form_edits_more_and_keeps_the_rest(backend: Backend) {
    let server = support::spawn(backend, &PEOPLE, ServerConfig::default()).await;
    let token = server.token("200").await;
    let body = json!({
        "first_name": "Rita",
        "phones": [
            { "kind": "work", "label": "Desk", "number": "206 555 0100" },
            { "kind": "mobile", "number": "206 555 0101" },
            { "kind": "mobile", "label": "Second", "number": "206 555 0102" },
        ],
        "emails": [{ "address": "rita@example.com" }, { "label": "Club", "address": "rita@club.example" }],
        "addresses": [{ "city": "Seattle" }, { "kind": "home", "city": "Tacoma" }],
        "dates": [{ "kind": "birthday", "date": "1980-05-17" }, { "kind": "anniversary", "date": "2010-06-01" }],
        "extra": [{ "format": "vcard", "name": "X-SOCIALPROFILE;TYPE=x", "value": "rita" }],
    });
    let reply = server.client.post(server.url(SHARED)).bearer_auth(&token).json(&body).send().await.unwrap();
    let contact: Value = reply.json().await.unwrap();
    let id = contact["id"].as_str().unwrap().to_string();

    let browser = server.log_in("200").await;
    let form = browser.get(&format!("/shared-contacts/{id}/edit")).await.text().await.unwrap();
    assert!(form.contains(r#"value="206 555 0102""#) && form.contains(r#"value="Second""#), "a row per more number");
    assert!(form.contains(r#"value="rita@club.example""#) && form.contains(r#"value="Seattle""#), "{form}");
    for kept in ["<li>Address: Tacoma</li>", "<li>Anniversary: 2010-06-01</li>", "<li>1 property kept from a file</li>"]
    {
        assert!(form.contains(kept), "the form names what it does not show: {kept}\n{form}");
    }
    let version = contact["version"].to_string();
    let edit = [
        ("version", version.as_str()),
        ("first_name", "Rita"),
        ("work_phone", "206 555 0199"),
        ("mobile_phone", "206 555 0101"),
        ("email", "rita@example.com"),
        ("more_phone_kind", "mobile"),
        ("more_phone_label", "Second"),
        ("more_phone_number", "206 555 0102"),
        ("more_phone_kind", "pager"),
        ("more_phone_label", ""),
        ("more_phone_number", "206 555 0103"),
        ("more_phone_kind", "other"),
        ("more_phone_label", ""),
        ("more_phone_number", ""),
        ("more_email_label", "Club"),
        ("more_email_address", "rita@club.example"),
        ("city", "Portland"),
        ("birthday", "--05-17"),
        ("save", "close"),
    ];
    let saved = browser.post(&format!("/shared-contacts/{id}"), &edit).await;
    assert_eq!(saved.status(), StatusCode::OK, "{}", saved.text().await.unwrap());
    let after = get_json(&server, &token, &format!("{SHARED}/{id}")).await;
    let numbers: Vec<(&str, &str, &str)> = after["phones"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["kind"].as_str().unwrap(), p["label"].as_str().unwrap(), p["number"].as_str().unwrap()))
        .collect();
    assert_eq!(
        numbers,
        [
            ("work", "Desk", "206 555 0199"),
            ("mobile", "", "206 555 0101"),
            ("mobile", "Second", "206 555 0102"),
            ("pager", "", "206 555 0103")
        ]
    );
    assert_eq!(after["emails"][1]["label"], "Club");
    assert_eq!(
        (after["addresses"][0]["city"].as_str(), after["addresses"][1]["city"].as_str()),
        (Some("Portland"), Some("Tacoma"))
    );
    assert_eq!(
        after["dates"],
        json!([{ "kind": "birthday", "date": "--05-17" }, { "kind": "anniversary", "date": "2010-06-01" }])
    );
    assert_eq!(after["extra"][0]["value"], "rita", "a property kept from a file stays");
}

support::on_both_backends!(
    every_form_reads_alike_through_the_api_and_an_import,
    an_export_imports_back_unchanged,
    rich_files_come_back_whole,
    lists_show_numbers_formatted_for_the_reader,
    the_contact_form_edits_more_and_keeps_the_rest
);
