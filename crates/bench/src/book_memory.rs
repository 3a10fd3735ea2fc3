//! What the in-memory copy of the big domain's book costs, read from the allocator.

use std::time::Instant;

use anyhow::{Result, bail};
use switchboard_app::{App, AppConfig};
use switchboard_store::BookPart;

use crate::ALLOCATOR;
use crate::seed::{self, Seeded};

/// Builds the copy of the big domain's book in a fresh `App` and reports the bytes it
/// holds per entry (live bytes after the build minus before) and how long the build took.
/// Run before anything is served, so that nothing else allocates meanwhile; a first copy
/// is built and dropped beforehand, so that the database connections it opens are not
/// counted.
pub async fn measure(app: &App, seeded: &Seeded) -> Result<String> {
    let user = format!("{}@{}", seeded.viewer_extension, seeded.domain);
    let reader = app.device_by_bind(&user, seed::PASSWORD, None).await?;
    let domain_id = reader.domain().id;
    let store = app.store();
    let entries = store.book_rows(domain_id, BookPart::Coworkers).await?.len()
        + store.book_rows(domain_id, BookPart::Shared).await?.len();
    let warm = App::new(store.clone(), AppConfig::default());
    if !warm.prepare_book_index(&reader).await? {
        bail!("the in-memory book of {} was not built", seeded.domain);
    }
    drop(warm);
    let measured = App::new(store.clone(), AppConfig::default());
    let before = ALLOCATOR.live_bytes();
    let started = Instant::now();
    let built = measured.prepare_book_index(&reader).await?;
    let took = started.elapsed();
    let held = ALLOCATOR.live_bytes() - before;
    drop(measured);
    if !built {
        bail!("the in-memory book of {} was not built", seeded.domain);
    }
    Ok(format!(
        "in-memory book: {} bytes per entry (allocator), built in {:.2} s ({entries} entries, {:.1} MB)",
        held / entries.max(1) as isize,
        took.as_secs_f64(),
        held as f64 / 1e6
    ))
}
