-- Runtime settings (store.Setting): versioned JSON documents by key, written
-- compare-and-set on version; PutSetting and DeleteSetting notify the topic "settings".
CREATE TABLE settings (
    key     text COLLATE "C" PRIMARY KEY,
    version bigint NOT NULL,
    data    json NOT NULL
);
