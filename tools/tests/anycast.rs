//! The anycast lab end to end (issue 16; `relay-lab anycast` runs the same code): two relays
//! with BIRD and the health agent behind ECMP upstreams, killed, restarted, drained and
//! flooded under traffic. Every check must hold, with these exact values; the lab is torn
//! down with every relayd's pool check.
//!
//! Needs root, bird2 and python3 (scripts/setup.sh), relayd and relay-health built beside
//! this test (`cargo build --workspace --release`). It shares the namespaces' names with
//! `relay-lab anycast`: run with `--test-threads=1`.
use relay_tools::lab::anycast::{self, checks, AnycastLab, Options};
use relay_tools::lab::scenario::Outcome;
use relay_tools::lab::{default_relayd, wiring, DEFAULT_DIR};

/// The check `what` of the step whose title starts with `step`: it held, with `detail`.
fn check(outcomes: &[Outcome], step: &str, what: &str, detail: &str) {
    let o = outcomes.iter().find(|o| o.title.starts_with(step)).unwrap_or_else(|| panic!("no step {step}"));
    let c = o.checks.iter().find(|c| c.what == what).unwrap_or_else(|| panic!("no check {what:?} in\n{o}"));
    assert!(c.ok, "{what}: {}", c.detail);
    assert_eq!(c.detail, detail, "{what}");
}

#[test]
fn two_relays_share_flows_fail_over_drain_and_survive_a_flood() {
    let opts = Options::new(std::path::Path::new(DEFAULT_DIR), default_relayd());
    let mut lab = AnycastLab::up(&opts).unwrap_or_else(|e| panic!("anycast lab up: {e}"));
    let outcomes = checks::run(&mut lab);
    let teardown = lab.down();
    let report: String = outcomes.iter().map(ToString::to_string).collect();
    println!("{report}");
    assert_eq!(outcomes.len(), 6, "{report}");
    for o in &outcomes {
        assert!(o.passed(), "{o}");
    }

    let both4 = r#"["203.0.113.18", "203.0.113.2"]"#;
    let both6 = r#"["2001:db8:fa::2", "2001:db8:fb::2"]"#;
    check(&outcomes, "a.", "U4 192.88.99.0/24 next hops (ECMP)", both4);
    check(&outcomes, "a.", "U6 2002::/16 next hops (ECMP)", both6);
    check(&outcomes, "a.", "R3b BIRD up6", r#""Established""#);
    check(&outcomes, "b.", "UDP flows A -> C: received at C", "320");
    check(&outcomes, "c.", "U4 192.88.99.0/24 next hops after kill -9 of R3a", r#"["203.0.113.18"]"#);
    check(&outcomes, "c.", "U6 2002::/16 next hops after kill -9 of R3a", r#"["2001:db8:fb::2"]"#);
    check(&outcomes, "c.", "TCP A -> C across the failover: bytes received", "10485760");
    check(&outcomes, "c.", "R3a's agent disabled anycast4 and anycast6 with relayd gone", "anycast4 down, anycast6 down");
    check(&outcomes, "c.", "U4 192.88.99.0/24 next hops after R3a's restart", both4);
    check(&outcomes, "c.", "R3a health after the restart", r#""healthy\n""#);
    check(&outcomes, "c.", "UDP flows A -> C after the restart: received at C", "320");
    check(&outcomes, "d.", "A -> C pings lost across the drain", "0");
    check(&outcomes, "d.", "U6 2002::/16 next hops after R3b's drain", r#"["2001:db8:fa::2"]"#);
    let d = outcomes.iter().find(|o| o.title.starts_with("d.")).expect("step d");
    assert!(d.checks.iter().any(|c| c.what == "R3b stopped by itself, exit 0, pools full" && c.ok && c.detail.ends_with("no leak")), "{d}");
    check(&outcomes, "e.", "R3b routes: the prefix announced again", r#"Some("2001:db8:c0::/44 via 2001:db8:fb::1 port 1 origin kernel/bird")"#);
    check(&outcomes, "f.", "R3b pipeline.drop_kernel_policed_peer +", "0");
    check(&outcomes, "f.", "R3b BIRD up4", r#""Established""#);
    let c = outcomes.iter().find(|o| o.title.starts_with("c.")).expect("step c");
    assert!(c.notes.iter().any(|n| n.starts_with("failover outage: ") && n.contains(" ms (")), "{c}");

    assert_eq!(teardown.stopped.len(), 3, "{teardown}");
    assert!(teardown.clean(), "{teardown}");
    assert!(wiring::namespaces().iter().all(|n| !n.starts_with(anycast::plan::NAMESPACE_PREFIX)), "{:?}", wiring::namespaces());
}
