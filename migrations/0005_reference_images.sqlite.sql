-- Members' reference images, kept: Discord's attachment URLs are signed and expire after
-- about a day, so a reroll or an edit of an image-to-image job needs its own copy. One
-- row per distinct image (sha256 of its bytes); a job's params name it as `ref:<digest>`.
CREATE TABLE reference_images (
    digest        TEXT PRIMARY KEY,
    content_type  TEXT NOT NULL,
    data          BLOB NOT NULL,
    created_at    REAL NOT NULL
);
