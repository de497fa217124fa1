//! Finding and opening input files: directories walked recursively in a stable order, gzip
//! recognised by its magic bytes rather than its name.

use std::io::{self, BufRead, BufReader, Chain, Cursor, Read};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

use crate::error::{Error, Result};

/// How many bytes of a file are read up front to recognise its format.
pub const HEAD_BYTES: usize = 64 * 1024;

/// Every file under `paths` (files as given, directories recursively), sorted within each
/// directory so runs are reproducible. Hidden files and directories are skipped.
pub fn expand(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for path in paths {
        walk(path, &mut out)?;
    }
    Ok(out)
}

fn walk(path: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let io_err = |source| Error::Io { path: path.to_owned(), source };
    let meta = std::fs::metadata(path).map_err(io_err)?;
    if !meta.is_dir() {
        out.push(path.to_owned());
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(io_err)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| !p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with('.')))
        .collect();
    entries.sort();
    for entry in entries {
        walk(&entry, out)?;
    }
    Ok(())
}

/// An opened input: its first bytes (decompressed) for sniffing, and a reader that yields the
/// whole stream again from the start.
pub struct Opened {
    pub head: Vec<u8>,
    pub gzip: bool,
    pub reader: Box<dyn BufRead + Send>,
}

/// The reader type `Opened` hands out: the head, then the rest of the stream.
pub type Rest = Chain<Cursor<Vec<u8>>, Box<dyn Read + Send>>;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Opens any byte stream (a file, an upload): decompresses gzip and keeps the head.
pub fn open_stream(stream: Box<dyn Read + Send>) -> io::Result<Opened> {
    let mut raw = BufReader::with_capacity(256 * 1024, stream);
    let gzip = raw.fill_buf()?.starts_with(&GZIP_MAGIC);
    let mut stream: Box<dyn Read + Send> =
        if gzip { Box::new(MultiGzDecoder::new(raw)) } else { Box::new(raw) };
    let mut head = Vec::with_capacity(HEAD_BYTES);
    // A corrupt gzip header or first block shows here; the caller turns it into a dead letter.
    (&mut stream).take(HEAD_BYTES as u64).read_to_end(&mut head)?;
    let rest: Rest = Cursor::new(head.clone()).chain(stream);
    Ok(Opened { head, gzip, reader: Box::new(BufReader::with_capacity(256 * 1024, rest)) })
}

/// Reads a whole stream into memory (EVTX needs random access).
pub fn read_all(mut reader: impl Read) -> io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    reader.read_to_end(&mut buf)?;
    Ok(buf)
}
