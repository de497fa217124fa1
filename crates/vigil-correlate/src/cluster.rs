//! Alerts into cases. Two alerts belong together when the entities they share weigh enough
//! (rare entities weigh more; see [`crate::weights`]) and they are close enough in time; a case
//! is a connected group of such alerts. Duplicates (one rule, the same entities) fold into one
//! alert with a count; a case stops growing at a size cap and the rest starts a new case that
//! says which one it continues. Every merge keeps its reason.
//!
//! The result depends on the set of alerts, not their order: alerts are put into a canonical
//! order first, and every later step iterates in orders derived from it.

use std::collections::{BTreeMap, HashMap, HashSet};

use vigil_model::{AlertId, Entity, EntityKind};

use crate::alert::Alert;
use crate::case::{Case, FoldedAlert, Merge};
use crate::weights;

#[derive(Clone, Debug)]
pub struct ClusterConfig {
    /// Alerts further apart than this never join directly.
    pub window_ms: i64,
    /// The weight of shared entities two alerts need to join (one rare user or host is 1.0).
    pub join_score: f64,
    /// A case holds at most this many (folded) alerts.
    pub max_case_alerts: usize,
    /// An entity seen with at most this many distinct identities (users, hosts, principals)
    /// keeps its whole weight; a hub seen with more (a domain controller, a NAT address) weighs
    /// proportionally less.
    pub hub_partners: usize,
    /// Per entity, each alert is compared with at most this many later alerts sharing it.
    pub neighbours: usize,
    /// Events kept per folded alert as its evidence.
    pub evidence_per_alert: usize,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            window_ms: 24 * 3_600_000,
            join_score: 1.0,
            max_case_alerts: 500,
            hub_partners: 10,
            neighbours: 32,
            evidence_per_alert: 20,
        }
    }
}

/// How many ids a folded alert lists (its count says how many there were).
pub const IDS_PER_FOLDED_ALERT: usize = 20;

/// Later alerts of one rule on the same entities that a caller counted into an alert instead of
/// keeping each (the live engine does, so a rule that fires on one host for months holds a few
/// alerts, not every one). Clustering folds them as if they were there.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Repeats {
    pub count: u64,
    /// The time of the latest of them.
    pub last_seen: i64,
}

/// Maps user spellings the data shows to be one person onto one of them.
struct Aliases {
    canonical: HashMap<Entity, Entity>,
}

impl Aliases {
    fn new(alerts: &[&Alert]) -> Aliases {
        let mut pairs: Vec<(&Entity, &Entity)> =
            alerts.iter().flat_map(|a| a.aliases.iter().map(|(x, y)| (x, y))).collect();
        pairs.sort();
        pairs.dedup();
        let mut parent: BTreeMap<&Entity, &Entity> = BTreeMap::new();
        fn root<'a>(parent: &BTreeMap<&'a Entity, &'a Entity>, mut e: &'a Entity) -> &'a Entity {
            while let Some(p) = parent.get(e).filter(|p| **p != e) {
                e = p;
            }
            e
        }
        // `DOMAIN\name` reads best, then `name@domain`, then the SID.
        let rank =
            |e: &Entity| (u8::from(!e.key.contains('\\')) + u8::from(!e.key.contains('@')), e.key.clone());
        for (x, y) in pairs {
            let (rx, ry) = (root(&parent, x), root(&parent, y));
            if rx == ry {
                continue;
            }
            let (keep, other) = if rank(rx) <= rank(ry) { (rx, ry) } else { (ry, rx) };
            parent.insert(other, keep);
            parent.entry(keep).or_insert(keep);
        }
        let canonical =
            parent.keys().map(|e| ((*e).clone(), root(&parent, e).clone())).filter(|(e, r)| e != r).collect();
        Aliases { canonical }
    }

    fn resolve(&self, e: &Entity) -> Entity {
        self.canonical.get(e).cloned().unwrap_or_else(|| e.clone())
    }
}

struct UnionFind {
    parent: Vec<usize>,
    size: Vec<usize>,
}

impl UnionFind {
    fn new(n: usize) -> Self {
        UnionFind { parent: (0..n).collect(), size: vec![1; n] }
    }
    fn find(&mut self, mut x: usize) -> usize {
        while self.parent[x] != x {
            self.parent[x] = self.parent[self.parent[x]];
            x = self.parent[x];
        }
        x
    }
}

fn describe_gap(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    match s {
        0 => "at the same time".to_owned(),
        1..=119 => format!("{s} seconds apart"),
        120..=7199 => format!("{} minutes apart", s / 60),
        7200..=172_799 => format!("{} hours apart", s / 3600),
        _ => format!("{} days apart", s / 86_400),
    }
}

fn describe_shared(shared: &[Entity]) -> String {
    let names: Vec<String> = shared.iter().map(|e| format!("{} {}", e.kind.as_str(), e.key)).collect();
    match names.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// Clusters `alerts` into cases, earliest case first.
pub fn cluster(alerts: &[Alert], config: &ClusterConfig) -> Vec<Case> {
    cluster_placed(alerts, &HashMap::new(), config).cases
}

/// Cases, and where each alert went: a folded alert lists only its first ids.
pub struct Clustered {
    pub cases: Vec<Case>,
    /// For each alert given, by position, the index in `cases` of the case it is in.
    pub case_of: Vec<usize>,
    /// For each alert given, by position, which folded alert it is in: alerts with the same
    /// number are one run of one rule on the same entities.
    pub run_of: Vec<usize>,
}

/// Clusters `alerts` as [`cluster`] does, each alert named in `repeats` standing for itself and
/// the later alerts counted into it, and says which case each alert is in.
pub fn cluster_placed(
    alerts: &[Alert],
    repeats: &HashMap<AlertId, Repeats>,
    config: &ClusterConfig,
) -> Clustered {
    let mut order: Vec<usize> = (0..alerts.len()).collect();
    order.sort_by(|&a, &b| {
        let (a, b) = (&alerts[a], &alerts[b]);
        (a.time, &a.rule.id, &a.id).cmp(&(b.time, &b.rule.id, &b.id))
    });
    let ordered: Vec<&Alert> = order.iter().map(|&i| &alerts[i]).collect();
    let aliases = Aliases::new(&ordered);
    let (folded, folded_of) = fold(&ordered, repeats, &aliases, config);
    let postings = postings(&folded);
    let weights = entity_weights(&folded, &postings, config);
    let edges = edges(&folded, &postings, &weights, config);
    let joined = join(&folded, edges, &weights, config);
    let (cases, case_of_folded) = into_cases(folded, joined, &weights);
    let (mut case_of, mut run_of) = (vec![0; alerts.len()], vec![0; alerts.len()]);
    for (position, &i) in order.iter().enumerate() {
        run_of[i] = folded_of[position];
        case_of[i] = case_of_folded[folded_of[position]];
    }
    Clustered { cases, case_of, run_of }
}

/// One rule on the same entities, each within the window of the last, folds into one alert
/// with a count. Also says, for each alert in `ordered`, which folded alert it is in.
fn fold(
    ordered: &[&Alert],
    repeats: &HashMap<AlertId, Repeats>,
    aliases: &Aliases,
    config: &ClusterConfig,
) -> (Vec<FoldedAlert>, Vec<usize>) {
    let mut folded: Vec<FoldedAlert> = Vec::new();
    let mut folded_of = Vec::with_capacity(ordered.len());
    let mut open: HashMap<(String, Vec<Entity>), usize> = HashMap::new();
    for alert in ordered {
        let more = repeats.get(&alert.id).copied().unwrap_or_default();
        let last_seen = alert.time.max(more.last_seen);
        let mut entities: Vec<Entity> = alert.entities.iter().map(|e| aliases.resolve(e)).collect();
        entities.sort();
        entities.dedup();
        let key = (alert.rule.id.clone(), entities);
        if let Some(&i) = open.get(&key)
            && alert.time - folded[i].last_seen <= config.window_ms
        {
            folded_of.push(i);
            let f = &mut folded[i];
            f.count += 1 + more.count;
            f.last_seen = f.last_seen.max(last_seen);
            if f.ids.len() < IDS_PER_FOLDED_ALERT {
                f.ids.push(alert.id.clone());
            }
            for ev in &alert.evidence {
                if f.evidence.len() < config.evidence_per_alert
                    && !f.evidence.iter().any(|e| e.event_uid == ev.event_uid)
                {
                    f.evidence.push(ev.clone());
                }
            }
            continue;
        }
        open.insert(key.clone(), folded.len());
        folded_of.push(folded.len());
        folded.push(FoldedAlert {
            rule: alert.rule.clone(),
            ids: vec![alert.id.clone()],
            count: 1 + more.count,
            first_seen: alert.time,
            last_seen,
            entities: key.1,
            evidence: alert.evidence.iter().take(config.evidence_per_alert).cloned().collect(),
            summary: alert.summary.clone(),
        });
    }
    (folded, folded_of)
}

/// Which folded alerts (by index, in time order) name each entity.
type Postings<'a> = BTreeMap<&'a Entity, Vec<usize>>;

fn postings(folded: &[FoldedAlert]) -> Postings<'_> {
    let mut postings: Postings<'_> = BTreeMap::new();
    for (i, f) in folded.iter().enumerate() {
        for e in &f.entities {
            postings.entry(e).or_default().push(i);
        }
    }
    postings
}

/// What sharing each entity weighs: its kind's base weight times its rarity, which falls once
/// it is seen with more than `hub_partners` identities (counted up to a little past that). An
/// entity in one alert joins nothing, so only shared ones are counted.
fn entity_weights(
    folded: &[FoldedAlert],
    postings: &Postings<'_>,
    config: &ClusterConfig,
) -> HashMap<Entity, f64> {
    let cap = config.hub_partners * 2 + 1;
    postings
        .iter()
        .map(|(e, list)| {
            let base = weights::base(e);
            if list.len() < 2 || base == 0.0 {
                return ((*e).clone(), base);
            }
            let mut seen: HashSet<&Entity> = HashSet::new();
            'alerts: for &i in list {
                for other in folded[i].entities.iter().filter(|o| is_identity(o.kind) && o != e) {
                    if weights::base(other) > 0.0 {
                        seen.insert(other);
                        if seen.len() >= cap {
                            break 'alerts;
                        }
                    }
                }
            }
            ((*e).clone(), base * weights::rarity(seen.len(), config.hub_partners))
        })
        .collect()
}

/// Two folded alerts whose shared entities weigh enough to join them.
struct Edge<'a> {
    earlier: usize,
    later: usize,
    score: f64,
    shared: Vec<&'a Entity>,
}

/// The edges that may join alerts, in the order alerts joined: by the later alert of each pair,
/// then by index. An entity that joins alerts on its own links each alert to the latest earlier
/// one still in reach (the same groups as linking every pair, with one link per alert). Weaker
/// entities add up: their pairs are scored, nearest neighbours only.
fn edges<'a>(
    folded: &'a [FoldedAlert],
    postings: &Postings<'a>,
    weights: &HashMap<Entity, f64>,
    config: &ClusterConfig,
) -> Vec<Edge<'a>> {
    let strong = config.join_score - 1e-9;
    let mut candidates: Vec<(usize, usize)> = Vec::new();
    let mut weak: HashMap<(usize, usize), f64> = HashMap::new();
    for (entity, list) in postings {
        let w = weights[*entity];
        // An entity this common cannot tip a pair over the threshold in any realistic sum.
        if w < 0.05 || list.len() < 2 {
            continue;
        }
        if w >= strong {
            let mut reach = list[0];
            for &b in &list[1..] {
                if folded[b].first_seen - folded[reach].last_seen <= config.window_ms {
                    candidates.push((reach, b));
                }
                if folded[b].last_seen >= folded[reach].last_seen
                    || folded[b].first_seen - folded[reach].last_seen > config.window_ms
                {
                    reach = b;
                }
            }
            continue;
        }
        for (i, &a) in list.iter().enumerate() {
            for &b in list.iter().skip(i + 1).take(config.neighbours) {
                if folded[b].first_seen - folded[a].last_seen > config.window_ms {
                    break;
                }
                *weak.entry((a, b)).or_default() += w;
            }
        }
    }
    candidates.extend(weak.into_iter().filter(|(_, score)| *score >= strong).map(|(pair, _)| pair));
    candidates.sort_unstable();
    candidates.dedup();
    // Each pair's score and shared entities, from the two alerts themselves.
    let mut edges: Vec<Edge<'a>> = candidates
        .into_iter()
        .filter_map(|(earlier, later)| {
            let shared: Vec<&Entity> = folded[earlier]
                .entities
                .iter()
                .filter(|e| folded[later].entities.binary_search(e).is_ok())
                .collect();
            let score: f64 = shared.iter().map(|e| weights.get(*e).copied().unwrap_or(0.0)).sum();
            (score >= strong).then_some(Edge { earlier, later, score, shared })
        })
        .collect();
    let joined_at = |e: &Edge<'_>| folded[e.earlier].first_seen.max(folded[e.later].first_seen);
    edges.sort_by_key(|e| (joined_at(e), e.later, e.earlier));
    edges
}

/// One alert joining another's group, and why.
struct Joining {
    alert: usize,
    joined_to: usize,
    shared: Vec<Entity>,
    gap_ms: i64,
    score: f64,
}

/// The groups the edges make, up to `max_case_alerts` alerts each.
struct Joined {
    groups: UnionFind,
    joinings: Vec<Joining>,
    /// Edges refused because the group was full: the later case continues the earlier.
    refused: Vec<(usize, usize)>,
}

fn join(
    folded: &[FoldedAlert],
    edges: Vec<Edge<'_>>,
    weights: &HashMap<Entity, f64>,
    config: &ClusterConfig,
) -> Joined {
    let mut uf = UnionFind::new(folded.len());
    let mut joinings = Vec::new();
    let mut refused = Vec::new();
    for Edge { earlier: a, later: b, score, mut shared } in edges {
        let (ra, rb) = (uf.find(a), uf.find(b));
        if ra == rb {
            continue;
        }
        if uf.size[ra] + uf.size[rb] > config.max_case_alerts {
            refused.push((a, b));
            continue;
        }
        let (big, small) = if (uf.size[ra], rb) >= (uf.size[rb], ra) { (ra, rb) } else { (rb, ra) };
        uf.parent[small] = big;
        uf.size[big] += uf.size[small];
        shared.sort_by(|x, y| weights[*y].total_cmp(&weights[*x]).then_with(|| x.cmp(y)));
        shared.retain(|e| weights[*e] > 0.0);
        shared.truncate(3);
        let gap_ms = (folded[b].first_seen - folded[a].last_seen).max(0);
        joinings.push(Joining {
            alert: b,
            joined_to: a,
            shared: shared.into_iter().cloned().collect(),
            gap_ms,
            score,
        });
    }
    Joined { groups: uf, joinings, refused }
}

/// Each group becomes a case, earliest first, with the reason for every merge in it; also the
/// index of the case each folded alert went to.
fn into_cases(
    folded: Vec<FoldedAlert>,
    joined: Joined,
    weights: &HashMap<Entity, f64>,
) -> (Vec<Case>, Vec<usize>) {
    let Joined { groups: mut uf, joinings, refused } = joined;
    let mut members: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for i in 0..folded.len() {
        let root = uf.find(i);
        members.entry(root).or_default().push(i);
    }
    /// Where a folded alert ended up: its case, and its place in the case.
    #[derive(Clone, Copy)]
    struct Place {
        case: usize,
        position: usize,
    }
    let mut place: HashMap<usize, Place> = HashMap::new();
    let mut groups: Vec<Vec<usize>> = members.into_values().collect();
    groups.sort_by_key(|g| g[0]);
    for (case, group) in groups.iter().enumerate() {
        for (position, &i) in group.iter().enumerate() {
            place.insert(i, Place { case, position });
        }
    }
    let mut case_merges: Vec<Vec<Merge>> = vec![Vec::new(); groups.len()];
    for j in joinings {
        let joined = place[&j.alert];
        let reason = format!("joined by {}, {}", describe_shared(&j.shared), describe_gap(j.gap_ms));
        case_merges[joined.case].push(Merge {
            alert: joined.position,
            joined_to: place[&j.joined_to].position,
            shared: j.shared,
            gap_ms: j.gap_ms,
            score: j.score,
            reason,
        });
    }
    let case_of: Vec<usize> = (0..folded.len()).map(|i| place[&i].case).collect();
    let weight = |e: &Entity| weights.get(e).copied().unwrap_or(0.0);
    let mut slots: Vec<Option<FoldedAlert>> = folded.into_iter().map(Some).collect();
    let mut cases: Vec<Case> = groups
        .iter()
        .zip(case_merges)
        .map(|(group, merges)| {
            let alerts = group.iter().filter_map(|&i| slots[i].take()).collect();
            Case::build(alerts, merges, &weight)
        })
        .collect();
    for (a, b) in refused {
        let (ca, cb) = (place[&a].case, place[&b].case);
        if ca != cb {
            let earlier = cases[ca].id.clone();
            if !cases[cb].continues.contains(&earlier) {
                cases[cb].continues.push(earlier);
            }
        }
    }
    (cases, case_of)
}

/// The entity kinds a case table shows first.
pub fn is_identity(kind: EntityKind) -> bool {
    matches!(kind, EntityKind::User | EntityKind::Host | EntityKind::CloudPrincipal | EntityKind::Email)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use vigil_model::Severity;

    use super::*;
    use crate::alert::{Evidence, RuleRef};

    const MINUTE: i64 = 60_000;

    fn e(kind: EntityKind, key: &str) -> Entity {
        Entity::new(kind, key).expect("entity")
    }

    fn alert(id: &str, rule: &str, time: i64, entities: &[Entity]) -> Alert {
        Alert {
            id: id.into(),
            rule: RuleRef {
                id: rule.to_owned(),
                title: format!("Rule {rule}"),
                level: Severity::Medium,
                tags: vec!["attack.execution".into(), "attack.t1059.001".into()],
                author: Some("Vigil tests".into()),
                license: "Apache-2.0".into(),
            },
            time,
            entities: entities.to_vec(),
            aliases: Vec::new(),
            evidence: vec![Evidence {
                event_uid: format!("ev-{id}"),
                time,
                source: "test.json".into(),
                class_name: "Process Activity".into(),
                summary: None,
            }],
            summary: None,
        }
    }

    #[test]
    fn alerts_sharing_a_host_and_user_join_and_say_why() {
        let ws = e(EntityKind::Host, "ws-12");
        let alice = e(EntityKind::User, "corp\\alice");
        let cases = cluster(
            &[
                alert("a1", "r1", 0, &[ws.clone(), alice.clone()]),
                alert(
                    "a2",
                    "r2",
                    9 * MINUTE,
                    &[ws.clone(), alice.clone(), e(EntityKind::Ip, "198.51.100.7")],
                ),
            ],
            &ClusterConfig::default(),
        );
        assert_eq!(cases.len(), 1);
        let case = &cases[0];
        assert_eq!(case.alerts.len(), 2);
        assert_eq!(case.merges.len(), 1);
        assert_eq!(case.merges[0].reason, "joined by user corp\\alice and host ws-12, 9 minutes apart");
        assert_eq!(case.tactics[0].short_name, "execution");
        assert_eq!(case.techniques[0].alerts, vec![0, 1]);
        assert_eq!(case.timeline.len(), 4);
        assert_eq!(case.lifecycle.state(), vigil_model::CaseState::Correlated);
    }

    #[test]
    fn a_busy_domain_controller_or_system_does_not_glue_unrelated_alerts() {
        let dc = e(EntityKind::Host, "dc01");
        let system = e(EntityKind::User, "nt authority\\system");
        let alerts: Vec<Alert> = (0..30)
            .map(|i| {
                alert(
                    &format!("a{i}"),
                    "r1",
                    i * MINUTE,
                    &[dc.clone(), system.clone(), e(EntityKind::User, &format!("user{i}"))],
                )
            })
            .collect();
        let cases = cluster(&alerts, &ClusterConfig::default());
        assert_eq!(cases.len(), 30, "each user's alert is its own case");
    }

    #[test]
    fn one_rule_on_the_same_entities_folds_into_one_alert_with_a_count() {
        let ws = e(EntityKind::Host, "ws-12");
        let alerts: Vec<Alert> =
            (0..5).map(|i| alert(&format!("a{i}"), "r1", i * MINUTE, std::slice::from_ref(&ws))).collect();
        let cases = cluster(&alerts, &ClusterConfig::default());
        assert_eq!(cases.len(), 1);
        assert_eq!(cases[0].alerts.len(), 1);
        assert_eq!(cases[0].alerts[0].count, 5);
        assert_eq!(cases[0].alert_count(), 5);
        assert!(cases[0].timeline.iter().any(|t| t.title == "Rule r1 (×5)"), "{:?}", cases[0].timeline);
    }

    #[test]
    fn alerts_days_apart_stay_apart() {
        let alice = e(EntityKind::User, "corp\\alice");
        let cases = cluster(
            &[
                alert("a1", "r1", 0, std::slice::from_ref(&alice)),
                alert("a2", "r2", 3 * 24 * 60 * MINUTE, std::slice::from_ref(&alice)),
            ],
            &ClusterConfig::default(),
        );
        assert_eq!(cases.len(), 2);
    }

    #[test]
    fn a_case_at_its_size_cap_splits_and_the_next_says_what_it_continues() {
        let alice = e(EntityKind::User, "corp\\alice");
        let alerts: Vec<Alert> = (0..10)
            .map(|i| alert(&format!("a{i}"), &format!("r{i}"), i * MINUTE, std::slice::from_ref(&alice)))
            .collect();
        let config = ClusterConfig { max_case_alerts: 4, ..ClusterConfig::default() };
        let cases = cluster(&alerts, &config);
        assert_eq!(cases.iter().map(|c| c.alerts.len()).collect::<Vec<_>>(), vec![4, 4, 2]);
        assert_eq!(cases[1].continues, vec![cases[0].id.clone()]);
    }

    #[test]
    fn a_user_named_by_sid_in_one_alert_and_by_name_in_another_is_one_person() {
        let name = e(EntityKind::User, "corp\\alice");
        let sid = e(EntityKind::User, "S-1-5-21-1004336348-1177238915-682003330-1104");
        let mut first = alert("a1", "r1", 0, &[name.clone(), sid.clone()]);
        first.aliases = vec![(name.clone(), sid.clone())];
        let second = alert("a2", "r2", MINUTE, std::slice::from_ref(&sid));
        let cases = cluster(&[first, second], &ClusterConfig::default());
        assert_eq!(cases.len(), 1);
        assert!(cases[0].alerts[1].entities.contains(&name), "the SID reads as the name");
    }

    fn scenario() -> Vec<Alert> {
        let hosts = ["ws-1", "ws-2", "ws-3", "dc01"];
        let users = ["alice", "bob", "carol", "system"];
        (0..60)
            .map(|i: i64| {
                let host = e(EntityKind::Host, hosts[(i % 4) as usize]);
                let user = e(EntityKind::User, users[((i / 3) % 4) as usize]);
                alert(&format!("a{i:02}"), &format!("r{}", i % 5), (i * 37 % 50) * 20 * MINUTE, &[host, user])
            })
            .collect()
    }

    proptest! {
        #[test]
        fn clustering_gives_the_same_cases_whatever_order_the_alerts_arrive_in(seed in any::<u64>()) {
            let alerts = scenario();
            let expected = serde_json::to_string(&cluster(&alerts, &ClusterConfig::default())).expect("json");
            let mut shuffled = alerts.clone();
            // A seeded Fisher-Yates shuffle.
            let mut state = seed | 1;
            for i in (1..shuffled.len()).rev() {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                shuffled.swap(i, (state % (i as u64 + 1)) as usize);
            }
            let got = serde_json::to_string(&cluster(&shuffled, &ClusterConfig::default())).expect("json");
            prop_assert_eq!(got, expected);
        }
    }
}
