#include "store/sqlite_connection.hpp"

#include <string>

namespace imagefactory {

Error sqliteError(sqlite3* db, int code, std::string_view context) {
    std::string message(context);
    if (!message.empty()) {
        message += ": ";
    }
    message += db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(code);

    switch (code & 0xff) {
        case SQLITE_CONSTRAINT:
            return userError(std::move(message));
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
            return Error{ErrorCode::Unavailable, std::move(message)};
        default:
            return internalError(std::move(message));
    }
}

SqliteStatement::~SqliteStatement() {
    if (stmt_ != nullptr) {
        sqlite3_reset(stmt_);
        sqlite3_clear_bindings(stmt_);
    }
}

SqliteStatement::SqliteStatement(SqliteStatement&& other) noexcept
    : db_(other.db_), stmt_(other.stmt_), bind_error_(other.bind_error_) {
    other.stmt_ = nullptr;
}

SqliteStatement& SqliteStatement::bind(int index, std::string_view text) {
    // SQLITE_TRANSIENT makes SQLite copy the text, so the view may die before step().
    int rc =
        sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
    if (rc != SQLITE_OK && bind_error_ == SQLITE_OK) {
        bind_error_ = rc;
    }
    return *this;
}

SqliteStatement& SqliteStatement::bind(int index, int64_t value) {
    int rc = sqlite3_bind_int64(stmt_, index, value);
    if (rc != SQLITE_OK && bind_error_ == SQLITE_OK) {
        bind_error_ = rc;
    }
    return *this;
}

SqliteStatement& SqliteStatement::bindOptional(int index, std::string_view text) {
    if (!text.empty()) {
        return bind(index, text);
    }
    int rc = sqlite3_bind_null(stmt_, index);
    if (rc != SQLITE_OK && bind_error_ == SQLITE_OK) {
        bind_error_ = rc;
    }
    return *this;
}

Result<bool> SqliteStatement::step() {
    if (bind_error_ != SQLITE_OK) {
        return sqliteError(nullptr, bind_error_, "cannot bind a statement parameter");
    }
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) {
        return true;
    }
    if (rc == SQLITE_DONE) {
        return false;
    }
    // The caller adds which record or query failed.
    return sqliteError(db_, rc, "");
}

std::string SqliteStatement::text(int column) const {
    const unsigned char* value = sqlite3_column_text(stmt_, column);
    if (value == nullptr) {
        return {};
    }
    int size = sqlite3_column_bytes(stmt_, column);
    return std::string(reinterpret_cast<const char*>(value), static_cast<size_t>(size));
}

int64_t SqliteStatement::integer(int column) const {
    return sqlite3_column_int64(stmt_, column);
}

Result<std::unique_ptr<SqliteConnection>> SqliteConnection::open(
    const std::filesystem::path& file) {
    sqlite3* db = nullptr;
    // NOMUTEX: the store serializes all use of the connection with its own mutex.
    int flags =
        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
    int rc = sqlite3_open_v2(file.c_str(), &db, flags, nullptr);
    if (rc != SQLITE_OK) {
        Error error = sqliteError(db, rc, "cannot open database " + file.string());
        sqlite3_close(db);
        return error;
    }
    sqlite3_extended_result_codes(db, 1);
    return std::unique_ptr<SqliteConnection>(new SqliteConnection(file, db));
}

SqliteConnection::~SqliteConnection() {
    for (auto& [sql, stmt] : statements_) {
        sqlite3_finalize(stmt);
    }
    sqlite3_close(db_);
}

Result<SqliteStatement> SqliteConnection::prepare(const char* sql) {
    auto found = statements_.find(sql);
    if (found != statements_.end()) {
        return SqliteStatement(db_, found->second);
    }

    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) {
        return sqliteError(db_, rc, std::string("cannot prepare statement \"") + sql + "\"");
    }
    statements_.emplace(sql, stmt);
    return SqliteStatement(db_, stmt);
}

Status SqliteConnection::exec(const std::string& sql) {
    int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) {
        // A schema script is long; its first line is enough to tell which one failed.
        std::string head = sql.substr(0, sql.find('\n', 1));
        return sqliteError(db_, rc, "cannot run \"" + head + "\" on " + file_.string());
    }
    return okStatus();
}

Result<std::string> SqliteConnection::queryText(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr);
    if (rc != SQLITE_OK) {
        return sqliteError(db_, rc, "cannot run \"" + sql + "\" on " + file_.string());
    }

    std::string text;
    bool first = true;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        // Multi-row results (integrity_check lists one problem a row) are joined by newlines.
        if (!first) {
            text += '\n';
        }
        first = false;
        const unsigned char* value = sqlite3_column_text(stmt, 0);
        if (value != nullptr) {
            text += reinterpret_cast<const char*>(value);
        }
    }
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE) {
        return sqliteError(db_, rc, "cannot run \"" + sql + "\" on " + file_.string());
    }
    return text;
}

int SqliteConnection::changes() const {
    return sqlite3_changes(db_);
}

Result<SqliteTransaction> SqliteTransaction::begin(SqliteConnection& db) {
    Result<SqliteStatement> begin = db.prepare("BEGIN IMMEDIATE");
    if (!begin.ok()) {
        return begin.error();
    }
    Result<bool> stepped = begin->step();
    if (!stepped.ok()) {
        return Error{stepped.error().code, "cannot start a transaction on " + db.file().string() +
                                               ": " + stepped.error().message};
    }
    return SqliteTransaction(&db);
}

SqliteTransaction::SqliteTransaction(SqliteTransaction&& other) noexcept : db_(other.db_) {
    other.db_ = nullptr;
}

SqliteTransaction::~SqliteTransaction() {
    if (db_ == nullptr) {
        return;
    }
    // A failed statement may already have rolled the transaction back, and then
    // sqlite3_get_autocommit() returns non-zero.
    if (sqlite3_get_autocommit(db_->handle()) == 0) {
        sqlite3_exec(db_->handle(), "ROLLBACK", nullptr, nullptr, nullptr);
    }
}

Status SqliteTransaction::commit() {
    Result<SqliteStatement> commit = db_->prepare("COMMIT");
    if (!commit.ok()) {
        return commit.error();
    }
    Result<bool> stepped = commit->step();
    if (!stepped.ok()) {
        // The destructor rolls back: a failed COMMIT (a deferred foreign key, a full disk)
        // leaves the transaction open.
        return stepped.error();
    }
    db_ = nullptr;
    return okStatus();
}

}  // namespace imagefactory
