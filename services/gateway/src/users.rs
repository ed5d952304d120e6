//! The users who may log in: names, argon2id password hashes and roles, in the gateway's own
//! PostgreSQL database.

use argon2::{
    password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Argon2,
};
use diesel::sql_types::Text;
use diesel_async::RunQueryDsl;
use diesel_migrations::{embed_migrations, EmbeddedMigrations};
use runtime::db::PgPool;
use std::sync::OnceLock;
use web::auth::Role;

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");
/// The gateway's migration sets, in order.
pub const ALL_MIGRATIONS: &[EmbeddedMigrations] = &[MIGRATIONS];

#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("user {0} already exists")]
    Exists(String),
    #[error("invalid {field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("password hashing failed: {0}")]
    Hashing(String),
}

/// A user name: 1 to 64 characters, no colon (HTTP Basic splits on the first one), no
/// whitespace or control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Self, UserError> {
        let invalid = |reason: &str| UserError::Invalid {
            field: "username",
            reason: reason.to_owned(),
        };
        if raw.is_empty() || raw.chars().count() > 64 {
            return Err(invalid("must be 1 to 64 characters"));
        }
        if raw
            .chars()
            .any(|c| c == ':' || c.is_whitespace() || c.is_control())
        {
            return Err(invalid(
                "must not contain ':', spaces or control characters",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A new password: at least 8 characters.
pub struct Password(String);

impl Password {
    pub const MIN_CHARS: usize = 8;

    pub fn parse(raw: &str) -> Result<Self, UserError> {
        if raw.chars().count() < Self::MIN_CHARS {
            return Err(UserError::Invalid {
                field: "password",
                reason: format!("must be at least {} characters", Self::MIN_CHARS),
            });
        }
        Ok(Self(raw.to_owned()))
    }

    /// A random 24-character alphanumeric password (for the first admin).
    pub fn generate() -> Self {
        use rand::{distr::Alphanumeric, Rng};
        Self(
            rand::rng()
                .sample_iter(Alphanumeric)
                .take(24)
                .map(char::from)
                .collect(),
        )
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

#[derive(Clone)]
pub struct UserStore {
    pool: PgPool,
}

#[derive(diesel::QueryableByName)]
struct Credentials {
    #[diesel(sql_type = Text)]
    password_hash: String,
    #[diesel(sql_type = Text)]
    role: String,
}

impl UserStore {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    async fn conn(&self) -> Result<runtime::db::PgConn, UserError> {
        self.pool
            .get()
            .await
            .map_err(|e| UserError::Unavailable(e.to_string()))
    }

    /// Adds a user; fails if the name is taken.
    pub async fn create(
        &self,
        username: &Username,
        password: &Password,
        role: Role,
    ) -> Result<(), UserError> {
        let hash = hash(password).await?;
        let mut conn = self.conn().await?;
        let inserted = diesel::sql_query(
            "INSERT INTO users (username, password_hash, role) VALUES ($1, $2, $3) \
             ON CONFLICT (username) DO NOTHING",
        )
        .bind::<Text, _>(username.as_str())
        .bind::<Text, _>(&hash)
        .bind::<Text, _>(role.as_str())
        .execute(&mut conn)
        .await
        .map_err(|e| UserError::Unavailable(e.to_string()))?;
        if inserted == 0 {
            return Err(UserError::Exists(username.as_str().to_owned()));
        }
        Ok(())
    }

    /// Whether no user exists yet.
    pub async fn is_empty(&self) -> Result<bool, UserError> {
        #[derive(diesel::QueryableByName)]
        struct Any {
            #[diesel(sql_type = diesel::sql_types::Bool)]
            any: bool,
        }
        let mut conn = self.conn().await?;
        let found: Any = diesel::sql_query("SELECT EXISTS (SELECT 1 FROM users) AS any")
            .get_result(&mut conn)
            .await
            .map_err(|e| UserError::Unavailable(e.to_string()))?;
        Ok(!found.any)
    }

    /// Adds `username` as an admin if there are no users at all; true if it did.
    pub async fn create_first_admin(
        &self,
        username: &Username,
        password: &Password,
    ) -> Result<bool, UserError> {
        let hash = hash(password).await?;
        let mut conn = self.conn().await?;
        // Two gateways starting at once: the lock makes the check-then-insert one step.
        let inserted = diesel::sql_query(
            "WITH lock AS (SELECT pg_advisory_xact_lock(hashtext('gateway.first_admin'))) \
             INSERT INTO users (username, password_hash, role) \
             SELECT $1, $2, 'admin' FROM lock WHERE NOT EXISTS (SELECT 1 FROM users)",
        )
        .bind::<Text, _>(username.as_str())
        .bind::<Text, _>(&hash)
        .execute(&mut conn)
        .await
        .map_err(|e| UserError::Unavailable(e.to_string()))?;
        Ok(inserted == 1)
    }

    /// The user's role if `password` is theirs; `None` for an unknown user or a wrong
    /// password (which take the same time, so that names cannot be probed).
    pub async fn check(&self, username: &str, password: &str) -> Result<Option<Role>, UserError> {
        let mut conn = self.conn().await?;
        let found: Option<Credentials> =
            diesel::sql_query("SELECT password_hash, role FROM users WHERE username = $1")
                .bind::<Text, _>(username)
                .get_result(&mut conn)
                .await
                .map(Some)
                .or_else(|e| match e {
                    diesel::result::Error::NotFound => Ok(None),
                    other => Err(UserError::Unavailable(other.to_string())),
                })?;
        drop(conn);
        let (stored, role) = match &found {
            Some(c) => (Some(c.password_hash.clone()), Role::parse(&c.role)),
            None => (None, None),
        };
        let password = password.to_owned();
        let matches = tokio::task::spawn_blocking(move || {
            let stored = stored.unwrap_or_else(|| dummy_hash().to_owned());
            PasswordHash::new(&stored).is_ok_and(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
        })
        .await
        .map_err(|e| UserError::Hashing(e.to_string()))?;
        Ok(role.filter(|_| matches && found.is_some()))
    }
}

async fn hash(password: &Password) -> Result<String, UserError> {
    let password = password.expose().to_owned();
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| UserError::Hashing(e.to_string()))
    })
    .await
    .map_err(|e| UserError::Hashing(e.to_string()))?
}

/// A hash to verify against when the user does not exist, so that costs the same time.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(b"no such user", &salt)
            .expect("hashing a constant")
            .to_string()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_and_passwords_are_parsed_at_the_edge() {
        assert!(Username::parse("ada").is_ok());
        assert!(Username::parse("").is_err());
        assert!(Username::parse("a:b").is_err());
        assert!(Username::parse("a b").is_err());
        assert!(Password::parse("short").is_err());
        assert!(Password::parse("long enough").is_ok());
        assert_eq!(Password::generate().expose().len(), 24);
    }
}
