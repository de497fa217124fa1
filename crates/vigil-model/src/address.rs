//! What kind of party an address or account name is, for every stage that asks: a local or
//! private address, or a principal every Windows machine has.

use std::net::IpAddr;

/// Loopback, unspecified, link-local, multicast and broadcast: they say nothing about who.
pub fn is_local(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_loopback()
                || v4.is_unspecified()
                || v4.is_link_local()
                || v4.is_multicast()
                || v4.is_broadcast()
        }
        IpAddr::V6(v6) => {
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (v6.segments()[0] & 0xffc0) == 0xfe80
        }
    }
}

/// RFC 1918, carrier-grade NAT (100.64/10) and unique-local IPv6: many hosts behind one.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_private() || (v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64),
        IpAddr::V6(v6) => (v6.segments()[0] & 0xfe00) == 0xfc00,
    }
}

/// Principals every Windows machine has (`NT AUTHORITY\SYSTEM`, `DWM-1`, `-`): no person.
/// `name` is lowercased, with or without its `DOMAIN\`.
pub fn is_builtin_account(name: &str) -> bool {
    let short = name.rsplit('\\').next().unwrap_or(name);
    matches!(
        short,
        "system" | "local service" | "network service" | "anonymous logon" | "localsystem" | "-" | "n/a"
    ) || short.starts_with("dwm-")
        || short.starts_with("umfd-")
        || name.starts_with("nt authority\\")
        || name.starts_with("font driver host\\")
        || name.starts_with("window manager\\")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("address")
    }

    #[test]
    fn local_private_and_public_addresses_are_told_apart() {
        assert!(is_local(ip("127.0.0.1")) && is_local(ip("fe80::1")) && is_local(ip("::")));
        assert!(is_private(ip("10.0.2.15")) && is_private(ip("100.64.1.1")) && is_private(ip("fd00::1")));
        assert!(!is_local(ip("198.51.100.7")) && !is_private(ip("198.51.100.7")));
    }

    #[test]
    fn builtin_principals_are_no_one() {
        assert!(
            is_builtin_account("nt authority\\system")
                && is_builtin_account("umfd-3")
                && is_builtin_account("-")
        );
        assert!(!is_builtin_account("corp\\alice"));
    }
}
