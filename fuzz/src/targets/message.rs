//! Near-valid HTTP/1 messages for the `framing` and `client` targets: a
//! start line, header fields, `Content-Length` / `Transfer-Encoding`
//! combinations written with odd spacing, leading zeros, signs, lists and
//! case, and a body sent as is or chunked (extensions, zero-padded sizes,
//! trailers), with CRLF or bare LF line ends.

use proptest::prelude::*;

use super::bytes_from;

/// How a `Content-Length` field is written.
#[derive(Debug, Clone)]
pub struct Cl {
    zeros: usize,
    left: String,
    right: String,
    /// Added to the true length (a lie, now and then).
    delta: i8,
    /// 0: plain; 1: `+N`; 2: `N, N`; 3: the field twice.
    style: u8,
}

/// The framing fields of a message.
#[derive(Debug, Clone)]
pub enum Framing {
    None,
    Cl(Cl),
    Te(String),
    Both { cl: Cl, te: String, cl_first: bool },
}

/// A message after its start line.
#[derive(Debug, Clone)]
pub struct Message {
    pub fields: Vec<(String, String)>,
    pub framing: Framing,
    /// Flips the case of the framing field names, bit by bit.
    case_mask: u32,
    pub body: Vec<u8>,
    /// Chunk cut points, zeros before the size, and whether an extension follows.
    chunks: Vec<(u8, u8, bool)>,
    trailers: Vec<String>,
    pub eol: &'static str,
}

fn ws(max: usize) -> impl Strategy<Value = String> {
    prop_oneof![
        4 => Just(String::new()),
        2 => Just(" ".to_string()),
        1 => prop::collection::vec(prop::sample::select(&[' ', '\t'][..]), 0..max)
            .prop_map(|v| v.into_iter().collect()),
    ]
}

fn cl() -> impl Strategy<Value = Cl> {
    (
        prop_oneof![6 => Just(0usize), 1 => 0usize..4, 1 => 100usize..160],
        ws(160),
        ws(160),
        prop_oneof![8 => Just(0i8), 1 => -2i8..3],
        prop_oneof![8 => Just(0u8), 1 => 1u8..4],
    )
        .prop_map(|(zeros, left, right, delta, style)| Cl {
            zeros,
            left,
            right,
            delta,
            style,
        })
}

fn te() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => Just("chunked".to_string()),
        1 => Just("gzip, chunked".to_string()),
        1 => Just("chunked, gzip".to_string()),
        1 => Just("identity".to_string()),
        1 => Just("Chunked ".to_string()),
        1 => (ws(160), ws(160)).prop_map(|(l, r)| format!("{l}chunked{r}")),
        1 => (1usize..30).prop_map(|n| format!("{}chunked", "gzip, ".repeat(n))),
        1 => Just("chunked\u{e9}".to_string()),
    ]
}

fn framing() -> impl Strategy<Value = Framing> {
    prop_oneof![
        2 => Just(Framing::None),
        4 => cl().prop_map(Framing::Cl),
        3 => te().prop_map(Framing::Te),
        1 => (cl(), te(), any::<bool>()).prop_map(|(cl, te, cl_first)| Framing::Both {
            cl,
            te,
            cl_first
        }),
    ]
}

/// Other fields: the ones that change how a connection is handled, and noise.
fn field() -> impl Strategy<Value = (String, String)> {
    prop_oneof![
        Just(("Host".to_string(), "a".to_string())),
        Just(("Upgrade".to_string(), "websocket".to_string())),
        Just(("Connection".to_string(), "close".to_string())),
        Just(("Connection".to_string(), "keep-alive".to_string())),
        Just(("Expect".to_string(), "100-continue".to_string())),
        ("[A-Za-z-]{1,8}", "[ -~]{0,12}"),
        ("[A-Za-z -]{0,3}", "[\u{0}-\u{ff}]{0,4}"),
        Just(("X-Long".to_string(), "v".repeat(200))),
    ]
}

pub fn message() -> impl Strategy<Value = Message> {
    (
        prop::collection::vec(field(), 0..4),
        framing(),
        any::<u32>(),
        bytes_from(b"0123456789abcdef\r\n: ", 24),
        prop::collection::vec(
            (
                any::<u8>(),
                prop_oneof![6 => Just(0u8), 1 => 1u8..20],
                any::<bool>(),
            ),
            0..4,
        ),
        prop::collection::vec(prop_oneof![Just("X-T: 1".to_string()), "[ -~]{0,8}"], 0..2),
        prop::sample::select(&["\r\n", "\r\n", "\r\n", "\r\n", "\n"][..]),
    )
        .prop_map(
            |(fields, framing, case_mask, body, chunks, trailers, eol)| Message {
                fields,
                framing,
                case_mask,
                body,
                chunks,
                trailers,
                eol,
            },
        )
}

fn flip_case(name: &str, mask: u32) -> String {
    name.chars()
        .enumerate()
        .map(|(i, c)| {
            if mask >> (i % 32) & 1 == 1 {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect()
}

impl Message {
    fn cl_fields(&self, cl: &Cl, out: &mut Vec<(String, String)>) {
        let n = (self.body.len() as i64 + i64::from(cl.delta)).max(0);
        let value = format!("{}{}{n}{}", cl.left, "0".repeat(cl.zeros), cl.right);
        let name = flip_case("content-length", self.case_mask);
        match cl.style {
            1 => out.push((name, format!("+{n}"))),
            2 => out.push((name, format!("{n}, {n}"))),
            3 => {
                out.push((name.clone(), value.clone()));
                out.push((name, value));
            }
            _ => out.push((name, value)),
        }
    }

    /// The message with `start` as its first line.
    pub fn bytes(&self, start: &str) -> Vec<u8> {
        let mut fields = self.fields.clone();
        let te_name = flip_case("transfer-encoding", self.case_mask.rotate_left(7));
        let mut chunked = false;
        match &self.framing {
            Framing::None => {}
            Framing::Cl(cl) => self.cl_fields(cl, &mut fields),
            Framing::Te(te) => {
                fields.push((te_name, te.clone()));
                chunked = true;
            }
            Framing::Both { cl, te, cl_first } => {
                let mut both = Vec::new();
                self.cl_fields(cl, &mut both);
                let at = if *cl_first { both.len() } else { 0 };
                both.insert(at, (te_name, te.clone()));
                fields.extend(both);
                chunked = true;
            }
        }
        let eol = self.eol;
        let mut out = format!("{start}{eol}");
        for (name, value) in &fields {
            out.push_str(&format!("{name}: {value}{eol}"));
        }
        out.push_str(eol);
        let mut out = out.into_bytes();
        if !chunked {
            out.extend_from_slice(&self.body);
            return out;
        }
        let mut rest = &self.body[..];
        for (cut, zeros, ext) in &self.chunks {
            if rest.is_empty() {
                break;
            }
            let n = (usize::from(*cut) % rest.len()) + 1;
            let (chunk, tail) = rest.split_at(n);
            let ext = if *ext { ";a=b" } else { "" };
            let size = format!("{}{n:x}{ext}{eol}", "0".repeat(usize::from(*zeros)));
            out.extend_from_slice(size.as_bytes());
            out.extend_from_slice(chunk);
            out.extend_from_slice(eol.as_bytes());
            rest = tail;
        }
        // What is left of the body goes in one last chunk.
        if !rest.is_empty() {
            out.extend_from_slice(format!("{:x}{eol}", rest.len()).as_bytes());
            out.extend_from_slice(rest);
            out.extend_from_slice(eol.as_bytes());
        }
        out.extend_from_slice(format!("0{eol}").as_bytes());
        for t in &self.trailers {
            out.extend_from_slice(format!("{t}{eol}").as_bytes());
        }
        out.extend_from_slice(eol.as_bytes());
        out
    }
}
