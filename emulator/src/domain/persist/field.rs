//! Borsh encodings for field types that borsh cannot derive. A field of
//! such a type names the one pair of functions,
//! `#[borsh(serialize_with = "field::write", deserialize_with = "field::read")]`,
//! and its type's [`Persisted`] implementation here picks the encoding.

use std::collections::{BTreeMap, HashSet};
use std::io::{self, Read, Write};
use std::net::Ipv4Addr;
use std::sync::{Mutex, OnceLock};

use borsh::{BorshDeserialize, BorshSerialize};
use ipnet::{IpNet, Ipv4Net};
use serde_json::{Map, Value};
use time::{OffsetDateTime, UtcOffset};

/// A field type with the encoding the state file keeps it in.
pub trait Persisted: Sized {
    fn write<W: Write>(&self, w: &mut W) -> io::Result<()>;
    fn read<R: Read>(r: &mut R) -> io::Result<Self>;
}

/// The `serialize_with` of a [`Persisted`] field.
pub fn write<T: Persisted, W: Write>(value: &T, w: &mut W) -> io::Result<()> {
    value.write(w)
}

/// The `deserialize_with` of a [`Persisted`] field.
pub fn read<T: Persisted, R: Read>(r: &mut R) -> io::Result<T> {
    T::read(r)
}

fn invalid(what: &str, e: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("{what}: {e}"))
}

/// `OffsetDateTime` as nanoseconds since the epoch and the UTC offset in
/// seconds.
impl Persisted for OffsetDateTime {
    fn write<W: Write>(&self, w: &mut W) -> io::Result<()> {
        self.unix_timestamp_nanos().serialize(w)?;
        self.offset().whole_seconds().serialize(w)
    }

    fn read<R: Read>(r: &mut R) -> io::Result<Self> {
        let nanos = i128::deserialize_reader(r)?;
        let offset = i32::deserialize_reader(r)?;
        let offset = UtcOffset::from_whole_seconds(offset).map_err(|e| invalid("offset", e))?;
        Ok(OffsetDateTime::from_unix_timestamp_nanos(nanos)
            .map_err(|e| invalid("timestamp", e))?
            .to_offset(offset))
    }
}

/// `&'static str` fields hold names from a small fixed set (statuses,
/// launch types); read back, each distinct one is leaked once and shared.
impl Persisted for &'static str {
    fn write<W: Write>(&self, w: &mut W) -> io::Result<()> {
        self.serialize(w)
    }

    fn read<R: Read>(r: &mut R) -> io::Result<Self> {
        String::deserialize_reader(r).map(intern)
    }
}

/// The one shared copy of the name `s`.
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

/// `Ipv4Net` as its address and prefix length.
impl Persisted for Ipv4Net {
    fn write<W: Write>(&self, w: &mut W) -> io::Result<()> {
        self.addr().serialize(w)?;
        self.prefix_len().serialize(w)
    }

    fn read<R: Read>(r: &mut R) -> io::Result<Self> {
        let addr = Ipv4Addr::deserialize_reader(r)?;
        let prefix = u8::deserialize_reader(r)?;
        Ipv4Net::new(addr, prefix).map_err(|e| invalid("cidr", e))
    }
}

/// CIDR blocks of either family, as their text.
impl Persisted for Vec<IpNet> {
    fn write<W: Write>(&self, w: &mut W) -> io::Result<()> {
        let texts: Vec<String> = self.iter().map(IpNet::to_string).collect();
        texts.serialize(w)
    }

    fn read<R: Read>(r: &mut R) -> io::Result<Self> {
        Vec::<String>::deserialize_reader(r)?
            .iter()
            .map(|text| text.parse().map_err(|e| invalid("cidr", e)))
            .collect()
    }
}

/// A kind and a value.
impl Persisted for (&'static str, String) {
    fn write<W: Write>(&self, w: &mut W) -> io::Result<()> {
        self.0.write(w)?;
        self.1.serialize(w)
    }

    fn read<R: Read>(r: &mut R) -> io::Result<Self> {
        Ok((Persisted::read(r)?, String::deserialize_reader(r)?))
    }
}

/// Laid out as borsh lays out a map: the length, then each key and value.
impl Persisted for BTreeMap<String, OffsetDateTime> {
    fn write<W: Write>(&self, w: &mut W) -> io::Result<()> {
        (self.len() as u32).serialize(w)?;
        for (key, at) in self {
            key.serialize(w)?;
            at.write(w)?;
        }
        Ok(())
    }

    fn read<R: Read>(r: &mut R) -> io::Result<Self> {
        let len = u32::deserialize_reader(r)?;
        let mut map = BTreeMap::new();
        for _ in 0..len {
            let key = String::deserialize_reader(r)?;
            map.insert(key, Persisted::read(r)?);
        }
        Ok(map)
    }
}

/// An `Option` of a field type, laid out as borsh lays out its own. (Not
/// for every `Persisted` type: an optional JSON document is JSON itself.)
macro_rules! persisted_option {
    ($($t:ty),*) => {$(
        impl Persisted for Option<$t> {
            fn write<W: Write>(&self, w: &mut W) -> io::Result<()> {
                self.is_some().serialize(w)?;
                self.as_ref().map_or(Ok(()), |value| value.write(w))
            }

            fn read<R: Read>(r: &mut R) -> io::Result<Self> {
                match bool::deserialize_reader(r)? {
                    true => Persisted::read(r).map(Some),
                    false => Ok(None),
                }
            }
        }
    )*};
}

persisted_option!(OffsetDateTime, &'static str, Ipv4Net);

/// JSON documents kept as given, as their JSON text.
macro_rules! persisted_as_json {
    ($($t:ty),*) => {$(
        impl Persisted for $t {
            fn write<W: Write>(&self, w: &mut W) -> io::Result<()> {
                let text = serde_json::to_string(self).map_err(|e| invalid("json", e))?;
                BorshSerialize::serialize(&text, w)
            }

            fn read<R: Read>(r: &mut R) -> io::Result<Self> {
                serde_json::from_str(&String::deserialize_reader(r)?)
                    .map_err(|e| invalid("json", e))
            }
        }
    )*};
}

persisted_as_json!(Value, Option<Value>, Vec<Value>, Map<String, Value>);

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<T: Persisted>(value: &T) -> T {
        let mut bytes = Vec::new();
        write(value, &mut bytes).unwrap();
        let mut rest = bytes.as_slice();
        let back = read(&mut rest).unwrap();
        assert!(rest.is_empty(), "every byte read");
        back
    }

    #[test]
    fn timestamps_keep_nanoseconds_and_offset() {
        let at = ::time::macros::datetime!(2026-12-07 08:30:15.123456789 +02:00);
        let back = round_trip(&at);
        assert_eq!((back, back.offset()), (at, at.offset()));
        let none: Option<::time::OffsetDateTime> = None;
        assert_eq!(round_trip(&none), None);
    }

    #[test]
    fn static_names_are_shared_once_read_back() {
        let a = round_trip(&"RUNNING");
        let b = intern("RUNNING".to_string());
        assert_eq!(a, "RUNNING");
        assert!(std::ptr::eq(a, b), "one leaked copy per distinct name");
        let pair = ("cidr", "10.0.0.0/16".to_string());
        assert_eq!(round_trip(&pair), pair);
    }

    #[test]
    fn networks_and_json_round_trip_and_bad_bytes_are_errors() {
        let net: ipnet::Ipv4Net = "10.1.2.0/24".parse().unwrap();
        assert_eq!(round_trip(&net), net);
        let nets: Vec<ipnet::IpNet> =
            vec!["10.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap()];
        assert_eq!(round_trip(&nets), nets);
        let doc = serde_json::json!({"a": [1, "two", null], "b": {"c": 1.5}});
        assert_eq!(round_trip(&doc), doc);
        let mut bad = Vec::new();
        vec!["10.0.0.0/99".to_string()].serialize(&mut bad).unwrap();
        assert!(read::<Vec<IpNet>, _>(&mut bad.as_slice()).is_err());
    }
}
