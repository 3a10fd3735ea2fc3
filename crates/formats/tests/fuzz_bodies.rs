//! The cargo-fuzz target bodies (`fuzz/`, nightly only) run here on stable: over every
//! fixture, over mutations of them, and over arbitrary bytes, for a bounded number of cases.

use std::fs;
use std::path::Path;

use proptest::prelude::*;
use switchboard_formats::fuzzing;

/// One per fuzz target, and the auto-detecting read the app does.
type Body = fn(&[u8]);
const BODIES: [Body; 5] = [fuzzing::detect, fuzzing::outlook, fuzzing::google, fuzzing::vcard, fuzzing::any];

/// Every fixture file, readers', writers' and the rich ones of the fidelity tests.
fn seeds() -> Vec<Vec<u8>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let mut seeds = Vec::new();
    for dir in [root.join("fixtures"), root.join("fixtures/export"), root.join("fidelity")] {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_file() && path.extension().is_some_and(|e| e != "json") {
                seeds.push(fs::read(path).unwrap());
            }
        }
    }
    assert!(seeds.len() >= 21, "{} seeds", seeds.len());
    seeds
}

fn run_all(data: &[u8]) {
    for body in BODIES {
        body(data);
    }
}

#[test]
fn every_body_runs_over_every_fixture() {
    for seed in seeds() {
        run_all(&seed);
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
    // Bytes that matter to the parsers, plus anything.
    let byte = prop_oneof![prop::sample::select(b"\"\r\n,;:=\\\t \x00\xff\xc3.".to_vec()), any::<u8>(),];
    let chunk = prop_oneof![
        prop::collection::vec(byte.clone(), 1..8),
        prop::sample::select(vec![
            b"BEGIN:VCARD\r\n".to_vec(),
            b"END:VCARD\r\n".to_vec(),
            b";ENCODING=QUOTED-PRINTABLE".to_vec(),
            b";CHARSET=x-unknown".to_vec(),
            b"=\r\n".to_vec(),
            b"\r\n ".to_vec(),
            b"\"\"".to_vec(),
            b" ::: ".to_vec(),
            b"item1.".to_vec(),
        ]),
    ];
    prop_oneof![
        (any::<usize>(), byte).prop_map(|(at, b)| Edit::Set(at, b)),
        (any::<usize>(), chunk).prop_map(|(at, bytes)| Edit::Insert(at, bytes)),
        (any::<usize>(), 1..64usize).prop_map(|(at, len)| Edit::Remove(at, len)),
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
    fn bodies_survive_mutated_fixtures(seed in 0..32usize, edits in prop::collection::vec(an_edit(), 1..12)) {
        let seeds = seeds();
        let data = apply(seeds[seed % seeds.len()].clone(), &edits);
        run_all(&data);
    }

    #[test]
    fn bodies_survive_arbitrary_bytes(data in prop::collection::vec(any::<u8>(), 0..512)) {
        run_all(&data);
    }
}
