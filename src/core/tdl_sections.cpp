// The list sections of a TDL: packages, repositories, files and commands.

#include <algorithm>
#include <charconv>
#include <climits>

#include "core/base64.hpp"
#include "core/tdl_reader.hpp"
#include "core/template_xml.hpp"
#include "core/text.hpp"

namespace imagefactory::tdl_reader {
namespace {

// Every item element under every section element, e.g. all <package> of all <packages>,
// since Oz collects them with an XPath over the whole document.
std::vector<const xmlNode*> sectionItems(const xmlNode* root, const char* section,
                                         const char* item) {
    std::vector<const xmlNode*> items;
    for (const xmlNode* node : childElements(root, section)) {
        std::vector<const xmlNode*> found = childElements(node, item);
        items.insert(items.end(), found.begin(), found.end());
    }
    return items;
}

// The path of a named item for messages, e.g. /template/files/file[@name="/etc/motd"].
std::string itemPath(const char* section, const char* item, std::string_view name) {
    return "/template/" + std::string(section) + "/" + item + "[@name=" + quoteValue(name) + "]";
}

// Replaces the entry with the same name, or appends; Oz keeps these in a dict.
template <typename T>
void putByName(std::vector<T>& entries, T entry) {
    auto same_name = [&](const T& existing) { return existing.name == entry.name; };
    auto found = std::find_if(entries.begin(), entries.end(), same_name);
    if (found != entries.end()) {
        *found = std::move(entry);
    } else {
        entries.push_back(std::move(entry));
    }
}

// Reads the content of a <file> or <command>: raw text as written, or decoded base64.
Result<std::string> readContent(const xmlNode* node, const std::string& type,
                                const std::string& path, const char* kind,
                                const std::string& name) {
    std::string text = xmlText(node);
    if (type == "raw") {
        return text;
    }
    Result<std::string> decoded = decodeBase64(text);
    if (!decoded) {
        return tdlError("Invalid base64 content in " + std::string(kind) + " " + quoteValue(name) +
                            ": " + decoded.error().message,
                        path);
    }
    return std::move(*decoded);
}

// Reads the type attribute of a <file> or <command>: raw (the default) or base64.
Result<std::string> readContentType(const xmlNode* node, const std::string& path,
                                    const std::string& name) {
    XmlAttribute type = xmlAttribute(node, "type");
    if (!type.present) {
        return std::string("raw");
    }
    std::string value(trimWhitespace(type.value));
    if (value != "raw" && value != "base64") {
        // Oz uses this text for commands as well.
        return tdlError("File type for " + name + " must be 'raw' or 'base64'", path + "/@type",
                        type.value);
    }
    return value;
}

Status checkFileName(const std::string& name, const std::string& path) {
    if (name.find('\0') != std::string::npos) {
        return tdlError("File name must not contain a NUL character", path, name);
    }
    if (name.empty() || name.front() != '/') {
        return tdlError("File name must be an absolute path inside the image", path, name);
    }
    if (name.back() == '/') {
        return tdlError("File name must name a file, not a directory", path, name);
    }
    size_t start = 0;
    while (start <= name.size()) {
        size_t end = std::min(name.find('/', start), name.size());
        if (name.compare(start, end - start, "..") == 0) {
            return tdlError("File name must not contain a '..' component", path, name);
        }
        start = end + 1;
    }
    return okStatus();
}

}  // namespace

Status parsePackages(const xmlNode* root, Tdl& tdl) {
    for (const xmlNode* node : sectionItems(root, "packages", "package")) {
        TdlPackage package;
        package.name = std::string(trimWhitespace(xmlAttribute(node, "name").value));
        if (package.name.empty()) {
            return tdlError(
                "Package without a name was given",
                "/template/packages/package at line " + std::to_string(xmlGetLineNo(node)));
        }
        std::string path = itemPath("packages", "package", package.name);

        struct Field {
            const char* element;
            const char* component;
            std::string TdlPackage::*member;
        };
        const Field fields[] = {
            {"repository", "package repository section", &TdlPackage::repository},
            {"file", "package filename", &TdlPackage::file},
            {"arguments", "package arguments", &TdlPackage::arguments},
        };
        for (const Field& field : fields) {
            Result<std::string> text =
                optionalText(node, field.element, field.component, path + "/" + field.element);
            if (!text) {
                return text.error();
            }
            package.*field.member = std::move(*text);
        }
        tdl.packages.push_back(std::move(package));
    }
    return okStatus();
}

Status parseRepositories(const xmlNode* root, Tdl& tdl) {
    for (const xmlNode* node : sectionItems(root, "repositories", "repository")) {
        TdlRepository repository;
        repository.name = std::string(trimWhitespace(xmlAttribute(node, "name").value));
        if (repository.name.empty()) {
            return tdlError(
                "Repository without a name was given",
                "/template/repositories/repository at line " + std::to_string(xmlGetLineNo(node)));
        }
        std::string path = itemPath("repositories", "repository", repository.name);

        Result<std::string> url = requiredText(node, "url", "repository url", path + "/url");
        if (!url) {
            return url.error();
        }
        repository.url = std::move(*url);
        if (isLocalHost(urlHost(repository.url))) {
            return tdlError(
                "Repositories cannot be localhost, since they must be reachable from the guest "
                "operating system",
                path + "/url", repository.url);
        }

        struct Flag {
            const char* element;
            bool TdlRepository::*member;
        };
        const Flag flags[] = {
            {"signed", &TdlRepository::is_signed},
            {"persisted", &TdlRepository::persisted},
            {"sslverify", &TdlRepository::sslverify},
        };
        for (const Flag& flag : flags) {
            std::string flag_path = path + "/" + flag.element;
            Result<std::string> text = optionalText(
                node, flag.element, "repository " + std::string(flag.element), flag_path);
            if (!text) {
                return text.error();
            }
            if (text->empty()) {
                continue;  // absent: keep the default
            }
            std::optional<bool> value = parseBoolean(*text);
            if (!value) {
                return tdlError("Repository " + std::string(flag.element) +
                                    " property must be 'true', 'yes', 'false', or 'no'",
                                flag_path, *text);
            }
            repository.*flag.member = *value;
        }

        // Certificates and keys are PEM text; the key is a secret and is never quoted.
        struct Pem {
            const char* element;
            std::string TdlRepository::*member;
        };
        const Pem pems[] = {
            {"clientcert", &TdlRepository::clientcert},
            {"clientkey", &TdlRepository::clientkey},
            {"cacert", &TdlRepository::cacert},
        };
        for (const Pem& pem : pems) {
            Result<std::string> text =
                optionalText(node, pem.element, "repository " + std::string(pem.element),
                             path + "/" + pem.element);
            if (!text) {
                return text.error();
            }
            repository.*pem.member = std::move(*text);
        }
        if (!repository.clientkey.empty() && repository.clientcert.empty()) {
            return tdlError("You cannot specify a clientkey without a clientcert", path);
        }
        if (repository.sslverify && repository.cacert.empty()) {
            return tdlError("If sslverify is true you must also provide a ca cert", path);
        }
        putByName(tdl.repositories, std::move(repository));
    }
    return okStatus();
}

Status parseFiles(const xmlNode* root, Tdl& tdl) {
    for (const xmlNode* node : sectionItems(root, "files", "file")) {
        XmlAttribute name = xmlAttribute(node, "name");
        if (!name.present || trimWhitespace(name.value).empty()) {
            return tdlError("File without a name was given",
                            "/template/files/file at line " + std::to_string(xmlGetLineNo(node)));
        }

        TdlFile file;
        file.name = name.value;
        std::string path = itemPath("files", "file", file.name);
        if (Status status = checkFileName(file.name, path + "/@name"); !status) {
            return status;
        }

        Result<std::string> type = readContentType(node, path, file.name);
        if (!type) {
            return type.error();
        }
        file.type = std::move(*type);

        Result<std::string> content = readContent(node, file.type, path, "file", file.name);
        if (!content) {
            return content.error();
        }
        file.content = std::move(*content);
        putByName(tdl.files, std::move(file));
    }
    return okStatus();
}

Status parseCommands(const xmlNode* root, Tdl& tdl) {
    for (const xmlNode* node : sectionItems(root, "commands", "command")) {
        TdlCommand command;
        command.name = std::string(trimWhitespace(xmlAttribute(node, "name").value));
        if (command.name.empty()) {
            return tdlError(
                "Command without a name was given",
                "/template/commands/command at line " + std::to_string(xmlGetLineNo(node)));
        }
        std::string path = itemPath("commands", "command", command.name);

        Result<std::string> type = readContentType(node, path, command.name);
        if (!type) {
            return type.error();
        }
        command.type = std::move(*type);

        XmlAttribute position = xmlAttribute(node, "position");
        if (position.present) {
            std::string_view text = trimWhitespace(position.value);
            auto [end, error] =
                std::from_chars(text.data(), text.data() + text.size(), command.position);
            if (error != std::errc() || end != text.data() + text.size() || text.empty() ||
                command.position < 0) {
                return tdlError(
                    "Command position must be a whole number from 0 to " + std::to_string(INT_MAX),
                    path + "/@position", position.value);
            }
        }

        Result<std::string> content =
            readContent(node, command.type, path, "command", command.name);
        if (!content) {
            return content.error();
        }
        command.content = std::move(*content);
        putByName(tdl.commands, std::move(command));
    }
    return okStatus();
}

}  // namespace imagefactory::tdl_reader
