//! The task role's credentials reach an AWS SDK inside the task, as on
//! Fargate: at `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` on 169.254.170.2,
//! where the emulator can enter the task's network namespace (root on a
//! Linux Docker host), else as `AWS_ACCESS_KEY_ID` and friends. The
//! sample app's `/aws/identity` calls STS GetCallerIdentity with the Rust
//! SDK's default credential chain, so the answer shows which credentials the
//! SDK found: the task's `assumed-role/ROLE/TASK_ID` session.

use std::time::Duration;

use tests::{ecs, unique, wait_until, TestEmulator};

const TRUST_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

/// Whether this process runs as root, so the emulator in it can enter
/// task namespaces.
fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|ids| ids.split_whitespace().nth(1).map(|e| e == "0"))
        })
        .unwrap_or(false)
}

/// Registers the sample app with `task_role`, runs one task and waits for
/// RUNNING. Returns the task ARN and its private IP.
async fn run_with_role(emu: &TestEmulator, task_role: Option<&str>) -> (String, String) {
    let family = unique("creds");
    let td = emu
        .ecs
        .register_task_definition()
        .family(&family)
        .network_mode(aws_sdk_ecs::types::NetworkMode::Awsvpc)
        .requires_compatibilities(aws_sdk_ecs::types::Compatibility::Fargate)
        .cpu("256")
        .memory("512")
        .set_task_role_arn(task_role.map(str::to_string))
        .container_definitions(ecs::sample_container("app").build())
        .send()
        .await
        .unwrap()
        .task_definition
        .and_then(|d| d.task_definition_arn)
        .unwrap();
    let arns = ecs::run(&emu.ecs, "default", &td, 1).await;
    let task = wait_until("task RUNNING", Duration::from_secs(60), || async {
        let tasks = ecs::describe(&emu.ecs, "default", &arns).await;
        (tasks[0].last_status() == Some("RUNNING")).then(|| tasks[0].clone())
    })
    .await;
    let ip = ecs::private_ip(&task);
    // RUNNING means started, not yet listening.
    wait_until("the app answers", Duration::from_secs(30), || async {
        tests::http_get(&format!("http://{ip}:8080/health"))
            .await
            .ok()
            .filter(|(status, _)| *status == 200)
    })
    .await;
    (arns[0].clone(), ip)
}

/// `/aws/identity` of the task at `ip`: status and JSON.
async fn identity(ip: &str) -> (u16, serde_json::Value) {
    let (status, body) = tests::http_get(&format!("http://{ip}:8080/aws/identity"))
        .await
        .unwrap();
    let json = serde_json::from_str(&body).unwrap_or_else(|_| panic!("not JSON: {body}"));
    (status, json)
}

fn task_id(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap()
}

fn env_value<'a>(env: &'a [String], name: &str) -> Option<&'a str> {
    env.iter()
        .find_map(|e| e.strip_prefix(name)?.strip_prefix('='))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sdk_inside_a_task_gets_the_task_roles_credentials() {
    let emu = TestEmulator::start().await;
    let iam = aws_sdk_iam::Client::new(&tests::sdk_config(&emu.endpoint_url()).await);
    let role_name = unique("app-task");
    let role = iam
        .create_role()
        .role_name(&role_name)
        .assume_role_policy_document(TRUST_POLICY)
        .send()
        .await
        .unwrap()
        .role
        .unwrap();
    let (arn, ip) = run_with_role(&emu, Some(role.arn())).await;

    let env = tests::container_env(&arn, "app").await;
    if running_as_root() {
        let uri = env_value(&env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
            .unwrap_or_else(|| panic!("no credentials URI in {env:?}"));
        assert!(uri.starts_with("/v2/credentials/"), "{uri}");
        assert_eq!(env_value(&env, "AWS_ACCESS_KEY_ID"), None);
        let metadata = env_value(&env, "ECS_CONTAINER_METADATA_URI_V4").unwrap();
        assert!(
            metadata.starts_with("http://169.254.170.2/v4/"),
            "{metadata}"
        );
        // The metadata endpoint answers there too, as the app sees it.
        let (status, body) = tests::http_get(&format!("http://{ip}:8080/metadata"))
            .await
            .unwrap();
        assert_eq!(status, 200, "{body}");
        assert!(body.contains(task_id(&arn)), "{body}");
    } else {
        assert!(
            env_value(&env, "AWS_ACCESS_KEY_ID").is_some_and(|k| k.starts_with("ASIA")),
            "{env:?}"
        );
    }

    let (status, who) = identity(&ip).await;
    assert_eq!(status, 200, "{who}");
    assert_eq!(
        who["arn"],
        format!(
            "arn:aws:sts::000000000000:assumed-role/{role_name}/{}",
            task_id(&arn)
        )
    );
    assert_eq!(
        who["userId"],
        format!("{}:{}", role.role_id(), task_id(&arn))
    );
    assert_eq!(who["account"], "000000000000");

    emu.ecs.stop_task().task(&arn).send().await.unwrap();
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_only_named_still_works_and_no_role_means_no_credentials() {
    let emu = TestEmulator::start().await;
    // Task definitions often name roles that exist only in the real account.
    let (named, named_ip) = run_with_role(
        &emu,
        Some("arn:aws:iam::000000000000:role/service/ecsTaskRole"),
    )
    .await;
    let (none, none_ip) = run_with_role(&emu, None).await;

    let (status, who) = identity(&named_ip).await;
    assert_eq!(status, 200, "{who}");
    assert_eq!(
        who["arn"],
        format!(
            "arn:aws:sts::000000000000:assumed-role/ecsTaskRole/{}",
            task_id(&named)
        )
    );

    let env = tests::container_env(&none, "app").await;
    assert_eq!(
        env_value(&env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"),
        None
    );
    assert_eq!(env_value(&env, "AWS_ACCESS_KEY_ID"), None);
    let (status, body) = identity(&none_ip).await;
    assert_eq!(status, 502, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("credentials"),
        "{body}"
    );

    for arn in [&named, &none] {
        emu.ecs.stop_task().task(arn).send().await.unwrap();
    }
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_link_local_endpoint_the_role_comes_as_environment() {
    let emu = TestEmulator::start_with(|c| c.task_link_local_endpoint = false).await;
    let role = "arn:aws:iam::000000000000:role/fallback-role";
    let (arn, ip) = run_with_role(&emu, Some(role)).await;

    let env = tests::container_env(&arn, "app").await;
    assert_eq!(
        env_value(&env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"),
        None
    );
    assert!(
        env_value(&env, "AWS_ACCESS_KEY_ID").is_some_and(|k| k.starts_with("ASIA")),
        "{env:?}"
    );
    assert!(env_value(&env, "AWS_SESSION_TOKEN").is_some(), "{env:?}");
    let metadata = env_value(&env, "ECS_CONTAINER_METADATA_URI_V4").unwrap();
    assert!(!metadata.starts_with("http://169.254.170.2/"), "{metadata}");

    let (status, who) = identity(&ip).await;
    assert_eq!(status, 200, "{who}");
    assert_eq!(
        who["arn"],
        format!(
            "arn:aws:sts::000000000000:assumed-role/fallback-role/{}",
            task_id(&arn)
        )
    );

    emu.ecs.stop_task().task(&arn).send().await.unwrap();
    emu.shutdown().await;
}
