//! Live cases kept apart by tenant: each tenant's alerts are clustered among themselves only,
//! so two customers' cases never merge on a user or host name they both have. The tenant is
//! what a cluster partitions the stream by; keeping it apart here too makes one process and a
//! cluster file the same cases.

use std::collections::HashMap;

use vigil_correlate::{Alert, ClusterConfig};
use vigil_model::CaseId;

use crate::live::{CaseUpdate, Held, LiveCases};

pub struct TenantCases {
    config: ClusterConfig,
    /// `None`: alerts whose events name no tenant.
    by_tenant: HashMap<Option<String>, LiveCases>,
}

impl TenantCases {
    pub fn new(config: ClusterConfig) -> TenantCases {
        TenantCases { config, by_tenant: HashMap::new() }
    }

    fn of(&mut self, tenant: Option<String>) -> &mut LiveCases {
        let config = &self.config;
        self.by_tenant.entry(tenant).or_insert_with(|| LiveCases::new(config.clone()))
    }

    /// [`LiveCases::restore`], into the case's tenant (its alerts all have one).
    pub fn restore(&mut self, case_id: &CaseId, alerts: Vec<Alert>) {
        let tenant = alerts.first().and_then(|a| a.tenant.clone());
        self.of(tenant).restore(case_id, alerts);
    }

    pub fn restored(&mut self) {
        for live in self.by_tenant.values_mut() {
            live.restored();
        }
    }

    /// Files new alerts, each with its tenant's; returns every case they changed, tenant by
    /// tenant in the order their first alert came.
    pub fn add(&mut self, alerts: Vec<Alert>) -> Vec<CaseUpdate> {
        let mut groups: Vec<(Option<String>, Vec<Alert>)> = Vec::new();
        for alert in alerts {
            match groups.iter_mut().find(|(t, _)| *t == alert.tenant) {
                Some((_, group)) => group.push(alert),
                None => groups.push((alert.tenant.clone(), vec![alert])),
            }
        }
        groups.into_iter().flat_map(|(tenant, group)| self.of(tenant).add(group)).collect()
    }

    /// What all tenants' live cases hold together.
    pub fn held(&self) -> Held {
        self.by_tenant.values().map(LiveCases::held).fold(Held::default(), |sum, h| Held {
            alerts: sum.alerts + h.alerts,
            cases: sum.cases + h.cases,
            largest_case: sum.largest_case.max(h.largest_case),
            span_ms: sum.span_ms.max(h.span_ms),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use vigil_correlate::{Evidence, RuleRef};
    use vigil_model::{Entity, EntityKind, Severity};

    use super::*;

    fn alert(id: &str, tenant: Option<&str>, user: &str, time: i64) -> Alert {
        Alert {
            id: id.into(),
            rule: Arc::new(RuleRef {
                id: "r".into(),
                title: "Rule".into(),
                level: Severity::High,
                tags: Vec::new(),
                author: None,
                license: String::new(),
            }),
            time,
            entities: vec![Entity::new(EntityKind::User, user).expect("entity")],
            aliases: Vec::new(),
            evidence: vec![Evidence {
                event_uid: format!("e-{id}"),
                time,
                source: "test".into(),
                class_name: "Authentication".into(),
                summary: None,
            }],
            summary: None,
            tenant: tenant.map(str::to_owned),
        }
    }

    #[test]
    fn two_tenants_with_the_same_user_have_two_cases() {
        let mut live = TenantCases::new(ClusterConfig::default());
        let updates = live.add(vec![
            alert("a1", Some("acme"), "alice", 1_000),
            alert("g1", Some("globex"), "alice", 2_000),
            alert("a2", Some("acme"), "alice", 3_000),
        ]);
        assert_eq!(updates.len(), 2, "one case per tenant");
        let members: Vec<Vec<String>> =
            updates.iter().map(|u| u.new_alerts.iter().map(|a| a.id.to_string()).collect()).collect();
        assert_eq!(members, vec![vec!["a1".to_owned(), "a2".to_owned()], vec!["g1".to_owned()]]);
        assert_eq!(live.held().alerts, 3);
        assert_eq!(live.held().cases, 2);
    }

    #[test]
    fn without_tenants_alerts_on_one_user_share_a_case() {
        let mut live = TenantCases::new(ClusterConfig::default());
        let updates = live.add(vec![alert("x1", None, "alice", 1_000), alert("x2", None, "alice", 2_000)]);
        assert_eq!(updates.len(), 1);
    }
}
