//! `switchboard db copy`: moves a whole database between back-ends.

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use switchboard_store::{COPY_TABLES, CopyWriter, Store, TableCounts, copy_batch};

/// Copies every table in batches into one transaction of the target, checks both sides
/// hold the same row counts, and only then commits: a copy that fails half-way (or is
/// stopped) leaves the target as it was, so it can simply be run again.
pub async fn copy(from: &dyn Store, to: &dyn Store) -> Result<()> {
    let mut target = to.begin_copy().await.context("cannot start writing to the target database")?;
    let target_counts = target.table_counts().await?;
    if let Some((table, n)) = target_counts.iter().find(|(_, n)| **n > 0) {
        bail!("the target database is not empty ({table} has {n} rows); copy only into a new database");
    }
    let (total, copied) =
        copy_all(from, &mut *target).await.context("the copy failed, and the target database is as it was")?;
    target.commit().await.context("cannot commit the copy; the target database is as it was")?;
    for (table, n) in &copied {
        say!("{table:>14}: {n} rows")?;
    }
    say!("copied {total} rows; counts verified")?;
    Ok(())
}

/// Copies every table and checks the counts; returns the rows copied, and the counts.
async fn copy_all(from: &dyn Store, target: &mut dyn CopyWriter) -> Result<(i64, TableCounts)> {
    let source_counts = from.table_counts().await.context("cannot read the source database")?;
    let total: i64 = source_counts.values().sum();
    let progress = ProgressBar::new(u64::try_from(total).unwrap_or(0));
    progress.set_style(
        ProgressStyle::with_template("{msg:>14} [{bar:40}] {pos}/{len} rows ({eta} left)")?.progress_chars("=> "),
    );
    for table in COPY_TABLES {
        progress.set_message(*table);
        let mut offset = 0;
        loop {
            let rows = from
                .export_rows(table, offset, copy_batch(table))
                .await
                .with_context(|| format!("cannot read {table}"))?;
            if rows.is_empty() {
                break;
            }
            let last = offset + i64::try_from(rows.len())?;
            target
                .insert_rows(table, &rows)
                .await
                .with_context(|| format!("cannot write {table} rows {}–{last}", offset + 1))?;
            offset = last;
            progress.inc(rows.len() as u64);
        }
    }
    progress.finish_and_clear();
    let copied = target.table_counts().await?;
    if copied != source_counts {
        bail!("row counts differ (was the source changed meanwhile?): source {source_counts:?}, target {copied:?}");
    }
    Ok((total, copied))
}
