#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace imagefactory {

// Hard limits on a template document before any parsing.
inline constexpr size_t kMaxTemplateBytes = 1 << 20;
inline constexpr int kMaxTemplateDepth = 32;

// The forms a template argument may take, tried in this order (as the original did, except
// that attributes on <template> are allowed).
enum class TemplateForm {
    Xml,   // the text contains a <template ...> element
    Url,   // http:// or https://
    Uuid,  // a stored template, or a target image whose template is used
    Path,  // an existing file holding template XML
};

std::string_view templateFormName(TemplateForm form);

// Decides which form arg has. An argument that fits none gets a UserInput error naming the
// value and listing the accepted forms. Path is chosen only when the file exists.
Result<TemplateForm> classifyTemplateArgument(std::string_view arg);

struct TdlPackage {
    std::string name;
    std::string repository;
    std::string file;
    std::string arguments;
};

struct TdlRepository {
    std::string name;
    std::string url;
    bool is_signed = false;
    bool persisted = true;
    bool sslverify = false;
    std::string clientcert;
    std::string clientkey;
    std::string cacert;
};

// A file to write into the image. content is already decoded when type was base64.
struct TdlFile {
    std::string name;  // absolute path inside the image, without ".." parts
    std::string type;  // "raw" or "base64" as written in the template
    std::string content;
};

// A command to run inside the image, in document order. content is decoded as for TdlFile.
struct TdlCommand {
    std::string name;
    std::string type;
    std::string content;
    int position = 0;  // the optional position attribute, 0 when absent
};

// A validated TDL document (Oz's Template Description Language).
struct Tdl {
    std::string version;  // the version attribute of <template>, may be empty
    std::string name;
    std::string description;
    std::string os_name;
    std::string os_version;
    std::string os_arch;                // i386, x86_64 or aarch64
    std::string install_type;           // url or iso
    std::string install_location;       // the url or iso element's text
    std::string install_checksum_type;  // md5sum, sha1sum, sha256sum, or empty when absent
    std::string install_checksum;       // that element's text: the URL of a checksum file
    std::string rootpw;  // empty when absent (the root login stays locked); whitespace trimmed
    std::string os_key;
    std::string kernelparam;
    std::optional<uint64_t> disk_size_bytes;  // a bare number in <disk><size> means GB
    std::vector<TdlPackage> packages;
    std::vector<TdlRepository> repositories;
    std::vector<TdlFile> files;
    std::vector<TdlCommand> commands;
};

// Checks that xml is small enough, well formed, free of DOCTYPE and entities, not nested past
// kMaxTemplateDepth, and has <template> as its root. This is all the mock target asks for.
Status checkTemplateXml(std::string_view xml);

// Parses and validates xml by Oz's TDL rules. Every error is UserInput and names the element
// and the offending value, except that a root password or client key is never repeated.
// Unknown elements are ignored, as Oz does. Repositories and files are keyed by name and a
// later entry replaces an earlier one in place; commands likewise. Scalar texts are trimmed of
// surrounding whitespace; file and command contents are kept as written (then decoded).
Result<Tdl> parseTdl(std::string_view xml);

// The text of /template/name, or empty when absent or when xml does not parse.
std::string templateName(std::string_view xml);

}  // namespace imagefactory
