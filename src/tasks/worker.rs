//! The automatic-task worker: takes stored notifications off the queue,
//! oldest first, one at a time, and does the Salesforce work after Intercom
//! has had its answer.
//!
//! - `conversation.user.created`: an open Task for each Lead or Contact with
//!   the original participant's email (none is created: for automatic tasks
//!   the person must already be in Salesforce).
//! - `conversation.admin.closed`: each of the conversation's Tasks that is
//!   still open gets the transcript so far and is completed. A Task already
//!   completed by an earlier close is left as it is.
//!
//! Every replica may run a worker: a job is claimed for a lease (on
//! PostgreSQL with `FOR UPDATE SKIP LOCKED`), so exactly one works it, and
//! another takes it over once the lease lapses (its worker died).
//!
//! A failure is retried with exponential back-off; one that a retry now
//! cannot cure is parked as `failed` with its reason. Parked for the
//! connection (revoked, or an outage longer than the attempts): queued again
//! automatically when a Salesforce session works again (a refresh on any
//! replica, or a restart). Parked for good (a refused field): queued again
//! by an operator (`sf-inbox retry-failed`). Every step is safe to repeat:
//! the map (one row per conversation and record) is consulted first, then
//! Salesforce is asked for a Task with the same Subject and WhoId, and only
//! then is one created. Finished jobs are deleted after
//! `QUEUE_RETENTION_DAYS`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use super::rules::{self, TaskKind};
use super::{TaskError, TaskFields, Tasks};
use crate::budget::{Budget, Gate};
use crate::cases::{self, Cases, CASE_TOPIC_PREFIX};
use crate::salesforce::SalesforceError;
use crate::settings::WorkspaceSettings;
use crate::store::{
    Failure, Job, NewSyncError, Park, Store, SyncKind, JOB_LEASE, SYNC_ERROR_RETENTION,
};

pub const TOPIC_CREATED: &str = "conversation.user.created";
pub const TOPIC_CLOSED: &str = "conversation.admin.closed";

/// After this many failed attempts a notification is parked.
pub const MAX_ATTEMPTS: u32 = 8;

/// How often finished jobs older than `QUEUE_RETENTION_DAYS` are deleted.
const PURGE_EVERY: Duration = Duration::from_secs(3600);

/// Where a test can stop the worker as if the process died.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultPoint {
    /// Salesforce created the Task; the map has not recorded it yet.
    AfterCreate,
    /// One target's Task is made and mapped; the next target's is not.
    BetweenTargets,
}

/// Returns `true` to crash at that point.
pub type Fault = Arc<dyn Fn(FaultPoint) -> bool + Send + Sync>;

pub struct Worker {
    tasks: Arc<Tasks>,
    store: Store,
    wake: Arc<Notify>,
    fault: Option<Fault>,
    base_delay: Duration,
    lease: Duration,
    retention: Duration,
    /// Changes when a Salesforce session starts working again.
    connected: Option<tokio::sync::watch::Receiver<u64>>,
    /// The API budget: past its background share, jobs wait.
    budget: Option<Budget>,
    /// The automatic-case flow (jobs whose topic starts with `case:`).
    cases: Option<Arc<Cases>>,
    /// The workspace's settings when it has none stored (the environment's).
    defaults: Option<WorkspaceSettings>,
}

/// `base · 2^attempts`, at most five minutes.
pub fn backoff(base: Duration, attempts: u32) -> Duration {
    base.saturating_mul(1u32 << attempts.min(16))
        .min(Duration::from_secs(300))
}

/// What a failure that will not be retried now waits for.
pub fn park_for(e: &TaskError) -> Park {
    match e {
        TaskError::Salesforce(
            SalesforceError::Reconnect(_) | SalesforceError::NotConfigured(_),
        ) => Park::Connection,
        e if e.is_retryable() => Park::Connection,
        _ => Park::Permanent,
    }
}

impl Worker {
    pub fn new(tasks: Arc<Tasks>, store: Store, wake: Arc<Notify>) -> Worker {
        Worker {
            connected: None,
            budget: None,
            cases: None,
            defaults: None,
            tasks,
            store,
            wake,
            fault: None,
            base_delay: Duration::from_secs(2),
            lease: JOB_LEASE,
            retention: Duration::from_secs(7 * 24 * 3600),
        }
    }

    pub fn with_fault(mut self, fault: Fault) -> Worker {
        self.fault = Some(fault);
        self
    }

    /// The first retry's delay (tests shorten it).
    pub fn with_base_delay(mut self, d: Duration) -> Worker {
        self.base_delay = d;
        self
    }

    /// How long a claimed job stays this worker's (tests of a dead worker
    /// shorten it).
    pub fn with_lease(mut self, d: Duration) -> Worker {
        self.lease = d;
        self
    }

    /// Retries parked jobs whenever this changes (a session works again).
    pub fn with_connected(mut self, rx: tokio::sync::watch::Receiver<u64>) -> Worker {
        self.connected = Some(rx);
        self
    }

    /// Jobs wait while `budget` holds background work back (the sidebar
    /// keeps the reserve).
    pub fn with_budget(mut self, budget: Budget) -> Worker {
        self.budget = Some(budget);
        self
    }

    /// How long the API budget holds background work back (`None`: go).
    /// A budget that cannot be read does not stop the queue.
    pub async fn budget_wait(&self) -> Option<Duration> {
        let budget = self.budget.as_ref()?;
        match budget.background().await {
            Ok(Gate::Go) => None,
            Ok(g @ Gate::Wait { .. }) => {
                let now = chrono::DateTime::from_timestamp_millis(self.store.clock().now_ms())
                    .unwrap_or_else(chrono::Utc::now);
                Some(g.wait_from(now).max(Duration::from_millis(1)))
            }
            Err(e) => {
                tracing::warn!(error = %e, "API budget unreadable; the queue goes on");
                None
            }
        }
    }

    /// Dispatches case work to `cases`; `defaults` are the settings of a
    /// workspace with none stored. Without them every notification is an
    /// automatic-task job (as before settings existed).
    pub fn with_cases(mut self, cases: Arc<Cases>, defaults: WorkspaceSettings) -> Worker {
        self.cases = Some(cases);
        self.defaults = Some(defaults);
        self
    }

    /// `QUEUE_RETENTION_DAYS`.
    pub fn with_retention(mut self, d: Duration) -> Worker {
        self.retention = d;
        self
    }

    pub fn spawn(self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(self.run())
    }

    /// Works until a fault point fires (never, outside tests).
    pub async fn run(mut self) {
        // A restart (say after a reconnect): what waited for the connection
        // gets another chance.
        self.retry_parked("start").await;
        let mut last_purge: Option<Instant> = None;
        loop {
            if last_purge.is_none_or(|t| t.elapsed() >= PURGE_EVERY) {
                match self.store.purge_finished(self.retention).await {
                    Ok(n) if n > 0 => tracing::info!(
                        deleted = n,
                        "finished notifications past QUEUE_RETENTION_DAYS deleted"
                    ),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "could not delete old notifications"),
                }
                if let Err(e) = self.store.purge_sync_errors(SYNC_ERROR_RETENTION).await {
                    tracing::warn!(error = %e, "could not delete old sync errors");
                }
                last_purge = Some(Instant::now());
            }
            match self.run_once().await {
                Ok(true) => continue,
                Ok(false) => {
                    let wait = match self.budget_wait().await {
                        // Held by the budget: look again now and then (the
                        // cap may change, the org's usage drop).
                        Some(d) => d.min(Duration::from_secs(60)),
                        None => match self.store.next_wait().await {
                            Ok(Some(d)) => d.min(Duration::from_secs(30)),
                            _ => Duration::from_secs(30),
                        },
                    };
                    let reconnected = async {
                        match self.connected.as_mut() {
                            Some(rx) => rx.changed().await.is_ok(),
                            None => std::future::pending().await,
                        }
                    };
                    let again = tokio::select! {
                        _ = tokio::time::sleep(wait) => false,
                        _ = self.wake.notified() => false,
                        ok = reconnected => {
                            if !ok {
                                self.connected = None;
                            }
                            ok
                        }
                    };
                    if again {
                        self.retry_parked("the Salesforce connection works again")
                            .await;
                    }
                }
                Err(TaskError::Crashed(point)) => {
                    tracing::warn!(?point, "task worker stopped at a fault point");
                    return;
                }
                Err(e) => {
                    tracing::error!(error = %e, "task queue unreadable; retrying in 1 s");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }

    async fn retry_parked(&self, why: &str) {
        match self.store.retry_failed(Some(Park::Connection)).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(jobs = n, reason = why, "parked notifications queued again"),
            Err(e) => tracing::warn!(error = %e, "could not queue parked notifications again"),
        }
    }

    /// Claims and handles the next due notification; `false` when none is
    /// due, or the API budget holds background work back.
    pub async fn run_once(&self) -> Result<bool, TaskError> {
        if let Some(wait) = self.budget_wait().await {
            tracing::info!(
                wait_s = wait.as_secs(),
                "API budget: background work waits so the sidebar keeps its reserve"
            );
            return Ok(false);
        }
        let Some(job) = self.store.claim(self.lease).await? else {
            return Ok(false);
        };
        if job.topic.starts_with(CASE_TOPIC_PREFIX) {
            self.run_case(&job).await?;
            return Ok(true);
        }
        match self.process(&job).await {
            Ok(()) => {
                self.store.mark_done(&job.id).await?;
                self.store
                    .resolve_sync_error(SyncKind::AutoTask, &job.conversation_id)
                    .await?;
            }
            Err(e @ TaskError::Crashed(_)) => return Err(e),
            Err(e) => {
                let retry = e.is_retryable() && job.attempts + 1 < MAX_ATTEMPTS;
                let outcome = if retry {
                    Failure::RetryIn(backoff(self.base_delay, job.attempts))
                } else {
                    Failure::Parked(park_for(&e))
                };
                tracing::warn!(
                    notification = %job.id, topic = %job.topic, conversation = %job.conversation_id,
                    attempt = job.attempts + 1, error = %e, ?outcome,
                    "automatic task failed"
                );
                self.store
                    .mark_failed(&job.id, &e.to_string(), outcome)
                    .await?;
                if !retry {
                    // A parked automatic task is a sync error too.
                    let (code, message, fields) = task_error_parts(&e);
                    self.store
                        .record_sync_error(&NewSyncError {
                            kind: SyncKind::AutoTask,
                            conversation_id: job.conversation_id.clone(),
                            attempted: attempted_task(&job.topic).to_string(),
                            code,
                            message,
                            fields,
                            job_id: Some(job.id.clone()),
                            next_retry: None,
                        })
                        .await?;
                }
            }
        }
        Ok(true)
    }

    /// The workspace's settings (the defaults when unreadable: a warning).
    async fn settings(&self) -> Option<WorkspaceSettings> {
        let defaults = self.defaults.as_ref()?;
        match WorkspaceSettings::load(&self.store, defaults).await {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::warn!(error = %e, "workspace settings unreadable; using the environment's");
                Some(defaults.clone())
            }
        }
    }

    async fn process(&self, job: &Job) -> Result<(), TaskError> {
        let settings = self.settings().await;
        if let (Some(s), Some(_)) = (&settings, &self.cases) {
            let wanted = match job.topic.as_str() {
                TOPIC_CREATED => s.auto_cases.create_on_start,
                TOPIC_CLOSED => s.auto_cases.update_on_close,
                _ => false,
            };
            if wanted {
                // The case work is a job of its own: retried, parked and
                // retried from its sync error apart from the tasks. Its id
                // follows the notification's, so a replay queues it once.
                let fresh = self
                    .store
                    .enqueue(
                        &format!("{}#case", job.id),
                        &format!("{CASE_TOPIC_PREFIX}{}", job.topic),
                        &job.conversation_id,
                        job.workspace_id.as_deref(),
                        b"{}",
                    )
                    .await?;
                if fresh {
                    self.wake.notify_one();
                }
            }
            if !s.auto_tasks.enabled {
                return Ok(());
            }
        }
        match job.topic.as_str() {
            TOPIC_CREATED => self.ensure_tasks(job).await.map(|_| ()),
            TOPIC_CLOSED => self.complete_tasks(job).await,
            _ => Ok(()),
        }
    }

    /// One case job: written, retried with back-off, or parked as a sync error.
    async fn run_case(&self, job: &Job) -> Result<(), TaskError> {
        let (Some(cases), Some(settings)) = (&self.cases, self.settings().await) else {
            self.store
                .mark_failed(
                    &job.id,
                    "automatic cases are not set up in this process",
                    Failure::Parked(Park::Permanent),
                )
                .await?;
            return Ok(());
        };
        let payload = self.store.job_payload(&job.id).await?.unwrap_or_default();
        let mut req = cases::request_for(
            &job.topic,
            &job.conversation_id,
            job.workspace_id.as_deref(),
            &payload,
        );
        req.job_id = Some(job.id.clone());
        if req.closing {
            // A close that comes before the create (or after a failed one)
            // makes the Case when cases are made on start.
            req.create = settings.auto_cases.create_on_start;
        }
        match cases.write(&self.store, &settings, &req).await {
            Ok(w) => {
                tracing::info!(
                    conversation = %job.conversation_id, case = %w.case_id, status = w.status.as_str(),
                    "automatic case written"
                );
                self.store.mark_done(&job.id).await?;
                self.store
                    .resolve_sync_error(SyncKind::AutoCase, &job.conversation_id)
                    .await?;
            }
            Err(e) => {
                let retry = e.is_transient() && job.attempts + 1 < MAX_ATTEMPTS;
                let outcome = if retry {
                    Failure::RetryIn(backoff(self.base_delay, job.attempts))
                } else if e.needs_connection() {
                    Failure::Parked(Park::Connection)
                } else {
                    Failure::Parked(Park::Permanent)
                };
                tracing::warn!(
                    job = %job.id, conversation = %job.conversation_id,
                    attempt = job.attempts + 1, error = %e, ?outcome, "automatic case failed"
                );
                self.store
                    .mark_failed(&job.id, &e.to_string(), outcome)
                    .await?;
                if !retry {
                    self.store
                        .record_sync_error(&Cases::sync_error(
                            &job.conversation_id,
                            attempted_case(&job.topic),
                            &e,
                            Some(&job.id),
                        ))
                        .await?;
                }
            }
        }
        Ok(())
    }

    fn crash_at(&self, point: FaultPoint) -> Result<(), TaskError> {
        if self.fault.as_ref().is_some_and(|f| f(point)) {
            return Err(TaskError::Crashed(point));
        }
        Ok(())
    }

    /// Makes sure each Lead and Contact of the person has the open Task:
    /// the map is kept per (conversation, record), so a retry after a fault
    /// between two targets finishes the missing ones.
    async fn ensure_tasks(&self, job: &Job) -> Result<super::ConversationContext, TaskError> {
        let conv = &job.conversation_id;
        let mapped = self.store.tasks_for(conv).await?;
        let ctx = self.tasks.context(None, conv).await?;
        let Some(email) = ctx.email.clone() else {
            return Ok(ctx);
        };
        let subject = rules::subject(conv, &TaskKind::Auto);
        let lookup = self
            .tasks
            .lookup(&email, ctx.assignee_email.as_deref(), &subject)
            .await?;
        let missing: Vec<_> = lookup
            .targets
            .iter()
            .filter(|t| !mapped.iter().any(|m| rules::same_id(&m.who_id, &t.id)))
            .collect();
        if missing.is_empty() {
            return Ok(ctx);
        }
        let workspace = self.tasks.workspace(job.workspace_id.as_deref());
        let msgs = rules::messages(&ctx.conversation);
        let opening = msgs
            .first()
            .map(|m| {
                format!(
                    "Conversation started by {}:\n{}",
                    m.author,
                    rules::truncate(&m.text, rules::SNIPPET_CHARS)
                )
            })
            .unwrap_or_else(|| "Conversation started in Intercom.".to_string());
        let fields = TaskFields {
            subject,
            description: rules::description(&opening, workspace, conv),
            completed: false,
        };
        for (i, target) in missing.into_iter().enumerate() {
            if i > 0 {
                self.crash_at(FaultPoint::BetweenTargets)?;
            }
            if let Some(t) = lookup.existing_for(&target.id) {
                // Made before a crash or by another delivery: adopt it.
                self.store
                    .map_task(conv, &target.id, &t.id, t.closed)
                    .await?;
                continue;
            }
            let (task_id, _) = self
                .tasks
                .write_task(target, lookup.owner_id.as_deref(), None, &fields)
                .await?;
            self.crash_at(FaultPoint::AfterCreate)?;
            self.store
                .map_task(conv, &target.id, &task_id, false)
                .await?;
        }
        Ok(ctx)
    }

    /// The transcript so far, and every open Task of the conversation completed.
    async fn complete_tasks(&self, job: &Job) -> Result<(), TaskError> {
        let conv = &job.conversation_id;
        // Notifications can arrive out of order: a close may come first,
        // and a fault may have left a target without its Task.
        let ctx = self.ensure_tasks(job).await?;
        let open: Vec<_> = self
            .store
            .tasks_for(conv)
            .await?
            .into_iter()
            .filter(|m| !m.completed)
            .collect();
        if open.is_empty() {
            return Ok(());
        }
        let workspace = self.tasks.workspace(job.workspace_id.as_deref());
        let body = format!(
            "Transcript:\n{}",
            rules::transcript(&rules::messages(&ctx.conversation), 30_000)
        );
        let description = rules::description(&body, workspace, conv);
        for m in open {
            self.tasks.complete_task(&m.task_id, &description).await?;
            self.store.mark_completed(conv, &m.task_id).await?;
        }
        Ok(())
    }
}

/// What a parked task job was doing, for its sync error.
fn attempted_task(topic: &str) -> &'static str {
    match topic {
        TOPIC_CLOSED => "Complete the conversation's Salesforce Tasks with the transcript",
        _ => "Open a Salesforce Task for the conversation",
    }
}

/// What a case job was doing, for its sync error.
fn attempted_case(topic: &str) -> &'static str {
    if topic == cases::TOPIC_ACTION {
        "Create or update the conversation's Case (Workflow action)"
    } else if topic.ends_with(TOPIC_CLOSED) {
        "Update the conversation's Case on close"
    } else {
        "Create the conversation's Case"
    }
}

/// (code, message, fields) of a task failure for its sync error.
fn task_error_parts(e: &TaskError) -> (String, String, Vec<String>) {
    match e {
        TaskError::Salesforce(SalesforceError::Rejected { errors, .. }) if !errors.is_empty() => (
            errors[0].error_code.clone(),
            errors
                .iter()
                .map(|x| x.message.as_str())
                .collect::<Vec<_>>()
                .join("; "),
            errors.iter().flat_map(|x| x.fields.clone()).collect(),
        ),
        TaskError::Salesforce(
            SalesforceError::Reconnect(_) | SalesforceError::NotConfigured(_),
        ) => ("NOT_CONNECTED".into(), e.to_string(), Vec::new()),
        TaskError::Salesforce(SalesforceError::Forbidden(_)) => {
            ("INSUFFICIENT_ACCESS".into(), e.to_string(), Vec::new())
        }
        TaskError::Salesforce(_) => ("UNAVAILABLE".into(), e.to_string(), Vec::new()),
        TaskError::Intercom(_) => ("INTERCOM_UNAVAILABLE".into(), e.to_string(), Vec::new()),
        _ => ("FAILED".into(), e.to_string(), Vec::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_five_minutes() {
        let b = Duration::from_secs(2);
        assert_eq!(backoff(b, 0), Duration::from_secs(2));
        assert_eq!(backoff(b, 3), Duration::from_secs(16));
        assert_eq!(backoff(b, 12), Duration::from_secs(300));
    }
}
