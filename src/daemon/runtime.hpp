#pragma once

#include <spdlog/common.h>

#include <memory>

#include "build/provider.hpp"
#include "build/target.hpp"
#include "core/error.hpp"
#include "daemon/settings.hpp"
#include "factory/factory.hpp"
#include "store/image_store.hpp"

namespace imagefactory {

// The parts of a running Image Factory, wired together: the store, the plug-in registries and
// the factory service. While it exists, the store holds the data directory's lock, so two
// processes never run jobs on one store.
class Runtime {
  public:
    ~Runtime();

    ImageStore& store() { return *store_; }
    Factory& factory() { return *factory_; }

    // Opens the store under the data directory, takes its lock, marks jobs that an earlier
    // process left unfinished as FAILED, and registers every target and provider.
    // template_files_allowed: whether template arguments may name files here (see
    // FactoryOptions); the bus daemon passes false.
    static Result<std::unique_ptr<Runtime>> open(const Settings& settings,
                                                 bool template_files_allowed = true);

  private:
    Runtime() = default;

    std::unique_ptr<ImageStore> store_;
    TargetRegistry targets_;
    ProviderRegistry providers_;
    std::unique_ptr<Factory> factory_;
};

// Runs the QMF2 agent daemon until SIGTERM or SIGINT; returns the exit status.
int runDaemon(const Settings& settings, spdlog::level::level_enum level);

}  // namespace imagefactory
