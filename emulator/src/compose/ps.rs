//! `ps`: each task of the project's services with its status, health and
//! IP (from its ENI attachment), and the URL of each ALB listener.

use aws_sdk_ecs::types::{DesiredStatus, Task};

use super::translate::Plan;
use super::ComposeError;
use crate::config::Config;
use crate::sdk_client::{describe_tasks, Aws, AwsFailure};

/// One line of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskRow {
    pub service: String,
    pub task_id: String,
    pub revision: String,
    pub last_status: String,
    pub health: String,
    pub ip: String,
}

/// What `ps` shows: the tasks, then the listeners' URLs.
#[derive(Debug, Clone, Default)]
pub struct Status {
    pub tasks: Vec<TaskRow>,
    /// `(service, http://127.0.0.1:PORT/)`, where the listener serves:
    /// `config.listener_port` moves ports below 1024 up by the offset.
    pub urls: Vec<(String, String)>,
}

pub async fn rows(aws: &Aws, plan: &Plan, config: &Config) -> Result<Status, ComposeError> {
    let mut status = Status::default();
    for service in &plan.services {
        let mut tasks =
            service_tasks(aws, &plan.cluster, &service.name, DesiredStatus::Running).await?;
        tasks.sort_by_key(private_ip);
        for task in tasks {
            status.tasks.push(TaskRow {
                service: service.name.clone(),
                task_id: task
                    .task_arn()
                    .and_then(|a| a.rsplit('/').next())
                    .unwrap_or_default()
                    .to_string(),
                revision: task
                    .task_definition_arn()
                    .and_then(|a| a.rsplit('/').next())
                    .unwrap_or_default()
                    .to_string(),
                last_status: task.last_status().unwrap_or_default().to_string(),
                health: task
                    .health_status()
                    .map(|h| h.as_str().to_string())
                    .unwrap_or_default(),
                ip: private_ip(&task).unwrap_or_default(),
            });
        }
        for listener in &service.listeners {
            status.urls.push((
                service.name.clone(),
                format!("http://127.0.0.1:{}/", config.listener_port(listener.port)),
            ));
        }
    }
    Ok(status)
}

pub fn render(status: &Status) -> String {
    let mut out = format!(
        "{:<16} {:<34} {:<18} {:<9} {:<9} {}\n",
        "SERVICE", "TASK", "REVISION", "STATUS", "HEALTH", "IP"
    );
    for t in &status.tasks {
        out.push_str(&format!(
            "{:<16} {:<34} {:<18} {:<9} {:<9} {}\n",
            t.service, t.task_id, t.revision, t.last_status, t.health, t.ip
        ));
    }
    for (service, url) in &status.urls {
        out.push_str(&format!("ALB {url} -> {service}\n"));
    }
    out
}

/// The tasks of one ECS service with the given desired status, described.
pub async fn service_tasks(
    aws: &Aws,
    cluster: &str,
    service: &str,
    status: DesiredStatus,
) -> Result<Vec<Task>, ComposeError> {
    let arns = match aws
        .ecs
        .list_tasks()
        .cluster(cluster)
        .service_name(service)
        .desired_status(status)
        .send()
        .await
    {
        Ok(out) => out.task_arns.unwrap_or_default(),
        Err(e)
            if aws_sdk_ecs::error::ProvideErrorMetadata::code(&e)
                == Some("ServiceNotFoundException") =>
        {
            vec![]
        }
        Err(e) => return Err(ComposeError::aws("ListTasks")(e)),
    };
    Ok(describe_tasks(aws, cluster, &arns).await?)
}

/// The task's private IP, as text.
pub fn private_ip(task: &Task) -> Option<String> {
    crate::sdk_client::private_ip(task).map(|ip| ip.to_string())
}
