#include "providers/libvirt_settings.hpp"

#include <filesystem>
#include <set>

#include "core/template_xml.hpp"
#include "core/text.hpp"

namespace imagefactory {

namespace {

// Keys ProviderCatalog may leave in the settings besides the driver's own.
const std::set<std::string> kCatalogKeys = {"name", "target"};

const std::set<std::string> kSettingKeys = {
    "uri",      "pool",        "domain_type", "memory_mib",     "vcpus",
    "firmware", "secure_boot", "network",     "serial_log_dir",
};

// A JSON value for an error message: short, and with control characters escaped.
std::string quoteJson(const nlohmann::json& value) {
    return quoteValue(value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

Error invalidSetting(const std::string& key, const nlohmann::json& value,
                     const std::string& expected) {
    return userError("invalid libvirt provider setting " + key + " = " + quoteJson(value) +
                     ": expected " + expected);
}

// Reads a string setting that must not be empty and must not contain control characters,
// which libvirt would reject or which would corrupt a log line.
Result<std::string> readName(const nlohmann::json& settings, const std::string& key) {
    const nlohmann::json& value = settings.at(key);
    // The XML form of a definition turns digit-only attributes into numbers, and a pool or
    // network may well be called "2024".
    if (value.is_number_integer() && key != "uri" && key != "serial_log_dir") {
        return value.dump();
    }
    if (!value.is_string() || value.get_ref<const std::string&>().empty()) {
        return invalidSetting(key, value, "a non-empty string");
    }
    const std::string& text = value.get_ref<const std::string&>();
    if (findInvalidUtf8(text) != std::string::npos) {
        return invalidSetting(key, value, "UTF-8 text");
    }
    for (unsigned char c : text) {
        if (c < 0x20 || c == 0x7f) {
            return invalidSetting(key, value, "text without control characters");
        }
    }
    return text;
}

Result<int64_t> readInteger(const nlohmann::json& settings, const std::string& key, int64_t min,
                            int64_t max) {
    const nlohmann::json& value = settings.at(key);
    if (!value.is_number_integer() || value.get<int64_t>() < min || value.get<int64_t>() > max) {
        return invalidSetting(
            key, value, "an integer from " + std::to_string(min) + " to " + std::to_string(max));
    }
    return value.get<int64_t>();
}

Result<std::string> readChoice(const nlohmann::json& settings, const std::string& key,
                               const std::set<std::string>& choices) {
    const nlohmann::json& value = settings.at(key);
    if (value.is_string() && choices.count(value.get<std::string>())) {
        return value.get<std::string>();
    }
    std::string expected;
    for (const auto& choice : choices) {
        expected += (expected.empty() ? "\"" : " or \"") + choice + "\"";
    }
    return invalidSetting(key, value, expected);
}

}  // namespace

Result<LibvirtSettings> parseLibvirtSettings(const nlohmann::json& settings) {
    if (!settings.is_object()) {
        return userError("libvirt provider settings must be a JSON object, not " +
                         quoteJson(settings));
    }
    // Unknown keys are rejected so that a misspelt optional setting does not silently fall
    // back to its default.
    for (const auto& item : settings.items()) {
        if (!kSettingKeys.count(item.key()) && !kCatalogKeys.count(item.key())) {
            return userError("unknown libvirt provider setting " + quoteValue(item.key()) +
                             "; known settings: uri, pool, domain_type, memory_mib, vcpus, "
                             "firmware, secure_boot, network, serial_log_dir");
        }
    }
    for (const char* key : {"uri", "pool"}) {
        if (!settings.contains(key)) {
            return userError(std::string("libvirt provider setting ") + key + " is missing");
        }
    }

    LibvirtSettings parsed;
    Result<std::string> uri = readName(settings, "uri");
    if (!uri) {
        return uri.error();
    }
    parsed.uri = *uri;
    Result<std::string> pool = readName(settings, "pool");
    if (!pool) {
        return pool.error();
    }
    parsed.pool = *pool;

    if (settings.contains("domain_type")) {
        // Only the QEMU driver's types: the XML below is written for QEMU guests.
        Result<std::string> type = readChoice(settings, "domain_type", {"qemu", "kvm"});
        if (!type) {
            return type.error();
        }
        parsed.domain_type = *type;
    }
    if (settings.contains("memory_mib")) {
        Result<int64_t> memory = readInteger(settings, "memory_mib", 64, 4 * 1024 * 1024);
        if (!memory) {
            return memory.error();
        }
        parsed.memory_mib = *memory;
    }
    if (settings.contains("vcpus")) {
        Result<int64_t> vcpus = readInteger(settings, "vcpus", 1, 1024);
        if (!vcpus) {
            return vcpus.error();
        }
        parsed.vcpus = *vcpus;
    }
    if (settings.contains("firmware")) {
        Result<std::string> firmware = readChoice(settings, "firmware", {"efi", "bios"});
        if (!firmware) {
            return firmware.error();
        }
        parsed.firmware = *firmware;
    }
    if (settings.contains("secure_boot")) {
        const nlohmann::json& value = settings.at("secure_boot");
        if (!value.is_boolean()) {
            return invalidSetting("secure_boot", value, "true or false");
        }
        parsed.secure_boot = value.get<bool>();
        if (parsed.secure_boot && parsed.firmware != "efi") {
            return userError(
                "libvirt provider setting secure_boot = true needs firmware "
                "\"efi\", not " +
                quoteValue(parsed.firmware));
        }
    }
    if (settings.contains("network")) {
        Result<std::string> network = readName(settings, "network");
        if (!network) {
            return network.error();
        }
        parsed.network = *network;
    }
    if (settings.contains("serial_log_dir")) {
        Result<std::string> dir = readName(settings, "serial_log_dir");
        if (!dir) {
            return dir.error();
        }
        // libvirtd, not this process, opens the file, so a relative path would resolve
        // against the daemon's working directory.
        if (!std::filesystem::path(*dir).is_absolute()) {
            return invalidSetting("serial_log_dir", settings.at("serial_log_dir"),
                                  "an absolute path");
        }
        parsed.serial_log_dir = *dir;
    }
    return parsed;
}

std::string pushedDomainXml(const LibvirtSettings& settings, const std::string& name,
                            const std::string& volume, const std::string& volume_format,
                            const std::string& description) {
    std::string xml = "<domain type='" + escapeXml(settings.domain_type) + "'>\n";
    xml += "  <name>" + escapeXml(name) + "</name>\n";
    xml += "  <description>" + escapeXml(description) + "</description>\n";
    xml += "  <memory unit='MiB'>" + std::to_string(settings.memory_mib) + "</memory>\n";
    xml += "  <vcpu>" + std::to_string(settings.vcpus) + "</vcpu>\n";

    // TODO: the guest architecture is always x86_64, the only one the Debian builder makes.
    if (settings.firmware == "efi") {
        // Left alone, libvirt 9 picks the Microsoft-enrolled Secure Boot firmware, which the
        // guest then has to satisfy and which needs SMM; so the feature is always stated.
        xml += "  <os firmware='efi'>\n";
        xml += "    <type arch='x86_64' machine='q35'>hvm</type>\n";
        xml += std::string("    <firmware><feature enabled='") +
               (settings.secure_boot ? "yes" : "no") + "' name='secure-boot'/></firmware>\n";
    } else {
        xml += "  <os>\n";
        xml += "    <type arch='x86_64' machine='q35'>hvm</type>\n";
    }
    xml += "    <boot dev='hd'/>\n";
    xml += "  </os>\n";
    xml += "  <features><acpi/><apic/>";
    if (settings.secure_boot) {
        xml += "<smm state='on'/>";
    }
    xml += "</features>\n";
    xml += "  <clock offset='utc'/>\n";

    xml += "  <devices>\n";
    xml += "    <disk type='volume' device='disk'>\n";
    xml += "      <driver name='qemu' type='" + escapeXml(volume_format) + "'/>\n";
    xml += "      <source pool='" + escapeXml(settings.pool) + "' volume='" + escapeXml(volume) +
           "'/>\n";
    xml += "      <target dev='vda' bus='virtio'/>\n";
    xml += "    </disk>\n";
    if (settings.network) {
        xml += "    <interface type='network'><source network='" + escapeXml(*settings.network) +
               "'/><model type='virtio'/></interface>\n";
    }
    if (settings.serial_log_dir) {
        std::string path = escapeXml(
            (std::filesystem::path(*settings.serial_log_dir) / (name + ".serial.log")).string());
        xml += "    <serial type='file'><source path='" + path + "'/><target port='0'/></serial>\n";
        xml += "    <console type='file'><source path='" + path +
               "'/><target type='serial' port='0'/></console>\n";
    } else {
        xml += "    <serial type='pty'><target port='0'/></serial>\n";
        xml += "    <console type='pty'><target type='serial' port='0'/></console>\n";
    }
    // No <graphics> element at all: libvirt has no type='none'.
    xml += "    <video><model type='none'/></video>\n";
    xml += "    <memballoon model='none'/>\n";
    xml += "  </devices>\n";
    xml += "</domain>\n";
    return xml;
}

}  // namespace imagefactory
