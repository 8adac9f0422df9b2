//! The endpoints tasks reach: the task metadata endpoint v4 and the task
//! role's credentials (`/v2/credentials/ID`).
//!
//! Fargate serves both at 169.254.170.2. Here they are served in two places:
//! - at 169.254.170.2:80 inside each task's network namespace, where the
//!   emulator can enter it (see `netns`), so SDKs find the credentials at
//!   `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` as on Fargate;
//! - on the task network's gateway, the host's address that every task can
//!   reach, together with the control API itself, so an SDK inside a task
//!   with `AWS_ENDPOINT_URL` lands on this emulator.

use std::net::{SocketAddr, SocketAddrV4};

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use http::StatusCode;
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use crate::domain::ecs::{Task, TaskStatus};
use crate::domain::Store;
use crate::runtime::netns;

/// Where tasks reach the emulator.
#[derive(Debug, Clone)]
pub struct TaskEndpoints {
    /// `http://IP:PORT/v4`: the metadata base, without the container key.
    pub metadata_v4: String,
    /// `http://IP:PORT`: the control API, for `AWS_ENDPOINT_URL`.
    pub aws: String,
}

/// Starts the endpoint on `bind`, serving metadata and `api` (the control
/// router), and returns its URLs.
pub async fn start(
    store: Store,
    bind: &[SocketAddr],
    api: Router,
    shutdown: CancellationToken,
) -> std::io::Result<TaskEndpoints> {
    // `bind` in order of preference: the first that is free.
    let listener = tokio::net::TcpListener::bind(bind).await?;
    let addr = listener.local_addr()?;
    let router = task_router(store).merge(api);
    serve(listener, router, shutdown);
    tracing::info!(%addr, "task metadata endpoint listening");
    Ok(TaskEndpoints {
        metadata_v4: format!("http://{addr}/v4"),
        aws: format!("http://{addr}"),
    })
}

/// Serves metadata and credentials at 169.254.170.2:80 inside the network
/// namespace of process `pid` (a task's sandbox) until `shutdown`.
pub async fn start_in_task(
    store: Store,
    pid: u32,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let addr = SocketAddrV4::new(netns::TASK_ENDPOINT_ADDRESS, netns::TASK_ENDPOINT_PORT);
    let listener = netns::listen_in(pid, addr).await?;
    serve(listener, task_router(store), shutdown);
    Ok(())
}

/// The base of `ECS_CONTAINER_METADATA_URI_V4` inside a task whose
/// namespace has the endpoint, as on Fargate.
pub fn link_local_metadata_v4() -> String {
    format!("http://{}/v4", netns::TASK_ENDPOINT_ADDRESS)
}

/// `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` for a credentials id.
pub fn credentials_relative_uri(id: &str) -> String {
    format!("/v2/credentials/{id}")
}

fn task_router(store: Store) -> Router {
    Router::new()
        .route("/v4/{key}", get(container))
        .route("/v4/{key}/task", get(task))
        .route("/v4/{key}/taskWithTags", get(task_with_tags))
        .route("/v4/{key}/stats", get(stats))
        .route("/v4/{key}/task/stats", get(stats))
        .route("/v2/credentials/{id}", get(credentials))
        .with_state(store)
}

fn serve(listener: tokio::net::TcpListener, router: Router, shutdown: CancellationToken) {
    tokio::spawn(async move {
        let serve = axum::serve(listener, router)
            .with_graceful_shutdown(async move { shutdown.cancelled().await });
        if let Err(e) = serve.await {
            tracing::warn!(error = %e, "task endpoint stopped");
        }
    });
}

/// The key in a container's metadata URL: `TASKID-CONTAINERNAME`.
pub fn container_key(task_id: &str, container: &str) -> String {
    format!("{task_id}-{container}")
}

fn find(store: &Store, key: &str) -> Option<(Task, String)> {
    let (task_id, container) = key.split_once('-')?;
    store.read(|s| {
        s.ecs
            .tasks
            .values()
            .find(|t| t.id() == task_id)
            .map(|t| (t.clone(), container.to_string()))
    })
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "unknown container").into_response()
}

async fn container(State(store): State<Store>, Path(key): Path<String>) -> Response {
    match find(&store, &key) {
        Some((task, name)) => match container_document(&task, &name) {
            Some(doc) => Json(doc).into_response(),
            None => not_found(),
        },
        None => not_found(),
    }
}

async fn task(State(store): State<Store>, Path(key): Path<String>) -> Response {
    match find(&store, &key) {
        Some((task, _)) => Json(task_document(&task, false)).into_response(),
        None => not_found(),
    }
}

async fn task_with_tags(State(store): State<Store>, Path(key): Path<String>) -> Response {
    match find(&store, &key) {
        Some((task, _)) => Json(task_document(&task, true)).into_response(),
        None => not_found(),
    }
}

/// The task role's credentials, in the ECS agent's shape. They are issued
/// through IAM, so STS's GetCallerIdentity knows them as the task's
/// `assumed-role/ROLE/TASK_ID` session, and again before they expire.
async fn credentials(State(store): State<Store>, Path(id): Path<String>) -> Response {
    let now = time::OffsetDateTime::now_utc();
    let task_arn = store.read(|s| {
        s.ecs
            .tasks
            .values()
            .find(|t| {
                t.runtime.credentials_id.as_deref() == Some(id.as_str())
                    && t.last_status != TaskStatus::Stopped
            })
            .map(|t| t.task_arn.clone())
    });
    // SDKs fetch often and reuse; only a new issue changes the state.
    let issued = task_arn.and_then(|arn| {
        store
            .read(|s| s.current_task_role_credentials(&arn, now))
            .or_else(|| {
                store
                    .write(|s| s.issue_task_role_credentials(&arn, now))
                    .inspect_err(
                        |e| tracing::warn!(task = %arn, error = %e, "task role credentials"),
                    )
                    .ok()
            })
    });
    match issued {
        Some((role_arn, c)) => Json(json!({
            "RoleArn": role_arn,
            "AccessKeyId": c.access_key_id,
            "SecretAccessKey": c.secret_access_key,
            "Token": c.session_token,
            "Expiration": rfc3339(c.expiration.replace_nanosecond(0).ok()),
        }))
        .into_response(),
        // The ECS agent's answer for an id it does not know.
        None => (
            StatusCode::BAD_REQUEST,
            Json(json!({
                "code": "InvalidIdInRequest",
                "message": "CredentialsV2Request: Credentials not found",
            })),
        )
            .into_response(),
    }
}

async fn stats() -> Response {
    // Docker stats are not relayed yet; an empty object keeps clients working.
    Json(json!({})).into_response()
}

fn rfc3339(t: Option<time::OffsetDateTime>) -> Value {
    t.and_then(|t| {
        t.format(&time::format_description::well_known::Rfc3339)
            .ok()
    })
    .map(Value::String)
    .unwrap_or(Value::Null)
}

fn container_document(task: &Task, name: &str) -> Option<Value> {
    let container = task.containers.iter().find(|c| c.name == name)?;
    let def = task.definition.container(name)?;
    let ip = task.private_ip().unwrap_or_default();
    let detail = |key: &str| {
        task.attachments
            .iter()
            .flat_map(|a| a.details.iter())
            .find(|d| d.name == key)
            .map(|d| d.value.clone())
            .unwrap_or_default()
    };
    let log_options = def.log_configuration.as_ref().map(|l| {
        let prefix = l
            .options
            .get("awslogs-stream-prefix")
            .cloned()
            .unwrap_or_default();
        json!({
            "awslogs-group": l.options.get("awslogs-group"),
            "awslogs-region": l.options.get("awslogs-region"),
            "awslogs-stream": format!("{prefix}/{name}/{}", task.id()),
        })
    });
    Some(json!({
        "DockerId": container.runtime_id,
        "Name": name,
        "DockerName": format!("ecs-{}-{}-{}", task.definition.family, task.definition.revision, name),
        "Image": container.image,
        "ImageID": container.image_digest,
        "Labels": {
            "com.amazonaws.ecs.cluster": task.cluster_arn,
            "com.amazonaws.ecs.container-name": name,
            "com.amazonaws.ecs.task-arn": task.task_arn,
            "com.amazonaws.ecs.task-definition-family": task.definition.family,
            "com.amazonaws.ecs.task-definition-version": task.definition.revision.to_string(),
        },
        "DesiredStatus": task.desired_status.as_str(),
        "KnownStatus": container.last_status.as_str(),
        "Limits": { "CPU": def.cpu, "Memory": def.memory.unwrap_or_default() },
        "CreatedAt": rfc3339(Some(task.created_at)),
        "StartedAt": rfc3339(task.started_at),
        "Type": "NORMAL",
        "ContainerARN": container.container_arn,
        "LogDriver": def.log_configuration.as_ref().map(|l| l.log_driver.clone()),
        "LogOptions": log_options,
        "Health": { "status": container.health_status },
        "Networks": [{
            "NetworkMode": "awsvpc",
            "IPv4Addresses": [ip],
            "AttachmentIndex": 0,
            "MACAddress": detail("macAddress"),
            "IPv4SubnetCIDRBlock": detail("subnetCidrBlock"),
            "PrivateDNSName": detail("privateDnsName"),
            "SubnetGatewayIpv4Address": detail("subnetGatewayIpv4Address"),
        }],
    }))
}

fn task_document(task: &Task, with_tags: bool) -> Value {
    let cpu = task.cpu.parse::<f64>().unwrap_or(0.0) / 1024.0;
    let memory = task.memory.parse::<u64>().unwrap_or(0);
    let service = task
        .group
        .as_deref()
        .and_then(|g| g.strip_prefix("service:"));
    let containers: Vec<Value> = task
        .containers
        .iter()
        .filter_map(|c| container_document(task, &c.name))
        .collect();
    let mut doc = json!({
        "Cluster": task.cluster_arn,
        "TaskARN": task.task_arn,
        "Family": task.definition.family,
        "Revision": task.definition.revision.to_string(),
        "ServiceName": service,
        "DesiredStatus": task.desired_status.as_str(),
        "KnownStatus": task.last_status.as_str(),
        "Limits": { "CPU": cpu, "Memory": memory },
        "PullStartedAt": rfc3339(task.pull_started_at),
        "PullStoppedAt": rfc3339(task.pull_stopped_at),
        "AvailabilityZone": task.availability_zone,
        "VPCID": task.runtime.vpc_id,
        "LaunchType": "FARGATE",
        "Containers": containers,
        "ClockDrift": { "ClockErrorBound": 0.5, "ReferenceTimestamp": rfc3339(Some(task.created_at)), "ClockSynchronizationStatus": "SYNCHRONIZED" },
        "EphemeralStorageMetrics": { "Utilized": 0, "Reserved": 20496 },
    });
    if with_tags {
        let tags: serde_json::Map<String, Value> = task
            .tags
            .iter()
            .map(|t| (t.key.clone(), Value::String(t.value.clone())))
            .collect();
        doc["TaskTags"] = Value::Object(tags);
    }
    doc
}
