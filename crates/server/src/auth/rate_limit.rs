//! A sliding-window limiter for sign-in attempts, kept in memory per server process.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct RateLimiter {
    window: Duration,
    attempts: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl RateLimiter {
    pub fn new(window: Duration) -> Self {
        Self {
            window,
            attempts: Mutex::new(HashMap::new()),
        }
    }

    /// Records an attempt under every key; refuses (recording nothing) when any key is already at
    /// `limit`, answering how long until the oldest attempt leaves the window.
    pub fn check(&self, keys: &[(&str, usize)], now: Instant) -> Result<(), Duration> {
        let mut attempts = self.attempts.lock().unwrap_or_else(|p| p.into_inner());
        if attempts.len() > 100_000 {
            attempts.retain(|_, q| {
                q.back()
                    .is_some_and(|t| now.duration_since(*t) < self.window)
            });
        }
        let mut wait = None;
        for (key, limit) in keys {
            let q = attempts.entry((*key).to_owned()).or_default();
            while q
                .front()
                .is_some_and(|t| now.duration_since(*t) >= self.window)
            {
                q.pop_front();
            }
            if q.len() >= *limit {
                let until = q
                    .front()
                    .map(|t| self.window.saturating_sub(now.duration_since(*t)));
                wait = wait.max(until);
            }
        }
        if let Some(wait) = wait {
            return Err(wait.max(Duration::from_secs(1)));
        }
        for (key, _) in keys {
            attempts
                .entry((*key).to_owned())
                .or_default()
                .push_back(now);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempts_over_the_limit_wait_for_the_window() {
        let limiter = RateLimiter::new(Duration::from_secs(60));
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(limiter.check(&[("a", 3), ("ip", 10)], t0).is_ok());
        }
        let wait = limiter
            .check(&[("a", 3), ("ip", 10)], t0 + Duration::from_secs(10))
            .unwrap_err();
        assert_eq!(wait, Duration::from_secs(50));
        assert!(
            limiter.check(&[("b", 3), ("ip", 10)], t0).is_ok(),
            "other keys are not affected"
        );
        assert!(limiter
            .check(&[("a", 3)], t0 + Duration::from_secs(61))
            .is_ok());
    }
}
