//! Whether the service is steady and the instance leaks no container.

use super::engine::instance_containers;
use super::*;

impl Soak {
    /// Steady again (recorded), then no container of the instance belongs to
    /// a stopped or unknown task once a grace period passed.
    pub(super) async fn settle(&mut self, after: &str) {
        let start = self.journal.now();
        match self.wait_steady(None, SETTLE_DEADLINE).await {
            Ok(()) => self.journal.event(start, EventKind::Settled),
            Err(why) => self.journal.problem(
                start,
                format!("not steady {SETTLE_DEADLINE:?} after {after}: {why}"),
            ),
        }
        let deadline = Instant::now() + LEAK_GRACE;
        loop {
            let orphans = match self.orphans().await {
                Ok(o) => o,
                Err(e) => {
                    self.journal
                        .problem(start, format!("cannot check for leaked containers: {e:#}"));
                    return;
                }
            };
            if orphans.is_empty() {
                return;
            }
            if Instant::now() >= deadline {
                self.leaked_max = self.leaked_max.max(orphans.len());
                self.journal.problem(
                    start,
                    format!(
                        "{} containers of no live task {LEAK_GRACE:?} after steady: {}",
                        orphans.len(),
                        orphans.join(", ")
                    ),
                );
                return;
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The instance's containers whose task is STOPPED or unknown (names).
    pub(super) async fn orphans(&self) -> Result<Vec<String>> {
        let containers = instance_containers(&self.instance).await?;
        let task_of = |c: &bollard::models::ContainerSummary| {
            c.labels
                .as_ref()
                .and_then(|l| l.get(emulator::runtime::docker::LABEL_TASK_ARN).cloned())
        };
        let mut arns: Vec<String> = containers.iter().filter_map(task_of).collect();
        arns.sort();
        arns.dedup();
        let mut live = std::collections::HashSet::new();
        for chunk in arns.chunks(100) {
            let described = self
                .ecs
                .describe_tasks()
                .cluster(&self.cluster)
                .set_tasks(Some(chunk.to_vec()))
                .send()
                .await
                .context("describe tasks")?;
            live.extend(
                described
                    .tasks()
                    .iter()
                    .filter(|t| t.last_status() != Some("STOPPED"))
                    .filter_map(|t| t.task_arn().map(str::to_string)),
            );
        }
        Ok(containers
            .iter()
            .filter(|c| task_of(c).is_none_or(|arn| !live.contains(&arn)))
            .map(|c| {
                c.names
                    .as_ref()
                    .and_then(|n| n.first().cloned())
                    .or_else(|| c.id.clone())
                    .unwrap_or_default()
            })
            .collect())
    }

    /// The service's tasks with desired status RUNNING that are RUNNING.
    pub(super) async fn live_tasks(&self) -> Result<Vec<Live>> {
        let arns = self
            .ecs
            .list_tasks()
            .cluster(&self.cluster)
            .service_name(&self.service)
            .desired_status(DesiredStatus::Running)
            .send()
            .await
            .context("list tasks")?
            .task_arns()
            .to_vec();
        if arns.is_empty() {
            return Ok(vec![]);
        }
        let described = self
            .ecs
            .describe_tasks()
            .cluster(&self.cluster)
            .set_tasks(Some(arns))
            .send()
            .await
            .context("describe tasks")?;
        Ok(described
            .tasks()
            .iter()
            .filter(|t| t.last_status() == Some("RUNNING"))
            .filter_map(|t| {
                Some(Live {
                    arn: t.task_arn()?.to_string(),
                    ip: t
                        .attachments()
                        .iter()
                        .flat_map(|a| a.details())
                        .find(|d| d.name() == Some("privateIPv4Address"))?
                        .value()?
                        .to_string(),
                    task_definition: t.task_definition_arn()?.to_string(),
                })
            })
            .collect())
    }

    /// Polls [`Self::steady`] until it holds; the last reason when not.
    pub(super) async fn wait_steady(
        &self,
        task_definition: Option<&str>,
        within: Duration,
    ) -> std::result::Result<(), String> {
        let deadline = Instant::now() + within;
        loop {
            let why = match self.steady(task_definition).await {
                Ok(None) => return Ok(()),
                Ok(Some(why)) => why,
                Err(e) => format!("{e:#}"),
            };
            if Instant::now() >= deadline {
                return Err(why);
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// `None` when the service is steady: one deployment (of
    /// `task_definition`, if given), [`TASKS`] tasks RUNNING on it and no
    /// other, and exactly their IPs healthy in the target group; else why not.
    pub(super) async fn steady(&self, task_definition: Option<&str>) -> Result<Option<String>> {
        let out = self
            .ecs
            .describe_services()
            .cluster(&self.cluster)
            .services(&self.service)
            .send()
            .await
            .context("describe services")?;
        let Some(service) = out.services().first() else {
            return Ok(Some("service missing".into()));
        };
        let deployments = service.deployments();
        let primary = deployments
            .iter()
            .find(|d| d.status() == Some("PRIMARY"))
            .and_then(|d| d.task_definition())
            .unwrap_or_default()
            .to_string();
        if deployments.len() != 1 || task_definition.is_some_and(|td| td != primary) {
            return Ok(Some(format!(
                "{} deployments, primary {primary}",
                deployments.len()
            )));
        }
        let tasks = self.live_tasks().await?;
        if tasks.len() != TASKS as usize
            || service.running_count() != TASKS
            || service.pending_count() != 0
            || tasks.iter().any(|t| t.task_definition != primary)
        {
            return Ok(Some(format!(
                "{} tasks running on {primary} or not (service: running {}, pending {})",
                tasks.len(),
                service.running_count(),
                service.pending_count()
            )));
        }
        let mut healthy: Vec<String> =
            tests::alb::target_health(&self.elbv2, &self.alb.target_group_arn)
                .await
                .into_iter()
                .filter(|(_, state, _)| state == "healthy")
                .map(|(ip, _, _)| ip)
                .collect();
        let mut ips: Vec<String> = tasks.into_iter().map(|t| t.ip).collect();
        healthy.sort();
        ips.sort();
        if healthy != ips {
            return Ok(Some(format!(
                "healthy targets {healthy:?}, running tasks {ips:?}"
            )));
        }
        Ok(None)
    }
}
