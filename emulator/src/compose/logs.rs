//! `logs`: the services' output from CloudWatch Logs. Every container
//! `up` registers logs with awslogs to the project's group, in streams
//! `PROJECT/SERVICE/TASK-ID`; a service whose compose file names its own
//! awslogs group is read from there.

use super::apply::POLL;
use super::translate::Plan;
use super::ComposeError;
use crate::console::Console;
use crate::sdk_client::{Aws, AwsFailure};

pub async fn print(
    aws: &Aws,
    plan: &Plan,
    services: &[String],
    follow: bool,
    console: &Console,
) -> Result<(), ComposeError> {
    if let Some(unknown) = services.iter().find(|s| plan.service(s).is_none()) {
        return Err(ComposeError::Invalid(format!(
            "the project has no service {unknown}"
        )));
    }
    let wanted: Vec<_> = plan
        .services
        .iter()
        .filter(|s| services.is_empty() || services.contains(&s.name))
        .collect();
    // Where each service logs: (group, stream prefix).
    let sources: Vec<(String, Option<String>, String)> = wanted
        .iter()
        .map(|s| {
            let options = s
                .task
                .container
                .log_configuration()
                .and_then(|l| l.options().cloned())
                .unwrap_or_default();
            let group = options
                .get("awslogs-group")
                .cloned()
                .unwrap_or_else(|| plan.log_group.clone());
            let prefix = options
                .get("awslogs-stream-prefix")
                .map(|p| format!("{p}/{}/", s.name));
            (s.name.clone(), prefix, group)
        })
        .collect();
    let mut since: Vec<i64> = vec![0; sources.len()];
    loop {
        for (i, (service, prefix, group)) in sources.iter().enumerate() {
            let mut token = None;
            loop {
                let page = match aws
                    .logs
                    .filter_log_events()
                    .log_group_name(group)
                    .set_log_stream_name_prefix(prefix.clone())
                    .start_time(since[i])
                    .set_next_token(token)
                    .send()
                    .await
                {
                    Ok(page) => page,
                    Err(e)
                        if aws_sdk_ecs::error::ProvideErrorMetadata::code(&e)
                            == Some("ResourceNotFoundException") =>
                    {
                        break
                    }
                    Err(e) => return Err(ComposeError::aws("FilterLogEvents")(e)),
                };
                for event in page.events() {
                    let task = event
                        .log_stream_name()
                        .and_then(|s| s.rsplit('/').next())
                        .map(|t| &t[..t.len().min(8)])
                        .unwrap_or_default();
                    console.line(&format!(
                        "{service}-{task} | {}",
                        event.message().unwrap_or_default().trim_end()
                    ));
                    since[i] = since[i].max(event.timestamp().unwrap_or(0) + 1);
                }
                token = page.next_token;
                if token.is_none() {
                    break;
                }
            }
        }
        if !follow {
            return Ok(());
        }
        tokio::time::sleep(POLL * 2).await;
    }
}
