//! What the ALB makes of a complete request head before anything is
//! forwarded: its size limits, whether the HTTP engine can serve it at all,
//! and its desync classification, acted on per the load balancer's
//! `routing.http.desync_mitigation_mode`.
//!
//! Classification is AWS's own library, `http_desync_guardian`, which ALB
//! uses: `Compliant`, `Acceptable` (not RFC 7230, harmless), `Ambiguous`
//! (servers may frame it differently), `Severe` (malformed or crafted).
//! The modes (ALB user guide, "Desync mitigation mode"):
//!
//! | tier       | monitor | defensive          | strictest |
//! |------------|---------|--------------------|-----------|
//! | Compliant  | forward | forward            | forward   |
//! | Acceptable | forward | forward            | 400       |
//! | Ambiguous  | forward | forward, then close| 400       |
//! | Severe     | forward | 400                | 400       |
//!
//! "Then close" closes the client connection and the target connection
//! after the response. A 400 closes the client connection.
//!
//! Whatever the mode, a head the engine cannot frame or route (what hyper,
//! which serves the listeners, would refuse) gets the ALB's status here
//! instead of hyper's bare one: [`check_head`] mirrors hyper's request rules
//! (httparse, then `Content-Length` / `Transfer-Encoding`).

use std::mem::MaybeUninit;

use http_desync_guardian::request_analyzer::{HttpHeader, HttpRequestData};
use http_desync_guardian::{ClassificationReason, RequestSafetyTier};

use super::response::AlbError;

/// ALB's limit for the request line, and for any one header line.
pub const MAX_LINE_BYTES: usize = 16 * 1024;
/// ALB's limit for the whole request head.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;
/// Header fields the engine parses (hyper's default; past it hyper would
/// allocate per request). ALB has no count limit of its own, only sizes.
pub const MAX_HEADERS: usize = 100;

/// `routing.http.desync_mitigation_mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    Monitor,
    #[default]
    Defensive,
    Strictest,
}

impl Mode {
    /// From the attribute's value (validated by the API); AWS's default
    /// `defensive` for anything else.
    pub fn from_attribute(value: Option<&str>) -> Self {
        match value {
            Some("monitor") => Self::Monitor,
            Some("strictest") => Self::Strictest,
            _ => Self::Defensive,
        }
    }

    /// What this mode does with a request of `tier`.
    pub fn action(self, tier: Tier) -> Action {
        match (self, tier) {
            (_, Tier::Compliant) | (Self::Monitor, _) => Action::Forward,
            (Self::Defensive, Tier::Acceptable) => Action::Forward,
            (Self::Defensive, Tier::Ambiguous) => Action::ForwardThenClose,
            (Self::Defensive, Tier::Severe) | (Self::Strictest, _) => Action::Block,
        }
    }
}

/// The desync tier of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Tier {
    Compliant,
    Acceptable,
    Ambiguous,
    Severe,
}

impl Tier {
    /// As the access log's `classification` field writes it (`-` when
    /// compliant).
    pub fn log_name(self) -> Option<&'static str> {
        match self {
            Self::Compliant => None,
            Self::Acceptable => Some("Acceptable"),
            Self::Ambiguous => Some("Ambiguous"),
            Self::Severe => Some("Severe"),
        }
    }
}

/// What a mode does with a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Forward,
    /// Forward, then close the client and the target connection.
    ForwardThenClose,
    /// 400, and close the client connection.
    Block,
}

/// A request's tier and why (the guardian's reason, e.g. `BothTeClPresent`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Classification {
    pub tier: Tier,
    pub reason: &'static str,
}

impl Classification {
    pub const COMPLIANT: Self = Self {
        tier: Tier::Compliant,
        reason: "Compliant",
    };
    /// For a head that could not be classified (over a limit, or not
    /// HTTP): treated as the worst.
    pub const UNREADABLE: Self = Self {
        tier: Tier::Severe,
        reason: "BadHeader",
    };
}

/// What the ALB found in one complete request head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    pub class: Classification,
    /// The engine cannot serve the request: the answer, unless the mode
    /// blocks it first.
    pub refused: Option<AlbError>,
}

impl Verdict {
    pub const FINE: Self = Self {
        class: Classification::COMPLIANT,
        refused: None,
    };

    /// A head over one of ALB's size limits: never classified, so no mode
    /// turns its answer into a plain 400.
    pub const TOO_LARGE: Self = Self {
        class: Classification::COMPLIANT,
        refused: Some(AlbError::HeaderTooLarge),
    };

    /// A head that stalled for the idle timeout before it was complete.
    pub const TIMED_OUT: Self = Self {
        class: Classification::COMPLIANT,
        refused: Some(AlbError::RequestTimeout),
    };

    /// The error the request is answered with under `mode`, if any, and
    /// whether it is forwarded only to close both connections after.
    pub fn decide(&self, mode: Mode) -> Result<Action, AlbError> {
        match mode.action(self.class.tier) {
            Action::Block => Err(AlbError::BadRequest),
            action => match self.refused {
                Some(e) => Err(e),
                None => Ok(action),
            },
        }
    }
}

/// Checks one complete request head (leading empty lines allowed, through
/// its empty last line). Allocates nothing for a compliant head of up to 64
/// header fields.
pub fn check_head(head: &[u8]) -> Verdict {
    let mut fields = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut []);
    let parsed = httparse::ParserConfig::default().parse_request_with_uninit_headers(
        &mut req,
        head,
        &mut fields,
    );
    let malformed = Verdict {
        class: Classification::UNREADABLE,
        refused: Some(AlbError::BadRequest),
    };
    match parsed {
        // The scanner found the end of this head; httparse must agree.
        Ok(httparse::Status::Complete(len)) if len == head.len() => {}
        Err(httparse::Error::TooManyHeaders) => return Verdict::TOO_LARGE,
        _ => return malformed,
    }
    let (Some(method), Some(target), Some(minor)) = (req.method, req.path, req.version) else {
        return malformed;
    };
    let class = classify(method.as_bytes(), target.as_bytes(), minor, req.headers);
    let refused = if !target_form_ok(method, target.as_bytes()) {
        Some(AlbError::BadRequest)
    } else {
        body_framing_refusal(minor, req.headers)
    };
    Verdict { class, refused }
}

/// The desync guardian's classification of a parsed head.
fn classify(
    method: &[u8],
    target: &[u8],
    minor: u8,
    headers: &[httparse::Header<'_>],
) -> Classification {
    let mut request = HttpRequestData {
        method,
        version: if minor == 1 { b"HTTP/1.1" } else { b"HTTP/1.0" },
        uri: target,
        headers: headers
            .iter()
            .map(|h| HttpHeader::new(h.name.as_bytes(), h.value))
            .collect(),
    };
    let result = request.analyze_parsed_request();
    Classification {
        tier: match result.tier {
            RequestSafetyTier::Compliant => Tier::Compliant,
            RequestSafetyTier::Acceptable => Tier::Acceptable,
            RequestSafetyTier::Ambiguous => Tier::Ambiguous,
            RequestSafetyTier::Severe => Tier::Severe,
        },
        reason: reason_name(result.reason),
    }
}

/// Request targets ALB routes: origin form (`/path`), absolute form
/// (`http://host/path`), and `*` for `OPTIONS` only.
fn target_form_ok(method: &str, target: &[u8]) -> bool {
    if target.first() == Some(&b'/') {
        return true;
    }
    if target == b"*" {
        return method == "OPTIONS";
    }
    let lower = |n: usize| target.get(..n).map(<[u8]>::to_ascii_lowercase);
    let rest = if lower(7).as_deref() == Some(b"http://") {
        &target[7..]
    } else if lower(8).as_deref() == Some(b"https://") {
        &target[8..]
    } else {
        return false;
    };
    // An authority, then nothing, a path, or a query.
    let authority = rest
        .iter()
        .position(|b| matches!(b, b'/' | b'?'))
        .map_or(rest, |end| &rest[..end]);
    !authority.is_empty()
}

/// hyper's framing rules for requests (RFC 9112 section 6.3), in its order:
/// `Transfer-Encoding` only in HTTP/1.1 and with `chunked` last, and then
/// the `Content-Length` lines before it dropped and those after it ignored;
/// otherwise every `Content-Length` a number, all the same.
fn body_framing_refusal(minor: u8, headers: &[httparse::Header<'_>]) -> Option<AlbError> {
    let mut te = false;
    let mut chunked = false;
    let mut unknown_coding = false;
    let mut length: Option<u64> = None;
    for h in headers {
        if h.name.eq_ignore_ascii_case("transfer-encoding") {
            if minor == 0 {
                return Some(AlbError::BadRequest);
            }
            te = true;
            let value = std::str::from_utf8(h.value).ok();
            chunked = value
                .and_then(|v| v.rsplit(',').next())
                .is_some_and(|last| last.trim().eq_ignore_ascii_case("chunked"));
            unknown_coding |= value.is_none_or(|v| {
                v.split(',').any(|c| {
                    let c = c.trim();
                    !c.eq_ignore_ascii_case("chunked") && !c.eq_ignore_ascii_case("identity")
                })
            });
        } else if h.name.eq_ignore_ascii_case("content-length") && !te {
            let Some(parsed) = digits(h.value) else {
                return Some(AlbError::BadRequest);
            };
            match length {
                Some(prev) if prev != parsed => return Some(AlbError::BadRequest),
                _ => length = Some(parsed),
            }
        }
    }
    if te && !chunked {
        // ALB answers 501 to codings other than chunked and identity.
        return Some(if unknown_coding {
            AlbError::UnsupportedTransferEncoding
        } else {
            AlbError::BadRequest
        });
    }
    None
}

/// A `Content-Length` value as hyper reads it: decimal digits only. `None`
/// (and so a refusal above) for anything else.
fn digits(value: &[u8]) -> Option<u64> {
    if value.is_empty() {
        return None;
    }
    value.iter().try_fold(0u64, |n, &b| {
        if b.is_ascii_digit() {
            n.checked_mul(10)?.checked_add(u64::from(b - b'0'))
        } else {
            None
        }
    })
}

/// The guardian's reason as AWS's access logs name it.
fn reason_name(reason: ClassificationReason) -> &'static str {
    use ClassificationReason::*;
    match reason {
        Compliant => "Compliant",
        EmptyHeader => "EmptyHeader",
        SuspiciousHeader => "SuspiciousHeader",
        NonCompliantHeader => "NonCompliantHeader",
        BadHeader => "BadHeader",
        AmbiguousUri => "AmbiguousUri",
        SpaceInUri => "SpaceInUri",
        BadUri => "BadUri",
        NonCompliantVersion => "NonCompliantVersion",
        BadVersion => "BadVersion",
        GetHeadZeroContentLength => "GetHeadZeroContentLength",
        UndefinedContentLengthSemantics => "UndefinedContentLengthSemantics",
        MultipleContentLength => "MultipleContentLength",
        DuplicateContentLength => "DuplicateContentLength",
        BadContentLength => "BadContentLength",
        UndefinedTransferEncodingSemantics => "UndefinedTransferEncodingSemantics",
        MultipleTransferEncodingChunked => "MultipleTransferEncodingChunked",
        BadTransferEncoding => "BadTransferEncoding",
        BothTeClPresent => "BothTeClPresent",
        BadMethod => "BadMethod",
        NonCrLfLineTermination => "NonCrLfLineTermination",
        MultilineHeader => "MultilineHeader",
        PartialHeaderLine => "PartialHeaderLine",
        MissingLastEmptyLine => "MissingLastEmptyLine",
        MissingHeaderColon => "MissingHeaderColon",
        MissingUri => "MissingUri",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(head: &str) -> Verdict {
        check_head(head.as_bytes())
    }

    fn tier(head: &str) -> (Tier, &'static str) {
        let v = check(head);
        (v.class.tier, v.class.reason)
    }

    #[test]
    fn modes_act_on_tiers_as_alb_documents() {
        use Action::*;
        let rows = [
            (Tier::Compliant, [Forward, Forward, Forward]),
            (Tier::Acceptable, [Forward, Forward, Block]),
            (Tier::Ambiguous, [Forward, ForwardThenClose, Block]),
            (Tier::Severe, [Forward, Block, Block]),
        ];
        for (tier, actions) in rows {
            for (mode, want) in [Mode::Monitor, Mode::Defensive, Mode::Strictest]
                .into_iter()
                .zip(actions)
            {
                assert_eq!(mode.action(tier), want, "{tier:?} in {mode:?}");
            }
        }
        assert_eq!(Mode::from_attribute(None), Mode::Defensive);
        assert_eq!(Mode::from_attribute(Some("monitor")), Mode::Monitor);
        assert_eq!(Mode::from_attribute(Some("strictest")), Mode::Strictest);
    }

    #[test]
    fn plain_requests_are_compliant() {
        for head in [
            "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
            "\r\nGET /x?y=1 HTTP/1.1\r\nHost: a\r\nUser-Agent: t\r\n\r\n",
            "POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n",
            "POST /p HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
            "GET http://a.example/x HTTP/1.1\r\n\r\n",
            "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
            "GET / HTTP/1.0\r\n\r\n",
        ] {
            assert_eq!(check(head), Verdict::FINE, "{head:?}");
        }
    }

    #[test]
    fn smuggling_shapes_are_classified_like_the_guardian() {
        // CL.TE and TE.CL: both framings.
        let both =
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n";
        assert_eq!(tier(both), (Tier::Ambiguous, "BothTeClPresent"));
        assert_eq!(check(both).refused, None, "hyper frames it by chunked");
        let te_first = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n";
        assert_eq!(tier(te_first).0, Tier::Ambiguous);
        // The same length twice: ambiguous; two lengths: severe and unframeable.
        let same = "POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n";
        assert_eq!(tier(same), (Tier::Ambiguous, "DuplicateContentLength"));
        assert_eq!(check(same).refused, None);
        let differing = "POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 30\r\n\r\n";
        assert_eq!(tier(differing), (Tier::Severe, "MultipleContentLength"));
        assert_eq!(check(differing).refused, Some(AlbError::BadRequest));
        let bad_length = "POST / HTTP/1.1\r\nContent-Length: 1e3\r\n\r\n";
        assert_eq!(tier(bad_length), (Tier::Severe, "BadContentLength"));
        assert_eq!(check(bad_length).refused, Some(AlbError::BadRequest));
        // Obfuscated Transfer-Encoding.
        let xchunked = "POST / HTTP/1.1\r\nTransfer-Encoding: xchunked\r\n\r\n";
        assert_eq!(tier(xchunked), (Tier::Severe, "BadTransferEncoding"));
        assert_eq!(
            check(xchunked).refused,
            Some(AlbError::UnsupportedTransferEncoding)
        );
        let twice =
            "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n";
        assert_eq!(
            tier(twice),
            (Tier::Severe, "MultipleTransferEncodingChunked")
        );
        let last_identity = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, identity\r\n\r\n";
        assert_eq!(check(last_identity).refused, Some(AlbError::BadRequest));
        let underscore =
            "POST / HTTP/1.1\r\nTransfer_Encoding: chunked\r\nContent-Length: 1\r\n\r\n";
        assert_eq!(tier(underscore), (Tier::Ambiguous, "SuspiciousHeader"));
        let http10 = "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n";
        assert_eq!(tier(http10).0, Tier::Ambiguous);
        assert_eq!(check(http10).refused, Some(AlbError::BadRequest));
        // A header name with a space before the colon is no HTTP at all here.
        let spaced = "POST / HTTP/1.1\r\nTransfer-Encoding : chunked\r\n\r\n";
        assert_eq!(check(spaced).refused, Some(AlbError::BadRequest));
    }

    #[test]
    fn bodies_on_get_are_acceptable_or_ambiguous() {
        let zero = "GET / HTTP/1.1\r\nContent-Length: 0\r\n\r\n";
        assert_eq!(tier(zero), (Tier::Acceptable, "GetHeadZeroContentLength"));
        let some = "GET / HTTP/1.1\r\nContent-Length: 5\r\n\r\n";
        assert_eq!(
            tier(some),
            (Tier::Ambiguous, "UndefinedContentLengthSemantics")
        );
    }

    #[test]
    fn invalid_methods_and_targets_are_refused() {
        for head in [
            "G(T / HTTP/1.1\r\n\r\n",
            "GET\x01 / HTTP/1.1\r\n\r\n",
            " GET / HTTP/1.1\r\n\r\n",
            "GET / HTTP/2.0\r\n\r\n",
            "GET / HTTP/1.1\r\nBad Name: x\r\n\r\n",
            "GET / HTTP/1.1\r\nX: a\x00b\r\n\r\n",
            "GET / HTTP/1.1\r\n folded\r\n\r\n",
            "GET /a\x7fb HTTP/1.1\r\n\r\n",
            "NOT AN HTTP REQUEST\r\n\r\n",
        ] {
            assert_eq!(check(head).refused, Some(AlbError::BadRequest), "{head:?}");
        }
        for target in ["x", "foo/bar", "*", "http://", "ftp://a/b", "a.example:443"] {
            let head = format!("GET {target} HTTP/1.1\r\n\r\n");
            assert_eq!(
                check(&head).refused,
                Some(AlbError::BadRequest),
                "{target:?}"
            );
        }
        // Tokens are case-sensitive but any case is a valid method.
        assert_eq!(check("get / HTTP/1.1\r\n\r\n"), Verdict::FINE);
    }

    #[test]
    fn too_many_fields_are_too_large() {
        let mut head = String::from("GET / HTTP/1.1\r\n");
        for i in 0..=MAX_HEADERS {
            head.push_str(&format!("X-{i}: v\r\n"));
        }
        head.push_str("\r\n");
        assert_eq!(check(&head), Verdict::TOO_LARGE);
    }

    #[test]
    fn blocking_comes_before_the_engine_status() {
        let xchunked = check("POST / HTTP/1.1\r\nTransfer-Encoding: xchunked\r\n\r\n");
        assert_eq!(xchunked.decide(Mode::Defensive), Err(AlbError::BadRequest));
        assert_eq!(
            xchunked.decide(Mode::Monitor),
            Err(AlbError::UnsupportedTransferEncoding)
        );
        let both =
            check("POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n");
        assert_eq!(both.decide(Mode::Monitor), Ok(Action::Forward));
        assert_eq!(both.decide(Mode::Defensive), Ok(Action::ForwardThenClose));
        assert_eq!(both.decide(Mode::Strictest), Err(AlbError::BadRequest));
        assert_eq!(
            Verdict::TIMED_OUT.decide(Mode::Strictest),
            Err(AlbError::RequestTimeout)
        );
    }
}
