//! Loading rules into engines routed by logsource, and evaluating records against them.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use rsigma_eval::{CompiledRule, Engine, EvaluationResult, JsonEvent, apply_pipelines, compile_rule};
use rsigma_parser::{CorrelationRule, FilterRule, SigmaCollection, SigmaRule, parse_sigma_yaml};
use serde::Serialize;
use serde_json::Value;
use vigil_model::view::{SigmaView, SourceView};

use crate::correlation::CorrelationSet;
use crate::diagnostic::Diagnostic;
use crate::error::Result;
use crate::filter;
use crate::keywords;
use crate::mapping::FieldMapping;
use crate::parallel;
use crate::placeholders;
use crate::rule::RuleInfo;
use crate::thresholds::{self, Threshold};
use crate::view_event::OverlayEvent;

/// A rule file's name and text.
#[derive(Clone, Debug)]
pub struct RuleFile {
    pub name: String,
    pub text: String,
}

/// How rules are loaded.
#[derive(Clone, Debug, Default)]
pub struct RuleSetConfig {
    /// Values for `|expand` placeholders, by name (without the `%`).
    pub placeholders: BTreeMap<String, Vec<String>>,
    /// Field mappings beyond the built-in ones ([`crate::mapping::BUILTIN`]), which always apply.
    pub mappings: Vec<FieldMapping>,
    /// Thresholds and windows for correlation rules, by rule id or name.
    pub thresholds: BTreeMap<String, Threshold>,
    /// Threads for parsing and compiling (0: one per core, at most eight).
    pub threads: usize,
}

/// (product, service, category), lowercased; `None` where the rule does not constrain it.
type RouteKey = (Option<String>, Option<String>, Option<String>);

type RuleAndInfo = (SigmaRule, Arc<RuleInfo>);

struct Route {
    engine: Engine,
    /// Rules by (id, title) as the engine reports them.
    rules: HashMap<(Option<String>, String), Arc<RuleInfo>>,
}

/// One rule firing on one record.
#[derive(Clone, Debug, Serialize)]
pub struct Detection {
    pub rule: Arc<RuleInfo>,
    /// The fields that matched, with their values.
    pub matched: Vec<(String, Value)>,
    /// The engine's own result, which correlation consumes.
    #[serde(skip)]
    pub(crate) result: EvaluationResult,
}

/// Loaded rules, grouped into one engine per logsource so a record meets only the rules that
/// apply to it.
pub struct RuleSet {
    /// product → service → category → engine; "" where the rules leave it open. Nested so a
    /// record's lookups borrow its logsource instead of building keys.
    routes: Routes,
    len: usize,
    correlations: CorrelationSet,
}

/// `s` lowercased, without allocating when it already is (as Vigil's own logsources are).
fn lowercase(s: &str) -> Cow<'_, str> {
    if s.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(s.to_ascii_lowercase())
    } else {
        Cow::Borrowed(s)
    }
}

fn lower(s: &Option<String>) -> Option<String> {
    s.as_ref().map(|s| s.to_ascii_lowercase())
}

/// How many YAML documents a rule file holds (to tell a dropped document from a warning).
fn documents(text: &str) -> usize {
    let separators = text.lines().filter(|l| l.trim_end() == "---").count();
    let leading = text.trim_start().starts_with("---");
    (separators + 1).saturating_sub(usize::from(leading)).max(1)
}

/// The pipelines that rewrite a logsource's rules before they compile: placeholder values, then
/// the field mappings of the sources it reads.
fn route_pipelines(
    key: &RouteKey,
    placeholders: Option<&rsigma_eval::Pipeline>,
    mappings: &[FieldMapping],
) -> Vec<rsigma_eval::Pipeline> {
    let (product, service, _) = key;
    placeholders
        .into_iter()
        .chain(
            mappings
                .iter()
                .filter(|m| m.applies_to(product.as_deref(), service.as_deref()))
                .map(|m| m.pipeline()),
        )
        .cloned()
        .collect()
}

/// Why a parsed rule did not compile; it becomes the rule's diagnostic.
#[derive(Debug, thiserror::Error)]
enum NotCompiled {
    #[error("a processing pipeline failed on it: {0}")]
    Pipeline(#[source] rsigma_eval::EvalError),
    #[error("{0}")]
    Compile(#[source] rsigma_eval::EvalError),
}

fn compile(
    rule: &SigmaRule,
    pipelines: &[rsigma_eval::Pipeline],
) -> std::result::Result<CompiledRule, NotCompiled> {
    let fixed = keywords::as_substrings(rule);
    let rule = fixed.as_ref().unwrap_or(rule);
    if pipelines.is_empty() {
        return compile_rule(rule).map_err(NotCompiled::Compile);
    }
    let mut rule = rule.clone();
    apply_pipelines(pipelines, &mut rule).map_err(NotCompiled::Pipeline)?;
    compile_rule(&rule).map_err(NotCompiled::Compile)
}

/// One logsource's engine from its compiled rules, with the filters that target them applied.
fn build_route(
    rules: Vec<(Arc<RuleInfo>, std::result::Result<CompiledRule, NotCompiled>)>,
    filters: &[filter::Filter],
) -> (Route, Vec<Diagnostic>) {
    let mut diagnostics = Vec::new();
    let mut by_identity = HashMap::with_capacity(rules.len());
    let mut compiled = Vec::with_capacity(rules.len());
    for (info, result) in rules {
        match result {
            Ok(rule) => {
                by_identity.insert((rule.id.clone(), rule.title.clone()), info);
                compiled.push(rule);
            }
            Err(why) => diagnostics.push(Diagnostic {
                file: info.file.clone(),
                rule: Some(info.id.clone()),
                message: why.to_string(),
                skipped: true,
            }),
        }
    }
    let mut engine = Engine::new();
    engine.extend_compiled_rules(compiled);
    filter::apply(&mut engine, filters, &mut diagnostics);
    (Route { engine, rules: by_identity }, diagnostics)
}

/// The rule files as parsed: each file with its documents, and the filters across them.
struct Parsed<'f> {
    files: Vec<(&'f RuleFile, SigmaCollection)>,
    filters: Vec<(FilterRule, String)>,
}

/// Parses every file on every thread; a file that does not parse, or a document dropped from
/// one, is a diagnostic.
fn parse<'f>(files: &'f [RuleFile], threads: usize, diagnostics: &mut Vec<Diagnostic>) -> Parsed<'f> {
    let mut parsed = Parsed { files: Vec::with_capacity(files.len()), filters: Vec::new() };
    let collections = parallel::map(files, threads, |file| parse_sigma_yaml(&file.text));
    for (file, collection) in files.iter().zip(collections) {
        let mut collection = match collection {
            Ok(c) => c,
            Err(e) => {
                diagnostics.push(Diagnostic {
                    file: file.name.clone(),
                    rule: None,
                    message: e.to_string(),
                    skipped: true,
                });
                continue;
            }
        };
        let documents_read =
            collection.rules.len() + collection.correlations.len() + collection.filters.len();
        let dropped = documents_read < documents(&file.text);
        for message in &collection.errors {
            diagnostics.push(Diagnostic {
                file: file.name.clone(),
                rule: None,
                message: message.clone(),
                skipped: dropped,
            });
        }
        parsed
            .filters
            .extend(std::mem::take(&mut collection.filters).into_iter().map(|f| (f, file.name.clone())));
        parsed.files.push((file, collection));
    }
    parsed
}

/// The correlation rules, and which detection rules they name: those feed the correlations and
/// are building blocks (not alerts of their own) unless a correlation says `generate: true`.
struct Correlations {
    rules: Vec<(CorrelationRule, String)>,
    referenced: HashSet<String>,
    generated: HashSet<String>,
}

impl Correlations {
    fn take(
        parsed: &mut Parsed<'_>,
        config: &RuleSetConfig,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> Correlations {
        let mut rules: Vec<(CorrelationRule, String)> = parsed
            .files
            .iter_mut()
            .flat_map(|(file, c)| {
                std::mem::take(&mut c.correlations).into_iter().map(|r| (r, file.name.clone()))
            })
            .collect();
        thresholds::apply(&config.thresholds, &mut rules, diagnostics);
        let referenced = rules.iter().flat_map(|(c, _)| c.rules.iter().cloned()).collect();
        let generated =
            rules.iter().filter(|(c, _)| c.generate).flat_map(|(c, _)| c.rules.iter().cloned()).collect();
        Correlations { rules, referenced, generated }
    }

    fn names(set: &HashSet<String>, rule: &SigmaRule) -> bool {
        [&rule.id, &rule.name].iter().any(|n| n.as_deref().is_some_and(|n| set.contains(n)))
    }
}

/// Every name a filter may use for a rule (id, `name`, title) → the identity the engine knows
/// it by (its id, or its title when it has none).
fn identities(parsed: &Parsed<'_>) -> HashMap<String, String> {
    let mut identities = HashMap::new();
    for rule in parsed.files.iter().flat_map(|(_, c)| &c.rules) {
        let identity = rule.id.clone().unwrap_or_else(|| rule.title.clone());
        for key in [&rule.id, &rule.name].into_iter().flatten().chain([&rule.title]) {
            identities.entry(key.clone()).or_insert_with(|| identity.clone());
        }
    }
    identities
}

/// The detection rules grouped by logsource, and the rules correlations name (compiled into the
/// correlation engine too). A rule whose `|expand` placeholders have no configured value is a
/// diagnostic instead.
fn group(
    parsed: Parsed<'_>,
    correlations: &Correlations,
    config: &RuleSetConfig,
    diagnostics: &mut Vec<Diagnostic>,
) -> (HashMap<RouteKey, Vec<RuleAndInfo>>, Vec<SigmaRule>) {
    let mut grouped: HashMap<RouteKey, Vec<RuleAndInfo>> = HashMap::new();
    let mut referenced_rules = Vec::new();
    for (file, collection) in parsed.files {
        // Only a file that says `|expand` can hold a placeholder; reading the others'
        // detections for one would cost a serialization per rule.
        let expands = file.text.contains("|expand");
        for rule in collection.rules {
            let is_referenced = Correlations::names(&correlations.referenced, &rule);
            if is_referenced {
                referenced_rules.push(rule.clone());
            }
            let mut info = RuleInfo::from_sigma(&rule, &file.name);
            info.building_block = is_referenced && !Correlations::names(&correlations.generated, &rule);
            let info = Arc::new(info);
            let used = if expands { placeholders::used_by(&rule) } else { Default::default() };
            let missing: Vec<String> =
                used.into_iter().filter(|p| !config.placeholders.contains_key(p)).collect();
            if !missing.is_empty() {
                diagnostics.push(Diagnostic {
                    file: file.name.clone(),
                    rule: Some(info.id.clone()),
                    message: format!("placeholders without configured values: %{}%", missing.join("%, %")),
                    skipped: true,
                });
                continue;
            }
            let ls = &rule.logsource;
            let key = (lower(&ls.product), lower(&ls.service), lower(&ls.category));
            grouped.entry(key).or_default().push((rule, info));
        }
    }
    (grouped, referenced_rules)
}

type Routes = HashMap<String, HashMap<String, HashMap<String, Route>>>;

/// How many values a rule's detections compare against: what building its engine's
/// automata costs grows with (a rule listing thousands of driver hashes costs more than a
/// thousand rules with a few values each).
fn values(rule: &SigmaRule) -> usize {
    fn of(detection: &rsigma_parser::Detection) -> usize {
        use rsigma_parser::Detection as D;
        match detection {
            D::AllOf(items) => items.iter().map(|i| i.values.len().max(1)).sum(),
            D::AnyOf(all) | D::And(all) => all.iter().map(of).sum(),
            D::Keywords(values) => values.len(),
            D::ArrayMatch { body, .. } => of(body),
            D::Conditional { named, .. } => named.values().map(of).sum(),
        }
    }
    rule.detection.named.values().map(of).sum::<usize>().max(1)
}

/// Compiles every grouped rule on every thread (after the pipelines of its logsource), then
/// builds each logsource's engine once, the costliest first (by [`values`]) so no thread is
/// left building one alone at the end. Returns the routes and how many rules they hold.
fn compile_routes(
    grouped: HashMap<RouteKey, Vec<RuleAndInfo>>,
    placeholders: Option<&rsigma_eval::Pipeline>,
    mappings: &[FieldMapping],
    filters: &[filter::Filter],
    threads: usize,
    diagnostics: &mut Vec<Diagnostic>,
) -> (Routes, usize) {
    let mut grouped: Vec<(RouteKey, Vec<RuleAndInfo>)> = grouped.into_iter().collect();
    let weight = |rules: &[RuleAndInfo]| rules.iter().map(|(rule, _)| values(rule)).sum::<usize>();
    grouped.sort_by_cached_key(|(key, rules)| (std::cmp::Reverse(weight(rules)), key.clone()));
    let pipelines: Vec<Vec<rsigma_eval::Pipeline>> =
        grouped.iter().map(|(key, _)| route_pipelines(key, placeholders, mappings)).collect();
    let jobs: Vec<(usize, usize)> = grouped
        .iter()
        .enumerate()
        .flat_map(|(r, (_, rules))| (0..rules.len()).map(move |i| (r, i)))
        .collect();
    let mut compiled =
        parallel::map(&jobs, threads, |&(r, i)| compile(&grouped[r].1[i].0, &pipelines[r])).into_iter();
    let mut per_route = Vec::with_capacity(grouped.len());
    let mut keys = Vec::with_capacity(grouped.len());
    for (key, rules) in grouped {
        // `parallel::map` answers every job, in order: one result per rule.
        per_route.push(
            rules
                .into_iter()
                .zip(compiled.by_ref())
                .map(|((_, info), result)| (info, result))
                .collect::<Vec<_>>(),
        );
        keys.push(key);
    }
    let built = parallel::map_owned(per_route, threads, |rules| build_route(rules, filters));
    let mut routes: Routes = HashMap::new();
    let mut len = 0;
    for ((product, service, category), (route, route_diagnostics)) in keys.into_iter().zip(built) {
        len += route.rules.len();
        diagnostics.extend(route_diagnostics);
        routes
            .entry(product.unwrap_or_default())
            .or_default()
            .entry(service.unwrap_or_default())
            .or_default()
            .insert(category.unwrap_or_default(), route);
    }
    (routes, len)
}

impl RuleSet {
    /// Loads every rule it can from `files`. Each problem is a diagnostic; a bad rule never
    /// stops the others.
    pub fn load(files: &[RuleFile], config: &RuleSetConfig) -> Result<(RuleSet, Vec<Diagnostic>)> {
        let placeholders = placeholders::pipeline(&config.placeholders)?;
        let mut mappings = FieldMapping::builtin()?;
        mappings.extend(config.mappings.iter().cloned());
        let threads = if config.threads == 0 { parallel::default_threads() } else { config.threads };
        let mut diagnostics = Vec::new();
        let mut parsed = parse(files, threads, &mut diagnostics);
        let correlations = Correlations::take(&mut parsed, config, &mut diagnostics);
        let filters =
            filter::resolve(std::mem::take(&mut parsed.filters), &identities(&parsed), &mut diagnostics);
        let (grouped, referenced_rules) = group(parsed, &correlations, config, &mut diagnostics);
        let (routes, len) =
            compile_routes(grouped, placeholders.as_ref(), &mappings, &filters, threads, &mut diagnostics);
        let correlations = CorrelationSet::load(referenced_rules, correlations.rules, &mut diagnostics);
        diagnostics.sort_by(|a, b| (&a.file, &a.rule).cmp(&(&b.file, &b.rule)));
        Ok((RuleSet { routes, len, correlations }, diagnostics))
    }

    /// How many detection rules were loaded (correlation rules not counted).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Every loaded detection rule (correlation rules are counted apart), sorted by title then id.
    pub fn rules(&self) -> Vec<&RuleInfo> {
        let mut all: Vec<&RuleInfo> = self
            .routes
            .values()
            .flat_map(HashMap::values)
            .flat_map(HashMap::values)
            .flat_map(|route| route.rules.values().map(Arc::as_ref))
            .collect();
        all.sort_by(|a, b| (&a.title, &a.id).cmp(&(&b.title, &b.id)));
        all.dedup_by(|a, b| a.id == b.id && a.title == b.title);
        all
    }

    /// How many correlation rules were loaded.
    pub fn correlation_count(&self) -> usize {
        self.correlations.len()
    }

    /// The longest timespan of any loaded correlation rule, in seconds (0 with none): how far
    /// back a correlator must be fed again to rebuild its windows after a restart.
    pub fn longest_correlation_secs(&self) -> u64 {
        self.correlations.longest_timespan_secs()
    }

    /// A fresh correlation state for one stream of records (in time order).
    pub fn correlator(&self) -> crate::correlation::Correlator {
        self.correlations.correlator()
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Every rule that fires on the record.
    pub fn evaluate(&self, view: &SourceView) -> Vec<Detection> {
        let ls = &view.logsource;
        let categories = ls.categories.iter().map(String::as_str);
        let mut out = Vec::new();
        self.each_route((ls.product.as_deref(), ls.service.as_deref()), categories, |route| {
            run(route, &JsonEvent::borrow(&view.fields), &mut out)
        });
        out
    }

    /// Every rule that fires on the record, read as the reader gave it (borrowed or owned).
    pub fn evaluate_view(&self, view: &SigmaView<'_>) -> Vec<Detection> {
        let overlay = match view {
            SigmaView::Owned(view) => return self.evaluate(view),
            SigmaView::Borrowed(overlay) => overlay,
        };
        let ls = overlay.logsource;
        let mut out = Vec::new();
        let plain = overlay.is_plain();
        self.each_route((ls.product, ls.service), ls.categories.iter().copied(), |route| {
            if plain {
                run(route, &JsonEvent::borrow(overlay.base()), &mut out)
            } else {
                run(route, &OverlayEvent(overlay), &mut out)
            }
        });
        out
    }

    /// Calls `each` with every route a logsource reaches: its own and every one that leaves a
    /// part of it open.
    fn each_route<'c>(
        &self,
        (product, service): (Option<&str>, Option<&str>),
        categories: impl Iterator<Item = &'c str> + Clone,
        mut each: impl FnMut(&Route),
    ) {
        let product = product.map(lowercase);
        let service = service.map(lowercase);
        let products = product.as_deref().into_iter().chain([""]);
        for by_service in products.filter_map(|p| self.routes.get(p)) {
            let services = service.as_deref().into_iter().chain([""]);
            for by_category in services.filter_map(|s| by_service.get(s)) {
                let categories = categories.clone().map(lowercase).chain([Cow::Borrowed("")]);
                for route in categories.filter_map(|c| by_category.get(c.as_ref())) {
                    each(route);
                }
            }
        }
    }
}

/// Adds to `out` every rule of `route` that fires on `event`.
fn run(route: &Route, event: &impl rsigma_eval::Event, out: &mut Vec<Detection>) {
    for result in route.engine.evaluate(event) {
        let identity = (result.header.rule_id.clone(), result.header.rule_title.clone());
        let Some(rule) = route.rules.get(&identity) else { continue };
        let matched = result
            .as_detection()
            .map(|d| d.matched_fields.iter().map(|m| (m.field.clone(), m.value.clone())).collect())
            .unwrap_or_default();
        out.push(Detection { rule: Arc::clone(rule), matched, result });
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use vigil_model::view::LogSource;

    use super::*;

    const ENCODED_POWERSHELL: &str = r#"
title: Encoded PowerShell From Office
id: 00000000-0000-4000-8000-00000000f001
status: test
author: Vigil tests
level: high
tags: [attack.execution, attack.t1059.001]
logsource: {product: windows, category: process_creation}
detection:
  parent: {ParentImage|endswith: ['\WINWORD.EXE', '\EXCEL.EXE']}
  child: {Image|endswith: '\powershell.exe', CommandLine|contains|windash: ' -enc '}
  condition: parent and child
"#;

    fn load(texts: &[&str], config: &RuleSetConfig) -> (RuleSet, Vec<Diagnostic>) {
        let files: Vec<RuleFile> = texts
            .iter()
            .enumerate()
            .map(|(i, t)| RuleFile { name: format!("rule{i}.yml"), text: (*t).to_owned() })
            .collect();
        RuleSet::load(&files, config).expect("config is valid")
    }

    fn view(categories: &[&str], fields: Value) -> SourceView {
        let mut logsource = LogSource::new("windows", Some("sysmon"));
        logsource.categories = categories.iter().map(|c| (*c).to_owned()).collect();
        SourceView { logsource, fields }
    }

    fn process(cmd: &str) -> Value {
        json!({"EventID": 1, "ParentImage": "C:\\Program Files\\Office\\WINWORD.EXE", "Image": "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe", "CommandLine": cmd})
    }

    #[test]
    fn rules_fire_only_on_records_of_their_logsource() {
        let (rules, diagnostics) = load(&[ENCODED_POWERSHELL], &RuleSetConfig::default());
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        assert_eq!(rules.len(), 1);
        let hits = rules.evaluate(&view(&["process_creation"], process("powershell.exe -nop /enc SQBFAFgA")));
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].rule.author.as_deref(), Some("Vigil tests"));
        assert_eq!(hits[0].rule.techniques(), vec!["T1059.001"]);
        assert!(hits[0].matched.iter().any(|(f, _)| f == "CommandLine"));
        assert!(rules.evaluate(&view(&["file_event"], process("powershell.exe -enc SQBFAFgA"))).is_empty());
        assert!(
            rules.evaluate(&view(&["process_creation"], process("powershell.exe -File x.ps1"))).is_empty()
        );
    }

    #[test]
    fn a_bad_rule_is_a_diagnostic_and_the_others_still_load() {
        let unknown_modifier = "title: Bad\nlogsource: {product: windows}\ndetection:\n  s: {Image|sideways: x}\n  condition: s\n";
        let bad_regex = "title: Bad Regex\nid: r2\nlogsource: {product: windows}\ndetection:\n  s: {Image|re: '(?<=x)y'}\n  condition: s\n";
        let (rules, diagnostics) =
            load(&[unknown_modifier, ENCODED_POWERSHELL, bad_regex], &RuleSetConfig::default());
        assert_eq!(rules.len(), 1);
        assert_eq!(diagnostics.len(), 2, "{diagnostics:?}");
        assert!(diagnostics.iter().all(|d| d.skipped));
        assert!(diagnostics[0].message.contains("sideways"), "{}", diagnostics[0]);
        assert_eq!(diagnostics[1].rule.as_deref(), Some("r2"));
    }

    #[test]
    fn a_filter_excludes_what_it_names_from_the_rules_it_targets() {
        let filter = r#"
title: Build servers encode their PowerShell
id: 00000000-0000-4000-8000-0000000f1170
filter:
  rules: [00000000-0000-4000-8000-00000000f001]
  selection: {CommandLine|contains: 'build-agent'}
  condition: not selection
"#;
        let (rules, diagnostics) = load(&[ENCODED_POWERSHELL, filter], &RuleSetConfig::default());
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        let hit = |cmd: &str| rules.evaluate(&view(&["process_creation"], process(cmd))).len();
        assert_eq!(hit("powershell.exe -enc SQBFAFgA"), 1);
        assert_eq!(hit("powershell.exe -enc SQBFAFgA build-agent"), 0);
    }

    #[test]
    fn a_filter_naming_no_loaded_rule_is_a_diagnostic() {
        let filter = "title: Orphan\nid: f2\nfilter:\n  rules: [no-such-rule]\n  selection: {User: svc}\n  condition: not selection\n";
        let (rules, diagnostics) = load(&[ENCODED_POWERSHELL, filter], &RuleSetConfig::default());
        assert_eq!(rules.len(), 1);
        assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
        assert!(diagnostics[0].skipped);
        assert!(diagnostics[0].message.contains("no-such-rule"), "{}", diagnostics[0]);
    }

    #[test]
    fn okta_rules_match_records_whose_top_level_keys_a_data_lake_lowercased() {
        let rule = "title: Okta Impersonation\nid: o1\nlogsource: {product: okta, service: okta}\ndetection:\n  s: {eventType: user.session.impersonation.grant}\n  condition: s\n";
        let (rules, diagnostics) = load(&[rule], &RuleSetConfig::default());
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        let okta = |fields: Value| SourceView { logsource: LogSource::new("okta", Some("okta")), fields };
        assert_eq!(rules.evaluate(&okta(json!({"eventType": "user.session.impersonation.grant"}))).len(), 1);
        assert_eq!(rules.evaluate(&okta(json!({"eventtype": "user.session.impersonation.grant"}))).len(), 1);
        assert!(rules.evaluate(&okta(json!({"eventtype": "user.session.start"}))).is_empty());
    }

    #[test]
    fn a_configured_threshold_replaces_the_rules_own() {
        let pack = crate::builtin::files();
        let texts: Vec<&str> = pack.iter().map(|f| f.text.as_str()).collect();
        let spray = |config: &RuleSetConfig, users: usize| {
            let (rules, diagnostics) = load(&texts, config);
            let mut correlator = rules.correlator();
            let mut fired = 0;
            for i in 0..users {
                let view = SourceView {
                    logsource: LogSource::new("windows", Some("security")),
                    fields: json!({"EventID": 4625, "TargetUserName": format!("u{i}"), "IpAddress": "198.51.100.7"}),
                };
                fired += correlator.process(&view, i as i64 * 1000, &rules.evaluate(&view)).len();
            }
            (fired, diagnostics)
        };
        assert_eq!(spray(&RuleSetConfig::default(), 5).0, 0);
        let mut config = RuleSetConfig::default();
        config.thresholds.insert(
            "6f0d3a1e-5b7c-4c1e-9a51-7a1c0e3b9d24".into(),
            Threshold { gte: Some(5), timespan: Some("1m".into()), ..Threshold::default() },
        );
        config.thresholds.insert("no-such-correlation".into(), Threshold::default());
        let (fired, diagnostics) = spray(&config, 5);
        assert_eq!(fired, 1);
        assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
        assert!(diagnostics[0].message.contains("names no loaded correlation"));
    }

    #[test]
    fn placeholders_need_configured_values() {
        let rule = "title: Admin Logon Outside Jump Hosts\nid: p1\nlogsource: {product: windows, service: security}\ndetection:\n  s: {EventID: 4624, WorkstationName|expand: '%jump_hosts%'}\n  condition: not s\n";
        let (rules, diagnostics) = load(&[rule], &RuleSetConfig::default());
        assert!(rules.is_empty());
        assert!(diagnostics[0].message.contains("%jump_hosts%"), "{}", diagnostics[0]);

        let mut config = RuleSetConfig::default();
        config.placeholders.insert("jump_hosts".into(), vec!["JUMP-01".into(), "JUMP-02".into()]);
        let (rules, diagnostics) = load(&[rule], &config);
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        let logon = |host: &str| SourceView {
            logsource: LogSource::new("windows", Some("security")),
            fields: json!({"EventID": 4624, "WorkstationName": host}),
        };
        assert!(rules.evaluate(&logon("JUMP-02")).is_empty());
        assert_eq!(rules.evaluate(&logon("WS-12")).len(), 1);
    }
}
