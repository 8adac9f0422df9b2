//! `POST /_emulator/reset` and moto's `POST /moto-api/reset`: the emulator
//! back to how it started, without restarting it, for test suites that
//! reset between tests.
//!
//! A reset holds [`Reset`]'s gate for writing; every AWS request holds it
//! for reading ([`Reset::enter`]). So a request that arrives during a reset
//! waits and then sees the fresh world, and one that was running finishes in
//! the old world first. Under the gate, in this order:
//! 1. the store is replaced in one step ([`Store::reset`]); the scheduler,
//!    health checker and auto scaling then find nothing to do, and the
//!    routing snapshot loses every listener;
//! 2. every listener socket is closed, waiting until its port is free;
//! 3. every task container is removed (by label, so a task in its stop
//!    timeout does not hold the reset up), then the task drivers of the old
//!    world are waited for: each finds its task gone and removes what it
//!    made since; a last sweep removes anything created in between;
//! 4. the networks of VPCs other than the default one are removed.
//!
//! The default VPC's network stays: the fresh default VPC is that network
//! again, as at start-up.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{Method, StatusCode};
use tokio::sync::{RwLock, RwLockReadGuard};

use crate::dataplane::Dataplane;
use crate::domain::Store;
use crate::reconcilers::tasks::TaskRunner;
use crate::runtime::DockerRuntime;

/// What a reset waits for and acts on. Cheap to clone.
#[derive(Clone, Default)]
pub struct Reset {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    gate: RwLock<()>,
    /// Set once the emulator has started them; without them (a router
    /// driven in tests) a reset replaces the state and closes listeners only.
    workers: OnceLock<Workers>,
}

struct Workers {
    runner: TaskRunner,
    runtime: DockerRuntime,
}

impl Reset {
    /// Hands the reset the task runner and the Docker runtime.
    pub fn attach(&self, runner: TaskRunner, runtime: DockerRuntime) {
        let _ = self.inner.workers.set(Workers { runner, runtime });
    }

    /// Held by every AWS request, so none runs during a reset.
    pub async fn enter(&self) -> RwLockReadGuard<'_, ()> {
        self.inner.gate.read().await
    }

    /// Resets everything (see the module docs) and returns once it is done.
    pub async fn run(&self, store: &Store, dataplane: &Dataplane) {
        let started = Instant::now();
        let _gate = self.inner.gate.write().await;
        let old = store.reset(|old, new| new.ec2.default_vpc_cidr = old.ec2.default_vpc_cidr);
        drop(old);
        dataplane.close_all_listeners().await;
        if let Some(workers) = self.inner.workers.get() {
            workers.runtime.remove_task_containers().await;
            workers.runner.finish_forgotten().await;
            workers.runtime.remove_task_containers().await;
            workers.runtime.remove_vpc_networks().await;
        }
        tracing::info!(elapsed = ?started.elapsed(), "emulator reset");
    }
}

/// What moto answers to a reset, byte for byte.
const MOTO_OK: &str = r#"{"status": "ok"}"#;

/// `POST /_emulator/reset`.
pub async fn reset(
    State(reset): State<Reset>,
    State(store): State<Store>,
    State(dataplane): State<Dataplane>,
) -> Response {
    reset.run(&store, &dataplane).await;
    ok()
}

/// `/moto-api/reset`: as moto's server, a POST resets and anything else
/// is refused with moto's 400.
pub async fn moto_reset(
    State(reset): State<Reset>,
    State(store): State<Store>,
    State(dataplane): State<Dataplane>,
    method: Method,
) -> Response {
    if method != Method::POST {
        return json(
            StatusCode::BAD_REQUEST,
            r#"{"Error": "Need to POST to reset Moto"}"#,
        );
    }
    reset.run(&store, &dataplane).await;
    ok()
}

fn ok() -> Response {
    json(StatusCode::OK, MOTO_OK)
}

fn json(status: StatusCode, body: &'static str) -> Response {
    (
        status,
        [(http::header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}
