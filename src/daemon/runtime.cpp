#include "daemon/runtime.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstring>

#include "build/mock_target.hpp"
#include "core/logging.hpp"

namespace imagefactory {

Runtime::~Runtime() {
    // Jobs stop before the store they write to goes away.
    factory_.reset();
    store_.reset();
    if (lock_fd_ >= 0) {
        close(lock_fd_);
    }
}

Result<std::unique_ptr<Runtime>> Runtime::open(const Settings& settings) {
    std::unique_ptr<Runtime> runtime(new Runtime());
    std::filesystem::path data_dir = dataDirOf(settings);

    auto store = openSqliteImageStore(data_dir);
    if (!store.ok()) {
        return store.error();
    }
    runtime->store_ = std::move(*store);

    std::string lock_path = (data_dir / "lock").string();
    runtime->lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (runtime->lock_fd_ < 0) {
        return Error{ErrorCode::Internal,
                     "cannot open lock file " + lock_path + ": " + std::strerror(errno)};
    }
    if (flock(runtime->lock_fd_, LOCK_EX | LOCK_NB) != 0) {
        return Error{ErrorCode::InvalidState,
                     "data directory " + data_dir.string() +
                         " is in use by another imagefactory process; stop it or choose "
                         "another --imgdir"};
    }

    auto interrupted =
        runtime->store_->failInterruptedJobs("the process running the job stopped before it ended");
    if (!interrupted.ok()) {
        return interrupted.error();
    }
    if (*interrupted > 0) {
        componentLogger("daemon")->warn("marked {} unfinished jobs of an earlier run as FAILED",
                                        *interrupted);
    }

    runtime->targets_.add(std::make_shared<MockTarget>());
    runtime->providers_.add(std::make_shared<MockProviderDriver>(data_dir / "mock_providers"));

    FactoryOptions options;
    options.max_concurrent_local_builds =
        static_cast<int>(settings.max_concurrent_local_sessions.value_or(2));
    options.max_concurrent_pushes =
        static_cast<int>(settings.max_concurrent_push_sessions.value_or(2));
    runtime->factory_ = std::make_unique<Factory>(*runtime->store_, runtime->targets_,
                                                  runtime->providers_, options);
    return runtime;
}

}  // namespace imagefactory
