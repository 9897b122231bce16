#pragma once

#include <string>
#include <string_view>

namespace imagefactory {

// A random (version 4) UUID in lowercase canonical text form.
std::string newUuid();

// True when text is exactly one UUID in canonical 8-4-4-4-12 form (either case).
bool isUuid(std::string_view text);

// The first lowercase canonical UUID inside text, or an empty string.
std::string findUuid(std::string_view text);

}  // namespace imagefactory
