//! Remote Desktop Services' transport log (RdpCoreTS) to OCSF RDP Activity: 131, the server
//! accepted a connection from a client, with the client's address and port.

use vigil_ocsf::objects::*;
use vigil_ocsf::{Class, Event};

use super::activity::rdp::CONNECT_REQUEST;
use super::mapping::{Data, endpoint};

pub(super) const RDP_CORE: &str = "Microsoft-Windows-RemoteDesktopServices-RdpCoreTS";

/// `10.0.0.5:50122` or `[fe80::1]:50122` as address and port.
fn address_and_port(text: &str) -> (Option<String>, Option<i64>) {
    let text = text.trim();
    let (host, port) = match text.strip_prefix('[') {
        Some(rest) => match rest.split_once("]:") {
            Some((host, port)) => (host, Some(port)),
            None => (rest.trim_end_matches(']'), None),
        },
        // One colon: an IPv4 address and port; more: an IPv6 address without a port.
        None if text.matches(':').count() == 1 => match text.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (text, None),
        },
        None => (text, None),
    };
    (Some(host.to_owned()).filter(|h| !h.is_empty()), port.and_then(|p| p.parse().ok()))
}

pub(super) fn remote_desktop(id: u32, d: &mut Data, time: i64, metadata: Metadata) -> Option<Event> {
    if id != 131 {
        return None;
    }
    let (ip, port) = address_and_port(&d.take("ClientIP")?);
    let mut e = Event::new(Class::RdpActivity, CONNECT_REQUEST, time, metadata);
    e.src_endpoint = endpoint(ip, port, None);
    e.connection_info = d.take("ConnType").map(|protocol| ConnectionInfo {
        direction_id: 1,
        protocol_name: Some(protocol),
        protocol_num: None,
    });
    Some(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_addresses_of_both_families_are_read_with_their_ports() {
        assert_eq!(address_and_port("10.23.123.11:36160"), (Some("10.23.123.11".into()), Some(36160)));
        assert_eq!(address_and_port("[fe80::1]:3389"), (Some("fe80::1".into()), Some(3389)));
        assert_eq!(address_and_port("fe80::1"), (Some("fe80::1".into()), None));
    }
}
