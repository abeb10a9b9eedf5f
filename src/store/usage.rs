//! The API budget's durable counts (table `api_usage`, migration 4): per
//! workspace and UTC day, the app's own Salesforce calls and the org's last
//! `Sforce-Limit-Info: api-usage=used/limit`. Replicas add their calls to
//! the same row (`app_calls + n`), so the count is the app's, not one
//! process's. The rules on top (the cap, the sidebar's reserve) are in
//! `crate::budget`.

use rusqlite::{params, OptionalExtension};

use super::{Backend, Store, StoreError};

/// One workspace's day.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsageDay {
    /// `YYYY-MM-DD`, UTC.
    pub day: String,
    /// Salesforce calls this app made that day.
    pub app_calls: u64,
    /// The org's last `api-usage=used/limit` (all apps, Salesforce's
    /// rolling 24 hours) and when it was seen (ms since the epoch).
    pub org: Option<OrgUsage>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrgUsage {
    pub used: u64,
    pub limit: u64,
    pub seen_at_ms: i64,
}

impl Store {
    /// Adds `calls` to the workspace's count for `day` and, when given,
    /// records the org's usage as last seen (a later sighting wins).
    pub async fn add_api_usage(
        &self,
        day: &str,
        calls: u64,
        org: Option<OrgUsage>,
    ) -> Result<(), StoreError> {
        self.ready().await?;
        let ws = self.workspace().to_string();
        let day = day.to_string();
        let calls = calls as i64;
        let (used, limit, seen) = match org {
            Some(o) => (
                Some(o.used as i64),
                Some(o.limit as i64),
                Some(o.seen_at_ms),
            ),
            None => (None, None, None),
        };
        match &self.backend {
            Backend::Sqlite(s) => {
                s.run(move |c| {
                    c.execute(
                        "INSERT INTO api_usage (workspace_id, day, app_calls, org_used, org_limit, org_seen_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                         ON CONFLICT (workspace_id, day) DO UPDATE SET
                           app_calls = app_calls + excluded.app_calls,
                           org_used = CASE WHEN excluded.org_seen_at IS NOT NULL
                               AND (org_seen_at IS NULL OR excluded.org_seen_at >= org_seen_at)
                               THEN excluded.org_used ELSE org_used END,
                           org_limit = CASE WHEN excluded.org_seen_at IS NOT NULL
                               AND (org_seen_at IS NULL OR excluded.org_seen_at >= org_seen_at)
                               THEN excluded.org_limit ELSE org_limit END,
                           org_seen_at = MAX(COALESCE(org_seen_at, excluded.org_seen_at),
                                             COALESCE(excluded.org_seen_at, org_seen_at))",
                        params![ws, day, calls, used, limit, seen],
                    )?;
                    Ok(())
                })
                .await
            }
            Backend::Postgres(p) => {
                p.client()
                    .await?
                    .execute(
                        "INSERT INTO api_usage (workspace_id, day, app_calls, org_used, org_limit, org_seen_at)
                         VALUES ($1, $2, $3, $4, $5, $6)
                         ON CONFLICT (workspace_id, day) DO UPDATE SET
                           app_calls = api_usage.app_calls + EXCLUDED.app_calls,
                           org_used = CASE WHEN EXCLUDED.org_seen_at IS NOT NULL
                               AND (api_usage.org_seen_at IS NULL OR EXCLUDED.org_seen_at >= api_usage.org_seen_at)
                               THEN EXCLUDED.org_used ELSE api_usage.org_used END,
                           org_limit = CASE WHEN EXCLUDED.org_seen_at IS NOT NULL
                               AND (api_usage.org_seen_at IS NULL OR EXCLUDED.org_seen_at >= api_usage.org_seen_at)
                               THEN EXCLUDED.org_limit ELSE api_usage.org_limit END,
                           org_seen_at = GREATEST(api_usage.org_seen_at, EXCLUDED.org_seen_at)",
                        &[&ws, &day, &calls, &used, &limit, &seen],
                    )
                    .await?;
                Ok(())
            }
        }
    }

    /// The workspace's days from `from` (inclusive, `YYYY-MM-DD`), oldest
    /// first; days without a call have no row.
    pub async fn api_usage_since(&self, from: &str) -> Result<Vec<UsageDay>, StoreError> {
        self.ready().await?;
        let ws = self.workspace().to_string();
        let from = from.to_string();
        type Raw = (String, i64, Option<i64>, Option<i64>, Option<i64>);
        let rows: Vec<Raw> = match &self.backend {
            Backend::Sqlite(s) => {
                s.run(move |c| {
                    let mut st = c.prepare(
                        "SELECT day, app_calls, org_used, org_limit, org_seen_at FROM api_usage
                         WHERE workspace_id = ?1 AND day >= ?2 ORDER BY day",
                    )?;
                    let rows = st
                        .query_map(params![ws, from], |r| {
                            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                        })?
                        .collect::<Result<Vec<Raw>, _>>()?;
                    Ok(rows)
                })
                .await?
            }
            Backend::Postgres(p) => p
                .client()
                .await?
                .query(
                    "SELECT day, app_calls, org_used, org_limit, org_seen_at FROM api_usage
                     WHERE workspace_id = $1 AND day >= $2 ORDER BY day",
                    &[&ws, &from],
                )
                .await?
                .iter()
                .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
                .collect(),
        };
        Ok(rows.into_iter().map(usage_day).collect())
    }

    /// One day of the workspace (zero calls when it has no row).
    pub async fn api_usage_on(&self, day: &str) -> Result<UsageDay, StoreError> {
        self.ready().await?;
        let ws = self.workspace().to_string();
        let d = day.to_string();
        let row = match &self.backend {
            Backend::Sqlite(s) => {
                s.run(move |c| {
                    Ok(c.query_row(
                        "SELECT day, app_calls, org_used, org_limit, org_seen_at FROM api_usage
                         WHERE workspace_id = ?1 AND day = ?2",
                        params![ws, d],
                        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
                    )
                    .optional()?)
                })
                .await?
            }
            Backend::Postgres(p) => p
                .client()
                .await?
                .query_opt(
                    "SELECT day, app_calls, org_used, org_limit, org_seen_at FROM api_usage
                     WHERE workspace_id = $1 AND day = $2",
                    &[&ws, &d],
                )
                .await?
                .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4))),
        };
        Ok(row.map(usage_day).unwrap_or_else(|| UsageDay {
            day: day.to_string(),
            ..UsageDay::default()
        }))
    }
}

fn usage_day(
    (day, calls, used, limit, seen): (String, i64, Option<i64>, Option<i64>, Option<i64>),
) -> UsageDay {
    UsageDay {
        day,
        app_calls: calls.max(0) as u64,
        org: match (used, limit, seen) {
            (Some(u), Some(l), Some(s)) => Some(OrgUsage {
                used: u.max(0) as u64,
                limit: l.max(0) as u64,
                seen_at_ms: s,
            }),
            _ => None,
        },
    }
}
