//! Active Directory's own auditing of its objects (directory service changes) to OCSF Entity
//! Management: 5136 modified, 5137 created, 5139 moved, 5141 deleted; the object by its
//! distinguished name, GUID and class, the subject as the actor. Which attribute changed, and
//! to what, stays in `unmapped`, where Sigma-minded readers look for it.

use vigil_ocsf::objects::*;
use vigil_ocsf::{Class, Event};

use super::activity::entity_management::*;
use super::mapping::Data;

pub(super) fn directory_change(id: u32, d: &mut Data, time: i64, metadata: Metadata) -> Option<Event> {
    let activity = match id {
        5136 => UPDATE,
        5137 => CREATE,
        5139 => MOVE,
        5141 => DELETE,
        _ => return None,
    };
    let name = d.take("ObjectDN").or_else(|| d.take("OldObjectDN")).filter(|n| !n.is_empty() && n != "-");
    let uid = d.take("ObjectGUID").filter(|u| !u.is_empty() && u != "-");
    if name.is_none() && uid.is_none() {
        return None;
    }
    let mut e = Event::new(Class::EntityManagement, activity, time, metadata);
    e.entity = Some(ManagedEntity { name, uid, r#type: d.take("ObjectClass") });
    e.actor = d.user("Subject").map(Actor::user);
    Some(e)
}
