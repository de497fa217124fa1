//! The event stream on JetStream: connecting, the stream itself (file storage, the configured
//! replicas, limits retention so a worker can replay a partition's recent past), each
//! partition's durable consumer, and what `vigil cluster status` reads of them.

use std::time::Duration;

use async_nats::jetstream::{self, consumer, stream};
use serde::Serialize;

use super::ClusterSettings;
use crate::{Error, Result};

/// How long a repeated message id is recognised as a retry (JetStream's default, stated).
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(120);

fn unavailable(what: &str, e: impl std::fmt::Display) -> Error {
    Error::StreamUnavailable { reason: format!("{what}: {e}"), retry_after_secs: 5 }
}

/// Connects to NATS; the client keeps reconnecting by itself when the server goes away, and
/// starts even when it is not up yet.
pub async fn connect(settings: &ClusterSettings) -> Result<jetstream::Context> {
    let client = async_nats::ConnectOptions::new()
        .name(format!("vigil {}", settings.node))
        .retry_on_initial_connect()
        .connect(settings.nats_url.as_str())
        .await
        .map_err(|e| unavailable("connecting to NATS", e))?;
    Ok(jetstream::ContextBuilder::new().timeout(settings.publish_timeout).build(client))
}

/// The event stream, created when missing.
pub async fn ensure(js: &jetstream::Context, settings: &ClusterSettings) -> Result<stream::Stream> {
    js.get_or_create_stream(stream::Config {
        name: settings.stream.clone(),
        subjects: vec![format!("{}.*", settings.subject)],
        storage: stream::StorageType::File,
        retention: stream::RetentionPolicy::Limits,
        num_replicas: settings.replicas.max(1),
        max_age: settings.max_age,
        duplicate_window: DUPLICATE_WINDOW,
        ..Default::default()
    })
    .await
    .map_err(|e| unavailable("the event stream", e))
}

/// A partition's durable consumer, made afresh to deliver from `start` on (the stream sequence
/// after the last one written): the database, not the consumer, says where the partition
/// stands, so a takeover starts at once instead of waiting for unacknowledged messages to time
/// out.
pub async fn partition_consumer(
    stream: &stream::Stream,
    settings: &ClusterSettings,
    partition: u32,
    start: u64,
) -> Result<consumer::PullConsumer> {
    let name = settings.consumer_of(partition);
    // Gone already is as good as deleted.
    let _ = stream.delete_consumer(&name).await;
    stream
        .create_consumer(consumer::pull::Config {
            durable_name: Some(name),
            filter_subject: settings.subject_of(partition),
            deliver_policy: if start <= 1 {
                consumer::DeliverPolicy::All
            } else {
                consumer::DeliverPolicy::ByStartSequence { start_sequence: start }
            },
            ack_policy: consumer::AckPolicy::All,
            // A batch is acknowledged once its transaction commits; a slow commit must not see
            // the batch delivered again meanwhile.
            ack_wait: Duration::from_secs(300),
            max_ack_pending: 50_000,
            ..Default::default()
        })
        .await
        .map_err(|e| unavailable("the partition's consumer", e))
}

/// An ephemeral consumer of a partition's messages published from `since` on, for replay.
pub async fn replay_consumer(
    stream: &stream::Stream,
    settings: &ClusterSettings,
    partition: u32,
    since: chrono::DateTime<chrono::Utc>,
) -> Result<consumer::PullConsumer> {
    stream
        .create_consumer(consumer::pull::Config {
            filter_subject: settings.subject_of(partition),
            deliver_policy: consumer::DeliverPolicy::ByStartTime { start_time: since },
            ack_policy: consumer::AckPolicy::None,
            inactive_threshold: Duration::from_secs(60),
            ..Default::default()
        })
        .await
        .map_err(|e| unavailable("the replay consumer", e))
}

/// The stream as `vigil cluster status` shows it.
#[derive(Clone, Debug, Serialize)]
pub struct StreamStatus {
    pub name: String,
    pub messages: u64,
    pub bytes: u64,
    pub first_sequence: u64,
    pub last_sequence: u64,
    pub replicas: usize,
    pub consumers: Vec<ConsumerStatus>,
}

/// A partition's consumer: how many of its messages wait, and how many are delivered but not
/// yet acknowledged (a batch in flight).
#[derive(Clone, Debug, Serialize)]
pub struct ConsumerStatus {
    pub partition: u32,
    pub pending: u64,
    pub in_flight: usize,
    pub acknowledged_to: u64,
}

pub async fn status(settings: &ClusterSettings) -> Result<StreamStatus> {
    let js = connect(settings).await?;
    let stream = js.get_stream(&settings.stream).await.map_err(|e| unavailable("the event stream", e))?;
    let info = stream.get_info().await.map_err(|e| unavailable("the event stream", e))?;
    let mut consumers = Vec::new();
    for partition in 0..settings.partitions {
        if let Ok(c) = stream.consumer_info(settings.consumer_of(partition)).await {
            consumers.push(ConsumerStatus {
                partition,
                pending: c.num_pending,
                in_flight: c.num_ack_pending,
                acknowledged_to: c.ack_floor.stream_sequence,
            });
        }
    }
    Ok(StreamStatus {
        name: info.config.name,
        messages: info.state.messages,
        bytes: info.state.bytes,
        first_sequence: info.state.first_sequence,
        last_sequence: info.state.last_sequence,
        replicas: info.config.num_replicas,
        consumers,
    })
}
