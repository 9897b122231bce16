#include "daemon/qmf_daemon.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "amqp/agent_connection.hpp"
#include "amqp/broker_address.hpp"
#include "core/logging.hpp"
#include "core/uuid.hpp"
#include "factory/factory.hpp"
#include "qmf/agent.hpp"

namespace imagefactory {
namespace {

namespace fs = std::filesystem;

constexpr std::chrono::seconds kFinalEventsTimeout(3);

std::shared_ptr<spdlog::logger> log() {
    return componentLogger("daemon");
}

// Writes content to path through a temporary file in the same folder, so that readers see the
// old or the new content and never a part.
Status writeFileAtomically(const fs::path& path, const std::string& content, mode_t mode) {
    fs::path temporary = path;
    temporary += ".tmp." + std::to_string(getpid());
    int fd = open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) {
        return internalError("cannot create " + temporary.string() + ": " + std::strerror(errno));
    }
    size_t written = 0;
    while (written < content.size()) {
        ssize_t n = write(fd, content.data() + written, content.size() - written);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            int error = errno;
            close(fd);
            unlink(temporary.c_str());
            return internalError("cannot write " + temporary.string() + ": " +
                                 std::strerror(error));
        }
        written += static_cast<size_t>(n);
    }
    bool synced = fsync(fd) == 0;
    close(fd);
    if (!synced || rename(temporary.c_str(), path.c_str()) != 0) {
        int error = errno;
        unlink(temporary.c_str());
        return internalError("cannot replace " + path.string() + ": " + std::strerror(error));
    }
    return okStatus();
}

// The pid in a pid file, or 0 when the file is missing or contains no number.
pid_t readPidFile(const fs::path& path) {
    std::ifstream in(path);
    long pid = 0;
    if (!(in >> pid) || pid <= 0 || pid > INT32_MAX) {
        return 0;
    }
    return static_cast<pid_t>(pid);
}

bool processIsAlive(pid_t pid) {
    return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}

void removeOwnPidFile(const fs::path& path) {
    if (!path.empty() && readPidFile(path) == getpid()) {
        std::error_code ignored;
        fs::remove(path, ignored);
    }
}

// Waits for SIGTERM or SIGINT, which the caller has blocked, and returns its number.
int waitForStopSignal() {
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    while (true) {
        timespec timeout{1, 0};
        int signal_number = sigtimedwait(&signals, nullptr, &timeout);
        if (signal_number > 0) {
            return signal_number;
        }
    }
}

// Gives the connection a moment to send what the agent queued last (the ABORTED events of
// abortAll), so that consoles see the jobs end.
void flushEvents(qmf::Agent& agent, amqp::AgentConnection& connection) {
    auto deadline = std::chrono::steady_clock::now() + kFinalEventsTimeout;
    connection.wakeup();
    while (agent.pendingEvents() > 0 && connection.ready() &&
           std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        connection.wakeup();
    }
}

}  // namespace

Result<AgentIdentity> nextAgentIdentity(const fs::path& data_dir) {
    fs::path path = data_dir / "agent.json";
    AgentIdentity identity;
    std::error_code error;
    if (fs::exists(path, error)) {
        std::ifstream in(path);
        auto json = nlohmann::json::parse(in, nullptr, false);
        if (json.is_discarded() || !json.is_object() || !json.contains("instance") ||
            !json["instance"].is_string() || !isUuid(json["instance"].get<std::string>()) ||
            !json.contains("epoch") || !json["epoch"].is_number_unsigned()) {
            return userError(
                "invalid agent identity file " + path.string() +
                ": expected {\"instance\": UUID, \"epoch\": number}; fix or remove it");
        }
        identity.instance = json["instance"].get<std::string>();
        auto epoch = json["epoch"].get<uint64_t>();
        if (epoch >= UINT32_MAX) {
            return userError("agent epoch in " + path.string() + " has reached its maximum");
        }
        identity.epoch = static_cast<uint32_t>(epoch) + 1;
    } else {
        identity.instance = newUuid();
        identity.epoch = 1;
    }

    fs::create_directories(data_dir, error);
    nlohmann::json out = {{"instance", identity.instance}, {"epoch", identity.epoch}};
    Status written = writeFileAtomically(path, out.dump() + "\n", 0600);
    if (!written.ok()) {
        return written.error();
    }
    return identity;
}

int runQmfDaemon(const QmfDaemonOptions& options, Factory& factory) {
    auto broker = amqp::parseBrokerAddress(options.broker);
    if (!broker) {
        log()->error("{}", broker.error().message);
        return exitStatusFor(broker.error().code);
    }
    auto broker_type = amqp::parseBrokerType(options.broker_type);
    if (!broker_type) {
        log()->error("{}", broker_type.error().message);
        return exitStatusFor(broker_type.error().code);
    }
    if (options.heartbeat_interval_seconds == 0) {
        log()->error("invalid heartbeat interval 0: expected at least 1 second");
        return exitStatusFor(ErrorCode::UserInput);
    }
    auto identity = nextAgentIdentity(options.data_dir);
    if (!identity) {
        log()->error("{}", identity.error().message);
        return exitStatusFor(identity.error().code);
    }

    qmf::AgentOptions agent_options;
    agent_options.instance = identity->instance;
    agent_options.epoch = identity->epoch;
    agent_options.heartbeat_interval_seconds = options.heartbeat_interval_seconds;
    auto agent = std::make_shared<qmf::Agent>(factory, agent_options);
    factory.addObserver(agent);

    amqp::AgentHooks hooks;
    hooks.agent_name = agent->name();
    hooks.handle = [&agent = *agent](const qmf::Message& in, std::vector<qmf::Message>& out) {
        agent.handle(in, out);
    };
    hooks.heartbeat = [&agent = *agent] { return agent.heartbeat(); };
    hooks.take_events = [&agent = *agent](size_t max) { return agent.takeEvents(max); };

    amqp::AgentConnection connection(
        {*broker, *broker_type, std::chrono::seconds(options.heartbeat_interval_seconds)},
        std::move(hooks));
    agent->setEventWakeup([&connection] { connection.wakeup(); });
    log()->info("qmf agent {} epoch={} starting, broker={} broker_type={}", agent->name(),
                identity->epoch, broker->display(), options.broker_type);
    connection.start();

    int signal_number = waitForStopSignal();
    log()->info("received {}; aborting running jobs and stopping",
                signal_number == SIGTERM ? "SIGTERM" : "SIGINT");
    factory.abortAll();
    flushEvents(*agent, connection);
    // The agent stays registered with the factory, so its wake-up must not outlive the
    // connection.
    agent->setEventWakeup({});
    connection.stop();
    removeOwnPidFile(options.pid_file);
    log()->info("qmf agent {} stopped", agent->name());
    return 0;
}

Status daemonize(const fs::path& pid_file) {
    fs::path pid_path = pid_file.empty() ? fs::path() : fs::absolute(pid_file);
    if (!pid_path.empty()) {
        pid_t existing = readPidFile(pid_path);
        if (processIsAlive(existing)) {
            return Error{ErrorCode::InvalidState, "already running as pid " +
                                                      std::to_string(existing) + " (pid file " +
                                                      pid_path.string() + ")"};
        }
    }

    // The first child reports through this pipe whether the daemon is ready, so the original
    // process exits only after the pid file exists and with the right status.
    int ready[2];
    if (pipe2(ready, O_CLOEXEC) != 0) {
        return internalError(std::string("pipe failed: ") + std::strerror(errno));
    }
    pid_t child = fork();
    if (child < 0) {
        return internalError(std::string("fork failed: ") + std::strerror(errno));
    }
    if (child > 0) {
        close(ready[1]);
        std::string report;
        char buffer[256];
        ssize_t n;
        while ((n = read(ready[0], buffer, sizeof(buffer))) > 0 || (n < 0 && errno == EINTR)) {
            if (n > 0) {
                report.append(buffer, static_cast<size_t>(n));
            }
        }
        if (report == "ok") {
            _exit(0);
        }
        std::string message = report.empty() ? "the daemon process ended during start-up" : report;
        std::fprintf(stderr, "imagefactory: %s\n", message.c_str());
        _exit(1);
    }

    close(ready[0]);
    auto fail = [&](const std::string& message) {
        ssize_t ignored = write(ready[1], message.data(), message.size());
        (void)ignored;
        _exit(1);
    };
    if (setsid() < 0) {
        fail(std::string("setsid failed: ") + std::strerror(errno));
    }
    pid_t grandchild = fork();
    if (grandchild < 0) {
        fail(std::string("fork failed: ") + std::strerror(errno));
    }
    if (grandchild > 0) {
        _exit(0);
    }

    if (chdir("/") != 0) {
        fail(std::string("chdir / failed: ") + std::strerror(errno));
    }
    umask(077);
    if (!pid_path.empty()) {
        Status written = writeFileAtomically(pid_path, std::to_string(getpid()) + "\n", 0644);
        if (!written.ok()) {
            fail(written.error().message);
        }
    }
    int null_fd = open("/dev/null", O_RDWR);
    if (null_fd < 0) {
        fail(std::string("cannot open /dev/null: ") + std::strerror(errno));
    }
    dup2(null_fd, STDIN_FILENO);
    dup2(null_fd, STDOUT_FILENO);
    dup2(null_fd, STDERR_FILENO);
    if (null_fd > STDERR_FILENO) {
        close(null_fd);
    }
    ssize_t ignored = write(ready[1], "ok", 2);
    (void)ignored;
    close(ready[1]);
    return okStatus();
}

}  // namespace imagefactory
