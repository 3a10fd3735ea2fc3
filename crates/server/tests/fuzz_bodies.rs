//! The cargo-fuzz target body for JSON request bodies (`fuzz/`, nightly only) runs here on
//! stable: over the seeds, mutations of them, arbitrary bytes, and every input a fuzzer
//! once found (`tests/fuzz_regressions`).

use std::path::Path;

use proptest::prelude::*;
use switchboard_server::fuzzing;

#[test]
fn the_body_runs_over_every_seed_and_regression() {
    let mut inputs = fuzzing::seeds();
    let regressions = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions");
    for entry in std::fs::read_dir(regressions).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() && path.extension().is_none_or(|e| e != "md") {
            inputs.push(std::fs::read(path).unwrap());
        }
    }
    for input in inputs {
        fuzzing::json_bodies(&input);
    }
}

/// Writes the seeds as a starting corpus for cargo-fuzz when `FUZZ_CORPUS` names a directory.
#[test]
fn seeds_can_start_a_corpus() {
    let Ok(dir) = std::env::var("FUZZ_CORPUS") else { return };
    let dir = Path::new(&dir).join("json_bodies");
    std::fs::create_dir_all(&dir).unwrap();
    for (i, seed) in fuzzing::seeds().iter().enumerate() {
        std::fs::write(dir.join(format!("seed-{i}")), seed).unwrap();
    }
}

/// JSON-ish text: the structure characters, keys the inputs know, and anything.
fn a_piece() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "{",
            "}",
            "[",
            "]",
            ",",
            ":",
            "\"",
            "\\u0000",
            "\\ud800",
            "null",
            "true",
            "1e999",
            "-0",
            "\"first_name\"",
            "\"work_phone\"",
            "\"extension\"",
            "\"scope\"",
            "\"state\"",
            "\"allowed_networks\"",
            "\"listed\"",
            "\"password\"",
            "\"+1 206-555-0100\"",
            "\"10.0.0.0/8\"",
        ])
        .prop_map(str::to_string),
        any::<String>(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn the_body_survives_spliced_seeds(seed in 0..16usize, at in any::<usize>(), pieces in prop::collection::vec(a_piece(), 1..6)) {
        let seeds = fuzzing::seeds();
        let mut data = seeds[seed % seeds.len()].clone();
        let at = at % (data.len() + 1);
        data.splice(at..at, pieces.concat().into_bytes());
        fuzzing::json_bodies(&data);
    }

    #[test]
    fn the_body_survives_arbitrary_bytes(data in prop::collection::vec(any::<u8>(), 0..512)) {
        fuzzing::json_bodies(&data);
    }
}
