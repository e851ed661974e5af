//! Password hashing with scrypt, stored as PHC strings, always off the async runtime.

use std::sync::{Arc, OnceLock};

use anyhow::Context as _;
use scrypt::Scrypt;
use scrypt::password_hash::rand_core::OsRng;
use scrypt::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

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

/// Hashes passwords with a fixed cost; verifies hashes of any cost.
#[derive(Debug, Clone)]
pub struct Hasher {
    params: scrypt::Params,
    /// A hash of no real password, verified against when the email is unknown so that
    /// both failures take the same time.
    dummy: Arc<OnceLock<String>>,
}

impl Hasher {
    pub fn new(cost: Cost) -> anyhow::Result<Self> {
        let params = scrypt::Params::new(cost.log_n, 8, 1, scrypt::Params::RECOMMENDED_LEN)
            .context("invalid scrypt parameters")?;
        Ok(Self {
            params,
            dummy: Arc::new(OnceLock::new()),
        })
    }

    /// A PHC string (`$scrypt$ln=…,r=8,p=1$salt$hash`).
    pub async fn hash(&self, password: &str) -> anyhow::Result<String> {
        let password = password.to_owned();
        let params = self.params;
        tokio::task::spawn_blocking(move || hash_blocking(&password, params))
            .await
            .context("the hashing task failed")?
    }

    /// Whether `password` matches `hash`; `None` runs a comparison against a dummy hash
    /// and returns false.
    pub async fn verify(&self, password: &str, hash: Option<String>) -> anyhow::Result<bool> {
        let password = password.to_owned();
        let params = self.params;
        let dummy = self.dummy.clone();
        tokio::task::spawn_blocking(move || {
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
            Ok(Scrypt.verify_password(password.as_bytes(), &parsed).is_ok() && known)
        })
        .await
        .context("the verifying task failed")?
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
        Hasher::new(Cost { log_n: 8 }).unwrap()
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
        let old = Hasher::new(Cost { log_n: 9 })
            .unwrap()
            .hash("pw12")
            .await
            .unwrap();
        assert!(hasher().verify("pw12", Some(old)).await.unwrap());
    }
}
