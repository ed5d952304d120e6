//! Compatibility levels: the global one (BACKWARD until set) and each subject's own.

use super::*;

impl RegistryStore {
    /// The global level (BACKWARD until set).
    pub async fn global_level(&self) -> Result<CompatibilityLevel, RegistryError> {
        global_level(&mut *self.conn().await?).await
    }

    pub async fn set_global_level(&self, new: CompatibilityLevel) -> Result<(), RegistryError> {
        use global_compatibility::dsl as gc;
        diesel::insert_into(gc::global_compatibility)
            .values((gc::singleton.eq(true), gc::level.eq(new.as_str())))
            .on_conflict(gc::singleton)
            .do_update()
            .set(gc::level.eq(new.as_str()))
            .execute(&mut self.conn().await?)
            .await?;
        Ok(())
    }

    /// Resets the global level to the default; returns the level it had.
    pub async fn reset_global_level(&self) -> Result<CompatibilityLevel, RegistryError> {
        let mut conn = self.conn().await?;
        let old: Option<String> = diesel::delete(global_compatibility::table)
            .returning(global_compatibility::level)
            .get_result(&mut conn)
            .await
            .optional()?;
        old.map_or(Ok(CompatibilityLevel::default()), |l| stored_level(&l))
    }

    /// The subject's own level, if it has one.
    pub async fn subject_level(
        &self,
        subject: &str,
    ) -> Result<Option<CompatibilityLevel>, RegistryError> {
        subject_level(&mut *self.conn().await?, subject).await
    }

    pub async fn set_subject_level(
        &self,
        name: &str,
        new: CompatibilityLevel,
    ) -> Result<(), RegistryError> {
        use subject_compatibility::dsl as sc;
        diesel::insert_into(sc::subject_compatibility)
            .values((sc::subject.eq(name), sc::level.eq(new.as_str())))
            .on_conflict(sc::subject)
            .do_update()
            .set(sc::level.eq(new.as_str()))
            .execute(&mut self.conn().await?)
            .await?;
        Ok(())
    }

    /// Removes the subject's own level; returns it, if it had one.
    pub async fn delete_subject_level(
        &self,
        subject: &str,
    ) -> Result<Option<CompatibilityLevel>, RegistryError> {
        let old: Option<String> = diesel::delete(subject_compatibility::table.find(subject))
            .returning(subject_compatibility::level)
            .get_result(&mut self.conn().await?)
            .await
            .optional()?;
        old.as_deref().map(stored_level).transpose()
    }
}

async fn global_level(conn: &mut AsyncPgConnection) -> Result<CompatibilityLevel, RegistryError> {
    let stored: Option<String> = global_compatibility::table
        .select(global_compatibility::level)
        .first(conn)
        .await
        .optional()?;
    stored.map_or(Ok(CompatibilityLevel::default()), |l| stored_level(&l))
}

async fn subject_level(
    conn: &mut AsyncPgConnection,
    subject: &str,
) -> Result<Option<CompatibilityLevel>, RegistryError> {
    let stored: Option<String> = subject_compatibility::table
        .find(subject)
        .select(subject_compatibility::level)
        .first(conn)
        .await
        .optional()?;
    stored.as_deref().map(stored_level).transpose()
}

/// The level that governs `subject`: its own, else the global one.
pub(super) async fn effective_level(
    conn: &mut AsyncPgConnection,
    subject: &str,
) -> Result<CompatibilityLevel, RegistryError> {
    match subject_level(conn, subject).await? {
        Some(level) => Ok(level),
        None => global_level(conn).await,
    }
}
