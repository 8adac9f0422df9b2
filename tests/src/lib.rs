//! Test harness for end-to-end tests: a real emulator on a real socket, the
//! official AWS SDK clients pointed at it, and the real Docker engine.
//!
//! Every [`TestEmulator`] has its own instance name, so tests run in
//! parallel without seeing each other's containers, and everything it
//! created is removed on [`TestEmulator::shutdown`] or, if a test panics
//! first, on drop.

use std::net::SocketAddr;

use aws_sdk_ecs::config::{BehaviorVersion, Credentials, Region};
use emulator::{Config, Emulator};

pub mod alb;
mod docker;
pub mod ecs;
mod http;
pub mod load;
pub mod process;
pub mod soak;
pub mod web;

pub use docker::{
    container_env, leftover_containers, remove_instance_objects, task_container_id, task_containers,
};
pub use http::{http_exchange, http_get, http_request, post, post_json, RawResponse};

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
