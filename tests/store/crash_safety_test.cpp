// Kills a process that writes to the store at random moments and checks what it leaves behind.
// NOTE: SIGKILL leaves the kernel's page cache intact, so these tests check the ordering of
// writes, renames and commits, not the fsync calls that protect against a power loss.

#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "store/sqlite_image_store.hpp"
#include "store_test_support.hpp"

namespace imagefactory {
namespace {

namespace fs = std::filesystem;
using testing::makeLineage;
using testing::TempDir;

// The seed of the kill schedule; IF_CRASH_SEED overrides it to replay or vary a run.
uint64_t crashSeed() {
    const char* text = std::getenv("IF_CRASH_SEED");
    return text != nullptr ? std::strtoull(text, nullptr, 10) : 20261204;
}

// Byte i of the body of target image id: a pattern a truncated or mixed-up file cannot match.
char bodyByte(const std::string& id, size_t i) {
    size_t salt = std::hash<std::string>{}(id);
    return static_cast<char>((salt + i * 31 + i / 4096) & 0xff);
}

// Writes the body in chunks, flushing each, so that a kill can leave a partial file.
bool writeBody(const fs::path& path, const std::string& id, size_t size) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    std::string chunk;
    for (size_t written = 0; written < size;) {
        size_t length = std::min<size_t>(64 * 1024, size - written);
        chunk.resize(length);
        for (size_t i = 0; i < length; ++i) {
            chunk[i] = bodyByte(id, written + i);
        }
        out.write(chunk.data(), static_cast<std::streamsize>(length));
        out.flush();
        written += length;
    }
    return static_cast<bool>(out);
}

// What the writer child does until it is killed: each round stores a lineage with a building
// target image, writes its body under tmp/, installs it and marks the target image COMPLETED
// with the file in one commit, the order the store's contract requires. Exits with 10 + step
// when a store call fails.
[[noreturn]] void runWriter(const fs::path& data_dir, uint64_t seed) {
    Result<std::unique_ptr<ImageStore>> opened = openSqliteImageStore(data_dir);
    if (!opened.ok()) {
        ::_exit(10);
    }
    ImageStore& store = *opened.value();
    std::mt19937_64 random(seed);

    for (int round = 0;; ++round) {
        std::string prefix = "s" + std::to_string(seed % 100000) + "-" + std::to_string(round);
        StoreBatch batch = makeLineage(prefix);
        TargetImageRecord& target_image = batch.target_images[0];
        size_t size = 4096 + random() % (512 * 1024);
        target_image.parameters = nlohmann::json{{"body_size", size}}.dump();
        if (!store.commit(batch).ok()) {
            ::_exit(11);
        }

        fs::path partial = store.tmpDir() / (prefix + ".part");
        if (!writeBody(partial, target_image.id, size)) {
            ::_exit(12);
        }
        std::string relative = "images/" + prefix + ".body";
        if (!store.installFile(partial, relative).ok()) {
            ::_exit(13);
        }

        target_image.file = relative;
        target_image.job = {JobStatus::Completed, 100, "", ""};
        if (!store.commit(StoreBatch{.target_images = {target_image}}).ok()) {
            ::_exit(14);
        }
        if (!store
                 .updateJobState(RecordKind::ProviderImage, batch.provider_images[0].id,
                                 JobState{JobStatus::Pushing, 50, "", ""})
                 .ok()) {
            ::_exit(15);
        }
    }
}

// Every id in table, read with a separate connection so that the check does not depend on the
// store's own lookups.
std::vector<std::string> idsIn(const fs::path& db_file, const std::string& table) {
    std::vector<std::string> ids;
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(db_file.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
        sqlite3_stmt* stmt = nullptr;
        std::string sql = "SELECT id FROM " + table;
        if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK) {
            while (sqlite3_step(stmt) == SQLITE_ROW) {
                ids.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)));
            }
        }
        sqlite3_finalize(stmt);
    }
    sqlite3_close(db);
    return ids;
}

// Everything wrong with the store after a crash and reopen, one problem a line: the database
// integrity, lineage references that do not resolve, ids that kindOf() does not find, bodies
// that are missing, short or wrong, and leftovers in tmp/. Returns how many target images have
// a body through completed_with_file.
std::vector<std::string> findProblems(SqliteImageStore& store, int* completed_with_file) {
    std::vector<std::string> problems;
    fs::path db_file = store.dataDir() / "imagefactory.db";

    Result<std::string> integrity = store.integrityCheck();
    if (!integrity.ok() || integrity.value() != "ok") {
        problems.push_back("integrity_check: " +
                           (integrity.ok() ? integrity.value() : integrity.error().message));
    }

    auto expectKind = [&](const std::string& id, RecordKind kind) {
        Result<RecordKind> found = store.kindOf(id);
        if (!found.ok() || found.value() != kind) {
            problems.push_back("kindOf(" + id + ") does not return " +
                               std::string(recordKindName(kind)));
        }
    };
    auto expectTemplate = [&](const std::string& owner, const std::string& id) {
        if (!id.empty() && !store.getTemplate(id).ok()) {
            problems.push_back(owner + " names missing template " + id);
        }
    };
    auto expectBuild = [&](const std::string& owner, const std::string& id) {
        if (!id.empty() && !store.getBuild(id).ok()) {
            problems.push_back(owner + " names missing build " + id);
        }
    };

    for (const std::string& id : idsIn(db_file, "templates")) {
        expectKind(id, RecordKind::Template);
    }
    for (const std::string& id : idsIn(db_file, "images")) {
        expectKind(id, RecordKind::Image);
        Result<ImageRecord> image = store.getImage(id);
        if (!image.ok()) {
            problems.push_back("image " + id + " unreadable: " + image.error().message);
            continue;
        }
        expectTemplate("image " + id, image->template_id);
        expectBuild("image " + id, image->latest_build);
        expectBuild("image " + id, image->latest_unpushed);
    }
    for (const std::string& id : idsIn(db_file, "builds")) {
        expectKind(id, RecordKind::Build);
        Result<BuildRecord> build = store.getBuild(id);
        if (!build.ok()) {
            problems.push_back("build " + id + " unreadable: " + build.error().message);
            continue;
        }
        if (!store.getImage(build->image_id).ok()) {
            problems.push_back("build " + id + " names missing image " + build->image_id);
        }
        expectBuild("build " + id, build->parent_id);
    }
    for (const std::string& id : idsIn(db_file, "target_images")) {
        expectKind(id, RecordKind::TargetImage);
        Result<TargetImageRecord> target_image = store.getTargetImage(id);
        if (!target_image.ok()) {
            problems.push_back("target image " + id + " unreadable");
            continue;
        }
        if (!store.getBuild(target_image->build_id).ok()) {
            problems.push_back("target image " + id + " names missing build " +
                               target_image->build_id);
        }
        expectTemplate("target image " + id, target_image->template_id);
        if (target_image->file.empty()) {
            continue;
        }

        ++*completed_with_file;
        nlohmann::json parameters = nlohmann::json::parse(target_image->parameters, nullptr,
                                                          /*allow_exceptions=*/false);
        size_t expected_size = parameters.value("body_size", size_t{0});
        std::string body = testing::readFile(store.dataDir() / target_image->file);
        if (body.size() != expected_size) {
            problems.push_back("target image " + id + " body " + target_image->file + " has " +
                               std::to_string(body.size()) + " bytes, expected " +
                               std::to_string(expected_size));
            continue;
        }
        for (size_t i = 0; i < body.size(); ++i) {
            if (body[i] != bodyByte(id, i)) {
                problems.push_back("target image " + id + " body differs at byte " +
                                   std::to_string(i));
                break;
            }
        }
    }
    for (const std::string& id : idsIn(db_file, "provider_images")) {
        expectKind(id, RecordKind::ProviderImage);
        Result<ProviderImageRecord> provider_image = store.getProviderImage(id);
        if (!provider_image.ok()) {
            problems.push_back("provider image " + id + " unreadable");
            continue;
        }
        if (!store.getTargetImage(provider_image->target_image_id).ok()) {
            problems.push_back("provider image " + id + " names missing target image " +
                               provider_image->target_image_id);
        }
    }

    std::error_code ec;
    if (!fs::is_empty(store.tmpDir(), ec) || ec) {
        problems.push_back("tmp directory " + store.tmpDir().string() + " is not empty");
    }
    return problems;
}

std::string joinLines(const std::vector<std::string>& lines) {
    std::string text;
    for (const std::string& line : lines) {
        text += line + "\n";
    }
    return text;
}

class CrashSafetyTest : public ::testing::Test {
  protected:
    fs::path dataDir() const { return dir_.path() / "data"; }

    std::unique_ptr<SqliteImageStore> openOrFail() {
        Result<std::unique_ptr<SqliteImageStore>> opened = SqliteImageStore::open(dataDir());
        EXPECT_TRUE(opened.ok()) << opened.error().message;
        return opened.ok() ? std::move(opened.value()) : nullptr;
    }

    // A store with one completed target image whose body is installed.
    std::unique_ptr<SqliteImageStore> storeWithOneBody(std::string* body_path) {
        std::unique_ptr<SqliteImageStore> store = openOrFail();
        StoreBatch batch = makeLineage("x");
        TargetImageRecord& target_image = batch.target_images[0];
        const size_t size = 10000;
        target_image.parameters = nlohmann::json{{"body_size", size}}.dump();
        fs::path partial = store->tmpDir() / "x.part";
        writeBody(partial, target_image.id, size);
        target_image.file = "images/x.body";
        target_image.job = {JobStatus::Completed, 100, "", ""};
        EXPECT_TRUE(store->installFile(partial, target_image.file).ok());
        EXPECT_TRUE(store->commit(batch).ok());
        *body_path = (store->dataDir() / target_image.file).string();
        return store;
    }

    TempDir dir_;
};

TEST_F(CrashSafetyTest, SurvivesKilledWriter) {
    const uint64_t seed = crashSeed();
    constexpr int kIterations = 10;
    std::mt19937_64 schedule(seed);
    int leftovers_seen = 0;
    int completed_with_file = 0;

    for (int iteration = 0; iteration < kIterations; ++iteration) {
        SCOPED_TRACE("seed " + std::to_string(seed) + " iteration " + std::to_string(iteration));
        auto delay = std::chrono::milliseconds(20 + schedule() % 300);

        pid_t child = ::fork();
        ASSERT_GE(child, 0);
        if (child == 0) {
            runWriter(dataDir(), seed + static_cast<uint64_t>(iteration));
        }
        std::this_thread::sleep_for(delay);
        ASSERT_EQ(::kill(child, SIGKILL), 0);
        int status = 0;
        ASSERT_EQ(::waitpid(child, &status, 0), child);
        // Anything but death by our signal means the writer itself failed.
        ASSERT_TRUE(WIFSIGNALED(status)) << "writer exited with " << WEXITSTATUS(status);

        std::error_code ec;
        if (!fs::is_empty(dataDir() / "tmp", ec)) {
            ++leftovers_seen;
        }

        std::unique_ptr<SqliteImageStore> store = openOrFail();
        ASSERT_NE(store, nullptr);
        completed_with_file = 0;
        std::vector<std::string> problems = findProblems(*store, &completed_with_file);
        EXPECT_TRUE(problems.empty()) << joinLines(problems);
    }

    // Without completed bodies the file checks above would have checked nothing.
    EXPECT_GT(completed_with_file, 0);
    std::printf("crash safety: seed=%llu iterations=%d bodies=%d kills_with_tmp_leftovers=%d\n",
                static_cast<unsigned long long>(seed), kIterations, completed_with_file,
                leftovers_seen);
}

TEST_F(CrashSafetyTest, CheckFindsNothingInSoundStore) {
    std::string body_path;
    std::unique_ptr<SqliteImageStore> store = storeWithOneBody(&body_path);
    ASSERT_NE(store, nullptr);

    int completed_with_file = 0;
    std::vector<std::string> problems = findProblems(*store, &completed_with_file);
    EXPECT_TRUE(problems.empty()) << joinLines(problems);
    EXPECT_EQ(completed_with_file, 1);
}

TEST_F(CrashSafetyTest, CheckDetectsTruncatedBody) {
    std::string body_path;
    std::unique_ptr<SqliteImageStore> store = storeWithOneBody(&body_path);
    ASSERT_NE(store, nullptr);
    fs::resize_file(body_path, 9999);

    int completed_with_file = 0;
    std::vector<std::string> problems = findProblems(*store, &completed_with_file);
    ASSERT_EQ(problems.size(), 1u) << joinLines(problems);
    EXPECT_NE(problems[0].find("x-target-image"), std::string::npos) << problems[0];
}

TEST_F(CrashSafetyTest, CheckDetectsCorruptedBody) {
    std::string body_path;
    std::unique_ptr<SqliteImageStore> store = storeWithOneBody(&body_path);
    ASSERT_NE(store, nullptr);
    {
        std::fstream file(body_path, std::ios::in | std::ios::out | std::ios::binary);
        file.seekp(5000);
        file.put(static_cast<char>(~bodyByte("x-target-image", 5000)));
    }

    int completed_with_file = 0;
    std::vector<std::string> problems = findProblems(*store, &completed_with_file);
    ASSERT_EQ(problems.size(), 1u) << joinLines(problems);
    EXPECT_NE(problems[0].find("byte 5000"), std::string::npos) << problems[0];
}

TEST_F(CrashSafetyTest, CheckDetectsMissingBody) {
    std::string body_path;
    std::unique_ptr<SqliteImageStore> store = storeWithOneBody(&body_path);
    ASSERT_NE(store, nullptr);
    fs::remove(body_path);

    int completed_with_file = 0;
    EXPECT_FALSE(findProblems(*store, &completed_with_file).empty());
}

TEST_F(CrashSafetyTest, CheckDetectsBrokenLineage) {
    std::string body_path;
    std::unique_ptr<SqliteImageStore> store = storeWithOneBody(&body_path);
    ASSERT_NE(store, nullptr);
    // A second connection with foreign keys off (the default) can break what the store keeps.
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((store->dataDir() / "imagefactory.db").c_str(), &db), SQLITE_OK);
    EXPECT_EQ(sqlite3_exec(db, "UPDATE builds SET image_id = 'ghost'", nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);

    int completed_with_file = 0;
    std::vector<std::string> problems = findProblems(*store, &completed_with_file);
    ASSERT_EQ(problems.size(), 1u) << joinLines(problems);
    EXPECT_NE(problems[0].find("ghost"), std::string::npos) << problems[0];
}

TEST_F(CrashSafetyTest, CheckDetectsTmpLeftover) {
    std::string body_path;
    std::unique_ptr<SqliteImageStore> store = storeWithOneBody(&body_path);
    ASSERT_NE(store, nullptr);
    testing::writeFile(store->tmpDir() / "leftover", "partial");

    int completed_with_file = 0;
    std::vector<std::string> problems = findProblems(*store, &completed_with_file);
    ASSERT_EQ(problems.size(), 1u) << joinLines(problems);
    EXPECT_NE(problems[0].find("tmp"), std::string::npos) << problems[0];
}

}  // namespace
}  // namespace imagefactory
