-- The console language a user chose ('en' or 'zh-CN'); NULL = not chosen (a cookie or the
-- browser's Accept-Language decides).
ALTER TABLE users ADD COLUMN locale TEXT;
