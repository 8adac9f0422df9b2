//! Unit tests of the bench's parsing and arithmetic (no Docker needed).

use super::load::{oha_latencies_ms, parse_oha, parse_wrk};
use super::measure::{busy_share, steal_share, CpuTicks};
use super::process::TempDir;
use super::report::{
    load_cpu_ceiling, median, p50_p95_max, pooled_table, rounds_won, spread, Contender, RoundsWon,
    Sample,
};

#[test]
fn steal_is_a_share_of_every_cpus_time() {
    let ticks = |busy, steal, total| CpuTicks { busy, steal, total };
    let before = [ticks(10, 0, 100), ticks(10, 5, 100)];
    // 100 ticks more on each CPU; 2 and 8 of them stolen.
    let after = [ticks(60, 2, 200), ticks(90, 13, 200)];
    assert!((steal_share(&before, &after) - 0.05).abs() < 1e-9);
    assert!((busy_share(&before, &after, 1) - 0.8).abs() < 1e-9);
    assert_eq!(steal_share(&before, &before), 0.0);
}

#[test]
fn parses_wrk_output() {
    let text = "Running 2s test @ http://127.0.0.1:1/\n  1 threads and 64 connections\n\
        Thread Stats   Avg      Stdev     Max   +/- Stdev\n\
        Latency     1.02ms  200.00us   5.00ms   90.00%\n\
        Latency Distribution\n     50%  486.00us\n     75%    1.00ms\n     90%    1.50ms\n     99%    2.50ms\n\
        120000 requests in 2.00s, 20.00MB read\n\
        Socket errors: connect 1, read 2, write 0, timeout 3\n\
        Non-2xx or 3xx responses: 4\n\
        Requests/sec:  60000.50\nTransfer/sec:     10.00MB\n";
    let s = parse_wrk(text).unwrap();
    assert_eq!(s.requests, 120_000);
    assert_eq!(s.errors, 10);
    assert!((s.rps - 60000.5).abs() < 1e-6);
    assert!((s.p50_ms - 0.486).abs() < 1e-9);
    assert!((s.p99_ms - 2.5).abs() < 1e-9);
}

#[test]
fn parses_oha_json() {
    let text = r#"{"summary":{"requestsPerSec":1000.5},"latencyPercentiles":{"p50":0.001,"p99":0.004},
        "statusCodeDistribution":{"200":990,"502":10},"errorDistribution":{"aborted due to deadline":5,"connection reset":2}}"#;
    let s = parse_oha(text).unwrap();
    assert_eq!(s.requests, 1000);
    assert_eq!(s.errors, 12);
    assert!((s.p99_ms - 4.0).abs() < 1e-9);
}

#[test]
fn nearest_rank_percentiles() {
    let values: Vec<f64> = (1..=20).rev().map(f64::from).collect();
    assert_eq!(p50_p95_max(values), (10.0, 19.0, 20.0));
    assert_eq!(p50_p95_max(vec![3.0]), (3.0, 3.0, 3.0));
}

#[test]
fn rounds_won_counts_strict_wins_per_round() {
    let round = |rps: f64, p99_ms: f64| Sample {
        rps,
        p99_ms,
        ..Sample::default()
    };
    let alb = [round(100.0, 2.0), round(90.0, 1.0), round(80.0, 3.0)];
    let peer = [round(90.0, 2.0), round(95.0, 1.5), round(80.0, 2.5)];
    assert_eq!(
        RoundsWon::count(&alb, &peer),
        RoundsWon {
            rounds: 3,
            more_rps: 1,
            lower_p99: 1
        }
    );
    let contenders = vec![
        Contender {
            wrk: alb.to_vec(),
            ..Contender::new("alb", String::new(), Some(1))
        },
        Contender {
            wrk: peer.to_vec(),
            ..Contender::new("haproxy", String::new(), Some(2))
        },
        Contender {
            wrk: peer.to_vec(),
            ..Contender::new("direct", String::new(), None)
        },
    ];
    assert_eq!(
        rounds_won(&contenders, |c| &c.wrk, true),
        "\nRound by round, the ALB against haproxy: more req/s in 1 of 3, \
         lower p99 in 1 of 3 (a tie is not a win).\n"
    );
    assert_eq!(
        rounds_won(&contenders, |c| &c.wrk, false),
        "\nRound by round, the ALB against haproxy: lower p99 in 1 of 3 (a tie is not a win).\n"
    );
}

#[test]
fn load_cpu_ceiling_needs_every_proxy_at_it() {
    let busy = |load: f64| Sample {
        busy: Some((0.9, load)),
        ..Sample::default()
    };
    let proxies = |alb_load: f64| {
        vec![
            Contender {
                wrk: vec![busy(alb_load), busy(0.97), busy(alb_load)],
                ..Contender::new("alb", String::new(), Some(1))
            },
            Contender {
                wrk: vec![busy(0.96)],
                ..Contender::new("haproxy", String::new(), Some(2))
            },
            // `direct` has no proxy process: its load is not counted.
            Contender {
                wrk: vec![busy(0.5)],
                ..Contender::new("direct", String::new(), None)
            },
        ]
    };
    let warning = load_cpu_ceiling(&proxies(0.98), |c| &c.wrk);
    assert!(warning.contains("CPU 1"), "{warning}");
    assert!(warning.contains("at least 90 % busy"), "{warning}");
    assert_eq!(load_cpu_ceiling(&proxies(0.85), |c| &c.wrk), "");
    assert_eq!(load_cpu_ceiling(&proxies(0.98)[..1], |c| &c.wrk), "");
}

#[test]
fn pooled_percentiles_span_every_round() {
    let round = |latencies_ms: Vec<f64>| Sample {
        latencies_ms,
        ..Sample::default()
    };
    // 1..=1000 ms split over two rounds, out of order.
    let (low, high): (Vec<f64>, Vec<f64>) = (1..=1000)
        .map(f64::from)
        .rev()
        .partition(|v| v % 2.0 == 0.0);
    let contenders = vec![
        Contender {
            oha: vec![round(low), round(high)],
            ..Contender::new("alb", String::new(), Some(1))
        },
        // wrk-only contender: no latencies, no row.
        Contender::new("direct", String::new(), None),
    ];
    assert_eq!(
        pooled_table(&contenders, |c| &c.oha),
        "| contender | requests | p50 ms | p90 ms | p99 ms | p99.9 ms |\n\
         |---|---|---|---|---|---|\n\
         | alb | 1000 | 500.000 | 900.000 | 990.000 | 999.000 |\n"
    );
    assert_eq!(pooled_table(&contenders, |c| &c.wrk), "");
}

#[test]
fn reads_latencies_from_an_oha_database() {
    let tmp = TempDir::new("fe-bench-test-oha-db").unwrap();
    let db = tmp.path.join("oha.db");
    let conn = rusqlite::Connection::open(&db).unwrap();
    // oha 1.16's schema (src/db.rs).
    conn.execute_batch(
        "CREATE TABLE oha (url TEXT NOT NULL, start REAL NOT NULL, \
         start_latency_correction REAL, end REAL NOT NULL, duration REAL NOT NULL, \
         status INTEGER NOT NULL, len_bytes INTEGER NOT NULL, run INTEGER NOT NULL);
         INSERT INTO oha VALUES ('/', 0.1, 0.09, 0.1005, 0.0015, 200, 87, 1);
         INSERT INTO oha VALUES ('/', 0.2, NULL, 0.20025, 0.00025, 502, 0, 1);",
    )
    .unwrap();
    drop(conn);
    let got = oha_latencies_ms(&db).unwrap();
    assert_eq!(got.len(), 2);
    assert!(
        (got[0] - 1.5).abs() < 1e-9 && (got[1] - 0.25).abs() < 1e-9,
        "{got:?}"
    );
    assert!(oha_latencies_ms(&tmp.path.join("missing.db")).is_err());
}

// The XML, form-encoding and chunked-body helpers this test also covered
// are gone: the AWS SDK and hyper do that work now.
#[test]
fn medians_and_spread() {
    assert_eq!(median([3.0, 1.0, 2.0].into_iter()), 2.0);
    assert_eq!(median([4.0, 1.0].into_iter()), 2.5);
    assert_eq!(spread(&[1.0, 3.0, 2.0], 0), "2 (1-3)");
}
