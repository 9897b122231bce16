#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace imagefactory {

inline constexpr const char* kDefaultConfigFile = "/etc/imagefactory/imagefactory.conf";
inline constexpr const char* kDefaultDataDir = "/var/lib/imagefactory";
inline constexpr const char* kVersion = "0.1.0";

// The settings of the imagefactory program, from the command line and the config file.
// Settings that a user can leave unset are optional, so that the config file fills only what
// the command line did not give.
struct Settings {
    // Program
    std::string config_file = kDefaultConfigFile;
    bool config_file_given = false;
    std::optional<bool> verbose;
    std::optional<bool> debug;
    std::optional<bool> foreground;
    std::optional<std::string> log_file;
    std::optional<std::string> pid_file;
    std::optional<std::string> imgdir;
    std::optional<std::string> tmpdir;
    std::optional<long> timeout;
    std::optional<long> max_concurrent_local_sessions;
    std::optional<long> max_concurrent_push_sessions;
    std::optional<bool> boot_check;
    // Folder with providers.json, rhevm.json and vsphere.json; the config file's folder if unset.
    std::optional<std::string> providers_dir;

    // Daemon
    bool qmf = false;
    std::optional<std::string> qpidd;
    std::optional<std::string> broker_type;
    std::optional<long> heartbeat_interval;

    // One-shot jobs
    std::string template_argument;
    std::vector<std::string> targets;
    std::vector<std::string> providers;
    std::string image;
    std::string build;
    std::string credentials;
    std::string target_image;
    std::string image_desc;

    // Record commands: images, show ID, log ID
    std::string command;
    std::string record_id;
    std::string output = "table";
};

// Fills every setting the command line left unset from the JSON object in the config file.
// A missing default config file is fine. A missing file named with --config, a file that is
// not a JSON object, and a value of the wrong type are errors naming the file and the key.
Status applyConfigFile(Settings& settings);

// Rejects values no run can use (a negative timeout, zero build slots, an empty data
// directory), naming the setting and the value.
Status checkSettings(const Settings& settings);

std::filesystem::path dataDirOf(const Settings& settings);

std::filesystem::path providersDirOf(const Settings& settings);

}  // namespace imagefactory
