//! The dashboard at `GET /`, rendered by a real browser: state created
//! through the AWS SDK (a cluster, a task definition, a service of real
//! sample-app tasks behind an ALB) must show up in the DOM that headless
//! Chromium builds after running the page's script.
//!
//! Needs Debian's `chromium` (the binary `chromium` or `chromium-browser`).
//! Without it the test fails, unless `EMULATOR_SKIP_BROWSER_TESTS=1`.
//! With `DASHBOARD_SCREENSHOT=PATH` it also saves a PNG of the page.

use std::path::PathBuf;
use std::time::Duration;

use tests::{alb, ecs, http_get, unique, wait_until, TestEmulator};

const WAIT: Duration = Duration::from_secs(90);
/// The most a browser run may take.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(90);

/// The Chromium binary on `PATH`, or `None` if the test is to be skipped.
fn chromium() -> Option<PathBuf> {
    let found = ["chromium", "chromium-browser"].iter().find_map(|name| {
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join(name))
                .find(|p| p.is_file())
        })
    });
    if found.is_none() && std::env::var("EMULATOR_SKIP_BROWSER_TESTS").as_deref() == Ok("1") {
        println!("dashboard browser test skipped: EMULATOR_SKIP_BROWSER_TESTS=1 and no chromium");
        return None;
    }
    Some(found.expect(
        "the dashboard test needs headless Chromium: install Debian's `chromium` \
         (apt-get install -y chromium), or set EMULATOR_SKIP_BROWSER_TESTS=1 to skip it",
    ))
}

/// Runs headless Chromium on `url` with `args` (a fresh profile each time,
/// so parallel runs don't share a lock) and returns its standard output.
async fn browse(browser: &PathBuf, url: &str, args: &[&str]) -> String {
    let profile = std::env::temp_dir().join(unique("chromium-profile"));
    let run = tokio::process::Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(url)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(BROWSER_TIMEOUT, run)
        .await
        .expect("chromium finishes within the timeout")
        .expect("chromium starts");
    let _ = std::fs::remove_dir_all(&profile);
    assert!(
        out.status.success(),
        "chromium failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_renders_clusters_services_tasks_and_target_health() {
    let Some(browser) = chromium() else {
        return;
    };
    let emu = TestEmulator::start().await;
    let name = unique("dash");
    let cluster = format!("{name}-cluster");
    emu.ecs
        .create_cluster()
        .cluster_name(&cluster)
        .send()
        .await
        .expect("create cluster");
    let family = format!("{name}-app");
    ecs::register(
        &emu.ecs,
        &family,
        vec![ecs::sample_container("app").build()],
    )
    .await;
    let web = alb::create(&emu.elbv2, &name).await;
    let service = format!("{name}-svc");
    ecs::create_stable_service(
        &emu.ecs,
        &cluster,
        &service,
        &family,
        &web.target_group_arn,
        1,
    )
    .await;
    let ip = wait_until("the task's target is healthy", WAIT, || async {
        let health = alb::target_health(&emu.elbv2, &web.target_group_arn).await;
        match health.as_slice() {
            [(ip, state, _)] if state == "healthy" => Some(ip.clone()),
            _ => None,
        }
    })
    .await;
    for _ in 0..10 {
        let (status, _) = http_get(&web.url()).await.expect("request through the ALB");
        assert_eq!(status, 200);
    }

    let url = format!("{}/", emu.endpoint_url());
    let dom = browse(&browser, &url, &["--dump-dom"]).await;
    let lb_name = format!("{name}-lb");
    let target = format!("{ip}:8080");
    for (what, needle) in [
        ("the cluster name", cluster.as_str()),
        ("the service name", service.as_str()),
        ("the task IP", ip.as_str()),
        ("the load balancer name", lb_name.as_str()),
        ("the target", target.as_str()),
        (
            "the target's health",
            "<span class=\"badge ok\">healthy</span>",
        ),
        ("the rollout state", "COMPLETED"),
        (
            "the task's status",
            "<span class=\"badge ok\">RUNNING</span>",
        ),
        (
            "the listener's bound address",
            &format!("127.0.0.1:{}", web.port),
        ),
        ("the live indicator", "<span class=\"dot on\""),
    ] {
        assert!(
            dom.contains(needle),
            "the rendered dashboard lacks {what} ({needle:?}):\n{dom}"
        );
    }

    // ECS counts on /metrics, labelled by cluster and service.
    let (_, metrics) = http_get(&format!("{}/metrics", emu.endpoint_url()))
        .await
        .unwrap();
    for line in [
        format!("ecs_tasks{{cluster=\"{cluster}\",last_status=\"RUNNING\"}} 1"),
        format!("ecs_service_running_count{{cluster=\"{cluster}\",service=\"{service}\"}} 1"),
        format!("ecs_service_desired_count{{cluster=\"{cluster}\",service=\"{service}\"}} 1"),
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "no {line:?} in\n{metrics}"
        );
    }

    if let Some(path) = std::env::var_os("DASHBOARD_SCREENSHOT") {
        // Three targets sharing live traffic make a more telling picture.
        emu.ecs
            .update_service()
            .cluster(&cluster)
            .service(&service)
            .desired_count(3)
            .send()
            .await
            .expect("scale the service to 3");
        wait_until("three healthy targets", WAIT, || async {
            let health = alb::target_health(&emu.elbv2, &web.target_group_arn).await;
            (health.iter().filter(|(_, s, _)| s == "healthy").count() == 3).then_some(())
        })
        .await;
        // Keep traffic flowing while the browser looks, so rates show.
        let url_alb = web.url();
        let traffic = tokio::spawn(async move {
            for _ in 0..1000 {
                let _ = http_get(&url_alb).await;
                // The pace of the traffic shown, about 50 requests a second.
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
        // Let the rate window fill with that traffic: the screenshot (no
        // assertion) shows rates over a full window.
        tokio::time::sleep(Duration::from_secs(5)).await;
        let path = PathBuf::from(path);
        browse(
            &browser,
            &url,
            &[
                "--window-size=1440,1400",
                "--hide-scrollbars",
                &format!("--screenshot={}", path.display()),
            ],
        )
        .await;
        traffic.abort();
        assert!(path.is_file(), "screenshot written to {}", path.display());
    }

    emu.shutdown().await;
}
