//! Console accounts: creation (the first account becomes the admin), lookup and sign-in checks.

use crate::i18n::Msg;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::db::{now_ms, Db};
use super::error::StoreError;
use super::password;
use crate::i18n::Locale;
use crate::types::{AdminUserView, Role, UserView};

/// A stored account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub username: Option<String>,
    pub password_hash: String,
    pub role: Role,
    pub disabled_at: Option<i64>,
    pub created_at: i64,
    /// The console language this user chose, if any.
    pub locale: Option<Locale>,
}

impl User {
    pub fn is_admin_role(&self) -> bool {
        self.role == Role::Admin
    }

    pub fn is_disabled(&self) -> bool {
        self.disabled_at.is_some()
    }

    pub fn view(&self) -> UserView {
        UserView {
            id: self.id,
            email: self.email.clone(),
            username: self.username.clone(),
            role: self.role,
        }
    }

    fn from_row(row: &AnyRow) -> Result<Self, StoreError> {
        let role: String = row.try_get("role")?;
        Ok(User {
            id: row.try_get("id")?,
            email: row.try_get("email")?,
            username: row.try_get("username")?,
            password_hash: row.try_get("password_hash")?,
            role: Role::parse(&role)
                .ok_or_else(|| StoreError::Internal(format!("unknown role {role:?}")))?,
            disabled_at: row.try_get("disabled_at")?,
            created_at: row.try_get("created_at")?,
            locale: row
                .try_get::<Option<String>, _>("locale")?
                .as_deref()
                .and_then(Locale::from_tag),
        })
    }
}

const COLUMNS: &str = "id, email, username, password_hash, role, disabled_at, created_at, locale";

/// Trims and lower-cases an email and checks it looks like one.
/// The longest email accepted (RFC 5321's limit on a path).
pub const MAX_EMAIL_LEN: usize = 254;

pub fn normalize_email(raw: &str) -> Result<String, StoreError> {
    let email = raw.trim().to_lowercase();
    let valid = email.len() <= MAX_EMAIL_LEN
        && !email.chars().any(char::is_whitespace)
        && match email.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && !domain.is_empty()
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !domain.contains('@')
            }
            None => false,
        };
    if valid {
        Ok(email)
    } else {
        Err(StoreError::Invalid(Msg::new("error-enter-email")))
    }
}

/// Trims an optional username; empty means none.
pub fn normalize_username(raw: Option<&str>) -> Result<Option<String>, StoreError> {
    let Some(name) = raw.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    if name.chars().count() > 64 {
        return Err(StoreError::Invalid(Msg::new("error-username-too-long")));
    }
    Ok(Some(name.to_string()))
}

/// What is needed to create an account.
pub struct NewUser<'a> {
    pub email: &'a str,
    pub username: Option<&'a str>,
    pub password: &'a str,
    /// `Some(role)` forces the role (CLI `--admin`); `None` applies the first-user-is-admin rule.
    pub role: Option<Role>,
}

/// Creates an account. Without a forced role the first account becomes `admin` and later ones `user`.
/// The database keeps one `first_admin` slot: of two first registrations at once, one takes it and
/// the other, refused, is created as a `user`.
pub async fn create(db: &Db, new: NewUser<'_>) -> Result<User, StoreError> {
    let email = normalize_email(new.email)?;
    let username = normalize_username(new.username)?;
    password::validate(new.password)?;
    let hash = password::hash_async(new.password.to_string()).await?;
    let account = Account {
        email: &email,
        username: username.as_deref(),
        hash: &hash,
    };
    match new.role {
        Some(role) => insert(db, &account, role, false).await,
        None => match insert(db, &account, Role::Admin, true).await {
            Err(StoreError::Conflict(m)) if m.id == FIRST_ADMIN_TAKEN => {
                insert(db, &account, Role::User, false).await
            }
            done => done,
        },
    }
}

/// An account to insert, validated and hashed.
struct Account<'a> {
    email: &'a str,
    username: Option<&'a str>,
    hash: &'a str,
}

const FIRST_ADMIN_TAKEN: &str = "error-first-admin-taken";

/// Inserts an account. With `first`, it becomes the administrator only when nobody is one yet and it
/// can take the `first_admin` slot; otherwise it is a `user`.
async fn insert(
    db: &Db,
    account: &Account<'_>,
    role: Role,
    first: bool,
) -> Result<User, StoreError> {
    let mut tx = db.pool().begin().await?;
    let role = if first {
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM users WHERE role = 'admin') \
             + (SELECT COUNT(*) FROM first_admin) AS n",
        )
        .fetch_one(&mut *tx)
        .await?;
        let taken: i64 = row.try_get("n")?;
        if taken == 0 {
            Role::Admin
        } else {
            Role::User
        }
    } else {
        role
    };
    let inserted = sqlx::query(&format!(
        "INSERT INTO users (email, username, password_hash, role, created_at) \
         VALUES ($1, $2, $3, $4, $5) RETURNING {COLUMNS}"
    ))
    .bind(account.email)
    .bind(account.username)
    .bind(account.hash)
    .bind(role.as_str())
    .bind(now_ms())
    .fetch_one(&mut *tx)
    .await;
    let row = match inserted {
        Ok(row) => row,
        Err(e) => {
            let e = StoreError::from(e);
            return Err(if e.is_unique_violation() {
                StoreError::Conflict(Msg::new("error-email-taken"))
            } else {
                e
            });
        }
    };
    let user = User::from_row(&row)?;
    if first && role == Role::Admin {
        let slot = sqlx::query("INSERT INTO first_admin (slot, user_id) VALUES (1, $1)")
            .bind(user.id)
            .execute(&mut *tx)
            .await;
        if let Err(e) = slot {
            let e = StoreError::from(e);
            return Err(if e.is_unique_violation() {
                StoreError::Conflict(Msg::new(FIRST_ADMIN_TAKEN))
            } else {
                e
            });
        }
    }
    tx.commit().await.map_err(|e| {
        let e = StoreError::from(e);
        if first && e.is_unique_violation() {
            StoreError::Conflict(Msg::new(FIRST_ADMIN_TAKEN))
        } else {
            e
        }
    })?;
    Ok(user)
}

/// The database refuses to leave no enabled administrator; this says so in a sentence.
fn keeps_an_admin(e: sqlx::Error) -> StoreError {
    let last = matches!(&e, sqlx::Error::Database(d) if d.message().contains("last administrator"));
    if last {
        StoreError::Invalid(Msg::new("error-last-admin"))
    } else {
        StoreError::from(e)
    }
}

pub async fn find_by_email(db: &Db, email: &str) -> Result<Option<User>, StoreError> {
    let email = email.trim().to_lowercase();
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM users WHERE email = $1"))
        .bind(email)
        .fetch_optional(db.pool())
        .await?;
    row.as_ref().map(User::from_row).transpose()
}

pub async fn get(db: &Db, id: i64) -> Result<Option<User>, StoreError> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM users WHERE id = $1"))
        .bind(id)
        .fetch_optional(db.pool())
        .await?;
    row.as_ref().map(User::from_row).transpose()
}

pub async fn count(db: &Db) -> Result<i64, StoreError> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM users")
        .fetch_one(db.pool())
        .await?;
    Ok(row.try_get("n")?)
}

/// Disables or re-enables an account. A disabled account cannot sign in and its tokens stop working.
pub async fn set_disabled(db: &Db, id: i64, disabled: bool) -> Result<(), StoreError> {
    let at = disabled.then(now_ms);
    let done = sqlx::query("UPDATE users SET disabled_at = $1 WHERE id = $2")
        .bind(at)
        .bind(id)
        .execute(db.pool())
        .await
        .map_err(keeps_an_admin)?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound(Msg::new("error-no-such-user")));
    }
    Ok(())
}

/// Every account with its balance, oldest first (the admin's user list).
pub async fn list_admin(db: &Db) -> Result<Vec<AdminUserView>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, email, username, role, disabled_at, balance, created_at FROM users ORDER BY id",
    )
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(admin_view).collect()
}

pub async fn get_admin_view(db: &Db, id: i64) -> Result<AdminUserView, StoreError> {
    let row = sqlx::query(
        "SELECT id, email, username, role, disabled_at, balance, created_at FROM users WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(db.pool())
    .await?;
    super::db::found(row, admin_view, || {
        StoreError::NotFound(Msg::new("error-no-such-user"))
    })
}

fn admin_view(row: &AnyRow) -> Result<AdminUserView, StoreError> {
    let role: String = row.try_get("role")?;
    let disabled_at: Option<i64> = row.try_get("disabled_at")?;
    Ok(AdminUserView {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        username: row.try_get("username")?,
        role: Role::parse(&role)
            .ok_or_else(|| StoreError::Internal(format!("unknown role {role:?}")))?,
        disabled: disabled_at.is_some(),
        balance: row.try_get("balance")?,
        created_at: row.try_get("created_at")?,
    })
}

/// Changes an account's role. The last enabled administrator cannot be demoted (the admin
/// operations also refuse a change of one's own role).
pub async fn set_role(db: &Db, id: i64, role: Role) -> Result<User, StoreError> {
    let user = get(db, id)
        .await?
        .ok_or_else(|| StoreError::NotFound(Msg::new("error-no-such-user")))?;
    sqlx::query("UPDATE users SET role = $1 WHERE id = $2")
        .bind(role.as_str())
        .bind(id)
        .execute(db.pool())
        .await
        .map_err(keeps_an_admin)?;
    Ok(User { role, ..user })
}

/// Why a sign-in was refused. The message never says whether the email exists.
#[derive(Debug, PartialEq, Eq)]
pub enum LoginRefusal {
    BadCredentials,
    Disabled,
}

/// Checks an email and password. Unknown emails cost one argon2 verification too.
pub async fn check_credentials(
    db: &Db,
    email: &str,
    password: &str,
) -> Result<Result<User, LoginRefusal>, StoreError> {
    let user = find_by_email(db, email).await?;
    let phc = user
        .as_ref()
        .map(|u| u.password_hash.clone())
        .unwrap_or_else(|| password::dummy_hash().to_string());
    let ok = password::verify_async(password.to_string(), phc).await?;
    Ok(match user {
        Some(u) if ok && u.is_disabled() => Err(LoginRefusal::Disabled),
        Some(u) if ok => Ok(u),
        _ => Err(LoginRefusal::BadCredentials),
    })
}

/// Sets which clients the user's tokens accept (an administrator's rule, over the tokens' own).
pub async fn set_clients(
    db: &Db,
    user_id: i64,
    rule: &crate::clients::ClientRule,
) -> Result<(), StoreError> {
    let (kind, min) = rule.stored();
    let done =
        sqlx::query("UPDATE users SET client_rule = $1, client_min_version = $2 WHERE id = $3")
            .bind(kind)
            .bind(min)
            .bind(user_id)
            .execute(db.pool())
            .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound(Msg::new("error-no-such-user")));
    }
    Ok(())
}

/// Which clients the user's tokens accept.
pub async fn clients(db: &Db, user_id: i64) -> Result<crate::clients::ClientRule, StoreError> {
    let row = sqlx::query("SELECT client_rule, client_min_version FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(db.pool())
        .await?
        .ok_or_else(|| StoreError::NotFound(Msg::new("error-no-such-user")))?;
    super::tokens::client_rule_of(&row, "")
}

/// Saves the console language a user chose.
pub async fn set_locale(db: &Db, user_id: i64, locale: Locale) -> Result<(), StoreError> {
    sqlx::query("UPDATE users SET locale = $1 WHERE id = $2")
        .bind(locale.tag())
        .bind(user_id)
        .execute(db.pool())
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalized_and_checked() {
        assert_eq!(
            normalize_email("  Ann@Example.COM ").unwrap(),
            "ann@example.com"
        );
        for bad in [
            "",
            "ann",
            "@x.com",
            "ann@",
            "a b@x.com",
            "ann@.com",
            "ann@x.com.",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn usernames_are_optional_and_trimmed() {
        assert_eq!(normalize_username(None).unwrap(), None);
        assert_eq!(normalize_username(Some("   ")).unwrap(), None);
        assert_eq!(
            normalize_username(Some(" ann ")).unwrap(),
            Some("ann".into())
        );
        assert!(normalize_username(Some(&"x".repeat(65))).is_err());
    }
}
