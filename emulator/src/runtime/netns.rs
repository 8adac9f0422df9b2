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
    let (tx, rx) = tokio::sync::oneshot::channel();
    // A thread of its own: it leaves the emulator's namespace for good, so
    // it must not be one that later runs anything else (as a pool's would).
    std::thread::Builder::new()
        .name("task-netns".into())
        .spawn(move || {
            let _ = tx.send(bind_in_namespace(pid, addr));
        })?;
    let listener = rx
        .await
        .map_err(|_| io::Error::other("namespace thread ended without an answer"))??;
    tokio::net::TcpListener::from_std(listener)
}

#[cfg(target_os = "linux")]
fn bind_in_namespace(pid: u32, addr: SocketAddrV4) -> io::Result<std::net::TcpListener> {
    let namespace = std::fs::File::open(format!("/proc/{pid}/ns/net"))?;
    nix::sched::setns(&namespace, nix::sched::CloneFlags::CLONE_NEWNET)?;
    add_loopback_address(*addr.ip())?;
    let listener = std::net::TcpListener::bind(addr)?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

#[cfg(not(target_os = "linux"))]
fn bind_in_namespace(_pid: u32, _addr: SocketAddrV4) -> io::Result<std::net::TcpListener> {
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
