#pragma once

#include <string>

#include "core/error.hpp"
#include "daemon/settings.hpp"

namespace imagefactory {

// Runs one build, push or import from the command line, follows its jobs to the end and
// returns the exit status: 0 when every job COMPLETED, 1 when one FAILED, higher for errors of
// the call itself (see exitStatusFor).
int runOneShot(const Settings& settings);

// Reads a --credentials argument: the <provider_credentials> XML itself, or the name of a
// regular file of at most 1 MiB holding it. Messages never quote the text, which is secret.
Result<std::string> readCredentials(const std::string& argument);

}  // namespace imagefactory
