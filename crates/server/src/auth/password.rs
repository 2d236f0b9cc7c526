//! Argon2id password hashes. Hashing is slow and memory-hard on purpose (one hash holds ~19 MiB),
//! so it runs off the async workers, and the server runs only a few at once (`Hashing`).

use std::sync::Arc;
use std::time::Duration;

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use tokio::sync::Semaphore;

/// Hashes a password for storage, without a cap: for the CLI, which hashes one at a time.
pub async fn hash(password: &str) -> anyhow::Result<String> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || hash_now(&password)).await?
}

fn hash_now(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing failed: {e}"))
}

/// Checks a password against a stored hash. With `None` (unknown user) it still spends the same
/// time on a dummy hash, so response times do not tell which emails exist.
fn verify_now(password: &str, stored: Option<&str>) -> bool {
    const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Ae5bnO9XUPH2p7XJv4D8bFiOOvTOqVVfA3nHkjEMLy8";
    let ok = PasswordHash::new(stored.unwrap_or(DUMMY))
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false);
    ok && stored.is_some()
}

/// The server's password hashing: at most `at_once` hashes run together (each holds ~19 MiB, so
/// 50 concurrent sign-ins once took the server from 35 MB to 1 GB); the others wait up to `wait`
/// for a turn, then are refused with `Busy`.
pub struct Hashing {
    turns: Arc<Semaphore>,
    wait: Duration,
}

/// No hashing turn came free in time: the server is saturated with sign-ins.
#[derive(Debug, PartialEq, Eq)]
pub struct Busy;

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("the server is busy hashing other passwords")]
    Busy,
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

impl Hashing {
    pub fn new(at_once: usize, wait: Duration) -> Self {
        Self {
            turns: Arc::new(Semaphore::new(at_once.max(1))),
            wait,
        }
    }

    /// Checks a password as `verify_now` does, in its turn.
    pub async fn verify(&self, password: &str, stored: Option<&str>) -> Result<bool, Busy> {
        let (password, stored) = (password.to_owned(), stored.map(str::to_owned));
        self.in_turn(move || verify_now(&password, stored.as_deref()))
            .await
    }

    /// Hashes a password for storage, in its turn.
    pub async fn hash(&self, password: &str) -> Result<String, HashError> {
        let password = password.to_owned();
        self.in_turn(move || hash_now(&password))
            .await
            .map_err(|Busy| HashError::Busy)?
            .map_err(HashError::Failed)
    }

    /// Runs `work` on the blocking pool once a turn is free. The turn goes with the work, so a
    /// client that hangs up does not free it while its hash still holds the memory.
    async fn in_turn<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Busy> {
        let turn = tokio::time::timeout(self.wait, self.turns.clone().acquire_owned())
            .await
            .map_err(|_| Busy)?
            .map_err(|_| Busy)?;
        tokio::task::spawn_blocking(move || {
            let done = work();
            drop(turn);
            done
        })
        .await
        .map_err(|_| Busy)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    use super::{Busy, Hashing};

    #[tokio::test]
    async fn hashes_verify_only_their_password() {
        let h = super::hash("correct horse").await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        let hashing = Hashing::new(2, Duration::from_secs(5));
        assert_eq!(hashing.verify("correct horse", Some(&h)).await, Ok(true));
        assert_eq!(hashing.verify("wrong horse", Some(&h)).await, Ok(false));
        assert_eq!(hashing.verify("correct horse", None).await, Ok(false));
        assert_eq!(hashing.verify("x", Some("not a hash")).await, Ok(false));
        let stored = hashing.hash("battery staple").await.unwrap();
        assert_eq!(
            hashing.verify("battery staple", Some(&stored)).await,
            Ok(true)
        );
    }

    /// 12 callers, 3 turns: never more than 3 run at once; with a wait shorter than the work, the
    /// callers that found no turn are refused instead of queueing.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn no_more_than_the_cap_run_at_once_and_the_rest_are_refused_after_the_wait() {
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let work = |running: Arc<AtomicUsize>, most: Arc<AtomicUsize>| {
            move || {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(400));
                running.fetch_sub(1, Ordering::SeqCst);
            }
        };

        let patient = Arc::new(Hashing::new(3, Duration::from_secs(30)));
        let calls: Vec<_> = (0..12)
            .map(|_| {
                let (patient, w) = (patient.clone(), work(running.clone(), most.clone()));
                tokio::spawn(async move { patient.in_turn(w).await })
            })
            .collect();
        for call in calls {
            assert_eq!(call.await.unwrap(), Ok(()));
        }
        assert_eq!(most.load(Ordering::SeqCst), 3);

        let hurried = Arc::new(Hashing::new(3, Duration::from_millis(20)));
        let calls: Vec<_> = (0..12)
            .map(|_| {
                let (hurried, w) = (hurried.clone(), work(running.clone(), most.clone()));
                tokio::spawn(async move { hurried.in_turn(w).await })
            })
            .collect();
        let mut refused = 0;
        for call in calls {
            if call.await.unwrap() == Err(Busy) {
                refused += 1;
            }
        }
        assert_eq!(refused, 9, "3 ran, the 9 others found no turn within 20 ms");
        assert_eq!(most.load(Ordering::SeqCst), 3);
    }
}
