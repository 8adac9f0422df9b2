//! The fuzz targets, and strategies they share.

pub mod client;
pub mod framing;
pub mod json;
mod message;
pub mod query;
pub mod sigv4;
pub mod xml;

use proptest::prelude::*;

/// Bytes biased toward `alphabet` (the characters that matter to a parser),
/// with any byte now and then.
pub fn bytes_from(alphabet: &'static [u8], max_len: usize) -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![
        6 => proptest::sample::select(alphabet),
        1 => any::<u8>(),
    ];
    proptest::collection::vec(byte, 0..max_len)
}

/// A string biased toward `alphabet`, with any character now and then.
pub fn string_from(alphabet: &'static str, max_len: usize) -> impl Strategy<Value = String> {
    let chars: Vec<char> = alphabet.chars().collect();
    let c = prop_oneof![
        6 => proptest::sample::select(chars),
        1 => any::<char>(),
    ];
    proptest::collection::vec(c, 0..max_len).prop_map(|cs| cs.into_iter().collect())
}

/// Cuts `data` at the given fractions (0..1000 per mille) into pieces, as
/// socket reads might deliver it; every piece is non-empty.
pub fn split_at(data: &[u8], cuts: &[u16]) -> Vec<Vec<u8>> {
    let mut points: Vec<usize> = cuts
        .iter()
        .map(|c| data.len() * usize::from(*c % 1000) / 1000)
        .collect();
    points.push(data.len());
    points.sort_unstable();
    points.dedup();
    let mut pieces = Vec::new();
    let mut from = 0;
    for p in points {
        if p > from {
            pieces.push(data[from..p].to_vec());
            from = p;
        }
    }
    pieces
}
