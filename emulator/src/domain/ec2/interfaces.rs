//! Network interfaces, and what the task launcher and the load balancers
//! ask of EC2: which subnet and groups a request means, a private IP, an ENI.

use std::hash::{Hash, Hasher};
use std::net::Ipv4Addr;

use super::filter::Filterable;
use super::{cidr, lookup, lookup_mut, Ec2Error, Kind, NetworkInterface, RegionState, Subnet};

/// The account AWS shows as `requesterId` of the ENIs Fargate makes.
pub const FARGATE_REQUESTER_ID: &str = "578734482556";
/// The `requesterId` of load balancers' ENIs.
pub const ELB_REQUESTER_ID: &str = "amazon-elb";
/// ENI statuses.
pub const IN_USE: &str = "in-use";
pub const AVAILABLE: &str = "available";

/// What a new network interface needs.
pub struct InterfaceSpec<'a> {
    pub subnet: String,
    pub security_groups: Vec<String>,
    pub description: String,
    /// `interface`, `nat_gateway`, ...
    pub interface_type: String,
    pub requester_id: Option<String>,
    pub requester_managed: bool,
    /// Set for ENIs attached to something (tasks): status `in-use`.
    pub attachment_id: Option<String>,
    /// Addresses the emulator uses otherwise (the Docker gateway, ...).
    pub taken: &'a dyn Fn(Ipv4Addr) -> bool,
}

impl RegionState {
    /// The subnet a task or load balancer means by `id`: an existing subnet;
    /// or, for an id not of the real `subnet-` + 17 hex form (`subnet-a`,
    /// `subnet-12345678`), a default subnet of the default VPC picked by a stable
    /// hash of the id; else `InvalidSubnetID.NotFound`.
    pub fn resolve_subnet(&self, id: &str) -> Result<&Subnet, Ec2Error> {
        if let Some(subnet) = self.subnets.get(id) {
            return Ok(subnet);
        }
        if Kind::Subnet.is_real_form(id) {
            return Err(Ec2Error::not_found(Kind::Subnet, id));
        }
        let defaults = self.default_subnets();
        if defaults.is_empty() {
            return Err(Ec2Error::not_found(Kind::Subnet, id));
        }
        Ok(defaults[stable_hash(id) as usize % defaults.len()])
    }

    /// The default subnets of the default VPC, ordered by AZ.
    pub fn default_subnets(&self) -> Vec<&Subnet> {
        let mut subnets: Vec<&Subnet> =
            self.subnets.values().filter(|s| s.default_for_az).collect();
        subnets.sort_by(|a, b| a.availability_zone.cmp(&b.availability_zone));
        subnets
    }

    /// The security groups a task or load balancer in `vpc_id` means: each
    /// id must be a group of that VPC; an id not of the real `sg-` form is
    /// the default VPC's default group. An empty list is the VPC's default
    /// group, as for Fargate tasks.
    pub fn resolve_security_groups(
        &self,
        vpc_id: &str,
        ids: &[String],
    ) -> Result<Vec<String>, Ec2Error> {
        let vpc = lookup(&self.vpcs, Kind::Vpc, vpc_id)?;
        if ids.is_empty() {
            return Ok(vec![vpc.default_security_group_id.clone()]);
        }
        let mut resolved = Vec::new();
        for id in ids {
            let group = match self.security_groups.get(id) {
                Some(g) => g.id.clone(),
                None if !Kind::SecurityGroup.is_real_form(id) => self
                    .default_vpc()
                    .map(|v| v.default_security_group_id.clone())
                    .ok_or_else(|| Ec2Error::not_found(Kind::SecurityGroup, id))?,
                None => return Err(Ec2Error::not_found(Kind::SecurityGroup, id)),
            };
            if self.security_groups[&group].vpc_id != vpc_id {
                return Err(Ec2Error::InvalidParameter(format!(
                    "Security group {id} does not belong to VPC {vpc_id}"
                )));
            }
            if !resolved.contains(&group) {
                resolved.push(group);
            }
        }
        Ok(resolved)
    }

    /// The VPC of a subnet (resolved as [`RegionState::resolve_subnet`]).
    pub fn vpc_of_subnet(&self, subnet_id: &str) -> Result<String, Ec2Error> {
        self.resolve_subnet(subnet_id).map(|s| s.vpc_id.clone())
    }

    /// Takes the lowest free private address of a subnet.
    pub fn allocate_private_ip(
        &mut self,
        subnet_id: &str,
        taken: &dyn Fn(Ipv4Addr) -> bool,
    ) -> Result<Ipv4Addr, Ec2Error> {
        let subnet = lookup_mut(&mut self.subnets, Kind::Subnet, subnet_id)?;
        let ip = cidr::next_free(subnet.cidr, &subnet.allocated, taken).ok_or_else(|| {
            Ec2Error::InsufficientFreeAddresses(format!(
                "There are not enough free addresses in subnet '{subnet_id}' to satisfy the requested number of instances."
            ))
        })?;
        subnet.allocated.insert(ip);
        Ok(ip)
    }

    /// Gives an address back to its subnet (no-op if it was not taken).
    pub fn release_private_ip(&mut self, subnet_id: &str, ip: Ipv4Addr) {
        if let Some(subnet) = self.subnets.get_mut(subnet_id) {
            subnet.allocated.remove(&ip);
        }
    }

    /// Creates an ENI with a private IP of its subnet.
    pub fn create_network_interface(
        &mut self,
        spec: InterfaceSpec,
    ) -> Result<NetworkInterface, Ec2Error> {
        let subnet = lookup(&self.subnets, Kind::Subnet, &spec.subnet)?.clone();
        let groups = self.resolve_security_groups(&subnet.vpc_id, &spec.security_groups)?;
        let groups = if spec.interface_type == "nat_gateway" {
            vec![]
        } else {
            groups
        };
        let ip = self.allocate_private_ip(&subnet.id, spec.taken)?;
        let eni = NetworkInterface {
            id: Kind::NetworkInterface.new_id(),
            subnet_id: subnet.id.clone(),
            vpc_id: subnet.vpc_id.clone(),
            availability_zone: subnet.availability_zone.clone(),
            private_ip: ip,
            mac_address: mac_for(&subnet.vpc_id, ip),
            security_groups: groups,
            description: spec.description,
            interface_type: spec.interface_type,
            requester_id: spec.requester_id,
            requester_managed: spec.requester_managed,
            status: if spec.attachment_id.is_some() || spec.requester_managed {
                IN_USE
            } else {
                AVAILABLE
            }
            .into(),
            attachment_id: spec.attachment_id,
        };
        self.network_interfaces.insert(eni.id.clone(), eni.clone());
        Ok(eni)
    }

    /// Records a Fargate task's ENI: `in-use`, described by the ECS
    /// attachment ARN, with an address of the subnet the task asked for
    /// (resolved as [`RegionState::resolve_subnet`]).
    pub fn create_task_interface(
        &mut self,
        subnet_id: &str,
        security_groups: &[String],
        attachment_id: &str,
        taken: &dyn Fn(Ipv4Addr) -> bool,
        tags: &[(String, String)],
    ) -> Result<NetworkInterface, Ec2Error> {
        let subnet = self.resolve_subnet(subnet_id)?.id.clone();
        let description = crate::domain::arn::arn(
            "ecs",
            &self.region,
            &self.account,
            &format!("attachment/{attachment_id}"),
        );
        let eni = self.create_network_interface(InterfaceSpec {
            subnet,
            security_groups: security_groups.to_vec(),
            description,
            interface_type: "interface".into(),
            requester_id: Some(FARGATE_REQUESTER_ID.into()),
            requester_managed: true,
            attachment_id: Some(attachment_id.into()),
            taken,
        })?;
        self.tag(&eni.id, tags);
        Ok(eni)
    }

    /// Records a load balancer's ENI in a subnet (`ELB app/NAME/ID`).
    pub fn create_load_balancer_interface(
        &mut self,
        subnet_id: &str,
        security_groups: &[String],
        load_balancer: &str,
        taken: &dyn Fn(Ipv4Addr) -> bool,
    ) -> Result<NetworkInterface, Ec2Error> {
        let subnet = self.resolve_subnet(subnet_id)?.id.clone();
        self.create_network_interface(InterfaceSpec {
            subnet,
            security_groups: security_groups.to_vec(),
            description: format!("ELB {load_balancer}"),
            interface_type: "interface".into(),
            requester_id: Some(ELB_REQUESTER_ID.into()),
            requester_managed: true,
            attachment_id: Some(
                Kind::NetworkInterface
                    .new_id()
                    .replace("eni-", "ela-attach-"),
            ),
            taken,
        })
    }

    /// DeleteNetworkInterface: refused while the ENI is in use.
    pub fn delete_network_interface(&mut self, id: &str) -> Result<(), Ec2Error> {
        let eni = lookup(&self.network_interfaces, Kind::NetworkInterface, id)?;
        if eni.status == IN_USE {
            return Err(Ec2Error::InvalidParameterValue(format!(
                "Network interface '{id}' is currently in use."
            )));
        }
        self.delete_network_interface_unchecked(id);
        Ok(())
    }

    /// Removes an ENI whatever its state (a task stopped, a load balancer or
    /// NAT gateway went): its address goes back to the subnet and any
    /// elastic IP on it is disassociated.
    pub fn delete_network_interface_unchecked(&mut self, id: &str) {
        let Some(eni) = self.network_interfaces.remove(id) else {
            return;
        };
        self.release_private_ip(&eni.subnet_id, eni.private_ip);
        for address in self.addresses.values_mut() {
            if address
                .association
                .as_ref()
                .is_some_and(|a| a.network_interface_id == id)
            {
                address.association = None;
            }
        }
        self.untag_all(id);
    }

    /// The ENIs whose description is `description` (a task's attachment
    /// ARN, `ELB app/NAME/ID`), for deleting them when their owner goes.
    pub fn interfaces_described(&self, description: &str) -> Vec<String> {
        self.network_interfaces
            .values()
            .filter(|e| e.description == description)
            .map(|e| e.id.clone())
            .collect()
    }
}

/// A hash that does not change between runs (std's `DefaultHasher::new`
/// uses fixed keys), so a placeholder always lands in the same AZ.
fn stable_hash(s: &str) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    s.hash(&mut h);
    h.finish()
}

/// A locally administered unicast MAC (`02:`, as EC2's), fixed by the VPC
/// and the address. A task that reuses a stopped task's IP then also has its
/// MAC, so the host's neighbour entry for that IP stays right; with a fresh
/// random MAC the host kept sending to the old one until the entry expired,
/// and the new task failed its first health checks.
fn mac_for(vpc_id: &str, ip: Ipv4Addr) -> String {
    let [a, b, c, d] = ip.octets();
    let vpc = stable_hash(vpc_id) as u8;
    format!("02:{vpc:02x}:{a:02x}:{b:02x}:{c:02x}:{d:02x}")
}

impl Filterable for NetworkInterface {
    const FILTERS: &'static [&'static str] = &[
        "addresses.private-ip-address",
        "attachment.attachment-id",
        "availability-zone",
        "description",
        "group-id",
        "interface-type",
        "mac-address",
        "network-interface-id",
        "owner-id",
        "private-ip-address",
        "requester-id",
        "requester-managed",
        "status",
        "subnet-id",
        "vpc-id",
    ];
    const KIND: Kind = Kind::NetworkInterface;
    fn id(&self) -> &str {
        &self.id
    }
    fn values(&self, name: &str) -> Vec<String> {
        match name {
            "addresses.private-ip-address" | "private-ip-address" => {
                vec![self.private_ip.to_string()]
            }
            "attachment.attachment-id" => self.attachment_id.iter().cloned().collect(),
            "availability-zone" => vec![self.availability_zone.clone()],
            "description" => vec![self.description.clone()],
            "group-id" => self.security_groups.clone(),
            "interface-type" => vec![self.interface_type.clone()],
            "mac-address" => vec![self.mac_address.clone()],
            "network-interface-id" => vec![self.id.clone()],
            "requester-id" => self.requester_id.iter().cloned().collect(),
            "requester-managed" => vec![self.requester_managed.to_string()],
            "status" => vec![self.status.clone()],
            "subnet-id" => vec![self.subnet_id.clone()],
            "vpc-id" => vec![self.vpc_id.clone()],
            _ => vec![],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::Ec2State;
    use super::*;

    #[test]
    fn mac_is_fixed_by_vpc_and_address() {
        let ip = Ipv4Addr::new(10, 1, 2, 3);
        let mac = mac_for("vpc-1", ip);
        assert_eq!(mac, mac_for("vpc-1", ip), "same address, same MAC");
        assert!(
            mac.starts_with("02:") && mac.ends_with(":0a:01:02:03"),
            "{mac}"
        );
        assert_ne!(mac, mac_for("vpc-1", Ipv4Addr::new(10, 1, 2, 4)));
    }

    #[test]
    fn placeholders_map_to_default_subnets_in_different_azs() {
        let mut state = Ec2State::default();
        let r = state.region("us-east-1", "000000000000");
        let a = r.resolve_subnet("subnet-a").unwrap().clone();
        let b = r.resolve_subnet("subnet-b").unwrap().clone();
        assert!(a.default_for_az && b.default_for_az);
        assert_eq!(r.resolve_subnet("subnet-a").unwrap().id, a.id, "stable");
        // Different placeholders spread over the AZs.
        let zones: std::collections::BTreeSet<_> =
            ["subnet-a", "subnet-b", "subnet-1", "subnet-2", "subnet-c"]
                .iter()
                .map(|p| r.resolve_subnet(p).unwrap().availability_zone.clone())
                .collect();
        assert!(zones.len() >= 2, "{zones:?}");
        assert_eq!(
            r.resolve_subnet("subnet-0123456789abcdef0")
                .unwrap_err()
                .code(),
            "InvalidSubnetID.NotFound"
        );
        assert_eq!(r.resolve_subnet(&a.id).unwrap().id, a.id);
        assert_eq!(r.vpc_of_subnet("subnet-a").unwrap(), a.vpc_id);
        let groups = r
            .resolve_security_groups(&a.vpc_id, &["sg-1".into()])
            .unwrap();
        assert_eq!(
            groups,
            vec![r.default_vpc().unwrap().default_security_group_id.clone()]
        );
        assert_eq!(
            r.resolve_security_groups(&a.vpc_id, &["sg-0123456789abcdef0".into()])
                .unwrap_err()
                .code(),
            "InvalidGroup.NotFound"
        );
    }

    #[test]
    fn task_interfaces_take_and_give_back_addresses() {
        let mut state = Ec2State::default();
        let r = state.region("us-east-1", "000000000000");
        let subnet = r.resolve_subnet("subnet-a").unwrap().clone();
        let before = subnet.available_ip_count();
        let eni = r
            .create_task_interface(
                "subnet-a",
                &[],
                "att-1",
                &|_| false,
                &[("k".into(), "v".into())],
            )
            .unwrap();
        assert_eq!(eni.status, IN_USE);
        assert!(eni.requester_managed);
        assert_eq!(
            eni.description,
            "arn:aws:ecs:us-east-1:000000000000:attachment/att-1"
        );
        assert_eq!(
            u32::from(eni.private_ip),
            u32::from(subnet.cidr.network()) + 4
        );
        assert_eq!(r.subnets[&subnet.id].available_ip_count(), before - 1);
        assert_eq!(r.tags_of(&eni.id), vec![("k", "v")]);
        assert_eq!(
            r.delete_network_interface(&eni.id).unwrap_err().code(),
            "InvalidParameterValue"
        );
        assert_eq!(
            r.interfaces_described(&eni.description),
            vec![eni.id.clone()]
        );
        r.delete_network_interface_unchecked(&eni.id);
        assert_eq!(r.subnets[&subnet.id].available_ip_count(), before);
    }

    #[test]
    fn a_full_subnet_refuses_more_addresses() {
        let mut state = Ec2State::default();
        let r = state.region("us-east-1", "000000000000");
        let vpc = r.create_vpc("10.0.0.0/28", "default").unwrap();
        let subnet = r.create_subnet(&vpc, "10.0.0.0/28", None).unwrap();
        for _ in 0..11 {
            r.allocate_private_ip(&subnet, &|_| false).unwrap();
        }
        assert_eq!(
            r.allocate_private_ip(&subnet, &|_| false)
                .unwrap_err()
                .code(),
            "InsufficientFreeAddressesInSubnet"
        );
        r.release_private_ip(&subnet, Ipv4Addr::new(10, 0, 0, 7));
        assert_eq!(
            r.allocate_private_ip(&subnet, &|_| false).unwrap(),
            Ipv4Addr::new(10, 0, 0, 7)
        );
    }
}
