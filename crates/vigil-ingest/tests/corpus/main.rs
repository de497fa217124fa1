//! Conformance over the public corpus in `../shared/data` (or `$VIGIL_TEST_DATA`): every file
//! decodes, nothing is lost, every event is valid OCSF. Built only with `--features corpus`.

mod deferred;
mod detection_finding;
mod evtx_files;
mod log_files;
mod ocsf_examples;
mod panther;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use vigil_ingest::{Outcome, ReadOptions, read_file};
use vigil_model::DeadLetter;
use vigil_ocsf::{Event, Schema};

/// The corpus root. Missing data is a failure, not a skip: this suite exists to read it.
pub fn data() -> PathBuf {
    let dir = std::env::var_os("VIGIL_TEST_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    assert!(dir.is_dir(), "corpus not found at {} (set VIGIL_TEST_DATA)", dir.display());
    dir
}

/// The resolved OCSF 1.5.0 schema every event is validated against.
pub fn schema() -> &'static Schema {
    static SCHEMA: OnceLock<Schema> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let path = data().join("ocsf-compiled-schema/ocsf-schema-1.5.0-compiled.json");
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        Schema::from_json(&bytes).unwrap_or_else(|e| panic!("loading {}: {e}", path.display()))
    })
}

/// Every problem an event has against the schema, as text.
pub fn violations(event: &Event) -> Vec<String> {
    let value = serde_json::to_value(event).unwrap_or_default();
    schema().validate(&value).iter().map(ToString::to_string).collect()
}

/// Reads a file into its events and dead letters.
pub fn read(path: &Path, options: &ReadOptions) -> (Vec<Event>, Vec<DeadLetter>) {
    let (mut events, mut dead) = (Vec::new(), Vec::new());
    read_file(path, options, &mut |outcome| match outcome {
        Outcome::Event(e, _) => events.push(*e),
        Outcome::Dead(d) => dead.push(d),
    });
    (events, dead)
}

/// Files under `dir` (recursively) whose names end in one of `extensions`.
pub fn files(dir: &Path, extensions: &[&str]) -> Vec<PathBuf> {
    let all = vigil_ingest::input::expand(&[dir.to_owned()])
        .unwrap_or_else(|e| panic!("listing {}: {e}", dir.display()));
    let files: Vec<PathBuf> = all
        .into_iter()
        .filter(|p| {
            let name = p.to_string_lossy().to_ascii_lowercase();
            extensions.iter().any(|ext| name.ends_with(ext))
        })
        .collect();
    assert!(!files.is_empty(), "no {extensions:?} files under {}", dir.display());
    files
}

/// The share of events (by class) that fell back to Base Event.
pub fn base_event_share(classes: &std::collections::BTreeMap<u32, u64>) -> f64 {
    let total: u64 = classes.values().sum();
    if total == 0 {
        return 0.0;
    }
    classes.get(&0).copied().unwrap_or(0) as f64 / total as f64
}
