//! The cargo-fuzz target bodies for LDAP (`fuzz/`, nightly only) run here on stable: over
//! the seeds, over mutations of them, over arbitrary bytes, and over every input a fuzzer
//! once found (`tests/fuzz_regressions`).

use std::path::Path;

use proptest::prelude::*;
use switchboard_ldap::fuzzing;

fn seeds() -> Vec<Vec<u8>> {
    [fuzzing::filter_seeds(), fuzzing::message_seeds()].concat()
}

fn run_all(data: &[u8]) {
    fuzzing::filter(data);
    fuzzing::message(data);
}

#[test]
fn every_body_runs_over_every_seed_and_regression() {
    let mut inputs = seeds();
    let regressions = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions");
    for entry in std::fs::read_dir(regressions).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() && path.extension().is_none_or(|e| e != "md") {
            inputs.push(std::fs::read(path).unwrap());
        }
    }
    for input in inputs {
        run_all(&input);
    }
}

/// Writes the seeds as a starting corpus for cargo-fuzz when `FUZZ_CORPUS` names a directory.
#[test]
fn seeds_can_start_a_corpus() {
    let Ok(dir) = std::env::var("FUZZ_CORPUS") else { return };
    for (target, seeds) in [("ldap_filter", fuzzing::filter_seeds()), ("ldap_message", fuzzing::message_seeds())] {
        let dir = Path::new(&dir).join(target);
        std::fs::create_dir_all(&dir).unwrap();
        for (i, seed) in seeds.iter().enumerate() {
            std::fs::write(dir.join(format!("seed-{i}")), seed).unwrap();
        }
    }
}

/// An edit a fuzzer would make: overwrite, insert or remove bytes somewhere.
#[derive(Debug, Clone)]
enum Edit {
    Set(usize, u8),
    Insert(usize, Vec<u8>),
    Remove(usize, usize),
}

fn an_edit() -> impl Strategy<Value = Edit> {
    // BER tags and lengths, and the characters of filters, plus anything.
    let byte = prop_oneof![
        prop::sample::select(
            b"\x30\x02\x04\x0a\x01\x80\x81\x84\xa0\xa1\xa2\xa3\xa4\xa7\x87\xff\x00()|&!=*~<>".to_vec()
        ),
        any::<u8>()
    ];
    prop_oneof![
        (any::<usize>(), byte.clone()).prop_map(|(at, b)| Edit::Set(at, b)),
        (any::<usize>(), prop::collection::vec(byte, 1..8)).prop_map(|(at, bytes)| Edit::Insert(at, bytes)),
        (any::<usize>(), 1..16usize).prop_map(|(at, len)| Edit::Remove(at, len)),
    ]
}

fn apply(mut data: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for edit in edits {
        let len = data.len().max(1);
        match edit {
            Edit::Set(at, b) if !data.is_empty() => data[at % len] = *b,
            Edit::Set(..) => data.push(0),
            Edit::Insert(at, bytes) => {
                let at = at % (data.len() + 1);
                data.splice(at..at, bytes.iter().copied());
            }
            Edit::Remove(at, n) => {
                let at = at % len;
                let end = (at + n).min(data.len());
                data.drain(at.min(end)..end);
            }
        }
    }
    data
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn bodies_survive_mutated_seeds(seed in 0..64usize, edits in prop::collection::vec(an_edit(), 1..8)) {
        let seeds = seeds();
        run_all(&apply(seeds[seed % seeds.len()].clone(), &edits));
    }

    #[test]
    fn bodies_survive_arbitrary_bytes(data in prop::collection::vec(any::<u8>(), 0..512)) {
        run_all(&data);
    }
}
