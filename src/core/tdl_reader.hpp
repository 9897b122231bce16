#pragma once

#include <libxml/tree.h>

#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/template.hpp"

// Helpers shared by the TDL parser's source files. Not part of the public template API.
namespace imagefactory::tdl_reader {

// message followed by the element path, e.g. "... (/template/os/arch)".
Error tdlError(std::string message, std::string_view path);

// message followed by the element path and its offending value, quoted and cut to a
// readable length, e.g. "... (/template/os/arch is \"sparc\")".
Error tdlError(std::string message, std::string_view path, std::string_view value);

// The element children of parent called name, in document order.
std::vector<const xmlNode*> childElements(const xmlNode* parent, const char* name);

// Oz's rule for a single-valued element: nullptr when absent, the element when there is one,
// and "Expected 0 or 1 <component> in TDL, saw <n>" when there are more. The message lists the
// lines of the duplicates, never their values, since some of them are secrets.
Result<const xmlNode*> optionalChild(const xmlNode* parent, const char* name,
                                     std::string_view component, std::string_view path);

// The trimmed text of the optional single element, or empty when it is absent.
Result<std::string> optionalText(const xmlNode* parent, const char* name,
                                 std::string_view component, std::string_view path);

// As optionalText, but an absent or empty element gets "Failed to find <component> in TDL".
Result<std::string> requiredText(const xmlNode* parent, const char* name,
                                 std::string_view component, std::string_view path);

// Oz's booleans: true, yes, false, no in any case. Anything else is nullopt.
std::optional<bool> parseBoolean(std::string_view text);

// The lower-cased host part of url ("" when it has none), without user info, port or IPv6
// brackets.
std::string urlHost(std::string_view url);

// True for the host names Oz rejects because a guest cannot reach the build host through
// them, plus the IPv6 loopback address.
bool isLocalHost(std::string_view host);

Status parsePackages(const xmlNode* root, Tdl& tdl);
Status parseRepositories(const xmlNode* root, Tdl& tdl);
Status parseFiles(const xmlNode* root, Tdl& tdl);
Status parseCommands(const xmlNode* root, Tdl& tdl);

}  // namespace imagefactory::tdl_reader
