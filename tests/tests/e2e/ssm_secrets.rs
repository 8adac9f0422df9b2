//! SSM Parameter Store and Secrets Manager end to end, through the AWS SDK
//! for Rust.

use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
use aws_sdk_secretsmanager::primitives::Blob;
use aws_sdk_secretsmanager::types::{Filter, FilterNameStringType, Tag as SecretTag};
use aws_sdk_ssm::types::{
    ParameterStringFilter, ParameterTier, ParameterType, ResourceTypeForTagging, Tag,
};
use tests::{unique, TestEmulator};

async fn ssm_client(emu: &TestEmulator) -> aws_sdk_ssm::Client {
    aws_sdk_ssm::Client::new(&tests::sdk_config(&emu.endpoint_url()).await)
}

async fn secrets_client(emu: &TestEmulator) -> aws_sdk_secretsmanager::Client {
    aws_sdk_secretsmanager::Client::new(&tests::sdk_config(&emu.endpoint_url()).await)
}

/// The error code of a call expected to fail.
fn code<T, E: ProvideErrorMetadata>(result: Result<T, E>) -> String {
    match result {
        Ok(_) => panic!("the call was expected to fail"),
        Err(e) => e.code().unwrap_or("<no code>").to_string(),
    }
}

async fn put(ssm: &aws_sdk_ssm::Client, name: &str, value: &str) -> i64 {
    ssm.put_parameter()
        .name(name)
        .value(value)
        .r#type(ParameterType::String)
        .send()
        .await
        .expect("put parameter")
        .version()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parameters_put_get_overwrite_history_labels_and_selectors() {
    let emu = TestEmulator::start().await;
    let ssm = ssm_client(&emu).await;
    let name = format!("/{}/db/url", unique("app"));

    assert_eq!(put(&ssm, &name, "one").await, 1);
    let again = ssm
        .put_parameter()
        .name(&name)
        .value("two")
        .r#type(ParameterType::String)
        .send()
        .await;
    assert!(again
        .unwrap_err()
        .into_service_error()
        .is_parameter_already_exists());
    let out = ssm
        .put_parameter()
        .name(&name)
        .value("two")
        .overwrite(true)
        .description("the url")
        .send()
        .await
        .unwrap();
    assert_eq!(out.version(), 2);
    assert_eq!(out.tier(), Some(&ParameterTier::Standard));

    let got = ssm.get_parameter().name(&name).send().await.unwrap();
    let p = got.parameter().unwrap();
    assert_eq!(p.value(), Some("two"));
    assert_eq!(p.version(), 2);
    assert_eq!(p.r#type(), Some(&ParameterType::String));
    assert_eq!(p.data_type(), Some("text"));
    assert!(p.last_modified_date().is_some());
    assert_eq!(
        p.arn().unwrap(),
        format!(
            "arn:aws:ssm:us-east-1:{}:parameter{name}",
            emu.emulator().store().config().account_id
        )
    );

    let labelled = ssm
        .label_parameter_version()
        .name(&name)
        .parameter_version(1)
        .labels("prod")
        .labels("1bad")
        .send()
        .await
        .unwrap();
    assert_eq!(labelled.invalid_labels(), ["1bad"]);
    assert_eq!(labelled.parameter_version(), 1);

    let by_label = ssm
        .get_parameter()
        .name(format!("{name}:prod"))
        .send()
        .await
        .unwrap();
    assert_eq!(by_label.parameter().unwrap().value(), Some("one"));
    assert_eq!(by_label.parameter().unwrap().selector(), Some(":prod"));
    let by_version = ssm
        .get_parameter()
        .name(format!("{name}:1"))
        .send()
        .await
        .unwrap();
    assert_eq!(by_version.parameter().unwrap().value(), Some("one"));
    let missing_version = ssm.get_parameter().name(format!("{name}:9")).send().await;
    assert!(missing_version
        .unwrap_err()
        .into_service_error()
        .is_parameter_version_not_found());
    let missing = ssm.get_parameter().name("/nope/nothing").send().await;
    assert!(missing
        .unwrap_err()
        .into_service_error()
        .is_parameter_not_found());

    let history = ssm
        .get_parameter_history()
        .name(&name)
        .send()
        .await
        .unwrap();
    let versions: Vec<(i64, Option<&str>, Vec<String>)> = history
        .parameters()
        .iter()
        .map(|h| (h.version(), h.value(), h.labels().to_vec()))
        .collect();
    assert_eq!(
        versions,
        vec![
            (1, Some("one"), vec!["prod".to_string()]),
            (2, Some("two"), vec![])
        ]
    );
    assert_eq!(history.parameters()[1].description(), Some("the url"));

    let unlabelled = ssm
        .unlabel_parameter_version()
        .name(&name)
        .parameter_version(1)
        .labels("prod")
        .labels("other")
        .send()
        .await
        .unwrap();
    assert_eq!(unlabelled.removed_labels(), ["prod"]);
    assert_eq!(unlabelled.invalid_labels(), ["other"]);

    // SecureString: opaque without decryption, the value with it.
    let secret = format!("{name}-secret");
    ssm.put_parameter()
        .name(&secret)
        .value("hunter2")
        .r#type(ParameterType::SecureString)
        .send()
        .await
        .unwrap();
    let plain = ssm.get_parameter().name(&secret).send().await.unwrap();
    assert_ne!(plain.parameter().unwrap().value(), Some("hunter2"));
    let decrypted = ssm
        .get_parameter()
        .name(&secret)
        .with_decryption(true)
        .send()
        .await
        .unwrap();
    assert_eq!(decrypted.parameter().unwrap().value(), Some("hunter2"));

    // GetParameters puts unknown names aside instead of failing.
    let many = ssm
        .get_parameters()
        .names(&name)
        .names("/unknown/one")
        .names(format!("{name}:7"))
        .send()
        .await
        .unwrap();
    assert_eq!(many.parameters().len(), 1);
    assert_eq!(
        many.invalid_parameters(),
        ["/unknown/one".to_string(), format!("{name}:7")]
    );

    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parameters_by_path_describe_filters_tags_and_deletes() {
    let emu = TestEmulator::start().await;
    let ssm = ssm_client(&emu).await;
    let root = format!("/{}", unique("svc"));
    for i in 0..3 {
        put(&ssm, &format!("{root}/p{i}"), "v").await;
    }
    for i in 0..12 {
        put(&ssm, &format!("{root}/deep/q{i:02}"), "v").await;
    }

    let one_level = ssm
        .get_parameters_by_path()
        .path(&root)
        .send()
        .await
        .unwrap();
    assert_eq!(one_level.parameters().len(), 3);
    assert!(one_level.next_token().is_none());

    // Recursive, paged by 10.
    let mut names = Vec::new();
    let mut token = None;
    let mut pages = 0;
    loop {
        let page = ssm
            .get_parameters_by_path()
            .path(&root)
            .recursive(true)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        pages += 1;
        assert!(page.parameters().len() <= 10);
        names.extend(
            page.parameters()
                .iter()
                .filter_map(|p| p.name().map(String::from)),
        );
        token = page.next_token().map(String::from);
        if token.is_none() {
            break;
        }
    }
    assert_eq!((names.len(), pages), (15, 2));
    let too_many = ssm
        .get_parameters_by_path()
        .path(&root)
        .max_results(11)
        .send()
        .await;
    assert_eq!(code(too_many), "ValidationException");
    let bad_filter = ssm
        .get_parameters_by_path()
        .path(&root)
        .parameter_filters(
            ParameterStringFilter::builder()
                .key("Name")
                .values("x")
                .build()
                .unwrap(),
        )
        .send()
        .await;
    assert!(bad_filter
        .unwrap_err()
        .into_service_error()
        .is_invalid_filter_key());

    let begins = ssm
        .describe_parameters()
        .parameter_filters(
            ParameterStringFilter::builder()
                .key("Name")
                .option("BeginsWith")
                .values(format!("{root}/deep"))
                .build()
                .unwrap(),
        )
        .max_results(50)
        .send()
        .await
        .unwrap();
    assert_eq!(begins.parameters().len(), 12);
    let path = ssm
        .describe_parameters()
        .parameter_filters(
            ParameterStringFilter::builder()
                .key("Path")
                .option("OneLevel")
                .values(&root)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(path.parameters().len(), 3);
    assert_eq!(
        path.parameters()[0].last_modified_user(),
        Some(
            format!(
                "arn:aws:iam::{}:root",
                emu.emulator().store().config().account_id
            )
            .as_str()
        )
    );
    let paged = ssm
        .describe_parameters()
        .parameter_filters(
            ParameterStringFilter::builder()
                .key("Path")
                .option("Recursive")
                .values(&root)
                .build()
                .unwrap(),
        )
        .max_results(4)
        .send()
        .await
        .unwrap();
    assert_eq!(paged.parameters().len(), 4);
    assert!(paged.next_token().is_some());

    // Tags.
    let tagged = format!("{root}/p0");
    ssm.add_tags_to_resource()
        .resource_type(ResourceTypeForTagging::Parameter)
        .resource_id(&tagged)
        .tags(Tag::builder().key("team").value("core").build().unwrap())
        .send()
        .await
        .unwrap();
    let tags = ssm
        .list_tags_for_resource()
        .resource_type(ResourceTypeForTagging::Parameter)
        .resource_id(&tagged)
        .send()
        .await
        .unwrap();
    assert_eq!(tags.tag_list().len(), 1);
    assert_eq!(tags.tag_list()[0].value(), "core");
    let by_tag = ssm
        .describe_parameters()
        .parameter_filters(
            ParameterStringFilter::builder()
                .key("tag:team")
                .values("core")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(by_tag.parameters().len(), 1);
    ssm.remove_tags_from_resource()
        .resource_type(ResourceTypeForTagging::Parameter)
        .resource_id(&tagged)
        .tag_keys("team")
        .send()
        .await
        .unwrap();
    let tags = ssm
        .list_tags_for_resource()
        .resource_type(ResourceTypeForTagging::Parameter)
        .resource_id(&tagged)
        .send()
        .await
        .unwrap();
    assert!(tags.tag_list().is_empty());
    let unknown = ssm
        .list_tags_for_resource()
        .resource_type(ResourceTypeForTagging::Parameter)
        .resource_id("/no/such")
        .send()
        .await;
    assert!(unknown
        .unwrap_err()
        .into_service_error()
        .is_invalid_resource_id());
    let overwrite_with_tags = ssm
        .put_parameter()
        .name(&tagged)
        .value("x")
        .overwrite(true)
        .tags(Tag::builder().key("k").value("v").build().unwrap())
        .send()
        .await;
    assert_eq!(code(overwrite_with_tags), "ValidationException");

    // Name rules and errors.
    let unqualified = ssm
        .put_parameter()
        .name("a/b")
        .value("v")
        .r#type(ParameterType::String)
        .send()
        .await;
    assert_eq!(code(unqualified), "ValidationException");
    let deep = ssm
        .put_parameter()
        .name("/l".repeat(16))
        .value("v")
        .r#type(ParameterType::String)
        .send()
        .await;
    assert!(deep
        .unwrap_err()
        .into_service_error()
        .is_hierarchy_level_limit_exceeded_exception());
    let pattern = ssm
        .put_parameter()
        .name(format!("{root}/num"))
        .value("abc")
        .allowed_pattern("^[0-9]+$")
        .r#type(ParameterType::String)
        .send()
        .await;
    assert!(pattern
        .unwrap_err()
        .into_service_error()
        .is_parameter_pattern_mismatch_exception());

    // Deletes.
    ssm.delete_parameter().name(&tagged).send().await.unwrap();
    let gone = ssm.delete_parameter().name(&tagged).send().await;
    assert!(gone
        .unwrap_err()
        .into_service_error()
        .is_parameter_not_found());
    let deleted = ssm
        .delete_parameters()
        .names(format!("{root}/p1"))
        .names(format!("{root}/nothing"))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.deleted_parameters(), [format!("{root}/p1")]);
    assert_eq!(deleted.invalid_parameters(), [format!("{root}/nothing")]);

    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_by_name_and_arn_with_versions_stages_and_tokens() {
    let emu = TestEmulator::start().await;
    let sm = secrets_client(&emu).await;
    let name = format!("app/{}", unique("db"));
    let token_a = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa";
    let created = sm
        .create_secret()
        .name(&name)
        .secret_string(r#"{"user":"admin"}"#)
        .client_request_token(token_a)
        .description("db creds")
        .tags(SecretTag::builder().key("env").value("dev").build())
        .send()
        .await
        .unwrap();
    let arn = created.arn().unwrap().to_string();
    assert!(arn.starts_with(&format!(
        "arn:aws:secretsmanager:us-east-1:{}:secret:{name}-",
        emu.emulator().store().config().account_id
    )));
    assert_eq!(arn.len(), arn.rfind('-').unwrap() + 7);
    assert_eq!(created.version_id(), Some(token_a));

    // The same request again is fine; another value under the token is not.
    let repeated = sm
        .create_secret()
        .name(&name)
        .secret_string(r#"{"user":"admin"}"#)
        .client_request_token(token_a)
        .send()
        .await
        .unwrap();
    assert_eq!(repeated.arn(), Some(arn.as_str()));
    let conflicting = sm
        .create_secret()
        .name(&name)
        .secret_string("other")
        .send()
        .await;
    assert!(conflicting
        .unwrap_err()
        .into_service_error()
        .is_resource_exists_exception());

    let partial = &arn[..arn.len() - 7];
    for id in [name.as_str(), arn.as_str(), partial] {
        let got = sm.get_secret_value().secret_id(id).send().await.unwrap();
        assert_eq!(got.secret_string(), Some(r#"{"user":"admin"}"#), "{id}");
        assert_eq!(got.version_stages(), ["AWSCURRENT"]);
        assert_eq!(got.name(), Some(name.as_str()));
    }
    let missing = sm
        .get_secret_value()
        .secret_id("no/such/secret")
        .send()
        .await;
    let err = missing.unwrap_err().into_service_error();
    assert!(err.is_resource_not_found_exception());
    assert_eq!(
        err.message(),
        Some("Secrets Manager can't find the specified secret.")
    );

    // A new value becomes AWSCURRENT, the old one AWSPREVIOUS.
    let put = sm
        .put_secret_value()
        .secret_id(&name)
        .secret_string(r#"{"user":"next"}"#)
        .send()
        .await
        .unwrap();
    let token_b = put.version_id().unwrap().to_string();
    assert_eq!(put.version_stages(), ["AWSCURRENT"]);
    let previous = sm
        .get_secret_value()
        .secret_id(&name)
        .version_stage("AWSPREVIOUS")
        .send()
        .await
        .unwrap();
    assert_eq!(previous.version_id(), Some(token_a));
    let no_stage = sm
        .get_secret_value()
        .secret_id(&name)
        .version_stage("BLUE")
        .send()
        .await;
    assert_eq!(
        no_stage.unwrap_err().into_service_error().message(),
        Some("Secrets Manager can't find the specified secret value for staging label: BLUE")
    );

    // Explicit stages; then move AWSCURRENT back.
    let staged = sm
        .put_secret_value()
        .secret_id(&name)
        .secret_string("pending")
        .version_stages("AWSPENDING")
        .send()
        .await
        .unwrap();
    assert_eq!(staged.version_stages(), ["AWSPENDING"]);
    let current = sm.get_secret_value().secret_id(&name).send().await.unwrap();
    assert_eq!(current.version_id(), Some(token_b.as_str()));
    let needs_remove = sm
        .update_secret_version_stage()
        .secret_id(&name)
        .version_stage("AWSCURRENT")
        .move_to_version_id(token_a)
        .send()
        .await;
    assert!(needs_remove
        .unwrap_err()
        .into_service_error()
        .is_invalid_parameter_exception());
    sm.update_secret_version_stage()
        .secret_id(&name)
        .version_stage("AWSCURRENT")
        .move_to_version_id(token_a)
        .remove_from_version_id(&token_b)
        .send()
        .await
        .unwrap();
    let current = sm.get_secret_value().secret_id(&name).send().await.unwrap();
    assert_eq!(current.version_id(), Some(token_a));

    let described = sm.describe_secret().secret_id(&arn).send().await.unwrap();
    let stages = described.version_ids_to_stages().unwrap();
    assert_eq!(stages[token_a], ["AWSCURRENT"]);
    assert_eq!(stages[&token_b], ["AWSPREVIOUS"]);
    assert_eq!(stages.len(), 3);
    assert_eq!(described.description(), Some("db creds"));
    assert_eq!(described.rotation_enabled(), Some(false));
    assert_eq!(described.tags().len(), 1);
    assert!(described.last_accessed_date().is_some());
    assert!(described.deleted_date().is_none());

    let versions = sm
        .list_secret_version_ids()
        .secret_id(&name)
        .send()
        .await
        .unwrap();
    assert_eq!(versions.versions().len(), 3);

    // UpdateSecret with a value makes a version.
    let updated = sm
        .update_secret()
        .secret_id(&name)
        .description("new description")
        .secret_string("updated")
        .send()
        .await
        .unwrap();
    assert!(updated.version_id().is_some());
    let current = sm.get_secret_value().secret_id(&name).send().await.unwrap();
    assert_eq!(current.secret_string(), Some("updated"));

    // Binary secrets round-trip.
    let binary = unique("bin");
    sm.create_secret()
        .name(&binary)
        .secret_binary(Blob::new(vec![0u8, 1, 2, 255]))
        .send()
        .await
        .unwrap();
    let got = sm
        .get_secret_value()
        .secret_id(&binary)
        .send()
        .await
        .unwrap();
    assert_eq!(got.secret_binary().unwrap().as_ref(), &[0u8, 1, 2, 255]);
    assert!(got.secret_string().is_none());
    let both = sm
        .create_secret()
        .name(unique("both"))
        .secret_binary(Blob::new(vec![1u8]))
        .secret_string("s")
        .send()
        .await;
    assert!(both
        .unwrap_err()
        .into_service_error()
        .is_invalid_parameter_exception());
    // Parameter Store reads secrets under /aws/reference/secretsmanager/.
    let ssm = ssm_client(&emu).await;
    let reference = format!("/aws/reference/secretsmanager/{name}");
    let through_ssm = ssm
        .get_parameter()
        .name(&reference)
        .with_decryption(true)
        .send()
        .await
        .unwrap();
    let p = through_ssm.parameter().unwrap();
    assert_eq!(p.value(), Some("updated"));
    assert_eq!(p.r#type(), Some(&ParameterType::SecureString));
    assert_eq!(p.arn(), Some(arn.as_str()));
    assert!(p.source_result().unwrap().contains(&name));
    let without_decryption = ssm.get_parameter().name(&reference).send().await;
    assert_eq!(code(without_decryption), "ValidationException");

    let bad_name = sm
        .create_secret()
        .name("bad name!")
        .secret_string("s")
        .send()
        .await;
    assert!(bad_name
        .unwrap_err()
        .into_service_error()
        .is_invalid_parameter_exception());

    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_delete_restore_list_tags_policies_and_passwords() {
    let emu = TestEmulator::start().await;
    let sm = secrets_client(&emu).await;
    let prefix = unique("list");
    for i in 0..5 {
        sm.create_secret()
            .name(format!("{prefix}/s{i}"))
            .secret_string("v")
            .description(if i % 2 == 0 { "Even one" } else { "odd one" })
            .send()
            .await
            .unwrap();
    }
    let first = format!("{prefix}/s0");

    // Delete with a recovery window, then restore.
    let both = sm
        .delete_secret()
        .secret_id(&first)
        .recovery_window_in_days(7)
        .force_delete_without_recovery(true)
        .send()
        .await;
    assert!(both
        .unwrap_err()
        .into_service_error()
        .is_invalid_parameter_exception());
    let short = sm
        .delete_secret()
        .secret_id(&first)
        .recovery_window_in_days(3)
        .send()
        .await;
    assert!(short
        .unwrap_err()
        .into_service_error()
        .is_invalid_parameter_exception());
    let deleted = sm.delete_secret().secret_id(&first).send().await.unwrap();
    let days = (deleted.deletion_date().unwrap().secs()
        - aws_sdk_secretsmanager::primitives::DateTime::from(std::time::SystemTime::now()).secs())
        as f64
        / 86400.0;
    assert!((29.9..30.1).contains(&days), "{days}");
    let read = sm.get_secret_value().secret_id(&first).send().await;
    let err = read.unwrap_err().into_service_error();
    assert!(err.is_invalid_request_exception());
    assert_eq!(
        err.message(),
        Some("You can't perform this operation on the secret because it was marked for deletion.")
    );
    let recreate = sm
        .create_secret()
        .name(&first)
        .secret_string("v")
        .send()
        .await;
    assert!(recreate
        .unwrap_err()
        .into_service_error()
        .is_invalid_request_exception());
    let described = sm.describe_secret().secret_id(&first).send().await.unwrap();
    assert!(described.deleted_date().is_some());

    let name_filter = Filter::builder()
        .key(FilterNameStringType::Name)
        .values(&prefix)
        .build();
    let listed = sm
        .list_secrets()
        .filters(name_filter.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(listed.secret_list().len(), 4);
    let with_deleted = sm
        .list_secrets()
        .filters(name_filter.clone())
        .include_planned_deletion(true)
        .send()
        .await
        .unwrap();
    assert_eq!(with_deleted.secret_list().len(), 5);

    sm.restore_secret().secret_id(&first).send().await.unwrap();
    let read = sm
        .get_secret_value()
        .secret_id(&first)
        .send()
        .await
        .unwrap();
    assert_eq!(read.secret_string(), Some("v"));

    // Paging and filters.
    let mut seen = Vec::new();
    let mut token = None;
    loop {
        let page = sm
            .list_secrets()
            .filters(name_filter.clone())
            .max_results(2)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        assert!(page.secret_list().len() <= 2);
        seen.extend(
            page.secret_list()
                .iter()
                .filter_map(|s| s.name().map(String::from)),
        );
        token = page.next_token().map(String::from);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(seen.len(), 5);
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted, "listed by creation date, oldest first");
    let even = sm
        .list_secrets()
        .filters(name_filter.clone())
        .filters(
            Filter::builder()
                .key(FilterNameStringType::Description)
                .values("even")
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(even.secret_list().len(), 3);
    let not_even = sm
        .list_secrets()
        .filters(name_filter.clone())
        .filters(
            Filter::builder()
                .key(FilterNameStringType::Description)
                .values("!even")
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(not_even.secret_list().len(), 2);

    // Tags.
    sm.tag_resource()
        .secret_id(&first)
        .tags(SecretTag::builder().key("team").value("core").build())
        .send()
        .await
        .unwrap();
    let by_tag = sm
        .list_secrets()
        .filters(
            Filter::builder()
                .key(FilterNameStringType::TagKey)
                .values("team")
                .build(),
        )
        .filters(name_filter.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(by_tag.secret_list().len(), 1);
    assert_eq!(by_tag.secret_list()[0].tags()[0].value(), Some("core"));
    sm.untag_resource()
        .secret_id(&first)
        .tag_keys("team")
        .send()
        .await
        .unwrap();
    let described = sm.describe_secret().secret_id(&first).send().await.unwrap();
    assert!(described.tags().is_empty());

    // Resource policies.
    let policy = r#"{"Version":"2012-10-17","Statement":[]}"#;
    sm.put_resource_policy()
        .secret_id(&first)
        .resource_policy(policy)
        .send()
        .await
        .unwrap();
    let got = sm
        .get_resource_policy()
        .secret_id(&first)
        .send()
        .await
        .unwrap();
    assert_eq!(got.resource_policy(), Some(policy));
    let malformed = sm
        .put_resource_policy()
        .secret_id(&first)
        .resource_policy("{nope")
        .send()
        .await;
    assert!(malformed
        .unwrap_err()
        .into_service_error()
        .is_malformed_policy_document_exception());
    sm.delete_resource_policy()
        .secret_id(&first)
        .send()
        .await
        .unwrap();
    let got = sm
        .get_resource_policy()
        .secret_id(&first)
        .send()
        .await
        .unwrap();
    assert!(got.resource_policy().is_none());

    // Force delete: gone at once.
    sm.delete_secret()
        .secret_id(&first)
        .force_delete_without_recovery(true)
        .send()
        .await
        .unwrap();
    let gone = sm.describe_secret().secret_id(&first).send().await;
    assert!(gone
        .unwrap_err()
        .into_service_error()
        .is_resource_not_found_exception());
    sm.create_secret()
        .name(&first)
        .secret_string("again")
        .send()
        .await
        .unwrap();

    // Batch reads report missing ids as errors.
    let batch = sm
        .batch_get_secret_value()
        .secret_id_list(&first)
        .secret_id_list("no/such")
        .send()
        .await
        .unwrap();
    assert_eq!(batch.secret_values().len(), 1);
    assert_eq!(batch.errors().len(), 1);
    assert_eq!(
        batch.errors()[0].error_code(),
        Some("ResourceNotFoundException")
    );

    let password = sm
        .get_random_password()
        .password_length(40)
        .exclude_punctuation(true)
        .send()
        .await
        .unwrap();
    let password = password.random_password().unwrap();
    assert_eq!(password.len(), 40);
    assert!(password.chars().all(|c| c.is_ascii_alphanumeric()));
    let too_long = sm.get_random_password().password_length(5000).send().await;
    assert!(too_long.is_err());

    let rotate = sm.rotate_secret().secret_id(&first).send().await;
    assert!(rotate
        .unwrap_err()
        .into_service_error()
        .is_invalid_request_exception());

    emu.shutdown().await;
}
