use super::*;

fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: BTreeMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |name| map.get(name).cloned()
}

fn parsed(text: &str) -> (ComposeFile, Vec<String>) {
    let mut warnings = vec![];
    let file = parse(text, &vars(&[]), &mut warnings).unwrap();
    (file, warnings)
}

#[test]
fn interpolation_reaches_every_value_and_a_failure_names_the_field() {
    let mut warnings = vec![];
    let file = parse(
        "services:\n  web:\n    image: app:${TAG:-v1}\n    ports: [\"${PORT}:8080\"]\n",
        &vars(&[("PORT", "80")]),
        &mut warnings,
    )
    .unwrap();
    let web = &file.services["web"];
    assert_eq!(web.image.as_deref(), Some("app:v1"));
    assert_eq!(web.ports[0].mapping().unwrap().published, Some(80));
    let err = parse(
        "services:\n  web:\n    image: ${IMAGE:?name an image}\n",
        &vars(&[]),
        &mut warnings,
    )
    .unwrap_err();
    assert!(err.starts_with("services.web.image: "), "{err}");
}

#[test]
fn port_syntaxes() {
    let (file, _) = parsed(
        "services:\n  web:\n    image: x\n    ports:\n      - 8080\n      - \"80:8080\"\n      - 127.0.0.1:81:8081\n      - \"[::1]:82:8082/udp\"\n      - target: 9090\n        published: \"90\"\n        protocol: tcp\n      - target: 9091\n",
    );
    let mappings: Vec<PortMapping> = file.services["web"]
        .ports
        .iter()
        .map(|p| p.mapping().unwrap())
        .collect();
    let m = |target, published, protocol: &str| PortMapping {
        target,
        published,
        protocol: protocol.into(),
    };
    assert_eq!(
        mappings,
        vec![
            m(8080, None, "tcp"),
            m(8080, Some(80), "tcp"),
            m(8081, Some(81), "tcp"),
            m(8082, Some(82), "udp"),
            m(9090, Some(90), "tcp"),
            m(9091, None, "tcp"),
        ]
    );
    let (file, _) =
        parsed("services:\n  web:\n    image: x\n    ports: [\"8000-8001:8000-8001\"]\n");
    let err = file.services["web"].ports[0].mapping().unwrap_err();
    assert!(err.contains("ranges are not supported"), "{err}");
}

#[test]
fn environment_as_map_or_list_and_commands_as_string_or_list() {
    let (file, _) = parsed(
        "services:\n  a:\n    image: x\n    environment:\n      N: 3\n      ON: true\n    command: serve --port 80 \"a b\"\n  b:\n    image: x\n    environment: [A=1, B=two=2]\n    entrypoint: [/bin/sh, -c]\n",
    );
    let a = &file.services["a"];
    match a.environment.as_ref().unwrap() {
        Environment::Map(map) => {
            assert_eq!(map["N"].as_ref().unwrap().to_string(), "3");
            assert_eq!(map["ON"].as_ref().unwrap().to_string(), "true");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        a.command.as_ref().unwrap().args().unwrap(),
        ["serve", "--port", "80", "a b"]
    );
    let b = &file.services["b"];
    assert!(matches!(b.environment, Some(Environment::List(_))));
    assert_eq!(
        b.entrypoint.as_ref().unwrap().args().unwrap(),
        ["/bin/sh", "-c"]
    );
    let bad = Command::Shell("echo \"unclosed".into()).args().unwrap_err();
    assert!(bad.contains("unclosed"), "{bad}");
}

#[test]
fn unsupported_and_unknown_fields_are_warned_by_name() {
    let (_, warnings) = parsed(
        "version: \"3.8\"\nx-common: &common {}\nservices:\n  web:\n    image: x\n    privileged: true\n    network_mode: host\n    restart: always\n    frobnicate: 1\n    x-note: fine\n    deploy:\n      placement: {}\n",
    );
    let named = |field: &str| warnings.iter().find(|w| w.starts_with(field)).cloned();
    assert!(named("services.web.privileged")
        .unwrap()
        .contains("privileged containers"));
    assert!(named("services.web.network_mode")
        .unwrap()
        .contains("awsvpc"));
    assert!(named("services.web.restart").is_some());
    assert!(named("services.web.frobnicate")
        .unwrap()
        .contains("no ECS meaning"));
    assert!(named("services.web.deploy.placement").is_some());
    assert_eq!(
        warnings.len(),
        5,
        "x- fields and version draw none: {warnings:?}"
    );
}

#[test]
fn malformed_files_get_errors_with_a_line_or_a_field() {
    let mut warnings = vec![];
    let err = parse(
        "services:\n  web:\n    image: [unclosed\n",
        &vars(&[]),
        &mut warnings,
    )
    .unwrap_err();
    assert!(err.contains("line"), "{err}");
    let err = parse(
        "services:\n  web:\n    image: x\n    healthcheck:\n      retries: many\n",
        &vars(&[]),
        &mut warnings,
    )
    .unwrap_err();
    assert!(err.contains("services.web.healthcheck.retries"), "{err}");
    let err = parse("", &vars(&[]), &mut warnings).unwrap_err();
    assert!(err.contains("empty"), "{err}");
    let err = parse("services: {}\n", &vars(&[]), &mut warnings).unwrap_err();
    assert!(err.contains("no service"), "{err}");
}

#[test]
fn depends_on_volumes_labels_and_ulimits_in_both_forms() {
    let (file, _) = parsed(
        "services:\n  a:\n    image: x\n    depends_on: [b]\n    volumes: [data:/data:ro, ./src:/src, /anon]\n    labels: [team=web]\n    ulimits:\n      nofile: {soft: 1024, hard: 2048}\n      nproc: 64\n  b:\n    image: x\n    depends_on:\n      c: {condition: service_healthy}\n    labels: {tier: back}\n    volumes:\n      - type: bind\n        source: /srv\n        target: /srv\n  c:\n    image: x\n",
    );
    let a = &file.services["a"];
    assert_eq!(
        a.depends_on.as_ref().unwrap().entries(),
        [("b".to_string(), Condition::ServiceStarted)]
    );
    let mounts: Vec<Mount> = a.volumes.iter().map(VolumeMount::mount).collect();
    assert_eq!(
        (mounts[0].kind.as_str(), mounts[0].read_only),
        ("volume", true)
    );
    assert_eq!(mounts[1].kind, "bind");
    assert_eq!(
        (mounts[2].kind.as_str(), mounts[2].source.as_deref()),
        ("volume", None)
    );
    assert_eq!(a.labels.as_ref().unwrap().entries()["team"], "web");
    assert_eq!(a.ulimits["nofile"].soft_hard(), (1024, 2048));
    assert_eq!(a.ulimits["nproc"].soft_hard(), (64, 64));
    let b = &file.services["b"];
    assert_eq!(
        b.depends_on.as_ref().unwrap().entries(),
        [("c".to_string(), Condition::ServiceHealthy)]
    );
    assert_eq!(b.volumes[0].mount().kind, "bind");
}

#[test]
fn load_reads_dotenv_env_files_and_the_project_name() {
    let dir = std::env::temp_dir().join(format!("compose-load-{}", uuid::Uuid::new_v4().simple()));
    let project_dir = dir.join("My App");
    std::fs::create_dir_all(&project_dir).unwrap();
    std::fs::write(project_dir.join(".env"), "TAG=v3\nFROM_DOTENV=dotenv\n").unwrap();
    std::fs::write(project_dir.join("web.env"), "A=from-file\nB=from-file\n").unwrap();
    let path = project_dir.join("docker-compose.yml");
    std::fs::write(
        &path,
        "services:\n  web:\n    image: app:${TAG}\n    env_file: web.env\n    environment:\n      B: inline\n      FROM_DOTENV:\n      SHELL_ONLY:\n      ABSENT:\n",
    )
    .unwrap();
    let project = load(&path, None, &vars(&[("SHELL_ONLY", "shell")])).unwrap();
    assert_eq!(project.name, "myapp");
    assert_eq!(
        project.file.services["web"].image.as_deref(),
        Some("app:v3")
    );
    let env = &project.environments["web"];
    assert_eq!(env["A"], "from-file");
    assert_eq!(env["B"], "inline");
    assert_eq!(env["FROM_DOTENV"], "dotenv");
    assert_eq!(env["SHELL_ONLY"], "shell");
    assert!(!env.contains_key("ABSENT"));
    // The shell wins over .env; --project-name over the directory.
    let project = load(&path, Some("Other_One"), &vars(&[("TAG", "shell")])).unwrap();
    assert_eq!(project.name, "other_one");
    assert_eq!(
        project.file.services["web"].image.as_deref(),
        Some("app:shell")
    );

    std::fs::write(
        &path,
        "services:\n  web:\n    image: x\n    env_file: missing.env\n",
    )
    .unwrap();
    let err = load(&path, None, &vars(&[])).unwrap_err().to_string();
    assert!(
        err.contains("docker-compose.yml") && err.contains("services.web.env_file"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn project_names_are_normalised_as_compose_does() {
    assert_eq!(
        normalize_project_name("My App.v2").as_deref(),
        Some("myappv2")
    );
    assert_eq!(normalize_project_name("_x-1").as_deref(), Some("x-1"));
    assert_eq!(normalize_project_name("..."), None);
}
