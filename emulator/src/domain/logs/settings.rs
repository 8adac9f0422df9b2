//! What a log group carries besides its events: the retention policy
//! (enforced: older events are dropped) and tags.

use super::{LogGroup, LogsError, LogsState};

/// The values PutRetentionPolicy takes (the model's enum).
pub const RETENTION_DAYS: [u32; 22] = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

/// A group has at most this many tags (AWS: 50).
pub const MAX_TAGS: usize = 50;

const DAY_MILLIS: i64 = 24 * 60 * 60 * 1000;

/// Checks `retentionInDays`, with AWS's validation wording.
pub fn check_retention(days: i64) -> Result<u32, LogsError> {
    u32::try_from(days)
        .ok()
        .filter(|d| RETENTION_DAYS.contains(d))
        .ok_or_else(|| {
            LogsError::InvalidParameter(format!(
                "1 validation error detected: Value '{days}' at 'retentionInDays' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
                RETENTION_DAYS.map(|d| d.to_string()).join(", ")
            ))
        })
}

impl LogGroup {
    /// Drops the events older than the retention policy allows.
    pub fn expire(&mut self, now: i64) {
        if let Some(days) = self.retention_in_days {
            let cutoff = now - i64::from(days) * DAY_MILLIS;
            for stream in self.streams.values_mut() {
                stream.expire_before(cutoff);
            }
        }
    }

    /// Adds or replaces tags, within AWS's limit.
    pub fn tag(
        &mut self,
        tags: impl IntoIterator<Item = (String, String)>,
    ) -> Result<(), LogsError> {
        let mut merged = self.tags.clone();
        merged.extend(tags);
        if merged.len() > MAX_TAGS {
            return Err(LogsError::InvalidParameter(format!(
                "A log group can have at most {MAX_TAGS} tags."
            )));
        }
        self.tags = merged;
        Ok(())
    }
}

impl LogsState {
    /// Applies every group's retention policy.
    pub fn expire(&mut self, now: i64) {
        for group in self.groups.values_mut() {
            group.expire(now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_values_follow_the_enum() {
        assert_eq!(check_retention(7).unwrap(), 7);
        assert!(check_retention(2).is_err());
        assert!(check_retention(-1).is_err());
        let e = check_retention(8).unwrap_err();
        assert!(
            e.to_string().contains("retentionInDays"),
            "{}",
            e.to_string()
        );
    }

    #[test]
    fn retention_drops_old_events_only() {
        let mut logs = LogsState::default();
        let now = 100 * DAY_MILLIS;
        logs.append_creating(
            "g",
            "s",
            [(now - 3 * DAY_MILLIS, "old".into()), (now, "new".into())],
            now,
        );
        logs.expire(now);
        assert_eq!(
            logs.groups["g"].streams["s"].events().count(),
            2,
            "no policy keeps all"
        );
        logs.group_mut("g").unwrap().retention_in_days = Some(1);
        logs.expire(now);
        let messages: Vec<_> = logs.groups["g"].streams["s"]
            .events()
            .map(|e| e.message.as_str())
            .collect();
        assert_eq!(messages, ["new"]);
    }

    #[test]
    fn tags_are_bounded() {
        let mut group = LogGroup::new("g", 0);
        group
            .tag((0..50).map(|i| (format!("k{i}"), "v".into())))
            .unwrap();
        assert!(group.tag([("one".into(), "more".into())]).is_err());
        assert_eq!(group.tags.len(), 50);
        group.tag([("k1".into(), "replaced".into())]).unwrap();
        assert_eq!(group.tags["k1"], "replaced");
    }
}
