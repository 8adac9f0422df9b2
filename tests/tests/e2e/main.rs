//! Every end-to-end test in one binary: each links the emulator and all the
//! AWS SDKs, so one binary instead of one per file saves gigabytes of disk
//! and a link per file, and lets tests from different files run side by
//! side. Run one file's tests with `cargo test -p tests --test e2e FILE::`.

mod alb_proxy;
mod api_errors;
mod autoscaling;
mod blue_green;
mod cloud_map;
mod compose;
mod container_order;
mod dashboard;
mod demo;
mod ec2;
mod ecs_deploy;
mod ecs_surface;
mod ecs_tasks;
mod elbv2_api;
mod elbv2_listener_attributes;
mod engine_restart;
mod faults;
mod hostile_http;
mod iam_sts;
mod logs;
mod metrics;
mod reset;
mod restart;
mod service_connect;
mod service_deployments;
mod service_discovery;
mod services;
mod ssm_secrets;
mod task_credentials;
mod task_options;
mod task_secrets;
mod terraform_walk;
mod upstream;
