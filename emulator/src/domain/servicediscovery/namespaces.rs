//! Namespaces: HTTP, private DNS (in a VPC) and public DNS.

use borsh::{BorshDeserialize, BorshSerialize};
use time::OffsetDateTime;

use super::{
    check_create_members, check_len, invalid, random_id, random_lower_alnum, CloudMapError,
    Condition, Filter, OperationType, ServiceDiscoveryState, MAX_DESCRIPTION_LEN,
    MAX_RESOURCE_ID_LEN,
};
use crate::domain::arn;
use crate::domain::persist::field;

/// The SOA record TTL a DNS namespace gets when its request names none.
pub const DEFAULT_SOA_TTL: i64 = 15;
/// Largest SOA and DNS record TTL (AWS: 2,147,483,647 seconds).
pub const MAX_TTL: i64 = 2_147_483_647;

#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum NamespaceType {
    Http,
    DnsPrivate,
    DnsPublic,
}

impl NamespaceType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Http => "HTTP",
            Self::DnsPrivate => "DNS_PRIVATE",
            Self::DnsPublic => "DNS_PUBLIC",
        }
    }

    pub fn is_dns(self) -> bool {
        self != Self::Http
    }
}

#[derive(Debug, Clone, BorshSerialize, BorshDeserialize)]
pub struct Namespace {
    pub id: String,
    pub arn: String,
    pub name: String,
    pub kind: NamespaceType,
    pub description: Option<String>,
    pub creator_request_id: Option<String>,
    /// The name DiscoverInstances takes; the namespace's name for every type.
    pub http_name: String,
    /// The VPC of a private DNS namespace.
    pub vpc: Option<String>,
    /// DNS namespaces only.
    pub hosted_zone_id: Option<String>,
    pub soa_ttl: Option<i64>,
    /// In the order they were added, keys unique.
    pub tags: Vec<(String, String)>,
    /// The CREATE_NAMESPACE operation, returned again for a repeated request.
    pub create_operation_id: String,
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub created: OffsetDateTime,
}

/// CreateHttpNamespace / CreatePrivateDnsNamespace / CreatePublicDnsNamespace, decoded.
#[derive(Debug, Clone)]
pub struct NamespaceRequest {
    pub kind: NamespaceType,
    pub name: String,
    pub creator_request_id: Option<String>,
    pub description: Option<String>,
    pub vpc: Option<String>,
    pub soa_ttl: Option<i64>,
    pub tags: Vec<(String, String)>,
}

/// The Update*Namespace changes; `None` leaves a member as it is.
#[derive(Debug, Clone, Default)]
pub struct NamespaceChange {
    pub description: Option<String>,
    pub soa_ttl: Option<i64>,
}

/// Whether `label` is a DNS label: 1-63 letters, digits and inner hyphens.
fn is_dns_label(label: &str) -> bool {
    (1..=63).contains(&label.len())
        && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !label.starts_with('-')
        && !label.ends_with('-')
}

/// AWS's namespace name rules: HTTP names 1-1,024 printable ASCII, private
/// DNS names up to 253, neither starting `arn:`; public DNS names are
/// domain names of at least two labels.
pub fn validate_namespace_name(kind: NamespaceType, name: &str) -> Result<(), CloudMapError> {
    let max = match kind {
        NamespaceType::Http => 1024,
        NamespaceType::DnsPrivate | NamespaceType::DnsPublic => 253,
    };
    if name.is_empty() || name.len() > max {
        return Err(invalid(
            name,
            "name",
            &format!("Member must have length between 1 and {max}"),
        ));
    }
    let valid = match kind {
        NamespaceType::Http | NamespaceType::DnsPrivate => {
            !name.starts_with("arn:") && name.bytes().all(|b| (b'!'..=b'~').contains(&b))
        }
        NamespaceType::DnsPublic => {
            let labels: Vec<&str> = name.split('.').collect();
            labels.len() >= 2 && labels.iter().all(|l| is_dns_label(l))
        }
    };
    if !valid {
        return Err(CloudMapError::InvalidInput(format!(
            "The namespace name {name} is not valid for a {} namespace.",
            kind.as_str()
        )));
    }
    Ok(())
}

fn check_ttl(ttl: Option<i64>) -> Result<(), CloudMapError> {
    match ttl {
        Some(t) if !(0..=MAX_TTL).contains(&t) => Err(invalid(
            &t.to_string(),
            "properties.dnsProperties.sOA.tTL",
            &format!("Member must have value between 0 and {MAX_TTL}"),
        )),
        _ => Ok(()),
    }
}

/// The ListNamespaces filters and the conditions each takes.
pub const NAMESPACE_FILTERS: [(&str, &[Condition]); 4] = [
    ("TYPE", &[Condition::Eq, Condition::In]),
    ("NAME", &[Condition::Eq, Condition::BeginsWith]),
    ("HTTP_NAME", &[Condition::Eq, Condition::BeginsWith]),
    ("RESOURCE_OWNER", &[Condition::Eq]),
];

impl Namespace {
    /// Whether the namespace passes a ListNamespaces filter (`RESOURCE_OWNER`:
    /// every namespace is the caller's own, `SELF`).
    pub fn matches(&self, filter: &Filter) -> bool {
        match filter.name.as_str() {
            "TYPE" => filter.matches_text(self.kind.as_str()),
            "NAME" => filter.matches_text(&self.name),
            "HTTP_NAME" => filter.matches_text(&self.http_name),
            _ => filter.matches_text("SELF"),
        }
    }
}

impl ServiceDiscoveryState {
    /// Creates a namespace; the same request again (same name and
    /// CreatorRequestId) returns the first one's operation.
    pub fn create_namespace(
        &mut self,
        request: NamespaceRequest,
        region: &str,
        account: &str,
        now: OffsetDateTime,
    ) -> Result<String, CloudMapError> {
        validate_namespace_name(request.kind, &request.name)?;
        check_create_members(
            request.description.as_deref(),
            request.creator_request_id.as_deref(),
            &request.tags,
        )?;
        check_len(request.vpc.as_deref(), "vpc", MAX_RESOURCE_ID_LEN)?;
        check_ttl(request.soa_ttl)?;
        if request.kind == NamespaceType::DnsPrivate
            && request.vpc.as_deref().is_none_or(str::is_empty)
        {
            return Err(CloudMapError::InvalidInput(
                "A private DNS namespace needs a Vpc.".into(),
            ));
        }
        if let Some(existing) = self
            .namespaces
            .values()
            .find(|n| n.http_name == request.name)
        {
            if existing.kind == request.kind
                && request.creator_request_id.is_some()
                && existing.creator_request_id == request.creator_request_id
            {
                return Ok(existing.create_operation_id.clone());
            }
            return Err(CloudMapError::NamespaceAlreadyExists {
                message: format!("Namespace with name {} already exists.", request.name),
                namespace_id: existing.id.clone(),
                creator_request_id: existing.creator_request_id.clone(),
            });
        }
        let id = random_id("ns-");
        let dns = request.kind.is_dns();
        let operation_id = self.record(OperationType::CreateNamespace, &[("NAMESPACE", &id)], now);
        let namespace = Namespace {
            arn: arn::arn(
                "servicediscovery",
                region,
                account,
                &format!("namespace/{id}"),
            ),
            id: id.clone(),
            http_name: request.name.clone(),
            name: request.name,
            kind: request.kind,
            description: request.description,
            creator_request_id: request.creator_request_id,
            vpc: request
                .vpc
                .filter(|_| request.kind == NamespaceType::DnsPrivate),
            hosted_zone_id: dns.then(|| format!("Z{}", random_lower_alnum(20).to_uppercase())),
            soa_ttl: dns.then(|| request.soa_ttl.unwrap_or(DEFAULT_SOA_TTL)),
            tags: request.tags,
            create_operation_id: operation_id.clone(),
            created: now,
        };
        self.namespaces.insert(id, namespace);
        Ok(operation_id)
    }

    /// Update*Namespace: `kind` is the type the action is for.
    pub fn update_namespace(
        &mut self,
        id: &str,
        kind: NamespaceType,
        change: NamespaceChange,
        now: OffsetDateTime,
    ) -> Result<String, CloudMapError> {
        check_len(
            change.description.as_deref(),
            "namespace.description",
            MAX_DESCRIPTION_LEN,
        )?;
        check_ttl(change.soa_ttl)?;
        let namespace = self.namespace_mut(id)?;
        if namespace.kind != kind {
            return Err(CloudMapError::InvalidInput(format!(
                "The namespace {id} is a {} namespace, not {}.",
                namespace.kind.as_str(),
                kind.as_str()
            )));
        }
        if let Some(description) = change.description {
            namespace.description = Some(description);
        }
        if let Some(ttl) = change.soa_ttl {
            namespace.soa_ttl = Some(ttl);
        }
        let id = namespace.id.clone();
        Ok(self.record(OperationType::UpdateNamespace, &[("NAMESPACE", &id)], now))
    }

    /// Deletes a namespace that holds no services.
    pub fn delete_namespace(
        &mut self,
        id: &str,
        now: OffsetDateTime,
    ) -> Result<String, CloudMapError> {
        let id = self.namespace(id)?.id.clone();
        let services = self.service_count(&id);
        if services > 0 {
            return Err(CloudMapError::ResourceInUse(format!(
                "The namespace {id} has {services} services; delete them first."
            )));
        }
        self.namespaces.remove(&id);
        Ok(self.record(OperationType::DeleteNamespace, &[("NAMESPACE", &id)], now))
    }

    /// The namespace DiscoverInstances names, by its name or HttpName.
    pub fn namespace_by_name(&self, name: &str) -> Result<&Namespace, CloudMapError> {
        self.namespaces
            .values()
            .find(|n| n.http_name == name || n.name == name)
            .ok_or_else(|| CloudMapError::namespace_not_found(name))
    }
}
