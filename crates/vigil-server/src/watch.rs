//! The watched directory: files dropped into it are ingested, then moved to `.done/` beside
//! them (or `.failed/` with a `.reason` file). Writers should write elsewhere (or under a
//! dot-name) and rename into place, so no file is read half-written.

use std::path::{Path, PathBuf};
use std::time::Duration;

use vigil_engine::decode::decode;
use vigil_engine::ingest::Ingest;

async fn move_to(file: &Path, dir: &str, reason: Option<&str>) {
    if let Some(reason) = reason {
        tracing::warn!(file = %file.display(), reason, "watched file not ingested; moved to {dir}");
    }
    let Some(parent) = file.parent() else { return };
    let target = parent.join(dir);
    if tokio::fs::create_dir_all(&target).await.is_err() {
        return;
    }
    let Some(name) = file.file_name() else { return };
    let dest = target.join(name);
    if tokio::fs::rename(file, &dest).await.is_ok()
        && let Some(reason) = reason
    {
        let _ = tokio::fs::write(target.join(format!("{}.reason", name.to_string_lossy())), reason).await;
    }
}

/// Ingests one file; `false` when it should be tried again later (the queue was full).
async fn ingest_file(ingest: &Ingest, file: PathBuf) -> bool {
    // A file's yearless dates take their year from when it was last written.
    let written_at = tokio::fs::metadata(&file)
        .await
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .and_then(|d| i64::try_from(d.as_millis()).ok())
        .unwrap_or_else(vigil_store::time::now_ms);
    let bytes = match tokio::fs::read(&file).await {
        Ok(b) => b,
        Err(e) => {
            move_to(&file, ".failed", Some(&e.to_string())).await;
            return true;
        }
    };
    let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let source = format!("watch:{name}");
    let decoded =
        match tokio::task::spawn_blocking(move || decode(&source, &name, bytes, None, written_at)).await {
            Ok(d) => d,
            Err(e) => {
                move_to(&file, ".failed", Some(&e.to_string())).await;
                return true;
            }
        };
    match ingest.submit(decoded.events, decoded.dead).await {
        Ok(_) => {
            move_to(&file, ".done", None).await;
            true
        }
        Err(vigil_engine::Error::Overloaded { .. }) => false,
        Err(e) => {
            move_to(&file, ".failed", Some(&e.to_string())).await;
            true
        }
    }
}

/// Polls `dir` every `interval`, oldest files first.
pub async fn run(dir: PathBuf, ingest: Ingest, interval: Duration) {
    let mut tick = tokio::time::interval(interval);
    loop {
        tick.tick().await;
        let Ok(mut entries) = tokio::fs::read_dir(&dir).await else { continue };
        let mut files = Vec::new();
        while let Ok(Some(entry)) = entries.next_entry().await {
            let hidden = entry.file_name().to_string_lossy().starts_with('.');
            let is_file = entry.file_type().await.is_ok_and(|t| t.is_file());
            if !hidden && is_file {
                let modified = entry.metadata().await.ok().and_then(|m| m.modified().ok());
                files.push((modified, entry.path()));
            }
        }
        files.sort();
        for (_, file) in files {
            if !ingest_file(&ingest, file).await {
                break;
            }
        }
    }
}
