//! Anchor's 8-byte discriminators: the first 8 bytes of `sha256("<namespace>:<name>")`, computed at compile time.

use sha2_const_stable::Sha256;

pub const fn anchor(namespace: &str, name: &str) -> [u8; 8] {
    let hash = Sha256::new().update(namespace.as_bytes()).update(b":").update(name.as_bytes()).finalize();
    [hash[0], hash[1], hash[2], hash[3], hash[4], hash[5], hash[6], hash[7]]
}

/// Instructions: `sha256("global:<snake_case name>")`.
pub mod instruction {
    use super::anchor;
    pub const INITIALIZE_CONFIG: [u8; 8] = anchor("global", "initialize_config");
    pub const UPDATE_CONFIG: [u8; 8] = anchor("global", "update_config");
    pub const OPEN_LEASE: [u8; 8] = anchor("global", "open_lease");
    pub const TOP_UP: [u8; 8] = anchor("global", "top_up");
    pub const SETTLE: [u8; 8] = anchor("global", "settle");
    pub const CLOSE_LEASE: [u8; 8] = anchor("global", "close_lease");
    pub const RECLAIM: [u8; 8] = anchor("global", "reclaim");
}

/// Accounts: `sha256("account:<PascalCase name>")`.
pub mod account {
    use super::anchor;
    pub const CONFIG: [u8; 8] = anchor("account", "Config");
    pub const LEASE: [u8; 8] = anchor("account", "Lease");
}

/// Events: `sha256("event:<PascalCase name>")`.
pub mod event {
    use super::anchor;
    pub const CONFIG_INITIALIZED: [u8; 8] = anchor("event", "ConfigInitialized");
    pub const CONFIG_UPDATED: [u8; 8] = anchor("event", "ConfigUpdated");
    pub const LEASE_OPENED: [u8; 8] = anchor("event", "LeaseOpened");
    pub const LEASE_TOPPED_UP: [u8; 8] = anchor("event", "LeaseToppedUp");
    pub const LEASE_SETTLED: [u8; 8] = anchor("event", "LeaseSettled");
    pub const LEASE_CLOSED: [u8; 8] = anchor("event", "LeaseClosed");
    pub const LEASE_RECLAIMED: [u8; 8] = anchor("event", "LeaseReclaimed");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idl() -> serde_json::Value {
        serde_json::from_str(include_str!("../idl/lease_escrow.json")).expect("IDL is JSON")
    }

    fn listed(section: &str, name: &str) -> [u8; 8] {
        let idl = idl();
        let entry = idl[section]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == name)
            .unwrap_or_else(|| panic!("{section} {name} is in the IDL"));
        let bytes: Vec<u8> =
            entry["discriminator"].as_array().unwrap().iter().map(|b| b.as_u64().unwrap() as u8).collect();
        bytes.try_into().unwrap()
    }

    #[test]
    fn matches_a_known_anchor_discriminator() {
        // Anchor's own `initialize` instruction, as every Anchor template's IDL lists it.
        assert_eq!(anchor("global", "initialize"), [175, 175, 109, 31, 13, 152, 155, 237]);
    }

    #[test]
    fn idl_discriminators_are_the_programs() {
        assert_eq!(listed("instructions", "initialize_config"), instruction::INITIALIZE_CONFIG);
        assert_eq!(listed("instructions", "update_config"), instruction::UPDATE_CONFIG);
        assert_eq!(listed("instructions", "open_lease"), instruction::OPEN_LEASE);
        assert_eq!(listed("instructions", "top_up"), instruction::TOP_UP);
        assert_eq!(listed("instructions", "settle"), instruction::SETTLE);
        assert_eq!(listed("instructions", "close_lease"), instruction::CLOSE_LEASE);
        assert_eq!(listed("instructions", "reclaim"), instruction::RECLAIM);
        assert_eq!(listed("accounts", "Config"), account::CONFIG);
        assert_eq!(listed("accounts", "Lease"), account::LEASE);
        assert_eq!(listed("events", "ConfigInitialized"), event::CONFIG_INITIALIZED);
        assert_eq!(listed("events", "ConfigUpdated"), event::CONFIG_UPDATED);
        assert_eq!(listed("events", "LeaseOpened"), event::LEASE_OPENED);
        assert_eq!(listed("events", "LeaseToppedUp"), event::LEASE_TOPPED_UP);
        assert_eq!(listed("events", "LeaseSettled"), event::LEASE_SETTLED);
        assert_eq!(listed("events", "LeaseClosed"), event::LEASE_CLOSED);
        assert_eq!(listed("events", "LeaseReclaimed"), event::LEASE_RECLAIMED);
    }
}
