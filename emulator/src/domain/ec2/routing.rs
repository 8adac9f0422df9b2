//! Route tables, internet gateways, elastic IPs and NAT gateways.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use time::OffsetDateTime;

use super::filter::{flag, opt, Filterable};
use super::{
    lookup, lookup_mut, Address, AddressAssociation, Ec2Error, InternetGateway, Kind, NatGateway,
    RegionState, Route, RouteTable, RouteTableAssociation,
};

/// Where elastic IPs come from: documentation ranges (RFC 5737), so no
/// emulated address is ever someone's real one.
pub const PUBLIC_IP_POOLS: [&str; 2] = ["203.0.113.0/24", "198.51.100.0/24"];
/// NAT gateway states.
pub const NAT_AVAILABLE: &str = "available";
pub const NAT_DELETED: &str = "deleted";

impl RegionState {
    pub fn create_route_table(&mut self, vpc_id: &str) -> Result<String, Ec2Error> {
        let vpc = lookup(&self.vpcs, Kind::Vpc, vpc_id)?;
        let id = Kind::RouteTable.new_id();
        let local = Route {
            destination: ("destinationCidrBlock", vpc.cidr.to_string()),
            target: ("gatewayId", "local".into()),
            origin: "CreateRouteTable",
        };
        self.route_tables.insert(
            id.clone(),
            RouteTable {
                id: id.clone(),
                vpc_id: vpc_id.into(),
                routes: vec![local],
                associations: vec![],
            },
        );
        Ok(id)
    }

    pub fn delete_route_table(&mut self, id: &str) -> Result<(), Ec2Error> {
        let table = lookup(&self.route_tables, Kind::RouteTable, id)?;
        if !table.associations.is_empty() {
            return Err(Ec2Error::has_dependencies("routeTable", id));
        }
        self.route_tables.remove(id);
        self.untag_all(id);
        Ok(())
    }

    /// Checks a route's target exists; returns the route.
    fn route(
        &self,
        destination: (&'static str, String),
        target: (&'static str, String),
    ) -> Result<Route, Ec2Error> {
        match target.0 {
            "gatewayId" if target.1 != "local" => {
                lookup(&self.internet_gateways, Kind::InternetGateway, &target.1)?;
            }
            "natGatewayId" => {
                lookup(&self.nat_gateways, Kind::NatGateway, &target.1)?;
            }
            "networkInterfaceId" => {
                lookup(&self.network_interfaces, Kind::NetworkInterface, &target.1)?;
            }
            _ => {}
        }
        Ok(Route {
            destination,
            target,
            origin: "CreateRoute",
        })
    }

    /// CreateRoute (`replace` false) or ReplaceRoute (`replace` true).
    pub fn put_route(
        &mut self,
        table_id: &str,
        destination: (&'static str, String),
        target: (&'static str, String),
        replace: bool,
    ) -> Result<(), Ec2Error> {
        lookup(&self.route_tables, Kind::RouteTable, table_id)?;
        if destination.0 == "destinationCidrBlock" {
            super::cidr::parse(&destination.1, "destinationCidrBlock")?;
        }
        let route = self.route(destination.clone(), target)?;
        let table = lookup_mut(&mut self.route_tables, Kind::RouteTable, table_id)?;
        let existing = table
            .routes
            .iter()
            .position(|r| r.destination == destination);
        match (existing, replace) {
            (Some(_), false) => Err(Ec2Error::RouteAlreadyExists(format!(
                "The route identified by {} already exists.",
                destination.1
            ))),
            (None, true) => Err(no_route(table_id, &destination.1)),
            (Some(i), true) if table.routes[i].target.1 == "local" => {
                Err(Ec2Error::InvalidParameterValue(format!(
                    "The route identified by {} cannot be replaced: it is the local route.",
                    destination.1
                )))
            }
            (Some(i), true) => {
                table.routes[i] = route;
                Ok(())
            }
            (None, false) => {
                table.routes.push(route);
                Ok(())
            }
        }
    }

    pub fn delete_route(&mut self, table_id: &str, destination: &str) -> Result<(), Ec2Error> {
        let table = lookup_mut(&mut self.route_tables, Kind::RouteTable, table_id)?;
        let Some(i) = table
            .routes
            .iter()
            .position(|r| r.destination.1 == destination)
        else {
            return Err(no_route(table_id, destination));
        };
        if table.routes[i].target.1 == "local" {
            return Err(Ec2Error::InvalidParameterValue(format!(
                "cannot remove local route {destination} in route table {table_id}"
            )));
        }
        table.routes.remove(i);
        Ok(())
    }

    /// Associates a subnet or a gateway; returns the association id.
    pub fn associate_route_table(
        &mut self,
        table_id: &str,
        subnet_id: Option<&str>,
        gateway_id: Option<&str>,
    ) -> Result<String, Ec2Error> {
        let vpc = lookup(&self.route_tables, Kind::RouteTable, table_id)?
            .vpc_id
            .clone();
        match (subnet_id, gateway_id) {
            (Some(s), None) => {
                let subnet = lookup(&self.subnets, Kind::Subnet, s)?;
                if subnet.vpc_id != vpc {
                    return Err(Ec2Error::InvalidParameterValue(format!(
                        "Route table {table_id} and subnet {s} belong to different networks"
                    )));
                }
            }
            (None, Some(g)) => {
                lookup(&self.internet_gateways, Kind::InternetGateway, g)?;
            }
            _ => {
                return Err(Ec2Error::InvalidParameterCombination(
                    "Specify exactly one of SubnetId and GatewayId".into(),
                ))
            }
        }
        let conflict = self.route_tables.values().find(|t| {
            t.associations.iter().any(|a| {
                (subnet_id.is_some() && a.subnet_id.as_deref() == subnet_id)
                    || (gateway_id.is_some() && a.gateway_id.as_deref() == gateway_id)
            })
        });
        if let Some(t) = conflict {
            return Err(Ec2Error::AlreadyAssociated(format!(
                "the specified association for route table {} conflicts with an existing association",
                t.id
            )));
        }
        let id = Kind::RouteTableAssociation.new_id();
        let table = lookup_mut(&mut self.route_tables, Kind::RouteTable, table_id)?;
        table.associations.push(RouteTableAssociation {
            id: id.clone(),
            subnet_id: subnet_id.map(String::from),
            gateway_id: gateway_id.map(String::from),
            main: false,
        });
        Ok(id)
    }

    fn find_association(&self, association_id: &str) -> Result<(String, usize), Ec2Error> {
        super::error::check_form(Kind::RouteTableAssociation, association_id)?;
        self.route_tables
            .values()
            .find_map(|t| {
                t.associations
                    .iter()
                    .position(|a| a.id == association_id)
                    .map(|i| (t.id.clone(), i))
            })
            .ok_or_else(|| Ec2Error::not_found(Kind::RouteTableAssociation, association_id))
    }

    pub fn disassociate_route_table(&mut self, association_id: &str) -> Result<(), Ec2Error> {
        let (table, i) = self.find_association(association_id)?;
        let table = self.route_tables.get_mut(&table).expect("found above");
        if table.associations[i].main {
            return Err(Ec2Error::InvalidParameterValue(format!(
                "cannot disassociate the main route table association {association_id}"
            )));
        }
        table.associations.remove(i);
        Ok(())
    }

    /// Moves an association (the main one too) to `table_id`; returns the
    /// new association id.
    pub fn replace_route_table_association(
        &mut self,
        association_id: &str,
        table_id: &str,
    ) -> Result<String, Ec2Error> {
        let (old_table, i) = self.find_association(association_id)?;
        let new_vpc = lookup(&self.route_tables, Kind::RouteTable, table_id)?
            .vpc_id
            .clone();
        if self.route_tables[&old_table].vpc_id != new_vpc {
            return Err(Ec2Error::InvalidParameterValue(format!(
                "Route table {table_id} is in another VPC"
            )));
        }
        let mut association = self
            .route_tables
            .get_mut(&old_table)
            .expect("found above")
            .associations
            .remove(i);
        association.id = Kind::RouteTableAssociation.new_id();
        let id = association.id.clone();
        let main = association.main;
        self.route_tables
            .get_mut(table_id)
            .expect("looked up above")
            .associations
            .push(association);
        if main {
            if let Some(vpc) = self.vpcs.get_mut(&new_vpc) {
                vpc.main_route_table_id = table_id.to_string();
            }
        }
        Ok(id)
    }

    pub fn create_internet_gateway(&mut self) -> String {
        let id = Kind::InternetGateway.new_id();
        self.internet_gateways.insert(
            id.clone(),
            InternetGateway {
                id: id.clone(),
                attached_vpc: None,
            },
        );
        id
    }

    pub fn attach_internet_gateway(&mut self, igw_id: &str, vpc_id: &str) -> Result<(), Ec2Error> {
        lookup(&self.vpcs, Kind::Vpc, vpc_id)?;
        let igw = lookup(&self.internet_gateways, Kind::InternetGateway, igw_id)?;
        if let Some(vpc) = &igw.attached_vpc {
            return Err(Ec2Error::AlreadyAssociated(format!(
                "resource {igw_id} is already attached to network {vpc}"
            )));
        }
        if let Some(other) = self
            .internet_gateways
            .values()
            .find(|g| g.attached_vpc.as_deref() == Some(vpc_id))
        {
            return Err(Ec2Error::AlreadyAssociated(format!(
                "network {vpc_id} already has an internet gateway attached ({})",
                other.id
            )));
        }
        lookup_mut(&mut self.internet_gateways, Kind::InternetGateway, igw_id)?.attached_vpc =
            Some(vpc_id.into());
        Ok(())
    }

    pub fn detach_internet_gateway(&mut self, igw_id: &str, vpc_id: &str) -> Result<(), Ec2Error> {
        lookup(&self.vpcs, Kind::Vpc, vpc_id)?;
        let igw = lookup_mut(&mut self.internet_gateways, Kind::InternetGateway, igw_id)?;
        if igw.attached_vpc.as_deref() != Some(vpc_id) {
            return Err(Ec2Error::GatewayNotAttached(format!(
                "resource {igw_id} is not attached to network {vpc_id}"
            )));
        }
        igw.attached_vpc = None;
        Ok(())
    }

    pub fn delete_internet_gateway(&mut self, igw_id: &str) -> Result<(), Ec2Error> {
        let igw = lookup(&self.internet_gateways, Kind::InternetGateway, igw_id)?;
        if igw.attached_vpc.is_some() {
            return Err(Ec2Error::has_dependencies("internetGateway", igw_id));
        }
        self.internet_gateways.remove(igw_id);
        self.untag_all(igw_id);
        Ok(())
    }

    /// Allocates the lowest free public address of the pools.
    pub fn allocate_address(&mut self) -> Result<Address, Ec2Error> {
        let used: Vec<Ipv4Addr> = self.addresses.values().map(|a| a.public_ip).collect();
        let ip = PUBLIC_IP_POOLS
            .iter()
            .filter_map(|p| p.parse::<Ipv4Net>().ok())
            .flat_map(|net| net.hosts())
            .find(|ip| !used.contains(ip))
            .ok_or_else(|| {
                Ec2Error::InvalidParameterValue(
                    "The maximum number of addresses has been reached.".into(),
                )
            })?;
        let address = Address {
            allocation_id: Kind::Address.new_id(),
            public_ip: ip,
            association: None,
        };
        self.addresses
            .insert(address.allocation_id.clone(), address.clone());
        Ok(address)
    }

    pub fn release_address(&mut self, allocation_id: &str) -> Result<(), Ec2Error> {
        let address = lookup(&self.addresses, Kind::Address, allocation_id)?;
        if address.association.is_some() {
            return Err(Ec2Error::AddressInUse(format!(
                "Address {} is in use.",
                address.public_ip
            )));
        }
        self.addresses.remove(allocation_id);
        self.untag_all(allocation_id);
        Ok(())
    }

    /// Associates an address with an ENI's primary IP; returns the association id.
    pub fn associate_address(
        &mut self,
        allocation_id: &str,
        eni_id: &str,
        allow_reassociation: bool,
    ) -> Result<String, Ec2Error> {
        let private_ip =
            lookup(&self.network_interfaces, Kind::NetworkInterface, eni_id)?.private_ip;
        let address = lookup_mut(&mut self.addresses, Kind::Address, allocation_id)?;
        if address.association.is_some() && !allow_reassociation {
            return Err(Ec2Error::AlreadyAssociated(format!(
                "resource {allocation_id} is already associated with associate-id {}",
                address
                    .association
                    .as_ref()
                    .map(|a| a.id.as_str())
                    .unwrap_or_default()
            )));
        }
        let id = Kind::AddressAssociation.new_id();
        address.association = Some(AddressAssociation {
            id: id.clone(),
            network_interface_id: eni_id.into(),
            private_ip,
        });
        Ok(id)
    }

    pub fn disassociate_address(&mut self, association_id: &str) -> Result<(), Ec2Error> {
        super::error::check_form(Kind::AddressAssociation, association_id)?;
        let address = self
            .addresses
            .values_mut()
            .find(|a| {
                a.association
                    .as_ref()
                    .is_some_and(|x| x.id == association_id)
            })
            .ok_or_else(|| Ec2Error::not_found(Kind::AddressAssociation, association_id))?;
        address.association = None;
        Ok(())
    }

    /// Creates a NAT gateway, `available` at once, with its own ENI.
    pub fn create_nat_gateway(
        &mut self,
        subnet_id: &str,
        allocation_id: Option<&str>,
        connectivity_type: &str,
        now: OffsetDateTime,
    ) -> Result<String, Ec2Error> {
        lookup(&self.subnets, Kind::Subnet, subnet_id)?;
        match (connectivity_type, allocation_id) {
            ("public", None) => return Err(Ec2Error::MissingParameter("AllocationId".into())),
            ("private", Some(_)) => {
                return Err(Ec2Error::InvalidParameterCombination(
                    "A private NAT gateway cannot have an Elastic IP address".into(),
                ))
            }
            ("public" | "private", _) => {}
            (other, _) => {
                return Err(Ec2Error::InvalidParameterValue(format!(
                    "Value ({other}) for parameter connectivityType is invalid."
                )))
            }
        }
        if let Some(a) = allocation_id {
            if lookup(&self.addresses, Kind::Address, a)?
                .association
                .is_some()
            {
                return Err(Ec2Error::AlreadyAssociated(format!(
                    "Elastic IP address [{a}] is already associated"
                )));
            }
        }
        let id = Kind::NatGateway.new_id();
        let eni = self.create_network_interface(super::interfaces::InterfaceSpec {
            subnet: subnet_id.into(),
            security_groups: vec![],
            description: format!("Interface for NAT Gateway {id}"),
            interface_type: "nat_gateway".into(),
            requester_id: None,
            requester_managed: true,
            attachment_id: None,
            taken: &|_| false,
        })?;
        let (association_id, public_ip) = match allocation_id {
            Some(a) => {
                let assoc = self.associate_address(a, &eni.id, false)?;
                (Some(assoc), self.addresses.get(a).map(|x| x.public_ip))
            }
            None => (None, None),
        };
        let vpc_id = self.subnets[subnet_id].vpc_id.clone();
        self.nat_gateways.insert(
            id.clone(),
            NatGateway {
                id: id.clone(),
                subnet_id: subnet_id.into(),
                vpc_id,
                connectivity_type: connectivity_type.into(),
                state: NAT_AVAILABLE.into(),
                allocation_id: allocation_id.map(String::from),
                association_id,
                public_ip,
                network_interface_id: eni.id,
                private_ip: eni.private_ip,
                created: now,
                deleted: None,
            },
        );
        Ok(id)
    }

    /// Deletes a NAT gateway: it stays listed as `deleted`; its ENI goes and
    /// its elastic IP is freed.
    pub fn delete_nat_gateway(&mut self, id: &str, now: OffsetDateTime) -> Result<(), Ec2Error> {
        let nat = lookup_mut(&mut self.nat_gateways, Kind::NatGateway, id)?;
        if nat.state == NAT_DELETED {
            return Ok(());
        }
        nat.state = NAT_DELETED.into();
        nat.deleted = Some(now);
        let eni = nat.network_interface_id.clone();
        if let Some(assoc) = nat.association_id.clone() {
            self.disassociate_address(&assoc)?;
        }
        self.delete_network_interface_unchecked(&eni);
        Ok(())
    }
}

fn no_route(table_id: &str, destination: &str) -> Ec2Error {
    Ec2Error::RouteNotFound(format!(
        "no route with destination-cidr-block {destination} in route table {table_id}"
    ))
}

impl Filterable for RouteTable {
    const FILTERS: &'static [&'static str] = &[
        "association.gateway-id",
        "association.main",
        "association.route-table-association-id",
        "association.route-table-id",
        "association.subnet-id",
        "owner-id",
        "route-table-id",
        "route.destination-cidr-block",
        "route.gateway-id",
        "route.nat-gateway-id",
        "route.origin",
        "route.state",
        "vpc-id",
    ];
    const KIND: Kind = Kind::RouteTable;
    fn id(&self) -> &str {
        &self.id
    }
    fn values(&self, name: &str) -> Vec<String> {
        let a = &self.associations;
        let target = |member: &str| -> Vec<String> {
            self.routes
                .iter()
                .filter(|r| r.target.0 == member)
                .map(|r| r.target.1.clone())
                .collect()
        };
        match name {
            "association.gateway-id" => a.iter().flat_map(|x| opt(&x.gateway_id)).collect(),
            "association.main" => {
                if a.iter().any(|x| x.main) {
                    flag(true)
                } else {
                    flag(false)
                }
            }
            "association.route-table-association-id" => a.iter().map(|x| x.id.clone()).collect(),
            "association.route-table-id" | "route-table-id" => vec![self.id.clone()],
            "association.subnet-id" => a.iter().flat_map(|x| opt(&x.subnet_id)).collect(),
            "route.destination-cidr-block" => self
                .routes
                .iter()
                .map(|r| r.destination.1.clone())
                .collect(),
            "route.gateway-id" => target("gatewayId"),
            "route.nat-gateway-id" => target("natGatewayId"),
            "route.origin" => self.routes.iter().map(|r| r.origin.to_string()).collect(),
            "route.state" => vec!["active".into()],
            "vpc-id" => vec![self.vpc_id.clone()],
            _ => vec![],
        }
    }
}

impl Filterable for InternetGateway {
    const FILTERS: &'static [&'static str] = &[
        "attachment.state",
        "attachment.vpc-id",
        "internet-gateway-id",
        "owner-id",
    ];
    const KIND: Kind = Kind::InternetGateway;
    fn id(&self) -> &str {
        &self.id
    }
    fn values(&self, name: &str) -> Vec<String> {
        match name {
            "attachment.state" => self
                .attached_vpc
                .iter()
                .map(|_| "available".into())
                .collect(),
            "attachment.vpc-id" => opt(&self.attached_vpc),
            "internet-gateway-id" => vec![self.id.clone()],
            _ => vec![],
        }
    }
}

impl Filterable for Address {
    const FILTERS: &'static [&'static str] = &[
        "allocation-id",
        "association-id",
        "domain",
        "network-border-group",
        "network-interface-id",
        "private-ip-address",
        "public-ip",
    ];
    const KIND: Kind = Kind::Address;
    fn id(&self) -> &str {
        &self.allocation_id
    }
    fn values(&self, name: &str) -> Vec<String> {
        let a = self.association.as_ref();
        match name {
            "allocation-id" => vec![self.allocation_id.clone()],
            "association-id" => a.map(|x| x.id.clone()).into_iter().collect(),
            "domain" => vec!["vpc".into()],
            "network-interface-id" => a
                .map(|x| x.network_interface_id.clone())
                .into_iter()
                .collect(),
            "private-ip-address" => a.map(|x| x.private_ip.to_string()).into_iter().collect(),
            "public-ip" => vec![self.public_ip.to_string()],
            _ => vec![],
        }
    }
}

impl Filterable for NatGateway {
    const FILTERS: &'static [&'static str] = &["nat-gateway-id", "state", "subnet-id", "vpc-id"];
    const KIND: Kind = Kind::NatGateway;
    fn id(&self) -> &str {
        &self.id
    }
    fn values(&self, name: &str) -> Vec<String> {
        match name {
            "nat-gateway-id" => vec![self.id.clone()],
            "state" => vec![self.state.clone()],
            "subnet-id" => vec![self.subnet_id.clone()],
            "vpc-id" => vec![self.vpc_id.clone()],
            _ => vec![],
        }
    }
}
