//! Unit tests of the CloudWatch Logs model.

use super::*;

fn group_with(events: &[(i64, &str)]) -> LogGroup {
    let mut group = LogGroup::new("/g", 0);
    group.create_stream("s", 0).unwrap();
    group
        .append("s", events.iter().map(|(t, m)| (*t, m.to_string())), 1_000)
        .unwrap();
    group
}

fn messages(page: &Page<'_>) -> Vec<String> {
    page.events.iter().map(|e| e.message.clone()).collect()
}

#[test]
fn names_are_validated_as_aws_does() {
    assert!(validate_group_name("/ecs/web-app_1.#x").is_ok());
    assert!(validate_group_name("").is_err());
    assert!(validate_group_name("has space").is_err());
    assert!(validate_group_name(&"a".repeat(513)).is_err());
    assert!(validate_stream_name("web/app/0123").is_ok());
    assert!(validate_stream_name("a:b").is_err());
    assert!(validate_stream_name("a*").is_err());
}

#[test]
fn group_identifier_may_be_an_arn() {
    assert_eq!(group_name_from_identifier("/ecs/web"), "/ecs/web");
    assert_eq!(
        group_name_from_identifier("arn:aws:logs:us-east-1:000000000000:log-group:/ecs/web:*"),
        "/ecs/web"
    );
    assert_eq!(
        group_name_from_identifier("arn:aws:logs:us-east-1:000000000000:log-group:/ecs/web"),
        "/ecs/web"
    );
}

#[test]
fn duplicates_and_missing_resources_have_aws_errors() {
    let mut state = LogsState::default();
    state.create_group("/g", 1).unwrap();
    let e = state.create_group("/g", 1).unwrap_err();
    assert_eq!(e.code(), "ResourceAlreadyExistsException");
    let group = state.group_mut("/g").unwrap();
    group.create_stream("s", 1).unwrap();
    assert_eq!(
        group.create_stream("s", 1).unwrap_err().code(),
        "ResourceAlreadyExistsException"
    );
    assert_eq!(
        group.stream("t").unwrap_err(),
        LogsError::stream_not_found()
    );
    assert_eq!(
        group.append("t", [(1, "x".into())], 1).unwrap_err(),
        LogsError::stream_not_found()
    );
    assert_eq!(state.group("/h").unwrap_err(), LogsError::group_not_found());
    state.delete_group("/g").unwrap();
    assert_eq!(
        state.delete_group("/g").unwrap_err(),
        LogsError::group_not_found()
    );
}

#[test]
fn late_events_are_inserted_in_timestamp_order() {
    let group = group_with(&[(10, "a"), (30, "c"), (20, "b"), (30, "d")]);
    let stream = group.stream("s").unwrap();
    let order: Vec<&str> = stream.events().map(|e| e.message.as_str()).collect();
    assert_eq!(order, ["a", "b", "c", "d"]);
    assert_eq!(stream.first_event_timestamp(), Some(10));
    assert_eq!(stream.last_event_timestamp(), Some(30));
    assert_eq!(stream.stored_bytes(), 4 * (1 + EVENT_OVERHEAD_BYTES));
}

#[test]
fn a_full_stream_drops_its_oldest_events() {
    let events: Vec<(i64, String)> = (0..MAX_EVENTS_PER_STREAM as i64 + 5)
        .map(|i| (i, format!("m{i}")))
        .collect();
    let mut group = LogGroup::new("/g", 0);
    group.create_stream("s", 0).unwrap();
    group.append("s", events, 1).unwrap();
    let stream = group.stream("s").unwrap();
    assert_eq!(stream.events().count(), MAX_EVENTS_PER_STREAM);
    assert_eq!(stream.first_event_timestamp(), Some(5));
    assert_eq!(stream.head(), 5);
    // Positions still count from the first event ever.
    let page = stream.page(Cursor::Forward(0), None, None, 2);
    assert_eq!(messages(&page), ["m5", "m6"]);
    assert_eq!((page.backward, page.forward), (5, 7));

    let mut group = LogGroup::new("/g", 0);
    group.create_stream("s", 0).unwrap();
    let big = "x".repeat(MAX_BYTES_PER_STREAM / 4);
    group
        .append("s", (0..5).map(|i| (i, big.clone())), 1)
        .unwrap();
    let stream = group.stream("s").unwrap();
    assert_eq!(stream.events().count(), 3);
    assert!(stream.stored_bytes() <= MAX_BYTES_PER_STREAM);
}

#[test]
fn pages_forward_from_the_head_until_the_token_repeats() {
    let group = group_with(&[(1, "a"), (2, "b"), (3, "c"), (4, "d"), (5, "e")]);
    let stream = group.stream("s").unwrap();
    let mut cursor = Cursor::Forward(stream.head());
    let mut seen = vec![];
    let mut tokens = vec![];
    loop {
        let page = stream.page(cursor, None, None, 2);
        seen.extend(messages(&page));
        let next = Cursor::parse(&page.forward_token()).unwrap();
        tokens.push(page.forward_token());
        if next == cursor {
            break;
        }
        cursor = next;
    }
    assert_eq!(seen, ["a", "b", "c", "d", "e"]);
    assert_eq!(tokens, ["f/2", "f/4", "f/5", "f/5"]);
}

#[test]
fn the_default_page_is_the_tail_and_backward_tokens_walk_back() {
    let group = group_with(&[(1, "a"), (2, "b"), (3, "c"), (4, "d"), (5, "e")]);
    let stream = group.stream("s").unwrap();
    let page = stream.page(Cursor::Backward(stream.tail()), None, None, 2);
    assert_eq!(messages(&page), ["d", "e"]);
    assert_eq!(page.forward_token(), "f/5");
    assert_eq!(page.backward_token(), "b/3");
    let page = stream.page(Cursor::parse("b/3").unwrap(), None, None, 2);
    assert_eq!(messages(&page), ["b", "c"]);
    let page = stream.page(Cursor::parse("b/1").unwrap(), None, None, 2);
    assert_eq!(messages(&page), ["a"]);
    assert_eq!(page.backward_token(), "b/0");
    let page = stream.page(Cursor::parse("b/0").unwrap(), None, None, 2);
    assert!(page.events.is_empty());
    assert_eq!(
        (page.backward_token(), page.forward_token()),
        ("b/0".into(), "f/0".into())
    );
    // A forward token from the tail returns new events once they arrive.
    let page = stream.page(Cursor::parse("f/5").unwrap(), None, None, 2);
    assert!(page.events.is_empty());
    assert_eq!(page.forward_token(), "f/5");
}

#[test]
fn time_range_is_start_inclusive_end_exclusive() {
    let group = group_with(&[(1, "a"), (2, "b"), (3, "c"), (4, "d")]);
    let stream = group.stream("s").unwrap();
    let page = stream.page(Cursor::Forward(0), Some(2), Some(4), 100);
    assert_eq!(messages(&page), ["b", "c"]);
    let page = stream.page(Cursor::Backward(stream.tail()), Some(2), Some(4), 100);
    assert_eq!(messages(&page), ["b", "c"]);
}

#[test]
fn bad_tokens_are_invalid_parameters() {
    for token in ["", "x/1", "f/", "f/-1", "f1"] {
        assert_eq!(
            Cursor::parse(token).unwrap_err().code(),
            "InvalidParameterException",
            "{token}"
        );
    }
    assert!(FilterCursor::parse("e/1").is_err());
    let c = FilterCursor {
        timestamp: 5,
        id: 7,
    };
    assert_eq!(FilterCursor::parse(&c.token()).unwrap(), c);
}

#[test]
fn batches_follow_put_log_events_rules() {
    let now = 100 * MAX_EVENT_AGE_MILLIS;
    let ok = check_batch(&[(now, "a"), (now, "b")], now).unwrap();
    assert_eq!(ok.accepted, 0..2);
    assert_eq!((ok.too_old_end, ok.too_new_start), (None, None));
    let e = check_batch(&[(now, "a"), (now - 1, "b")], now).unwrap_err();
    assert!(e.to_string().contains("chronological"), "{e}");
    assert!(check_batch(&[], now).is_err());
    assert!(check_batch(&[(now, "")], now).is_err());
    let span = check_batch(&[(now - MAX_BATCH_SPAN_MILLIS - 1, "a"), (now, "b")], now);
    assert!(span.is_err());
    let big = "x".repeat(MAX_BATCH_BYTES);
    assert!(check_batch(&[(now, &big)], now).is_err());

    let old = now - MAX_EVENT_AGE_MILLIS;
    let aged = check_batch(&[(old - 1, "a"), (old, "b")], now).unwrap();
    assert_eq!(aged.accepted, 1..2);
    assert_eq!((aged.too_old_end, aged.too_new_start), (Some(0), None));
    let new = now + MAX_EVENT_LEAD_MILLIS;
    let early = check_batch(&[(new, "a"), (new + 1, "b")], now).unwrap();
    assert_eq!(early.accepted, 0..1);
    assert_eq!((early.too_old_end, early.too_new_start), (None, Some(1)));
}

#[test]
fn filter_patterns_need_every_term_and_phrase() {
    let p = FilterPattern::parse(r#"GET "200 OK""#).unwrap();
    assert!(p.matches("GET /x 200 OK"));
    assert!(!p.matches("GET /x 200 Ok"));
    assert!(!p.matches("POST /x 200 OK"));
    let p = FilterPattern::parse("GET -health").unwrap();
    assert!(p.matches("GET / 200"));
    assert!(!p.matches("GET /health 200"));
    let p = FilterPattern::parse("?ERROR ?WARN").unwrap();
    assert!(p.matches("a WARN b") && p.matches("ERROR") && !p.matches("INFO"));
    assert!(FilterPattern::parse("").unwrap().matches("anything"));
    assert!(FilterPattern::parse(r#""open"#).is_err());
    assert!(FilterPattern::parse("{ $.level = 1 }").is_err());
}

#[test]
fn filter_interleaves_streams_and_pages_by_event() {
    let mut state = LogsState::default();
    state.append_creating("/g", "a", [(1, "GET 1".into()), (3, "GET 3".into())], 9);
    state.append_creating("/g", "b", [(2, "GET 2".into()), (4, "PUT 4".into())], 9);
    state.append_creating("/g", "c", [(5, "GET 5".into())], 9);
    let group = state.group("/g").unwrap();
    let mut query = FilterQuery {
        stream_names: Some(vec!["a".into(), "b".into()]),
        pattern: FilterPattern::parse("GET").unwrap(),
        limit: 2,
        ..FilterQuery::default()
    };
    let page = group.filter(&query);
    let got: Vec<(&str, &str)> = page
        .events
        .iter()
        .map(|(s, e)| (*s, e.message.as_str()))
        .collect();
    assert_eq!(got, [("a", "GET 1"), ("b", "GET 2")]);
    assert_eq!(page.searched, ["a", "b"]);
    query.after = page.next;
    let page = group.filter(&query);
    assert_eq!(page.events.len(), 1);
    assert_eq!(page.events[0].1.message, "GET 3");
    assert!(page.next.is_none());

    let query = FilterQuery {
        stream_prefix: Some("c".into()),
        start: Some(5),
        end: Some(5),
        limit: 10,
        ..FilterQuery::default()
    };
    let page = group.filter(&query);
    assert_eq!(page.events.len(), 1, "both bounds inclusive");
    assert_eq!(page.searched, ["c"]);
}
