//! The conformance suite on SQLite, each test on a new database file.

use switchboard_store::{DomainStore, SqliteStore, Store, conformance};

async fn open(dir: &tempfile::TempDir) -> SqliteStore {
    let path = dir.path().join("switchboard.db");
    SqliteStore::open(path.to_str().unwrap()).await.unwrap()
}

async fn run(test: impl AsyncFnOnce(&dyn Store)) {
    let dir = tempfile::tempdir().unwrap();
    test(&open(&dir).await).await;
}

switchboard_store::conformance_tests!(run);

#[tokio::test]
async fn copy_between_sqlite_databases() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    conformance::copy(&open(&a).await, &open(&b).await).await;
}

#[tokio::test]
async fn in_memory_store() {
    conformance::contacts(&SqliteStore::open_in_memory().await.unwrap()).await;
    conformance::directory_groups(&SqliteStore::open("sqlite::memory:").await.unwrap()).await;
}

#[tokio::test]
async fn reopening_keeps_the_data() {
    let dir = tempfile::tempdir().unwrap();
    open(&dir).await.create_reseller("Northwind").await.unwrap();
    let url = format!("sqlite://{}", dir.path().join("switchboard.db").display());
    let reopened = SqliteStore::open(&url).await.unwrap();
    assert!(reopened.reseller_by_name("Northwind").await.unwrap().is_some());
}

#[tokio::test]
async fn two_stores_on_one_file_share_change_stamps() {
    let dir = tempfile::tempdir().unwrap();
    conformance::change_stamps_between(&open(&dir).await, &open(&dir).await).await;
}

#[tokio::test]
async fn cut_off_import_is_discarded() {
    run(conformance::cut_off_import_is_discarded).await;
}
