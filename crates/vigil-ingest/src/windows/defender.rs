//! Microsoft Defender Antivirus's health report (1151): the protection engines' state and
//! versions on the device, to OCSF Config State. The states (real-time, on-access, behaviour
//! monitoring, …) and versions stay in `unmapped` under Defender's names.

use vigil_ocsf::objects::*;
use vigil_ocsf::{Class, Event};

use super::activity::device_config::LOG;
use super::mapping::Data;

pub(super) const DEFENDER: &str = "Microsoft-Windows-Windows Defender";

pub(super) fn defender(id: u32, _d: &mut Data, time: i64, metadata: Metadata) -> Option<Event> {
    (id == 1151).then(|| Event::new(Class::ConfigState, LOG, time, metadata))
}
