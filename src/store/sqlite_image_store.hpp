#pragma once

#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/records.hpp"
#include "store/image_store.hpp"

namespace imagefactory {

class SqliteConnection;

// The ImageStore kept in one SQLite database, data_dir/imagefactory.db.
//
// Threads: one connection serves every caller, and a mutex serializes all calls on it, so any
// thread may call any method. Reads wait while a commit runs.
//
// Processes: one store per data directory. Opening takes an exclusive lock on data_dir/lock
// for the lifetime of the store, so a second opener (in this or another process) fails instead
// of deleting the first one's temporary files.
//
// Durability: a successful commit() is on disk (WAL journal, synchronous=FULL) before it
// returns, so it survives a process kill and a power loss.
//
// Timestamps: created_at keeps the value given when a record is first stored, or the commit
// time when that value is 0, and a later replace of the record keeps it. updated_at is set by
// the store to the time of the last write of the record; the value passed in is ignored.
//
// Image bodies: a file below dataDir() counts as complete only when a record names it. A
// caller writes the body under tmpDir(), moves it into place with installFile(), and then sets
// TargetImageRecord::file in the same commit() that marks the job COMPLETED. A crash between
// the two leaves an installed file that no record names; such a file is ignored.
class SqliteImageStore : public ImageStore {
  public:
    // Opens the store; see openSqliteImageStore().
    static Result<std::unique_ptr<SqliteImageStore>> open(const std::filesystem::path& data_dir);
    friend Result<std::unique_ptr<ImageStore>> openSqliteImageStoreForReading(
        const std::filesystem::path& data_dir);

    ~SqliteImageStore() override;
    SqliteImageStore(const SqliteImageStore&) = delete;
    SqliteImageStore& operator=(const SqliteImageStore&) = delete;

    Status commit(const StoreBatch& batch) override;

    Result<TemplateRecord> getTemplate(const std::string& id) override;
    Result<ImageRecord> getImage(const std::string& id) override;
    Result<BuildRecord> getBuild(const std::string& id) override;
    Result<TargetImageRecord> getTargetImage(const std::string& id) override;
    Result<ProviderImageRecord> getProviderImage(const std::string& id) override;

    Result<std::vector<ImageRecord>> listImages() override;
    Result<std::vector<BuildRecord>> buildsOfImage(const std::string& image_id) override;
    Result<std::vector<TargetImageRecord>> targetImagesOfBuild(
        const std::string& build_id) override;
    Result<std::vector<ProviderImageRecord>> providerImagesOfTargetImage(
        const std::string& target_image_id) override;

    Result<std::optional<ProviderImageRecord>> findProviderImage(
        const std::string& provider, const std::string& target_identifier) override;
    Result<RecordKind> kindOf(const std::string& id) override;

    Status updateJobState(RecordKind kind, const std::string& id, const JobState& state) override;

    Result<int> failInterruptedJobs(const std::string& info) override;

    const std::filesystem::path& dataDir() const override { return data_dir_; }
    std::filesystem::path tmpDir() const override { return data_dir_ / "tmp"; }

    // Rejects a relative path that is empty, absolute, contains a "." or ".." component, names
    // the database, the lock file or a place under tmpDir(), or leads outside dataDir() through
    // a symbolic link. Errors are UserInput for the path and Internal for system calls.
    Result<std::filesystem::path> installFile(const std::filesystem::path& finished,
                                              const std::string& relative) override;

    // The output of PRAGMA integrity_check: "ok" for a sound database, otherwise the problems
    // SQLite found, one a line.
    Result<std::string> integrityCheck();

    // The database schema version this program writes (PRAGMA user_version).
    static int schemaVersion();

  private:
    SqliteImageStore(std::filesystem::path data_dir, std::unique_ptr<SqliteConnection> db,
                     int lock_fd);

    const std::filesystem::path data_dir_;
    std::mutex mutex_;  // guards db_: every statement runs with it held
    std::unique_ptr<SqliteConnection> db_;
    const int lock_fd_;  // holds the flock on data_dir/lock until the store is destroyed
};

}  // namespace imagefactory
