//! `down`: deletes what `up` created for a project, found by the
//! `compose-project` tag (and the project's names), and nothing else:
//! services (forced, until INACTIVE with their tasks stopped), the load
//! balancer with its listeners, the target groups, the Cloud Map namespace
//! and its services, the task-definition revisions (deregistered), the log
//! group and the cluster.

use std::future::Future;

use aws_sdk_ecs::error::ProvideErrorMetadata;
use aws_sdk_ecs::types::{ClusterField, DesiredStatus, ServiceField, TaskDefinitionField};

use super::apply::POLL;
use super::translate::PROJECT_TAG;
use super::ComposeError;
use crate::console::Console;
use crate::domain::ecs::{ClusterStatus, TaskStatus};
use crate::sdk_client::{
    cluster_in_use, describe_tasks, poll_until, task_arns, Aws, AwsFailure, Check,
};

pub async fn down(
    aws: &Aws,
    project: &str,
    console: &Console,
    timeout: std::time::Duration,
) -> Result<(), ComposeError> {
    let deadline = tokio::time::Instant::now() + timeout;
    let cluster = project;
    let ours = |tags: &[aws_sdk_ecs::types::Tag]| {
        tags.iter()
            .any(|t| t.key() == Some(PROJECT_TAG) && t.value() == Some(project))
    };

    // Services first: their tasks leave the target groups and Cloud Map.
    let cluster_active = aws
        .ecs
        .describe_clusters()
        .clusters(cluster)
        .include(ClusterField::Tags)
        .send()
        .await
        .map_err(ComposeError::aws("DescribeClusters"))?
        .clusters()
        .iter()
        .find(|c| c.status() == Some(ClusterStatus::Active.as_str()))
        .map(|c| ours(c.tags()));
    if cluster_active.is_some() {
        let arns = aws
            .ecs
            .list_services()
            .cluster(cluster)
            .send()
            .await
            .map_err(ComposeError::aws("ListServices"))?
            .service_arns
            .unwrap_or_default();
        for chunk in arns.chunks(10) {
            let services = aws
                .ecs
                .describe_services()
                .cluster(cluster)
                .set_services(Some(chunk.to_vec()))
                .include(ServiceField::Tags)
                .send()
                .await
                .map_err(ComposeError::aws("DescribeServices"))?
                .services
                .unwrap_or_default();
            for service in services.iter().filter(|s| ours(s.tags())) {
                let name = service.service_name().unwrap_or_default();
                aws.ecs
                    .delete_service()
                    .cluster(cluster)
                    .service(name)
                    .force(true)
                    .send()
                    .await
                    .map_err(ComposeError::aws("DeleteService"))?;
                console.step(&format!("DeleteService {name}"));
            }
        }
        let spinner = console.spinner("waiting for the services' tasks to stop");
        until(deadline, "the services' tasks to stop", || async {
            let running = task_arns(aws, cluster, DesiredStatus::Running).await?;
            let stopped = task_arns(aws, cluster, DesiredStatus::Stopped).await?;
            let stopping = describe_tasks(aws, cluster, &stopped)
                .await?
                .iter()
                .filter(|t| t.last_status() != Some(TaskStatus::Stopped.as_str()))
                .count();
            let services_left = aws
                .ecs
                .list_services()
                .cluster(cluster)
                .send()
                .await
                .map_err(ComposeError::aws("ListServices"))?
                .service_arns
                .unwrap_or_default()
                .len();
            Ok(running.is_empty() && stopping == 0 && services_left == 0)
        })
        .await?;
        spinner.finish_and_clear();
    }

    delete_load_balancing(aws, project, console, deadline).await?;
    delete_namespace(aws, project, console, deadline).await?;

    // Task-definition revisions of the project's families.
    let mut next_token = None;
    loop {
        let page = aws
            .ecs
            .list_task_definitions()
            .family_prefix(format!("{project}-"))
            .set_next_token(next_token)
            .send()
            .await
            .map_err(ComposeError::aws("ListTaskDefinitions"))?;
        for arn in page.task_definition_arns() {
            let described = aws
                .ecs
                .describe_task_definition()
                .task_definition(arn)
                .include(TaskDefinitionField::Tags)
                .send()
                .await
                .map_err(ComposeError::aws("DescribeTaskDefinition"))?;
            if ours(described.tags()) {
                aws.ecs
                    .deregister_task_definition()
                    .task_definition(arn)
                    .send()
                    .await
                    .map_err(ComposeError::aws("DeregisterTaskDefinition"))?;
                console.step(&format!(
                    "DeregisterTaskDefinition {}",
                    arn.rsplit('/').next().unwrap_or(arn)
                ));
            }
        }
        next_token = page.next_token;
        if next_token.is_none() {
            break;
        }
    }

    delete_log_group(aws, project, console).await?;

    if cluster_active == Some(true) {
        until(deadline, "the cluster to be deletable", || async {
            match aws.ecs.delete_cluster().cluster(cluster).send().await {
                Ok(_) => Ok(true),
                Err(e) if cluster_in_use(&e) => Ok(false),
                Err(e) => Err(ComposeError::aws("DeleteCluster")(e)),
            }
        })
        .await?;
        console.step(&format!("DeleteCluster {cluster}"));
    }
    Ok(())
}

/// Polls `check` until it says done, or fails at the deadline waiting for `what`.
async fn until<F, Fut>(
    deadline: tokio::time::Instant,
    what: &str,
    mut check: F,
) -> Result<(), ComposeError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<bool, ComposeError>>,
{
    let check = || {
        let done = check();
        async move {
            Ok(if done.await? {
                Check::Done(())
            } else {
                Check::NotYet(what.to_string())
            })
        }
    };
    poll_until(deadline, POLL, check, ComposeError::Timeout).await
}

/// The ELBv2 resources among `arns` that carry the project's tag.
async fn tagged_elb(
    aws: &Aws,
    project: &str,
    arns: Vec<String>,
) -> Result<Vec<String>, ComposeError> {
    let mut tagged = vec![];
    // DescribeTags takes at most 20 resources.
    for chunk in arns.chunks(20) {
        let out = aws
            .elbv2
            .describe_tags()
            .set_resource_arns(Some(chunk.to_vec()))
            .send()
            .await
            .map_err(ComposeError::aws("DescribeTags"))?;
        tagged.extend(
            out.tag_descriptions()
                .iter()
                .filter(|d| {
                    d.tags()
                        .iter()
                        .any(|t| t.key() == Some(PROJECT_TAG) && t.value() == Some(project))
                })
                .filter_map(|d| d.resource_arn().map(str::to_string)),
        );
    }
    Ok(tagged)
}

/// The project's load balancers (with their listeners), then its target groups.
async fn delete_load_balancing(
    aws: &Aws,
    project: &str,
    console: &Console,
    deadline: tokio::time::Instant,
) -> Result<(), ComposeError> {
    let lbs: Vec<String> = aws
        .elbv2
        .describe_load_balancers()
        .send()
        .await
        .map_err(ComposeError::aws("DescribeLoadBalancers"))?
        .load_balancers()
        .iter()
        .filter_map(|l| l.load_balancer_arn().map(str::to_string))
        .collect();
    for lb in tagged_elb(aws, project, lbs).await? {
        let listeners = super::setup::listeners(aws, &lb).await?;
        for listener in listeners.iter().filter_map(|l| l.listener_arn()) {
            aws.elbv2
                .delete_listener()
                .listener_arn(listener)
                .send()
                .await
                .map_err(ComposeError::aws("DeleteListener"))?;
        }
        aws.elbv2
            .delete_load_balancer()
            .load_balancer_arn(&lb)
            .send()
            .await
            .map_err(ComposeError::aws("DeleteLoadBalancer"))?;
        console.step(&format!(
            "DeleteLoadBalancer {} ({} listeners)",
            lb.rsplit('/').nth(1).unwrap_or(&lb),
            listeners.len()
        ));
    }
    let tgs: Vec<String> = aws
        .elbv2
        .describe_target_groups()
        .send()
        .await
        .map_err(ComposeError::aws("DescribeTargetGroups"))?
        .target_groups()
        .iter()
        .filter_map(|t| t.target_group_arn().map(str::to_string))
        .collect();
    for tg in tagged_elb(aws, project, tgs).await? {
        until(deadline, "a target group to be free", || async {
            match aws
                .elbv2
                .delete_target_group()
                .target_group_arn(&tg)
                .send()
                .await
            {
                Ok(_) => Ok(true),
                Err(e) if e.code() == Some("ResourceInUse") => Ok(false),
                Err(e) => Err(ComposeError::aws("DeleteTargetGroup")(e)),
            }
        })
        .await?;
        console.step(&format!(
            "DeleteTargetGroup {}",
            tg.rsplit('/').nth(1).unwrap_or(&tg)
        ));
    }
    Ok(())
}

/// The namespace named after the project, if it carries the tag, and its services.
async fn delete_namespace(
    aws: &Aws,
    project: &str,
    console: &Console,
    deadline: tokio::time::Instant,
) -> Result<(), ComposeError> {
    let Some((id, arn)) = super::setup::find_namespace(aws, project).await? else {
        return Ok(());
    };
    let tags = aws
        .cloud_map
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .map_err(ComposeError::aws("ListTagsForResource (Cloud Map)"))?;
    if !tags
        .tags()
        .iter()
        .any(|t| t.key() == PROJECT_TAG && t.value() == project)
    {
        return Ok(());
    }
    for (service_id, name, _) in super::setup::namespace_services(aws, &id).await? {
        // Instances deregister as the tasks stop; until then the service is in use.
        until(
            deadline,
            "a Cloud Map service to lose its instances",
            || async {
                match aws.cloud_map.delete_service().id(&service_id).send().await {
                    Ok(_) => Ok(true),
                    Err(e) if e.code() == Some("ResourceInUse") => Ok(false),
                    Err(e) => Err(ComposeError::aws("DeleteService (Cloud Map)")(e)),
                }
            },
        )
        .await?;
        console.step(&format!("DeleteService (Cloud Map) {name}"));
    }
    aws.cloud_map
        .delete_namespace()
        .id(&id)
        .send()
        .await
        .map_err(ComposeError::aws("DeleteNamespace"))?;
    console.step(&format!("DeleteNamespace {project}"));
    Ok(())
}

async fn delete_log_group(aws: &Aws, project: &str, console: &Console) -> Result<(), ComposeError> {
    let name = super::translate::log_group_name(project);
    let groups = aws
        .logs
        .describe_log_groups()
        .log_group_name_prefix(&name)
        .send()
        .await
        .map_err(ComposeError::aws("DescribeLogGroups"))?
        .log_groups
        .unwrap_or_default();
    let Some(group) = groups
        .iter()
        .find(|g| g.log_group_name() == Some(name.as_str()))
    else {
        return Ok(());
    };
    let arn = group.log_group_arn().unwrap_or_default();
    let tags = aws
        .logs
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .map_err(ComposeError::aws("ListTagsForResource (Logs)"))?;
    if tags
        .tags()
        .and_then(|t| t.get(PROJECT_TAG))
        .map(String::as_str)
        != Some(project)
    {
        return Ok(());
    }
    aws.logs
        .delete_log_group()
        .log_group_name(&name)
        .send()
        .await
        .map_err(ComposeError::aws("DeleteLogGroup"))?;
    console.step(&format!("DeleteLogGroup {name}"));
    Ok(())
}
