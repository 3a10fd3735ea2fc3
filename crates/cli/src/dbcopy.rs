//! `switchboard db copy`: moves a whole database between back-ends.

use anyhow::{Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use switchboard_store::{COPY_TABLES, Store};

const BATCH: i64 = 1000;

/// Copies every table in batches, then checks both sides hold the same row counts.
pub async fn copy(from: &dyn Store, to: &dyn Store) -> Result<()> {
    let target_counts = to.table_counts().await?;
    if let Some((table, n)) = target_counts.iter().find(|(_, n)| **n > 0) {
        bail!("the target database is not empty ({table} has {n} rows); copy only into a new database");
    }
    let source_counts = from.table_counts().await?;
    let total: i64 = source_counts.values().sum();
    let progress = ProgressBar::new(u64::try_from(total).unwrap_or(0));
    progress.set_style(
        ProgressStyle::with_template("{msg:>14} [{bar:40}] {pos}/{len} rows ({eta} left)")?.progress_chars("=> "),
    );
    for table in COPY_TABLES {
        progress.set_message(*table);
        let mut offset = 0;
        loop {
            let rows = from.export_rows(table, offset, BATCH).await?;
            if rows.is_empty() {
                break;
            }
            to.import_rows(table, &rows).await?;
            offset += i64::try_from(rows.len())?;
            progress.inc(rows.len() as u64);
        }
    }
    progress.finish_with_message("done");
    let copied = to.table_counts().await?;
    if copied != source_counts {
        bail!("row counts differ after the copy: source {source_counts:?}, target {copied:?}");
    }
    for (table, n) in &copied {
        println!("{table:>14}: {n} rows");
    }
    println!("copied {total} rows; counts verified");
    Ok(())
}
