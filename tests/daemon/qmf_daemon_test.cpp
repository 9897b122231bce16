#include "daemon/qmf_daemon.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <climits>
#include <filesystem>
#include <fstream>
#include <thread>

#include "core/uuid.hpp"

namespace imagefactory {
namespace {

namespace fs = std::filesystem;

class QmfDaemonTest : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("qmf-daemon-test-" + newUuid());
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }

    std::string readFile(const fs::path& path) {
        std::ifstream in(path);
        return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    }

    fs::path dir_;
};

TEST_F(QmfDaemonTest, IdentityKeepsInstanceAndRaisesEpoch) {
    auto first = nextAgentIdentity(dir_);
    ASSERT_TRUE(first.ok());
    EXPECT_TRUE(isUuid(first->instance));
    EXPECT_EQ(first->epoch, 1u);

    auto second = nextAgentIdentity(dir_);
    ASSERT_TRUE(second.ok());
    EXPECT_EQ(second->instance, first->instance);
    EXPECT_EQ(second->epoch, 2u);
}

TEST_F(QmfDaemonTest, IdentityFileIsPrivateAndComplete) {
    ASSERT_TRUE(nextAgentIdentity(dir_).ok());
    struct stat info {};
    ASSERT_EQ(stat((dir_ / "agent.json").c_str(), &info), 0);
    EXPECT_EQ(info.st_mode & 0777, 0600u);
    EXPECT_NE(readFile(dir_ / "agent.json").find("\"epoch\":1"), std::string::npos);
    for (const auto& entry : fs::directory_iterator(dir_)) {
        EXPECT_EQ(entry.path().filename(), "agent.json") << "left behind: " << entry.path();
    }
}

TEST_F(QmfDaemonTest, RejectsCorruptIdentityFile) {
    for (const std::string content :
         {"{", "[]", "{\"instance\": \"x\", \"epoch\": 1}", "{\"instance\": 5}",
          "{\"instance\": \"0d2a4f6e-8a49-4b0e-9a39-6a4cf1f0e0b1\", \"epoch\": -1}"}) {
        std::ofstream(dir_ / "agent.json") << content;
        auto identity = nextAgentIdentity(dir_);
        ASSERT_FALSE(identity.ok()) << content;
        EXPECT_NE(identity.error().message.find("agent.json"), std::string::npos);
    }
}

TEST_F(QmfDaemonTest, DaemonizeRejectsLivePidFile) {
    fs::path pid_file = dir_ / "if.pid";
    std::ofstream(pid_file) << getpid() << "\n";
    Status status = daemonize(pid_file);
    ASSERT_FALSE(status.ok());
    EXPECT_NE(status.error().message.find("already running"), std::string::npos);
}

TEST_F(QmfDaemonTest, DaemonizeDetachesAndWritesPidFile) {
    fs::path pid_file = dir_ / "if.pid";
    fs::path marker = dir_ / "daemon-state";
    std::ofstream(pid_file) << "999999999\n";  // a stale file naming no process

    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        // Only the daemon process returns from daemonize. It records its pid, session, directory
        // and umask, then exits.
        if (!daemonize(pid_file).ok()) {
            _exit(3);
        }
        char cwd[PATH_MAX] = {};
        mode_t mask = umask(0);
        std::ofstream(marker) << getpid() << " " << getsid(0) << " " << getcwd(cwd, sizeof(cwd))
                              << " " << std::oct << mask << "\n";
        _exit(0);
    }
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);

    for (int i = 0; i < 100 && !fs::exists(marker); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    std::istringstream state(readFile(marker));
    long pid = 0;
    long session = 0;
    std::string cwd;
    std::string mask;
    state >> pid >> session >> cwd >> mask;
    EXPECT_EQ(std::stol(readFile(pid_file)), pid);
    EXPECT_NE(pid, child);
    EXPECT_NE(session, pid);  // the second fork is not the session leader
    EXPECT_EQ(cwd, "/");
    EXPECT_EQ(mask, "77");
}

}  // namespace
}  // namespace imagefactory
