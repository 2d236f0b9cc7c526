//! HS256 JSON Web Tokens for signed-in users: short-lived access tokens and longer refresh tokens.
//! Small enough to keep here rather than pull a crypto stack in for it.

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenKind {
    Access,
    Refresh,
    Session,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: i64,
    /// The user's account id: what a token may reach.
    pub acc: i64,
    pub typ: TokenKind,
    pub iat: i64,
    pub exp: i64,
    /// Random per token, so two tokens issued in the same second differ.
    pub jti: String,
    /// The user's session epoch when issued: a session or refresh token from an earlier epoch (the
    /// user signed out since) is refused where the user is read.
    #[serde(default)]
    pub ses: i64,
    /// A refresh token's family: the `jti` of the family's first token, issued at sign-in; each
    /// refresh spends its token for the next one of the family (`Store::rotate_refresh_token`).
    /// Absent from other kinds, and from refresh tokens issued before rotation (whose own `jti`
    /// then names their family).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fam: Option<String>,
}

impl Claims {
    /// The refresh token family this token belongs to.
    pub fn family(&self) -> &str {
        self.fam.as_deref().unwrap_or(&self.jti)
    }
}

/// Whom a token is issued to.
#[derive(Debug, Clone, Copy)]
pub struct Subject {
    pub user_id: i64,
    pub account_id: i64,
    pub session_epoch: i64,
}

impl From<&igny8_store::User> for Subject {
    fn from(user: &igny8_store::User) -> Self {
        Self {
            user_id: user.id,
            account_id: user.account_id,
            session_epoch: user.session_epoch,
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum TokenError {
    Invalid,
    Expired,
}

pub struct TokenKeys {
    secret: Vec<u8>,
    access_ttl: Duration,
    refresh_ttl: Duration,
}

/// A freshly issued token and when it stops working.
pub struct Issued {
    pub token: String,
    pub expires_at: DateTime<Utc>,
    /// Its `jti`.
    pub id: String,
}

impl TokenKeys {
    pub fn new(secret: &[u8], access_ttl: Duration, refresh_ttl: Duration) -> Self {
        Self {
            secret: secret.to_vec(),
            access_ttl,
            refresh_ttl,
        }
    }

    fn mac(&self) -> HmacSha256 {
        HmacSha256::new_from_slice(&self.secret).expect("HMAC takes keys of any length")
    }

    pub fn ttl(&self, kind: TokenKind) -> Duration {
        match kind {
            TokenKind::Access => self.access_ttl,
            TokenKind::Refresh | TokenKind::Session => self.refresh_ttl,
        }
    }

    /// A token of `kind`; a refresh token starts a family of its own (a sign-in).
    pub fn issue(&self, kind: TokenKind, subject: Subject, now: DateTime<Utc>) -> Issued {
        self.issue_in(kind, subject, now, None)
    }

    /// The next refresh token of `family`.
    pub fn issue_refresh_in(&self, family: &str, subject: Subject, now: DateTime<Utc>) -> Issued {
        self.issue_in(TokenKind::Refresh, subject, now, Some(family))
    }

    fn issue_in(
        &self,
        kind: TokenKind,
        subject: Subject,
        now: DateTime<Utc>,
        family: Option<&str>,
    ) -> Issued {
        let ttl =
            chrono::Duration::from_std(self.ttl(kind)).unwrap_or(chrono::Duration::minutes(15));
        let expires_at = now + ttl;
        let jti: String = {
            use rand::Rng;
            let bytes: [u8; 12] = rand::thread_rng().gen();
            B64.encode(bytes)
        };
        let claims = Claims {
            sub: subject.user_id,
            acc: subject.account_id,
            typ: kind,
            iat: now.timestamp(),
            exp: expires_at.timestamp(),
            fam: (kind == TokenKind::Refresh).then(|| family.unwrap_or(&jti).to_owned()),
            jti: jti.clone(),
            ses: subject.session_epoch,
        };
        let header = B64.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let payload = B64.encode(serde_json::to_vec(&claims).expect("claims serialize"));
        let signing_input = format!("{header}.{payload}");
        let mut mac = self.mac();
        mac.update(signing_input.as_bytes());
        let signature = B64.encode(mac.finalize().into_bytes());
        Issued {
            token: format!("{signing_input}.{signature}"),
            expires_at,
            id: jti,
        }
    }

    /// Verifies signature, kind and expiry.
    pub fn verify(
        &self,
        token: &str,
        kind: TokenKind,
        now: DateTime<Utc>,
    ) -> Result<Claims, TokenError> {
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Invalid);
        };
        let signature = B64.decode(signature).map_err(|_| TokenError::Invalid)?;
        let mut mac = self.mac();
        mac.update(header.as_bytes());
        mac.update(b".");
        mac.update(payload.as_bytes());
        mac.verify_slice(&signature)
            .map_err(|_| TokenError::Invalid)?;
        let header: serde_json::Value =
            serde_json::from_slice(&B64.decode(header).map_err(|_| TokenError::Invalid)?)
                .map_err(|_| TokenError::Invalid)?;
        if header["alg"] != "HS256" {
            return Err(TokenError::Invalid);
        }
        let claims: Claims =
            serde_json::from_slice(&B64.decode(payload).map_err(|_| TokenError::Invalid)?)
                .map_err(|_| TokenError::Invalid)?;
        if claims.typ != kind {
            return Err(TokenError::Invalid);
        }
        if claims.exp <= now.timestamp() {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> TokenKeys {
        TokenKeys::new(
            b"secret",
            Duration::from_secs(60),
            Duration::from_secs(3600),
        )
    }

    fn subject() -> Subject {
        Subject {
            user_id: 7,
            account_id: 3,
            session_epoch: 2,
        }
    }

    #[test]
    fn tokens_verify_for_their_kind_until_they_expire() {
        let now = Utc::now();
        let t = keys().issue(TokenKind::Access, subject(), now);
        let claims = keys().verify(&t.token, TokenKind::Access, now).unwrap();
        assert_eq!((claims.sub, claims.acc, claims.ses), (7, 3, 2));
        assert_eq!(
            keys().verify(&t.token, TokenKind::Refresh, now),
            Err(TokenError::Invalid)
        );
        assert_eq!(
            keys().verify(
                &t.token,
                TokenKind::Access,
                now + chrono::Duration::seconds(61)
            ),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn refresh_tokens_carry_their_family() {
        let now = Utc::now();
        let first = keys().issue(TokenKind::Refresh, subject(), now);
        let claims = keys()
            .verify(&first.token, TokenKind::Refresh, now)
            .unwrap();
        assert_eq!(claims.family(), first.id, "a sign-in starts a family");
        let next = keys().issue_refresh_in(&first.id, subject(), now);
        let claims = keys().verify(&next.token, TokenKind::Refresh, now).unwrap();
        assert_eq!(
            (claims.family(), claims.jti.as_str()),
            (first.id.as_str(), next.id.as_str())
        );
        let access = keys().issue(TokenKind::Access, subject(), now);
        assert_eq!(
            keys()
                .verify(&access.token, TokenKind::Access, now)
                .unwrap()
                .fam,
            None
        );
    }

    #[test]
    fn tampered_or_foreign_tokens_are_invalid() {
        let now = Utc::now();
        let t = keys().issue(TokenKind::Access, subject(), now).token;
        let other = TokenKeys::new(b"other", Duration::from_secs(60), Duration::from_secs(60));
        assert_eq!(
            other.verify(&t, TokenKind::Access, now),
            Err(TokenError::Invalid)
        );
        let mut parts: Vec<&str> = t.split('.').collect();
        let forged =
            B64.encode(br#"{"sub":1,"acc":1,"typ":"access","iat":0,"exp":99999999999,"jti":"x"}"#);
        parts[1] = &forged;
        assert_eq!(
            keys().verify(&parts.join("."), TokenKind::Access, now),
            Err(TokenError::Invalid)
        );
        for junk in ["", "a.b", "a.b.c.d", "...", "eyJ.eyJ.!!"] {
            assert_eq!(
                keys().verify(junk, TokenKind::Access, now),
                Err(TokenError::Invalid)
            );
        }
    }
}
