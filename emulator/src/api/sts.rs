//! STS actions (AWS Query protocol): GetCallerIdentity, AssumeRole,
//! GetSessionToken and GetAccessKeyInfo. Issued sessions live in the IAM state, so
//! GetCallerIdentity answers for the credentials AssumeRole returned.
//! Nothing is enforced: session policies and tags are validated and
//! otherwise ignored.

use axum::response::Response;
use time::OffsetDateTime;

use super::{Api, RequestContext};
use crate::domain::iam::sessions::{self, RoleCredentials};
use crate::domain::iam::{validate, IamError};
use crate::protocol::query::{self, Params, QueryError, XmlWriter, STS};

use crate::protocol::query::Output;
type Result<T, E = QueryError> = std::result::Result<T, E>;

/// Session policies are at most 2048 characters.
const SESSION_POLICY_MAX: usize = 2048;
/// Session tags per AssumeRole.
const SESSION_TAGS_MAX: usize = 50;
/// Managed session policies per AssumeRole.
const POLICY_ARNS_MAX: usize = 10;
/// ExternalId is 2-1224 characters.
const EXTERNAL_ID_MIN: usize = 2;
const EXTERNAL_ID_MAX: usize = 1224;
/// Access key ids are 16-128 characters.
const ACCESS_KEY_ID_MIN: usize = 16;
const ACCESS_KEY_ID_MAX: usize = 128;
/// SourceIdentity is 2-64 characters.
const SOURCE_IDENTITY_MIN: usize = 2;
const SOURCE_IDENTITY_MAX: usize = 64;
/// PackedPolicySize is a percentage of the limit; above it STS refuses.
const PACKED_POLICY_SIZE_MAX: usize = 100;
/// GetSessionToken's DurationSeconds: 900-129600 seconds, default 43200.
const SESSION_TOKEN_DURATION_MIN: i64 = 900;
const SESSION_TOKEN_DURATION_MAX: i64 = 129_600;
const SESSION_TOKEN_DURATION_DEFAULT: i64 = 43_200;
/// AWS packs session policies and tags into a compressed binary whose size
/// it reports as a percentage of its limit; the emulator reports the plain
/// size as a share of this many bytes, which is close for small inputs.
const PACKED_POLICY_BUDGET: usize = 2048;
/// AssumeRole members that are validated where the model says how, and
/// otherwise change nothing: the emulator enforces no permissions.
const IGNORED_ASSUME_ROLE_FIELDS: [&str; 8] = [
    "Policy",
    "PolicyArns",
    "Tags",
    "TransitiveTagKeys",
    "ExternalId",
    "SerialNumber",
    "TokenCode",
    "ProvidedContexts",
];
/// GetSessionToken members that change nothing here (no MFA is checked).
const IGNORED_SESSION_TOKEN_FIELDS: [&str; 2] = ["SerialNumber", "TokenCode"];

/// The one place where domain errors become STS Query errors.
fn to_query(e: IamError) -> QueryError {
    let status = http::StatusCode::from_u16(e.status()).unwrap_or(http::StatusCode::BAD_REQUEST);
    QueryError::with_status(status, e.code(), e.to_string())
}

/// Handles one STS request; `body` is the form-encoded Query body.
pub async fn handle(api: &Api, ctx: &RequestContext, body: &[u8]) -> Response {
    query::serve(&STS, &ctx.request_id, body, |action, params| {
        let now = OffsetDateTime::now_utc();
        match action {
            "GetCallerIdentity" => get_caller_identity(api, ctx, now),
            "AssumeRole" => assume_role(api, params, now),
            "GetSessionToken" => get_session_token(api, params, now),
            "GetAccessKeyInfo" => get_access_key_info(api, params),
            other => Err(query::invalid_action(other)),
        }
    })
}

fn get_caller_identity(api: &Api, ctx: &RequestContext, now: OffsetDateTime) -> Result<Output> {
    let account = api.account_id().to_string();
    let (arn, user_id) = api
        .store
        .read(|s| {
            s.iam
                .caller_identity(&account, ctx.access_key.as_deref(), now)
        })
        .map_err(to_query)?;
    Ok(Box::new(move |w| {
        w.text("UserId", user_id)
            .text("Account", account)
            .text("Arn", arn);
    }))
}

fn credentials(
    w: &mut XmlWriter,
    key: &str,
    secret: &str,
    token: &str,
    expiration: OffsetDateTime,
) {
    w.element("Credentials", |w| {
        w.text("AccessKeyId", key)
            .text("SecretAccessKey", secret)
            .text("SessionToken", token)
            .timestamp("Expiration", expiration);
    });
}

/// The session policy, tags and policy ARNs of an AssumeRole, checked;
/// returns their packed size in percent when any is given.
fn session_policies(p: &Params) -> Result<Option<usize>> {
    let mut packed = 0;
    let policy = p.get("Policy");
    if let Some(policy) = policy {
        validate::length("policy", policy, 1, SESSION_POLICY_MAX).map_err(to_query)?;
        validate::policy_document("policy", policy).map_err(to_query)?;
        packed += policy.len();
    }
    let tags = p.key_values("Tags")?;
    if tags.len() > SESSION_TAGS_MAX {
        return Err(to_query(IamError::constraint(
            "tags",
            tags.len(),
            &format!("Member must have length less than or equal to {SESSION_TAGS_MAX}"),
        )));
    }
    validate::tags(&tags).map_err(to_query)?;
    packed += tags.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>();
    let arns = p.structures("PolicyArns")?;
    if arns.len() > POLICY_ARNS_MAX {
        return Err(to_query(IamError::constraint(
            "policyArns",
            arns.len(),
            &format!("Member must have length less than or equal to {POLICY_ARNS_MAX}"),
        )));
    }
    for arn in &arns {
        validate::length(
            "policyArns.member.arn",
            arn.required("arn")?,
            validate::ARN_MIN,
            validate::ARN_MAX,
        )
        .map_err(to_query)?;
    }
    let given = policy.is_some() || !tags.is_empty() || !arns.is_empty();
    let percent = (packed * 100).div_ceil(PACKED_POLICY_BUDGET);
    if percent > PACKED_POLICY_SIZE_MAX {
        return Err(to_query(IamError::PackedPolicyTooLarge(format!(
            "Packed size of consolidated session policies and session tags is {percent}% of the allowed limit."
        ))));
    }
    Ok(given.then_some(percent))
}

fn assume_role(api: &Api, p: &Params, now: OffsetDateTime) -> Result<Output> {
    let role_arn = p.required("RoleArn")?;
    let session_name = p.required("RoleSessionName")?;
    let duration = p
        .integer::<i64>("DurationSeconds")?
        .unwrap_or(sessions::ASSUME_ROLE_DURATION_DEFAULT);
    if let Some(id) = p.get("ExternalId") {
        validate::length("externalId", id, EXTERNAL_ID_MIN, EXTERNAL_ID_MAX).map_err(to_query)?;
    }
    let packed = session_policies(p)?;
    let source_identity = p.get("SourceIdentity").map(String::from);
    if let Some(id) = &source_identity {
        validate::length(
            "sourceIdentity",
            id,
            SOURCE_IDENTITY_MIN,
            SOURCE_IDENTITY_MAX,
        )
        .map_err(to_query)?;
        validate::name("sourceIdentity", id, SOURCE_IDENTITY_MAX).map_err(to_query)?;
    }
    let account = api.account_id().to_string();
    let credentials: RoleCredentials = api
        .store
        .write(|s| {
            s.iam
                .issue_role_credentials(&account, role_arn, session_name, now, duration)
        })
        .map_err(to_query)?;
    log_ignored(p, "AssumeRole", &IGNORED_ASSUME_ROLE_FIELDS);
    Ok(Box::new(move |w| {
        let c = &credentials;
        credentials_xml(w, c);
        w.element("AssumedRoleUser", |w| {
            w.text("AssumedRoleId", &c.assumed_role_id)
                .text("Arn", &c.assumed_role_arn);
        });
        w.opt_text("PackedPolicySize", packed)
            .opt_text("SourceIdentity", source_identity.as_deref());
    }))
}

/// Logs once each of `fields` that the request carries (nothing is enforced).
fn log_ignored(p: &Params, action: &str, fields: &[&str]) {
    for field in fields.iter().filter(|f| p.has(f)) {
        super::ignored_once(&format!("STS {action} {field}"));
    }
}

fn credentials_xml(w: &mut XmlWriter, c: &RoleCredentials) {
    credentials(
        w,
        &c.access_key_id,
        &c.secret_access_key,
        &c.session_token,
        c.expiration,
    );
}

fn get_session_token(api: &Api, p: &Params, now: OffsetDateTime) -> Result<Output> {
    let duration = p
        .integer::<i64>("DurationSeconds")?
        .unwrap_or(SESSION_TOKEN_DURATION_DEFAULT);
    validate::range(
        "durationSeconds",
        duration,
        SESSION_TOKEN_DURATION_MIN,
        SESSION_TOKEN_DURATION_MAX,
    )
    .map_err(to_query)?;
    log_ignored(p, "GetSessionToken", &IGNORED_SESSION_TOKEN_FIELDS);
    let (key, secret, token, expiration) = api
        .store
        .write(|s| s.iam.issue_session_token(now, duration));
    Ok(Box::new(move |w| {
        credentials(w, &key, &secret, &token, expiration)
    }))
}

fn get_access_key_info(api: &Api, p: &Params) -> Result<Output> {
    let key = p.required("AccessKeyId")?;
    validate::length("accessKeyId", key, ACCESS_KEY_ID_MIN, ACCESS_KEY_ID_MAX).map_err(to_query)?;
    let account = api
        .store
        .read(|s| s.iam.access_key_account(api.account_id(), key));
    Ok(Box::new(move |w| {
        w.text("Account", account);
    }))
}
