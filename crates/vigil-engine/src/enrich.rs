//! `enrich`: what the inventories say now of every entity of the case — a host's asset entry,
//! a user's identity entry, an address, hash or mail address on the IOC list, the allow-list rules naming
//! it — sealed into the evidence vault as one document. It reads the triage inputs the engine
//! runs with (reloaded with the rules), so it lives beside them.

use std::sync::{Arc, Mutex, PoisonError};

use serde_json::{Value, json};
use vigil_model::{ActionRequest, EntityKind};
use vigil_respond::{Action, BoxFuture, Cx, Error, Plan, Probe, Step, Undo};
use vigil_triage::context::Context;

pub struct Enrich {
    context: Arc<Mutex<Arc<Context>>>,
}

impl Enrich {
    pub fn new(context: Arc<Mutex<Arc<Context>>>) -> Enrich {
        Enrich { context }
    }

    fn context(&self) -> Arc<Context> {
        Arc::clone(&self.context.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// The case's entities, as its document lists them.
async fn entities(
    cx: &Cx,
    request: &ActionRequest,
) -> vigil_respond::Result<(String, Vec<vigil_model::Entity>)> {
    let id = request.case.as_ref().ok_or_else(|| Error::Failed("enrich acts on a case".into()))?;
    let case = cx
        .store
        .case(id)
        .await?
        .ok_or_else(|| Error::TargetGone(format!("case {id} is not in the store")))?;
    let listed = case.body["entities"].as_array().cloned().unwrap_or_default();
    let entities = listed
        .iter()
        .filter_map(|e| serde_json::from_value::<vigil_model::Entity>(e["entity"].clone()).ok())
        .collect();
    Ok((id.as_str().to_owned(), entities))
}

/// What the inputs say of one entity; `None` when none says anything.
fn lookup(context: &Context, entity: &vigil_model::Entity) -> Option<Value> {
    let mut found = serde_json::Map::new();
    let assets = context.assets.as_ref().map(|a| &a.entries);
    let identities = context.identities.as_ref().map(|i| &i.entries);
    let on_ioc_list = context.iocs.as_ref().is_some_and(|i| i.entries.iter().any(|k| *k == *entity.key));
    match entity.kind {
        EntityKind::Host if let Some(asset) = assets.and_then(|a| a.get(&*entity.key)) => {
            found.insert("asset".into(), json!(asset));
        }
        EntityKind::User if let Some(identity) = identities.and_then(|i| i.get(&*entity.key)) => {
            found.insert("identity".into(), json!(identity));
        }
        EntityKind::Ip | EntityKind::FileHash | EntityKind::Email if on_ioc_list => {
            found.insert("ioc".into(), json!(true));
        }
        _ => {}
    }
    let named = format!("{} {}", entity.kind.as_str(), entity.key);
    let allowed: Vec<&vigil_triage::context::AllowRule> = context
        .allow
        .as_ref()
        .map(|a| {
            a.entries
                .iter()
                .filter(|r| r.entity.as_deref().is_some_and(|e| e.eq_ignore_ascii_case(&named)))
                .collect()
        })
        .unwrap_or_default();
    if !allowed.is_empty() {
        found.insert("allowed".into(), json!(allowed));
    }
    (!found.is_empty()).then(|| json!({"entity": named, "found": found}))
}

impl Action for Enrich {
    fn name(&self) -> &'static str {
        "enrich"
    }

    fn undo(&self) -> Undo {
        Undo::NothingToUndo
    }

    fn plan<'a>(
        &'a self,
        cx: &'a Cx,
        request: &'a ActionRequest,
    ) -> BoxFuture<'a, vigil_respond::Result<Plan>> {
        Box::pin(async move {
            let (case, entities) = entities(cx, request).await?;
            let inputs: Vec<String> = self
                .context()
                .inventory(0)
                .into_iter()
                .filter_map(|i| i.source.map(|s| format!("{} ({s})", i.input)))
                .collect();
            let from =
                if inputs.is_empty() { "no inventory is configured".to_owned() } else { inputs.join(", ") };
            Ok(Plan {
                changes: vec![format!(
                    "look up case {case}'s {} entities in {from} and keep what they say as evidence",
                    entities.len()
                )],
                runnable: true,
                undo: self.undo(),
                facts: json!({"case": case, "entities": entities.len(), "inputs": inputs}),
            })
        })
    }

    fn precheck<'a>(
        &'a self,
        cx: &'a Cx,
        request: &'a ActionRequest,
    ) -> BoxFuture<'a, vigil_respond::Result<Value>> {
        Box::pin(async move {
            let (case, entities) = entities(cx, request).await?;
            Ok(json!({"case": case, "entities": entities.len()}))
        })
    }

    fn execute<'a>(&'a self, cx: &'a Cx, step: Step<'a>) -> BoxFuture<'a, vigil_respond::Result<Value>> {
        Box::pin(async move {
            if let Some(done) = cx.store.effect(step.key).await? {
                return Ok(done);
            }
            let (case, entities) = entities(cx, step.request).await?;
            let context = self.context();
            let found: Vec<Value> = entities.iter().filter_map(|e| lookup(&context, e)).collect();
            let document = json!({
                "kind": "vigil.enrichment", "case": case, "run": step.key,
                "at": cx.store.clock().stamp(), "inputs": context.inventory(cx.store.clock().now_ms()),
                "looked_up": entities.len(), "found": found,
            });
            let bytes = serde_json::to_vec_pretty(&document)?;
            let mut tx = cx.store.write().await?;
            let (sha256, _) = tx
                .add_evidence(
                    &bytes,
                    "application/json",
                    &format!("enrichment-{case}.json"),
                    &format!("case:{case}"),
                    &cx.by,
                )
                .await?;
            let effect =
                json!({"evidence_sha256": sha256, "looked_up": entities.len(), "found": found.len()});
            tx.record_effect(step.key, self.name(), &effect).await?;
            tx.commit().await?;
            Ok(effect)
        })
    }

    fn verify<'a>(&'a self, cx: &'a Cx, step: Step<'a>) -> BoxFuture<'a, vigil_respond::Result<Probe>> {
        Box::pin(vigil_respond::builtin::sealed_evidence_holds(cx, step.key))
    }
}
