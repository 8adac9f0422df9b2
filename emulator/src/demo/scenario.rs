//! The AWS resources of the demo, created through the ECS and ELBv2 APIs
//! exactly as a user would: a cluster, a task definition, an `ip` target
//! group with a fast health check, a load balancer, a listener, and a
//! service registered in the target group (plus, in `slow-task`, one task
//! started with RunTask and registered by hand).

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::time::Duration;

use aws_sdk_ecs::types::{
    AssignPublicIp, AwsVpcConfiguration, Compatibility, ContainerDefinition, ContainerOverride,
    DesiredStatus, KeyValuePair, LaunchType, LoadBalancer, NetworkConfiguration, NetworkMode,
    PortMapping, Task, TaskOverride,
};
use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, ProtocolEnum, TargetDescription, TargetGroupAttribute, TargetTypeEnum,
};

use aws_sdk_ecs::error::{ProvideErrorMetadata, SdkError};

use super::report::DemoTask;
use super::{Algorithm, DemoError, DemoOptions, Scenario, APP_PORT};
use crate::console::Console;
use crate::domain::ecs::TaskStatus;
use crate::sdk_client::{
    aws_message, cluster_in_use, describe_tasks, poll_until, private_ip, task_arns, Aws,
    AwsCallFailed, AwsFailure, Check,
};

/// Name of the container in the demo's task definition.
const CONTAINER: &str = "app";
/// The service's name inside the demo's own cluster.
const SERVICE: &str = "web";
/// How often setup and teardown poll the API.
const POLL: Duration = Duration::from_millis(250);
/// Upper bound for teardown through the API (`--endpoint` mode).
const TEARDOWN_TIME_LIMIT: Duration = Duration::from_secs(60);
/// Health check of the target group: AWS's fastest allowed interval (5 s),
/// 2 s timeout, two checks to turn healthy or unhealthy. The demo's own
/// emulator scales this by `DEMO_TIME_SCALE`.
const HEALTH_INTERVAL_SECS: i32 = 5;
const HEALTH_TIMEOUT_SECS: i32 = 2;
const HEALTH_THRESHOLD: i32 = 2;

/// Fails early, with the command that builds it, when the image is missing
/// from the local Docker engine. If Docker cannot be asked (the emulator
/// runs elsewhere), the task itself reports a missing image later.
pub async fn check_image(image: &str) -> Result<(), DemoError> {
    let Ok(docker) = bollard::Docker::connect_with_local_defaults() else {
        return Ok(());
    };
    match docker.inspect_image(image).await {
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => Err(DemoError::ImageMissing {
            image: image.to_string(),
            detail: String::new(),
        }),
        _ => Ok(()),
    }
}

/// What the demo created, so teardown deletes exactly that.
pub struct Resources {
    name: String,
    listener_port: u16,
    cluster: Option<String>,
    task_definition: Option<String>,
    target_group: Option<String>,
    load_balancer: Option<String>,
    listener: Option<String>,
    service: Option<String>,
    /// Tasks started with RunTask (the slow task).
    extra_tasks: Vec<String>,
}

impl Resources {
    /// Resource names are `demo-<run id>`.
    pub fn new(run_id: &str) -> Self {
        Self {
            name: format!("demo-{run_id}"),
            listener_port: 0,
            cluster: None,
            task_definition: None,
            target_group: None,
            load_balancer: None,
            listener: None,
            service: None,
            extra_tasks: Vec::new(),
        }
    }

    pub fn listener_port(&self) -> u16 {
        self.listener_port
    }

    /// `http://127.0.0.1:PORT/`
    pub fn listener_url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.listener_port)
    }

    /// Creates everything and waits until every task runs and every target
    /// is healthy. Returns the tasks: the service's, ordered by IP, then the
    /// slow one.
    pub async fn create(
        &mut self,
        aws: &Aws,
        options: &DemoOptions,
        console: &Console,
    ) -> Result<Vec<DemoTask>, DemoError> {
        let slow = options.scenario == Scenario::SlowTask;
        let service_tasks = if slow {
            options.tasks - 1
        } else {
            options.tasks
        };

        console.step(&format!("CreateCluster {}", self.name));
        let cluster = aws
            .ecs
            .create_cluster()
            .cluster_name(&self.name)
            .send()
            .await
            .map_err(DemoError::aws("CreateCluster"))?
            .cluster
            .and_then(|c| c.cluster_arn)
            .unwrap_or_else(|| self.name.clone());
        self.cluster = Some(cluster.clone());

        console.step(&format!(
            "RegisterTaskDefinition {} ({})",
            self.name, options.image
        ));
        let task_definition = aws
            .ecs
            .register_task_definition()
            .family(&self.name)
            .network_mode(NetworkMode::Awsvpc)
            .requires_compatibilities(Compatibility::Fargate)
            .cpu("256")
            .memory("512")
            .container_definitions(
                ContainerDefinition::builder()
                    .name(CONTAINER)
                    .image(&options.image)
                    .essential(true)
                    .port_mappings(
                        PortMapping::builder()
                            .container_port(i32::from(APP_PORT))
                            .build(),
                    )
                    .build(),
            )
            .send()
            .await
            .map_err(DemoError::aws("RegisterTaskDefinition"))?
            .task_definition
            .and_then(|d| d.task_definition_arn)
            .unwrap_or_else(|| self.name.clone());
        self.task_definition = Some(task_definition.clone());

        console.step(&format!(
            "CreateTargetGroup {} (ip, health check /health every {HEALTH_INTERVAL_SECS} s)",
            self.name
        ));
        let target_group = aws
            .elbv2
            .create_target_group()
            .name(&self.name)
            .protocol(ProtocolEnum::Http)
            .port(i32::from(APP_PORT))
            .vpc_id("vpc-demo")
            .target_type(TargetTypeEnum::Ip)
            .health_check_path("/health")
            .health_check_interval_seconds(HEALTH_INTERVAL_SECS)
            .health_check_timeout_seconds(HEALTH_TIMEOUT_SECS)
            .healthy_threshold_count(HEALTH_THRESHOLD)
            .unhealthy_threshold_count(HEALTH_THRESHOLD)
            .send()
            .await
            .map_err(DemoError::aws("CreateTargetGroup"))?
            .target_groups()
            .first()
            .and_then(|t| t.target_group_arn())
            .map(str::to_string)
            .ok_or_else(|| missing("CreateTargetGroup", "TargetGroupArn"))?;
        self.target_group = Some(target_group.clone());
        // Nothing to drain at the end: the demo's load has stopped by then.
        self.set_attribute(aws, "deregistration_delay.timeout_seconds", "0")
            .await?;

        console.step(&format!("CreateLoadBalancer {}", self.name));
        let load_balancer = aws
            .elbv2
            .create_load_balancer()
            .name(&self.name)
            .subnets("subnet-demo-a")
            .subnets("subnet-demo-b")
            .send()
            .await
            .map_err(DemoError::aws("CreateLoadBalancer"))?
            .load_balancers()
            .first()
            .and_then(|l| l.load_balancer_arn())
            .map(str::to_string)
            .ok_or_else(|| missing("CreateLoadBalancer", "LoadBalancerArn"))?;
        self.load_balancer = Some(load_balancer.clone());

        self.listener_port = match options.listener_port {
            Some(port) => port,
            None => free_port()?,
        };
        console.step(&format!(
            "CreateListener HTTP:{} forwarding to the target group",
            self.listener_port
        ));
        let listener = aws
            .elbv2
            .create_listener()
            .load_balancer_arn(&load_balancer)
            .protocol(ProtocolEnum::Http)
            .port(i32::from(self.listener_port))
            .default_actions(
                Action::builder()
                    .r#type(ActionTypeEnum::Forward)
                    .target_group_arn(&target_group)
                    .build(),
            )
            .send()
            .await
            .map_err(DemoError::aws("CreateListener"))?
            .listeners()
            .first()
            .and_then(|l| l.listener_arn())
            .map(str::to_string)
            .ok_or_else(|| missing("CreateListener", "ListenerArn"))?;
        self.listener = Some(listener);

        console.step(&format!(
            "CreateService {SERVICE}: {service_tasks} tasks, registered in the target group"
        ));
        let service = aws
            .ecs
            .create_service()
            .cluster(&cluster)
            .service_name(SERVICE)
            .task_definition(&task_definition)
            .desired_count(service_tasks as i32)
            .launch_type(LaunchType::Fargate)
            .network_configuration(network())
            .load_balancers(
                LoadBalancer::builder()
                    .target_group_arn(&target_group)
                    .container_name(CONTAINER)
                    .container_port(i32::from(APP_PORT))
                    .build(),
            )
            .send()
            .await
            .map_err(DemoError::aws("CreateService"))?
            .service
            .and_then(|s| s.service_arn)
            .unwrap_or_else(|| SERVICE.to_string());
        self.service = Some(service);

        let slow_task = if slow {
            console.step(&format!(
                "RunTask with RESPONSE_DELAY_MS={} (the slow task), then RegisterTargets",
                options.slow_delay_ms
            ));
            Some(self.run_slow_task(aws, options).await?)
        } else {
            None
        };

        let mut tasks = self
            .wait_ready(aws, service_tasks, slow_task.as_ref(), options, console)
            .await?;
        if let Some((arn, ip)) = slow_task {
            tasks.push(DemoTask {
                id: task_id(&arn),
                ip,
                slow: true,
            });
        }
        Ok(tasks)
    }

    /// Starts the slow task and registers it once it has an address.
    async fn run_slow_task(
        &mut self,
        aws: &Aws,
        options: &DemoOptions,
    ) -> Result<(String, Ipv4Addr), DemoError> {
        let cluster = self.cluster.clone().unwrap_or_default();
        let out = aws
            .ecs
            .run_task()
            .cluster(&cluster)
            .task_definition(self.task_definition.clone().unwrap_or_default())
            .launch_type(LaunchType::Fargate)
            .network_configuration(network())
            .started_by("emulator-demo")
            .overrides(
                TaskOverride::builder()
                    .container_overrides(
                        ContainerOverride::builder()
                            .name(CONTAINER)
                            .environment(
                                KeyValuePair::builder()
                                    .name("RESPONSE_DELAY_MS")
                                    .value(options.slow_delay_ms.to_string())
                                    .build(),
                            )
                            .build(),
                    )
                    .build(),
            )
            .send()
            .await
            .map_err(DemoError::aws("RunTask"))?;
        if let Some(failure) = out.failures().first() {
            return Err(AwsCallFailed {
                action: "RunTask",
                message: format!("{:?}: {:?}", failure.reason(), failure.detail()),
            }
            .into());
        }
        let arn = out
            .tasks()
            .first()
            .and_then(|t| t.task_arn())
            .map(str::to_string)
            .ok_or_else(|| missing("RunTask", "taskArn"))?;
        self.extra_tasks.push(arn.clone());

        let limit = Duration::from_secs(options.setup_time_limit_secs);
        let deadline = tokio::time::Instant::now() + limit;
        let check = || async {
            let described = describe_tasks(aws, &cluster, std::slice::from_ref(&arn)).await?;
            if let Some(task) = described.first() {
                check_not_stopped(task, &options.image)?;
                if task.last_status() == Some(TaskStatus::Running.as_str()) {
                    if let Some(ip) = private_ip(task) {
                        return Ok(Check::Done(ip));
                    }
                }
            }
            Ok(Check::NotYet("the slow task to run".into()))
        };
        let ip = poll_until(deadline, POLL, check, |waiting_for| {
            DemoError::Timeout(limit, waiting_for)
        })
        .await?;
        aws.elbv2
            .register_targets()
            .target_group_arn(self.target_group.clone().unwrap_or_default())
            .targets(
                TargetDescription::builder()
                    .id(ip.to_string())
                    .port(i32::from(APP_PORT))
                    .build(),
            )
            .send()
            .await
            .map_err(DemoError::aws("RegisterTargets"))?;
        Ok((arn, ip))
    }

    /// Polls until the service runs `service_tasks` tasks and every target
    /// (theirs and the slow task's) is healthy.
    async fn wait_ready(
        &self,
        aws: &Aws,
        service_tasks: usize,
        slow_task: Option<&(String, Ipv4Addr)>,
        options: &DemoOptions,
        console: &Console,
    ) -> Result<Vec<DemoTask>, DemoError> {
        let cluster = self.cluster.clone().unwrap_or_default();
        let target_group = self.target_group.clone().unwrap_or_default();
        let total = service_tasks + usize::from(slow_task.is_some());
        let spinner = console.spinner("waiting for tasks to run and targets to turn healthy");
        let limit = Duration::from_secs(options.setup_time_limit_secs);
        let deadline = tokio::time::Instant::now() + limit;
        let result = loop {
            // Any task of the demo that stopped is an error (no image, a crash).
            let stopped = task_arns(aws, &cluster, DesiredStatus::Stopped).await?;
            if !stopped.is_empty() {
                for task in describe_tasks(aws, &cluster, &stopped).await? {
                    check_not_stopped(&task, &options.image)?;
                }
            }
            let arns = task_arns(aws, &cluster, DesiredStatus::Running).await?;
            let running: Vec<DemoTask> = describe_tasks(aws, &cluster, &arns)
                .await?
                .iter()
                .filter(|t| t.last_status() == Some(TaskStatus::Running.as_str()))
                .filter(|t| slow_task.is_none_or(|(arn, _)| t.task_arn() != Some(arn.as_str())))
                .filter_map(|t| {
                    Some(DemoTask {
                        id: task_id(t.task_arn()?),
                        ip: private_ip(t)?,
                        slow: false,
                    })
                })
                .collect();
            let healthy: BTreeSet<Ipv4Addr> =
                crate::sdk_client::healthy_targets(aws, &target_group).await?;
            let mut expected: BTreeSet<Ipv4Addr> = running.iter().map(|t| t.ip).collect();
            expected.extend(slow_task.map(|(_, ip)| *ip));
            let healthy_count = expected.iter().filter(|ip| healthy.contains(ip)).count();
            spinner.set_message(format!(
                "waiting for tasks to run and targets to turn healthy: \
                 {}/{service_tasks} service tasks RUNNING, {healthy_count}/{total} targets healthy",
                running.len()
            ));
            if running.len() == service_tasks && healthy_count == total {
                let mut tasks = running;
                tasks.sort_by_key(|t| t.ip);
                break Ok(tasks);
            }
            if tokio::time::Instant::now() >= deadline {
                break Err(DemoError::Timeout(
                    limit,
                    format!(
                        "{total} healthy targets ({} tasks running, {healthy_count} healthy)",
                        running.len()
                    ),
                ));
            }
            tokio::time::sleep(POLL).await;
        };
        spinner.finish_and_clear();
        if let Ok(tasks) = &result {
            console.step(&format!(
                "{} tasks RUNNING, {total} targets healthy",
                tasks.len() + usize::from(slow_task.is_some())
            ));
        }
        result
    }

    /// Sets the target group's `load_balancing.algorithm.type`.
    pub async fn set_algorithm(&self, aws: &Aws, algorithm: Algorithm) -> Result<(), DemoError> {
        self.set_attribute(aws, "load_balancing.algorithm.type", algorithm.as_str())
            .await
    }

    async fn set_attribute(&self, aws: &Aws, key: &str, value: &str) -> Result<(), DemoError> {
        aws.elbv2
            .modify_target_group_attributes()
            .target_group_arn(self.target_group.clone().unwrap_or_default())
            .attributes(
                TargetGroupAttribute::builder()
                    .key(key)
                    .value(value)
                    .build(),
            )
            .send()
            .await
            .map_err(DemoError::aws("ModifyTargetGroupAttributes"))?;
        Ok(())
    }

    /// Deletes what was created, newest first; best effort and bounded. Only
    /// needed against an emulator the demo did not start (`--endpoint`).
    pub async fn teardown(&self, aws: &Aws) {
        let work = async {
            if let Some(listener) = &self.listener {
                warn_on(
                    "DeleteListener",
                    aws.elbv2
                        .delete_listener()
                        .listener_arn(listener)
                        .send()
                        .await,
                );
            }
            if let Some(lb) = &self.load_balancer {
                warn_on(
                    "DeleteLoadBalancer",
                    aws.elbv2
                        .delete_load_balancer()
                        .load_balancer_arn(lb)
                        .send()
                        .await,
                );
            }
            let cluster = self.cluster.clone().unwrap_or_default();
            if let Some(service) = &self.service {
                warn_on(
                    "DeleteService",
                    aws.ecs
                        .delete_service()
                        .cluster(&cluster)
                        .service(service)
                        .force(true)
                        .send()
                        .await,
                );
            }
            for task in &self.extra_tasks {
                warn_on(
                    "StopTask",
                    aws.ecs
                        .stop_task()
                        .cluster(&cluster)
                        .task(task)
                        .reason("demo finished")
                        .send()
                        .await,
                );
            }
            if self.cluster.is_some() {
                // The cluster can go once its tasks have stopped.
                while task_arns(aws, &cluster, DesiredStatus::Running)
                    .await
                    .is_ok_and(|t| !t.is_empty())
                {
                    tokio::time::sleep(POLL).await;
                }
            }
            if let Some(tg) = &self.target_group {
                warn_on(
                    "DeleteTargetGroup",
                    aws.elbv2
                        .delete_target_group()
                        .target_group_arn(tg)
                        .send()
                        .await,
                );
            }
            if let Some(td) = &self.task_definition {
                warn_on(
                    "DeregisterTaskDefinition",
                    aws.ecs
                        .deregister_task_definition()
                        .task_definition(td)
                        .send()
                        .await,
                );
            }
            if self.cluster.is_some() {
                // A deleted service drains before it goes INACTIVE; until
                // then the cluster refuses to go.
                loop {
                    match aws.ecs.delete_cluster().cluster(&cluster).send().await {
                        Err(e) if cluster_in_use(&e) => tokio::time::sleep(POLL).await,
                        result => break warn_on("DeleteCluster", result),
                    }
                }
            }
        };
        if tokio::time::timeout(TEARDOWN_TIME_LIMIT, work)
            .await
            .is_err()
        {
            tracing::warn!(
                "teardown did not finish within {TEARDOWN_TIME_LIMIT:?}; \
                 resources named {} may remain",
                self.name
            );
        }
    }
}

fn warn_on<T, E, R>(action: &str, result: Result<T, SdkError<E, R>>)
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    if let Err(e) = result {
        tracing::warn!(action, error = %aws_message(&e), "teardown step failed");
    }
}

fn missing(action: &'static str, field: &str) -> DemoError {
    AwsCallFailed {
        action,
        message: format!("the response has no {field}"),
    }
    .into()
}

/// One subnet, no public IP: what the emulator needs for awsvpc.
fn network() -> NetworkConfiguration {
    NetworkConfiguration::builder()
        .awsvpc_configuration(
            AwsVpcConfiguration::builder()
                .subnets("subnet-demo-a")
                .assign_public_ip(AssignPublicIp::Disabled)
                .build()
                .expect("subnets are set"),
        )
        .build()
}

/// A stopped task is an error; a missing image gets the build hint.
fn check_not_stopped(task: &Task, image: &str) -> Result<(), DemoError> {
    let stopped = Some(TaskStatus::Stopped.as_str());
    if task.last_status() != stopped && task.desired_status() != stopped {
        return Ok(());
    }
    let reason = task
        .stopped_reason()
        .unwrap_or("no reason given")
        .to_string();
    if reason.contains("CannotPullContainer") {
        return Err(DemoError::ImageMissing {
            image: image.to_string(),
            detail: format!(" ({reason})"),
        });
    }
    Err(DemoError::TaskStopped {
        task: task.task_arn().map(task_id).unwrap_or_default(),
        reason,
    })
}

/// The last segment of a task ARN.
fn task_id(arn: &str) -> String {
    arn.rsplit('/').next().unwrap_or(arn).to_string()
}

/// A port that was free on 127.0.0.1 a moment ago.
fn free_port() -> Result<u16, DemoError> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|source| DemoError::Io {
            what: "finding a free listener port",
            source,
        })
}
