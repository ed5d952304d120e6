//! The tables, as diesel sees them (see `migrations/`).

diesel::table! {
    casts (id) {
        id -> Uuid,
        name -> Text,
        nationality -> Nullable<Text>,
        version -> Int8,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        deleted_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    movies (id) {
        id -> Uuid,
        title -> Text,
        plot -> Nullable<Text>,
        genres -> Array<Text>,
        cast_ids -> Array<Uuid>,
        release_year -> Nullable<Int4>,
        expiry_date -> Nullable<Date>,
        version -> Int8,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        deleted_at -> Nullable<Timestamptz>,
    }
}
