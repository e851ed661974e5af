//! Small measuring helpers: percentiles, resident memory, compressed sizes.

use std::io::Write;
use std::time::Duration;

/// Latencies summarised.
#[derive(Debug, Clone, Copy)]
pub struct Summary {
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
    pub count: usize,
}

/// Nearest-rank percentiles of `samples`.
pub fn summarise(mut samples: Vec<Duration>) -> Summary {
    samples.sort();
    let rank = |p: f64| {
        if samples.is_empty() {
            return Duration::ZERO;
        }
        let index = ((p / 100.0) * samples.len() as f64).ceil() as usize;
        samples[index.clamp(1, samples.len()) - 1]
    };
    Summary {
        p50: rank(50.0),
        p99: rank(99.0),
        max: samples.last().copied().unwrap_or_default(),
        count: samples.len(),
    }
}

/// Resident memory of a process, three ways:
/// - `rss`: every page it has in memory, shared ones included (what `ps` and `top` show);
/// - `pss`: the same with each shared page divided among the processes that map it, so
///   that the figures of several processes add up to the memory they hold together (the
///   backend services run from one executable, whose code the kernel keeps once);
/// - `private`: its anonymous memory, what it has allocated, leaving out the pages of
///   executables and libraries, which the kernel can drop and read again.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Resident {
    pub rss: u64,
    pub pss: u64,
    pub private: u64,
}

impl Resident {
    /// Each figure added up.
    pub fn plus(self, other: Self) -> Self {
        Self {
            rss: self.rss + other.rss,
            pss: self.pss + other.pss,
            private: self.private + other.private,
        }
    }

    /// The larger of each figure.
    pub fn max(self, other: Self) -> Self {
        Self {
            rss: self.rss.max(other.rss),
            pss: self.pss.max(other.pss),
            private: self.private.max(other.private),
        }
    }
}

/// Resident memory of a process, in bytes (Linux 4.14 or later, for `smaps_rollup`).
pub fn resident(pid: u32) -> Option<Resident> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rollup = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok()?;
    let bytes = |text: &str, key: &str| -> Option<u64> {
        let line = text.lines().find(|l| l.starts_with(key))?;
        Some(line.split_whitespace().nth(1)?.parse::<u64>().ok()? * 1024)
    };
    Some(Resident {
        rss: bytes(&status, "VmRSS:")?,
        pss: bytes(&rollup, "Pss:")?,
        private: bytes(&status, "RssAnon:")?,
    })
}

/// Size of `bytes` gzip-compressed at the best level.
pub fn gzip_size(bytes: &[u8]) -> usize {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes).expect("writing to memory");
    encoder.finish().expect("writing to memory").len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let samples: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        let summary = summarise(samples);
        assert_eq!(summary.p50, Duration::from_millis(50));
        assert_eq!(summary.p99, Duration::from_millis(99));
        assert_eq!(summary.max, Duration::from_millis(100));
        assert_eq!(
            summarise(vec![Duration::from_millis(7)]).p99,
            Duration::from_millis(7)
        );
        assert_eq!(summarise(Vec::new()).count, 0);
    }

    #[test]
    fn compressed_sizes_shrink_repetitive_data() {
        assert!(gzip_size(&[b'a'; 10_000]) < 200);
    }

    #[test]
    fn this_process_has_resident_memory_some_of_it_private() {
        let memory = resident(std::process::id()).unwrap();
        assert!(memory.private > 0);
        assert!(memory.rss >= memory.private);
        assert!(memory.pss > 0 && memory.pss <= memory.rss);
    }
}
