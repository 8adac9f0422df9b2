//! `POST /_emulator/reset` and moto's `POST /moto-api/reset` end to end: a
//! service behind an ALB, roles, parameters and VPCs, then a reset, then
//! the SDKs see a fresh emulator and the same listener port serves again.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use aws_sdk_ec2::types::Filter;
use aws_sdk_ecs::client::Waiters;
use aws_sdk_ecs::error::ProvideErrorMetadata;
use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, FixedResponseActionConfig, ProtocolEnum,
};
use tests::{alb, ecs, http_get, leftover_containers, unique, wait_until, TestEmulator};

const WAIT: Duration = Duration::from_secs(90);

/// The clients of the services around ECS and ELBv2.
struct Clients {
    ec2: aws_sdk_ec2::Client,
    iam: aws_sdk_iam::Client,
    ssm: aws_sdk_ssm::Client,
    logs: aws_sdk_cloudwatchlogs::Client,
}

async fn clients(emu: &TestEmulator) -> Clients {
    let sdk = tests::sdk_config(&emu.endpoint_url()).await;
    Clients {
        ec2: aws_sdk_ec2::Client::new(&sdk),
        iam: aws_sdk_iam::Client::new(&sdk),
        ssm: aws_sdk_ssm::Client::new(&sdk),
        logs: aws_sdk_cloudwatchlogs::Client::new(&sdk),
    }
}

/// POSTs to `path` on the control port: status, body, and how long it took.
async fn post(addr: SocketAddr, path: &str) -> (u16, String, Duration) {
    let started = Instant::now();
    let (status, body) = tests::http_request("POST", &format!("http://{addr}{path}"))
        .await
        .expect("reset answers");
    (status, body, started.elapsed())
}

/// The AWS error code of a failed call; `None` if it succeeded.
fn error_code<T, E: ProvideErrorMetadata>(result: Result<T, E>) -> Option<String> {
    result
        .err()
        .map(|e| e.code().unwrap_or("<no code>").to_string())
}

async fn register_sample(emu: &TestEmulator, family: &str) {
    ecs::register(&emu.ecs, family, vec![ecs::sample_container("app").build()]).await;
}

/// Registers `family` and runs one task of it; returns once it is RUNNING.
async fn run_one_task(emu: &TestEmulator, family: &str) -> Vec<String> {
    register_sample(emu, family).await;
    let arns = ecs::run(&emu.ecs, "default", family, 1).await;
    emu.ecs
        .wait_until_tasks_running()
        .cluster("default")
        .set_tasks(Some(arns.clone()))
        .wait(WAIT)
        .await
        .expect("a task runs after the reset");
    arns
}

async fn cluster_count(emu: &TestEmulator) -> usize {
    emu.ecs
        .list_clusters()
        .send()
        .await
        .expect("list clusters")
        .cluster_arns()
        .len()
}

/// The default VPC's id and CIDR, and how many VPCs and default subnets exist.
async fn vpcs(ec2: &aws_sdk_ec2::Client) -> (Option<(String, String)>, usize, usize) {
    let vpcs = ec2.describe_vpcs().send().await.expect("describe vpcs");
    let default = vpcs
        .vpcs()
        .iter()
        .find(|v| v.is_default() == Some(true))
        .map(|v| {
            (
                v.vpc_id().unwrap_or_default().to_string(),
                v.cidr_block().unwrap_or_default().to_string(),
            )
        });
    let default_subnets = ec2
        .describe_subnets()
        .filters(
            Filter::builder()
                .name("default-for-az")
                .values("true")
                .build(),
        )
        .send()
        .await
        .expect("describe subnets")
        .subnets()
        .len();
    (default, vpcs.vpcs().len(), default_subnets)
}

/// A listener on `port` of a new load balancer answering `body` itself.
async fn fixed_response_listener(emu: &TestEmulator, port: u16, body: &str) {
    let lb = emu
        .elbv2
        .create_load_balancer()
        .name(unique("fresh"))
        .subnets("subnet-a")
        .subnets("subnet-b")
        .send()
        .await
        .expect("create load balancer");
    emu.elbv2
        .create_listener()
        .load_balancer_arn(lb.load_balancers()[0].load_balancer_arn().unwrap())
        .protocol(ProtocolEnum::Http)
        .port(i32::from(port))
        .default_actions(
            Action::builder()
                .r#type(ActionTypeEnum::FixedResponse)
                .fixed_response_config(
                    FixedResponseActionConfig::builder()
                        .status_code("200")
                        .content_type("text/plain")
                        .message_body(body)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("a listener on the port the reset freed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_removes_everything_and_the_fresh_emulator_works() {
    let emu = TestEmulator::start().await;
    let c = clients(&emu).await;
    let (default_before, _, _) = vpcs(&c.ec2).await;
    let (_, default_cidr) = default_before.expect("a default VPC at start");

    // A cluster with a 2-task service behind an ALB listener.
    let name = unique("reset");
    emu.ecs
        .create_cluster()
        .cluster_name(&name)
        .send()
        .await
        .unwrap();
    let alb = alb::create(&emu.elbv2, &name).await;
    ecs::register(&emu.ecs, &name, vec![ecs::sample_container("app").build()]).await;
    ecs::create_stable_service(&emu.ecs, &name, &name, &name, &alb.target_group_arn, 2).await;
    wait_until("the ALB serves the service", WAIT, || async {
        matches!(http_get(&alb.url()).await, Ok((200, _))).then_some(())
    })
    .await;
    assert_eq!(
        leftover_containers(&emu.instance).await,
        4,
        "2 tasks: 2 sandboxes + 2 apps"
    );

    // Around it: a role, a parameter, a log group and a VPC of its own.
    c.iam
        .create_role()
        .role_name(&name)
        .assume_role_policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
        )
        .send()
        .await
        .expect("create role");
    c.ssm
        .put_parameter()
        .name(format!("/{name}/db"))
        .value("secret")
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .send()
        .await
        .expect("put parameter");
    c.logs
        .create_log_group()
        .log_group_name(format!("/ecs/{name}"))
        .send()
        .await
        .expect("create log group");
    c.ec2
        .create_vpc()
        .cidr_block("10.77.0.0/16")
        .send()
        .await
        .expect("create vpc");

    let (status, body, took) = post(emu.addr(), "/_emulator/reset").await;
    eprintln!("reset with 2 running tasks took {took:?}");
    assert_eq!((status, body.as_str()), (200, r#"{"status": "ok"}"#));

    // Done when it answers: no container, no socket on the listener port.
    assert_eq!(leftover_containers(&emu.instance).await, 0);
    let refused = tokio::net::TcpStream::connect(("127.0.0.1", alb.port)).await;
    assert!(
        refused.is_err(),
        "the listener port still accepts connections"
    );

    // Every service is back to a fresh emulator's state.
    assert_eq!(cluster_count(&emu).await, 0);
    let families = emu.ecs.list_task_definitions().send().await.unwrap();
    assert!(families.task_definition_arns().is_empty());
    let lbs = emu.elbv2.describe_load_balancers().send().await.unwrap();
    assert!(lbs.load_balancers().is_empty());
    let tgs = emu.elbv2.describe_target_groups().send().await.unwrap();
    assert!(tgs.target_groups().is_empty());
    let role = c.iam.get_role().role_name(&name).send().await;
    assert_eq!(error_code(role).as_deref(), Some("NoSuchEntity"));
    let param = c
        .ssm
        .get_parameter()
        .name(format!("/{name}/db"))
        .send()
        .await;
    assert_eq!(error_code(param).as_deref(), Some("ParameterNotFound"));
    let groups = c.logs.describe_log_groups().send().await.unwrap();
    assert!(groups.log_groups().is_empty());
    let enis = c.ec2.describe_network_interfaces().send().await.unwrap();
    assert!(enis.network_interfaces().is_empty(), "task ENIs left");
    // The default VPC is back, on the same network, with its three subnets.
    let (default_after, vpc_count, default_subnets) = vpcs(&c.ec2).await;
    let (_, cidr_after) = default_after.expect("a default VPC after the reset");
    assert_eq!(cidr_after, default_cidr);
    assert_eq!((vpc_count, default_subnets), (1, 3));

    // The freed port takes a new listener at once, and it serves.
    fixed_response_listener(&emu, alb.port, "fresh world").await;
    assert_eq!(
        http_get(&alb.url())
            .await
            .expect("the new listener answers"),
        (200, "fresh world".to_string())
    );
    // Tasks run again: the task runner works in the new world.
    run_one_task(&emu, &unique("after")).await;

    // A reset of an (almost) empty emulator, measured.
    let (status, _, took) = post(emu.addr(), "/_emulator/reset").await;
    assert_eq!(status, 200);
    let (status, _, empty) = post(emu.addr(), "/_emulator/reset").await;
    assert_eq!(status, 200);
    eprintln!("reset with 1 running task took {took:?}; of an empty emulator {empty:?}");
    assert_eq!(leftover_containers(&emu.instance).await, 0);
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_caught_mid_start_leave_no_container_behind() {
    let emu = TestEmulator::start().await;
    let family = unique("midstart");
    register_sample(&emu, &family).await;
    // Reset while the drivers are creating sandboxes and containers.
    ecs::run(&emu.ecs, "default", &family, 3).await;
    let (status, _, _) = post(emu.addr(), "/_emulator/reset").await;
    assert_eq!(status, 200);
    assert_eq!(leftover_containers(&emu.instance).await, 0);

    // A task started afterwards is the only one with containers: no driver
    // of the old world created one after the reset.
    let arns = run_one_task(&emu, &family).await;
    assert_eq!(leftover_containers(&emu.instance).await, 2, "sandbox + app");
    let tasks = emu.ecs.list_tasks().send().await.unwrap();
    assert_eq!(tasks.task_arns(), arns.as_slice());
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_during_a_reset_see_the_old_world_or_the_new() {
    let emu = TestEmulator::start().await;
    for _ in 0..20 {
        emu.ecs
            .create_cluster()
            .cluster_name(unique("c"))
            .send()
            .await
            .unwrap();
    }
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let ecs = emu.ecs.clone();
            tokio::spawn(async move {
                // Reads until the reset shows, so the reads span it.
                let mut seen = vec![];
                while seen.last() != Some(&0) && seen.len() < 2000 {
                    let out = ecs.list_clusters().send().await.expect("list clusters");
                    seen.push(out.cluster_arns().len());
                }
                seen
            })
        })
        .collect();
    let (status, _, _) = post(emu.addr(), "/_emulator/reset").await;
    assert_eq!(status, 200);
    for reader in readers {
        let seen = reader.await.unwrap();
        // All of the old clusters, then none: never a part, never back.
        assert!(seen.iter().all(|n| *n == 20 || *n == 0), "{seen:?}");
        assert!(seen.windows(2).all(|w| w[0] >= w[1]), "{seen:?}");
        assert_eq!(seen.last(), Some(&0), "{seen:?}");
    }
    assert_eq!(cluster_count(&emu).await, 0);
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moto_reset_answers_as_moto_and_resets() {
    let emu = TestEmulator::start().await;
    let c = clients(&emu).await;
    emu.ecs
        .create_cluster()
        .cluster_name(unique("moto"))
        .send()
        .await
        .unwrap();
    c.ssm
        .put_parameter()
        .name("/moto/p")
        .value("v")
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .send()
        .await
        .unwrap();

    // Anything but POST is refused, as moto's server does, and resets nothing.
    let (status, body) = tests::http_get(&format!("http://{}/moto-api/reset", emu.addr()))
        .await
        .unwrap();
    assert_eq!(
        (status, body.as_str()),
        (400, r#"{"Error": "Need to POST to reset Moto"}"#)
    );
    assert_eq!(cluster_count(&emu).await, 1);

    let (status, body, took) = post(emu.addr(), "/moto-api/reset").await;
    eprintln!("moto-api reset of a cluster and a parameter took {took:?}");
    assert_eq!((status, body.as_str()), (200, r#"{"status": "ok"}"#));
    assert_eq!(cluster_count(&emu).await, 0);
    let params = c.ssm.describe_parameters().send().await.unwrap();
    assert!(params.parameters().is_empty());
    emu.shutdown().await;
}
