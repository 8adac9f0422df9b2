//! AWS JSON 1.1 (ECS, Application Auto Scaling, CloudWatch Logs).
//!
//! Errors follow smithy's awsJson1_1 protocol: HTTP 400 (500 for server
//! faults) and a body `{"__type": "ShapeName", "message": "..."}`.

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;

pub const CONTENT_TYPE: &str = "application/x-amz-json-1.1";

/// An error in the awsJson1_1 shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct JsonError {
    pub code: String,
    pub message: String,
    pub status: StatusCode,
    /// Members of the error shape beyond the message (e.g. Cloud Map's
    /// `ServiceAlreadyExists` carries `ServiceId`).
    pub members: serde_json::Map<String, serde_json::Value>,
}

impl JsonError {
    /// A client error (HTTP 400), the status of every modelled ECS error but one.
    pub fn client(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
            status: StatusCode::BAD_REQUEST,
            members: serde_json::Map::new(),
        }
    }

    /// A server fault (HTTP 500), e.g. ECS `ServerException` when Docker fails.
    pub fn server(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
            status: StatusCode::INTERNAL_SERVER_ERROR,
            members: serde_json::Map::new(),
        }
    }

    /// The operation is not implemented by this emulator.
    pub fn unknown_operation(operation: &str) -> Self {
        Self::client(
            "UnknownOperationException",
            format!("Operation {operation} is not supported by this emulator"),
        )
    }

    /// Adds a member of the error shape, if it has a value.
    pub fn with_member(mut self, name: &str, value: Option<&str>) -> Self {
        if let Some(value) = value {
            self.members.insert(name.into(), value.into());
        }
        self
    }

    pub fn into_response_with_id(self, request_id: &str) -> Response {
        let mut body = serde_json::json!({ "__type": self.code, "message": self.message });
        body.as_object_mut()
            .expect("an object")
            .extend(self.members);
        let mut response = (self.status, body.to_string()).into_response();
        set_headers(&mut response, request_id, Some(&self.code));
        response
    }
}

/// Decodes a request body. An empty body is `{}`, as the SDKs may send for
/// operations without input. Syntax errors are `SerializationException`;
/// missing or mistyped members use the service's own validation error code.
pub fn decode<T: DeserializeOwned>(body: &[u8], validation_code: &str) -> Result<T, JsonError> {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        &b"{}"[..]
    } else {
        body
    };
    serde_json::from_slice(body).map_err(|e| {
        use serde_json::error::Category;
        let malformed = |e: serde_json::Error| {
            JsonError::client("SerializationException", format!("Malformed JSON: {e}"))
        };
        match e.classify() {
            // A shape error can come before a syntax error later in the
            // body (`0-`): AWS reads the whole document first. (A `Value`,
            // not `IgnoredAny`, which lets invalid UTF-8 in strings pass.)
            Category::Data => match serde_json::from_slice::<serde_json::Value>(body) {
                Err(syntax) if syntax.classify() != Category::Data => malformed(syntax),
                _ => JsonError::client(validation_code, e.to_string()),
            },
            Category::Syntax | Category::Eof | Category::Io => malformed(e),
        }
    })
}

/// The response to a JSON 1.1 action: the outer error is a decoding or
/// dispatch failure, the inner result the action's own outcome.
pub fn respond<T: Serialize, E: Into<JsonError>>(
    result: Result<Result<T, E>, JsonError>,
    request_id: &str,
) -> Response {
    match result {
        Ok(Ok(output)) => ok(&output, request_id),
        Ok(Err(e)) => e.into().into_response_with_id(request_id),
        Err(e) => e.into_response_with_id(request_id),
    }
}

/// A 200 response with a JSON body.
pub fn ok<T: Serialize>(output: &T, request_id: &str) -> Response {
    match serde_json::to_string(output) {
        Ok(body) => {
            let mut response = (StatusCode::OK, body).into_response();
            set_headers(&mut response, request_id, None);
            response
        }
        Err(e) => JsonError::server("ServerException", format!("cannot encode response: {e}"))
            .into_response_with_id(request_id),
    }
}

fn set_headers(response: &mut Response, request_id: &str, error_type: Option<&str>) {
    super::set_common_headers(response, CONTENT_TYPE, request_id);
    if let Some(code) = error_type.and_then(|c| HeaderValue::from_str(c).ok()) {
        response.headers_mut().insert("x-amzn-errortype", code);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    struct Input {
        #[allow(dead_code)]
        family: String,
    }

    #[test]
    fn empty_body_is_an_empty_object() {
        let v: serde_json::Value = decode(b"", "X").unwrap();
        assert_eq!(v, serde_json::json!({}));
    }

    #[test]
    fn syntax_and_data_errors_get_different_codes() {
        let e = decode::<Input>(b"{not json", "InvalidParameterException").unwrap_err();
        assert_eq!(e.code, "SerializationException");
        let e = decode::<Input>(b"{\"family\": 3}", "InvalidParameterException").unwrap_err();
        assert_eq!(e.code, "InvalidParameterException");
        // Found by `cargo xtask fuzz --target json`: the wrong type comes
        // first, the syntax error after it.
        for body in [
            &b"0-"[..],
            b"{\"family\": 3,}",
            b"[1] x",
            b"{\"family\": 3, \"\x80\": 1}",
        ] {
            let e = decode::<Input>(body, "InvalidParameterException").unwrap_err();
            assert_eq!(e.code, "SerializationException", "{body:?}");
        }
        let e = decode::<Input>(b"{}", "InvalidParameterException").unwrap_err();
        assert_eq!(e.code, "InvalidParameterException");
        assert!(e.message.contains("family"));
    }
}
