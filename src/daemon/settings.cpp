#include "daemon/settings.hpp"

#include <fstream>
#include <nlohmann/json.hpp>

namespace imagefactory {

namespace {

using nlohmann::json;

// Reads key into target when the command line did not set it. Config values may be of any
// JSON type; a string holding a number or a boolean is accepted where one is expected.
class ConfigReader {
  public:
    ConfigReader(const json& object, std::string file) : object_(object), file_(std::move(file)) {}

    Status read(const char* key, std::optional<std::string>& target) {
        if (target || !object_.contains(key)) {
            return okStatus();
        }
        const json& value = object_[key];
        if (value.is_string()) {
            target = value.get<std::string>();
        } else if (value.is_number() || value.is_boolean()) {
            target = value.dump();
        } else {
            return wrongType(key, "a string");
        }
        return okStatus();
    }

    Status read(const char* key, std::optional<long>& target) {
        if (target || !object_.contains(key)) {
            return okStatus();
        }
        const json& value = object_[key];
        if (value.is_number_integer()) {
            target = value.get<long>();
            return okStatus();
        }
        if (value.is_string()) {
            try {
                size_t used = 0;
                std::string text = value.get<std::string>();
                long number = std::stol(text, &used);
                if (used == text.size()) {
                    target = number;
                    return okStatus();
                }
            } catch (const std::exception&) {
            }
        }
        return wrongType(key, "a whole number");
    }

    Status read(const char* key, std::optional<bool>& target) {
        if (target || !object_.contains(key)) {
            return okStatus();
        }
        const json& value = object_[key];
        if (value.is_boolean()) {
            target = value.get<bool>();
            return okStatus();
        }
        if (value.is_number_integer()) {
            target = value.get<long>() != 0;
            return okStatus();
        }
        if (value.is_string()) {
            std::string text = value.get<std::string>();
            if (text == "true" || text == "yes" || text == "1") {
                target = true;
                return okStatus();
            }
            if (text == "false" || text == "no" || text == "0") {
                target = false;
                return okStatus();
            }
        }
        return wrongType(key, "true or false");
    }

  private:
    Status wrongType(const char* key, const char* expected) {
        return userError("config file " + file_ + ": key '" + key + "' must be " + expected +
                         ", not " + object_[key].dump());
    }

    const json& object_;
    std::string file_;
};

}  // namespace

Status applyConfigFile(Settings& settings) {
    const std::string& file = settings.config_file;
    std::error_code ec;
    if (std::filesystem::exists(file, ec) && !std::filesystem::is_regular_file(file, ec)) {
        return userError("config file " + file + " is not a regular file");
    }
    std::ifstream in(file);
    if (!in) {
        if (settings.config_file_given) {
            return userError("cannot read config file " + file);
        }
        return okStatus();
    }

    json object;
    try {
        object = json::parse(in);
    } catch (const json::parse_error& e) {
        return userError("config file " + file + " is not valid JSON: " + e.what());
    } catch (const std::exception& e) {
        return userError("cannot read config file " + file + ": " + e.what());
    }
    if (!object.is_object()) {
        return userError("config file " + file + " must hold a JSON object");
    }

    ConfigReader reader(object, file);
    for (Status status : {
             reader.read("verbose", settings.verbose),
             reader.read("debug", settings.debug),
             reader.read("foreground", settings.foreground),
             reader.read("log_file", settings.log_file),
             reader.read("pid_file", settings.pid_file),
             reader.read("imgdir", settings.imgdir),
             reader.read("tmpdir", settings.tmpdir),
             reader.read("timeout", settings.timeout),
             reader.read("max_concurrent_local_sessions", settings.max_concurrent_local_sessions),
             reader.read("max_concurrent_push_sessions", settings.max_concurrent_push_sessions),
             reader.read("boot_check", settings.boot_check),
             reader.read("providers_dir", settings.providers_dir),
             reader.read("qpidd", settings.qpidd),
             reader.read("broker_type", settings.broker_type),
             reader.read("heartbeat_interval", settings.heartbeat_interval),
         }) {
        if (!status.ok()) {
            return status;
        }
    }
    return okStatus();
}

Status checkSettings(const Settings& settings) {
    if (settings.timeout && *settings.timeout < 0) {
        return userError("invalid timeout " + std::to_string(*settings.timeout) +
                         ": expected 0 (no limit) or a number of seconds");
    }
    for (const auto& [name, value] :
         {std::pair{"max_concurrent_local_sessions", settings.max_concurrent_local_sessions},
          std::pair{"max_concurrent_push_sessions", settings.max_concurrent_push_sessions}}) {
        if (value && (*value < 1 || *value > 10000)) {
            return userError("invalid " + std::string(name) + " " + std::to_string(*value) +
                             ": expected 1 to 10000");
        }
    }
    if (settings.imgdir && settings.imgdir->empty()) {
        return userError("invalid data directory '': give a path with --imgdir");
    }
    return okStatus();
}

std::filesystem::path dataDirOf(const Settings& settings) {
    return settings.imgdir.value_or(kDefaultDataDir);
}

std::filesystem::path providersDirOf(const Settings& settings) {
    if (settings.providers_dir) {
        return *settings.providers_dir;
    }
    return std::filesystem::path(settings.config_file).parent_path();
}

}  // namespace imagefactory
