//! Background loops that drive the world toward the store.

pub mod autoscaling;
pub mod discovery;
pub mod health;
pub mod logs;
pub mod scheduler;
pub mod tasks;
