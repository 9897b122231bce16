#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "core/error.hpp"

namespace imagefactory {

class Factory;

struct QmfDaemonOptions {
    std::string broker = "localhost:5672";  // host, host:port or amqp://[user:pass@]host[:port]
    std::string broker_type = "auto";       // auto, qpidd or rabbitmq
    bool foreground = false;
    std::filesystem::path pid_file;  // removed at exit when set; absolute when daemonized
    std::filesystem::path data_dir;  // holds agent.json (instance UUID and epoch)
    uint32_t heartbeat_interval_seconds = 10;
};

// The agent's identity, kept across restarts in data_dir/agent.json.
struct AgentIdentity {
    std::string instance;  // UUID, made at the first start
    uint32_t epoch = 1;    // one more at every start
};

// Reads data_dir/agent.json, increases the epoch (or creates the file with a new UUID and epoch
// 1) and writes it back atomically (temporary file, fsync, rename). A file that is not valid is
// an error naming it, so that a corrupt identity is never silently replaced.
Result<AgentIdentity> nextAgentIdentity(const std::filesystem::path& data_dir);

// Runs the QMF2 agent on the broker until SIGTERM or SIGINT, which the caller must have blocked
// in every thread (pthread_sigmask before any thread starts); they are taken with sigtimedwait
// on the calling thread. On a signal: aborts every job (recorded as aborted), sends the last
// events, closes the connection, removes the pid file and returns 0. Returns a non-zero exit
// status when the options or the identity file are invalid.
int runQmfDaemon(const QmfDaemonOptions& options, Factory& factory);

// Detaches from the terminal: double fork, setsid, chdir /, umask 077, standard streams to
// /dev/null, and the pid file (when given) written atomically. Returns in the daemon process
// only; the original process exits 0 once the pid file is written, or prints the error and
// exits 1. Fails without forking when the pid file names a live process. Relative paths the
// caller uses later must be made absolute before, because the daemon runs in /.
Status daemonize(const std::filesystem::path& pid_file);

}  // namespace imagefactory
