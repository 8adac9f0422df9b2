//! AWS-managed policies (`arn:aws:iam::aws:policy/...`) the emulator knows:
//! their real id, path, default version, dates and default document.

/// One AWS-managed policy as IAM describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AwsManagedPolicy {
    pub name: &'static str,
    pub id: &'static str,
    pub path: &'static str,
    pub default_version: &'static str,
    /// ISO-8601.
    pub create_date: &'static str,
    /// ISO-8601; the date of the default version.
    pub update_date: &'static str,
    /// The default version's document (JSON).
    pub document: &'static str,
}

/// The account field of every AWS-managed policy ARN.
pub const AWS_ACCOUNT: &str = "aws";
/// The prefix of every AWS-managed policy ARN.
pub const ARN_PREFIX: &str = "arn:aws:iam::aws:policy/";

impl AwsManagedPolicy {
    pub fn arn(&self) -> String {
        format!("{ARN_PREFIX}{}{}", &self.path[1..], self.name)
    }
}

/// Looks an AWS-managed policy up by ARN.
pub fn find(arn: &str) -> Option<&'static AwsManagedPolicy> {
    POLICIES.iter().find(|p| p.arn() == arn)
}

/// The table; ListPolicies sorts by name.
pub const POLICIES: &[AwsManagedPolicy] = &[
    AwsManagedPolicy {
        name: "AdministratorAccess",
        id: "ANPAIWMBCKSKIEE64ZLYK",
        path: "/",
        default_version: "v1",
        create_date: "2015-02-06T18:39:46Z",
        update_date: "2015-02-06T18:39:46Z",
        document: include_str!("aws_managed/AdministratorAccess.json"),
    },
    AwsManagedPolicy {
        name: "PowerUserAccess",
        id: "ANPAJYRXTHIB4FOVS3ZXS",
        path: "/",
        default_version: "v12",
        create_date: "2015-02-06T18:39:47Z",
        update_date: "2026-02-12T17:59:14Z",
        document: include_str!("aws_managed/PowerUserAccess.json"),
    },
    AwsManagedPolicy {
        name: "ReadOnlyAccess",
        id: "ANPAILL3HVNFSB6DCOWYQ",
        path: "/",
        default_version: "v178",
        create_date: "2015-02-06T18:39:48Z",
        update_date: "2026-02-12T18:01:33Z",
        document: include_str!("aws_managed/ReadOnlyAccess.json"),
    },
    AwsManagedPolicy {
        name: "AmazonECSTaskExecutionRolePolicy",
        id: "ANPAJG4T4G4PV56DE72PY",
        path: "/service-role/",
        default_version: "v1",
        create_date: "2017-11-16T18:48:22Z",
        update_date: "2017-11-16T18:48:22Z",
        document: include_str!("aws_managed/AmazonECSTaskExecutionRolePolicy.json"),
    },
    AwsManagedPolicy {
        name: "AmazonEC2ContainerServiceRole",
        id: "ANPAJO53W2XHNACG7V77Q",
        path: "/service-role/",
        default_version: "v2",
        create_date: "2015-04-09T16:14:19Z",
        update_date: "2016-08-11T13:08:01Z",
        document: include_str!("aws_managed/AmazonEC2ContainerServiceRole.json"),
    },
    AwsManagedPolicy {
        name: "AmazonECSServiceRolePolicy",
        id: "ANPAIVUWKCAI7URU4WUEI",
        path: "/aws-service-role/",
        default_version: "v23",
        create_date: "2017-10-14T01:18:58Z",
        update_date: "2026-02-12T17:58:05Z",
        document: include_str!("aws_managed/AmazonECSServiceRolePolicy.json"),
    },
    AwsManagedPolicy {
        name: "AmazonECS_FullAccess",
        id: "ANPAJ7S7AN6YQPTJC7IFS",
        path: "/",
        default_version: "v21",
        create_date: "2017-11-07T21:36:54Z",
        update_date: "2024-08-13T19:39:37Z",
        document: include_str!("aws_managed/AmazonECS_FullAccess.json"),
    },
    AwsManagedPolicy {
        name: "AmazonEC2ContainerServiceforEC2Role",
        id: "ANPAJLYJCVHC7TQHCSQDS",
        path: "/service-role/",
        default_version: "v10",
        create_date: "2015-03-19T18:45:18Z",
        update_date: "2026-02-12T17:59:52Z",
        document: include_str!("aws_managed/AmazonEC2ContainerServiceforEC2Role.json"),
    },
    AwsManagedPolicy {
        name: "AmazonEC2ContainerServiceAutoscaleRole",
        id: "ANPAIUAP3EGGGXXCPDQKK",
        path: "/service-role/",
        default_version: "v2",
        create_date: "2016-05-12T23:25:44Z",
        update_date: "2018-02-05T19:15:15Z",
        document: include_str!("aws_managed/AmazonEC2ContainerServiceAutoscaleRole.json"),
    },
    AwsManagedPolicy {
        name: "AmazonEC2ContainerServiceEventsRole",
        id: "ANPAITKFNIUAG27VSYNZ4",
        path: "/service-role/",
        default_version: "v3",
        create_date: "2017-05-30T16:51:35Z",
        update_date: "2023-03-06T22:25:12Z",
        document: include_str!("aws_managed/AmazonEC2ContainerServiceEventsRole.json"),
    },
    AwsManagedPolicy {
        name: "AmazonECSInfrastructureRolePolicyForVolumes",
        id: "ANPAZKAPJZG4JRAUMLGMS",
        path: "/service-role/",
        default_version: "v5",
        create_date: "2024-01-10T22:56:41Z",
        update_date: "2026-02-12T18:02:34Z",
        document: include_str!("aws_managed/AmazonECSInfrastructureRolePolicyForVolumes.json"),
    },
    AwsManagedPolicy {
        name: "AWSApplicationAutoscalingECSServicePolicy",
        id: "ANPAJFXLLV7AKH5PSFOYG",
        path: "/aws-service-role/",
        default_version: "v2",
        create_date: "2017-10-25T23:53:08Z",
        update_date: "2024-10-24T20:05:50Z",
        document: include_str!("aws_managed/AWSApplicationAutoscalingECSServicePolicy.json"),
    },
    AwsManagedPolicy {
        name: "AmazonEC2ContainerRegistryReadOnly",
        id: "ANPAIFYZPA37OOHVIH7KQ",
        path: "/",
        default_version: "v3",
        create_date: "2015-12-21T17:04:15Z",
        update_date: "2019-12-10T20:56:32Z",
        document: include_str!("aws_managed/AmazonEC2ContainerRegistryReadOnly.json"),
    },
    AwsManagedPolicy {
        name: "AmazonEC2ContainerRegistryPowerUser",
        id: "ANPAJDNE5PIHROIBGGDDW",
        path: "/",
        default_version: "v3",
        create_date: "2015-12-21T17:05:33Z",
        update_date: "2019-12-10T20:48:08Z",
        document: include_str!("aws_managed/AmazonEC2ContainerRegistryPowerUser.json"),
    },
    AwsManagedPolicy {
        name: "CloudWatchLogsFullAccess",
        id: "ANPAJ3ZGNWK2R5HW5BQFO",
        path: "/",
        default_version: "v8",
        create_date: "2015-02-06T18:40:02Z",
        update_date: "2026-02-12T18:00:33Z",
        document: include_str!("aws_managed/CloudWatchLogsFullAccess.json"),
    },
    AwsManagedPolicy {
        name: "CloudWatchLogsReadOnlyAccess",
        id: "ANPAJ2YIYDYSNNEHK3VKW",
        path: "/",
        default_version: "v12",
        create_date: "2015-02-06T18:40:03Z",
        update_date: "2026-02-12T17:59:13Z",
        document: include_str!("aws_managed/CloudWatchLogsReadOnlyAccess.json"),
    },
    AwsManagedPolicy {
        name: "CloudWatchFullAccess",
        id: "ANPAIKEABORKUXN6DEAZU",
        path: "/",
        default_version: "v4",
        create_date: "2015-02-06T18:40:00Z",
        update_date: "2022-11-27T13:23:49Z",
        document: include_str!("aws_managed/CloudWatchFullAccess.json"),
    },
    AwsManagedPolicy {
        name: "CloudWatchAgentServerPolicy",
        id: "ANPAIGOPKN7KRDAKTLG4I",
        path: "/",
        default_version: "v3",
        create_date: "2018-03-07T01:06:44Z",
        update_date: "2024-02-06T16:37:37Z",
        document: include_str!("aws_managed/CloudWatchAgentServerPolicy.json"),
    },
    AwsManagedPolicy {
        name: "AWSXRayDaemonWriteAccess",
        id: "ANPAIOE47HSUE5AVBNEDM",
        path: "/",
        default_version: "v2",
        create_date: "2018-08-28T23:00:33Z",
        update_date: "2024-02-13T21:58:30Z",
        document: include_str!("aws_managed/AWSXRayDaemonWriteAccess.json"),
    },
    AwsManagedPolicy {
        name: "AmazonSSMReadOnlyAccess",
        id: "ANPAJODSKQGGJTHRYZ5FC",
        path: "/",
        default_version: "v1",
        create_date: "2015-05-29T17:44:19Z",
        update_date: "2015-05-29T17:44:19Z",
        document: include_str!("aws_managed/AmazonSSMReadOnlyAccess.json"),
    },
    AwsManagedPolicy {
        name: "AmazonSSMFullAccess",
        id: "ANPAJA7V6HI4ISQFMDYAG",
        path: "/",
        default_version: "v4",
        create_date: "2015-05-29T17:39:47Z",
        update_date: "2019-11-20T20:08:56Z",
        document: include_str!("aws_managed/AmazonSSMFullAccess.json"),
    },
    AwsManagedPolicy {
        name: "AmazonSSMManagedInstanceCore",
        id: "ANPAIXSHM2BNB2D3AXXRU",
        path: "/",
        default_version: "v2",
        create_date: "2019-03-15T17:22:12Z",
        update_date: "2019-05-23T16:54:21Z",
        document: include_str!("aws_managed/AmazonSSMManagedInstanceCore.json"),
    },
    AwsManagedPolicy {
        name: "SecretsManagerReadWrite",
        id: "ANPAI3VG7CI5BIQZQ6G2E",
        path: "/",
        default_version: "v5",
        create_date: "2018-04-04T18:05:29Z",
        update_date: "2024-02-22T18:12:06Z",
        document: include_str!("aws_managed/SecretsManagerReadWrite.json"),
    },
    AwsManagedPolicy {
        name: "AmazonS3ReadOnlyAccess",
        id: "ANPAIZTJ4DXE7G6AGAE6M",
        path: "/",
        default_version: "v3",
        create_date: "2015-02-06T18:40:59Z",
        update_date: "2023-08-10T21:31:39Z",
        document: include_str!("aws_managed/AmazonS3ReadOnlyAccess.json"),
    },
    AwsManagedPolicy {
        name: "AmazonS3FullAccess",
        id: "ANPAIFIR6V6BVTRAHWINE",
        path: "/",
        default_version: "v2",
        create_date: "2015-02-06T18:40:58Z",
        update_date: "2021-09-27T20:16:37Z",
        document: include_str!("aws_managed/AmazonS3FullAccess.json"),
    },
    AwsManagedPolicy {
        name: "AmazonDynamoDBFullAccess",
        id: "ANPAINUGF2JSOSUY76KYA",
        path: "/",
        default_version: "v15",
        create_date: "2015-02-06T18:40:11Z",
        update_date: "2021-01-29T17:38:30Z",
        document: include_str!("aws_managed/AmazonDynamoDBFullAccess.json"),
    },
    AwsManagedPolicy {
        name: "AmazonDynamoDBReadOnlyAccess",
        id: "ANPAIY2XFNA232XJ6J7X2",
        path: "/",
        default_version: "v15",
        create_date: "2015-02-06T18:40:12Z",
        update_date: "2024-11-18T17:38:15Z",
        document: include_str!("aws_managed/AmazonDynamoDBReadOnlyAccess.json"),
    },
    AwsManagedPolicy {
        name: "ElasticLoadBalancingFullAccess",
        id: "ANPAIDPMLA3IUIOQCISJ4",
        path: "/",
        default_version: "v9",
        create_date: "2018-09-20T20:42:07Z",
        update_date: "2026-02-23T18:57:07Z",
        document: include_str!("aws_managed/ElasticLoadBalancingFullAccess.json"),
    },
    AwsManagedPolicy {
        name: "ElasticLoadBalancingReadOnly",
        id: "ANPAJMO7B7SNFLQ6HH736",
        path: "/",
        default_version: "v3",
        create_date: "2018-09-20T20:17:09Z",
        update_date: "2023-11-26T18:15:46Z",
        document: include_str!("aws_managed/ElasticLoadBalancingReadOnly.json"),
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_consistent() {
        for p in POLICIES {
            assert!(p.id.starts_with("ANPA") && p.id.len() == 21, "{}", p.name);
            assert!(p.path.starts_with('/') && p.path.ends_with('/'));
            let doc: serde_json::Value = serde_json::from_str(p.document).expect(p.name);
            assert!(doc["Statement"].is_array(), "{}", p.name);
            for date in [p.create_date, p.update_date] {
                time::OffsetDateTime::parse(date, &time::format_description::well_known::Rfc3339)
                    .expect(date);
            }
        }
        let exec =
            find("arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy").unwrap();
        assert_eq!(exec.path, "/service-role/");
        assert!(exec.document.contains("ecr:GetAuthorizationToken"));
        assert!(find("arn:aws:iam::aws:policy/AmazonECSTaskExecutionRolePolicy").is_none());
    }
}
