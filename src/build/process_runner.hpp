#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/cancel.hpp"
#include "core/error.hpp"

namespace spdlog {
class logger;
}

namespace imagefactory {

enum class OutputStream { Stdout, Stderr };

// One external program to run. argv[0] is looked up in PATH; no shell is involved.
struct ProcessSpec {
    std::vector<std::string> argv;
    // Variables added to (or replacing those of) the inherited environment.
    std::map<std::string, std::string> env;
    // The child's working directory; empty keeps the caller's.
    std::filesystem::path working_dir;
    // Zero means no limit. On expiry the process group is killed and run() returns ToolFailure.
    std::chrono::milliseconds timeout{0};
    // Written to the child's stdin, which is then closed; the child reads /dev/null when empty.
    // May hold a secret: it is never logged.
    std::string stdin_data;
    // Called on the caller's thread for every complete output line (without the newline).
    std::function<void(OutputStream stream, std::string_view line)> on_line;
    // Checked on every output line; when it returns true the process group is stopped as on a
    // cancel, and run() returns the result with stopped set (for tools such as a VM that never
    // exit on their own).
    std::function<bool(std::string_view line)> stop_when;
    // The name log lines carry; empty means argv[0]. Wrappers such as unshare set the tool's name.
    std::string log_name;
    // Output lines also go to the logger at debug level (stderr lines at info) when set.
    bool log_output = true;
};

struct ProcessResult {
    int exit_code = -1;       // the exit status, or -1 when a signal ended the process
    int term_signal = 0;      // the signal that ended it, 0 when it exited
    std::string stdout_text;  // the last kMaxCapturedBytes of stdout
    std::string stderr_text;  // the last kMaxCapturedBytes of stderr
    std::chrono::milliseconds duration{0};
    bool stopped = false;  // stop_when matched and the process was killed for it

    bool succeeded() const { return exit_code == 0; }
};

// Runs external tools in their own process group. A cancel() on the token kills the whole group
// (SIGTERM, then SIGKILL after kKillGrace) and run() returns an Aborted error shortly after.
// One runner may run one process at a time per calling thread; it holds no state between runs.
class ProcessRunner {
  public:
    static constexpr size_t kMaxCapturedBytes = 1 << 20;
    static constexpr std::chrono::milliseconds kKillGrace{500};

    // token may be null when the caller cannot be cancelled.
    ProcessRunner(std::shared_ptr<spdlog::logger> logger, CancelToken* token);

    // Returns the outcome of a program that ran, whatever its exit status. Errors: UserInput for
    // an empty argv, NotFound when the program cannot be executed, ToolFailure on timeout,
    // Aborted on cancel, Internal when a pipe or fork fails.
    Result<ProcessResult> run(const ProcessSpec& spec) const;

    // Like run(), but a non-zero exit status becomes a ToolFailure naming the program, its
    // status and the last lines of its stderr.
    Result<ProcessResult> runChecked(const ProcessSpec& spec) const;

    // True once the token given at construction is cancelled; in-process work (such as
    // writing a tar) checks it between blocks.
    bool cancelled() const { return token_ != nullptr && token_->cancelled(); }

  private:
    std::shared_ptr<spdlog::logger> logger_;
    CancelToken* token_;
};

// The argv as one line for logs, with arguments holding spaces or quotes single-quoted.
std::string describeArgv(const std::vector<std::string>& argv);

// The last max_lines lines of text, for error messages.
std::string lastLines(std::string_view text, size_t max_lines);

}  // namespace imagefactory
