//! IPv4 CIDR rules of VPCs and subnets: sizes, carving the default
//! subnets, and picking free private addresses.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use super::Ec2Error;

/// The largest VPC or subnet AWS allows (/16).
pub const LARGEST_PREFIX: u8 = 16;
/// The smallest VPC or subnet AWS allows (/28).
pub const SMALLEST_PREFIX: u8 = 28;
/// AWS reserves the network address and the next three (router, DNS,
/// future use) of every subnet.
pub const RESERVED_AT_START: u32 = 4;
/// ... and its last (broadcast) address.
pub const RESERVED_AT_END: u32 = 1;
/// The prefix of each default subnet in a /16 default VPC, as AWS carves it.
pub const DEFAULT_SUBNET_PREFIX: u8 = 20;
/// How many default subnets (one per AZ) the default VPC gets.
pub const DEFAULT_SUBNETS: usize = 3;

/// Parses `value` as an IPv4 CIDR block given as `parameter`; the address
/// must be the network address of the block.
pub fn parse(value: &str, parameter: &str) -> Result<Ipv4Net, Ec2Error> {
    let invalid = || {
        Ec2Error::InvalidParameterValue(format!(
            "Value ({value}) for parameter {parameter} is invalid. This is not a valid CIDR block."
        ))
    };
    let net: Ipv4Net = value.parse().map_err(|_| invalid())?;
    if net.network() != net.addr() {
        return Err(invalid());
    }
    Ok(net)
}

/// Checks a VPC's size: /16 to /28.
pub fn check_vpc_size(net: Ipv4Net) -> Result<(), Ec2Error> {
    if (LARGEST_PREFIX..=SMALLEST_PREFIX).contains(&net.prefix_len()) {
        Ok(())
    } else {
        Err(Ec2Error::VpcRange(format!("The CIDR '{net}' is invalid.")))
    }
}

/// Checks a subnet's size and that it lies inside its VPC.
pub fn check_subnet_range(net: Ipv4Net, vpc: Ipv4Net) -> Result<(), Ec2Error> {
    if !(LARGEST_PREFIX..=SMALLEST_PREFIX).contains(&net.prefix_len()) || !vpc.contains(&net) {
        return Err(Ec2Error::SubnetRange(format!(
            "The CIDR '{net}' is invalid."
        )));
    }
    Ok(())
}

/// Whether two blocks share an address.
pub fn overlaps(a: Ipv4Net, b: Ipv4Net) -> bool {
    a.contains(&b) || b.contains(&a)
}

/// The default subnets of a default VPC: /20s from the start of a /16 (or
/// larger) block, as AWS makes them; a smaller block is split into four
/// equal parts of which the first three are used.
pub fn default_subnets(vpc: Ipv4Net) -> Vec<Ipv4Net> {
    let prefix = if vpc.prefix_len() <= LARGEST_PREFIX {
        DEFAULT_SUBNET_PREFIX
    } else {
        (vpc.prefix_len() + 2).min(32)
    };
    vpc.subnets(prefix)
        .map(|s| s.take(DEFAULT_SUBNETS).collect())
        .unwrap_or_default()
}

/// Addresses of `net` that may be given out (all but the reserved five).
pub fn usable_count(net: Ipv4Net) -> u32 {
    let size = 1u64 << (32 - net.prefix_len());
    size.saturating_sub((RESERVED_AT_START + RESERVED_AT_END) as u64) as u32
}

/// The lowest address of `net` that is not reserved, not in `allocated`,
/// and not `taken` (addresses the emulator uses otherwise, such as the
/// Docker network's gateway).
pub fn next_free(
    net: Ipv4Net,
    allocated: &BTreeSet<Ipv4Addr>,
    taken: impl Fn(Ipv4Addr) -> bool,
) -> Option<Ipv4Addr> {
    let first = u32::from(net.network()).checked_add(RESERVED_AT_START)?;
    let last = u32::from(net.broadcast()).checked_sub(RESERVED_AT_END)?;
    (first..=last)
        .map(Ipv4Addr::from)
        .find(|ip| !allocated.contains(ip) && !taken(*ip))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> Ipv4Net {
        s.parse().unwrap()
    }

    #[test]
    fn default_subnets_are_carved_like_aws() {
        assert_eq!(
            default_subnets(net("172.31.0.0/16")),
            vec![
                net("172.31.0.0/20"),
                net("172.31.16.0/20"),
                net("172.31.32.0/20")
            ]
        );
        assert_eq!(
            default_subnets(net("10.1.0.0/24")),
            vec![
                net("10.1.0.0/26"),
                net("10.1.0.64/26"),
                net("10.1.0.128/26")
            ]
        );
    }

    #[test]
    fn sizes_and_ranges() {
        assert!(check_vpc_size(net("10.0.0.0/16")).is_ok());
        assert!(check_vpc_size(net("10.0.0.0/28")).is_ok());
        assert_eq!(
            check_vpc_size(net("10.0.0.0/15")).unwrap_err().code(),
            "InvalidVpc.Range"
        );
        assert_eq!(
            check_vpc_size(net("10.0.0.0/29")).unwrap_err().code(),
            "InvalidVpc.Range"
        );
        let vpc = net("10.0.0.0/16");
        assert!(check_subnet_range(net("10.0.1.0/24"), vpc).is_ok());
        assert_eq!(
            check_subnet_range(net("10.1.0.0/24"), vpc)
                .unwrap_err()
                .code(),
            "InvalidSubnet.Range"
        );
        assert!(overlaps(net("10.0.0.0/16"), net("10.0.1.0/24")));
        assert!(!overlaps(net("10.0.0.0/24"), net("10.0.1.0/24")));
        assert_eq!(
            parse("10.0.0.1/16", "cidrBlock").unwrap_err().code(),
            "InvalidParameterValue"
        );
        assert!(parse("nope", "cidrBlock").is_err());
    }

    #[test]
    fn allocation_skips_reserved_and_taken_and_runs_out() {
        let subnet = net("10.0.0.0/28");
        assert_eq!(usable_count(subnet), 11);
        let mut allocated = BTreeSet::new();
        let gateway = Ipv4Addr::new(10, 0, 0, 5);
        let first = next_free(subnet, &allocated, |ip| ip == gateway).unwrap();
        assert_eq!(first, Ipv4Addr::new(10, 0, 0, 4));
        allocated.insert(first);
        assert_eq!(
            next_free(subnet, &allocated, |ip| ip == gateway),
            Some(Ipv4Addr::new(10, 0, 0, 6))
        );
        while let Some(ip) = next_free(subnet, &allocated, |_| false) {
            allocated.insert(ip);
        }
        assert_eq!(allocated.len(), 11);
        assert_eq!(allocated.last(), Some(&Ipv4Addr::new(10, 0, 0, 14)));
    }
}
