//! Unit tests of the target client's message framing: chunked decoding,
//! response framing (RFC 9112), keep-alive.

use super::*;
use crate::dataplane::headers::tests::map as headers;

fn decode_all(mut input: BytesMut) -> Result<(Vec<u8>, Option<HeaderMap>), &'static str> {
    let mut state = Chunked::Size;
    let mut out = Vec::new();
    loop {
        match decode_chunked(state, &mut input)? {
            Decoded::Data(next, data) => {
                out.extend_from_slice(&data);
                state = next;
            }
            Decoded::State(next) => state = next,
            Decoded::End(trailers) => return Ok((out, trailers)),
            Decoded::NeedMore => return Err("incomplete"),
        }
    }
}

#[test]
fn chunked_bodies_decode_with_extensions_and_trailers() {
    let (data, trailers) = decode_all(BytesMut::from(
        &b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"[..],
    ))
    .unwrap();
    assert_eq!(data, b"hello world");
    assert!(trailers.is_none());

    let (data, trailers) =
        decode_all(BytesMut::from(&b"3\r\nabc\r\n0\r\nx-sum: 42\r\n\r\n"[..])).unwrap();
    assert_eq!(data, b"abc");
    assert_eq!(trailers.unwrap()["x-sum"], "42");
}

#[test]
fn chunked_errors_and_partial_input() {
    assert_eq!(
        decode_all(BytesMut::from(&b"zz\r\n"[..])).unwrap_err(),
        "bad chunk size line"
    );
    assert_eq!(
        decode_all(BytesMut::from(&b"3\r\nabcX\r\n"[..])).unwrap_err(),
        "chunk data not followed by CRLF"
    );
    assert_eq!(
        decode_all(BytesMut::from(&b"3\r\nab"[..])).unwrap_err(),
        "incomplete"
    );
}

#[test]
fn chunk_sizes_as_hyper_reads_them() {
    // Found by `cargo xtask fuzz --target client`: httparse alone took
    // an empty size line for the last chunk and refused 17 digits.
    assert_eq!(
        decode_all(BytesMut::from(&b"\r\n\r\n"[..])).unwrap_err(),
        "bad chunk size line"
    );
    assert_eq!(
        decode_all(BytesMut::from(&b";x\r\n\r\n"[..])).unwrap_err(),
        "bad chunk size line"
    );
    let (data, _) = decode_all(BytesMut::from(
        &b"00000000000000001\r\na\r\n00000000000000000\r\n\r\n"[..],
    ))
    .unwrap();
    assert_eq!(data, b"a");
}

#[test]
fn response_framing_follows_rfc_9112() {
    assert_eq!(response_framing(&headers(&[])), Ok(Framing::UntilClose));
    assert_eq!(
        response_framing(&headers(&[("content-length", "0")])),
        Ok(Framing::Done)
    );
    assert_eq!(
        response_framing(&headers(&[("content-length", "12")])),
        Ok(Framing::Length(12))
    );
    assert_eq!(
        response_framing(&headers(&[
            ("content-length", "12"),
            ("content-length", "12")
        ])),
        Ok(Framing::Length(12))
    );
    assert!(response_framing(&headers(&[
        ("content-length", "1"),
        ("content-length", "2")
    ]))
    .is_err());
    assert!(response_framing(&headers(&[("content-length", "-1")])).is_err());
    assert_eq!(
        response_framing(&headers(&[
            ("transfer-encoding", "gzip, chunked"),
            ("content-length", "3")
        ])),
        Ok(Framing::Chunked(Chunked::Size))
    );
    assert_eq!(
        response_framing(&headers(&[("transfer-encoding", "gzip")])),
        Ok(Framing::UntilClose)
    );
}

#[test]
fn transfer_encoding_in_http_1_0_is_malformed() {
    // Found by `cargo xtask fuzz --target client` (hyper refuses it too).
    let head = ParsedHead {
        status: StatusCode::OK,
        version: 0,
        headers: headers(&[("transfer-encoding", "chunked")]),
    };
    assert!(body_framing(&Method::GET, false, &head).is_err());
    let head = ParsedHead { version: 1, ..head };
    assert_eq!(
        body_framing(&Method::GET, false, &head),
        Ok(Framing::Chunked(Chunked::Size))
    );
}

#[test]
fn keep_alive_by_version_and_connection_header() {
    assert!(keeps_alive(1, &headers(&[])));
    assert!(!keeps_alive(1, &headers(&[("connection", "Close")])));
    assert!(!keeps_alive(0, &headers(&[])));
    assert!(keeps_alive(0, &headers(&[("connection", "keep-alive")])));
}
