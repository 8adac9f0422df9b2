//! ARN and id formats.

use rand::Rng;

/// Builds `arn:aws:SERVICE:REGION:ACCOUNT:RESOURCE`.
pub fn arn(service: &str, region: &str, account: &str, resource: &str) -> String {
    format!("arn:aws:{service}:{region}:{account}:{resource}")
}

/// The last `/`-separated part of an ARN (a task id, a cluster name).
pub fn last_segment(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// The region field of an ARN, if it is one.
pub fn region_of(arn: &str) -> Option<&str> {
    let mut parts = arn.splitn(6, ':');
    (parts.next()? == "arn").then_some(())?;
    parts.nth(2)
}

/// The account field of an ARN, if it is one.
pub fn account_of(arn: &str) -> Option<&str> {
    let mut parts = arn.splitn(6, ':');
    (parts.next()? == "arn").then_some(())?;
    parts.nth(3)
}

/// `n` random lower-case hex digits.
pub fn random_hex(n: usize) -> String {
    let mut rng = rand::thread_rng();
    (0..n)
        .map(|_| char::from_digit(rng.gen_range(0..16), 16).unwrap_or('0'))
        .collect()
}

/// `n` random letters (either case) and digits (service deployment ids).
pub fn random_alphanumeric(n: usize) -> String {
    use rand::distributions::{Alphanumeric, DistString};
    Alphanumeric.sample_string(&mut rand::thread_rng(), n)
}

/// `n` random decimal digits, first one non-zero (deployment ids).
pub fn random_digits(n: usize) -> String {
    let mut rng = rand::thread_rng();
    (0..n)
        .map(|i| {
            let lo = if i == 0 { 1 } else { 0 };
            char::from_digit(rng.gen_range(lo..10), 10).unwrap_or('1')
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arn_parts() {
        let a = arn("ecs", "eu-west-1", "000000000000", "task/default/abc");
        assert_eq!(a, "arn:aws:ecs:eu-west-1:000000000000:task/default/abc");
        assert_eq!(last_segment(&a), "abc");
        assert_eq!(region_of(&a), Some("eu-west-1"));
        assert_eq!(region_of("default"), None);
    }

    #[test]
    fn random_ids_have_the_right_shape() {
        let h = random_hex(32);
        assert_eq!(h.len(), 32);
        assert!(h
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        let d = random_digits(19);
        assert_eq!(d.len(), 19);
        assert!(!d.starts_with('0'));
    }
}
