//! Writing an accepted learning task where it takes effect: a rule or filter file where the
//! engine loads rules, a regression folder beside them, a playbook where triage reads them.
//! Names are Vigil's own (the task id, a playbook id checked to be a plain name), never text
//! from a log. A write can be taken back when its decision cannot be recorded; with
//! `learning.git` it is committed to the folder's git repository (the reviewer as author, the
//! task and rationale in the message), and taking it back is a revert commit, never a rewrite.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use vigil_store::LearningTask;

use crate::error::{ApiError, ApiResult, Code};

/// What an acceptance wrote, and how to take it back.
pub struct Written {
    pub path: PathBuf,
    /// The file's content before, when it replaced one (a playbook's earlier accepted edit).
    previous: Option<Vec<u8>>,
    /// The commit that recorded it, and the repository folder it was made in.
    pub commit: Option<(PathBuf, String)>,
}

impl Written {
    fn new(path: PathBuf, previous: Option<Vec<u8>>) -> Written {
        Written { path, previous, commit: None }
    }

    /// Where it went, as the audit trail records it.
    pub fn shown(&self) -> String {
        match &self.commit {
            Some((_, sha)) => format!("{} (git commit {sha})", self.path.display()),
            None => self.path.display().to_string(),
        }
    }

    /// Takes the write back.
    pub fn undo(&self) {
        if let Some((dir, sha)) = &self.commit {
            match git(dir, &["revert", "--no-edit", sha]) {
                Ok(_) => return,
                Err(e) => {
                    tracing::error!(commit = %sha, error = %e, "the commit of an unrecorded decision could not be reverted")
                }
            }
        }
        match &self.previous {
            Some(bytes) => {
                let _ = std::fs::write(&self.path, bytes);
            }
            None if self.path.is_dir() => {
                let _ = std::fs::remove_dir_all(&self.path);
            }
            None => {
                let _ = std::fs::remove_file(&self.path);
            }
        }
    }
}

fn header(task: &LearningTask) -> String {
    format!(
        "# Accepted from learning task {} on case {} ({}).\n",
        task.id,
        task.case_id,
        task.rule_id.as_deref().map_or_else(|| task.kind.as_str().to_owned(), |r| format!("rule {r}"))
    )
}

/// A filter or a drafted rule, as `<task id>.yml` in the learnt rules folder.
pub fn rule(dir: &Path, task: &LearningTask, artefact: &str) -> ApiResult<Written> {
    std::fs::create_dir_all(dir).map_err(ApiError::internal)?;
    let path = dir.join(format!("{}.yml", task.id));
    std::fs::write(&path, format!("{}{artefact}", header(task))).map_err(ApiError::internal)?;
    Ok(Written::new(path, None))
}

/// A regression test as `regression_data/<task id>/`: the `info.yml` and its files.
pub fn regression(
    dir: &Path,
    task: &LearningTask,
    info: &str,
    files: &[(String, String)],
) -> ApiResult<Written> {
    let folder = dir.join("regression_data").join(&task.id);
    std::fs::create_dir_all(&folder).map_err(ApiError::internal)?;
    let written = Written::new(folder.clone(), None);
    let done = std::fs::write(folder.join("info.yml"), info)
        .and_then(|()| files.iter().try_for_each(|(name, lines)| std::fs::write(folder.join(name), lines)));
    if let Err(e) = done {
        written.undo();
        return Err(ApiError::internal(e));
    }
    Ok(written)
}

/// A playbook as `<playbook id>.yml` in the playbooks folder, replacing an earlier edit of it.
pub fn playbook(dir: &Path, task: &LearningTask, id: &str, artefact: &str) -> ApiResult<Written> {
    if id.is_empty()
        || id.starts_with('.')
        || !id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(ApiError::new(
            Code::BadRequest,
            format!("playbook id {id:?}: letters, digits, `-`, `_` and `.` only"),
        ));
    }
    std::fs::create_dir_all(dir).map_err(ApiError::internal)?;
    let path = dir.join(format!("{id}.yml"));
    let previous = std::fs::read(&path).ok();
    std::fs::write(&path, format!("{}{artefact}", header(task))).map_err(ApiError::internal)?;
    Ok(Written::new(path, previous))
}

/// Runs git in `dir` with Vigil as committer (so no git identity need be configured), never
/// asking for anything on a terminal; its standard output, trimmed.
fn git(dir: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=Vigil", "-c", "user.email=vigil@localhost", "-c", "commit.gpgsign=false"])
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("git could not be run: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "git {}: {}",
            args.first().unwrap_or(&""),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// A reviewer's name as a git author: their user name, with anything but letters, digits and
/// `._-` made `_` (it cannot close the `<…>` or start an option).
fn author(reviewer: &str) -> String {
    let name: String = reviewer
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '_' })
        .collect();
    format!("{name} <{name}@vigil.invalid>")
}

/// Commits what `written` wrote to the git repository its folder is in. A folder in no
/// repository, or a commit git refuses, is an error naming why; the write is then taken back.
pub fn commit(written: &mut Written, task: &LearningTask, reviewer: &str, rationale: &str) -> ApiResult<()> {
    let dir = if written.path.is_dir() {
        written.path.clone()
    } else {
        written.path.parent().map(Path::to_path_buf).unwrap_or_default()
    };
    let path = written.path.display().to_string();
    let message = format!(
        "Vigil learning: accept {} {} from case {}\n\n{}\n\nTask: {}\nReviewed by: {reviewer}\nRationale: {rationale}\n",
        task.kind.as_str(),
        task.rule_id.as_deref().unwrap_or(""),
        task.case_id,
        task.title,
        task.id,
    );
    let author = author(reviewer);
    let done = git(&dir, &["add", "--", &path])
        .and_then(|_| git(&dir, &["commit", "--quiet", "--author", &author, "-m", &message, "--", &path]))
        .and_then(|_| git(&dir, &["rev-parse", "HEAD"]));
    match done {
        Ok(sha) => {
            written.commit = Some((dir, sha));
            Ok(())
        }
        Err(e) => {
            written.undo();
            Err(ApiError::new(
                Code::Conflict,
                format!("learning.git is on, and the change could not be committed: {e}"),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reviewer_name_cannot_break_out_of_the_author() {
        assert_eq!(author("alice"), "alice <alice@vigil.invalid>");
        assert_eq!(author("--x> <y"), "--x___y <--x___y@vigil.invalid>");
    }
}
