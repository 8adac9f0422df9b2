//! Task definition actions: register, deregister, delete, describe, list.

use serde::Deserialize;
use serde_json::json;

use super::{merge_tags, paginate, Handler, Output, PageInput};
use crate::domain::ecs::validate::{self, EcsError};
use crate::domain::ecs::{EcsState, Tag, TaskDefinition, TaskDefinitionStatus};

/// DeleteTaskDefinitions takes at most this many (AWS: 10).
const MAX_DELETE_TASK_DEFINITIONS: usize = 10;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct RegisterTaskDefinitionInput {
    #[serde(default)]
    tags: Vec<Tag>,
    #[serde(flatten)]
    definition: TaskDefinition,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct TaskDefinitionRef {
    task_definition: String,
    #[serde(default)]
    include: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ListTaskDefinitionsInput {
    family_prefix: Option<String>,
    status: Option<String>,
    sort: Option<String>,
    #[serde(flatten)]
    page: PageInput,
}

impl ListTaskDefinitionsInput {
    /// The status asked for; ACTIVE when none is.
    fn status(&self) -> &str {
        self.status
            .as_deref()
            .unwrap_or(TaskDefinitionStatus::Active.as_str())
    }

    /// The families that start with `familyPrefix`, with their revisions.
    fn families<'a>(
        &'a self,
        ecs: &'a EcsState,
    ) -> impl Iterator<Item = (&'a String, &'a Vec<TaskDefinition>)> + 'a {
        ecs.task_definitions.iter().filter(|(family, _)| {
            self.family_prefix
                .as_deref()
                .is_none_or(|p| family.starts_with(p))
        })
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct DeleteTaskDefinitionsInput {
    task_definitions: Vec<String>,
}

impl Handler<'_> {
    pub(super) fn register_task_definition(&self, input: RegisterTaskDefinitionInput) -> Output {
        let mut def = input.definition;
        validate::task_definition(&mut def)?;
        for member in validate::ignored_members(&def) {
            crate::api::ignored_once(&format!("ECS RegisterTaskDefinition {member}"));
        }
        self.api.store.write(|s| {
            let ecs = &mut s.ecs;
            let revisions = ecs.task_definitions.entry(def.family.clone()).or_default();
            def.revision = revisions.len() as u32 + 1;
            def.task_definition_arn =
                self.arn(&format!("task-definition/{}:{}", def.family, def.revision));
            def.status = TaskDefinitionStatus::Active;
            def.registered_at = Some(Self::now());
            def.registered_by = Some(self.root_principal());
            def.requires_attributes = def.required_attributes();
            def.compatibilities = if def.network_mode.as_deref() == Some("awsvpc") {
                vec!["EC2".into(), "FARGATE".into()]
            } else {
                vec!["EC2".into()]
            };
            revisions.push(def.clone());
            let tags = input.tags;
            merge_tags(ecs, &def.task_definition_arn, tags.clone());
            Ok(json!({ "taskDefinition": def, "tags": tags }))
        })
    }

    pub(super) fn deregister_task_definition(&self, input: TaskDefinitionRef) -> Output {
        if !input.task_definition.contains(':') {
            return Err(EcsError::Client(
                "Revision must be specified: use family:revision or the full ARN.".into(),
            ));
        }
        self.api.store.write(|s| {
            let found = s.ecs.find_task_definition(&input.task_definition).cloned();
            let Some(def) = found else {
                return Err(EcsError::Client(
                    "The specified task definition does not exist.".into(),
                ));
            };
            let revisions = s.ecs.task_definitions.get_mut(&def.family);
            let slot = revisions.and_then(|r| r.get_mut(def.revision as usize - 1));
            let Some(slot) = slot else {
                return Err(EcsError::Client(
                    "The specified task definition does not exist.".into(),
                ));
            };
            if slot.status == TaskDefinitionStatus::Active {
                slot.status = TaskDefinitionStatus::Inactive;
                slot.deregistered_at = Some(Self::now());
            }
            Ok(json!({ "taskDefinition": slot.clone() }))
        })
    }

    pub(super) fn describe_task_definition(&self, input: TaskDefinitionRef) -> Output {
        self.api.store.read(|s| {
            let def = s
                .ecs
                .find_task_definition(&input.task_definition)
                .ok_or_else(|| EcsError::Client("Unable to describe task definition.".into()))?;
            let mut out = json!({ "taskDefinition": def });
            if input.include.iter().any(|i| i == "TAGS") {
                out["tags"] = json!(s.ecs.tags_of(&def.task_definition_arn));
            }
            Ok(out)
        })
    }

    pub(super) fn list_task_definitions(&self, input: ListTaskDefinitionsInput) -> Output {
        let status = input.status();
        let mut arns: Vec<String> = self.api.store.read(|s| {
            input
                .families(&s.ecs)
                .flat_map(|(_, revisions)| revisions.iter())
                .filter(|d| d.status.as_str() == status)
                .map(|d| d.task_definition_arn.clone())
                .collect()
        });
        if input.sort.as_deref() == Some("DESC") {
            arns.reverse();
        }
        let (page, next) = paginate(arns, &input.page)?;
        Ok(json!({ "taskDefinitionArns": page, "nextToken": next }))
    }

    pub(super) fn list_task_definition_families(&self, input: ListTaskDefinitionsInput) -> Output {
        let status = input.status();
        let families: Vec<String> = self.api.store.read(|s| {
            input
                .families(&s.ecs)
                .filter(|(_, revisions)| {
                    status == "ALL" || revisions.iter().any(|d| d.status.as_str() == status)
                })
                .map(|(family, _)| family.clone())
                .collect()
        });
        let (page, next) = paginate(families, &input.page)?;
        Ok(json!({ "families": page, "nextToken": next }))
    }

    /// Deletes INACTIVE revisions: they go to DELETE_IN_PROGRESS, as on
    /// AWS, and stay describable (revision numbers are never reused).
    pub(super) fn delete_task_definitions(&self, input: DeleteTaskDefinitionsInput) -> Output {
        if input.task_definitions.is_empty()
            || input.task_definitions.len() > MAX_DELETE_TASK_DEFINITIONS
        {
            return Err(EcsError::InvalidParameter(format!(
                "taskDefinitions must contain between 1 and {MAX_DELETE_TASK_DEFINITIONS} items."
            )));
        }
        self.api.store.write(|s| {
            let mut deleted = vec![];
            let mut failures = vec![];
            for reference in &input.task_definitions {
                let found = reference
                    .contains(':')
                    .then(|| s.ecs.find_task_definition(reference))
                    .flatten()
                    .map(|d| (d.family.clone(), d.revision));
                let slot = found.and_then(|(family, revision)| {
                    s.ecs
                        .task_definitions
                        .get_mut(&family)?
                        .get_mut(revision as usize - 1)
                });
                match slot {
                    Some(def) if def.status == TaskDefinitionStatus::Inactive => {
                        def.status = TaskDefinitionStatus::DeleteInProgress;
                        deleted.push(def.clone());
                    }
                    // The reason's wording is the emulator's: AWS documents
                    // that only INACTIVE revisions can be deleted.
                    Some(def) => failures.push(json!({
                        "arn": def.task_definition_arn,
                        "reason": "The specified task definition is not INACTIVE. Deregister it before deleting it.",
                    })),
                    None => failures.push(json!({ "arn": reference, "reason": "MISSING" })),
                }
            }
            Ok(json!({ "taskDefinitions": deleted, "failures": failures }))
        })
    }
}
