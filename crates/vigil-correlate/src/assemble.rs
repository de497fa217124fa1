//! Groups of folded alerts into cases: where each folded alert lands, and each case's document,
//! built only when it is taken. A case document (timeline, ATT&CK, merges in words) is several
//! times the size of its alerts; a consumer that takes one case at a time, or only the cases it
//! needs (the live engine takes those with new alerts), never holds them all.

use std::collections::HashMap;

use vigil_model::{CaseId, Entity};

use crate::case::{Case, FoldedAlert, Merge};
use crate::cluster::{Joined, Joining, shared};
use crate::weights::Weights;

/// One case: how many alerts it has, its merges (positions within the case) and the cases it
/// continues.
struct Group {
    size: usize,
    joinings: Vec<Joining>,
    continues: Vec<CaseId>,
}

/// The cases of one clustering, earliest first, not yet built.
pub struct Cases {
    groups: Vec<Group>,
    /// The folded alerts, case by case: the first `groups[0].size` are the first case's.
    alerts: Vec<FoldedAlert>,
    weights: Weights,
}

impl Cases {
    /// Each group becomes a case, numbered by its earliest alert; also the index of the case
    /// each folded alert went to.
    pub(crate) fn assemble(
        mut folded: Vec<FoldedAlert>,
        joined: Joined,
        weights: Weights,
    ) -> (Cases, Vec<usize>) {
        let Joined { groups: mut uf, joinings, refused } = joined;
        // Where each folded alert lands: its case, and its place in the case (index order).
        let n = folded.len();
        let mut case_of_root = vec![usize::MAX; n];
        let mut case_of = Vec::with_capacity(n);
        let mut position = Vec::with_capacity(n);
        let mut sizes: Vec<usize> = Vec::new();
        for i in 0..n {
            let root = uf.find(i);
            if case_of_root[root] == usize::MAX {
                case_of_root[root] = sizes.len();
                sizes.push(0);
            }
            let case = case_of_root[root];
            case_of.push(case);
            position.push(sizes[case]);
            sizes[case] += 1;
        }
        drop(case_of_root);
        let starts: Vec<usize> = sizes
            .iter()
            .scan(0, |next, &size| {
                let start = *next;
                *next += size;
                Some(start)
            })
            .collect();
        // Case by case, in place: a second buffer of a million folded alerts is what this avoids.
        let mut target: Vec<usize> = (0..n).map(|i| starts[case_of[i]] + position[i]).collect();
        for i in 0..n {
            while target[i] != i {
                let t = target[i];
                folded.swap(i, t);
                target.swap(i, t);
            }
        }
        drop(target);
        let mut groups: Vec<Group> =
            sizes.iter().map(|&size| Group { size, joinings: Vec::new(), continues: Vec::new() }).collect();
        for j in joinings {
            groups[case_of[j.alert]].joinings.push(Joining {
                alert: position[j.alert],
                joined_to: position[j.joined_to],
                ..j
            });
        }
        let mut ids: HashMap<usize, CaseId> = HashMap::new();
        for (a, b) in refused {
            let (earlier, later) = (case_of[a], case_of[b]);
            if earlier != later {
                let of_earlier = &folded[starts[earlier]..starts[earlier] + sizes[earlier]];
                let id = ids.entry(earlier).or_insert_with(|| Case::id_of(of_earlier)).clone();
                if !groups[later].continues.contains(&id) {
                    groups[later].continues.push(id);
                }
            }
        }
        (Cases { groups, alerts: folded, weights }, case_of)
    }

    pub fn len(&self) -> usize {
        self.groups.len()
    }

    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// Every case, earliest first, each built as it is taken.
    pub fn built(self) -> impl Iterator<Item = Case> {
        self.built_where(|_| true).map(|(_, case)| case)
    }

    /// The cases `keep` selects by index, with their index, each built as it is taken; the rest
    /// are never built.
    pub fn built_where(self, mut keep: impl FnMut(usize) -> bool) -> impl Iterator<Item = (usize, Case)> {
        let Cases { groups, alerts, weights } = self;
        let mut alerts = alerts.into_iter();
        groups.into_iter().enumerate().filter_map(move |(i, group)| {
            let of_case: Vec<FoldedAlert> = alerts.by_ref().take(group.size).collect();
            keep(i).then(|| (i, build(of_case, group, &weights)))
        })
    }
}

fn build(alerts: Vec<FoldedAlert>, group: Group, weights: &Weights) -> Case {
    let Group { joinings, continues, .. } = group;
    let weight = |e: &Entity| weights.of(e);
    let merges = joinings
        .into_iter()
        .map(|j| {
            let mut shared: Vec<&Entity> = shared(&alerts, j.joined_to, j.alert).collect();
            shared.sort_by(|x, y| weight(y).total_cmp(&weight(x)).then_with(|| x.cmp(y)));
            shared.retain(|e| weight(e) > 0.0);
            shared.truncate(3);
            let shared: Vec<Entity> = shared.into_iter().cloned().collect();
            let reason = format!("joined by {}, {}", describe_shared(&shared), describe_gap(j.gap_ms));
            Merge { alert: j.alert, joined_to: j.joined_to, shared, gap_ms: j.gap_ms, score: j.score, reason }
        })
        .collect();
    let mut case = Case::build(alerts, merges, &weight);
    case.continues = continues;
    case
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use vigil_model::{EntityKind, Severity};

    use crate::alert::{Alert, RuleRef};
    use crate::cluster::{ClusterConfig, cluster, cluster_placed};

    fn alert(id: &str, time: i64, user: &str) -> Alert {
        Alert {
            tenant: None,
            id: id.into(),
            rule: Arc::new(RuleRef {
                id: format!("rule-{id}"),
                title: format!("Rule {id}"),
                level: Severity::High,
                tags: Vec::new(),
                author: None,
                license: String::new(),
            }),
            time,
            entities: vec![vigil_model::Entity::new(EntityKind::User, user).expect("user")],
            aliases: Vec::new(),
            evidence: Vec::new(),
            summary: None,
        }
    }

    fn alerts() -> Vec<Alert> {
        ["alice", "bob", "alice", "carol", "bob"]
            .iter()
            .enumerate()
            .map(|(i, user)| alert(&format!("a{i}"), i as i64 * 60_000, user))
            .collect()
    }

    #[test]
    fn a_case_taken_alone_is_the_case_built_among_all() {
        let config = ClusterConfig::default();
        let all = cluster(&alerts(), &config);
        assert_eq!(all.len(), 3);
        let clustered = cluster_placed(&alerts(), &Default::default(), &config);
        let taken: Vec<(usize, _)> = clustered.cases.built_where(|i| i == 1).collect();
        assert_eq!(taken.len(), 1);
        assert_eq!(taken[0].0, 1);
        assert_eq!(taken[0].1, all[1]);
    }

    #[test]
    fn each_alert_is_placed_in_the_case_that_holds_it() {
        let alerts = alerts();
        let clustered = cluster_placed(&alerts, &Default::default(), &ClusterConfig::default());
        let cases: Vec<_> = clustered.cases.built().collect();
        for (alert, &case) in alerts.iter().zip(&clustered.case_of) {
            assert!(
                cases[case].alerts.iter().any(|f| f.ids.contains(&alert.id)),
                "{} in case {case}",
                alert.id
            );
        }
    }
}
