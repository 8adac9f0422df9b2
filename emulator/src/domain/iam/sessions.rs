//! STS sessions: the temporary credentials `AssumeRole` and
//! `GetSessionToken` issue, kept so `GetCallerIdentity` can answer for them.

use crate::domain::persist::field;
use borsh::{BorshDeserialize, BorshSerialize};

use rand::distributions::{Alphanumeric, DistString};
use rand::Rng;
use time::{Duration, OffsetDateTime};

use super::{unique_id, validate, IamError, IamState, ROLE_ID_PREFIX};

/// Temporary access key ids start with this.
pub const TEMPORARY_KEY_PREFIX: &str = "ASIA";
/// Access key ids are 20 characters.
const ACCESS_KEY_LEN: usize = 20;
/// Secret access keys are 40 characters.
const SECRET_KEY_LEN: usize = 40;
/// Session tokens are long opaque strings; this length is typical.
const SESSION_TOKEN_LEN: usize = 356;
/// RoleSessionName is 2-64 characters of `[\w+=,.@-]`.
pub const SESSION_NAME_MIN: usize = 2;
pub const SESSION_NAME_MAX: usize = 64;
/// AssumeRole's DurationSeconds: 900-43200 seconds, default 3600.
pub const ASSUME_ROLE_DURATION_MIN: i64 = 900;
pub const ASSUME_ROLE_DURATION_MAX: i64 = 43200;
pub const ASSUME_ROLE_DURATION_DEFAULT: i64 = 3600;
/// How long a task role's credentials last. Fargate rotates them every few
/// hours; SDKs refresh them well before they expire.
pub const TASK_ROLE_DURATION: Duration = Duration::hours(6);

/// Who a session acts as.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum SessionKind {
    /// AssumeRole: the role's ARN and id, and the session name.
    Role {
        role_arn: String,
        role_id: String,
        session_name: String,
    },
    /// GetSessionToken: the account itself.
    Root,
}

/// One issued set of temporary credentials.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Session {
    pub kind: SessionKind,
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub expiration: OffsetDateTime,
}

/// Temporary credentials and who they act as.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct RoleCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub expiration: OffsetDateTime,
    /// `ROLE_ID:SESSION_NAME`.
    pub assumed_role_id: String,
    /// `arn:aws:sts::ACCOUNT:assumed-role/ROLE_NAME/SESSION_NAME`.
    pub assumed_role_arn: String,
}

/// The parts of a role ARN: account, path (`/.../`) and name.
pub fn parse_role_arn(arn: &str) -> Option<(&str, &str, &str)> {
    let rest = arn.strip_prefix("arn:aws:iam::")?;
    let (account, resource) = rest.split_once(':')?;
    let path_and_name = resource.strip_prefix("role")?;
    let slash = path_and_name.rfind('/')?;
    let (path, name) = (&path_and_name[..=slash], &path_and_name[slash + 1..]);
    let valid = !account.is_empty() && path.starts_with('/') && !name.is_empty();
    valid.then_some((account, path, name))
}

fn random_key(prefix: &str, len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut rng = rand::thread_rng();
    let rest: String = (prefix.len()..len)
        .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
        .collect();
    format!("{prefix}{rest}")
}

/// A new access key, secret and token.
fn new_keys() -> (String, String, String) {
    let mut rng = rand::thread_rng();
    (
        random_key(TEMPORARY_KEY_PREFIX, ACCESS_KEY_LEN),
        Alphanumeric.sample_string(&mut rng, SECRET_KEY_LEN),
        Alphanumeric.sample_string(&mut rng, SESSION_TOKEN_LEN),
    )
}

/// Validates a RoleSessionName.
pub fn session_name(name: &str) -> Result<(), IamError> {
    validate::length("roleSessionName", name, SESSION_NAME_MIN, SESSION_NAME_MAX)?;
    validate::name("roleSessionName", name, SESSION_NAME_MAX)
}

impl IamState {
    /// Issues temporary credentials for `role_arn` and remembers them.
    ///
    /// A role of `account` must exist (else `AccessDenied`, as STS answers)
    /// and `duration_seconds` must not exceed its MaxSessionDuration; roles
    /// of other accounts are accepted as they are (nothing is enforced).
    /// The session name must be 2-64 characters of `[\w+=,.@-]` and the
    /// duration 900-43200 seconds.
    pub fn issue_role_credentials(
        &mut self,
        account: &str,
        role_arn: &str,
        session_name: &str,
        now: OffsetDateTime,
        duration_seconds: i64,
    ) -> Result<RoleCredentials, IamError> {
        validate::length("roleArn", role_arn, validate::ARN_MIN, validate::ARN_MAX)?;
        self::session_name(session_name)?;
        validate::range(
            "durationSeconds",
            duration_seconds,
            ASSUME_ROLE_DURATION_MIN,
            ASSUME_ROLE_DURATION_MAX,
        )?;
        let Some((role_account, _, role_name)) = parse_role_arn(role_arn) else {
            return Err(IamError::Validation(format!(
                "{role_arn} is not a valid role ARN"
            )));
        };
        let (arn_account, role_id) = if role_account == account {
            let denied = || {
                IamError::AccessDenied(format!(
                    "User: arn:aws:iam::{account}:root is not authorized to perform: sts:AssumeRole on resource: {role_arn}"
                ))
            };
            let role = self.role_by_arn(role_arn).ok_or_else(denied)?;
            if duration_seconds > i64::from(role.max_session_duration) {
                return Err(IamError::Validation(
                    "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.".into(),
                ));
            }
            (account.to_string(), role.id.clone())
        } else {
            // A role the emulator cannot see: its id is made up.
            (role_account.to_string(), unique_id(ROLE_ID_PREFIX))
        };
        Ok(self.issue(
            &arn_account,
            role_id,
            role_name,
            session_name,
            now + Duration::seconds(duration_seconds),
        ))
    }

    /// Credentials for an ECS task's role, as the credentials endpoint of a
    /// Fargate task serves them: the session is named after the task id and
    /// lasts [`TASK_ROLE_DURATION`]. Unlike AssumeRole, a role that was never
    /// created in IAM is accepted (its id made up): task definitions often
    /// name roles that exist only in the real account.
    pub fn issue_task_role_credentials(
        &mut self,
        role_arn: &str,
        task_id: &str,
        now: OffsetDateTime,
    ) -> Result<RoleCredentials, IamError> {
        let Some((role_account, _, role_name)) = parse_role_arn(role_arn) else {
            return Err(IamError::Validation(format!(
                "{role_arn} is not a valid role ARN"
            )));
        };
        let role_id = self
            .role_by_arn(role_arn)
            .map(|r| r.id.clone())
            .unwrap_or_else(|| unique_id(ROLE_ID_PREFIX));
        Ok(self.issue(
            role_account,
            role_id,
            role_name,
            task_id,
            now + TASK_ROLE_DURATION,
        ))
    }

    /// New keys for `role_name`'s session, remembered for GetCallerIdentity.
    fn issue(
        &mut self,
        account: &str,
        role_id: String,
        role_name: &str,
        session_name: &str,
        expiration: OffsetDateTime,
    ) -> RoleCredentials {
        let (access_key_id, secret_access_key, session_token) = new_keys();
        let assumed_role_arn =
            format!("arn:aws:sts::{account}:assumed-role/{role_name}/{session_name}");
        self.sessions.insert(
            access_key_id.clone(),
            Session {
                kind: SessionKind::Role {
                    role_arn: assumed_role_arn.clone(),
                    role_id: role_id.clone(),
                    session_name: session_name.into(),
                },
                expiration,
            },
        );
        RoleCredentials {
            access_key_id,
            secret_access_key,
            session_token,
            expiration,
            assumed_role_id: format!("{role_id}:{session_name}"),
            assumed_role_arn,
        }
    }

    /// GetSessionToken: credentials for the account itself.
    pub fn issue_session_token(
        &mut self,
        now: OffsetDateTime,
        duration_seconds: i64,
    ) -> (String, String, String, OffsetDateTime) {
        let (access_key_id, secret, token) = new_keys();
        let expiration = now + Duration::seconds(duration_seconds);
        self.sessions.insert(
            access_key_id.clone(),
            Session {
                kind: SessionKind::Root,
                expiration,
            },
        );
        (access_key_id, secret, token, expiration)
    }

    /// GetAccessKeyInfo: the account an access key belongs to. Keys the
    /// emulator did not issue belong to `account`.
    pub fn access_key_account(&self, account: &str, access_key: &str) -> String {
        match self.sessions.get(access_key).map(|s| &s.kind) {
            Some(SessionKind::Role { role_arn, .. }) => {
                role_arn.split(':').nth(4).unwrap_or(account).to_string()
            }
            _ => account.to_string(),
        }
    }

    /// Who an access key acts as: `(arn, user id)` for `GetCallerIdentity`.
    /// Keys the emulator did not issue are the account's root.
    pub fn caller_identity(
        &self,
        account: &str,
        access_key: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<(String, String), IamError> {
        let root = (format!("arn:aws:iam::{account}:root"), account.to_string());
        let Some(session) = access_key.and_then(|k| self.sessions.get(k)) else {
            return Ok(root);
        };
        if session.expiration <= now {
            return Err(IamError::ExpiredToken(
                "The security token included in the request is expired".into(),
            ));
        }
        Ok(match &session.kind {
            SessionKind::Root => root,
            SessionKind::Role {
                role_arn,
                role_id,
                session_name,
            } => (role_arn.clone(), format!("{role_id}:{session_name}")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::roles::tests::{now, with_role, ACCOUNT};
    use super::*;

    #[test]
    fn assumed_roles_are_remembered() {
        let mut s = with_role("task");
        let arn = "arn:aws:iam::000000000000:role/task";
        let c = s
            .issue_role_credentials(ACCOUNT, arn, "s1", now(), 900)
            .unwrap();
        assert!(c.access_key_id.starts_with("ASIA") && c.access_key_id.len() == 20);
        assert_eq!(
            c.assumed_role_arn,
            "arn:aws:sts::000000000000:assumed-role/task/s1"
        );
        let role_id = s.role("task").unwrap().id.clone();
        assert_eq!(c.assumed_role_id, format!("{role_id}:s1"));
        let (who, user) = s
            .caller_identity(ACCOUNT, Some(&c.access_key_id), now())
            .unwrap();
        assert_eq!(
            (who.as_str(), user),
            (c.assumed_role_arn.as_str(), c.assumed_role_id.clone())
        );
        let later = now() + Duration::seconds(901);
        assert_eq!(
            s.caller_identity(ACCOUNT, Some(&c.access_key_id), later)
                .unwrap_err()
                .code(),
            "ExpiredTokenException"
        );
        assert_eq!(
            s.caller_identity(ACCOUNT, Some("AKIDEXAMPLE"), now())
                .unwrap()
                .1,
            ACCOUNT
        );
    }

    #[test]
    fn task_roles_need_not_exist_and_name_the_session_after_the_task() {
        let mut s = with_role("task");
        let known = s
            .issue_task_role_credentials("arn:aws:iam::000000000000:role/task", "abc123", now())
            .unwrap();
        let role_id = s.role("task").unwrap().id.clone();
        assert_eq!(known.assumed_role_id, format!("{role_id}:abc123"));
        assert_eq!(known.expiration, now() + TASK_ROLE_DURATION);
        let unknown = s
            .issue_task_role_credentials("arn:aws:iam::111111111111:role/path/app", "abc123", now())
            .unwrap();
        assert_eq!(
            unknown.assumed_role_arn,
            "arn:aws:sts::111111111111:assumed-role/app/abc123"
        );
        let (who, _) = s
            .caller_identity(ACCOUNT, Some(&unknown.access_key_id), now())
            .unwrap();
        assert_eq!(who, unknown.assumed_role_arn);
        assert_eq!(
            s.issue_task_role_credentials("not-an-arn", "abc123", now())
                .unwrap_err()
                .code(),
            "ValidationError"
        );
    }

    #[test]
    fn refusals() {
        let mut s = with_role("task");
        let missing = "arn:aws:iam::000000000000:role/missing";
        let e = s
            .issue_role_credentials(ACCOUNT, missing, "s1", now(), 3600)
            .unwrap_err();
        assert_eq!(e.code(), "AccessDenied");
        assert!(e.to_string().ends_with(missing));
        let arn = "arn:aws:iam::000000000000:role/task";
        for (name, duration) in [("s", 3600), ("bad name", 3600), ("ok", 899), ("ok", 43201)] {
            let e = s
                .issue_role_credentials(ACCOUNT, arn, name, now(), duration)
                .unwrap_err();
            assert_eq!(e.code(), "ValidationError", "{name} {duration}");
        }
        let e = s
            .issue_role_credentials(ACCOUNT, arn, "ok", now(), 7200)
            .unwrap_err();
        assert!(e.to_string().contains("MaxSessionDuration"));
        let other = s
            .issue_role_credentials(
                ACCOUNT,
                "arn:aws:iam::111111111111:role/x/y",
                "ok",
                now(),
                3600,
            )
            .unwrap();
        assert_eq!(
            other.assumed_role_arn,
            "arn:aws:sts::111111111111:assumed-role/y/ok"
        );
        assert_eq!(
            parse_role_arn("arn:aws:iam::1:role/a/b/n"),
            Some(("1", "/a/b/", "n"))
        );
        assert_eq!(parse_role_arn("arn:aws:iam::1:user/n"), None);
    }
}
