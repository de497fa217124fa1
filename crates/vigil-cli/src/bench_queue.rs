//! `vigil bench queue`: the queue page of a large store, as a person opens it. Fills a fresh
//! store with cases (each with alerts, a timeline and a recommendation, a case document of a
//! few kilobytes), signs in through the sign-in form, and times the page over HTTP on loopback:
//! the first page, a deep page, and each other order and filter.

use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde_json::json;
use vigil_model::{CaseState, Component};
use vigil_store::{By, CaseRow, time};

use crate::bench::percentile;
use crate::serve::{Settings, start};

const PASSWORD: &str = "bench passphrase, long enough";

fn case(i: usize) -> CaseRow {
    let at = 1_760_000_000_000 + i as i64 * 60_000;
    let alerts: Vec<_> = (0..5)
        .map(|a| json!({"id": format!("al-{i}-{a}"), "rule": {"title": "Suspicious sign-in"}}))
        .collect();
    let timeline: Vec<_> = (0..20)
        .map(|t| json!({"time": at + t * 1_000, "kind": "event", "title": format!("sign-in by user{} from 198.51.100.{}", i % 400, t), "reference": format!("ev-{i}-{t}")}))
        .collect();
    CaseRow {
        id: format!("bench-{i:06}").as_str().into(),
        title: format!("Suspicious sign-in and 2 other rules (user user{})", i % 400),
        state: CaseState::New,
        severity: 1 + (i % 5) as i64,
        assignee: None,
        first_seen: time::from_millis(at),
        last_seen: time::from_millis(at + 20_000),
        updated_at: String::new(),
        body: json!({"alerts": alerts, "timeline": timeline}),
    }
}

pub fn run(cases: usize, requests: usize) -> Result<ExitCode> {
    let data = std::env::temp_dir().join(format!("vigil-bench-queue-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let settings = Settings::load(None)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let running = runtime.block_on(start(&settings, &data, "127.0.0.1:0"))?;
    let filled = Instant::now();
    runtime.block_on(async {
        let engine = By::vigil(Component::Bench);
        let hash = vigil_server::auth::password::hash(PASSWORD).map_err(|e| anyhow::anyhow!("{e}"))?;
        let mut tx = running.store.write().await?;
        tx.create_user(&"bench-analyst".into(), "analyst", &hash, &engine).await?;
        tx.commit().await?;
        for chunk in (0..cases).collect::<Vec<_>>().chunks(500) {
            let mut tx = running.store.write().await?;
            for &i in chunk {
                let row = case(i);
                tx.save_case(&row, &engine).await?;
                tx.transition_case(&row.id, CaseState::Correlated, "clustered", &engine).await?;
                let recommendation = json!({"verdict": "suspicious", "confidence": (i % 100) as f64 / 100.0,
                    "hypothesis": "credential misuse", "unknowns": ["no identity inventory"], "supporting": []});
                tx.add_recommendation(&row.id, &recommendation, &engine).await?;
                tx.transition_case(&row.id, CaseState::Recommended, "drafted", &engine).await?;
            }
            tx.commit().await?;
        }
        anyhow::Ok(())
    })?;
    eprintln!("{cases} cases stored in {:.1} s", filled.elapsed().as_secs_f64());

    let agent: ureq::Agent =
        ureq::Agent::config_builder().http_status_as_error(false).max_redirects(0).build().into();
    let signed_in = agent
        .post(&format!("{}/ui/sign-in", running.url))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .send(
            format!("name=bench-analyst&password={}", PASSWORD.replace(' ', "+").replace(',', "%2C"))
                .as_bytes(),
        )
        .context("sign in")?;
    let cookie = signed_in
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .context("the sign-in form answered without a session")?
        .to_owned();
    let last_page = cases.div_ceil(50).max(1);
    let views = [
        ("first page, by severity".to_owned(), "/ui/queue".to_owned()),
        (format!("page {last_page} of {last_page}"), format!("/ui/queue?page={last_page}")),
        ("oldest first".to_owned(), "/ui/queue?sort=oldest".to_owned()),
        ("recently changed first".to_owned(), "/ui/queue?sort=updated".to_owned()),
        ("high and above".to_owned(), "/ui/queue?min_severity=4".to_owned()),
        ("unassigned, page 2".to_owned(), "/ui/queue?owner=unassigned&page=2".to_owned()),
    ];
    println!("queue of {cases} open cases, 50 a page, {requests} requests each, over HTTP on loopback");
    println!("{:<28} {:>9} {:>9} {:>9}", "view", "p50 ms", "p99 ms", "max ms");
    let mut worst: f64 = 0.0;
    for (name, path) in &views {
        let mut took = Vec::with_capacity(requests);
        for _ in 0..requests.max(1) {
            let sent = Instant::now();
            let mut answer = agent.get(&format!("{}{path}", running.url)).header("Cookie", &cookie).call()?;
            let body = answer.body_mut().read_to_string()?;
            took.push(sent.elapsed().as_secs_f64() * 1000.0);
            if answer.status().as_u16() != 200 || !body.contains("Suspicious sign-in") {
                bail!("{path} answered {} without the cases", answer.status());
            }
        }
        took.sort_by(f64::total_cmp);
        let (p50, p99, max) = (percentile(&took, 0.5), percentile(&took, 0.99), took[took.len() - 1]);
        worst = worst.max(p99);
        println!("{name:<28} {p50:>9.1} {p99:>9.1} {max:>9.1}");
    }
    println!("slowest p99: {worst:.1} ms");
    running.engine.stop();
    let _ = std::fs::remove_dir_all(&data);
    Ok(ExitCode::SUCCESS)
}
