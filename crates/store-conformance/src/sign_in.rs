//! Conformance cases of signing in: sessions ended everywhere, sign-in limits per key (also under
//! concurrent attempts), one first user, and refresh tokens rotating once.

use chrono::{Duration, Utc};

use igny8_store::{LimitKey, NewUser, RefreshRotation, RotationOutcome, StoreError};

use crate::{user, S};

pub async fn sessions_end_everywhere_at_once(store: S) {
    let ann = user(&store, "ann@example.com").await;
    let bob = user(&store, "bob@example.com").await;
    assert_eq!(ann.session_epoch, 0);
    assert_eq!(store.end_sessions(ann.id).await.unwrap(), 1);
    assert_eq!(store.end_sessions(ann.id).await.unwrap(), 2);
    assert_eq!(
        store
            .user_by_id(ann.id)
            .await
            .unwrap()
            .unwrap()
            .session_epoch,
        2
    );
    assert_eq!(
        store
            .user_by_email("ann@example.com")
            .await
            .unwrap()
            .unwrap()
            .session_epoch,
        2
    );
    assert_eq!(
        store
            .user_by_id(bob.id)
            .await
            .unwrap()
            .unwrap()
            .session_epoch,
        0,
        "another user's sessions go on"
    );
    assert!(matches!(
        store.end_sessions(999_999).await,
        Err(StoreError::NotFound)
    ));
}

/// Starts `n` racers at once; answers how many of them won.
async fn winners<F, Fut>(n: usize, racer: F) -> usize
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = bool> + Send + 'static,
{
    let racing: Vec<_> = (0..n).map(|i| tokio::spawn(racer(i))).collect();
    let mut won = 0;
    for task in racing {
        if task.await.unwrap() {
            won += 1;
        }
    }
    won
}

fn limits<'a>(email: &'a str, ip: &'a str) -> [LimitKey<'a>; 2] {
    [
        LimitKey {
            key: email,
            limit: 3,
        },
        LimitKey { key: ip, limit: 10 },
    ]
}

pub async fn sign_in_limits_count_per_key_within_the_window(store: S) {
    let window = std::time::Duration::from_secs(60);
    let t0 = Utc::now();
    let attempt = |keys: [LimitKey<'static>; 2], at| {
        let store = store.clone();
        async move { store.record_login_attempt(&keys, window, at).await.unwrap() }
    };
    for _ in 0..3 {
        assert_eq!(attempt(limits("email:ann", "ip:1"), t0).await, None);
    }
    assert_eq!(
        attempt(limits("email:ann", "ip:1"), t0 + Duration::seconds(10)).await,
        Some(std::time::Duration::from_secs(50)),
        "the fourth waits until the first leaves the window"
    );
    // The refused attempt was not recorded: the address has 3 attempts, not 4.
    for n in 0..7 {
        assert_eq!(
            attempt(limits(["email:b", "email:c", "email:d"][n % 3], "ip:1"), t0).await,
            None
        );
    }
    assert!(
        attempt(limits("email:e", "ip:1"), t0).await.is_some(),
        "the address is at its limit of 10"
    );
    assert_eq!(attempt(limits("email:e", "ip:2"), t0).await, None);
    assert_eq!(
        attempt(limits("email:ann", "ip:3"), t0 + Duration::seconds(61)).await,
        None,
        "attempts leave the window"
    );
}

pub async fn sign_in_limits_hold_under_concurrent_attempts(store: S) {
    let window = std::time::Duration::from_secs(60);
    let now = Utc::now();
    let allowed = winners(20, |n| {
        let store = store.clone();
        async move {
            let ip = format!("ip:{n}");
            store
                .record_login_attempt(&limits("email:ann", &ip), window, now)
                .await
                .unwrap()
                .is_none()
        }
    })
    .await;
    assert_eq!(allowed, 3, "exactly the limit gets through");
}

pub async fn only_one_first_user_however_many_race(store: S) {
    let created = winners(10, |n| {
        let store = store.clone();
        async move {
            let email = format!("racer{n}@example.com");
            store
                .create_first_user(NewUser {
                    email: &email,
                    password_hash: "$argon2id$fake",
                    account_name: "Acme",
                })
                .await
                .unwrap()
                .is_some()
        }
    })
    .await;
    assert_eq!(created, 1, "exactly one setup wins");
    assert_eq!(store.count_users().await.unwrap(), 1);
    let later = store
        .create_first_user(NewUser {
            email: "late@example.com",
            password_hash: "$argon2id$fake",
            account_name: "Acme",
        })
        .await
        .unwrap();
    assert!(later.is_none());
    // Ordinary creation is not limited.
    user(&store, "ann@example.com").await;
    assert_eq!(store.count_users().await.unwrap(), 2);
}

/// Presents refresh token `presented` of `family` for `next`, valid for an hour from `now`.
async fn rotate(
    store: &S,
    user_id: i64,
    (family, presented, next): (&str, &str, &str),
    now: chrono::DateTime<Utc>,
) -> RotationOutcome {
    store
        .rotate_refresh_token(RefreshRotation {
            family,
            presented,
            next,
            user_id,
            expires_at: now + Duration::hours(1),
            now,
        })
        .await
        .expect("rotate")
}

pub async fn refresh_tokens_rotate_once_and_reuse_ends_the_family(store: S) {
    use RotationOutcome::{Reused, Rotated};
    let ann = user(&store, "ann@example.com").await.id;
    let bob = user(&store, "bob@example.com").await.id;
    let now = Utc::now();
    // The sign-in's token (its id is the family's) is current until spent, then its successor.
    assert_eq!(rotate(&store, ann, ("f", "f", "a"), now).await, Rotated);
    assert_eq!(rotate(&store, ann, ("f", "a", "b"), now).await, Rotated);
    // `a` again: someone kept a copy. The family ends: even its current token `b` is refused.
    assert_eq!(rotate(&store, ann, ("f", "a", "c"), now).await, Reused);
    assert_eq!(rotate(&store, ann, ("f", "b", "d"), now).await, Reused);
    assert_eq!(rotate(&store, ann, ("f", "f", "e"), now).await, Reused);
    // Other families (other sign-ins, other users) go on.
    assert_eq!(rotate(&store, ann, ("g", "g", "h"), now).await, Rotated);
    assert_eq!(rotate(&store, bob, ("k", "k", "l"), now).await, Rotated);
    assert_eq!(rotate(&store, bob, ("k", "l", "m"), now).await, Rotated);
    // A token the store never issued into a family it knows, or another user's family.
    assert_eq!(rotate(&store, ann, ("x", "y", "z"), now).await, Reused);
    assert_eq!(rotate(&store, ann, ("k", "m", "n"), now).await, Reused);
    assert_eq!(
        rotate(&store, bob, ("k", "m", "o"), now).await,
        Reused,
        "ann's attempt ended bob's family"
    );
    // A family is forgotten once its last token expired (that token is refused before the store).
    let later = now + Duration::hours(2);
    assert_eq!(rotate(&store, ann, ("g", "h", "i"), later).await, Reused);
    assert_eq!(rotate(&store, ann, ("f", "f", "p"), later).await, Rotated);
}

pub async fn racing_refreshes_of_one_token_let_one_through_and_end_the_family(store: S) {
    let ann = user(&store, "ann@example.com").await.id;
    let now = Utc::now();
    let racers: Vec<_> = (0..8)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let next = format!("next{i}");
                (
                    next.clone(),
                    rotate(&store, ann, ("f", "f", &next), now).await,
                )
            })
        })
        .collect();
    let mut through = Vec::new();
    for racer in racers {
        let (next, outcome) = racer.await.unwrap();
        if outcome == RotationOutcome::Rotated {
            through.push(next);
        }
    }
    assert_eq!(through.len(), 1, "{through:?}");
    // The others were reuses: the winner's token is refused too.
    assert_eq!(
        rotate(&store, ann, ("f", &through[0], "after"), now).await,
        RotationOutcome::Reused
    );
}
