//! The parts of SigV4 the emulator reads. Signatures are never checked: any
//! credentials are accepted, as in LocalStack and moto.

/// `Credential=AKID/DATE/REGION/SERVICE/aws4_request` from an Authorization header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialScope {
    pub access_key: String,
    pub region: String,
    pub service: String,
}

impl CredentialScope {
    pub fn from_authorization(header: &str) -> Option<Self> {
        let rest = header.strip_prefix("AWS4-HMAC-SHA256")?;
        let credential = rest
            .split(',')
            .map(str::trim)
            .find_map(|part| part.strip_prefix("Credential="))?;
        let mut fields = credential.split('/');
        let access_key = fields.next()?.to_string();
        let _date = fields.next()?;
        let region = fields.next()?.to_string();
        let service = fields.next()?.to_string();
        (fields.next()? == "aws4_request").then_some(Self {
            access_key,
            region,
            service,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_scope() {
        let s = CredentialScope::from_authorization(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-west-2/elasticloadbalancing/aws4_request, SignedHeaders=content-type;host, Signature=abc",
        )
        .unwrap();
        assert_eq!(s.region, "us-west-2");
        assert_eq!(s.service, "elasticloadbalancing");
        assert_eq!(s.access_key, "AKIDEXAMPLE");
    }

    #[test]
    fn rejects_other_schemes_and_short_scopes() {
        assert!(CredentialScope::from_authorization("Basic Zm9vOmJhcg==").is_none());
        assert!(CredentialScope::from_authorization("AWS4-HMAC-SHA256 Credential=A/B/C").is_none());
    }
}
