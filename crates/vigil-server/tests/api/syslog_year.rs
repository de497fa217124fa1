//! A yearless syslog date received over the network takes its year from the receive time, on
//! every listener: UDP, TCP and the bulk ingest API.

use std::sync::Arc;
use std::time::Duration;

use chrono::{Duration as Span, SubsecRound, Utc};
use tokio::io::AsyncWriteExt;
use vigil_engine::ingest::Ingest;
use vigil_engine::runner::EngineHandle;
use vigil_server::syslog::{SyslogStats, tcp, udp};
use vigil_store::Store;

use crate::Server;

/// An RFC 3164 line dated an hour ago, with no year, and the time it stands for.
fn an_hour_ago() -> (String, String) {
    let at = (Utc::now() - Span::hours(1)).trunc_subsecs(0);
    let line = format!(
        "<38>{} bastion sshd[812]: Failed password for root from 203.0.113.9 port 4242 ssh2",
        at.format("%b %e %H:%M:%S")
    );
    (line, vigil_store::time::stamp(at))
}

/// The time of the one event stored, once a commit has stored it.
async fn stored_time(store: &Store, ingest: &Ingest) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let committed = ingest.stats.committed.notified();
        tokio::pin!(committed);
        committed.as_mut().enable();
        if let Some(event) = store.events_after(0, 1).await.expect("events").pop() {
            return event.time;
        }
        tokio::time::timeout_at(deadline, committed).await.expect("the message was not stored");
    }
}

async fn listener_store() -> (tempfile::TempDir, Store, Ingest) {
    let dir = tempfile::TempDir::new().expect("temp dir");
    let store = Store::open_dir(dir.path()).await.expect("store");
    let ingest = Ingest::start(store.clone(), 8, Arc::clone(&EngineHandle::default().stored));
    (dir, store, ingest)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn yearless_syslog_over_udp_is_dated_by_its_receive_time() {
    let (_dir, store, ingest) = listener_store().await;
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let addr = socket.local_addr().expect("addr");
    tokio::spawn(udp(socket, ingest.clone(), Arc::new(SyslogStats::default())));
    let (line, expected) = an_hour_ago();
    let sender = tokio::net::UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    sender.send_to(line.as_bytes(), addr).await.expect("send");
    assert_eq!(stored_time(&store, &ingest).await, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn yearless_syslog_over_tcp_is_dated_by_its_receive_time() {
    let (_dir, store, ingest) = listener_store().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(tcp(listener, ingest.clone(), Arc::new(SyslogStats::default())));
    let (line, expected) = an_hour_ago();
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.write_all(format!("{line}\n").as_bytes()).await.expect("send");
    stream.flush().await.expect("flush");
    assert_eq!(stored_time(&store, &ingest).await, expected);
    drop(stream);
}

#[test]
fn yearless_syslog_posted_to_the_ingest_api_is_dated_by_its_receive_time() {
    let server = Server::start();
    let token = server.user_with_token("svc", "ingest");
    let (line, expected) = an_hour_ago();
    let answer = server.post("/api/v1/ingest?format=syslog", &token, line.as_bytes());
    assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
    let event = server.block_on(server.store.events_after(0, 1)).expect("events").pop().expect("stored");
    assert_eq!(event.time, expected);
}
