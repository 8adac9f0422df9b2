//! CloudWatch Logs actions (AWS JSON 1.1, `X-Amz-Target: Logs_20140328.*`).
//! The subset that makes a task's `awslogs` output readable: groups,
//! streams, PutLogEvents, GetLogEvents and FilterLogEvents.
//! <https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_Operations.html>

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{json, Value};

use super::wire::{self, Input, JsonService};
use crate::domain::arn::arn;
use crate::domain::logs::{
    self, check_batch, group_name_from_identifier, now_millis, Cursor, FilterCursor, FilterPattern,
    FilterQuery, LogGroup, LogStream, LogsError,
};
use crate::protocol::json::JsonError;

/// DescribeLogGroups / DescribeLogStreams page size by default and at most (AWS: 50).
const MAX_DESCRIBE_LIMIT: usize = 50;
/// GetLogEvents / FilterLogEvents events per page by default and at most
/// (AWS: 10,000, or 1 MB, whichever comes first).
const MAX_EVENTS_LIMIT: usize = 10_000;

type Output = Result<Value, LogsError>;

/// CloudWatch Logs's operations.
pub struct Logs;

type Handler<'a> = wire::Handler<'a, Logs>;

impl JsonService for Logs {
    const VALIDATION_CODE: &'static str = "InvalidParameterException";
    type Error = LogsError;

    fn dispatch(h: &Handler, op: &str, input: &Input) -> Result<Output, JsonError> {
        // Retention is applied before every request, so no read sees an
        // event its group's policy has expired.
        h.api.store.write_logs(|logs| logs.expire(now_millis()));
        Ok(match op {
            "CreateLogGroup" => h.create_log_group(input.decode()?),
            "DescribeLogGroups" => h.describe_log_groups(input.decode()?),
            "DeleteLogGroup" => h.delete_log_group(input.decode()?),
            "CreateLogStream" => h.create_log_stream(input.decode()?),
            "DescribeLogStreams" => h.describe_log_streams(input.decode()?),
            "DeleteLogStream" => h.delete_log_stream(input.decode()?),
            "PutLogEvents" => h.put_log_events(input.decode()?),
            "GetLogEvents" => h.get_log_events(input.decode()?),
            "FilterLogEvents" => h.filter_log_events(input.decode()?),
            "PutRetentionPolicy" => h.put_retention_policy(input.decode()?),
            "DeleteRetentionPolicy" => h.delete_retention_policy(input.decode()?),
            "TagLogGroup" => h.tag_log_group(input.decode()?),
            "UntagLogGroup" => h.untag_log_group(input.decode()?),
            "ListTagsLogGroup" => h.list_tags_log_group(input.decode()?),
            "TagResource" => h.tag_resource(input.decode()?),
            "UntagResource" => h.untag_resource(input.decode()?),
            "ListTagsForResource" => h.list_tags_for_resource(input.decode()?),
            other => return Err(JsonError::unknown_operation(other)),
        })
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GroupInput {
    log_group_name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateLogGroupInput {
    log_group_name: String,
    #[serde(default)]
    tags: BTreeMap<String, String>,
    kms_key_id: Option<String>,
    log_group_class: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RetentionInput {
    log_group_name: String,
    retention_in_days: i64,
}

/// TagLogGroup / UntagLogGroup / ListTagsLogGroup (by group name).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GroupTagsInput {
    log_group_name: String,
    #[serde(default)]
    tags: BTreeMap<String, String>,
    #[serde(default)]
    tags_list: Vec<String>,
}

/// TagResource / UntagResource / ListTagsForResource (by ARN).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResourceTagsInput {
    resource_arn: String,
    #[serde(default)]
    tags: BTreeMap<String, String>,
    #[serde(default)]
    tag_keys: Vec<String>,
}

/// The log classes CreateLogGroup takes.
const LOG_GROUP_CLASSES: [&str; 3] = ["STANDARD", "INFREQUENT_ACCESS", "DELIVERY"];

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DescribeLogGroupsInput {
    log_group_name_prefix: Option<String>,
    log_group_name_pattern: Option<String>,
    limit: Option<i64>,
    next_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StreamInput {
    log_group_name: String,
    log_stream_name: String,
}

/// `logGroupName` or `logGroupIdentifier` (a name or an ARN): exactly one.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GroupRef {
    log_group_name: Option<String>,
    log_group_identifier: Option<String>,
}

impl GroupRef {
    fn name(&self) -> Result<&str, LogsError> {
        match (&self.log_group_name, &self.log_group_identifier) {
            (Some(name), None) => Ok(name),
            (None, Some(id)) => Ok(group_name_from_identifier(id)),
            (Some(_), Some(_)) => Err(LogsError::InvalidParameter(
                "LogGroupName and LogGroupIdentifier are mutually exclusive parameters.".into(),
            )),
            (None, None) => Err(LogsError::InvalidParameter(
                "Either LogGroupName or LogGroupIdentifier must be specified.".into(),
            )),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DescribeLogStreamsInput {
    #[serde(flatten)]
    group: GroupRef,
    log_stream_name_prefix: Option<String>,
    order_by: Option<String>,
    #[serde(default)]
    descending: bool,
    limit: Option<i64>,
    next_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InputLogEvent {
    timestamp: i64,
    message: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PutLogEventsInput {
    log_group_name: String,
    log_stream_name: String,
    log_events: Vec<InputLogEvent>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GetLogEventsInput {
    #[serde(flatten)]
    group: GroupRef,
    log_stream_name: String,
    start_time: Option<i64>,
    end_time: Option<i64>,
    next_token: Option<String>,
    limit: Option<i64>,
    #[serde(default)]
    start_from_head: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FilterLogEventsInput {
    #[serde(flatten)]
    group: GroupRef,
    log_stream_names: Option<Vec<String>>,
    log_stream_name_prefix: Option<String>,
    start_time: Option<i64>,
    end_time: Option<i64>,
    filter_pattern: Option<String>,
    next_token: Option<String>,
    limit: Option<i64>,
}

/// A `limit` in `1..=max`, `max` when absent.
fn limit(value: Option<i64>, max: usize) -> Result<usize, LogsError> {
    match value {
        None => Ok(max),
        Some(n) if (1..=max as i64).contains(&n) => Ok(n as usize),
        Some(n) => Err(LogsError::InvalidParameter(format!(
            "1 validation error detected: Value '{n}' at 'limit' failed to satisfy constraint: Member must have value between 1 and {max}"
        ))),
    }
}

/// One page of a listing; the token is the offset of the next page.
fn paginate<T>(
    items: Vec<T>,
    limit: usize,
    token: Option<&str>,
) -> Result<(Vec<T>, Option<String>), LogsError> {
    let start = match token {
        Some(t) => t.parse::<usize>().map_err(|_| {
            LogsError::InvalidParameter("The specified nextToken is invalid.".into())
        })?,
        None => 0,
    };
    let total = items.len();
    let page = items.into_iter().skip(start).take(limit).collect();
    let next = (start + limit < total).then(|| (start + limit).to_string());
    Ok((page, next))
}

/// Sets `key` only when there is a value: the Logs API omits absent members.
fn put_opt<T: serde::Serialize>(object: &mut Value, key: &str, value: Option<T>) {
    if let Some(v) = value {
        object[key] = json!(v);
    }
}

impl Handler<'_> {
    /// `arn:aws:logs:REGION:ACCOUNT:log-group:NAME`. The store is not
    /// regional, so ARNs use the caller's region.
    fn group_arn(&self, group: &str) -> String {
        arn(
            "logs",
            &self.ctx.region,
            self.api.account_id(),
            &format!("log-group:{group}"),
        )
    }

    fn group_view(&self, group: &LogGroup) -> Value {
        let arn = self.group_arn(&group.name);
        let mut view = json!({
            "logGroupName": group.name,
            "creationTime": group.creation_time,
            "metricFilterCount": 0,
            // DescribeLogGroups' `arn` ends in `:*`; `logGroupArn` does not.
            "arn": format!("{arn}:*"),
            "logGroupArn": arn,
            "storedBytes": group.stored_bytes(),
            "logGroupClass": group.log_group_class,
        });
        put_opt(&mut view, "retentionInDays", group.retention_in_days);
        put_opt(&mut view, "kmsKeyId", group.kms_key_id.as_deref());
        view
    }

    fn stream_view(&self, group: &str, stream: &LogStream) -> Value {
        let mut view = json!({
            "logStreamName": stream.name,
            "creationTime": stream.creation_time,
            "arn": format!("{}:log-stream:{}", self.group_arn(group), stream.name),
            "storedBytes": stream.stored_bytes(),
            "uploadSequenceToken": stream.sequence_token(),
        });
        put_opt(
            &mut view,
            "firstEventTimestamp",
            stream.first_event_timestamp(),
        );
        put_opt(
            &mut view,
            "lastEventTimestamp",
            stream.last_event_timestamp(),
        );
        put_opt(&mut view, "lastIngestionTime", stream.last_ingestion_time);
        view
    }

    fn create_log_group(&self, input: CreateLogGroupInput) -> Output {
        let class = input.log_group_class.unwrap_or_else(|| "STANDARD".into());
        if !LOG_GROUP_CLASSES.contains(&class.as_str()) {
            return Err(LogsError::InvalidParameter(format!(
                "1 validation error detected: Value '{class}' at 'logGroupClass' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
                LOG_GROUP_CLASSES.join(", ")
            )));
        }
        self.api.store.write_logs(|logs| {
            logs.create_group(&input.log_group_name, now_millis())?;
            let group = logs.group_mut(&input.log_group_name)?;
            group.kms_key_id = input.kms_key_id;
            group.log_group_class = class;
            if let Err(e) = group.tag(input.tags) {
                logs.delete_group(&input.log_group_name)?;
                return Err(e);
            }
            Ok(json!({}))
        })
    }

    fn put_retention_policy(&self, input: RetentionInput) -> Output {
        let days = logs::check_retention(input.retention_in_days)?;
        self.api.store.write_logs(|logs| {
            let group = logs.group_mut(&input.log_group_name)?;
            group.retention_in_days = Some(days);
            group.expire(now_millis());
            Ok(json!({}))
        })
    }

    fn delete_retention_policy(&self, input: GroupInput) -> Output {
        self.api.store.write_logs(|logs| {
            logs.group_mut(&input.log_group_name)?.retention_in_days = None;
            Ok(json!({}))
        })
    }

    fn tag_log_group(&self, input: GroupTagsInput) -> Output {
        self.api.store.write_logs(|logs| {
            logs.group_mut(&input.log_group_name)?.tag(input.tags)?;
            Ok(json!({}))
        })
    }

    fn untag_log_group(&self, input: GroupTagsInput) -> Output {
        self.api.store.write_logs(|logs| {
            let group = logs.group_mut(&input.log_group_name)?;
            group.tags.retain(|k, _| !input.tags_list.contains(k));
            Ok(json!({}))
        })
    }

    fn list_tags_log_group(&self, input: GroupTagsInput) -> Output {
        self.api.store.read(|s| {
            let group = s.logs.group(&input.log_group_name)?;
            Ok(json!({ "tags": group.tags }))
        })
    }

    /// The group a TagResource-style ARN names; only log groups carry tags here.
    fn tagged_group(arn: &str) -> Result<&str, LogsError> {
        if !arn.starts_with("arn:") || !arn.contains(":log-group:") {
            return Err(LogsError::InvalidParameter(format!(
                "Invalid resource ARN '{arn}': tags are supported on log groups (arn:aws:logs:REGION:ACCOUNT:log-group:NAME)."
            )));
        }
        Ok(group_name_from_identifier(arn))
    }

    fn tag_resource(&self, input: ResourceTagsInput) -> Output {
        let name = Self::tagged_group(&input.resource_arn)?;
        self.api.store.write_logs(|logs| {
            logs.group_mut(name)?.tag(input.tags)?;
            Ok(json!({}))
        })
    }

    fn untag_resource(&self, input: ResourceTagsInput) -> Output {
        let name = Self::tagged_group(&input.resource_arn)?;
        self.api.store.write_logs(|logs| {
            let group = logs.group_mut(name)?;
            group.tags.retain(|k, _| !input.tag_keys.contains(k));
            Ok(json!({}))
        })
    }

    fn list_tags_for_resource(&self, input: ResourceTagsInput) -> Output {
        let name = Self::tagged_group(&input.resource_arn)?;
        self.api.store.read(|s| {
            let group = s.logs.group(name)?;
            Ok(json!({ "tags": group.tags }))
        })
    }

    fn describe_log_groups(&self, input: DescribeLogGroupsInput) -> Output {
        let limit = limit(input.limit, MAX_DESCRIBE_LIMIT)?;
        if input.log_group_name_prefix.is_some() && input.log_group_name_pattern.is_some() {
            return Err(LogsError::InvalidParameter(
                "LogGroupNamePrefix and LogGroupNamePattern are mutually exclusive parameters."
                    .into(),
            ));
        }
        let groups: Vec<Value> = self.api.store.read(|s| {
            s.logs
                .groups
                .values()
                .filter(|g| {
                    input
                        .log_group_name_prefix
                        .as_deref()
                        .is_none_or(|p| g.name.starts_with(p))
                        && input
                            .log_group_name_pattern
                            .as_deref()
                            .is_none_or(|p| g.name.contains(p))
                })
                .map(|g| self.group_view(g))
                .collect()
        });
        let (page, next) = paginate(groups, limit, input.next_token.as_deref())?;
        let mut out = json!({ "logGroups": page });
        put_opt(&mut out, "nextToken", next);
        Ok(out)
    }

    fn delete_log_group(&self, input: GroupInput) -> Output {
        self.api.store.write_logs(|logs| {
            logs.delete_group(&input.log_group_name)?;
            Ok(json!({}))
        })
    }

    fn create_log_stream(&self, input: StreamInput) -> Output {
        self.api.store.write_logs(|logs| {
            logs.group_mut(&input.log_group_name)?
                .create_stream(&input.log_stream_name, now_millis())?;
            Ok(json!({}))
        })
    }

    fn delete_log_stream(&self, input: StreamInput) -> Output {
        self.api.store.write_logs(|logs| {
            logs.group_mut(&input.log_group_name)?
                .delete_stream(&input.log_stream_name)?;
            Ok(json!({}))
        })
    }

    fn describe_log_streams(&self, input: DescribeLogStreamsInput) -> Output {
        let limit = limit(input.limit, MAX_DESCRIBE_LIMIT)?;
        let by_last_event = match input.order_by.as_deref() {
            None | Some("LogStreamName") => false,
            Some("LastEventTime") => true,
            Some(other) => {
                return Err(LogsError::InvalidParameter(format!(
                    "orderBy must be LogStreamName or LastEventTime, not {other}."
                )))
            }
        };
        if by_last_event && input.log_stream_name_prefix.is_some() {
            return Err(LogsError::InvalidParameter(
                "Cannot order by LastEventTime with a logStreamNamePrefix.".into(),
            ));
        }
        let group_name = input.group.name()?;
        let streams = self.api.store.read(|s| {
            let group = s.logs.group(group_name)?;
            let mut streams: Vec<&LogStream> = group
                .streams
                .values()
                .filter(|st| {
                    input
                        .log_stream_name_prefix
                        .as_deref()
                        .is_none_or(|p| st.name.starts_with(p))
                })
                .collect();
            if by_last_event {
                // Streams without events sort first, as if their last event were at 0.
                streams.sort_by_key(|st| st.last_event_timestamp().unwrap_or(0));
            }
            if input.descending {
                streams.reverse();
            }
            Ok::<_, LogsError>(
                streams
                    .into_iter()
                    .map(|st| self.stream_view(&group.name, st))
                    .collect::<Vec<_>>(),
            )
        })?;
        let (page, next) = paginate(streams, limit, input.next_token.as_deref())?;
        let mut out = json!({ "logStreams": page });
        put_opt(&mut out, "nextToken", next);
        Ok(out)
    }

    fn put_log_events(&self, input: PutLogEventsInput) -> Output {
        let now = now_millis();
        let events: Vec<(i64, &str)> = input
            .log_events
            .iter()
            .map(|e| (e.timestamp, e.message.as_str()))
            .collect();
        let check = check_batch(&events, now)?;
        let accepted = events[check.accepted.clone()]
            .iter()
            .map(|(t, m)| (*t, m.to_string()));
        let sequence = self.api.store.write_logs(|logs| {
            let group = logs.group_mut(&input.log_group_name)?;
            group.append(&input.log_stream_name, accepted, now)?;
            Ok::<_, LogsError>(group.stream(&input.log_stream_name)?.sequence_token())
        })?;
        let mut out = json!({ "nextSequenceToken": sequence });
        if check.too_old_end.is_some() || check.too_new_start.is_some() {
            let mut rejected = json!({});
            put_opt(&mut rejected, "tooOldLogEventEndIndex", check.too_old_end);
            put_opt(
                &mut rejected,
                "tooNewLogEventStartIndex",
                check.too_new_start,
            );
            out["rejectedLogEventsInfo"] = rejected;
        }
        Ok(out)
    }

    fn get_log_events(&self, input: GetLogEventsInput) -> Output {
        let limit = limit(input.limit, MAX_EVENTS_LIMIT)?;
        let group_name = input.group.name()?;
        let cursor = input.next_token.as_deref().map(Cursor::parse).transpose()?;
        self.api.store.read(|s| {
            let stream = s.logs.group(group_name)?.stream(&input.log_stream_name)?;
            // Without a token: the first events with startFromHead, else the last.
            let cursor = cursor.unwrap_or(if input.start_from_head {
                Cursor::Forward(stream.head())
            } else {
                Cursor::Backward(stream.tail())
            });
            let page = stream.page(cursor, input.start_time, input.end_time, limit);
            let events: Vec<Value> = page
                .events
                .iter()
                .map(|e| {
                    json!({
                        "timestamp": e.timestamp,
                        "message": e.message,
                        "ingestionTime": e.ingestion_time,
                    })
                })
                .collect();
            Ok(json!({
                "events": events,
                "nextForwardToken": page.forward_token(),
                "nextBackwardToken": page.backward_token(),
            }))
        })
    }

    fn filter_log_events(&self, input: FilterLogEventsInput) -> Output {
        let limit = limit(input.limit, MAX_EVENTS_LIMIT)?;
        let group_name = input.group.name()?;
        if input.log_stream_names.is_some() && input.log_stream_name_prefix.is_some() {
            return Err(LogsError::InvalidParameter(
                "logStreamNames and logStreamNamePrefix are mutually exclusive parameters.".into(),
            ));
        }
        let query = FilterQuery {
            stream_names: input.log_stream_names,
            stream_prefix: input.log_stream_name_prefix,
            start: input.start_time,
            end: input.end_time,
            pattern: FilterPattern::parse(input.filter_pattern.as_deref().unwrap_or(""))?,
            after: input
                .next_token
                .as_deref()
                .map(FilterCursor::parse)
                .transpose()?,
            limit,
        };
        self.api.store.read(|s| {
            let page = s.logs.group(group_name)?.filter(&query);
            let events: Vec<Value> = page
                .events
                .iter()
                .map(|(stream, e)| {
                    json!({
                        "logStreamName": stream,
                        "timestamp": e.timestamp,
                        "message": e.message,
                        "ingestionTime": e.ingestion_time,
                        "eventId": event_id(e),
                    })
                })
                .collect();
            let searched: Vec<Value> = page
                .searched
                .iter()
                .map(|name| json!({ "logStreamName": name, "searchedCompletely": true }))
                .collect();
            let mut out = json!({ "events": events, "searchedLogStreams": searched });
            put_opt(&mut out, "nextToken", page.next.map(|c| c.token()));
            Ok(out)
        })
    }
}

/// `eventId`: digits, unique within the group, like AWS's 56-digit ids.
fn event_id(event: &logs::LogEvent) -> String {
    format!("{:056}", event.id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_default_to_the_maximum_and_reject_out_of_range() {
        assert_eq!(limit(None, 50), Ok(50));
        assert_eq!(limit(Some(1), 50), Ok(1));
        assert!(limit(Some(0), 50).is_err());
        assert!(limit(Some(51), 50).is_err());
    }

    #[test]
    fn listings_page_by_offset() {
        let (page, next) = paginate(vec![1, 2, 3], 2, None).unwrap();
        assert_eq!((page, next.as_deref()), (vec![1, 2], Some("2")));
        let (page, next) = paginate(vec![1, 2, 3], 2, Some("2")).unwrap();
        assert_eq!((page, next), (vec![3], None));
        assert!(paginate(vec![1], 2, Some("x")).is_err());
    }
}
