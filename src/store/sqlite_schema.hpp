#pragma once

#include "core/error.hpp"
#include "store/sqlite_connection.hpp"

namespace imagefactory {

// The schema version this program creates and reads, kept in PRAGMA user_version.
int sqliteSchemaVersion();

// Brings the database to sqliteSchemaVersion() by running, in one transaction, every migration
// step it has not run yet. A new database starts at version 0. A database of a newer version
// than this program supports is rejected with InvalidState.
Status migrateSqliteSchema(SqliteConnection& db);

}  // namespace imagefactory
