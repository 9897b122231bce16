#include <cctype>
#include <fstream>
#include <sstream>

#include "build/provider.hpp"
#include "core/template.hpp"
#include "core/template_xml.hpp"
#include "core/text.hpp"

namespace imagefactory {

namespace {

constexpr size_t kMaxNameLength = 128;
// A definition file holds a few definitions of a few hundred bytes each.
constexpr uintmax_t kMaxDefinitionFileBytes = 16 * 1024 * 1024;

// Provider and target names end up in file names, target identifiers and log lines: keep them
// to letters, digits and . _ - and not starting with a dot.
bool plainName(std::string_view name) {
    if (name.empty() || name.size() > kMaxNameLength || name.front() == '.') {
        return false;
    }
    for (char c : name) {
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') {
            return false;
        }
    }
    return true;
}

// Builds a definition from a JSON object. where names the object in messages. Values are not
// quoted: a definition may hold a password.
Result<ProviderDefinition> definitionFromJson(const nlohmann::json& object,
                                              const std::string& where,
                                              const std::string& fixed_target,
                                              const std::string& default_name) {
    if (!object.is_object()) {
        return userError(where + " must be a JSON object");
    }
    ProviderDefinition definition;
    definition.target = fixed_target;
    if (definition.target.empty()) {
        auto target = object.find("target");
        if (target == object.end() || !target->is_string()) {
            return userError(where + " has no \"target\" string naming the target it takes");
        }
        definition.target = target->get<std::string>();
    }
    definition.name = default_name;
    if (auto name = object.find("name"); name != object.end() && default_name.empty()) {
        if (!name->is_string()) {
            return userError(where + ": \"name\" must be a string");
        }
        definition.name = name->get<std::string>();
    }
    if (definition.name.empty()) {
        definition.name = definition.target;
    }
    if (!plainName(definition.target)) {
        return userError(where + ": target " + quoteValue(definition.target) +
                         " is not a plain name (letters, digits, '.', '_', '-')");
    }
    if (!plainName(definition.name)) {
        return userError(where + ": provider name " + quoteValue(definition.name) +
                         " is not a plain name (letters, digits, '.', '_', '-')");
    }
    definition.settings = nlohmann::json::object();
    for (const auto& [key, value] : object.items()) {
        if (key != "target" && key != "name") {
            definition.settings[key] = value;
        }
    }
    return definition;
}

// Parses JSON text without letting the parser's message quote it: nlohmann's errors show the
// last token read, which may be part of a password.
Result<nlohmann::json> parseJsonQuietly(const std::string& text, const std::string& where) {
    try {
        return nlohmann::json::parse(text);
    } catch (const nlohmann::json::parse_error& e) {
        return userError(where + " is not valid JSON (error at byte " + std::to_string(e.byte) +
                         ")");
    }
}

// An XML attribute value as JSON: whole integers and true/false keep their type, so that
// <provider memory_mib="2048"/> means the same as {"memory_mib": 2048}. Only the canonical
// spelling of an integer converts, so that pool="007" stays the string "007" instead of
// naming pool "7".
nlohmann::json attributeValue(const std::string& text) {
    if (text == "true" || text == "false") {
        return text == "true";
    }
    if (!text.empty() && text.size() < 18 &&
        text.find_first_not_of("0123456789", text[0] == '-' ? 1 : 0) == std::string::npos &&
        text != "-") {
        long long number = std::stoll(text);
        if (std::to_string(number) == text) {
            return number;
        }
    }
    return text;
}

Result<ProviderDefinition> definitionFromXml(const std::string& argument) {
    auto doc = readXmlDocument(argument, {"provider definition", nullptr, false});
    if (!doc.ok()) {
        return doc.error();
    }
    const xmlNode* root = xmlDocGetRootElement(doc->get());
    nlohmann::json object = nlohmann::json::object();
    for (const xmlAttr* attribute = root->properties; attribute; attribute = attribute->next) {
        std::string key = reinterpret_cast<const char*>(attribute->name);
        std::string value = xmlAttribute(root, key.c_str()).value;
        // The provider's name and target are names, even when they are all digits.
        object[key] =
            key == "name" || key == "target" ? nlohmann::json(value) : attributeValue(value);
    }
    return definitionFromJson(object, "inline XML provider definition", "", "");
}

bool isEc2Provider(std::string_view argument) {
    constexpr std::string_view prefix = "ec2-";
    if (argument.substr(0, prefix.size()) != prefix || argument.size() == prefix.size()) {
        return false;
    }
    for (char c : argument.substr(prefix.size())) {
        if (!std::islower(static_cast<unsigned char>(c)) &&
            !std::isdigit(static_cast<unsigned char>(c)) && c != '-') {
            return false;
        }
    }
    return plainName(argument);
}

}  // namespace

Result<ProviderCatalog> ProviderCatalog::load(const std::filesystem::path& folder) {
    struct File {
        const char* name;
        const char* target;  // empty: each entry names its own
    };
    ProviderCatalog catalog;
    for (const File& file : {File{"providers.json", ""}, File{"rhevm.json", "rhevm"},
                             File{"vsphere.json", "vsphere"}}) {
        const std::filesystem::path path = folder / file.name;
        std::error_code ec;
        if (!std::filesystem::exists(std::filesystem::symlink_status(path, ec))) {
            continue;
        }
        // A directory, FIFO or device (a link to /dev/zero, say) would make the read below
        // fail, block or never end, so only a regular file of bounded size is read.
        std::filesystem::file_status status = std::filesystem::status(path, ec);
        if (ec) {
            return userError("cannot read provider definitions " + path.string() + ": " +
                             ec.message());
        }
        if (!std::filesystem::is_regular_file(status)) {
            return userError("provider definitions " + path.string() + " is not a regular file");
        }
        uintmax_t size = std::filesystem::file_size(path, ec);
        if (ec || size > kMaxDefinitionFileBytes) {
            return userError("provider definitions " + path.string() + " is larger than " +
                             std::to_string(kMaxDefinitionFileBytes / (1024 * 1024)) + " MiB");
        }
        std::ifstream in(path, std::ios::binary);
        std::ostringstream text;
        text << in.rdbuf();
        if (!in) {
            return userError("cannot read provider definitions " + path.string());
        }
        auto parsed = parseJsonQuietly(text.str(), path.string());
        if (!parsed.ok()) {
            return parsed.error();
        }
        if (!parsed->is_object()) {
            return userError(path.string() +
                             " must hold a JSON object of provider name to "
                             "definition");
        }
        for (const auto& [name, entry] : parsed->items()) {
            auto definition = definitionFromJson(
                entry, path.string() + ": provider " + quoteValue(name), file.target, name);
            if (!definition.ok()) {
                return definition.error();
            }
            catalog.add(std::move(*definition));
        }
    }
    return catalog;
}

void ProviderCatalog::add(ProviderDefinition definition) {
    std::string name = definition.name;
    named_[name] = std::move(definition);
}

Result<ProviderDefinition> ProviderCatalog::resolve(const std::string& argument) const {
    std::string_view trimmed = trimWhitespace(argument);
    if (trimmed.empty()) {
        return userError("provider is empty; known providers: " + [this] {
            std::string known;
            for (const auto& name : names()) {
                known += (known.empty() ? "" : ", ") + name;
            }
            return known;
        }());
    }
    if (trimmed.size() > kMaxTemplateBytes) {
        return userError("provider argument is " + std::to_string(trimmed.size()) +
                         " bytes, larger than the limit of " + std::to_string(kMaxTemplateBytes));
    }
    if (trimmed.front() == '<') {
        return definitionFromXml(std::string(trimmed));
    }
    if (trimmed.front() == '{' || trimmed.front() == '[') {
        auto parsed = parseJsonQuietly(std::string(trimmed), "inline JSON provider definition");
        if (!parsed.ok()) {
            return parsed.error();
        }
        return definitionFromJson(*parsed, "inline JSON provider definition", "", "");
    }
    if (auto found = named_.find(argument); found != named_.end()) {
        return found->second;
    }
    ProviderDefinition definition;
    definition.name = argument;
    definition.settings = nlohmann::json::object();
    if (isEc2Provider(argument)) {
        definition.target = "ec2";
        definition.settings["region"] = argument.substr(4);
        return definition;
    }
    if (argument == "rackspace") {
        definition.target = "rackspace";
        return definition;
    }
    if (argument.rfind("mock", 0) == 0 && plainName(argument)) {
        definition.target = "mock";
        return definition;
    }
    std::string known;
    for (const auto& name : names()) {
        known += (known.empty() ? "" : ", ") + name;
    }
    // Only a plain name is quoted: anything else may be an inline definition that failed to
    // be recognised (a byte order mark or a quote before its '{'), and may hold a password.
    std::string shown = plainName(argument) ? quoteValue(argument)
                                            : "(" + std::to_string(argument.size()) +
                                                  " bytes that are not a provider name)";
    return notFound("unknown provider " + shown + "; known providers: " + known +
                    "; or give an inline XML or JSON definition with a target");
}

std::vector<std::string> ProviderCatalog::names() const {
    std::vector<std::string> names;
    for (const auto& [name, definition] : named_) {
        names.push_back(name);
    }
    for (const char* pattern : {"ec2-<region>", "rackspace", "mock*"}) {
        names.emplace_back(pattern);
    }
    return names;
}

}  // namespace imagefactory
