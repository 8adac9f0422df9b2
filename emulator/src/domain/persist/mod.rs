//! The whole [`State`] as bytes, for the state file.
//!
//! The encoding is borsh, derived on every type the state holds, so a
//! field cannot be left out: a new field fails to compile until it is
//! encodable. Borsh is not self-describing, so a snapshot carries a
//! fingerprint of the resource model (every type definition under
//! `domain/`, taken by the build script): a snapshot from a build whose
//! types differ is refused with a clear message, never half-read. There
//! is no migration: the state is a local emulator's, and starting empty
//! (by moving the file away) is the remedy the message names.
//!
//! Layout: magic, [`FORMAT_VERSION`] (u32), the fingerprint (string), the
//! state.

pub mod field;

use borsh::{BorshDeserialize, BorshSerialize};

use super::State;

/// The envelope's own version; the fingerprint covers the state's types.
pub const FORMAT_VERSION: u32 = 1;
const MAGIC: &[u8; 8] = b"FEMUSTAT";
/// A hash of the resource model's type definitions (see `build.rs`).
pub const SCHEMA: &str = env!("EMULATOR_STATE_SCHEMA");

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("it is not an emulator state snapshot")]
    NotASnapshot,
    #[error("it was written in snapshot format {found}, and this emulator reads format {FORMAT_VERSION}")]
    UnsupportedVersion { found: u32 },
    #[error(
        "it was written by an emulator build with another resource model \
         (schema {found}; this build's is {SCHEMA})"
    )]
    OtherSchema { found: String },
    #[error("it is damaged: {0}")]
    Corrupt(String),
}

pub fn encode(state: &State) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(64 * 1024);
    bytes.extend_from_slice(MAGIC);
    let header = (FORMAT_VERSION, SCHEMA);
    header
        .serialize(&mut bytes)
        .and_then(|()| state.serialize(&mut bytes))
        .expect("writing to a Vec cannot fail and the state holds no NaN");
    bytes
}

pub fn decode(bytes: &[u8]) -> Result<State, DecodeError> {
    let mut rest = bytes
        .strip_prefix(MAGIC.as_slice())
        .ok_or(DecodeError::NotASnapshot)?;
    let corrupt = |e: std::io::Error| DecodeError::Corrupt(e.to_string());
    let found = u32::deserialize(&mut rest).map_err(corrupt)?;
    if found != FORMAT_VERSION {
        return Err(DecodeError::UnsupportedVersion { found });
    }
    let schema = String::deserialize(&mut rest).map_err(corrupt)?;
    if schema != SCHEMA {
        return Err(DecodeError::OtherSchema { found: schema });
    }
    // `try_from_slice` also refuses trailing bytes.
    State::try_from_slice(rest).map_err(corrupt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_state_round_trips() {
        let bytes = encode(&State::default());
        let state = decode(&bytes).unwrap();
        assert_eq!(encode(&state), bytes);
    }

    #[test]
    fn foreign_and_damaged_bytes_are_refused() {
        assert_eq!(decode(b"{}").unwrap_err(), DecodeError::NotASnapshot);
        let mut bytes = encode(&State::default());
        bytes[MAGIC.len()] = 9;
        assert_eq!(
            decode(&bytes).unwrap_err(),
            DecodeError::UnsupportedVersion { found: 9 }
        );
        let good = encode(&State::default());
        assert!(matches!(
            decode(&good[..good.len() - 1]).unwrap_err(),
            DecodeError::Corrupt(_)
        ));
        let mut trailing = good.clone();
        trailing.push(0);
        assert!(matches!(
            decode(&trailing).unwrap_err(),
            DecodeError::Corrupt(_)
        ));
    }

    #[test]
    fn a_snapshot_of_another_model_is_refused() {
        let mut bytes = MAGIC.to_vec();
        (FORMAT_VERSION, "0000").serialize(&mut bytes).unwrap();
        State::default().serialize(&mut bytes).unwrap();
        assert_eq!(
            decode(&bytes).unwrap_err(),
            DecodeError::OtherSchema {
                found: "0000".into()
            }
        );
    }
}
