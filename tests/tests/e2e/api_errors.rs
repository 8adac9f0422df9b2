//! Bad input on the control port gets AWS-shaped errors, and the emulator
//! keeps serving afterwards.

use aws_sdk_ecs::types::{Compatibility, ContainerDefinition, NetworkMode};
use tests::{ecs, unique, TestEmulator};

/// POSTs `body` to the control port with the given headers.
async fn post(
    emu: &TestEmulator,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String, Option<String>) {
    let r = tests::post(emu.addr(), headers, body).await;
    (r.status, r.body, r.content_type)
}

fn ecs_target(op: &str) -> String {
    format!("AmazonEC2ContainerServiceV20141113.{op}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_mistyped_requests_get_aws_shaped_errors() {
    let emu = TestEmulator::start().await;
    let json = ("content-type", "application/x-amz-json-1.1");
    let cases: Vec<(String, &str, &str)> = vec![
        (
            ecs_target("ListClusters"),
            "{not json",
            "SerializationException",
        ),
        (
            ecs_target("NoSuchAction"),
            "{}",
            "UnknownOperationException",
        ),
        (ecs_target("RunTask"), "{}", "InvalidParameterException"),
        (
            ecs_target("RunTask"),
            r#"{"taskDefinition": 42}"#,
            "InvalidParameterException",
        ),
        (
            ecs_target("RunTask"),
            r#"{"taskDefinition": "x", "count": "three"}"#,
            "InvalidParameterException",
        ),
        (
            ecs_target("DescribeTasks"),
            r#"{"tasks": "not-a-list"}"#,
            "InvalidParameterException",
        ),
        (
            ecs_target("RegisterTaskDefinition"),
            "[1,2,3]",
            "InvalidParameterException",
        ),
    ];
    for (target, body, code) in cases {
        let (status, text, content_type) =
            post(&emu, &[json, ("x-amz-target", &target)], body).await;
        assert_eq!(status, 400, "{target} {body}: {text}");
        assert_eq!(content_type.as_deref(), Some("application/x-amz-json-1.1"));
        let v: serde_json::Value = serde_json::from_str(&text).expect("JSON error body");
        assert_eq!(v["__type"], code, "{target} {body}: {text}");
        assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    let (status, text, _) = post(&emu, &[("content-type", "text/plain")], "hello").await;
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("UnrecognizedClientException"));
    let (status, text, content_type) = post(
        &emu,
        &[("content-type", "application/x-www-form-urlencoded")],
        "Action=DescribeLoadBalancers&Version=2015-12-01&PageSize=banana",
    )
    .await;
    assert_eq!(status, 400, "{text}");
    assert_eq!(content_type.as_deref(), Some("text/xml"));
    assert!(
        text.contains("<ErrorResponse") && text.contains("<Code>ValidationError</Code>"),
        "{text}"
    );

    // The emulator keeps serving, with its state intact.
    let cluster = unique("after");
    emu.ecs
        .create_cluster()
        .cluster_name(&cluster)
        .send()
        .await
        .unwrap();
    let listed = emu.ecs.list_clusters().send().await.unwrap();
    assert!(listed.cluster_arns().iter().any(|a| a.ends_with(&cluster)));
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fargate_rules_and_unknown_ids_follow_aws() {
    let emu = TestEmulator::start().await;
    let family = unique("bad");
    let register = |cpu: &str, memory: &str, mode: NetworkMode| {
        emu.ecs
            .register_task_definition()
            .family(&family)
            .network_mode(mode)
            .requires_compatibilities(Compatibility::Fargate)
            .cpu(cpu)
            .memory(memory)
            .container_definitions(
                ContainerDefinition::builder()
                    .name("app")
                    .image("x")
                    .build(),
            )
            .send()
    };
    let err = register("256", "4096", NetworkMode::Awsvpc)
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_client_exception(), "{err:?}");
    assert!(err
        .meta()
        .message()
        .unwrap()
        .contains("No Fargate configuration exists"));
    let err = register("256", "512", NetworkMode::Bridge)
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_client_exception(), "{err:?}");
    let ok = register("0.25 vCPU", "0.5GB", NetworkMode::Awsvpc)
        .await
        .unwrap();
    let def = ok.task_definition().unwrap();
    assert_eq!(
        (def.cpu(), def.memory(), def.revision()),
        (Some("256"), Some("512"), 1)
    );
    let second = register("256", "512", NetworkMode::Awsvpc).await.unwrap();
    assert_eq!(second.task_definition().unwrap().revision(), 2);

    let err = emu
        .ecs
        .run_task()
        .task_definition(&family)
        .count(11)
        .network_configuration(ecs::network())
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_invalid_parameter_exception(), "{err:?}");
    let err = emu
        .ecs
        .run_task()
        .task_definition(&family)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(
        err.is_invalid_parameter_exception(),
        "awsvpc needs a network configuration: {err:?}"
    );
    let err = emu
        .ecs
        .run_task()
        .cluster("no-such-cluster")
        .task_definition(&family)
        .network_configuration(ecs::network())
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_cluster_not_found_exception(), "{err:?}");

    let described = emu
        .ecs
        .describe_tasks()
        .tasks("0123456789abcdef0123456789abcdef")
        .send()
        .await
        .unwrap();
    assert!(described.tasks().is_empty());
    assert_eq!(described.failures()[0].reason(), Some("MISSING"));
    let clusters = emu
        .ecs
        .describe_clusters()
        .clusters("nope")
        .send()
        .await
        .unwrap();
    assert_eq!(clusters.failures()[0].reason(), Some("MISSING"));
    let err = emu
        .ecs
        .stop_task()
        .task("nope")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_invalid_parameter_exception(), "{err:?}");

    let families = emu
        .ecs
        .list_task_definition_families()
        .send()
        .await
        .unwrap();
    assert_eq!(families.families(), std::slice::from_ref(&family));
    let arn = format!("{family}:1");
    emu.ecs
        .deregister_task_definition()
        .task_definition(&arn)
        .send()
        .await
        .unwrap();
    let listed = emu
        .ecs
        .list_task_definitions()
        .family_prefix(&family)
        .send()
        .await
        .unwrap();
    assert_eq!(
        listed.task_definition_arns().len(),
        1,
        "revision 1 is INACTIVE"
    );
    let tags = emu
        .ecs
        .list_tags_for_resource()
        .resource_arn("arn:aws:ecs:us-east-1:000000000000:cluster/none")
        .send()
        .await;
    assert!(tags.is_err());
    emu.shutdown().await;
}
