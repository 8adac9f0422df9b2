//! Target selection: round robin, least outstanding requests, weighted random,
//! slow start, and weighted target groups. Everything here reads immutable
//! snapshot data plus atomics; nothing blocks.

use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Instant;

use rand::Rng;

use super::snapshot::{Algorithm, ForwardPlan, Target, TargetGroupRoutes};

/// Picks a target for a new request. `exclude` skips one target (the retry
/// after a refused connection must go elsewhere); `None` when nothing is left.
pub fn pick(
    tg: &TargetGroupRoutes,
    now: Instant,
    exclude: Option<SocketAddr>,
) -> Option<&Arc<Target>> {
    let all = &tg.candidates;
    let n = all.len();
    if n == 0 || (n == 1 && exclude == Some(all[0].addr)) {
        return None;
    }
    let allowed = |t: &Arc<Target>| Some(t.addr) != exclude;
    if tg.slow_start && tg.algorithm != Algorithm::LeastOutstandingRequests {
        return weighted_random(all, now, allowed);
    }
    match tg.algorithm {
        Algorithm::RoundRobin => {
            let start = tg.cursor.fetch_add(1, Relaxed);
            (0..n).map(|i| &all[(start + i) % n]).find(|t| allowed(t))
        }
        Algorithm::LeastOutstandingRequests => {
            // Ties rotate, so idle targets share the load evenly.
            let start = tg.cursor.fetch_add(1, Relaxed);
            (0..n)
                .map(|i| &all[(start + i) % n])
                .filter(|t| allowed(t))
                .min_by_key(|t| t.stats.outstanding())
        }
        Algorithm::WeightedRandom => weighted_random(all, now, allowed),
    }
}

/// Random choice in proportion to each target's slow-start weight.
fn weighted_random(
    all: &[Arc<Target>],
    now: Instant,
    allowed: impl Fn(&Arc<Target>) -> bool,
) -> Option<&Arc<Target>> {
    let total: f64 = all
        .iter()
        .filter(|t| allowed(t))
        .map(|t| t.weight(now))
        .sum();
    if total <= 0.0 {
        return None;
    }
    let mut r = rand::thread_rng().gen::<f64>() * total;
    let mut last = None;
    for t in all.iter().filter(|t| allowed(t)) {
        let w = t.weight(now);
        if r < w {
            return Some(t);
        }
        r -= w;
        last = Some(t);
    }
    last
}

/// The target a valid `AWSALB` cookie names, if it may still take requests.
pub fn sticky_target<'a>(tg: &'a TargetGroupRoutes, cookie: &str) -> Option<&'a Arc<Target>> {
    tg.candidates.iter().find(|t| t.cookie == cookie)
}

/// Picks a target group of a forward action in proportion to the weights.
/// Deterministic interleaving (a shared counter over the total weight), so a
/// 3:1 split is exactly 3:1 over every 4 requests.
pub fn pick_group(plan: &ForwardPlan) -> Option<&Arc<TargetGroupRoutes>> {
    match plan.groups.as_slice() {
        [] => None,
        [(tg, _)] => Some(tg),
        groups => {
            if plan.total_weight == 0 {
                return None;
            }
            let mut n = (plan.cursor.fetch_add(1, Relaxed) % plan.total_weight as usize) as u32;
            for (tg, w) in groups {
                if n < *w {
                    return Some(tg);
                }
                n -= w;
            }
            None
        }
    }
}

/// The group a valid `AWSALBTG` cookie names, if its weight is not zero.
pub fn sticky_group<'a>(plan: &'a ForwardPlan, cookie: &str) -> Option<&'a Arc<TargetGroupRoutes>> {
    plan.groups
        .iter()
        .find(|(tg, w)| *w > 0 && tg.cookie == cookie)
        .map(|(tg, _)| tg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataplane::snapshot::TargetStats;
    use std::collections::HashMap;
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    fn target(i: u8, slow: Option<(Instant, Duration)>) -> Arc<Target> {
        let addr: SocketAddr = format!("10.0.0.{i}:80").parse().unwrap();
        Arc::new(Target {
            addr,
            authority: addr.to_string().parse().unwrap(),
            host: addr.to_string().parse().unwrap(),
            pool: Arc::new(crate::dataplane::pool::Pool::new(addr)),
            cookie: format!("c{i}"),
            stats: Arc::new(TargetStats::default()),
            healthy: true,
            draining: false,
            slow_start_until: slow,
        })
    }

    fn group(algorithm: Algorithm, targets: Vec<Arc<Target>>) -> TargetGroupRoutes {
        let slow = targets.iter().any(|t| t.slow_start_until.is_some());
        TargetGroupRoutes {
            arn: "tg".into(),
            algorithm,
            targets: targets.clone(),
            candidates: targets,
            cursor: Arc::new(AtomicUsize::new(0)),
            stickiness_seconds: None,
            slow_start: slow,
            cookie: "g".into(),
        }
    }

    fn counts(tg: &TargetGroupRoutes, picks: usize) -> HashMap<SocketAddr, usize> {
        let now = Instant::now();
        let mut counts = HashMap::new();
        for _ in 0..picks {
            *counts.entry(pick(tg, now, None).unwrap().addr).or_default() += 1;
        }
        counts
    }

    #[test]
    fn round_robin_is_even() {
        let tg = group(
            Algorithm::RoundRobin,
            (1..=3).map(|i| target(i, None)).collect(),
        );
        let c = counts(&tg, 300);
        assert!(c.values().all(|&n| n == 100), "{c:?}");
    }

    #[test]
    fn weighted_random_within_ten_percent() {
        let tg = group(
            Algorithm::WeightedRandom,
            (1..=3).map(|i| target(i, None)).collect(),
        );
        // 3000 picks: a +-10% band is over 5 standard deviations wide.
        let c = counts(&tg, 3000);
        assert_eq!(c.len(), 3);
        assert!(c.values().all(|&n| (900..=1100).contains(&n)), "{c:?}");
    }

    #[test]
    fn least_outstanding_prefers_idle_targets() {
        let targets: Vec<_> = (1..=3).map(|i| target(i, None)).collect();
        targets[0].stats.outstanding.store(5, Relaxed);
        targets[1].stats.outstanding.store(1, Relaxed);
        let tg = group(Algorithm::LeastOutstandingRequests, targets.clone());
        let now = Instant::now();
        for _ in 0..10 {
            assert_eq!(pick(&tg, now, None).unwrap().addr, targets[2].addr);
        }
        // All equal: ties rotate.
        targets[0].stats.outstanding.store(0, Relaxed);
        targets[1].stats.outstanding.store(0, Relaxed);
        let c = counts(&tg, 300);
        assert!(c.values().all(|&n| n == 100), "{c:?}");
    }

    #[test]
    fn exclude_skips_a_target() {
        let targets: Vec<_> = (1..=2).map(|i| target(i, None)).collect();
        let tg = group(Algorithm::RoundRobin, targets.clone());
        let now = Instant::now();
        for _ in 0..5 {
            assert_eq!(
                pick(&tg, now, Some(targets[0].addr)).unwrap().addr,
                targets[1].addr
            );
        }
        let single = group(Algorithm::RoundRobin, vec![targets[0].clone()]);
        assert!(pick(&single, now, Some(targets[0].addr)).is_none());
        let empty = group(Algorithm::RoundRobin, vec![]);
        assert!(pick(&empty, now, None).is_none());
    }

    #[test]
    fn slow_start_ramps_linearly() {
        let now = Instant::now();
        let len = Duration::from_secs(100);
        // A quarter of the way into its ramp.
        let ramping = target(2, Some((now + Duration::from_secs(75), len)));
        assert!((ramping.weight(now) - 0.25).abs() < 0.01);
        assert_eq!(ramping.weight(now + len), 1.0);
        let fresh = target(3, Some((now + len, len)));
        assert!(fresh.weight(now) <= 0.011);

        let tg = group(Algorithm::RoundRobin, vec![target(1, None), ramping]);
        let c = counts(&tg, 5000);
        let share = c[&"10.0.0.2:80".parse().unwrap()] as f64 / 5000.0;
        // Expected 0.25 / 1.25 = 0.2.
        assert!((0.16..0.24).contains(&share), "{share}");
    }

    #[test]
    fn weighted_groups_three_to_one() {
        let a = Arc::new(group(Algorithm::RoundRobin, vec![target(1, None)]));
        let mut b = group(Algorithm::RoundRobin, vec![target(2, None)]);
        b.arn = "b".into();
        b.cookie = "gb".into();
        let b = Arc::new(b);
        let plan = ForwardPlan {
            groups: vec![(a.clone(), 3), (b.clone(), 1)],
            total_weight: 4,
            stickiness_seconds: None,
            cursor: AtomicUsize::new(0),
        };
        let mut na = 0;
        for _ in 0..400 {
            if Arc::ptr_eq(pick_group(&plan).unwrap(), &a) {
                na += 1;
            }
        }
        assert_eq!(na, 300);
        assert!(Arc::ptr_eq(sticky_group(&plan, "gb").unwrap(), &b));
        assert!(sticky_group(&plan, "nope").is_none());

        let zero = ForwardPlan {
            groups: vec![(a.clone(), 0), (b, 0)],
            total_weight: 0,
            stickiness_seconds: None,
            cursor: AtomicUsize::new(0),
        };
        assert!(pick_group(&zero).is_none());
    }

    #[test]
    fn sticky_lookup_only_among_candidates() {
        let targets: Vec<_> = (1..=2).map(|i| target(i, None)).collect();
        let mut tg = group(Algorithm::RoundRobin, targets.clone());
        assert_eq!(sticky_target(&tg, "c2").unwrap().addr, targets[1].addr);
        tg.candidates.truncate(1);
        assert!(sticky_target(&tg, "c2").is_none());
    }
}
