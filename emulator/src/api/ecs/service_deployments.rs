//! ListServiceDeployments, DescribeServiceDeployments,
//! DescribeServiceRevisions and StopServiceDeployment.

use serde::Deserialize;
use serde_json::{json, Value};
use time::OffsetDateTime;

use super::{paginate, Handler, Output, PageInput};
use crate::domain::ecs::service::{RolloutState, Service};
use crate::domain::ecs::service_deployment::{
    RevisionCounts, ServiceDeploymentRecord, ServiceDeploymentStatus,
};
use crate::domain::ecs::validate::EcsError;
use crate::domain::epoch_seconds;

/// DescribeServiceDeployments / DescribeServiceRevisions take at most 20 ARNs.
const MAX_DESCRIBE: usize = 20;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ListServiceDeploymentsInput {
    service: String,
    cluster: Option<String>,
    #[serde(default)]
    status: Vec<String>,
    created_at: Option<CreatedAtFilter>,
    #[serde(flatten)]
    page: PageInput,
}

#[derive(Deserialize)]
struct CreatedAtFilter {
    #[serde(default, with = "epoch_seconds::option")]
    before: Option<OffsetDateTime>,
    #[serde(default, with = "epoch_seconds::option")]
    after: Option<OffsetDateTime>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct DescribeServiceDeploymentsInput {
    service_deployment_arns: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct DescribeServiceRevisionsInput {
    service_revision_arns: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct StopServiceDeploymentInput {
    service_deployment_arn: String,
    stop_type: Option<String>,
}

impl Handler<'_> {
    pub(super) fn list_service_deployments(&self, input: ListServiceDeploymentsInput) -> Output {
        let statuses = input
            .status
            .iter()
            .map(|s| {
                ServiceDeploymentStatus::parse(s)
                    .ok_or_else(|| EcsError::InvalidParameter(format!("Invalid status: {s}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.api.store.write(|s| {
            let arn = self.service_arn(&mut s.ecs, input.cluster.as_deref(), &input.service)?;
            let service = &s.ecs.services[&arn];
            let created = input.created_at.as_ref();
            let briefs: Vec<Value> = service
                .history
                .iter()
                .rev()
                .filter(|r| statuses.is_empty() || statuses.contains(&r.status))
                .filter(|r| {
                    created
                        .and_then(|c| c.before)
                        .is_none_or(|t| r.created_at < t)
                })
                .filter(|r| {
                    created
                        .and_then(|c| c.after)
                        .is_none_or(|t| r.created_at > t)
                })
                .map(|r| brief(service, r))
                .collect();
            let (page, next) = paginate(briefs, &input.page)?;
            Ok(json!({ "serviceDeployments": page, "nextToken": next }))
        })
    }

    pub(super) fn describe_service_deployments(
        &self,
        input: DescribeServiceDeploymentsInput,
    ) -> Output {
        check_count(&input.service_deployment_arns, "serviceDeploymentArns")?;
        self.api.store.read(|s| {
            let mut found = vec![];
            let mut failures = vec![];
            for arn in &input.service_deployment_arns {
                let record = s.ecs.services.values().find_map(|svc| {
                    let record = svc.history.iter().find(|r| &r.arn == arn)?;
                    Some(detail(svc, record))
                });
                match record {
                    Some(v) => found.push(v),
                    None => failures.push(json!({ "arn": arn, "reason": "MISSING" })),
                }
            }
            Ok(json!({ "serviceDeployments": found, "failures": failures }))
        })
    }

    pub(super) fn describe_service_revisions(
        &self,
        input: DescribeServiceRevisionsInput,
    ) -> Output {
        check_count(&input.service_revision_arns, "serviceRevisionArns")?;
        self.api.store.read(|s| {
            let mut found = vec![];
            let mut failures = vec![];
            for arn in &input.service_revision_arns {
                let revision = s.ecs.services.values().find_map(|svc| {
                    svc.revisions
                        .iter()
                        .find(|r| &r.service_revision_arn == arn)
                });
                match revision {
                    Some(r) => found.push(json!(r)),
                    None => failures.push(json!({ "arn": arn, "reason": "MISSING" })),
                }
            }
            Ok(json!({ "serviceRevisions": found, "failures": failures }))
        })
    }

    /// ROLLBACK (the only stop type AWS accepts) returns the service to the
    /// revision that ran before, whether or not rollback was configured.
    pub(super) fn stop_service_deployment(&self, input: StopServiceDeploymentInput) -> Output {
        match input.stop_type.as_deref() {
            None | Some("ROLLBACK") => {}
            Some(other) => {
                return Err(EcsError::InvalidParameter(format!(
                    "Invalid stopType: {other}. The valid values are ROLLBACK."
                )))
            }
        }
        self.api.store.write(|s| {
            let service = s
                .ecs
                .services
                .values_mut()
                .find(|svc| {
                    svc.history
                        .iter()
                        .any(|r| r.arn == input.service_deployment_arn)
                })
                .ok_or(EcsError::ServiceDeploymentNotFound)?;
            let record = service
                .history
                .iter()
                .find(|r| r.arn == input.service_deployment_arn)
                .ok_or(EcsError::ServiceDeploymentNotFound)?;
            if record.status != ServiceDeploymentStatus::InProgress {
                return Err(EcsError::Conflict(format!(
                    "The service deployment is {}; only one in progress can be stopped.",
                    status_name(record.status)
                )));
            }
            let primary = service.primary().map(|d| d.id.clone());
            if primary.as_deref() != Some(record.deployment_id.as_str()) {
                return Err(EcsError::Conflict(
                    "The service deployment is no longer the service's latest.".into(),
                ));
            }
            if !service.start_rollback(
                "Service deployment rolled back because of a stop request.",
                true,
            ) {
                return Err(EcsError::Conflict(
                    "The service has no earlier revision to roll back to.".into(),
                ));
            }
            if let Some(d) = service.deployments.get_mut(1) {
                d.rollout_state = RolloutState::Failed;
                d.rollout_state_reason = "Service deployment stopped and rolled back.".into();
            }
            Ok(json!({ "serviceDeploymentArn": input.service_deployment_arn }))
        })
    }
}

fn check_count(arns: &[String], member: &str) -> Result<(), EcsError> {
    if arns.is_empty() || arns.len() > MAX_DESCRIBE {
        return Err(EcsError::InvalidParameter(format!(
            "{member} must hold 1 to {MAX_DESCRIBE} ARNs."
        )));
    }
    Ok(())
}

fn status_name(status: ServiceDeploymentStatus) -> String {
    serde_json::to_value(status)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default()
}

fn time(t: OffsetDateTime) -> Value {
    json!(epoch_seconds::to_f64(t))
}

/// `ServiceDeploymentBrief`.
fn brief(service: &Service, r: &ServiceDeploymentRecord) -> Value {
    let mut v = json!({
        "serviceDeploymentArn": r.arn,
        "serviceArn": service.service_arn,
        "clusterArn": service.cluster_arn,
        "createdAt": time(r.created_at),
        "startedAt": time(r.created_at),
        "targetServiceRevisionArn": r.target_revision_arn,
        "status": r.status,
    });
    if let Some(at) = r.finished_at {
        v["finishedAt"] = time(at);
    }
    if let Some(reason) = &r.status_reason {
        v["statusReason"] = json!(reason);
    }
    v
}

/// The task counts of a revision: live while a deployment runs it, else
/// what the record kept (the target) or none (a source that was replaced).
fn counts(service: &Service, r: &ServiceDeploymentRecord, revision_arn: &str) -> RevisionCounts {
    match service
        .deployments
        .iter()
        .find(|d| d.service_revision_arn == revision_arn)
    {
        Some(d) => RevisionCounts {
            requested: d.desired_count,
            running: d.running_count,
            pending: d.pending_count,
        },
        None if revision_arn == r.target_revision_arn => r.final_counts,
        None => RevisionCounts::default(),
    }
}

fn summary(service: &Service, r: &ServiceDeploymentRecord, revision_arn: &str) -> Value {
    let c = counts(service, r, revision_arn);
    let mut v = json!({
        "arn": revision_arn,
        "requestedTaskCount": c.requested,
        "runningTaskCount": c.running,
        "pendingTaskCount": c.pending,
    });
    // A traffic shift splits traffic between the target and the sources.
    if let Some(shift) = &r.shift {
        let (production, test) = shift.requested_weights();
        let (production, test) = if revision_arn == r.target_revision_arn {
            (production, test)
        } else {
            (100.0 - production, 100.0 - test)
        };
        v["requestedProductionTrafficWeight"] = json!(production);
        v["requestedTestTrafficWeight"] = json!(test);
    }
    v
}

/// `ServiceDeployment`.
fn detail(service: &Service, r: &ServiceDeploymentRecord) -> Value {
    let breaker = &r.deployment_configuration.deployment_circuit_breaker;
    let live_failures = service
        .deployments
        .iter()
        .find(|d| d.id == r.deployment_id)
        .map_or(r.failure_count, |d| d.failed_tasks);
    let breaker_status = if !breaker.enable {
        "DISABLED"
    } else if r.status.in_progress() && r.rollback.is_none() {
        "MONITORING"
    } else if r.rollback.is_some() || r.status == ServiceDeploymentStatus::Stopped {
        "TRIGGERED"
    } else {
        "MONITORING_COMPLETE"
    };
    let mut v = brief(service, r);
    v["updatedAt"] = time(r.updated_at);
    v["sourceServiceRevisions"] = json!(r
        .source_revision_arns
        .iter()
        .map(|arn| summary(service, r, arn))
        .collect::<Vec<_>>());
    v["targetServiceRevision"] = summary(service, r, &r.target_revision_arn);
    v["deploymentConfiguration"] = json!(r.deployment_configuration);
    v["deploymentCircuitBreaker"] = json!({
        "status": breaker_status,
        "failureCount": live_failures,
        "threshold": r.breaker_threshold,
    });
    v["alarms"] = json!({ "status": "DISABLED" });
    if let Some(at) = r.stopped_at {
        v["stoppedAt"] = time(at);
    }
    if let Some(rollback) = &r.rollback {
        v["rollback"] = json!(rollback);
    }
    if let Some(shift) = &r.shift {
        v["lifecycleStage"] = json!(shift.stage);
    }
    v
}
