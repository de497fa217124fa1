//! Which accounts hold privilege, by name pattern (`*-adm`, `administrator`), and how account
//! names from different sources are compared (`CORP\alice`, `alice@corp.example`, `alice`).

/// Case-insensitive name patterns; `*` matches any run of characters.
pub struct AccountPatterns {
    patterns: Vec<String>,
}

impl AccountPatterns {
    pub fn new(patterns: &[String]) -> AccountPatterns {
        AccountPatterns { patterns: patterns.iter().map(|p| p.to_ascii_lowercase()).collect() }
    }

    /// Whether `account` (a user key from [`user_key`]) matches a pattern.
    pub fn matches(&self, account: &str) -> bool {
        let name = short_name(account);
        self.patterns
            .iter()
            .any(|p| glob(p.as_bytes(), name.as_bytes()) || glob(p.as_bytes(), account.as_bytes()))
    }
}

/// The account name without its domain: `corp\alice` and `alice@corp.example` are `alice`.
fn short_name(account: &str) -> &str {
    let after_domain = account.rsplit('\\').next().unwrap_or(account);
    after_domain.split('@').next().unwrap_or(after_domain)
}

/// A user name as the detectors key state by: lowercased, with the `DOMAIN\` prefix kept (two
/// domains' `alice` are two people).
pub fn user_key(name: &str) -> String {
    name.trim().to_lowercase()
}

/// Accounts no person signs in as: machine accounts and Windows' built-in principals.
pub fn is_machine_or_builtin(name: &str) -> bool {
    let short = short_name(name);
    short.ends_with('$') || vigil_model::address::is_builtin_account(name)
}

fn glob(pattern: &[u8], text: &[u8]) -> bool {
    // Iterative wildcard match with one backtrack point: linear in practice, never exponential.
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if p < pattern.len() && pattern[p] == text[t] {
            p += 1;
            t += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&b| b == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_names_with_or_without_their_domain() {
        let privileged = AccountPatterns::new(&["*-adm".into(), "Administrator".into()]);
        assert!(privileged.matches("corp\\alice-adm"));
        assert!(privileged.matches("alice-adm@corp.example"));
        assert!(privileged.matches("administrator"));
        assert!(!privileged.matches("corp\\alice"));
        assert!(!privileged.matches("adm"));
    }

    #[test]
    fn machine_and_builtin_accounts_are_recognised() {
        assert!(is_machine_or_builtin("corp\\ws-12$"));
        assert!(is_machine_or_builtin("anonymous logon"));
        assert!(is_machine_or_builtin("font driver host\\umfd-3"));
        assert!(!is_machine_or_builtin("corp\\alice"));
    }
}
