//! The audit trail as an auditor browses it: a page of records with what each one's check says
//! (its hash, its link to the record before it, the signed checkpoint that seals it), and the
//! whole chain verified on its own page. Read-only: nothing here offers a change.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;
use vigil_store::audit::{AuditRecord, Checkpoint, GENESIS};

use super::layout::shell;
use super::{Page, failure};
use crate::auth::perm;
use crate::error::{ApiError, Code};
use crate::params::Params;
use crate::state::AppState;

const PER_PAGE: i64 = 100;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrailQuery {
    /// Records after this sequence number; the newest page when absent.
    after: Option<i64>,
}

/// What one record's check found, each part on its own so a person sees which failed.
struct Check {
    hash_holds: bool,
    /// `None` when the record before it is not on this page and was not read.
    links: Option<bool>,
    /// The first signed checkpoint at or after the record whose signature holds.
    sealed_by: Option<i64>,
}

fn check(record: &AuditRecord, before: Option<&AuditRecord>, sealed: &[&Checkpoint]) -> Check {
    let links = match (record.seq, before) {
        (1, _) => Some(record.prev_hash == GENESIS),
        (_, Some(b)) if b.seq + 1 == record.seq => Some(record.prev_hash == b.hash),
        (_, Some(_)) => Some(false),
        (_, None) => None,
    };
    Check {
        hash_holds: record.compute_hash() == record.hash,
        links,
        sealed_by: sealed.iter().find(|cp| cp.seq >= record.seq).map(|cp| cp.seq),
    }
}

fn status(c: &Check) -> Markup {
    html! {
        @if !c.hash_holds { span.error { "edited: its contents do not match its hash" } }
        @else if c.links == Some(false) { span.error { "does not link to the record before it" } }
        @else { span.ok { "hash holds" } @if c.links == Some(true) { ", linked" } }
        br;
        @match c.sealed_by {
            Some(seq) => span.muted { "sealed by signed checkpoint " (seq) },
            None => span.muted { "not yet sealed by a checkpoint" },
        }
    }
}

pub async fn trail(
    page_in: Page<perm::AuditRead>,
    State(state): State<AppState>,
    Params(query): Params<TrailQuery>,
) -> Response {
    let store = &state.store;
    let head = match store.audit_head().await {
        Ok(head) => head,
        Err(e) => return failure(e.into()),
    };
    let after = match query.after {
        Some(a) if a < 0 => {
            return failure(ApiError::new(Code::BadRequest, "after: a sequence number, 0 or more"));
        }
        Some(a) => a,
        None => (head - PER_PAGE).max(0),
    };
    // One record more than the page, from before it, so the first record's link is checked too.
    let from = (after - 1).max(0);
    let (mut records, checkpoints) =
        match tokio::try_join!(store.audit_records(from, PER_PAGE + 1), store.audit_checkpoints()) {
            Ok(both) => both,
            Err(e) => return failure(e.into()),
        };
    let before = if after > 0 && records.first().is_some_and(|r| r.seq <= after) {
        Some(records.remove(0))
    } else {
        None
    };
    records.truncate(PER_PAGE as usize);
    let keys = [store.public_key()];
    let sealed: Vec<&Checkpoint> = checkpoints.iter().filter(|cp| cp.signature_holds(&keys)).collect();
    let rows: Vec<(&AuditRecord, Check)> = records
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let prev = if i == 0 { before.as_ref() } else { records.get(i - 1) };
            (r, check(r, prev, &sealed))
        })
        .collect();
    let last = records.last().map_or(after, |r| r.seq);
    let body = html! {
        h1 { "Audit trail" }
        p {
            (head) " records, " (checkpoints.len()) " signed checkpoints. "
            a href="/ui/audit/verify" { "Verify the whole chain" }
        }
        nav.pager aria-label="pages of the trail" {
            @if after > 0 { a href=(format!("/ui/audit?after={}", (after - PER_PAGE).max(0))) { "← Older" } }
            @if last < head { a href=(format!("/ui/audit?after={last}")) { "Newer →" } }
            a href="/ui/audit?after=0" { "First" }
            a href="/ui/audit" { "Newest" }
        }
        @if rows.is_empty() { p.muted { "No records." } } @else {
            table {
                thead { tr {
                    th { "#" } th { "When" } th { "Who" } th { "Did" } th.wide { "To" } th { "Outcome" }
                    th { "Check" } th.wide { "Detail" }
                } }
                tbody { @for (r, c) in &rows {
                    tr id=(format!("seq-{}", r.seq)) {
                        td { (r.seq) }
                        td { (r.at) }
                        td { (r.actor) br; span.muted { (r.origin) } }
                        td { (r.action) }
                        td.wide { (r.target) }
                        td { (r.outcome) }
                        td { (status(c)) }
                        td.wide { code { (r.detail) } br; span.muted { "hash " code { (r.hash.get(..16).unwrap_or(&r.hash)) } } }
                    }
                } }
            }
        }
    };
    shell("Audit trail", page_in.principal(), body).into_response()
}

/// The whole chain checked from its first record to its head, as `vigil verify` does.
pub async fn verify(page_in: Page<perm::AuditRead>, State(state): State<AppState>) -> Response {
    let verdict = match state.store.verify_audit(&[]).await {
        Ok(v) => v,
        Err(e) => return failure(e.into()),
    };
    let body = html! {
        h1 { "Audit chain" }
        @match &verdict {
            Ok(v) => {
                p.ok { "Intact." }
                p { (v.records) " records link from the first to the head, every hash holds, and "
                    (v.checkpoints) " signed checkpoints verify with this server's key." }
                p { "Head: record " (v.head_seq) ", hash " code { (v.head_hash) } }
                p.muted { "Keep the head elsewhere (a witness) to detect records cut from the end with their checkpoint." }
            }
            Err(b) => {
                p.error { "Broken at record " (b.seq) "." }
                p { (b.reason) }
                p { a href=(format!("/ui/audit?after={}", (b.seq - 1).max(0))) { "See the records from there" } }
            }
        }
        p { a href="/ui/audit" { "Back to the trail" } }
    };
    shell("Audit chain", page_in.principal(), body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> Vec<AuditRecord> {
        let mut prev = GENESIS.to_owned();
        (1..=n)
            .map(|seq| {
                let mut r = AuditRecord {
                    seq,
                    at: "2026-12-04T00:00:00Z".into(),
                    actor: "ana".into(),
                    origin: "127.0.0.1".into(),
                    action: "case.comment".into(),
                    target: "c1".into(),
                    outcome: "ok".into(),
                    detail: "{}".into(),
                    prev_hash: prev.clone(),
                    hash: String::new(),
                };
                r.hash = r.compute_hash();
                prev.clone_from(&r.hash);
                r
            })
            .collect()
    }

    #[test]
    fn an_intact_record_holds_and_links() {
        let records = chain(3);
        let c = check(&records[2], Some(&records[1]), &[]);
        assert!(c.hash_holds && c.links == Some(true) && c.sealed_by.is_none());
        assert_eq!(check(&records[0], None, &[]).links, Some(true), "the first links to the genesis");
    }

    #[test]
    fn an_edited_record_is_shown_edited() {
        let mut records = chain(2);
        records[1].detail = r#"{"reason":"rewritten"}"#.into();
        assert!(!check(&records[1], Some(&records[0]), &[]).hash_holds);
    }

    #[test]
    fn a_record_after_a_removed_one_does_not_link() {
        let records = chain(3);
        assert_eq!(check(&records[2], Some(&records[0]), &[]).links, Some(false));
    }

    #[test]
    fn a_record_is_sealed_by_the_first_checkpoint_at_or_after_it() {
        let records = chain(3);
        let cp = |seq| Checkpoint {
            seq,
            hash: String::new(),
            signed_at: String::new(),
            key_id: String::new(),
            signature: String::new(),
        };
        let (two, three) = (cp(2), cp(3));
        assert_eq!(check(&records[1], Some(&records[0]), &[&two, &three]).sealed_by, Some(2));
        assert_eq!(check(&records[2], Some(&records[1]), &[&two]).sealed_by, None);
    }
}
