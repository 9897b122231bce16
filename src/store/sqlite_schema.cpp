#include "store/sqlite_schema.hpp"

#include <charconv>
#include <string>
#include <vector>

namespace imagefactory {

namespace {

// Migration steps, oldest first: step i takes the database from version i to version i + 1.
// Never edit a step that has shipped. Add a new one (for example "ALTER TABLE ... ADD COLUMN")
// so that existing databases are brought forward.
//
// record_ids maps every stored id to its kind, so that kindOf() is one lookup and one id never
// names records in two tables.
//
// Foreign keys are DEFERRABLE INITIALLY DEFERRED because an image names its latest build while
// the build names its image: a batch stores both, in any order, and the keys are checked at
// COMMIT. An empty reference is stored as NULL, which a foreign key accepts as "no parent".
// Indexes serve the lookups of the ImageStore interface. The lineage columns that no lookup uses
// (images.latest_build, builds.parent_id, ...) have none: the store never deletes a row or
// changes an id, so SQLite never has to search for a row's children.
const std::vector<std::string>& migrations() {
    static const std::vector<std::string> steps = {
        R"sql(
CREATE TABLE record_ids (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL
        CHECK (kind IN ('template', 'image', 'build', 'target_image', 'provider_image'))
) STRICT, WITHOUT ROWID;

CREATE TABLE templates (
    id TEXT PRIMARY KEY NOT NULL CONSTRAINT template_id_not_empty CHECK (id <> ''),
    xml TEXT NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE images (
    id TEXT PRIMARY KEY NOT NULL CONSTRAINT image_id_not_empty CHECK (id <> ''),
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    template_id TEXT REFERENCES templates (id) DEFERRABLE INITIALLY DEFERRED,
    latest_build TEXT REFERENCES builds (id) DEFERRABLE INITIALLY DEFERRED,
    latest_unpushed TEXT REFERENCES builds (id) DEFERRABLE INITIALLY DEFERRED,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;
CREATE INDEX images_by_created_at ON images (created_at);

CREATE TABLE builds (
    id TEXT PRIMARY KEY NOT NULL CONSTRAINT build_id_not_empty CHECK (id <> ''),
    image_id TEXT NOT NULL REFERENCES images (id) DEFERRABLE INITIALLY DEFERRED,
    parent_id TEXT REFERENCES builds (id) DEFERRABLE INITIALLY DEFERRED,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;
CREATE INDEX builds_by_image_id ON builds (image_id, created_at);

CREATE TABLE target_images (
    id TEXT PRIMARY KEY NOT NULL CONSTRAINT target_image_id_not_empty CHECK (id <> ''),
    build_id TEXT NOT NULL REFERENCES builds (id) DEFERRABLE INITIALLY DEFERRED,
    target TEXT NOT NULL,
    template_id TEXT REFERENCES templates (id) DEFERRABLE INITIALLY DEFERRED,
    parameters TEXT NOT NULL
        CONSTRAINT target_image_parameters_json CHECK (parameters = '' OR json_valid(parameters)),
    file TEXT NOT NULL,
    status TEXT NOT NULL CONSTRAINT target_image_status_known
        CHECK (status IN ('NEW', 'PENDING', 'BUILDING', 'PUSHING', 'FINISHING', 'COMPLETED',
                          'FAILED')),
    percent_complete INTEGER NOT NULL
        CONSTRAINT target_image_percent_range CHECK (percent_complete BETWEEN 0 AND 100),
    failure_type TEXT NOT NULL,
    failure_info TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    -- A body path is recorded only together with COMPLETED: a file below the data directory
    -- counts as a finished image only when a completed record names it.
    CONSTRAINT target_image_file_only_when_completed CHECK (file = '' OR status = 'COMPLETED')
) STRICT;
CREATE INDEX target_images_by_build_id ON target_images (build_id, created_at);

CREATE TABLE provider_images (
    id TEXT PRIMARY KEY NOT NULL CONSTRAINT provider_image_id_not_empty CHECK (id <> ''),
    target_image_id TEXT NOT NULL REFERENCES target_images (id) DEFERRABLE INITIALLY DEFERRED,
    provider TEXT NOT NULL,
    target_identifier TEXT NOT NULL,
    provider_account_identifier TEXT NOT NULL,
    parameters TEXT NOT NULL
        CONSTRAINT provider_image_parameters_json CHECK (parameters = '' OR json_valid(parameters)),
    status TEXT NOT NULL CONSTRAINT provider_image_status_known
        CHECK (status IN ('NEW', 'PENDING', 'BUILDING', 'PUSHING', 'FINISHING', 'COMPLETED',
                          'FAILED')),
    percent_complete INTEGER NOT NULL
        CONSTRAINT provider_image_percent_range CHECK (percent_complete BETWEEN 0 AND 100),
    failure_type TEXT NOT NULL,
    failure_info TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;
CREATE INDEX provider_images_by_target_image_id ON provider_images (target_image_id, created_at);
)sql",
    };
    return steps;
}

}  // namespace

int sqliteSchemaVersion() {
    return static_cast<int>(migrations().size());
}

Status migrateSqliteSchema(SqliteConnection& db) {
    Result<SqliteTransaction> transaction = SqliteTransaction::begin(db);
    if (!transaction.ok()) {
        return transaction.error();
    }

    // Read inside the write transaction, so that two openers cannot both run a step.
    Result<std::string> version_text = db.queryText("PRAGMA user_version");
    if (!version_text.ok()) {
        return version_text.error();
    }
    int version = 0;
    const std::string& digits = version_text.value();
    std::from_chars(digits.data(), digits.data() + digits.size(), version);
    if (version > sqliteSchemaVersion()) {
        return invalidState("database " + db.file().string() + " has schema version " +
                            std::to_string(version) + ", newer than the version " +
                            std::to_string(sqliteSchemaVersion()) +
                            " this program supports; use a newer imagefactory");
    }
    if (version == sqliteSchemaVersion()) {
        return okStatus();
    }

    for (int step = version; step < sqliteSchemaVersion(); ++step) {
        Status applied = db.exec(migrations()[static_cast<size_t>(step)]);
        if (!applied.ok()) {
            return internalError("cannot migrate database " + db.file().string() +
                                 " from schema version " + std::to_string(step) + ": " +
                                 applied.error().message);
        }
    }
    // user_version lives in the database header, so it commits or rolls back with the steps.
    Status stamped = db.exec("PRAGMA user_version = " + std::to_string(sqliteSchemaVersion()));
    if (!stamped.ok()) {
        return stamped;
    }
    return transaction->commit();
}

}  // namespace imagefactory
