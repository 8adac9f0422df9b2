//! Listening inside a task's network namespace.
//!
//! Fargate serves the task metadata and credentials endpoints at
//! 169.254.170.2, and SDKs fetch `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`
//! from exactly that address (a full URI must be HTTPS or loopback). So the
//! emulator gives each task's network namespace the address 169.254.170.2 on
//! its loopback device and listens there itself: the socket is created
//! inside the namespace, then served from the emulator's runtime like any
//! other. A task reaches only its own endpoint, and parallel emulators on one
//! engine never compete for the address.
//!
//! Entering another process's namespace needs CAP_SYS_ADMIN and the Docker
//! host's `/proc`: as root on a Linux Docker host it works. Elsewhere (not
//! root, Docker Desktop's VM, the emulator itself in a container)
//! [`listen_in`] fails and the caller falls back.

use std::io;
use std::net::{Ipv4Addr, SocketAddrV4};

/// Fargate's link-local address for the task endpoints.
pub const TASK_ENDPOINT_ADDRESS: Ipv4Addr = Ipv4Addr::new(169, 254, 170, 2);
/// The port SDKs use with `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`.
pub const TASK_ENDPOINT_PORT: u16 = 80;

/// A listener on `addr` inside the network namespace of process `pid`, with
/// `addr`'s IP added to that namespace's loopback device.
pub async fn listen_in(pid: u32, addr: SocketAddrV4) -> io::Result<tokio::net::TcpListener> {
    let listener = in_namespace(pid, *addr.ip(), move || {
        let listener = std::net::TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        Ok(listener)
    })
    .await?;
    tokio::net::TcpListener::from_std(listener)
}

/// A UDP socket bound to `addr` inside the network namespace of process
/// `pid`, with `addr`'s IP added to that namespace's loopback device.
pub async fn udp_in(pid: u32, addr: SocketAddrV4) -> io::Result<tokio::net::UdpSocket> {
    let socket = in_namespace(pid, *addr.ip(), move || {
        let socket = std::net::UdpSocket::bind(addr)?;
        socket.set_nonblocking(true)?;
        Ok(socket)
    })
    .await?;
    tokio::net::UdpSocket::from_std(socket)
}

/// Whether this process may enter network namespaces (tried on its own,
/// in a thread that then ends).
pub fn can_enter() -> bool {
    std::thread::spawn(|| enter_own_namespace().is_ok())
        .join()
        .unwrap_or(false)
}

#[cfg(target_os = "linux")]
fn enter_own_namespace() -> io::Result<()> {
    let namespace = std::fs::File::open("/proc/self/ns/net")?;
    nix::sched::setns(&namespace, nix::sched::CloneFlags::CLONE_NEWNET)?;
    Ok(())
}

#[cfg(not(target_os = "linux"))]
fn enter_own_namespace() -> io::Result<()> {
    Err(io::Error::from(io::ErrorKind::Unsupported))
}

/// Runs `bind` inside the namespace of `pid`, after adding `ip` to its
/// loopback device. A socket stays in the namespace it was made in.
async fn in_namespace<T: Send + 'static>(
    pid: u32,
    ip: Ipv4Addr,
    bind: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    // A thread of its own: it leaves the emulator's namespace for good, so
    // it must not be one that later runs anything else (as a pool's would).
    std::thread::Builder::new()
        .name("task-netns".into())
        .spawn(move || {
            let _ = tx.send(enter_namespace(pid, ip).and_then(|()| bind()));
        })?;
    rx.await
        .map_err(|_| io::Error::other("namespace thread ended without an answer"))?
}

#[cfg(target_os = "linux")]
fn enter_namespace(pid: u32, ip: Ipv4Addr) -> io::Result<()> {
    let namespace = std::fs::File::open(format!("/proc/{pid}/ns/net"))?;
    nix::sched::setns(&namespace, nix::sched::CloneFlags::CLONE_NEWNET)?;
    add_loopback_address(ip)
}

#[cfg(not(target_os = "linux"))]
fn enter_namespace(_pid: u32, _ip: Ipv4Addr) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "network namespaces exist only on Linux",
    ))
}

/// Adds `ip/32` to `lo` in the calling thread's network namespace.
#[cfg(target_os = "linux")]
fn add_loopback_address(ip: Ipv4Addr) -> io::Result<()> {
    // The kernel gives every namespace's loopback device index 1.
    const LOOPBACK_INDEX: u32 = 1;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()?;
    runtime.block_on(async {
        // The netlink socket belongs to the namespace it is opened in.
        let (connection, handle, _) = rtnetlink::new_connection()?;
        let connection = tokio::spawn(connection);
        let added = handle
            .address()
            .add(LOOPBACK_INDEX, ip.into(), 32)
            .replace()
            .execute()
            .await;
        connection.abort();
        added.map_err(|e| io::Error::other(format!("adding {ip} to lo: {e}")))
    })
}
