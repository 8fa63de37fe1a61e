-- App passwords and personal access tokens (store.AppCredential). The id is the hex SHA-256
-- of the secret; like passkeys, DeleteUser removes a user's rows.
CREATE TABLE app_credentials (
    id      text COLLATE "C" PRIMARY KEY,
    user_id text COLLATE "C" NOT NULL,
    data    json NOT NULL
);
CREATE INDEX app_credentials_user ON app_credentials (user_id, id);
