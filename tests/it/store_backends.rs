//! The store on both backends: migrations, the job queue's claims and
//! leases, the per-target task map, the idempotency ledger, parked jobs and
//! retention, invalidations, the sync errors, the case map and the action
//! tokens.

use std::time::Duration;

use sf_inbox::config::Database;
use sf_inbox::store::{
    token_hash, Begin, Failure, Invalidation, NewSyncError, Park, Store, SyncKind,
    SYNC_ERROR_RETENTION,
};

use crate::pg;

fn open(db: &Database) -> Store {
    Store::open(db, "ws-test").expect("store opens")
}

#[tokio::test]
async fn migrations_run_once_and_two_starts_at_once_agree() {
    for (name, db) in pg::backends("migrations").await {
        let (a, b) = (open(&db), open(&db));
        let (ra, rb) = tokio::join!(a.ready(), b.ready());
        ra.unwrap_or_else(|e| panic!("{name}: {e}"));
        rb.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(a.enqueue("n1", "t", "c", None, b"{}").await.unwrap());
        // A restart migrates nothing and keeps the data.
        let again = open(&db);
        assert!(
            !again.enqueue("n1", "t", "c", None, b"{}").await.unwrap(),
            "{name}"
        );
    }
}

#[tokio::test]
async fn a_job_is_claimed_by_one_worker_and_a_lapsed_lease_frees_it() {
    for (name, db) in pg::backends("claims").await {
        let (a, b) = (open(&db), open(&db));
        for i in 0..20 {
            a.enqueue(&format!("n{i}"), "t", "c", None, b"{}")
                .await
                .unwrap();
        }
        // Two workers claim at once: every job exactly once.
        let claim_all = |s: Store| async move {
            let mut got = Vec::new();
            while let Some(j) = s.claim(Duration::from_secs(60)).await.unwrap() {
                got.push(j.id);
            }
            got
        };
        let (x, y) = tokio::join!(claim_all(a.clone()), claim_all(b.clone()));
        let mut all: Vec<_> = x.iter().chain(y.iter()).cloned().collect();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), 20, "{name}: each job once");
        assert_eq!(x.len() + y.len(), 20, "{name}: no job twice");
        assert_eq!(a.counts().await.unwrap().running, 20);

        // A worker died holding a job: once its lease lapsed, another takes it.
        a.enqueue("dead", "t", "c", None, b"{}").await.unwrap();
        let j = a.claim(Duration::ZERO).await.unwrap().unwrap();
        assert_eq!(j.id, "dead");
        let again = b.claim(Duration::from_secs(60)).await.unwrap().unwrap();
        assert_eq!(again.id, "dead", "{name}");
    }
}

#[tokio::test]
async fn parked_jobs_keep_their_reason_and_come_back_and_old_ones_go() {
    for (name, db) in pg::backends("parked").await {
        let s = open(&db);
        s.enqueue("conn", "t", "c", None, b"{}").await.unwrap();
        s.enqueue("perm", "t", "c", None, b"{}").await.unwrap();
        for _ in 0..2 {
            let j = s.claim(Duration::from_secs(60)).await.unwrap().unwrap();
            let park = if j.id == "conn" {
                Park::Connection
            } else {
                Park::Permanent
            };
            s.mark_failed(&j.id, &format!("{} reason", j.id), Failure::Parked(park))
                .await
                .unwrap();
        }
        assert_eq!(s.counts().await.unwrap().failed, 2);
        assert_eq!(
            s.last_error("conn").await.unwrap().as_deref(),
            Some("conn reason")
        );
        assert_eq!(
            s.retry_failed(Some(Park::Connection)).await.unwrap(),
            1,
            "{name}"
        );
        let j = s.claim(Duration::from_secs(60)).await.unwrap().unwrap();
        assert_eq!((j.id.as_str(), j.attempts), ("conn", 0));
        s.mark_done("conn").await.unwrap();
        // The operator's retry takes the rest.
        assert_eq!(s.retry_failed(None).await.unwrap(), 1);
        let j = s.claim(Duration::from_secs(60)).await.unwrap().unwrap();
        s.mark_done(&j.id).await.unwrap();
        // Retention: nothing is old enough yet; everything finished is, at zero.
        assert_eq!(
            s.purge_finished(Duration::from_secs(3600)).await.unwrap(),
            0
        );
        assert_eq!(s.purge_finished(Duration::ZERO).await.unwrap(), 2, "{name}");
        assert_eq!(s.counts().await.unwrap().done, 0);
    }
}

#[tokio::test]
async fn the_ledger_hands_a_key_to_one_try_and_a_lapsed_one_reads_unknown() {
    for (name, db) in pg::backends("ledger").await {
        let (a, b) = (open(&db), open(&db));
        let (la, lb) = (
            a.ledger(Duration::from_secs(60)),
            b.ledger(Duration::from_secs(60)),
        );
        let (x, y) = tokio::join!(la.begin("k1"), lb.begin("k1"));
        let mut got = [x.unwrap(), y.unwrap()];
        got.sort_by_key(|g| matches!(g, Begin::InFlight));
        assert_eq!(got[0], Begin::Begun, "{name}");
        assert_eq!(got[1], Begin::InFlight, "{name}");
        la.done("k1", "00Q1").await.unwrap();
        assert_eq!(lb.begin("k1").await.unwrap(), Begin::Done("00Q1".into()));

        // An unknown outcome: the next try holds the key and must look.
        la.begin("k2").await.unwrap();
        la.unknown("k2").await.unwrap();
        assert!(matches!(
            lb.begin("k2").await.unwrap(),
            Begin::Unknown { .. }
        ));
        assert_eq!(
            la.begin("k2").await.unwrap(),
            Begin::InFlight,
            "held by the looker"
        );

        // A crash mid-create (the lease lapses): unknown, not in flight.
        let crashed = a.ledger(Duration::ZERO);
        assert_eq!(crashed.begin("k3").await.unwrap(), Begin::Begun);
        assert!(
            matches!(lb.begin("k3").await.unwrap(), Begin::Unknown { .. }),
            "{name}"
        );

        // Nothing created: forgotten, the next try starts over.
        la.begin("k4").await.unwrap();
        la.forget("k4").await.unwrap();
        assert_eq!(lb.begin("k4").await.unwrap(), Begin::Begun);

        // Keys are per workspace.
        let other = a.for_workspace("ws-other").ledger(Duration::from_secs(60));
        assert_eq!(other.begin("k1").await.unwrap(), Begin::Begun);
    }
}

#[tokio::test]
async fn the_task_map_is_per_conversation_and_record() {
    for (name, db) in pg::backends("taskmap").await {
        let s = open(&db);
        s.map_task("4717", "00QA", "00TA", false).await.unwrap();
        s.map_task("4717", "00QB", "00TB", false).await.unwrap();
        s.mark_completed("4717", "00TA").await.unwrap();
        // Adopting again never un-completes.
        s.map_task("4717", "00QA", "00TA", false).await.unwrap();
        let m = s.tasks_for("4717").await.unwrap();
        assert_eq!(m.len(), 2, "{name}");
        assert!(m.iter().any(|t| t.who_id == "00QA" && t.completed));
        assert!(m.iter().any(|t| t.who_id == "00QB" && !t.completed));
    }
}

#[tokio::test]
async fn an_invalidation_reaches_every_store_on_the_database() {
    let Some(db) = pg::fresh_database("invalidation").await else {
        return;
    };
    let (a, b) = (open(&db), open(&db));
    a.ready().await.unwrap();
    b.ready().await.unwrap();
    let mut rx = b.subscribe();
    let inv = Invalidation {
        workspace: "ws-test".into(),
        org: "00D".into(),
        emails: vec!["zoe@lodz.example".into()],
    };
    a.invalidate(inv.clone()).await.unwrap();
    let got = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("delivered")
        .unwrap();
    assert_eq!(got, inv);
}

#[cfg(unix)]
#[tokio::test]
async fn the_sqlite_file_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("sf-inbox-mode-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let s = open(&Database::File(dir.join("sf-inbox.db")));
    s.enqueue("n1", "t", "c", None, b"{}").await.unwrap();
    for f in ["sf-inbox.db", "sf-inbox.db-wal"] {
        let mode = std::fs::metadata(dir.join(f)).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "{f} must not be group/world readable");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Versions may land out of order: a database that already has a later
/// version still gets an earlier one it lacks (here version 3 is taken
/// away while 4 and 5 stay).
#[tokio::test]
async fn a_missing_earlier_migration_is_applied_after_later_ones() {
    let dir = std::env::temp_dir().join(format!("sf-inbox-migr-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("out-of-order.db");
    let db = Database::File(path.clone());
    open(&db).ready().await.expect("first start");
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch(
            "DROP TABLE sync_errors; DROP TABLE conversation_cases; DROP TABLE action_tokens;
             DELETE FROM schema_migrations WHERE version = 3;",
        )
        .unwrap();
    }
    let again = open(&db);
    again.ready().await.expect("second start");
    assert!(
        again.sync_errors(None).await.unwrap().is_empty(),
        "version 3's tables are back"
    );
    std::fs::remove_dir_all(&dir).ok();
}

fn sync_error(conv: &str, code: &str, job: Option<&str>) -> NewSyncError {
    NewSyncError {
        kind: SyncKind::AutoCase,
        conversation_id: conv.into(),
        attempted: "Create the conversation's Case".into(),
        code: code.into(),
        message: "Refund cases need a refund amount".into(),
        fields: vec!["Refund_Amount__c".into()],
        job_id: job.map(str::to_string),
        next_retry: None,
    }
}

#[tokio::test]
async fn sync_errors_are_recorded_listed_retried_dismissed_and_purged() {
    for (name, db) in pg::backends("sync-errors").await {
        let s = open(&db);
        s.enqueue("j1", "case", "c1", None, b"{}").await.unwrap();
        let job = s.claim(Duration::from_secs(60)).await.unwrap().unwrap();
        s.mark_failed(&job.id, "refused", Failure::Parked(Park::Permanent))
            .await
            .unwrap();
        let id = s
            .record_sync_error(&sync_error(
                "c1",
                "FIELD_CUSTOM_VALIDATION_EXCEPTION",
                Some("j1"),
            ))
            .await
            .unwrap();
        assert_eq!(id, "auto_case:c1");
        // Counted again, not duplicated.
        s.record_sync_error(&sync_error("c1", "FIELD_CUSTOM_VALIDATION_EXCEPTION", None))
            .await
            .unwrap();
        s.record_sync_error(&sync_error("c2", "FIELD_CUSTOM_VALIDATION_EXCEPTION", None))
            .await
            .unwrap();
        s.record_sync_error(&NewSyncError {
            kind: SyncKind::AutoTask,
            ..sync_error("c3", "INVALID_FIELD", None)
        })
        .await
        .unwrap();
        let all = s.sync_errors(None).await.unwrap();
        assert_eq!(all.len(), 3, "{name}");
        let cases = s.sync_errors(Some(SyncKind::AutoCase)).await.unwrap();
        assert_eq!(cases.len(), 2, "{name}");
        let one = s.sync_error("auto_case:c1").await.unwrap().unwrap();
        assert_eq!(one.attempts, 2, "{name}");
        assert_eq!(one.job_id.as_deref(), Some("j1"), "{name}");
        assert_eq!(one.fields, ["Refund_Amount__c"]);
        assert_eq!(
            s.sync_error_for(SyncKind::AutoTask, "c3")
                .await
                .unwrap()
                .unwrap()
                .code,
            "INVALID_FIELD"
        );
        // Retry queues the parked job again.
        assert_eq!(s.counts().await.unwrap().failed, 1);
        assert!(s.retry_sync_error(&id).await.unwrap(), "{name}");
        assert_eq!(s.counts().await.unwrap().pending, 1, "{name}");
        assert!(s
            .sync_error(&id)
            .await
            .unwrap()
            .unwrap()
            .next_retry
            .is_some());
        // c2 has no job: nothing to queue.
        assert!(!s.retry_sync_error("auto_case:c2").await.unwrap());
        assert_eq!(s.retry_sync_errors_like(&id).await.unwrap(), 1, "{name}");
        assert!(s.dismiss_sync_error("auto_case:c2").await.unwrap());
        assert!(!s.dismiss_sync_error("auto_case:c2").await.unwrap());
        s.resolve_sync_error(SyncKind::AutoCase, "c1")
            .await
            .unwrap();
        assert_eq!(s.sync_errors(None).await.unwrap().len(), 1, "{name}");
        assert_eq!(s.purge_sync_errors(SYNC_ERROR_RETENTION).await.unwrap(), 0);
        s.clock().advance(Duration::from_secs(31 * 24 * 3600));
        assert_eq!(
            s.purge_sync_errors(SYNC_ERROR_RETENTION).await.unwrap(),
            1,
            "{name}"
        );
        // Another workspace sees none of them.
        assert!(s
            .for_workspace("w2")
            .sync_errors(None)
            .await
            .unwrap()
            .is_empty());
    }
}

#[tokio::test]
async fn one_case_per_conversation_and_hashed_action_tokens() {
    for (name, db) in pg::backends("case-map").await {
        let s = open(&db);
        assert_eq!(s.case_for("c1").await.unwrap(), None);
        let m = s
            .map_case("c1", "500A", None, Some("New"), None)
            .await
            .unwrap();
        assert_eq!(m.case_id, "500A", "{name}");
        let again = s
            .map_case("c1", "500B", Some("00001"), Some("Closed"), Some("Ruth"))
            .await
            .unwrap();
        assert_eq!(again.case_id, "500A", "{name}: the first Case stays");
        assert_eq!(again.case_number.as_deref(), Some("00001"));
        assert_eq!(again.status.as_deref(), Some("Closed"));
        assert_eq!(again.owner.as_deref(), Some("Ruth"));
        assert_eq!(s.action_token_hash().await.unwrap(), None);
        s.set_action_token("tok-1").await.unwrap();
        assert_eq!(
            s.action_token_hash().await.unwrap(),
            Some(token_hash("tok-1")),
            "{name}"
        );
        assert_ne!(token_hash("tok-1"), "tok-1");
    }
}
