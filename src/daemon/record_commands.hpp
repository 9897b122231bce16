#pragma once

#include "daemon/settings.hpp"

namespace imagefactory {

// Runs `images`, `show ID` or `log ID` against the store and returns the exit status. These
// only read, so they work while a daemon runs on the same data directory.
int runRecordCommand(const Settings& settings);

}  // namespace imagefactory
