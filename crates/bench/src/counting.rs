//! The benchmark's global allocator: mimalloc, as the `switchboard` binary serves with,
//! behind a counter of the bytes currently allocated, so that what a structure costs is
//! read from the allocator rather than guessed from its types or the process's resident
//! memory (which mimalloc keeps after a free and the kernel counts by the page).
//!
//! Written here rather than taken from a crate: it is a dozen lines, and the counting
//! crates either wrap the system allocator or track far more (peaks, per-thread
//! statistics) on every allocation of the timed requests.

use std::alloc::{GlobalAlloc, Layout};
use std::sync::atomic::{AtomicIsize, Ordering};

/// mimalloc, counting live bytes as asked for (mimalloc rounds small blocks up to its
/// size classes; that rounding is not counted).
pub struct Counting {
    inner: mimalloc::MiMalloc,
    live: AtomicIsize,
}

impl Counting {
    pub const fn new() -> Counting {
        Counting { inner: mimalloc::MiMalloc, live: AtomicIsize::new(0) }
    }

    /// Bytes allocated and not yet freed, by every thread.
    pub fn live_bytes(&self) -> isize {
        self.live.load(Ordering::Relaxed)
    }

    fn count(&self, grown: isize) {
        self.live.fetch_add(grown, Ordering::Relaxed);
    }
}

// SAFETY: every call is forwarded unchanged to mimalloc; the counter only reads sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's guarantees are mimalloc's.
        let block = unsafe { self.inner.alloc(layout) };
        if !block.is_null() {
            self.count(layout.size() as isize);
        }
        block
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as above.
        let block = unsafe { self.inner.alloc_zeroed(layout) };
        if !block.is_null() {
            self.count(layout.size() as isize);
        }
        block
    }

    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { self.inner.dealloc(block, layout) };
        self.count(-(layout.size() as isize));
    }

    unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as above.
        let moved = unsafe { self.inner.realloc(block, layout, new_size) };
        if !moved.is_null() {
            self.count(new_size as isize - layout.size() as isize);
        }
        moved
    }
}
