//! `emulator demo` on a small setting: the same library function the CLI
//! calls, with its own in-process emulator, real containers and the AWS SDK.
//!
//! The assertions cannot flake: the direct phase's client-to-task
//! assignment comes from a fixed seed (so its counts are exact), round robin
//! through the ALB is exact, and the slow-task comparison has wide margins.

use emulator::demo::report::render_summary;
use emulator::demo::{self, dns_assignment, Algorithm, DemoOptions, Route, Scenario};
use tests::leftover_containers;

const TASKS: usize = 3;
const CLIENTS: usize = 6;

/// The first seed whose DNS-like answers leave a task without clients, so
/// the direct phase is skewed by construction.
fn skewed_seed() -> u64 {
    (0..)
        .find(|&s| {
            let a = dns_assignment(s, CLIENTS, TASKS);
            (0..TASKS).any(|t| !a.contains(&t))
        })
        .expect("some seed skews")
}

fn options(dir: &std::path::Path) -> DemoOptions {
    DemoOptions {
        tasks: TASKS,
        clients: CLIENTS,
        svg: Some(dir.join("demo.svg")),
        quiet: true,
        // Unpaced: as fast as the tasks answer.
        rate: Some(0),
        setup_time_limit_secs: 120,
        phase_time_limit_secs: 60,
        ..DemoOptions::default()
    }
}

fn temp_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("demo-test-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direct_clients_skew_and_the_alb_evens_the_load() {
    let dir = temp_dir();
    let seed = skewed_seed();
    let report = demo::run(DemoOptions {
        requests: 600,
        seed: Some(seed),
        algorithm: Algorithm::RoundRobin,
        scenario: Scenario::Even,
        ..options(&dir)
    })
    .await
    .expect("demo runs");
    eprintln!("{}", render_summary(&report));

    assert_eq!(report.tasks.len(), TASKS);
    let mut ips: Vec<_> = report.tasks.iter().map(|t| t.ip).collect();
    ips.dedup();
    assert_eq!(ips.len(), TASKS, "each task has its own IP");

    // Direct: exactly clients x 100 requests per task; one task got nothing.
    let direct = report.direct().expect("direct phase ran");
    assert!(direct.complete(), "{direct:?}");
    let clients = direct.clients_per_task.clone().expect("assignment");
    let assignment = dns_assignment(seed, CLIENTS, TASKS);
    for (t, &n) in clients.iter().enumerate() {
        assert_eq!(n, assignment.iter().filter(|&&a| a == t).count());
        assert_eq!(direct.counts[t], n as u64 * 100, "task {t}: {direct:?}");
    }
    assert_eq!(direct.min(), 0, "{direct:?}");
    // With one task at zero the CV is at least 1/sqrt(2).
    assert!(direct.cv() > 0.7, "direct CV {}", direct.cv());

    // Through the ALB: every task within 15% of an even share, lower CV.
    let alb = report
        .phase(Route::Alb(Algorithm::RoundRobin))
        .expect("ALB phase ran");
    assert!(alb.complete(), "{alb:?}");
    for (t, &count) in alb.counts.iter().enumerate() {
        assert!(
            (170..=230).contains(&count),
            "task {t} got {count} of 600 through the ALB: {alb:?}"
        );
    }
    assert!(alb.cv() < direct.cv());
    assert!(alb.cv() < 0.15, "ALB CV {}", alb.cv());

    // The chart names every task and both phases.
    let svg = std::fs::read_to_string(report.svg.as_ref().expect("chart written")).unwrap();
    assert!(svg.starts_with("<svg"), "{}", &svg[..80.min(svg.len())]);
    for (i, task) in report.tasks.iter().enumerate() {
        assert!(svg.contains(&task.label(i)), "label {i} missing");
    }
    assert!(svg.contains("direct") && svg.contains("ALB round_robin"));

    // Nothing left running.
    let instance = report.instance.as_deref().expect("in-process emulator");
    assert_eq!(leftover_containers(instance).await, 0);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn least_outstanding_requests_routes_around_a_slow_task() {
    let dir = temp_dir();
    let report = demo::run(DemoOptions {
        requests: 300,
        seed: Some(1),
        scenario: Scenario::SlowTask,
        slow_delay_ms: 50,
        ..options(&dir)
    })
    .await
    .expect("demo runs");
    eprintln!("{}", render_summary(&report));

    let slow = report.slow_task().expect("a slow task");
    assert_eq!(slow, TASKS - 1, "the slow task is listed last");
    let rr = report
        .phase(Route::Alb(Algorithm::RoundRobin))
        .expect("round robin phase");
    let lor = report
        .phase(Route::Alb(Algorithm::LeastOutstandingRequests))
        .expect("least outstanding phase");
    assert!(rr.complete() && lor.complete(), "{rr:?} {lor:?}");

    // Round robin ignores the delay: the slow task gets its third.
    assert!(
        (85..=115).contains(&rr.counts[slow]),
        "round robin sent {} of 300 to the slow task",
        rr.counts[slow]
    );
    // Least outstanding requests sends it far fewer, so answers come sooner
    // on average. (Not the total time: when only a few clients are left,
    // every target is idle, ties rotate, and the slow task gets its turn.)
    assert!(
        lor.counts[slow] * 2 < rr.counts[slow],
        "slow task: round robin {} vs least outstanding {}",
        rr.counts[slow],
        lor.counts[slow]
    );
    assert!(lor.latency.mean < rr.latency.mean, "{rr:?} {lor:?}");

    let instance = report.instance.as_deref().expect("in-process emulator");
    assert_eq!(leftover_containers(instance).await, 0);
    let _ = std::fs::remove_dir_all(dir);
}
