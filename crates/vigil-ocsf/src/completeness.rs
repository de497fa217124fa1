//! What each class needs before an event may claim it, and the fallback to Base Event when a
//! source record is too thin to fill it. A record is never rejected for being thin: it is kept
//! as a Base Event with everything it had.

use serde_json::Value;

use crate::class::Class;
use crate::event::Event;
use crate::objects::{Endpoint, Process, User};

fn user_ok(u: &Option<User>) -> bool {
    u.as_ref().is_some_and(|u| u.name.is_some() || u.uid.is_some() || u.account.is_some())
}

fn endpoint_ok(e: &Option<Endpoint>) -> bool {
    e.as_ref().is_some_and(|e| !e.is_empty())
}

fn process_ok(p: &Option<Process>) -> bool {
    p.as_ref().is_some_and(|p| p.pid.is_some() || p.uid.is_some())
}

impl Event {
    fn actor_ok(&self) -> bool {
        self.actor.as_ref().is_some_and(|a| {
            user_ok(&a.user)
                || a.process.as_deref().is_some_and(|p| p.pid.is_some() || p.uid.is_some())
                || a.session.is_some()
                || a.app_name.is_some()
                || a.invoked_by.is_some()
        })
    }

    fn device_ok(&self) -> bool {
        self.device
            .as_ref()
            .is_some_and(|d| d.hostname.is_some() || d.name.is_some() || d.ip.is_some() || d.uid.is_some())
    }

    /// The first attribute the event's class requires that the event lacks, if any.
    pub fn missing_required(&self) -> Option<&'static str> {
        let class = self.class()?;
        let need: &[(&'static str, bool)] = match class {
            Class::BaseEvent => &[],
            Class::Authentication => &[
                ("user", user_ok(&self.user)),
                ("service or dst_endpoint", self.service.is_some() || endpoint_ok(&self.dst_endpoint)),
            ],
            Class::AccountChange => &[("user", user_ok(&self.user))],
            Class::GroupManagement => {
                &[("group", self.group.as_ref().is_some_and(|g| g.name.is_some() || g.uid.is_some()))]
            }
            Class::ProcessActivity => &[
                ("actor", self.actor_ok()),
                ("device", self.device_ok()),
                ("process", process_ok(&self.process)),
            ],
            Class::FileSystemActivity => {
                &[("actor", self.actor_ok()), ("device", self.device_ok()), ("file", self.file.is_some())]
            }
            Class::ScriptActivity => &[
                ("actor", self.actor_ok()),
                ("device", self.device_ok()),
                ("script", self.script.as_ref().is_some_and(|s| !s.script_content.value.trim().is_empty())),
            ],
            Class::ModuleActivity => {
                &[("actor", self.actor_ok()), ("device", self.device_ok()), ("module", self.module.is_some())]
            }
            Class::AuthorizeSession => &[("user", user_ok(&self.user))],
            Class::EntityManagement => {
                &[("entity", self.entity.as_ref().is_some_and(|e| e.name.is_some() || e.uid.is_some()))]
            }
            Class::RdpActivity => &[(
                "src_endpoint or dst_endpoint",
                endpoint_ok(&self.src_endpoint) || endpoint_ok(&self.dst_endpoint),
            )],
            Class::ConfigState | Class::DeviceConfigStateChange => &[("device", self.device_ok())],
            Class::UserAccess => {
                &[("user", user_ok(&self.user)), ("privileges", !self.privileges.is_empty())]
            }
            Class::EventLogActivity => &[],
            Class::WindowsResourceActivity => &[
                ("actor", self.actor_ok()),
                ("device", self.device_ok()),
                ("win_resource", self.win_resource.is_some()),
            ],
            Class::WindowsServiceActivity => &[
                ("actor", self.actor_ok()),
                ("device", self.device_ok()),
                ("win_service", self.win_service.as_ref().is_some_and(|s| !s.name.trim().is_empty())),
            ],
            Class::RegistryKeyActivity => &[
                ("actor", self.actor_ok()),
                ("device", self.device_ok()),
                ("reg_key", self.reg_key.is_some()),
            ],
            Class::RegistryValueActivity => &[
                ("actor", self.actor_ok()),
                ("device", self.device_ok()),
                ("reg_value", self.reg_value.is_some()),
            ],
            Class::ScheduledJobActivity => {
                &[("device", self.device_ok()), ("job", self.job.as_ref().is_some_and(|j| j.file.is_some()))]
            }
            Class::NetworkActivity | Class::DnsActivity => &[(
                "src_endpoint or dst_endpoint",
                endpoint_ok(&self.src_endpoint) || endpoint_ok(&self.dst_endpoint),
            )],
            Class::HttpActivity => &[(
                "http_request or http_response",
                self.http_request.is_some() || self.http_response.is_some(),
            )],
            Class::ApiActivity => &[
                ("actor", self.actor_ok()),
                ("api", self.api.is_some()),
                ("src_endpoint", endpoint_ok(&self.src_endpoint)),
            ],
            Class::DetectionFinding => &[("finding_info", self.finding_info.is_some())],
        };
        need.iter().find(|(_, ok)| !ok).map(|(name, _)| *name)
    }

    /// Keeps the event in its class when it has what the class requires; otherwise turns it
    /// into a Base Event, moving the class-specific attributes into `unmapped.ocsf` so nothing
    /// is lost, and recording why in `unmapped.vigil_class_fallback`.
    pub fn or_base_event(self) -> Event {
        let Some(missing) = self.missing_required() else {
            return self;
        };
        let intended = self.class_name.clone();
        let mut base = Event::new(Class::BaseEvent, 99, self.time, self.metadata.clone());
        base.severity_id = self.severity_id;
        base.severity = self.severity.clone();
        base.status_id = self.status_id;
        base.status = self.status.clone();
        base.status_code = self.status_code.clone();
        base.status_detail = self.status_detail.clone();
        base.message = self.message.clone();
        base.activity_name = self.activity_name.clone();
        base.device = self.device.clone();
        base.cloud = self.cloud.clone();
        base.raw_data = self.raw_data.clone();
        base.unmapped = self.unmapped.clone();
        base.observables = self.observables.clone();
        let mut specific = serde_json::to_value(&self).unwrap_or(Value::Null);
        if let Value::Object(map) = &mut specific {
            for key in [
                "class_uid",
                "class_name",
                "category_uid",
                "category_name",
                "activity_id",
                "activity_name",
                "type_uid",
                "type_name",
                "time",
                "severity_id",
                "severity",
                "status_id",
                "status",
                "status_code",
                "status_detail",
                "message",
                "metadata",
                "device",
                "cloud",
                "raw_data",
                "unmapped",
                "observables",
            ] {
                map.remove(key);
            }
            if !map.is_empty() {
                base.unmapped.insert("ocsf".to_owned(), specific);
            }
        }
        base.unmapped.insert(
            "vigil_class_fallback".to_owned(),
            Value::String(format!("{intended}: no {missing} in the record")),
        );
        base
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objects::{Api, Metadata};

    #[test]
    fn thin_api_call_becomes_base_event_keeping_its_attributes() {
        let mut event = Event::new(Class::ApiActivity, 2, 5, Metadata::default());
        event.api = Some(Api { operation: "ListBuckets".into(), ..Api::default() });
        let base = event.or_base_event();
        assert_eq!(base.class_uid, 0);
        assert_eq!(base.unmapped["ocsf"]["api"]["operation"], "ListBuckets");
        assert_eq!(base.unmapped["vigil_class_fallback"], "API Activity: no actor in the record");
    }
}
