#include <iostream>

#include "daemon/runtime.hpp"

namespace imagefactory {

int runDaemon(const Settings&, spdlog::level::level_enum) {
    // TODO: wire the QMF agent and AMQP transport here once they are merged.
    std::cerr << "imagefactory: --qmf is not available in this build\n";
    return exitStatusFor(ErrorCode::Internal);
}

}  // namespace imagefactory
