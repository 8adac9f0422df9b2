//! CloudWatch Logs model: log groups, streams and their events.

/// Log groups by name.
#[derive(Debug, Default)]
pub struct LogsState {}
