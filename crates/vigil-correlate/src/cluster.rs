//! Alerts into cases. Two alerts belong together when the entities they share weigh enough
//! (rare entities weigh more; see [`crate::weights`]) and they are close enough in time; a case
//! is a connected group of such alerts. Duplicates (one rule, the same entities) fold into one
//! alert with a count; a case stops growing at a size cap and the rest starts a new case that
//! says which one it continues. Every merge keeps its reason.
//!
//! The result depends on the set of alerts, not their order: alerts are put into a canonical
//! order first, and every later step iterates in orders derived from it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::BuildHasher;

use hashbrown::HashTable;

use vigil_model::{AlertId, Entity, EntityKind};

use crate::alert::Alert;
use crate::assemble::Cases;
use crate::case::{Case, FoldedAlert};
use crate::weights::{self, Weights};

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

pub(crate) struct UnionFind {
    parent: Vec<usize>,
    size: Vec<usize>,
}

impl UnionFind {
    fn new(n: usize) -> Self {
        UnionFind { parent: (0..n).collect(), size: vec![1; n] }
    }
    pub fn find(&mut self, mut x: usize) -> usize {
        while self.parent[x] != x {
            self.parent[x] = self.parent[self.parent[x]];
            x = self.parent[x];
        }
        x
    }
}

/// Clusters `alerts` into cases, earliest case first.
pub fn cluster(alerts: &[Alert], config: &ClusterConfig) -> Vec<Case> {
    cluster_placed(alerts, &HashMap::new(), config).cases.built().collect()
}

/// Where each alert went, and the cases, each built when it is taken (a folded alert lists only
/// its first ids).
pub struct Clustered {
    pub cases: Cases,
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
    // Freed before the cases are assembled, when memory peaks.
    drop(postings);
    let joined = join(&folded, edges, config);
    let (cases, case_of_folded) = Cases::assemble(folded, joined, weights);
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
    // The open run of each rule and entity set, found by comparing with the run itself, so the
    // table holds only its index.
    let mut open: HashTable<usize> = HashTable::new();
    let hasher = std::hash::RandomState::new();
    let hash = |rule: &str, entities: &[Entity]| hasher.hash_one((rule, entities));
    for alert in ordered {
        let more = repeats.get(&alert.id).copied().unwrap_or_default();
        let last_seen = alert.time.max(more.last_seen);
        let mut entities: Vec<Entity> = alert.entities.iter().map(|e| aliases.resolve(e)).collect();
        entities.sort();
        entities.dedup();
        let h = hash(&alert.rule.id, &entities);
        let run = open.find_mut(h, |&i| folded[i].rule.id == alert.rule.id && folded[i].entities == entities);
        if let Some(&i) = run.as_deref()
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
        match run {
            Some(run) => *run = folded.len(),
            None => {
                open.insert_unique(h, folded.len(), |&i| hash(&folded[i].rule.id, &folded[i].entities));
            }
        }
        folded_of.push(folded.len());
        folded.push(FoldedAlert {
            rule: alert.rule.clone(),
            ids: vec![alert.id.clone()],
            count: 1 + more.count,
            first_seen: alert.time,
            last_seen,
            entities,
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
fn entity_weights(folded: &[FoldedAlert], postings: &Postings<'_>, config: &ClusterConfig) -> Weights {
    let cap = config.hub_partners * 2 + 1;
    let shared = postings
        .iter()
        .filter(|(e, list)| list.len() >= 2 && weights::base(e) > 0.0)
        .map(|(&e, list)| {
            let mut seen: HashSet<&Entity> = HashSet::new();
            'alerts: for &i in list.iter() {
                for other in folded[i].entities.iter().filter(|o| is_identity(o.kind) && *o != e) {
                    if weights::base(other) > 0.0 {
                        seen.insert(other);
                        if seen.len() >= cap {
                            break 'alerts;
                        }
                    }
                }
            }
            (e.clone(), weights::base(e) * weights::rarity(seen.len(), config.hub_partners))
        })
        .collect();
    Weights::new(shared)
}

/// Two folded alerts whose shared entities weigh enough to join them.
struct Edge {
    earlier: usize,
    later: usize,
    score: f64,
}

/// The entities two folded alerts share, in entity order.
pub(crate) fn shared(folded: &[FoldedAlert], earlier: usize, later: usize) -> impl Iterator<Item = &Entity> {
    folded[earlier].entities.iter().filter(move |e| folded[later].entities.binary_search(e).is_ok())
}

/// The edges that may join alerts, in the order alerts joined: by the later alert of each pair,
/// then by index. An entity that joins alerts on its own links each alert to the latest earlier
/// one still in reach (the same groups as linking every pair, with one link per alert). Weaker
/// entities add up: their pairs are scored, nearest neighbours only, one later alert at a time
/// (so only the pairs that reach the threshold are ever held).
fn edges(
    folded: &[FoldedAlert],
    postings: &Postings<'_>,
    weights: &Weights,
    config: &ClusterConfig,
) -> Vec<Edge> {
    let strong = config.join_score - 1e-9;
    // An entity this common cannot tip a pair over the threshold in any realistic sum.
    let weak = |w: f64| (0.05..strong).contains(&w);
    let mut candidates: Vec<(usize, usize)> = Vec::new();
    for (entity, list) in postings {
        if weights.of(entity) < strong || list.len() < 2 {
            continue;
        }
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
    }
    // Each later alert `b` is paired with the `neighbours` alerts before it in each weak
    // entity's postings; `position` is how many earlier alerts named the entity.
    let mut position: HashMap<&Entity, usize> = HashMap::new();
    let mut sums: Vec<(usize, f64)> = Vec::new();
    for (b, alert) in folded.iter().enumerate() {
        sums.clear();
        for entity in &alert.entities {
            let w = weights.of(entity);
            if !weak(w) {
                continue;
            }
            let seen = position.entry(entity).or_default();
            let list = &postings[entity];
            for &a in &list[seen.saturating_sub(config.neighbours)..*seen] {
                if alert.first_seen - folded[a].last_seen <= config.window_ms {
                    sums.push((a, w));
                }
            }
            *seen += 1;
        }
        // Stable: each pair's weights add up in entity order, as the score below does.
        sums.sort_by_key(|&(a, _)| a);
        for run in sums.chunk_by(|x, y| x.0 == y.0) {
            if run.iter().map(|&(_, w)| w).sum::<f64>() >= strong {
                candidates.push((run[0].0, b));
            }
        }
    }
    drop(position);
    candidates.sort_unstable();
    candidates.dedup();
    // Each pair's score from the two alerts themselves.
    let mut edges: Vec<Edge> = candidates
        .into_iter()
        .filter_map(|(earlier, later)| {
            let score: f64 = shared(folded, earlier, later).map(|e| weights.of(e)).sum();
            (score >= strong).then_some(Edge { earlier, later, score })
        })
        .collect();
    let joined_at = |e: &Edge| folded[e.earlier].first_seen.max(folded[e.later].first_seen);
    edges.sort_by_key(|e| (joined_at(e), e.later, e.earlier));
    edges
}

/// One alert joining another's group (indices into the folded alerts, or, once assembled, into
/// its case's alerts), and why.
pub(crate) struct Joining {
    pub alert: usize,
    pub joined_to: usize,
    pub gap_ms: i64,
    pub score: f64,
}

/// The groups the edges make, up to `max_case_alerts` alerts each.
pub(crate) struct Joined {
    pub groups: UnionFind,
    pub joinings: Vec<Joining>,
    /// Edges refused because the group was full: the later case continues the earlier.
    pub refused: Vec<(usize, usize)>,
}

fn join(folded: &[FoldedAlert], edges: Vec<Edge>, config: &ClusterConfig) -> Joined {
    let mut uf = UnionFind::new(folded.len());
    let mut joinings = Vec::new();
    let mut refused = Vec::new();
    for Edge { earlier: a, later: b, score } in edges {
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
        let gap_ms = (folded[b].first_seen - folded[a].last_seen).max(0);
        joinings.push(Joining { alert: b, joined_to: a, gap_ms, score });
    }
    Joined { groups: uf, joinings, refused }
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
            tenant: None,
            id: id.into(),
            rule: std::sync::Arc::new(RuleRef {
                id: rule.to_owned(),
                title: format!("Rule {rule}"),
                level: Severity::Medium,
                tags: vec!["attack.execution".into(), "attack.t1059.001".into()],
                author: Some("Vigil tests".into()),
                license: "Apache-2.0".into(),
            }),
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
    fn weaker_shared_entities_add_up_to_a_join_only_together() {
        // Private addresses weigh 0.4 each: three shared join two alerts, two do not.
        let ips = |n: usize| (1..=n).map(|i| e(EntityKind::Ip, &format!("10.0.0.{i}"))).collect::<Vec<_>>();
        let pair = |shared: usize| {
            cluster(
                &[alert("a1", "r1", 0, &ips(shared)), alert("a2", "r2", MINUTE, &ips(shared))],
                &ClusterConfig::default(),
            )
        };
        let joined = pair(3);
        assert_eq!(joined.len(), 1);
        assert_eq!(
            joined[0].merges[0].reason,
            "joined by ip 10.0.0.1, ip 10.0.0.2 and ip 10.0.0.3, 60 seconds apart"
        );
        assert_eq!(pair(2).len(), 2);
    }

    #[test]
    fn weaker_entities_pair_an_alert_only_with_its_nearest_neighbours() {
        // Three shared private addresses join; with one neighbour each, the earliest alert pairs
        // only with the next, never with the third (which every neighbour bound above one would).
        let ips: Vec<Entity> = (1..=3).map(|i| e(EntityKind::Ip, &format!("10.0.0.{i}"))).collect();
        let alerts = [
            alert("a1", "r1", 0, &ips),
            alert("a2", "r2", MINUTE, &ips),
            alert("a3", "r3", 2 * MINUTE, &ips),
        ];
        let config = ClusterConfig { neighbours: 1, ..ClusterConfig::default() };
        let cases = cluster(&alerts, &config);
        assert_eq!(cases.len(), 1);
        let pairs: Vec<(usize, usize)> = cases[0].merges.iter().map(|m| (m.joined_to, m.alert)).collect();
        assert_eq!(pairs, vec![(0, 1), (1, 2)], "a1 is never paired with a3 directly");
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
