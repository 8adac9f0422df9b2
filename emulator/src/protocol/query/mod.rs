//! AWS Query protocols: form-encoded requests, XML responses. Two styles:
//!
//! - awsQuery (ELBv2, IAM, STS): `<OpResponse><OpResult>…</OpResult>
//!   <ResponseMetadata>`, errors in `<ErrorResponse>`, lists as
//!   `Name.member.N`. Source: smithy `aws-query-protocol.rst`. aws-sdk-rust
//!   requires `<OpResult>` to be the first child of `<OpResponse>`, even when
//!   the operation returns nothing, so [`respond`] always writes it.
//! - ec2Query (EC2): `<OpResponse><requestId>…</requestId>members…`, errors
//!   in `<Response><Errors><Error>`, lists as `Name.N` in requests and
//!   `<nameSet><item>` in responses. Source: smithy `ec2-query-protocol.rst`.
//!
//! # Layout
//! - this file: the request decoder, the XML writer and the error shapes.
//! - `tests`: the unit tests.

use std::collections::BTreeMap;
use std::fmt::Display;
use std::io;

use axum::response::{IntoResponse, Response};
use http::StatusCode;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::Writer;
use time::OffsetDateTime;

/// How a Query service wraps its responses and errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XmlStyle {
    /// awsQuery: `<OpResult>` inside `<OpResponse>`, `<ErrorResponse>`.
    Query,
    /// ec2Query: members straight inside `<OpResponse>`, `<Response><Errors>`.
    Ec2,
}

/// One Query service: what its requests carry and how its XML looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryApi {
    /// The service's name in messages.
    pub name: &'static str,
    /// The `Version` form field its requests carry (the model's `apiVersion`).
    pub version: &'static str,
    /// The model's `xmlNamespace`; empty for a service this emulator does
    /// not know.
    pub xmlns: &'static str,
    pub style: XmlStyle,
}

impl QueryApi {
    /// An awsQuery service.
    const fn query(name: &'static str, version: &'static str, xmlns: &'static str) -> Self {
        QueryApi {
            name,
            version,
            xmlns,
            style: XmlStyle::Query,
        }
    }
}

/// Elastic Load Balancing v2.
pub const ELBV2: QueryApi = QueryApi::query(
    "Elastic Load Balancing v2",
    "2015-12-01",
    "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/",
);

/// EC2 (ec2Query).
pub const EC2: QueryApi = QueryApi {
    style: XmlStyle::Ec2,
    ..QueryApi::query(
        "EC2",
        "2016-11-15",
        "http://ec2.amazonaws.com/doc/2016-11-15/",
    )
};

/// IAM.
pub const IAM: QueryApi = QueryApi::query(
    "IAM",
    "2010-05-08",
    "https://iam.amazonaws.com/doc/2010-05-08/",
);

/// STS.
pub const STS: QueryApi = QueryApi::query(
    "STS",
    "2011-06-15",
    "https://sts.amazonaws.com/doc/2011-06-15/",
);

/// A Query service the emulator does not serve: errors only, no namespace.
pub const UNSERVED: QueryApi = QueryApi::query("unknown", "", "");

/// Every Query service the emulator serves, for telling them apart by `Version`.
pub const SERVED: [QueryApi; 4] = [ELBV2, EC2, IAM, STS];

/// Query responses are `text/xml` (botocore and the SDKs accept any XML type).
pub const CONTENT_TYPE: &str = "text/xml";

/// An error in the Query `<ErrorResponse>` shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct QueryError {
    pub code: String,
    pub message: String,
    pub status: StatusCode,
}

impl QueryError {
    /// A client error: HTTP 400, `<Type>Sender</Type>`.
    pub fn sender(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::with_status(StatusCode::BAD_REQUEST, code, message)
    }

    /// A server fault: HTTP 500, `<Type>Receiver</Type>`.
    pub fn receiver(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::with_status(StatusCode::INTERNAL_SERVER_ERROR, code, message)
    }

    /// An error with the status the service model gives it (e.g. 429 for
    /// `PriorRequestNotComplete`). 5xx statuses are `Receiver` faults.
    pub fn with_status(
        status: StatusCode,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
            status,
        }
    }

    /// The generic Query `ValidationError` for a constraint violation.
    pub fn validation(message: impl Into<String>) -> Self {
        Self::sender("ValidationError", message)
    }

    /// A required parameter is absent. The message follows the AWS wording,
    /// which names the member in lower camel case.
    pub fn missing(name: &str) -> Self {
        Self::validation(format!(
            "1 validation error detected: Value null at '{}' failed to satisfy constraint: Member must not be null",
            lower_camel(name)
        ))
    }

    /// `Sender` for 4xx, `Receiver` for 5xx.
    pub fn fault_type(&self) -> &'static str {
        if self.status.is_server_error() {
            "Receiver"
        } else {
            "Sender"
        }
    }

    /// The XML error document of `api`'s style for this error.
    pub fn into_response(self, api: &QueryApi, request_id: &str) -> Response {
        let mut w = XmlWriter::new();
        match api.style {
            XmlStyle::Query => {
                w.element_ns("ErrorResponse", api.xmlns, |w| {
                    w.element("Error", |w| {
                        w.text("Type", self.fault_type())
                            .text("Code", &self.code)
                            .text("Message", &self.message);
                    });
                    w.text("RequestId", request_id);
                });
            }
            XmlStyle::Ec2 => {
                w.element("Response", |w| {
                    w.element("Errors", |w| {
                        w.element("Error", |w| {
                            w.text("Code", &self.code).text("Message", &self.message);
                        });
                    });
                    w.text("RequestID", request_id);
                });
            }
        }
        match w.finish() {
            Ok(body) => xml_response(self.status, body, request_id),
            // Writing to a Vec cannot fail; keep a plain fallback anyway.
            Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
        }
    }
}

/// The `Action` and `Version` envelope of a request to `api`, checked.
pub fn action<'p>(api: &QueryApi, params: &'p Params) -> Result<&'p str, QueryError> {
    let action = params
        .get("Action")
        .filter(|a| !a.is_empty())
        .ok_or_else(|| {
            QueryError::sender(
                "MissingAction",
                "The request must contain the parameter Action",
            )
        })?;
    match params.get("Version") {
        Some(v) if v == api.version => Ok(action),
        Some("2012-06-01") if *api == ELBV2 => Err(QueryError::sender(
            "InvalidParameterValue",
            format!(
                "Version '2012-06-01' is not supported: this endpoint serves Elastic Load Balancing v2 (Version {}); Classic Load Balancers (2012-06-01) are not emulated",
                api.version
            ),
        )),
        Some(other) => Err(QueryError::sender(
            "InvalidParameterValue",
            format!(
                "Version '{other}' is not supported: this endpoint serves {} Version {}",
                api.name, api.version
            ),
        )),
        None => Err(QueryError::sender(
            "MissingParameter",
            "The request must contain the parameter Version",
        )),
    }
}

/// A decoded Query request body: flat `key=value` pairs, with helpers for
/// the `.member.N` list encoding and nested structure keys.
///
/// ```text
/// Names.member.1=a&Names.member.2=b
/// Targets.member.1.Id=10.0.1.5&Targets.member.1.Port=8080
/// Conditions.member.1.PathPatternConfig.Values.member.1=/api/*
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params {
    /// The keys relative to this structure.
    map: BTreeMap<String, String>,
    /// The full key prefix of this structure, for error messages.
    path: String,
}

impl Params {
    /// Decodes an `application/x-www-form-urlencoded` body.
    pub fn parse(body: &[u8]) -> Result<Self, QueryError> {
        if std::str::from_utf8(body).is_err() {
            return Err(QueryError::sender(
                "MalformedQueryString",
                "The request body is not valid UTF-8 form data",
            ));
        }
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).map_err(|e| {
            QueryError::sender(
                "MalformedQueryString",
                format!("Cannot decode the form body: {e}"),
            )
        })?;
        let mut map = BTreeMap::new();
        for (key, value) in pairs {
            if key.is_empty() {
                continue;
            }
            if map.insert(key.clone(), value).is_some() {
                return Err(QueryError::sender(
                    "MalformedQueryString",
                    format!("Parameter '{key}' is given more than once"),
                ));
            }
        }
        Ok(Self {
            map,
            path: String::new(),
        })
    }

    /// A scalar member.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.map.get(name).map(String::as_str)
    }

    /// A scalar member that must be present.
    pub fn required(&self, name: &str) -> Result<&str, QueryError> {
        self.get(name)
            .ok_or_else(|| QueryError::missing(&self.full(name)))
    }

    /// An optional integer member.
    pub fn integer<T: std::str::FromStr>(&self, name: &str) -> Result<Option<T>, QueryError> {
        self.get(name)
            .map(|v| {
                v.trim().parse().map_err(|_| {
                    QueryError::validation(format!(
                        "Value '{v}' at '{}' is not a valid integer",
                        lower_camel(&self.full(name))
                    ))
                })
            })
            .transpose()
    }

    /// An optional boolean member (`true` / `false`, as botocore sends them).
    pub fn boolean(&self, name: &str) -> Result<Option<bool>, QueryError> {
        self.get(name)
            .map(|v| match v.to_ascii_lowercase().as_str() {
                "true" => Ok(true),
                "false" => Ok(false),
                _ => Err(QueryError::validation(format!(
                    "Value '{v}' at '{}' is not a valid boolean",
                    lower_camel(&self.full(name))
                ))),
            })
            .transpose()
    }

    /// Whether any key of the nested structure `name` is present.
    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some() || self.structure(name).is_some()
    }

    /// A nested structure `name.*`, or `None` when no key of it is present.
    pub fn structure(&self, name: &str) -> Option<Params> {
        let prefix = format!("{name}.");
        let map: BTreeMap<String, String> = self
            .map
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .map(|(k, v)| (k[prefix.len()..].to_string(), v.clone()))
            .collect();
        (!map.is_empty()).then(|| Params {
            map,
            path: self.full(name),
        })
    }

    /// A list of scalars `name.member.N`, ordered by N (1-based).
    pub fn list(&self, name: &str) -> Result<Vec<&str>, QueryError> {
        self.indexed_list(name, ".member.")
    }

    fn indexed_list(&self, name: &str, infix: &str) -> Result<Vec<&str>, QueryError> {
        let mut items = Vec::new();
        for (key, value) in self.indexed(name, infix) {
            let (index, rest) = self.index_after(name, infix, key)?;
            if !rest.is_empty() {
                return Err(self.malformed_member(name, key));
            }
            items.push((index, value.as_str()));
        }
        items.sort_by_key(|(i, _)| *i);
        Ok(items.into_iter().map(|(_, v)| v).collect())
    }

    /// A list of structures `name.member.N.*`, ordered by N (1-based).
    pub fn structures(&self, name: &str) -> Result<Vec<Params>, QueryError> {
        self.indexed_structures(name, ".member.")
    }

    fn indexed_structures(&self, name: &str, infix: &str) -> Result<Vec<Params>, QueryError> {
        let mut items: BTreeMap<u32, BTreeMap<String, String>> = BTreeMap::new();
        for (key, value) in self.indexed(name, infix) {
            let (index, rest) = self.index_after(name, infix, key)?;
            let Some(field) = rest.strip_prefix('.').filter(|f| !f.is_empty()) else {
                return Err(self.malformed_member(name, key));
            };
            items
                .entry(index)
                .or_default()
                .insert(field.to_string(), value.clone());
        }
        Ok(items
            .into_iter()
            .map(|(i, map)| Params {
                map,
                path: format!("{}{infix}{i}", self.full(name)),
            })
            .collect())
    }

    /// An ec2Query list of scalars `name.N`, ordered by N (1-based).
    pub fn flat_list(&self, name: &str) -> Result<Vec<&str>, QueryError> {
        self.indexed_list(name, ".")
    }

    /// An ec2Query list of structures `name.N.*`, ordered by N (1-based).
    pub fn flat_structures(&self, name: &str) -> Result<Vec<Params>, QueryError> {
        self.indexed_structures(name, ".")
    }

    /// `Key`/`Value` structures (`Attributes.member.N.Key`, `Tags.member.N.Key`).
    /// A missing `Value` is the empty string, as for tags without a value.
    pub fn key_values(&self, name: &str) -> Result<Vec<(String, String)>, QueryError> {
        self.structures(name)?
            .into_iter()
            .map(|s| {
                let key = s.required("Key")?.to_string();
                Ok((key, s.get("Value").unwrap_or_default().to_string()))
            })
            .collect()
    }

    /// The keys under `name<infix>` (`.member.` or, for ec2Query, `.`).
    fn indexed<'a>(
        &'a self,
        name: &str,
        infix: &str,
    ) -> impl Iterator<Item = (&'a String, &'a String)> + 'a {
        let prefix = format!("{name}{infix}");
        self.map
            .range(prefix.clone()..)
            .take_while(move |(k, _)| k.starts_with(&prefix))
    }

    /// Splits `name<infix>N<rest>` into `N` and `<rest>`.
    fn index_after<'k>(
        &self,
        name: &str,
        infix: &str,
        key: &'k str,
    ) -> Result<(u32, &'k str), QueryError> {
        let after = &key[name.len() + infix.len()..];
        let digits = after.find('.').map_or(after, |dot| &after[..dot]);
        // One spelling per index, as the SDKs write it: `01` beside `1` would
        // name one member twice, and one of the two would be lost.
        let canonical = !digits.starts_with(['+', '0']);
        match digits.parse::<u32>() {
            Ok(n) if n >= 1 && canonical => Ok((n, &after[digits.len()..])),
            _ => Err(self.malformed_member(name, key)),
        }
    }

    fn malformed_member(&self, name: &str, key: &str) -> QueryError {
        QueryError::sender(
            "MalformedQueryString",
            format!(
                "Parameter '{}' is not a valid member of list '{}': list members are encoded as {name}.member.N (ec2Query: {name}.N) with N starting at 1, without leading zeros",
                self.full(key),
                self.full(name)
            ),
        )
    }

    /// The full key of a member, for messages.
    fn full(&self, name: &str) -> String {
        if self.path.is_empty() {
            name.to_string()
        } else {
            format!("{}.{name}", self.path)
        }
    }
}

/// `Targets.member.1.Id` → `targets.member.1.id`, the way AWS names members
/// in validation messages.
fn lower_camel(path: &str) -> String {
    path.split('.')
        .map(|part| {
            let mut chars = part.chars();
            match chars.next() {
                Some(first) => first.to_lowercase().chain(chars).collect(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// Text content, escaped. Beyond quick-xml's escaping: a CR is written as
/// `&#xD;` (as AWS does; a raw one would read back as LF), and characters
/// XML 1.0 cannot carry at all (most C0 controls, U+FFFE, U+FFFF) become
/// U+FFFD, since a client's XML reader rejects the whole document for one.
fn xml_text(value: &str) -> BytesText<'_> {
    let plain = |c: char| matches!(c, '\t' | '\n' | ' '..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..);
    let escaped = quick_xml::escape::escape(value);
    if escaped.chars().all(plain) {
        return BytesText::from_escaped(escaped);
    }
    let mut out = String::with_capacity(escaped.len() + 8);
    for c in escaped.chars() {
        match c {
            '\r' => out.push_str("&#xD;"),
            c if plain(c) => out.push(c),
            _ => out.push('\u{FFFD}'),
        }
    }
    BytesText::from_escaped(out)
}

/// A small XML writer over quick-xml for the Query response shapes. Text is
/// escaped by quick-xml; the first write error is kept and reported by
/// [`XmlWriter::finish`], so callers can chain without `?` at every step.
pub struct XmlWriter {
    inner: Writer<Vec<u8>>,
    error: Option<io::Error>,
}

impl Default for XmlWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl XmlWriter {
    pub fn new() -> Self {
        let mut w = Self {
            inner: Writer::new(Vec::new()),
            error: None,
        };
        w.event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)));
        w
    }

    /// `<name>value</name>`.
    pub fn text(&mut self, name: &str, value: impl Display) -> &mut Self {
        let value = value.to_string();
        self.event(Event::Start(BytesStart::new(name)));
        self.event(Event::Text(xml_text(&value)));
        self.event(Event::End(BytesEnd::new(name)));
        self
    }

    /// `<name>value</name>` when `value` is set; nothing otherwise.
    pub fn opt_text(&mut self, name: &str, value: Option<impl Display>) -> &mut Self {
        if let Some(value) = value {
            self.text(name, value);
        }
        self
    }

    /// A timestamp as AWS Query writes it: ISO-8601 UTC with milliseconds,
    /// e.g. `2016-03-25T21:26:12.920Z`.
    pub fn timestamp(&mut self, name: &str, t: OffsetDateTime) -> &mut Self {
        self.text(name, iso8601_millis(t))
    }

    /// `<name>…</name>` with `body` as content.
    pub fn element(&mut self, name: &str, body: impl FnOnce(&mut Self)) -> &mut Self {
        self.element_ns(name, "", body)
    }

    /// `<name xmlns="ns">…</name>` (no attribute when `ns` is empty).
    pub fn element_ns(&mut self, name: &str, ns: &str, body: impl FnOnce(&mut Self)) -> &mut Self {
        let mut start = BytesStart::new(name);
        if !ns.is_empty() {
            start.push_attribute(("xmlns", ns));
        }
        self.event(Event::Start(start));
        body(self);
        self.event(Event::End(BytesEnd::new(name)));
        self
    }

    /// `<name><member>…</member>…</name>`: a Query list.
    pub fn members<T>(
        &mut self,
        name: &str,
        items: impl IntoIterator<Item = T>,
        each: impl FnMut(&mut Self, T),
    ) -> &mut Self {
        self.list(name, "member", items, each)
    }

    /// `<name><item>…</item>…</name>`: an ec2Query list.
    pub fn items<T>(
        &mut self,
        name: &str,
        items: impl IntoIterator<Item = T>,
        each: impl FnMut(&mut Self, T),
    ) -> &mut Self {
        self.list(name, "item", items, each)
    }

    /// `<name><tag>…</tag>…</name>`, one `tag` element an item.
    fn list<T>(
        &mut self,
        name: &str,
        tag: &str,
        items: impl IntoIterator<Item = T>,
        mut each: impl FnMut(&mut Self, T),
    ) -> &mut Self {
        self.element(name, |w| {
            for item in items {
                w.element(tag, |w| each(w, item));
            }
        })
    }

    /// A list of strings, `<name><member>v</member>…</name>`.
    pub fn string_members<S: Display>(
        &mut self,
        name: &str,
        items: impl IntoIterator<Item = S>,
    ) -> &mut Self {
        self.members(name, items, |w, s| {
            w.event(Event::Text(xml_text(&s.to_string())));
        })
    }

    /// The document, or the first write error.
    pub fn finish(self) -> io::Result<Vec<u8>> {
        match self.error {
            Some(e) => Err(e),
            None => Ok(self.inner.into_inner()),
        }
    }

    fn event(&mut self, event: Event<'_>) {
        if self.error.is_none() {
            if let Err(e) = self.inner.write_event(event) {
                self.error = Some(e);
            }
        }
    }
}

/// A 200 response of `api`'s style: `<OpResponse><OpResult>…</OpResult>
/// <ResponseMetadata>…` (awsQuery) or `<OpResponse><requestId>…</requestId>…`
/// (ec2Query). `result` writes the result's members; it may write nothing.
pub fn respond(
    api: &QueryApi,
    operation: &str,
    request_id: &str,
    result: impl FnOnce(&mut XmlWriter),
) -> Response {
    let mut w = XmlWriter::new();
    w.element_ns(&format!("{operation}Response"), api.xmlns, |w| {
        match api.style {
            XmlStyle::Query => {
                w.element(&format!("{operation}Result"), result);
                w.element("ResponseMetadata", |w| {
                    w.text("RequestId", request_id);
                });
            }
            XmlStyle::Ec2 => {
                w.text("requestId", request_id);
                result(w);
            }
        }
    });
    match w.finish() {
        Ok(body) => xml_response(StatusCode::OK, body, request_id),
        Err(e) => QueryError::receiver(
            "InternalFailure",
            format!("cannot encode the response: {e}"),
        )
        .into_response(api, request_id),
    }
}

/// What a Query handler returns: the members of its result.
pub type Output = Box<dyn FnOnce(&mut XmlWriter) + Send>;

/// Serves one request to `api`: parses the form, checks `Action` and
/// `Version`, runs `dispatch(action, params)`, and answers its result or
/// error in `api`'s XML style. Refusals are logged at debug level.
pub fn serve(
    api: &QueryApi,
    request_id: &str,
    body: &[u8],
    dispatch: impl FnOnce(&str, &Params) -> Result<Output, QueryError>,
) -> Response {
    let params = match Params::parse(body) {
        Ok(p) => p,
        Err(e) => return e.into_response(api, request_id),
    };
    let action = match action(api, &params) {
        Ok(a) => a.to_string(),
        Err(e) => return e.into_response(api, request_id),
    };
    match dispatch(&action, &params) {
        Ok(output) => respond(api, &action, request_id, output),
        Err(e) => {
            tracing::debug!(service = api.name, %action, code = %e.code, message = %e.message, "request refused");
            e.into_response(api, request_id)
        }
    }
}

/// The error for an `Action` the service does not have (or the emulator
/// does not implement).
pub fn invalid_action(action: &str) -> QueryError {
    QueryError::sender(
        "InvalidAction",
        format!("The action {action} is not valid for this web service (or not implemented by this emulator)"),
    )
}

/// ISO-8601 in UTC with exactly three fractional digits and `Z`.
pub fn iso8601_millis(t: OffsetDateTime) -> String {
    const MILLIS: &[time::format_description::FormatItem<'static>] = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    t.to_offset(time::UtcOffset::UTC)
        .format(MILLIS)
        .unwrap_or_default()
}

fn xml_response(status: StatusCode, body: Vec<u8>, request_id: &str) -> Response {
    let mut response = (status, body).into_response();
    super::set_common_headers(&mut response, CONTENT_TYPE, request_id);
    response
}

#[cfg(test)]
mod tests;
