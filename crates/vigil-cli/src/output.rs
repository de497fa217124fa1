//! What `normalize` and `hunt` share about their output: where JSON lines go, and which
//! formats `--format` accepts.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use anyhow::{Context, Result};

/// A buffered writer to `path`, or to standard output when there is none.
pub fn open(path: Option<&PathBuf>) -> Result<Box<dyn Write>> {
    Ok(match path {
        Some(path) => Box::new(BufWriter::new(
            File::create(path).with_context(|| format!("creating {}", path.display()))?,
        )),
        None => Box::new(BufWriter::new(std::io::stdout().lock())),
    })
}

/// The names `--format` accepts, from the registry.
pub fn format_names() -> Vec<&'static str> {
    vigil_ingest::FORMATS.iter().map(|f| f.name()).collect()
}
