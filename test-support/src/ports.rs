//! Ports for tests, handed over instead of bound, dropped and reused.
//!
//! Binding `127.0.0.1:0`, reading the port and closing the socket leaves a
//! gap in which any process (another test's emulator, an outgoing
//! connection) can take the port. So:
//! - a server in the test process binds its own socket and keeps it (see
//!   [`crate::Backend::serve`]);
//! - a port the emulator itself must bind (an ELBv2 listener's `Port`, the
//!   emulator binary's `--listen`) comes from [`reserve`]: a per-process
//!   allocator over ports outside the kernel's ephemeral range, which the
//!   kernel never hands out for `bind(:0)` or outgoing connections, so
//!   only a process that picks ports itself can take one;
//! - a port that must refuse connections is [`Refusing`]: bound, never
//!   listening, held for as long as the test needs it.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener};
use std::sync::atomic::{AtomicU32, Ordering};

/// The range [`reserve`] hands out from: below Linux's default ephemeral
/// range (32768-60999) and above the ports services usually listen on.
const FIRST: u16 = 20_000;
const LAST: u16 = 32_000;

/// The next candidate, as an offset into the range. Each process starts
/// at a point derived from its id, so test processes running side by side
/// (other worktrees, the soak binary) do not try the same ports first.
static NEXT: AtomicU32 = AtomicU32::new(u32::MAX);

/// A port on 127.0.0.1 that no other caller in this process is given, that
/// nothing listened on when it was handed out, and that the kernel does
/// not give to ephemeral binds: for the emulator to bind.
pub fn reserve() -> u16 {
    let span = u32::from(LAST - FIRST);
    let _ = NEXT.compare_exchange(
        u32::MAX,
        std::process::id().wrapping_mul(7919) % span,
        Ordering::SeqCst,
        Ordering::SeqCst,
    );
    for _ in 0..span {
        let offset = NEXT.fetch_add(1, Ordering::SeqCst) % span;
        let port = FIRST + offset as u16;
        // The probe skips ports in use; it binds with SO_REUSEADDR (as
        // std does on Unix), so a port with connections in TIME_WAIT is
        // still handed out, as the emulator can bind it.
        if free(port) {
            return port;
        }
    }
    panic!("no free port in {FIRST}-{LAST}");
}

fn free(port: u16) -> bool {
    [Ipv4Addr::LOCALHOST, Ipv4Addr::UNSPECIFIED]
        .iter()
        .all(|ip| TcpListener::bind((*ip, port)).is_ok())
}

/// A port that refuses connections: bound without listening, so that no
/// other socket can bind it while this is alive.
pub struct Refusing {
    pub addr: SocketAddr,
    _socket: socket2::Socket,
}

impl Refusing {
    /// A refusing port on `ip`.
    pub fn on(ip: Ipv4Addr) -> Self {
        use socket2::{Domain, Protocol, Socket, Type};
        let socket =
            Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP)).expect("a TCP socket");
        socket
            .bind(&SocketAddr::V4(SocketAddrV4::new(ip, 0)).into())
            .unwrap_or_else(|e| panic!("bind {ip}:0: {e}"));
        let addr = socket
            .local_addr()
            .ok()
            .and_then(|a| a.as_socket())
            .expect("a bound address");
        Self {
            addr,
            _socket: socket,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_ports_differ_and_are_outside_the_ephemeral_range() {
        let ports: std::collections::BTreeSet<u16> = (0..50).map(|_| reserve()).collect();
        assert_eq!(ports.len(), 50);
        assert!(ports.iter().all(|p| (FIRST..LAST).contains(p)));
    }

    #[test]
    fn a_refusing_port_refuses() {
        let port = Refusing::on(Ipv4Addr::LOCALHOST);
        let err = std::net::TcpStream::connect(port.addr).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
        assert!(TcpListener::bind(port.addr).is_err(), "the port is held");
    }
}
