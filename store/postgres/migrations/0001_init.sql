-- 0001_init: the tables of the Gatehouse store (store/postgres/doc.go describes them).
--
-- Every record is kept whole in a json column `data`, in the encoding store/badger uses for
-- its values (json, not jsonb: a tenant's custom_data and a passkey's credential come back
-- byte for byte). Typed columns repeat what is looked up, kept unique, or purged by, and
-- hold the state that single-use operations flip (redeemed, rotated, revoked). Identifiers
-- use the "C" collation so that listings are ordered byte-wise, as in Badger.

CREATE TABLE users (
    id          text COLLATE "C" PRIMARY KEY,
    email       text COLLATE "C" UNIQUE,    -- NULL when empty
    external_id text COLLATE "C" UNIQUE,    -- NULL when empty
    phone       text COLLATE "C" UNIQUE,    -- the phone number only once verified, else NULL
    data        json NOT NULL
);

CREATE TABLE passwords (
    user_id text COLLATE "C" PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    data    json NOT NULL
);

CREATE TABLE sessions (
    id         text COLLATE "C" PRIMARY KEY,
    user_id    text COLLATE "C" NOT NULL,
    expires_at timestamptz,                 -- the earlier non-zero of the idle and absolute expiries
    data       json NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id, id);
CREATE INDEX sessions_expiry ON sessions (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE auth_codes (
    id         text COLLATE "C" PRIMARY KEY,
    redeemed   boolean NOT NULL,
    redemption json,                        -- {"redeemed_at", "grant_id"} written by the redemption
    purge_at   timestamptz,                 -- PurgeAfter, never before ExpiresAt
    data       json NOT NULL
);
CREATE INDEX auth_codes_purge ON auth_codes (purge_at) WHERE purge_at IS NOT NULL;

CREATE TABLE refresh_families (
    id         text COLLATE "C" PRIMARY KEY,
    client_id  text COLLATE "C" NOT NULL,
    user_id    text COLLATE "C" NOT NULL,
    session_id text COLLATE "C" NOT NULL,
    expires_at timestamptz,                 -- FamilyExpiresAt of the first token
    revoked    boolean NOT NULL DEFAULT false
);
CREATE INDEX refresh_families_user ON refresh_families (user_id, id) WHERE user_id <> '';
CREATE INDEX refresh_families_session ON refresh_families (session_id, id) WHERE session_id <> '';
CREATE INDEX refresh_families_expiry ON refresh_families (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE refresh_tokens (
    id         text COLLATE "C" PRIMARY KEY,
    family_id  text COLLATE "C" NOT NULL REFERENCES refresh_families (id) ON DELETE CASCADE,
    rotated    boolean NOT NULL,
    rotation   json,                        -- {"rotated_at"} written by the rotation
    expires_at timestamptz,                 -- the family's expiry, else the token's own
    data       json NOT NULL
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_expiry ON refresh_tokens (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE revocations (
    kind       text COLLATE "C" NOT NULL,
    subject    text COLLATE "C" NOT NULL,
    at         timestamptz NOT NULL,
    expires_at timestamptz,
    data       json NOT NULL,
    PRIMARY KEY (kind, subject)
);
CREATE INDEX revocations_at ON revocations (at);
CREATE INDEX revocations_expiry ON revocations (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE signing_keys (
    id   text COLLATE "C" PRIMARY KEY,
    data json NOT NULL
);

CREATE TABLE clients (
    id   text COLLATE "C" PRIMARY KEY,
    data json NOT NULL
);

CREATE TABLE counters (
    key        text COLLATE "C" PRIMARY KEY,
    value      bigint NOT NULL,
    window_end timestamptz NOT NULL
);
CREATE INDEX counters_window ON counters (window_end);

CREATE TABLE one_time_codes (
    id         text COLLATE "C" PRIMARY KEY,
    purpose    text COLLATE "C" NOT NULL,
    expires_at timestamptz,
    data       json NOT NULL
);
CREATE INDEX one_time_codes_purpose ON one_time_codes (purpose, id);
CREATE INDEX one_time_codes_expiry ON one_time_codes (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE groups (
    name text COLLATE "C" PRIMARY KEY,
    data json NOT NULL
);

CREATE TABLE passkeys (
    id      text COLLATE "C" PRIMARY KEY,
    user_id text COLLATE "C" NOT NULL,
    data    json NOT NULL
);
CREATE INDEX passkeys_user ON passkeys (user_id, id);

CREATE TABLE identities (
    provider text COLLATE "C" NOT NULL,
    subject  text COLLATE "C" NOT NULL,
    user_id  text COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    data     json NOT NULL,
    PRIMARY KEY (provider, subject)
);
CREATE INDEX identities_user ON identities (user_id);
