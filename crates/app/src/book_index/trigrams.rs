//! The trigram index over a book's search texts: for each byte trigram, the ascending
//! positions of the entries whose text holds it.
//!
//! It is most of a copy's size (a search text of 150 bytes holds about a hundred
//! distinct trigrams), so the positions are kept flat: every list one after another in
//! one array, each position as its low 16 bits within a chunk of 65,536 entries (a list
//! is one run per chunk). A book of up to 65,536 entries has one chunk, one of 100,000
//! two. Lists stay sorted arrays, so an intersection walks or binary-searches them as
//! before.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Entries per chunk: positions within one fit a `u16`.
const CHUNK_BITS: u32 = 16;

pub(crate) struct Trigrams {
    /// Every trigram found (`b0 << 16 | b1 << 8 | b2`), ascending.
    keys: Box<[u32]>,
    /// Where each list's run in each chunk starts in `lows`: the run of the trigram at
    /// `keys[k]` in chunk `c` is `lows[starts[k * chunks + c]..starts[k * chunks + c + 1]]`.
    starts: Box<[u32]>,
    /// Positions within their chunk.
    lows: Box<[u16]>,
    chunks: usize,
}

/// Hashes a trigram (already well spread by its last byte) by one multiplication: a build
/// hashes every trigram of every entry twice.
#[derive(Default)]
struct TrigramHasher(u64);

impl Hasher for TrigramHasher {
    fn write(&mut self, bytes: &[u8]) {
        bytes.iter().for_each(|&b| self.0 = (self.0 << 8 | u64::from(b)).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    }

    fn write_u32(&mut self, n: u32) {
        self.0 = u64::from(n).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type TrigramMap = HashMap<u32, u32, BuildHasherDefault<TrigramHasher>>;

fn trigrams_of(text: &str) -> impl Iterator<Item = u32> + '_ {
    text.as_bytes().windows(3).map(|w| u32::from(w[0]) << 16 | u32::from(w[1]) << 8 | u32::from(w[2]))
}

/// The distinct trigrams of a text, into `into`.
fn distinct(text: &str, into: &mut Vec<u32>) {
    into.clear();
    into.extend(trigrams_of(text));
    into.sort_unstable();
    into.dedup();
}

fn offset(n: usize) -> u32 {
    u32::try_from(n).expect("a book holds far fewer than 2^32 trigram positions")
}

impl Trigrams {
    /// The index of these texts, the position of each being its place in the iteration.
    /// Two passes over the texts: one counts each list's length per chunk, the other
    /// writes the positions in place, so nothing grows by doubling.
    pub fn new<'a>(texts: impl Iterator<Item = &'a str> + Clone) -> Trigrams {
        let chunks = (texts.clone().count() >> CHUNK_BITS) + 1;
        let mut scratch = Vec::new();
        // Trigram → its order of first appearance, then (second pass) its place in `keys`.
        let mut ids = TrigramMap::default();
        let mut counts: Vec<u32> = Vec::new();
        for (position, text) in texts.clone().enumerate() {
            distinct(text, &mut scratch);
            for &trigram in &scratch {
                let next = offset(ids.len());
                let id = *ids.entry(trigram).or_insert(next);
                if id == next {
                    counts.resize(counts.len() + chunks, 0);
                }
                counts[id as usize * chunks + (position >> CHUNK_BITS)] += 1;
            }
        }
        let mut keys: Vec<u32> = ids.keys().copied().collect();
        keys.sort_unstable();
        let mut starts = Vec::with_capacity(keys.len() * chunks + 1);
        let mut total = 0;
        for (slot, key) in keys.iter().enumerate() {
            let id = std::mem::replace(ids.get_mut(key).expect("every key has an id"), offset(slot));
            for count in &counts[id as usize * chunks..][..chunks] {
                starts.push(offset(total));
                total += *count as usize;
            }
        }
        starts.push(offset(total));
        drop(counts);
        let mut next = starts.clone();
        let mut lows = vec![0u16; total];
        for (position, text) in texts.enumerate() {
            distinct(text, &mut scratch);
            for trigram in &scratch {
                let run = ids[trigram] as usize * chunks + (position >> CHUNK_BITS);
                // The low bits of the position: the chunk is the run's.
                lows[next[run] as usize] = position as u16;
                next[run] += 1;
            }
        }
        Trigrams { keys: keys.into(), starts: starts.into(), lows: lows.into(), chunks }
    }

    /// The positions of the entries whose text holds every trigram of `term` (of three
    /// bytes or more), ascending: a superset of those holding the term.
    pub fn candidates(&self, term: &str) -> Vec<u32> {
        let mut lists = Vec::new();
        for trigram in trigrams_of(term) {
            match self.keys.binary_search(&trigram) {
                Ok(slot) => lists.push(Postings { index: self, slot }),
                Err(_) => return Vec::new(),
            }
        }
        intersection(lists)
    }
}

/// The positions of one trigram.
#[derive(Clone, Copy)]
struct Postings<'a> {
    index: &'a Trigrams,
    slot: usize,
}

impl<'a> Postings<'a> {
    fn run(&self, chunk: usize) -> &'a [u16] {
        let index = self.index;
        let at = self.slot * index.chunks + chunk;
        &index.lows[index.starts[at] as usize..index.starts[at + 1] as usize]
    }

    fn len(&self) -> usize {
        let (starts, chunks) = (&self.index.starts, self.index.chunks);
        (starts[(self.slot + 1) * chunks] - starts[self.slot * chunks]) as usize
    }

    fn contains(&self, position: u32) -> bool {
        let chunk = (position >> CHUNK_BITS) as usize;
        chunk < self.index.chunks && self.run(chunk).binary_search(&(position as u16)).is_ok()
    }

    fn iter(self) -> impl Iterator<Item = u32> + 'a {
        (0..self.index.chunks).flat_map(move |chunk| {
            let high = (chunk as u32) << CHUNK_BITS;
            self.run(chunk).iter().map(move |&low| high | u32::from(low))
        })
    }
}

/// The positions in every one of these lists, smallest lists first.
fn intersection(mut lists: Vec<Postings<'_>>) -> Vec<u32> {
    lists.sort_by_key(Postings::len);
    let Some((first, rest)) = lists.split_first() else { return Vec::new() };
    let mut common: Vec<u32> = first.iter().collect();
    for list in rest {
        if common.is_empty() {
            break;
        }
        if common.len() * 16 < list.len() {
            common.retain(|&p| list.contains(p));
        } else {
            let mut others = list.iter().peekable();
            common.retain(|p| {
                while others.next_if(|other| other < p).is_some() {}
                others.peek() == Some(p)
            });
        }
    }
    common
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the index must answer: every text holding all the term's trigrams.
    fn expected(texts: &[String], term: &str) -> Vec<u32> {
        let wanted: Vec<u32> = trigrams_of(term).collect();
        let positions = texts.iter().enumerate();
        let holding = positions.filter(|(_, text)| wanted.iter().all(|t| trigrams_of(text).any(|u| u == *t)));
        holding.map(|(position, _)| position as u32).collect()
    }

    #[test]
    fn candidates_are_the_texts_holding_every_trigram() {
        let texts: Vec<String> =
            ["anna smith", "smithers", "bob", "annabel", "", "ann smi", "éloïse", "x\nsmith"].map(String::from).into();
        let index = Trigrams::new(texts.iter().map(String::as_str));
        for term in ["smith", "ann", "anna", "nna smi", "ith", "éloï", "zzz", "annx", "bob", "h\nsm"] {
            assert_eq!(index.candidates(term), expected(&texts, term), "{term}");
        }
    }

    #[test]
    fn positions_past_a_chunk_are_found() {
        // Three chunks; every seventh text holds `seven`, every 7000th also `thousand`.
        let texts: Vec<String> = (0..140_000)
            .map(|i| match (i % 7, i % 1000) {
                (0, 0) => format!("{i} seven thousand"),
                (0, _) => format!("{i} seven"),
                _ => format!("{i}"),
            })
            .collect();
        let index = Trigrams::new(texts.iter().map(String::as_str));
        let sevens: Vec<u32> = (0..140_000).step_by(7).collect();
        assert_eq!(index.candidates("seven"), sevens);
        let both: Vec<u32> = (0..140_000).step_by(7000).collect();
        assert_eq!(index.candidates("seven thousand"), both, "a short list probes a long one");
        for term in ["thous", "139999", "65536", "131072", "0 seven t"] {
            assert_eq!(index.candidates(term), expected(&texts, term), "{term}");
        }
    }
}
