//! The peer proxies: nginx and HAProxy configured like the ALB (one worker
//! on [`PROXY_CPU`], upstream keep-alive, the ALB's forwarding headers),
//! and the check that every contender does the same job.

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};
use serde_json::Value;

use super::http::http_get;
use super::process::{nofile_limit, Proc};
use super::report::Contender;
use super::setup::Backends;
use super::{BACKEND_PORT, PROXY_CPU};

/// The headers the ALB adds to every request, and so the peers too unless
/// `--minimal-peers`.
pub(super) const FORWARDING_HEADERS: [&str; 4] = [
    "x-forwarded-for",
    "x-forwarded-proto",
    "x-forwarded-port",
    "x-amzn-trace-id",
];

/// Fails unless the backend sees every one of [`FORWARDING_HEADERS`] on a
/// request through `c` (sample-app's `/echo` answers with the headers it
/// got): no contender may do less than the others.
pub(super) fn check_same_job(c: &Contender) -> Result<()> {
    // Every contender's URL ends in `/`.
    let (status, body) = http_get(&format!("{}echo", c.url))?;
    let seen: Value = serde_json::from_str(&body)
        .with_context(|| format!("{}: /echo answered {status}: {body}", c.name))?;
    let missing: Vec<&str> = FORWARDING_HEADERS
        .into_iter()
        .filter(|h| seen["headers"][h].as_str().is_none())
        .collect();
    if !missing.is_empty() {
        bail!("{} does not add {missing:?} to requests: {body}", c.name);
    }
    Ok(())
}

/// Where and how a peer proxy runs.
pub(super) struct Peer<'a> {
    /// Its working directory: config and logs.
    pub dir: &'a Path,
    pub port: u16,
    pub backends: &'a Backends,
    /// Without the ALB's forwarding headers (`--minimal-peers`).
    pub minimal: bool,
}

pub(super) fn start_nginx(bin: &Path, peer: &Peer) -> Result<Proc> {
    let (d, port) = (peer.dir.display(), peer.port);
    let servers: String = peer
        .backends
        .ips
        .iter()
        .map(|ip| format!("    server {ip}:{BACKEND_PORT};\n"))
        .collect();
    // The ALB's trace id is `Root=1-<8 hex: time>-<24 hex>`; nginx's
    // `$request_id` is 32 random hex digits, the same length but one dash.
    let alb_headers = if peer.minimal {
        ""
    } else {
        r#"
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Port $server_port;
      proxy_set_header X-Amzn-Trace-Id "Root=1-$request_id";"#
    };
    let nofile = nofile_limit();
    let half = nofile / 2;
    // `master_process off`: the one process is the worker, so its CPU time
    // and RSS are what /proc shows for the pid.
    let conf = format!(
        r#"daemon off;
master_process off;
worker_processes 1;
worker_rlimit_nofile {nofile};
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections {half}; }}
http {{
  access_log off;
  client_body_temp_path {d}/body;
  proxy_temp_path {d}/proxy;
  fastcgi_temp_path {d}/fastcgi;
  uwsgi_temp_path {d}/uwsgi;
  scgi_temp_path {d}/scgi;
  upstream backends {{
{servers}    keepalive 64;
    keepalive_requests 100000;
  }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://backends;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;{alb_headers}
    }}
  }}
}}
"#
    );
    spawn_pinned("nginx", bin, peer, ("nginx.conf", conf), |cmd, path| {
        cmd.arg("-p").arg(peer.dir).arg("-c").arg(path);
    })
}

pub(super) fn start_haproxy(bin: &Path, peer: &Peer) -> Result<Proc> {
    let port = peer.port;
    let servers: String = peer
        .backends
        .ips
        .iter()
        .enumerate()
        .map(|(i, ip)| {
            format!("    server s{i} {ip}:{BACKEND_PORT} check inter 2s fall 2 rise 2\n")
        })
        .collect();
    // The trace id in the ALB's format: 8 hex digits of time, 24 random.
    let alb_headers = if peer.minimal {
        ""
    } else {
        r#"
    option forwardfor
    http-request set-header X-Forwarded-Proto http
    http-request set-header X-Forwarded-Port %[dst_port]
    http-request set-header X-Amzn-Trace-Id Root=1-%[date,hex,lower,bytes(8,8)]-%[rand,hex,lower,bytes(8,8)]%[rand,hex,lower,bytes(8,8)]%[rand,hex,lower,bytes(8,8)]"#
    };
    // Each client connection may need a server one too.
    let maxconn = nofile_limit() / 2 - 100;
    let conf = format!(
        r#"global
    nbthread 1
    maxconn {maxconn}
defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    http-reuse safe
frontend fe
    bind 127.0.0.1:{port}{alb_headers}
    default_backend be
backend be
    balance roundrobin
    option httpchk
    http-check send meth GET uri /health ver HTTP/1.1 hdr Host bench
{servers}"#
    );
    spawn_pinned("haproxy", bin, peer, ("haproxy.cfg", conf), |cmd, path| {
        cmd.arg("-db").arg("-f").arg(path);
    })
}

/// Writes the peer's config file into its directory and starts `bin` on
/// [`PROXY_CPU`], with the arguments `args` adds given the config's path.
fn spawn_pinned(
    name: &str,
    bin: &Path,
    peer: &Peer,
    (file, conf): (&str, String),
    args: impl FnOnce(&mut Command, &Path),
) -> Result<Proc> {
    let path = peer.dir.join(file);
    std::fs::write(&path, conf)?;
    let mut cmd = Command::new("taskset");
    cmd.args(["-c", PROXY_CPU]).arg(bin);
    args(&mut cmd, &path);
    Proc::spawn(name, &mut cmd, &peer.dir.join("stdout.log"))
}
