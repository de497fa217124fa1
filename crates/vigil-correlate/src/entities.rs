//! The entities an OCSF event is about, and the aliases it reveals: one `user` object that names
//! `CORP\alice`, her SID and `alice@corp.example` says those three are one person.

use vigil_model::{Entity, EntityKind};
use vigil_ocsf::Event;
use vigil_ocsf::objects::{Process, User};

/// What an event says: its entities, and pairs of user entities that are the same person.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Extracted {
    pub entities: Vec<Entity>,
    pub aliases: Vec<(Entity, Entity)>,
}

impl Extracted {
    fn add(&mut self, kind: EntityKind, value: Option<&str>) -> Option<Entity> {
        let entity = Entity::new(kind, value?)?;
        if !self.entities.contains(&entity) {
            self.entities.push(entity.clone());
        }
        Some(entity)
    }

    fn user(&mut self, user: &User, cloud: bool) {
        let name = user.name.as_deref().map(|name| match user.domain.as_deref() {
            Some(domain) if !domain.is_empty() && !name.contains('\\') && !name.contains('@') => {
                format!("{domain}\\{name}")
            }
            _ => name.to_owned(),
        });
        let mut same_person = Vec::new();
        same_person.extend(self.add(EntityKind::User, name.as_deref()));
        if let Some(email) = user.email_addr.as_deref() {
            self.add(EntityKind::Email, Some(email));
            same_person.extend(self.add(EntityKind::User, Some(email)));
        }
        if let Some(uid) = user.uid.as_deref() {
            if cloud || uid.starts_with("arn:") {
                self.add(EntityKind::CloudPrincipal, Some(uid));
            } else if uid.starts_with("S-1-") || uid.starts_with("s-1-") {
                // Well-known SIDs (S-1-5-18 is SYSTEM) name no person.
                if uid.len() > 12 {
                    same_person.extend(self.add(EntityKind::User, Some(uid)));
                }
            }
        }
        if let Some(key) = user.credential_uid.as_deref() {
            self.add(EntityKind::AccessKey, Some(key));
        }
        if let Some(account) = user.account.as_ref().and_then(|a| a.uid.as_deref()) {
            self.add(EntityKind::CloudAccount, Some(account));
        }
        for pair in same_person.windows(2) {
            self.aliases.push((pair[0].clone(), pair[1].clone()));
        }
    }

    fn process(&mut self, process: &Process, host: Option<&str>) {
        let image = process.file.as_ref().and_then(|f| f.path.as_deref()).or(process.name.as_deref());
        if let (Some(image), Some(pid)) = (image, process.pid) {
            let base = image.rsplit(['\\', '/']).next().unwrap_or(image);
            let host =
                host.and_then(|h| Entity::new(EntityKind::Host, h)).map_or_else(|| "-".into(), |e| e.key);
            let key = format!("{host}|{pid}|{base}");
            self.add(EntityKind::Process, Some(&key));
        }
        for hash in process.file.iter().flat_map(|f| &f.hashes) {
            self.add(EntityKind::FileHash, Some(&hash.value));
        }
    }
}

/// Everything `event` names, in a stable order.
pub fn extract(event: &Event) -> Extracted {
    let mut out = Extracted::default();
    let cloud = event.cloud.is_some();
    let host = event.device.as_ref().and_then(|d| d.hostname.as_deref());
    out.add(EntityKind::Host, host);
    if let Some(d) = &event.device {
        out.add(EntityKind::Ip, d.ip.as_deref());
    }
    if let Some(user) = event.actor.as_ref().and_then(|a| a.user.as_ref()) {
        out.user(user, cloud);
    }
    if let Some(user) = &event.user {
        out.user(user, cloud);
    }
    for endpoint in [&event.src_endpoint, &event.dst_endpoint].into_iter().flatten() {
        out.add(EntityKind::Ip, endpoint.ip.as_deref());
        out.add(EntityKind::Host, endpoint.hostname.as_deref());
    }
    if let Some(p) = event.actor.as_ref().and_then(|a| a.process.as_deref()) {
        out.process(p, host);
    }
    if let Some(p) = &event.process {
        out.process(p, host);
        if let Some(parent) = p.parent_process.as_deref() {
            out.process(parent, host);
        }
    }
    for hash in event.file.iter().flat_map(|f| &f.hashes) {
        out.add(EntityKind::FileHash, Some(&hash.value));
    }
    if let Some(account) =
        event.cloud.as_ref().and_then(|c| c.account.as_ref()).and_then(|a| a.uid.as_deref())
    {
        out.add(EntityKind::CloudAccount, Some(account));
    }
    if let Some(service) = event.api.as_ref().and_then(|a| a.service.as_ref()).and_then(|s| s.name.as_deref())
    {
        out.add(EntityKind::Service, Some(service));
    }
    if event.metadata.product.vendor_name.as_deref() == Some("GitHub")
        && let Some(repo) = event.unmapped.get("repo").and_then(|r| r.as_str())
    {
        out.add(EntityKind::Repository, Some(repo));
    }
    out
}

/// The entity a correlation's group-by field names (`TargetUserName=alice` is user alice).
pub fn from_group_field(field: &str, value: &str) -> Option<Entity> {
    let f = field.to_ascii_lowercase();
    let kind = if f.contains("arn") || f.contains("principal") {
        EntityKind::CloudPrincipal
    } else if f.contains("user") || f.contains("account") || f.contains("alternateid") || f == "actor" {
        EntityKind::User
    } else if f.contains("ip") || f.contains("address") {
        EntityKind::Ip
    } else if f.contains("computer") || f.contains("host") || f.contains("workstation") {
        EntityKind::Host
    } else if f.contains("repo") {
        EntityKind::Repository
    } else {
        return None;
    };
    Entity::new(kind, value)
}

#[cfg(test)]
mod tests {
    use vigil_ocsf::Class;
    use vigil_ocsf::objects::{Actor, Device, Endpoint, Metadata};

    use super::*;

    fn ent(kind: EntityKind, key: &str) -> Entity {
        Entity::new(kind, key).expect("entity")
    }

    #[test]
    fn a_windows_logon_names_host_user_sid_and_source_address_and_links_the_user_to_the_sid() {
        let mut e = Event::new(Class::Authentication, 1, 0, Metadata::new("Microsoft", "Windows"));
        e.device = Some(Device { hostname: Some("WS-12.corp.example".into()), ..Device::default() });
        e.user = Some(User {
            name: Some("alice".into()),
            domain: Some("CORP".into()),
            uid: Some("S-1-5-21-1004336348-1177238915-682003330-1104".into()),
            ..User::default()
        });
        e.src_endpoint = Some(Endpoint { ip: Some("198.51.100.7".into()), ..Endpoint::default() });
        let x = extract(&e);
        assert!(x.entities.contains(&ent(EntityKind::Host, "ws-12")));
        assert!(x.entities.contains(&ent(EntityKind::User, "corp\\alice")));
        assert!(x.entities.contains(&ent(EntityKind::Ip, "198.51.100.7")));
        assert_eq!(x.aliases.len(), 1);
        assert_eq!(x.aliases[0].0, ent(EntityKind::User, "corp\\alice"));
    }

    #[test]
    fn system_s_well_known_sid_is_not_a_person() {
        let mut e = Event::new(Class::ProcessActivity, 1, 0, Metadata::new("Microsoft", "Windows"));
        e.actor = Some(Actor::user(User {
            name: Some("SYSTEM".into()),
            uid: Some("S-1-5-18".into()),
            ..User::default()
        }));
        let x = extract(&e);
        assert_eq!(x.entities, vec![ent(EntityKind::User, "system")]);
        assert!(x.aliases.is_empty());
    }

    #[test]
    fn group_fields_of_correlations_become_entities() {
        assert_eq!(from_group_field("TargetUserName", "Alice"), Some(ent(EntityKind::User, "alice")));
        assert_eq!(from_group_field("IpAddress", "10.0.0.5"), Some(ent(EntityKind::Ip, "10.0.0.5")));
        assert_eq!(
            from_group_field("userIdentity.arn", "arn:aws:iam::1:user/x").map(|e| e.kind),
            Some(EntityKind::CloudPrincipal)
        );
        assert_eq!(from_group_field("Computer", "SRV-01.corp"), Some(ent(EntityKind::Host, "srv-01")));
        assert_eq!(from_group_field("ServiceName", "x"), None);
    }
}
