//! AWS credentials from the standard chain, read again for every request so a rotated key is
//! picked up: the environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
//! `AWS_SESSION_TOKEN`), then the shared credentials file (`AWS_SHARED_CREDENTIALS_FILE` or
//! `~/.aws/credentials`) under the profile `AWS_PROFILE` names, or `default`.

use std::fmt;
use std::path::PathBuf;

use crate::{Error, Result};

/// One set of AWS credentials. Its `Debug` shows the key id only.
#[derive(Clone, PartialEq, Eq)]
pub struct AwsCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

impl fmt::Debug for AwsCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsCredentials").field("access_key_id", &self.access_key_id).finish_non_exhaustive()
    }
}

/// Where the credentials come from.
#[derive(Clone, Debug)]
pub enum CredentialSource {
    /// The standard chain, read from the process's environment and home.
    Chain,
    /// Given (tests, and embedding).
    Static(AwsCredentials),
}

impl CredentialSource {
    pub fn resolve(&self) -> Result<AwsCredentials> {
        match self {
            CredentialSource::Static(c) => Ok(c.clone()),
            CredentialSource::Chain => chain(&|name| std::env::var(name).ok()),
        }
    }
}

/// The chain over the environment `env` gives.
pub fn chain(env: &dyn Fn(&str) -> Option<String>) -> Result<AwsCredentials> {
    let set = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    if let (Some(id), Some(secret)) = (set("AWS_ACCESS_KEY_ID"), set("AWS_SECRET_ACCESS_KEY")) {
        return Ok(AwsCredentials {
            access_key_id: id.trim().to_owned(),
            secret_access_key: secret.trim().to_owned(),
            session_token: set("AWS_SESSION_TOKEN").map(|t| t.trim().to_owned()),
        });
    }
    let file = set("AWS_SHARED_CREDENTIALS_FILE")
        .map(PathBuf::from)
        .or_else(|| set("HOME").map(|h| PathBuf::from(h).join(".aws").join("credentials")));
    let profile = set("AWS_PROFILE").unwrap_or_else(|| "default".to_owned());
    let Some(file) = file else {
        return Err(Error::Failed(
            "no AWS credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set and there is no home for ~/.aws/credentials".into(),
        ));
    };
    let text = std::fs::read_to_string(&file).map_err(|e| {
        Error::Failed(format!(
            "no AWS credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set, and {} cannot be read: {e}",
            file.display()
        ))
    })?;
    from_profile(&text, &profile).ok_or_else(|| {
        Error::Failed(format!(
            "no AWS credentials: profile [{profile}] of {} has no aws_access_key_id and aws_secret_access_key",
            file.display()
        ))
    })
}

/// The credentials of `[profile]` in a shared credentials file.
fn from_profile(text: &str, profile: &str) -> Option<AwsCredentials> {
    let (mut inside, mut id, mut secret, mut token) = (false, None, None, None);
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || line.starts_with(';') || line.is_empty() {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            inside = name.trim() == profile;
            continue;
        }
        let Some((key, value)) = line.split_once('=') else { continue };
        if inside {
            let value = Some(value.trim().to_owned());
            match key.trim() {
                "aws_access_key_id" => id = value,
                "aws_secret_access_key" => secret = value,
                "aws_session_token" => token = value,
                _ => {}
            }
        }
    }
    Some(AwsCredentials { access_key_id: id?, secret_access_key: secret?, session_token: token })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_comes_before_the_credentials_file() {
        let env = |name: &str| match name {
            "AWS_ACCESS_KEY_ID" => Some("AKIAENV".to_owned()),
            "AWS_SECRET_ACCESS_KEY" => Some("env-secret".to_owned()),
            "AWS_SHARED_CREDENTIALS_FILE" => Some("/nonexistent".to_owned()),
            _ => None,
        };
        let found = chain(&env).expect("credentials");
        assert_eq!((found.access_key_id.as_str(), found.session_token.as_deref()), ("AKIAENV", None));
        assert!(!format!("{found:?}").contains("env-secret"), "Debug shows no secret");
    }

    #[test]
    fn the_named_profile_of_the_credentials_file_is_read_and_a_missing_one_is_said() {
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("credentials");
        std::fs::write(
            &file,
            "[default]\naws_access_key_id = AKIADEF\naws_secret_access_key = def\n\n[soc]\n# the responder's\naws_access_key_id=AKIASOC\naws_secret_access_key=soc-secret\naws_session_token = tok\n",
        )
        .expect("write");
        let path = file.to_str().expect("utf-8").to_owned();
        let env = |profile: Option<&'static str>| {
            let path = path.clone();
            move |name: &str| match name {
                "AWS_SHARED_CREDENTIALS_FILE" => Some(path.clone()),
                "AWS_PROFILE" => profile.map(str::to_owned),
                _ => None,
            }
        };
        assert_eq!(chain(&env(None)).expect("default").access_key_id, "AKIADEF");
        let soc = chain(&env(Some("soc"))).expect("soc");
        assert_eq!((soc.access_key_id.as_str(), soc.session_token.as_deref()), ("AKIASOC", Some("tok")));
        let missing = chain(&env(Some("prod"))).expect_err("no such profile").to_string();
        assert!(missing.contains("[prod]"), "{missing}");
    }
}
