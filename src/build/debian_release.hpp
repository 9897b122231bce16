#pragma once

#include <string>
#include <string_view>

#include "core/error.hpp"
#include "core/template.hpp"

namespace imagefactory {

// A Debian release the image builder can make, from the template's os/version.
struct DebianRelease {
    std::string version;   // "11", "12" or "13"
    std::string codename;  // "bullseye", "bookworm" or "trixie"
};

// What the image builder can make, for error messages.
std::string buildableSystems();

// Checks that tdl names an OS, version and architecture the image builder supports, installed
// from an http(s) mirror URL. UserInput otherwise, naming the value and listing what can be
// built.
Result<DebianRelease> resolveDebianRelease(const Tdl& tdl);

// An apt sources line for a template repository. url is either a bare URL, taken as
// "URL <codename> main", or a full "URL suite component..." line. Unsigned repositories are
// marked trusted because the template gives no key for them.
Result<std::string> aptSourceLine(const TdlRepository& repository, const DebianRelease& release);

// The canonical text of every template field that changes the base image, in a fixed order, so
// that equal templates give equal text whatever their XML layout.
std::string canonicalTemplateText(const Tdl& tdl, const DebianRelease& release,
                                  std::string_view mirror, uint64_t disk_bytes);

}  // namespace imagefactory
