//! Resource models, their pure rules, and the store that holds them.

pub mod arn;
pub mod autoscaling;
pub mod ecs;
pub mod elbv2;
pub mod logs;
mod store;

pub use store::{State, Store};
