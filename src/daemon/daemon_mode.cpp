#include <signal.h>

#include <iostream>

#include "core/logging.hpp"
#include "daemon/qmf_daemon.hpp"
#include "daemon/runtime.hpp"

namespace imagefactory {

namespace {
constexpr const char* kDefaultPidFile = "/run/imagefactory.pid";
}

int runDaemon(const Settings& requested, spdlog::level::level_enum level) {
    // Blocked before any thread starts, so every thread inherits the mask and runQmfDaemon
    // takes the signals with sigtimedwait.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);

    Settings settings = requested;
    bool foreground = settings.foreground.value_or(false);
    // The daemon runs in /, so every path is made absolute first.
    settings.imgdir = std::filesystem::absolute(dataDirOf(settings)).string();
    std::filesystem::path pid_file;
    if (settings.pid_file) {
        pid_file = std::filesystem::absolute(*settings.pid_file);
    } else if (!foreground) {
        pid_file = kDefaultPidFile;
    }
    std::filesystem::path log_file;
    if (!foreground && settings.log_file) {
        log_file = std::filesystem::absolute(*settings.log_file);
    }

    if (!foreground) {
        Status detached = daemonize(pid_file);
        if (!detached.ok()) {
            std::cerr << "imagefactory: " << detached.error().message << "\n";
            return exitStatusFor(detached.error().code);
        }
    }
    configureLogging(level, log_file);

    auto runtime = Runtime::open(settings, /*template_files_allowed=*/false);
    if (!runtime) {
        componentLogger("daemon")->error("{}", runtime.error().message);
        if (foreground) {
            std::cerr << "imagefactory: " << runtime.error().message << "\n";
        }
        return exitStatusFor(runtime.error().code);
    }

    QmfDaemonOptions options;
    options.broker = settings.qpidd.value_or("localhost:5672");
    options.broker_type = settings.broker_type.value_or("auto");
    options.foreground = foreground;
    options.pid_file = pid_file;
    options.data_dir = *settings.imgdir;
    if (settings.heartbeat_interval) {
        if (*settings.heartbeat_interval < 1 || *settings.heartbeat_interval > 3600) {
            std::cerr << "imagefactory: invalid --heartbeat-interval "
                      << *settings.heartbeat_interval << ": expected 1 to 3600 seconds\n";
            return exitStatusFor(ErrorCode::UserInput);
        }
        options.heartbeat_interval_seconds = static_cast<uint32_t>(*settings.heartbeat_interval);
    }
    int status = runQmfDaemon(options, (*runtime)->factory());
    if (status != 0 && foreground) {
        std::cerr << "imagefactory: the QMF daemon failed; see the log above\n";
    }
    return status;
}

}  // namespace imagefactory
