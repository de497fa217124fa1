//! Uploads unpacked before they are read, within bounds: a gzip body (gzip inside gzip too) is
//! decompressed into memory only up to a size and a ratio, so a small body cannot become
//! gigabytes of events. What passes is plain bytes the read path takes as it is.

use std::io::Read;

use flate2::read::MultiGzDecoder;

/// How far an upload may grow when unpacked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InflateLimits {
    /// The most bytes an upload may unpack to.
    pub max_bytes: u64,
    /// The most an upload may grow, unpacked size over sent size, once it is past
    /// `ratio_floor` bytes (small bodies compress well and mean no harm).
    pub max_ratio: u64,
    pub ratio_floor: u64,
    /// How many gzip layers one inside another are unpacked.
    pub max_layers: u32,
}

impl Default for InflateLimits {
    fn default() -> Self {
        InflateLimits { max_bytes: 16 << 20, max_ratio: 100, ratio_floor: 1 << 20, max_layers: 2 }
    }
}

/// Why an upload was refused whole.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum Inflated {
    #[error("the body unpacks to more than {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("the body unpacks to more than {limit} times its size")]
    TooDense { limit: u64 },
    #[error("the body is gzip inside gzip more than {limit} deep")]
    TooDeep { limit: u32 },
    #[error("the body is not valid gzip: {0}")]
    Corrupt(String),
}

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// `body` unpacked (as it is when it is not gzip), or why it is refused.
pub fn inflate(body: Vec<u8>, limits: &InflateLimits) -> Result<Vec<u8>, Inflated> {
    let sent = body.len() as u64;
    let mut bytes = body;
    let mut layers = 0;
    while bytes.starts_with(&GZIP_MAGIC) {
        if layers == limits.max_layers {
            return Err(Inflated::TooDeep { limit: limits.max_layers });
        }
        layers += 1;
        // One byte past the limit tells "at the limit" from "over it" without reading further.
        let mut out = Vec::new();
        MultiGzDecoder::new(bytes.as_slice())
            .take(limits.max_bytes + 1)
            .read_to_end(&mut out)
            .map_err(|e| Inflated::Corrupt(e.to_string()))?;
        let size = out.len() as u64;
        if size > limits.max_bytes {
            return Err(Inflated::TooLarge { limit: limits.max_bytes });
        }
        if size > limits.ratio_floor && size > sent.saturating_mul(limits.max_ratio) {
            return Err(Inflated::TooDense { limit: limits.max_ratio });
        }
        bytes = out;
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use flate2::Compression;
    use flate2::write::GzEncoder;

    use super::*;

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
        encoder.write_all(bytes).expect("compress");
        encoder.finish().expect("compress")
    }

    #[test]
    fn a_plain_body_passes_as_it_is_and_a_small_gzip_one_unpacks() {
        let limits = InflateLimits::default();
        assert_eq!(inflate(b"plain".to_vec(), &limits), Ok(b"plain".to_vec()));
        assert_eq!(inflate(gzip(b"line one\nline two\n"), &limits), Ok(b"line one\nline two\n".to_vec()));
    }

    #[test]
    fn a_decompression_bomb_is_refused_by_size_ratio_or_depth() {
        let limits =
            InflateLimits { max_bytes: 4 << 20, max_ratio: 100, ratio_floor: 1 << 16, max_layers: 2 };
        let bomb = gzip(&vec![b'a'; 8 << 20]);
        assert_eq!(inflate(bomb, &limits), Err(Inflated::TooLarge { limit: 4 << 20 }));
        let dense = gzip(&vec![b'a'; 2 << 20]);
        assert_eq!(inflate(dense, &limits), Err(Inflated::TooDense { limit: 100 }));
        let nested = gzip(&gzip(&gzip(b"deep")));
        assert_eq!(inflate(nested, &limits), Err(Inflated::TooDeep { limit: 2 }));
        assert_eq!(inflate(gzip(&gzip(b"two deep")), &limits), Ok(b"two deep".to_vec()));
        assert!(matches!(inflate(vec![0x1f, 0x8b, 0, 0], &limits), Err(Inflated::Corrupt(_))));
    }
}
