//! Unit tests of the framing scanner and the guarded connection.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, ReadBuf};

use super::guarded::STAND_IN;
use super::*;
use crate::dataplane::desync::{MAX_HEAD_BYTES, MAX_LINE_BYTES};

fn scan_all(input: &[u8], chunk: usize) -> Vec<Finding> {
    let mut s = Scanner::default();
    let mut found = Vec::new();
    for part in input.chunks(chunk) {
        if let Some(f) = s.feed(part) {
            found.push(f);
        }
    }
    found
}

#[test]
fn flags_cl_and_te_in_either_order() {
    for chunk in [1, 3, 7, 1000] {
        let a = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
        assert_eq!(scan_all(a, chunk), vec![Finding::Ambiguous(1)]);
        let b =
            b"POST / HTTP/1.1\r\ntransfer-encoding: chunked\r\ncontent-length: 5\r\n\r\n0\r\n\r\n";
        assert_eq!(scan_all(b, chunk), vec![Finding::Ambiguous(1)]);
    }
}

#[test]
fn follows_bodies_to_the_next_request() {
    let mut stream = Vec::new();
    // A Content-Length body that contains header-looking text.
    let body = b"Content-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n";
    stream.extend_from_slice(
        format!("POST /a HTTP/1.1\r\nContent-Length: {}\r\n\r\n", body.len()).as_bytes(),
    );
    stream.extend_from_slice(body);
    // A chunked body with an extension and a trailer.
    stream.extend_from_slice(b"POST /b HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
    stream.extend_from_slice(b"5;x=y\r\nhello\r\n3\r\n\r\n\r\r\n0\r\nX-T: 1\r\n\r\n");
    stream.extend_from_slice(b"GET /c HTTP/1.1\r\n\r\n");
    stream.extend_from_slice(
        b"POST /d HTTP/1.1\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n",
    );
    for chunk in [1, 2, 5, 64, 4096] {
        assert_eq!(
            scan_all(&stream, chunk),
            vec![Finding::Ambiguous(4)],
            "chunk {chunk}"
        );
    }
}

#[test]
fn long_framing_values_keep_their_meaning() {
    // Found by `cargo xtask fuzz --target framing`: the first 128 bytes
    // of a line were all that was kept, so a length padded with zeros
    // or spaces read as 0 (or not at all) while hyper read 1, and the
    // scanner lost the stream's framing.
    let zeros = format!("Content-Length: {}1", "0".repeat(150));
    let spaces = format!("Content-Length:{}1{}", " ".repeat(150), "\t".repeat(150));
    let codings = format!("Transfer-Encoding: {}chunked", "gzip, ".repeat(40));
    let padded = format!("Transfer-Encoding: chunked{}", " ".repeat(150));
    for (field, body) in [
        (&zeros, "X"),
        (&spaces, "X"),
        (&codings, "1\r\nX\r\n0\r\n\r\n"),
        (&padded, "1\r\nX\r\n0\r\n\r\n"),
    ] {
        let stream = format!(
            "POST / HTTP/1.1\r\n{field}\r\n\r\n{body}POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"
        );
        for chunk in [1, 7, 4096] {
            assert_eq!(
                scan_all(stream.as_bytes(), chunk),
                vec![Finding::Ambiguous(2)],
                "{field} in pieces of {chunk}"
            );
        }
    }
    // A value that is long for real is still no length.
    let mut s = Scanner::default();
    let digits = format!(
        "GET / HTTP/1.1\r\nContent-Length: {}\r\n\r\n",
        "9".repeat(140)
    );
    s.feed(digits.as_bytes());
    assert_eq!(s.phase().1, Phase::Off);
}

#[test]
fn stops_after_upgrade() {
    let stream = b"GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\nPOST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n";
    assert!(scan_all(stream, 4096).is_empty());
}

#[test]
fn service_side_takes_verdicts_by_index() {
    let f = ConnFraming::default();
    f.record(2, Verdict::TOO_LARGE);
    assert_eq!(f.next_request(), (1, Verdict::FINE));
    assert_eq!(f.next_request(), (2, Verdict::TOO_LARGE));
    assert_eq!(f.next_request(), (3, Verdict::FINE));
    // Past the slots, the rest of the connection is refused.
    for i in 4..4 + VERDICT_SLOTS as u64 + 1 {
        f.record(i, Verdict::TIMED_OUT);
    }
    let lost = 4 + VERDICT_SLOTS as u64;
    for i in 4..lost {
        assert_eq!(f.next_request(), (i, Verdict::TIMED_OUT));
    }
    assert_eq!(f.next_request(), (lost, Verdict::TOO_LARGE));
    assert_eq!(f.next_request(), (lost + 1, Verdict::TOO_LARGE));
}

/// Reads that return the given pieces one by one, then nothing ever.
struct Script(std::collections::VecDeque<Vec<u8>>);

impl AsyncRead for Script {
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut().0.pop_front() {
            Some(piece) => {
                buf.put_slice(&piece);
                Poll::Ready(Ok(()))
            }
            None => Poll::Pending,
        }
    }
}

/// What hyper would read through a guard fed `pieces`: each read's
/// bytes, until the reads stop for `quiet`.
async fn through(pieces: &[&[u8]], framing: &Arc<ConnFraming>, quiet: Duration) -> Vec<Vec<u8>> {
    use tokio::io::AsyncReadExt;
    let script = Script(pieces.iter().map(|p| p.to_vec()).collect());
    let mut io = GuardedIo::new(script, framing.clone());
    let mut reads = Vec::new();
    let mut buf = vec![0u8; 256 * 1024];
    while let Ok(Ok(n)) = tokio::time::timeout(quiet, io.read(&mut buf)).await {
        if n == 0 {
            break;
        }
        reads.push(buf[..n].to_vec());
    }
    reads
}

const QUIET: Duration = Duration::from_millis(200);

#[tokio::test]
async fn heads_reach_hyper_only_whole() {
    let f = Arc::new(ConnFraming::default());
    let reads = through(
        &[
            b"GET /a HTTP/1.1\r\nHo",
            b"st: x\r\n",
            b"\r\nGET /b HTTP/1.1\r\n\r\nPOST /c HTTP/1.1\r\nContent-Length: 3\r\n\r\nab",
            b"cGET",
        ],
        &f,
        QUIET,
    )
    .await;
    assert_eq!(
        reads,
        vec![
            b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\n\r\nPOST /c HTTP/1.1\r\nContent-Length: 3\r\n\r\nab".to_vec(),
            b"c".to_vec(),
        ],
        "the first head waits for its end; the unfinished `GET` is held back"
    );
    assert!(f.head_held());
    for i in 1..=3 {
        assert_eq!(f.next_request(), (i, Verdict::FINE));
    }
}

#[tokio::test]
async fn a_refused_head_becomes_the_stand_in() {
    let f = Arc::new(ConnFraming::default());
    let reads = through(
        &[b"GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxGET /c HTTP/1.1\r\n\r\n"],
        &f,
        QUIET,
    )
    .await;
    assert_eq!(
        reads.concat(),
        [&b"GET /a HTTP/1.1\r\n\r\n"[..], STAND_IN].concat()
    );
    assert_eq!(f.next_request(), (1, Verdict::FINE));
    let (n, verdict) = f.next_request();
    assert_eq!(
        (n, verdict.refused),
        (2, Some(crate::dataplane::response::AlbError::BadRequest))
    );
    assert_eq!(verdict.class.reason, "MultipleContentLength");
}

#[tokio::test]
async fn floods_past_the_limits_are_cut_early() {
    // One header line over 16 KB, sent in pieces: refused before it ends.
    let f = Arc::new(ConnFraming::default());
    let big = vec![b'a'; MAX_LINE_BYTES];
    let reads = through(&[b"GET / HTTP/1.1\r\nX: ", &big, &big], &f, QUIET).await;
    assert_eq!(reads.concat(), STAND_IN);
    assert_eq!(f.next_request(), (1, Verdict::TOO_LARGE));
    // Many small header lines, 64 KB in all.
    let f = Arc::new(ConnFraming::default());
    let line = b"X-Flood: 0123456789abcdef0123456789abcdef0123456789abcdef\r\n";
    let many = line.repeat(MAX_HEAD_BYTES / line.len() + 1);
    let reads = through(&[b"GET / HTTP/1.1\r\n", &many], &f, QUIET).await;
    assert_eq!(reads.concat(), STAND_IN);
    assert_eq!(f.next_request(), (1, Verdict::TOO_LARGE));
    // A head just under the limits passes.
    let f = Arc::new(ConnFraming::default());
    let value = vec![b'v'; MAX_LINE_BYTES - 4];
    let head = [&b"GET / HTTP/1.1\r\nX: "[..], &value, b"\r\n\r\n"].concat();
    let reads = through(&[&head], &f, QUIET).await;
    assert_eq!(reads.concat(), head);
    assert_eq!(f.next_request(), (1, Verdict::FINE));
}

#[tokio::test]
async fn a_stalled_head_times_out_and_empty_lines_do_not() {
    let f = Arc::new(ConnFraming::default());
    f.set_idle_timeout(Duration::from_millis(100));
    let reads = through(&[b"GET / HT"], &f, Duration::from_secs(2)).await;
    assert_eq!(reads.concat(), STAND_IN);
    assert_eq!(f.next_request(), (1, Verdict::TIMED_OUT));

    let f = Arc::new(ConnFraming::default());
    f.set_idle_timeout(Duration::from_millis(100));
    let reads = through(&[b"\r\n"], &f, Duration::from_millis(500)).await;
    assert!(reads.is_empty(), "{reads:?}");
    assert!(!f.head_held());
}
