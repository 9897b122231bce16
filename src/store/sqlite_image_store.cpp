#include "store/sqlite_image_store.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <utility>

#include "store/data_dir.hpp"
#include "store/sqlite_connection.hpp"
#include "store/sqlite_records.hpp"
#include "store/sqlite_schema.hpp"

namespace imagefactory {

namespace fs = std::filesystem;

namespace {

// How long a statement waits for a lock held by another connection (a backup tool, the sqlite3
// shell) before failing with Unavailable. Within this process the mutex serializes everything.
constexpr int kBusyTimeoutMs = 5000;

std::shared_ptr<spdlog::logger> storeLogger() {
    static std::shared_ptr<spdlog::logger> logger = [] {
        std::shared_ptr<spdlog::logger> existing = spdlog::get("store");
        if (existing) {
            return existing;
        }
        std::shared_ptr<spdlog::logger> created = spdlog::default_logger()->clone("store");
        try {
            spdlog::register_logger(created);
        } catch (const spdlog::spdlog_ex&) {
            // Another component registered "store" meanwhile; use that one.
            return spdlog::get("store");
        }
        return created;
    }();
    return logger;
}

Error withContext(const Error& error, const std::string& context) {
    return Error{error.code, context + ": " + error.message};
}

// Opens the database and sets the connection up. Journal and sync settings are per connection
// (journal_mode=WAL also persists in the file) and are applied on every open.
Result<std::unique_ptr<SqliteConnection>> openDatabase(const fs::path& data_dir) {
    Result<std::unique_ptr<SqliteConnection>> db =
        SqliteConnection::open(data_dir / kDatabaseFileName);
    if (!db.ok()) {
        return db.error();
    }
    SqliteConnection& connection = *db.value();
    sqlite3_busy_timeout(connection.handle(), kBusyTimeoutMs);

    Status foreign_keys = connection.exec("PRAGMA foreign_keys = ON");
    if (!foreign_keys.ok()) {
        return foreign_keys.error();
    }
    Result<std::string> journal = connection.queryText("PRAGMA journal_mode = WAL");
    if (!journal.ok()) {
        return journal.error();
    }
    if (journal.value() != "wal") {
        return internalError("database " + connection.file().string() +
                             " cannot use write-ahead logging (journal mode is " + journal.value() +
                             ")");
    }
    // FULL, not NORMAL: with WAL, NORMAL skips the sync at each commit, so a committed
    // transaction survives a process kill but can be lost in a power failure. A job reported
    // COMPLETED to a console must stay completed, so every commit syncs the WAL.
    Status synchronous = connection.exec("PRAGMA synchronous = FULL");
    if (!synchronous.ok()) {
        return synchronous.error();
    }

    Status migrated = migrateSqliteSchema(connection);
    if (!migrated.ok()) {
        return migrated.error();
    }
    return db;
}

}  // namespace

Result<std::unique_ptr<SqliteImageStore>> SqliteImageStore::open(const fs::path& data_dir) {
    std::error_code ec;
    fs::path absolute_dir = fs::absolute(data_dir, ec);
    if (ec) {
        return userError("invalid data directory " + data_dir.string() + ": " + ec.message());
    }

    Status prepared = prepareDataDir(absolute_dir);
    if (!prepared.ok()) {
        return prepared.error();
    }
    Result<int> lock_fd = lockDataDir(absolute_dir);
    if (!lock_fd.ok()) {
        return lock_fd.error();
    }

    // Holding the lock, no other store writes below tmp/, so everything there is a leftover.
    // TODO: remove installed bodies that no target image names (a crash after installFile()).
    Result<int> removed = clearTmpDir(absolute_dir);
    if (!removed.ok()) {
        ::close(lock_fd.value());
        return removed.error();
    }
    if (removed.value() > 0) {
        storeLogger()->info("removed leftover temporary files count={} dir={}", removed.value(),
                            (absolute_dir / kTmpDirName).string());
    }

    Result<std::unique_ptr<SqliteConnection>> db = openDatabase(absolute_dir);
    if (!db.ok()) {
        ::close(lock_fd.value());
        return db.error();
    }

    storeLogger()->info("opened image store dir={} schema_version={}", absolute_dir.string(),
                        sqliteSchemaVersion());
    return std::unique_ptr<SqliteImageStore>(
        new SqliteImageStore(absolute_dir, std::move(db.value()), lock_fd.value()));
}

SqliteImageStore::SqliteImageStore(fs::path data_dir, std::unique_ptr<SqliteConnection> db,
                                   int lock_fd)
    : data_dir_(std::move(data_dir)), db_(std::move(db)), lock_fd_(lock_fd) {}

SqliteImageStore::~SqliteImageStore() {
    // Close the database before dropping the lock, so the next opener finds it closed.
    db_.reset();
    if (lock_fd_ >= 0) {
        ::close(lock_fd_);
    }
}

int SqliteImageStore::schemaVersion() {
    return sqliteSchemaVersion();
}

Status SqliteImageStore::commit(const StoreBatch& batch) {
    std::lock_guard lock(mutex_);
    TimestampMs now = nowMs();

    Result<SqliteTransaction> transaction = SqliteTransaction::begin(*db_);
    if (!transaction.ok()) {
        return transaction.error();
    }

    // Every record is written before any reference is checked, so records of one batch may
    // name each other in any order.
    for (const TemplateRecord& record : batch.templates) {
        Status written = writeTemplate(*db_, record, now);
        if (!written.ok()) {
            return written;
        }
    }
    for (const ImageRecord& record : batch.images) {
        Status written = writeImage(*db_, record, now);
        if (!written.ok()) {
            return written;
        }
    }
    for (const BuildRecord& record : batch.builds) {
        Status written = writeBuild(*db_, record, now);
        if (!written.ok()) {
            return written;
        }
    }
    for (const TargetImageRecord& record : batch.target_images) {
        Status written = writeTargetImage(*db_, record, now);
        if (!written.ok()) {
            return written;
        }
    }
    for (const ProviderImageRecord& record : batch.provider_images) {
        Status written = writeProviderImage(*db_, record, now);
        if (!written.ok()) {
            return written;
        }
    }

    Status references = checkReferences(*db_, batch);
    if (!references.ok()) {
        return references;
    }

    // The deferred foreign keys are checked here as a second line behind checkReferences().
    Status committed = transaction->commit();
    if (!committed.ok()) {
        return withContext(committed.error(), "cannot commit a batch to " + db_->file().string());
    }
    return okStatus();
}

Result<TemplateRecord> SqliteImageStore::getTemplate(const std::string& id) {
    std::lock_guard lock(mutex_);
    return readTemplate(*db_, id);
}

Result<ImageRecord> SqliteImageStore::getImage(const std::string& id) {
    std::lock_guard lock(mutex_);
    return readImage(*db_, id);
}

Result<BuildRecord> SqliteImageStore::getBuild(const std::string& id) {
    std::lock_guard lock(mutex_);
    return readBuild(*db_, id);
}

Result<TargetImageRecord> SqliteImageStore::getTargetImage(const std::string& id) {
    std::lock_guard lock(mutex_);
    return readTargetImage(*db_, id);
}

Result<ProviderImageRecord> SqliteImageStore::getProviderImage(const std::string& id) {
    std::lock_guard lock(mutex_);
    return readProviderImage(*db_, id);
}

Result<std::vector<ImageRecord>> SqliteImageStore::listImages() {
    std::lock_guard lock(mutex_);
    return readAllImages(*db_);
}

Result<std::vector<BuildRecord>> SqliteImageStore::buildsOfImage(const std::string& image_id) {
    std::lock_guard lock(mutex_);
    return readBuildsOfImage(*db_, image_id);
}

Result<std::vector<TargetImageRecord>> SqliteImageStore::targetImagesOfBuild(
    const std::string& build_id) {
    std::lock_guard lock(mutex_);
    return readTargetImagesOfBuild(*db_, build_id);
}

Result<std::vector<ProviderImageRecord>> SqliteImageStore::providerImagesOfTargetImage(
    const std::string& target_image_id) {
    std::lock_guard lock(mutex_);
    return readProviderImagesOfTargetImage(*db_, target_image_id);
}

Result<std::optional<ProviderImageRecord>> SqliteImageStore::findProviderImage(
    const std::string& provider, const std::string& target_identifier) {
    if (target_identifier.empty()) {
        return std::optional<ProviderImageRecord>();
    }
    std::lock_guard lock(mutex_);
    auto matches = readProviderImagesByIdentifier(*db_, target_identifier);
    if (!matches.ok()) {
        return matches.error();
    }
    for (auto& record : *matches) {
        if (record.provider == provider) {
            return std::optional<ProviderImageRecord>(std::move(record));
        }
    }
    return std::optional<ProviderImageRecord>();
}

Result<RecordKind> SqliteImageStore::kindOf(const std::string& id) {
    std::lock_guard lock(mutex_);
    return readKind(*db_, id);
}

Status SqliteImageStore::updateJobState(RecordKind kind, const std::string& id,
                                        const JobState& state) {
    std::lock_guard lock(mutex_);
    // A single UPDATE is its own transaction; no explicit one is needed.
    return writeJobState(*db_, kind, id, state, nowMs());
}

Result<int> SqliteImageStore::failInterruptedJobs(const std::string& info) {
    std::lock_guard lock(mutex_);
    Result<SqliteTransaction> transaction = SqliteTransaction::begin(*db_);
    if (!transaction.ok()) {
        return transaction.error();
    }
    Result<int> failed = failUnfinishedJobs(*db_, info, nowMs());
    if (!failed.ok()) {
        return failed.error();
    }
    Status committed = transaction->commit();
    if (!committed.ok()) {
        return committed.error();
    }
    if (failed.value() > 0) {
        storeLogger()->info("marked interrupted jobs failed count={}", failed.value());
    }
    return failed;
}

Result<fs::path> SqliteImageStore::installFile(const fs::path& finished,
                                               const std::string& relative) {
    // No database access, so no lock: concurrent installs of different paths run in parallel.
    return installBodyFile(data_dir_, finished, relative);
}

Result<std::string> SqliteImageStore::integrityCheck() {
    std::lock_guard lock(mutex_);
    return db_->queryText("PRAGMA integrity_check");
}

Result<std::unique_ptr<ImageStore>> openSqliteImageStore(const fs::path& data_dir) {
    Result<std::unique_ptr<SqliteImageStore>> store = SqliteImageStore::open(data_dir);
    if (!store.ok()) {
        return store.error();
    }
    return std::unique_ptr<ImageStore>(std::move(store.value()));
}

Result<std::unique_ptr<ImageStore>> openSqliteImageStoreForReading(const fs::path& data_dir) {
    std::error_code ec;
    fs::path absolute_dir = fs::absolute(data_dir, ec);
    if (ec || !fs::is_directory(absolute_dir, ec)) {
        return notFound("no image store at " + data_dir.string() +
                        " (give the data directory with --imgdir)");
    }
    // No lock and no clean-up of tmp/: the process that holds the lock may be writing there.
    // SQLite's write-ahead log lets this connection read while that process writes.
    Result<std::unique_ptr<SqliteConnection>> db = openDatabase(absolute_dir);
    if (!db.ok()) {
        return db.error();
    }
    return std::unique_ptr<ImageStore>(
        new SqliteImageStore(absolute_dir, std::move(db.value()), -1));
}

}  // namespace imagefactory
