#include "providers/rhevm_export_driver.hpp"

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <vector>

#include "core/text.hpp"
#include "core/uuid.hpp"
#include "providers/export_files.hpp"
#include "providers/ovirt_export_format.hpp"

namespace imagefactory {

namespace fs = std::filesystem;

namespace {

constexpr int kDefaultTimeoutSeconds = 1800;
// The percent reached when the copy ends: copying is nearly all of a push.
constexpr int kCopyDone = 95;
// vdsm runs as uid 36 (vdsm) and gid 36 (kvm) and expects to own what is in its domains.
constexpr uid_t kVdsmUid = 36;
constexpr gid_t kVdsmGid = 36;

struct RhevmSettings {
    fs::path nfs_dir;
    std::string nfs_host;
    std::string nfs_path;
    std::string api_url;
    std::string cluster;
    int timeout_seconds = kDefaultTimeoutSeconds;
    std::string username;
    Secret password;
};

Result<int> timeoutSetting(const nlohmann::json& settings) {
    auto it = settings.find("timeout");
    if (it == settings.end() || it->is_null()) {
        return kDefaultTimeoutSeconds;
    }
    long long value = 0;
    if (it->is_number_integer()) {
        value = it->get<long long>();
    } else if (it->is_string()) {
        const std::string& text = it->get_ref<const std::string&>();
        if (text.empty() || text.size() > 9 ||
            text.find_first_not_of("0123456789") != std::string::npos) {
            return userError("provider setting timeout must be a whole number of seconds, not " +
                             quoteValue(text));
        }
        value = std::stoll(text);
    } else {
        return userError("provider setting timeout must be a whole number of seconds");
    }
    if (value <= 0 || value > 7 * 24 * 3600) {
        return userError("provider setting timeout must be between 1 and 604800 seconds, not " +
                         std::to_string(value));
    }
    return static_cast<int>(value);
}

Result<RhevmSettings> readSettings(const ProviderDefinition& provider) {
    if (Status keys = checkSettingKeys(provider.settings, "rhevm",
                                       {"nfs-dir", "nfs-host", "nfs-path", "api-url", "cluster",
                                        "timeout", "username", "password"});
        !keys) {
        return keys.error();
    }
    RhevmSettings settings;
    Result<std::string> nfs_dir = stringSetting(provider.settings, "nfs-dir", "");
    if (!nfs_dir) {
        return nfs_dir.error();
    }
    if (nfs_dir->empty()) {
        return userError("provider " + quoteValue(provider.name) +
                         " has no nfs-dir setting: set it to the local mount of the oVirt "
                         "export storage domain");
    }
    if ((*nfs_dir)[0] != '/') {
        return userError("provider setting nfs-dir must be an absolute path, not " +
                         quoteValue(*nfs_dir));
    }
    settings.nfs_dir = *nfs_dir;

    struct Field {
        const char* key;
        std::string* value;
    };
    for (Field field :
         {Field{"nfs-host", &settings.nfs_host}, Field{"nfs-path", &settings.nfs_path},
          Field{"api-url", &settings.api_url}, Field{"cluster", &settings.cluster},
          Field{"username", &settings.username}}) {
        Result<std::string> value = stringSetting(provider.settings, field.key, "");
        if (!value) {
            return value.error();
        }
        *field.value = std::move(*value);
    }
    // Read apart from the loop so that the password never sits in a plain string member.
    Result<std::string> password = stringSetting(provider.settings, "password", "");
    if (!password) {
        return userError("provider setting password must be a string");
    }
    settings.password = Secret(std::move(*password));

    Result<int> timeout = timeoutSetting(provider.settings);
    if (!timeout) {
        return timeout.error();
    }
    settings.timeout_seconds = *timeout;
    return settings;
}

// The push call's credentials win over the definition's, field by field, as in the Python
// Image Factory.
Result<std::pair<std::string, Secret>> account(const RhevmSettings& settings,
                                               const ProviderCredentials& credentials) {
    const Secret* username = credentials.find("username");
    const Secret* password = credentials.find("password");
    std::string user = username ? username->reveal() : settings.username;
    if (user.empty()) {
        return userError(
            "No username specified in the provider definition or in the push call: give "
            "<rhevm_credentials><username> or the definition's username setting");
    }
    Secret secret = password ? *password : settings.password;
    if (secret.empty()) {
        return userError(
            "No password specified in the provider definition or in the push call: give "
            "<rhevm_credentials><password> or the definition's password setting");
    }
    return std::make_pair(user, secret);
}

// The CLASS line of a domain's dom_md/metadata, or "" when there is none.
std::string domainClass(const fs::path& metadata) {
    std::ifstream in(metadata);
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("CLASS=", 0) == 0) {
            return line.substr(6);
        }
    }
    return {};
}

// Gives a staged file or folder to vdsm when the daemon may. Other users get read access
// through the modes, which is what an import needs.
void handToVdsm(const fs::path& path) {
    if (::geteuid() != 0) {
        return;
    }
    // A failure is not fatal: root-squashing NFS exports refuse it, and reads still work.
    int ignored = ::lchown(path.c_str(), kVdsmUid, kVdsmGid);
    (void)ignored;
}

Status makeDirectory(const fs::path& path) {
    if (::mkdir(path.c_str(), 0755) != 0) {
        if (errno == EEXIST) {
            return invalidState(path.string() + " already exists");
        }
        return toolFailure("cannot create directory " + path.string() + ": " +
                           std::strerror(errno));
    }
    handToVdsm(path);
    return okStatus();
}

// Creates the domain's images/ and master/vms/ folders when the domain has none yet.
Status ensureDomainFolders(const fs::path& storage_domain) {
    for (const fs::path& folder :
         {storage_domain / "images", storage_domain / "master", storage_domain / "master/vms"}) {
        std::error_code ec;
        if (fs::is_directory(folder, ec)) {
            continue;
        }
        if (Status s = makeDirectory(folder); !s) {
            return s;
        }
    }
    return okStatus();
}

}  // namespace

Result<fs::path> findExportStorageDomain(const fs::path& nfs_dir) {
    std::error_code status_ec;
    if (!fs::is_directory(nfs_dir, status_ec)) {
        return notFound("nfs-dir " + nfs_dir.string() +
                        " does not exist or is not a directory; mount the export domain there");
    }
    std::vector<fs::path> domains;
    std::error_code ec;
    for (const fs::directory_entry& entry : fs::directory_iterator(nfs_dir, ec)) {
        std::error_code entry_ec;
        if (entry.is_directory(entry_ec) &&
            fs::is_regular_file(entry.path() / "dom_md" / "metadata", entry_ec)) {
            domains.push_back(entry.path());
        }
    }
    if (ec) {
        return toolFailure("cannot list nfs-dir " + nfs_dir.string() + ": " + ec.message());
    }
    if (domains.empty()) {
        return notFound("nfs-dir " + nfs_dir.string() +
                        " contains no oVirt storage domain (a folder with dom_md/metadata); is the "
                        "export domain mounted there?");
    }
    if (domains.size() > 1) {
        std::string names;
        for (const fs::path& domain : domains) {
            names += (names.empty() ? "" : ", ") + domain.filename().string();
        }
        return userError("nfs-dir " + nfs_dir.string() + " contains " +
                         std::to_string(domains.size()) + " storage domains (" + names +
                         "); point nfs-dir at a mount with exactly one");
    }
    // oVirt names storage domains by UUID, and the name is copied into the .meta and OVF files.
    if (!isUuid(domains.front().filename().string())) {
        return userError("storage domain folder " + quoteValue(domains.front().string()) +
                         " is not named by a UUID, as oVirt names them");
    }
    std::string domain_class = domainClass(domains.front() / "dom_md" / "metadata");
    if (!domain_class.empty() && domain_class != "Backup") {
        return userError("storage domain " + domains.front().string() + " is a " +
                         quoteValue(domain_class) +
                         " domain; push needs an export domain (CLASS=Backup)");
    }
    return domains.front();
}

Status RhevmExportDriver::checkPush(const ProviderDefinition& provider,
                                    const ProviderCredentials& credentials) const {
    Result<RhevmSettings> settings = readSettings(provider);
    if (!settings) {
        return settings.error();
    }
    if (auto user = account(*settings, credentials); !user) {
        return user.error();
    }
    Result<fs::path> domain = findExportStorageDomain(settings->nfs_dir);
    if (!domain) {
        return domain.error();
    }
    return checkWritableDirectory(*domain, "nfs-dir storage domain");
}

Result<PushOutput> RhevmExportDriver::push(const PushRequest& request, JobContext& context) {
    auto log = context.logger();
    auto started = std::chrono::steady_clock::now();
    if (Status s = checkPush(request.provider, request.credentials); !s) {
        return s.error();
    }
    RhevmSettings settings = *readSettings(request.provider);
    std::string username = account(settings, request.credentials)->first;
    fs::path domain = *findExportStorageDomain(settings.nfs_dir);
    if (!isPlainName(request.provider_image_id)) {
        return userError("provider image id " + quoteValue(request.provider_image_id) +
                         " cannot be used in a file name");
    }
    Result<DiskImageInfo> info = readDiskImageInfo(request.target_image_file);
    if (!info) {
        return info.error();
    }

    OvirtExportDisk disk;
    disk.storage_domain_id = domain.filename().string();
    disk.image_group_id = newUuid();
    disk.volume_id = newUuid();
    disk.format = info->format;
    disk.virtual_size = info->virtual_size;
    OvirtExportVm vm;
    vm.vm_id = newUuid();
    vm.name = "imagefactory-" + request.provider_image_id;
    vm.description = "Image Factory provider image " + request.provider_image_id +
                     " of target image " + request.target_image_id;
    vm.created = std::time(nullptr);

    // The staging folder lives inside the domain, so the final renames stay on one file
    // system. It sits outside images/ and master/vms/, which are where the engine looks.
    const fs::path staging = domain / (".imagefactory-" + request.provider_image_id);
    if (Status s = makeDirectory(staging); !s) {
        return s.error();
    }
    RemoveOnExit staging_guard(staging);
    const fs::path staged_group = staging / disk.image_group_id;
    const fs::path staged_vm = staging / vm.vm_id;
    const fs::path staged_volume = staged_group / disk.volume_id;
    for (const fs::path& folder : {staged_group, staged_vm}) {
        if (Status s = makeDirectory(folder); !s) {
            return s.error();
        }
    }

    log->info("copying {} ({}, {} bytes virtual) to storage domain {}",
              request.target_image_file.string(), disk.format, disk.virtual_size,
              disk.storage_domain_id);
    if (Status s = copyImageFile(request.target_image_file, staged_volume, context, 0, kCopyDone);
        !s) {
        return s.error();
    }
    handToVdsm(staged_volume);
    std::error_code ec;
    disk.actual_size = fs::file_size(staged_volume, ec);

    Result<std::string> meta = ovirtVolumeMetadata(disk, vm.description, vm.created);
    if (!meta) {
        return meta.error();
    }
    Result<std::string> ovf = ovirtVmOvf(vm, disk);
    if (!ovf) {
        return ovf.error();
    }
    const fs::path staged_meta = staged_group / (disk.volume_id + ".meta");
    const fs::path staged_ovf = staged_vm / (vm.vm_id + ".ovf");
    for (const auto& [path, content] :
         {std::pair{staged_meta, *meta}, std::pair{staged_ovf, *ovf}}) {
        if (Status s = writeNewFile(path, content); !s) {
            return s.error();
        }
        handToVdsm(path);
    }
    for (const fs::path& folder : {staged_group, staged_vm}) {
        if (Status s = syncDirectory(folder); !s) {
            return s.error();
        }
    }
    if (context.cancelToken().cancelled()) {
        return Error{ErrorCode::Aborted, "aborted before publishing VM " + vm.vm_id};
    }

    // The image folder goes first and the VM folder last: the engine lists VMs by their OVF,
    // so once it sees one, the disk it references is complete.
    if (Status s = ensureDomainFolders(domain); !s) {
        return s.error();
    }
    const fs::path final_group = domain / "images" / disk.image_group_id;
    const fs::path final_vm = domain / "master" / "vms" / vm.vm_id;
    if (Status s = renameNoReplace(staged_group, final_group); !s) {
        return s.error();
    }
    RemoveOnExit published_group_guard(final_group);
    if (Status s = renameNoReplace(staged_vm, final_vm); !s) {
        return s.error();
    }
    published_group_guard.release();
    for (const fs::path& parent : {final_group.parent_path(), final_vm.parent_path()}) {
        if (Status s = syncDirectory(parent); !s) {
            // Everything is in place; only its durability across a crash is unsure.
            log->warn("{}", s.error().message);
        }
    }
    context.setPercent(100);

    // TODO: ask the engine at api-url to import the VM into cluster (REST), waiting up to timeout.
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    log->info("pushed VM {} to export domain {} ({} bytes) in {:.1f} s", vm.vm_id,
              disk.storage_domain_id, disk.actual_size, seconds);

    PushOutput output;
    output.target_identifier = vm.vm_id;
    output.provider_account_identifier = username;
    nlohmann::json parameters = {{"storage_domain", disk.storage_domain_id},
                                 {"image_group", disk.image_group_id},
                                 {"volume", disk.volume_id},
                                 {"volume_format", disk.format},
                                 {"ovf_path", (final_vm / (vm.vm_id + ".ovf")).string()}};
    output.parameters = parameters.dump();
    return output;
}

Result<std::string> RhevmExportDriver::checkImport(const ImportRequest& request) const {
    const std::string& identifier = request.target_identifier;
    if (!isUuid(identifier)) {
        return userError("rhevm target identifier " + quoteValue(identifier) +
                         " is not a VM UUID (8-4-4-4-12 hexadecimal digits)");
    }
    std::string uuid = identifier;
    for (char& c : uuid) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    Result<RhevmSettings> settings = readSettings(request.provider);
    if (!settings) {
        return settings.error();
    }
    Result<fs::path> domain = findExportStorageDomain(settings->nfs_dir);
    if (!domain) {
        return domain.error();
    }
    fs::path ovf = *domain / "master" / "vms" / uuid / (uuid + ".ovf");
    std::error_code ec;
    if (!fs::is_regular_file(ovf, ec)) {
        return notFound("rhevm VM " + uuid + " not found in export domain: " + ovf.string() +
                        " does not exist");
    }
    return uuid;
}

}  // namespace imagefactory
