//! Service deployments and revisions through the AWS SDK: the history of a
//! service's rollouts, a circuit-breaker rollback, and StopServiceDeployment.

use std::time::Duration;

use aws_sdk_ecs::client::Waiters;
use aws_sdk_ecs::types::{
    ContainerDefinition, DeploymentCircuitBreaker, DeploymentConfiguration, LaunchType,
    ServiceDeployment, ServiceDeploymentStatus,
};
use tests::{ecs, unique, wait_until, TestEmulator};

const WAIT: Duration = Duration::from_secs(90);

async fn deployments(emu: &TestEmulator, service: &str) -> Vec<ServiceDeployment> {
    let briefs = emu
        .ecs
        .list_service_deployments()
        .service(service)
        .send()
        .await
        .unwrap();
    let arns: Vec<String> = briefs
        .service_deployments()
        .iter()
        .filter_map(|b| b.service_deployment_arn().map(String::from))
        .collect();
    emu.ecs
        .describe_service_deployments()
        .set_service_deployment_arns(Some(arns))
        .send()
        .await
        .unwrap()
        .service_deployments()
        .to_vec()
}

/// Waits until the newest service deployment has `status`; all of them,
/// newest first.
async fn until_newest(
    emu: &TestEmulator,
    service: &str,
    status: ServiceDeploymentStatus,
) -> Vec<ServiceDeployment> {
    wait_until(
        &format!("the newest deployment is {status:?}"),
        WAIT,
        || async {
            let all = deployments(emu, service).await;
            (all.first()?.status() == Some(&status)).then_some(all)
        },
    )
    .await
}

/// Registers a sample-app revision of `family` and creates a service of one
/// task of it; `breaker` turns the circuit breaker on, with rollback or
/// not. The revision's ARN, once the service is stable.
async fn create(emu: &TestEmulator, service: &str, family: &str, breaker: Option<bool>) -> String {
    let first = ecs::register(&emu.ecs, family, vec![ecs::sample_container("app").build()]).await;
    let mut config = DeploymentConfiguration::builder();
    if let Some(rollback) = breaker {
        config = config.deployment_circuit_breaker(
            DeploymentCircuitBreaker::builder()
                .enable(true)
                .rollback(rollback)
                .build(),
        );
    }
    emu.ecs
        .create_service()
        .service_name(service)
        .task_definition(family)
        .desired_count(1)
        .launch_type(LaunchType::Fargate)
        .network_configuration(ecs::network())
        .deployment_configuration(config.build())
        .send()
        .await
        .unwrap();
    emu.ecs
        .wait_until_services_stable()
        .services(service)
        .wait(WAIT)
        .await
        .expect("the service becomes stable");
    first
}

/// Deploys a revision of `family` whose image does not exist: its tasks
/// never start.
async fn deploy_broken(emu: &TestEmulator, service: &str, family: &str) {
    let broken = ContainerDefinition::builder()
        .name("app")
        .image("no-such-image.invalid/app:1")
        .essential(true)
        .build();
    let broken = ecs::register(&emu.ecs, family, vec![broken]).await;
    emu.ecs
        .update_service()
        .service(service)
        .task_definition(&broken)
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployments_are_listed_with_their_revisions_and_a_failed_one_rolls_back() {
    let emu = TestEmulator::start().await;
    let (service, family) = (unique("history"), unique("history"));
    let first = create(&emu, &service, &family, Some(true)).await;

    let created = until_newest(&emu, &service, ServiceDeploymentStatus::Successful).await;
    assert_eq!(created.len(), 1);
    let target = created[0].target_service_revision().unwrap();
    assert_eq!(
        (target.requested_task_count(), target.running_task_count()),
        (1, 1)
    );
    assert!(created[0].source_service_revisions().is_empty());
    let first_revision = target.arn().unwrap().to_string();
    assert!(
        first_revision.contains(":service-revision/default/"),
        "{first_revision}"
    );
    let revisions = emu
        .ecs
        .describe_service_revisions()
        .service_revision_arns(&first_revision)
        .send()
        .await
        .unwrap();
    let revision = &revisions.service_revisions()[0];
    assert_eq!(revision.task_definition(), Some(first.as_str()));
    assert_eq!(revision.container_images()[0].container_name(), Some("app"));

    // A revision that cannot start: the breaker fails it and rolls back.
    deploy_broken(&emu, &service, &family).await;
    let all = until_newest(&emu, &service, ServiceDeploymentStatus::RollbackSuccessful).await;
    assert_eq!(
        all.len(),
        2,
        "a rollback is part of the deployment it undoes"
    );
    let failed = &all[0];
    assert_eq!(
        failed.source_service_revisions()[0].arn(),
        Some(first_revision.as_str())
    );
    let rollback = failed.rollback().expect("the rollback is described");
    assert_eq!(
        rollback.service_revision_arn(),
        Some(first_revision.as_str())
    );
    assert!(rollback
        .reason()
        .unwrap_or_default()
        .contains("circuit breaker"));
    let breaker = failed.deployment_circuit_breaker().unwrap();
    assert_eq!(breaker.status().map(|s| s.as_str()), Some("TRIGGERED"));
    assert!(
        breaker.failure_count() >= breaker.threshold(),
        "{breaker:?}"
    );
    let svc = ecs::describe_service(&emu.ecs, &service).await;
    assert_eq!(svc.task_definition(), Some(first.as_str()));
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_service_deployment_rolls_back_one_in_progress_only() {
    let emu = TestEmulator::start().await;
    let (service, family) = (unique("stop"), unique("stop"));
    // Without the circuit breaker a deployment that cannot start stays in
    // progress until someone stops it.
    let first = create(&emu, &service, &family, None).await;
    deploy_broken(&emu, &service, &family).await;
    let in_progress = until_newest(&emu, &service, ServiceDeploymentStatus::InProgress).await;
    let arn = in_progress[0].service_deployment_arn().unwrap().to_string();
    emu.ecs
        .stop_service_deployment()
        .service_deployment_arn(&arn)
        .send()
        .await
        .unwrap();
    let all = until_newest(&emu, &service, ServiceDeploymentStatus::RollbackSuccessful).await;
    assert_eq!(all[0].service_deployment_arn(), Some(arn.as_str()));
    let svc = ecs::describe_service(&emu.ecs, &service).await;
    assert_eq!(svc.task_definition(), Some(first.as_str()));

    let again = emu
        .ecs
        .stop_service_deployment()
        .service_deployment_arn(&arn)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(again.is_conflict_exception(), "{again:?}");
    let missing = emu
        .ecs
        .stop_service_deployment()
        .service_deployment_arn(arn.replace(':', ";"))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(
        missing.is_service_deployment_not_found_exception(),
        "{missing:?}"
    );
    emu.shutdown().await;
}
