//! Resource models, their pure rules, and the store that holds them.

pub mod arn;
pub mod autoscaling;
pub mod ec2;
pub mod ecs;
pub mod elbv2;
pub mod epoch_seconds;
pub mod iam;
pub mod logs;
pub mod persist;
pub mod secretsmanager;
pub mod servicediscovery;
pub mod ssm;
mod store;
pub mod tags;
pub mod validation;

pub use store::{State, Store};
