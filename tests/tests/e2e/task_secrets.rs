//! Task-definition `secrets` are resolved at launch into the container's
//! environment from Parameter Store and Secrets Manager, as Fargate does; a
//! missing one stops the task with ResourceInitializationError. Containers
//! also get `AWS_ENDPOINT_URL`, which serves this emulator's API.

use std::time::Duration;

use aws_sdk_ecs::types::{DesiredStatus, Secret};
use aws_sdk_ssm::types::ParameterType;
use tests::{ecs, unique, wait_until, TestEmulator};

const EXECUTION_ROLE: &str = "arn:aws:iam::000000000000:role/ecsTaskExecutionRole";

fn secret(name: &str, value_from: &str) -> Secret {
    Secret::builder()
        .name(name)
        .value_from(value_from)
        .build()
        .unwrap()
}

async fn register_with_secrets(emu: &TestEmulator, family: &str, secrets: Vec<Secret>) -> String {
    emu.ecs
        .register_task_definition()
        .family(family)
        .network_mode(aws_sdk_ecs::types::NetworkMode::Awsvpc)
        .requires_compatibilities(aws_sdk_ecs::types::Compatibility::Fargate)
        .cpu("256")
        .memory("512")
        .execution_role_arn(EXECUTION_ROLE)
        .container_definitions(
            ecs::sample_container("app")
                .set_secrets(Some(secrets))
                .build(),
        )
        .send()
        .await
        .unwrap()
        .task_definition
        .and_then(|d| d.task_definition_arn)
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_reach_the_container_environment() {
    let emu = TestEmulator::start().await;
    let sdk = tests::sdk_config(&emu.endpoint_url()).await;
    let ssm = aws_sdk_ssm::Client::new(&sdk);
    let sm = aws_sdk_secretsmanager::Client::new(&sdk);
    let prefix = format!("/{}", unique("app"));
    ssm.put_parameter()
        .name(format!("{prefix}/db/host"))
        .value("db.internal")
        .r#type(ParameterType::String)
        .send()
        .await
        .unwrap();
    let param_arn = ssm
        .put_parameter()
        .name(format!("{prefix}/db/password"))
        .value("s3cr3t")
        .r#type(ParameterType::SecureString)
        .send()
        .await
        .map(|_| format!("arn:aws:ssm:us-east-1:000000000000:parameter{prefix}/db/password"))
        .unwrap();
    let created = sm
        .create_secret()
        .name(unique("api"))
        .secret_string(r#"{"token":"t-123","user":"svc"}"#)
        .send()
        .await
        .unwrap();
    let secret_arn = created.arn().unwrap().to_string();

    let family = unique("secrets");
    let td = register_with_secrets(
        &emu,
        &family,
        vec![
            secret("DB_HOST", &format!("{prefix}/db/host")),
            secret("DB_PASSWORD", &param_arn),
            secret("API_TOKEN", &format!("{secret_arn}:token::")),
            secret("API_JSON", &secret_arn),
        ],
    )
    .await;
    let arns = ecs::run(&emu.ecs, "default", &td, 1).await;
    wait_until("task RUNNING", Duration::from_secs(60), || async {
        let tasks = ecs::describe(&emu.ecs, "default", &arns).await;
        (tasks[0].last_status() == Some("RUNNING")).then_some(())
    })
    .await;

    let env = tests::container_env(&arns[0], "app").await;
    for expected in [
        "DB_HOST=db.internal".to_string(),
        "DB_PASSWORD=s3cr3t".to_string(),
        "API_TOKEN=t-123".to_string(),
        r#"API_JSON={"token":"t-123","user":"svc"}"#.to_string(),
    ] {
        assert!(env.contains(&expected), "{expected} not in {env:?}");
    }
    // AWS_ENDPOINT_URL points at an address tasks reach, serving the API.
    let endpoint = env
        .iter()
        .find_map(|e| e.strip_prefix("AWS_ENDPOINT_URL="))
        .expect("AWS_ENDPOINT_URL is set")
        .to_string();
    let (status, body) = tests::http_get(&format!("{endpoint}/_emulator/health"))
        .await
        .unwrap();
    assert_eq!((status, body.as_str()), (200, "ok"));
    let through_task_endpoint = aws_sdk_ssm::Client::new(&tests::sdk_config(&endpoint).await)
        .get_parameter()
        .name(format!("{prefix}/db/host"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        through_task_endpoint.parameter().and_then(|p| p.value()),
        Some("db.internal")
    );

    emu.ecs.stop_task().task(&arns[0]).send().await.unwrap();
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_secret_fails_the_task_as_fargate_does() {
    let emu = TestEmulator::start().await;
    let family = unique("missing");
    let td = register_with_secrets(&emu, &family, vec![secret("NOPE", "/does/not/exist")]).await;
    let arns = ecs::run(&emu.ecs, "default", &td, 1).await;
    let task = wait_until("task STOPPED", Duration::from_secs(60), || async {
        let tasks = ecs::describe(&emu.ecs, "default", &arns).await;
        (tasks[0].last_status() == Some("STOPPED")).then(|| tasks[0].clone())
    })
    .await;
    assert_eq!(
        task.stop_code().map(|c| c.as_str()),
        Some("TaskFailedToStart")
    );
    let reason = task.stopped_reason().unwrap();
    assert!(
        reason.starts_with("ResourceInitializationError: unable to pull secrets"),
        "{reason}"
    );
    assert!(reason.contains("/does/not/exist"), "{reason}");
    assert_eq!(task.desired_status(), Some(DesiredStatus::Stopped.as_str()));

    // Secrets need an execution role, as on AWS.
    let err = emu
        .ecs
        .register_task_definition()
        .family(unique("norole"))
        .network_mode(aws_sdk_ecs::types::NetworkMode::Awsvpc)
        .requires_compatibilities(aws_sdk_ecs::types::Compatibility::Fargate)
        .cpu("256")
        .memory("512")
        .container_definitions(
            ecs::sample_container("app")
                .secrets(secret("X", "/x"))
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_sdk_ecs::error::ProvideErrorMetadata::code(&err),
        Some("ClientException")
    );
    emu.shutdown().await;
}
