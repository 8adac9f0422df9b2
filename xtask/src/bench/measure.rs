//! Measuring a contender from /proc: its CPU time and peak RSS over a load
//! run, and every CPU's busy and steal shares.

use anyhow::{Context, Result};

use super::report::Sample;

/// Runs a load and adds the process's CPU time and peak RSS to its sample.
pub(super) fn measure(pid: Option<u32>, load: impl FnOnce() -> Result<Sample>) -> Result<Sample> {
    let before = pid.map(cpu_ticks).transpose()?;
    let cpus_before = cpu_times();
    let mut sample = load()?;
    if let (Some(a), Some(b)) = (cpus_before, cpu_times()) {
        sample.busy = Some((busy_share(&a, &b, 0), busy_share(&a, &b, 1)));
    }
    if let (Some(pid), Some(before)) = (pid, before) {
        let ticks = cpu_ticks(pid)?.saturating_sub(before);
        let secs = ticks as f64 / clock_ticks_per_second();
        if sample.requests > 0 {
            sample.cpu_per_10k = Some(secs / sample.requests as f64 * 10_000.0);
        }
        sample.rss_kb = peak_rss_kb(pid);
    }
    Ok(sample)
}

/// One CPU's clock ticks since boot, from /proc/stat.
pub(super) struct CpuTicks {
    /// Everything but idle and iowait (steal included).
    pub(super) busy: u64,
    /// Time the hypervisor gave to other guests while this one wanted to run.
    pub(super) steal: u64,
    pub(super) total: u64,
}

/// Per CPU, from /proc/stat.
pub(super) fn cpu_times() -> Option<Vec<CpuTicks>> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let mut out = Vec::new();
    for line in stat.lines() {
        let Some(rest) = line.strip_prefix("cpu") else {
            continue;
        };
        if !rest.starts_with(|c: char| c.is_ascii_digit()) {
            continue;
        }
        let v: Vec<u64> = rest
            .split_whitespace()
            .skip(1)
            .filter_map(|x| x.parse().ok())
            .collect();
        // user nice system idle iowait irq softirq steal...
        let field = |i: usize| v.get(i).copied().unwrap_or(0);
        let total: u64 = v.iter().take(8).sum();
        out.push(CpuTicks {
            busy: total - field(3) - field(4),
            steal: field(7),
            total,
        });
    }
    Some(out)
}

pub(super) fn busy_share(before: &[CpuTicks], after: &[CpuTicks], cpu: usize) -> f64 {
    match (before.get(cpu), after.get(cpu)) {
        (Some(a), Some(b)) if b.total > a.total => {
            (b.busy - a.busy) as f64 / (b.total - a.total) as f64
        }
        _ => 0.0,
    }
}

/// Steal's share of all CPUs' time between two readings.
pub(super) fn steal_share(before: &[CpuTicks], after: &[CpuTicks]) -> f64 {
    let (mut steal, mut total) = (0, 0);
    for (a, b) in before.iter().zip(after) {
        steal += b.steal.saturating_sub(a.steal);
        total += b.total.saturating_sub(a.total);
    }
    if total == 0 {
        0.0
    } else {
        steal as f64 / total as f64
    }
}

/// utime + stime of a process, in clock ticks.
fn cpu_ticks(pid: u32) -> Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name (which may hold spaces): state is 3.
    let rest = stat.rsplit_once(')').context("malformed stat")?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11).context("utime")?.parse()?;
    let stime: u64 = fields.get(12).context("stime")?.parse()?;
    Ok(utime + stime)
}

fn clock_ticks_per_second() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

fn status_kb(pid: u32, key: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

pub(super) fn peak_rss_kb(pid: u32) -> Option<u64> {
    status_kb(pid, "VmHWM:")
}

pub(super) fn current_rss_kb(pid: u32) -> Option<u64> {
    status_kb(pid, "VmRSS:")
}
