-- Members' reference images, kept (see 0005_reference_images.sqlite.sql).
CREATE TABLE reference_images (
    digest        TEXT PRIMARY KEY,
    content_type  TEXT NOT NULL,
    data          BYTEA NOT NULL,
    created_at    DOUBLE PRECISION NOT NULL
);
