//! Unit tests of the soak report.

use super::*;

fn s(secs: f64) -> Duration {
    Duration::from_secs_f64(secs)
}

fn req(start: f64, end: f64, outcome: Outcome) -> Request {
    Request {
        start: s(start),
        end: s(end),
        outcome,
    }
}

fn event(start: f64, end: f64, kind: EventKind) -> Event {
    Event {
        window: Window {
            start: s(start),
            end: s(end),
        },
        kind,
    }
}

fn events() -> Vec<Event> {
    vec![
        event(10.0, 10.01, EventKind::KillApp { task: "a".into() }),
        event(20.0, 23.0, EventKind::EmulatorDown { back: true }),
        event(
            21.0,
            21.01,
            EventKind::KillNetworkHolder { task: "b".into() },
        ),
        event(30.0, 40.0, EventKind::Settled),
    ]
}

#[test]
fn a_failure_spanning_a_kill_is_in_flight_and_one_after_it_is_beyond() {
    let e = events();
    let err = || Outcome::Error("reset".into());
    assert_eq!(
        classify(&req(9.9, 10.005, err()), &e),
        FailureClass::InFlightAtKill
    );
    assert_eq!(
        classify(&req(10.005, 10.2, Outcome::Status(502)), &e),
        FailureClass::InFlightAtKill
    );
    assert_eq!(classify(&req(10.02, 10.2, err()), &e), FailureClass::Beyond);
    assert_eq!(classify(&req(9.0, 9.9, err()), &e), FailureClass::Beyond);
    // A settle is no excuse.
    assert_eq!(classify(&req(35.0, 35.1, err()), &e), FailureClass::Beyond);
}

#[test]
fn failures_overlapping_the_downtime_count_as_downtime_even_at_a_kill() {
    let e = events();
    let err = || Outcome::Error("refused".into());
    assert_eq!(
        classify(&req(19.9, 20.1, err()), &e),
        FailureClass::Downtime
    );
    assert_eq!(
        classify(&req(21.0, 21.0, err()), &e),
        FailureClass::Downtime
    );
    assert_eq!(
        classify(&req(22.9, 23.5, err()), &e),
        FailureClass::Downtime
    );
    assert_eq!(classify(&req(23.1, 23.5, err()), &e), FailureClass::Beyond);
}

#[test]
fn rss_growth_is_measured_on_the_last_process_after_the_warm_up() {
    let sample = |at: f64, kib, process| RssSample {
        at: s(at),
        kib,
        anon_kib: 0,
        threads: 0,
        process,
    };
    let samples = [
        sample(1.0, 500, 0),
        sample(50.0, 900, 0),
        sample(60.0, 100, 1),
        sample(70.0, 200, 1),
        sample(80.0, 190, 1),
        sample(90.0, 210, 1),
    ];
    let rss = RssGrowth::measure(&samples, s(65.0)).unwrap();
    assert_eq!(
        (rss.baseline_kib, rss.final_kib, rss.min_kib, rss.max_kib),
        (200, 210, 190, 210)
    );
    assert!((rss.percent() - 5.0).abs() < 1e-9);
    assert_eq!(RssGrowth::measure(&samples, s(85.0)), None);
    assert_eq!(RssGrowth::measure(&[], s(0.0)), None);
}

#[test]
fn rss_growth_compares_levels_so_a_burst_is_not_growth_but_a_raised_end_is() {
    let series = |level: &dyn Fn(u64) -> u64| -> Vec<RssSample> {
        (0..=600)
            .step_by(2)
            .map(|t| RssSample {
                at: s(t as f64),
                kib: level(t),
                anon_kib: 0,
                threads: 0,
                process: 0,
            })
            .collect()
    };
    // A burst mid-run, and one sample high at the very end.
    let bursty = series(&|t| match t {
        300..=330 | 600 => 1500,
        _ => 1000,
    });
    let rss = RssGrowth::measure(&bursty, s(0.0)).unwrap();
    assert_eq!(
        (rss.baseline_kib, rss.final_kib, rss.max_kib),
        (1000, 1000, 1500)
    );
    // A slow leak: the last minute sits 20 % above the first.
    let leaking = series(&|t| 1000 + t / 3);
    let rss = RssGrowth::measure(&leaking, s(0.0)).unwrap();
    assert_eq!((rss.baseline_kib, rss.final_kib), (1010, 1190));
    assert!(rss.percent() > 10.0);
}

fn passing_run() -> Run {
    let sample = |at: f64, kib| RssSample {
        at: s(at),
        kib,
        anon_kib: kib / 2,
        threads: 9,
        process: 1,
    };
    Run {
        minutes: 3.0,
        seed: 7,
        rate: 50,
        profile: "dev".into(),
        requests: vec![
            req(1.0, 1.01, Outcome::Status(200)),
            req(9.99, 10.0, Outcome::Status(502)),
            req(20.5, 20.5, Outcome::Error("refused".into())),
        ],
        events: events(),
        rss: vec![sample(100.0, 1000), sample(170.0, 1050)],
        rss_baseline_from: s(90.0),
        left_after_stop: Some((0, 0)),
        ..Run::default()
    }
}

#[test]
fn the_rss_csv_has_a_row_per_sample() {
    assert_eq!(
        passing_run().rss_csv(),
        "seconds,process,kib,anon_kib,threads\n100.0,1,1000,500,9\n170.0,1,1050,525,9\n"
    );
}

#[test]
fn a_run_passes_only_when_every_figure_does() {
    let run = passing_run();
    assert_eq!(run.verdict(), Vec::<String>::new());
    let f = run.figures();
    assert_eq!(
        (f.total, f.failed, f.in_flight_at_kill, f.downtime, f.beyond),
        (3, 2, 1, 1, 0)
    );
    let report = run.markdown();
    assert!(report.contains("| Result | PASS |"), "{report}");
    assert!(
        report.contains(
            "| Failures by outcome | HTTP 502: 1 (up to 0.0 s); refused: 1 (up to 0.0 s) |"
        ),
        "{report}"
    );
    assert!(
        report.contains("| Slowest successes | 10 ms at 1.0 s |"),
        "{report}"
    );

    let mut beyond = passing_run();
    beyond.requests.push(req(50.0, 50.1, Outcome::Status(503)));
    beyond
        .events
        .push(event(10.0, 10.3, EventKind::Unnoticed { task: "a".into() }));
    beyond.requests.push(req(10.2, 15.2, Outcome::Status(504)));
    assert_eq!(beyond.verdict(), vec!["2 failures beyond in-flight"]);
    assert_eq!(beyond.figures().beyond_unnoticed, 1);
    let report = beyond.markdown();
    assert!(report.contains("| Result | FAIL |"), "{report}");
    assert!(report.contains("50.000-50.100 s: HTTP 503"), "{report}");

    let mut leaked = passing_run();
    leaked.left_after_stop = Some((2, 1));
    leaked.leaked_during_run = 1;
    assert_eq!(leaked.verdict().len(), 2);

    let mut grown = passing_run();
    grown.rss[1].kib = 1100;
    assert_eq!(grown.verdict(), vec!["RSS grew 10.0 %"]);

    let mut lost = passing_run();
    lost.events.push(event(
        60.0,
        60.0,
        EventKind::Problem("after restart: service missing".into()),
    ));
    lost.aborted = Some("the restart lost the service".into());
    assert_eq!(lost.verdict().len(), 2);
    assert!(lost.markdown().contains("after restart: service missing"));
}
