//! ECS-native BLUE_GREEN, LINEAR and CANARY deployments through the AWS
//! SDK, on the real ALB proxy under steady load: the production and test
//! rules' weights as DescribeRules shows them step by step, the lifecycle
//! stages DescribeServiceDeployments reports, no failed request, and a
//! rollback during bake time.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_ecs::client::Waiters;
use aws_sdk_ecs::types::{
    AdvancedConfiguration, CanaryConfiguration, DeploymentConfiguration, DeploymentStrategy,
    DesiredStatus, LaunchType, LinearConfiguration, LoadBalancer, ServiceDeployment,
    ServiceDeploymentLifecycleStage as Stage, ServiceDeploymentStatus as Status,
    StopServiceDeploymentStopType,
};
use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, ForwardActionConfig, ProtocolEnum, TargetGroupTuple,
};
use tests::web::register_version;
use tests::{alb, ecs, load, ports, unique, wait_until, TestEmulator};

const WAIT: Duration = Duration::from_secs(120);
const DESIRED: i32 = 2;
/// Load workers, each sending one request after another.
const CONCURRENCY: usize = 2;

/// Every stage a deployment with a test rule goes through, in order.
const ALL_STAGES: [Stage; 9] = [
    Stage::PreScaleUp,
    Stage::ScaleUp,
    Stage::PostScaleUp,
    Stage::TestTrafficShift,
    Stage::PostTestTrafficShift,
    Stage::ProductionTrafficShift,
    Stage::PostProductionTrafficShift,
    Stage::BakeTime,
    Stage::CleanUp,
];

/// A service of sample-app v1 on the blue target group, with a production
/// listener and a test listener whose default rules forward blue 100 /
/// green 0 (the layout of AWS's own blue/green sample).
struct Setup {
    emu: TestEmulator,
    url: String,
    blue: String,
    green: String,
    production_rule: String,
    test_rule: String,
    service: String,
    family: String,
}

fn forward(blue: &str, green: &str) -> Action {
    let tuple = |arn: &str, weight| {
        TargetGroupTuple::builder()
            .target_group_arn(arn)
            .weight(weight)
            .build()
    };
    Action::builder()
        .r#type(ActionTypeEnum::Forward)
        .forward_config(
            ForwardActionConfig::builder()
                .target_groups(tuple(blue, 100))
                .target_groups(tuple(green, 0))
                .build(),
        )
        .build()
}

async fn default_rule(emu: &TestEmulator, listener: &str) -> String {
    let rules = emu
        .elbv2
        .describe_rules()
        .listener_arn(listener)
        .send()
        .await
        .unwrap();
    rules
        .rules()
        .iter()
        .find(|r| r.is_default() == Some(true))
        .and_then(|r| r.rule_arn())
        .expect("a default rule")
        .to_string()
}

async fn setup(config: DeploymentConfiguration) -> Setup {
    let emu = TestEmulator::start().await;
    let name = unique("bg");
    let lb = alb::create(&emu.elbv2, &name).await;
    let blue = lb.target_group_arn.clone();
    let green = alb::create_target_group(&emu.elbv2, &format!("{name}-g")).await;
    emu.elbv2
        .modify_listener()
        .listener_arn(&lb.listener_arn)
        .default_actions(forward(&blue, &green))
        .send()
        .await
        .unwrap();
    let test_listener = emu
        .elbv2
        .create_listener()
        .load_balancer_arn(&lb.load_balancer_arn)
        .protocol(ProtocolEnum::Http)
        .port(ports::reserve() as i32)
        .default_actions(forward(&blue, &green))
        .send()
        .await
        .unwrap();
    let test_listener = test_listener.listeners()[0].listener_arn().unwrap();
    let production_rule = default_rule(&emu, &lb.listener_arn).await;
    let test_rule = default_rule(&emu, test_listener).await;

    let family = name.clone();
    register_version(&emu, &family, "v1").await;
    emu.ecs
        .create_service()
        .service_name(&name)
        .task_definition(&family)
        .desired_count(DESIRED)
        .launch_type(LaunchType::Fargate)
        .network_configuration(ecs::network())
        .deployment_configuration(config)
        .load_balancers(
            LoadBalancer::builder()
                .target_group_arn(&blue)
                .container_name("app")
                .container_port(8080)
                .advanced_configuration(
                    AdvancedConfiguration::builder()
                        .alternate_target_group_arn(&green)
                        .production_listener_rule(&production_rule)
                        .test_listener_rule(&test_rule)
                        .role_arn("arn:aws:iam::000000000000:role/ecsInfrastructureRole")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("create a blue/green service");
    let setup = Setup {
        emu,
        url: lb.url(),
        blue,
        green,
        production_rule,
        test_rule,
        service: name,
        family,
    };
    // The first deployment has no blue: it ends on the serving group.
    let first = setup.newest_deployment(1).await;
    let done = setup
        .observe(&first, |d| d.status() == Some(&Status::Successful))
        .await;
    assert_eq!(done.weights.last(), Some(&(100, 0)), "{done:?}");
    setup
        .emu
        .ecs
        .wait_until_services_stable()
        .services(&setup.service)
        .wait(WAIT)
        .await
        .expect("the service becomes stable");
    setup
}

/// What a poll of DescribeRules and DescribeServiceDeployments saw, each
/// value once per change.
#[derive(Debug, Default)]
struct Observed {
    /// `(blue, green)` weights of the production rule.
    weights: Vec<(i32, i32)>,
    test_weights: Vec<(i32, i32)>,
    stages: Vec<Stage>,
    statuses: Vec<Status>,
    /// The target revision's requestedProductionTrafficWeight.
    target_weights: Vec<f64>,
    last: Option<ServiceDeployment>,
}

fn push_changed<T: PartialEq>(list: &mut Vec<T>, value: T) {
    if list.last() != Some(&value) {
        list.push(value);
    }
}

impl Setup {
    /// The newest service deployment's ARN, once there are `count`.
    async fn newest_deployment(&self, count: usize) -> String {
        wait_until("the service deployment is listed", WAIT, || async {
            let list = self
                .emu
                .ecs
                .list_service_deployments()
                .service(&self.service)
                .send()
                .await
                .unwrap();
            let briefs = list.service_deployments();
            (briefs.len() >= count).then(|| briefs[0].service_deployment_arn().unwrap().to_string())
        })
        .await
    }

    async fn weights(&self, rule: &str) -> (i32, i32) {
        let rules = self
            .emu
            .elbv2
            .describe_rules()
            .rule_arns(rule)
            .send()
            .await
            .unwrap();
        let groups = rules.rules()[0].actions()[0]
            .forward_config()
            .expect("a weighted forward")
            .target_groups();
        let weight = |arn: &str| {
            groups
                .iter()
                .find(|g| g.target_group_arn() == Some(arn))
                .and_then(|g| g.weight())
                .unwrap_or(0)
        };
        (weight(&self.blue), weight(&self.green))
    }

    async fn deployment(&self, arn: &str) -> ServiceDeployment {
        self.emu
            .ecs
            .describe_service_deployments()
            .service_deployment_arns(arn)
            .send()
            .await
            .unwrap()
            .service_deployments()[0]
            .clone()
    }

    /// Polls the rules and the deployment until `done` holds for it.
    async fn observe(&self, arn: &str, done: impl Fn(&ServiceDeployment) -> bool) -> Observed {
        let mut seen = Observed::default();
        self.observe_more(&mut seen, arn, done).await;
        seen
    }

    async fn observe_more(
        &self,
        seen: &mut Observed,
        arn: &str,
        done: impl Fn(&ServiceDeployment) -> bool,
    ) {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            push_changed(&mut seen.weights, self.weights(&self.production_rule).await);
            push_changed(&mut seen.test_weights, self.weights(&self.test_rule).await);
            let d = self.deployment(arn).await;
            if let Some(stage) = d.lifecycle_stage() {
                push_changed(&mut seen.stages, stage.clone());
            }
            push_changed(&mut seen.statuses, d.status().unwrap().clone());
            if let Some(w) = d
                .target_service_revision()
                .and_then(|t| t.requested_production_traffic_weight())
            {
                push_changed(&mut seen.target_weights, w);
            }
            let finished = done(&d);
            seen.last = Some(d);
            if finished {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the deployment did not get there: {seen:?}"
            );
            // A sampling pace fine enough to see every stage pass (a
            // condition with a deadline, not a fixed wait).
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn task_arns(&self, desired: DesiredStatus) -> Vec<String> {
        let mut arns = self
            .emu
            .ecs
            .list_tasks()
            .service_name(&self.service)
            .desired_status(desired)
            .send()
            .await
            .unwrap()
            .task_arns()
            .to_vec();
        arns.sort();
        arns
    }

    /// Waits until every task in `arns` is STOPPED.
    async fn until_stopped(&self, arns: &[String]) {
        wait_until("the tasks stop", WAIT, || async {
            let tasks = ecs::describe(&self.emu.ecs, "default", arns).await;
            tasks
                .iter()
                .all(|t| t.last_status() == Some("STOPPED"))
                .then_some(())
        })
        .await
    }

    /// Versions of `n` responses through the production listener.
    async fn versions(&self, n: u64) -> load::Report {
        let stop = Arc::new(AtomicBool::new(false));
        load::run(&self.url, 1, "version", stop, n, WAIT).await
    }

    async fn deploy_v2(&self) -> String {
        let v2 = register_version(&self.emu, &self.family, "v2").await;
        self.emu
            .ecs
            .update_service()
            .service(&self.service)
            .task_definition(&v2)
            .send()
            .await
            .unwrap();
        self.newest_deployment(2).await
    }
}

/// Steady load on the production listener until the returned flag is set.
fn start_load(url: &str) -> (Arc<AtomicBool>, tokio::task::JoinHandle<load::Report>) {
    let stop = Arc::new(AtomicBool::new(false));
    let (url, flag) = (url.to_string(), stop.clone());
    let handle = tokio::spawn(async move {
        load::run(&url, CONCURRENCY, "version", flag, u64::MAX, WAIT * 2).await
    });
    (stop, handle)
}

async fn stop_load(
    stop: Arc<AtomicBool>,
    handle: tokio::task::JoinHandle<load::Report>,
) -> load::Report {
    stop.store(true, Ordering::Relaxed);
    handle.await.unwrap()
}

fn strategy(
    strategy: DeploymentStrategy,
) -> aws_sdk_ecs::types::builders::DeploymentConfigurationBuilder {
    DeploymentConfiguration::builder()
        .strategy(strategy)
        .bake_time_in_minutes(1)
        .maximum_percent(200)
        .minimum_healthy_percent(100)
}

/// Deploys v2 under load; checks the weights DescribeRules showed step by
/// step, the stages and the target's requested weights, no failed request,
/// and v2 alone serving at the end with blue's tasks stopped.
async fn deploys_under_load(
    config: DeploymentConfiguration,
    expected_weights: &[(i32, i32)],
    expected_target_weights: &[f64],
) {
    let s = setup(config).await;
    let blue_tasks = s.task_arns(DesiredStatus::Running).await;
    assert_eq!(blue_tasks.len(), DESIRED as usize);
    let (stop, load) = start_load(&s.url);

    let arn = s.deploy_v2().await;
    let seen = s
        .observe(&arn, |d| {
            !matches!(d.status(), Some(Status::InProgress | Status::Pending))
        })
        .await;
    s.until_stopped(&blue_tasks).await;
    let report = stop_load(stop, load).await;

    let last = seen.last.as_ref().unwrap();
    assert_eq!(last.status(), Some(&Status::Successful), "{seen:?}");
    assert_eq!(seen.stages, ALL_STAGES, "{seen:?}");
    assert_eq!(seen.weights, expected_weights, "{seen:?}");
    assert_eq!(seen.test_weights, [(100, 0), (0, 100)], "{seen:?}");
    assert_eq!(seen.target_weights, expected_target_weights, "{seen:?}");
    assert_eq!(report.failures(), 0, "{report:?}");
    assert!(
        report.by_field.get("v1").is_some_and(|n| *n > 0)
            && report.by_field.get("v2").is_some_and(|n| *n > 0),
        "both versions served during the shift: {report:?}"
    );

    let after = s.versions(20).await;
    assert_eq!(after.by_field.get("v2"), Some(&20), "{after:?}");
    let running = s.task_arns(DesiredStatus::Running).await;
    assert_eq!(running.len(), DESIRED as usize);
    assert!(running.iter().all(|t| !blue_tasks.contains(t)));
    s.emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blue_green_shifts_all_traffic_at_once_under_load() {
    let config = strategy(DeploymentStrategy::BlueGreen).build();
    deploys_under_load(config, &[(100, 0), (0, 100)], &[0.0, 100.0]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn linear_shifts_traffic_in_steps_under_load() {
    let config = strategy(DeploymentStrategy::Linear)
        .linear_configuration(
            LinearConfiguration::builder()
                .step_percent(25.0)
                .step_bake_time_in_minutes(1)
                .build(),
        )
        .build();
    deploys_under_load(
        config,
        &[(100, 0), (75, 25), (50, 50), (25, 75), (0, 100)],
        &[0.0, 25.0, 50.0, 75.0, 100.0],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canary_shifts_a_canary_then_the_rest_under_load() {
    let config = strategy(DeploymentStrategy::Canary)
        .canary_configuration(
            CanaryConfiguration::builder()
                .canary_percent(20.0)
                .canary_bake_time_in_minutes(1)
                .build(),
        )
        .build();
    deploys_under_load(config, &[(100, 0), (80, 20), (0, 100)], &[0.0, 20.0, 100.0]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_during_bake_time_rolls_traffic_back_to_blue() {
    let config = strategy(DeploymentStrategy::BlueGreen)
        .bake_time_in_minutes(5)
        .build();
    let s = setup(config).await;
    let blue_tasks = s.task_arns(DesiredStatus::Running).await;
    let (stop, load) = start_load(&s.url);

    let arn = s.deploy_v2().await;
    let mut seen = s
        .observe(&arn, |d| d.lifecycle_stage() == Some(&Stage::BakeTime))
        .await;
    assert_eq!(seen.weights.last(), Some(&(0, 100)), "{seen:?}");
    let green_tasks: Vec<String> = s
        .task_arns(DesiredStatus::Running)
        .await
        .into_iter()
        .filter(|t| !blue_tasks.contains(t))
        .collect();
    assert_eq!(green_tasks.len(), DESIRED as usize);
    s.emu
        .ecs
        .stop_service_deployment()
        .service_deployment_arn(&arn)
        .stop_type(StopServiceDeploymentStopType::Rollback)
        .send()
        .await
        .unwrap();
    s.observe_more(&mut seen, &arn, |d| {
        d.status() == Some(&Status::RollbackSuccessful)
    })
    .await;
    s.until_stopped(&green_tasks).await;
    let report = stop_load(stop, load).await;

    // ROLLBACK_REQUESTED lasts until the scheduler's next pass, which the
    // request itself triggers: a poll may not see it.
    let statuses: Vec<&Status> = seen
        .statuses
        .iter()
        .filter(|s| **s != Status::RollbackRequested)
        .collect();
    assert_eq!(
        statuses,
        [
            &Status::InProgress,
            &Status::RollbackInProgress,
            &Status::RollbackSuccessful
        ],
        "{seen:?}"
    );
    assert_eq!(seen.weights, [(100, 0), (0, 100), (100, 0)], "{seen:?}");
    assert_eq!(
        seen.test_weights,
        [(100, 0), (0, 100), (100, 0)],
        "{seen:?}"
    );
    let last = seen.last.as_ref().unwrap();
    let source = last.source_service_revisions()[0].arn().unwrap();
    assert_eq!(
        last.rollback().and_then(|r| r.service_revision_arn()),
        Some(source),
        "{last:?}"
    );
    assert_eq!(report.failures(), 0, "{report:?}");
    assert!(
        report.by_field.get("v2").is_some_and(|n| *n > 0),
        "{report:?}"
    );

    let after = s.versions(20).await;
    assert_eq!(after.by_field.get("v1"), Some(&20), "{after:?}");
    assert_eq!(s.task_arns(DesiredStatus::Running).await, blue_tasks);
    s.emu.shutdown().await;
}
