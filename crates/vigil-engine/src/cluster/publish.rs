//! The ingest side of a cluster: each accepted event goes onto the stream, on its partition's
//! subject, with its content-derived id as the message id, and the batch is answered only once
//! JetStream has acknowledged every event of it. A retried batch is recognised twice over:
//! by JetStream within its duplicate window, and by the store's unique event id after it.

use async_nats::jetstream::{self, message::PublishMessage};
use vigil_model::DeadLetter;
use vigil_store::{NewEvent, Store};

use super::{ClusterSettings, envelope, partition_of, tenant_of};
use crate::ingest::Receipt;
use crate::{Error, Result};

#[derive(Clone)]
pub struct Publisher {
    js: jetstream::Context,
    settings: ClusterSettings,
    /// Dead letters are written to the database directly: no worker has anything to do with
    /// them.
    store: Store,
}

impl Publisher {
    pub fn new(js: jetstream::Context, settings: ClusterSettings, store: Store) -> Publisher {
        Publisher { js, settings, store }
    }

    /// Publishes a batch; returns once every event of it is in the stream. A stream that does
    /// not answer in time is [`Error::StreamUnavailable`]: the sender retries the whole batch.
    pub async fn submit(&self, events: Vec<NewEvent>, dead: Vec<DeadLetter>) -> Result<Receipt> {
        let mut acks = Vec::with_capacity(events.len());
        for event in &events {
            let partition = partition_of(tenant_of(&event.ocsf).as_deref(), self.settings.partitions);
            let message =
                PublishMessage::build().payload(envelope::encode(event).into()).message_id(&event.id);
            let ack = self
                .js
                .send_publish(self.settings.subject_of(partition), message)
                .await
                .map_err(|e| unavailable(&e))?;
            acks.push(ack);
        }
        let mut receipt = Receipt { dead_letters: dead.len() as u64, ..Receipt::default() };
        for ack in acks {
            if ack.await.map_err(|e| unavailable(&e))?.duplicate {
                receipt.duplicates += 1;
            } else {
                receipt.stored += 1;
            }
        }
        if !dead.is_empty() {
            let mut tx = self.store.write().await?;
            for letter in &dead {
                tx.insert_dead_letter(letter).await?;
            }
            tx.commit().await?;
        }
        Ok(receipt)
    }
}

fn unavailable(e: &dyn std::fmt::Display) -> Error {
    Error::StreamUnavailable {
        reason: format!("the event stream did not take the batch: {e}"),
        retry_after_secs: 5,
    }
}
