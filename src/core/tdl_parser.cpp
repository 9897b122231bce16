#include <charconv>
#include <optional>

#include "core/tdl_reader.hpp"
#include "core/template.hpp"
#include "core/template_xml.hpp"
#include "core/text.hpp"

namespace imagefactory {
namespace {

using tdl_reader::optionalChild;
using tdl_reader::optionalText;
using tdl_reader::requiredText;
using tdl_reader::tdlError;

constexpr uint64_t kMiB = uint64_t{1} << 20;
constexpr uint64_t kGiB = uint64_t{1} << 30;
constexpr uint64_t kTiB = uint64_t{1} << 40;
constexpr uint64_t kMaxDiskBytes = 16 * kTiB;

Status parseVersion(const xmlNode* root, Tdl& tdl) {
    XmlAttribute version = xmlAttribute(root, "version");
    if (!version.present) {
        return okStatus();
    }
    tdl.version = std::string(trimWhitespace(version.value));

    // Oz 0.8 knows TDL version 1.0 only and rejects anything newer.
    double number = 0;
    auto [end, error] =
        std::from_chars(tdl.version.data(), tdl.version.data() + tdl.version.size(), number);
    if (error != std::errc() || end != tdl.version.data() + tdl.version.size()) {
        return tdlError("Invalid TDL version, expected a number such as 1.0", "/template/@version",
                        version.value);
    }
    if (number > 1.0) {
        return tdlError("TDL version (" + tdl.version + ") is higher than our known version (1.0)",
                        "/template/@version");
    }
    return okStatus();
}

Status parseInstall(const xmlNode* os, Tdl& tdl) {
    constexpr std::string_view kPath = "/template/os/install";
    std::vector<const xmlNode*> installs = tdl_reader::childElements(os, "install");
    if (installs.size() != 1) {
        return tdlError(
            "Expected 1 OS install section in TDL, saw " + std::to_string(installs.size()), kPath);
    }
    const xmlNode* install = installs.front();

    XmlAttribute type = xmlAttribute(install, "type");
    tdl.install_type = std::string(trimWhitespace(type.value));
    if (!type.present || tdl.install_type.empty()) {
        return tdlError("Failed to find OS install type in TDL", "/template/os/install/@type");
    }
    if (tdl.install_type != "url" && tdl.install_type != "iso") {
        return tdlError("Unknown install type " + tdl.install_type + " in TDL",
                        "/template/os/install/@type", type.value);
    }

    bool is_url = tdl.install_type == "url";
    std::string location_path = std::string(kPath) + (is_url ? "/url" : "/iso");
    Result<std::string> location =
        requiredText(install, is_url ? "url" : "iso", is_url ? "OS install URL" : "OS install ISO",
                     location_path);
    if (!location) {
        return location.error();
    }
    tdl.install_location = std::move(*location);

    if (is_url) {
        bool known_scheme = startsWithNoCase(tdl.install_location, "http://") ||
                            startsWithNoCase(tdl.install_location, "https://") ||
                            startsWithNoCase(tdl.install_location, "ftp://");
        if (!known_scheme) {
            return tdlError("OS install URL must start with http://, https:// or ftp://",
                            location_path, tdl.install_location);
        }
        if (tdl_reader::isLocalHost(tdl_reader::urlHost(tdl.install_location))) {
            return tdlError("Can not use localhost for an URL based install", location_path,
                            tdl.install_location);
        }
    }

    struct Checksum {
        const char* element;
        const char* component;
    };
    constexpr Checksum kChecksums[] = {
        {"md5sum", "OS install ISO MD5SUM"},
        {"sha1sum", "OS install ISO SHA1SUM"},
        {"sha256sum", "OS install ISO SHA256SUM"},
    };
    int checksum_count = 0;
    for (const Checksum& checksum : kChecksums) {
        std::string path = std::string(kPath) + "/" + checksum.element;
        Result<const xmlNode*> node =
            optionalChild(install, checksum.element, checksum.component, path);
        if (!node) {
            return node.error();
        }
        if (*node == nullptr) {
            continue;
        }
        if (++checksum_count > 1) {
            return tdlError("Only one of <md5sum>, <sha1sum>, and <sha256sum> can be specified",
                            kPath);
        }
        tdl.install_checksum_type = checksum.element;
        tdl.install_checksum = std::string(trimWhitespace(xmlText(*node)));
    }
    return okStatus();
}

Status parseOs(const xmlNode* root, Tdl& tdl) {
    Result<const xmlNode*> os = optionalChild(root, "os", "OS section", "/template/os");
    if (!os) {
        return os.error();
    }
    if (*os == nullptr) {
        return tdlError("Failed to find OS section in TDL", "/template/os is missing");
    }

    Result<std::string> name = requiredText(*os, "name", "OS name", "/template/os/name");
    if (!name) {
        return name.error();
    }
    tdl.os_name = std::move(*name);

    Result<std::string> version =
        requiredText(*os, "version", "OS version", "/template/os/version");
    if (!version) {
        return version.error();
    }
    tdl.os_version = std::move(*version);

    Result<std::string> arch = requiredText(*os, "arch", "OS architecture", "/template/os/arch");
    if (!arch) {
        return arch.error();
    }
    if (*arch != "i386" && *arch != "x86_64" && *arch != "aarch64") {
        return tdlError("Architecture must be one of 'i386', 'x86_64' or 'aarch64'",
                        "/template/os/arch", *arch);
    }
    tdl.os_arch = std::move(*arch);

    if (Status install = parseInstall(*os, tdl); !install) {
        return install;
    }

    // rootpw is a secret, so none of the messages below may quote its value.
    Result<const xmlNode*> rootpw =
        optionalChild(*os, "rootpw", "root/Administrator password", "/template/os/rootpw");
    if (!rootpw) {
        return rootpw.error();
    }
    if (*rootpw != nullptr) {
        tdl.rootpw = std::string(trimWhitespace(xmlText(*rootpw)));
    }

    Result<std::string> key = optionalText(*os, "key", "OS key", "/template/os/key");
    if (!key) {
        return key.error();
    }
    tdl.os_key = std::move(*key);

    Result<std::string> kernelparam =
        optionalText(*os, "kernelparam", "OS kernel parameters", "/template/os/kernelparam");
    if (!kernelparam) {
        return kernelparam.error();
    }
    tdl.kernelparam = std::move(*kernelparam);
    return okStatus();
}

// Parses a disk size: a whole number with an optional unit M, MB, G, GB, T or TB in any case
// (binary multiples, as qemu-img reads them). A bare number means GB, as in Oz.
std::optional<uint64_t> parseDiskSize(std::string_view text) {
    uint64_t number = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), number);
    if (error != std::errc() || end == text.data()) {
        return std::nullopt;
    }
    std::string_view unit = trimWhitespace(text.substr(end - text.data()));

    uint64_t multiplier = 0;
    if (unit.empty() || equalsNoCase(unit, "G") || equalsNoCase(unit, "GB")) {
        multiplier = kGiB;
    } else if (equalsNoCase(unit, "M") || equalsNoCase(unit, "MB")) {
        multiplier = kMiB;
    } else if (equalsNoCase(unit, "T") || equalsNoCase(unit, "TB")) {
        multiplier = kTiB;
    } else {
        return std::nullopt;
    }
    // Compare before multiplying so that a huge number cannot wrap around.
    if (number > kMaxDiskBytes / multiplier) {
        return kMaxDiskBytes + 1;
    }
    return number * multiplier;
}

Status parseDisk(const xmlNode* root, Tdl& tdl) {
    Result<const xmlNode*> disk = optionalChild(root, "disk", "disk section", "/template/disk");
    if (!disk) {
        return disk.error();
    }
    if (*disk == nullptr) {
        return okStatus();
    }
    constexpr std::string_view kPath = "/template/disk/size";
    Result<std::string> size = requiredText(*disk, "size", "disk size", kPath);
    if (!size) {
        return size.error();
    }

    std::optional<uint64_t> bytes = parseDiskSize(*size);
    if (!bytes) {
        return tdlError(
            "Invalid disk size, expected a whole number of GB or a number with the unit M, MB, "
            "G, GB, T or TB",
            kPath, *size);
    }
    if (*bytes == 0) {
        return tdlError("Disk size must be greater than zero", kPath, *size);
    }
    if (*bytes > kMaxDiskBytes) {
        return tdlError("Disk size must be at most 16 TB", kPath, *size);
    }
    tdl.disk_size_bytes = *bytes;
    return okStatus();
}

}  // namespace

Result<Tdl> parseTdl(std::string_view xml) {
    Result<XmlDocPtr> doc = readTemplateDocument(xml);
    if (!doc) {
        return doc.error();
    }
    const xmlNode* root = xmlDocGetRootElement(doc->get());

    Tdl tdl;
    if (Status status = parseVersion(root, tdl); !status) {
        return status.error();
    }

    Result<std::string> name = requiredText(root, "name", "template name", "/template/name");
    if (!name) {
        return name.error();
    }
    tdl.name = std::move(*name);

    Result<std::string> description =
        optionalText(root, "description", "description", "/template/description");
    if (!description) {
        return description.error();
    }
    tdl.description = std::move(*description);

    using Step = Status (*)(const xmlNode*, Tdl&);
    constexpr Step kSteps[] = {parseOs,
                               tdl_reader::parsePackages,
                               tdl_reader::parseRepositories,
                               tdl_reader::parseFiles,
                               tdl_reader::parseCommands,
                               parseDisk};
    for (Step step : kSteps) {
        if (Status status = step(root, tdl); !status) {
            return status.error();
        }
    }
    return tdl;
}

}  // namespace imagefactory
