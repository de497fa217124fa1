//! `vigil bench cluster`: alerts per second through clustering, on alerts generated to look
//! like a SOC's: many hosts and users, a few hubs (a domain controller in a fifth of the alerts,
//! SYSTEM, a NAT address), a few hundred rules, a month of time, and bursts that are incidents.
//! The alerts share their rules and entity keys as the live engine holds them ([`Shared`]). Peak
//! memory counts the generated alerts too.

use std::time::Instant;

use std::collections::HashMap;

use vigil_correlate::{Alert, ClusterConfig, RuleRef, Shared, cluster, cluster_placed};
use vigil_model::{Entity, EntityKind, Severity};

/// A small deterministic generator (xorshift64*), so every run clusters the same alerts.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

pub fn alerts(n: usize, seed: u64) -> Vec<Alert> {
    let mut rng = Rng(seed | 1);
    let hosts = (n / 40).max(10) as u64;
    let users = (n / 80).max(10) as u64;
    let month_ms: u64 = 30 * 24 * 3_600_000;
    let levels = [Severity::Low, Severity::Medium, Severity::High, Severity::Critical];
    let tactics =
        ["attack.execution", "attack.persistence", "attack.credential-access", "attack.lateral-movement"];
    let entity = |kind, key: String| Entity::new(kind, &key).expect("generated names are valid");
    let mut shared = Shared::default();
    (0..n)
        .map(|i| {
            // Incidents: one host and user, a burst of alerts within an hour.
            let incident = rng.below((n / 8).max(1) as u64);
            let base = incident * 7919 % month_ms;
            let time = (base + rng.below(3_600_000)) as i64;
            let host = incident % hosts;
            let user = incident * 31 % users;
            let rule = rng.below(300);
            let mut entities = vec![
                entity(EntityKind::Host, format!("ws-{host}")),
                entity(EntityKind::User, format!("corp\\user{user}")),
                entity(
                    EntityKind::Process,
                    format!("ws-{host}|{}|proc{}.exe", rng.below(60000), rng.below(50)),
                ),
            ];
            if rng.below(5) == 0 {
                entities.push(entity(EntityKind::Host, "dc01".into()));
            }
            if rng.below(3) == 0 {
                entities.push(entity(EntityKind::User, "nt authority\\system".into()));
            }
            if rng.below(4) == 0 {
                entities.push(entity(EntityKind::Ip, "10.0.0.1".into()));
            }
            shared.alert(Alert {
                tenant: None,
                id: format!("alert-{i}").into(),
                rule: std::sync::Arc::new(RuleRef {
                    id: format!("rule-{rule}"),
                    title: format!("Generated rule {rule}"),
                    level: levels[(rule % 4) as usize],
                    tags: vec![tactics[(rule % 4) as usize].into(), format!("attack.t{}", 1000 + rule % 600)],
                    author: Some("Vigil bench".into()),
                    license: "Apache-2.0".into(),
                }),
                time,
                entities,
                aliases: Vec::new(),
                evidence: Vec::new(),
                summary: None,
            })
        })
        .collect()
}

/// Clusters `sizes` generated alert sets, the best of `runs` each, and prints the figures. Each
/// case is built and counted, and with `collect` all are held until the end.
pub fn run(sizes: &[usize], runs: u32, collect: bool) {
    println!("{:>10} {:>10} {:>12} {:>14} {:>12}", "alerts", "cases", "seconds", "alerts/s", "peak MiB");
    let mut previous: Option<(usize, f64)> = None;
    for &n in sizes {
        let generated = alerts(n, 42);
        let mut best = f64::INFINITY;
        let mut cases = 0;
        for _ in 0..runs.max(1) {
            let start = Instant::now();
            let config = ClusterConfig::default();
            cases = if collect {
                cluster(&generated, &config).len()
            } else {
                let clustered = cluster_placed(&generated, &HashMap::new(), &config);
                clustered.cases.built().map(std::hint::black_box).count()
            };
            best = best.min(start.elapsed().as_secs_f64());
        }
        let growth = previous
            .map(|(m, t)| format!("  ({:.1}× the time for {:.0}× the alerts)", best / t, n as f64 / m as f64))
            .unwrap_or_default();
        println!(
            "{n:>10} {cases:>10} {best:>12.3} {:>14.0} {:>12}{growth}",
            n as f64 / best,
            crate::bench::peak_rss_mib().map_or("-".into(), |m| m.to_string())
        );
        previous = Some((n, best));
    }
}

/// Times the built-in analyst on one case of `n` alerts (one host and account, many rules).
pub fn triage(n: usize, runs: u32) -> anyhow::Result<std::process::ExitCode> {
    let mut generated = alerts(n, 7);
    for a in &mut generated {
        a.entities.truncate(2);
        a.entities[0] = Entity::new(EntityKind::Host, "ws-1").expect("host");
        a.entities[1] = Entity::new(EntityKind::User, "corp\\user1").expect("user");
        a.time %= 3_600_000;
        a.evidence = vec![vigil_correlate::Evidence {
            event_uid: format!("event-{}", a.id),
            time: a.time,
            source: "generated.json".into(),
            class_name: "Process Activity".into(),
            summary: Some(format!("{} on ws-1", a.rule.title)),
        }];
    }
    let config = ClusterConfig { max_case_alerts: n, ..ClusterConfig::default() };
    let mut cases = cluster(&generated, &config);
    cases.sort_by_key(|c| std::cmp::Reverse(c.alert_count()));
    let case = cases.first().ok_or_else(|| anyhow::anyhow!("no case"))?;
    let model = vigil_triage::model::Model::builtin()?;
    let library = vigil_triage::playbook::library()?;
    let time = |context: &vigil_triage::context::Context| {
        let mut best = f64::INFINITY;
        for _ in 0..runs.max(1) {
            let start = Instant::now();
            let r = vigil_triage::recommend(case, context, &model, &library, 0);
            best = best.min(start.elapsed().as_secs_f64());
            std::hint::black_box(r);
        }
        best * 1000.0
    };
    let bare = time(&vigil_triage::context::Context::default());
    // A SOC's history: every rule of this case judged on its entities, among 100,000 others.
    use vigil_triage::history::{History, Judged, PriorVerdict};
    let mut history = History::default();
    for (i, v) in History::of_case(case, Judged::Benign).iter_mut().enumerate() {
        v.verdict = if i % 2 == 0 { Judged::Benign } else { Judged::Malicious };
        history.add(v);
    }
    for i in 0..100_000 {
        let verdict = if i % 3 == 0 { Judged::Malicious } else { Judged::Benign };
        history.add(&PriorVerdict {
            rule: format!("rule-{i}"),
            entity: format!("user u{i}"),
            verdict,
            case: None,
        });
    }
    let judged = vigil_triage::context::Context {
        history: Some(vigil_triage::context::Input { source: "bench".into(), as_of: 0, entries: history }),
        ..Default::default()
    };
    let with_history = time(&judged);
    println!(
        "one case of {} alerts ({} after folding), {} timeline lines: {bare:.2} ms to triage, {with_history:.2} ms with a 100,000-verdict history (best of {runs})",
        case.alert_count(),
        case.alerts.len(),
        case.timeline.len(),
    );
    Ok(std::process::ExitCode::SUCCESS)
}
