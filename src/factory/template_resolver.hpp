#pragma once

#include <string>

#include "core/error.hpp"

namespace imagefactory {

class ImageStore;

// A template ready to build: its text and the id it has (or gets) in the store.
struct ResolvedTemplate {
    std::string id;   // empty when the template is not stored yet
    std::string xml;  // passed checkTemplateXml()
};

// Turns a template argument (XML, URL, UUID of a stored template or target image, or a file
// path, when files_allowed) into template text, checked for safety. Errors name the argument.
Result<ResolvedTemplate> resolveTemplate(ImageStore& store, const std::string& argument,
                                         long fetch_timeout_seconds, bool files_allowed = true);

}  // namespace imagefactory
