-- Per-server settings in one table: the quota settings (time zone, admin role) and the
-- watermark switch (a `guild_watermark:<id>` key of bot_state) join guild_settings.
ALTER TABLE guild_settings ADD COLUMN timezone TEXT NOT NULL DEFAULT 'UTC';
ALTER TABLE guild_settings ADD COLUMN admin_role_id INTEGER;
ALTER TABLE guild_settings ADD COLUMN watermark INTEGER NOT NULL DEFAULT 0
    CHECK (watermark IN (0, 1));

INSERT INTO guild_settings (guild_id, timezone, admin_role_id, updated_at)
    SELECT guild_id, timezone, admin_role_id, updated_at FROM quota_guild_settings WHERE true
    ON CONFLICT (guild_id) DO UPDATE SET timezone = excluded.timezone,
        admin_role_id = excluded.admin_role_id,
        updated_at = MAX(guild_settings.updated_at, excluded.updated_at);

INSERT INTO guild_settings (guild_id, watermark, updated_at)
    SELECT CAST(substr(key, length('guild_watermark:') + 1) AS INTEGER),
        CASE WHEN value = '1' THEN 1 ELSE 0 END, (julianday('now') - 2440587.5) * 86400.0
    FROM bot_state WHERE key LIKE 'guild_watermark:%'
    ON CONFLICT (guild_id) DO UPDATE SET watermark = excluded.watermark;

DELETE FROM bot_state WHERE key LIKE 'guild_watermark:%';
DROP TABLE quota_guild_settings;
