//! Test harness for end-to-end tests: a real emulator on a real socket, the
//! official AWS SDK clients pointed at it, and the real Docker engine.
//!
//! Every [`TestEmulator`] has its own instance name, so tests run in
//! parallel without seeing each other's containers, and everything it
//! created is removed on [`TestEmulator::shutdown`] or, if a test panics
//! first, on drop.

use std::net::SocketAddr;
use std::time::Duration;

use aws_sdk_ecs::config::{BehaviorVersion, Credentials, Region};
use emulator::{Config, Emulator};

pub mod process;
pub mod soak;
pub mod web;

pub use test_support::{ports, target, text, wait_until, Backend, BoxBody};

/// The image `cargo xtask sample-image` builds.
pub const SAMPLE_IMAGE: &str = "sample-app:latest";

pub struct TestEmulator {
    emulator: Option<Emulator>,
    pub instance: String,
    pub ecs: aws_sdk_ecs::Client,
    pub elbv2: aws_sdk_elasticloadbalancingv2::Client,
    pub cloud_map: aws_sdk_servicediscovery::Client,
}

impl TestEmulator {
    /// An emulator on `127.0.0.1:0` with time scaled by 0.1.
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// Same, with the config adjusted first.
    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> Self {
        let instance = format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
        let mut config = Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            instance: instance.clone(),
            time_scale: 0.1,
            ..Config::default()
        };
        adjust(&mut config);
        let emulator = Emulator::start(config).await.expect("emulator starts");
        let sdk = sdk_config(&emulator.endpoint_url()).await;
        Self {
            ecs: aws_sdk_ecs::Client::new(&sdk),
            elbv2: aws_sdk_elasticloadbalancingv2::Client::new(&sdk),
            cloud_map: cloud_map_client(&sdk),
            emulator: Some(emulator),
            instance,
        }
    }

    pub fn emulator(&self) -> &Emulator {
        self.emulator.as_ref().expect("running")
    }

    pub fn endpoint_url(&self) -> String {
        self.emulator().endpoint_url()
    }

    pub fn addr(&self) -> SocketAddr {
        self.emulator().addr()
    }

    /// Stops every task, removes every container and network, and checks
    /// that nothing of this instance is left on the Docker engine.
    pub async fn shutdown(mut self) {
        if let Some(emulator) = self.emulator.take() {
            emulator.shutdown().await;
        }
        assert_eq!(
            leftover_containers(&self.instance).await,
            0,
            "containers left behind"
        );
    }
}

impl Drop for TestEmulator {
    fn drop(&mut self) {
        let Some(emulator) = &self.emulator else {
            return;
        };
        // The test failed before shutdown(). Stop the reconcilers, then
        // remove the instance's Docker objects from a separate thread (drop
        // cannot await). A task driver may still be creating a container on
        // another worker, so sweep until the instance stays empty.
        emulator.begin_shutdown();
        remove_instance_objects(&self.instance);
    }
}

/// Removes an emulator instance's Docker objects, from a separate thread
/// with its own runtime (for `Drop`, which cannot await). A task driver may
/// still be creating a container, so it sweeps until the instance stays
/// empty.
pub fn remove_instance_objects(instance: &str) {
    let instance = instance.to_string();
    let _ = std::thread::spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        rt.block_on(async {
            let deadline = tokio::time::Instant::now() + CLEANUP_SWEEP_LIMIT;
            let mut empty_sweeps = 0;
            while empty_sweeps < 2 && tokio::time::Instant::now() < deadline {
                let _ = emulator::runtime::docker::cleanup_instance(&instance).await;
                empty_sweeps = if leftover_containers(&instance).await == 0 {
                    empty_sweeps + 1
                } else {
                    0
                };
                // The pace of the sweep: a container created late shows
                // up on the next one.
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        });
    })
    .join();
}

/// How long a failed test's clean-up keeps sweeping for late containers.
const CLEANUP_SWEEP_LIMIT: Duration = Duration::from_secs(15);

/// SDK config for an emulator endpoint: static test credentials, us-east-1.
pub async fn sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "tests"))
        .load()
        .await
}

/// A Cloud Map client whose DiscoverInstances calls reach the endpoint
/// itself, not `data-` before it (see [`StripDataHostPrefix`]).
pub fn cloud_map_client(sdk: &aws_config::SdkConfig) -> aws_sdk_servicediscovery::Client {
    let config = aws_sdk_servicediscovery::config::Builder::from(sdk)
        .interceptor(StripDataHostPrefix)
        .build();
    aws_sdk_servicediscovery::Client::from_conf(config)
}

/// Takes off the `data-` host prefix the SDK puts before DiscoverInstances'
/// endpoint (`data-127.0.0.1` resolves nowhere): the Rust SDK has no setting
/// that turns host prefixes off.
#[derive(Debug)]
struct StripDataHostPrefix;

impl aws_sdk_servicediscovery::config::Intercept for StripDataHostPrefix {
    fn name(&self) -> &'static str {
        "StripDataHostPrefix"
    }

    fn modify_before_signing(
        &self,
        context: &mut aws_sdk_servicediscovery::config::interceptors::BeforeTransmitInterceptorContextMut<'_>,
        _: &aws_sdk_servicediscovery::config::RuntimeComponents,
        _: &mut aws_sdk_servicediscovery::config::ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let request = context.request_mut();
        let uri = request.uri().replacen("://data-", "://", 1);
        request.set_uri(uri)?;
        Ok(())
    }
}

/// A unique, valid resource name: `prefix-<8 hex>`.
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    )
}

/// A plain HTTP/1.1 GET with a fresh connection; returns status and body.
pub async fn http_get(url: &str) -> anyhow::Result<(u16, String)> {
    http_request("GET", url).await
}

/// A body-less HTTP/1.1 request with a fresh connection; status and body.
pub async fn http_request(method: &str, url: &str) -> anyhow::Result<(u16, String)> {
    let (status, _, body) = http_exchange(method, url).await?;
    Ok((status, body))
}

/// Like [`http_request`], with the response headers too.
pub async fn http_exchange(
    method: &str,
    url: &str,
) -> anyhow::Result<(u16, hyper::HeaderMap, String)> {
    use http_body_util::{BodyExt, Empty};
    let uri: hyper::Uri = url.parse()?;
    let host = uri
        .host()
        .ok_or_else(|| anyhow::anyhow!("no host in {url}"))?;
    let port = uri.port_u16().unwrap_or(80);
    let stream = tokio::net::TcpStream::connect((host, port)).await?;
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let request = hyper::Request::builder()
        .method(method)
        .uri(uri.path_and_query().map(|p| p.as_str()).unwrap_or("/"))
        .header(hyper::header::HOST, format!("{host}:{port}"))
        .body(Empty::<bytes::Bytes>::new())?;
    let response = sender.send_request(request).await?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await?.to_bytes();
    Ok((status, headers, String::from_utf8_lossy(&body).into_owned()))
}

/// What [`post`] got back.
pub struct RawResponse {
    pub status: u16,
    pub body: String,
    pub content_type: Option<String>,
}

/// POSTs `body` to `/` of the control port with the given headers, with no
/// SDK in between (for checking wire shapes and bad input).
pub async fn post(addr: SocketAddr, headers: &[(&str, &str)], body: &str) -> RawResponse {
    use http_body_util::{BodyExt, Full};
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connect to the control port");
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .expect("HTTP/1 handshake");
    tokio::spawn(conn);
    let mut request = hyper::Request::post("/").header("host", addr.to_string());
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let response = sender
        .send_request(
            request
                .body(Full::new(bytes::Bytes::from(body.to_string())))
                .expect("request"),
        )
        .await
        .expect("response");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    RawResponse {
        status,
        body: String::from_utf8_lossy(&body).into_owned(),
        content_type,
    }
}

/// An AWS JSON 1.1 call, `target` being `Prefix.Operation`; the body as JSON.
pub async fn post_json(
    addr: SocketAddr,
    target: &str,
    body: serde_json::Value,
) -> (u16, serde_json::Value) {
    let response = post(
        addr,
        &[
            ("content-type", "application/x-amz-json-1.1"),
            ("x-amz-target", target),
        ],
        &body.to_string(),
    )
    .await;
    let json = serde_json::from_str(&response.body).expect("a JSON body");
    (response.status, json)
}

/// Docker containers still labelled with `instance` (0 after a clean shutdown).
pub async fn leftover_containers(instance: &str) -> usize {
    use bollard::query_parameters::ListContainersOptionsBuilder;
    let docker = bollard::Docker::connect_with_local_defaults()
        .expect("docker")
        .negotiate_version()
        .await
        .expect("docker version");
    let filter = std::collections::HashMap::from([(
        "label".to_string(),
        vec![format!(
            "{}={instance}",
            emulator::runtime::docker::LABEL_INSTANCE
        )],
    )]);
    docker
        .list_containers(Some(
            ListContainersOptionsBuilder::new()
                .all(true)
                .filters(&filter)
                .build(),
        ))
        .await
        .expect("list containers")
        .len()
}

/// Every Docker container of the task, the sandbox included (it has no
/// container-name label), running or not.
pub async fn task_containers(task_arn: &str) -> Vec<bollard::models::ContainerSummary> {
    use bollard::query_parameters::ListContainersOptionsBuilder;
    let filters = std::collections::HashMap::from([(
        "label".to_string(),
        vec![format!("com.amazonaws.ecs.task-arn={task_arn}")],
    )]);
    bollard::Docker::connect_with_local_defaults()
        .unwrap()
        .list_containers(Some(
            ListContainersOptionsBuilder::new()
                .all(true)
                .filters(&filters)
                .build(),
        ))
        .await
        .unwrap()
}

/// The Docker id of the task's container named `name` (as in its task
/// definition).
pub async fn task_container_id(task_arn: &str, name: &str) -> String {
    task_containers(task_arn)
        .await
        .into_iter()
        .find(|c| {
            c.labels
                .as_ref()
                .and_then(|l| l.get("com.amazonaws.ecs.container-name"))
                .is_some_and(|n| n == name)
        })
        .and_then(|c| c.id)
        .unwrap_or_else(|| panic!("no container {name} in {task_arn}"))
}

/// The environment Docker gives the task's container named `name`.
pub async fn container_env(task_arn: &str, name: &str) -> Vec<String> {
    let id = task_container_id(task_arn, name).await;
    bollard::Docker::connect_with_local_defaults()
        .unwrap()
        .inspect_container(
            &id,
            None::<bollard::query_parameters::InspectContainerOptions>,
        )
        .await
        .unwrap()
        .config
        .and_then(|c| c.env)
        .unwrap_or_default()
}

/// ECS helpers shared by the tests.
pub mod ecs {
    use aws_sdk_ecs::types::{
        AssignPublicIp, AwsVpcConfiguration, Compatibility, ContainerDefinition, KeyValuePair,
        LaunchType, NetworkConfiguration, NetworkMode, PortMapping, Task,
    };

    /// The sample-app container listening on 8080.
    pub fn sample_container(
        name: &str,
    ) -> aws_sdk_ecs::types::builders::ContainerDefinitionBuilder {
        ContainerDefinition::builder()
            .name(name)
            .image(super::SAMPLE_IMAGE)
            .essential(true)
            .port_mappings(PortMapping::builder().container_port(8080).build())
    }

    /// A health check that runs `sample-app healthcheck PORT` inside the
    /// container (every 5 s, 2 s timeout, 3 retries).
    pub fn sample_health_check(port: u16) -> aws_sdk_ecs::types::HealthCheck {
        aws_sdk_ecs::types::HealthCheck::builder()
            .command("CMD")
            .command("/sample-app")
            .command("healthcheck")
            .command(port.to_string())
            .interval(5)
            .timeout(2)
            .retries(3)
            .build()
            .unwrap()
    }

    /// Runs one task of `family` in `default` and waits for RUNNING; its
    /// ARN and private IP.
    pub async fn run_one_running(client: &aws_sdk_ecs::Client, family: &str) -> (String, String) {
        use aws_sdk_ecs::client::Waiters;
        let arns = run(client, "default", family, 1).await;
        client
            .wait_until_tasks_running()
            .tasks(&arns[0])
            .wait(std::time::Duration::from_secs(60))
            .await
            .expect("the task reaches RUNNING");
        let ip = private_ip(&describe(client, "default", &arns).await[0]);
        (arns[0].clone(), ip)
    }

    /// `(task ARN, private IP)` of the service's tasks (default cluster)
    /// that are RUNNING and meant to stay so.
    pub async fn running_tasks(
        client: &aws_sdk_ecs::Client,
        service: &str,
    ) -> std::collections::BTreeSet<(String, String)> {
        let arns = client
            .list_tasks()
            .service_name(service)
            .desired_status(aws_sdk_ecs::types::DesiredStatus::Running)
            .send()
            .await
            .unwrap()
            .task_arns()
            .to_vec();
        if arns.is_empty() {
            return Default::default();
        }
        describe(client, "default", &arns)
            .await
            .iter()
            .filter(|t| t.last_status() == Some("RUNNING"))
            .map(|t| (t.task_arn().unwrap_or_default().to_string(), private_ip(t)))
            .collect()
    }

    /// DescribeServices for one service of the default cluster.
    pub async fn describe_service(
        client: &aws_sdk_ecs::Client,
        service: &str,
    ) -> aws_sdk_ecs::types::Service {
        client
            .describe_services()
            .services(service)
            .send()
            .await
            .unwrap()
            .services()[0]
            .clone()
    }

    pub fn env(name: &str, value: &str) -> KeyValuePair {
        KeyValuePair::builder().name(name).value(value).build()
    }

    /// Registers a 256 CPU / 512 MiB Fargate task definition.
    pub async fn register(
        client: &aws_sdk_ecs::Client,
        family: &str,
        containers: Vec<ContainerDefinition>,
    ) -> String {
        client
            .register_task_definition()
            .family(family)
            .network_mode(NetworkMode::Awsvpc)
            .requires_compatibilities(Compatibility::Fargate)
            .cpu("256")
            .memory("512")
            .set_container_definitions(Some(containers))
            .send()
            .await
            .expect("register task definition")
            .task_definition
            .and_then(|d| d.task_definition_arn)
            .expect("task definition ARN")
    }

    pub fn network() -> NetworkConfiguration {
        NetworkConfiguration::builder()
            .awsvpc_configuration(
                AwsVpcConfiguration::builder()
                    .subnets("subnet-12345678")
                    .assign_public_ip(AssignPublicIp::Disabled)
                    .build()
                    .expect("awsvpc configuration"),
            )
            .build()
    }

    /// CreateService for a Fargate service of `count` tasks of `family` in
    /// `default`, on the default network; callers add what they test.
    pub fn fargate_service(
        client: &aws_sdk_ecs::Client,
        service: &str,
        family: &str,
        count: i32,
    ) -> aws_sdk_ecs::operation::create_service::builders::CreateServiceFluentBuilder {
        client
            .create_service()
            .service_name(service)
            .task_definition(family)
            .desired_count(count)
            .launch_type(LaunchType::Fargate)
            .network_configuration(network())
    }

    /// Waits (90 s at most) until the services of `default` are stable.
    pub async fn wait_stable(client: &aws_sdk_ecs::Client, services: &[&str]) {
        use aws_sdk_ecs::client::Waiters;
        client
            .wait_until_services_stable()
            .set_services(Some(services.iter().map(|s| s.to_string()).collect()))
            .wait(std::time::Duration::from_secs(90))
            .await
            .expect("the services become stable");
    }

    /// A Fargate service of `count` tasks of `family` whose `app` container
    /// (port 8080) is registered in `target_group_arn`; returns once stable.
    pub async fn create_stable_service(
        client: &aws_sdk_ecs::Client,
        cluster: &str,
        service: &str,
        family: &str,
        target_group_arn: &str,
        count: i32,
    ) {
        use aws_sdk_ecs::client::Waiters;
        client
            .create_service()
            .cluster(cluster)
            .service_name(service)
            .task_definition(family)
            .desired_count(count)
            .launch_type(LaunchType::Fargate)
            .network_configuration(network())
            .load_balancers(
                aws_sdk_ecs::types::LoadBalancer::builder()
                    .target_group_arn(target_group_arn)
                    .container_name("app")
                    .container_port(8080)
                    .build(),
            )
            .send()
            .await
            .expect("create service");
        client
            .wait_until_services_stable()
            .cluster(cluster)
            .services(service)
            .wait(std::time::Duration::from_secs(90))
            .await
            .expect("service becomes stable");
    }

    /// RunTask on Fargate; returns the task ARNs.
    pub async fn run(
        client: &aws_sdk_ecs::Client,
        cluster: &str,
        task_definition: &str,
        count: i32,
    ) -> Vec<String> {
        let out = client
            .run_task()
            .cluster(cluster)
            .task_definition(task_definition)
            .count(count)
            .launch_type(LaunchType::Fargate)
            .network_configuration(network())
            .send()
            .await
            .expect("run task");
        assert!(out.failures().is_empty(), "failures: {:?}", out.failures());
        out.tasks()
            .iter()
            .filter_map(|t| t.task_arn.clone())
            .collect()
    }

    pub async fn describe(
        client: &aws_sdk_ecs::Client,
        cluster: &str,
        arns: &[String],
    ) -> Vec<Task> {
        client
            .describe_tasks()
            .cluster(cluster)
            .set_tasks(Some(arns.to_vec()))
            .send()
            .await
            .expect("describe tasks")
            .tasks
            .unwrap_or_default()
    }

    /// The ENI's private IPv4 address from `attachments`.
    pub fn private_ip(task: &Task) -> String {
        task.attachments()
            .iter()
            .flat_map(|a| a.details())
            .find(|d| d.name() == Some("privateIPv4Address"))
            .and_then(|d| d.value())
            .expect("task has a private IP")
            .to_string()
    }
}

/// ALB helpers shared by the tests.
pub mod alb {
    use aws_sdk_elasticloadbalancingv2::types::{
        Action, ActionTypeEnum, ProtocolEnum, TargetGroupAttribute, TargetTypeEnum,
    };

    /// A load balancer with one listener forwarding to one `ip` target group.
    pub struct Alb {
        pub load_balancer_arn: String,
        pub target_group_arn: String,
        pub listener_arn: String,
        pub port: u16,
    }

    impl Alb {
        /// `http://127.0.0.1:PORT`
        pub fn url(&self) -> String {
            format!("http://127.0.0.1:{}", self.port)
        }
    }

    /// Creates a target group (health check `/health` every 5 s, thresholds
    /// 2, deregistration delay 5 s: all scaled by the emulator's time scale),
    /// a load balancer and a listener on a free port.
    pub async fn create(client: &aws_sdk_elasticloadbalancingv2::Client, name: &str) -> Alb {
        let target_group_arn = create_target_group(client, &format!("{name}-tg")).await;
        let lb = client
            .create_load_balancer()
            .name(format!("{name}-lb"))
            .subnets("subnet-a")
            .subnets("subnet-b")
            .send()
            .await
            .expect("create load balancer");
        let load_balancer_arn = lb.load_balancers()[0]
            .load_balancer_arn()
            .unwrap()
            .to_string();
        let port = super::ports::reserve();
        let listener = client
            .create_listener()
            .load_balancer_arn(&load_balancer_arn)
            .protocol(ProtocolEnum::Http)
            .port(port as i32)
            .default_actions(
                Action::builder()
                    .r#type(ActionTypeEnum::Forward)
                    .target_group_arn(&target_group_arn)
                    .build(),
            )
            .send()
            .await
            .expect("create listener");
        Alb {
            load_balancer_arn,
            target_group_arn,
            listener_arn: listener.listeners()[0].listener_arn().unwrap().to_string(),
            port,
        }
    }

    /// An `ip` target group on port 8080 with the health check and
    /// deregistration delay that [`create`] describes.
    pub async fn create_target_group(
        client: &aws_sdk_elasticloadbalancingv2::Client,
        name: &str,
    ) -> String {
        let tg = client
            .create_target_group()
            .name(name)
            .protocol(ProtocolEnum::Http)
            .port(8080)
            .vpc_id("vpc-emulator")
            .target_type(TargetTypeEnum::Ip)
            .health_check_path("/health")
            .health_check_interval_seconds(5)
            .health_check_timeout_seconds(2)
            .healthy_threshold_count(2)
            .unhealthy_threshold_count(2)
            .send()
            .await
            .expect("create target group");
        let target_group_arn = tg.target_groups()[0]
            .target_group_arn()
            .unwrap()
            .to_string();
        client
            .modify_target_group_attributes()
            .target_group_arn(&target_group_arn)
            .attributes(
                TargetGroupAttribute::builder()
                    .key("deregistration_delay.timeout_seconds")
                    .value("5")
                    .build(),
            )
            .send()
            .await
            .expect("set deregistration delay");
        target_group_arn
    }

    /// `(ip, state, reason)` of every target in the group.
    pub async fn target_health(
        client: &aws_sdk_elasticloadbalancingv2::Client,
        target_group_arn: &str,
    ) -> Vec<(String, String, Option<String>)> {
        client
            .describe_target_health()
            .target_group_arn(target_group_arn)
            .send()
            .await
            .expect("describe target health")
            .target_health_descriptions()
            .iter()
            .map(|d| {
                let health = d.target_health();
                (
                    d.target()
                        .and_then(|t| t.id())
                        .unwrap_or_default()
                        .to_string(),
                    health
                        .and_then(|h| h.state())
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_default(),
                    health
                        .and_then(|h| h.reason())
                        .map(|r| r.as_str().to_string()),
                )
            })
            .collect()
    }
}

/// A bounded HTTP load generator over keep-alive connections.
pub mod load {
    use std::collections::BTreeMap;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    use http_body_util::{BodyExt, Empty};
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;

    /// What a load run saw.
    #[derive(Debug, Default, Clone)]
    pub struct Report {
        pub sent: u64,
        pub ok: u64,
        /// Status code -> count, for responses that were not 2xx.
        pub non_2xx: BTreeMap<u16, u64>,
        /// Connection errors and timeouts.
        pub errors: u64,
        /// The `field` of each JSON response body -> count (e.g. `ip`, `version`).
        pub by_field: BTreeMap<String, u64>,
    }

    impl Report {
        pub fn failures(&self) -> u64 {
            self.non_2xx.values().sum::<u64>() + self.errors
        }
    }

    /// Sends GET `url` from `concurrency` workers until `stop` is set, or
    /// `max_requests` were sent, or `max_duration` passed, whichever is first.
    pub async fn run(
        url: &str,
        concurrency: usize,
        field: &str,
        stop: Arc<AtomicBool>,
        max_requests: u64,
        max_duration: Duration,
    ) -> Report {
        let client: Client<_, Empty<bytes::Bytes>> =
            Client::builder(TokioExecutor::new()).build_http();
        let report = Arc::new(Mutex::new(Report::default()));
        let deadline = Instant::now() + max_duration;
        let budget = Arc::new(std::sync::atomic::AtomicU64::new(max_requests));
        let mut workers = vec![];
        for _ in 0..concurrency {
            let (client, report, stop, budget) =
                (client.clone(), report.clone(), stop.clone(), budget.clone());
            let url: hyper::Uri = url.parse().expect("url");
            let field = field.to_string();
            workers.push(tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                    if budget
                        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| b.checked_sub(1))
                        .is_err()
                    {
                        break;
                    }
                    let result = tokio::time::timeout(Duration::from_secs(10), async {
                        let response = client.get(url.clone()).await?;
                        let status = response.status().as_u16();
                        let body = response.into_body().collect().await?.to_bytes();
                        Ok::<_, anyhow::Error>((status, body))
                    })
                    .await;
                    let mut r = report.lock().unwrap();
                    r.sent += 1;
                    match result {
                        Ok(Ok((status, body))) if (200..300).contains(&status) => {
                            r.ok += 1;
                            let value = serde_json::from_slice::<serde_json::Value>(&body)
                                .ok()
                                .and_then(|v| {
                                    v.get(&field).and_then(|f| f.as_str().map(String::from))
                                });
                            if let Some(value) = value {
                                *r.by_field.entry(value).or_default() += 1;
                            }
                        }
                        Ok(Ok((status, _))) => *r.non_2xx.entry(status).or_default() += 1,
                        _ => r.errors += 1,
                    }
                }
            }));
        }
        for w in workers {
            let _ = w.await;
        }
        let r = report.lock().unwrap().clone();
        r
    }
}
