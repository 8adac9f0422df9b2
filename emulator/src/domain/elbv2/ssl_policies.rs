//! AWS's predefined security policies, as `DescribeSSLPolicies` returns them.
//!
//! Names, protocols and ciphers (in priority order) follow the tables of the
//! ALB guide's "Security policies" page,
//! <https://docs.aws.amazon.com/elasticloadbalancing/latest/application/describe-ssl-policies.html>,
//! and the `ELBSecurityPolicy-2015-05` example of the API reference. The
//! post-quantum (`PQ`) policies differ from their 2021 counterparts in key
//! exchange only, so they list the same ciphers; the FIPS policies list
//! their counterpart's ciphers without ChaCha20, which FIPS 140 does not
//! approve. The emulator terminates no TLS: the table is for describing.

/// One predefined policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SslPolicy {
    pub name: &'static str,
    /// Oldest first, as AWS lists them.
    pub protocols: &'static [&'static str],
    /// The TLS 1.3 suites, first in priority.
    tls13: &'static [&'static str],
    /// The TLS 1.2-and-older suites after them, in groups.
    classic: &'static [&'static [&'static str]],
}

impl SslPolicy {
    /// The ciphers by priority, 1 first.
    pub fn ciphers(&self) -> impl Iterator<Item = &'static str> {
        self.tls13
            .iter()
            .chain(self.classic.iter().copied().flatten())
            .copied()
    }
}

/// Every predefined policy serves Application and Network Load Balancers;
/// Gateway Load Balancers have none.
pub const SUPPORTED_LOAD_BALANCER_TYPES: [&str; 2] = ["application", "network"];

const TLS10_13: &[&str] = &["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"];
const TLS11_13: &[&str] = &["TLSv1.1", "TLSv1.2", "TLSv1.3"];
const TLS12_13: &[&str] = &["TLSv1.2", "TLSv1.3"];
const TLS13: &[&str] = &["TLSv1.3"];
const TLS10_12: &[&str] = &["TLSv1", "TLSv1.1", "TLSv1.2"];
const TLS11_12: &[&str] = &["TLSv1.1", "TLSv1.2"];
const TLS12: &[&str] = &["TLSv1.2"];

const T13: &[&str] = &[
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
];
const T13_FIPS: &[&str] = &["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384"];
const NO_T13: &[&str] = &[];

// Groups of TLS 1.2-and-older suites, in the order AWS ranks them.
const E128_GCM: &[&str] = &[
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES128-GCM-SHA256",
];
const E128_CBC: &[&str] = &["ECDHE-ECDSA-AES128-SHA256", "ECDHE-RSA-AES128-SHA256"];
const E128_SHA1: &[&str] = &["ECDHE-ECDSA-AES128-SHA", "ECDHE-RSA-AES128-SHA"];
const DHE128_SHA1: &[&str] = &["DHE-RSA-AES128-SHA"];
const E256_GCM: &[&str] = &[
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES256-GCM-SHA384",
];
const E256_CBC: &[&str] = &["ECDHE-ECDSA-AES256-SHA384", "ECDHE-RSA-AES256-SHA384"];
const E256_SHA1: &[&str] = &["ECDHE-ECDSA-AES256-SHA", "ECDHE-RSA-AES256-SHA"];
/// The forward-secrecy and 2015 policies rank RSA first here.
const E256_SHA1_RSA_FIRST: &[&str] = &["ECDHE-RSA-AES256-SHA", "ECDHE-ECDSA-AES256-SHA"];
const R128: &[&str] = &["AES128-GCM-SHA256", "AES128-SHA256"];
const R128_SHA1: &[&str] = &["AES128-SHA"];
const R256: &[&str] = &["AES256-GCM-SHA384", "AES256-SHA256"];
const R256_SHA1: &[&str] = &["AES256-SHA"];

/// `-Res`: ECDHE with AES-GCM only.
const RES: &[&[&str]] = &[E128_GCM, E256_GCM];
/// ECDHE with SHA-2 (`TLS13-1-2`, `FS-1-2-Res-2019-08`).
const ECDHE_SHA2: &[&[&str]] = &[E128_GCM, E128_CBC, E256_GCM, E256_CBC];
/// `Ext0`: ECDHE, SHA-1 included.
const ECDHE_ALL: &[&[&str]] = &[E128_GCM, E128_CBC, E128_SHA1, E256_GCM, E256_CBC, E256_SHA1];
/// `Ext1`, `TLS-1-2-2017-01`: SHA-2 with RSA key exchange too.
const SHA2: &[&[&str]] = &[E128_GCM, E128_CBC, E256_GCM, E256_CBC, R128, R256];
/// `Ext2`, `TLS13-1-1`, `TLS13-1-0`, `2016-08`: everything.
const ALL: &[&[&str]] = &[
    E128_GCM, E128_CBC, E128_SHA1, E256_GCM, E256_CBC, E256_SHA1, R128, R128_SHA1, R256, R256_SHA1,
];
/// `FS-2018-06`, `FS-1-1-2019-08`, `FS-1-2-2019-08`: forward secrecy only.
const FS: &[&[&str]] = &[
    E128_GCM,
    E128_CBC,
    E128_SHA1,
    E256_GCM,
    E256_CBC,
    E256_SHA1_RSA_FIRST,
];
/// The API reference's `ELBSecurityPolicy-2015-05` example.
const EXAMPLE_2015: &[&[&str]] = &[
    E128_GCM,
    E128_CBC,
    E128_SHA1,
    DHE128_SHA1,
    E256_GCM,
    E256_CBC,
    E256_SHA1_RSA_FIRST,
    R128,
    R128_SHA1,
    R256,
    R256_SHA1,
];

const fn policy(
    name: &'static str,
    protocols: &'static [&'static str],
    tls13: &'static [&'static str],
    classic: &'static [&'static [&'static str]],
) -> SslPolicy {
    SslPolicy {
        name,
        protocols,
        tls13,
        classic,
    }
}

/// In the order of the ALB guide: TLS 1.3 and post-quantum, FIPS, forward
/// secrecy, then the TLS 1.0-1.2 policies.
pub const SSL_POLICIES: &[SslPolicy] = &[
    policy(
        "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09",
        TLS12_13,
        T13,
        RES,
    ),
    policy(
        "ELBSecurityPolicy-TLS13-1-2-PQ-2025-09",
        TLS12_13,
        T13,
        ECDHE_SHA2,
    ),
    policy(
        "ELBSecurityPolicy-TLS13-1-2-Ext1-PQ-2025-09",
        TLS12_13,
        T13,
        SHA2,
    ),
    policy(
        "ELBSecurityPolicy-TLS13-1-2-Ext2-PQ-2025-09",
        TLS12_13,
        T13,
        ALL,
    ),
    policy("ELBSecurityPolicy-TLS13-1-0-PQ-2025-09", TLS10_13, T13, ALL),
    policy("ELBSecurityPolicy-TLS13-1-3-PQ-2025-09", TLS13, T13, &[]),
    policy(
        "ELBSecurityPolicy-TLS13-1-2-2021-06",
        TLS12_13,
        T13,
        ECDHE_SHA2,
    ),
    policy(
        "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
        TLS12_13,
        T13,
        RES,
    ),
    policy(
        "ELBSecurityPolicy-TLS13-1-2-Ext1-2021-06",
        TLS12_13,
        T13,
        SHA2,
    ),
    policy(
        "ELBSecurityPolicy-TLS13-1-2-Ext2-2021-06",
        TLS12_13,
        T13,
        ALL,
    ),
    policy("ELBSecurityPolicy-TLS13-1-1-2021-06", TLS11_13, T13, ALL),
    policy("ELBSecurityPolicy-TLS13-1-0-2021-06", TLS10_13, T13, ALL),
    policy("ELBSecurityPolicy-TLS13-1-3-2021-06", TLS13, T13, &[]),
    policy(
        "ELBSecurityPolicy-TLS13-1-2-FIPS-PQ-2025-09",
        TLS12_13,
        T13_FIPS,
        ECDHE_SHA2,
    ),
    policy(
        "ELBSecurityPolicy-TLS13-1-3-FIPS-2023-04",
        TLS13,
        T13_FIPS,
        &[],
    ),
    policy(
        "ELBSecurityPolicy-TLS13-1-2-Res-FIPS-2023-04",
        TLS12_13,
        T13_FIPS,
        RES,
    ),
    policy(
        "ELBSecurityPolicy-TLS13-1-2-FIPS-2023-04",
        TLS12_13,
        T13_FIPS,
        ECDHE_SHA2,
    ),
    policy(
        "ELBSecurityPolicy-TLS13-1-2-Ext0-FIPS-2023-04",
        TLS12_13,
        T13_FIPS,
        ECDHE_ALL,
    ),
    policy(
        "ELBSecurityPolicy-TLS13-1-2-Ext1-FIPS-2023-04",
        TLS12_13,
        T13_FIPS,
        SHA2,
    ),
    policy(
        "ELBSecurityPolicy-TLS13-1-2-Ext2-FIPS-2023-04",
        TLS12_13,
        T13_FIPS,
        ALL,
    ),
    policy(
        "ELBSecurityPolicy-TLS13-1-1-FIPS-2023-04",
        TLS11_13,
        T13_FIPS,
        ALL,
    ),
    policy(
        "ELBSecurityPolicy-TLS13-1-0-FIPS-2023-04",
        TLS10_13,
        T13_FIPS,
        ALL,
    ),
    policy("ELBSecurityPolicy-FS-1-2-Res-2020-10", TLS12, NO_T13, RES),
    policy(
        "ELBSecurityPolicy-FS-1-2-Res-2019-08",
        TLS12,
        NO_T13,
        ECDHE_SHA2,
    ),
    policy("ELBSecurityPolicy-FS-1-2-2019-08", TLS12, NO_T13, FS),
    policy("ELBSecurityPolicy-FS-1-1-2019-08", TLS11_12, NO_T13, FS),
    policy("ELBSecurityPolicy-FS-2018-06", TLS10_12, NO_T13, FS),
    policy("ELBSecurityPolicy-TLS-1-2-Ext-2018-06", TLS12, NO_T13, ALL),
    policy("ELBSecurityPolicy-TLS-1-2-2017-01", TLS12, NO_T13, SHA2),
    policy("ELBSecurityPolicy-TLS-1-1-2017-01", TLS11_12, NO_T13, ALL),
    policy("ELBSecurityPolicy-2016-08", TLS10_12, NO_T13, ALL),
    policy("ELBSecurityPolicy-2015-05", TLS10_12, NO_T13, EXAMPLE_2015),
];

/// The predefined policy of this name.
pub fn find(name: &str) -> Option<&'static SslPolicy> {
    SSL_POLICIES.iter().find(|p| p.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_lists_are_sane() {
        let mut names: Vec<&str> = SSL_POLICIES.iter().map(|p| p.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), SSL_POLICIES.len());
        for p in SSL_POLICIES {
            assert!(p.name.starts_with("ELBSecurityPolicy-"), "{}", p.name);
            let listed: Vec<&str> = p.ciphers().collect();
            assert!(!p.protocols.is_empty() && !listed.is_empty(), "{}", p.name);
            let mut unique = listed.clone();
            unique.sort_unstable();
            unique.dedup();
            assert_eq!(unique.len(), listed.len(), "duplicate cipher in {}", p.name);
            // TLS 1.3 suites exactly when TLS 1.3 is offered, older suites
            // exactly when an older protocol is; no ChaCha20 in FIPS.
            let tls13 = listed.iter().any(|c| c.starts_with("TLS_"));
            assert_eq!(tls13, p.protocols.contains(&"TLSv1.3"), "{}", p.name);
            let older = listed.iter().any(|c| !c.starts_with("TLS_"));
            assert_eq!(older, p.protocols != ["TLSv1.3"], "{}", p.name);
            if p.name.contains("FIPS") {
                assert!(!listed.iter().any(|c| c.contains("CHACHA20")), "{}", p.name);
            }
        }
    }

    #[test]
    fn the_main_policies_match_aws() {
        let default = find("ELBSecurityPolicy-2016-08").unwrap();
        assert_eq!(default.protocols, ["TLSv1", "TLSv1.1", "TLSv1.2"]);
        assert_eq!(default.ciphers().count(), 18);
        assert_eq!(default.ciphers().last(), Some("AES256-SHA"));
        let recommended = find("ELBSecurityPolicy-TLS13-1-2-2021-06").unwrap();
        assert_eq!(recommended.protocols, ["TLSv1.2", "TLSv1.3"]);
        assert_eq!(recommended.ciphers().next(), Some("TLS_AES_128_GCM_SHA256"));
        assert_eq!(recommended.ciphers().count(), 11);
        let example = find("ELBSecurityPolicy-2015-05").unwrap();
        // The service model's example, cipher by cipher.
        let ciphers: Vec<&str> = example.ciphers().collect();
        assert_eq!(
            ciphers,
            [
                "ECDHE-ECDSA-AES128-GCM-SHA256",
                "ECDHE-RSA-AES128-GCM-SHA256",
                "ECDHE-ECDSA-AES128-SHA256",
                "ECDHE-RSA-AES128-SHA256",
                "ECDHE-ECDSA-AES128-SHA",
                "ECDHE-RSA-AES128-SHA",
                "DHE-RSA-AES128-SHA",
                "ECDHE-ECDSA-AES256-GCM-SHA384",
                "ECDHE-RSA-AES256-GCM-SHA384",
                "ECDHE-ECDSA-AES256-SHA384",
                "ECDHE-RSA-AES256-SHA384",
                "ECDHE-RSA-AES256-SHA",
                "ECDHE-ECDSA-AES256-SHA",
                "AES128-GCM-SHA256",
                "AES128-SHA256",
                "AES128-SHA",
                "AES256-GCM-SHA384",
                "AES256-SHA256",
                "AES256-SHA",
            ]
        );
        assert!(find("ELBSecurityPolicy-Nope").is_none());
    }
}
