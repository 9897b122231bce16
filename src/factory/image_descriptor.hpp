#pragma once

#include <string>
#include <string_view>

#include "core/error.hpp"

namespace imagefactory {

// Checks an import's image descriptor: a small, well-formed XML document with root <image>
// and no DOCTYPE, parsed with network and entity loading off.
Status checkImageDescriptor(std::string_view xml);

// The text of /image/name, or empty.
std::string imageDescriptorName(std::string_view xml);

}  // namespace imagefactory
