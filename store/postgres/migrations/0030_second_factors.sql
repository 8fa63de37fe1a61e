-- A user's authenticator app (sealed TOTP secret, last accepted step) and recovery-code
-- hashes: one row per user, gone with the user.
CREATE TABLE second_factors (
    user_id text COLLATE "C" PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    data    json NOT NULL
);
