//! Unit tests of the Secrets Manager model.

use time::Duration;

use super::password::PUNCTUATION;
use super::*;

const TOKEN_A: &str = "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa";
const TOKEN_B: &str = "bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb";

fn now() -> OffsetDateTime {
    OffsetDateTime::UNIX_EPOCH + Duration::days(20_000)
}

fn create(state: &mut SecretsState, name: &str, value: &str) -> Changed {
    state
        .create(
            CreateRequest {
                name: name.into(),
                token: Some(TOKEN_A.into()),
                value: Some(SecretValue::String(value.into())),
                ..Default::default()
            },
            "us-east-1",
            "000000000000",
            now(),
        )
        .unwrap()
}

/// PutSecretValue of the string `value` under TOKEN_B, with no stages.
fn put_b(
    state: &mut SecretsState,
    id: &str,
    value: &str,
) -> Result<(Changed, Vec<String>), SecretsError> {
    state.put_value(
        id,
        Some(TOKEN_B.into()),
        Some(SecretValue::String(value.into())),
        None,
        now(),
    )
}

fn text(
    state: &mut SecretsState,
    id: &str,
    version: Option<&str>,
    stage: Option<&str>,
) -> Result<String, &'static str> {
    match state.get_value(id, version, stage, now()) {
        Ok((_, v)) => match &v.value {
            SecretValue::String(s) => Ok(s.clone()),
            SecretValue::Binary(_) => Ok("<binary>".into()),
        },
        Err(e) => Err(e.code()),
    }
}

#[test]
fn ids_are_names_full_and_partial_arns() {
    let mut s = SecretsState::default();
    let created = create(&mut s, "app/db", "pw");
    assert!(created
        .arn
        .starts_with("arn:aws:secretsmanager:us-east-1:000000000000:secret:app/db-"));
    let suffix = created.arn.rsplit('-').next().unwrap();
    assert_eq!(suffix.len(), 6);
    assert!(suffix.chars().all(|c| c.is_ascii_alphanumeric()));
    let partial = &created.arn[..created.arn.len() - 7];
    for id in ["app/db", created.arn.as_str(), partial] {
        assert_eq!(text(&mut s, id, None, None), Ok("pw".into()), "{id}");
    }
    assert_eq!(
        text(&mut s, "app/d", None, None),
        Err("ResourceNotFoundException")
    );
    assert_eq!(
        text(&mut s, &format!("{partial}-zzzzzz"), None, None),
        Err("ResourceNotFoundException")
    );
}

#[test]
fn names_and_values_are_checked() {
    assert!(validate_name("a/b_c+d=e.f@g-h").is_ok());
    assert_eq!(
        validate_name("a b").unwrap_err().code(),
        "InvalidParameterException"
    );
    assert_eq!(
        validate_name(&"a".repeat(513)).unwrap_err().code(),
        "ValidationException"
    );
    assert_eq!(
        SecretValue::from_parts(Some("a".into()), Some(vec![1]))
            .unwrap_err()
            .code(),
        "InvalidParameterException"
    );
    assert_eq!(SecretValue::from_parts(None, None), Ok(None));
    assert_eq!(
        SecretValue::from_parts(Some(String::new()), None)
            .unwrap_err()
            .code(),
        "ValidationException"
    );
}

#[test]
fn create_is_idempotent_per_token() {
    let mut s = SecretsState::default();
    let first = create(&mut s, "x", "v");
    assert_eq!(create(&mut s, "x", "v"), first);
    let err = s
        .create(
            CreateRequest {
                name: "x".into(),
                token: Some(TOKEN_A.into()),
                value: Some(SecretValue::String("other".into())),
                ..Default::default()
            },
            "us-east-1",
            "000000000000",
            now(),
        )
        .unwrap_err();
    assert_eq!(err.code(), "ResourceExistsException");
    assert_eq!(
        err.to_string(),
        "The operation failed because the secret x already exists."
    );
}

#[test]
fn staging_labels_move_with_new_versions() {
    let mut s = SecretsState::default();
    create(&mut s, "x", "one");
    let (changed, stages) = put_b(&mut s, "x", "two").unwrap();
    assert_eq!(changed.version_id.as_deref(), Some(TOKEN_B));
    assert_eq!(stages, vec![AWSCURRENT.to_string()]);
    assert_eq!(text(&mut s, "x", None, None), Ok("two".into()));
    assert_eq!(text(&mut s, "x", None, Some(AWSPREVIOUS)), Ok("one".into()));
    assert_eq!(text(&mut s, "x", Some(TOKEN_A), None), Ok("one".into()));
    assert_eq!(
        text(&mut s, "x", Some(TOKEN_A), Some(AWSCURRENT)),
        Err("ResourceNotFoundException")
    );
    // Repeating the put is a no-op; another value under the token is refused.
    put_b(&mut s, "x", "two").unwrap();
    assert_eq!(s.secrets["x"].versions.len(), 2);
    assert_eq!(
        put_b(&mut s, "x", "3").unwrap_err().code(),
        "ResourceExistsException"
    );
    // Moving AWSCURRENT back needs RemoveFromVersionId.
    assert_eq!(
        s.update_stage("x", AWSCURRENT, None, Some(TOKEN_A), now())
            .unwrap_err()
            .code(),
        "InvalidParameterException"
    );
    s.update_stage("x", AWSCURRENT, Some(TOKEN_B), Some(TOKEN_A), now())
        .unwrap();
    assert_eq!(text(&mut s, "x", None, None), Ok("one".into()));
    assert_eq!(text(&mut s, "x", None, Some(AWSPREVIOUS)), Ok("two".into()));
    // A custom label is added and removed.
    s.update_stage("x", "BLUE", None, Some(TOKEN_B), now())
        .unwrap();
    assert_eq!(text(&mut s, "x", None, Some("BLUE")), Ok("two".into()));
    s.update_stage("x", "BLUE", Some(TOKEN_B), None, now())
        .unwrap();
    assert_eq!(
        text(&mut s, "x", None, Some("BLUE")),
        Err("ResourceNotFoundException")
    );
}

#[test]
fn deletion_recovery_and_force() {
    let mut s = SecretsState::default();
    create(&mut s, "x", "v");
    assert_eq!(
        s.delete("x", Some(3), false, now()).unwrap_err().code(),
        "InvalidParameterException"
    );
    assert_eq!(
        s.delete("x", Some(7), true, now()).unwrap_err().code(),
        "InvalidParameterException"
    );
    let (_, date) = s.delete("x", None, false, now()).unwrap();
    assert_eq!(date, now() + Duration::days(30));
    let err = s.get_value("x", None, None, now()).unwrap_err();
    assert_eq!(err, SecretsError::marked_for_deletion());
    assert_eq!(
        s.create(
            CreateRequest {
                name: "x".into(),
                ..Default::default()
            },
            "r",
            "a",
            now()
        )
        .unwrap_err()
        .code(),
        "InvalidRequestException"
    );
    s.restore("x", now()).unwrap();
    assert_eq!(text(&mut s, "x", None, None), Ok("v".into()));
    // Past the window the secret is gone.
    s.delete("x", Some(7), false, now()).unwrap();
    assert!(s.find("x", now() + Duration::days(8)).is_none());
    create(&mut s, "y", "v");
    s.delete("y", None, true, now()).unwrap();
    assert!(!s.secrets.contains_key("y"));
}

#[test]
fn random_passwords_follow_the_rules() {
    let p = random_password(&PasswordRules::default()).unwrap();
    assert_eq!(p.chars().count(), 32);
    assert!(p.chars().any(|c| c.is_ascii_lowercase()));
    assert!(p.chars().any(|c| c.is_ascii_uppercase()));
    assert!(p.chars().any(|c| c.is_ascii_digit()));
    assert!(p.chars().any(|c| PUNCTUATION.contains(c)));
    let rules = PasswordRules {
        length: Some(64),
        exclude_punctuation: true,
        exclude_uppercase: true,
        exclude_characters: "abc".into(),
        ..Default::default()
    };
    let p = random_password(&rules).unwrap();
    assert_eq!(p.len(), 64);
    assert!(p
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
    assert!(!p.contains(['a', 'b', 'c']));
    let none = PasswordRules {
        exclude_lowercase: true,
        exclude_uppercase: true,
        exclude_numbers: true,
        exclude_punctuation: true,
        ..Default::default()
    };
    assert_eq!(
        random_password(&none).unwrap_err().code(),
        "InvalidParameterException"
    );
    let too_long = PasswordRules {
        length: Some(4097),
        ..Default::default()
    };
    assert_eq!(
        random_password(&too_long).unwrap_err().code(),
        "ValidationException"
    );
}

#[test]
fn task_value_from_forms() {
    let mut s = SecretsState::default();
    let db = create(
        &mut s,
        "db",
        r#"{"user":"admin","port":5432,"nested":{"a":1}}"#,
    );
    create(&mut s, "plain", "text");
    put_b(&mut s, "db", r#"{"user":"next"}"#).unwrap();
    let partial = &db.arn[..db.arn.len() - 7];
    let resolve = |v: &str| s.resolve_at(v, now());
    assert_eq!(resolve("plain").unwrap(), "text");
    assert_eq!(resolve(&db.arn).unwrap(), r#"{"user":"next"}"#);
    assert_eq!(resolve(&format!("{}:user::", db.arn)).unwrap(), "next");
    assert_eq!(resolve(&format!("{partial}:user::")).unwrap(), "next");
    assert_eq!(
        resolve(&format!("{}:user:AWSPREVIOUS:", db.arn)).unwrap(),
        "admin"
    );
    assert_eq!(
        resolve(&format!("{}:port::{TOKEN_A}", db.arn)).unwrap(),
        "5432"
    );
    assert_eq!(
        resolve(&format!("{}:nested:AWSPREVIOUS:", db.arn)).unwrap(),
        r#"{"a":1}"#
    );
    assert_eq!(
        resolve(&format!("{}::AWSPREVIOUS:", db.arn)).unwrap().len(),
        45
    );
    let prefix = "unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve secret from asm: service call has been retried 1 time(s)";
    let missing = "arn:aws:secretsmanager:us-east-1:000000000000:secret:nope-abcdef";
    assert_eq!(
        resolve(&format!("{missing}:k::")).unwrap_err(),
        format!("{prefix}: failed to fetch secret {missing} from secrets manager: ResourceNotFoundException: Secrets Manager can't find the specified secret.")
    );
    assert_eq!(
        resolve(&format!("{}:password::", db.arn)).unwrap_err(),
        format!(
            "{prefix}: retrieved secret from Secrets Manager did not contain json key password"
        )
    );
    assert_eq!(
        resolve(&format!("{}::BLUE:", db.arn)).unwrap_err(),
        format!("{prefix}: failed to fetch secret {} from secrets manager: ResourceNotFoundException: Secrets Manager can't find the specified secret value for staging label: BLUE", db.arn)
    );
    assert!(resolve(&format!("{}:::{TOKEN_B}x", db.arn))
        .unwrap_err()
        .ends_with("can't find the specified secret value for VersionId: bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbbx"));
    assert!(resolve("plain:k").is_err());
    s.delete("plain", None, false, now()).unwrap();
    assert!(s
        .resolve_at("plain", now())
        .unwrap_err()
        .ends_with("InvalidRequestException: You can't perform this operation on the secret because it was marked for deletion."));
}
