//! # Fargate + ALB emulator
//!
//! A local stand-in for AWS ECS on Fargate behind an Application Load Balancer.
//! The AWS CLI and SDKs talk to it with `--endpoint-url`; tasks run as Docker
//! containers, and each listener is a real reverse proxy.
//!
//! # Layout
//! - [`protocol`]: AWS wire formats only (JSON 1.1, Query/XML, SigV4 scope) and the
//!   dispatcher that tells the services apart on one port (ECS, ELBv2,
//!   Application Auto Scaling, CloudWatch Logs).
//! - [`domain`]: the resource models and their pure rules (validation, ARNs, rule
//!   matching), and the [`domain::Store`] that holds desired and observed state.
//! - [`api`]: one handler per AWS action: decode input, validate, change the store.
//!   Handlers reach the store and the data plane through [`api::Api`].
//! - [`reconcilers`]: background loops that drive the world toward the store
//!   (task lifecycle on Docker, health checks, the service scheduler, auto
//!   scaling, shipping container logs to CloudWatch Logs).
//! - [`dataplane`]: the ALB itself, a hyper proxy per listener that reads
//!   immutable routing snapshots published by the control plane.
//! - [`observability`]: ALB metrics (Prometheus text) and access logs, fed by
//!   the data plane (`dataplane::observe`) through lock-free counters and a
//!   bounded log channel; it imports nothing from the data plane.
//! - [`dashboard`]: the web page at `GET /` and the JSON state it polls.
//! - [`runtime`]: Docker through bollard (network, containers, the pause image)
//!   and the task metadata endpoint.
//! - [`persistence`]: the state file (`--state-dir`), written after changes
//!   and read back at start.
//! - [`server`]: the axum control port (every route, its state [`server::App`]
//!   and `GET /metrics`), and [`Emulator`], which wires it all up.
//! - [`reset`]: `POST /_emulator/reset` (and moto's `/moto-api/reset`), which
//!   brings a running emulator back to a fresh one.
//! - [`upstream`]: `--upstream-endpoint`, which forwards requests for services
//!   the emulator does not serve to another emulator, unchanged.
//! - [`demo`]: `emulator demo`, which drives an emulator through the AWS SDK
//!   to show uneven load without a load balancer and even load through it.
//! - [`compose`]: `emulator compose up|down|ps|scale|logs`, which deploys a
//!   docker-compose.yml as task definitions, services and an ALB.
//! - [`embedded`]: the in-process emulator `demo` and `compose` start.
//! - [`sdk_client`]: what `demo` and `compose` share on the AWS SDK side
//!   (the clients against an endpoint, failed calls, task and target
//!   look-ups); [`console`]: their terminal output.
//!
//! `demo`, `compose`, `embedded`, `sdk_client` and `console` are behind
//! the `cli` cargo feature (on by default): without it the crate is the
//! server alone, without the AWS SDK clients, YAML parser and chart
//! renderer only they use.

pub mod api;
#[cfg(feature = "cli")]
pub mod compose;
pub mod config;
#[cfg(feature = "cli")]
pub mod console;
pub mod dashboard;
pub mod dataplane;
#[cfg(feature = "cli")]
pub mod demo;
pub mod domain;
#[cfg(feature = "cli")]
pub mod embedded;
pub mod observability;
pub mod persistence;
pub mod protocol;
pub mod reconcilers;
pub mod reset;
pub mod runtime;
#[cfg(feature = "cli")]
pub mod sdk_client;
pub mod server;
pub mod upstream;

pub use config::Config;
pub use server::Emulator;
