//! Timestamps in AWS JSON are epoch seconds as numbers, e.g. `1672909881.161`:
//! the serde helpers for the resource models' timestamp members, and
//! [`to_f64`] for views built by hand.

use serde::{Deserialize, Deserializer, Serializer};
use time::OffsetDateTime;

pub fn to_f64(t: OffsetDateTime) -> f64 {
    (t.unix_timestamp_nanos() / 1_000_000) as f64 / 1000.0
}

pub fn serialize<S: Serializer>(t: &OffsetDateTime, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(to_f64(*t))
}

pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<OffsetDateTime, D::Error> {
    let secs = f64::deserialize(d)?;
    OffsetDateTime::from_unix_timestamp_nanos((secs * 1e9) as i128)
        .map_err(serde::de::Error::custom)
}

/// For `Option<OffsetDateTime>` fields, skipped when `None`.
pub mod option {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::OffsetDateTime;

    pub fn serialize<S: Serializer>(t: &Option<OffsetDateTime>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => super::serialize(t, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<OffsetDateTime>, D::Error> {
        Option::<f64>::deserialize(d)?
            .map(|secs| {
                OffsetDateTime::from_unix_timestamp_nanos((secs * 1e9) as i128)
                    .map_err(serde::de::Error::custom)
            })
            .transpose()
    }
}
