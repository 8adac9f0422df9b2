//! Container ordering (`dependsOn`), as the ECS agent resolves it: when a
//! container may start, when it never can, and the order containers stop in
//! (the start order reversed: a container stops only after every container
//! that depends on it has stopped).

use std::collections::{BTreeMap, HashMap};

use super::task_definition::ContainerDefinition;

/// A `dependsOn[].condition`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    /// The dependency has started (and may since have stopped).
    Start,
    /// The dependency has run and exited, with any exit code.
    Complete,
    /// The dependency has exited with code 0.
    Success,
    /// The dependency's Docker health check reports healthy.
    Healthy,
}

impl Condition {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "START" => Self::Start,
            "COMPLETE" => Self::Complete,
            "SUCCESS" => Self::Success,
            "HEALTHY" => Self::Healthy,
            _ => return None,
        })
    }
}

/// What the task's driver has seen of one container while the task starts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    pub started: bool,
    /// `Some` once the container has ended: its exit code, if it has one.
    pub exited: Option<Option<i64>>,
    pub healthy: bool,
    /// It was given up on (its own dependencies failed, or Docker refused
    /// it): it will never start.
    pub abandoned: bool,
    /// Its `startTimeout` has passed since it started without it reaching
    /// a COMPLETE, SUCCESS or HEALTHY condition another container waits for.
    pub timed_out: bool,
}

/// Whether a container may start now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gate {
    Open,
    Wait,
    /// It never can; the detail the agent gives after
    /// `CannotStartContainerError: `.
    Never(String),
}

/// The gate of `target`, given what is known of every container by name.
/// Mirrors the ECS agent: a SUCCESS dependency that exited non-zero, any
/// dependency that will never start, and a dependency past its
/// `startTimeout` are terminal; anything else waits.
pub fn gate(target: &ContainerDefinition, progress: &HashMap<String, Progress>) -> Gate {
    let mut open = true;
    for dep in &target.depends_on {
        let Some(p) = progress.get(&dep.container_name) else {
            return Gate::Never(format!(
                "dependency graph: container ordering dependency [{}] for target [{}] does not exist.",
                dep.container_name, target.name
            ));
        };
        let condition = Condition::parse(&dep.condition).unwrap_or(Condition::Start);
        let (dependency, target) = (&dep.container_name, &target.name);
        if p.abandoned {
            return Gate::Never(format!(
                "dependency graph: failed to resolve container ordering dependency [{dependency}] for target [{target}] because dependency will never start"
            ));
        }
        let met = match condition {
            Condition::Start => p.started,
            Condition::Complete => p.exited.is_some(),
            Condition::Success => match p.exited {
                Some(Some(0)) => true,
                Some(_) => {
                    return Gate::Never(format!(
                        "dependency graph: failed to resolve container ordering dependency [{dependency}] for target [{target}] as dependency did not exit successfully."
                    ))
                }
                None => false,
            },
            // Health is only reported while the dependency runs: one that
            // ended before it was healthy never will be.
            Condition::Healthy => {
                if !p.healthy && p.exited.is_some() {
                    return Gate::Never(format!(
                        "dependency graph: failed to resolve container ordering dependency [{dependency}] for target [{target}] because dependency will never start"
                    ));
                }
                p.healthy
            }
        };
        if !met && condition != Condition::Start && p.timed_out {
            return Gate::Never(format!(
                "dependency graph: container ordering dependency [{dependency}] for target [{target}] has timed out."
            ));
        }
        open &= met;
    }
    if open {
        Gate::Open
    } else {
        Gate::Wait
    }
}

/// The containers in the order they stop, in waves: each wave's containers
/// can stop together once every earlier wave has stopped. The first wave
/// holds the containers no other container depends on.
pub fn stop_waves(definitions: &[ContainerDefinition]) -> Vec<Vec<String>> {
    // Depth: 0 for a container nothing depends on, else one more than the
    // deepest container depending on it. Registration refuses cycles; a
    // cycle in older state still ends, its containers in one last wave.
    let mut depth: BTreeMap<&str, usize> = definitions
        .iter()
        .map(|d| (d.name.as_str(), 0usize))
        .collect();
    for _ in 0..definitions.len() {
        let mut changed = false;
        for d in definitions {
            let below = depth[d.name.as_str()] + 1;
            for dep in &d.depends_on {
                if let Some(level) = depth.get_mut(dep.container_name.as_str()) {
                    if *level < below {
                        *level = below;
                        changed = true;
                    }
                }
            }
        }
        if !changed {
            break;
        }
    }
    let deepest = depth.values().copied().max().unwrap_or(0);
    let mut waves = vec![Vec::new(); deepest + 1];
    // Definition order within a wave, as the task defines them.
    for d in definitions {
        waves[depth[d.name.as_str()].min(deepest)].push(d.name.clone());
    }
    waves.retain(|w| !w.is_empty());
    waves
}

/// The containers of a dependency cycle, in the order they depend on each
/// other, if the definitions hold one.
pub fn find_cycle(definitions: &[ContainerDefinition]) -> Option<Vec<String>> {
    let index: HashMap<&str, &ContainerDefinition> =
        definitions.iter().map(|d| (d.name.as_str(), d)).collect();
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnPath,
        Done,
    }
    let mut marks: HashMap<&str, Mark> = index.keys().map(|n| (*n, Mark::New)).collect();
    fn visit<'a>(
        name: &'a str,
        index: &HashMap<&'a str, &'a ContainerDefinition>,
        marks: &mut HashMap<&'a str, Mark>,
        path: &mut Vec<&'a str>,
    ) -> Option<Vec<String>> {
        marks.insert(name, Mark::OnPath);
        path.push(name);
        for dep in &index[name].depends_on {
            let next = dep.container_name.as_str();
            match marks.get(next) {
                Some(Mark::OnPath) => {
                    let from = path.iter().position(|n| *n == next).unwrap_or(0);
                    return Some(path[from..].iter().map(|n| n.to_string()).collect());
                }
                Some(Mark::New) => {
                    if let Some(cycle) = visit(next, index, marks, path) {
                        return Some(cycle);
                    }
                }
                Some(Mark::Done) | None => {}
            }
        }
        path.pop();
        marks.insert(name, Mark::Done);
        None
    }
    for d in definitions {
        if marks[d.name.as_str()] == Mark::New {
            if let Some(cycle) = visit(&d.name, &index, &mut marks, &mut Vec::new()) {
                return Some(cycle);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defs(json: serde_json::Value) -> Vec<ContainerDefinition> {
        serde_json::from_value(json).unwrap()
    }

    fn sidecar_task() -> Vec<ContainerDefinition> {
        defs(serde_json::json!([
            {"name": "init", "image": "i", "essential": false},
            {"name": "proxy", "image": "p",
             "healthCheck": {"command": ["CMD", "true"]},
             "dependsOn": [{"containerName": "init", "condition": "SUCCESS"}]},
            {"name": "app", "image": "a", "dependsOn": [
                {"containerName": "proxy", "condition": "HEALTHY"},
                {"containerName": "init", "condition": "COMPLETE"}]},
            {"name": "log", "image": "l", "essential": false}
        ]))
    }

    fn progress(entries: &[(&str, Progress)]) -> HashMap<String, Progress> {
        entries.iter().map(|(n, p)| (n.to_string(), *p)).collect()
    }

    const RUNNING: Progress = Progress {
        started: true,
        exited: None,
        healthy: false,
        abandoned: false,
        timed_out: false,
    };

    /// Started, then ended with exit code `code`.
    fn exited(code: i64) -> Progress {
        Progress {
            exited: Some(Some(code)),
            ..RUNNING
        }
    }

    #[test]
    fn each_condition_opens_when_it_is_met() {
        let d = sidecar_task();
        let none = Progress::default();
        let mut p = progress(&[
            ("init", none),
            ("proxy", none),
            ("app", none),
            ("log", none),
        ]);
        assert_eq!(gate(&d[0], &p), Gate::Open, "no dependencies");
        assert_eq!(gate(&d[3], &p), Gate::Open);
        assert_eq!(gate(&d[1], &p), Gate::Wait, "init has not run");
        p.insert("init".into(), RUNNING);
        assert_eq!(gate(&d[1], &p), Gate::Wait, "init still runs");
        p.insert("init".into(), exited(0));
        assert_eq!(gate(&d[1], &p), Gate::Open);
        p.insert("proxy".into(), RUNNING);
        assert_eq!(gate(&d[2], &p), Gate::Wait, "proxy not yet healthy");
        p.insert(
            "proxy".into(),
            Progress {
                healthy: true,
                ..RUNNING
            },
        );
        assert_eq!(gate(&d[2], &p), Gate::Open);
        // COMPLETE takes any exit code.
        p.insert("init".into(), exited(3));
        assert_eq!(gate(&d[2], &p), Gate::Open);
    }

    #[test]
    fn a_dependency_that_can_never_be_met_is_terminal() {
        let d = sidecar_task();
        let p = progress(&[("init", exited(1))]);
        let Gate::Never(reason) = gate(&d[1], &p) else {
            panic!("SUCCESS after exit 1 must fail");
        };
        assert!(reason.contains("did not exit successfully"), "{reason}");
        // A HEALTHY dependency that ended unhealthy.
        let p = progress(&[("init", exited(0)), ("proxy", exited(0))]);
        assert!(matches!(gate(&d[2], &p), Gate::Never(_)));
        // An abandoned dependency fails its dependents in turn.
        let p = progress(&[
            ("init", exited(0)),
            (
                "proxy",
                Progress {
                    abandoned: true,
                    ..Default::default()
                },
            ),
        ]);
        let Gate::Never(reason) = gate(&d[2], &p) else {
            panic!("abandoned proxy must fail app");
        };
        assert!(reason.contains("will never start"), "{reason}");
    }

    #[test]
    fn a_start_timeout_fails_waiting_conditions_but_not_start() {
        let d = defs(serde_json::json!([
            {"name": "db", "image": "d", "healthCheck": {"command": ["CMD", "x"]}},
            {"name": "app", "image": "a",
             "dependsOn": [{"containerName": "db", "condition": "HEALTHY"}]},
            {"name": "side", "image": "s",
             "dependsOn": [{"containerName": "db", "condition": "START"}]}
        ]));
        let late = Progress {
            timed_out: true,
            ..RUNNING
        };
        let p = progress(&[("db", late)]);
        let Gate::Never(reason) = gate(&d[1], &p) else {
            panic!("HEALTHY past startTimeout must fail");
        };
        assert!(reason.ends_with("has timed out."), "{reason}");
        assert_eq!(gate(&d[2], &p), Gate::Open);
        // Met in time: the timeout no longer matters.
        let p = progress(&[(
            "db",
            Progress {
                healthy: true,
                ..late
            },
        )]);
        assert_eq!(gate(&d[1], &p), Gate::Open);
    }

    #[test]
    fn containers_stop_in_reverse_dependency_order() {
        assert_eq!(
            stop_waves(&sidecar_task()),
            vec![
                vec!["app".to_string(), "log".to_string()],
                vec!["proxy".to_string()],
                vec!["init".to_string()],
            ]
        );
        let independent = defs(serde_json::json!([
            {"name": "a", "image": "a"}, {"name": "b", "image": "b"}
        ]));
        assert_eq!(
            stop_waves(&independent),
            vec![vec!["a".to_string(), "b".to_string()]]
        );
    }

    #[test]
    fn cycles_are_found_and_chains_are_not_cycles() {
        assert_eq!(find_cycle(&sidecar_task()), None);
        let cyclic = defs(serde_json::json!([
            {"name": "a", "image": "a", "dependsOn": [{"containerName": "b", "condition": "START"}]},
            {"name": "b", "image": "b", "dependsOn": [{"containerName": "c", "condition": "START"}]},
            {"name": "c", "image": "c", "dependsOn": [{"containerName": "a", "condition": "START"}]}
        ]));
        assert_eq!(
            find_cycle(&cyclic),
            Some(vec!["a".to_string(), "b".to_string(), "c".to_string()])
        );
        let own = defs(serde_json::json!([
            {"name": "a", "image": "a", "dependsOn": [{"containerName": "a", "condition": "START"}]}
        ]));
        assert_eq!(find_cycle(&own), Some(vec!["a".to_string()]));
        // The stop order of a cycle still ends.
        assert_eq!(stop_waves(&cyclic).concat().len(), 3);
    }
}
