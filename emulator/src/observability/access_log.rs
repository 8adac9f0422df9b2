//! ALB access logs in AWS's format.
//!
//! The request path hands a finished [`AccessLogEntry`] to a bounded channel
//! ([`AccessLogSink::send`] never waits: when the writer falls behind, the
//! entry is dropped and counted). One background task formats whatever has
//! queued up and writes it with a single write, so a busy listener costs one
//! syscall per batch, not per line.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use time::OffsetDateTime;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Entries that may wait for the writer; beyond this they are dropped.
pub const QUEUE_CAPACITY: usize = 16 * 1024;
/// Most entries formatted into one write.
const BATCH: usize = 512;

/// One request, as its access-log line reports it. `None` prints as `-`
/// (or `-1` for processing times, as AWS does when no target was reached).
#[derive(Debug, Clone, PartialEq)]
pub struct AccessLogEntry {
    /// `http`, or `ws` for a WebSocket upgrade.
    pub kind: &'static str,
    /// When the response was finished.
    pub time: SystemTime,
    /// `app/NAME/ID`.
    pub elb: String,
    pub client: SocketAddr,
    pub target: Option<SocketAddr>,
    pub request_processing_time: Option<Duration>,
    pub target_processing_time: Option<Duration>,
    pub response_processing_time: Option<Duration>,
    pub elb_status_code: u16,
    pub target_status_code: Option<u16>,
    pub received_bytes: u64,
    pub sent_bytes: u64,
    /// `METHOD http://host:port/path?query HTTP/1.1`.
    pub request: String,
    pub user_agent: Option<String>,
    pub target_group_arn: Option<String>,
    pub trace_id: Option<String>,
    /// The matched rule; 0 for the default rule, `None` when no rule ran.
    pub matched_rule_priority: Option<u32>,
    /// When the request arrived.
    pub request_creation_time: SystemTime,
    /// `forward`, `redirect` or `fixed-response`.
    pub actions_executed: Option<&'static str>,
    pub redirect_url: Option<String>,
    pub error_reason: Option<&'static str>,
    /// The desync classification when not compliant (`Acceptable`,
    /// `Ambiguous`, `Severe`) and its reason.
    pub classification: Option<(&'static str, &'static str)>,
}

impl AccessLogEntry {
    /// Appends the line (with its newline) in AWS's field order.
    pub fn format_into(&self, out: &mut String) {
        let dash = |s: &Option<String>| s.clone().unwrap_or_else(|| "-".into());
        let target = self.target.map(|t| t.to_string());
        let target_status = self.target_status_code.map(|s| s.to_string());
        let _ = write!(
            out,
            "{kind} {time} {elb} {client} {target} {rpt} {tpt} {spt} {status} {tstatus} {recv} {sent} ",
            kind = self.kind,
            time = iso8601(self.time),
            elb = self.elb,
            client = self.client,
            target = dash(&target),
            rpt = seconds(self.request_processing_time),
            tpt = seconds(self.target_processing_time),
            spt = seconds(self.response_processing_time),
            status = self.elb_status_code,
            tstatus = dash(&target_status),
            recv = self.received_bytes,
            sent = self.sent_bytes,
        );
        quoted(out, Some(self.request.as_str()));
        out.push(' ');
        quoted(out, self.user_agent.as_deref());
        // ssl_cipher, ssl_protocol: listeners here are plain HTTP.
        out.push_str(" - - ");
        out.push_str(self.target_group_arn.as_deref().unwrap_or("-"));
        out.push(' ');
        quoted(out, self.trace_id.as_deref());
        // domain_name, chosen_cert_arn: TLS only.
        out.push_str(r#" "-" "-" "#);
        match self.matched_rule_priority {
            Some(p) => {
                let _ = write!(out, "{p}");
            }
            None => out.push('-'),
        }
        let _ = write!(out, " {} ", iso8601(self.request_creation_time));
        quoted(out, self.actions_executed);
        out.push(' ');
        quoted(out, self.redirect_url.as_deref());
        out.push(' ');
        quoted(out, self.error_reason);
        out.push(' ');
        // target:port_list and target_status_code_list: one target per request.
        quoted(out, target.as_deref());
        out.push(' ');
        quoted(out, target_status.as_deref());
        out.push(' ');
        quoted(out, self.classification.map(|c| c.0));
        out.push(' ');
        quoted(out, self.classification.map(|c| c.1));
        out.push('\n');
    }
}

/// `2018-07-02T22:23:00.186641Z`.
fn iso8601(t: SystemTime) -> String {
    const MICROS: &[time::format_description::FormatItem<'static>] = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
    );
    OffsetDateTime::from(t).format(MICROS).unwrap_or_default()
}

/// Seconds with millisecond precision, `-1` when absent.
fn seconds(d: Option<Duration>) -> String {
    match d {
        Some(d) => format!("{:.3}", d.as_secs_f64()),
        None => "-1".into(),
    }
}

/// `"value"`, or `"-"`; embedded quotes and backslashes are escaped.
fn quoted(out: &mut String, value: Option<&str>) {
    out.push('"');
    match value {
        Some(v) if !v.is_empty() => {
            for c in v.chars() {
                match c {
                    '"' | '\\' => {
                        out.push('\\');
                        out.push(c);
                    }
                    c if c.is_control() => {
                        let _ = write!(out, "\\x{:02x}", c as u32);
                    }
                    c => out.push(c),
                }
            }
        }
        _ => out.push('-'),
    }
    out.push('"');
}

/// Where the access log goes: `-` is standard output, anything else a file
/// that is appended to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    Stdout,
    File(std::path::PathBuf),
}

impl Destination {
    pub fn parse(value: &str) -> Self {
        if value == "-" {
            Self::Stdout
        } else {
            Self::File(value.into())
        }
    }
}

/// The request path's end of the log: cheap to clone, never blocks.
#[derive(Clone)]
pub struct AccessLogSink {
    tx: mpsc::Sender<AccessLogEntry>,
    /// Entries dropped because the queue was full.
    dropped: Arc<AtomicU64>,
}

impl AccessLogSink {
    /// Starts the writer on `tasks`; it drains what is queued and stops when
    /// `stop` is cancelled.
    pub fn start(
        destination: &Destination,
        tasks: &TaskTracker,
        stop: CancellationToken,
        dropped: Arc<AtomicU64>,
    ) -> std::io::Result<Self> {
        let out: Box<dyn tokio::io::AsyncWrite + Send + Unpin> = match destination {
            Destination::Stdout => Box::new(tokio::io::stdout()),
            Destination::File(path) => Box::new(tokio::fs::File::from_std(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)?,
            )),
        };
        let (tx, rx) = mpsc::channel(QUEUE_CAPACITY);
        tasks.spawn(write_loop(rx, out, stop));
        Ok(Self { tx, dropped })
    }

    /// Queues an entry, or drops and counts it when the queue is full.
    pub fn send(&self, entry: AccessLogEntry) {
        if let Err(mpsc::error::TrySendError::Full(_)) = self.tx.try_send(entry) {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
        // Closed: the writer stopped at shutdown; nothing to count.
    }
}

async fn write_loop(
    mut rx: mpsc::Receiver<AccessLogEntry>,
    mut out: Box<dyn tokio::io::AsyncWrite + Send + Unpin>,
    stop: CancellationToken,
) {
    let mut batch = Vec::with_capacity(BATCH);
    let mut buf = String::new();
    loop {
        let stopping = tokio::select! {
            n = rx.recv_many(&mut batch, BATCH) => {
                if n == 0 {
                    break;
                }
                false
            }
            _ = stop.cancelled() => {
                rx.close();
                while let Ok(entry) = rx.try_recv() {
                    batch.push(entry);
                }
                true
            }
        };
        buf.clear();
        for entry in batch.drain(..) {
            entry.format_into(&mut buf);
        }
        if !buf.is_empty() {
            let written = async {
                out.write_all(buf.as_bytes()).await?;
                out.flush().await
            };
            if let Err(e) = written.await {
                tracing::warn!(error = %e, "access log write failed");
            }
        }
        if stopping {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64, micros: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_micros(micros)
    }

    fn forwarded() -> AccessLogEntry {
        AccessLogEntry {
            kind: "http",
            // 2018-07-02T22:23:00.186641Z
            time: at(1_530_570_180, 186_641),
            elb: "app/my-loadbalancer/50dc6c495c0c9188".into(),
            client: "192.168.131.39:2817".parse().unwrap(),
            target: Some("10.0.0.1:80".parse().unwrap()),
            request_processing_time: Some(Duration::ZERO),
            target_processing_time: Some(Duration::from_millis(1)),
            response_processing_time: Some(Duration::ZERO),
            elb_status_code: 200,
            target_status_code: Some(200),
            received_bytes: 34,
            sent_bytes: 366,
            request: "GET http://www.example.com:80/ HTTP/1.1".into(),
            user_agent: Some("curl/7.46.0".into()),
            target_group_arn: Some(
                "arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067".into(),
            ),
            trace_id: Some("Root=1-58337262-36d228ad5d99923122bbe354".into()),
            matched_rule_priority: Some(0),
            request_creation_time: at(1_530_570_168, 364_000),
            actions_executed: Some("forward"),
            redirect_url: None,
            error_reason: None,
            classification: None,
        }
    }

    #[test]
    fn forwarded_request_matches_the_aws_example() {
        let mut line = String::new();
        forwarded().format_into(&mut line);
        // The HTTP example of AWS's access-log documentation, field for field.
        assert_eq!(
            line,
            "http 2018-07-02T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 \
             192.168.131.39:2817 10.0.0.1:80 0.000 0.001 0.000 200 200 34 366 \
             \"GET http://www.example.com:80/ HTTP/1.1\" \"curl/7.46.0\" - - \
             arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 \
             \"Root=1-58337262-36d228ad5d99923122bbe354\" \"-\" \"-\" 0 2018-07-02T22:22:48.364000Z \
             \"forward\" \"-\" \"-\" \"10.0.0.1:80\" \"200\" \"-\" \"-\"\n"
        );
        // The 29 fields of an ALB access log entry.
        assert_eq!(split_fields(&line).len(), 29);
    }

    #[test]
    fn no_target_prints_dashes_and_minus_one() {
        let entry = AccessLogEntry {
            target: None,
            request_processing_time: None,
            target_processing_time: None,
            response_processing_time: None,
            elb_status_code: 503,
            target_status_code: None,
            target_group_arn: None,
            user_agent: None,
            trace_id: None,
            matched_rule_priority: None,
            actions_executed: None,
            ..forwarded()
        };
        let mut line = String::new();
        entry.format_into(&mut line);
        let fields = split_fields(&line);
        assert_eq!(fields[4], "-", "target:port");
        assert_eq!(&fields[5..8], ["-1", "-1", "-1"], "processing times");
        assert_eq!(fields[8], "503");
        assert_eq!(fields[9], "-", "target_status_code");
        assert_eq!(fields[13], "\"-\"", "user_agent");
        assert_eq!(fields[16], "-", "target_group_arn");
        assert_eq!(fields[20], "-", "matched_rule_priority");
        assert_eq!(fields[22], "\"-\"", "actions_executed");
        assert_eq!(fields[25], "\"-\"", "target:port_list");
    }

    #[test]
    fn desync_classification_fills_the_last_fields() {
        let entry = AccessLogEntry {
            classification: Some(("Ambiguous", "BothTeClPresent")),
            ..forwarded()
        };
        let mut line = String::new();
        entry.format_into(&mut line);
        let fields = split_fields(&line);
        assert_eq!(fields.len(), 29);
        assert_eq!(&fields[27..], ["\"Ambiguous\"", "\"BothTeClPresent\""]);
    }

    #[test]
    fn quotes_in_values_are_escaped() {
        let entry = AccessLogEntry {
            user_agent: Some("evil \"agent\"\n".into()),
            ..forwarded()
        };
        let mut line = String::new();
        entry.format_into(&mut line);
        assert!(line.contains(r#""evil \"agent\"\x0a""#), "{line}");
        assert_eq!(line.matches('\n').count(), 1);
        assert_eq!(split_fields(&line).len(), 29);
    }

    #[tokio::test]
    async fn writer_batches_to_a_file_and_drains_on_stop() {
        let path = std::env::temp_dir().join(format!("access-log-{}", uuid::Uuid::new_v4()));
        let tasks = TaskTracker::new();
        let stop = CancellationToken::new();
        let dropped = Arc::new(AtomicU64::new(0));
        let sink = AccessLogSink::start(
            &Destination::File(path.clone()),
            &tasks,
            stop.clone(),
            dropped.clone(),
        )
        .unwrap();
        for _ in 0..3 {
            sink.send(forwarded());
        }
        stop.cancel();
        tasks.close();
        tasks.wait().await;
        let text = std::fs::read_to_string(&path).unwrap();
        let _ = std::fs::remove_file(&path);
        assert_eq!(text.lines().count(), 3);
        assert_eq!(dropped.load(Ordering::Relaxed), 0);
        assert!(text
            .lines()
            .all(|l| l.starts_with("http 2018-07-02T22:23:00.186641Z ")));
    }

    /// Splits on spaces outside double quotes (quotes kept).
    fn split_fields(line: &str) -> Vec<String> {
        let mut fields = Vec::new();
        let mut cur = String::new();
        let (mut quoted, mut escaped) = (false, false);
        for c in line.trim_end_matches('\n').chars() {
            match c {
                _ if escaped => {
                    escaped = false;
                    cur.push(c);
                }
                '\\' if quoted => {
                    escaped = true;
                    cur.push(c);
                }
                '"' => {
                    quoted = !quoted;
                    cur.push(c);
                }
                ' ' if !quoted => fields.push(std::mem::take(&mut cur)),
                c => cur.push(c),
            }
        }
        fields.push(cur);
        fields
    }
}
