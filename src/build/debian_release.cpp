#include "build/debian_release.hpp"

#include <array>
#include <nlohmann/json.hpp>

#include "build/digest.hpp"
#include "core/text.hpp"

namespace imagefactory {

namespace {

struct KnownRelease {
    std::string_view version;
    std::string_view codename;
};

constexpr std::array<KnownRelease, 3> kReleases{{
    {"11", "bullseye"},
    {"12", "bookworm"},
    {"13", "trixie"},
}};

bool isHttpUrl(std::string_view url) {
    return startsWithNoCase(url, "http://") || startsWithNoCase(url, "https://");
}

bool hasControlOrSpace(std::string_view text) {
    for (char c : text) {
        if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
            return true;
        }
    }
    return false;
}

}  // namespace

std::string buildableSystems() {
    return "Debian 11 (bullseye), 12 (bookworm) or 13 (trixie) on x86_64, installed from an "
           "http(s) mirror URL";
}

Result<DebianRelease> resolveDebianRelease(const Tdl& tdl) {
    if (!equalsNoCase(tdl.os_name, "Debian")) {
        return userError("cannot build OS " + quoteValue(tdl.os_name) + "; this factory builds " +
                         buildableSystems());
    }
    std::string_view version = tdl.os_version;
    DebianRelease release;
    for (const KnownRelease& known : kReleases) {
        if (version == known.version || equalsNoCase(version, known.codename)) {
            release = {std::string(known.version), std::string(known.codename)};
        }
    }
    if (release.codename.empty()) {
        return userError("cannot build Debian version " + quoteValue(tdl.os_version) +
                         "; this factory builds " + buildableSystems());
    }
    if (tdl.os_arch != "x86_64") {
        return userError("cannot build Debian for architecture " + quoteValue(tdl.os_arch) +
                         "; this factory builds " + buildableSystems());
    }
    if (tdl.install_type != "url") {
        return userError("cannot build Debian from install type " + quoteValue(tdl.install_type) +
                         "; Debian images are built from a mirror given as <install type='url'>");
    }
    if (!isHttpUrl(tdl.install_location) || hasControlOrSpace(tdl.install_location)) {
        return userError("install URL " + quoteValue(tdl.install_location) +
                         " is not an http(s) URL of a Debian mirror");
    }
    return release;
}

Result<std::string> aptSourceLine(const TdlRepository& repository, const DebianRelease& release) {
    std::string_view text = trimWhitespace(repository.url);
    for (char c : text) {
        if (c == '\n' || c == '\r' || c == '[' || c == ']' || c == '#') {
            return userError("repository " + quoteValue(repository.name) + " has URL " +
                             quoteValue(repository.url) +
                             ", which is not an apt URL or \"URL suite component...\" line");
        }
    }
    std::string url(text.substr(0, text.find(' ')));
    if (!isHttpUrl(url)) {
        return userError("repository " + quoteValue(repository.name) + " has URL " +
                         quoteValue(repository.url) + ", which is not an http(s) URL");
    }
    std::string rest = text.find(' ') == std::string_view::npos
                           ? release.codename + " main"
                           : std::string(trimWhitespace(text.substr(text.find(' '))));
    // TODO: fetch and install a key for signed repositories; until then they must be signed by
    // a key the Debian archive keyring already holds.
    std::string options = repository.is_signed ? "" : "[trusted=yes] ";
    return "deb " + options + url + " " + rest;
}

std::string canonicalTemplateText(const Tdl& tdl, const DebianRelease& release,
                                  std::string_view mirror, uint64_t disk_bytes) {
    nlohmann::ordered_json doc;
    doc["os"] = "debian";
    doc["codename"] = release.codename;
    doc["arch"] = tdl.os_arch;
    doc["mirror"] = mirror;
    doc["disk_bytes"] = disk_bytes;
    doc["kernelparam"] = tdl.kernelparam;
    doc["rootpw"] = sha256Hex(tdl.rootpw);
    std::vector<std::string> packages;
    for (const TdlPackage& package : tdl.packages) {
        packages.push_back(package.name);
    }
    std::sort(packages.begin(), packages.end());
    packages.erase(std::unique(packages.begin(), packages.end()), packages.end());
    doc["packages"] = packages;
    nlohmann::ordered_json repositories = nlohmann::ordered_json::array();
    for (const TdlRepository& repository : tdl.repositories) {
        repositories.push_back({repository.name, repository.url, repository.is_signed});
    }
    doc["repositories"] = repositories;
    nlohmann::ordered_json files = nlohmann::ordered_json::array();
    for (const TdlFile& file : tdl.files) {
        files.push_back({file.name, sha256Hex(file.content)});
    }
    doc["files"] = files;
    nlohmann::ordered_json commands = nlohmann::ordered_json::array();
    for (const TdlCommand& command : tdl.commands) {
        commands.push_back({command.name, command.position, sha256Hex(command.content)});
    }
    doc["commands"] = commands;
    // Contents enter as digests, so only names can hold bytes that are not UTF-8.
    return doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace imagefactory
