//! Unit tests of the Query decoder and the XML encoder.

use super::*;

fn params(body: &str) -> Params {
    Params::parse(body.as_bytes()).unwrap()
}

async fn body_text(response: Response) -> String {
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    String::from_utf8(bytes.to_vec()).unwrap()
}

#[test]
fn scalars_and_ordered_lists() {
    let p = params("Action=DescribeLoadBalancers&Version=2015-12-01&Names.member.2=b&Names.member.10=c&Names.member.1=a%2Fx");
    assert_eq!(action(&ELBV2, &p).unwrap(), "DescribeLoadBalancers");
    assert_eq!(p.list("Names").unwrap(), vec!["a/x", "b", "c"]);
    assert!(p.list("Other").unwrap().is_empty());
    assert_eq!(p.get("Missing"), None);
    assert_eq!(p.required("Missing").unwrap_err().code, "ValidationError");
}

#[test]
fn nested_structures() {
    let p = params(concat!(
        "Targets.member.1.Id=10.0.1.5&Targets.member.1.Port=8080&Targets.member.2.Id=10.0.1.6",
        "&Conditions.member.1.Field=path-pattern",
        "&Conditions.member.1.PathPatternConfig.Values.member.1=/api/*",
        "&Conditions.member.1.PathPatternConfig.Values.member.2=/v2/*",
        "&Actions.member.1.Type=forward",
        "&Actions.member.1.ForwardConfig.TargetGroups.member.1.TargetGroupArn=T1",
        "&Actions.member.1.ForwardConfig.TargetGroups.member.1.Weight=10",
        "&Actions.member.1.ForwardConfig.TargetGroupStickinessConfig.Enabled=true",
    ));
    let targets = p.structures("Targets").unwrap();
    assert_eq!(targets.len(), 2);
    assert_eq!(targets[0].get("Id"), Some("10.0.1.5"));
    assert_eq!(targets[0].integer::<u16>("Port").unwrap(), Some(8080));
    assert_eq!(targets[1].integer::<u16>("Port").unwrap(), None);

    let conditions = p.structures("Conditions").unwrap();
    let path = conditions[0].structure("PathPatternConfig").unwrap();
    assert_eq!(path.list("Values").unwrap(), vec!["/api/*", "/v2/*"]);
    assert!(conditions[0].structure("HostHeaderConfig").is_none());

    let actions = p.structures("Actions").unwrap();
    let forward = actions[0].structure("ForwardConfig").unwrap();
    let groups = forward.structures("TargetGroups").unwrap();
    assert_eq!(groups[0].get("TargetGroupArn"), Some("T1"));
    assert_eq!(groups[0].integer::<u32>("Weight").unwrap(), Some(10));
    let sticky = forward.structure("TargetGroupStickinessConfig").unwrap();
    assert_eq!(sticky.boolean("Enabled").unwrap(), Some(true));
    assert!(actions[0].has("ForwardConfig"));
    assert!(!actions[0].has("RedirectConfig"));
}

#[test]
fn key_value_lists() {
    let p = params("Attributes.member.1.Key=a&Attributes.member.1.Value=1&Tags.member.1.Key=k");
    assert_eq!(
        p.key_values("Attributes").unwrap(),
        vec![("a".into(), "1".into())]
    );
    assert_eq!(
        p.key_values("Tags").unwrap(),
        vec![("k".into(), String::new())]
    );
    let e = params("Tags.member.1.Value=v")
        .key_values("Tags")
        .unwrap_err();
    assert!(e.message.contains("tags.member.1.key"), "{}", e.message);
}

#[test]
fn malformed_input_is_an_error_not_a_panic() {
    for bad in [
        "Names.member.0=a",
        "Names.member.x=a",
        "Names.member.=a",
        "Names.member.1.Extra=a",
        "Names.member.01=a",
        "Names.member.1=a&Names.member.01=b",
    ] {
        let e = params(bad).list("Names").unwrap_err();
        assert_eq!(e.code, "MalformedQueryString", "{bad}");
    }
    let e = params("Targets.member.1=x")
        .structures("Targets")
        .unwrap_err();
    assert_eq!(e.code, "MalformedQueryString");
    let e = params("Tags.member.1.Key=a&Tags.member.01.Key=b")
        .structures("Tags")
        .unwrap_err();
    assert_eq!(e.code, "MalformedQueryString");
    let e = params("Tag.01.Key=a").flat_structures("Tag").unwrap_err();
    assert_eq!(e.code, "MalformedQueryString");
    assert_eq!(
        Params::parse(b"a=1&a=2").unwrap_err().code,
        "MalformedQueryString"
    );
    assert_eq!(
        Params::parse(b"\xff\xfe").unwrap_err().code,
        "MalformedQueryString"
    );
    let p = params("Port=eighty&Enabled=yes");
    assert_eq!(
        p.integer::<u16>("Port").unwrap_err().code,
        "ValidationError"
    );
    assert_eq!(p.boolean("Enabled").unwrap_err().code, "ValidationError");
    assert_eq!(
        params("Port=70000")
            .integer::<u16>("Port")
            .unwrap_err()
            .code,
        "ValidationError"
    );
}

#[test]
fn envelope_checks_action_and_version() {
    assert_eq!(
        action(&ELBV2, &params("Version=2015-12-01"))
            .unwrap_err()
            .code,
        "MissingAction"
    );
    assert_eq!(
        action(&ELBV2, &params("Action=X")).unwrap_err().code,
        "MissingParameter"
    );
    for (api, other) in [(ELBV2, "2012-06-01"), (IAM, "2015-12-01")] {
        let e = action(&api, &params(&format!("Action=X&Version={other}"))).unwrap_err();
        assert_eq!(e.code, "InvalidParameterValue");
        assert!(e.message.contains(api.version), "{}", e.message);
    }
    assert_eq!(
        action(&EC2, &params("Action=X&Version=2016-11-15")).unwrap(),
        "X"
    );
}

#[tokio::test]
async fn success_envelope_puts_the_result_first() {
    let response = respond(&ELBV2, "RegisterTargets", "req-1", |_| {});
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[http::header::CONTENT_TYPE], "text/xml");
    let body = body_text(response).await;
    assert_eq!(
        body,
        concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?>"#,
            r#"<RegisterTargetsResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/">"#,
            "<RegisterTargetsResult></RegisterTargetsResult>",
            "<ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata>",
            "</RegisterTargetsResponse>"
        )
    );
}

#[tokio::test]
async fn lists_are_member_sequences_and_text_is_escaped() {
    let response = respond(&ELBV2, "DescribeTags", "r", |w| {
        w.members("TagDescriptions", ["a<b"], |w, arn| {
            w.text("ResourceArn", arn);
            w.string_members("Values", ["x&y", "z"]);
        });
    });
    let body = body_text(response).await;
    assert!(body.contains(
        "<TagDescriptions><member><ResourceArn>a&lt;b</ResourceArn><Values><member>x&amp;y</member><member>z</member></Values></member></TagDescriptions>"
    ), "{body}");
}

#[tokio::test]
async fn text_xml_cannot_carry_is_replaced_and_cr_is_a_reference() {
    // Found by `cargo xtask fuzz --target xml`: a raw U+000E made the
    // SDK reject the whole response.
    let body = body_text(respond(&ELBV2, "DescribeTags", "r", |w| {
        w.text("Value", "a\u{e}b\r\nc<");
        w.string_members("Values", ["\u{0}\u{ffff}"]);
    }))
    .await;
    assert!(
        body.contains("<Value>a\u{fffd}b&#xD;\nc&lt;</Value>"),
        "{body}"
    );
    assert!(
        body.contains("<Values><member>\u{fffd}\u{fffd}</member></Values>"),
        "{body}"
    );
}

#[tokio::test]
async fn error_envelope() {
    let response = QueryError::sender("TargetGroupNotFound", "One or more target groups not found")
        .into_response(&ELBV2, "req-2");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body = body_text(response).await;
    assert!(body.contains(r#"<ErrorResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"><Error><Type>Sender</Type><Code>TargetGroupNotFound</Code><Message>One or more target groups not found</Message></Error><RequestId>req-2</RequestId></ErrorResponse>"#), "{body}");

    let throttled = QueryError::with_status(
        StatusCode::TOO_MANY_REQUESTS,
        "PriorRequestNotComplete",
        "busy",
    );
    assert_eq!(throttled.fault_type(), "Sender");
    let internal = QueryError::receiver("InternalFailure", "boom").into_response(&ELBV2, "r");
    assert_eq!(internal.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(body_text(internal).await.contains("<Type>Receiver</Type>"));
}

#[tokio::test]
async fn ec2_style_envelopes() {
    let body = body_text(respond(&EC2, "DescribeVpcs", "r1", |w| {
        w.items("vpcSet", ["vpc-1"], |w, id| {
            w.text("vpcId", id);
        });
    }))
    .await;
    assert!(
        body.contains(concat!(
            r#"<DescribeVpcsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">"#,
            "<requestId>r1</requestId><vpcSet><item><vpcId>vpc-1</vpcId></item></vpcSet>",
            "</DescribeVpcsResponse>"
        )),
        "{body}"
    );
    let error = QueryError::sender("InvalidVpcID.NotFound", "The vpc ID 'vpc-1' does not exist")
        .into_response(&EC2, "r2");
    assert_eq!(error.status(), StatusCode::BAD_REQUEST);
    let body = body_text(error).await;
    assert!(body.contains("<Response><Errors><Error><Code>InvalidVpcID.NotFound</Code><Message>The vpc ID &apos;vpc-1&apos; does not exist</Message></Error></Errors><RequestID>r2</RequestID></Response>") || body.contains("<Response><Errors><Error><Code>InvalidVpcID.NotFound</Code><Message>The vpc ID 'vpc-1' does not exist</Message></Error></Errors><RequestID>r2</RequestID></Response>"), "{body}");
    let unserved = body_text(QueryError::sender("X", "y").into_response(&UNSERVED, "r3")).await;
    assert!(unserved.contains("<ErrorResponse><Error>"), "{unserved}");
}

#[test]
fn ec2_flat_lists() {
    let p =
        params("VpcId.2=b&VpcId.1=a&Filter.1.Name=vpc-id&Filter.1.Value.1=x&Filter.1.Value.2=y");
    assert_eq!(p.flat_list("VpcId").unwrap(), vec!["a", "b"]);
    let filters = p.flat_structures("Filter").unwrap();
    assert_eq!(filters[0].get("Name"), Some("vpc-id"));
    assert_eq!(filters[0].flat_list("Value").unwrap(), vec!["x", "y"]);
    assert_eq!(
        params("VpcId.x=a").flat_list("VpcId").unwrap_err().code,
        "MalformedQueryString"
    );
}

#[test]
fn timestamps_have_millis_and_z() {
    let t = time::macros::datetime!(2016-03-25 21:26:12.920 UTC);
    assert_eq!(iso8601_millis(t), "2016-03-25T21:26:12.920Z");
    let t = time::macros::datetime!(2016-03-25 23:26:12.005 +02:00);
    assert_eq!(iso8601_millis(t), "2016-03-25T21:26:12.005Z");
}
