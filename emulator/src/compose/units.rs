//! Compose's sizes and durations in ECS's units, Fargate's task sizes, and
//! the naming rules of ECS, Cloud Map and ELBv2.

use crate::domain::ecs::validate::is_valid_fargate_size;

/// Fargate's task CPU sizes, smallest first.
const FARGATE_CPUS: [u32; 7] = [256, 512, 1024, 2048, 4096, 8192, 16384];
/// Fargate's largest task memory (120 GiB).
const FARGATE_MAX_MEMORY: u32 = 120 * 1024;

/// The smallest Fargate size with at least `cpu` units and `memory` MiB.
pub fn fargate_size(cpu: u32, memory: u32) -> Option<(u32, u32)> {
    let memories = std::iter::once(512).chain((1..=FARGATE_MAX_MEMORY / 1024).map(|g| g * 1024));
    FARGATE_CPUS.iter().filter(|c| **c >= cpu).find_map(|&c| {
        memories
            .clone()
            .filter(|m| *m >= memory)
            .find(|&m| is_valid_fargate_size(c, m))
            .map(|m| (c, m))
    })
}

/// `cpus: "0.5"` to CPU units (1024 a CPU), rounded up.
pub fn cpu_units(cpus: &str) -> Result<u32, String> {
    let n: f64 = cpus
        .trim()
        .parse()
        .map_err(|_| format!("{cpus:?} is not a number of CPUs"))?;
    if !(n > 0.0 && n <= 16.0) {
        return Err(format!("{cpus} CPUs is not between 0 and 16"));
    }
    Ok((n * 1024.0).ceil() as u32)
}

/// A compose byte size (`512m`, `1g`, `1.5gb`, `268435456`) to MiB, rounded up.
pub fn mebibytes(size: &str) -> Result<u32, String> {
    let lower = size.trim().to_ascii_lowercase();
    let digits_end = lower
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(lower.len());
    let (number, unit) = lower.split_at(digits_end);
    let n: f64 = number
        .parse()
        .map_err(|_| format!("{size:?} is not a size"))?;
    let bytes_per_unit: f64 = match unit.trim().trim_end_matches('b').trim_end_matches('i') {
        "" => 1.0,
        "k" => 1024.0,
        "m" => 1024.0 * 1024.0,
        "g" => 1024.0 * 1024.0 * 1024.0,
        _ => return Err(format!("{size:?} is not a size (b, k, m or g)")),
    };
    let mib = (n * bytes_per_unit / (1024.0 * 1024.0)).ceil();
    if !(1.0..=f64::from(u32::MAX)).contains(&mib) {
        return Err(format!("{size} is out of range"));
    }
    Ok(mib as u32)
}

/// A compose duration (`30s`, `1m30s`, `500ms`) in whole seconds, rounded up.
pub fn seconds(duration: &str) -> Result<i32, String> {
    let parsed = humantime::parse_duration(duration.trim())
        .map_err(|e| format!("{duration:?} is not a duration: {e}"))?;
    let secs = parsed.as_secs() + u64::from(parsed.subsec_nanos() > 0);
    i32::try_from(secs).map_err(|_| format!("{duration} is too long"))
}

/// The path of an `http://` URL in a health-check word.
pub(super) fn http_path(word: &str) -> Option<String> {
    let start = word.find("http://").or_else(|| word.find("https://"))?;
    let url = &word[start..];
    let after_scheme = &url[url.find("//")? + 2..];
    let end = after_scheme
        .find(|c: char| c.is_whitespace() || c == '"' || c == '\'')
        .unwrap_or(after_scheme.len());
    let authority_and_path = &after_scheme[..end];
    let path = authority_and_path
        .find('/')
        .map_or("/", |i| &authority_and_path[i..]);
    Some(path.to_string())
}

pub(super) fn is_ecs_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

pub(super) fn is_dns_label(name: &str) -> bool {
    (1..=63).contains(&name.len())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

/// An ELBv2 name from `parts`: letters, digits and hyphens, at most `max`
/// characters; a longer one keeps its start and ends in a hash of the
/// whole, so it stays unique and the same on every run.
pub fn aws_name(parts: &[&str], max: usize) -> String {
    let joined: String = parts
        .join("-")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let trimmed = joined.trim_matches('-').to_string();
    if trimmed.len() <= max {
        return trimmed;
    }
    // FNV-1a: stable across Rust releases, unlike std's hasher.
    let hash = trimmed.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    let suffix = format!("{:08x}", hash as u32);
    let head = trimmed[..max - suffix.len() - 1].trim_end_matches('-');
    format!("{head}-{suffix}")
}
