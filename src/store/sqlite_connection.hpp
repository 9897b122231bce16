#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/error.hpp"

namespace imagefactory {

// A cached prepared statement in use. The destructor resets the statement and clears its
// bindings so that the next user of the cache starts clean. Not thread-safe: use it only while
// holding the lock that guards its connection.
class SqliteStatement {
  public:
    SqliteStatement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
    ~SqliteStatement();
    SqliteStatement(SqliteStatement&& other) noexcept;
    SqliteStatement(const SqliteStatement&) = delete;
    SqliteStatement& operator=(const SqliteStatement&) = delete;
    SqliteStatement& operator=(SqliteStatement&&) = delete;

    // Parameter indexes start at 1, as in sqlite3_bind_*. A failed bind is reported by the
    // next step().
    SqliteStatement& bind(int index, std::string_view text);
    SqliteStatement& bind(int index, int64_t value);
    // Binds SQL NULL for an empty text: used for optional references, so that foreign keys
    // accept "no parent".
    SqliteStatement& bindOptional(int index, std::string_view text);

    // Runs the statement to its next row. Returns true when a row is available and false when
    // the statement has finished.
    Result<bool> step();

    // Columns start at 0. NULL reads as the empty string or 0.
    std::string text(int column) const;
    int64_t integer(int column) const;

  private:
    sqlite3* db_;
    sqlite3_stmt* stmt_;
    int bind_error_ = SQLITE_OK;
};

// One SQLite connection with a cache of prepared statements. Not thread-safe: the owner
// serializes calls.
class SqliteConnection {
  public:
    // Opens (creating when missing) the database file with extended result codes.
    static Result<std::unique_ptr<SqliteConnection>> open(const std::filesystem::path& file);

    ~SqliteConnection();
    SqliteConnection(const SqliteConnection&) = delete;
    SqliteConnection& operator=(const SqliteConnection&) = delete;

    // Returns the cached statement for sql, preparing it on first use. sql must be a string
    // literal or otherwise outlive the connection, because its address is the cache key.
    Result<SqliteStatement> prepare(const char* sql);

    // Runs one or more statements that take no parameters and return no rows.
    Status exec(const std::string& sql);

    // Runs a statement that returns a single text value, such as a PRAGMA.
    Result<std::string> queryText(const std::string& sql);

    // Rows changed by the last INSERT, UPDATE or DELETE.
    int changes() const;

    const std::filesystem::path& file() const { return file_; }
    sqlite3* handle() const { return db_; }

  private:
    SqliteConnection(std::filesystem::path file, sqlite3* db) : file_(std::move(file)), db_(db) {}

    std::filesystem::path file_;
    sqlite3* db_;
    std::unordered_map<const char*, sqlite3_stmt*> statements_;
};

// An IMMEDIATE transaction: the write lock is taken at begin(), so a busy database fails (or
// waits for busy_timeout) there and never in the middle of the batch. Rolls back on
// destruction unless commit() succeeded.
class SqliteTransaction {
  public:
    static Result<SqliteTransaction> begin(SqliteConnection& db);

    ~SqliteTransaction();
    SqliteTransaction(SqliteTransaction&& other) noexcept;
    SqliteTransaction(const SqliteTransaction&) = delete;
    SqliteTransaction& operator=(const SqliteTransaction&) = delete;
    SqliteTransaction& operator=(SqliteTransaction&&) = delete;

    Status commit();

  private:
    explicit SqliteTransaction(SqliteConnection* db) : db_(db) {}

    SqliteConnection* db_;  // null once committed or rolled back
};

// An Error for a failed SQLite call: constraint violations are the caller's input (UserInput),
// a locked database is Unavailable and everything else is Internal. context, when not empty,
// describes the failed operation, and SQLite's own message follows it.
Error sqliteError(sqlite3* db, int code, std::string_view context);

}  // namespace imagefactory
