//! The faults the chaos injects: a killed container, a deployment, an
//! emulator crash and restart.

use super::engine::docker;
use super::*;

impl Soak {
    /// `docker kill` of a random running task's app container or sandbox;
    /// when it was killed and the task's ARN.
    pub(super) async fn kill(&mut self) -> Result<Option<(Duration, String)>> {
        let tasks = self.live_tasks().await?;
        if tasks.is_empty() {
            self.journal
                .problem(self.journal.now(), "no running task to kill".into());
            return Ok(None);
        }
        let victim = &tasks[self.rng.gen_range(0..tasks.len())];
        let network_holder = self.rng.gen_bool(0.5);
        let containers = tests::task_containers(&victim.arn).await;
        let id = containers
            .iter()
            .filter(|c| c.state.as_ref().map(|s| s.to_string()).as_deref() == Some("running"))
            .find(|c| {
                let name = c.labels.as_ref().and_then(|l| {
                    l.get(emulator::runtime::docker::LABEL_CONTAINER_NAME)
                        .cloned()
                });
                match network_holder {
                    true => name.is_none(),
                    false => name.as_deref() == Some("app"),
                }
            })
            .and_then(|c| c.id.clone());
        let task = victim
            .arn
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_string();
        let Some(id) = id else {
            eprintln!("soak: task {task} has no running container to kill; skipped");
            return Ok(None);
        };
        let start = self.journal.now();
        let killed = docker()
            .await?
            .kill_container(&id, None::<bollard::query_parameters::KillContainerOptions>)
            .await;
        match killed {
            Ok(()) if network_holder => self
                .journal
                .event(start, EventKind::KillNetworkHolder { task }),
            Ok(()) => self.journal.event(start, EventKind::KillApp { task }),
            // It ended on its own in between (the task was stopping).
            Err(e) => {
                eprintln!("soak: docker kill {id} failed: {e}; skipped");
                return Ok(None);
            }
        }
        Ok(Some((start, victim.arn.clone())))
    }

    /// Until the killed task is no longer RUNNING (recorded from the kill's
    /// `start`): before, the service looks steady still.
    pub(super) async fn wait_stopped(&self, start: Duration, arn: &str) {
        let deadline = Instant::now() + SETTLE_DEADLINE;
        while Instant::now() < deadline {
            let described = self
                .ecs
                .describe_tasks()
                .cluster(&self.cluster)
                .tasks(arn)
                .send()
                .await;
            let status = described.ok().and_then(|d| {
                d.tasks()
                    .first()
                    .and_then(|t| t.last_status().map(str::to_string))
            });
            if status.is_some_and(|s| s != "RUNNING") {
                let task = arn.rsplit('/').next().unwrap_or_default().to_string();
                self.journal.event(start, EventKind::Unnoticed { task });
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.journal.problem(
            start,
            format!("the killed task {arn} is still RUNNING after {SETTLE_DEADLINE:?}"),
        );
    }

    /// Registers the next revision (another APP_VERSION); its ARN.
    pub(super) async fn register_next(&mut self) -> Result<String> {
        self.version += 1;
        let app = tests::ecs::sample_container("app")
            .environment(tests::ecs::env(
                "APP_VERSION",
                &format!("v{}", self.version),
            ))
            .build();
        Ok(tests::ecs::register(&self.ecs, &self.family, vec![app]).await)
    }

    /// UpdateService to a new revision, until only its tasks serve.
    pub(super) async fn deploy(&mut self) -> Result<()> {
        let start = self.journal.now();
        let arn = self.register_next().await?;
        let revision = arn
            .rsplit(':')
            .next()
            .and_then(|r| r.parse().ok())
            .unwrap_or(0);
        self.ecs
            .update_service()
            .cluster(&self.cluster)
            .service(&self.service)
            .task_definition(&arn)
            .send()
            .await
            .context("update service")?;
        let rolled = self.wait_steady(Some(&arn), DEPLOY_DEADLINE).await;
        self.journal.event(
            start,
            EventKind::Deployment {
                revision,
                done: rolled.is_ok(),
            },
        );
        if let Err(why) = rolled {
            self.journal.problem(
                start,
                format!("the deployment to revision {revision} did not finish in {DEPLOY_DEADLINE:?}: {why}"),
            );
        }
        Ok(())
    }

    /// `kill -9` of the emulator, a restart on the same state directory and
    /// port, and the listener answering again. Losing the service ends the
    /// run (an error), with the reason recorded.
    pub(super) async fn restart(&mut self, emu: &mut EmulatorProcess) -> Result<()> {
        let start = self.journal.now();
        self.pid.store(0, Relaxed);
        emu.crash();
        emu.restart().await;
        self.pid.store(emu.pid().unwrap_or(0), Relaxed);
        self.process.store(1, Relaxed);
        let deadline = Instant::now() + RESTART_DEADLINE;
        let url = self.alb.url();
        let back = loop {
            if matches!(tests::http_get(&url).await, Ok((200, _))) {
                break true;
            }
            if Instant::now() >= deadline {
                break false;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        if back {
            self.journal
                .event(start, EventKind::EmulatorDown { back: true });
            let up = self.journal.now();
            self.rss_baseline_from = up + RSS_WARMUP.min(self.length.saturating_sub(up) / 2);
            return Ok(());
        }
        let (lost, why) = self.what_the_restart_lost().await;
        // Whatever fails from here on is downtime: stop the load first, so
        // the downtime window covers every request.
        self.stop_load().await;
        self.journal
            .event(start, EventKind::EmulatorDown { back: false });
        self.journal
            .problem(start, format!("after restart: {lost} ({why})"));
        anyhow::bail!("after restart: {lost}")
    }

    /// What the restart lost, and why the listener does not answer.
    pub(super) async fn what_the_restart_lost(&self) -> (String, String) {
        let services = self
            .ecs
            .describe_services()
            .cluster(&self.cluster)
            .services(&self.service)
            .send()
            .await;
        let service = match services {
            Err(e) => {
                use aws_sdk_ecs::error::ProvideErrorMetadata;
                let lost = match e.code() {
                    Some("ClusterNotFoundException") => "cluster and service missing",
                    _ => "the service cannot be described",
                };
                return (
                    lost.to_string(),
                    format!(
                        "the state was not restored? DescribeServices: {}; the listener on port {} does not answer",
                        e.code().or(e.message()).unwrap_or("no error code"),
                        self.alb.port
                    ),
                );
            }
            Ok(out) => out
                .services()
                .iter()
                .find(|s| s.status() == Some("ACTIVE"))
                .cloned(),
        };
        let Some(service) = service else {
            return (
                "service missing".to_string(),
                format!(
                    "the state was not restored? the listener on port {} does not answer",
                    self.alb.port
                ),
            );
        };
        let listeners = self
            .elbv2
            .describe_listeners()
            .load_balancer_arn(&self.alb.load_balancer_arn)
            .send()
            .await
            .map(|l| l.listeners().len());
        (
            "the listener does not answer".to_string(),
            format!(
                "service there, running {} of {}; port {}, {RESTART_DEADLINE:?} after the \
                 restart; listeners of the ALB: {listeners:?}",
                service.running_count(),
                service.desired_count(),
                self.alb.port
            ),
        )
    }
}
