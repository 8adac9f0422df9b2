//! Whether a service changed: the task definition `up` would register,
//! compared field by field with the registered revision, as ECS echoes it
//! (absent lists as empty, `hostPort` filled in, flags unset as false).

use aws_sdk_ecs::types::{ContainerDefinition, Volume};

use super::translate::TaskDefinitionSpec;

/// The fields of `sent` that differ from the registered revision (empty
/// when the service needs no new revision).
pub fn differences(
    sent: &TaskDefinitionSpec,
    registered: &aws_sdk_ecs::types::TaskDefinition,
) -> Vec<&'static str> {
    let mut changed = vec![];
    let mut check = |field: &'static str, same: bool| {
        if !same {
            changed.push(field);
        }
    };
    check(
        "cpu",
        registered.cpu() == Some(sent.cpu.to_string().as_str()),
    );
    check(
        "memory",
        registered.memory() == Some(sent.memory.to_string().as_str()),
    );
    check(
        "taskRoleArn",
        registered.task_role_arn() == sent.task_role_arn.as_deref(),
    );
    check(
        "executionRoleArn",
        registered.execution_role_arn() == sent.execution_role_arn.as_deref(),
    );
    let volume_names = |v: &[Volume]| {
        v.iter()
            .map(|v| v.name().map(str::to_string))
            .collect::<Vec<_>>()
    };
    check(
        "volumes",
        volume_names(registered.volumes()) == volume_names(&sent.volumes),
    );
    let Some(old) = registered.container_definitions().first() else {
        check("containerDefinitions", false);
        return changed;
    };
    let new = &sent.container;
    check("image", old.image() == new.image());
    check("command", old.command() == new.command());
    check("entryPoint", old.entry_point() == new.entry_point());
    let env = |c: &ContainerDefinition| {
        let mut e: Vec<(Option<String>, Option<String>)> = c
            .environment()
            .iter()
            .map(|kv| {
                (
                    kv.name().map(str::to_string),
                    kv.value().map(str::to_string),
                )
            })
            .collect();
        e.sort();
        e
    };
    check("environment", env(old) == env(new));
    let ports = |c: &ContainerDefinition| {
        c.port_mappings()
            .iter()
            .map(|p| {
                (
                    p.container_port(),
                    p.protocol().map_or("tcp", |p| p.as_str()).to_string(),
                )
            })
            .collect::<Vec<_>>()
    };
    check("portMappings", ports(old) == ports(new));
    check("healthCheck", old.health_check() == new.health_check());
    let mounts = |c: &ContainerDefinition| {
        c.mount_points()
            .iter()
            .map(|m| {
                (
                    m.source_volume().map(str::to_string),
                    m.container_path().map(str::to_string),
                    m.read_only().unwrap_or(false),
                )
            })
            .collect::<Vec<_>>()
    };
    check("mountPoints", mounts(old) == mounts(new));
    check(
        "workingDirectory",
        old.working_directory() == new.working_directory(),
    );
    check("user", old.user() == new.user());
    check("ulimits", old.ulimits() == new.ulimits());
    check("dockerLabels", old.docker_labels() == new.docker_labels());
    let linux = |c: &ContainerDefinition| {
        let l = c.linux_parameters();
        let caps = l.and_then(|l| l.capabilities());
        (
            caps.map(|c| c.add().to_vec()).unwrap_or_default(),
            caps.map(|c| c.drop().to_vec()).unwrap_or_default(),
            l.and_then(|l| l.init_process_enabled()).unwrap_or(false),
        )
    };
    check("linuxParameters", linux(old) == linux(new));
    let logs = |c: &ContainerDefinition| {
        c.log_configuration().map(|l| {
            (
                l.log_driver().as_str().to_string(),
                l.options().cloned().unwrap_or_default(),
            )
        })
    };
    check("logConfiguration", logs(old) == logs(new));
    check("secrets", old.secrets() == new.secrets());
    check("stopTimeout", old.stop_timeout() == new.stop_timeout());
    let flag = |v: Option<bool>| v.unwrap_or(false);
    check(
        "readonlyRootFilesystem",
        flag(old.readonly_root_filesystem()) == flag(new.readonly_root_filesystem()),
    );
    check(
        "pseudoTerminal",
        flag(old.pseudo_terminal()) == flag(new.pseudo_terminal()),
    );
    check(
        "interactive",
        flag(old.interactive()) == flag(new.interactive()),
    );
    changed
}
