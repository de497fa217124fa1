//! A draft Sigma rule from events that raised no alert: what a case judged malicious showed
//! before it was first detected. Each event becomes one selection on the fields that say what
//! happened (the process and its command line and parent, the registry path written, the cloud
//! API called), never on who, where or when, so the rule catches the technique again rather
//! than this one session. One draft per logsource, written with that logsource.

use std::collections::BTreeMap;

use serde_json::Value;
use sha2::{Digest, Sha256};
use vigil_model::view::SourceView;

use crate::tune::{name_uuid, quoted, sigma_literal};

/// How a drafted condition compares a field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Compare {
    Equals,
    EndsWith,
    Contains,
}

impl Compare {
    fn modifier(self) -> &'static str {
        match self {
            Compare::Equals => "",
            Compare::EndsWith => "|endswith",
            Compare::Contains => "|contains",
        }
    }
}

/// One event's selection: the fields and how each is compared.
pub type Selection = Vec<(String, Compare, String)>;

/// A drafted rule, with the events each selection was made from.
#[derive(Clone, Debug, PartialEq)]
pub struct DraftRule {
    pub id: String,
    pub title: String,
    pub description: String,
    pub product: Option<String>,
    pub service: Option<String>,
    pub category: Option<String>,
    pub selections: Vec<Selection>,
    pub tags: Vec<String>,
    pub date: String,
}

/// Categories a draft can be written for, with what each keys on.
const CATEGORIES: &[&str] =
    &["process_creation", "registry_set", "registry_add", "registry_event", "registry_delete"];

/// Fields naming the API call of a cloud or identity provider's audit record.
const API_FIELDS: &[&str] =
    &["eventSource", "eventName", "eventType", "operationName", "Operation", "serviceName", "methodName"];

/// The longest command-line remainder a draft keeps; longer ones are specific to one run.
const MAX_ARGUMENTS: usize = 200;
/// Selections a draft holds at most.
pub const MAX_SELECTIONS: usize = 10;

fn field<'a>(fields: &'a Value, path: &str) -> Option<&'a str> {
    if let Some(v) = fields.get(path) {
        return v.as_str();
    }
    let mut at = fields;
    for part in path.split('.') {
        at = at.get(part)?;
    }
    at.as_str()
}

/// `\name.exe` of a Windows or POSIX path.
fn basename(path: &str) -> Option<String> {
    let name = path.rsplit(['\\', '/']).next()?.trim();
    (!name.is_empty()).then(|| format!("\\{name}"))
}

/// The command line after the program (quoted or not), trimmed.
fn arguments(command_line: &str) -> &str {
    let line = command_line.trim();
    let rest = match line.strip_prefix('"') {
        Some(quoted) => quoted.split_once('"').map_or("", |(_, rest)| rest),
        None => line.split_once(char::is_whitespace).map_or("", |(_, rest)| rest),
    };
    rest.trim()
}

/// A registry path without its hive and user SID (`HKU\S-1-5-21-…\Software\X` is `\Software\X`).
fn registry_path(target: &str) -> Option<String> {
    let mut parts = target.split('\\').filter(|p| !p.is_empty());
    let hive = parts.next()?;
    let mut rest: Vec<&str> = parts.collect();
    let is_user_hive = hive.eq_ignore_ascii_case("HKU") || hive.eq_ignore_ascii_case("HKEY_USERS");
    if is_user_hive && rest.first().is_some_and(|s| s.to_ascii_uppercase().starts_with("S-1-")) {
        rest.remove(0);
    }
    (rest.len() >= 2).then(|| format!("\\{}", rest.join("\\")))
}

/// The selection an event of `category` (or, with none, a cloud or identity audit record)
/// yields, if it names what happened.
fn selection(category: Option<&str>, fields: &Value) -> Option<Selection> {
    let mut s: Selection = Vec::new();
    match category {
        Some("process_creation") => {
            let image = field(fields, "Image").and_then(basename)?;
            s.push(("Image".into(), Compare::EndsWith, image));
            if let Some(args) = field(fields, "CommandLine").map(arguments)
                && (3..=MAX_ARGUMENTS).contains(&args.chars().count())
            {
                s.push(("CommandLine".into(), Compare::Contains, args.to_owned()));
            }
            if let Some(parent) = field(fields, "ParentImage").and_then(basename) {
                s.push(("ParentImage".into(), Compare::EndsWith, parent));
            }
        }
        Some(_) => {
            let path = field(fields, "TargetObject").and_then(registry_path)?;
            s.push(("TargetObject".into(), Compare::Contains, path));
            if let Some(image) = field(fields, "Image").and_then(basename) {
                s.push(("Image".into(), Compare::EndsWith, image));
            }
        }
        None => {
            for name in API_FIELDS {
                if let Some(v) = field(fields, name).filter(|v| !v.trim().is_empty()) {
                    s.push(((*name).to_owned(), Compare::Equals, v.to_owned()));
                }
            }
            // An API call is named by an action field; a source alone says nothing.
            if !s.iter().any(|(f, _, _)| f != "eventSource" && f != "serviceName") {
                return None;
            }
        }
    }
    Some(s)
}

/// What the drafts are about: the case, its tags, the day.
pub struct About<'a> {
    pub case: &'a str,
    pub tags: &'a [String],
    pub date: &'a str,
}

/// The drafts `views` support, one per logsource, and how many views none could be made from.
pub fn draft(views: &[&SourceView], about: &About<'_>) -> (Vec<DraftRule>, usize) {
    type Key = (Option<String>, Option<String>, Option<String>);
    let mut groups: BTreeMap<Key, Vec<Selection>> = BTreeMap::new();
    let mut undrafted = 0;
    for view in views {
        let ls = &view.logsource;
        let category = ls.categories.iter().find(|c| CATEGORIES.contains(&c.as_str())).cloned();
        let cloud = category.is_none() && ls.service.is_some();
        let made =
            if category.is_some() || cloud { selection(category.as_deref(), &view.fields) } else { None };
        let Some(made) = made else {
            undrafted += 1;
            continue;
        };
        // A category rule names its product; a service's records are named by product and service.
        let key = match &category {
            Some(_) => (ls.product.clone(), None, category),
            None => (ls.product.clone(), ls.service.clone(), None),
        };
        let selections = groups.entry(key).or_default();
        if !selections.contains(&made) && selections.len() < MAX_SELECTIONS {
            selections.push(made);
        }
    }
    let drafts = groups
        .into_iter()
        .map(|((product, service, category), selections)| {
            let what: Vec<String> = selections
                .iter()
                .filter_map(|s| s.iter().find(|(f, _, _)| f != "eventSource" && f != "serviceName"))
                .map(|(_, _, v)| v.trim_start_matches('\\').to_owned())
                .collect();
            let mut digest = Sha256::new();
            digest.update(format!("{}\0{product:?}\0{service:?}\0{category:?}\0{selections:?}", about.case));
            let source = category.clone().or_else(|| service.clone()).unwrap_or_default();
            DraftRule {
                id: name_uuid(&digest.finalize()),
                title: format!("Early activity of case {} ({source}): {}", about.case, what.join(", ")),
                description: format!(
                    "Drafted from events of case {} (judged malicious) that came before its first alert and raised none.",
                    about.case
                ),
                product,
                service,
                category,
                selections,
                tags: about.tags.to_vec(),
                date: about.date.to_owned(),
            }
        })
        .collect();
    (drafts, undrafted)
}

impl DraftRule {
    /// The draft as a Sigma rule. Every value from the events is quoted and escaped, so a log
    /// field can never add a key or change the condition.
    pub fn to_yaml(&self) -> String {
        let mut y = String::new();
        y.push_str(&format!("title: {}\n", quoted(&self.title)));
        y.push_str(&format!("id: {}\n", self.id));
        y.push_str("status: experimental\n");
        y.push_str(&format!("description: {}\n", quoted(&self.description)));
        y.push_str("author: Vigil learning\n");
        y.push_str(&format!("date: {}\n", quoted(&self.date)));
        if !self.tags.is_empty() {
            let tags: Vec<String> = self.tags.iter().map(|t| quoted(t)).collect();
            y.push_str(&format!("tags: [{}]\n", tags.join(", ")));
        }
        y.push_str("logsource:\n");
        for (key, value) in
            [("product", &self.product), ("service", &self.service), ("category", &self.category)]
        {
            if let Some(v) = value {
                y.push_str(&format!("  {key}: {}\n", quoted(v)));
            }
        }
        y.push_str("detection:\n");
        for (i, selection) in self.selections.iter().enumerate() {
            y.push_str(&format!("  selection_{}:\n", i + 1));
            for (name, compare, value) in selection {
                let key = format!("{name}{}", compare.modifier());
                y.push_str(&format!("    {}: {}\n", quoted(&key), quoted(&sigma_literal(value))));
            }
        }
        y.push_str("  condition: 1 of selection_*\n");
        y.push_str(
            "falsepositives:\n  - \"Unknown: replay it against your stored events before accepting\"\n",
        );
        y.push_str("level: medium\n");
        y
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use vigil_model::view::LogSource;

    use super::*;
    use crate::{RuleFile, RuleSet, RuleSetConfig};

    fn process(image: &str, command_line: &str, parent: &str) -> SourceView {
        SourceView {
            logsource: LogSource::new("windows", Some("sysmon")).with_category("process_creation"),
            fields: json!({"Image": image, "CommandLine": command_line, "ParentImage": parent,
                           "User": "CORP\\alice", "UtcTime": "2026-11-02 10:00:00.000"}),
        }
    }

    fn cloudtrail(event_name: &str, user: &str) -> SourceView {
        SourceView {
            logsource: LogSource::new("aws", Some("cloudtrail")),
            fields: json!({"eventSource": "iam.amazonaws.com", "eventName": event_name,
                           "userIdentity": {"userName": user}, "sourceIPAddress": "203.0.113.9"}),
        }
    }

    fn load(draft: &DraftRule) -> RuleSet {
        let file = RuleFile { name: "draft.yml".into(), text: draft.to_yaml() };
        let (set, diagnostics) = RuleSet::load(&[file], &RuleSetConfig::default()).expect("the draft loads");
        assert!(diagnostics.is_empty(), "{diagnostics:?}\n{}", draft.to_yaml());
        set
    }

    fn about() -> About<'static> {
        About { case: "case-1", tags: &[], date: "2026-11-02" }
    }

    #[test]
    fn a_draft_fires_on_the_events_it_was_made_from_and_on_the_technique_elsewhere() {
        let early = [
            process(
                r"C:\Windows\System32\whoami.exe",
                r"whoami.exe /all /fo list",
                r"C:\Windows\System32\cmd.exe",
            ),
            process(
                r"C:\Windows\System32\net.exe",
                r#""C:\Windows\System32\net.exe" group "domain admins" /domain"#,
                r"C:\Windows\System32\cmd.exe",
            ),
        ];
        let refs: Vec<&SourceView> = early.iter().collect();
        let (drafts, undrafted) = draft(&refs, &about());
        assert_eq!((drafts.len(), undrafted), (1, 0));
        let d = &drafts[0];
        assert_eq!(d.category.as_deref(), Some("process_creation"));
        assert_eq!(d.selections.len(), 2);
        let set = load(d);
        for view in &early {
            assert_eq!(set.evaluate(view).len(), 1, "fires on {view:?}");
        }
        // Another user on another host running the same thing: caught.
        let again =
            process(r"D:\tools\whoami.exe", r"whoami /all /fo list", r"C:\Windows\explorer.exe\..\cmd.exe");
        assert_eq!(set.evaluate(&again).len(), 1);
        // The same program doing something else: not caught.
        let plain = process(r"C:\Windows\System32\whoami.exe", "whoami.exe", r"C:\Windows\System32\cmd.exe");
        assert!(set.evaluate(&plain).is_empty());
    }

    #[test]
    fn a_cloud_draft_names_the_api_called_not_who_called_it() {
        let early = [cloudtrail("CreateAccessKey", "mallory"), cloudtrail("AttachUserPolicy", "mallory")];
        let refs: Vec<&SourceView> = early.iter().collect();
        let (drafts, _) = draft(&refs, &about());
        let d = &drafts[0];
        assert_eq!(
            (d.product.as_deref(), d.service.as_deref(), d.category.as_deref()),
            (Some("aws"), Some("cloudtrail"), None)
        );
        let set = load(d);
        assert_eq!(set.evaluate(&cloudtrail("CreateAccessKey", "someone-else")).len(), 1);
        assert!(set.evaluate(&cloudtrail("ListUsers", "mallory")).is_empty());
        assert!(!d.to_yaml().contains("mallory"), "who is never in the draft");
    }

    #[test]
    fn a_registry_draft_leaves_out_the_hive_and_the_users_sid() {
        let view = SourceView {
            logsource: LogSource::new("windows", Some("sysmon"))
                .with_category("registry_set")
                .with_category("registry_event"),
            fields: json!({"TargetObject": r"HKU\S-1-5-21-1-2-3-1001\Software\Microsoft\Windows\CurrentVersion\Run\updater",
                           "Image": r"C:\Users\alice\AppData\Local\Temp\drop.exe"}),
        };
        let (drafts, _) = draft(&[&view], &about());
        assert_eq!(drafts[0].selections[0][0].2, r"\Software\Microsoft\Windows\CurrentVersion\Run\updater");
        assert_eq!(load(&drafts[0]).evaluate(&view).len(), 1);
    }

    #[test]
    fn a_hostile_command_line_stays_data_in_the_draft() {
        let hostile = "x\"\ncondition: selection_9\n* ? \\ 'q' #c";
        let view = process(r"C:\x\evil.exe", &format!("evil.exe {hostile}"), r"C:\x\p.exe");
        let (drafts, _) = draft(&[&view], &about());
        let yaml = drafts[0].to_yaml();
        assert_eq!(yaml.lines().filter(|l| l.trim_start().starts_with("condition:")).count(), 1, "{yaml}");
        let set = load(&drafts[0]);
        assert_eq!(set.evaluate(&view).len(), 1, "the literal text matches itself");
        let wild =
            process(r"C:\x\evil.exe", "evil.exe x\"\ncondition: selection_9\nAB ? \\ 'q' #c", r"C:\x\p.exe");
        assert!(set.evaluate(&wild).is_empty(), "`*` is no wildcard in the draft");
    }

    #[test]
    fn events_that_say_nothing_draftable_are_counted_not_drafted() {
        let logon = SourceView {
            logsource: LogSource::new("windows", Some("security")),
            fields: json!({"EventID": 4624}),
        };
        let (drafts, undrafted) = draft(&[&logon], &about());
        assert!(drafts.is_empty());
        assert_eq!(undrafted, 1);
    }
}
