#include "store/sqlite_image_store.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "store_test_support.hpp"

namespace imagefactory {
namespace {

namespace fs = std::filesystem;
using testing::makeLineage;
using testing::TempDir;
using testing::writeFile;

// Runs one query on the database file with a separate connection and returns the first column
// of its first row.
std::string queryDatabase(const fs::path& file, const std::string& sql) {
    sqlite3* db = nullptr;
    std::string value;
    if (sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK) {
        sqlite3_stmt* stmt = nullptr;
        if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
            sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_text(stmt, 0) != nullptr) {
            value = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
        }
        sqlite3_finalize(stmt);
    }
    sqlite3_close(db);
    return value;
}

class SqliteImageStoreTest : public ::testing::Test {
  protected:
    fs::path dataDir() const { return dir_.path() / "data"; }

    std::unique_ptr<SqliteImageStore> openOrFail() {
        Result<std::unique_ptr<SqliteImageStore>> opened = SqliteImageStore::open(dataDir());
        EXPECT_TRUE(opened.ok()) << opened.error().message;
        return opened.ok() ? std::move(opened.value()) : nullptr;
    }

    TempDir dir_;
};

TEST_F(SqliteImageStoreTest, CreatesDataDirWithMode0700) {
    std::unique_ptr<SqliteImageStore> store = openOrFail();
    ASSERT_NE(store, nullptr);

    struct stat info {};
    ASSERT_EQ(::stat(dataDir().c_str(), &info), 0);
    EXPECT_EQ(info.st_mode & 0777, 0700u);
    EXPECT_TRUE(fs::is_regular_file(dataDir() / "imagefactory.db"));
    EXPECT_TRUE(fs::is_directory(store->tmpDir()));
    EXPECT_EQ(store->tmpDir(), store->dataDir() / "tmp");
}

TEST_F(SqliteImageStoreTest, UsesWriteAheadLogAndCurrentSchema) {
    std::unique_ptr<SqliteImageStore> store = openOrFail();
    ASSERT_NE(store, nullptr);
    fs::path db_file = dataDir() / "imagefactory.db";

    EXPECT_EQ(queryDatabase(db_file, "PRAGMA journal_mode"), "wal");
    EXPECT_EQ(queryDatabase(db_file, "PRAGMA user_version"),
              std::to_string(SqliteImageStore::schemaVersion()));
}

TEST_F(SqliteImageStoreTest, IntegrityCheckIsOk) {
    std::unique_ptr<SqliteImageStore> store = openOrFail();
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->commit(makeLineage("a")).ok());

    Result<std::string> integrity = store->integrityCheck();
    ASSERT_TRUE(integrity.ok()) << integrity.error().message;
    EXPECT_EQ(integrity.value(), "ok");
}

TEST_F(SqliteImageStoreTest, RejectsDataDirThatIsFile) {
    writeFile(dataDir(), "not a directory");

    Result<std::unique_ptr<SqliteImageStore>> opened = SqliteImageStore::open(dataDir());
    ASSERT_FALSE(opened.ok());
    EXPECT_EQ(opened.error().code, ErrorCode::UserInput);
    EXPECT_NE(opened.error().message.find(dataDir().string()), std::string::npos)
        << opened.error().message;
}

TEST_F(SqliteImageStoreTest, RejectsDataDirBelowFile) {
    writeFile(dir_.path() / "file", "x");
    fs::path below = dir_.path() / "file" / "data";

    Result<std::unique_ptr<SqliteImageStore>> opened = SqliteImageStore::open(below);
    ASSERT_FALSE(opened.ok());
    EXPECT_NE(opened.error().message.find(below.string()), std::string::npos)
        << opened.error().message;
}

TEST_F(SqliteImageStoreTest, RejectsUnwritableDataDir) {
    fs::create_directory(dataDir());
    fs::permissions(dataDir(), fs::perms::owner_all | fs::perms::group_read |
                                   fs::perms::group_exec | fs::perms::others_read |
                                   fs::perms::others_exec);
    fs::permissions(dir_.path(), fs::perms::others_exec | fs::perms::group_exec,
                    fs::perm_options::add);

    // Root may write anywhere, so as root the open runs in a child that switched to user nobody
    // (uid 65534), to whom the directory is read-only. The child reports by its exit status.
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        if (::geteuid() == 0 && ::setresuid(65534, 65534, 65534) != 0) {
            ::_exit(3);
        }
        Result<std::unique_ptr<SqliteImageStore>> opened = SqliteImageStore::open(dataDir());
        if (opened.ok()) {
            ::_exit(1);
        }
        bool names_path = opened.error().message.find(dataDir().string()) != std::string::npos;
        bool says_why = opened.error().message.find("not writable") != std::string::npos;
        ::_exit(names_path && says_why ? 0 : 2);
    }

    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0) << "1: the open succeeded, 2: the message lacks the path or "
                                         "the reason, 3: setresuid failed";
}

TEST_F(SqliteImageStoreTest, RejectsDatabaseThatIsNotSqlite) {
    fs::create_directory(dataDir());
    writeFile(dataDir() / "imagefactory.db", std::string(8192, 'x'));

    Result<std::unique_ptr<SqliteImageStore>> opened = SqliteImageStore::open(dataDir());
    ASSERT_FALSE(opened.ok());
    EXPECT_NE(opened.error().message.find("imagefactory.db"), std::string::npos)
        << opened.error().message;
}

TEST_F(SqliteImageStoreTest, RejectsSecondOpenWhileOpen) {
    std::unique_ptr<SqliteImageStore> first = openOrFail();
    ASSERT_NE(first, nullptr);

    Result<std::unique_ptr<SqliteImageStore>> second = SqliteImageStore::open(dataDir());
    ASSERT_FALSE(second.ok());
    EXPECT_EQ(second.error().code, ErrorCode::InvalidState);
    EXPECT_NE(second.error().message.find(dataDir().string()), std::string::npos)
        << second.error().message;
}

TEST_F(SqliteImageStoreTest, OpensAgainAfterClose) {
    openOrFail();
    std::unique_ptr<SqliteImageStore> again = openOrFail();
    EXPECT_NE(again, nullptr);
}

TEST_F(SqliteImageStoreTest, RemovesTmpLeftoversAtOpen) {
    {
        std::unique_ptr<SqliteImageStore> store = openOrFail();
        ASSERT_NE(store, nullptr);
        writeFile(store->tmpDir() / "half-written.body", "partial");
        fs::create_directory(store->tmpDir() / "unpacked");
        writeFile(store->tmpDir() / "unpacked" / "file", "partial");
    }

    std::unique_ptr<SqliteImageStore> reopened = openOrFail();
    ASSERT_NE(reopened, nullptr);
    EXPECT_TRUE(fs::is_empty(reopened->tmpDir()));
}

TEST_F(SqliteImageStoreTest, KeepsFilesOutsideTmpWhenClearingLeftovers) {
    {
        std::unique_ptr<SqliteImageStore> store = openOrFail();
        ASSERT_NE(store, nullptr);
        // A link in tmp/ to a file elsewhere: clearing removes the link, never its target.
        writeFile(dir_.path() / "precious", "keep");
        fs::create_symlink(dir_.path() / "precious", store->tmpDir() / "link");
    }

    std::unique_ptr<SqliteImageStore> reopened = openOrFail();
    ASSERT_NE(reopened, nullptr);
    EXPECT_TRUE(fs::is_empty(reopened->tmpDir()));
    EXPECT_EQ(testing::readFile(dir_.path() / "precious"), "keep");
}

TEST_F(SqliteImageStoreTest, RejectsNewerSchemaVersion) {
    openOrFail();
    queryDatabase(dataDir() / "imagefactory.db", "PRAGMA user_version = 999");

    Result<std::unique_ptr<SqliteImageStore>> opened = SqliteImageStore::open(dataDir());
    ASSERT_FALSE(opened.ok());
    EXPECT_EQ(opened.error().code, ErrorCode::InvalidState);
    EXPECT_NE(opened.error().message.find("999"), std::string::npos) << opened.error().message;
}

TEST_F(SqliteImageStoreTest, RejectsFileOnUnfinishedTargetImage) {
    std::unique_ptr<SqliteImageStore> store = openOrFail();
    ASSERT_NE(store, nullptr);
    StoreBatch batch = makeLineage("a");
    batch.target_images[0].file = "images/a.body";
    batch.target_images[0].job.status = JobStatus::Finishing;

    Status committed = store->commit(batch);
    ASSERT_FALSE(committed.ok());
    EXPECT_EQ(committed.error().code, ErrorCode::UserInput);
    EXPECT_NE(committed.error().message.find("a-target-image"), std::string::npos)
        << committed.error().message;
}

TEST_F(SqliteImageStoreTest, RejectsUnfinishingCompletedTargetImageWithFile) {
    std::unique_ptr<SqliteImageStore> store = openOrFail();
    ASSERT_NE(store, nullptr);
    StoreBatch batch = makeLineage("a");
    batch.target_images[0].file = "images/a.body";
    batch.target_images[0].job = {JobStatus::Completed, 100, "", ""};
    ASSERT_TRUE(store->commit(batch).ok());

    Status updated = store->updateJobState(RecordKind::TargetImage, "a-target-image",
                                           JobState{JobStatus::Building, 10, "", ""});
    ASSERT_FALSE(updated.ok());
    Result<TargetImageRecord> stored = store->getTargetImage("a-target-image");
    ASSERT_TRUE(stored.ok()) << stored.error().message;
    EXPECT_EQ(stored->job.status, JobStatus::Completed);
}

}  // namespace
}  // namespace imagefactory
