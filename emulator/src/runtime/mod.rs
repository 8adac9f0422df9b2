//! Docker through bollard, and the task metadata endpoint.

pub mod docker;
pub mod pause;

pub use docker::{DockerRuntime, RuntimeError};
pub mod metadata;
