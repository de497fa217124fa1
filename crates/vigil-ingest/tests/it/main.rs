//! Decoder tests on Vigil's own fixtures (`tests/fixtures`): golden OCSF output per format, and
//! what happens to damaged and hostile input.

mod bad_input;
mod deferred;
mod golden;

use std::path::{Path, PathBuf};

use vigil_ingest::{FileSummary, Outcome, ReadOptions, read_file};
use vigil_model::DeadLetter;
use vigil_ocsf::Event;

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

/// A file of `bytes` in a fresh scratch directory, so tests never share or keep files.
pub fn scratch_file(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vigil-ingest-test-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch directory");
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("scratch file");
    path
}

pub fn read(path: &Path) -> (FileSummary, Vec<Event>, Vec<DeadLetter>) {
    let (mut events, mut dead) = (Vec::new(), Vec::new());
    let summary = read_file(path, &ReadOptions::default(), &mut |o| match o {
        Outcome::Event(e, _) => events.push(*e),
        Outcome::Dead(d) => dead.push(d),
    });
    (summary, events, dead)
}
