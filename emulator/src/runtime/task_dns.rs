//! The DNS server a task's Docker DNS forwards to, in the task's network
//! namespace at 169.254.170.2:53 (UDP and TCP).
//!
//! Docker's embedded DNS (127.0.0.11 in every container) answers container
//! names and network aliases itself, which covers Cloud Map's A records
//! (see `reconcilers::discovery`), and forwards every other query to the
//! servers the sandbox was given. This is that server: it answers names in
//! the Cloud Map DNS namespaces the task's VPC sees, SRV records and the
//! per-instance A records included (`domain::servicediscovery::dns`), and
//! relays every other query to the nameservers of the emulator's host, as
//! Docker would have.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::Arc;
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::rdata::{A, SRV};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};
use tokio_util::sync::CancellationToken;

use super::netns;
use crate::domain::servicediscovery::dns::{Answer, Lookup, QueryType};
use crate::domain::Store;

/// DNS's port.
const DNS_PORT: u16 = 53;
/// How long an upstream nameserver may take to answer.
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(3);
/// The largest message over UDP or TCP that is read.
const MAX_MESSAGE: usize = 65_535;

/// The address of the server inside every task.
pub fn address() -> Ipv4Addr {
    netns::TASK_ENDPOINT_ADDRESS
}

/// Starts the server inside the namespace of `pid` (a task of VPC `vpc`);
/// it stops when `shutdown` is cancelled.
pub async fn start_in_task(
    store: Store,
    pid: u32,
    vpc: String,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let addr = SocketAddrV4::new(address(), DNS_PORT);
    let udp = netns::udp_in(pid, addr).await?;
    let tcp = netns::listen_in(pid, addr).await?;
    let resolver = Arc::new(Resolver {
        store,
        vpc,
        upstream: host_nameservers(),
    });
    tokio::spawn(serve_udp(udp, resolver.clone(), shutdown.clone()));
    tokio::spawn(serve_tcp(tcp, resolver, shutdown));
    Ok(())
}

struct Resolver {
    store: Store,
    vpc: String,
    upstream: Vec<SocketAddr>,
}

async fn serve_udp(socket: UdpSocket, resolver: Arc<Resolver>, shutdown: CancellationToken) {
    let socket = Arc::new(socket);
    let mut buf = vec![0u8; MAX_MESSAGE];
    loop {
        let received = tokio::select! {
            _ = shutdown.cancelled() => return,
            received = socket.recv_from(&mut buf) => received,
        };
        let Ok((len, peer)) = received else {
            continue;
        };
        let query = buf[..len].to_vec();
        let (socket, resolver) = (socket.clone(), resolver.clone());
        tokio::spawn(async move {
            if let Some(reply) = resolver.answer(&query).await {
                let _ = socket.send_to(&reply, peer).await;
            }
        });
    }
}

async fn serve_tcp(listener: TcpListener, resolver: Arc<Resolver>, shutdown: CancellationToken) {
    loop {
        let accepted = tokio::select! {
            _ = shutdown.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        let Ok((mut stream, _)) = accepted else {
            continue;
        };
        let resolver = resolver.clone();
        tokio::spawn(async move {
            // Messages over TCP carry a two-byte length in front.
            while let Ok(len) = stream.read_u16().await {
                let mut query = vec![0u8; usize::from(len)];
                if stream.read_exact(&mut query).await.is_err() {
                    return;
                }
                let Some(reply) = resolver.answer(&query).await else {
                    return;
                };
                let Ok(len) = u16::try_from(reply.len()) else {
                    return;
                };
                let mut framed = len.to_be_bytes().to_vec();
                framed.extend_from_slice(&reply);
                if stream.write_all(&framed).await.is_err() {
                    return;
                }
            }
        });
    }
}

impl Resolver {
    /// The reply to one query message; `None` drops it (not a query, or
    /// no upstream answered).
    async fn answer(&self, bytes: &[u8]) -> Option<Vec<u8>> {
        let request = Message::from_vec(bytes).ok()?;
        if request.message_type() != MessageType::Query {
            return None;
        }
        let Some(query) = request.queries().first() else {
            return reply(&request, ResponseCode::FormErr, vec![]);
        };
        let kind = match query.query_type() {
            RecordType::A => QueryType::A,
            RecordType::SRV => QueryType::Srv,
            _ => QueryType::Other,
        };
        let name = query.name().to_ascii();
        let lookup = self
            .store
            .read(|s| s.servicediscovery.dns_lookup(&self.vpc, &name, kind));
        match lookup {
            Lookup::NotOurs => self.forward(bytes).await,
            Lookup::NoSuchName => reply(&request, ResponseCode::NXDomain, vec![]),
            Lookup::Records(answers) => {
                let records = answers
                    .into_iter()
                    .filter_map(|a| record(query.name(), a))
                    .collect();
                reply(&request, ResponseCode::NoError, records)
            }
        }
    }

    /// Relays the query to the host's nameservers, one after the other.
    async fn forward(&self, bytes: &[u8]) -> Option<Vec<u8>> {
        for server in &self.upstream {
            let bind: SocketAddr = if server.is_ipv4() {
                (Ipv4Addr::UNSPECIFIED, 0).into()
            } else {
                (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
            };
            let Ok(socket) = UdpSocket::bind(bind).await else {
                continue;
            };
            if socket.send_to(bytes, server).await.is_err() {
                continue;
            }
            let mut buf = vec![0u8; MAX_MESSAGE];
            if let Ok(Ok(len)) = tokio::time::timeout(UPSTREAM_TIMEOUT, socket.recv(&mut buf)).await
            {
                buf.truncate(len);
                return Some(buf);
            }
        }
        let request = Message::from_vec(bytes).ok()?;
        reply(&request, ResponseCode::ServFail, vec![])
    }
}

/// An authoritative reply to `request` with `answers`.
fn reply(request: &Message, code: ResponseCode, answers: Vec<Record>) -> Option<Vec<u8>> {
    let mut response = Message::new();
    response
        .set_id(request.id())
        .set_message_type(MessageType::Response)
        .set_op_code(request.op_code())
        .set_recursion_desired(request.recursion_desired())
        .set_recursion_available(true)
        .set_authoritative(true)
        .set_response_code(code)
        .add_queries(request.queries().to_vec())
        .add_answers(answers);
    response.to_vec().ok()
}

fn record(name: &Name, answer: Answer) -> Option<Record> {
    match answer {
        Answer::A { ip, ttl } => Some(Record::from_rdata(name.clone(), ttl, RData::A(A(ip)))),
        Answer::Srv {
            priority,
            weight,
            port,
            target,
            ttl,
        } => {
            let target = Name::from_ascii(format!("{target}.")).ok()?;
            Some(Record::from_rdata(
                name.clone(),
                ttl,
                RData::SRV(SRV::new(priority, weight, port, target)),
            ))
        }
    }
}

/// The `nameserver` lines of the host's resolv.conf, on port 53.
fn host_nameservers() -> Vec<SocketAddr> {
    std::fs::read_to_string("/etc/resolv.conf")
        .map(|text| parse_nameservers(&text))
        .unwrap_or_default()
}

fn parse_nameservers(resolv_conf: &str) -> Vec<SocketAddr> {
    resolv_conf
        .lines()
        .filter_map(|line| line.trim().strip_prefix("nameserver"))
        .filter_map(|rest| rest.trim().parse::<std::net::IpAddr>().ok())
        .map(|ip| SocketAddr::new(ip, DNS_PORT))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nameservers_come_from_resolv_conf() {
        let text =
            "# comment\nnameserver 10.0.0.2\nsearch example\nnameserver ::1\nnameserver bad\n";
        assert_eq!(
            parse_nameservers(text),
            [
                "10.0.0.2:53".parse::<SocketAddr>().unwrap(),
                "[::1]:53".parse().unwrap()
            ]
        );
    }

    #[test]
    fn a_reply_echoes_the_query_and_carries_the_records() {
        let mut request = Message::new();
        request.set_id(7).add_query(hickory_proto::op::Query::query(
            Name::from_ascii("backend.shop.internal.").unwrap(),
            RecordType::SRV,
        ));
        let name = request.queries()[0].name().clone();
        let answer = Answer::Srv {
            priority: 1,
            weight: 1,
            port: 8080,
            target: "t1.backend.shop.internal".into(),
            ttl: 10,
        };
        let bytes = reply(
            &request,
            ResponseCode::NoError,
            vec![record(&name, answer).unwrap()],
        )
        .unwrap();
        let parsed = Message::from_vec(&bytes).unwrap();
        assert_eq!(parsed.id(), 7);
        assert_eq!(parsed.queries(), request.queries());
        let RData::SRV(srv) = parsed.answers()[0].data() else {
            panic!("an SRV answer");
        };
        assert_eq!(
            (srv.port(), srv.target().to_ascii()),
            (8080, "t1.backend.shop.internal.".into())
        );
    }
}
