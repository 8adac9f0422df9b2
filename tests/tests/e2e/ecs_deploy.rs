//! `ecs-deploy` (a widely used CI deploy tool on boto3), pointed here with
//! `AWS_ENDPOINT_URL`, runs `deploy`, `scale`, `run` and `diff` against a
//! service behind the ALB. The test makes its own Python venv with the
//! tool (once, cached under the target directory).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use tests::{alb, ecs, unique, wait_until, TestEmulator};

/// The ecs-deploy release the test installs.
const ECS_DEPLOY: &str = "ecs-deploy==1.17.0";

/// A venv with ecs-deploy, made once per checkout. Venvs cannot be moved
/// (their scripts name their own interpreter's path), so it is built in
/// place and marked complete last: a half-built one is built again.
fn venv() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let dir = target
        .join("test-venvs")
        .join(ECS_DEPLOY.replace("==", "-"));
    let complete = dir.join(".complete");
    if complete.exists() {
        return dir;
    }
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    run_ok(Command::new("python3").args(["-m", "venv"]).arg(&dir));
    run_ok(Command::new(dir.join("bin/pip")).args([
        "install",
        "--quiet",
        "--disable-pip-version-check",
        ECS_DEPLOY,
    ]));
    std::fs::write(&complete, ECS_DEPLOY).unwrap();
    dir
}

fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs `ecs ARGS` against the emulator (off the async workers: the tool
/// waits on the emulator); returns its standard output.
async fn ecs_deploy(venv: &Path, endpoint: &str, args: &[&str]) -> String {
    let mut cmd = Command::new(venv.join("bin/ecs"));
    cmd.args(args);
    let endpoint = endpoint.to_string();
    tokio::task::spawn_blocking(move || ecs_deploy_blocking(cmd, &endpoint))
        .await
        .unwrap()
}

fn ecs_deploy_blocking(mut cmd: Command, endpoint: &str) -> String {
    let out = run_ok(
        cmd.env("AWS_ENDPOINT_URL", endpoint)
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env_remove("AWS_PROFILE"),
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ecs_deploy_deploys_scales_runs_and_diffs() {
    let venv = tokio::task::spawn_blocking(venv).await.unwrap();
    let emu = TestEmulator::start().await;
    let endpoint = emu.endpoint_url();
    let cluster = unique("ed");
    let family = unique("ed");
    emu.ecs
        .create_cluster()
        .cluster_name(&cluster)
        .send()
        .await
        .unwrap();
    let td = ecs::register(
        &emu.ecs,
        &family,
        vec![ecs::sample_container("app").build()],
    )
    .await;
    let lb = alb::create(&emu.elbv2, &unique("ed")).await;
    emu.ecs
        .create_service()
        .cluster(&cluster)
        .service_name("web")
        .task_definition(&td)
        .desired_count(2)
        .launch_type(aws_sdk_ecs::types::LaunchType::Fargate)
        .network_configuration(ecs::network())
        .load_balancers(
            aws_sdk_ecs::types::LoadBalancer::builder()
                .target_group_arn(&lb.target_group_arn)
                .container_name("app")
                .container_port(8080)
                .build(),
        )
        .send()
        .await
        .unwrap();

    // deploy: a new revision with an environment change, rolled out.
    let out = ecs_deploy(
        &venv,
        &endpoint,
        &[
            "deploy",
            &cluster,
            "web",
            "-e",
            "app",
            "APP_VERSION",
            "v2",
            "--timeout",
            "120",
        ],
    )
    .await;
    assert!(out.contains("Deployment successful"), "{out}");
    let svc = emu
        .ecs
        .describe_services()
        .cluster(&cluster)
        .services("web")
        .send()
        .await
        .unwrap()
        .services()[0]
        .clone();
    assert!(
        svc.task_definition()
            .unwrap()
            .ends_with(&format!("{family}:2")),
        "{:?}",
        svc.task_definition()
    );
    wait_until(
        "v2 answers through the ALB",
        Duration::from_secs(60),
        || async {
            let (_, body) = tests::http_get(&lb.url()).await.ok()?;
            body.contains(r#""version":"v2""#).then_some(())
        },
    )
    .await;

    // scale
    let out = ecs_deploy(
        &venv,
        &endpoint,
        &["scale", &cluster, "web", "3", "--timeout", "120"],
    )
    .await;
    assert!(out.contains("Scaling successful"), "{out}");
    // ecs-deploy counts tasks whose desired status is RUNNING; the third
    // may still be starting when it returns.
    wait_until("3 of 3 running", Duration::from_secs(60), || async {
        let out = emu
            .ecs
            .describe_services()
            .cluster(&cluster)
            .services("web")
            .send()
            .await
            .ok()?;
        let svc = &out.services()[0];
        ((svc.desired_count(), svc.running_count()) == (3, 3)).then_some(())
    })
    .await;

    // run: a one-off task of the family (its latest revision).
    let out = ecs_deploy(
        &venv,
        &endpoint,
        &[
            "run",
            &cluster,
            &family,
            "--launchtype",
            "FARGATE",
            "--subnet",
            "subnet-1",
            "--securitygroup",
            "sg-1",
        ],
    )
    .await;
    assert!(out.contains("Successfully started 1 instances"), "{out}");
    let one_off = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("- "))
        .expect("the task ARN is printed")
        .to_string();
    let tasks = ecs::describe(&emu.ecs, &cluster, std::slice::from_ref(&one_off)).await;
    assert_eq!(tasks.len(), 1, "{one_off} is a task of {cluster}");
    assert!(
        tasks[0].group().unwrap().starts_with("family:"),
        "{:?}",
        tasks[0].group()
    );

    // diff: the two revisions differ by the environment change only.
    let out = ecs_deploy(&venv, &endpoint, &["diff", &family, "1", "2"]).await;
    assert!(out.contains("APP_VERSION") && out.contains("v2"), "{out}");
    assert!(
        !out.contains("requires_attributes"),
        "only the environment differs: {out}"
    );

    emu.ecs
        .stop_task()
        .cluster(&cluster)
        .task(&one_off)
        .send()
        .await
        .unwrap();
    emu.ecs
        .delete_service()
        .cluster(&cluster)
        .service("web")
        .force(true)
        .send()
        .await
        .unwrap();
    emu.shutdown().await;
}
