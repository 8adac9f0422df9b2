//! The control port (axum) and [`Emulator`], which wires every part together.
//!
//! [`router`] holds every route of the control port: the AWS requests (told
//! apart by `protocol` and answered by `api`), the dashboard, `/metrics`, the
//! health check and the resets. [`App`] is its state.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{FromRef, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::Router;
use http::HeaderMap;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::api::wire::handle_json;
use crate::api::{self, Api, RequestContext};
use crate::config::{Config, DEFAULT_REGION};
use crate::dataplane::Dataplane;
use crate::domain::Store;
use crate::persistence::{Persister, StateFile};
use crate::protocol::{self, json::JsonError, Service};
use crate::reconcilers::scheduler;
use crate::reconcilers::tasks::{self, TaskRunner};
use crate::reset::Reset;
use crate::runtime::{metadata, DockerRuntime};
use crate::upstream::Upstream;

/// Largest control-API request body. ECS task definitions are at most 64 KiB;
/// this leaves room and still bounds memory per request.
const MAX_API_BODY_BYTES: usize = 1024 * 1024;

/// The control port's state: what the handlers reach, and what the routes
/// around them need. Cheap to clone.
#[derive(Clone)]
pub struct App {
    pub api: Api,
    /// Where requests for services the emulator does not serve go.
    pub upstream: Option<Upstream>,
    /// `POST /_emulator/reset`, and the gate every AWS request passes.
    pub reset: Reset,
}

impl FromRef<App> for Store {
    fn from_ref(app: &App) -> Self {
        app.api.store.clone()
    }
}

impl FromRef<App> for Dataplane {
    fn from_ref(app: &App) -> Self {
        app.api.dataplane.clone()
    }
}

impl FromRef<App> for Reset {
    fn from_ref(app: &App) -> Self {
        app.reset.clone()
    }
}

/// A running emulator: control port, reconcilers and listeners.
pub struct Emulator {
    app: App,
    addr: SocketAddr,
    runtime: DockerRuntime,
    shutdown: CancellationToken,
    server: JoinHandle<()>,
    /// The task runner, the health checker and the service scheduler.
    reconcilers: TaskTracker,
    /// Writes the state file after changes (none with `--in-memory`).
    persister: Option<Persister>,
}

impl Emulator {
    /// Binds the control port and starts every part.
    pub async fn start(config: Config) -> anyhow::Result<Self> {
        let state_file = config
            .state_file()
            .map(|p| StateFile::open(&p))
            .transpose()?;
        let restored = match &state_file {
            Some(file) => file.load()?,
            None => None,
        };
        let keep = restored.as_ref().map(tasks::adoptable).unwrap_or_default();
        if let (Some(asked), Some(had)) = (config.subnet, keep.default_vpc_cidr) {
            if asked != had {
                anyhow::bail!(
                    "--subnet {asked} differs from the default VPC's {had} in the state file; \
                     drop --subnet, or use another --state-dir"
                );
            }
        }
        let resumed = restored.as_ref().map(tasks::resumable).unwrap_or_default();
        if let Some(file) = &state_file {
            tracing::info!(
                file = %file.path().display(),
                restored = restored.is_some(),
                tasks = resumed.len(),
                "state file open"
            );
        }
        let store = match restored {
            Some(state) => Store::with_state(config.clone(), state),
            None => Store::new(config.clone()),
        };
        // From here on every change reaches the file, start-up's own too.
        let persister = state_file.map(|file| Persister::start(file, store.clone()));
        if let Some(uri) = &config.upstream_endpoint {
            if uri.scheme_str() != Some("http") || uri.host().is_none() {
                anyhow::bail!("--upstream-endpoint must be an http:// URL with a host (got {uri})");
            }
        }
        let app = App {
            api: Api {
                store: store.clone(),
                dataplane: Dataplane::start(store.clone()),
            },
            upstream: config.upstream_endpoint.clone().map(Upstream::new),
            reset: Default::default(),
        };
        reopen_listeners(&store, &app.api.dataplane);
        let listener = tokio::net::TcpListener::bind(config.listen).await?;
        let addr = listener.local_addr()?;
        let shutdown = CancellationToken::new();

        let runtime = DockerRuntime::start(&config, &keep).await?;
        // The default VPC is the task network: its subnets are ranges of it.
        let default_vpc_cidr = runtime.network().subnet;
        store.write(|s| s.ec2.default_vpc_cidr = Some(default_vpc_cidr));
        // The gateway is the host's address; in a container, its own one.
        // The control API's port number where it is free there: the URLs
        // that tasks were given (AWS_ENDPOINT_URL, metadata on the gateway)
        // then stay right for tasks adopted after a restart.
        let gateway = runtime.network().emulator_address().into();
        let metadata_bind = [
            SocketAddr::new(gateway, addr.port()),
            SocketAddr::new(gateway, 0),
        ];
        let endpoints = match metadata::start(
            store.clone(),
            &metadata_bind,
            router(app.clone()),
            shutdown.clone(),
        )
        .await
        {
            Ok(endpoints) => Some(endpoints),
            Err(e) => {
                // Tasks still run; they just get no ECS_CONTAINER_METADATA_URI_V4.
                tracing::warn!(error = %e, bind = %gateway, "task metadata endpoint disabled");
                None
            }
        };
        let runner = TaskRunner::new(
            store.clone(),
            runtime.clone(),
            app.api.dataplane.clone(),
            endpoints,
            shutdown.clone(),
        );
        app.reset.attach(runner.clone(), runtime.clone());
        let reconcilers = TaskTracker::new();
        reconcilers.spawn(runner.run(resumed));
        reconcilers.spawn(scheduler::run(store.clone(), shutdown.clone()));
        reconcilers.spawn(crate::dataplane::observe::sample_rates(
            app.api.dataplane.clone(),
            shutdown.clone(),
        ));
        reconcilers.spawn(crate::reconcilers::autoscaling::run(
            store.clone(),
            app.api.dataplane.clone(),
            runtime.docker().clone(),
            shutdown.clone(),
        ));
        let health = crate::reconcilers::health::spawn(store.clone(), shutdown.clone());
        reconcilers.spawn(async move {
            let _ = health.await;
        });
        reconcilers.close();
        let router = router(app.clone());
        let stop = shutdown.clone();
        let server = tokio::spawn(async move {
            let result = axum::serve(listener, router)
                .with_graceful_shutdown(async move { stop.cancelled().await })
                .await;
            if let Err(e) = result {
                tracing::error!(error = %e, "control API server failed");
            }
        });
        tracing::info!(%addr, "control API listening");
        Ok(Self {
            app,
            addr,
            runtime,
            shutdown,
            server,
            reconcilers,
            persister,
        })
    }

    /// The address the control API really bound (useful with port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR`, for `--endpoint-url`.
    pub fn endpoint_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn store(&self) -> &Store {
        &self.app.api.store
    }

    /// Tells every part to stop without waiting (for synchronous contexts
    /// such as a test harness's `Drop`); [`Emulator::shutdown`] waits.
    pub fn begin_shutdown(&self) {
        self.shutdown.cancel();
    }

    /// Stops serving, stops every task and removes what the emulator created.
    pub async fn shutdown(self) {
        self.shutdown.cancel();
        let _ = self.server.await;
        self.app.api.dataplane.shutdown().await;
        // The task runner returns once every task driver has stopped its task.
        self.reconcilers.wait().await;
        self.runtime.shutdown().await;
        if let Some(persister) = self.persister {
            persister.finish().await;
        }
    }
}

/// The control-port router. A function, so tests can drive it without a socket.
pub fn router(app: App) -> Router {
    Router::new()
        .route("/", post(aws_request))
        .route("/", get(crate::dashboard::index))
        .route("/_emulator/state", get(crate::dashboard::state))
        .route("/metrics", get(metrics))
        .route("/_emulator/health", get(|| async { "ok" }))
        .route("/_emulator/reset", post(crate::reset::reset))
        .route("/moto-api/reset", any(crate::reset::moto_reset))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_API_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(
            app.upstream.clone(),
            crate::upstream::forward_unserved,
        ))
        .layer(axum::middleware::from_fn_with_state(
            app.api.dataplane.clone(),
            crate::dataplane::route_by_host,
        ))
        .with_state(app)
}

/// `GET /metrics`: every metric in Prometheus' (OpenMetrics) text format.
async fn metrics(
    State(store): State<Store>,
    State(dataplane): State<Dataplane>,
) -> impl IntoResponse {
    let snapshot = dataplane.snapshot();
    let metrics = dataplane.observability().metrics();
    let text =
        store.read(|state| metrics.encode(state, |tg_arn| snapshot.target_request_counts(tg_arn)));
    (
        [(
            http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
}

async fn aws_request(State(app): State<App>, headers: HeaderMap, body: Bytes) -> Response {
    // No request runs while a reset does: each sees the old world or the new.
    let _world = app.reset.enter().await;
    let request_id = uuid::Uuid::new_v4().to_string();
    let addressed = match protocol::address(&headers, &body) {
        Ok(addressed) => addressed,
        Err(unserved) => return unserved.into_response(&request_id),
    };
    let ctx = RequestContext {
        region: addressed
            .region
            .unwrap_or_else(|| DEFAULT_REGION.to_string()),
        request_id,
        access_key: addressed.access_key,
    };
    match (addressed.service, addressed.operation) {
        (Service::Elbv2, _) => api::elbv2::handle(&app.api, &ctx, &body).await,
        (Service::Ec2, _) => api::ec2::handle(&app.api, &ctx, &body).await,
        (Service::Iam, _) => api::iam::handle(&app.api, &ctx, &body).await,
        (Service::Sts, _) => api::sts::handle(&app.api, &ctx, &body).await,
        (Service::Ecs, Some(op)) => handle_json::<api::ecs::Ecs>(&app.api, &ctx, &op, &body),
        (Service::Logs, Some(op)) => handle_json::<api::logs::Logs>(&app.api, &ctx, &op, &body),
        (Service::ApplicationAutoScaling, Some(op)) => {
            handle_json::<api::autoscaling::AutoScaling>(&app.api, &ctx, &op, &body)
        }
        (Service::Ssm, Some(op)) => handle_json::<api::ssm::Ssm>(&app.api, &ctx, &op, &body),
        (Service::SecretsManager, Some(op)) => {
            handle_json::<api::secretsmanager::SecretsManager>(&app.api, &ctx, &op, &body)
        }
        (Service::ServiceDiscovery, Some(op)) => {
            handle_json::<api::servicediscovery::ServiceDiscovery>(&app.api, &ctx, &op, &body)
        }
        (_, None) => JsonError::client("MissingAction", "X-Amz-Target names no operation")
            .into_response_with_id(&ctx.request_id),
    }
}

/// Restored listeners serve again on their ports. One whose port is taken
/// now is reported and left unserved; the API can still delete it.
fn reopen_listeners(store: &Store, dataplane: &Dataplane) {
    let config = store.config();
    let listeners: Vec<(String, u16)> = store.read(|s| {
        s.elbv2
            .listeners
            .values()
            .map(|l| (l.arn.clone(), l.port))
            .collect()
    });
    for (arn, port) in listeners {
        let bind = SocketAddr::new(config.listener_bind, config.listener_port(port));
        if let Err(e) = dataplane.open_listener(&arn, bind) {
            tracing::error!(listener = %arn, %bind, error = %e,
                "cannot listen again on a restored listener's port; it serves nothing until deleted and created again");
        }
    }
}
