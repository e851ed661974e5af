//! Password hashing with scrypt, stored as PHC strings, always off the async runtime.
//!
//! Each hash holds `128 · r · N` bytes while it runs (32 MiB at the default cost), so the
//! number running at once is bounded by a semaphore: a burst of sign-ups or sign-ins waits
//! a moment for a slot, and past that wait is refused with [`HashError::Busy`] instead of
//! growing the service's memory without bound.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::Context as _;
use scrypt::Scrypt;
use scrypt::password_hash::rand_core::OsRng;
use scrypt::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// scrypt cost parameters.
#[derive(Debug, Clone, Copy)]
pub struct Cost {
    /// log2 of N; 17 is the recommendation (128 MiB per hash), tests use less.
    pub log_n: u8,
}

impl Default for Cost {
    fn default() -> Self {
        Self { log_n: 15 }
    }
}

/// scrypt's block size parameter r.
const BLOCK_SIZE: u32 = 8;

/// The memory all hashes running at once may hold, used to size the default bound: half
/// of the 256 MiB the service's manifest allows, leaving the rest for the runtime, the
/// database client and requests.
pub const HASH_MEMORY_BUDGET: u64 = 128 * 1024 * 1024;

impl Cost {
    /// The memory one hash holds while it runs: `128 · r · N` bytes.
    pub fn memory_per_hash(self) -> u64 {
        128 * u64::from(BLOCK_SIZE) * (1u64 << self.log_n)
    }
}

/// How many hashes may run at once, and how long a request waits for a slot.
#[derive(Debug, Clone, Copy)]
pub struct HashLimits {
    pub concurrency: usize,
    pub queue_wait: Duration,
}

impl HashLimits {
    /// As many hashes as fit in [`HASH_MEMORY_BUDGET`] (4 at the default cost), between 1
    /// and 8, each waiting up to 5 seconds for its turn.
    pub fn for_cost(cost: Cost) -> Self {
        let fit = HASH_MEMORY_BUDGET / cost.memory_per_hash();
        Self {
            concurrency: fit.clamp(1, 8) as usize,
            queue_wait: Duration::from_secs(5),
        }
    }
}

/// Why a password could not be hashed or checked.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// Every slot stayed taken for the whole queue wait.
    #[error("every password hashing slot is busy")]
    Busy,
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

/// What the hasher has done so far, for tests and diagnostics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashStats {
    /// Hashes computed for new passwords.
    pub hashed: u64,
    /// Passwords checked (against a stored or the dummy hash).
    pub verified: u64,
    /// The most hashes that ever ran at once.
    pub most_at_once: usize,
}

#[derive(Debug, Default)]
struct Counters {
    hashed: AtomicU64,
    verified: AtomicU64,
    running: AtomicUsize,
    most_at_once: AtomicUsize,
}

/// Counts one running hash for as long as it lives.
struct Running<'a>(&'a Counters);

impl<'a> Running<'a> {
    fn start(counters: &'a Counters) -> Self {
        let now = counters.running.fetch_add(1, Ordering::SeqCst) + 1;
        counters.most_at_once.fetch_max(now, Ordering::SeqCst);
        Self(counters)
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.running.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Hashes passwords with a fixed cost; verifies hashes of any cost. At most
/// `limits.concurrency` hashes run at once.
#[derive(Debug, Clone)]
pub struct Hasher {
    params: scrypt::Params,
    /// A hash of no real password, verified against when the email is unknown so that
    /// both failures take the same time.
    dummy: Arc<OnceLock<String>>,
    slots: Arc<Semaphore>,
    queue_wait: Duration,
    counters: Arc<Counters>,
}

impl Hasher {
    pub fn new(cost: Cost, limits: HashLimits) -> anyhow::Result<Self> {
        let params =
            scrypt::Params::new(cost.log_n, BLOCK_SIZE, 1, scrypt::Params::RECOMMENDED_LEN)
                .context("invalid scrypt parameters")?;
        anyhow::ensure!(
            limits.concurrency > 0,
            "password hashing needs at least one slot"
        );
        Ok(Self {
            params,
            dummy: Arc::new(OnceLock::new()),
            slots: Arc::new(Semaphore::new(limits.concurrency)),
            queue_wait: limits.queue_wait,
            counters: Arc::default(),
        })
    }

    pub fn stats(&self) -> HashStats {
        HashStats {
            hashed: self.counters.hashed.load(Ordering::SeqCst),
            verified: self.counters.verified.load(Ordering::SeqCst),
            most_at_once: self.counters.most_at_once.load(Ordering::SeqCst),
        }
    }

    /// Waits up to the queue wait for a hashing slot.
    async fn slot(&self) -> Result<OwnedSemaphorePermit, HashError> {
        match tokio::time::timeout(self.queue_wait, self.slots.clone().acquire_owned()).await {
            Ok(permit) => Ok(permit.context("the hashing semaphore is closed")?),
            Err(_) => {
                tracing::warn!("every password hashing slot is busy");
                Err(HashError::Busy)
            }
        }
    }

    /// A PHC string (`$scrypt$ln=…,r=8,p=1$salt$hash`).
    pub async fn hash(&self, password: &str) -> Result<String, HashError> {
        let password = password.to_owned();
        let params = self.params;
        let permit = self.slot().await?;
        let counters = self.counters.clone();
        // The permit moves into the blocking task: the slot stays taken until the hash is
        // done, even when the request is dropped meanwhile.
        let hash = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let _running = Running::start(&counters);
            counters.hashed.fetch_add(1, Ordering::SeqCst);
            hash_blocking(&password, params)
        })
        .await
        .context("the hashing task failed")??;
        Ok(hash)
    }

    /// Whether `password` matches `hash`; `None` runs a comparison against a dummy hash
    /// and returns false.
    pub async fn verify(&self, password: &str, hash: Option<String>) -> Result<bool, HashError> {
        let password = password.to_owned();
        let params = self.params;
        let dummy = self.dummy.clone();
        let permit = self.slot().await?;
        let counters = self.counters.clone();
        let verified = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let _running = Running::start(&counters);
            counters.verified.fetch_add(1, Ordering::SeqCst);
            let known = hash.is_some();
            let hash = match hash {
                Some(hash) => hash,
                None => match dummy.get() {
                    Some(hash) => hash.clone(),
                    None => {
                        let hash = hash_blocking("not-a-real-password", params)?;
                        dummy.get_or_init(|| hash).clone()
                    }
                },
            };
            let parsed = PasswordHash::new(&hash)
                .map_err(|e| anyhow::anyhow!("stored hash is not a PHC string: {e}"))?;
            anyhow::Ok(Scrypt.verify_password(password.as_bytes(), &parsed).is_ok() && known)
        })
        .await
        .context("the verifying task failed")??;
        Ok(verified)
    }
}

fn hash_blocking(password: &str, params: scrypt::Params) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Scrypt
        .hash_password_customized(password.as_bytes(), None, None, params, &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| anyhow::anyhow!("hashing failed: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hasher() -> Hasher {
        Hasher::new(Cost { log_n: 8 }, limits(2, Duration::from_secs(5))).unwrap()
    }

    fn limits(concurrency: usize, queue_wait: Duration) -> HashLimits {
        HashLimits {
            concurrency,
            queue_wait,
        }
    }

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let hasher = hasher();
        let hash = hasher.hash("correct horse").await.unwrap();
        assert!(hash.starts_with("$scrypt$"), "{hash}");
        assert!(!hash.contains("correct horse"));
        assert!(
            hasher
                .verify("correct horse", Some(hash.clone()))
                .await
                .unwrap()
        );
        assert!(!hasher.verify("wrong horse", Some(hash)).await.unwrap());
    }

    #[tokio::test]
    async fn the_same_password_hashes_differently_each_time() {
        let hasher = hasher();
        assert_ne!(
            hasher.hash("pw12").await.unwrap(),
            hasher.hash("pw12").await.unwrap()
        );
    }

    #[tokio::test]
    async fn an_unknown_user_never_verifies() {
        assert!(!hasher().verify("not-a-real-password", None).await.unwrap());
    }

    #[tokio::test]
    async fn hashes_of_another_cost_still_verify() {
        let old = Hasher::new(Cost { log_n: 9 }, limits(1, Duration::from_secs(5)))
            .unwrap()
            .hash("pw12")
            .await
            .unwrap();
        assert!(hasher().verify("pw12", Some(old)).await.unwrap());
    }

    #[test]
    fn the_default_bound_keeps_hashes_within_the_memory_budget() {
        let default = HashLimits::for_cost(Cost::default());
        assert_eq!(Cost::default().memory_per_hash(), 32 * 1024 * 1024);
        assert_eq!(default.concurrency, 4, "4 × 32 MiB = 128 MiB");
        assert_eq!(HashLimits::for_cost(Cost { log_n: 17 }).concurrency, 1);
        assert_eq!(HashLimits::for_cost(Cost { log_n: 6 }).concurrency, 8);
    }

    #[tokio::test]
    async fn hashing_is_refused_as_busy_when_every_slot_stays_taken() {
        let hasher = Hasher::new(Cost { log_n: 8 }, limits(1, Duration::ZERO)).unwrap();
        let taken = hasher.slots.clone().acquire_owned().await.unwrap();
        assert!(matches!(hasher.hash("pw12").await, Err(HashError::Busy)));
        assert!(matches!(
            hasher.verify("pw12", None).await,
            Err(HashError::Busy)
        ));
        drop(taken);
        assert!(hasher.hash("pw12").await.is_ok());
        assert_eq!(hasher.stats().hashed, 1);
    }

    #[tokio::test]
    async fn no_more_hashes_run_at_once_than_the_bound() {
        let hasher = Hasher::new(Cost { log_n: 10 }, limits(2, Duration::from_secs(60))).unwrap();
        let hashes = (0..8).map(|_| hasher.hash("pw12"));
        for hash in futures::future::join_all(hashes).await {
            hash.unwrap();
        }
        let stats = hasher.stats();
        assert_eq!(stats.hashed, 8);
        assert!(
            (1..=2).contains(&stats.most_at_once),
            "{}",
            stats.most_at_once
        );
    }
}
