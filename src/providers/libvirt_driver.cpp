#include "providers/libvirt_driver.hpp"

#include <libvirt/virterror.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <string_view>
#include <thread>
#include <vector>

#include "core/template_xml.hpp"
#include "core/text.hpp"
#include "providers/libvirt_connection.hpp"
#include "providers/libvirt_settings.hpp"

namespace imagefactory {

namespace {

// Upload chunk: large enough that the stream overhead is small, small enough that an abort is
// noticed within a fraction of a second.
constexpr size_t kChunkBytes = 1 << 20;

// Percent reached after the checks, after the upload, and after the volume check; the define
// that follows is quick.
constexpr int kUploadStartPercent = 2;
constexpr int kUploadEndPercent = 90;
constexpr int kVerifiedPercent = 95;

constexpr unsigned char kQcow2Magic[4] = {'Q', 'F', 'I', 0xfb};

// The format and sizes of a target image file, as the upload needs them.
struct ImageFile {
    std::string format;          // "qcow2" or "raw"
    uint64_t file_bytes = 0;     // bytes to upload
    uint64_t virtual_bytes = 0;  // the disk size libvirt must report after the upload
};

uint64_t readBigEndian64(const unsigned char* bytes) {
    uint64_t value = 0;
    for (int i = 0; i < 8; ++i) {
        value = (value << 8) | bytes[i];
    }
    return value;
}

// Reads the qcow2 header (magic at 0, virtual size as a big-endian u64 at 24); anything else
// is uploaded as raw.
Result<ImageFile> inspectImageFile(const std::filesystem::path& path) {
    std::error_code ec;
    uint64_t size = std::filesystem::file_size(path, ec);
    if (ec) {
        return notFound("cannot read target image file " + quoteValue(path.string()) + ": " +
                        ec.message());
    }
    std::ifstream in(path, std::ios::binary);
    unsigned char header[32] = {};
    in.read(reinterpret_cast<char*>(header), sizeof(header));
    if (!in && !in.eof()) {
        return internalError("cannot read target image file " + quoteValue(path.string()));
    }

    ImageFile image;
    image.file_bytes = size;
    if (in.gcount() == sizeof(header) && std::memcmp(header, kQcow2Magic, 4) == 0) {
        image.format = "qcow2";
        image.virtual_bytes = readBigEndian64(header + 24);
    } else {
        image.format = "raw";
        image.virtual_bytes = size;
    }
    if (size == 0) {
        return userError("target image file " + quoteValue(path.string()) + " is empty");
    }
    return image;
}

// Everything the operations below need to report a libvirt failure: the connection's URI for
// messages and the login so that messages never carry the password.
struct Session {
    LibvirtSettings settings;
    LibvirtLogin login;
    LibvirtConnection conn;

    // An error whose message quotes settings, with the password cut out.
    Error error(ErrorCode code, const std::string& message) const {
        return Error{code, withoutPassword(message, login)};
    }

    // An error for a failed libvirt call, with libvirt's message.
    Error failure(ErrorCode code, const std::string& what) const {
        return Error{code, withoutPassword(what + " at " + quoteValue(settings.uri) + ": " +
                                               lastLibvirtError(login),
                                           login)};
    }
};

// Checks the definition and credentials, connects, and finds the pool.
Result<Session> openSession(const ProviderDefinition& provider,
                            const ProviderCredentials& credentials) {
    Result<LibvirtSettings> settings = parseLibvirtSettings(provider.settings);
    if (!settings) {
        return settings.error();
    }
    Result<LibvirtLogin> login = libvirtLogin(credentials);
    if (!login) {
        return login.error();
    }
    Result<LibvirtConnection> conn = openLibvirt(settings->uri, *login);
    if (!conn) {
        return conn.error();
    }
    return Session{std::move(*settings), std::move(*login), std::move(*conn)};
}

Result<LibvirtPool> findPool(const Session& session) {
    LibvirtPool pool(virStoragePoolLookupByName(session.conn.get(), session.settings.pool.c_str()));
    if (!pool) {
        ErrorCode code = lastLibvirtErrorCode() == VIR_ERR_NO_STORAGE_POOL ? ErrorCode::NotFound
                                                                           : ErrorCode::ToolFailure;
        return session.failure(code,
                               "cannot find storage pool " + quoteValue(session.settings.pool));
    }
    int active = virStoragePoolIsActive(pool.get());
    if (active != 1) {
        return session.error(ErrorCode::InvalidState,
                             "storage pool " + quoteValue(session.settings.pool) + " at " +
                                 quoteValue(session.settings.uri) +
                                 " is not active; start it with virsh pool-start");
    }
    return pool;
}

// TODO: raw files are sent whole and stored fully allocated; a sparse stream would skip holes.
// Sends the file through the stream in chunks. Returns Aborted when the job is cancelled. The
// caller aborts the stream and deletes the volume on any error.
Status sendFile(const Session& session, virStreamPtr stream, const std::filesystem::path& path,
                uint64_t total, JobContext& context) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return internalError("cannot open target image file " + quoteValue(path.string()));
    }
    std::vector<char> buffer(kChunkBytes);
    uint64_t sent = 0;
    while (sent < total) {
        if (context.cancelToken().cancelled()) {
            return Error{ErrorCode::Aborted, "aborted"};
        }
        size_t want = static_cast<size_t>(std::min<uint64_t>(buffer.size(), total - sent));
        in.read(buffer.data(), static_cast<std::streamsize>(want));
        if (static_cast<size_t>(in.gcount()) != want) {
            return internalError("target image file " + quoteValue(path.string()) +
                                 " ended after " + std::to_string(sent + in.gcount()) + " of " +
                                 std::to_string(total) + " bytes");
        }
        // virStreamSend may take fewer bytes than offered.
        size_t offset = 0;
        while (offset < want) {
            int written = virStreamSend(stream, buffer.data() + offset, want - offset);
            if (written < 0) {
                return session.failure(ErrorCode::ToolFailure, "volume upload failed");
            }
            offset += static_cast<size_t>(written);
        }
        sent += want;
        context.setPercent(
            kUploadStartPercent +
            static_cast<int>((kUploadEndPercent - kUploadStartPercent) * sent / total));
    }
    return okStatus();
}

// How long a finished upload waits for the pool to allow the refresh that checks it.
constexpr std::chrono::seconds kReadBackTimeout{300};

// True when the last libvirt error is a pool refusing a refresh while another upload runs.
bool poolIsBusy() {
    virErrorPtr error = virGetLastError();
    return error != nullptr && error->code == VIR_ERR_INTERNAL_ERROR && error->message != nullptr &&
           std::string_view(error->message).find("asynchronous jobs") != std::string_view::npos;
}

// Creates the volume, uploads the file and checks the size libvirt reports. On failure the
// volume is deleted again.
Result<LibvirtVolume> uploadVolume(const Session& session, virStoragePoolPtr pool,
                                   const std::string& name, const ImageFile& image,
                                   const std::filesystem::path& path, JobContext& context) {
    auto log = context.logger();
    std::string xml = "<volume><name>" + escapeXml(name) + "</name><capacity unit='bytes'>" +
                      std::to_string(image.file_bytes) + "</capacity><target><format type='" +
                      image.format + "'/></target></volume>";
    LibvirtVolume volume(virStorageVolCreateXML(pool, xml.c_str(), 0));
    if (!volume) {
        if (lastLibvirtErrorCode() == VIR_ERR_STORAGE_VOL_EXIST) {
            // Another push of the same target image got there first.
            return invalidState("volume " + quoteValue(name) + " already exists in pool " +
                                quoteValue(session.settings.pool) + "; delete it first");
        }
        return session.failure(ErrorCode::ToolFailure, "cannot create volume " + quoteValue(name));
    }

    auto removeVolume = [&] {
        if (virStorageVolDelete(volume.get(), 0) < 0) {
            log->error("cannot delete volume {} after a failed upload: {}", name,
                       lastLibvirtError(session.login));
        }
    };

    auto started = std::chrono::steady_clock::now();
    LibvirtStream stream(virStreamNew(session.conn.get(), 0));
    if (!stream || virStorageVolUpload(volume.get(), stream.get(), 0, image.file_bytes, 0) < 0) {
        Error error = session.failure(ErrorCode::ToolFailure,
                                      "cannot start the upload of " + quoteValue(name));
        if (stream) {
            virStreamAbort(stream.get());
        }
        removeVolume();
        return error;
    }
    Status sent = sendFile(session, stream.get(), path, image.file_bytes, context);
    if (!sent) {
        virStreamAbort(stream.get());
        removeVolume();
        return sent.error();
    }
    if (virStreamFinish(stream.get()) < 0) {
        Error error = session.failure(ErrorCode::ToolFailure,
                                      "upload of " + quoteValue(name) + " did not finish");
        removeVolume();
        return error;
    }
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    log->info("uploaded volume={} bytes={} seconds={:.2f}", name, image.file_bytes, seconds);

    // libvirt re-reads the qcow2 header after an upload, but asynchronously. A pool refresh
    // makes the capacity current, but libvirt refuses one while the pool has upload jobs (seen
    // in CI with two pushes at once), so wait for a refresh that goes through or for the
    // capacity to be right.
    virStorageVolInfo info{};
    auto deadline = std::chrono::steady_clock::now() + kReadBackTimeout;
    while (true) {
        bool refreshed = virStoragePoolRefresh(pool, 0) == 0;
        if (!refreshed && !poolIsBusy()) {
            Error error = session.failure(
                ErrorCode::ToolFailure, "cannot refresh pool " + quoteValue(session.settings.pool));
            removeVolume();
            return error;
        }
        if (virStorageVolGetInfo(volume.get(), &info) < 0) {
            Error error = session.failure(ErrorCode::ToolFailure,
                                          "cannot read back volume " + quoteValue(name));
            removeVolume();
            return error;
        }
        if (refreshed || info.capacity == image.virtual_bytes) {
            break;
        }
        if (context.cancelToken().cancelled() || std::chrono::steady_clock::now() > deadline) {
            removeVolume();
            return toolFailure("pool " + quoteValue(session.settings.pool) +
                               " stayed busy with other uploads, so volume " + quoteValue(name) +
                               " could not be checked");
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    if (info.capacity != image.virtual_bytes) {
        removeVolume();
        return toolFailure("volume " + quoteValue(name) + " reports capacity " +
                           std::to_string(info.capacity) + " bytes after the upload, expected " +
                           std::to_string(image.virtual_bytes));
    }
    return volume;
}

std::string volumeNameOf(const std::string& target_image_id, const ImageFile& image) {
    return "imagefactory-" + target_image_id + "." + image.format;
}

// The error for a target image whose volume is in the pool already, or ok.
Status checkNotInPool(const Session& session, virStoragePoolPtr pool,
                      const std::string& target_image_id, const std::string& volume_name) {
    // A pushed volume belongs to a domain that may be running; never replace it.
    if (LibvirtVolume existing{virStorageVolLookupByName(pool, volume_name.c_str())}) {
        return session.error(ErrorCode::InvalidState,
                             "target image " + target_image_id + " is already in pool " +
                                 quoteValue(session.settings.pool) + " at " +
                                 quoteValue(session.settings.uri) + " as volume " +
                                 quoteValue(volume_name) + "; delete that volume to push it again");
    }
    return okStatus();
}

}  // namespace

LibvirtDriver::LibvirtDriver() = default;

Status LibvirtDriver::checkTargetImage(const ProviderDefinition& provider,
                                       const ProviderCredentials& credentials,
                                       const std::string& target_image_id,
                                       const std::filesystem::path& target_image_file) const {
    Result<Session> session = openSession(provider, credentials);
    if (!session) {
        return session.error();
    }
    Result<LibvirtPool> pool = findPool(*session);
    if (!pool) {
        return pool.error();
    }
    Result<ImageFile> image = inspectImageFile(target_image_file);
    if (!image) {
        return image.error();
    }
    return checkNotInPool(*session, pool->get(), target_image_id,
                          volumeNameOf(target_image_id, *image));
}

Status LibvirtDriver::checkPush(const ProviderDefinition& provider,
                                const ProviderCredentials& credentials) const {
    Result<Session> session = openSession(provider, credentials);
    if (!session) {
        return session.error();
    }
    Result<LibvirtPool> pool = findPool(*session);
    if (!pool) {
        return pool.error();
    }
    return okStatus();
}

Result<PushOutput> LibvirtDriver::push(const PushRequest& request, JobContext& context) {
    auto log = context.logger();
    Result<Session> session = openSession(request.provider, request.credentials);
    if (!session) {
        return session.error();
    }
    Result<LibvirtPool> pool = findPool(*session);
    if (!pool) {
        return pool.error();
    }
    Result<ImageFile> image = inspectImageFile(request.target_image_file);
    if (!image) {
        return image.error();
    }

    const std::string volume_name = volumeNameOf(request.target_image_id, *image);
    const std::string domain_name = "imagefactory-" + request.provider_image_id;
    virConnectPtr conn = session->conn.get();

    // TODO: a push killed mid-upload (SIGKILL, power loss) leaves its volume behind, and later
    // pushes of the target image are rejected until an operator deletes it.
    // Checked before the push was recorded too; another push may have come in between.
    if (Status absent = checkNotInPool(*session, pool->get(), request.target_image_id, volume_name);
        !absent) {
        return absent.error();
    }
    // defineXML would otherwise replace a domain of the same name.
    if (LibvirtDomain existing{virDomainLookupByName(conn, domain_name.c_str())}) {
        return session->error(ErrorCode::InvalidState, "domain " + quoteValue(domain_name) +
                                                           " already exists at " +
                                                           quoteValue(session->settings.uri));
    }
    context.setPercent(kUploadStartPercent);
    log->info("uploading file={} format={} to pool={} volume={}",
              request.target_image_file.string(), image->format, session->settings.pool,
              volume_name);

    Result<LibvirtVolume> volume = uploadVolume(*session, pool->get(), volume_name, *image,
                                                request.target_image_file, context);
    if (!volume) {
        return volume.error();
    }
    context.setPercent(kVerifiedPercent);

    auto removeVolume = [&] {
        if (virStorageVolDelete(volume->get(), 0) < 0) {
            log->error("cannot delete volume {}: {}", volume_name,
                       lastLibvirtError(session->login));
        }
    };
    if (context.cancelToken().cancelled()) {
        removeVolume();
        return Error{ErrorCode::Aborted, "aborted"};
    }

    std::string description = "Image Factory provider image " + request.provider_image_id +
                              " of target image " + request.target_image_id;
    std::string xml =
        pushedDomainXml(session->settings, domain_name, volume_name, image->format, description);
    LibvirtDomain domain(virDomainDefineXML(conn, xml.c_str()));
    if (!domain) {
        Error error = session->failure(ErrorCode::ToolFailure,
                                       "cannot define domain " + quoteValue(domain_name));
        removeVolume();
        return error;
    }
    char uuid[VIR_UUID_STRING_BUFLEN] = {};
    if (virDomainGetUUIDString(domain.get(), uuid) < 0) {
        Error error = session->failure(ErrorCode::ToolFailure,
                                       "cannot read the UUID of domain " + quoteValue(domain_name));
        virDomainUndefineFlags(domain.get(), VIR_DOMAIN_UNDEFINE_NVRAM);
        removeVolume();
        return error;
    }
    log->info("defined domain={} uuid={}", domain_name, uuid);

    PushOutput output;
    output.target_identifier = uuid;
    output.provider_account_identifier = session->login.username;
    output.parameters = nlohmann::json{
        {"uri", session->settings.uri},
        {"pool", session->settings.pool},
        {"volume", volume_name},
        {"domain",
         domain_name}}.dump();
    return output;
}

Result<std::string> LibvirtDriver::checkImport(const ImportRequest& request) const {
    // TODO: import_image carries no credentials, so a URI that needs a login cannot be checked.
    Result<Session> session = openSession(request.provider, ProviderCredentials{});
    if (!session) {
        return session.error();
    }
    const std::string& id = request.target_identifier;
    if (id.empty()) {
        return userError("a libvirt target identifier is a domain UUID or name, not empty");
    }
    virConnectPtr conn = session->conn.get();

    // A name may look like a UUID, so a failed UUID lookup falls back to the name.
    LibvirtDomain domain;
    if (id.size() == VIR_UUID_STRING_BUFLEN - 1) {
        domain.reset(virDomainLookupByUUIDString(conn, id.c_str()));
    }
    if (!domain) {
        domain.reset(virDomainLookupByName(conn, id.c_str()));
    }
    if (!domain) {
        if (lastLibvirtErrorCode() == VIR_ERR_NO_DOMAIN) {
            return session->error(ErrorCode::NotFound, "no domain with UUID or name " +
                                                           quoteValue(id) + " at " +
                                                           quoteValue(session->settings.uri));
        }
        return session->failure(ErrorCode::ToolFailure, "cannot look up domain " + quoteValue(id));
    }
    char uuid[VIR_UUID_STRING_BUFLEN] = {};
    if (virDomainGetUUIDString(domain.get(), uuid) < 0) {
        return session->failure(ErrorCode::ToolFailure,
                                "cannot read the UUID of domain " + quoteValue(id));
    }
    return std::string(uuid);
}

}  // namespace imagefactory
