//! CloudWatch Logs end to end: the AWS SDK for Rust reads what a task using
//! the `awslogs` driver printed, and writes and reads events itself.

use std::time::Duration;

use aws_sdk_cloudwatchlogs::error::ProvideErrorMetadata;
use aws_sdk_cloudwatchlogs::types::{InputLogEvent, OrderBy};
use aws_sdk_ecs::types::{LogConfiguration, LogDriver};
use tests::{ecs, http_get, unique, wait_until, TestEmulator};

const WAIT: Duration = Duration::from_secs(60);

async fn logs_client(emu: &TestEmulator) -> aws_sdk_cloudwatchlogs::Client {
    aws_sdk_cloudwatchlogs::Client::new(&tests::sdk_config(&emu.endpoint_url()).await)
}

fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as i64
}

/// The messages of a stream, oldest first.
async fn messages(
    logs: &aws_sdk_cloudwatchlogs::Client,
    group: &str,
    stream: &str,
) -> Option<Vec<String>> {
    let out = logs
        .get_log_events()
        .log_group_name(group)
        .log_stream_name(stream)
        .start_from_head(true)
        .send()
        .await
        .ok()?;
    Some(
        out.events()
            .iter()
            .filter_map(|e| e.message.clone())
            .collect(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn awslogs_task_output_is_readable_through_cloudwatch_logs() {
    let emu = TestEmulator::start().await;
    let logs = logs_client(&emu).await;
    let cluster = unique("c");
    emu.ecs
        .create_cluster()
        .cluster_name(&cluster)
        .send()
        .await
        .unwrap();
    let family = unique("logs");
    let group = format!("/ecs/{family}");
    let log_configuration = LogConfiguration::builder()
        .log_driver(LogDriver::Awslogs)
        .options("awslogs-group", &group)
        .options("awslogs-region", "us-east-1")
        .options("awslogs-stream-prefix", "web")
        .build()
        .unwrap();
    let container = ecs::sample_container("app")
        .log_configuration(log_configuration)
        .build();
    ecs::register(&emu.ecs, &family, vec![container]).await;
    let started = now_millis();
    let arns = ecs::run(&emu.ecs, &cluster, &family, 1).await;
    let task = wait_until("task RUNNING", WAIT, || async {
        let task = ecs::describe(&emu.ecs, &cluster, &arns).await.pop()?;
        (task.last_status() == Some("RUNNING")).then_some(task)
    })
    .await;
    let ip = ecs::private_ip(&task);
    let task_id = arns[0].rsplit('/').next().unwrap();
    // AWS's awslogs stream name: prefix/container-name/task-id.
    let stream = format!("web/app/{task_id}");

    // The sample app logs one line per request.
    for path in ["/", "/", "/nope"] {
        wait_until("the task answers", WAIT, || async {
            http_get(&format!("http://{ip}:8080{path}")).await.ok()
        })
        .await;
    }
    let lines = wait_until("request lines in GetLogEvents", WAIT, || async {
        let lines = messages(&logs, &group, &stream).await?;
        let ok = lines.iter().filter(|l| *l == "GET / 200").count() == 2
            && lines.iter().any(|l| l == "GET /nope 404");
        ok.then_some(lines)
    })
    .await;
    assert!(
        lines[0].starts_with("sample-app listening on 0.0.0.0:8080"),
        "{lines:?}"
    );

    // Timestamps are Docker's, in epoch milliseconds, in order.
    let out = logs
        .get_log_events()
        .log_group_name(&group)
        .log_stream_name(&stream)
        .send()
        .await
        .unwrap();
    let events = out.events();
    assert_eq!(events.len(), lines.len(), "the default page holds all");
    let stamps: Vec<i64> = events.iter().map(|e| e.timestamp.unwrap()).collect();
    assert!(stamps.windows(2).all(|w| w[0] <= w[1]), "{stamps:?}");
    assert!(
        stamps[0] >= started - 5_000 && stamps[0] <= now_millis(),
        "{stamps:?}"
    );
    for e in events {
        assert!(e.ingestion_time.unwrap() >= e.timestamp.unwrap() - 5_000);
    }

    let groups = logs
        .describe_log_groups()
        .log_group_name_prefix("/ecs/")
        .send()
        .await
        .unwrap();
    let described = &groups.log_groups()[0];
    assert_eq!(groups.log_groups().len(), 1);
    assert_eq!(described.log_group_name(), Some(group.as_str()));
    assert_eq!(
        described.arn(),
        Some(format!("arn:aws:logs:us-east-1:000000000000:log-group:{group}:*").as_str())
    );
    let created = described.creation_time().unwrap();
    assert!(
        created >= started - 5_000 && created <= now_millis(),
        "{created}"
    );
    assert!(described.stored_bytes().unwrap() > 0);
    assert_eq!(described.metric_filter_count(), Some(0));

    let streams = logs
        .describe_log_streams()
        .log_group_name(&group)
        .send()
        .await
        .unwrap();
    assert_eq!(streams.log_streams().len(), 1);
    let described = &streams.log_streams()[0];
    assert_eq!(described.log_stream_name(), Some(stream.as_str()));
    assert_eq!(described.first_event_timestamp(), stamps.first().copied());
    assert_eq!(described.last_event_timestamp(), stamps.last().copied());
    assert!(described.last_ingestion_time().is_some());
    assert_eq!(
        described.arn(),
        Some(
            format!("arn:aws:logs:us-east-1:000000000000:log-group:{group}:log-stream:{stream}")
                .as_str()
        )
    );

    // All terms must appear; quoted phrases match as a whole.
    let found = logs
        .filter_log_events()
        .log_group_name(&group)
        .filter_pattern("GET 404")
        .send()
        .await
        .unwrap();
    assert_eq!(found.events().len(), 1);
    let event = &found.events()[0];
    assert_eq!(event.message(), Some("GET /nope 404"));
    assert_eq!(event.log_stream_name(), Some(stream.as_str()));
    assert!(event.event_id().is_some_and(|id| !id.is_empty()));
    assert_eq!(found.searched_log_streams().len(), 1);
    assert_eq!(found.next_token(), None);
    let found = logs
        .filter_log_events()
        .log_group_name(&group)
        .log_stream_name_prefix("web/app/")
        .filter_pattern("\"GET / 200\"")
        .send()
        .await
        .unwrap();
    assert_eq!(found.events().len(), 2);

    // What the container prints while stopping is shipped before the
    // log stream ends.
    emu.ecs
        .stop_task()
        .cluster(&cluster)
        .task(&arns[0])
        .send()
        .await
        .unwrap();
    wait_until("the SIGTERM line", WAIT, || async {
        let lines = messages(&logs, &group, &stream).await?;
        lines
            .iter()
            .any(|l| l == "sample-app: SIGTERM, exiting")
            .then_some(())
    })
    .await;

    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_get_and_filter_log_events_round_trip() {
    let emu = TestEmulator::start().await;
    let logs = logs_client(&emu).await;
    let group = format!("/test/{}", unique("g"));

    // Errors for what does not exist, or exists already.
    let err = logs
        .create_log_stream()
        .log_group_name(&group)
        .log_stream_name("a")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ResourceNotFoundException"));
    assert_eq!(
        err.message(),
        Some("The specified log group does not exist.")
    );
    logs.create_log_group()
        .log_group_name(&group)
        .send()
        .await
        .unwrap();
    let err = logs
        .create_log_group()
        .log_group_name(&group)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ResourceAlreadyExistsException"));
    let err = logs
        .create_log_group()
        .log_group_name("bad name")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidParameterException"));
    for stream in ["a", "b"] {
        logs.create_log_stream()
            .log_group_name(&group)
            .log_stream_name(stream)
            .send()
            .await
            .unwrap();
    }
    let err = logs
        .get_log_events()
        .log_group_name(&group)
        .log_stream_name("missing")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ResourceNotFoundException"));
    assert_eq!(
        err.message(),
        Some("The specified log stream does not exist.")
    );
    let err = logs
        .get_log_events()
        .log_group_name("/no/such/group")
        .log_stream_name("a")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.message(),
        Some("The specified log group does not exist.")
    );

    // Stream a: events 0..5 one millisecond apart; b: two interleaved ones.
    let base = now_millis() - 60_000;
    let event = |t: i64, m: &str| {
        InputLogEvent::builder()
            .timestamp(t)
            .message(m)
            .build()
            .unwrap()
    };
    let put = logs
        .put_log_events()
        .log_group_name(&group)
        .log_stream_name("a")
        .set_log_events(Some(
            (0..5)
                .map(|i| event(base + 2 * i, &format!("event {i}")))
                .collect(),
        ))
        .send()
        .await
        .unwrap();
    assert!(put.next_sequence_token().is_some());
    assert!(put.rejected_log_events_info().is_none());
    logs.put_log_events()
        .log_group_name(&group)
        .log_stream_name("b")
        .log_events(event(base + 1, "other 1 ERROR"))
        .log_events(event(base + 3, "other 3"))
        .send()
        .await
        .unwrap();
    let err = logs
        .put_log_events()
        .log_group_name(&group)
        .log_stream_name("b")
        .log_events(event(base + 9, "late"))
        .log_events(event(base + 8, "early"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidParameterException"));

    let page = |from_head: bool, token: Option<&str>| {
        logs.get_log_events()
            .log_group_name(&group)
            .log_stream_name("a")
            .start_from_head(from_head)
            .limit(2)
            .set_next_token(token.map(str::to_string))
            .send()
    };
    let text = |out: &aws_sdk_cloudwatchlogs::operation::get_log_events::GetLogEventsOutput| {
        out.events()
            .iter()
            .map(|e| e.message().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    // startFromHead=false (the default): the newest `limit`, then backward.
    let tail = page(false, None).await.unwrap();
    assert_eq!(text(&tail), ["event 3", "event 4"]);
    assert_eq!(tail.events()[0].timestamp(), Some(base + 6));
    let back = page(false, tail.next_backward_token()).await.unwrap();
    assert_eq!(text(&back), ["event 1", "event 2"]);
    let end = page(false, tail.next_forward_token()).await.unwrap();
    assert!(end.events().is_empty());
    assert_eq!(end.next_forward_token(), tail.next_forward_token());
    // startFromHead=true: the oldest `limit`, then forward.
    let head = page(true, None).await.unwrap();
    assert_eq!(text(&head), ["event 0", "event 1"]);
    let next = page(true, head.next_forward_token()).await.unwrap();
    assert_eq!(text(&next), ["event 2", "event 3"]);
    // The SDK's paginator stops when the forward token repeats.
    let all: Vec<String> = logs
        .get_log_events()
        .log_group_name(&group)
        .log_stream_name("a")
        .start_from_head(true)
        .limit(2)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.message.unwrap())
        .collect();
    assert_eq!(all.len(), 5, "{all:?}");
    // startTime is inclusive, endTime exclusive.
    let ranged = logs
        .get_log_events()
        .log_group_name(&group)
        .log_stream_name("a")
        .start_time(base + 2)
        .end_time(base + 6)
        .send()
        .await
        .unwrap();
    assert_eq!(text(&ranged), ["event 1", "event 2"]);

    // FilterLogEvents interleaves streams by timestamp and pages.
    let pages = logs
        .filter_log_events()
        .log_group_name(&group)
        .limit(3)
        .into_paginator()
        .send()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(pages.len(), 3);
    let found: Vec<(String, String)> = pages
        .into_iter()
        .flat_map(|p| p.events.unwrap_or_default())
        .map(|e| (e.log_stream_name.unwrap(), e.message.unwrap()))
        .collect();
    let expected = [
        ("a", "event 0"),
        ("b", "other 1 ERROR"),
        ("a", "event 1"),
        ("b", "other 3"),
        ("a", "event 2"),
        ("a", "event 3"),
        ("a", "event 4"),
    ];
    assert_eq!(found, expected.map(|(s, m)| (s.to_string(), m.to_string())));
    let errors = logs
        .filter_log_events()
        .log_group_name(&group)
        .filter_pattern("?ERROR ?\"event 4\"")
        .start_time(base)
        .end_time(base + 8)
        .send()
        .await
        .unwrap();
    let errors: Vec<&str> = errors.events().iter().filter_map(|e| e.message()).collect();
    assert_eq!(errors, ["other 1 ERROR", "event 4"]);
    let only_b = logs
        .filter_log_events()
        .log_group_name(&group)
        .log_stream_names("b")
        .send()
        .await
        .unwrap();
    assert_eq!(only_b.events().len(), 2);
    assert_eq!(
        only_b.searched_log_streams()[0].log_stream_name(),
        Some("b")
    );

    let streams = logs
        .describe_log_streams()
        .log_group_name(&group)
        .order_by(OrderBy::LastEventTime)
        .descending(true)
        .send()
        .await
        .unwrap();
    let names: Vec<&str> = streams
        .log_streams()
        .iter()
        .filter_map(|s| s.log_stream_name())
        .collect();
    assert_eq!(names, ["a", "b"], "a's last event is the newest");
    assert_eq!(
        streams.log_streams()[0].last_event_timestamp(),
        Some(base + 8)
    );

    logs.delete_log_group()
        .log_group_name(&group)
        .send()
        .await
        .unwrap();
    let groups = logs
        .describe_log_groups()
        .log_group_name_prefix(&group)
        .send()
        .await
        .unwrap();
    assert!(groups.log_groups().is_empty());
    let err = logs
        .delete_log_group()
        .log_group_name(&group)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ResourceNotFoundException"));

    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_policies_and_tags() {
    let emu = TestEmulator::start().await;
    let logs = logs_client(&emu).await;
    let group = format!("/ecs/{}", unique("retention"));
    logs.create_log_group()
        .log_group_name(&group)
        .tags("team", "web")
        .send()
        .await
        .unwrap();

    let bad = logs
        .put_retention_policy()
        .log_group_name(&group)
        .retention_in_days(8)
        .send()
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Some("InvalidParameterException"));
    // An event two days old is kept until a one-day policy expires it.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    logs.create_log_stream()
        .log_group_name(&group)
        .log_stream_name("s")
        .send()
        .await
        .unwrap();
    let event = |ts: i64, m: &str| {
        InputLogEvent::builder()
            .timestamp(ts)
            .message(m)
            .build()
            .unwrap()
    };
    // One batch may not span more than 24 hours: two calls.
    for e in [
        event(now - 2 * 86_400_000 + 60_000, "old"),
        event(now, "new"),
    ] {
        logs.put_log_events()
            .log_group_name(&group)
            .log_stream_name("s")
            .log_events(e)
            .send()
            .await
            .unwrap();
    }
    assert_eq!(messages(&logs, &group, "s").await.unwrap().len(), 2);
    logs.put_retention_policy()
        .log_group_name(&group)
        .retention_in_days(1)
        .send()
        .await
        .unwrap();
    let described = logs
        .describe_log_groups()
        .log_group_name_prefix(&group)
        .send()
        .await
        .unwrap();
    assert_eq!(described.log_groups()[0].retention_in_days(), Some(1));

    assert_eq!(messages(&logs, &group, "s").await.unwrap(), ["new"]);

    logs.delete_retention_policy()
        .log_group_name(&group)
        .send()
        .await
        .unwrap();
    let described = logs
        .describe_log_groups()
        .log_group_name_prefix(&group)
        .send()
        .await
        .unwrap();
    assert_eq!(described.log_groups()[0].retention_in_days(), None);

    let arn = described.log_groups()[0]
        .log_group_arn()
        .unwrap()
        .to_string();
    logs.tag_resource()
        .resource_arn(&arn)
        .tags("env", "dev")
        .send()
        .await
        .unwrap();
    let tags = logs
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .unwrap();
    let tags = tags.tags().unwrap();
    assert_eq!(
        (tags["team"].as_str(), tags["env"].as_str()),
        ("web", "dev")
    );
    logs.untag_resource()
        .resource_arn(&arn)
        .tag_keys("team")
        .send()
        .await
        .unwrap();
    #[allow(deprecated)]
    let legacy = logs
        .list_tags_log_group()
        .log_group_name(&group)
        .send()
        .await
        .unwrap();
    assert_eq!(legacy.tags().unwrap().len(), 1);
    let missing = logs
        .put_retention_policy()
        .log_group_name("/nope")
        .retention_in_days(1)
        .send()
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Some("ResourceNotFoundException"));
    emu.shutdown().await;
}
