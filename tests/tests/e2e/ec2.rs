//! EC2 networking end to end through the AWS SDK for Rust: what a Terraform
//! VPC + ECS + ALB module creates, reads back and destroys.

use aws_sdk_ec2::error::ProvideErrorMetadata;
use aws_sdk_ec2::types::{
    AttributeBooleanValue, ConnectivityType, DomainType, Filter, IpPermission, IpRange,
    ResourceType, Tag, TagSpecification, UserIdGroupPair, VpcAttributeName,
};
use aws_sdk_ec2::Client;
use tests::{unique, TestEmulator};

async fn client(emu: &TestEmulator) -> Client {
    Client::new(&tests::sdk_config(&emu.endpoint_url()).await)
}

fn filter(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

fn named(kind: ResourceType, name: &str) -> TagSpecification {
    TagSpecification::builder()
        .resource_type(kind)
        .tags(Tag::builder().key("Name").value(name).build())
        .build()
}

/// The error code of a failed call.
fn code<T, E: ProvideErrorMetadata + std::fmt::Debug>(
    result: Result<T, aws_sdk_ec2::error::SdkError<E>>,
) -> String {
    match result {
        Ok(_) => panic!("the call succeeded"),
        Err(e) => e
            .code()
            .map(String::from)
            .unwrap_or_else(|| format!("no code: {e:?}")),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_emulator_has_a_default_vpc_like_an_aws_account() {
    let emu = TestEmulator::start().await;
    let ec2 = client(&emu).await;

    let attrs = ec2.describe_account_attributes().send().await.unwrap();
    let platforms = attrs
        .account_attributes()
        .iter()
        .find(|a| a.attribute_name() == Some("supported-platforms"))
        .expect("supported-platforms");
    assert_eq!(
        platforms.attribute_values()[0].attribute_value(),
        Some("VPC")
    );

    let zones = ec2.describe_availability_zones().send().await.unwrap();
    let names: Vec<_> = zones
        .availability_zones()
        .iter()
        .map(|z| z.zone_name().unwrap())
        .collect();
    assert_eq!(names, ["us-east-1a", "us-east-1b", "us-east-1c"]);
    assert_eq!(zones.availability_zones()[0].zone_id(), Some("use1-az1"));

    let vpcs = ec2
        .describe_vpcs()
        .filters(filter("is-default", "true"))
        .send()
        .await
        .unwrap();
    assert_eq!(vpcs.vpcs().len(), 1);
    let vpc = &vpcs.vpcs()[0];
    let vpc_id = vpc.vpc_id().unwrap();
    let default_vpc = attrs
        .account_attributes()
        .iter()
        .find(|a| a.attribute_name() == Some("default-vpc"))
        .unwrap();
    assert_eq!(
        default_vpc.attribute_values()[0].attribute_value(),
        Some(vpc_id)
    );

    let subnets = ec2
        .describe_subnets()
        .filters(filter("vpc-id", vpc_id))
        .filters(filter("default-for-az", "true"))
        .send()
        .await
        .unwrap();
    assert!(subnets.subnets().len() >= 2);
    for s in subnets.subnets() {
        assert_eq!(s.map_public_ip_on_launch(), Some(true));
        // Every address but the five AWS reserves (the Docker network, and
        // so the subnets, may be of any size Docker picked).
        let cidr: ipnet::Ipv4Net = s.cidr_block().unwrap().parse().unwrap();
        let size = 1i64 << (32 - cidr.prefix_len());
        assert_eq!(i64::from(s.available_ip_address_count().unwrap()), size - 5);
    }

    let groups = ec2
        .describe_security_groups()
        .filters(filter("vpc-id", vpc_id))
        .filters(filter("group-name", "default"))
        .send()
        .await
        .unwrap();
    assert_eq!(groups.security_groups().len(), 1);
    let tables = ec2
        .describe_route_tables()
        .filters(filter("vpc-id", vpc_id))
        .filters(filter("association.main", "true"))
        .send()
        .await
        .unwrap();
    assert_eq!(tables.route_tables().len(), 1);
    let acls = ec2
        .describe_network_acls()
        .filters(filter("vpc-id", vpc_id))
        .filters(filter("default", "true"))
        .send()
        .await
        .unwrap();
    assert_eq!(acls.network_acls()[0].entries().len(), 4);
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terraform_network_is_created_read_back_and_destroyed() {
    let emu = TestEmulator::start().await;
    let ec2 = client(&emu).await;
    let name = unique("net");

    let vpc = ec2
        .create_vpc()
        .cidr_block("10.0.0.0/16")
        .tag_specifications(named(ResourceType::Vpc, &name))
        .send()
        .await
        .unwrap();
    let vpc_id = vpc.vpc().unwrap().vpc_id().unwrap().to_string();
    assert!(vpc_id.starts_with("vpc-") && vpc_id.len() == 21, "{vpc_id}");
    ec2.modify_vpc_attribute()
        .vpc_id(&vpc_id)
        .enable_dns_hostnames(AttributeBooleanValue::builder().value(true).build())
        .send()
        .await
        .unwrap();
    let attr = ec2
        .describe_vpc_attribute()
        .vpc_id(&vpc_id)
        .attribute(VpcAttributeName::EnableDnsHostnames)
        .send()
        .await
        .unwrap();
    assert_eq!(attr.enable_dns_hostnames().unwrap().value(), Some(true));

    let mut subnets = Vec::new();
    for (i, az) in ["us-east-1a", "us-east-1b"].iter().enumerate() {
        let s = ec2
            .create_subnet()
            .vpc_id(&vpc_id)
            .cidr_block(format!("10.0.{i}.0/24"))
            .availability_zone(*az)
            .send()
            .await
            .unwrap();
        let s = s.subnet().unwrap();
        assert_eq!(s.available_ip_address_count(), Some(251));
        subnets.push(s.subnet_id().unwrap().to_string());
    }
    let conflict = ec2
        .create_subnet()
        .vpc_id(&vpc_id)
        .cidr_block("10.0.0.128/25")
        .send()
        .await;
    assert_eq!(code(conflict), "InvalidSubnet.Conflict");

    let igw = ec2.create_internet_gateway().send().await.unwrap();
    let igw_id = igw
        .internet_gateway()
        .unwrap()
        .internet_gateway_id()
        .unwrap()
        .to_string();
    ec2.attach_internet_gateway()
        .internet_gateway_id(&igw_id)
        .vpc_id(&vpc_id)
        .send()
        .await
        .unwrap();
    let again = ec2
        .attach_internet_gateway()
        .internet_gateway_id(&igw_id)
        .vpc_id(&vpc_id)
        .send()
        .await;
    assert_eq!(code(again), "Resource.AlreadyAssociated");

    let eip = ec2
        .allocate_address()
        .domain(DomainType::Vpc)
        .send()
        .await
        .unwrap();
    let allocation = eip.allocation_id().unwrap().to_string();
    assert!(eip.public_ip().unwrap().starts_with("203.0.113."));
    let nat = ec2
        .create_nat_gateway()
        .subnet_id(&subnets[0])
        .allocation_id(&allocation)
        .connectivity_type(ConnectivityType::Public)
        .send()
        .await
        .unwrap();
    let nat_id = nat
        .nat_gateway()
        .unwrap()
        .nat_gateway_id()
        .unwrap()
        .to_string();
    let described = ec2
        .describe_nat_gateways()
        .nat_gateway_ids(&nat_id)
        .send()
        .await
        .unwrap();
    let described = &described.nat_gateways()[0];
    assert_eq!(described.state().unwrap().as_str(), "available");
    assert_eq!(
        described.nat_gateway_addresses()[0].public_ip(),
        eip.public_ip()
    );
    let in_use = ec2
        .release_address()
        .allocation_id(&allocation)
        .send()
        .await;
    assert_eq!(code(in_use), "InvalidIPAddress.InUse");

    // Public and private route tables.
    let public = ec2
        .create_route_table()
        .vpc_id(&vpc_id)
        .send()
        .await
        .unwrap();
    let public = public
        .route_table()
        .unwrap()
        .route_table_id()
        .unwrap()
        .to_string();
    let private = ec2
        .create_route_table()
        .vpc_id(&vpc_id)
        .send()
        .await
        .unwrap();
    let private = private
        .route_table()
        .unwrap()
        .route_table_id()
        .unwrap()
        .to_string();
    ec2.create_route()
        .route_table_id(&public)
        .destination_cidr_block("0.0.0.0/0")
        .gateway_id(&igw_id)
        .send()
        .await
        .unwrap();
    let dup = ec2
        .create_route()
        .route_table_id(&public)
        .destination_cidr_block("0.0.0.0/0")
        .gateway_id(&igw_id)
        .send()
        .await;
    assert_eq!(code(dup), "RouteAlreadyExists");
    ec2.create_route()
        .route_table_id(&private)
        .destination_cidr_block("0.0.0.0/0")
        .nat_gateway_id(&nat_id)
        .send()
        .await
        .unwrap();
    let mut associations = Vec::new();
    for (table, subnet) in [(&public, &subnets[0]), (&private, &subnets[1])] {
        let a = ec2
            .associate_route_table()
            .route_table_id(table)
            .subnet_id(subnet)
            .send()
            .await
            .unwrap();
        assert_eq!(
            a.association_state().unwrap().state().unwrap().as_str(),
            "associated"
        );
        associations.push(a.association_id().unwrap().to_string());
    }
    let read = ec2
        .describe_route_tables()
        .filters(filter("association.subnet-id", &subnets[1]))
        .send()
        .await
        .unwrap();
    let table = &read.route_tables()[0];
    assert_eq!(table.route_table_id(), Some(private.as_str()));
    let routes: Vec<_> = table
        .routes()
        .iter()
        .map(|r| {
            (
                r.destination_cidr_block().unwrap(),
                r.gateway_id().or(r.nat_gateway_id()).unwrap(),
            )
        })
        .collect();
    assert_eq!(
        routes,
        [("10.0.0.0/16", "local"), ("0.0.0.0/0", nat_id.as_str())]
    );

    // A security group with ingress from the ALB's group and egress.
    let alb_sg = ec2
        .create_security_group()
        .group_name(format!("{name}-alb"))
        .description("alb")
        .vpc_id(&vpc_id)
        .send()
        .await
        .unwrap();
    let alb_sg = alb_sg.group_id().unwrap().to_string();
    let task_sg = ec2
        .create_security_group()
        .group_name(format!("{name}-task"))
        .description("tasks")
        .vpc_id(&vpc_id)
        .send()
        .await
        .unwrap();
    let task_sg = task_sg.group_id().unwrap().to_string();
    let dup = ec2
        .create_security_group()
        .group_name(format!("{name}-task"))
        .description("tasks")
        .vpc_id(&vpc_id)
        .send()
        .await;
    assert_eq!(code(dup), "InvalidGroup.Duplicate");
    let ingress = IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(8080)
        .to_port(8080)
        .user_id_group_pairs(UserIdGroupPair::builder().group_id(&alb_sg).build())
        .build();
    let added = ec2
        .authorize_security_group_ingress()
        .group_id(&task_sg)
        .ip_permissions(ingress.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(added.security_group_rules().len(), 1);
    let dup = ec2
        .authorize_security_group_ingress()
        .group_id(&task_sg)
        .ip_permissions(ingress)
        .send()
        .await;
    assert_eq!(code(dup), "InvalidPermission.Duplicate");
    ec2.authorize_security_group_ingress()
        .group_id(&alb_sg)
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(80)
                .to_port(80)
                .ip_ranges(
                    IpRange::builder()
                        .cidr_ip("0.0.0.0/0")
                        .description("web")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let rules = ec2
        .describe_security_group_rules()
        .filters(filter("group-id", &task_sg))
        .send()
        .await
        .unwrap();
    let rules = rules.security_group_rules();
    assert_eq!(rules.len(), 2, "the ingress rule and the default egress");
    let ingress = rules.iter().find(|r| r.is_egress() == Some(false)).unwrap();
    assert_eq!(
        (ingress.from_port(), ingress.to_port()),
        (Some(8080), Some(8080))
    );
    assert_eq!(
        ingress.referenced_group_info().unwrap().group_id(),
        Some(alb_sg.as_str())
    );
    let egress = rules.iter().find(|r| r.is_egress() == Some(true)).unwrap();
    assert_eq!(egress.cidr_ipv4(), Some("0.0.0.0/0"));
    let group = ec2
        .describe_security_groups()
        .group_ids(&alb_sg)
        .send()
        .await
        .unwrap();
    let perm = &group.security_groups()[0].ip_permissions()[0];
    assert_eq!(perm.ip_ranges()[0].description(), Some("web"));

    // Deletion in reverse order, with the dependency errors on the way.
    let in_use = ec2.delete_security_group().group_id(&alb_sg).send().await;
    assert_eq!(code(in_use), "DependencyViolation");
    let default_sg = ec2
        .describe_security_groups()
        .filters(filter("vpc-id", &vpc_id))
        .filters(filter("group-name", "default"))
        .send()
        .await
        .unwrap();
    let default_sg = default_sg.security_groups()[0]
        .group_id()
        .unwrap()
        .to_string();
    let cannot = ec2
        .delete_security_group()
        .group_id(&default_sg)
        .send()
        .await;
    assert_eq!(code(cannot), "CannotDelete");
    ec2.revoke_security_group_ingress()
        .group_id(&task_sg)
        .security_group_rule_ids(ingress.security_group_rule_id().unwrap())
        .send()
        .await
        .unwrap();
    ec2.delete_security_group()
        .group_id(&task_sg)
        .send()
        .await
        .unwrap();
    ec2.delete_security_group()
        .group_id(&alb_sg)
        .send()
        .await
        .unwrap();

    let busy = ec2
        .delete_route_table()
        .route_table_id(&private)
        .send()
        .await;
    assert_eq!(code(busy), "DependencyViolation");
    for a in &associations {
        ec2.disassociate_route_table()
            .association_id(a)
            .send()
            .await
            .unwrap();
    }
    for t in [&public, &private] {
        ec2.delete_route_table()
            .route_table_id(t)
            .send()
            .await
            .unwrap();
    }
    let busy = ec2.delete_subnet().subnet_id(&subnets[0]).send().await;
    assert_eq!(code(busy), "DependencyViolation", "the NAT gateway's ENI");
    ec2.delete_nat_gateway()
        .nat_gateway_id(&nat_id)
        .send()
        .await
        .unwrap();
    let gone = ec2
        .describe_nat_gateways()
        .nat_gateway_ids(&nat_id)
        .send()
        .await
        .unwrap();
    assert_eq!(gone.nat_gateways()[0].state().unwrap().as_str(), "deleted");
    ec2.release_address()
        .allocation_id(&allocation)
        .send()
        .await
        .unwrap();

    let busy = ec2.delete_vpc().vpc_id(&vpc_id).send().await;
    assert_eq!(code(busy), "DependencyViolation");
    let attached = ec2
        .delete_internet_gateway()
        .internet_gateway_id(&igw_id)
        .send()
        .await;
    assert_eq!(code(attached), "DependencyViolation");
    ec2.detach_internet_gateway()
        .internet_gateway_id(&igw_id)
        .vpc_id(&vpc_id)
        .send()
        .await
        .unwrap();
    ec2.delete_internet_gateway()
        .internet_gateway_id(&igw_id)
        .send()
        .await
        .unwrap();
    for s in &subnets {
        ec2.delete_subnet().subnet_id(s).send().await.unwrap();
    }
    ec2.delete_vpc().vpc_id(&vpc_id).send().await.unwrap();
    let missing = ec2.describe_vpcs().vpc_ids(&vpc_id).send().await;
    assert_eq!(code(missing), "InvalidVpcID.NotFound");
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_paging_tags_and_errors() {
    let emu = TestEmulator::start().await;
    let ec2 = client(&emu).await;
    let name = unique("page");

    let mut ids = Vec::new();
    for i in 0..6 {
        let vpc = ec2
            .create_vpc()
            .cidr_block(format!("10.{i}.0.0/16"))
            .tag_specifications(named(ResourceType::Vpc, &name))
            .send()
            .await
            .unwrap();
        ids.push(vpc.vpc().unwrap().vpc_id().unwrap().to_string());
    }
    let first = ec2
        .describe_vpcs()
        .filters(filter("tag:Name", &name))
        .max_results(5)
        .send()
        .await
        .unwrap();
    assert_eq!(first.vpcs().len(), 5);
    let token = first.next_token().expect("a second page").to_string();
    let second = ec2
        .describe_vpcs()
        .filters(filter("tag:Name", &name))
        .max_results(5)
        .next_token(token)
        .send()
        .await
        .unwrap();
    assert_eq!(second.vpcs().len(), 1);
    assert!(second.next_token().is_none());

    ec2.create_tags()
        .resources(&ids[0])
        .tags(Tag::builder().key("tier").value("web").build())
        .send()
        .await
        .unwrap();
    let tagged = ec2
        .describe_vpcs()
        .filters(filter("tag-key", "tier"))
        .send()
        .await
        .unwrap();
    assert_eq!(tagged.vpcs().len(), 1);
    let tags = ec2
        .describe_tags()
        .filters(filter("resource-id", &ids[0]))
        .send()
        .await
        .unwrap();
    let keys: Vec<_> = tags.tags().iter().map(|t| t.key().unwrap()).collect();
    assert_eq!(keys, ["Name", "tier"]);
    assert_eq!(tags.tags()[0].resource_type().unwrap().as_str(), "vpc");
    ec2.delete_tags()
        .resources(&ids[0])
        .tags(Tag::builder().key("tier").build())
        .send()
        .await
        .unwrap();
    let tagged = ec2
        .describe_vpcs()
        .filters(filter("tag-key", "tier"))
        .send()
        .await
        .unwrap();
    assert!(tagged.vpcs().is_empty());

    let bad_filter = ec2
        .describe_vpcs()
        .filters(filter("colour", "x"))
        .send()
        .await;
    assert_eq!(code(bad_filter), "InvalidParameterValue");
    let not_found = ec2
        .describe_subnets()
        .subnet_ids("subnet-0123456789abcdef0")
        .send()
        .await;
    assert_eq!(code(not_found), "InvalidSubnetID.NotFound");
    let malformed = ec2.describe_vpcs().vpc_ids("nope").send().await;
    assert_eq!(code(malformed), "InvalidVpcID.Malformed");
    let range = ec2.create_vpc().cidr_block("10.0.0.0/8").send().await;
    assert_eq!(code(range), "InvalidVpc.Range");
    let outside = ec2
        .create_subnet()
        .vpc_id(&ids[0])
        .cidr_block("192.168.0.0/24")
        .send()
        .await;
    assert_eq!(code(outside), "InvalidSubnet.Range");
    let zone = ec2
        .create_subnet()
        .vpc_id(&ids[0])
        .cidr_block("10.0.0.0/24")
        .availability_zone("us-east-1z")
        .send()
        .await;
    assert_eq!(code(zone), "InvalidParameterValue");
    let dry = ec2.describe_vpcs().dry_run(true).send().await;
    assert_eq!(code(dry), "DryRunOperation");
    for (result, expected) in [
        (
            code(
                ec2.delete_route_table()
                    .route_table_id("rtb-1")
                    .send()
                    .await,
            ),
            "InvalidRouteTableID.NotFound",
        ),
        (
            code(
                ec2.delete_internet_gateway()
                    .internet_gateway_id("igw-1")
                    .send()
                    .await,
            ),
            "InvalidInternetGatewayID.NotFound",
        ),
        (
            code(
                ec2.release_address()
                    .allocation_id("eipalloc-1")
                    .send()
                    .await,
            ),
            "InvalidAllocationID.NotFound",
        ),
        (
            code(
                ec2.delete_nat_gateway()
                    .nat_gateway_id("nat-1")
                    .send()
                    .await,
            ),
            "NatGatewayNotFound",
        ),
        (
            code(ec2.delete_security_group().group_id("sg-1").send().await),
            "InvalidGroup.NotFound",
        ),
        (
            code(
                ec2.delete_network_interface()
                    .network_interface_id("eni-1")
                    .send()
                    .await,
            ),
            "InvalidNetworkInterfaceID.NotFound",
        ),
    ] {
        assert_eq!(result, expected);
    }
    for id in &ids {
        ec2.delete_vpc().vpc_id(id).send().await.unwrap();
    }
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_acls_and_rule_changes() {
    use aws_sdk_ec2::types::{
        PortRange, RuleAction, SecurityGroupRuleRequest, SecurityGroupRuleUpdate,
    };
    let emu = TestEmulator::start().await;
    let ec2 = client(&emu).await;

    let vpc = ec2
        .create_vpc()
        .cidr_block("10.9.0.0/16")
        .send()
        .await
        .unwrap();
    let vpc_id = vpc.vpc().unwrap().vpc_id().unwrap().to_string();
    let subnet = ec2
        .create_subnet()
        .vpc_id(&vpc_id)
        .cidr_block("10.9.1.0/24")
        .send()
        .await
        .unwrap();
    let subnet_id = subnet.subnet().unwrap().subnet_id().unwrap().to_string();

    let acl = ec2
        .create_network_acl()
        .vpc_id(&vpc_id)
        .send()
        .await
        .unwrap();
    let acl_id = acl
        .network_acl()
        .unwrap()
        .network_acl_id()
        .unwrap()
        .to_string();
    let entry = || {
        ec2.create_network_acl_entry()
            .network_acl_id(&acl_id)
            .rule_number(100)
            .protocol("6")
            .rule_action(RuleAction::Allow)
            .egress(false)
            .cidr_block("0.0.0.0/0")
            .port_range(PortRange::builder().from(443).to(443).build())
    };
    entry().send().await.unwrap();
    assert_eq!(code(entry().send().await), "NetworkAclEntryAlreadyExists");
    let default = ec2
        .describe_network_acls()
        .filters(filter("association.subnet-id", &subnet_id))
        .send()
        .await
        .unwrap();
    let default = &default.network_acls()[0];
    assert_eq!(default.is_default(), Some(true));
    let association = default.associations()[0]
        .network_acl_association_id()
        .unwrap();
    ec2.replace_network_acl_association()
        .association_id(association)
        .network_acl_id(&acl_id)
        .send()
        .await
        .unwrap();
    let mine = ec2
        .describe_network_acls()
        .network_acl_ids(&acl_id)
        .send()
        .await
        .unwrap();
    let mine = &mine.network_acls()[0];
    assert_eq!(mine.associations()[0].subnet_id(), Some(subnet_id.as_str()));
    let entry = mine
        .entries()
        .iter()
        .find(|e| e.rule_number() == Some(100))
        .unwrap();
    assert_eq!(entry.port_range().unwrap().from(), Some(443));
    let busy = ec2
        .delete_network_acl()
        .network_acl_id(&acl_id)
        .send()
        .await;
    assert_eq!(code(busy), "DependencyViolation");

    let group = ec2
        .create_security_group()
        .group_name(unique("rules"))
        .description("rules")
        .vpc_id(&vpc_id)
        .send()
        .await
        .unwrap();
    let group_id = group.group_id().unwrap().to_string();
    let added = ec2
        .authorize_security_group_ingress()
        .group_id(&group_id)
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(80)
                .to_port(80)
                .ip_ranges(IpRange::builder().cidr_ip("10.0.0.0/8").build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    let rule_id = added.security_group_rules()[0]
        .security_group_rule_id()
        .unwrap()
        .to_string();
    ec2.modify_security_group_rules()
        .group_id(&group_id)
        .security_group_rules(
            SecurityGroupRuleUpdate::builder()
                .security_group_rule_id(&rule_id)
                .security_group_rule(
                    SecurityGroupRuleRequest::builder()
                        .ip_protocol("tcp")
                        .from_port(8443)
                        .to_port(8443)
                        .cidr_ipv4("10.0.0.0/8")
                        .description("tls")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let rules = ec2
        .describe_security_group_rules()
        .security_group_rule_ids(&rule_id)
        .send()
        .await
        .unwrap();
    let rule = &rules.security_group_rules()[0];
    assert_eq!(
        (rule.from_port(), rule.description()),
        (Some(8443), Some("tls"))
    );
    emu.shutdown().await;
}
