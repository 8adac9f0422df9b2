//! Borsh encodings for field types that borsh cannot derive: the domain
//! names them in `#[borsh(serialize_with = .., deserialize_with = ..)]`.

use std::io::{self, Read, Write};

use borsh::{BorshDeserialize, BorshSerialize};

fn invalid(what: &str, e: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("{what}: {e}"))
}

/// An `Option` of a field type, laid out as borsh lays out its own.
fn write_option<T, W: Write>(
    value: &Option<T>,
    w: &mut W,
    write: impl FnOnce(&T, &mut W) -> io::Result<()>,
) -> io::Result<()> {
    value.is_some().serialize(w)?;
    value.as_ref().map_or(Ok(()), |value| write(value, w))
}

fn read_option<T, R: Read>(
    r: &mut R,
    read: impl FnOnce(&mut R) -> io::Result<T>,
) -> io::Result<Option<T>> {
    match bool::deserialize_reader(r)? {
        true => read(r).map(Some),
        false => Ok(None),
    }
}

/// `OffsetDateTime` as nanoseconds since the epoch and the UTC offset in
/// seconds.
pub mod time {
    use super::*;
    use ::time::{OffsetDateTime, UtcOffset};

    pub fn serialize<W: Write>(at: &OffsetDateTime, w: &mut W) -> io::Result<()> {
        at.unix_timestamp_nanos().serialize(w)?;
        at.offset().whole_seconds().serialize(w)
    }

    pub fn deserialize<R: Read>(r: &mut R) -> io::Result<OffsetDateTime> {
        let nanos = i128::deserialize_reader(r)?;
        let offset = i32::deserialize_reader(r)?;
        let offset = UtcOffset::from_whole_seconds(offset).map_err(|e| invalid("offset", e))?;
        Ok(OffsetDateTime::from_unix_timestamp_nanos(nanos)
            .map_err(|e| invalid("timestamp", e))?
            .to_offset(offset))
    }
}

pub mod time_opt {
    use super::*;
    use ::time::OffsetDateTime;

    pub fn serialize<W: Write>(at: &Option<OffsetDateTime>, w: &mut W) -> io::Result<()> {
        write_option(at, w, super::time::serialize)
    }

    pub fn deserialize<R: Read>(r: &mut R) -> io::Result<Option<OffsetDateTime>> {
        read_option(r, super::time::deserialize)
    }
}

/// `&'static str` fields hold names from a small fixed set (statuses,
/// launch types); read back, each distinct one is leaked once and shared.
pub mod static_str {
    use super::*;
    use std::collections::HashSet;
    use std::sync::{Mutex, OnceLock};

    pub fn intern(s: String) -> &'static str {
        static NAMES: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
        let mut names = NAMES.get_or_init(Default::default).lock().unwrap();
        match names.get(s.as_str()) {
            Some(name) => name,
            None => {
                let name: &'static str = Box::leak(s.into_boxed_str());
                names.insert(name);
                name
            }
        }
    }

    pub fn serialize<W: Write>(s: &&'static str, w: &mut W) -> io::Result<()> {
        s.serialize(w)
    }

    pub fn deserialize<R: Read>(r: &mut R) -> io::Result<&'static str> {
        String::deserialize_reader(r).map(intern)
    }
}

pub mod static_str_opt {
    use super::*;

    pub fn serialize<W: Write>(s: &Option<&'static str>, w: &mut W) -> io::Result<()> {
        s.serialize(w)
    }

    pub fn deserialize<R: Read>(r: &mut R) -> io::Result<Option<&'static str>> {
        Ok(Option::<String>::deserialize_reader(r)?.map(super::static_str::intern))
    }
}

/// `(&'static str, String)`: a kind and a value.
pub mod static_str_pair {
    use super::*;

    pub fn serialize<W: Write>(pair: &(&'static str, String), w: &mut W) -> io::Result<()> {
        pair.serialize(w)
    }

    pub fn deserialize<R: Read>(r: &mut R) -> io::Result<(&'static str, String)> {
        let (kind, value) = <(String, String)>::deserialize_reader(r)?;
        Ok((super::static_str::intern(kind), value))
    }
}

/// JSON documents kept as given (`serde_json::Value`, maps and lists of
/// them), as their JSON text.
pub mod json {
    use super::*;
    use serde::{de::DeserializeOwned, Serialize};

    pub fn serialize<T: Serialize, W: Write>(value: &T, w: &mut W) -> io::Result<()> {
        let text = serde_json::to_string(value).map_err(|e| invalid("json", e))?;
        BorshSerialize::serialize(&text, w)
    }

    pub fn deserialize<T: DeserializeOwned, R: Read>(r: &mut R) -> io::Result<T> {
        serde_json::from_str(&String::deserialize_reader(r)?).map_err(|e| invalid("json", e))
    }
}

/// `Ipv4Net` as its address and prefix length.
pub mod ipv4net {
    use super::*;
    use ipnet::Ipv4Net;
    use std::net::Ipv4Addr;

    pub fn serialize<W: Write>(net: &Ipv4Net, w: &mut W) -> io::Result<()> {
        net.addr().serialize(w)?;
        net.prefix_len().serialize(w)
    }

    pub fn deserialize<R: Read>(r: &mut R) -> io::Result<Ipv4Net> {
        let addr = Ipv4Addr::deserialize_reader(r)?;
        let prefix = u8::deserialize_reader(r)?;
        Ipv4Net::new(addr, prefix).map_err(|e| invalid("cidr", e))
    }
}

pub mod ipv4net_opt {
    use super::*;
    use ipnet::Ipv4Net;

    pub fn serialize<W: Write>(net: &Option<Ipv4Net>, w: &mut W) -> io::Result<()> {
        write_option(net, w, super::ipv4net::serialize)
    }

    pub fn deserialize<R: Read>(r: &mut R) -> io::Result<Option<Ipv4Net>> {
        read_option(r, super::ipv4net::deserialize)
    }
}

pub mod time_map {
    use super::*;
    use ::time::OffsetDateTime;
    use std::collections::BTreeMap;

    pub fn serialize<W: Write>(
        map: &BTreeMap<String, OffsetDateTime>,
        w: &mut W,
    ) -> io::Result<()> {
        (map.len() as u32).serialize(w)?;
        for (key, at) in map {
            key.serialize(w)?;
            super::time::serialize(at, w)?;
        }
        Ok(())
    }

    pub fn deserialize<R: Read>(r: &mut R) -> io::Result<BTreeMap<String, OffsetDateTime>> {
        let len = u32::deserialize_reader(r)?;
        let mut map = BTreeMap::new();
        for _ in 0..len {
            let key = String::deserialize_reader(r)?;
            map.insert(key, super::time::deserialize(r)?);
        }
        Ok(map)
    }
}

/// CIDR blocks of either family, as their text.
pub mod ipnet_vec {
    use super::*;
    use ipnet::IpNet;

    pub fn serialize<W: Write>(nets: &[IpNet], w: &mut W) -> io::Result<()> {
        let texts: Vec<String> = nets.iter().map(IpNet::to_string).collect();
        texts.serialize(w)
    }

    pub fn deserialize<R: Read>(r: &mut R) -> io::Result<Vec<IpNet>> {
        Vec::<String>::deserialize_reader(r)?
            .iter()
            .map(|text| text.parse().map_err(|e| invalid("cidr", e)))
            .collect()
    }
}

#[cfg(test)]
// The closures stay: the codecs' reader type is generic over a lifetime
// that a bare function path cannot be passed for.
#[allow(clippy::redundant_closure)]
mod tests {
    use super::*;

    fn round_trip<T>(
        value: &T,
        ser: impl Fn(&T, &mut Vec<u8>) -> io::Result<()>,
        de: impl Fn(&mut &[u8]) -> io::Result<T>,
    ) -> T {
        let mut bytes = Vec::new();
        ser(value, &mut bytes).unwrap();
        let mut rest = bytes.as_slice();
        let back = de(&mut rest).unwrap();
        assert!(rest.is_empty(), "every byte read");
        back
    }

    #[test]
    fn timestamps_keep_nanoseconds_and_offset() {
        let at = ::time::macros::datetime!(2026-12-07 08:30:15.123456789 +02:00);
        let back = round_trip(&at, |v, w| time::serialize(v, w), |r| time::deserialize(r));
        assert_eq!((back, back.offset()), (at, at.offset()));
        let none: Option<::time::OffsetDateTime> = None;
        assert_eq!(
            round_trip(
                &none,
                |v, w| time_opt::serialize(v, w),
                |r| time_opt::deserialize(r)
            ),
            None
        );
    }

    #[test]
    fn static_names_are_shared_once_read_back() {
        let a = round_trip(
            &"RUNNING",
            |v, w| static_str::serialize(v, w),
            |r| static_str::deserialize(r),
        );
        let b = static_str::intern("RUNNING".to_string());
        assert_eq!(a, "RUNNING");
        assert!(std::ptr::eq(a, b), "one leaked copy per distinct name");
        let pair = ("cidr", "10.0.0.0/16".to_string());
        assert_eq!(
            round_trip(
                &pair,
                |v, w| static_str_pair::serialize(v, w),
                |r| static_str_pair::deserialize(r)
            ),
            pair
        );
    }

    #[test]
    fn networks_and_json_round_trip_and_bad_bytes_are_errors() {
        let net: ipnet::Ipv4Net = "10.1.2.0/24".parse().unwrap();
        assert_eq!(
            round_trip(
                &net,
                |v, w| ipv4net::serialize(v, w),
                |r| ipv4net::deserialize(r)
            ),
            net
        );
        let nets: Vec<ipnet::IpNet> =
            vec!["10.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap()];
        assert_eq!(
            round_trip(
                &nets,
                |v, w| ipnet_vec::serialize(v, w),
                |r| ipnet_vec::deserialize(r)
            ),
            nets
        );
        let doc = serde_json::json!({"a": [1, "two", null], "b": {"c": 1.5}});
        assert_eq!(
            round_trip(
                &doc,
                |v, w| json::serialize(v, w),
                |r| json::deserialize::<serde_json::Value, _>(r)
            ),
            doc
        );
        let mut bad = Vec::new();
        vec!["10.0.0.0/99".to_string()].serialize(&mut bad).unwrap();
        assert!(ipnet_vec::deserialize(&mut bad.as_slice()).is_err());
    }
}
