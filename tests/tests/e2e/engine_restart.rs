//! The Docker engine stopped and started again under a running emulator:
//! the API keeps answering while it is down, the tasks whose containers
//! died with it stop, and the service is back to its healthy count behind
//! the ALB, without the emulator restarting.
//!
//! Ignored in the normal run: stopping the engine breaks every other test
//! running at the time. `cargo xtask test` runs it alone after the suite.

use std::collections::BTreeSet;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use tests::wait_until;
use tests::web::{web_service, WAIT};

/// The local `dockerd`: its pid and command line, to start it again as it was.
struct Engine {
    pid: u32,
    command: Vec<String>,
}

impl Engine {
    fn find() -> Self {
        let out = Command::new("pidof")
            .arg("dockerd")
            .output()
            .expect("run pidof");
        let pid: u32 = String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .next()
            .and_then(|p| p.parse().ok())
            .expect("a local dockerd process (this test needs the engine on this machine)");
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
        let command = cmdline
            .split(|b| *b == 0)
            .filter(|part| !part.is_empty())
            .map(|part| String::from_utf8_lossy(part).into_owned())
            .collect();
        Self { pid, command }
    }

    async fn stop(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let proc_dir = format!("/proc/{}", self.pid);
        wait_until("dockerd exits", Duration::from_secs(60), || {
            let gone = !std::path::Path::new(&proc_dir).exists();
            async move { gone.then_some(()) }
        })
        .await;
    }

    /// Starts dockerd again in its own process group (it outlives the test).
    async fn start(&self) {
        let log =
            std::fs::File::create(std::env::temp_dir().join("engine-restart-dockerd.log")).unwrap();
        // Not waited for: dockerd is a daemon that outlives the test.
        #[allow(clippy::zombie_processes)]
        Command::new(&self.command[0])
            .args(&self.command[1..])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .process_group(0)
            .spawn()
            .expect("start dockerd again");
        wait_until("the engine answers", Duration::from_secs(90), || async {
            let ok = Command::new("docker")
                .args(["info", "--format", "{{.ServerVersion}}"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            ok.then_some(())
        })
        .await;
    }
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "stops the Docker engine; cargo xtask test runs it alone after the suite"]
async fn the_engine_restarting_is_survived() {
    let web = web_service(2).await;
    let before: BTreeSet<String> = web
        .tasks()
        .await
        .iter()
        .map(|t| t.task_arn().unwrap().to_string())
        .collect();
    assert_eq!(before.len(), 2);

    let engine = Engine::find();
    engine.stop().await;
    // The control API answers while the engine is down.
    let service = web.service().await;
    assert_eq!(service.desired_count(), 2);
    web.emu.ecs.list_clusters().send().await.unwrap();
    engine.start().await;

    // The old tasks died with the engine: they stop...
    wait_until("the old tasks stop", WAIT, || async {
        let tasks = tests::ecs::describe(
            &web.emu.ecs,
            "default",
            &before.iter().cloned().collect::<Vec<_>>(),
        )
        .await;
        tasks
            .iter()
            .all(|t| t.last_status() == Some("STOPPED"))
            .then_some(())
    })
    .await;
    // ...and new ones take their place, healthy behind the same listener.
    wait_until("two new healthy tasks serve", WAIT, || async {
        let running: BTreeSet<String> = web
            .tasks()
            .await
            .iter()
            .filter(|t| t.last_status() == Some("RUNNING"))
            .map(tests::ecs::private_ip)
            .collect();
        let healthy: BTreeSet<String> = web.healthy_target_ips().await.into_iter().collect();
        let served = matches!(tests::http_get(&web.alb.url()).await, Ok((200, _)));
        (running.len() == 2 && healthy == running && served).then_some(())
    })
    .await;
    let now: BTreeSet<String> = web
        .tasks()
        .await
        .iter()
        .filter(|t| t.last_status() == Some("RUNNING"))
        .map(|t| t.task_arn().unwrap().to_string())
        .collect();
    assert!(now.is_disjoint(&before), "{now:?} {before:?}");
    web.emu.shutdown().await;
}
