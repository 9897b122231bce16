#include "build/image_formats.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "build/digest.hpp"
#include "build/disk_assembler.hpp"
#include "build/disk_layout.hpp"
#include "core/template_xml.hpp"

namespace imagefactory {

namespace {

namespace fs = std::filesystem;

Error ruleBroken(const std::string& rule, const std::string& detail) {
    return toolFailure("image check '" + rule + "' failed: " + detail);
}

uint32_t getBe32(const uint8_t* at) {
    return static_cast<uint32_t>(at[0]) << 24 | static_cast<uint32_t>(at[1]) << 16 |
           static_cast<uint32_t>(at[2]) << 8 | static_cast<uint32_t>(at[3]);
}

uint64_t getBe64(const uint8_t* at) {
    return static_cast<uint64_t>(getBe32(at)) << 32 | getBe32(at + 4);
}

using ArchivePtr = std::unique_ptr<archive, int (*)(archive*)>;

std::string archiveError(archive* a, const std::string& what) {
    const char* text = archive_error_string(a);
    return what + ": " + (text != nullptr ? text : "unknown libarchive error");
}

Status writeMember(archive* a, const std::string& name, const fs::path& path,
                   const ProcessRunner* runner, const ConversionProgress& progress, uint64_t& done,
                   uint64_t total) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return internalError("cannot open " + path.string() + ": " + std::strerror(errno));
    }
    std::error_code ec;
    uint64_t size = fs::file_size(path, ec);
    std::unique_ptr<archive_entry, void (*)(archive_entry*)> entry(archive_entry_new(),
                                                                   archive_entry_free);
    archive_entry_set_pathname(entry.get(), name.c_str());
    archive_entry_set_size(entry.get(), static_cast<la_int64_t>(size));
    archive_entry_set_filetype(entry.get(), AE_IFREG);
    archive_entry_set_perm(entry.get(), 0644);
    archive_entry_set_mtime(entry.get(), std::time(nullptr), 0);
    if (archive_write_header(a, entry.get()) != ARCHIVE_OK) {
        return internalError(archiveError(a, "cannot write tar header for " + name));
    }
    std::vector<char> buffer(1 << 20);
    while (in) {
        in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
        std::streamsize got = in.gcount();
        if (got > 0 && archive_write_data(a, buffer.data(), static_cast<size_t>(got)) < 0) {
            return internalError(archiveError(a, "cannot write " + name + " into the tar"));
        }
        if (runner != nullptr && runner->cancelled()) {
            return Error{ErrorCode::Aborted, "writing " + name + " stopped: the job was aborted"};
        }
        done += static_cast<uint64_t>(got);
        if (progress && total > 0) {
            progress(static_cast<double>(done) / static_cast<double>(total));
        }
    }
    return okStatus();
}

Status writeTar(const fs::path& output,
                const std::vector<std::pair<std::string, fs::path>>& members, bool gnu_gzip,
                const ProcessRunner* runner, const ConversionProgress& progress) {
    uint64_t total = 0;
    uint64_t done = 0;
    for (const auto& member : members) {
        std::error_code ec;
        total += fs::file_size(member.second, ec);
    }
    ArchivePtr a(archive_write_new(), archive_write_free);
    if (gnu_gzip) {
        archive_write_set_format_gnutar(a.get());
        archive_write_add_filter_gzip(a.get());
    } else {
        archive_write_set_format_ustar(a.get());
    }
    if (archive_write_open_filename(a.get(), output.c_str()) != ARCHIVE_OK) {
        return internalError(archiveError(a.get(), "cannot create " + output.string()));
    }
    for (const auto& [name, path] : members) {
        if (Status s = writeMember(a.get(), name, path, runner, progress, done, total); !s) {
            return s;
        }
    }
    if (archive_write_close(a.get()) != ARCHIVE_OK) {
        return internalError(archiveError(a.get(), "cannot finish " + output.string()));
    }
    return okStatus();
}

Result<nlohmann::json> qemuImgInfo(const ProcessRunner& runner, const fs::path& file,
                                   const std::string& format = {}) {
    std::vector<std::string> argv = {"qemu-img", "info", "--output=json"};
    if (!format.empty()) {
        argv.insert(argv.end(), {"-f", format});
    }
    argv.push_back(file.string());
    Result<ProcessResult> result = runner.runChecked({.argv = argv, .log_output = false});
    if (!result) {
        return result.error();
    }
    try {
        return nlohmann::json::parse(result->stdout_text);
    } catch (const nlohmann::json::exception& e) {
        return toolFailure(std::string("qemu-img info printed invalid JSON: ") + e.what());
    }
}

Status expectFormat(const nlohmann::json& info, const std::string& format, uint64_t raw_bytes,
                    const std::string& rule) {
    std::string detected = info.value("format", "");
    if (detected != format) {
        return ruleBroken(rule, "qemu-img detects format '" + detected + "', not '" + format + "'");
    }
    uint64_t virtual_size = info.value("virtual-size", uint64_t{0});
    if (virtual_size != raw_bytes) {
        return ruleBroken(rule, "virtual size " + std::to_string(virtual_size) +
                                    " differs from the disk's " + std::to_string(raw_bytes));
    }
    return okStatus();
}

std::string formatSpecific(const nlohmann::json& info, const std::string& key) {
    auto it = info.find("format-specific");
    if (it == info.end() || !it->contains("data")) {
        return {};
    }
    const auto& data = (*it)["data"];
    return data.contains(key) && data[key].is_string() ? data[key].get<std::string>() : "";
}

// qemu-img convert -p prints "    (12.34/100%)" and a carriage return as it goes.
Status runQemuImg(const ProcessRunner& runner, std::vector<std::string> argv,
                  const ConversionProgress& progress = {}) {
    if (progress && argv.size() > 2 && argv[1] == "convert") {
        argv.insert(argv.begin() + 2, "-p");
    }
    ProcessSpec spec{.argv = std::move(argv)};
    spec.timeout = std::chrono::minutes(30);
    spec.log_output = !progress;
    spec.on_line = [&progress](OutputStream, std::string_view line) {
        size_t open = line.find('(');
        size_t slash = line.find("/100%)");
        if (!progress || open == std::string_view::npos || slash == std::string_view::npos ||
            slash <= open) {
            return;
        }
        std::string number(line.substr(open + 1, slash - open - 1));
        char* end = nullptr;
        double percent = std::strtod(number.c_str(), &end);
        if (end != number.c_str()) {
            progress(percent / 100.0);
        }
    };
    Result<ProcessResult> result = runner.runChecked(spec);
    return result ? okStatus() : Status(result.error());
}

std::string ovfNameOf(const std::string& image_name) {
    std::string name;
    for (char c : image_name) {
        name += std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' ? c : '_';
    }
    return name.empty() ? "image" : name;
}

}  // namespace

std::string imageFileName(ImageFormat format) {
    switch (format) {
        case ImageFormat::Qcow2:
            return "disk.qcow2";
        case ImageFormat::Raw:
            return "disk.raw";
        case ImageFormat::Ova:
            return "image.ova";
        case ImageFormat::VhdFixed:
            return "disk.vhd";
        case ImageFormat::Vhdx:
            return "disk.vhdx";
        case ImageFormat::GceTarball:
            return "disk.tar.gz";
    }
    return "disk.img";
}

std::string qemuFormatName(ImageFormat format) {
    switch (format) {
        case ImageFormat::Qcow2:
            return "qcow2";
        case ImageFormat::Raw:
            return "raw";
        case ImageFormat::VhdFixed:
            return "vpc";
        case ImageFormat::Vhdx:
            return "vhdx";
        case ImageFormat::Ova:
        case ImageFormat::GceTarball:
            return "";
    }
    return "";
}

Status convertImage(const ProcessRunner& runner, const fs::path& raw, ImageFormat format,
                    const fs::path& output, const std::string& image_name,
                    const ConversionProgress& progress) {
    switch (format) {
        case ImageFormat::Qcow2:
            // -m 8 -W lets qemu-img compress clusters in parallel and out of order.
            return runQemuImg(
                runner,
                {"qemu-img", "convert", "-f", "raw", "-O", "qcow2", "-c", "-o",
                 "compression_type=zlib", "-m", "8", "-W", raw.string(), output.string()},
                progress);
        case ImageFormat::Raw:
            return runQemuImg(
                runner,
                {"qemu-img", "convert", "-f", "raw", "-O", "raw", raw.string(), output.string()},
                progress);
        case ImageFormat::VhdFixed:
            return runQemuImg(runner,
                              {"qemu-img", "convert", "-f", "raw", "-O", "vpc", "-o",
                               "subformat=fixed,force_size=on", raw.string(), output.string()},
                              progress);
        case ImageFormat::Vhdx:
            return runQemuImg(runner,
                              {"qemu-img", "convert", "-f", "raw", "-O", "vhdx", "-o",
                               "subformat=dynamic", raw.string(), output.string()},
                              progress);
        case ImageFormat::GceTarball:
            return writeGceTarball(output, raw, &runner, progress);
        case ImageFormat::Ova: {
            std::string name = ovfNameOf(image_name);
            fs::path folder = output.parent_path() / "ova-parts";
            std::error_code ec;
            fs::create_directories(folder, ec);
            fs::path vmdk = folder / (name + "-disk1.vmdk");
            if (Status s = runQemuImg(runner,
                                      {"qemu-img", "convert", "-f", "raw", "-O", "vmdk", "-o",
                                       "subformat=streamOptimized,adapter_type=lsilogic",
                                       raw.string(), vmdk.string()},
                                      progress);
                !s) {
                return s;
            }
            Result<nlohmann::json> info = qemuImgInfo(runner, vmdk);
            if (!info) {
                return info.error();
            }
            if (formatSpecific(*info, "create-type") != "streamOptimized") {
                return ruleBroken(
                    "VMDK is streamOptimized",
                    "qemu-img reports create type '" + formatSpecific(*info, "create-type") + "'");
            }
            std::string ovf_text = ovfDescriptor(
                {name, vmdk.filename().string(), fs::file_size(vmdk, ec), fs::file_size(raw, ec)});
            fs::path ovf = folder / (name + ".ovf");
            {
                std::ofstream out(ovf, std::ios::binary);
                out << ovf_text;
            }
            Result<std::string> vmdk_digest = sha256File(vmdk);
            if (!vmdk_digest) {
                return vmdk_digest.error();
            }
            fs::path manifest = folder / (name + ".mf");
            {
                std::ofstream out(manifest, std::ios::binary);
                out << ovaManifest({{ovf.filename().string(), sha256Hex(ovf_text)},
                                    {vmdk.filename().string(), *vmdk_digest}});
            }
            return writeUstarTar(output,
                                 {{ovf.filename().string(), ovf},
                                  {manifest.filename().string(), manifest},
                                  {vmdk.filename().string(), vmdk}},
                                 &runner);
        }
    }
    return internalError("unknown image format");
}

Result<VhdFooter> parseVhdFooter(const std::array<uint8_t, 512>& bytes) {
    VhdFooter footer;
    footer.cookie.assign(reinterpret_cast<const char*>(bytes.data()), 8);
    if (footer.cookie != "conectix") {
        return userError("VHD footer cookie is not \"conectix\"");
    }
    footer.features = getBe32(bytes.data() + 8);
    footer.version = getBe32(bytes.data() + 12);
    footer.data_offset = getBe64(bytes.data() + 16);
    footer.original_size = getBe64(bytes.data() + 40);
    footer.current_size = getBe64(bytes.data() + 48);
    footer.disk_type = getBe32(bytes.data() + 60);
    footer.checksum = getBe32(bytes.data() + 64);
    uint32_t sum = 0;
    for (size_t i = 0; i < bytes.size(); ++i) {
        if (i < 64 || i >= 68) {
            sum += bytes[i];
        }
    }
    footer.computed_checksum = ~sum;
    return footer;
}

Status checkFixedVhd(const fs::path& file) {
    std::error_code ec;
    uint64_t size = fs::file_size(file, ec);
    if (ec || size < 512) {
        return ruleBroken("VHD footer", file.string() + " is shorter than a footer");
    }
    Result<std::vector<uint8_t>> tail = readAt(file, size - 512, 512);
    if (!tail) {
        return tail.error();
    }
    std::array<uint8_t, 512> bytes{};
    std::copy(tail->begin(), tail->end(), bytes.begin());
    Result<VhdFooter> footer = parseVhdFooter(bytes);
    if (!footer) {
        return ruleBroken("VHD footer", footer.error().message);
    }
    if (footer->checksum != footer->computed_checksum) {
        return ruleBroken("VHD footer checksum", "stored " + std::to_string(footer->checksum) +
                                                     ", computed " +
                                                     std::to_string(footer->computed_checksum));
    }
    if (footer->disk_type != kVhdFixed) {
        return ruleBroken("VHD is fixed", "disk type is " + std::to_string(footer->disk_type));
    }
    if (footer->current_size % kMiB != 0) {
        return ruleBroken("VHD size is a whole number of MiB",
                          "virtual size " + std::to_string(footer->current_size));
    }
    if (footer->current_size != size - 512) {
        return ruleBroken("VHD size matches the file",
                          "footer says " + std::to_string(footer->current_size) +
                              " bytes of data, the file holds " + std::to_string(size - 512));
    }
    return okStatus();
}

std::string ovfDescriptor(const OvfDisk& disk) {
    std::string name = escapeXml(disk.vm_name);
    std::string file = escapeXml(disk.file_name);
    std::string item_open = "      <Item>\n";
    return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
           "<Envelope xmlns=\"http://schemas.dmtf.org/ovf/envelope/1\""
           " xmlns:ovf=\"http://schemas.dmtf.org/ovf/envelope/1\""
           " xmlns:rasd=\"http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/"
           "CIM_ResourceAllocationSettingData\""
           " xmlns:vssd=\"http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/"
           "CIM_VirtualSystemSettingData\""
           " xmlns:vmw=\"http://www.vmware.com/schema/ovf\">\n"
           "  <References>\n"
           "    <File ovf:href=\"" +
           file + "\" ovf:id=\"file1\" ovf:size=\"" + std::to_string(disk.file_bytes) +
           "\"/>\n"
           "  </References>\n"
           "  <DiskSection>\n"
           "    <Info>Virtual disk information</Info>\n"
           "    <Disk ovf:capacity=\"" +
           std::to_string(disk.capacity_bytes) +
           "\" ovf:capacityAllocationUnits=\"byte\" ovf:diskId=\"vmdisk1\" ovf:fileRef=\"file1\""
           " ovf:format=\"http://www.vmware.com/interfaces/specifications/"
           "vmdk.html#streamOptimized\"/>\n"
           "  </DiskSection>\n"
           "  <NetworkSection>\n"
           "    <Info>The list of logical networks</Info>\n"
           "    <Network ovf:name=\"VM Network\">\n"
           "      <Description>The VM Network network</Description>\n"
           "    </Network>\n"
           "  </NetworkSection>\n"
           "  <VirtualSystem ovf:id=\"" +
           name +
           "\">\n"
           "    <Info>A virtual machine</Info>\n"
           "    <Name>" +
           name +
           "</Name>\n"
           "    <OperatingSystemSection ovf:id=\"96\" vmw:osType=\"debian12_64Guest\">\n"
           "      <Info>The kind of installed guest operating system</Info>\n"
           "    </OperatingSystemSection>\n"
           "    <VirtualHardwareSection>\n"
           "      <Info>Virtual hardware requirements</Info>\n"
           "      <System>\n"
           "        <vssd:ElementName>Virtual Hardware Family</vssd:ElementName>\n"
           "        <vssd:InstanceID>0</vssd:InstanceID>\n"
           "        <vssd:VirtualSystemIdentifier>" +
           name +
           "</vssd:VirtualSystemIdentifier>\n"
           "        <vssd:VirtualSystemType>vmx-14</vssd:VirtualSystemType>\n"
           "      </System>\n" +
           item_open +
           "        <rasd:AllocationUnits>hertz * 10^6</rasd:AllocationUnits>\n"
           "        <rasd:ElementName>2 virtual CPUs</rasd:ElementName>\n"
           "        <rasd:InstanceID>1</rasd:InstanceID>\n"
           "        <rasd:ResourceType>3</rasd:ResourceType>\n"
           "        <rasd:VirtualQuantity>2</rasd:VirtualQuantity>\n"
           "      </Item>\n" +
           item_open +
           "        <rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits>\n"
           "        <rasd:ElementName>2048MB of memory</rasd:ElementName>\n"
           "        <rasd:InstanceID>2</rasd:InstanceID>\n"
           "        <rasd:ResourceType>4</rasd:ResourceType>\n"
           "        <rasd:VirtualQuantity>2048</rasd:VirtualQuantity>\n"
           "      </Item>\n" +
           item_open +
           "        <rasd:ElementName>SCSI Controller 0</rasd:ElementName>\n"
           "        <rasd:InstanceID>3</rasd:InstanceID>\n"
           "        <rasd:ResourceSubType>lsilogic</rasd:ResourceSubType>\n"
           "        <rasd:ResourceType>6</rasd:ResourceType>\n"
           "      </Item>\n" +
           item_open +
           "        <rasd:AddressOnParent>0</rasd:AddressOnParent>\n"
           "        <rasd:ElementName>Hard Disk 1</rasd:ElementName>\n"
           "        <rasd:HostResource>ovf:/disk/vmdisk1</rasd:HostResource>\n"
           "        <rasd:InstanceID>4</rasd:InstanceID>\n"
           "        <rasd:Parent>3</rasd:Parent>\n"
           "        <rasd:ResourceType>17</rasd:ResourceType>\n"
           "      </Item>\n" +
           item_open +
           "        <rasd:AutomaticAllocation>true</rasd:AutomaticAllocation>\n"
           "        <rasd:Connection>VM Network</rasd:Connection>\n"
           "        <rasd:ElementName>Network adapter 1</rasd:ElementName>\n"
           "        <rasd:InstanceID>5</rasd:InstanceID>\n"
           "        <rasd:ResourceSubType>VmxNet3</rasd:ResourceSubType>\n"
           "        <rasd:ResourceType>10</rasd:ResourceType>\n"
           "      </Item>\n"
           "      <vmw:Config ovf:required=\"false\" vmw:key=\"firmware\" vmw:value=\"efi\"/>\n"
           "    </VirtualHardwareSection>\n"
           "  </VirtualSystem>\n"
           "</Envelope>\n";
}

std::string ovaManifest(const std::vector<std::pair<std::string, std::string>>& name_digests) {
    std::string manifest;
    for (const auto& [name, digest] : name_digests) {
        manifest += "SHA256(" + name + ")= " + digest + "\n";
    }
    return manifest;
}

Status writeUstarTar(const fs::path& output,
                     const std::vector<std::pair<std::string, fs::path>>& members,
                     const ProcessRunner* runner, const ConversionProgress& progress) {
    return writeTar(output, members, false, runner, progress);
}

Status writeGceTarball(const fs::path& output, const fs::path& raw, const ProcessRunner* runner,
                       const ConversionProgress& progress) {
    return writeTar(output, {{"disk.raw", raw}}, true, runner, progress);
}

Result<std::vector<TarMember>> readTar(const fs::path& file, std::string* format_name,
                                       std::string* filter_name) {
    ArchivePtr a(archive_read_new(), archive_read_free);
    archive_read_support_format_tar(a.get());
    archive_read_support_format_gnutar(a.get());
    archive_read_support_filter_all(a.get());
    if (archive_read_open_filename(a.get(), file.c_str(), 1 << 20) != ARCHIVE_OK) {
        return toolFailure(archiveError(a.get(), "cannot open " + file.string() + " as a tar"));
    }
    std::vector<TarMember> members;
    archive_entry* entry = nullptr;
    std::vector<char> buffer(1 << 20);
    while (true) {
        int rc = archive_read_next_header(a.get(), &entry);
        if (rc == ARCHIVE_EOF) {
            break;
        }
        if (rc != ARCHIVE_OK) {
            return toolFailure(archiveError(a.get(), "cannot read " + file.string()));
        }
        TarMember member;
        member.name = archive_entry_pathname(entry);
        std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> md(EVP_MD_CTX_new(),
                                                                   &EVP_MD_CTX_free);
        EVP_DigestInit_ex(md.get(), EVP_sha256(), nullptr);
        while (true) {
            la_ssize_t n = archive_read_data(a.get(), buffer.data(), buffer.size());
            if (n < 0) {
                return toolFailure(archiveError(a.get(), "cannot read " + member.name));
            }
            if (n == 0) {
                break;
            }
            if (member.head.size() < 4096) {
                size_t take = std::min<size_t>(4096 - member.head.size(), static_cast<size_t>(n));
                member.head.append(buffer.data(), take);
            }
            EVP_DigestUpdate(md.get(), buffer.data(), static_cast<size_t>(n));
            member.size += static_cast<uint64_t>(n);
        }
        unsigned char digest[EVP_MAX_MD_SIZE];
        unsigned int length = 0;
        EVP_DigestFinal_ex(md.get(), digest, &length);
        static constexpr char kDigits[] = "0123456789abcdef";
        for (unsigned int i = 0; i < length; ++i) {
            member.sha256 += kDigits[digest[i] >> 4];
            member.sha256 += kDigits[digest[i] & 0xF];
        }
        members.push_back(std::move(member));
    }
    if (format_name != nullptr) {
        const char* name = archive_format_name(a.get());
        *format_name = name != nullptr ? name : "";
    }
    if (filter_name != nullptr) {
        const char* name = archive_filter_name(a.get(), 0);
        *filter_name = name != nullptr ? name : "";
    }
    return members;
}

Status checkOva(const fs::path& file) {
    Result<std::vector<TarMember>> members = readTar(file, nullptr, nullptr);
    if (!members) {
        return ruleBroken("OVA is a tar", members.error().message);
    }
    if (members->size() != 3) {
        return ruleBroken("OVA holds descriptor, manifest and disk",
                          "it has " + std::to_string(members->size()) + " members");
    }
    const TarMember& ovf = (*members)[0];
    const TarMember& mf = (*members)[1];
    const TarMember& vmdk = (*members)[2];
    auto ends_with = [](const std::string& text, std::string_view suffix) {
        return text.size() >= suffix.size() &&
               text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
    };
    if (!ends_with(ovf.name, ".ovf")) {
        return ruleBroken("OVF descriptor first", "first member is " + ovf.name);
    }
    if (!ends_with(mf.name, ".mf")) {
        return ruleBroken("manifest second", "second member is " + mf.name);
    }
    if (!ends_with(vmdk.name, ".vmdk")) {
        return ruleBroken("disk third", "third member is " + vmdk.name);
    }
    std::string expected_manifest = ovaManifest({{ovf.name, ovf.sha256}, {vmdk.name, vmdk.sha256}});
    if (mf.head != expected_manifest) {
        return ruleBroken("manifest digests match", "the manifest does not list the SHA-256 of " +
                                                        ovf.name + " and " + vmdk.name);
    }
    // The descriptor must be well formed and reference the disk member by name and size.
    std::unique_ptr<xmlDoc, void (*)(xmlDocPtr)> doc(
        xmlReadMemory(ovf.head.data(), static_cast<int>(ovf.head.size()), "ovf.xml", nullptr,
                      XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING),
        xmlFreeDoc);
    if (ovf.size > ovf.head.size()) {
        return ruleBroken("OVF descriptor", "descriptor larger than 4096 bytes is not checked");
    }
    if (!doc) {
        return ruleBroken("OVF descriptor is well-formed XML", ovf.name + " does not parse");
    }
    std::string reference = "ovf:href=\"" + vmdk.name + "\" ovf:id=\"file1\" ovf:size=\"" +
                            std::to_string(vmdk.size) + "\"";
    if (ovf.head.find(reference) == std::string::npos) {
        return ruleBroken("OVF references the disk", "no File entry for " + vmdk.name +
                                                         " with size " + std::to_string(vmdk.size));
    }
    if (vmdk.head.compare(0, 4, "KDMV") != 0 ||
        vmdk.head.find("createType=\"streamOptimized\"") == std::string::npos) {
        return ruleBroken("VMDK is streamOptimized", vmdk.name +
                                                         " lacks the sparse header or "
                                                         "the streamOptimized create type");
    }
    return okStatus();
}

Status checkGceTarball(const fs::path& file, uint64_t raw_bytes) {
    std::string format;
    std::string filter;
    Result<std::vector<TarMember>> members = readTar(file, &format, &filter);
    if (!members) {
        return ruleBroken("GCE tarball readable", members.error().message);
    }
    if (filter != "gzip") {
        return ruleBroken("GCE tarball is gzip-compressed", "compression is '" + filter + "'");
    }
    if (format.find("GNU") == std::string::npos) {
        return ruleBroken("GCE tarball is a GNU tar", "format is '" + format + "'");
    }
    if (members->size() != 1 || (*members)[0].name != "disk.raw") {
        return ruleBroken("GCE tarball holds disk.raw alone",
                          "it has " + std::to_string(members->size()) + " members" +
                              (members->empty() ? "" : ", the first named " + (*members)[0].name));
    }
    const TarMember& disk = (*members)[0];
    if (disk.size != raw_bytes) {
        return ruleBroken(
            "GCE disk.raw has the disk's size",
            std::to_string(disk.size) + " bytes, expected " + std::to_string(raw_bytes));
    }
    if (disk.size % kMiB != 0) {
        return ruleBroken("GCE disk size is a whole number of MiB", std::to_string(disk.size));
    }
    if (disk.head.size() < 512 || static_cast<uint8_t>(disk.head[510]) != 0x55 ||
        static_cast<uint8_t>(disk.head[511]) != 0xAA) {
        return ruleBroken("GCE disk.raw is a bootable disk", "no MBR boot signature");
    }
    return okStatus();
}

Status verifyImage(const ProcessRunner& runner, const fs::path& output, ImageFormat format,
                   uint64_t raw_bytes) {
    switch (format) {
        case ImageFormat::Qcow2: {
            Result<nlohmann::json> info = qemuImgInfo(runner, output);
            if (!info) {
                return info.error();
            }
            if (Status s = expectFormat(*info, "qcow2", raw_bytes, "qcow2 format"); !s) {
                return s;
            }
            if (formatSpecific(*info, "compression-type") != "zlib") {
                return ruleBroken(
                    "qcow2 uses zlib compression",
                    "compression type is '" + formatSpecific(*info, "compression-type") + "'");
            }
            Result<ProcessResult> check =
                runner.run({.argv = {"qemu-img", "check", output.string()}, .log_output = false});
            if (!check) {
                return check.error();
            }
            if (!check->succeeded()) {
                return ruleBroken("qcow2 is consistent", lastLines(check->stdout_text, 3));
            }
            return okStatus();
        }
        case ImageFormat::Raw: {
            Result<nlohmann::json> info = qemuImgInfo(runner, output);
            if (!info) {
                return info.error();
            }
            if (Status s = expectFormat(*info, "raw", raw_bytes, "raw format"); !s) {
                return s;
            }
            Result<std::vector<uint8_t>> gpt = readAt(output, 512, 8);
            if (!gpt || std::string(gpt->begin(), gpt->end()) != "EFI PART") {
                return ruleBroken("raw disk has a GPT", "no GPT header at LBA 1");
            }
            return okStatus();
        }
        case ImageFormat::VhdFixed: {
            if (Status s = checkFixedVhd(output); !s) {
                return s;
            }
            // qemu-img probes a fixed VHD as raw, so the format is named explicitly.
            Result<nlohmann::json> info = qemuImgInfo(runner, output, "vpc");
            if (!info) {
                return info.error();
            }
            return expectFormat(*info, "vpc", raw_bytes, "VHD readable");
        }
        case ImageFormat::Vhdx: {
            Result<nlohmann::json> info = qemuImgInfo(runner, output);
            if (!info) {
                return info.error();
            }
            return expectFormat(*info, "vhdx", raw_bytes, "VHDX format");
        }
        case ImageFormat::Ova:
            return checkOva(output);
        case ImageFormat::GceTarball:
            return checkGceTarball(output, raw_bytes);
    }
    return internalError("unknown image format");
}

}  // namespace imagefactory
