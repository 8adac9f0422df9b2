//! IAM and STS through the official SDKs: the calls a Terraform apply of the
//! ECS-Fargate modules makes, AWS-managed policy lookups, pagination, and
//! STS identities for plain and assumed-role credentials.

use aws_sdk_iam::types::{PolicyScopeType, Tag};
use aws_sdk_sts::config::Credentials;
use tests::{sdk_config, unique, TestEmulator};

const TRUST: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [{"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]
}"#;
const INLINE: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["logs:CreateLogStream","logs:PutLogEvents"],"Resource":"*"}]}"#;
const MANAGED: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket/*"}]}"#;
const EXECUTION_POLICY: &str =
    "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy";

async fn clients(emu: &TestEmulator) -> (aws_sdk_iam::Client, aws_sdk_sts::Client) {
    let sdk = sdk_config(&emu.endpoint_url()).await;
    (
        aws_sdk_iam::Client::new(&sdk),
        aws_sdk_sts::Client::new(&sdk),
    )
}

/// The percent-decoded text of an IAM policy document.
fn decode(document: &str) -> String {
    let bytes = document.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

/// CreateRole with the ECS trust policy under `path`.
async fn create_role(
    iam: &aws_sdk_iam::Client,
    name: &str,
    path: &str,
) -> aws_sdk_iam::types::Role {
    iam.create_role()
        .role_name(name)
        .path(path)
        .assume_role_policy_document(TRUST)
        .send()
        .await
        .unwrap()
        .role
        .unwrap()
}

async fn get_role(iam: &aws_sdk_iam::Client, name: &str) -> aws_sdk_iam::types::Role {
    iam.get_role()
        .role_name(name)
        .send()
        .await
        .unwrap()
        .role
        .unwrap()
}

/// CreatePolicy with the test's managed document.
async fn create_policy(iam: &aws_sdk_iam::Client, name: &str) -> aws_sdk_iam::types::Policy {
    iam.create_policy()
        .policy_name(name)
        .policy_document(MANAGED)
        .send()
        .await
        .unwrap()
        .policy
        .unwrap()
}

fn code<E: aws_sdk_iam::error::ProvideErrorMetadata>(e: &E) -> Option<&str> {
    e.code()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terraform_order_create_read_and_destroy() {
    let emu = TestEmulator::start().await;
    let (iam, sts) = clients(&emu).await;
    let account = sts
        .get_caller_identity()
        .send()
        .await
        .unwrap()
        .account
        .unwrap();
    let role_name = unique("task-role");
    let policy_name = unique("app-policy");
    let profile_name = unique("profile");

    // Create the role with its trust policy.
    let created = iam
        .create_role()
        .role_name(&role_name)
        .assume_role_policy_document(TRUST)
        .description("task role")
        .tags(Tag::builder().key("env").value("test").build().unwrap())
        .send()
        .await
        .unwrap()
        .role
        .unwrap();
    assert_eq!(
        created.arn,
        format!("arn:aws:iam::{account}:role/{role_name}")
    );
    assert_eq!(created.path, "/");
    assert!(created.role_id.starts_with("AROA") && created.role_id.len() == 21);
    assert_eq!(created.max_session_duration, Some(3600));
    let again = iam
        .create_role()
        .role_name(&role_name)
        .assume_role_policy_document(TRUST)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(again.is_entity_already_exists_exception(), "{again:?}");

    // Inline policy, managed policy, attachments.
    iam.put_role_policy()
        .role_name(&role_name)
        .policy_name("logs")
        .policy_document(INLINE)
        .send()
        .await
        .unwrap();
    let policy = create_policy(&iam, &policy_name).await;
    let policy_arn = policy.arn.clone().unwrap();
    assert_eq!(
        policy_arn,
        format!("arn:aws:iam::{account}:policy/{policy_name}")
    );
    assert!(policy.policy_id.unwrap().starts_with("ANPA"));
    assert_eq!(policy.default_version_id.as_deref(), Some("v1"));
    for arn in [policy_arn.as_str(), EXECUTION_POLICY] {
        iam.attach_role_policy()
            .role_name(&role_name)
            .policy_arn(arn)
            .send()
            .await
            .unwrap();
    }

    // Read everything back: documents are URL-encoded and decode to what was sent.
    let role = get_role(&iam, &role_name).await;
    let trust = role.assume_role_policy_document.clone().unwrap();
    assert!(trust.starts_with("%7B"), "{trust}");
    assert_eq!(decode(&trust), TRUST);
    assert_eq!(role.description.as_deref(), Some("task role"));
    assert_eq!(role.tags().len(), 1);
    let inline = iam
        .get_role_policy()
        .role_name(&role_name)
        .policy_name("logs")
        .send()
        .await
        .unwrap();
    assert_eq!(decode(&inline.policy_document), INLINE);
    let names = iam
        .list_role_policies()
        .role_name(&role_name)
        .send()
        .await
        .unwrap();
    assert_eq!(names.policy_names, vec!["logs".to_string()]);
    assert!(!names.is_truncated);
    let attached = iam
        .list_attached_role_policies()
        .role_name(&role_name)
        .send()
        .await
        .unwrap();
    let arns: Vec<_> = attached
        .attached_policies()
        .iter()
        .filter_map(|p| p.policy_arn())
        .collect();
    assert_eq!(arns, vec![policy_arn.as_str(), EXECUTION_POLICY]);
    let got = iam
        .get_policy()
        .policy_arn(&policy_arn)
        .send()
        .await
        .unwrap()
        .policy
        .unwrap();
    assert_eq!(got.attachment_count, Some(1));
    let version = iam
        .get_policy_version()
        .policy_arn(&policy_arn)
        .version_id("v1")
        .send()
        .await
        .unwrap()
        .policy_version
        .unwrap();
    assert_eq!(decode(version.document.as_deref().unwrap()), MANAGED);
    assert!(version.is_default_version);

    // An instance profile with the role.
    let profile = iam
        .create_instance_profile()
        .instance_profile_name(&profile_name)
        .send()
        .await
        .unwrap()
        .instance_profile
        .unwrap();
    assert!(profile.instance_profile_id.starts_with("AIPA"));
    iam.add_role_to_instance_profile()
        .instance_profile_name(&profile_name)
        .role_name(&role_name)
        .send()
        .await
        .unwrap();
    let second = iam
        .add_role_to_instance_profile()
        .instance_profile_name(&profile_name)
        .role_name(&role_name)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(second.is_limit_exceeded_exception(), "{second:?}");
    let profile = iam
        .get_instance_profile()
        .instance_profile_name(&profile_name)
        .send()
        .await
        .unwrap()
        .instance_profile
        .unwrap();
    assert_eq!(profile.roles()[0].role_name, role_name);
    assert_eq!(
        decode(profile.roles()[0].assume_role_policy_document().unwrap()),
        TRUST
    );
    let for_role = iam
        .list_instance_profiles_for_role()
        .role_name(&role_name)
        .send()
        .await
        .unwrap();
    assert_eq!(for_role.instance_profiles().len(), 1);

    // Destroy in reverse, meeting the DeleteConflicts on the way.
    let e = iam
        .delete_role()
        .role_name(&role_name)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_delete_conflict_exception(), "{e:?}");
    assert_eq!(
        e.meta().message(),
        Some("Cannot delete entity, must delete policies first.")
    );
    let e = iam
        .delete_policy()
        .policy_arn(&policy_arn)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_delete_conflict_exception(), "{e:?}");
    let e = iam
        .delete_instance_profile()
        .instance_profile_name(&profile_name)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_delete_conflict_exception(), "{e:?}");
    iam.remove_role_from_instance_profile()
        .instance_profile_name(&profile_name)
        .role_name(&role_name)
        .send()
        .await
        .unwrap();
    iam.delete_instance_profile()
        .instance_profile_name(&profile_name)
        .send()
        .await
        .unwrap();
    iam.delete_role_policy()
        .role_name(&role_name)
        .policy_name("logs")
        .send()
        .await
        .unwrap();
    let e = iam
        .delete_role()
        .role_name(&role_name)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(
        e.meta().message(),
        Some("Cannot delete entity, must detach all policies first.")
    );
    for arn in [policy_arn.as_str(), EXECUTION_POLICY] {
        iam.detach_role_policy()
            .role_name(&role_name)
            .policy_arn(arn)
            .send()
            .await
            .unwrap();
    }
    iam.delete_policy()
        .policy_arn(&policy_arn)
        .send()
        .await
        .unwrap();
    iam.delete_role()
        .role_name(&role_name)
        .send()
        .await
        .unwrap();
    let gone = iam
        .get_role()
        .role_name(&role_name)
        .send()
        .await
        .unwrap_err();
    let gone = gone.into_service_error();
    assert!(gone.is_no_such_entity_exception(), "{gone:?}");
    assert_eq!(
        gone.meta().message().unwrap(),
        format!("The role with name {role_name} cannot be found.")
    );
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_managed_policies_are_known() {
    let emu = TestEmulator::start().await;
    let (iam, sts) = clients(&emu).await;
    let account = sts
        .get_caller_identity()
        .send()
        .await
        .unwrap()
        .account
        .unwrap();
    let policy = iam
        .get_policy()
        .policy_arn(EXECUTION_POLICY)
        .send()
        .await
        .unwrap()
        .policy
        .unwrap();
    assert_eq!(policy.path.as_deref(), Some("/service-role/"));
    assert_eq!(
        policy.policy_name.as_deref(),
        Some("AmazonECSTaskExecutionRolePolicy")
    );
    let version = policy.default_version_id.unwrap();
    let document = iam
        .get_policy_version()
        .policy_arn(EXECUTION_POLICY)
        .version_id(&version)
        .send()
        .await
        .unwrap()
        .policy_version
        .unwrap()
        .document
        .unwrap();
    let document: serde_json::Value = serde_json::from_str(&decode(&document)).unwrap();
    assert_eq!(
        document["Statement"][0]["Action"][0],
        "ecr:GetAuthorizationToken"
    );

    let aws = iam
        .list_policies()
        .scope(PolicyScopeType::Aws)
        .max_items(1000)
        .send()
        .await
        .unwrap();
    let names: Vec<_> = aws
        .policies()
        .iter()
        .filter_map(|p| p.policy_name())
        .collect();
    for expected in [
        "AdministratorAccess",
        "AmazonECSTaskExecutionRolePolicy",
        "CloudWatchLogsFullAccess",
    ] {
        assert!(names.contains(&expected), "{expected} in {names:?}");
    }
    let local = iam
        .list_policies()
        .scope(PolicyScopeType::Local)
        .send()
        .await
        .unwrap();
    assert!(local.policies().is_empty());

    // An AWS-managed ARN outside the table: attachable, then synthesized.
    let unknown = "arn:aws:iam::aws:policy/service-role/NotInTheTable";
    let e = iam
        .get_policy()
        .policy_arn(unknown)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_no_such_entity_exception(), "{e:?}");
    let role = unique("r");
    create_role(&iam, &role, "/").await;
    iam.attach_role_policy()
        .role_name(&role)
        .policy_arn(unknown)
        .send()
        .await
        .unwrap();
    let synthesized = iam
        .get_policy()
        .policy_arn(unknown)
        .send()
        .await
        .unwrap()
        .policy
        .unwrap();
    assert_eq!(synthesized.attachment_count, Some(1));
    assert_eq!(synthesized.policy_name.as_deref(), Some("NotInTheTable"));
    let missing_local = format!("arn:aws:iam::{account}:policy/nope");
    let e = iam
        .attach_role_policy()
        .role_name(&role)
        .policy_arn(missing_local)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_no_such_entity_exception(), "{e:?}");
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_roles_pages() {
    let emu = TestEmulator::start().await;
    let (iam, _) = clients(&emu).await;
    let mut created = Vec::new();
    for i in 0..5 {
        let name = format!("{}-{i}", unique("page"));
        create_role(&iam, &name, "/paged/").await;
        created.push(name);
    }
    create_role(&iam, &unique("other"), "/").await;
    let mut seen = Vec::new();
    let mut marker = None;
    let mut pages = 0;
    loop {
        let page = iam
            .list_roles()
            .path_prefix("/paged/")
            .max_items(2)
            .set_marker(marker.clone())
            .send()
            .await
            .unwrap();
        pages += 1;
        assert!(page.roles().len() <= 2);
        seen.extend(page.roles().iter().map(|r| r.role_name.clone()));
        if !page.is_truncated {
            assert!(page.marker.is_none());
            break;
        }
        marker = page.marker;
    }
    assert_eq!(pages, 3);
    seen.sort();
    created.sort();
    assert_eq!(seen, created);
    let e = iam
        .list_roles()
        .max_items(0)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(code(&e), Some("ValidationError"));
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caller_identity_and_assumed_roles() {
    let emu = TestEmulator::start().await;
    let sdk = sdk_config(&emu.endpoint_url()).await;
    let (iam, sts) = clients(&emu).await;
    let me = sts.get_caller_identity().send().await.unwrap();
    let account = me.account.clone().unwrap();
    assert_eq!(
        me.arn.as_deref(),
        Some(format!("arn:aws:iam::{account}:root").as_str())
    );
    assert_eq!(me.user_id.as_deref(), Some(account.as_str()));

    let role_name = unique("assumed");
    let role = create_role(&iam, &role_name, "/").await;
    let assumed = sts
        .assume_role()
        .role_arn(&role.arn)
        .role_session_name("deploy")
        .duration_seconds(900)
        .policy(INLINE)
        .send()
        .await
        .unwrap();
    let creds = assumed.credentials.unwrap();
    assert!(creds.access_key_id.starts_with("ASIA"));
    let user = assumed.assumed_role_user.unwrap();
    let expected_arn = format!("arn:aws:sts::{account}:assumed-role/{role_name}/deploy");
    assert_eq!(user.arn, expected_arn);
    assert_eq!(user.assumed_role_id, format!("{}:deploy", role.role_id));
    #[allow(deprecated)]
    let packed = assumed.packed_policy_size;
    assert!(packed.is_some_and(|p| p > 0), "{packed:?}");

    let as_role = aws_sdk_sts::Client::from_conf(
        aws_sdk_sts::config::Builder::from(&sdk)
            .credentials_provider(Credentials::new(
                creds.access_key_id,
                creds.secret_access_key,
                Some(creds.session_token),
                None,
                "assumed",
            ))
            .build(),
    );
    let who = as_role.get_caller_identity().send().await.unwrap();
    assert_eq!(who.arn.as_deref(), Some(expected_arn.as_str()));
    assert_eq!(who.user_id, Some(format!("{}:deploy", role.role_id)));

    // A role of this account that does not exist is AccessDenied.
    let missing = format!("arn:aws:iam::{account}:role/{}", unique("missing"));
    let e = sts
        .assume_role()
        .role_arn(&missing)
        .role_session_name("s1")
        .send()
        .await
        .unwrap_err();
    let e = e.into_service_error();
    assert_eq!(
        aws_sdk_sts::error::ProvideErrorMetadata::code(&e),
        Some("AccessDenied")
    );
    assert_eq!(
        aws_sdk_sts::error::ProvideErrorMetadata::message(&e),
        Some(format!("User: arn:aws:iam::{account}:root is not authorized to perform: sts:AssumeRole on resource: {missing}").as_str())
    );
    // Out-of-range duration and a bad session name are ValidationErrors.
    for (session, duration) in [("ok", 899), ("bad name", 900)] {
        let e = sts
            .assume_role()
            .role_arn(&role.arn)
            .role_session_name(session)
            .duration_seconds(duration)
            .send()
            .await
            .unwrap_err()
            .into_service_error();
        assert_eq!(
            aws_sdk_sts::error::ProvideErrorMetadata::code(&e),
            Some("ValidationError")
        );
    }
    let token = sts
        .get_session_token()
        .send()
        .await
        .unwrap()
        .credentials
        .unwrap();
    assert!(token.access_key_id.starts_with("ASIA"));
    let info = sts
        .get_access_key_info()
        .access_key_id(&token.access_key_id)
        .send()
        .await
        .unwrap();
    assert_eq!(info.account, Some(account.clone()));
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validation_errors_carry_aws_codes() {
    let emu = TestEmulator::start().await;
    let (iam, _) = clients(&emu).await;
    let bad_name = iam
        .create_role()
        .role_name("has space")
        .assume_role_policy_document(TRUST)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(code(&bad_name), Some("ValidationError"));
    let not_json = iam
        .create_role()
        .role_name(unique("r"))
        .assume_role_policy_document("not json")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(
        not_json.is_malformed_policy_document_exception(),
        "{not_json:?}"
    );
    let bad_path = iam
        .create_role()
        .role_name(unique("r"))
        .path("no-slashes")
        .assume_role_policy_document(TRUST)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(code(&bad_path), Some("ValidationError"));
    let short = iam
        .create_role()
        .role_name(unique("r"))
        .max_session_duration(60)
        .assume_role_policy_document(TRUST)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(code(&short), Some("ValidationError"));

    // Policy versions: at most 5, the default cannot be deleted.
    let policy = create_policy(&iam, &unique("p")).await;
    let arn = policy.arn.unwrap();
    for _ in 0..4 {
        iam.create_policy_version()
            .policy_arn(&arn)
            .policy_document(MANAGED)
            .set_as_default(true)
            .send()
            .await
            .unwrap();
    }
    let full = iam
        .create_policy_version()
        .policy_arn(&arn)
        .policy_document(MANAGED)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(full.is_limit_exceeded_exception(), "{full:?}");
    let versions = iam
        .list_policy_versions()
        .policy_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(versions.versions().len(), 5);
    let default = iam
        .delete_policy_version()
        .policy_arn(&arn)
        .version_id("v5")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(default.is_delete_conflict_exception(), "{default:?}");

    // Service-linked roles.
    let slr = iam
        .create_service_linked_role()
        .aws_service_name("ecs.amazonaws.com")
        .send()
        .await
        .unwrap()
        .role
        .unwrap();
    assert_eq!(slr.role_name, "AWSServiceRoleForECS");
    assert_eq!(slr.path, "/aws-service-role/ecs.amazonaws.com/");
    let protected = iam
        .delete_role()
        .role_name("AWSServiceRoleForECS")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(
        protected.is_unmodifiable_entity_exception(),
        "{protected:?}"
    );
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn updates_tags_entities_and_service_linked_deletion() {
    let emu = TestEmulator::start().await;
    let (iam, _) = clients(&emu).await;
    let name = unique("upd");
    create_role(&iam, &name, "/app/").await;
    iam.update_role()
        .role_name(&name)
        .max_session_duration(7200)
        .description("changed")
        .send()
        .await
        .unwrap();
    let described = iam
        .update_role_description()
        .role_name(&name)
        .description("again")
        .send()
        .await
        .unwrap()
        .role
        .unwrap();
    assert_eq!(described.description.as_deref(), Some("again"));
    assert_eq!(described.max_session_duration, Some(7200));
    let other_trust = r#"{"Version":"2012-10-17","Statement":[]}"#;
    iam.update_assume_role_policy()
        .role_name(&name)
        .policy_document(other_trust)
        .send()
        .await
        .unwrap();
    let role = get_role(&iam, &name).await;
    assert_eq!(
        decode(role.assume_role_policy_document().unwrap()),
        other_trust
    );

    for (k, v) in [("a", "1"), ("b", "2"), ("a", "3")] {
        iam.tag_role()
            .role_name(&name)
            .tags(Tag::builder().key(k).value(v).build().unwrap())
            .send()
            .await
            .unwrap();
    }
    iam.untag_role()
        .role_name(&name)
        .tag_keys("b")
        .send()
        .await
        .unwrap();
    let tags = iam.list_role_tags().role_name(&name).send().await.unwrap();
    let tags: Vec<_> = tags.tags().iter().map(|t| (t.key(), t.value())).collect();
    assert_eq!(tags, vec![("a", "3")]);

    let policy = iam
        .create_policy()
        .policy_name(unique("p"))
        .policy_document(MANAGED)
        .tags(Tag::builder().key("team").value("x").build().unwrap())
        .send()
        .await
        .unwrap()
        .policy
        .unwrap();
    let arn = policy.arn.unwrap();
    iam.attach_role_policy()
        .role_name(&name)
        .policy_arn(&arn)
        .send()
        .await
        .unwrap();
    let entities = iam
        .list_entities_for_policy()
        .policy_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(entities.policy_roles()[0].role_name(), Some(name.as_str()));
    assert!(entities.policy_users().is_empty() && entities.policy_groups().is_empty());
    let policy_tags = iam
        .list_policy_tags()
        .policy_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(policy_tags.tags()[0].key(), "team");
    let attached_only = iam
        .list_policies()
        .only_attached(true)
        .send()
        .await
        .unwrap();
    let names: Vec<_> = attached_only
        .policies()
        .iter()
        .filter_map(|p| p.arn())
        .collect();
    assert_eq!(names, vec![arn.as_str()]);

    iam.create_service_linked_role()
        .aws_service_name("ecs.amazonaws.com")
        .send()
        .await
        .unwrap();
    let taken = iam
        .create_service_linked_role()
        .aws_service_name("ecs.amazonaws.com")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(code(&taken), Some("InvalidInput"));
    let task = iam
        .delete_service_linked_role()
        .role_name("AWSServiceRoleForECS")
        .send()
        .await
        .unwrap()
        .deletion_task_id;
    let status = iam
        .get_service_linked_role_deletion_status()
        .deletion_task_id(&task)
        .send()
        .await
        .unwrap();
    assert_eq!(status.status.as_str(), "SUCCEEDED");
    let e = iam
        .get_role()
        .role_name("AWSServiceRoleForECS")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_no_such_entity_exception(), "{e:?}");
    emu.shutdown().await;
}
