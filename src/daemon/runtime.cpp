#include "daemon/runtime.hpp"

#include "build/image_targets.hpp"
#include "build/mock_target.hpp"
#include "core/logging.hpp"
#include "providers/condorcloud_driver.hpp"
#include "providers/libvirt_driver.hpp"
#include "providers/rhevm_export_driver.hpp"

namespace imagefactory {

Runtime::~Runtime() {
    // Jobs stop before the store they write to goes away.
    factory_.reset();
    store_.reset();
}

Result<std::unique_ptr<Runtime>> Runtime::open(const Settings& settings,
                                               bool template_files_allowed) {
    std::unique_ptr<Runtime> runtime(new Runtime());
    std::filesystem::path data_dir = dataDirOf(settings);

    auto store = openSqliteImageStore(data_dir);
    if (!store.ok()) {
        return store.error();
    }
    runtime->store_ = std::move(*store);

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
    ImageTargetOptions image_options;
    image_options.data_dir = runtime->store_->dataDir();
    image_options.boot_check = settings.boot_check.value_or(false);
    registerImageTargets(runtime->targets_, image_options);
    std::error_code ec;
    if (settings.providers_dir && !std::filesystem::is_directory(*settings.providers_dir, ec)) {
        return userError("providers folder " + *settings.providers_dir +
                         " does not exist or is not a folder (--providers-dir)");
    }
    auto catalog = ProviderCatalog::load(providersDirOf(settings));
    if (!catalog.ok()) {
        return catalog.error();
    }
    runtime->providers_.setCatalog(std::move(*catalog));
    runtime->providers_.add(std::make_shared<MockProviderDriver>(data_dir / "mock_providers"));
    runtime->providers_.add(std::make_shared<CondorCloudDriver>());
    runtime->providers_.add(std::make_shared<LibvirtDriver>());
    runtime->providers_.add(std::make_shared<RhevmExportDriver>());

    FactoryOptions options;
    options.max_concurrent_local_builds =
        static_cast<int>(settings.max_concurrent_local_sessions.value_or(2));
    options.max_concurrent_pushes =
        static_cast<int>(settings.max_concurrent_push_sessions.value_or(2));
    options.job_timeout_seconds = settings.timeout.value_or(0);
    options.template_files_allowed = template_files_allowed;
    runtime->factory_ = std::make_unique<Factory>(*runtime->store_, runtime->targets_,
                                                  runtime->providers_, options);
    return runtime;
}

}  // namespace imagefactory
