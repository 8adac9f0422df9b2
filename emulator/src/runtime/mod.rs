//! Docker through bollard, and the endpoints tasks reach: the metadata and
//! credentials endpoint, served on the task network's gateway and at
//! 169.254.170.2 inside each task's network namespace, and the DNS server
//! beside it there.

pub mod docker;
pub mod metadata;
pub mod netns;
pub mod pause;
pub mod task_dns;
pub mod volumes;
pub mod watch;

pub use docker::{DockerRuntime, RuntimeError};
