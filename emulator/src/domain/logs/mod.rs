//! CloudWatch Logs model: log groups, their streams and the streams' events,
//! plus the pure rules of the API: name validation, GetLogEvents paging
//! tokens and FilterLogEvents patterns.
//!
//! Every time is epoch milliseconds, as the Logs API sends them.
//!
//! # Layout
//! - this file: groups, streams, events and their rules.
//! - `settings`: a group's settings (retention).
//! - `tests`: the unit tests.

use borsh::{BorshDeserialize, BorshSerialize};

mod settings;

use std::collections::{BTreeMap, VecDeque};

pub use settings::{check_retention, RETENTION_DAYS};

/// A stream keeps at most this many events and drops the oldest beyond it.
/// AWS keeps everything until the group's retention expires; the emulator
/// keeps memory bounded instead (GetLogEvents returns at most 10,000 anyway).
pub const MAX_EVENTS_PER_STREAM: usize = 10_000;
/// A stream keeps at most this many bytes (counted as AWS counts them, see
/// [`EVENT_OVERHEAD_BYTES`]) and drops the oldest events beyond it.
pub const MAX_BYTES_PER_STREAM: usize = 16 * 1024 * 1024;
/// AWS counts every event as its UTF-8 message plus 26 bytes (PutLogEvents quotas).
pub const EVENT_OVERHEAD_BYTES: usize = 26;
/// Longest group and stream names (AWS: 512).
const MAX_NAME_LEN: usize = 512;

/// Why a CloudWatch Logs request was refused: one variant per error shape,
/// whose text is the client-facing message. The API layer maps it to the
/// awsJson1_1 error (`api::logs`); [`LogsError::code`] is the `__type`.
/// Every variant is a client error (HTTP 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LogsError {
    /// A parameter that is missing, malformed or out of range.
    #[error("{0}")]
    InvalidParameter(String),
    /// A log group or stream that does not exist.
    #[error("{0}")]
    ResourceNotFound(String),
    /// CreateLogGroup or CreateLogStream with a name in use.
    #[error("{0}")]
    ResourceAlreadyExists(String),
}

impl LogsError {
    /// The wire error code (the error shape's name).
    pub fn code(&self) -> &'static str {
        match self {
            LogsError::InvalidParameter(_) => "InvalidParameterException",
            LogsError::ResourceNotFound(_) => "ResourceNotFoundException",
            LogsError::ResourceAlreadyExists(_) => "ResourceAlreadyExistsException",
        }
    }

    pub fn group_not_found() -> Self {
        LogsError::ResourceNotFound("The specified log group does not exist.".into())
    }

    pub fn stream_not_found() -> Self {
        LogsError::ResourceNotFound("The specified log stream does not exist.".into())
    }
}

/// Now, in epoch milliseconds.
pub fn now_millis() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// Log groups by name (sorted, the order DescribeLogGroups lists them in).
#[derive(Debug, Default, BorshSerialize, BorshDeserialize)]
pub struct LogsState {
    pub groups: BTreeMap<String, LogGroup>,
}

/// One log group.
#[derive(Debug, Clone, BorshSerialize, BorshDeserialize)]
pub struct LogGroup {
    pub name: String,
    pub creation_time: i64,
    /// Streams by name (sorted: DescribeLogStreams' default order).
    pub streams: BTreeMap<String, LogStream>,
    /// Numbers the group's events; FilterLogEvents' `eventId` and the tie
    /// break between events with one timestamp.
    next_event_id: u64,
    /// PutRetentionPolicy's days; `None` keeps events forever.
    pub retention_in_days: Option<u32>,
    pub tags: BTreeMap<String, String>,
    /// Stored and echoed: events are not encrypted here.
    pub kms_key_id: Option<String>,
    /// STANDARD, INFREQUENT_ACCESS or DELIVERY.
    pub log_group_class: String,
}

/// One log stream: its events sorted by timestamp.
#[derive(Debug, Clone, BorshSerialize, BorshDeserialize)]
pub struct LogStream {
    pub name: String,
    pub creation_time: i64,
    pub last_ingestion_time: Option<i64>,
    events: VecDeque<LogEvent>,
    /// Events dropped from the front so far. Positions (paging tokens) count
    /// from the stream's first event ever, so dropping keeps them valid.
    dropped: u64,
    stored_bytes: usize,
    /// Counts PutLogEvents calls; AWS no longer checks sequence tokens but
    /// still returns one.
    upload_sequence: u64,
}

/// One stored event.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct LogEvent {
    pub timestamp: i64,
    pub message: String,
    pub ingestion_time: i64,
    /// Unique within the group.
    pub id: u64,
}

impl LogEvent {
    fn size(&self) -> usize {
        self.message.len() + EVENT_OVERHEAD_BYTES
    }
}

/// PutLogEvents takes at most this many events per call (AWS: 10,000).
pub const MAX_BATCH_EVENTS: usize = 10_000;
/// PutLogEvents takes at most this many bytes per call, counted with
/// [`EVENT_OVERHEAD_BYTES`] per event (AWS: 1,048,576).
pub const MAX_BATCH_BYTES: usize = 1_048_576;
/// The events of one PutLogEvents call span at most this (AWS: 24 hours).
pub const MAX_BATCH_SPAN_MILLIS: i64 = 24 * 3600 * 1000;
/// Older events are rejected, reported as `tooOldLogEventEndIndex` (AWS: 14 days).
pub const MAX_EVENT_AGE_MILLIS: i64 = 14 * 24 * 3600 * 1000;
/// Events further in the future are rejected, reported as
/// `tooNewLogEventStartIndex` (AWS: 2 hours).
pub const MAX_EVENT_LEAD_MILLIS: i64 = 2 * 3600 * 1000;

/// Which events of a PutLogEvents batch are stored.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct BatchCheck {
    /// Indexes of the stored events.
    pub accepted: std::ops::Range<usize>,
    /// Index of the last event rejected as too old.
    pub too_old_end: Option<usize>,
    /// Index of the first event rejected as too new.
    pub too_new_start: Option<usize>,
}

/// PutLogEvents' rules for a batch of (timestamp, message): 1 to 10,000
/// non-empty messages in chronological order within 24 hours and 1 MiB.
/// <https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutLogEvents.html>
pub fn check_batch(events: &[(i64, &str)], now: i64) -> Result<BatchCheck, LogsError> {
    if events.is_empty() || events.len() > MAX_BATCH_EVENTS {
        return Err(LogsError::InvalidParameter(format!(
            "logEvents must hold 1 to {MAX_BATCH_EVENTS} events."
        )));
    }
    if events.iter().any(|(_, m)| m.is_empty()) {
        return Err(LogsError::InvalidParameter(
            "A log event message must not be empty.".into(),
        ));
    }
    if events.windows(2).any(|w| w[1].0 < w[0].0) {
        return Err(LogsError::InvalidParameter(
            "Log events in a single PutLogEvents request must be in chronological order.".into(),
        ));
    }
    let (first, last) = (events[0].0, events[events.len() - 1].0);
    if last - first > MAX_BATCH_SPAN_MILLIS {
        return Err(LogsError::InvalidParameter(
            "A batch of log events in a single request cannot span more than 24 hours.".into(),
        ));
    }
    let bytes: usize = events
        .iter()
        .map(|(_, m)| m.len() + EVENT_OVERHEAD_BYTES)
        .sum();
    if bytes > MAX_BATCH_BYTES {
        return Err(LogsError::InvalidParameter(format!(
            "The batch of log events is {bytes} bytes; at most {MAX_BATCH_BYTES} are allowed."
        )));
    }
    // Chronological order makes the too-old events a prefix and the too-new a suffix.
    let start = events.partition_point(|(t, _)| *t < now - MAX_EVENT_AGE_MILLIS);
    let end = events.partition_point(|(t, _)| *t <= now + MAX_EVENT_LEAD_MILLIS);
    Ok(BatchCheck {
        accepted: start..end.max(start),
        too_old_end: start.checked_sub(1),
        too_new_start: (end < events.len()).then_some(end),
    })
}

/// `[\.\-_/#A-Za-z0-9]{1,512}` (CreateLogGroup).
pub fn validate_group_name(name: &str) -> Result<(), LogsError> {
    let valid = !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '/' | '#'));
    if valid {
        Ok(())
    } else {
        Err(LogsError::InvalidParameter(format!(
            "Log group name '{name}' must be 1 to 512 characters of a-z, A-Z, 0-9, '.', '-', '_', '/' and '#'."
        )))
    }
}

/// `[^:*]{1,512}` (CreateLogStream).
pub fn validate_stream_name(name: &str) -> Result<(), LogsError> {
    if !name.is_empty() && name.len() <= MAX_NAME_LEN && !name.contains([':', '*']) {
        Ok(())
    } else {
        Err(LogsError::InvalidParameter(format!(
            "Log stream name '{name}' must be 1 to 512 characters and contain no ':' or '*'."
        )))
    }
}

/// A group name from a `logGroupIdentifier`: the name itself, or an ARN
/// `arn:aws:logs:REGION:ACCOUNT:log-group:NAME[:*]`.
pub fn group_name_from_identifier(identifier: &str) -> &str {
    match identifier.split_once(":log-group:") {
        Some((_, rest)) if identifier.starts_with("arn:") => {
            rest.strip_suffix(":*").unwrap_or(rest)
        }
        _ => identifier,
    }
}

impl LogsState {
    pub fn create_group(&mut self, name: &str, now: i64) -> Result<(), LogsError> {
        validate_group_name(name)?;
        if self.groups.contains_key(name) {
            return Err(LogsError::ResourceAlreadyExists(
                "The specified log group already exists".into(),
            ));
        }
        self.groups
            .insert(name.to_string(), LogGroup::new(name, now));
        Ok(())
    }

    pub fn delete_group(&mut self, name: &str) -> Result<(), LogsError> {
        self.groups
            .remove(name)
            .map(drop)
            .ok_or_else(LogsError::group_not_found)
    }

    pub fn group(&self, name: &str) -> Result<&LogGroup, LogsError> {
        self.groups.get(name).ok_or_else(LogsError::group_not_found)
    }

    pub fn group_mut(&mut self, name: &str) -> Result<&mut LogGroup, LogsError> {
        self.groups
            .get_mut(name)
            .ok_or_else(LogsError::group_not_found)
    }

    /// Appends to `group`/`stream`, creating either if missing: what the
    /// container log shipper does. (AWS's awslogs driver needs a pre-created
    /// group or `awslogs-create-group=true`, else the task fails to start;
    /// the emulator is lenient and always creates it.)
    pub fn append_creating(
        &mut self,
        group: &str,
        stream: &str,
        events: impl IntoIterator<Item = (i64, String)>,
        now: i64,
    ) {
        let group = self
            .groups
            .entry(group.to_string())
            .or_insert_with(|| LogGroup::new(group, now));
        if !group.streams.contains_key(stream) {
            group
                .streams
                .insert(stream.to_string(), LogStream::new(stream, now));
        }
        // The stream exists now, so append cannot fail.
        let _ = group.append(stream, events, now);
    }
}

impl LogGroup {
    pub fn new(name: &str, now: i64) -> Self {
        Self {
            name: name.to_string(),
            creation_time: now,
            streams: BTreeMap::new(),
            next_event_id: 1,
            retention_in_days: None,
            tags: BTreeMap::new(),
            kms_key_id: None,
            log_group_class: "STANDARD".into(),
        }
    }

    /// Bytes held by all streams (DescribeLogGroups `storedBytes`).
    pub fn stored_bytes(&self) -> usize {
        self.streams.values().map(|s| s.stored_bytes).sum()
    }

    pub fn create_stream(&mut self, name: &str, now: i64) -> Result<(), LogsError> {
        validate_stream_name(name)?;
        if self.streams.contains_key(name) {
            return Err(LogsError::ResourceAlreadyExists(
                "The specified log stream already exists".into(),
            ));
        }
        self.streams
            .insert(name.to_string(), LogStream::new(name, now));
        Ok(())
    }

    pub fn delete_stream(&mut self, name: &str) -> Result<(), LogsError> {
        self.streams
            .remove(name)
            .map(drop)
            .ok_or_else(LogsError::stream_not_found)
    }

    pub fn stream(&self, name: &str) -> Result<&LogStream, LogsError> {
        self.streams
            .get(name)
            .ok_or_else(LogsError::stream_not_found)
    }

    /// Adds events (timestamp, message) to an existing stream, keeping it
    /// sorted by timestamp and within the bounds. Returns the stream's new
    /// upload sequence number.
    pub fn append(
        &mut self,
        stream: &str,
        events: impl IntoIterator<Item = (i64, String)>,
        now: i64,
    ) -> Result<u64, LogsError> {
        let stream = self
            .streams
            .get_mut(stream)
            .ok_or_else(LogsError::stream_not_found)?;
        for (timestamp, message) in events {
            let event = LogEvent {
                timestamp,
                message,
                ingestion_time: now,
                id: self.next_event_id,
            };
            self.next_event_id += 1;
            stream.insert(event);
        }
        stream.last_ingestion_time = Some(now);
        stream.upload_sequence += 1;
        Ok(stream.upload_sequence)
    }
}

/// Where a GetLogEvents page starts: a position between two events,
/// counted from the stream's first event ever.
#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum Cursor {
    /// Events at and after the position (`f/N` tokens, `startFromHead`).
    Forward(u64),
    /// Events before the position (`b/N` tokens, the default tail).
    Backward(u64),
}

impl Cursor {
    /// Parses `f/N` or `b/N`, the tokens [`Page`] hands out.
    pub fn parse(token: &str) -> Result<Self, LogsError> {
        let invalid = || LogsError::InvalidParameter("The specified nextToken is invalid.".into());
        let (direction, position) = token.split_once('/').ok_or_else(invalid)?;
        let position = position.parse().map_err(|_| invalid())?;
        match direction {
            "f" => Ok(Self::Forward(position)),
            "b" => Ok(Self::Backward(position)),
            _ => Err(invalid()),
        }
    }
}

/// One GetLogEvents page.
#[derive(Debug)]
pub struct Page<'a> {
    pub events: Vec<&'a LogEvent>,
    /// Position after the page: `nextForwardToken`.
    pub forward: u64,
    /// Position of the page's start: `nextBackwardToken`.
    pub backward: u64,
}

impl Page<'_> {
    /// `f/N`. At the end of the stream this is the token that was passed
    /// in, which is how the SDK paginators know to stop (as with AWS).
    pub fn forward_token(&self) -> String {
        format!("f/{}", self.forward)
    }

    pub fn backward_token(&self) -> String {
        format!("b/{}", self.backward)
    }
}

impl LogStream {
    pub fn new(name: &str, now: i64) -> Self {
        Self {
            name: name.to_string(),
            creation_time: now,
            last_ingestion_time: None,
            events: VecDeque::new(),
            dropped: 0,
            stored_bytes: 0,
            upload_sequence: 0,
        }
    }

    pub fn events(&self) -> impl DoubleEndedIterator<Item = &LogEvent> + '_ {
        self.events.iter()
    }

    pub fn first_event_timestamp(&self) -> Option<i64> {
        self.events.front().map(|e| e.timestamp)
    }

    pub fn last_event_timestamp(&self) -> Option<i64> {
        self.events.back().map(|e| e.timestamp)
    }

    pub fn stored_bytes(&self) -> usize {
        self.stored_bytes
    }

    /// `uploadSequenceToken`/`nextSequenceToken`: digits, as AWS's are.
    pub fn sequence_token(&self) -> String {
        format!("{:056}", self.upload_sequence)
    }

    /// Position before the oldest event held.
    pub fn head(&self) -> u64 {
        self.dropped
    }

    /// Position after the newest event.
    pub fn tail(&self) -> u64 {
        self.dropped + self.events.len() as u64
    }

    /// Drops events with a timestamp before `cutoff` (epoch ms).
    fn expire_before(&mut self, cutoff: i64) {
        while self.events.front().is_some_and(|e| e.timestamp < cutoff) {
            if let Some(oldest) = self.events.pop_front() {
                self.stored_bytes -= oldest.size();
                self.dropped += 1;
            }
        }
    }

    fn insert(&mut self, event: LogEvent) {
        // Events almost always arrive in order; an older one goes after
        // every event with a timestamp not later than its own.
        let at = if self
            .events
            .back()
            .is_none_or(|e| e.timestamp <= event.timestamp)
        {
            self.events.len()
        } else {
            self.events
                .partition_point(|e| e.timestamp <= event.timestamp)
        };
        self.stored_bytes += event.size();
        self.events.insert(at, event);
        while self.events.len() > MAX_EVENTS_PER_STREAM || self.stored_bytes > MAX_BYTES_PER_STREAM
        {
            let Some(oldest) = self.events.pop_front() else {
                break;
            };
            self.stored_bytes -= oldest.size();
            self.dropped += 1;
        }
    }

    /// A GetLogEvents page: up to `limit` events with a timestamp in
    /// `[start, end)`, read forward from or backward before `cursor`.
    pub fn page(
        &self,
        cursor: Cursor,
        start: Option<i64>,
        end: Option<i64>,
        limit: usize,
    ) -> Page<'_> {
        let in_range = |e: &LogEvent| {
            start.is_none_or(|s| e.timestamp >= s) && end.is_none_or(|t| e.timestamp < t)
        };
        let clamp = |p: u64| p.clamp(self.head(), self.tail());
        let index = |p: u64| (p - self.dropped) as usize;
        let position = |i: usize| self.dropped + i as u64;
        match cursor {
            Cursor::Forward(from) => {
                let from = clamp(from);
                let mut events = vec![];
                let mut first = None;
                let mut scanned_to = from;
                for (i, e) in self.events.iter().enumerate().skip(index(from)) {
                    if events.len() == limit {
                        break;
                    }
                    scanned_to = position(i + 1);
                    if in_range(e) {
                        first.get_or_insert(position(i));
                        events.push(e);
                    }
                }
                Page {
                    events,
                    forward: scanned_to,
                    backward: first.unwrap_or(from),
                }
            }
            Cursor::Backward(before) => {
                let before = clamp(before);
                let mut events = vec![];
                let mut last = None;
                let mut scanned_to = before;
                for (i, e) in self.events.iter().enumerate().take(index(before)).rev() {
                    if events.len() == limit {
                        break;
                    }
                    scanned_to = position(i);
                    if in_range(e) {
                        last.get_or_insert(position(i + 1));
                        events.push(e);
                    }
                }
                events.reverse();
                Page {
                    events,
                    forward: last.unwrap_or(before),
                    backward: scanned_to,
                }
            }
        }
    }
}

/// A FilterLogEvents `filterPattern` for unstructured events: terms and
/// "quoted phrases" that must all appear, `-term` that must not, and
/// `?term` of which at least one must. Matching is case-sensitive, as in
/// AWS. JSON (`{ $.x = 1 }`) and space-delimited (`[a, b]`) patterns are
/// not supported.
/// <https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html>
#[derive(Debug, Clone, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct FilterPattern {
    required: Vec<String>,
    excluded: Vec<String>,
    any_of: Vec<String>,
}

impl FilterPattern {
    pub fn parse(pattern: &str) -> Result<Self, LogsError> {
        let trimmed = pattern.trim();
        if trimmed.starts_with('{') || trimmed.starts_with('[') {
            return Err(LogsError::InvalidParameter(
                "This emulator supports filter patterns of terms, \"quoted phrases\", -term and ?term; not JSON or space-delimited patterns.".into(),
            ));
        }
        let mut out = Self::default();
        let mut chars = trimmed.chars().peekable();
        loop {
            while chars.next_if(|c| c.is_whitespace()).is_some() {}
            let Some(&first) = chars.peek() else { break };
            let list = match first {
                '-' => &mut out.excluded,
                '?' => &mut out.any_of,
                _ => &mut out.required,
            };
            if matches!(first, '-' | '?') {
                chars.next();
            }
            let mut term = String::new();
            if chars.next_if_eq(&'"').is_some() {
                let mut closed = false;
                while let Some(c) = chars.next() {
                    match c {
                        '"' => {
                            closed = true;
                            break;
                        }
                        '\\' => term.extend(chars.next()),
                        c => term.push(c),
                    }
                }
                if !closed {
                    return Err(LogsError::InvalidParameter(format!(
                        "Invalid filter pattern: unterminated quote in {pattern}"
                    )));
                }
            } else {
                while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                    term.push(c);
                }
            }
            if !term.is_empty() {
                list.push(term);
            }
        }
        Ok(out)
    }

    /// An empty pattern matches every event.
    pub fn matches(&self, message: &str) -> bool {
        self.required.iter().all(|t| message.contains(t.as_str()))
            && !self.excluded.iter().any(|t| message.contains(t.as_str()))
            && (self.any_of.is_empty() || self.any_of.iter().any(|t| message.contains(t.as_str())))
    }
}

/// Where a FilterLogEvents page resumes: after this (timestamp, event id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, BorshSerialize, BorshDeserialize)]
pub struct FilterCursor {
    pub timestamp: i64,
    pub id: u64,
}

impl FilterCursor {
    pub fn parse(token: &str) -> Result<Self, LogsError> {
        let invalid = || LogsError::InvalidParameter("The specified nextToken is invalid.".into());
        let rest = token.strip_prefix("e/").ok_or_else(invalid)?;
        let (timestamp, id) = rest.split_once('/').ok_or_else(invalid)?;
        Ok(Self {
            timestamp: timestamp.parse().map_err(|_| invalid())?,
            id: id.parse().map_err(|_| invalid())?,
        })
    }

    pub fn token(&self) -> String {
        format!("e/{}/{}", self.timestamp, self.id)
    }
}

/// What FilterLogEvents searches and how many it returns.
#[derive(Debug, Clone, Default, BorshSerialize, BorshDeserialize)]
pub struct FilterQuery {
    /// `None`: every stream, else exactly these.
    pub stream_names: Option<Vec<String>>,
    pub stream_prefix: Option<String>,
    /// Both bounds inclusive (unlike GetLogEvents, whose end is exclusive).
    pub start: Option<i64>,
    pub end: Option<i64>,
    pub pattern: FilterPattern,
    pub after: Option<FilterCursor>,
    pub limit: usize,
}

/// One FilterLogEvents page.
#[derive(Debug)]
pub struct FilterPage<'a> {
    /// Sorted by timestamp across streams (AWS always interleaves now).
    pub events: Vec<(&'a str, &'a LogEvent)>,
    pub searched: Vec<&'a str>,
    /// Set when more events match after this page.
    pub next: Option<FilterCursor>,
}

impl LogGroup {
    pub fn filter(&self, query: &FilterQuery) -> FilterPage<'_> {
        let streams: Vec<&LogStream> = self
            .streams
            .values()
            .filter(|s| {
                query
                    .stream_names
                    .as_ref()
                    .is_none_or(|names| names.contains(&s.name))
                    && query
                        .stream_prefix
                        .as_ref()
                        .is_none_or(|p| s.name.starts_with(p.as_str()))
            })
            .collect();
        let mut events: Vec<(&str, &LogEvent)> = streams
            .iter()
            .flat_map(|s| s.events.iter().map(move |e| (s.name.as_str(), e)))
            .filter(|(_, e)| {
                query.start.is_none_or(|s| e.timestamp >= s)
                    && query.end.is_none_or(|t| e.timestamp <= t)
                    && query.after.is_none_or(|after| {
                        FilterCursor {
                            timestamp: e.timestamp,
                            id: e.id,
                        } > after
                    })
                    && query.pattern.matches(&e.message)
            })
            .collect();
        events.sort_by_key(|(_, e)| (e.timestamp, e.id));
        let next = (events.len() > query.limit).then(|| {
            let (_, last) = events[query.limit - 1];
            FilterCursor {
                timestamp: last.timestamp,
                id: last.id,
            }
        });
        events.truncate(query.limit);
        FilterPage {
            events,
            searched: streams.iter().map(|s| s.name.as_str()).collect(),
            next,
        }
    }
}

#[cfg(test)]
mod tests;
