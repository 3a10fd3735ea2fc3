//! 60 MB files streamed from generators: memory stays bounded (measured by a counting
//! allocator) and reading ends at the limits with an error, never by allocating the file.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Read;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use switchboard_formats::{FileError, ReadOptions, read};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(live, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: `ptr` came from `alloc` above with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The tests share the counters, so they take turns.
static TURN: Mutex<()> = Mutex::new(());

/// Runs `f` and returns how many bytes above the starting point were live at the peak.
fn peak_during(f: impl FnOnce()) -> usize {
    let start = LIVE.load(Ordering::Relaxed);
    PEAK.store(start, Ordering::Relaxed);
    f();
    PEAK.load(Ordering::Relaxed) - start
}

const SIXTY_MB: usize = 60 * 1024 * 1024;
const BOUND: usize = 8 * 1024 * 1024;

/// A file of `len` bytes: `head`, then `record(i)` for i = 0, 1, … (cut at `len`).
struct Generated<F: FnMut(usize) -> Vec<u8>> {
    pending: Vec<u8>,
    at: usize,
    next: usize,
    left: usize,
    record: F,
}

impl<F: FnMut(usize) -> Vec<u8>> Generated<F> {
    fn new(head: &[u8], len: usize, record: F) -> Self {
        Generated { pending: head.to_vec(), at: 0, next: 0, left: len, record }
    }
}

impl<F: FnMut(usize) -> Vec<u8>> Read for Generated<F> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            return Ok(0);
        }
        if self.at == self.pending.len() {
            self.pending = (self.record)(self.next);
            self.next += 1;
            self.at = 0;
        }
        let n = buf.len().min(self.pending.len() - self.at).min(self.left);
        buf[..n].copy_from_slice(&self.pending[self.at..self.at + n]);
        self.at += n;
        self.left -= n;
        Ok(n)
    }
}

fn csv_rows(i: usize) -> Vec<u8> {
    format!("First{i},Last{i},Example & Co,+1 206 555 {:04},\"a note, with a comma\"\r\n", i % 10_000).into_bytes()
}

const CSV_HEADER: &[u8] = b"First Name,Last Name,Company,Business Phone,Notes\r\n";

#[test]
fn sixty_megabytes_of_csv_stop_at_max_rows() {
    let _turn = TURN.lock().unwrap();
    let mut seen = 0;
    let mut last = None;
    let peak = peak_during(|| {
        let input = Generated::new(CSV_HEADER, SIXTY_MB, csv_rows);
        let options = ReadOptions { max_rows: 100_000, ..ReadOptions::default() };
        let mut reader = read(input, options).unwrap();
        for row in reader.by_ref() {
            match row {
                Ok(_) => seen += 1,
                Err(err) => last = Some(err),
            }
        }
        assert_eq!(reader.file_error(), Some(&FileError::TooManyRows { max: 100_000 }));
    });
    assert_eq!(seen, 100_000);
    assert_eq!(last.unwrap().to_string(), "row 100002: the file has more than 100000 contacts; reading stopped there");
    assert!(peak < BOUND, "peak {peak} bytes");
}

#[test]
fn sixty_megabytes_of_csv_stream_through_in_bounded_memory() {
    let _turn = TURN.lock().unwrap();
    let mut seen = 0usize;
    let peak = peak_during(|| {
        let input = Generated::new(CSV_HEADER, SIXTY_MB, csv_rows);
        let options = ReadOptions { max_rows: usize::MAX, ..ReadOptions::default() };
        // The last record is cut off by the generator and may be refused; all others are read.
        seen = read(input, options).unwrap().filter(Result::is_ok).count();
    });
    assert!(seen > 800_000, "{seen} rows");
    assert!(peak < BOUND, "peak {peak} bytes");
}

#[test]
fn sixty_megabytes_inside_one_unclosed_quote() {
    let _turn = TURN.lock().unwrap();
    let peak = peak_during(|| {
        let input =
            Generated::new(b"First Name,Notes\r\nAnn,\"starts a note", SIXTY_MB, |_| b"and never ends ".to_vec());
        let mut reader = read(input, ReadOptions::default()).unwrap();
        let first = reader.next().unwrap().unwrap_err();
        assert_eq!(first.row, 2);
        assert!(reader.next().is_none());
        assert_eq!(reader.file_error(), Some(&FileError::RecordTooLong { row: 2, max: 1024 * 1024 }));
    });
    assert!(peak < BOUND, "peak {peak} bytes");
}

#[test]
fn sixty_megabytes_of_vcards_with_a_giant_photo() {
    let _turn = TURN.lock().unwrap();
    let mut seen = 0;
    let peak = peak_during(|| {
        // One card whose PHOTO is 30 MB on a single line, then ordinary cards.
        let head = b"BEGIN:VCARD\r\nVERSION:3.0\r\nN:Lee;Ann\r\nPHOTO;ENCODING=b:";
        let input = Generated::new(head, SIXTY_MB, |i| {
            if i < 30 * 1024 {
                vec![b'A'; 1024]
            } else if i == 30 * 1024 {
                b"\r\nEND:VCARD\r\n".to_vec()
            } else {
                format!(
                    "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Last{i};First\r\nTEL;TYPE=CELL:+1 206 555 0100\r\nEND:VCARD\r\n"
                )
                .into_bytes()
            }
        });
        let options = ReadOptions { max_rows: 50_000, ..ReadOptions::default() };
        let mut reader = read(input, options).unwrap();
        for row in reader.by_ref() {
            if row.is_ok() {
                seen += 1;
            }
        }
        assert_eq!(reader.file_error(), Some(&FileError::TooManyRows { max: 50_000 }));
    });
    assert_eq!(seen, 50_000);
    assert!(peak < BOUND, "peak {peak} bytes");
}
