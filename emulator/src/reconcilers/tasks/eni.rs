//! A task's ENI: created in EC2 with an address from its subnet, given to
//! the sandbox on the VPC's Docker network, deleted when the task stops.

use crate::domain::ecs::Task;
use crate::runtime::docker::SandboxAddress;

use super::TaskRunner;

/// A task's ENI as created in EC2.
pub(super) struct TaskEni {
    pub(super) id: String,
    pub(super) region: String,
    pub(super) ip: std::net::Ipv4Addr,
    pub(super) mac: String,
    pub(super) subnet_cidr: ipnet::Ipv4Net,
    pub(super) vpc_id: String,
    pub(super) vpc_cidr: ipnet::Ipv4Net,
    pub(super) default_vpc: bool,
}

/// `ip-10-0-1-5.ec2.internal` in us-east-1, `ip-….REGION.compute.internal`
/// elsewhere, as EC2 names private addresses.
pub(super) fn private_dns_name(region: &str, octets: &str) -> String {
    if region == "us-east-1" {
        format!("ip-{octets}.ec2.internal")
    } else {
        format!("ip-{octets}.{region}.compute.internal")
    }
}

impl TaskRunner {
    /// Creates the task's ENI in EC2: a private IP from its subnet, its
    /// security groups. `Err` is the task's stoppedReason.
    pub(super) fn create_eni(&self, task: &Task) -> Result<TaskEni, String> {
        let region =
            crate::domain::arn::region_of(&task.task_arn).unwrap_or(crate::config::DEFAULT_REGION);
        let account = self.inner.store.config().account_id.clone();
        let subnet_id = task
            .attachments
            .first()
            .and_then(|a| a.details.iter().find(|d| d.name == "subnetId"))
            .map(|d| d.value.clone())
            .unwrap_or_default();
        let attachment_id = task
            .attachments
            .first()
            .map(|a| a.id.clone())
            .unwrap_or_default();
        let default_network = self.inner.runtime.network().clone();
        let eni = self.inner.store.write(|s| {
            if !s.ecs.tasks.contains_key(&task.task_arn) {
                // Reset away: its ENI would land in the fresh state.
                return Err(crate::domain::ec2::Ec2Error::InvalidParameterValue(
                    "the task no longer exists".into(),
                ));
            }
            let ec2 = s.ec2.region(region, &account);
            let subnet = ec2.resolve_subnet(&subnet_id)?.clone();
            let vpc = crate::domain::ec2::lookup(
                &ec2.vpcs,
                crate::domain::ec2::ids::Kind::Vpc,
                &subnet.vpc_id,
            )?
            .clone();
            // The Docker network's gateway (the host) and the emulator's own
            // address are taken on the default VPC's network; a VPC network's
            // gateway is its first address.
            let gateway = if vpc.is_default {
                default_network.gateway
            } else {
                vpc.cidr.hosts().next().unwrap_or(vpc.cidr.addr())
            };
            let emulator_ip = default_network.emulator_ip;
            let taken = move |ip: std::net::Ipv4Addr| ip == gateway || Some(ip) == emulator_ip;
            let eni = ec2.create_task_interface(
                &subnet.id,
                &task.runtime.security_groups,
                &attachment_id,
                &taken,
                &[],
            )?;
            if let Some(t) = s.ecs.tasks.get_mut(&task.task_arn) {
                t.runtime.eni_id = Some(eni.id.clone());
                t.runtime.vpc_id = Some(vpc.id.clone());
            }
            Ok::<_, crate::domain::ec2::Ec2Error>(TaskEni {
                id: eni.id,
                region: region.to_string(),
                ip: eni.private_ip,
                mac: eni.mac_address,
                subnet_cidr: subnet.cidr,
                vpc_id: vpc.id,
                vpc_cidr: vpc.cidr,
                default_vpc: vpc.is_default,
            })
        });
        eni.map_err(|e| format!("ResourceInitializationError: failed to configure ENI: {e}"))
    }

    /// The Docker network and address of the task's sandbox.
    pub(super) async fn sandbox_address(
        &self,
        task: &Task,
        eni: &TaskEni,
    ) -> Result<SandboxAddress, String> {
        let runtime = &self.inner.runtime;
        let network = if eni.default_vpc {
            runtime.network().clone()
        } else {
            runtime
                .vpc_network(&eni.vpc_id, eni.vpc_cidr)
                .await
                .map_err(|e| {
                    tracing::warn!(task = %task.task_arn, vpc = %eni.vpc_id, error = %e, "no network for the VPC");
                    format!("ResourceInitializationError: failed to configure ENI: network of {}: {e}", eni.vpc_id)
                })?
        };
        let (dns_names, dns_search) = self.inner.store.read(|s| {
            (
                crate::reconcilers::discovery::dns_names(s, task),
                crate::reconcilers::discovery::dns_search_domains(s, task),
            )
        });
        Ok(SandboxAddress {
            network,
            ip: eni.ip,
            mac: eni.mac.clone(),
            dns_names,
            extra_hosts: self.service_connect_hosts(task),
            dns_servers: self.task_dns_servers(&eni.vpc_id),
            dns_search,
        })
    }

    /// Deletes the task's ENI from EC2, freeing its IP.
    pub(super) fn delete_eni(&self, task: &Task) {
        let region = crate::domain::arn::region_of(&task.task_arn)
            .unwrap_or(crate::config::DEFAULT_REGION)
            .to_string();
        let account = self.inner.store.config().account_id.clone();
        self.inner.store.write(|s| {
            let eni = s
                .ecs
                .tasks
                .get_mut(&task.task_arn)
                .and_then(|t| t.runtime.eni_id.take());
            if let Some(id) = eni {
                s.ec2
                    .region(&region, &account)
                    .delete_network_interface_unchecked(&id);
            }
        });
    }
}
