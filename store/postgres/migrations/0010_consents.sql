-- Consents to third-party clients (the consent page), one per user and client.
CREATE TABLE consents (
    user_id   text COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id text COLLATE "C" NOT NULL,
    data      json NOT NULL,
    PRIMARY KEY (user_id, client_id)
);
