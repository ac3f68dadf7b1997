-- Per-server settings in one table: the quota settings (time zone, admin role) and the
-- watermark switch (a `guild_watermark:<id>` key of bot_state) join guild_settings.
ALTER TABLE guild_settings ADD COLUMN timezone TEXT NOT NULL DEFAULT 'UTC';
ALTER TABLE guild_settings ADD COLUMN admin_role_id BIGINT;
ALTER TABLE guild_settings ADD COLUMN watermark BOOLEAN NOT NULL DEFAULT false;

INSERT INTO guild_settings (guild_id, timezone, admin_role_id, updated_at)
    SELECT guild_id, timezone, admin_role_id, updated_at FROM quota_guild_settings
    ON CONFLICT (guild_id) DO UPDATE SET timezone = excluded.timezone,
        admin_role_id = excluded.admin_role_id,
        updated_at = GREATEST(guild_settings.updated_at, excluded.updated_at);

INSERT INTO guild_settings (guild_id, watermark, updated_at)
    SELECT CAST(substr(key, length('guild_watermark:') + 1) AS BIGINT), value = '1',
        EXTRACT(EPOCH FROM clock_timestamp())
    FROM bot_state WHERE key LIKE 'guild_watermark:%'
    ON CONFLICT (guild_id) DO UPDATE SET watermark = excluded.watermark;

DELETE FROM bot_state WHERE key LIKE 'guild_watermark:%';
DROP TABLE quota_guild_settings;
