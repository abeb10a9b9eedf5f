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
//! A failure is retried with exponential back-off; one that cannot get
//! better (a refused field, a revoked connection) or keeps failing is parked
//! as `failed` with its reason. Every step is safe to repeat: the map is
//! consulted first, then Salesforce is asked for a Task with the same
//! Subject and WhoId, and only then is one created.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use super::rules::{self, TaskKind};
use super::store::{Job, TaskStore};
use super::{TaskError, TaskFields, Tasks};

pub const TOPIC_CREATED: &str = "conversation.user.created";
pub const TOPIC_CLOSED: &str = "conversation.admin.closed";

/// After this many failed attempts a notification is given up on.
pub const MAX_ATTEMPTS: u32 = 8;

/// Where a test can stop the worker as if the process died.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultPoint {
    /// Salesforce created the Task; the map has not recorded it yet.
    AfterCreate,
}

/// Returns `true` to crash at that point.
pub type Fault = Arc<dyn Fn(FaultPoint) -> bool + Send + Sync>;

pub struct Worker {
    tasks: Arc<Tasks>,
    store: TaskStore,
    wake: Arc<Notify>,
    fault: Option<Fault>,
    base_delay: Duration,
}

/// `base · 2^attempts`, at most five minutes.
pub fn backoff(base: Duration, attempts: u32) -> Duration {
    base.saturating_mul(1u32 << attempts.min(16))
        .min(Duration::from_secs(300))
}

impl Worker {
    pub fn new(tasks: Arc<Tasks>, store: TaskStore, wake: Arc<Notify>) -> Worker {
        Worker {
            tasks,
            store,
            wake,
            fault: None,
            base_delay: Duration::from_secs(2),
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

    pub fn spawn(self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(self.run())
    }

    /// Works until a fault point fires (never, outside tests).
    pub async fn run(self) {
        loop {
            match self.run_once().await {
                Ok(true) => continue,
                Ok(false) => {
                    let wait = match self.store.next_wait().await {
                        Ok(Some(d)) => d.min(Duration::from_secs(30)),
                        _ => Duration::from_secs(30),
                    };
                    let _ = tokio::time::timeout(wait, self.wake.notified()).await;
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

    /// Handles the next due notification; `false` when none is due.
    pub async fn run_once(&self) -> Result<bool, TaskError> {
        let Some(job) = self.store.next_due().await? else {
            return Ok(false);
        };
        match self.process(&job).await {
            Ok(()) => self.store.mark_done(&job.id).await?,
            Err(e @ TaskError::Crashed(_)) => return Err(e),
            Err(e) => {
                let retry = e.is_retryable() && job.attempts + 1 < MAX_ATTEMPTS;
                let delay = retry.then(|| backoff(self.base_delay, job.attempts));
                tracing::warn!(
                    notification = %job.id, topic = %job.topic, conversation = %job.conversation_id,
                    attempt = job.attempts + 1, error = %e, ?delay,
                    "automatic task failed"
                );
                self.store
                    .mark_failed(&job.id, &e.to_string(), delay)
                    .await?;
            }
        }
        Ok(true)
    }

    async fn process(&self, job: &Job) -> Result<(), TaskError> {
        match job.topic.as_str() {
            TOPIC_CREATED => self.ensure_tasks(job).await.map(|_| ()),
            TOPIC_CLOSED => self.complete_tasks(job).await,
            _ => Ok(()),
        }
    }

    /// Makes sure each Lead and Contact of the person has the open Task.
    async fn ensure_tasks(
        &self,
        job: &Job,
    ) -> Result<Option<super::ConversationContext>, TaskError> {
        let conv = &job.conversation_id;
        if !self.store.tasks_for(conv).await?.is_empty() {
            return Ok(None);
        }
        let ctx = self.tasks.context(None, conv).await?;
        let Some(email) = ctx.email.clone() else {
            return Ok(Some(ctx));
        };
        let subject = rules::subject(conv, &TaskKind::Auto);
        let lookup = self
            .tasks
            .lookup(&email, ctx.assignee_email.as_deref(), &subject)
            .await?;
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
        for target in &lookup.targets {
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
            if self
                .fault
                .as_ref()
                .is_some_and(|f| f(FaultPoint::AfterCreate))
            {
                return Err(TaskError::Crashed(FaultPoint::AfterCreate));
            }
            self.store
                .map_task(conv, &target.id, &task_id, false)
                .await?;
        }
        Ok(Some(ctx))
    }

    /// The transcript so far, and every open Task of the conversation completed.
    async fn complete_tasks(&self, job: &Job) -> Result<(), TaskError> {
        let conv = &job.conversation_id;
        // Notifications can arrive out of order: a close may come first.
        let ctx = match self.ensure_tasks(job).await? {
            Some(ctx) => ctx,
            None => self.tasks.context(None, conv).await?,
        };
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
