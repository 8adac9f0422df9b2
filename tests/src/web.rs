//! A service of sample-app tasks behind a fresh ALB, and what tests read
//! of it.

use std::time::Duration;

use crate::{alb, ecs, unique, TestEmulator};

pub const WAIT: Duration = Duration::from_secs(90);

pub struct Web {
    pub emu: TestEmulator,
    pub alb: alb::Alb,
    pub service: String,
    pub family: String,
}

/// A 3-task service of sample-app behind a fresh ALB, stable.
pub async fn web_service(desired: i32) -> Web {
    let emu = TestEmulator::start().await;
    let name = unique("web");
    let alb = alb::create(&emu.elbv2, &name).await;
    let family = name.clone();
    register_version(&emu, &family, "v1").await;
    ecs::create_stable_service(
        &emu.ecs,
        "default",
        &name,
        &family,
        &alb.target_group_arn,
        desired,
    )
    .await;
    Web {
        emu,
        alb,
        service: name,
        family,
    }
}

pub async fn register_version(emu: &TestEmulator, family: &str, version: &str) -> String {
    let app = ecs::sample_container("app")
        .environment(ecs::env("APP_VERSION", version))
        .build();
    ecs::register(&emu.ecs, family, vec![app]).await
}

impl Web {
    pub async fn tasks(&self) -> Vec<aws_sdk_ecs::types::Task> {
        let arns = self
            .emu
            .ecs
            .list_tasks()
            .service_name(&self.service)
            .send()
            .await
            .unwrap()
            .task_arns()
            .to_vec();
        if arns.is_empty() {
            return vec![];
        }
        ecs::describe(&self.emu.ecs, "default", &arns).await
    }

    pub async fn service(&self) -> aws_sdk_ecs::types::Service {
        ecs::describe_service(&self.emu.ecs, &self.service).await
    }

    pub async fn healthy_target_ips(&self) -> Vec<String> {
        let mut ips: Vec<String> = alb::target_health(&self.emu.elbv2, &self.alb.target_group_arn)
            .await
            .into_iter()
            .filter(|(_, state, _)| state == "healthy")
            .map(|(ip, _, _)| ip)
            .collect();
        ips.sort();
        ips
    }

    /// Requests the ALB forwarded to this service's targets so far, read
    /// from the targets themselves (sample-app counts its requests).
    pub async fn alb_request_count(&self) -> Option<u64> {
        let mut total = 0;
        for ip in self.task_ips().await {
            let (_, body) = crate::http_get(&format!("http://{ip}:8080/")).await.ok()?;
            let v: serde_json::Value = serde_json::from_str(&body).ok()?;
            total += v["requests"].as_u64()?;
        }
        Some(total)
    }

    pub async fn task_ips(&self) -> Vec<String> {
        let mut ips: Vec<String> = self.tasks().await.iter().map(ecs::private_ip).collect();
        ips.sort();
        ips
    }
}
