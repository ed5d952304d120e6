//! Soft and permanent deletion of subjects and versions. A permanent delete that would stop
//! serving a schema id asks [`crate::in_use::InUse`] first.

use super::*;

impl RegistryStore {
    /// Soft-deletes every version of a subject, or, with `permanent`, removes a soft-deleted
    /// subject and its compatibility level. Returns the versions deleted.
    pub async fn delete_subject(
        &self,
        subject: &str,
        permanent: bool,
    ) -> Result<Vec<i32>, RegistryError> {
        use subject_versions::dsl as sv;
        let mut conn = self.conn().await?;
        conn.transaction(async |conn| {
            lock_subject(conn, subject).await?;
            let rows = history(conn, subject).await?;
            if rows.is_empty() {
                return Err(RegistryError::SubjectNotFound(subject.to_owned()));
            }
            let live: Vec<i32> = rows
                .iter()
                .filter(|row| !row.deleted)
                .map(|row| row.version)
                .collect();
            if !permanent {
                if live.is_empty() {
                    return Err(RegistryError::SubjectSoftDeleted(subject.to_owned()));
                }
                diesel::update(sv::subject_versions.filter(sv::subject.eq(subject)))
                    .set(sv::deleted.eq(true))
                    .execute(conn)
                    .await?;
                return Ok(live);
            }
            if !live.is_empty() {
                return Err(RegistryError::SubjectNotSoftDeleted(subject.to_owned()));
            }
            let ids: Vec<i32> = rows.iter().map(|row| row.schema_id).collect();
            let orphaned = orphaned_by(conn, subject, &ids).await?;
            self.in_use.allow_forgetting(subject, &orphaned).await?;
            diesel::delete(sv::subject_versions.filter(sv::subject.eq(subject)))
                .execute(conn)
                .await?;
            diesel::delete(subject_compatibility::table.find(subject))
                .execute(conn)
                .await?;
            Ok(rows.iter().map(|row| row.version).collect())
        })
        .await
    }

    /// Soft-deletes one version, or, with `permanent`, removes a soft-deleted one. `latest` is
    /// the newest version whether deleted or not, as in Confluent.
    pub async fn delete_version(
        &self,
        subject: &str,
        selector: VersionSelector,
        permanent: bool,
    ) -> Result<i32, RegistryError> {
        use subject_versions::dsl as sv;
        let mut conn = self.conn().await?;
        conn.transaction(async |conn| {
            lock_subject(conn, subject).await?;
            let rows = history(conn, subject).await?;
            // A soft delete needs a live subject; a permanent one, any trace of it.
            let exists = if permanent {
                !rows.is_empty()
            } else {
                rows.iter().any(|row| !row.deleted)
            };
            if !exists {
                return Err(RegistryError::SubjectNotFound(subject.to_owned()));
            }
            let row = select_version(subject, &rows, selector)?;
            let target = sv::subject_versions.find((subject, row.version));
            match (permanent, row.deleted) {
                (false, true) => Err(RegistryError::VersionSoftDeleted(
                    subject.to_owned(),
                    row.version,
                )),
                (true, false) => Err(RegistryError::VersionNotSoftDeleted(
                    subject.to_owned(),
                    row.version,
                )),
                (false, false) => {
                    diesel::update(target)
                        .set(sv::deleted.eq(true))
                        .execute(conn)
                        .await?;
                    Ok(row.version)
                }
                (true, true) => {
                    let others = rows
                        .iter()
                        .any(|r| r.version != row.version && r.schema_id == row.schema_id);
                    if !others {
                        let orphaned = orphaned_by(conn, subject, &[row.schema_id]).await?;
                        self.in_use.allow_forgetting(subject, &orphaned).await?;
                    }
                    diesel::delete(target).execute(conn).await?;
                    Ok(row.version)
                }
            }
        })
        .await
    }
}

/// Those of `ids` that no other subject than `subject` names: deleting `subject`'s versions of
/// them would stop serving them.
async fn orphaned_by(
    conn: &mut AsyncPgConnection,
    subject: &str,
    ids: &[i32],
) -> Result<Vec<i32>, RegistryError> {
    use subject_versions::dsl as sv;
    let kept: Vec<i32> = sv::subject_versions
        .select(sv::schema_id)
        .filter(sv::schema_id.eq_any(ids))
        .filter(sv::subject.ne(subject))
        .load(conn)
        .await?;
    let mut orphaned: Vec<i32> = ids
        .iter()
        .copied()
        .filter(|id| !kept.contains(id))
        .collect();
    orphaned.sort_unstable();
    orphaned.dedup();
    Ok(orphaned)
}
