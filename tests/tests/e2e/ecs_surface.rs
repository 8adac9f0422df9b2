//! The ECS calls deploy tools and Terraform make around tasks and services:
//! capacity providers and strategies, account settings, cluster updates,
//! task-definition deletion, and the members AWS always returns.

use aws_sdk_ecs::error::ProvideErrorMetadata;
use aws_sdk_ecs::types::{
    AutoScalingGroupProvider, CapacityProviderStrategyItem, ClusterSetting, ClusterSettingName,
    LaunchType, SettingName,
};
use serde_json::json;
use tests::{ecs, unique, TestEmulator};

fn item(name: &str, weight: i32, base: i32) -> CapacityProviderStrategyItem {
    CapacityProviderStrategyItem::builder()
        .capacity_provider(name)
        .weight(weight)
        .base(base)
        .build()
        .unwrap()
}

fn code(err: impl ProvideErrorMetadata) -> String {
    err.code().unwrap_or("no code").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capacity_provider_strategies_place_tasks() {
    let emu = TestEmulator::start().await;
    let client = &emu.ecs;
    let cluster = unique("cp");
    client
        .create_cluster()
        .cluster_name(&cluster)
        .capacity_providers("FARGATE")
        .send()
        .await
        .unwrap();

    // FARGATE_SPOT is not associated yet.
    let err = client
        .put_cluster_capacity_providers()
        .cluster(&cluster)
        .capacity_providers("FARGATE")
        .default_capacity_provider_strategy(item("FARGATE_SPOT", 1, 0))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(err), "InvalidParameterException");
    let out = client
        .put_cluster_capacity_providers()
        .cluster(&cluster)
        .capacity_providers("FARGATE")
        .capacity_providers("FARGATE_SPOT")
        .default_capacity_provider_strategy(item("FARGATE", 1, 0))
        .send()
        .await
        .unwrap();
    let described = out.cluster().unwrap();
    assert_eq!(described.capacity_providers(), ["FARGATE", "FARGATE_SPOT"]);
    assert_eq!(
        described.default_capacity_provider_strategy()[0].capacity_provider(),
        "FARGATE"
    );

    let family = unique("cp");
    let td = ecs::register(client, &family, vec![ecs::sample_container("app").build()]).await;

    let both = client
        .run_task()
        .cluster(&cluster)
        .task_definition(&td)
        .launch_type(LaunchType::Fargate)
        .capacity_provider_strategy(item("FARGATE", 1, 0))
        .network_configuration(ecs::network())
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(both), "InvalidParameterException");

    // Base 1 on FARGATE, then the other two split by weights 1:1.
    let out = client
        .run_task()
        .cluster(&cluster)
        .task_definition(&td)
        .count(3)
        .capacity_provider_strategy(item("FARGATE", 1, 1))
        .capacity_provider_strategy(item("FARGATE_SPOT", 1, 0))
        .network_configuration(ecs::network())
        .send()
        .await
        .unwrap();
    let mut providers: Vec<_> = out
        .tasks()
        .iter()
        .map(|t| t.capacity_provider_name().unwrap_or("none").to_string())
        .collect();
    assert_eq!(providers[0], "FARGATE", "the base goes first");
    providers.sort();
    assert_eq!(providers, ["FARGATE", "FARGATE", "FARGATE_SPOT"]);
    assert!(out
        .tasks()
        .iter()
        .all(|t| t.launch_type() == Some(&LaunchType::Fargate)));

    // With neither a launch type nor a strategy, the cluster's default applies.
    let by_default = client
        .run_task()
        .cluster(&cluster)
        .task_definition(&td)
        .network_configuration(ecs::network())
        .send()
        .await
        .unwrap();
    assert_eq!(
        by_default.tasks()[0].capacity_provider_name(),
        Some("FARGATE")
    );

    // A provider in no cluster's list cannot place tasks.
    let other = unique("plain");
    client
        .create_cluster()
        .cluster_name(&other)
        .send()
        .await
        .unwrap();
    let err = client
        .run_task()
        .cluster(&other)
        .task_definition(&td)
        .capacity_provider_strategy(item("FARGATE_SPOT", 1, 0))
        .network_configuration(ecs::network())
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(err), "InvalidParameterException");

    let arns: Vec<String> = out
        .tasks()
        .iter()
        .chain(by_default.tasks())
        .filter_map(|t| t.task_arn.clone())
        .collect();
    for arn in &arns {
        client
            .stop_task()
            .cluster(&cluster)
            .task(arn)
            .send()
            .await
            .unwrap();
    }
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_capacity_providers_are_stored_but_place_no_tasks() {
    let emu = TestEmulator::start().await;
    let client = &emu.ecs;
    let name = unique("asg");
    let asg = AutoScalingGroupProvider::builder()
        .auto_scaling_group_arn(
            "arn:aws:autoscaling:us-east-1:000000000000:autoScalingGroup:1:autoScalingGroupName/x",
        )
        .build()
        .unwrap();
    let created = client
        .create_capacity_provider()
        .name(&name)
        .auto_scaling_group_provider(asg.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(
        created
            .capacity_provider()
            .unwrap()
            .status()
            .unwrap()
            .as_str(),
        "ACTIVE"
    );
    let reserved = client
        .create_capacity_provider()
        .name("fargate-mine")
        .auto_scaling_group_provider(asg)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(reserved), "InvalidParameterException");

    let all = client.describe_capacity_providers().send().await.unwrap();
    let names: Vec<_> = all
        .capacity_providers()
        .iter()
        .filter_map(|p| p.name())
        .collect();
    assert!(names.contains(&"FARGATE") && names.contains(&"FARGATE_SPOT"));
    assert!(names.contains(&name.as_str()), "{names:?}");
    let some = client
        .describe_capacity_providers()
        .capacity_providers(&name)
        .capacity_providers("nope")
        .send()
        .await
        .unwrap();
    assert_eq!(some.capacity_providers().len(), 1);
    assert_eq!(some.failures()[0].reason(), Some("MISSING"));

    let cluster = unique("asg");
    client
        .create_cluster()
        .cluster_name(&cluster)
        .capacity_providers(&name)
        .send()
        .await
        .unwrap();
    let family = unique("asg");
    let td = ecs::register(client, &family, vec![ecs::sample_container("app").build()]).await;
    let err = client
        .run_task()
        .cluster(&cluster)
        .task_definition(&td)
        .capacity_provider_strategy(item(&name, 1, 0))
        .network_configuration(ecs::network())
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(err), "InvalidParameterException");

    let in_use = client
        .delete_capacity_provider()
        .capacity_provider(&name)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(in_use), "ResourceInUseException");
    client
        .delete_cluster()
        .cluster(&cluster)
        .send()
        .await
        .unwrap();
    let deleted = client
        .delete_capacity_provider()
        .capacity_provider(&name)
        .send()
        .await
        .unwrap();
    assert_eq!(
        deleted
            .capacity_provider()
            .unwrap()
            .status()
            .unwrap()
            .as_str(),
        "INACTIVE"
    );
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_settings_and_cluster_updates() {
    let emu = TestEmulator::start().await;
    let client = &emu.ecs;
    let effective = client
        .list_account_settings()
        .effective_settings(true)
        .name(SettingName::ContainerInsights)
        .send()
        .await
        .unwrap();
    assert_eq!(effective.settings()[0].value(), Some("disabled"));

    client
        .put_account_setting_default()
        .name(SettingName::ContainerInsights)
        .value("enabled")
        .send()
        .await
        .unwrap();
    let bad = client
        .put_account_setting()
        .name(SettingName::ContainerInsights)
        .value("sometimes")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(bad), "InvalidParameterException");

    // New clusters take the account's containerInsights.
    let cluster = unique("settings");
    let created = client
        .create_cluster()
        .cluster_name(&cluster)
        .send()
        .await
        .unwrap();
    let insights = |c: &aws_sdk_ecs::types::Cluster| {
        c.settings()
            .iter()
            .find(|s| s.name() == Some(&ClusterSettingName::ContainerInsights))
            .and_then(|s| s.value())
            .map(str::to_string)
    };
    assert_eq!(
        insights(created.cluster().unwrap()).as_deref(),
        Some("enabled")
    );

    let updated = client
        .update_cluster_settings()
        .cluster(&cluster)
        .settings(
            ClusterSetting::builder()
                .name(ClusterSettingName::ContainerInsights)
                .value("enhanced")
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        insights(updated.cluster().unwrap()).as_deref(),
        Some("enhanced")
    );
    let missing = client
        .update_cluster()
        .cluster(unique("nope"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(missing), "ClusterNotFoundException");

    let listed = client
        .list_account_settings()
        .effective_settings(true)
        .send()
        .await
        .unwrap();
    assert!(listed.settings().len() >= 10, "{:?}", listed.settings());
    client
        .delete_account_setting()
        .name(SettingName::ContainerInsights)
        .send()
        .await
        .unwrap();
    let after = client
        .list_account_settings()
        .effective_settings(true)
        .name(SettingName::ContainerInsights)
        .send()
        .await
        .unwrap();
    assert_eq!(after.settings()[0].value(), Some("disabled"));
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn task_definitions_carry_every_member_and_can_be_deleted() {
    let emu = TestEmulator::start().await;
    let family = unique("full");
    let arn = ecs::register(
        &emu.ecs,
        &family,
        vec![ecs::sample_container("app").build()],
    )
    .await;

    // The raw wire shape: members AWS always returns, empty lists included
    // (ecs-deploy and others index into them).
    let (status, body) = tests::post_json(
        emu.addr(),
        "AmazonEC2ContainerServiceV20141113.DescribeTaskDefinition",
        json!({ "taskDefinition": arn }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let def = &body["taskDefinition"];
    for member in [
        "volumes",
        "placementConstraints",
        "requiresAttributes",
        "compatibilities",
    ] {
        assert!(def[member].is_array(), "{member} missing: {def}");
    }
    assert!(def["registeredBy"].is_string(), "{def}");
    let attributes: Vec<&str> = def["requiresAttributes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["name"].as_str())
        .collect();
    assert!(
        attributes.contains(&"ecs.capability.task-eni"),
        "{attributes:?}"
    );
    let container = &def["containerDefinitions"][0];
    for member in [
        "mountPoints",
        "volumesFrom",
        "environment",
        "portMappings",
        "systemControls",
    ] {
        assert!(
            container[member].is_array(),
            "{member} missing: {container}"
        );
    }
    assert_eq!(container["portMappings"][0]["hostPort"], 8080);
    assert_eq!(container["portMappings"][0]["protocol"], "tcp");

    // Only INACTIVE revisions are deleted.
    let active = emu
        .ecs
        .delete_task_definitions()
        .task_definitions(&arn)
        .send()
        .await
        .unwrap();
    assert!(active.task_definitions().is_empty());
    assert_eq!(active.failures().len(), 1);
    emu.ecs
        .deregister_task_definition()
        .task_definition(&arn)
        .send()
        .await
        .unwrap();
    let deleted = emu
        .ecs
        .delete_task_definitions()
        .task_definitions(&arn)
        .send()
        .await
        .unwrap();
    assert!(deleted.failures().is_empty(), "{:?}", deleted.failures());
    assert_eq!(
        deleted.task_definitions()[0].status().unwrap().as_str(),
        "DELETE_IN_PROGRESS"
    );
    emu.shutdown().await;
}
