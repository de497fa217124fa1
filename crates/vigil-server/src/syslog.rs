//! Syslog listeners. UDP: each datagram is a message; what has arrived is committed together.
//! TCP: RFC 6587 framing, octet counting (`LEN SP MSG`) or newline-delimited, told apart per
//! frame; a connection's next frames are read only after the previous batch is durable, so a
//! slow store slows the sender instead of filling memory.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use vigil_engine::decode::decode;
use vigil_engine::ingest::Ingest;

/// The largest message accepted; a TCP frame longer than this closes the connection.
pub const MAX_MESSAGE: usize = 64 * 1024;
const MAX_BATCH: usize = 1_000;

#[derive(Default)]
pub struct SyslogStats {
    pub messages: AtomicU64,
    /// UDP messages dropped because the ingest queue was full (UDP cannot push back).
    pub dropped: AtomicU64,
}

async fn submit(ingest: &Ingest, source: &str, messages: Vec<Vec<u8>>, stats: &SyslogStats) -> bool {
    let count = messages.len() as u64;
    let mut body = Vec::new();
    for m in messages {
        let line = m.strip_suffix(b"\n").unwrap_or(&m);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        // A message is one record: embedded newlines would split it.
        body.extend(line.iter().map(|&b| if b == b'\n' { b' ' } else { b }));
        body.push(b'\n');
    }
    let source_name = source.to_owned();
    let source = source.to_owned();
    let received_at = vigil_store::time::now_ms();
    let Ok(decoded) =
        tokio::task::spawn_blocking(move || decode(&source, "syslog.log", body, Some("syslog"), received_at))
            .await
    else {
        return false;
    };
    match ingest.submit(decoded.events, decoded.dead).await {
        Ok(_) => {
            stats.messages.fetch_add(count, Ordering::Relaxed);
            true
        }
        Err(e) => {
            tracing::warn!(source = %source_name, messages = count, error = %e, "syslog messages not stored");
            stats.dropped.fetch_add(count, Ordering::Relaxed);
            false
        }
    }
}

pub async fn udp(socket: UdpSocket, ingest: Ingest, stats: Arc<SyslogStats>) {
    let mut buf = vec![0u8; MAX_MESSAGE];
    loop {
        let Ok((n, from)) = socket.recv_from(&mut buf).await else { continue };
        let mut batch = vec![buf[..n].to_vec()];
        while batch.len() < MAX_BATCH {
            match socket.try_recv_from(&mut buf) {
                Ok((n, _)) => batch.push(buf[..n].to_vec()),
                Err(_) => break,
            }
        }
        submit(&ingest, &format!("syslog:udp:{}", from.ip()), batch, &stats).await;
    }
}

pub async fn tcp(listener: TcpListener, ingest: Ingest, stats: Arc<SyslogStats>) {
    loop {
        let Ok((stream, from)) = listener.accept().await else { continue };
        let ingest = ingest.clone();
        let stats = Arc::clone(&stats);
        tokio::spawn(async move {
            connection(stream, &format!("syslog:tcp:{}", from.ip()), &ingest, &stats).await;
        });
    }
}

/// Splits whole frames off the front of `buf`; `Err` on a frame that can never be valid.
pub fn frames(buf: &mut Vec<u8>) -> Result<Vec<Vec<u8>>, String> {
    let mut out = Vec::new();
    while let Some(&first) = buf.first() {
        if first.is_ascii_digit() {
            // Octet counting: digits, a space, then exactly that many bytes.
            let Some(space) = buf.iter().position(|&b| b == b' ') else {
                if buf.len() > 10 {
                    return Err("an octet count longer than 10 digits".into());
                }
                break;
            };
            let len: usize = std::str::from_utf8(&buf[..space])
                .ok()
                .and_then(|s| s.parse().ok())
                .ok_or("an octet count that is not a number")?;
            if len > MAX_MESSAGE {
                return Err(format!("a frame of {len} bytes (limit {MAX_MESSAGE})"));
            }
            if buf.len() < space + 1 + len {
                break;
            }
            out.push(buf[space + 1..space + 1 + len].to_vec());
            buf.drain(..space + 1 + len);
        } else if let Some(nl) = buf.iter().position(|&b| b == b'\n') {
            let frame: Vec<u8> = buf.drain(..=nl).collect();
            if frame.iter().any(|b| !b.is_ascii_whitespace()) {
                out.push(frame);
            }
        } else {
            if buf.len() > MAX_MESSAGE {
                return Err(format!("a line longer than {MAX_MESSAGE} bytes"));
            }
            break;
        }
    }
    Ok(out)
}

async fn connection(mut stream: TcpStream, source: &str, ingest: &Ingest, stats: &SyslogStats) {
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => {
                // What is left without a newline is still a message.
                if !buf.is_empty() && buf.iter().any(|b| !b.is_ascii_whitespace()) {
                    submit(ingest, source, vec![std::mem::take(&mut buf)], stats).await;
                }
                return;
            }
            Ok(n) => n,
        };
        buf.extend_from_slice(&chunk[..n]);
        match frames(&mut buf) {
            Ok(messages) if messages.is_empty() => {}
            Ok(messages) => {
                if !submit(ingest, source, messages, stats).await {
                    return;
                }
            }
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn octet_counted_and_newline_frames_mix() {
        let mut buf = b"11 <13>hello a<14>line two\n5 <1>x".to_vec();
        let got = frames(&mut buf).expect("frames");
        assert_eq!(got, [b"<13>hello a".to_vec(), b"<14>line two\n".to_vec()]);
        assert_eq!(buf, b"5 <1>x");
        buf.extend_from_slice(b"y\n");
        // A newline some senders put after a counted frame is not a message of its own.
        assert_eq!(frames(&mut buf).expect("frames"), [b"<1>xy".to_vec()]);
        assert!(buf.is_empty());
    }

    #[test]
    fn a_partial_octet_frame_waits_and_an_absurd_one_is_refused() {
        let mut buf = b"20 <13>short".to_vec();
        assert!(frames(&mut buf).expect("frames").is_empty());
        let mut huge = b"99999999 x".to_vec();
        assert!(frames(&mut huge).is_err());
    }
}
