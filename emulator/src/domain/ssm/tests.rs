//! Unit tests of the SSM Parameter Store model.

use super::*;

fn put(state: &mut SsmState, name: &str, value: &str, overwrite: bool) -> Result<u64, SsmError> {
    state
        .put(
            PutRequest {
                name: name.into(),
                value: value.into(),
                kind: Some(ParameterType::String),
                overwrite,
                ..Default::default()
            },
            OffsetDateTime::UNIX_EPOCH,
            "root",
        )
        .map(|(v, _)| v)
}

/// The error code of a PutParameter expected to fail.
fn put_error(state: &mut SsmState, request: PutRequest) -> &'static str {
    state
        .put(request, OffsetDateTime::UNIX_EPOCH, "u")
        .unwrap_err()
        .code()
}

fn put_typed(state: &mut SsmState, name: &str, value: &str, kind: ParameterType) {
    let request = PutRequest {
        name: name.into(),
        value: value.into(),
        kind: Some(kind),
        ..Default::default()
    };
    state.put(request, OffsetDateTime::UNIX_EPOCH, "u").unwrap();
}

#[test]
fn names_follow_aws_rules() {
    assert!(validate_name("/a/b-c_d.e").is_ok());
    assert!(validate_name("plain").is_ok());
    assert_eq!(
        validate_name("a/b").unwrap_err().code(),
        "ValidationException"
    );
    assert_eq!(
        validate_name("/aws/x").unwrap_err().code(),
        "ValidationException"
    );
    assert_eq!(
        validate_name("SSMthing").unwrap_err().code(),
        "ValidationException"
    );
    assert_eq!(
        validate_name("/a b").unwrap_err().code(),
        "ValidationException"
    );
    let deep = "/l".repeat(16);
    assert_eq!(
        validate_name(&deep).unwrap_err().code(),
        "HierarchyLevelLimitExceededException"
    );
    assert!(validate_name(&"/l".repeat(15)).is_ok());
}

#[test]
fn selectors_split_names_and_arns() {
    assert_eq!(parse_selector("/a/b"), ("/a/b", None));
    assert_eq!(
        parse_selector("/a/b:3"),
        ("/a/b", Some(Selector::Version(3)))
    );
    assert_eq!(
        parse_selector("/a/b:prod"),
        ("/a/b", Some(Selector::Label("prod".into())))
    );
    let arn = "arn:aws:ssm:us-east-1:000000000000:parameter/a/b";
    assert_eq!(parse_selector(arn), (arn, None));
    assert_eq!(
        parse_selector(&format!("{arn}:2")),
        (arn, Some(Selector::Version(2)))
    );
}

#[test]
fn versions_labels_and_selectors() {
    let mut s = SsmState::default();
    assert_eq!(put(&mut s, "/p", "one", false), Ok(1));
    assert_eq!(
        put(&mut s, "/p", "two", false),
        Err(SsmError::ParameterAlreadyExists)
    );
    assert_eq!(put(&mut s, "/p", "two", true), Ok(2));
    let (invalid, v) = s
        .label("/p", Some(1), &["prod".into(), "9bad".into()])
        .unwrap();
    assert_eq!((invalid, v), (vec!["9bad".to_string()], 1));
    assert_eq!(s.get("/p:prod").unwrap().1.value, "one");
    assert_eq!(s.get("/p:2").unwrap().1.value, "two");
    assert_eq!(s.get("/p").unwrap().1.value, "two");
    assert_eq!(
        s.get("/p:7").unwrap_err().code(),
        "ParameterVersionNotFound"
    );
    assert_eq!(s.get("/q").unwrap_err().code(), "ParameterNotFound");
    // Labelling another version moves the label.
    s.label("/p", None, &["prod".into()]).unwrap();
    assert_eq!(s.get("/p:prod").unwrap().1.version, 2);
    let (removed, invalid) = s.unlabel("/p", 2, &["prod".into(), "x".into()]).unwrap();
    assert_eq!((removed, invalid), (vec!["prod".into()], vec!["x".into()]));
}

#[test]
fn the_oldest_version_goes_unless_labelled() {
    let mut s = SsmState::default();
    put(&mut s, "/p", "v", false).unwrap();
    for _ in 1..MAX_VERSIONS {
        put(&mut s, "/p", "v", true).unwrap();
    }
    assert_eq!(put(&mut s, "/p", "v", true), Ok(101));
    assert_eq!(s.parameters["/p"].versions[0].version, 2);
    s.label("/p", Some(2), &["keep".into()]).unwrap();
    assert_eq!(
        put(&mut s, "/p", "v", true).unwrap_err().code(),
        "ParameterMaxVersionLimitExceeded"
    );
}

#[test]
fn tiers_patterns_types_and_tags() {
    let mut s = SsmState::default();
    let big = "x".repeat(STANDARD_VALUE_LIMIT + 1);
    let request = |tier: Option<&str>| PutRequest {
        name: "/big".into(),
        value: big.clone(),
        kind: Some(ParameterType::String),
        tier: tier.map(String::from),
        ..Default::default()
    };
    assert_eq!(put_error(&mut s, request(None)), "ValidationException");
    let (_, tier) = s
        .put(
            request(Some("Intelligent-Tiering")),
            OffsetDateTime::UNIX_EPOCH,
            "u",
        )
        .unwrap();
    assert_eq!(tier, Tier::Advanced);
    let patterned = PutRequest {
        name: "/num".into(),
        value: "abc".into(),
        kind: Some(ParameterType::String),
        allowed_pattern: Some("^\\d+$".into()),
        ..Default::default()
    };
    assert_eq!(
        put_error(&mut s, patterned),
        "ParameterPatternMismatchException"
    );
    let untyped = PutRequest {
        name: "/untyped".into(),
        value: "v".into(),
        ..Default::default()
    };
    assert_eq!(put_error(&mut s, untyped), "ValidationException");
    let tagged_overwrite = PutRequest {
        name: "/t".into(),
        value: "v".into(),
        kind: Some(ParameterType::String),
        overwrite: true,
        tags: vec![("k".into(), "v".into())],
        ..Default::default()
    };
    assert!(s
        .put(tagged_overwrite, OffsetDateTime::UNIX_EPOCH, "u")
        .unwrap_err()
        .to_string()
        .contains("tags and overwrite"));
    let ami = PutRequest {
        name: "/ami".into(),
        value: "not-an-ami".into(),
        kind: Some(ParameterType::String),
        data_type: Some("aws:ec2:image".into()),
        ..Default::default()
    };
    assert_eq!(put_error(&mut s, ami), "ValidationException");
}

#[test]
fn paths_and_filters() {
    assert!(is_under("/a/b", "/a", false));
    assert!(!is_under("/a/b/c", "/a", false));
    assert!(is_under("/a/b/c", "/a/", true));
    assert!(!is_under("/ab", "/a", true));
    assert!(is_under("/a", "/", false));
    assert!(!is_under("/a/b", "/", false));
    assert!(!is_under("plain", "/", true));
    let mut s = SsmState::default();
    put(&mut s, "/app/db/url", "u", false).unwrap();
    put(&mut s, "plain", "p", false).unwrap();
    let filter = |key: &str, option: Option<&str>, value: &str| StringFilter {
        key: key.into(),
        option: option.map(String::from),
        values: vec![value.into()],
    };
    let p = &s.parameters["/app/db/url"];
    assert!(filter("Name", Some("BeginsWith"), "/app").matches(p));
    assert!(filter("Name", None, "app/db/url").matches(p));
    assert!(filter("Path", Some("Recursive"), "/app").matches(p));
    assert!(!filter("Path", None, "/app").matches(p));
    assert!(filter("Type", None, "String").matches(p));
    assert!(filter("Name", None, "/plain").matches(&s.parameters["plain"]));
    assert_eq!(
        filter("Name", None, "x")
            .validate(FilterContext::ByPath)
            .unwrap_err()
            .code(),
        "InvalidFilterKey"
    );
    assert_eq!(
        filter("Path", Some("Equals"), "/x")
            .validate(FilterContext::Describe)
            .unwrap_err()
            .code(),
        "InvalidFilterOption"
    );
    assert_eq!(
        filter("Type", None, "Number")
            .validate(FilterContext::Describe)
            .unwrap_err()
            .code(),
        "InvalidFilterValue"
    );
}

#[test]
fn secure_strings_are_opaque_without_decryption() {
    let mut s = SsmState::default();
    put_typed(&mut s, "/secret", "hunter2", ParameterType::SecureString);
    let v = s.parameters["/secret"].latest();
    assert_eq!(v.key_id.as_deref(), Some(DEFAULT_KEY_ID));
    assert_eq!(v.value_for(true), "hunter2");
    assert_ne!(v.value_for(false), "hunter2");
    assert!(!v.value_for(false).contains("hunter2"));
}

#[test]
fn resolve_for_task_by_name_and_arn() {
    let mut s = SsmState::default();
    put(&mut s, "/app/db/password", "one", false).unwrap();
    put(&mut s, "/app/db/password", "two", true).unwrap();
    put(&mut s, "name", "plain", false).unwrap();
    put_typed(&mut s, "/list", "a,b", ParameterType::StringList);
    put_typed(&mut s, "/sec", "s3cret", ParameterType::SecureString);
    assert_eq!(s.resolve_for_task("/app/db/password").unwrap(), "two");
    assert_eq!(s.resolve_for_task("name").unwrap(), "plain");
    assert_eq!(s.resolve_for_task("/list").unwrap(), "a,b");
    assert_eq!(s.resolve_for_task("/sec").unwrap(), "s3cret");
    let arn = "arn:aws:ssm:us-east-1:000000000000:parameter";
    assert_eq!(
        s.resolve_for_task(&format!("{arn}/app/db/password"))
            .unwrap(),
        "two"
    );
    assert_eq!(s.resolve_for_task(&format!("{arn}/name")).unwrap(), "plain");
    assert_eq!(
        s.resolve_for_task("/missing").unwrap_err(),
        "unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve secrets from ssm: service call has been retried 1 time(s): invalid ssm parameters: /missing"
    );
}
