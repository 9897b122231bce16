#pragma once

#include "daemon/settings.hpp"

namespace imagefactory {

// Runs one build, push or import from the command line, follows its jobs to the end and
// returns the exit status: 0 when every job COMPLETED, 1 when one FAILED, higher for errors of
// the call itself (see exitStatusFor).
int runOneShot(const Settings& settings);

}  // namespace imagefactory
