-- The admin API's user filters (issue 18; store.Users.FindUsers) are answered from
-- indexes: email and external_id have their unique indexes already. Groups and roles are
-- rows of user_memberships, whose primary key lists the members of a group (or role) in
-- user ID order: a page of a filter is a range of that index joined to users, whatever the
-- group's size, never a sort of all its members. The disabled flag and the searchable name
-- (store.NameKey) get columns. CreateUser and UpdateUser write them with the record's json;
-- here they are filled from the json for the users already stored.
ALTER TABLE users
    ADD COLUMN disabled boolean NOT NULL DEFAULT false,
    ADD COLUMN name     text COLLATE "C" NOT NULL DEFAULT '';

UPDATE users SET
    disabled = coalesce((data->>'disabled')::boolean, false),
    name = lower(coalesce(data->>'fname', '') || ' ' || coalesce(data->>'mname', '') || ' ' ||
                 coalesce(data->>'lname', '') || ' ' || coalesce(data->>'username', ''));

CREATE TABLE user_memberships (
    kind    "char" NOT NULL,                -- 'g': a group, 'r': a role
    value   text COLLATE "C" NOT NULL,
    user_id text COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (kind, value, user_id)
);
CREATE INDEX user_memberships_user ON user_memberships (user_id);

INSERT INTO user_memberships (kind, value, user_id)
    SELECT DISTINCT m.kind, m.value, u.id FROM users u, LATERAL (
        SELECT 'g'::"char" AS kind, v AS value
            FROM json_array_elements_text(CASE WHEN json_typeof(u.data->'groups') = 'array' THEN u.data->'groups' END) v
        UNION ALL
        SELECT 'r'::"char", v
            FROM json_array_elements_text(CASE WHEN json_typeof(u.data->'roles') = 'array' THEN u.data->'roles' END) v
    ) m;

CREATE INDEX users_disabled ON users (disabled, id);

-- The name filter is "contains" (LIKE '%...%'), which a btree cannot answer; a trigram
-- index (the pg_trgm extension, part of PostgreSQL's contrib, shipped in Debian's
-- postgresql package, and a trusted extension that a database owner may create) can. The
-- extension is created in the schema public (once per database, shared by every
-- Gatehouse schema of it, so that dropping one schema never drops another's index). If it
-- cannot be created (not installed, no public schema, no privilege), the migration does
-- not fail: the name filter then reads the users in ID order (still paged, and combined
-- with any other filter's index), and a WARNING says how to get the index.
DO $$
DECLARE
    trgm name;
BEGIN
    SELECT n.nspname INTO trgm FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
        WHERE e.extname = 'pg_trgm';
    IF trgm IS NULL THEN
        BEGIN
            CREATE EXTENSION pg_trgm SCHEMA public;
            trgm := 'public';
        EXCEPTION WHEN OTHERS THEN
            -- A concurrent migration (another schema) may have just created it.
            SELECT n.nspname INTO trgm FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
                WHERE e.extname = 'pg_trgm';
            IF trgm IS NULL THEN
                RAISE WARNING USING MESSAGE = format('gatehouse: no trigram index for the user name filter '
                    '(CREATE EXTENSION pg_trgm failed: %s); the filter works without it, reading users in ID order. '
                    'To add the index, have a superuser run "CREATE EXTENSION pg_trgm SCHEMA public" and then '
                    '"CREATE INDEX users_name ON users USING gin (name public.gin_trgm_ops)" in this schema', SQLERRM);
            END IF;
        END;
    END IF;
    IF trgm IS NOT NULL THEN
        EXECUTE format('CREATE INDEX users_name ON users USING gin (name %I.gin_trgm_ops)', trgm);
    END IF;
END
$$;

-- Statistics for the new columns now, so that the planner does not take the filters of a
-- large table for rare until autovacuum comes by.
ANALYZE users;
ANALYZE user_memberships;
