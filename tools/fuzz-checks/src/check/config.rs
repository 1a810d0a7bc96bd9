//! The `[pipeline]` TOML loader (relay/src/pipeline/config.rs) on arbitrary text, for one to
//! four ports: the settings and the table set it builds, or a refusal.
//!
//! Properties beside "no panic": a refusal names a field and a reason (the house rule for
//! bad configuration); loading is deterministic (the same text gives equal settings and
//! equal tables); every accepted `[[route]]` is in the table set it built.
use relay::pipeline::{Config, TableUpdate};

pub fn check(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(config) = Config::from_toml(text) else { return };
    for ports in 1..=4 {
        match config.build(ports) {
            Err(e) => {
                assert!(!e.path.is_empty() && !e.reason.is_empty(), "a refusal names its field and reason: {e:?}");
            }
            Ok((settings, tables)) => {
                let (again, tables_again) = config.build(ports).expect("the same text loads again");
                assert_eq!(settings, again, "settings are deterministic");
                assert_eq!(tables.routes_text(), tables_again.routes_text(), "routes are deterministic");
                // The last route for a prefix is its target.
                for u in settings.routes.iter().rev() {
                    if let TableUpdate::RouteAdd { prefix, len, .. } = *u {
                        let last = settings.routes.iter().rev().find_map(|r| match *r {
                            TableUpdate::RouteAdd { prefix: p, len: l, target } if (p, l) == (prefix, len) => Some(target),
                            _ => None,
                        });
                        assert_eq!(tables.route(prefix, len), last, "{u}: accepted, but the tables say otherwise");
                    }
                }
            }
        }
    }
}
