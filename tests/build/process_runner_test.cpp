#include "build/process_runner.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace imagefactory {
namespace {

using namespace std::chrono_literals;

class ProcessRunnerTest : public ::testing::Test {
  protected:
    std::shared_ptr<spdlog::logger> logger_ = std::make_shared<spdlog::logger>(
        "tool-test", std::make_shared<spdlog::sinks::null_sink_mt>());
    CancelToken token_;
    ProcessRunner runner_{logger_, &token_};
};

// A zombie counts as gone: it runs nothing, and its reaping depends on the container's init.
bool processExists(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string stat;
    if (!std::getline(in, stat)) {
        return false;
    }
    size_t end = stat.rfind(')');
    return end != std::string::npos && end + 2 < stat.size() && stat[end + 2] != 'Z';
}

// Live processes whose process group is pgid.
int liveMembers(pid_t pgid) {
    int count = 0;
    for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
        std::string name = entry.path().filename();
        if (name.find_first_not_of("0123456789") != std::string::npos) {
            continue;
        }
        std::ifstream in(entry.path() / "stat");
        std::string stat;
        if (!std::getline(in, stat)) {
            continue;
        }
        size_t end = stat.rfind(')');
        std::istringstream fields(stat.substr(end + 2));
        char state = 0;
        pid_t ppid = 0;
        pid_t pgrp = 0;
        fields >> state >> ppid >> pgrp;
        if (pgrp == pgid && state != 'Z') {
            ++count;
        }
    }
    return count;
}

TEST_F(ProcessRunnerTest, CapturesStdoutAndExitStatus) {
    auto result = runner_.run({.argv = {"sh", "-c", "echo hello; echo oops >&2; exit 3"}});
    ASSERT_TRUE(result.ok()) << result.error().message;
    EXPECT_EQ(result->exit_code, 3);
    EXPECT_EQ(result->stdout_text, "hello\n");
    EXPECT_EQ(result->stderr_text, "oops\n");
}

TEST_F(ProcessRunnerTest, PassesArgumentsWithoutShell) {
    auto result = runner_.run({.argv = {"printf", "%s|", "a b", "$HOME", "*"}});
    ASSERT_TRUE(result.ok());
    EXPECT_EQ(result->stdout_text, "a b|$HOME|*|");
}

TEST_F(ProcessRunnerTest, StreamsLinesToCallback) {
    std::vector<std::string> lines;
    ProcessSpec spec{.argv = {"sh", "-c", "printf 'one\\ntwo\\rthree'; echo four >&2"}};
    spec.on_line = [&](OutputStream, std::string_view line) { lines.emplace_back(line); };
    auto result = runner_.run(spec);
    ASSERT_TRUE(result.ok());
    std::sort(lines.begin(), lines.end());
    EXPECT_EQ(lines, (std::vector<std::string>{"four", "one", "three", "two"}));
}

TEST_F(ProcessRunnerTest, AddsEnvironmentAndWorkingDir) {
    ProcessSpec spec{.argv = {"sh", "-c", "echo \"$IF_TEST_VALUE\"; pwd"}};
    spec.env["IF_TEST_VALUE"] = "forty two";
    spec.working_dir = "/usr";
    auto result = runner_.run(spec);
    ASSERT_TRUE(result.ok());
    EXPECT_EQ(result->stdout_text, "forty two\n/usr\n");
}

TEST_F(ProcessRunnerTest, WritesStdinData) {
    ProcessSpec spec{.argv = {"cat"}};
    spec.stdin_data = std::string(200000, 'x');
    auto result = runner_.run(spec);
    ASSERT_TRUE(result.ok());
    EXPECT_EQ(result->stdout_text.size(), 200000u);
}

TEST_F(ProcessRunnerTest, MissingProgramIsNotFound) {
    auto result = runner_.run({.argv = {"/nonexistent/tool-xyz"}});
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().code, ErrorCode::NotFound);
    EXPECT_NE(result.error().message.find("/nonexistent/tool-xyz"), std::string::npos);
}

TEST_F(ProcessRunnerTest, EmptyArgvIsRejected) {
    auto result = runner_.run({});
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().code, ErrorCode::UserInput);
}

TEST_F(ProcessRunnerTest, RunCheckedReportsStderrTail) {
    auto result = runner_.runChecked({.argv = {"sh", "-c", "echo 'disk full' >&2; exit 1"}});
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().code, ErrorCode::ToolFailure);
    EXPECT_NE(result.error().message.find("exit status 1"), std::string::npos);
    EXPECT_NE(result.error().message.find("disk full"), std::string::npos);
}

TEST_F(ProcessRunnerTest, TimeoutKillsProcess) {
    auto started = std::chrono::steady_clock::now();
    auto result = runner_.run({.argv = {"sleep", "30"}, .timeout = 300ms});
    auto elapsed = std::chrono::steady_clock::now() - started;
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().code, ErrorCode::ToolFailure);
    EXPECT_LT(elapsed, 5s);
}

TEST_F(ProcessRunnerTest, CancelKillsWholeGroupWithinSecond) {
    // The shell starts a background sleep that ignores SIGTERM and records its pid, so the test
    // checks both escalation to SIGKILL and that the whole group goes, not only the leader.
    auto pid_file =
        std::filesystem::temp_directory_path() / ("if-runner-" + std::to_string(getpid()) + ".pid");
    std::string script = "trap '' TERM; sleep 60 & echo $! > '" + pid_file.string() +
                         "'; echo $$ >> '" + pid_file.string() + "'; wait";
    std::thread canceller([this] {
        std::this_thread::sleep_for(500ms);
        token_.cancel();
    });
    auto cancel_time = std::chrono::steady_clock::now() + 500ms;
    auto result = runner_.run({.argv = {"sh", "-c", script}});
    auto returned = std::chrono::steady_clock::now();
    canceller.join();

    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().code, ErrorCode::Aborted);
    EXPECT_LT(returned - cancel_time, 1s);

    std::ifstream in(pid_file);
    pid_t child = 0;
    pid_t leader = 0;
    in >> child >> leader;
    std::filesystem::remove(pid_file);
    ASSERT_GT(child, 0);
    ASSERT_GT(leader, 0);
    // A killed process closes its files before it finishes exiting, so the group may take a
    // moment to disappear after run() has returned.
    for (int i = 0; i < 20 && liveMembers(leader) > 0; ++i) {
        std::this_thread::sleep_for(50ms);
    }
    EXPECT_FALSE(processExists(child));
    EXPECT_FALSE(processExists(leader));
    EXPECT_EQ(liveMembers(leader), 0);
}

TEST_F(ProcessRunnerTest, StopWhenEndsProcessOnMatchingLine) {
    ProcessSpec spec{.argv = {"sh", "-c", "echo booting; echo READY; sleep 30"}};
    spec.stop_when = [](std::string_view line) { return line == "READY"; };
    auto started = std::chrono::steady_clock::now();
    auto result = runner_.run(spec);
    ASSERT_TRUE(result.ok());
    EXPECT_TRUE(result->stopped);
    EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
}

TEST_F(ProcessRunnerTest, AlreadyCancelledTokenRunsNothing) {
    token_.cancel();
    auto result = runner_.run({.argv = {"true"}});
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().code, ErrorCode::Aborted);
}

TEST(LastLinesTest, KeepsTail) {
    EXPECT_EQ(lastLines("a\nb\nc\n", 2), "b\nc");
    EXPECT_EQ(lastLines("a\nb", 5), "a\nb");
    EXPECT_EQ(lastLines("", 3), "");
}

TEST(DescribeArgvTest, QuotesSpecialArguments) {
    EXPECT_EQ(describeArgv({"qemu-img", "info", "a b", "it's"}), "qemu-img info 'a b' 'it'\\''s'");
}

}  // namespace
}  // namespace imagefactory
