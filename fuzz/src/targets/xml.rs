//! `xml`: the XML the Query services answer with (`protocol::query`'s
//! writer and envelopes). The emulator decodes no XML itself: what matters
//! is that its documents decode, so the oracle is the readers of its
//! clients: aws-smithy-xml (the AWS SDK for Rust's) and quick-xml. Any text
//! (names, tags, messages come from requests) must give a well-formed
//! document whose text reads back unchanged (but for the characters XML
//! 1.0 cannot carry, which the writer replaces with U+FFFD).

use aws_smithy_xml::decode::{try_data, Document};
use emulator::protocol::query::{self, QueryError, XmlWriter};
use proptest::prelude::*;

use super::string_from;
use crate::{check, Target};

pub const TARGET: Target = Target {
    name: "xml",
    about: "Query XML responses read back by the SDK's and quick-xml's readers",
    run,
};

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        string_from("<>&'\"; \r\n\t]]>a\u{85}\u{2028}é", 12),
        any::<String>(),
    ]
}

fn run(runner: &mut proptest::test_runner::TestRunner) -> Result<(), String> {
    check(runner, (text(), text()), |(a, b)| {
        let mut w = XmlWriter::new();
        w.element_ns("R", "urn:x", |w| {
            w.text("A", &a);
            w.string_members("B", [&b, &a]);
        });
        let doc = w.finish().map_err(|e| format!("write failed: {e}"))?;
        let doc = String::from_utf8(doc).map_err(|e| format!("not UTF-8: {e}"))?;
        let (a, b) = (readable(&a), readable(&b));
        let want = [a.as_str(), b.as_str(), a.as_str()];
        let sdk = sdk_texts(&doc).map_err(|e| format!("SDK reader: {e}\n{doc}"))?;
        if sdk != want {
            return Err(format!("SDK reader read {sdk:?}\n{doc}"));
        }
        let qx = quick_xml_texts(&doc).map_err(|e| format!("quick-xml: {e}\n{doc}"))?;
        if qx != want {
            return Err(format!("quick-xml read {qx:?}\n{doc}"));
        }
        error_document(&a)
    })
}

/// What a string reads back as: characters XML 1.0 cannot carry are
/// written as U+FFFD (the writer's documented choice); the rest unchanged.
fn readable(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\t' | '\n' | '\r' | ' '..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'.. => c,
            _ => '\u{FFFD}',
        })
        .collect()
}

/// The texts of `<A>` and `<B><member>`s, as the SDK reads them.
fn sdk_texts(doc: &str) -> Result<Vec<String>, String> {
    let mut doc = Document::new(doc);
    let mut root = doc.root_element().map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    while let Some(mut tag) = root.next_tag() {
        if tag.start_el().matches("A") {
            out.push(try_data(&mut tag).map_err(|e| e.to_string())?.into_owned());
        } else if tag.start_el().matches("B") {
            while let Some(mut member) = tag.next_tag() {
                out.push(
                    try_data(&mut member)
                        .map_err(|e| e.to_string())?
                        .into_owned(),
                );
            }
        }
    }
    Ok(out)
}

/// The same texts through quick-xml, checking that tags match.
fn quick_xml_texts(doc: &str) -> Result<Vec<String>, String> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(doc);
    reader.config_mut().check_end_names = true;
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    let mut depth = 0;
    loop {
        match reader.read_event().map_err(|e| e.to_string())? {
            Event::Start(_) => {
                depth += 1;
                current = Some(String::new());
            }
            Event::End(e) => {
                depth -= 1;
                let name = e.name();
                if let Some(text) = current.take() {
                    if name.as_ref() == b"A" || name.as_ref() == b"member" {
                        out.push(text);
                    }
                }
            }
            Event::Text(t) => {
                let text = t.unescape().map_err(|e| e.to_string())?;
                if let Some(c) = &mut current {
                    c.push_str(&text);
                } else if !text.trim().is_empty() {
                    return Err(format!("text outside elements: {text:?}"));
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if depth != 0 {
        return Err("unclosed elements".into());
    }
    Ok(out)
}

/// An error document carrying `message` reads back with its code and message.
fn error_document(message: &str) -> Result<(), String> {
    for api in [&query::ELBV2, &query::EC2] {
        let response = QueryError::sender("ValidationError", message).into_response(api, "req-1");
        let body = futures_body(response);
        let doc = String::from_utf8(body).map_err(|e| e.to_string())?;
        let mut document = Document::new(&doc);
        let mut root = document.root_element().map_err(|e| format!("{e}\n{doc}"))?;
        let mut messages = Vec::new();
        find_messages(&mut root, &mut messages).map_err(|e| format!("{e}\n{doc}"))?;
        if messages != [message] {
            return Err(format!("error message read as {messages:?}\n{doc}"));
        }
    }
    Ok(())
}

fn find_messages(
    el: &mut aws_smithy_xml::decode::ScopedDecoder<'_, '_>,
    out: &mut Vec<String>,
) -> Result<(), String> {
    while let Some(mut tag) = el.next_tag() {
        if tag.start_el().matches("Message") {
            out.push(try_data(&mut tag).map_err(|e| e.to_string())?.into_owned());
        } else {
            find_messages(&mut tag, out)?;
        }
    }
    Ok(())
}

/// The body of a response built from bytes (ready at once).
fn futures_body(response: axum::response::Response) -> Vec<u8> {
    use http_body_util::BodyExt;
    futures::executor::block_on(response.into_body().collect())
        .map(|c| c.to_bytes().to_vec())
        .unwrap_or_default()
}
