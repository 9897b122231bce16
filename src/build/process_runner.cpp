#include "build/process_runner.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <optional>

extern char** environ;

namespace imagefactory {

namespace {

using Clock = std::chrono::steady_clock;

// State shared with the cancel callback, which may run on another thread and may outlive run().
struct KillState {
    std::mutex mutex;
    pid_t pgid = 0;
    bool reaped = false;  // once the leader is reaped its id may be reused, so no more kills
    std::atomic<bool> cancelled{false};
    int wake_write_fd = -1;

    ~KillState() {
        if (wake_write_fd >= 0) {
            close(wake_write_fd);
        }
    }

    void signalGroup(int sig) {
        std::lock_guard lock(mutex);
        if (pgid > 0 && !reaped) {
            kill(-pgid, sig);
        }
    }
};

class Fd {
  public:
    Fd() = default;
    explicit Fd(int fd) : fd_(fd) {}
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd() { reset(); }

    int get() const { return fd_; }
    int release() {
        int fd = fd_;
        fd_ = -1;
        return fd;
    }
    void reset(int fd = -1) {
        if (fd_ >= 0) {
            close(fd_);
        }
        fd_ = fd;
    }

  private:
    int fd_ = -1;
};

bool makePipe(Fd& read_end, Fd& write_end) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        return false;
    }
    read_end.reset(fds[0]);
    write_end.reset(fds[1]);
    return true;
}

// Splits a stream into lines; '\r' counts as a line end so that progress bars become lines.
class LineSplitter {
  public:
    template <typename Fn>
    void feed(std::string_view data, Fn&& emit) {
        for (char c : data) {
            if (c == '\n' || c == '\r') {
                if (!partial_.empty()) {
                    emit(std::string_view(partial_));
                }
                partial_.clear();
            } else if (partial_.size() < kMaxLine) {
                partial_.push_back(c);
            }
        }
    }

    template <typename Fn>
    void flush(Fn&& emit) {
        if (!partial_.empty()) {
            emit(std::string_view(partial_));
        }
        partial_.clear();
    }

  private:
    static constexpr size_t kMaxLine = 64 * 1024;
    std::string partial_;
};

void appendCapped(std::string& text, std::string_view data) {
    text.append(data);
    if (text.size() > ProcessRunner::kMaxCapturedBytes) {
        text.erase(0, text.size() - ProcessRunner::kMaxCapturedBytes);
    }
}

std::vector<std::string> buildEnvironment(const std::map<std::string, std::string>& additions) {
    std::vector<std::string> env;
    for (char** entry = environ; *entry != nullptr; ++entry) {
        std::string_view item(*entry);
        std::string_view key = item.substr(0, item.find('='));
        if (additions.find(std::string(key)) == additions.end()) {
            env.emplace_back(item);
        }
    }
    for (const auto& [key, value] : additions) {
        env.push_back(key + "=" + value);
    }
    return env;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
    std::vector<char*> result;
    for (std::string& s : strings) {
        result.push_back(s.data());
    }
    result.push_back(nullptr);
    return result;
}

std::string describeStatus(const ProcessResult& result) {
    if (result.term_signal != 0) {
        return "killed by signal " + std::to_string(result.term_signal);
    }
    return "exit status " + std::to_string(result.exit_code);
}

}  // namespace

std::string describeArgv(const std::vector<std::string>& argv) {
    std::string line;
    for (const std::string& arg : argv) {
        if (!line.empty()) {
            line += ' ';
        }
        bool plain = !arg.empty() && arg.find_first_of(" \t\n'\"\\$") == std::string::npos;
        if (plain) {
            line += arg;
            continue;
        }
        line += '\'';
        for (char c : arg) {
            if (c == '\'') {
                line += "'\\''";
            } else {
                line += c;
            }
        }
        line += '\'';
    }
    return line;
}

std::string lastLines(std::string_view text, size_t max_lines) {
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) {
        text.remove_suffix(1);
    }
    size_t pos = text.size();
    for (size_t count = 0; count < max_lines && pos != std::string_view::npos && pos > 0; ++count) {
        pos = text.rfind('\n', pos - 1);
    }
    if (pos == std::string_view::npos || pos == 0) {
        return std::string(text);
    }
    return std::string(text.substr(pos + 1));
}

ProcessRunner::ProcessRunner(std::shared_ptr<spdlog::logger> logger, CancelToken* token)
    : logger_(std::move(logger)), token_(token) {}

Result<ProcessResult> ProcessRunner::run(const ProcessSpec& spec) const {
    if (spec.argv.empty() || spec.argv[0].empty()) {
        return userError("no program given to run");
    }
    const std::string& program = spec.log_name.empty() ? spec.argv[0] : spec.log_name;
    if (token_ != nullptr && token_->cancelled()) {
        return Error{ErrorCode::Aborted, "aborted before running " + program};
    }

    Fd out_read, out_write, err_read, err_write, in_read, in_write, exec_read, exec_write;
    Fd wake_read, wake_write;
    if (!makePipe(out_read, out_write) || !makePipe(err_read, err_write) ||
        !makePipe(in_read, in_write) || !makePipe(exec_read, exec_write) ||
        !makePipe(wake_read, wake_write)) {
        return internalError(std::string("cannot create pipes: ") + std::strerror(errno));
    }
    fcntl(out_read.get(), F_SETFL, O_NONBLOCK);
    fcntl(err_read.get(), F_SETFL, O_NONBLOCK);
    fcntl(in_write.get(), F_SETFL, O_NONBLOCK);
    fcntl(wake_read.get(), F_SETFL, O_NONBLOCK);

    // Everything the child needs is prepared before fork(): after it only async-signal-safe
    // calls are allowed, since other threads may hold allocator locks.
    std::vector<std::string> args = spec.argv;
    std::vector<char*> argv_ptrs = pointers(args);
    std::vector<std::string> env = buildEnvironment(spec.env);
    std::vector<char*> env_ptrs = pointers(env);
    std::string working_dir = spec.working_dir.string();
    int null_fd = spec.stdin_data.empty() ? open("/dev/null", O_RDONLY | O_CLOEXEC) : -1;

    if (logger_) {
        logger_->debug("running {}", describeArgv(spec.argv));
    }
    auto started = Clock::now();
    pid_t pid = fork();
    if (pid < 0) {
        int error = errno;
        if (null_fd >= 0) {
            close(null_fd);
        }
        return internalError("cannot fork to run " + program + ": " + std::strerror(error));
    }
    if (pid == 0) {
        setpgid(0, 0);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, nullptr);
        signal(SIGPIPE, SIG_DFL);
        dup2(null_fd >= 0 ? null_fd : in_read.get(), STDIN_FILENO);
        dup2(out_write.get(), STDOUT_FILENO);
        dup2(err_write.get(), STDERR_FILENO);
        // Descriptors other threads opened without O_CLOEXEC must not leak into the tool.
        close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
        if (!working_dir.empty() && chdir(working_dir.c_str()) != 0) {
            int error = errno;
            (void)!write(exec_write.get(), &error, sizeof error);
            _exit(127);
        }
        execvpe(argv_ptrs[0], argv_ptrs.data(), env_ptrs.data());
        int error = errno;
        (void)!write(exec_write.get(), &error, sizeof error);
        _exit(127);
    }
    // Set the group from both sides so that a kill right after fork() reaches the child.
    setpgid(pid, pid);
    if (null_fd >= 0) {
        close(null_fd);
    }
    out_write.reset();
    err_write.reset();
    in_read.reset();
    exec_write.reset();
    if (spec.stdin_data.empty()) {
        in_write.reset();
    }

    auto state = std::make_shared<KillState>();
    state->pgid = pid;
    state->wake_write_fd = wake_write.release();
    CancelToken::CallbackId callback_id = 0;
    if (token_ != nullptr) {
        callback_id = token_->onCancel([state] {
            state->cancelled = true;
            state->signalGroup(SIGTERM);
            char byte = 1;
            (void)!write(state->wake_write_fd, &byte, 1);
        });
    }

    int exec_errno = 0;
    bool exec_failed = read(exec_read.get(), &exec_errno, sizeof exec_errno) == sizeof exec_errno;
    exec_read.reset();

    ProcessResult result;
    std::array<LineSplitter, 2> splitters;
    bool stop_requested = false;
    auto emit_for = [&](OutputStream stream) {
        return [&, stream](std::string_view line) {
            if (spec.on_line) {
                spec.on_line(stream, line);
            }
            if (!stop_requested && spec.stop_when && spec.stop_when(line)) {
                stop_requested = true;
                state->signalGroup(SIGTERM);
            }
            if (spec.log_output && logger_) {
                logger_->info("{}: {}", program, line);
            }
        };
    };

    size_t stdin_offset = 0;
    bool out_open = true;
    bool err_open = true;
    bool leader_exited = false;
    bool timed_out = false;
    std::optional<Clock::time_point> kill_at;
    Clock::time_point drain_until{};
    Clock::time_point deadline =
        spec.timeout.count() > 0 ? started + spec.timeout : Clock::time_point::max();
    char buffer[65536];

    while (true) {
        auto now = Clock::now();
        if (!timed_out && now >= deadline) {
            timed_out = true;
            state->signalGroup(SIGTERM);
        }
        if ((timed_out || stop_requested || state->cancelled) && !kill_at) {
            kill_at = now + kKillGrace;
        }
        if (kill_at && now >= *kill_at) {
            state->signalGroup(SIGKILL);
        }
        if (!leader_exited) {
            siginfo_t info{};
            if (waitid(P_PID, pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == pid) {
                leader_exited = true;
                // Helpers the tool left behind would hold the pipes open and outlive the job.
                state->signalGroup(SIGKILL);
                drain_until = now + std::chrono::seconds(2);
            }
        }
        if (leader_exited && ((!out_open && !err_open) || now >= drain_until)) {
            break;
        }

        std::vector<pollfd> fds;
        if (out_open) {
            fds.push_back({out_read.get(), POLLIN, 0});
        }
        if (err_open) {
            fds.push_back({err_read.get(), POLLIN, 0});
        }
        if (in_write.get() >= 0) {
            fds.push_back({in_write.get(), POLLOUT, 0});
        }
        fds.push_back({wake_read.get(), POLLIN, 0});
        poll(fds.data(), fds.size(), 50);

        for (const pollfd& p : fds) {
            if (p.revents == 0) {
                continue;
            }
            if (p.fd == wake_read.get()) {
                while (read(wake_read.get(), buffer, sizeof buffer) > 0) {
                }
                continue;
            }
            if (p.fd == in_write.get()) {
                ssize_t n = write(in_write.get(), spec.stdin_data.data() + stdin_offset,
                                  spec.stdin_data.size() - stdin_offset);
                if (n > 0) {
                    stdin_offset += static_cast<size_t>(n);
                }
                if (n < 0 && errno != EAGAIN) {
                    in_write.reset();
                } else if (stdin_offset >= spec.stdin_data.size()) {
                    in_write.reset();
                }
                continue;
            }
            bool is_out = p.fd == out_read.get();
            ssize_t n = read(p.fd, buffer, sizeof buffer);
            if (n > 0) {
                std::string_view data(buffer, static_cast<size_t>(n));
                OutputStream stream = is_out ? OutputStream::Stdout : OutputStream::Stderr;
                appendCapped(is_out ? result.stdout_text : result.stderr_text, data);
                splitters[is_out ? 0 : 1].feed(data, emit_for(stream));
            } else if (n == 0 || errno != EAGAIN) {
                (is_out ? out_open : err_open) = false;
            }
        }
    }
    splitters[0].flush(emit_for(OutputStream::Stdout));
    splitters[1].flush(emit_for(OutputStream::Stderr));

    int status = 0;
    {
        std::lock_guard lock(state->mutex);
        waitpid(pid, &status, 0);
        state->reaped = true;
    }
    if (token_ != nullptr && callback_id != 0) {
        token_->removeCallback(callback_id);
    }
    result.duration = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
    if (WIFEXITED(status)) {
        result.exit_code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        result.term_signal = WTERMSIG(status);
    }

    if (exec_failed) {
        return notFound("cannot run " + program + ": " + std::strerror(exec_errno));
    }
    if (logger_) {
        logger_->info("{} finished: {}, duration_ms={}", program, describeStatus(result),
                      result.duration.count());
    }
    if (state->cancelled) {
        return Error{ErrorCode::Aborted, program + " was stopped because the job was aborted"};
    }
    result.stopped = stop_requested;
    if (timed_out && !stop_requested) {
        return toolFailure(program + " timed out after " +
                           std::to_string(spec.timeout.count() / 1000) + " s and was killed");
    }
    return result;
}

Result<ProcessResult> ProcessRunner::runChecked(const ProcessSpec& spec) const {
    Result<ProcessResult> result = run(spec);
    if (!result) {
        return result;
    }
    if (!result->succeeded()) {
        std::string name = spec.log_name.empty() ? spec.argv[0] : spec.log_name;
        std::string message = name + " failed (" + describeStatus(*result) + ")";
        std::string tail = lastLines(result->stderr_text, 5);
        if (tail.empty()) {
            tail = lastLines(result->stdout_text, 5);
        }
        if (!tail.empty()) {
            message += ": " + tail;
        }
        return toolFailure(message);
    }
    return result;
}

}  // namespace imagefactory
